/* The client programs (clients.h) on rcgc's public C API.  BT nodes are
 * obj_new(2, 0), BTC nodes obj_new(3, 0) (field 2: the parent), GCB nodes
 * obj_new(2, 8) (the two ints in the payload).  A child is stored with
 * obj_set_field and the creator's reference then dropped (the API has no
 * stealing store); checks read the children with obj_get_field (a new
 * reference each; obj_borrow_field with RCGC_BENCH_BORROW=1); a tree is
 * dropped with one obj_decref of its root.
 * Default collection settings.  Time in collections comes from
 * gc_callback_add (START/STOP).
 */
#include "clients.h"

#include "rcgc.h"

static GcObject *node(size_t nfields, size_t payload) {
  GcObject *o = obj_new(nfields, payload);
  if (!o) {
    fprintf(stderr, "obj_new failed: %s\n", gc_last_error());
    exit(1);
  }
  return o;
}

static void store(GcObject *o, size_t i, GcObject *v) {
  if (obj_set_field(o, i, v) != GC_OK) {
    fprintf(stderr, "obj_set_field failed: %s\n", gc_last_error());
    exit(1);
  }
}

/* Stores v in field i of o and drops the caller's reference to v. */
static void store_steal(GcObject *o, size_t i, GcObject *v) {
  store(o, i, v);
  obj_decref(v);
}

/* RCGC_BENCH_BORROW=1: the check functions read the children with
 * obj_borrow_field (no count change), as the API offers for single-threaded
 * traversals; by default with obj_get_field and obj_decref, as a program
 * that shares its trees between threads must. */
static int borrow;

static GcObject *child(void *p, size_t i) {
  return borrow ? obj_borrow_field(p, i) : obj_get_field(p, i);
}

static void done_with(GcObject *c) {
  if (!borrow) obj_decref(c);
}

static void *bt_make(int d) {
  if (d <= 0) return node(2, 0);
  GcObject *l = bt_make(d - 1), *r = bt_make(d - 1);
  GcObject *t = node(2, 0);
  store_steal(t, 0, l);
  store_steal(t, 1, r);
  return t;
}

static long bt_check(void *p) {
  GcObject *l = child(p, 0);
  if (!l) return 1;
  GcObject *r = child(p, 1);
  long c = 1 + bt_check(l) + bt_check(r);
  done_with(l);
  done_with(r);
  return c;
}

static void bt_drop(void *t) { obj_decref(t); }

static void *btc_make(int d) {
  if (d <= 0) return node(3, 0);
  GcObject *l = btc_make(d - 1), *r = btc_make(d - 1);
  GcObject *t = node(3, 0);
  store_steal(t, 0, l);
  store_steal(t, 1, r);
  store(l, 2, t); /* the back edges: every tree is a cycle */
  store(r, 2, t);
  return t;
}

static long btc_check(void *p) {
  GcObject *l = child(p, 0);
  if (!l) return 1;
  GcObject *r = child(p, 1);
  long c = 1 + btc_check(l) + btc_check(r);
  done_with(l);
  done_with(r);
  return c;
}

static void btc_drop(void *t) { obj_decref(t); }

typedef struct { int i, j; } Ints;

static void *gcb_leaf(void) { return node(2, sizeof(Ints)); }

static void *gcb_node(void *l, void *r) {
  GcObject *t = node(2, sizeof(Ints));
  store_steal(t, 0, l);
  store_steal(t, 1, r);
  return t;
}

static void gcb_populate(int d, void *p) {
  if (d <= 0) return;
  d--;
  GcObject *l = gcb_leaf(), *r = gcb_leaf();
  store(p, 0, l);
  store(p, 1, r);
  gcb_populate(d, l);
  gcb_populate(d, r);
  obj_decref(l);
  obj_decref(r);
}

static long gcb_check(void *p) {
  GcObject *l = child(p, 0);
  if (!l) return 1;
  GcObject *r = child(p, 1);
  long c = 1 + gcb_check(l) + gcb_check(r);
  done_with(l);
  done_with(r);
  return c;
}

static void gcb_drop(void *t) { obj_decref(t); }

static struct {
  uint64_t start_clock, start_wall, total, max_pause;
  size_t per_gen[3];
  uint64_t gen_total[3];
} g;

static void on_gc(GcPhase phase, const GcCallbackInfo *info, void *ctx) {
  (void)ctx;
  if (phase == GC_PHASE_START) {
    g.start_wall = wall_ns();
    g.start_clock = now_ns();
  } else {
    uint64_t c = now_ns() - g.start_clock;
    g.total += c;
    uint64_t d = wall_ns() - g.start_wall;
    if (d > g.max_pause) g.max_pause = d;
    if (info && info->generation >= 0 && info->generation < 3) {
      g.per_gen[info->generation]++;
      g.gen_total[info->generation] += c;
    }
  }
}

static void sys_init(void) {
  const char *b = getenv("RCGC_BENCH_BORROW");
  borrow = b && *b && *b != '0';
  gc_callback_add(on_gc, NULL);
}

static void sys_report(double total, double nodes) {
  emit_gc(total, nodes, (double)g.total, (double)g.max_pause);
  emit("collections_gen0", (double)g.per_gen[0]);
  emit("collections_gen1", (double)g.per_gen[1]);
  emit("collections_gen2", (double)g.per_gen[2]);
  for (int i = 0; i < 3; i++) {
    char m[32];
    snprintf(m, sizeof m, "gc_s_gen%d", i);
    emit(m, (double)g.gen_total[i] / 1e9);
  }
}

/* bytes_in_use counts each object's block as allocated (its pool size
 * class, or its system allocation). */
static double sys_node_bytes(void *(*leaf)(void), void (*drop)(void *)) {
  size_t before = gc_get_memory().bytes_in_use;
  void *p = leaf();
  double bytes = (double)(gc_get_memory().bytes_in_use - before);
  drop(p);
  return bytes;
}

int main(int argc, char **argv) { return clients_main(argc, argv, "rcgc"); }
