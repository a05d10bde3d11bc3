/* gc_get_referrers: each live tracked object that references the target,
 * through fields or the traverse hook, exactly once however many times it
 * does, in gc_visit_objects(-1) order (the permanent generation included).
 * Weakrefs to the target are not referrers. */
#include "introspect.h"

static const GcType Holder = {"Holder", one_ref_traverse, one_ref_clear, NULL, NULL};

int main(void) {
  gc_disable();
  GcObject *t = obj_new(0, 0); /* an untracked target */
  GcObject *frozen = obj_new(1, 0);
  obj_set_field(frozen, 0, t);
  gc_freeze();
  GcObject *a = obj_new(3, 0);
  obj_set_field(a, 0, t);
  obj_set_field(a, 2, t); /* twice: one visit */
  GcObject *other = obj_new(1, 0);
  GcObject *b = obj_new_typed(&Holder, 0, sizeof(OneRef));
  obj_incref(t);
  ((OneRef *)obj_payload(b))->ref = t; /* through the payload */
  GcObject *w = weakref_new(t, NULL, NULL);
  GcObject *c = obj_new(2, 0);
  obj_set_field(c, 1, t);
  obj_set_field(c, 0, c); /* a self-cycle does not matter */

  Seen s = seen_none();
  CHECK_EQ(gc_get_referrers(t, record, &s), GC_OK);
  CHECK_SEEN(s, a, b, c, frozen);

  s = seen_none();
  CHECK_EQ(gc_get_referrers(other, record, &s), GC_OK);
  CHECK_EQ(s.n, 0);
  CHECK_EQ(gc_get_referrers(c, record, &s), GC_OK);
  CHECK_SEEN(s, c);

  CHECK_EQ(gc_get_referrers(NULL, record, &s), GC_ERR_NULL);
  CHECK_ERR(GC_ERR_NULL);
  CHECK_EQ(gc_get_referrers(t, NULL, NULL), GC_ERR_NULL);

  gc_unfreeze();
  obj_decref(frozen);
  obj_decref(a);
  obj_decref(other);
  obj_decref(b);
  obj_decref(w);
  obj_decref(c);
  obj_decref(t);
  CHECK_EQ(gc_collect(), 1); /* c's self-cycle */
  printf("gc_get_referrers_once_each: ok\n");
  return 0;
}
