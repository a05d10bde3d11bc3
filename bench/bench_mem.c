/* Memory given back: RSS before building 10^7 small objects, at the peak,
 * after releasing them all, and after each way the system has of returning
 * memory to the operating system.  Compiled three times from this file:
 *
 *   mem_rcgc    -DSYS_RCGC   obj_new(2, 0) nodes; after the release:
 *                            gc_collect() (a full collection, which trims on
 *                            its own, API.md "Memory (v2)"), then gc_trim();
 *                            plus gc_get_memory()'s figures
 *   mem_malloc  -DSYS_MALLOC malloc'd 16-byte nodes, freed by a walk; then
 *                            malloc_trim(0)
 *   mem_boehm   -DSYS_BOEHM  GC_MALLOC nodes, dropped; then GC_gcollect(),
 *                            then GC_gcollect_and_unmap(), then that again
 *                            until the unmapped bytes stop growing (Boehm unmaps blocks
 *                            only after they stay free for a few collections)
 *
 * The objects form a balanced binary tree built children first (as
 * binary-trees does).  Run as `mem_X RSS [scale]` (scale 1: 10^7 nodes).
 * Figures are RSS in MB (VmRSS); "back" is the share of the growth (peak -
 * start) returned at each step: 1.0 = back to the start.  Times are CPU ms.
 */
#include "common.h"

#include <malloc.h>

#if defined(SYS_RCGC)
#include "rcgc.h"
#define SYSTEM "rcgc"
typedef GcObject Node;
static Node *make(Node *l, Node *r) {
  Node *t = obj_new(2, 0);
  if (!t) {
    fprintf(stderr, "obj_new failed: %s\n", gc_last_error());
    exit(1);
  }
  if (l) {
    obj_set_field(t, 0, l);
    obj_decref(l);
  }
  if (r) {
    obj_set_field(t, 1, r);
    obj_decref(r);
  }
  return t;
}
static void drop(Node *t) { obj_decref(t); }
#elif defined(SYS_MALLOC)
#define SYSTEM "malloc"
typedef struct Node { struct Node *l, *r; } Node;
static Node *make(Node *l, Node *r) {
  Node *t = malloc(sizeof *t);
  if (!t) exit(1);
  t->l = l;
  t->r = r;
  return t;
}
static void drop(Node *t) {
  if (!t) return;
  drop(t->l);
  drop(t->r);
  free(t);
}
#elif defined(SYS_BOEHM)
#include <gc/gc.h>
#define SYSTEM "boehm"
typedef struct Node { struct Node *l, *r; } Node;
static Node *make(Node *l, Node *r) {
  Node *t = GC_MALLOC(sizeof *t);
  if (!t) exit(1);
  t->l = l;
  t->r = r;
  return t;
}
static void drop(Node *t) { (void)t; }
#else
#error "compile with -DSYS_RCGC, -DSYS_MALLOC or -DSYS_BOEHM"
#endif

/* A tree of exactly n nodes, children first. */
__attribute__((noinline)) static Node *build(size_t n) {
  if (n == 0) return NULL;
  size_t left = (n - 1) / 2;
  Node *l = build(left);
  Node *r = build(n - 1 - left);
  return make(l, r);
}

static double g_start, g_growth;

static double rss_mb(void) { return (double)rss_kb() / 1024.0; }

/* RSS now, and the share of the growth given back. */
static void step(const char *name) {
  double now = rss_mb();
  char m[64];
  snprintf(m, sizeof m, "rss_%s_mb", name);
  emit(m, now);
  snprintf(m, sizeof m, "back_%s", name);
  emit(m, g_growth > 0 ? (g_start + g_growth - now) / g_growth : 0);
}

#ifdef SYS_RCGC
static void stats(const char *when) {
  GcMemStats s = gc_get_memory();
  char m[64];
  snprintf(m, sizeof m, "in_use_%s_mb", when);
  emit(m, (double)s.bytes_in_use / 1048576.0);
  snprintf(m, sizeof m, "reserved_%s_mb", when);
  emit(m, (double)s.bytes_reserved / 1048576.0);
}
#endif

/* Clears the stack below this frame, so a conservative collector does not
 * find stale pointers to the tree there. */
__attribute__((noinline)) static void scrub_stack(void) {
  volatile char buf[16384];
  memset((char *)buf, 0, sizeof buf);
}

static void rss(double scale) {
  size_t n = scaled(1e7, scale);
#ifdef SYS_BOEHM
  GC_gcollect();
#endif
#ifdef SYS_RCGC
  gc_collect();
#endif
  g_start = rss_mb();
  emit("rss_start_mb", g_start);
  uint64_t t0 = now_ns();
  Node *root = build(n);
  emit("build_ms", (double)(now_ns() - t0) / 1e6);
  double peak = rss_mb();
  g_growth = peak - g_start;
  emit("rss_peak_mb", peak);
  emit("growth_bytes_per_obj", g_growth * 1048576.0 / (double)n);
#ifdef SYS_RCGC
  stats("peak");
#endif
  t0 = now_ns();
  drop(root);
  root = NULL;
  emit("release_ms", (double)(now_ns() - t0) / 1e6);
  step("released");
  scrub_stack();
#if defined(SYS_RCGC)
  stats("released");
  t0 = now_ns();
  gc_collect();
  emit("collect_ms", (double)(now_ns() - t0) / 1e6);
  step("collected");
  stats("collected");
  t0 = now_ns();
  size_t got = gc_trim();
  emit("trim_ms", (double)(now_ns() - t0) / 1e6);
  emit("trim_returned_mb", (double)got / 1048576.0);
  step("trimmed");
  stats("trimmed");
#elif defined(SYS_MALLOC)
  t0 = now_ns();
  malloc_trim(0);
  emit("trim_ms", (double)(now_ns() - t0) / 1e6);
  step("trimmed");
#elif defined(SYS_BOEHM)
  t0 = now_ns();
  GC_gcollect();
  emit("collect_ms", (double)(now_ns() - t0) / 1e6);
  step("collected");
  t0 = now_ns();
  GC_gcollect_and_unmap();
  emit("trim_ms", (double)(now_ns() - t0) / 1e6);
  step("trimmed");
  /* Boehm unmaps a block only once it has stayed free through a few
   * collections: repeat until the unmapped bytes stop growing (at most 8
   * calls). */
  int calls = 1;
  for (size_t last = (size_t)-1; calls < 8 && GC_get_unmapped_bytes() != last; calls++) {
    last = GC_get_unmapped_bytes();
    GC_gcollect_and_unmap();
  }
  emit("unmap_calls", calls);
  step("trimmed_repeat");
#endif
}

static const Workload WORKLOADS[] = {{"RSS", rss}};

int main(int argc, char **argv) {
#ifdef SYS_BOEHM
  GC_INIT();
#endif
  return bench_main(argc, argv, SYSTEM, WORKLOADS, 1);
}
