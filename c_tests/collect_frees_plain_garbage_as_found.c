/* Garbage whose objects have no type and no weakrefs is released and freed
 * by the collector in the pass that finds it (gc/scan.rs free_passed).
 * Every shape here puts a member's last reference in another member the
 * pass meets first or later, in both allocation orders; each collection
 * must count exactly the cycle members, leave nothing behind (live object
 * counts), and release what the garbage held outside itself: a live object
 * gets its count back, an untracked object held only by the garbage dies
 * by reference counting (not counted as collected, as in CPython), an old
 * object keeps its count right. */
#include "check.h"

static int destroyed;
static void on_destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType Held = {"Held", NULL, NULL, NULL, on_destroy};

static size_t live(void) { return gc_get_memory().objects; }

/* A ring of n plain objects, field 0 to the next; made first to last or
 * last to first. The ring is garbage once the caller drops `keep`. */
static GcObject *ring(size_t n, int backward, size_t fields) {
  GcObject **o = calloc(n, sizeof *o);
  CHECK(o != NULL);
  for (size_t i = 0; i < n; i++) {
    size_t k = backward ? n - 1 - i : i;
    o[k] = obj_new(fields, 0);
    CHECK(o[k] != NULL);
  }
  for (size_t i = 0; i < n; i++) CHECK_EQ(obj_set_field(o[i], 0, o[(i + 1) % n]), GC_OK);
  GcObject *keep = o[0];
  for (size_t i = 1; i < n; i++) obj_decref(o[i]);
  free(o);
  return keep;
}

/* A tree of plain nodes made children first, each child holding its
 * parent in field 2 (cyclic binary-trees' node). */
static GcObject *tree(int depth) {
  GcObject *n = obj_new(3, 0);
  CHECK(n != NULL);
  if (depth > 0) {
    GcObject *l = tree(depth - 1), *r = tree(depth - 1);
    CHECK_EQ(obj_set_field(n, 0, l), GC_OK);
    CHECK_EQ(obj_set_field(n, 1, r), GC_OK);
    CHECK_EQ(obj_set_field(l, 2, n), GC_OK);
    CHECK_EQ(obj_set_field(r, 2, n), GC_OK);
    obj_decref(l);
    obj_decref(r);
  }
  return n;
}

int main(void) {
  gc_disable(); /* only the explicit collections below run */
  gc_collect();
  size_t base = live();

  /* A self-loop, a two-cycle, rings made in both orders. */
  GcObject *self = obj_new(1, 0);
  CHECK_EQ(obj_set_field(self, 0, self), GC_OK);
  obj_decref(self);
  CHECK_EQ(gc_collect(), 1);
  CHECK_EQ(live(), base);
  for (int backward = 0; backward < 2; backward++) {
    for (size_t n = 2; n <= 1000; n *= 10) {
      obj_decref(ring(n, backward, 1));
      CHECK_EQ(gc_collect(), n);
      CHECK_EQ(live(), base);
    }
  }

  /* Each member also holds the member after next: two holders each. */
  GcObject *r = ring(64, 1, 2);
  GcObject *x = r;
  for (int i = 0; i < 64; i++) {
    GcObject *next = obj_borrow_field(x, 0);
    CHECK_EQ(obj_set_field(x, 1, obj_borrow_field(next, 0)), GC_OK);
    x = next;
  }
  obj_decref(r);
  CHECK_EQ(gc_collect(), 64);
  CHECK_EQ(live(), base);

  /* Every member holds every member (itself too): each waits for all the
   * others, most of them below others on the pass's stack. */
  enum { K = 8 };
  GcObject *k[K];
  for (int i = 0; i < K; i++) CHECK((k[i] = obj_new(K, 0)) != NULL);
  for (int i = 0; i < K; i++)
    for (int j = 0; j < K; j++) CHECK_EQ(obj_set_field(k[i], (size_t)j, k[(i + j) % K]), GC_OK);
  for (int i = 0; i < K; i++) obj_decref(k[i]);
  CHECK_EQ(gc_collect(), K);
  CHECK_EQ(live(), base);

  /* Trees with parent links, young and then old (a full collection made
   * them old, the drop of the root makes it dirty). */
  obj_decref(tree(10));
  CHECK_EQ(gc_collect(), 2047);
  CHECK_EQ(live(), base);
  GcObject *t = tree(10);
  CHECK_EQ(gc_collect(), 0);
  obj_decref(t);
  CHECK_EQ(gc_collect(), 2047);
  CHECK_EQ(live(), base);

  /* Garbage holding objects outside the cycle: a live one (its count comes
   * back), an untracked one held only by the garbage (dies by reference
   * counting: not counted), and a tracked chain held only by the garbage
   * (garbage itself: counted, as CPython counts it). */
  GcObject *kept = obj_new(0, 0);
  GcObject *held = obj_new_typed(&Held, 0, 0);
  GcObject *chain = obj_new(1, 0);
  GcObject *link = obj_new(0, 0);
  CHECK_EQ(obj_set_field(chain, 0, link), GC_OK);
  obj_decref(link);
  GcObject *c = ring(5, 1, 2);
  CHECK_EQ(obj_set_field(c, 1, kept), GC_OK);
  GcObject *c3 = obj_get_field(obj_borrow_field(c, 0), 0);
  CHECK_EQ(obj_set_field(c3, 1, held), GC_OK);
  CHECK_EQ(obj_set_field(obj_borrow_field(c3, 0), 1, chain), GC_OK);
  obj_decref(c3);
  obj_decref(held);
  obj_decref(chain);
  CHECK_EQ(obj_refcount(kept), 2);
  obj_decref(c);
  CHECK_EQ(destroyed, 0);
  CHECK_EQ(gc_collect(), 6);
  CHECK_EQ(destroyed, 1);
  CHECK_EQ(obj_refcount(kept), 1);
  CHECK_EQ(live(), base + 1);

  /* The same with the outside object old: it stays, with its count. */
  CHECK_EQ(gc_collect(), 0);
  GcObject *c2 = ring(7, 0, 2);
  CHECK_EQ(obj_set_field(c2, 1, kept), GC_OK);
  obj_decref(c2);
  CHECK_EQ(gc_collect(), 7);
  CHECK_EQ(obj_refcount(kept), 1);
  obj_decref(kept);
  CHECK_EQ(live(), base);

  /* Plain garbage next to typed garbage in one collection (the typed one
   * takes the usual teardown, so does the rest). */
  GcObject *a = obj_new_typed(&Held, 1, 0);
  GcObject *b = obj_new_typed(&Held, 1, 0);
  CHECK_EQ(obj_set_field(a, 0, b), GC_OK);
  CHECK_EQ(obj_set_field(b, 0, a), GC_OK);
  obj_decref(a);
  obj_decref(b);
  obj_decref(ring(10, 0, 1));
  destroyed = 0;
  CHECK_EQ(gc_collect(), 12);
  CHECK_EQ(destroyed, 2);
  CHECK_EQ(live(), base);

  /* An automatic collection frees plain garbage too. */
  gc_enable();
  for (int i = 0; i < 2000; i++) obj_decref(ring(3, i & 1, 1));
  gc_disable();
  gc_collect();
  CHECK_EQ(live(), base);
  printf("collect_frees_plain_garbage_as_found: rings, trees and what garbage holds: ok\n");
  return 0;
}
