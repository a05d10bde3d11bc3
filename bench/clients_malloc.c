/* The client programs (clients.h) with malloc/free: the floor, a program
 * that knows when each node dies.  Trees are freed by hand with a walk
 * (BTC's back edges are ignored by it).  One struct and one check/free
 * function per node type, and malloc rather than calloc, so that the
 * compiler cannot merge or drop the allocations it is meant to pay for.
 */
#include "clients.h"

#include <malloc.h>

typedef struct BT { struct BT *l, *r; } BT;
typedef struct BTC { struct BTC *l, *r, *parent; } BTC;
typedef struct GCB { struct GCB *l, *r; int i, j; } GCB;

static void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (!p) {
    perror("malloc");
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
  BT *t = xmalloc(sizeof *t);
  t->l = l;
  t->r = r;
  return t;
}

static long bt_check(void *p) {
  BT *t = p;
  return t->l ? 1 + bt_check(t->l) + bt_check(t->r) : 1;
}

static void bt_drop(void *p) {
  BT *t = p;
  if (t->l) {
    bt_drop(t->l);
    bt_drop(t->r);
  }
  free(t);
}

static void *btc_make(int d) {
  BTC *l = NULL, *r = NULL;
  if (d > 0) {
    l = btc_make(d - 1);
    r = btc_make(d - 1);
  }
  BTC *t = xmalloc(sizeof *t);
  t->l = l;
  t->r = r;
  t->parent = NULL;
  if (l) l->parent = r->parent = t;
  return t;
}

static long btc_check(void *p) {
  BTC *t = p;
  return t->l ? 1 + btc_check(t->l) + btc_check(t->r) : 1;
}

static void btc_drop(void *p) {
  BTC *t = p;
  if (t->l) {
    btc_drop(t->l);
    btc_drop(t->r);
  }
  free(t);
}

static void *gcb_leaf(void) {
  GCB *t = xmalloc(sizeof *t);
  t->l = t->r = NULL;
  t->i = t->j = 0;
  return t;
}

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

static void gcb_drop(void *p) {
  GCB *t = p;
  if (t->l) {
    gcb_drop(t->l);
    gcb_drop(t->r);
  }
  free(t);
}

static void sys_init(void) {}

/* The chunk glibc takes: the usable size and its 8-byte size word. */
static double sys_node_bytes(void *(*leaf)(void), void (*drop)(void *)) {
  void *p = leaf();
  double bytes = (double)(malloc_usable_size(p) + sizeof(size_t));
  drop(p);
  return bytes;
}
/* No collector: all of the time is the program's. */
static void sys_report(double total, double nodes) { emit("mutator_ns_per_node", total / nodes); }

int main(int argc, char **argv) { return clients_main(argc, argv, "malloc"); }
