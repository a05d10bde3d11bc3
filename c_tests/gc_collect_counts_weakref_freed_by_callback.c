/* A reachable weakref to cyclic garbage whose callback releases the last
 * reference to the weakref itself: gc_collect counts the weakref as well as
 * the garbage, as CPython's handle_weakrefs does (python3: 2 for a
 * self-referencing object and such a weakref; 1 when the weakref survives
 * its callback). Also checked in the stats and the gc callback's figure. */
#include "check.h"

static GcObject *holder_w;
static int calls;
static size_t stop_collected;
static void cb_free_self(GcObject *wr, void *ctx) {
  (void)ctx;
  CHECK(wr == holder_w);
  calls++;
  holder_w = NULL;
  obj_decref(wr); /* the last reference: the weakref dies here */
}
static void cb_keep(GcObject *wr, void *ctx) {
  (void)wr;
  (void)ctx;
  calls++;
}
static void on_gc(GcPhase phase, const GcCallbackInfo *info, void *ctx) {
  (void)ctx;
  if (phase == GC_PHASE_STOP) stop_collected = info->collected;
}

static int64_t self_cycle_with_weakref(GcWeakCallback cb, GcObject **w) {
  GcObject *a = obj_new(1, 0);
  obj_set_field(a, 0, a);
  *w = weakref_new(a, cb, NULL);
  obj_decref(a);
  return gc_collect();
}

int main(void) {
  gc_disable();
  CHECK_EQ(gc_callback_add(on_gc, NULL), GC_OK);
  GcObject *kept;
  calls = 0;
  CHECK_EQ(self_cycle_with_weakref(cb_keep, &kept), 1);
  CHECK_EQ(calls, 1);
  obj_decref(kept);

  size_t before = gc_get_stats(2).collected;
  calls = 0;
  int64_t n = self_cycle_with_weakref(cb_free_self, &holder_w);
  CHECK_EQ(calls, 1);
  CHECK(holder_w == NULL);
  if (n != 2) {
    fprintf(stderr, "gc_collect returned %lld, CPython counts 2\n", (long long)n);
    exit(1);
  }
  CHECK_EQ(gc_get_stats(2).collected - before, 2);
  CHECK_EQ(stop_collected, 2);
  printf("gc_collect_counts_weakref_freed_by_callback: 2, as CPython\n");
  return 0;
}
