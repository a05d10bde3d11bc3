/* The client programs (clients.h) on the Boehm-Demers-Weiser collector
 * (Debian libgc-dev), default settings: nodes from GC_MALLOC, trees simply
 * dropped.  Time in collections from GC_set_on_collection_event
 * (START/END); every Boehm collection is a full one.
 */
#include "clients.h"

#include <gc/gc.h>

typedef struct BT { struct BT *l, *r; } BT;
typedef struct BTC { struct BTC *l, *r, *parent; } BTC;
typedef struct GCB { struct GCB *l, *r; int i, j; } GCB;

static void *gmalloc(size_t n) {
  void *p = GC_MALLOC(n); /* zeroed */
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
  BT *t = gmalloc(sizeof *t);
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
  BTC *t = gmalloc(sizeof *t);
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

static void *gcb_leaf(void) { return gmalloc(sizeof(GCB)); }

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

int main(int argc, char **argv) { return clients_main(argc, argv, "boehm"); }
