/* gc_why_alive: the shortest chain from an object held from outside (its
 * count exceeds the references from the heap) to the object, through fields
 * and payload references, never through weakrefs; 1 for an object held
 * itself; 0 for cyclic garbage awaiting collection (fn not called). */
#include "introspect.h"

static const GcType Holder = {"Holder", one_ref_traverse, one_ref_clear, NULL, NULL};

static int count_calls(GcObject *o, void *ctx) {
  (void)o;
  ++*(int *)ctx;
  return 0;
}
static int stop_first(GcObject *o, void *ctx) {
  (void)o;
  ++*(int *)ctx;
  return 1;
}

/* A new object linked from `from`'s field 0; only `from` holds it. */
static GcObject *linked(GcObject *from, size_t nfields) {
  GcObject *o = obj_new(nfields, 0);
  obj_set_field(from, 0, o);
  obj_decref(o);
  return o;
}

int main(void) {
  gc_disable();
  /* root -> m1 -> m2 -> o, and o -> m1 (a cycle hanging from the root) */
  GcObject *root = obj_new(1, 0);
  GcObject *m1 = linked(root, 1);
  GcObject *m2 = linked(m1, 1);
  GcObject *o = linked(m2, 1);
  obj_set_field(o, 0, m1);
  Seen s = seen_none();
  CHECK_EQ(gc_why_alive(o, record, &s), 4);
  CHECK_SEEN(s, root, m1, m2, o);

  /* A shorter way in, through a payload reference: holder => o. */
  GcObject *holder = obj_new_typed(&Holder, 0, sizeof(OneRef));
  obj_incref(o);
  ((OneRef *)obj_payload(holder))->ref = o;
  s = seen_none();
  CHECK_EQ(gc_why_alive(o, record, &s), 2);
  CHECK_SEEN(s, holder, o);

  /* A weakref held from outside is no way in. */
  GcObject *w = weakref_new(m2, NULL, NULL);
  s = seen_none();
  CHECK_EQ(gc_why_alive(m2, record, &s), 3);
  CHECK_SEEN(s, root, m1, m2);

  /* Held itself: a chain of one. */
  obj_incref(m2);
  s = seen_none();
  CHECK_EQ(gc_why_alive(m2, record, &s), 1);
  CHECK_SEEN(s, m2);
  obj_decref(m2);
  s = seen_none();
  CHECK_EQ(gc_why_alive(root, record, &s), 1);
  CHECK_SEEN(s, root);

  /* An untracked leaf at the end of a chain. */
  GcObject *leaf = obj_new(0, 32);
  obj_set_field(m2, 0, leaf); /* replaces m2 -> o; o stays reachable via holder */
  obj_decref(leaf);
  s = seen_none();
  CHECK_EQ(gc_why_alive(leaf, record, &s), 4);
  CHECK_SEEN(s, root, m1, m2, leaf);

  /* Through the permanent generation. */
  GcObject *frozen = obj_new(1, 0);
  GcObject *f1 = linked(frozen, 1);
  gc_freeze();
  s = seen_none();
  CHECK_EQ(gc_why_alive(f1, record, &s), 2);
  CHECK_SEEN(s, frozen, f1);
  gc_unfreeze();

  /* Garbage awaiting collection: 0, fn not called. */
  GcObject *g1 = obj_new(1, 0);
  GcObject *g2 = obj_new(2, 0), *g3 = obj_new(1, 0);
  obj_set_field(g1, 0, g2);
  obj_set_field(g2, 0, g1);
  obj_set_field(g2, 1, g3); /* hangs off the cycle */
  obj_decref(g1);
  obj_decref(g2);
  obj_decref(g3);
  int calls = 0;
  CHECK_EQ(gc_why_alive(g1, count_calls, &calls), 0);
  CHECK_EQ(gc_why_alive(g2, count_calls, &calls), 0);
  CHECK_EQ(gc_why_alive(g3, count_calls, &calls), 0);
  CHECK_EQ(calls, 0);

  /* A non-zero return stops the calls, not the result. */
  calls = 0;
  CHECK_EQ(gc_why_alive(m2, stop_first, &calls), 3);
  CHECK_EQ(calls, 1);

  CHECK_EQ(gc_why_alive(NULL, record, &s), GC_ERR_NULL);
  CHECK_ERR(GC_ERR_NULL);
  CHECK_EQ(gc_why_alive(o, NULL, NULL), GC_ERR_NULL);

  obj_decref(w);
  obj_decref(holder);
  obj_decref(root);
  obj_decref(frozen);
  CHECK_EQ(gc_collect(), 3); /* g1, g2, g3 (the rest died by refcount) */
  printf("gc_why_alive_chains: ok\n");
  return 0;
}
