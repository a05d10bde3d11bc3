/* Client programs: the classic collector benchmarks, written as ordinary
 * programs on top of a memory manager, once for every system
 * (clients_rcgc.c, clients_boehm.c, clients_malloc.c; clients.py for
 * CPython, clients.nim for Nim ORC).  This header holds the drivers, which
 * are the same for every system; each system file provides the node
 * operations declared below.
 *
 *   BT   binary-trees (the Benchmarks Game program): bottom-up trees of
 *        2-field nodes, children allocated before their parent, walked
 *        with a check function and dropped whole.  Depth 18 at scale 1.
 *   BTC  the same with a back edge: every node also points to its parent
 *        (a 3-field node), so every tree is one big cycle and only a cycle
 *        collector can reclaim it (malloc frees it by hand, ignoring the
 *        back edges).
 *   GCB  GCBench (Ellis, Kovac, Boehm): stretch tree of depth 18, a
 *        long-lived tree of depth 16 built top-down ("Populate", parent
 *        first), a 500,000-double array, then temporary trees of depth
 *        4, 6, ..., 16, each built top-down and bottom-up, as many as make
 *        twice the stretch tree's nodes.  Nodes hold two pointers and two
 *        ints.
 *
 * Run as `prog BT|BTC|GCB [scale]`: a scale s moves every tree depth by
 * round(log2 s) levels (0.0625 = 4 levels less; the minimum depth 4 of BT
 * and GCB stays) and the GCB array by the factor s.  Output lines are
 * `BT rcgc total_s 12.3` as in common.h.  total_s is the process's CPU time
 * (BENCH_CLOCK=wall for wall time); gc_s is the time inside collections on
 * the same clock, max_pause_ms wall time; mutator_ns_per_node is
 * (total - gc) / nodes allocated (ns_per_node: total / nodes); checksum must be the same for every
 * system.
 */
#ifndef RCGC_BENCH_CLIENTS_H
#define RCGC_BENCH_CLIENTS_H

#include "common.h"

#include <math.h>

/* Provided by each system. Trees are handled as void *; "drop" gives up the
 * caller's last reference to a whole tree (free it, or leave it to the
 * collector). */
static void sys_init(void);
static void sys_report(double total_ns, double nodes); /* emits gc figures */
/* The bytes one node made by leaf() takes in the system's heap, measured
 * (0: not known); the node is then given to drop. */
static double sys_node_bytes(void *(*leaf)(void), void (*drop)(void *));
static void *bt_make(int depth);
static long bt_check(void *t);
static void bt_drop(void *t);
static void *btc_make(int depth);
static long btc_check(void *t);
static void btc_drop(void *t);
static void *gcb_leaf(void);                   /* a node with no children */
static void *gcb_node(void *left, void *right); /* takes over left/right */
static void gcb_populate(int depth, void *n);  /* parent first */
static long gcb_check(void *t);
static void gcb_drop(void *t);

/* Exact integers (emit() keeps 6 digits). */
static inline void emit_count(const char *metric, double v) {
  printf("%s %s %s %.0f\n", g_workload, g_system, metric, v);
  fflush(stdout);
}

static inline double tree_nodes(int depth) { return ldexp(1.0, depth + 1) - 1.0; }

static int g_shift; /* round(log2 scale) */

static double run_bt(int cyclic) {
  int min_depth = 4, n = 18 + g_shift;
  int max_depth = n > min_depth + 2 ? n : min_depth + 2;
  void *(*make)(int) = cyclic ? btc_make : bt_make;
  long (*check)(void *) = cyclic ? btc_check : bt_check;
  void (*drop)(void *) = cyclic ? btc_drop : bt_drop;
  double nodes = 0;
  long sum = 0;

  void *stretch = make(max_depth + 1);
  sum += check(stretch);
  drop(stretch);
  nodes += tree_nodes(max_depth + 1);

  void *long_lived = make(max_depth);
  nodes += tree_nodes(max_depth);

  for (int d = min_depth; d <= max_depth; d += 2) {
    long iters = 1L << (max_depth - d + min_depth);
    long c = 0;
    for (long i = 0; i < iters; i++) {
      void *t = make(d);
      c += check(t);
      drop(t);
    }
    sum += c;
    nodes += (double)iters * tree_nodes(d);
  }
  sum += check(long_lived);
  drop(long_lived);
  emit_count("checksum", (double)sum);
  return nodes;
}

/* GCBench's MakeTree: children before the parent. */
static void *gcb_make(int depth) {
  if (depth <= 0) return gcb_leaf();
  void *l = gcb_make(depth - 1);
  void *r = gcb_make(depth - 1);
  return gcb_node(l, r);
}

static double run_gcb(double scale) {
  int stretch_depth = 18 + g_shift, long_lived_depth = 16 + g_shift;
  int min_depth = 4, max_depth = 16 + g_shift;
  if (long_lived_depth < min_depth) long_lived_depth = min_depth;
  if (max_depth < min_depth) max_depth = min_depth;
  if (stretch_depth < max_depth) stretch_depth = max_depth;
  size_t array_size = scaled(500000, scale);
  double nodes = 0;
  long sum = 0;

  void *stretch = gcb_leaf();
  gcb_populate(stretch_depth, stretch);
  sum += gcb_check(stretch);
  gcb_drop(stretch);
  nodes += tree_nodes(stretch_depth);

  void *long_lived = gcb_leaf();
  gcb_populate(long_lived_depth, long_lived);
  nodes += tree_nodes(long_lived_depth);

  double *array = malloc(sizeof(double) * array_size);
  if (!array) exit(1);
  for (size_t i = 0; i < array_size / 2; i++) array[i] = 1.0 / (double)i;
  for (size_t i = array_size / 2; i < array_size; i++) array[i] = 0.0;

  for (int d = min_depth; d <= max_depth; d += 2) {
    long iters = (long)(2 * tree_nodes(stretch_depth) / tree_nodes(d));
    for (long i = 0; i < iters; i++) { /* top-down */
      void *t = gcb_leaf();
      gcb_populate(d, t);
      gcb_drop(t);
    }
    for (long i = 0; i < iters; i++) { /* bottom-up */
      void *t = gcb_make(d);
      gcb_drop(t);
    }
    nodes += 2.0 * (double)iters * tree_nodes(d);
  }
  long ll = gcb_check(long_lived);
  if (ll != (long)tree_nodes(long_lived_depth) || (array_size > 1000 && array[1000] != 1.0 / 1000))
    fprintf(stderr, "# GCB: long-lived data damaged\n");
  sum += ll;
  gcb_drop(long_lived);
  free(array);
  emit_count("checksum", (double)sum);
  return nodes;
}

/* The figures of a system with a collection hook: time in collections
 * (on the clock of total_s), the longest pause (wall), the mutator's time per
 * node allocated. */
static inline void emit_gc(double total_ns, double nodes, double gc_ns, double max_pause_ns) {
  emit("gc_s", gc_ns / 1e9);
  emit("gc_share", total_ns > 0 ? gc_ns / total_ns : 0);
  emit("max_pause_ms", max_pause_ns / 1e6);
  emit("mutator_ns_per_node", (total_ns - gc_ns) / nodes);
}

static void *bt_leaf(void) { return bt_make(0); }
static void *btc_leaf(void) { return btc_make(0); }

#define CLIENTS_USAGE "usage: %s BT|BTC|GCB [scale]\n"

static inline int clients_main(int argc, char **argv, const char *system) {
  if (argc < 2) {
    fprintf(stderr, CLIENTS_USAGE, argv[0]);
    return 2;
  }
  double scale = parse_scale(argc, argv);
  g_shift = (int)lround(log2(scale));
  g_system = system;
  g_workload = argv[1];
  sys_init();
  double nodes;
  uint64_t t0 = now_ns();
  if (!strcmp(argv[1], "BT")) nodes = run_bt(0);
  else if (!strcmp(argv[1], "BTC")) nodes = run_bt(1);
  else if (!strcmp(argv[1], "GCB")) nodes = run_gcb(scale);
  else {
    fprintf(stderr, CLIENTS_USAGE, argv[0]);
    return 2;
  }
  double total = (double)(now_ns() - t0);
  emit("total_s", total / 1e9);
  emit_count("nodes", nodes);
  emit("ns_per_node", total / nodes);
  sys_report(total, nodes);
  emit_peak_rss();
  /* (After the run: the leaf of the workload's node type, BT's or BTC's,
   * GCBench's node with its two ints.) */
  void *(*leaf)(void) = !strcmp(argv[1], "BT") ? bt_leaf : !strcmp(argv[1], "BTC") ? btc_leaf : gcb_leaf;
  void (*drop)(void *) = !strcmp(argv[1], "BT") ? bt_drop : !strcmp(argv[1], "BTC") ? btc_drop : gcb_drop;
  double bytes = sys_node_bytes(leaf, drop);
  if (bytes > 0) emit_count("node_bytes", bytes);
  return 0;
}

#endif
