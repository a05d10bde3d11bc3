/* a and b form a cycle; b's field 1 holds w = weakref_new(a, cb) (the only
 * reference to w), so w is part of the same cyclic garbage. a's finalizer
 * clears a's edge to b, which frees b, and so w, during the collection.
 * No callback may run for w (API.md; CPython agrees: python3 gives
 * gc.collect() == 0 and no callback for the same objects). */
#include "check.h"

static int calls, finalized, destroyed;
static void cb(GcObject *wr, void *ctx) {
  (void)wr;
  (void)ctx;
  calls++;
}
static void fin_a(GcObject *self) {
  finalized++;
  CHECK_EQ(obj_set_field(self, 0, NULL), GC_OK); /* the edge to b */
}
static void destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType A = {"A", NULL, NULL, fin_a, destroy};
static const GcType B = {"B", NULL, NULL, NULL, destroy};

int main(void) {
  gc_disable();
  GcObject *a = obj_new_typed(&A, 1, 0);
  GcObject *b = obj_new_typed(&B, 2, 0);
  obj_set_field(a, 0, b);
  obj_set_field(b, 0, a);
  GcObject *w = weakref_new(a, cb, NULL);
  obj_set_field(b, 1, w);
  obj_decref(w);
  obj_decref(a);
  obj_decref(b);
  int64_t n = gc_collect();
  if (calls != 0) {
    fprintf(stderr, "callback of a weakref in the garbage ran %d times\n", calls);
    exit(1);
  }
  CHECK_EQ(finalized, 1);
  CHECK_EQ(destroyed, 2);
  CHECK_EQ(n, 0); /* as CPython: everything died during finalization */
  printf("garbage_weakref_no_callback_when_finalizer_breaks_cycle: no callback\n");
  return 0;
}
