/* The tutorial's reference-counting example:
 *   a = [1, 2, 3]; b = a; del a; del b
 * The object is freed exactly at the last release, seen by a destroy hook. */
#include "check.h"

static int destroyed;
static void on_destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType List = {"list", NULL, NULL, NULL, on_destroy};

int main(void) {
  GcObject *a = obj_new_typed(&List, 3, 0); /* a = [1, 2, 3] */
  CHECK(a != NULL);
  CHECK_EQ(obj_refcount(a), 1);
  CHECK(obj_type(a) == &List);

  GcObject *b = a; /* b = a */
  obj_incref(b);
  CHECK_EQ(obj_refcount(a), 2);

  obj_decref(a); /* del a */
  CHECK_EQ(obj_refcount(b), 1);
  CHECK_EQ(destroyed, 0);

  obj_decref(b); /* del b: the count reaches 0, the list is freed now */
  CHECK_EQ(destroyed, 1);
  printf("refcount_tutorial: freed exactly at the last release\n");
  return 0;
}
