/* A finalizer resurrects one member of a garbage cycle: that member and
 * everything it reaches survive intact (fields, payload), no finalizer runs
 * twice, resurrected objects are not counted by gc_collect, and the cycle
 * dies at the next collection once the resurrecting reference is dropped. */
#include "check.h"

static GcObject *saved;
static int finalized, destroyed;
static void fin(GcObject *self) {
  finalized++;
  if (*(int *)obj_payload(self) == 1) { /* node 1 saves itself */
    obj_incref(self);
    saved = self;
  }
}
static void destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType Node = {"Node", NULL, NULL, fin, destroy};

static GcObject *node(int id) {
  GcObject *o = obj_new_typed(&Node, 1, sizeof(int));
  *(int *)obj_payload(o) = id;
  return o;
}

int main(void) {
  gc_disable();
  /* 1 -> 2 -> 3 -> 1, and a separate garbage cycle 4 <-> 5 */
  GcObject *n1 = node(1), *n2 = node(2), *n3 = node(3), *n4 = node(4), *n5 = node(5);
  obj_set_field(n1, 0, n2);
  obj_set_field(n2, 0, n3);
  obj_set_field(n3, 0, n1);
  obj_set_field(n4, 0, n5);
  obj_set_field(n5, 0, n4);
  GcObject *all[] = {n1, n2, n3, n4, n5};
  for (int i = 0; i < 5; i++) obj_decref(all[i]);

  CHECK_EQ(gc_collect(), 2); /* 1, 2, 3 resurrected (not counted); 4, 5 die */
  CHECK_EQ(finalized, 5);    /* every finalizer ran before anything was cleared */
  CHECK_EQ(destroyed, 2);
  CHECK(saved == n1);
  CHECK(gc_is_finalized(n1) && gc_is_finalized(n2) && gc_is_finalized(n3));
  GcObject *two = obj_borrow_field(n1, 0);
  CHECK(two == n2 && *(int *)obj_payload(two) == 2);
  CHECK(obj_borrow_field(obj_borrow_field(two, 0), 0) == n1);

  CHECK_EQ(gc_collect(), 0); /* still reachable from `saved` */
  obj_decref(saved);
  CHECK_EQ(gc_collect(), 3);
  CHECK_EQ(finalized, 5); /* never again */
  CHECK_EQ(destroyed, 5);
  printf("cycle_resurrection: ok\n");
  return 0;
}
