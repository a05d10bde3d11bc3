/* A weakref with a callback, stored in a field of a cycle member and pointing
 * into that cycle (node1 -> node2 -> node1, node1.wr = weakref(node2, cb)):
 * when the cycle becomes garbage, gc_collect frees all three objects and the
 * callback does not run, because the weakref is part of the same cyclic
 * garbage (API.md, as CPython's handle_weakrefs). A weakref held from outside
 * to the same member still gets its callback (control). As a contrast on the
 * refcount path, an object whose field holds a weakref to itself is not a
 * cycle: its weakref is alive when it dies, so that callback does run. */
#include "check.h"

enum { NEXT = 0, WR = 1 };
static int destroyed, inner_calls, outer_calls, self_calls;
static void on_destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType Node = {"Node", NULL, NULL, NULL, on_destroy};
static void inner_cb(GcObject *wr, void *ctx) { (void)wr; (void)ctx; inner_calls++; }
static void outer_cb(GcObject *wr, void *ctx) {
  (void)ctx;
  CHECK(weakref_get(wr) == NULL);
  outer_calls++;
}
static void self_cb(GcObject *wr, void *ctx) {
  (void)ctx;
  CHECK(weakref_get(wr) == NULL);
  self_calls++;
}

int main(void) {
  gc_disable();
  gc_collect();
  GcObject *node1 = obj_new_typed(&Node, 2, 0);
  GcObject *node2 = obj_new_typed(&Node, 2, 0);
  CHECK(node1 && node2);
  CHECK_EQ(obj_set_field(node1, NEXT, node2), GC_OK);
  CHECK_EQ(obj_set_field(node2, NEXT, node1), GC_OK);
  GcObject *wr = weakref_new(node2, inner_cb, NULL);
  CHECK(wr != NULL);
  CHECK(gc_is_tracked(wr));
  CHECK_EQ(obj_set_field(node1, WR, wr), GC_OK);
  obj_decref(wr); /* node1 holds the only reference */
  GcObject *outer = weakref_new(node2, outer_cb, NULL);
  CHECK(outer != NULL);
  CHECK_EQ(weakref_count(node2), 2);

  obj_decref(node1);
  obj_decref(node2);
  CHECK_EQ(destroyed, 0);
  /* node1, node2 and the weakref object are all unreachable. */
  CHECK_EQ(gc_collect(), 3);
  CHECK_EQ(destroyed, 2);
  CHECK_EQ(inner_calls, 0);
  CHECK_EQ(outer_calls, 1);
  CHECK(weakref_get(outer) == NULL);
  obj_decref(outer);
  CHECK_EQ(gc_collect(), 0);
  CHECK_EQ(inner_calls, 0);

  /* Contrast: a weakref to itself in a field, on the refcount path. */
  GcObject *obj = obj_new_typed(&Node, 2, 0);
  CHECK(obj != NULL);
  GcObject *selfwr = weakref_new(obj, self_cb, NULL);
  CHECK(selfwr != NULL);
  CHECK_EQ(obj_set_field(obj, WR, selfwr), GC_OK);
  obj_decref(selfwr);
  CHECK_EQ(obj_refcount(obj), 1); /* not a cycle */
  obj_decref(obj); /* weakrefs clear (step 3) before fields release (step 4) */
  CHECK_EQ(destroyed, 3);
  CHECK_EQ(self_calls, 1);
  CHECK_EQ(gc_collect(), 0);

  printf("weakref_in_garbage_cycle: gc_collect freed the cycle and its weakref; no callback ran\n");
  return 0;
}
