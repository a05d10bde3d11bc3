/* API v2's long-lived rule: long_lived_pending counts the objects promoted
 * into generation 2 since the last full collection that are still alive.
 * CPython 3.12 also counts the ones that died since, so short-lived objects
 * that happened to be promoted trigger full collections over a heap that did
 * not grow; here they do not. Where the promoted objects live, the choice is
 * CPython's.
 *
 * Setup: 100 objects survive a full collection (long_lived_total = 100),
 * then 100 more are promoted by a generation-1 collection (pending = 100 >=
 * 100 / 4). Two generation-1 collections make count2 = 2 > threshold2 = 1,
 * so the next automatic collection would be a full one — unless pending has
 * dropped below 25. */
#include "automatic.h"

/* The generation the next automatic collection picks, after promoting
 * `promoted` new objects of which `die` are then released. */
static int next_automatic(int die) {
  static GcObject *base[100], *promoted[100];
  gc_disable();
  gc_set_threshold(5, 100, 1);
  for (int i = 0; i < 100; i++) base[i] = obj_new(1, 0);
  gc_collect(); /* long_lived_total = 100 + what earlier rounds left */
  for (int i = 0; i < 100; i++) promoted[i] = obj_new(1, 0);
  gc_collect_generation(1); /* pending = 100 */
  for (int i = 0; i < die; i++) obj_decref(promoted[i]);
  gc_collect_generation(1);
  gc_collect_generation(1);
  CHECK_EQ(gc_get_count().count2, 3);
  CHECK_EQ(gc_get_count().count0, 0);
  int generation = next_automatic_generation();
  for (int i = die; i < 100; i++) obj_decref(promoted[i]);
  for (int i = 0; i < 100; i++) obj_decref(base[i]);
  gc_collect();
  return generation;
}

int main(void) {
  gc_collect();
  gc_callback_add(record_generation, NULL);
  /* All promoted objects live: pending 100 >= 25, a full collection (as
   * CPython). */
  CHECK_EQ(next_automatic(0), 2);
  /* 75 die: pending 25 >= 25, still full. */
  CHECK_EQ(next_automatic(75), 2);
  /* 76 die: pending 24 < 25: the full collection is skipped and the
   * youngest generation over its threshold runs (CPython 3.12 would still
   * collect generation 2 here). */
  CHECK_EQ(next_automatic(76), 0);
  CHECK_EQ(next_automatic(100), 0);

  /* Frozen objects leave the count: promote 100, freeze them all. */
  gc_disable();
  gc_set_threshold(5, 100, 1);
  static GcObject *base[100], *promoted[100];
  for (int i = 0; i < 100; i++) base[i] = obj_new(1, 0);
  gc_collect();
  for (int i = 0; i < 100; i++) promoted[i] = obj_new(1, 0);
  gc_collect_generation(1);
  gc_freeze();
  gc_unfreeze(); /* back in generation 2, no longer pending */
  gc_collect_generation(1);
  gc_collect_generation(1);
  gc_enable();
  last_generation = -1;
  GcObject *fresh[6];
  for (int i = 0; i < 6; i++) fresh[i] = obj_new(1, 0);
  CHECK_EQ(last_generation, 0);
  for (int i = 0; i < 6; i++) obj_decref(fresh[i]);
  for (int i = 0; i < 100; i++) { obj_decref(promoted[i]); obj_decref(base[i]); }
  printf("long_lived_pending_counts_live_promotions: ok\n");
  return 0;
}
