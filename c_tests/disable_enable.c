/* The tutorial's gc.disable()/gc.enable(): while disabled, allocations never
 * collect automatically (garbage piles up); explicit collection still works;
 * once enabled, the next allocation past the threshold collects. */
#include "check.h"

static int collections;
static void count_cb(GcPhase phase, const GcCallbackInfo *info, void *ctx) {
  (void)info; (void)ctx;
  if (phase == GC_PHASE_START) collections++;
}

static void make_garbage_cycle(void) {
  GcObject *a = obj_new(1, 0), *b = obj_new(1, 0);
  obj_set_field(a, 0, b);
  obj_set_field(b, 0, a);
  obj_decref(a);
  obj_decref(b);
}

int main(void) {
  CHECK(gc_isenabled());
  gc_set_threshold(10, 10, 10);
  gc_callback_add(count_cb, NULL);

  gc_disable();
  CHECK(!gc_isenabled());
  for (int i = 0; i < 100; i++) make_garbage_cycle();
  CHECK_EQ(collections, 0);
  CHECK_EQ(gc_get_count().count0, 200);

  CHECK_EQ(gc_collect(), 200); /* explicit collection works while disabled */
  CHECK_EQ(collections, 1);

  gc_enable();
  CHECK(gc_isenabled());
  for (int i = 0; i < 6; i++) make_garbage_cycle(); /* 12 allocations */
  CHECK(collections >= 2);
  gc_collect();
  gc_callback_remove(count_cb, NULL);
  printf("disable_enable: %d collections\n", collections);
  return 0;
}
