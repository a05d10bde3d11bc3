/* gc_get_referents: the non-NULL fields in index order, then each reference
 * the traverse hook reports (as often as it reports it). A weakref's target
 * is not a referent; objects without fields or hook have none. */
#include "introspect.h"

typedef struct { GcObject *ref[2]; } Payload;
static void traverse(GcObject *self, GcVisitFn visit, void *ctx) {
  Payload *p = obj_payload(self);
  for (int i = 0; i < 2; i++)
    if (p->ref[i]) visit(p->ref[i], ctx);
}
static void clear(GcObject *self) {
  Payload *p = obj_payload(self);
  for (int i = 0; i < 2; i++) {
    GcObject *r = p->ref[i];
    p->ref[i] = NULL;
    obj_decref(r);
  }
}
static const GcType Holder = {"Holder", traverse, clear, NULL, NULL};

static int stop(GcObject *o, void *ctx) {
  (void)o;
  (void)ctx;
  return -42;
}

int main(void) {
  gc_disable();
  GcObject *x = obj_new(0, 0), *y = obj_new(1, 0), *z = obj_new(0, 8);
  GcObject *h = obj_new_typed(&Holder, 3, sizeof(Payload));
  obj_set_field(h, 0, x);
  obj_set_field(h, 2, y); /* field 1 stays NULL */
  Payload *p = obj_payload(h);
  obj_incref(z);
  p->ref[0] = z;
  obj_incref(x);
  p->ref[1] = x; /* x twice: a field and the payload */

  Seen s = seen_none();
  CHECK_EQ(gc_get_referents(h, record, &s), GC_OK);
  CHECK_SEEN(s, x, y, z, x);

  s = seen_none();
  CHECK_EQ(gc_get_referents(h, stop, &s), -42);

  GcObject *w = weakref_new(y, NULL, NULL);
  s = seen_none();
  CHECK_EQ(gc_get_referents(w, record, &s), GC_OK);
  CHECK_EQ(s.n, 0); /* weak, never a strong edge */
  CHECK_EQ(gc_get_referents(x, record, &s), GC_OK);
  CHECK_EQ(gc_get_referents(y, record, &s), GC_OK); /* empty field */
  CHECK_EQ(s.n, 0);

  CHECK_EQ(gc_get_referents(NULL, record, &s), GC_ERR_NULL);
  CHECK_ERR(GC_ERR_NULL);
  CHECK_EQ(gc_get_referents(h, NULL, &s), GC_ERR_NULL);

  obj_decref(w);
  obj_decref(h);
  obj_decref(x);
  obj_decref(y);
  obj_decref(z);
  CHECK_EQ(gc_collect(), 0);
  printf("gc_get_referents_order: ok\n");
  return 0;
}
