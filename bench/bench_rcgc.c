/* The workloads with rcgc, through its public C API only (include/rcgc.h,
 * linked against target/release/librcgc.so).  Objects are plain 2-field
 * objects: obj_new(2, 0).
 */
#include "common.h"

#include "rcgc.h"

static GcObject *node_new(void) {
  GcObject *o = obj_new(2, 0);
  if (!o) {
    fprintf(stderr, "obj_new failed: %s\n", gc_last_error());
    exit(1);
  }
  return o;
}

/* Stores `v` in field i of `o` and drops the caller's reference to `v`
 * (obj_set_field takes its own). */
static void set_field_steal(GcObject *o, size_t i, GcObject *v) {
  if (obj_set_field(o, i, v) != GC_OK) {
    fprintf(stderr, "obj_set_field failed: %s\n", gc_last_error());
    exit(1);
  }
  obj_decref(v);
}

/* A complete-as-possible binary tree of n nodes; returns a new reference. */
static GcObject *tree_build(size_t n) {
  if (n == 0) return NULL;
  GcObject *t = node_new();
  size_t left = (n - 1) / 2;
  GcObject *l = tree_build(left);
  GcObject *r = tree_build(n - 1 - left);
  if (l) set_field_steal(t, 0, l);
  if (r) set_field_steal(t, 1, r);
  return t;
}

/* The same tree, children before their parent. */
static GcObject *tree_build_post(size_t n) {
  if (n == 0) return NULL;
  size_t left = (n - 1) / 2;
  GcObject *l = tree_build_post(left);
  GcObject *r = tree_build_post(n - 1 - left);
  GcObject *t = node_new();
  if (l) set_field_steal(t, 0, l);
  if (r) set_field_steal(t, 1, r);
  return t;
}

/* n nodes allocated in order, linked through a random permutation. */
static GcObject *tree_build_shuffled(size_t n) {
  size_t *slot = shuffled_slots(n);
  GcObject **t = malloc(sizeof *t * n);
  if (!t) exit(1);
  for (size_t i = 0; i < n; i++) t[slot[i]] = node_new();
  for (size_t k = 0; k < n; k++) {
    if (2 * k + 1 < n) obj_set_field(t[k], 0, t[2 * k + 1]);
    if (2 * k + 2 < n) obj_set_field(t[k], 1, t[2 * k + 2]);
  }
  for (size_t k = 1; k < n; k++) obj_decref(t[k]);
  GcObject *root = t[0];
  free(t);
  free(slot);
  return root;
}

/* Collection pause tracking through gc_callback_add. */
typedef struct Pauses {
  uint64_t start, max, total, lib_max, max_gen[3];
  size_t count, per_gen[3];
  PauseLog log;
} Pauses;

static void on_gc(GcPhase phase, const GcCallbackInfo *info, void *ctx) {
  Pauses *p = ctx;
  if (phase == GC_PHASE_START) {
    p->start = wall_ns();
  } else {
    uint64_t d = wall_ns() - p->start;
    if (d > p->max) p->max = d;
    p->total += d;
    p->count++;
    pause_log_add(&p->log, d);
    if (info && info->generation >= 0 && info->generation < 3) {
      p->per_gen[info->generation]++;
      if (d > p->max_gen[info->generation]) p->max_gen[info->generation] = d;
    }
    if (info && info->duration_ns > p->lib_max) p->lib_max = info->duration_ns;
  }
}

static void w1(double scale) {
  size_t n = scaled(N_W1_PAIRS, scale);
  GcObject *o = node_new();
  for (size_t i = 0; i < n / 10; i++) {
    obj_incref(o);
    obj_decref(o);
  }
  uint64_t t0 = now_ns();
  for (size_t i = 0; i < n; i++) {
    obj_incref(o);
    obj_decref(o);
  }
  uint64_t t1 = now_ns();
  if (obj_refcount(o) != 1) fprintf(stderr, "# rcgc W1: refcount %zu, expected 1\n", obj_refcount(o));
#ifdef RCGC_STATIC
  /* bench_rcgc_static: the same loop with librcgc.a linked in (direct
   * calls, as the plain-call floor makes them). */
  emit("static_ns_per_op", (double)(t1 - t0) / (double)n);
#else
  emit("ns_per_op", (double)(t1 - t0) / (double)n);
#endif
  obj_decref(o);
}

static void w2(double scale) {
  size_t n = scaled(N_W2_OBJECTS, scale);
  for (size_t i = 0; i < n / 10; i++) obj_decref(node_new());
  uint64_t t0 = now_ns();
  for (size_t i = 0; i < n; i++) obj_decref(node_new());
  uint64_t t1 = now_ns();
  emit("ns_per_op", (double)(t1 - t0) / (double)n);
}

/* W2u: an untracked object (no fields, a 16-byte payload), new + release. */
static void w2u(double scale) {
  size_t n = scaled(N_W2_OBJECTS, scale);
  for (size_t i = 0; i < n / 10; i++) obj_decref(obj_new(0, 16));
  uint64_t t0 = now_ns();
  for (size_t i = 0; i < n; i++) obj_decref(obj_new(0, 16));
  uint64_t t1 = now_ns();
  emit("ns_per_op", (double)(t1 - t0) / (double)n);
}

static void w3(double scale) {
  size_t n = scaled(N_W3_CYCLES, scale);
  gc_collect();
  gc_disable();
  for (size_t i = 0; i < n; i++) {
    GcObject *a = node_new(), *b = node_new();
    obj_set_field(a, 0, b);
    obj_set_field(b, 0, a);
    obj_decref(a);
    obj_decref(b);
  }
  uint64_t t0 = now_ns();
  int64_t found = gc_collect();
  uint64_t t1 = now_ns();
  gc_enable();
  if (found != (int64_t)(2 * n))
    fprintf(stderr, "# rcgc W3: gc_collect returned %lld, expected %zu\n", (long long)found, 2 * n);
  emit("collected", (double)found);
  emit("ms", (double)(t1 - t0) / 1e6);
  emit("ns_per_obj", (double)(t1 - t0) / (double)(2 * n));
}

/* A tree of n nodes with parent links (field 2: every node holds its
 * parent, so the whole tree is one cyclic structure), built children
 * first; returns a new reference. */
static GcObject *ptree_build(size_t n) {
  if (n == 0) return NULL;
  size_t left = (n - 1) / 2;
  GcObject *kids[2] = {ptree_build(left), ptree_build(n - 1 - left)};
  GcObject *t = obj_new(3, 0);
  if (!t) {
    fprintf(stderr, "obj_new failed: %s\n", gc_last_error());
    exit(1);
  }
  for (size_t i = 0; i < 2; i++) {
    if (!kids[i]) continue;
    obj_set_field(t, i, kids[i]);
    obj_set_field(kids[i], 2, t);
    obj_decref(kids[i]);
  }
  return t;
}

/* W3t: a program drops a big cyclic structure. The tree is built while
 * automatic collections run (so they scan parts of it, promote them and
 * make some old, as in a long-running program), then its root is dropped
 * and one gc_collect() frees it: ns per object of that collection. */
static void w3t(double scale) {
  size_t n = scaled(N_W3T_NODES, scale);
  gc_collect();
  GcObject *t = ptree_build(n);
  gc_disable();
  obj_decref(t);
  uint64_t t0 = now_ns();
  int64_t found = gc_collect();
  uint64_t t1 = now_ns();
  gc_enable();
  if (found != (int64_t)n)
    fprintf(stderr, "# rcgc W3t: gc_collect returned %lld, expected %zu\n", (long long)found, n);
  emit("collected", (double)found);
  emit("ms", (double)(t1 - t0) / 1e6);
  emit("ns_per_obj", (double)(t1 - t0) / (double)n);
}

/* Reads every node as a program reading its data does (obj_get_field,
 * then obj_decref): each node loses a reference, so a full collection
 * must look at it again. */
static size_t tree_read(GcObject *t) {
  size_t n = 1;
  for (size_t i = 0; i < 2; i++) {
    GcObject *c = obj_get_field(t, i);
    if (c) {
      n += tree_read(c);
      obj_decref(c);
    }
  }
  return n;
}

/* W4: the median of W4_REPEATS full collections over the live tree, each
 * after the program read every node (untimed), so that each collection
 * examines all of them. Also reported: the first collection, over the
 * tree just built (all of it new), and one over the tree nobody touched
 * since the last collection (rcgc does not rescan old objects that lost
 * no reference, so that one costs next to nothing). */
static void w4_layout(double scale, GcObject *(*build)(size_t)) {
  size_t n = scaled(N_W4_NODES, scale);
  gc_disable();
  /* An object made before the tree holds it, as objects of any long-running
   * program hold newer ones: so the collections scan. (Of a tree built
   * children first and nothing else, rcgc proves from the order the
   * objects were made in that it holds no cycle, and skips the scan:
   * src/order.rs. The client programs measure that.) */
  GcObject *holder = obj_new(1, 0);
  GcObject *root = build(n);
  obj_set_field(holder, 0, root);
  gc_enable();
  uint64_t t0 = now_ns();
  int64_t found = gc_collect();
  uint64_t first = now_ns() - t0;
  uint64_t times[W4_REPEATS];
  for (int r = 0; r < W4_REPEATS; r++) {
    if (tree_read(root) != n) fprintf(stderr, "# rcgc W4: the tree lost nodes\n");
    t0 = now_ns();
    found += gc_collect();
    times[r] = now_ns() - t0;
  }
  t0 = now_ns();
  found += gc_collect();
  uint64_t unchanged = now_ns() - t0;
  if (found != 0) fprintf(stderr, "# rcgc W4: gc_collect found %lld garbage, expected 0\n", (long long)found);
  uint64_t med = median_u64(times, W4_REPEATS);
  emit("ms", (double)med / 1e6);
  emit("ns_per_obj", (double)med / (double)n);
  emit("first_ns_per_obj", (double)first / (double)n);
  emit("unchanged_ns_per_obj", (double)unchanged / (double)n);
  obj_decref(root);
  obj_decref(holder);
}

static void w4(double scale) { w4_layout(scale, tree_build); }
static void w4c(double scale) { w4_layout(scale, tree_build_post); }
static void w4s(double scale) { w4_layout(scale, tree_build_shuffled); }

static void w5(double scale) {
  size_t n = scaled(N_W5_CYCLES, scale);
  GcObject *tree = tree_build(scaled(N_W5_TREE, scale));
  gc_collect();
  Pauses p = {0};
  gc_callback_add(on_gc, &p);
  uint64_t t0 = now_ns();
  for (size_t i = 0; i < n; i++) {
    GcObject *a = node_new(), *b = node_new(), *c = node_new();
    obj_set_field(a, 0, b);
    obj_set_field(b, 0, c);
    obj_set_field(c, 0, a);
    obj_decref(a);
    obj_decref(b);
    obj_decref(c);
  }
  uint64_t t1 = now_ns();
  gc_callback_remove(on_gc, &p);
  emit("total_ms", (double)(t1 - t0) / 1e6);
  emit("ns_per_cycle", (double)(t1 - t0) / (double)n);
  emit("max_pause_ms", (double)p.max / 1e6);
  pause_log_emit(&p.log);
  emit("collections", (double)p.count);
  emit("pause_total_ms", (double)p.total / 1e6);
  emit("gen1_collections", (double)p.per_gen[1]);
  emit("gen2_collections", (double)p.per_gen[2]);
  for (int g = 0; g < 3; g++) {
    char name[32];
    snprintf(name, sizeof name, "max_pause_gen%d_ms", g);
    emit(name, (double)p.max_gen[g] / 1e6);
  }
  emit("lib_max_duration_ms", (double)p.lib_max / 1e6);
  obj_decref(tree);
  gc_collect();
}

static void weak_cb(GcObject *wr, void *ctx) {
  (void)wr;
  (*(size_t *)ctx)++;
}

static void w6(double scale) {
  size_t n = scaled(N_W6_WEAKREFS, scale);
  size_t calls = 0;
  uint64_t t0 = now_ns();
  for (size_t i = 0; i < n; i++) {
    GcObject *t = node_new();
    GcObject *w = weakref_new(t, weak_cb, &calls);
    obj_decref(t); /* the callback runs here */
    obj_decref(w);
  }
  uint64_t t1 = now_ns();
  if (calls != n) fprintf(stderr, "# rcgc W6: %zu callbacks, expected %zu\n", calls, n);
  emit("callbacks", (double)calls);
  emit("clear_ns_per_op", (double)(t1 - t0) / (double)n);

  size_t gets = scaled(N_W6_GETS, scale);
  GcObject *live = node_new();
  GcObject *w = weakref_new(live, NULL, NULL);
  size_t lost = 0;
  t0 = now_ns();
  for (size_t i = 0; i < gets; i++) {
    GcObject *r = weakref_get(w);
    lost += r == NULL;
    obj_decref(r);
  }
  t1 = now_ns();
  if (lost) fprintf(stderr, "# rcgc W6: weakref_get returned NULL %zu times\n", lost);
  emit("get_ns_per_op", (double)(t1 - t0) / (double)gets);
  obj_decref(w);
  obj_decref(live);
}

static void mem(double scale) {
  size_t n = scaled(N_MEM_OBJECTS, scale);
  obj_decref(node_new()); /* library initialised before the baseline */
  gc_collect();
  long before = rss_kb();
  GcObject *head = NULL;
  for (size_t i = 0; i < n; i++) {
    GcObject *x = node_new();
    if (head) set_field_steal(x, 0, head);
    head = x;
  }
  long peak = peak_rss_kb();
  emit("bytes_per_obj", (double)(peak - before) * 1024.0 / (double)n);
  obj_decref(head); /* releases the whole chain */
}

static const Workload WORKLOADS[] = {
  {"W1", w1}, {"W2", w2}, {"W2u", w2u}, {"W3", w3}, {"W3t", w3t}, {"W4", w4}, {"W4c", w4c}, {"W4s", w4s},
  {"W5", w5},  {"W6", w6}, {"MEM", mem},
};

int main(int argc, char **argv) {
  return bench_main(argc, argv, "rcgc", WORKLOADS, sizeof WORKLOADS / sizeof WORKLOADS[0]);
}
