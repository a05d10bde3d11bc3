/* The cost of the introspection walks on a heap of N tracked objects
 * (default 10^6): a complete binary tree of typed 2-field nodes under one
 * held root (so why-alive chains are ~20 links), every 16th node of the
 * tree's bottom level also holding an untracked leaf. Prints one line per measurement (median, min
 * and max of REPEAT runs of the process CPU time, and the median wall time):
 *   gc_dump_heap heapsnapshot (ms, file size), gc_dump_heap dot,
 *   gc_why_alive of the last leaf, gc_get_referrers, gc_visit_objects,
 *   gc_visit_type_stats, and a full gc_collect for comparison.
 * Build: cc -O2 -Iinclude bench/bench_introspect.c -Ltarget/release -lrcgc \
 *          -Wl,-rpath,$PWD/target/release -o bench_introspect
 * Run:   ./bench_introspect [N] [REPEAT] [DIR for the dump files] */
#include "common.h"
#include <sys/stat.h>
#include "rcgc.h"

static const GcType Node = {"Node", NULL, NULL, NULL, NULL};

static int count_visit(GcObject *o, void *ctx) {
  (void)o;
  ++*(size_t *)ctx;
  return 0;
}
static int count_stats(const GcTypeStats *s, void *ctx) {
  (void)s;
  ++*(size_t *)ctx;
  return 0;
}

/* Timings of the current measurement: wall clock and process CPU time. */
static uint64_t ns[64], cpu[64], t_wall, t_cpu;
static void start(void) {
  t_wall = wall_ns();
  t_cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}
static void stop(int r) {
  ns[r] = wall_ns() - t_wall;
  cpu[r] = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - t_cpu;
}

static void report(const char *what, int n, const char *extra) {
  qsort(ns, (size_t)n, sizeof *ns, cmp_u64);
  qsort(cpu, (size_t)n, sizeof *cpu, cmp_u64);
  printf("%-30s cpu median %7.1f ms (min %7.1f, max %7.1f); wall median %7.1f ms%s\n", what,
         cpu[n / 2] / 1e6, cpu[0] / 1e6, cpu[n - 1] / 1e6, ns[n / 2] / 1e6, extra);
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
  int repeat = argc > 2 ? atoi(argv[2]) : 5;
  const char *dir = argc > 3 ? argv[3] : "/tmp";
  if (repeat < 1 || repeat > 64 || n < 2) return 2;
  gc_disable();
  GcObject **nodes = malloc(n * sizeof *nodes);
  if (!nodes) return 1;
  for (size_t i = 0; i < n; i++) {
    nodes[i] = obj_new_typed(&Node, 2, 0);
    if (i > 0) {
      obj_set_field(nodes[(i - 1) / 2], (i - 1) % 2, nodes[i]);
      obj_decref(nodes[i]); /* held by its parent only */
    }
    if (i % 16 == 0 && 2 * i + 1 >= n) { /* a tree leaf: its fields are free */
      GcObject *leaf = obj_new(0, 16);
      obj_set_field(nodes[i], 0, leaf);
      obj_decref(leaf);
    }
  }
  GcObject *last = nodes[n - 1];
  char path[512], extra[128];
  struct stat st;

  snprintf(path, sizeof path, "%s/bench_introspect.heapsnapshot", dir);
  for (int r = 0; r < repeat; r++) {
    start();
    if (gc_dump_heap(path, GC_DUMP_HEAPSNAPSHOT) != GC_OK) return 1;
    stop(r);
  }
  if (stat(path, &st) != 0) return 1;
  snprintf(extra, sizeof extra, "  file %.1f MB", st.st_size / 1e6);
  report("gc_dump_heap heapsnapshot", repeat, extra);
  remove(path);

  snprintf(path, sizeof path, "%s/bench_introspect.dot", dir);
  for (int r = 0; r < repeat; r++) {
    start();
    if (gc_dump_heap(path, GC_DUMP_DOT) != GC_OK) return 1;
    stop(r);
  }
  if (stat(path, &st) != 0) return 1;
  snprintf(extra, sizeof extra, "  file %.1f MB", st.st_size / 1e6);
  report("gc_dump_heap dot", repeat, extra);
  remove(path);

  int64_t len = 0;
  for (int r = 0; r < repeat; r++) {
    size_t calls = 0;
    start();
    len = gc_why_alive(last, count_visit, &calls);
    stop(r);
  }
  snprintf(extra, sizeof extra, "  chain of %lld", (long long)len);
  report("gc_why_alive (deepest leaf)", repeat, extra);

  for (int r = 0; r < repeat; r++) {
    size_t calls = 0;
    start();
    gc_get_referrers(last, count_visit, &calls);
    stop(r);
  }
  report("gc_get_referrers", repeat, "");

  size_t objects = 0;
  for (int r = 0; r < repeat; r++) {
    objects = 0;
    start();
    gc_visit_objects(-1, count_visit, &objects);
    stop(r);
  }
  snprintf(extra, sizeof extra, "  %zu objects", objects);
  report("gc_visit_objects(-1)", repeat, extra);

  for (int r = 0; r < repeat; r++) {
    size_t groups = 0;
    start();
    gc_visit_type_stats(count_stats, &groups);
    stop(r);
  }
  report("gc_visit_type_stats", repeat, "");

  for (int r = 0; r < repeat; r++) {
    start();
    gc_collect();
    stop(r);
  }
  report("gc_collect (for comparison)", repeat, "");

  obj_decref(nodes[0]);
  free(nodes);
  return 0;
}
