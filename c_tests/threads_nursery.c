/* Once several threads use the library, a thread without the heap lock's
 * bias makes its small plain objects in a nursery of its own and drops
 * them there, without the lock (nursery.rs). Every behaviour stays: deaths
 * down long chains and wide trees (in constant stack, with children that
 * must die under the lock), cyclic garbage found exactly, deaths on
 * another thread, weakref callbacks, walks, freezes, memory figures and
 * count0 exact whenever no other thread is working, and collections
 * running while two threads make and drop objects. */
#include "introspect.h" /* first: it defines _GNU_SOURCE */

#include <pthread.h>
#include <string.h>

static void *touch(void *p) {
  (void)p;
  obj_decref(obj_new(1, 0));
  return NULL;
}

static void run(void *(*f)(void *), void *arg) {
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, f, arg), 0);
  CHECK_EQ(pthread_join(t, NULL), 0);
}

static GcMemStats base;

/* Nothing allocated since `base` is alive any more. */
static void check_base(void) {
  GcMemStats m = gc_get_memory();
  CHECK_EQ(m.objects, base.objects);
  CHECK_EQ(m.tracked, base.tracked);
  CHECK_EQ(m.bytes_in_use, base.bytes_in_use);
}

static GcObject *chain(int n) {
  GcObject *head = NULL;
  for (int i = 0; i < n; i++) {
    GcObject *o = obj_new(1, 0);
    obj_set_field(o, 0, head); /* the new one holds the old head */
    obj_decref(head);          /* NULL is a no-op */
    head = o;
  }
  return head;
}

static GcObject *tree(int depth) {
  GcObject *o = obj_new(2, 0);
  if (depth > 0) {
    for (int i = 0; i < 2; i++) {
      GcObject *c = tree(depth - 1);
      obj_set_field(o, i, c);
      obj_decref(c);
    }
  }
  return o;
}

typedef struct {
  GcObject *want;
  int hits, seen;
} Find;

static int find(GcObject *o, void *ctx) {
  Find *f = ctx;
  f->seen++;
  f->hits += o == f->want;
  return 0;
}

static GcObject *handed[1000];

static void *drop_handed(void *p) {
  (void)p;
  for (int i = 0; i < 1000; i++) obj_decref(handed[i]);
  return NULL;
}

static int calls;
static void on_weak(GcObject *wr, void *ctx) {
  (void)wr;
  (void)ctx;
  calls++;
}

static const GcType plain_type = {"Typed", NULL, NULL, NULL, NULL};

static _Atomic int stop_collecting;

static void *churn(void *p) {
  (void)p;
  for (int r = 0; r < 2000; r++) {
    GcObject *t = tree(5);
    GcObject *a = obj_new(1, 0), *b = obj_new(1, 0);
    obj_set_field(a, 0, b);
    obj_set_field(b, 0, a);
    obj_decref(a);
    obj_decref(b);
    obj_decref(t);
  }
  return NULL;
}

static void *collector(void *p) {
  (void)p;
  while (!stop_collecting) {
    gc_collect_generation(0);
    GcMemStats m = gc_get_memory();
    CHECK(m.bytes_reserved >= m.bytes_in_use);
    gc_collect();
  }
  return NULL;
}

int main(void) {
  gc_disable();
  run(touch, NULL); /* a second thread: nurseries from now on */
  gc_collect();
  base = gc_get_memory();
  GcCounts c0 = gc_get_count();

  /* A chain of 100000 dies down its length in constant stack. */
  obj_decref(chain(100000));
  check_base();
  CHECK_EQ(gc_get_count().count0, c0.count0);

  /* A tree made children first, dropped from its root. */
  obj_decref(tree(12));
  check_base();

  /* Counts while objects live: exact with no other thread working. */
  GcObject *t = tree(8);
  /* The memory limit counts the objects of nurseries. */
  size_t use = gc_get_memory().bytes_in_use;
  CHECK_EQ(use, base.bytes_in_use + 511 * 48);
  CHECK_EQ(gc_set_memory_limit(use + 48), GC_OK);
  GcObject *fits = obj_new(2, 0);
  CHECK(fits != NULL);
  CHECK(obj_new(2, 0) == NULL);
  CHECK_ERR(GC_ERR_NOMEM);
  CHECK_EQ(gc_set_memory_limit(0), GC_OK);
  obj_decref(fits);
  CHECK_EQ(gc_get_count().count0, c0.count0 + 511);
  CHECK_EQ(gc_get_memory().tracked, base.tracked + 511);
  Find f = {t, 0, 0};
  CHECK_EQ(gc_visit_objects(0, find, &f), GC_OK);
  CHECK_EQ(f.hits, 1);
  CHECK(f.seen >= 511);
  obj_decref(t);
  check_base();

  /* Cycles are found exactly. */
  for (int i = 0; i < 1000; i++) {
    GcObject *a = obj_new(1, 0), *b = obj_new(1, 0);
    obj_set_field(a, 0, b);
    obj_set_field(b, 0, a);
    obj_decref(a);
    obj_decref(b);
  }
  CHECK_EQ(gc_collect(), 2000);
  check_base();

  /* Objects made here, dropped by another thread. */
  for (int i = 0; i < 1000; i++) handed[i] = chain(3);
  run(drop_handed, NULL);
  check_base();

  /* A weakref: its callback runs once, at the death. */
  GcObject *o = obj_new(1, 0);
  GcObject *wr = weakref_new(o, on_weak, NULL);
  CHECK(wr != NULL);
  obj_decref(o);
  CHECK_EQ(calls, 1);
  CHECK(weakref_get(wr) == NULL);
  obj_decref(wr);
  check_base();

  /* Children the section cannot drop: an old object, a typed one, an
   * object of more fields than a nursery takes, and one held elsewhere;
   * and a wide object whose dying children's references overflow the
   * buffer the section keeps for those. */
  GcObject *old = obj_new(1, 0);
  gc_collect(); /* old is OLD now */
  GcObject *keep = obj_new(1, 0);
  GcObject *wide = obj_new(16, 0);
  for (int i = 0; i < 16; i++) {
    GcObject *mid = obj_new(16, 0);
    for (int k = 0; k < 16; k++) {
      GcObject *leaf;
      switch ((i + k) % 4) {
      case 0: leaf = obj_new_typed(&plain_type, 1, 0); break;
      case 1: leaf = obj_new(20, 0); break;
      case 2: leaf = obj_new(1, 8); break;
      default: leaf = obj_new(1, 0); break;
      }
      obj_set_field(leaf, 0, k == 0 ? old : keep);
      obj_set_field(mid, k, leaf);
      obj_decref(leaf);
    }
    obj_set_field(wide, i, mid);
    obj_decref(mid);
  }
  obj_decref(wide);
  CHECK_EQ(obj_refcount(old), 1);
  CHECK_EQ(obj_refcount(keep), 1);
  obj_decref(old);
  obj_decref(keep);
  CHECK_EQ(gc_collect(), 0);
  check_base();

  /* Freezing takes nursery objects too. */
  t = tree(4);
  gc_freeze();
  CHECK_EQ(gc_get_freeze_count(), 31);
  gc_unfreeze();
  obj_decref(t);
  check_base();

  /* Two threads make and drop while a third collects. */
  gc_enable();
  pthread_t w[2], col;
  CHECK_EQ(pthread_create(&col, NULL, collector, NULL), 0);
  for (int i = 0; i < 2; i++) CHECK_EQ(pthread_create(&w[i], NULL, churn, NULL), 0);
  for (int i = 0; i < 2; i++) CHECK_EQ(pthread_join(w[i], NULL), 0);
  stop_collecting = 1;
  CHECK_EQ(pthread_join(col, NULL), 0);
  gc_collect();
  check_base();
  return 0;
}
