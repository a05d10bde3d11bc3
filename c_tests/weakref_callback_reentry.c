/* Weakref callbacks may call any API function (API.md "Weak references"):
 * the callback here allocates objects, builds and drops a cycle, creates a
 * weakref (with its own callback) to a new object and kills that object, and
 * calls gc_collect. On the refcount path (the target's last release, outside
 * any collection) the nested gc_collect collects normally and finds the
 * garbage present; on the collector path (the target dies in gc_collect) it
 * returns 0 at once, and the garbage the callback made is found by the next
 * collection. The nested death completes before the outermost call returns.
 * Then with automatic collection on every allocation, to mix it all up.
 * Every object created is destroyed exactly once. A callback may release its
 * own weakref. Last, the callback releases the new object and then its
 * weakref: the weakref was alive when its target was released, so (as in
 * CPython) its callback runs. */
#include "check.h"

static int created, destroyed, calls, nested_calls;
static int64_t nested_collect = -1;
static GcObject *kept[64]; /* weakrefs the callback made, released later */
static int nkept;
static int release_in_callback; /* part 4: the callback releases its weakref */
static void on_destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType Node = {"Node", NULL, NULL, NULL, on_destroy};

static GcObject *node(void) {
  GcObject *o = obj_new_typed(&Node, 1, 0);
  CHECK(o != NULL);
  created++;
  return o;
}
static void make_cycle_garbage(void) {
  GcObject *a = node(), *b = node();
  CHECK_EQ(obj_set_field(a, 0, b), GC_OK);
  CHECK_EQ(obj_set_field(b, 0, a), GC_OK);
  obj_decref(a);
  obj_decref(b);
}

static void nested_callback(GcObject *wr, void *ctx) {
  (void)ctx;
  CHECK(weakref_get(wr) == NULL);
  nested_calls++;
}
static void callback(GcObject *wr, void *ctx) {
  (void)ctx;
  CHECK(weakref_get(wr) == NULL);
  calls++;
  make_cycle_garbage(); /* allocate and drop a cycle */
  GcObject *n = node();
  GcObject *nwr = weakref_new(n, nested_callback, NULL);
  CHECK(nwr != NULL);
  GcObject *got = weakref_get(nwr);
  CHECK(got == n);
  obj_decref(got);
  obj_decref(n); /* this death may be queued */
  nested_collect = gc_collect();
  CHECK(nested_collect >= 0);
  if (release_in_callback) {
    obj_decref(nwr); /* released after its target was */
  } else {
    CHECK(nkept < 64);
    kept[nkept++] = nwr;
  }
}
static int self_release_calls;
static void release_self(GcObject *wr, void *ctx) { /* drops its own weakref */
  CHECK(*(GcObject **)ctx == wr);
  *(GcObject **)ctx = NULL;
  CHECK(weakref_get(wr) == NULL);
  obj_decref(wr); /* the program's last reference to it */
  self_release_calls++;
}
static void release_kept(void) {
  for (int i = 0; i < nkept; i++) {
    CHECK(weakref_get(kept[i]) == NULL);
    obj_decref(kept[i]);
  }
  nkept = 0;
}

int main(void) {
  gc_disable();
  gc_collect();

  /* Refcount path: the callback's gc_collect is a real collection. */
  make_cycle_garbage(); /* 2 objects of garbage waiting */
  GcObject *t = node();
  GcObject *wr = weakref_new(t, callback, NULL);
  CHECK(wr != NULL);
  obj_decref(t);
  CHECK_EQ(calls, 1);
  CHECK_EQ(nested_calls, 1);
  CHECK_EQ(nested_collect, 4); /* the waiting cycle and the callback's own */
  CHECK_EQ(destroyed, created);
  CHECK(weakref_get(wr) == NULL);
  obj_decref(wr);
  release_kept();
  CHECK_EQ(gc_collect(), 0);

  /* Collector path: the callback's gc_collect returns 0 at once. */
  calls = nested_calls = 0;
  nested_collect = -1;
  t = node();
  CHECK_EQ(obj_set_field(t, 0, t), GC_OK);
  wr = weakref_new(t, callback, NULL);
  CHECK(wr != NULL);
  obj_decref(t);
  CHECK_EQ(gc_collect(), 1); /* only t: not what the callback made */
  CHECK_EQ(calls, 1);
  CHECK_EQ(nested_collect, 0);
  CHECK_EQ(nested_calls, 1); /* the queued death completed meanwhile */
  CHECK_EQ(destroyed, created - 2);
  CHECK_EQ(gc_collect(), 2); /* the callback's cycle */
  CHECK_EQ(destroyed, created);
  CHECK(weakref_get(wr) == NULL);
  obj_decref(wr);
  release_kept();

  /* Automatic collection at every tracked allocation, on both paths. */
  calls = nested_calls = 0;
  gc_set_threshold(1, 1, 1);
  gc_enable();
  for (int i = 0; i < 20; i++) {
    GcObject *x = node();
    if (i % 2) CHECK_EQ(obj_set_field(x, 0, x), GC_OK);
    GcObject *w1 = weakref_new(x, callback, NULL);
    GcObject *w2 = weakref_new(x, callback, NULL);
    CHECK(w1 && w2);
    obj_decref(x);
    if (i % 2) CHECK(gc_collect() >= 1);
    CHECK(weakref_get(w1) == NULL && weakref_get(w2) == NULL);
    obj_decref(w1);
    obj_decref(w2);
    release_kept();
  }
  CHECK_EQ(calls, 40);
  CHECK_EQ(nested_calls, 40);
  gc_disable();
  gc_collect();
  CHECK_EQ(destroyed, created);
  CHECK_EQ(gc_collect(), 0);

  /* A callback that releases the weakref it is called with (as a callback
   * removing its weakref from a dictionary does), on both paths. */
  GcObject *own = obj_new(1, 0);
  CHECK(own != NULL);
  GcObject *own_wr = weakref_new(own, release_self, &own_wr);
  CHECK(own_wr != NULL);
  obj_decref(own);
  CHECK_EQ(self_release_calls, 1);
  CHECK(own_wr == NULL);
  own = obj_new(1, 0);
  CHECK(own != NULL);
  CHECK_EQ(obj_set_field(own, 0, own), GC_OK);
  own_wr = weakref_new(own, release_self, &own_wr);
  CHECK(own_wr != NULL);
  obj_decref(own);
  /* The garbage and the weakref its callback freed: CPython counts both. */
  CHECK_EQ(gc_collect(), 2);
  CHECK_EQ(self_release_calls, 2);
  CHECK(own_wr == NULL);
  CHECK_EQ(gc_collect(), 0);

  /* The callback releases the new object, then its weakref: as in CPython,
   * where the object dies at its release, the weakref was still alive when
   * its target was released, so its callback runs (on both paths). */
  release_in_callback = 1;
  calls = nested_calls = 0;
  t = node();
  wr = weakref_new(t, callback, NULL);
  CHECK(wr != NULL);
  obj_decref(t);
  CHECK_EQ(calls, 1);
  CHECK_EQ(nested_calls, 1);
  obj_decref(wr);
  t = node();
  CHECK_EQ(obj_set_field(t, 0, t), GC_OK);
  wr = weakref_new(t, callback, NULL);
  CHECK(wr != NULL);
  obj_decref(t);
  CHECK_EQ(gc_collect(), 1);
  CHECK_EQ(calls, 2);
  CHECK_EQ(nested_calls, 2);
  obj_decref(wr);
  gc_collect();
  CHECK_EQ(destroyed, created);

  printf("weakref_callback_reentry: callbacks allocated, made weakrefs and collected on both paths; %d objects freed once\n", created);
  return 0;
}
