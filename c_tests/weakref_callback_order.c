/* Several weakrefs with callbacks to one target (API.md "Weak references"):
 * when the target dies, every callback runs exactly once, most recently
 * created weakref first; inside each callback weakref_get is already NULL for
 * every weakref of that target (all are cleared before the first callback),
 * weakref_count of the target is 0, the finalizer has run and `destroy` has
 * not (death order steps 1, 3, 5). Checked on both ways of dying: the last
 * release, and gc_collect of a cycle. */
#include "check.h"

enum { NWR = 4 };
static GcObject *target, *wrs[NWR];
static int order[NWR], ncalls, calls_of[NWR];
static int finalized, destroyed;

static void on_finalize(GcObject *self) {
  (void)self;
  finalized++;
  CHECK_EQ(weakref_count(self), NWR); /* step 1: weakrefs still intact */
  for (int i = 0; i < NWR; i++) {
    GcObject *got = weakref_get(wrs[i]);
    CHECK(got == self);
    obj_decref(got);
  }
}
static void on_destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType T = {"Target", NULL, NULL, on_finalize, on_destroy};

static void callback(GcObject *wr, void *ctx) {
  int i = (int)(size_t)ctx;
  CHECK(wr == wrs[i]);
  CHECK(ncalls < NWR);
  order[ncalls++] = i;
  calls_of[i]++;
  for (int j = 0; j < NWR; j++) CHECK(weakref_get(wrs[j]) == NULL);
  /* The target is not freed before step 5, so asking about it is safe. */
  CHECK_EQ(weakref_count(target), 0);
  CHECK_EQ(finalized, 1);
  CHECK_EQ(destroyed, 0);
}

static void setup(void) {
  ncalls = finalized = destroyed = 0;
  for (int i = 0; i < NWR; i++) order[i] = -1, calls_of[i] = 0;
  CHECK_EQ(weakref_count(target), 0);
  for (int i = 0; i < NWR; i++) {
    wrs[i] = weakref_new(target, callback, (void *)(size_t)i);
    CHECK(wrs[i] != NULL);
    CHECK_EQ(weakref_count(target), i + 1);
  }
  CHECK_EQ(obj_refcount(target), 1);
}

static void check_after(void) {
  CHECK_EQ(ncalls, NWR);
  for (int i = 0; i < NWR; i++) {
    CHECK_EQ(calls_of[i], 1);
    CHECK_EQ(order[i], NWR - 1 - i); /* newest first */
    CHECK(weakref_get(wrs[i]) == NULL);
  }
  CHECK_EQ(finalized, 1);
  CHECK_EQ(destroyed, 1);
  for (int i = 0; i < NWR; i++) obj_decref(wrs[i]);
  CHECK_EQ(ncalls, NWR); /* releasing the weakrefs calls nothing more */
}

int main(void) {
  gc_disable();
  gc_collect();

  /* Refcount path: the last release. */
  target = obj_new_typed(&T, 1, 0);
  CHECK(target != NULL);
  setup();
  obj_decref(target);
  check_after();

  /* Collector path: a self-cycle found by gc_collect. */
  target = obj_new_typed(&T, 1, 0);
  CHECK(target != NULL);
  CHECK_EQ(obj_set_field(target, 0, target), GC_OK);
  obj_decref(target); /* now only the cycle holds it */
  setup();            /* weakrefs created while it is already garbage */
  CHECK_EQ(obj_refcount(target), 1);
  CHECK_EQ(ncalls, 0);
  CHECK_EQ(gc_collect(), 1);
  check_after();

  CHECK_EQ(gc_collect(), 0);
  printf("weakref_callback_order: %d callbacks once each, newest first, all cleared first, on both paths\n", NWR);
  return 0;
}
