/* The tutorial's weak reference example:
 *   a = A(10); r = weakref.ref(a); r().value == 10; del a; r() is None
 * A weakref does not keep its target alive: while the target lives,
 * weakref_get returns it (a new reference, which we release); after the last
 * release the target is freed at once and weakref_get returns NULL. */
#include "check.h"

typedef struct { int value; } A;
static int destroyed;
static void on_destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType AType = {"A", NULL, NULL, NULL, on_destroy};

int main(void) {
  GcObject *a = obj_new_typed(&AType, 0, sizeof(A)); /* a = A(10) */
  CHECK(a != NULL);
  ((A *)obj_payload(a))->value = 10;
  CHECK_EQ(weakref_count(a), 0);

  GcObject *r = weakref_new(a, NULL, NULL); /* r = weakref.ref(a) */
  CHECK(r != NULL);
  CHECK(obj_is_weakref(r));
  CHECK(!obj_is_weakref(a));
  CHECK_EQ(obj_refcount(a), 1); /* the weakref holds no strong reference */
  CHECK_EQ(weakref_count(a), 1);

  GcObject *got = weakref_get(r); /* r() */
  CHECK(got == a);
  CHECK_EQ(obj_refcount(a), 2); /* weakref_get returned a new reference */
  CHECK_EQ(((A *)obj_payload(got))->value, 10);
  obj_decref(got);
  CHECK_EQ(obj_refcount(a), 1);

  obj_decref(a); /* del a: the last release frees it now */
  CHECK_EQ(destroyed, 1);
  CHECK(weakref_get(r) == NULL); /* r() is None */
  CHECK(weakref_get(r) == NULL);
  CHECK_EQ(gc_last_error_code(), GC_OK); /* a dead target is not an error */

  obj_decref(r);
  printf("weakref_tutorial: weakref_get returned the live object, NULL after its death\n");
  return 0;
}
