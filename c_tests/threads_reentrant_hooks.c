/* Finalizers, weakref callbacks and gc callbacks that re-enter the API
 * (allocate, set fields, create weakrefs, collect) from several threads at
 * once, on both death paths. */
#include <stdatomic.h>
#include "stress.h"

static atomic_long finalized, callbacks, gc_events, created, destroyed;
static void destroy(GcObject *self) { (void)self; atomic_fetch_add(&destroyed, 1); }
static void fin(GcObject *self) {
  atomic_fetch_add(&finalized, 1);
  GcObject *tmp = obj_new(1, 0); /* allocate and link inside a finalizer */
  obj_set_field(tmp, 0, self);
  obj_decref(tmp);
  if (atomic_load(&finalized) % 16 == 0) CHECK(gc_collect() >= 0);
}
static const GcType Node = {"Node", NULL, NULL, fin, destroy};
static void weak_cb(GcObject *wr, void *ctx) {
  (void)ctx;
  CHECK(weakref_get(wr) == NULL);
  atomic_fetch_add(&callbacks, 1);
  GcObject *o = obj_new(0, 8);
  GcObject *w = weakref_new(o, NULL, NULL);
  GcObject *got = weakref_get(w);
  CHECK(got == o);
  obj_decref(got);
  /* Inside a death, releases are queued: o dies when this death completes
   * (a weakref_get before that would resurrect it). */
  obj_decref(o);
  obj_decref(w);
}
static void on_gc(GcPhase phase, const GcCallbackInfo *info, void *ctx) {
  (void)info; (void)ctx;
  if (phase == GC_PHASE_STOP) atomic_fetch_add(&gc_events, 1);
  CHECK_EQ(gc_collect(), 0);
}

static void *worker(void *arg) {
  (void)arg;
  long rounds = 100 * stress_scale();
  for (long r = 0; r < rounds; r++) {
    GcObject *a = obj_new_typed(&Node, 1, 0), *b = obj_new_typed(&Node, 1, 0);
    atomic_fetch_add(&created, 2);
    GcObject *wa = weakref_new(a, weak_cb, NULL), *wb = weakref_new(b, weak_cb, NULL);
    if (r % 2) { /* a cycle: collector path */
      obj_set_field(a, 0, b);
      obj_set_field(b, 0, a);
    }
    obj_decref(a);
    obj_decref(b);
    if (r % 2) gc_collect();
    CHECK(weakref_get(wa) == NULL && weakref_get(wb) == NULL);
    obj_decref(wa);
    obj_decref(wb);
  }
  return NULL;
}

int main(void) {
  gc_callback_add(on_gc, NULL);
  run_threads(4, worker);
  gc_collect();
  gc_callback_remove(on_gc, NULL);
  CHECK_EQ(atomic_load(&destroyed), atomic_load(&created));
  CHECK_EQ(atomic_load(&finalized), atomic_load(&created));
  CHECK_EQ(atomic_load(&callbacks), atomic_load(&created));
  printf("threads_reentrant_hooks: %ld finalizers, %ld weakref callbacks, %ld collections\n",
         atomic_load(&finalized), atomic_load(&callbacks), atomic_load(&gc_events));
  return 0;
}
