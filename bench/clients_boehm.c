/* The client programs (clients.h) on the Boehm-Demers-Weiser collector
 * (Debian libgc-dev), default settings: nodes from GC_MALLOC, trees simply
 * dropped.  Time in collections from GC_set_on_collection_event
 * (START/END); every Boehm collection is a full one.
 *
 * With -DRCGC_SIZES ("boehm-sized" in bench/run.py) each node takes as many
 * bytes as rcgc's block for it (src/object.rs: a 16-byte prefix when the
 * payload is over 31 bytes, the 32-byte header, 8 bytes per field, the
 * payload at the next 16-byte boundary, the block a multiple of 16), the
 * rest zeroed: the same program moving the memory rcgc's moves.  clients_rcgc prints its
 * own figure (node_bytes), which this one's must equal.
 */
#include "clients.h"

#include <gc/gc.h>

typedef struct BT { struct BT *l, *r; } BT;
typedef struct BTC { struct BTC *l, *r, *parent; } BTC;
typedef struct GCB { struct GCB *l, *r; int i, j; } GCB;

#ifdef RCGC_SIZES
#define SYSTEM "boehm-sized"
static size_t node_size(size_t n, size_t fields, size_t payload) {
  (void)n;
  size_t end = 32 + 8 * fields;
  if (payload) end = (payload > 31 ? 16 : 0) + ((end + 15) & ~(size_t)15) + payload;
  /* One byte less: Boehm adds one to each request (so that a pointer just
   * past the end still points into the object; GC_size shows it). */
  return ((end + 15) & ~(size_t)15) - 1;
}
#else
#define SYSTEM "boehm"
static size_t node_size(size_t n, size_t fields, size_t payload) {
  (void)fields;
  (void)payload;
  return n;
}
#endif

/* A node of n bytes, which rcgc makes with `fields` fields and `payload`
 * bytes of payload. */
static void *gmalloc(size_t n, size_t fields, size_t payload) {
  void *p = GC_MALLOC(node_size(n, fields, payload)); /* zeroed */
  if (!p) {
    fprintf(stderr, "GC_MALLOC failed\n");
    exit(1);
  }
  return p;
}

static void *bt_make(int d) {
  BT *l = NULL, *r = NULL;
  if (d > 0) {
    l = bt_make(d - 1);
    r = bt_make(d - 1);
  }
  BT *t = gmalloc(sizeof *t, 2, 0);
  t->l = l;
  t->r = r;
  return t;
}

static long bt_check(void *p) {
  BT *t = p;
  return t->l ? 1 + bt_check(t->l) + bt_check(t->r) : 1;
}

static void bt_drop(void *t) { (void)t; }

static void *btc_make(int d) {
  BTC *l = NULL, *r = NULL;
  if (d > 0) {
    l = btc_make(d - 1);
    r = btc_make(d - 1);
  }
  BTC *t = gmalloc(sizeof *t, 3, 0);
  t->l = l;
  t->r = r;
  if (l) l->parent = r->parent = t;
  return t;
}

static long btc_check(void *p) {
  BTC *t = p;
  return t->l ? 1 + btc_check(t->l) + btc_check(t->r) : 1;
}

static void btc_drop(void *t) { (void)t; }

static void *gcb_leaf(void) { return gmalloc(sizeof(GCB), 2, 2 * sizeof(int)); }

static void *gcb_node(void *l, void *r) {
  GCB *t = gcb_leaf();
  t->l = l;
  t->r = r;
  return t;
}

static void gcb_populate(int d, void *p) {
  GCB *t = p;
  if (d <= 0) return;
  d--;
  t->l = gcb_leaf();
  t->r = gcb_leaf();
  gcb_populate(d, t->l);
  gcb_populate(d, t->r);
}

static long gcb_check(void *p) {
  GCB *t = p;
  return t->l ? 1 + gcb_check(t->l) + gcb_check(t->r) : 1;
}

static void gcb_drop(void *t) { (void)t; }

static uint64_t g_start_clock, g_start_wall, g_total, g_max;
static size_t g_count;

static void on_event(GC_EventType ev) {
  if (ev == GC_EVENT_START) {
    g_start_wall = wall_ns();
    g_start_clock = now_ns();
  } else if (ev == GC_EVENT_END) {
    g_total += now_ns() - g_start_clock;
    uint64_t d = wall_ns() - g_start_wall;
    if (d > g_max) g_max = d;
    g_count++;
  }
}

static void sys_init(void) {
  GC_INIT();
  GC_set_on_collection_event(on_event);
}

static void sys_report(double total, double nodes) {
  emit_gc(total, nodes, (double)g_total, (double)g_max);
  emit("collections_gen2", (double)g_count);
}

/* The size Boehm gives the object (GC_size). */
static double sys_node_bytes(void *(*leaf)(void), void (*drop)(void *)) {
  void *p = leaf();
  double bytes = (double)GC_size(p);
  drop(p);
  return bytes;
}

int main(int argc, char **argv) { return clients_main(argc, argv, SYSTEM); }
