/* A finalizer that resurrects its object on the refcount path: the object
 * survives intact (fields, payload), its finalizer never runs again, and the
 * next last release frees it. */
#include "check.h"

static GcObject *saved;
static int finalized, destroyed;
static void fin(GcObject *self) {
  finalized++;
  obj_incref(self); /* resurrect: store a new reference */
  saved = self;
}
static void destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType Phoenix = {"Phoenix", NULL, NULL, fin, destroy};

int main(void) {
  GcObject *o = obj_new_typed(&Phoenix, 1, 8);
  GcObject *child = obj_new(0, 0);
  obj_set_field(o, 0, child);
  *(long *)obj_payload(o) = 7;

  obj_decref(o);
  CHECK_EQ(finalized, 1);
  CHECK_EQ(destroyed, 0);
  CHECK(saved == o);
  CHECK_EQ(obj_refcount(o), 1);
  CHECK(gc_is_finalized(o));
  CHECK(gc_is_tracked(o));
  CHECK(obj_borrow_field(o, 0) == child); /* fields intact */
  CHECK_EQ(*(long *)obj_payload(o), 7);   /* payload intact */
  CHECK_EQ(obj_refcount(child), 2);

  obj_decref(saved); /* finalizer does not run again */
  CHECK_EQ(finalized, 1);
  CHECK_EQ(destroyed, 1);
  CHECK_EQ(obj_refcount(child), 1);
  obj_decref(child);
  printf("resurrection_refcount: resurrected once, then freed\n");
  return 0;
}
