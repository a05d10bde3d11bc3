/* The floor: the workloads' shapes with plain malloc/free and, for W1, a pair
 * of uncontended C11 atomic operations on one counter.  A C program that
 * knows exactly when each object dies needs no collector, so the "collection"
 * workloads (W3, W4) are measured as the least work any collector must do:
 * W3 frees every garbage node (walking a chain the program kept), W4 visits
 * every live node once (what a mark phase must at least do).
 */
#include "common.h"

#include <stdatomic.h>

typedef struct Node {
  struct Node *f[2];
} Node;

/* Escapes pointers so the compiler cannot elide malloc/free pairs. */
static void *volatile g_sink;

static Node *node_new(void) {
  Node *n = malloc(sizeof *n);
  if (!n) {
    perror("malloc");
    exit(1);
  }
  n->f[0] = n->f[1] = NULL;
  g_sink = n;
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

static Node *tree_build_shuffled(size_t n) {
  size_t *slot = shuffled_slots(n);
  Node **t = malloc(sizeof *t * n);
  if (!t) exit(1);
  for (size_t i = 0; i < n; i++) t[slot[i]] = node_new();
  for (size_t k = 0; k < n; k++) {
    if (2 * k + 1 < n) t[k]->f[0] = t[2 * k + 1];
    if (2 * k + 2 < n) t[k]->f[1] = t[2 * k + 2];
  }
  Node *root = t[0];
  free(t);
  free(slot);
  return root;
}

static void tree_free(Node *t) {
  if (!t) return;
  tree_free(t->f[0]);
  tree_free(t->f[1]);
  free(t);
}

/* Iterative depth-first visit; returns the number of nodes seen. */
static size_t tree_visit(Node *root, Node **stack) {
  size_t sp = 0, seen = 0;
  if (root) stack[sp++] = root;
  while (sp) {
    Node *t = stack[--sp];
    seen++;
    if (t->f[0]) stack[sp++] = t->f[0];
    if (t->f[1]) stack[sp++] = t->f[1];
  }
  return seen;
}

/* The W1 floors of issue 11: a plain increment and decrement, each in a call
 * the compiler can neither inline nor see through (what a library's
 * non-atomic owner-thread path costs at least), and the atomic pair in two
 * such calls (an atomic count behind a library boundary). */
__attribute__((noipa)) static void plain_inc(size_t *c) { ++*c; }
__attribute__((noipa)) static void plain_dec(size_t *c) { --*c; }
/* The plain pair in a shared library (bench/floor_lib.c), called through
 * the PLT as a program calls librcgc.so. */
void floor_inc(size_t *c);
void floor_dec(size_t *c);
__attribute__((noipa)) static void atomic_inc(_Atomic size_t *c) { atomic_fetch_add(c, 1); }
__attribute__((noipa)) static void atomic_dec(_Atomic size_t *c) { atomic_fetch_sub(c, 1); }

static void w1(double scale) {
  size_t n = scaled(N_W1_PAIRS, scale);
  static _Atomic size_t counter = 1;
  static size_t plain = 1;
  for (size_t i = 0; i < n / 10; i++) {  /* warm-up */
    atomic_fetch_add(&counter, 1);
    atomic_fetch_sub(&counter, 1);
  }
  /* inline seq_cst atomic pair (ns_per_op, the historical floor) */
  uint64_t t0 = now_ns();
  for (size_t i = 0; i < n; i++) {
    atomic_fetch_add(&counter, 1);
    atomic_fetch_sub(&counter, 1);
  }
  uint64_t t1 = now_ns();
  emit("ns_per_op", (double)(t1 - t0) / (double)n);
  t0 = now_ns();
  for (size_t i = 0; i < n; i++) {
    plain_inc(&plain);
    plain_dec(&plain);
  }
  t1 = now_ns();
  emit("plain_calls_ns_per_op", (double)(t1 - t0) / (double)n);
  t0 = now_ns();
  for (size_t i = 0; i < n; i++) {
    floor_inc(&plain);
    floor_dec(&plain);
  }
  t1 = now_ns();
  emit("plain_shared_calls_ns_per_op", (double)(t1 - t0) / (double)n);
  t0 = now_ns();
  for (size_t i = 0; i < n; i++) {
    atomic_inc(&counter);
    atomic_dec(&counter);
  }
  t1 = now_ns();
  emit("atomic_calls_ns_per_op", (double)(t1 - t0) / (double)n);
  if (plain != 1 || counter != 1) fprintf(stderr, "# malloc W1: counters off\n");
}

static void w2(double scale) {
  size_t n = scaled(N_W2_OBJECTS, scale);
  for (size_t i = 0; i < n / 10; i++) free(node_new());
  uint64_t t0 = now_ns();
  for (size_t i = 0; i < n; i++) free(node_new());
  uint64_t t1 = now_ns();
  emit("ns_per_op", (double)(t1 - t0) / (double)n);
}

/* W2u: a count and 16 bytes of data (what an untracked rcgc object holds),
 * zeroed, then freed. */
typedef struct { size_t rc; unsigned char data[16]; } Leaf;
static void w2u(double scale) {
  size_t n = scaled(N_W2_OBJECTS, scale);
  for (size_t r = 0; r < 2; r++) {
    size_t m = r ? n : n / 10;
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < m; i++) {
      Leaf *l = malloc(sizeof *l);
      if (!l) {
        perror("malloc");
        exit(1);
      }
      l->rc = 1;
      memset(l->data, 0, sizeof l->data);
      g_sink = l;
      free(l);
    }
    uint64_t t1 = now_ns();
    if (r) emit("ns_per_op", (double)(t1 - t0) / (double)n);
  }
}

static void w3(double scale) {
  size_t n = scaled(N_W3_CYCLES, scale);
  Node *head = NULL;
  for (size_t i = 0; i < n; i++) {
    Node *a = node_new(), *b = node_new();
    a->f[0] = b;
    b->f[0] = a;
    a->f[1] = head; /* the program's own record of what to free */
    head = a;
  }
  uint64_t t0 = now_ns();
  size_t freed = 0;
  while (head) {
    Node *next = head->f[1];
    free(head->f[0]);
    free(head);
    freed += 2;
    head = next;
  }
  uint64_t t1 = now_ns();
  emit("collected", (double)freed);
  emit("ms", (double)(t1 - t0) / 1e6);
  emit("ns_per_obj", (double)(t1 - t0) / (double)freed);
}

/* W3t (bench_rcgc.c) as the least work any collector must do: free every
 * node of the dropped tree of 3-pointer nodes (a walk down the children). */
typedef struct PNode {
  struct PNode *f[3];
} PNode;

static PNode *ptree_build(size_t n) {
  if (n == 0) return NULL;
  size_t left = (n - 1) / 2;
  PNode *l = ptree_build(left), *r = ptree_build(n - 1 - left);
  PNode *t = malloc(sizeof *t);
  if (!t) exit(1);
  t->f[0] = l;
  t->f[1] = r;
  t->f[2] = NULL;
  if (l) l->f[2] = t;
  if (r) r->f[2] = t;
  g_sink = t;
  return t;
}

static size_t ptree_free(PNode *t) {
  if (!t) return 0;
  size_t n = 1 + ptree_free(t->f[0]) + ptree_free(t->f[1]);
  free(t);
  return n;
}

static void w3t(double scale) {
  PNode *t = ptree_build(scaled(N_W3T_NODES, scale));
  uint64_t t0 = now_ns();
  size_t freed = ptree_free(t);
  uint64_t t1 = now_ns();
  emit("collected", (double)freed);
  emit("ms", (double)(t1 - t0) / 1e6);
  emit("ns_per_obj", (double)(t1 - t0) / (double)freed);
}

static void w4_layout(double scale, Node *(*build)(size_t)) {
  size_t n = scaled(N_W4_NODES, scale);
  Node *root = build(n);
  Node **stack = malloc(sizeof(Node *) * 128);
  uint64_t times[W4_REPEATS];
  size_t seen = 0;
  for (int r = 0; r < W4_REPEATS; r++) {
    uint64_t t0 = now_ns();
    seen = tree_visit(root, stack);
    times[r] = now_ns() - t0;
  }
  uint64_t med = median_u64(times, W4_REPEATS);
  emit("live", (double)seen);
  emit("ms", (double)med / 1e6);
  emit("ns_per_obj", (double)med / (double)n);
  free(stack);
  tree_free(root);
}

static void w4(double scale) { w4_layout(scale, tree_build); }
static void w4c(double scale) { w4_layout(scale, tree_build_post); }
static void w4s(double scale) { w4_layout(scale, tree_build_shuffled); }

static void w5(double scale) {
  size_t n = scaled(N_W5_CYCLES, scale);
  Node *tree = tree_build(scaled(N_W5_TREE, scale));
  uint64_t t0 = now_ns();
  for (size_t i = 0; i < n; i++) {
    Node *a = node_new(), *b = node_new(), *c = node_new();
    a->f[0] = b;
    b->f[0] = c;
    c->f[0] = a;
    free(a);
    free(b);
    free(c);
  }
  uint64_t t1 = now_ns();
  emit("total_ms", (double)(t1 - t0) / 1e6);
  emit("ns_per_cycle", (double)(t1 - t0) / (double)n);
  tree_free(tree);
}

/* A hand-made weak reference: the target knows its one weakref. */
typedef struct WTarget WTarget;
typedef struct Weak {
  WTarget *target;
  void (*cb)(struct Weak *, void *);
  void *ctx;
} Weak;
struct WTarget {
  Node node;
  Weak *weak;
  _Atomic size_t refcount;
};

static void weak_cb(Weak *w, void *ctx) {
  (void)w;
  (*(size_t *)ctx)++;
}

static void w6(double scale) {
  size_t n = scaled(N_W6_WEAKREFS, scale);
  size_t calls = 0;
  uint64_t t0 = now_ns();
  for (size_t i = 0; i < n; i++) {
    WTarget *t = calloc(1, sizeof *t);
    Weak *w = malloc(sizeof *w);
    if (!t || !w) exit(1);
    w->target = t;
    w->cb = weak_cb;
    w->ctx = &calls;
    t->weak = w;
    g_sink = w;
    /* release the target: clear its weakref, run the callback, free */
    Weak *tw = t->weak;
    tw->target = NULL;
    tw->cb(tw, tw->ctx);
    free(t);
    free(w);
  }
  uint64_t t1 = now_ns();
  emit("callbacks", (double)calls);
  emit("clear_ns_per_op", (double)(t1 - t0) / (double)n);

  size_t gets = scaled(N_W6_GETS, scale);
  WTarget *t = calloc(1, sizeof *t);
  Weak *w = malloc(sizeof *w);
  if (!t || !w) exit(1);
  w->target = t;
  t->refcount = 1;
  Weak *volatile vw = w;
  t0 = now_ns();
  for (size_t i = 0; i < gets; i++) {
    /* load the target, take a reference, drop it */
    WTarget *p = vw->target;
    if (p) {
      atomic_fetch_add(&p->refcount, 1);
      atomic_fetch_sub(&p->refcount, 1);
    }
  }
  t1 = now_ns();
  emit("get_ns_per_op", (double)(t1 - t0) / (double)gets);
  free(t);
  free(w);
}

static void mem(double scale) {
  size_t n = scaled(N_MEM_OBJECTS, scale);
  long before = rss_kb();
  Node *head = NULL;
  for (size_t i = 0; i < n; i++) {
    Node *x = node_new();
    x->f[0] = head;
    head = x;
  }
  long peak = peak_rss_kb();
  emit("bytes_per_obj", (double)(peak - before) * 1024.0 / (double)n);
  while (head) {
    Node *next = head->f[0];
    free(head);
    head = next;
  }
}

static const Workload WORKLOADS[] = {
  {"W1", w1}, {"W2", w2}, {"W2u", w2u}, {"W3", w3}, {"W3t", w3t}, {"W4", w4}, {"W4c", w4c}, {"W4s", w4s},
  {"W5", w5},  {"W6", w6}, {"MEM", mem},
};

int main(int argc, char **argv) {
  return bench_main(argc, argv, "malloc", WORKLOADS, sizeof WORKLOADS / sizeof WORKLOADS[0]);
}
