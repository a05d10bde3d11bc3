/* gc_get_stats: cumulative collections, collected and uncollectable per
 * generation, as CPython's gc.get_stats(). */
#include "check.h"

static void cycle(void) {
  GcObject *a = obj_new(1, 0), *b = obj_new(1, 0);
  obj_set_field(a, 0, b);
  obj_set_field(b, 0, a);
  obj_decref(a);
  obj_decref(b);
}

int main(void) {
  gc_disable();
  GcGenStats s0 = gc_get_stats(0), s2 = gc_get_stats(2);
  CHECK(s0.collections == 0 && s0.collected == 0 && s0.uncollectable == 0);

  cycle();
  CHECK_EQ(gc_collect_generation(0), 2);
  cycle();
  cycle();
  CHECK_EQ(gc_collect(), 4);
  CHECK_EQ(gc_collect(), 0);

  s0 = gc_get_stats(0);
  GcGenStats s1 = gc_get_stats(1);
  s2 = gc_get_stats(2);
  CHECK_EQ(s0.collections, 1);
  CHECK_EQ(s0.collected, 2);
  CHECK_EQ(s1.collections, 0);
  CHECK_EQ(s2.collections, 2);
  CHECK_EQ(s2.collected, 4);
  CHECK_EQ(s0.uncollectable + s1.uncollectable + s2.uncollectable, 0);
  printf("gc_stats: ok\n");
  return 0;
}
