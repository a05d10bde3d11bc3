/* A finalizer that stores its object in a temporary and drops the
 * temporary has not resurrected it: the temporary's death (queued while a
 * death is in progress) is completed before the resurrection check, so the
 * object still dies, as in CPython, on both death paths. */
#include "check.h"

static int finalized, destroyed;
static void fin(GcObject *self) {
  finalized++;
  GcObject *tmp = obj_new(1, 0);
  obj_set_field(tmp, 0, self); /* self's count goes up... */
  obj_decref(tmp);             /* ...and back down when tmp dies */
}
static void destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType Node = {"Node", NULL, NULL, fin, destroy};

int main(void) {
  gc_disable();
  GcObject *o = obj_new_typed(&Node, 1, 0); /* refcount path */
  obj_decref(o);
  CHECK_EQ(finalized, 1);
  CHECK_EQ(destroyed, 1);

  GcObject *a = obj_new_typed(&Node, 1, 0), *b = obj_new_typed(&Node, 1, 0);
  obj_set_field(a, 0, b); /* collector path */
  obj_set_field(b, 0, a);
  obj_decref(a);
  obj_decref(b);
  CHECK_EQ(gc_collect(), 2);
  CHECK_EQ(finalized, 3);
  CHECK_EQ(destroyed, 3);
  printf("finalizer_temporary_reference: not a resurrection\n");
  return 0;
}
