/* The workloads with the Boehm-Demers-Weiser conservative collector (Debian
 * libgc-dev).  Boehm has no reference counts, so W1 has no figure, and
 * "release" means dropping the last pointer: the memory comes back at a
 * later collection, whose cost the allocation loop pays.  Boehm sweeps
 * lazily (during later allocations), so a timed GC_gcollect() is mostly the
 * mark phase.  Weak references are disappearing links
 * (GC_general_register_disappearing_link), which have no callbacks: W6
 * counts the links the collector cleared instead.
 */
#include "common.h"

#include <gc/gc.h>

typedef struct Node {
  struct Node *f[2];
} Node;

/* Keeps pointers in memory the collector scans (a static root). */
static void *volatile g_sink;

static Node *node_new(void) {
  Node *n = GC_MALLOC(sizeof *n); /* zeroed */
  if (!n) {
    fprintf(stderr, "GC_MALLOC failed\n");
    exit(1);
  }
  return n;
}

static Node *tree_build(size_t n) {
  if (n == 0) return NULL;
  Node *t = node_new();
  size_t left = (n - 1) / 2;
  t->f[0] = tree_build(left);
  t->f[1] = tree_build(n - 1 - left);
  return t;
}

static Node *tree_build_post(size_t n) {
  if (n == 0) return NULL;
  size_t left = (n - 1) / 2;
  Node *l = tree_build_post(left);
  Node *r = tree_build_post(n - 1 - left);
  Node *t = node_new();
  t->f[0] = l;
  t->f[1] = r;
  return t;
}

/* n nodes allocated in order, linked through a random permutation (the
 * slot table is collector memory, so it keeps them alive meanwhile). */
static Node *tree_build_shuffled(size_t n) {
  size_t *slot = shuffled_slots(n);
  Node **t = GC_MALLOC(sizeof *t * n);
  if (!t) exit(1);
  for (size_t i = 0; i < n; i++) t[slot[i]] = node_new();
  for (size_t k = 0; k < n; k++) {
    if (2 * k + 1 < n) t[k]->f[0] = t[2 * k + 1];
    if (2 * k + 2 < n) t[k]->f[1] = t[2 * k + 2];
  }
  Node *root = t[0];
  memset(t, 0, sizeof *t * n);
  free(slot);
  return root;
}

/* Collection pause tracking through GC_set_on_collection_event. */
static uint64_t g_pause_start, g_pause_max, g_pause_total;
static size_t g_pauses;
static PauseLog g_pause_log;

static void on_event(GC_EventType ev) {
  if (ev == GC_EVENT_START) {
    g_pause_start = wall_ns();
  } else if (ev == GC_EVENT_END) {
    uint64_t d = wall_ns() - g_pause_start;
    if (d > g_pause_max) g_pause_max = d;
    g_pause_total += d;
    g_pauses++;
    pause_log_add(&g_pause_log, d);
  }
}

static void w2(double scale) {
  size_t n = scaled(N_W2_OBJECTS, scale);
  for (size_t i = 0; i < n / 10; i++) g_sink = node_new();
  uint64_t t0 = now_ns();
  for (size_t i = 0; i < n; i++) g_sink = node_new();
  uint64_t t1 = now_ns();
  g_sink = NULL;
  emit("ns_per_op", (double)(t1 - t0) / (double)n);
}

static void w3(double scale) {
  size_t n = scaled(N_W3_CYCLES, scale);
  GC_disable();
  for (size_t i = 0; i < n; i++) {
    Node *a = node_new(), *b = node_new();
    a->f[0] = b;
    b->f[0] = a;
    g_sink = a;
  }
  g_sink = NULL;
  GC_enable();
  size_t free_before = GC_get_free_bytes();
  uint64_t t0 = now_ns();
  GC_gcollect();
  uint64_t t1 = now_ns();
  size_t free_after = GC_get_free_bytes();
  /* Boehm reports no object count: bytes freed / the size Boehm gives a
   * 2-field object (with interior pointers on, a 16-byte request takes a
   * 32-byte slot). */
  void *probe = node_new();
  double collected = (double)(free_after - free_before) / (double)GC_size(probe);
  emit("collected", collected);
  emit("ms", (double)(t1 - t0) / 1e6);
  emit("ns_per_obj", (double)(t1 - t0) / (double)(2 * n));
}

/* W3t (bench_rcgc.c): a dropped tree of 3-pointer nodes with parent
 * links; ns per node of the GC_gcollect() after the drop. */
typedef struct PNode {
  struct PNode *f[3];
} PNode;

static PNode *ptree_build(size_t n) {
  if (n == 0) return NULL;
  size_t left = (n - 1) / 2;
  PNode *l = ptree_build(left), *r = ptree_build(n - 1 - left);
  PNode *t = GC_MALLOC(sizeof *t);
  if (!t) exit(1);
  t->f[0] = l;
  t->f[1] = r;
  if (l) l->f[2] = t;
  if (r) r->f[2] = t;
  return t;
}

static void w3t(double scale) {
  size_t n = scaled(N_W3T_NODES, scale);
  g_sink = ptree_build(n);
  g_sink = NULL;
  size_t free_before = GC_get_free_bytes();
  uint64_t t0 = now_ns();
  GC_gcollect();
  uint64_t t1 = now_ns();
  size_t free_after = GC_get_free_bytes();
  void *probe = GC_MALLOC(sizeof(PNode));
  emit("collected", (double)(free_after - free_before) / (double)GC_size(probe));
  emit("ms", (double)(t1 - t0) / 1e6);
  emit("ns_per_obj", (double)(t1 - t0) / (double)n);
}

static void w4_layout(double scale, Node *(*build)(size_t)) {
  size_t n = scaled(N_W4_NODES, scale);
  GC_disable();
  Node *root = build(n);
  g_sink = root;
  GC_enable();
  uint64_t times[W4_REPEATS];
  for (int r = 0; r < W4_REPEATS; r++) {
    uint64_t t0 = now_ns();
    GC_gcollect();
    times[r] = now_ns() - t0;
  }
  uint64_t med = median_u64(times, W4_REPEATS);
  emit("ms", (double)med / 1e6);
  emit("ns_per_obj", (double)med / (double)n);
  g_sink = NULL;
}

static void w4(double scale) { w4_layout(scale, tree_build); }
static void w4c(double scale) { w4_layout(scale, tree_build_post); }
static void w4s(double scale) { w4_layout(scale, tree_build_shuffled); }

static void w5(double scale) {
  size_t n = scaled(N_W5_CYCLES, scale);
  Node *tree = tree_build(scaled(N_W5_TREE, scale));
  g_sink = tree;
  GC_gcollect();
  GC_set_on_collection_event(on_event);
  uint64_t t0 = now_ns();
  for (size_t i = 0; i < n; i++) {
    Node *a = node_new(), *b = node_new(), *c = node_new();
    a->f[0] = b;
    b->f[0] = c;
    c->f[0] = a;
  }
  uint64_t t1 = now_ns();
  GC_set_on_collection_event(0);
  emit("total_ms", (double)(t1 - t0) / 1e6);
  emit("ns_per_cycle", (double)(t1 - t0) / (double)n);
  emit("max_pause_ms", (double)g_pause_max / 1e6);
  pause_log_emit(&g_pause_log);
  emit("collections", (double)g_pauses);
  emit("pause_total_ms", (double)g_pause_total / 1e6);
  g_sink = NULL;
}

/* A weak reference object: one hidden pointer in pointer-free memory, the
 * link registered with the collector. */
typedef struct Weak {
  GC_hidden_pointer target;
} Weak;

static Weak *weak_new(void *target) {
  Weak *w = GC_MALLOC_ATOMIC(sizeof *w);
  if (!w) exit(1);
  w->target = GC_HIDE_POINTER(target);
  if (GC_general_register_disappearing_link((void **)&w->target, target) != GC_SUCCESS) {
    fprintf(stderr, "GC_general_register_disappearing_link failed\n");
    exit(1);
  }
  return w;
}

static void *reveal(void *p) {
  Weak *w = p;
  return w->target ? GC_REVEAL_POINTER(w->target) : NULL;
}

/* Reading a disappearing link must hold the allocation lock (gc.h). */
static void *weak_get(Weak *w) { return GC_call_with_alloc_lock(reveal, w); }

static void w6(double scale) {
  size_t n = scaled(N_W6_WEAKREFS, scale);
  /* The weak objects are kept (in collector memory) so that the cleared
   * links can be counted afterwards; the targets are dropped at once. */
  Weak **weaks = GC_MALLOC(sizeof(Weak *) * n);
  if (!weaks) exit(1);
  uint64_t t0 = now_ns();
  for (size_t i = 0; i < n; i++) {
    Node *t = node_new();
    weaks[i] = weak_new(t);
  }
  GC_gcollect(); /* clears the links of the dead targets */
  uint64_t t1 = now_ns();
  size_t cleared = 0;
  for (size_t i = 0; i < n; i++) cleared += weak_get(weaks[i]) == NULL;
  emit("cleared", (double)cleared);
  emit("clear_ns_per_op", (double)(t1 - t0) / (double)n);
  weaks = NULL;

  size_t gets = scaled(N_W6_GETS, scale);
  Node *live = node_new();
  g_sink = live;
  Weak *w = weak_new(live);
  void *volatile got = NULL;
  t0 = now_ns();
  for (size_t i = 0; i < gets; i++) got = weak_get(w);
  t1 = now_ns();
  if (got != live) fprintf(stderr, "# boehm W6: weak link to a live object lost\n");
  emit("get_ns_per_op", (double)(t1 - t0) / (double)gets);
}

static void mem(double scale) {
  size_t n = scaled(N_MEM_OBJECTS, scale);
  GC_gcollect();
  long before = rss_kb();
  Node *head = NULL;
  for (size_t i = 0; i < n; i++) {
    Node *x = node_new();
    x->f[0] = head;
    head = x;
  }
  g_sink = head;
  long peak = peak_rss_kb();
  emit("bytes_per_obj", (double)(peak - before) * 1024.0 / (double)n);
  g_sink = NULL;
}

static const Workload WORKLOADS[] = {
  {"W1", NULL /* no reference counts in a tracing collector */}, {"W2", w2}, {"W2u", NULL /* no untracked kind */}, {"W3", w3}, {"W3t", w3t}, {"W4", w4}, {"W4c", w4c}, {"W4s", w4s},
  {"W5", w5},  {"W6", w6}, {"MEM", mem},
};

int main(int argc, char **argv) {
  GC_INIT();
  return bench_main(argc, argv, "boehm", WORKLOADS, sizeof WORKLOADS / sizeof WORKLOADS[0]);
}
