/* Two threads against one: does the library scale when each thread works on
 * its own objects, and how fast are the shared cases?  Compiled twice from
 * this file: -DSYS_RCGC (threads_rcgc, the public API) and -DSYS_MALLOC
 * (threads_malloc: malloc/free and C11 atomic counts, the floor).
 *
 *   T2   new 2-field (tracked) object + release, each thread its own
 *   T2u  the same with an untracked object (no fields, 16-byte payload)
 *   TSF  obj_set_field on the thread's own object (alternating two values)
 *   TGF  obj_get_field on the thread's own object + release of the value
 *   TRC  incref+decref on the thread's own object
 *   TRI  incref+decref on 8 objects of the thread's own, made in turn with
 *        the other thread's 8 (one each, alternately), as threads that
 *        allocate at the same time do: the other workloads keep the two
 *        threads' objects apart with spacers, this one lets them lie
 *        wherever the allocator puts them
 *   TSH  incref+decref on one object shared by both threads
 *   TMX  mixed: one thread makes and releases tracked objects while the
 *        other reads a field of its own object (get_field + release) all
 *        the time; the maker's time per object beside the reader over its
 *        time alone (1.0: the reader costs it nothing), and the reads the
 *        reader made per object made
 *   THO  handoff: objects made on one thread are released on the other
 *        (a single-producer single-consumer ring), against one thread making
 *        and releasing the same objects in batches of the ring's size
 *   TEX  releasing objects whose owner thread has exited, against releasing
 *        objects of one's own (both timed on one thread)
 *
 * Run as `threads_X WORKLOAD [scale]`.  For T2..TSH every thread does n
 * operations; the figure is throughput_2_threads / throughput_1_thread in
 * wall time (2.0: perfect scaling), the median of 3 alternations of the two
 * runs.  THO's figure is handoff throughput / one-thread throughput; TEX's is
 * own-release time / exited-owner-release time (1.0: no extra cost).
 * Because the machine may be shared, every program also prints cpu_scaling:
 * a compute loop timed the same way (about 2.0 when two CPUs were free for
 * it).  cpu_per_op_2t_1t is the process CPU time per operation with two
 * threads over that with one (1.0: the threads cost each other nothing;
 * it does not depend on how many CPUs were free, but a thread asleep on a
 * lock costs no CPU).  Per-thread data sits on separate cache lines.
 */
#include "common.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#if defined(SYS_RCGC)
#include "rcgc.h"
#define SYSTEM "rcgc"
typedef GcObject Obj;
static Obj *check(Obj *o) {
  if (!o) {
    fprintf(stderr, "obj_new failed: %s\n", gc_last_error());
    exit(1);
  }
  return o;
}
static Obj *new_tracked(void) { return check(obj_new(2, 0)); }
static Obj *new_untracked(void) { return check(obj_new(0, 16)); }
static void release(Obj *o) { obj_decref(o); }
static void incref(Obj *o) { obj_incref(o); }
static void decref(Obj *o) { obj_decref(o); }
static void set_field(Obj *o, size_t i, Obj *v) { obj_set_field(o, i, v); }
static Obj *get_field(Obj *o, size_t i) { return obj_get_field(o, i); }
#elif defined(SYS_MALLOC)
#define SYSTEM "malloc"
/* A reference-counted object done by hand: count + 2 fields, or count +
 * 16 bytes. */
typedef struct Obj {
  _Atomic size_t rc;
  struct Obj *_Atomic f[2];
} Obj;
static Obj *new_sized(size_t size) {
  Obj *o = malloc(size);
  if (!o) exit(1);
  atomic_init(&o->rc, 1);
  atomic_init(&o->f[0], NULL);
  atomic_init(&o->f[1], NULL);
  return o;
}
static Obj *new_tracked(void) { return new_sized(sizeof(Obj)); }
static Obj *new_untracked(void) { return new_sized(sizeof(Obj)); }
static void incref(Obj *o) { atomic_fetch_add(&o->rc, 1); }
static void decref(Obj *o) {
  if (o && atomic_fetch_sub(&o->rc, 1) == 1) free(o);
}
static void release(Obj *o) { decref(o); }
/* A counted store: take a reference to the new value, swap, drop the old. */
static void set_field(Obj *o, size_t i, Obj *v) {
  if (v) incref(v);
  Obj *old = atomic_exchange(&o->f[i], v);
  if (old) decref(old);
}
/* A counted load: the value with a reference taken. */
static Obj *get_field(Obj *o, size_t i) {
  Obj *v = atomic_load(&o->f[i]);
  if (v) incref(v);
  return v;
}
#else
#error "compile with -DSYS_RCGC or -DSYS_MALLOC"
#endif

static void *volatile g_sink;

/* One thread's slot, alone on its cache lines. */
typedef struct {
  _Alignas(64) Obj *own;
  Obj *a, *b;
  Obj *mine[8];
  size_t n;
  int kind, index, threads;
  uint64_t spin;
  char pad[64];
} Slot;

static Obj *g_shared;

enum { K_T2, K_T2U, K_TSF, K_TGF, K_TRC, K_TRI, K_TSH, K_CPU };

#define SPACERS 3
static _Atomic int g_alloc_turn;
static pthread_barrier_t g_start;

/* Each worker makes its own objects (so they belong to it), one worker
 * after the other and between spacer objects, so that no two threads'
 * objects share a cache line; then all start together. */
static void *worker(void *p) {
  Slot *s = p;
  size_t n = s->n;
  int kind = s->kind;
  Obj *spacer[2 * SPACERS];
  while (atomic_load(&g_alloc_turn) != s->index) sched_yield();
  if (kind == K_TSF || kind == K_TGF || kind == K_TRC) {
    for (int i = 0; i < SPACERS; i++) spacer[i] = new_tracked();
    s->own = new_tracked();
    s->a = new_tracked();
    s->b = new_tracked();
    for (int i = SPACERS; i < 2 * SPACERS; i++) spacer[i] = new_tracked();
    if (kind == K_TGF) set_field(s->own, 0, s->a);
  }
  if (kind == K_TRI) {
    /* one object per turn, the threads alternating: turn k*threads+index */
    atomic_fetch_add(&g_alloc_turn, 1);
    while (atomic_load(&g_alloc_turn) != s->threads) sched_yield();
    for (int k = 0; k < 8; k++) {
      while (atomic_load(&g_alloc_turn) != s->threads + k * s->threads + s->index) sched_yield();
      s->mine[k] = new_tracked();
      atomic_fetch_add(&g_alloc_turn, 1);
    }
  } else
    atomic_fetch_add(&g_alloc_turn, 1);
  pthread_barrier_wait(&g_start);
  switch (kind) {
  case K_T2:
    for (size_t i = 0; i < n; i++) release(new_tracked());
    break;
  case K_T2U:
    for (size_t i = 0; i < n; i++) release(new_untracked());
    break;
  case K_TSF:
    for (size_t i = 0; i < n; i++) set_field(s->own, 0, (i & 1) ? s->a : s->b);
    break;
  case K_TGF:
    for (size_t i = 0; i < n; i++) release(get_field(s->own, 0));
    break;
  case K_TRC:
    for (size_t i = 0; i < n; i++) {
      incref(s->own);
      decref(s->own);
    }
    break;
  case K_TRI:
    for (size_t i = 0; i < n; i++) {
      incref(s->mine[i & 7]);
      decref(s->mine[i & 7]);
    }
    for (int k = 0; k < 8; k++) release(s->mine[k]);
    break;
  case K_TSH:
    for (size_t i = 0; i < n; i++) {
      incref(g_shared);
      decref(g_shared);
    }
    break;
  case K_CPU: {
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) x = rng_next(&x) | 1;
    s->spin = x;
    break;
  }
  }
  if (kind == K_TSF || kind == K_TGF || kind == K_TRC) {
    if (kind == K_TGF) set_field(s->own, 0, NULL);
    release(s->own);
    release(s->a);
    release(s->b);
    for (int i = 0; i < 2 * SPACERS; i++) release(spacer[i]);
  }
  return NULL;
}

/* Process CPU time of the last run_threads (the main thread only waits). */
static uint64_t g_last_cpu;

/* Runs `threads` workers of `kind` (n operations each); wall ns from the
 * common start to the last join. */
static uint64_t run_threads(int kind, int threads, size_t n) {
  static Slot slots[2];
  pthread_t tid[2];
  atomic_store(&g_alloc_turn, 0);
  pthread_barrier_init(&g_start, NULL, (unsigned)threads + 1);
  for (int t = 0; t < threads; t++) {
    slots[t].kind = kind;
    slots[t].n = n;
    slots[t].index = t;
    slots[t].threads = threads;
    pthread_create(&tid[t], NULL, worker, &slots[t]);
  }
  pthread_barrier_wait(&g_start);
  uint64_t c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  uint64_t t0 = wall_ns();
  for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
  uint64_t d = wall_ns() - t0;
  g_last_cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
  pthread_barrier_destroy(&g_start);
  return d;
}

/* Throughput ratio two threads / one thread (median of 3 alternations). */
static double g_cpu_ratio; /* CPU time per op, 2 threads / 1 thread */

static double scaling(int kind, size_t n, double *ns1, double *ns2) {
  uint64_t one[3], two[3], cone[3], ctwo[3];
  run_threads(kind, 1, n / 10 + 1); /* warm-up */
  for (int r = 0; r < 3; r++) {
    one[r] = run_threads(kind, 1, n);
    cone[r] = g_last_cpu;
    two[r] = run_threads(kind, 2, n);
    ctwo[r] = g_last_cpu;
  }
  g_cpu_ratio = (double)median_u64(ctwo, 3) / (2.0 * (double)median_u64(cone, 3));
  uint64_t m1 = median_u64(one, 3), m2 = median_u64(two, 3);
  *ns1 = (double)m1 / (double)n;
  *ns2 = (double)m2 / (double)n; /* per operation of one thread */
  return 2.0 * (double)m1 / (double)m2;
}

static void emit_cpu_scaling(double scale) {
  double a, b;
  emit("cpu_scaling", scaling(K_CPU, scaled(3e7, scale), &a, &b));
}

static void emit_scaling(int kind, double scale) {
  double ns1, ns2;
  double r = scaling(kind, scaled(5e6, scale), &ns1, &ns2);
  emit("ratio_2t_1t", r);
  emit("ns_per_op_1t", ns1);
  emit("ns_per_op_2t", ns2);
  emit("cpu_per_op_2t_1t", g_cpu_ratio);
  emit_cpu_scaling(scale);
}

static void t2(double s) { emit_scaling(K_T2, s); }
static void t2u(double s) { emit_scaling(K_T2U, s); }
static void tsf(double s) { emit_scaling(K_TSF, s); }
static void tgf(double s) { emit_scaling(K_TGF, s); }
static void trc(double s) { emit_scaling(K_TRC, s); }
static void tri(double s) { emit_scaling(K_TRI, s); }
static void tsh(double s) {
  g_shared = new_tracked();
  emit_scaling(K_TSH, s);
  release(g_shared);
}

/* THO: a single-producer single-consumer ring. */
#define RING 1024
static struct {
  _Alignas(64) _Atomic size_t head; /* written by the producer */
  _Alignas(64) _Atomic size_t tail; /* written by the consumer */
  _Alignas(64) Obj *slot[RING];
} g_ring;

static void *producer(void *p) {
  size_t n = *(size_t *)p;
  for (size_t i = 0; i < n; i++) {
    Obj *o = new_tracked();
    size_t h = atomic_load_explicit(&g_ring.head, memory_order_relaxed);
    while (h - atomic_load_explicit(&g_ring.tail, memory_order_acquire) == RING) sched_yield();
    g_ring.slot[h % RING] = o;
    atomic_store_explicit(&g_ring.head, h + 1, memory_order_release);
  }
  return NULL;
}

static void *consumer(void *p) {
  size_t n = *(size_t *)p;
  for (size_t i = 0; i < n; i++) {
    size_t t = atomic_load_explicit(&g_ring.tail, memory_order_relaxed);
    while (atomic_load_explicit(&g_ring.head, memory_order_acquire) == t) sched_yield();
    Obj *o = g_ring.slot[t % RING];
    atomic_store_explicit(&g_ring.tail, t + 1, memory_order_release);
    release(o);
  }
  return NULL;
}

static uint64_t handoff(size_t n) {
  pthread_t a, b;
  uint64_t t0 = wall_ns();
  pthread_create(&a, NULL, producer, &n);
  pthread_create(&b, NULL, consumer, &n);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  return wall_ns() - t0;
}

static uint64_t alone(size_t n) {
  static Obj *batch[RING];
  uint64_t t0 = wall_ns();
  for (size_t done = 0; done < n;) {
    size_t k = n - done < RING ? n - done : RING;
    for (size_t i = 0; i < k; i++) batch[i] = new_tracked();
    for (size_t i = 0; i < k; i++) release(batch[i]);
    done += k;
  }
  return wall_ns() - t0;
}

static void tho(double scale) {
  size_t n = scaled(2e6, scale);
  uint64_t one[3], two[3];
  alone(n / 10 + 1);
  for (int r = 0; r < 3; r++) {
    one[r] = alone(n);
    two[r] = handoff(n);
  }
  uint64_t m1 = median_u64(one, 3), m2 = median_u64(two, 3);
  emit("ratio_2t_1t", (double)m1 / (double)m2);
  emit("ns_per_op_1t", (double)m1 / (double)n);
  emit("ns_per_op_2t", (double)m2 / (double)n);
  emit_cpu_scaling(scale);
}

/* TMX: a maker beside a reader. */
static _Atomic int g_reading;
static void *reader(void *p) {
  Obj *o = new_tracked(), *v = new_tracked();
  set_field(o, 0, v);
  release(v);
  uint64_t reads = 0;
  atomic_store(&g_reading, 1);
  while (atomic_load_explicit(&g_reading, memory_order_relaxed) == 1) {
    for (int i = 0; i < 256; i++) release(get_field(o, 0));
    reads += 256;
  }
  set_field(o, 0, NULL);
  release(o);
  *(uint64_t *)p = reads;
  return NULL;
}

static uint64_t make_release(size_t n) {
  uint64_t t0 = wall_ns();
  for (size_t i = 0; i < n; i++) release(new_tracked());
  return wall_ns() - t0;
}

static void tmx(double scale) {
  size_t n = scaled(3e6, scale);
  uint64_t one[3], two[3], reads[3];
  /* Both runs after a second thread has used the library (the bias is
   * gone in both), so the reader is the only difference. */
  pthread_t t;
  atomic_store(&g_reading, 0);
  pthread_create(&t, NULL, reader, &reads[0]);
  while (atomic_load(&g_reading) == 0) sched_yield();
  atomic_store(&g_reading, 2);
  pthread_join(t, NULL);
  for (int r = 0; r < 3; r++) {
    one[r] = make_release(n);
    atomic_store(&g_reading, 0);
    pthread_create(&t, NULL, reader, &reads[r]);
    while (atomic_load(&g_reading) == 0) sched_yield();
    two[r] = make_release(n);
    atomic_store(&g_reading, 2);
    pthread_join(t, NULL);
  }
  uint64_t m1 = median_u64(one, 3), m2 = median_u64(two, 3);
  emit("ratio_beside_alone", (double)m2 / (double)m1);
  emit("ns_per_op_alone", (double)m1 / (double)n);
  emit("ns_per_op_beside", (double)m2 / (double)n);
  emit("reads_per_op", (double)median_u64(reads, 3) / (double)n);
  emit_cpu_scaling(scale);
}

/* TEX: objects made by a thread that has exited. */
typedef struct {
  Obj **v;
  size_t n;
} Batch;

static void *make_batch(void *p) {
  Batch *b = p;
  for (size_t i = 0; i < b->n; i++) b->v[i] = new_tracked();
  return NULL;
}

static void tex(double scale) {
  size_t n = scaled(1e6, scale);
  Batch b = {malloc(sizeof(Obj *) * n), n};
  if (!b.v) exit(1);
  uint64_t own[3], exited[3];
  for (int r = 0; r < 3; r++) {
    make_batch(&b);
    uint64_t t0 = wall_ns();
    for (size_t i = 0; i < n; i++) release(b.v[i]);
    own[r] = wall_ns() - t0;
    pthread_t t;
    pthread_create(&t, NULL, make_batch, &b);
    pthread_join(t, NULL); /* the owner is gone */
    t0 = wall_ns();
    for (size_t i = 0; i < n; i++) release(b.v[i]);
    exited[r] = wall_ns() - t0;
  }
  uint64_t m1 = median_u64(own, 3), m2 = median_u64(exited, 3);
  emit("ratio_exited_own", (double)m1 / (double)m2);
  emit("ns_per_op_own", (double)m1 / (double)n);
  emit("ns_per_op_exited", (double)m2 / (double)n);
  free(b.v);
}

static const Workload WORKLOADS[] = {
  {"T2", t2}, {"T2u", t2u}, {"TSF", tsf}, {"TGF", tgf}, {"TRC", trc}, {"TRI", tri}, {"TSH", tsh}, {"TMX", tmx}, {"THO", tho}, {"TEX", tex},
};

int main(int argc, char **argv) {
  return bench_main(argc, argv, SYSTEM, WORKLOADS, sizeof WORKLOADS / sizeof WORKLOADS[0]);
}
