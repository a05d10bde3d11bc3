/* gc_visit_objects walks the live tracked objects of one generation (each
 * list oldest first), or of all of them and then the permanent generation
 * with -1. Untracked objects are never visited; cyclic garbage awaiting
 * collection is; a non-zero return stops the walk and is returned. */
#include "introspect.h"

static int stop_at_second(GcObject *o, void *ctx) {
  Seen *s = ctx;
  record(o, s);
  return s->n == 2 ? 7 : 0;
}

static int keep(GcObject *o, void *ctx) {
  obj_incref(o); /* a visit function may keep an object */
  *(GcObject **)ctx = o;
  return 1;
}

int main(void) {
  gc_disable();
  GcObject *p = obj_new(1, 0);
  gc_freeze(); /* p: permanent generation */
  GcObject *a = obj_new(1, 0);
  CHECK_EQ(gc_collect_generation(1), 0); /* a: generation 2 */
  GcObject *b = obj_new(1, 0);
  CHECK_EQ(gc_collect_generation(0), 0); /* b: generation 1 */
  GcObject *c = obj_new(1, 0);
  GcObject *w = weakref_new(c, NULL, NULL); /* weakrefs are tracked */
  GcObject *u = obj_new(0, 16);             /* untracked: never visited */
  CHECK(!gc_is_tracked(u));
  GcObject *g1 = obj_new(1, 0), *g2 = obj_new(1, 0);
  obj_set_field(g1, 0, g2);
  obj_set_field(g2, 0, g1);
  obj_decref(g1);
  obj_decref(g2); /* cyclic garbage, still live for the walk */

  Seen s = seen_none();
  CHECK_EQ(gc_visit_objects(0, record, &s), GC_OK);
  CHECK_SEEN(s, c, w, g1, g2);
  s = seen_none();
  CHECK_EQ(gc_visit_objects(1, record, &s), GC_OK);
  CHECK_SEEN(s, b);
  s = seen_none();
  CHECK_EQ(gc_visit_objects(2, record, &s), GC_OK);
  CHECK_SEEN(s, a);
  s = seen_none();
  CHECK_EQ(gc_visit_objects(-1, record, &s), GC_OK);
  CHECK_SEEN(s, c, w, g1, g2, b, a, p);

  s = seen_none();
  CHECK_EQ(gc_visit_objects(-1, stop_at_second, &s), 7);
  CHECK_SEEN(s, c, w);

  GcObject *kept = NULL;
  CHECK_EQ(gc_visit_objects(2, keep, &kept), 1);
  CHECK(kept == a);
  CHECK_EQ(obj_refcount(a), 2);
  obj_decref(kept);

  CHECK_EQ(gc_visit_objects(0, NULL, NULL), GC_ERR_NULL);
  CHECK_ERR(GC_ERR_NULL);
  CHECK_EQ(gc_visit_objects(3, record, &s), GC_ERR_INVALID);
  CHECK_ERR(GC_ERR_INVALID);
  CHECK_EQ(gc_visit_objects(-2, record, &s), GC_ERR_INVALID);

  gc_unfreeze();
  obj_decref(p);
  obj_decref(a);
  obj_decref(b);
  obj_decref(w);
  obj_decref(c);
  obj_decref(u);
  CHECK_EQ(gc_collect(), 2);
  s = seen_none();
  CHECK_EQ(gc_visit_objects(-1, record, &s), GC_OK);
  CHECK_EQ(s.n, 0);
  printf("gc_visit_objects_generations: ok\n");
  return 0;
}
