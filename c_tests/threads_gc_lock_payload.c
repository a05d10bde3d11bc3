/* References kept in payloads (reported by traverse) change under
 * gc_lock()/gc_unlock() while other threads collect: a collection never
 * sees a half-made change, so nothing live is freed and every cycle through
 * payloads is collected in the end. */
#include <stdatomic.h>
#include "stress.h"

typedef struct { GcObject *ref; long magic; } Box;
static atomic_long created, destroyed;
static void traverse(GcObject *self, GcVisitFn visit, void *ctx) {
  Box *b = obj_payload(self);
  if (b->ref) visit(b->ref, ctx);
}
static void clear(GcObject *self) {
  Box *b = obj_payload(self);
  GcObject *r = b->ref;
  b->ref = NULL;
  obj_decref(r);
}
static void destroy(GcObject *self) {
  Box *b = obj_payload(self);
  CHECK_EQ(b->magic, 0x600d);
  b->magic = 0xdead;
  atomic_fetch_add(&destroyed, 1);
}
static const GcType BoxType = {"Box", traverse, clear, NULL, destroy};

static GcObject *box(void) {
  GcObject *o = obj_new_typed(&BoxType, 0, sizeof(Box));
  ((Box *)obj_payload(o))->magic = 0x600d;
  atomic_fetch_add(&created, 1);
  return o;
}
/* Replaces the payload reference of `o` with `v` (new reference taken). */
static void store(GcObject *o, GcObject *v) {
  gc_lock();
  Box *b = obj_payload(o);
  GcObject *old = b->ref;
  obj_incref(v);
  b->ref = v;
  gc_unlock();
  obj_decref(old);
}

static atomic_int stop;
static void *collector(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) gc_collect_generation(0), gc_collect();
  return NULL;
}
static void *mutator(void *arg) {
  (void)arg;
  long rounds = 300 * stress_scale();
  GcObject *root = box();
  for (long r = 0; r < rounds; r++) {
    GcObject *a = box(), *b = box();
    store(a, b);
    store(b, a);          /* a payload cycle */
    store(root, a);       /* reachable from the root for a while */
    obj_decref(a);
    obj_decref(b);
    GcObject *held = ((Box *)obj_payload(root))->ref;
    CHECK_EQ(((Box *)obj_payload(held))->magic, 0x600d);
    CHECK_EQ(((Box *)obj_payload(((Box *)obj_payload(held))->ref))->magic, 0x600d);
  }
  obj_decref(root);
  return NULL;
}

int main(void) {
  pthread_t c;
  CHECK_EQ(pthread_create(&c, NULL, collector, NULL), 0);
  run_threads(3, mutator);
  atomic_store(&stop, 1);
  CHECK_EQ(pthread_join(c, NULL), 0);
  gc_collect();
  CHECK_EQ(atomic_load(&destroyed), atomic_load(&created));
  printf("threads_gc_lock_payload: %ld boxes, each destroyed once\n", atomic_load(&created));
  return 0;
}
