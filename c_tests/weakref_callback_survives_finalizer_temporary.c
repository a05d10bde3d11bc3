/* A box holds target t (field 0) and w = weakref_new(t, cb) (field 1), and
 * nothing else holds either. t's finalizer takes a temporary reference to t,
 * directly or through another object. Releasing the box runs cb once, as
 * CPython does (python3: the callback of a weakref held next to its target
 * runs when the target's __del__ used a temporary). */
#include "check.h"

static int calls, finalized;
static void cb(GcObject *wr, void *ctx) {
  (void)ctx;
  CHECK(weakref_get(wr) == NULL);
  calls++;
}
static void fin_none(GcObject *self) { (void)self; finalized++; }
static void fin_direct(GcObject *self) {
  finalized++;
  obj_incref(self);
  obj_decref(self);
}
static void fin_holder(GcObject *self) {
  finalized++;
  GcObject *tmp = obj_new(1, 0);
  obj_set_field(tmp, 0, self);
  obj_decref(tmp);
}
static const GcType None = {"None", NULL, NULL, fin_none, NULL};
static const GcType Direct = {"Direct", NULL, NULL, fin_direct, NULL};
static const GcType Holder = {"Holder", NULL, NULL, fin_holder, NULL};

static void scenario(const GcType *type, const char *name) {
  calls = finalized = 0;
  GcObject *box = obj_new(2, 0);
  GcObject *t = obj_new_typed(type, 0, 0);
  GcObject *w = weakref_new(t, cb, NULL);
  obj_set_field(box, 0, t);
  obj_set_field(box, 1, w);
  obj_decref(t);
  obj_decref(w);
  obj_decref(box);
  if (calls != 1) {
    fprintf(stderr, "%s: callback ran %d times, expected 1\n", name, calls);
    exit(1);
  }
  CHECK_EQ(finalized, 1);
}

int main(void) {
  gc_disable();
  scenario(&None, "no temporary");
  scenario(&Direct, "temporary reference");
  scenario(&Holder, "temporary through another object");
  printf("weakref_callback_survives_finalizer_temporary: one callback each\n");
  return 0;
}
