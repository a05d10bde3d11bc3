/* Shared helpers for the rcgc benchmark programs (bench_rcgc.c,
 * bench_malloc.c, bench_boehm.c): clock, memory readings, argument parsing,
 * the machine-readable output line, and the workload sizes.
 *
 * Every program is run as `prog WORKLOAD [SCALE]`, one workload per process
 * so that each starts with a fresh heap and its own peak-RSS figure.
 * Output lines have the form `W2 rcgc ns_per_op 23.4` (workload, system,
 * metric, value); bench/run.py collects them.  Anything else a program
 * prints starts with `#` and is ignored by the runner.
 */
#ifndef RCGC_BENCH_COMMON_H
#define RCGC_BENCH_COMMON_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wall-clock time: collection pauses are measured with it. */
static inline uint64_t wall_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

/* The clock of the throughput figures (ns/op, ms per collection, total
 * time): the process's CPU time, so that time spent preempted by other work
 * on a shared machine does not count (every program here is single-threaded;
 * Boehm starts no marker threads in a program that creates none), or wall
 * time with BENCH_CLOCK=wall in the environment. */
static inline uint64_t now_ns(void) {
  static int use_wall = -1;
  if (use_wall < 0) {
    const char *c = getenv("BENCH_CLOCK");
    use_wall = c && !strcmp(c, "wall");
  }
  return clock_ns(use_wall ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID);
}

/* A line "Key:   1234 kB" of /proc/self/status, in kB; -1 if absent. */
static inline long proc_status_kb(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  size_t klen = strlen(key);
  long v = -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
      v = strtol(line + klen + 1, NULL, 10);
      break;
    }
  }
  fclose(f);
  return v;
}
static inline long rss_kb(void) { return proc_status_kb("VmRSS"); }
static inline long peak_rss_kb(void) { return proc_status_kb("VmHWM"); }

static const char *g_system = "?";
static const char *g_workload = "?";

static inline void emit(const char *metric, double value) {
  printf("%s %s %s %.6g\n", g_workload, g_system, metric, value);
  fflush(stdout);
}

static inline void emit_peak_rss(void) {
  emit("peak_rss_mb", (double)peak_rss_kb() / 1024.0);
}

/* Workload sizes at scale 1 (DESIGN.md's figures where it gives them). */
#define N_W1_PAIRS     50000000.0  /* incref+decref pairs */
#define N_W2_OBJECTS   10000000.0  /* new + release */
#define N_W3_CYCLES     1000000.0  /* two-node garbage cycles */
#define N_W3T_NODES      524287.0  /* 2^19 - 1 nodes of a dropped tree with parent links */
#define N_W4_NODES      1048575.0  /* 2^20 - 1 live tree nodes */
#define N_W5_CYCLES    10000000.0  /* short-lived three-node cycles */
#define N_W5_TREE       1000000.0  /* live tree during W5 */
#define N_W6_WEAKREFS   1000000.0  /* weakrefs whose target dies */
#define N_W6_GETS      10000000.0  /* weakref_get on a live target */
#define N_MEM_OBJECTS   1000000.0  /* live objects for bytes/object */
#define W4_REPEATS 3               /* timed full collections in W4 */

/* The W4 layouts: the same live binary tree of N_W4_NODES nodes, built
 *  W4  parent first (pre-order: a node is allocated before its subtrees, so
 *      allocation order is the tree's depth-first order),
 *  W4c children first (post-order, as binary-trees and CPython programs
 *      build trees bottom-up),
 *  W4s shuffled: nodes allocated in order, then linked as a heap-shaped
 *      tree (children of slot k at 2k+1, 2k+2) through a random permutation,
 *      so allocation order says nothing about the tree (a heap that has been
 *      mutated for a while). */
static inline uint64_t rng_next(uint64_t *s) { /* xorshift64* */
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ull;
}

/* A random permutation of 0..n-1 (fixed seed, the same in every system). */
static inline size_t *shuffled_slots(size_t n) {
  size_t *p = malloc(sizeof *p * (n ? n : 1));
  if (!p) exit(1);
  for (size_t i = 0; i < n; i++) p[i] = i;
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)(rng_next(&seed) % i);
    size_t t = p[i - 1];
    p[i - 1] = p[j];
    p[j] = t;
  }
  return p;
}

static inline size_t scaled(double base, double scale) {
  double n = base * scale;
  return n < 1.0 ? 1 : (size_t)(n + 0.5);
}

static inline double parse_scale(int argc, char **argv) {
  if (argc < 3) return 1.0;
  double s = strtod(argv[2], NULL);
  if (!(s > 0.0)) {
    fprintf(stderr, "bad scale '%s'\n", argv[2]);
    exit(2);
  }
  return s;
}

static inline int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Median of n timings (sorts in place). */
static inline uint64_t median_u64(uint64_t *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_u64);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A growable record of pause lengths, for percentiles. */
typedef struct PauseLog {
  uint64_t *v;
  size_t n, cap;
} PauseLog;

static inline void pause_log_add(PauseLog *l, uint64_t d) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 1024;
    l->v = realloc(l->v, l->cap * sizeof *l->v);
    if (!l->v) exit(1);
  }
  l->v[l->n++] = d;
}

/* Emits the median and 99th percentile pause (ms); frees the log. */
static inline void pause_log_emit(PauseLog *l);

static inline void pause_log_emit(PauseLog *l) {
  if (l->n) {
    qsort(l->v, l->n, sizeof *l->v, cmp_u64);
    emit("median_pause_ms", (double)l->v[l->n / 2] / 1e6);
    emit("p99_pause_ms", (double)l->v[(l->n * 99) / 100] / 1e6);
  }
  free(l->v);
  *l = (PauseLog){0};
}

#define USAGE "usage: %s W1|W1p|W2|W3|W3t|W4|W4c|W4s|W5|W6|MEM [scale]\n"

/* One workload of a system; `run` NULL: the system has nothing to measure
 * for it (Boehm has no reference counts for W1). */
typedef struct { const char *name; void (*run)(double scale); } Workload;

/* The shared main(): runs the workload named by argv[1] at argv[2]'s scale
 * and prints the peak RSS. */
static inline int bench_main(int argc, char **argv, const char *system,
                             const Workload *table, size_t n) {
  if (argc < 2) {
    fprintf(stderr, USAGE, argv[0]);
    return 2;
  }
  double scale = parse_scale(argc, argv);
  g_system = system;
  g_workload = argv[1];
  for (size_t i = 0; i < n; i++) {
    if (!strcmp(argv[1], table[i].name)) {
      if (table[i].run) table[i].run(scale);
      emit_peak_rss();
      return 0;
    }
  }
  fprintf(stderr, USAGE, argv[0]);
  return 2;
}

#endif
