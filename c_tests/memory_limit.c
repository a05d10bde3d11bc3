/* The memory limit: RCGC_MEMORY_LIMIT is read at start; an allocation that
 * would take bytes_in_use over the limit is refused exactly (tracked,
 * untracked, large and weakref objects), changes nothing, and names the
 * limit; the next one fits once memory is freed; a full collection runs
 * first and its freed garbage makes room; with collection disabled none
 * runs; finalizers that allocate during that collection see the limit. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include "check.h"

static size_t in_use(void) { return gc_get_memory().bytes_in_use; }

/* An allocation refused by the limit: NULL, GC_ERR_NOMEM, the message
 * names the limit, and nothing was counted. */
static void check_refused(GcObject *o, size_t used_before, GcCounts c) {
  CHECK(o == NULL);
  CHECK_ERR(GC_ERR_NOMEM);
  CHECK(strstr(gc_last_error(), "memory limit") != NULL);
  CHECK_EQ(in_use(), used_before);
  CHECK_EQ(gc_get_count().count0, c.count0);
}

static int finalized;
static GcObject *allocated_in_finalizer = (GcObject *)1;
static void fin(GcObject *self) {
  (void)self;
  finalized++;
  allocated_in_finalizer = obj_new(2, 1000); /* does not fit */
}
static const GcType Fin = {"Fin", NULL, NULL, fin, NULL};

int main(void) {
  setenv("RCGC_MEMORY_LIMIT", "1K", 1);
  CHECK_EQ(gc_get_memory_limit(), 1024);
  CHECK_EQ(gc_get_memory().limit, 1024);
  gc_disable();

  /* Tracked: 21 objects of 48 bytes fit in 1024 (1008), the 22nd does not. */
  GcObject *objs[22];
  for (int i = 0; i < 21; i++) CHECK((objs[i] = obj_new(2, 0)) != NULL);
  CHECK_EQ(in_use(), 1008);
  GcCounts c = gc_get_count();
  check_refused(obj_new(2, 0), 1008, c);
  /* Exactly 16 bytes are left: nothing fits (the smallest object is 32). */
  check_refused(obj_new(0, 0), 1008, c);
  obj_decref(objs[20]);
  CHECK((objs[20] = obj_new(2, 0)) != NULL); /* fits again */

  /* Untracked, large and weakref objects, with the limit set from C. */
  CHECK_EQ(gc_set_memory_limit(1008 + 48), GC_OK);
  GcObject *leaf = obj_new(0, 16); /* 48 bytes: fills it exactly */
  CHECK(leaf != NULL);
  c = gc_get_count();
  check_refused(obj_new(0, 16), 1056, c);
  check_refused(weakref_new(objs[0], NULL, NULL), 1056, c);
  CHECK(strstr(gc_last_error(), "weakref_new") != NULL);
  check_refused(obj_new(100, 0), 1056, c);
  gc_set_memory_limit(1056 + 832);
  GcObject *big = obj_new(100, 0);
  CHECK(big != NULL);
  CHECK_EQ(in_use(), 1056 + 832);
  obj_decref(big);
  obj_decref(leaf);

  /* A limit below the current use is allowed; allocations then fail. */
  gc_set_memory_limit(100);
  check_refused(obj_new(2, 0), 1008, gc_get_count());
  for (int i = 0; i < 21; i++) obj_decref(objs[i]);
  CHECK_EQ(in_use(), 0);
  CHECK((objs[0] = obj_new(2, 0)) != NULL);
  obj_decref(objs[0]);

  /* Cyclic garbage: with collection disabled it is not collected for the
   * limit, so the allocation fails; enabled, a full collection frees it and
   * the allocation succeeds. Its finalizer allocates during that collection
   * and meets the same limit. */
  gc_set_memory_limit(5 * 48);
  GcObject *x = obj_new_typed(&Fin, 2, 0), *y = obj_new(2, 0);
  obj_set_field(x, 0, y);
  obj_set_field(y, 0, x);
  obj_decref(x);
  obj_decref(y);
  GcObject *keep[3];
  for (int i = 0; i < 3; i++) CHECK((keep[i] = obj_new(2, 0)) != NULL);
  size_t stats_before = gc_get_stats(2).collections;
  check_refused(obj_new(2, 0), 5 * 48, gc_get_count());
  CHECK_EQ(gc_get_stats(2).collections, stats_before);
  CHECK_EQ(finalized, 0);
  gc_enable();
  gc_set_threshold(0, 10, 10); /* no automatic collections of its own */
  GcObject *fits = obj_new(2, 0);
  CHECK(fits != NULL);
  CHECK_EQ(gc_get_stats(2).collections, stats_before + 1);
  CHECK_EQ(gc_get_stats(2).collected, 2);
  CHECK_EQ(finalized, 1);
  CHECK(allocated_in_finalizer == NULL);
  CHECK_EQ(in_use(), 4 * 48);

  obj_decref(fits);
  for (int i = 0; i < 3; i++) obj_decref(keep[i]);
  gc_set_memory_limit(0);
  CHECK_EQ(gc_get_memory_limit(), 0);
  printf("memory_limit: ok\n");
  return 0;
}
