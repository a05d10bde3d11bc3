/* A weakref released before its target: its callback never runs, and
 * weakref_count of the target drops at once. Three ways the weakref dies
 * first: released by the program; released with the object whose field held
 * it; released by the target's own finalizer (step 1, before the weakrefs are
 * cleared at step 3). A weakref still alive when the target dies gets its
 * callback, as a control. */
#include "check.h"

static int calls[4];
static GcObject *in_finalizer; /* a weakref the finalizer releases */
static void callback(GcObject *wr, void *ctx) {
  (void)wr;
  calls[(size_t)ctx]++;
}
static void on_finalize(GcObject *self) {
  CHECK_EQ(weakref_count(self), 2);
  /* Its death may be queued until the target's death completes (API.md,
   * obj_decref), but it is released before the target's weakrefs clear. */
  obj_decref(in_finalizer);
  in_finalizer = NULL;
}
static const GcType T = {"Target", NULL, NULL, on_finalize, NULL};

int main(void) {
  GcObject *target = obj_new(0, 8);
  CHECK(target != NULL);
  GcObject *keep = weakref_new(target, callback, (void *)0);
  GcObject *dropped = weakref_new(target, callback, (void *)1);
  GcObject *holder = obj_new(1, 0);
  CHECK(keep && dropped && holder);
  GcObject *held = weakref_new(target, callback, (void *)2);
  CHECK(held != NULL);
  CHECK_EQ(obj_set_field(holder, 0, held), GC_OK);
  obj_decref(held); /* only `holder` keeps it */
  CHECK_EQ(weakref_count(target), 3);

  obj_decref(dropped); /* released by the program */
  CHECK_EQ(weakref_count(target), 2);
  obj_decref(holder); /* released with the object holding it */
  CHECK_EQ(weakref_count(target), 1);

  obj_decref(target);
  CHECK_EQ(calls[0], 1); /* the control weakref */
  CHECK_EQ(calls[1], 0);
  CHECK_EQ(calls[2], 0);
  CHECK(weakref_get(keep) == NULL);
  obj_decref(keep);

  /* Released by the target's finalizer, during the target's death. */
  calls[0] = 0;
  GcObject *t2 = obj_new_typed(&T, 0, 0);
  CHECK(t2 != NULL);
  keep = weakref_new(t2, callback, (void *)0);
  in_finalizer = weakref_new(t2, callback, (void *)3);
  CHECK(keep && in_finalizer);
  obj_decref(t2);
  CHECK(in_finalizer == NULL);
  CHECK_EQ(calls[0], 1);
  CHECK_EQ(calls[3], 0);
  obj_decref(keep);

  printf("weakref_dies_first: no callback for weakrefs that died first; weakref_count dropped\n");
  return 0;
}
