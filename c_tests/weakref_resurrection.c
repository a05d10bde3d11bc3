/* A finalizer that resurrects its object (stores a new reference in a
 * global), on the refcount path and on the collector path (a cycle a <-> b,
 * where a's finalizer resurrects a through its own weakref). Death order
 * step 2: the resurrected object, and all it reaches, stays intact: the
 * weakrefs still return it, no callback has run, nothing was destroyed. After
 * the final release the finalizer does not run again (PEP 442), the weakrefs
 * go NULL and each callback runs once. Also on the collector path: an object
 * resurrected by another garbage object's finalizer (through a weakref). */
#include "check.h"

static GcObject *saved;        /* where the finalizer resurrects its object */
static GcObject *self_wr;      /* the weakref the collector-path finalizer uses */
static GcObject *other_wr;     /* the weakref the Rescuer's finalizer uses */
static int finalized, destroyed, calls;

static void resurrect_by_incref(GcObject *self) {
  finalized++;
  CHECK(saved == NULL);
  obj_incref(self);
  saved = self;
}
static void resurrect_by_weakref(GcObject *self) {
  finalized++;
  CHECK(saved == NULL);
  saved = weakref_get(self_wr); /* a new reference: the weakref is intact */
  CHECK(saved == self);
}
static void count_finalize(GcObject *self) { (void)self; finalized++; }
static void rescue_other(GcObject *self) { /* resurrects another object */
  (void)self;
  finalized++;
  CHECK(saved == NULL);
  saved = weakref_get(other_wr);
  CHECK(saved != NULL);
}
static void on_destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType Phoenix = {"Phoenix", NULL, NULL, resurrect_by_incref, on_destroy};
static const GcType CyclePhoenix = {"CyclePhoenix", NULL, NULL, resurrect_by_weakref, on_destroy};
static const GcType Plain = {"Plain", NULL, NULL, count_finalize, on_destroy};
static const GcType Rescuer = {"Rescuer", NULL, NULL, rescue_other, on_destroy};

static void callback(GcObject *wr, void *ctx) {
  (void)ctx;
  CHECK(weakref_get(wr) == NULL);
  calls++;
}
static void check_alive(GcObject *wr, GcObject *expect) {
  GcObject *got = weakref_get(wr);
  CHECK(got == expect);
  obj_decref(got);
}

int main(void) {
  gc_disable();
  gc_collect();

  /* Refcount path. */
  GcObject *x = obj_new_typed(&Phoenix, 1, 16);
  CHECK(x != NULL);
  GcObject *wr = weakref_new(x, callback, NULL);
  CHECK(wr != NULL);
  obj_decref(x); /* the last release: the finalizer resurrects it */
  CHECK(saved == x);
  CHECK_EQ(finalized, 1);
  CHECK(gc_is_finalized(x));
  CHECK_EQ(obj_refcount(x), 1);
  CHECK_EQ(calls, 0);
  CHECK_EQ(destroyed, 0);
  CHECK_EQ(weakref_count(x), 1);
  check_alive(wr, x);
  GcObject *wr2 = weakref_new(x, callback, NULL); /* weakrefs still work */
  CHECK(wr2 != NULL);
  GcObject *s = saved;
  saved = NULL;
  obj_decref(s); /* the final release: no second finalization */
  CHECK_EQ(finalized, 1);
  CHECK_EQ(calls, 2);
  CHECK_EQ(destroyed, 1);
  CHECK(weakref_get(wr) == NULL);
  CHECK(weakref_get(wr2) == NULL);
  obj_decref(wr);
  obj_decref(wr2);

  /* Collector path: a <-> b, a resurrects itself (and so b) via a weakref. */
  finalized = destroyed = calls = 0;
  GcObject *a = obj_new_typed(&CyclePhoenix, 1, 0);
  GcObject *b = obj_new_typed(&Plain, 1, 0);
  CHECK(a && b);
  CHECK_EQ(obj_set_field(a, 0, b), GC_OK);
  CHECK_EQ(obj_set_field(b, 0, a), GC_OK);
  self_wr = weakref_new(a, callback, NULL);
  GcObject *wr_b = weakref_new(b, callback, NULL);
  CHECK(self_wr && wr_b);
  obj_decref(a);
  obj_decref(b);
  CHECK_EQ(gc_collect(), 0); /* resurrected objects are not counted */
  CHECK(saved == a);
  CHECK_EQ(finalized, 2); /* both finalizers ran, before the check */
  CHECK_EQ(calls, 0);
  CHECK_EQ(destroyed, 0);
  CHECK(obj_borrow_field(a, 0) == b); /* fields intact */
  CHECK(obj_borrow_field(b, 0) == a);
  CHECK(gc_is_tracked(a) && gc_is_tracked(b));
  CHECK_EQ(weakref_count(a), 1);
  CHECK_EQ(weakref_count(b), 1);
  check_alive(self_wr, a);
  check_alive(wr_b, b);
  CHECK_EQ(gc_collect(), 0); /* still reachable from `saved` */
  CHECK_EQ(finalized, 2);

  s = saved;
  saved = NULL;
  obj_decref(s); /* garbage again: only the cycle holds it */
  CHECK_EQ(destroyed, 0);
  check_alive(self_wr, a);
  CHECK_EQ(gc_collect(), 2);
  CHECK_EQ(finalized, 2); /* no finalizer ran again */
  CHECK(saved == NULL);
  CHECK_EQ(calls, 2);
  CHECK_EQ(destroyed, 2);
  CHECK(weakref_get(self_wr) == NULL);
  CHECK(weakref_get(wr_b) == NULL);
  obj_decref(self_wr);
  obj_decref(wr_b);
  CHECK_EQ(gc_collect(), 0);

  /* Collector path, resurrected by another garbage object's finalizer: two
   * garbage cycles, a <-> b and c <-> c; c's finalizer takes a back through
   * a weakref. a and b survive with their weakrefs; c dies. */
  finalized = destroyed = calls = 0;
  a = obj_new_typed(&Plain, 1, 0);
  b = obj_new_typed(&Plain, 1, 0);
  GcObject *c = obj_new_typed(&Rescuer, 1, 0);
  CHECK(a && b && c);
  CHECK_EQ(obj_set_field(a, 0, b), GC_OK);
  CHECK_EQ(obj_set_field(b, 0, a), GC_OK);
  CHECK_EQ(obj_set_field(c, 0, c), GC_OK);
  other_wr = weakref_new(a, callback, NULL);
  wr_b = weakref_new(b, callback, NULL);
  GcObject *wr_c = weakref_new(c, callback, NULL);
  CHECK(other_wr && wr_b && wr_c);
  obj_decref(a);
  obj_decref(b);
  obj_decref(c);
  CHECK_EQ(gc_collect(), 1); /* c only */
  CHECK(saved == a);
  CHECK_EQ(finalized, 3);
  CHECK_EQ(calls, 1); /* c's weakref */
  CHECK_EQ(destroyed, 1);
  CHECK(weakref_get(wr_c) == NULL);
  check_alive(other_wr, a);
  check_alive(wr_b, b);
  s = saved;
  saved = NULL;
  obj_decref(s);
  CHECK_EQ(gc_collect(), 2);
  CHECK_EQ(finalized, 3);
  CHECK_EQ(calls, 3);
  CHECK_EQ(destroyed, 3);
  obj_decref(other_wr);
  obj_decref(wr_b);
  obj_decref(wr_c);
  CHECK_EQ(gc_collect(), 0);

  printf("weakref_resurrection: weakrefs survived the resurrection, cleared at the final death\n");
  return 0;
}
