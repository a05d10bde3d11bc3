/* A finalizer, run by a refcount death, stores its object into a field of a
 * live tracked object (resurrecting it) and then calls gc_collect: the
 * collection meets the dying object as a child of a member of the scanned
 * set while the object is still on the death stack. It must be treated as
 * an outside object (it is in no generation), left intact, and come back
 * to generation 0 when its death step finds it resurrected; its finalizer
 * never runs again, and it dies normally later. Done with the holder in
 * each generation, and for many objects at once (queued deaths). */
#include "check.h"

static GcObject *holder;
static int finalized, destroyed, holder_slot;

static void finalize(GcObject *self) {
  finalized++;
  CHECK_EQ(obj_set_field(holder, (size_t)holder_slot, self), GC_OK);
  holder_slot++;
  CHECK(gc_collect() >= 0);
}
static void destroy(GcObject *self) {
  (void)self;
  destroyed++;
}
static const GcType Phoenix = {"Phoenix", NULL, NULL, finalize, destroy};

static void round_in_generation(int generation) {
  finalized = destroyed = holder_slot = 0;
  gc_collect();
  holder = obj_new(64, 0); /* in generation 0 */
  for (int g = 0; g < generation; g++) gc_collect_generation(g); /* promoted */
  /* 32 phoenixes held by one container: its death queues all of theirs. */
  GcObject *box = obj_new(32, 0);
  for (int i = 0; i < 32; i++) {
    GcObject *o = obj_new_typed(&Phoenix, 1, 0);
    obj_set_field(box, (size_t)i, o);
    obj_decref(o);
  }
  obj_decref(box);
  CHECK_EQ(finalized, 32);
  CHECK_EQ(destroyed, 0);
  for (int i = 0; i < 32; i++) {
    GcObject *o = obj_borrow_field(holder, (size_t)i);
    CHECK(o != NULL);
    CHECK(gc_is_finalized(o));
    CHECK(gc_is_tracked(o));
  }
  /* Everything is consistent for the collector and for deaths. */
  CHECK_EQ(gc_collect(), 0);
  CHECK_EQ(destroyed, 0);
  obj_decref(holder); /* the phoenixes die now, finalizers not run again */
  CHECK_EQ(finalized, 32);
  CHECK_EQ(destroyed, 32);
  CHECK_EQ(gc_collect(), 0);
}

int main(void) {
  for (int generation = 0; generation < 3; generation++) round_in_generation(generation);
  printf("finalizer_resurrects_into_live_object_then_collects: ok\n");
  return 0;
}
