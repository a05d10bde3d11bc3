/* GC_DEBUG_SAVEALL: the garbage a collection finds goes through steps 1-3
 * of the death order (finalizers run, weakrefs cleared, callbacks run), then
 * into the garbage list, which holds a reference to each, intact and
 * tracked; gc_collect counts them. gc_clear_garbage releases the list: the
 * objects are then collected as usual (finalizers not run again). */
#include "introspect.h"

static int finalized, destroyed, callbacks;
static void finalize(GcObject *self) {
  (void)self;
  finalized++;
}
static void destroy(GcObject *self) {
  (void)self;
  destroyed++;
}
static void on_dead(GcObject *wr, void *ctx) {
  (void)ctx;
  CHECK(weakref_get(wr) == NULL);
  callbacks++;
}
static const GcType Node = {"Node", NULL, NULL, finalize, destroy};

int main(void) {
  gc_disable();
  gc_set_debug(GC_DEBUG_SAVEALL);
  GcObject *a = obj_new_typed(&Node, 1, 0), *b = obj_new_typed(&Node, 1, 0);
  obj_set_field(a, 0, b);
  obj_set_field(b, 0, a);
  GcObject *w = weakref_new(a, on_dead, NULL);
  obj_decref(a);
  obj_decref(b);
  GcGenStats before = gc_get_stats(2);

  CHECK_EQ(gc_collect(), 2); /* counted, as CPython does */
  CHECK_EQ(finalized, 2);
  CHECK_EQ(callbacks, 1);
  CHECK(weakref_get(w) == NULL);
  CHECK_EQ(destroyed, 0);
  CHECK_EQ(gc_get_stats(2).collected, before.collected + 2);
  CHECK_EQ(gc_get_stats(2).uncollectable, before.uncollectable);

  Seen s = seen_none();
  CHECK_EQ(gc_visit_garbage(record, &s), GC_OK);
  CHECK_SEEN(s, a, b);
  /* Intact: fields kept; each held by the list and by the other. */
  CHECK(obj_borrow_field(a, 0) == b);
  CHECK(obj_borrow_field(b, 0) == a);
  CHECK_EQ(obj_refcount(a), 2);
  CHECK(gc_is_tracked(a) && gc_is_finalized(a));
  /* Live for every function: visited, and held from outside (the list). */
  s = seen_none();
  CHECK_EQ(gc_visit_objects(-1, record, &s), GC_OK);
  CHECK_SEEN(s, w, a, b);
  s = seen_none();
  CHECK_EQ(gc_why_alive(b, record, &s), 1);
  CHECK_SEEN(s, b);

  /* Held by the list: a second collection finds nothing. */
  CHECK_EQ(gc_collect(), 0);
  CHECK_EQ(gc_visit_garbage(NULL, NULL), GC_ERR_NULL);

  gc_set_debug(0);
  CHECK_EQ(gc_clear_garbage(), 2);
  s = seen_none();
  CHECK_EQ(gc_visit_garbage(record, &s), GC_OK);
  CHECK_EQ(s.n, 0);
  CHECK_EQ(gc_why_alive(a, record, &s), 0); /* cyclic garbage again */
  CHECK_EQ(gc_collect(), 2);
  CHECK_EQ(finalized, 2); /* not again */
  CHECK_EQ(destroyed, 2);
  CHECK_EQ(callbacks, 1);
  CHECK_EQ(gc_clear_garbage(), 0);

  /* Without a cycle, clearing the list frees at once. */
  gc_set_debug(GC_DEBUG_LEAK);
  GcObject *c = obj_new_typed(&Node, 1, 0);
  obj_set_field(c, 0, c);
  obj_decref(c);
  CHECK_EQ(gc_collect(), 1);
  obj_set_field(c, 0, NULL); /* the host breaks the cycle in the saved object */
  gc_set_debug(0);
  CHECK_EQ(gc_clear_garbage(), 1);
  CHECK_EQ(destroyed, 3);
  obj_decref(w);
  printf("gc_saveall_garbage_list: ok\n");
  return 0;
}
