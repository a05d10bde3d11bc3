/* How a collection tears its garbage down when hookless objects (freed as
 * soon as their references are released and their count is zero) are mixed
 * with typed ones (whose clear hooks all run before any destroy hook):
 *  - a ring of plain objects also held from a typed object's payload is
 *    freed once that object's clear hook lets go, and every clear hook runs
 *    before every destroy hook;
 *  - a plain object held by a typed object whose clear hook keeps its
 *    reference (a host bug) is uncollectable: it stays alive and usable, in
 *    generation 2, with its fields released;
 *  - a garbage object's reference to a live object outside the garbage is
 *    released without freeing it;
 *  - a weakref object inside the garbage, and one to a garbage object from
 *    outside (it gets its callback, the inner one none).
 * Valgrind and ASan check that nothing is read after it is freed. */
#include "check.h"

typedef struct { GcObject *held; } Host;
static int clears, destroys, destroys_before_last_clear, callbacks;
static int leaky;

static void traverse(GcObject *self, GcVisitFn visit, void *ctx) {
  Host *h = obj_payload(self);
  if (h->held) visit(h->held, ctx);
}
static void clear(GcObject *self) {
  clears++;
  if (destroys) destroys_before_last_clear = 1;
  if (leaky) return; /* keeps its reference: the held object can't be freed */
  Host *h = obj_payload(self);
  GcObject *p = h->held;
  h->held = NULL;
  obj_decref(p);
}
static void destroy(GcObject *self) {
  (void)self;
  destroys++;
}
static const GcType HostType = {"Host", traverse, clear, NULL, destroy};

static GcObject *host_holding(GcObject *held) {
  GcObject *o = obj_new_typed(&HostType, 1, sizeof(Host));
  gc_lock();
  obj_incref(held);
  ((Host *)obj_payload(o))->held = held;
  gc_unlock();
  return o;
}

static void on_dead(GcObject *wr, void *ctx) {
  (void)wr;
  (void)ctx;
  callbacks++;
}

int main(void) {
  gc_disable();
  gc_collect();

  /* A ring of 100 plain objects, each also pointing at `outside`, held from
   * two typed objects' payloads; the typed objects point at each other
   * through field 0. A weakref inside the ring (stored in a ring member's
   * field) and one from outside to a ring member. */
  GcObject *outside = obj_new(0, 8);
  GcObject *ring[100];
  for (int i = 0; i < 100; i++) ring[i] = obj_new(3, 0);
  for (int i = 0; i < 100; i++) {
    obj_set_field(ring[i], 0, ring[(i + 1) % 100]);
    obj_set_field(ring[i], 1, outside);
  }
  GcObject *inner_wr = weakref_new(ring[50], on_dead, NULL);
  obj_set_field(ring[7], 2, inner_wr);
  obj_decref(inner_wr);
  GcObject *outer_wr = weakref_new(ring[3], on_dead, NULL);
  GcObject *h1 = host_holding(ring[0]), *h2 = host_holding(ring[60]);
  obj_set_field(h1, 0, h2);
  obj_set_field(h2, 0, h1);
  for (int i = 0; i < 100; i++) obj_decref(ring[i]);
  obj_decref(h1);
  obj_decref(h2);
  CHECK_EQ(obj_refcount(outside), 101);

  size_t before = gc_get_memory().objects;
  CHECK_EQ(gc_collect(), 103); /* the ring, the inner weakref, two hosts */
  CHECK_EQ(clears, 2);
  CHECK_EQ(destroys, 2);
  CHECK_EQ(destroys_before_last_clear, 0);
  CHECK_EQ(callbacks, 1); /* the outer weakref's only */
  CHECK(weakref_get(outer_wr) == NULL);
  CHECK_EQ(obj_refcount(outside), 1);
  CHECK_EQ(gc_get_memory().objects, before - 103);
  CHECK_EQ(gc_get_stats(2).uncollectable, 0);

  /* A leaky clear hook: the plain object it holds (and the plain object
   * that one holds) cannot be freed; both are uncollectable, alive, with
   * their fields released, and back in generation 2. */
  leaky = 1;
  GcObject *p = obj_new(1, 0), *q = obj_new(1, 0); /* allocated first */
  obj_set_field(p, 0, q);
  obj_set_field(q, 0, p);
  GcObject *h3 = host_holding(p);
  obj_set_field(h3, 0, h3);
  obj_decref(p);
  obj_decref(q);
  obj_decref(h3);
  CHECK_EQ(gc_collect(), 3);
  CHECK_EQ(gc_get_stats(2).uncollectable, 1);
  /* q (released by p, its count at zero) and h3 were freed; p stays, with
   * the leaked payload reference as its only one and its field released. */
  CHECK_EQ(gc_get_memory().objects, before - 103 + 1);
  CHECK_EQ(obj_refcount(p), 1);
  CHECK(obj_borrow_field(p, 0) == NULL);
  CHECK(gc_is_tracked(p));
  CHECK_EQ(obj_set_field(p, 0, outside), GC_OK); /* still a working object */
  CHECK_EQ(obj_refcount(outside), 2);
  obj_decref(p); /* the host lets go */
  CHECK_EQ(obj_refcount(outside), 1);
  CHECK_EQ(gc_get_memory().objects, before - 103);

  obj_decref(outer_wr);
  obj_decref(outside);
  printf("garbage_teardown_order: ok\n");
  return 0;
}
