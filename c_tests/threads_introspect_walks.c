/* The walks hold the heap stable while other threads allocate, link, free
 * and collect: every object a walk visits is live, and answers about this
 * thread's own objects are exact however busy the others are. */
#include <stdatomic.h>
#include "introspect.h"
#include "stress.h"

static const GcType Node = {"Node", NULL, NULL, NULL, NULL};
static atomic_int stop;

static void *mutator(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    GcObject *a = obj_new_typed(&Node, 2, 0), *b = obj_new(1, 0);
    GcObject *leaf = obj_new(0, 24);
    obj_set_field(a, 0, b);
    obj_set_field(b, 0, a); /* a cycle for the collector */
    obj_set_field(a, 1, leaf);
    GcObject *w = weakref_new(b, NULL, NULL);
    obj_decref(leaf);
    obj_decref(a);
    obj_decref(b);
    obj_decref(w);
    /* Churn, but leave the walkers some of the machine: under valgrind (one
     * thread at a time, long slices) unpaced mutators made the test take
     * minutes. */
    usleep(50);
  }
  return NULL;
}
static void *collector(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    gc_collect_generation(0);
    gc_collect();
    /* Let the walkers at the lock: a mutex is not fair, and under valgrind
     * (one thread at a time, long slices) back-to-back collections could
     * starve them for minutes. */
    usleep(200);
  }
  return NULL;
}

static int check_live(GcObject *o, void *ctx) {
  CHECK(obj_refcount(o) > 0);
  CHECK(gc_is_tracked(o));
  ++*(long *)ctx;
  return 0;
}
static int check_stats(const GcTypeStats *s, void *ctx) {
  (void)ctx;
  CHECK(s->name != NULL && s->objects > 0 && s->bytes >= 32 * s->objects);
  return 0;
}

static void *walker(void *arg) {
  long rounds = 20 * stress_scale();
  GcObject *root = obj_new(1, 0), *child = obj_new(0, 0);
  obj_set_field(root, 0, child);
  obj_decref(child);
  char path[64];
  snprintf(path, sizeof path, "/tmp/rcgc-threads-%d-%ld.heapsnapshot", (int)getpid(), (long)arg);
  for (long r = 0; r < rounds; r++) {
    long n = 0;
    CHECK_EQ(gc_visit_objects(-1, check_live, &n), GC_OK);
    CHECK(n >= 1);
    Seen s = seen_none();
    CHECK_EQ(gc_get_referrers(child, record, &s), GC_OK);
    CHECK_SEEN(s, root);
    s = seen_none();
    CHECK_EQ(gc_why_alive(child, record, &s), 2);
    CHECK_SEEN(s, root, child);
    s = seen_none();
    CHECK_EQ(gc_get_referents(root, record, &s), GC_OK);
    CHECK_SEEN(s, child);
    CHECK_EQ(gc_visit_type_stats(check_stats, NULL), GC_OK);
    if (r % 10 == 0) CHECK_EQ(gc_dump_heap(path, GC_DUMP_HEAPSNAPSHOT), GC_OK);
  }
  remove(path);
  obj_decref(root);
  return NULL;
}

int main(void) {
  pthread_t t[4];
  for (int i = 0; i < 3; i++) CHECK_EQ(pthread_create(&t[i], NULL, mutator, NULL), 0);
  CHECK_EQ(pthread_create(&t[3], NULL, collector, NULL), 0);
  run_threads(2, walker);
  atomic_store(&stop, 1);
  for (int i = 0; i < 4; i++) CHECK_EQ(pthread_join(t[i], NULL), 0);
  gc_collect();
  long n = 0;
  CHECK_EQ(gc_visit_objects(-1, check_live, &n), GC_OK);
  CHECK_EQ(n, 0);
  printf("threads_introspect_walks: ok\n");
  return 0;
}
