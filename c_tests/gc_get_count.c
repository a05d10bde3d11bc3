/* The tutorial's gc.get_count(): count0 rises with tracked allocations, falls
 * with tracked deallocations (never below 0), and a collection resets it;
 * count1/count2 count collections of the younger generation. Untracked
 * objects (no fields, no traverse) never count. */
#include "check.h"

int main(void) {
  gc_disable();
  gc_collect();
  GcCounts c = gc_get_count();
  CHECK_EQ(c.count0, 0);
  CHECK_EQ(c.count1, 0);
  CHECK_EQ(c.count2, 0);

  GcObject *objs[5];
  for (int i = 0; i < 5; i++) objs[i] = obj_new(1, 0);
  GcObject *leaf = obj_new(0, 16); /* untracked */
  CHECK_EQ(gc_get_count().count0, 5);
  obj_decref(objs[4]);
  CHECK_EQ(gc_get_count().count0, 4);

  CHECK_EQ(gc_collect_generation(0), 0);
  c = gc_get_count();
  CHECK_EQ(c.count0, 0);
  CHECK_EQ(c.count1, 1);
  CHECK_EQ(c.count2, 0);
  gc_collect_generation(0);
  gc_collect_generation(1);
  c = gc_get_count();
  CHECK_EQ(c.count1, 0);
  CHECK_EQ(c.count2, 1);

  for (int i = 0; i < 4; i++) obj_decref(objs[i]); /* count0 stays at 0 */
  CHECK_EQ(gc_get_count().count0, 0);
  obj_decref(leaf);
  gc_collect();
  c = gc_get_count();
  CHECK(c.count0 == 0 && c.count1 == 0 && c.count2 == 0);
  printf("gc_get_count: ok\n");
  return 0;
}
