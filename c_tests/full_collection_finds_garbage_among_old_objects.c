/* A full collection does not scan the old objects (survivors of the last
 * full collection) that lost no reference since; it starts from those that
 * did, and what they reach. Every way an old object can be cut off must
 * still be found, with CPython's exact counts: a dropped reference (by the
 * owner thread and by another thread), a field overwritten or cleared in
 * another old object, a finalizer that resurrects its object into an old
 * object's empty field (no reference lost anywhere), and gc_unfreeze of an
 * object that held an old one. An old object that loses a reference stays
 * where it is, marked on its pool page; a ballast of old objects is left
 * out of every collection. Part 7 drops references to most of the ballast
 * (the collection takes all of it in), part 8 to a second ballast that
 * then dies (its marks go with it), part 9 cuts a cycle of objects the
 * pool does not hold (over 512 bytes: they move to the dirty list at
 * once). Part 10 drops an old cyclic tree bigger than the rest of the old
 * objects, whose leaves hold a live old chain: the walk from the dropped
 * root gives up half way and the collection takes in all of the old
 * objects instead, with the same result. An unchanged heap is collected
 * again with nothing found. */
#include <pthread.h>

#include "check.h"

static GcObject *node(void) { return obj_new(2, 0); }

/* a <-> b, the caller keeps a. */
static GcObject *pair(void) {
  GcObject *a = node(), *b = node();
  obj_set_field(a, 0, b);
  obj_set_field(b, 0, a);
  obj_decref(b);
  return a;
}

static void *drop(void *o) {
  obj_decref(o);
  return NULL;
}

static int finalized;
/* Resurrects its object by storing it in the empty field 1 of the old
 * object its field 0 holds: a new reference, and none is dropped. */
static void fin(GcObject *self) {
  finalized++;
  GcObject *child = obj_borrow_field(self, 0);
  CHECK_EQ(obj_set_field(child, 1, self), GC_OK);
}
static const GcType Resurrects = {"Resurrects", NULL, NULL, fin, NULL};

#define BALLAST 1000

/* A chain of BALLAST nodes; returns its head. */
static GcObject *ballast(void) {
  GcObject *head = node();
  for (int i = 1; i < BALLAST; i++) {
    GcObject *n = node();
    obj_set_field(n, 0, head);
    obj_decref(head);
    head = n;
  }
  return head;
}

/* Reads every node of the chain (each loses a reference). */
static int read_chain(GcObject *head) {
  int n = 0;
  obj_incref(head);
  while (head) {
    GcObject *next = obj_get_field(head, 0);
    obj_decref(head);
    head = next;
    n++;
  }
  return n;
}

/* A tree of `depth` levels of 3-field nodes (left, right, parent), built
 * children first; every leaf's field 0 holds `leaf_ref`. */
static GcObject *parent_tree(int depth, GcObject *leaf_ref) {
  GcObject *n = obj_new(3, 0);
  if (depth == 1) {
    obj_set_field(n, 0, leaf_ref);
    return n;
  }
  for (int i = 0; i < 2; i++) {
    GcObject *c = parent_tree(depth - 1, leaf_ref);
    obj_set_field(n, i, c);
    obj_set_field(c, 2, n);
    obj_decref(c);
  }
  return n;
}

int main(void) {
  gc_disable();
  GcObject *chain = ballast();
  CHECK_EQ(gc_collect(), 0);

  /* 1. The owner drops the last outside reference to an old cycle. */
  GcObject *a = pair();
  CHECK_EQ(gc_collect(), 0);
  CHECK_EQ(gc_collect(), 0); /* nothing changed */
  obj_decref(a);
  CHECK_EQ(gc_collect(), 2);

  /* 2. An old holder's field is overwritten: the old cycle it held (and
   * the old chain hanging off that cycle) is cut off. */
  GcObject *holder = node(), *c = pair();
  GcObject *tail = node(), *mid = node();
  obj_set_field(mid, 0, tail);
  obj_set_field(obj_borrow_field(c, 0), 1, mid); /* c's partner -> mid -> tail */
  obj_decref(mid);
  obj_decref(tail);
  obj_set_field(holder, 0, c);
  obj_decref(c);
  CHECK_EQ(gc_collect(), 0);
  GcObject *fresh = node();
  obj_set_field(holder, 0, fresh); /* the cycle's only outside reference goes */
  obj_decref(fresh);
  CHECK_EQ(gc_collect(), 4);

  /* 3. The same with the field cleared. */
  c = pair();
  obj_set_field(holder, 1, c);
  obj_decref(c);
  CHECK_EQ(gc_collect(), 0);
  obj_set_field(holder, 1, NULL);
  CHECK_EQ(gc_collect(), 2);
  obj_decref(holder);
  CHECK_EQ(gc_collect(), 0); /* the holder and `fresh` died by count */

  /* 4. Another thread drops the last outside reference. */
  a = pair();
  CHECK_EQ(gc_collect(), 0);
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, drop, a), 0);
  CHECK_EQ(pthread_join(t, NULL), 0);
  CHECK_EQ(gc_collect(), 2);

  /* 5. A finalizer resurrects its (old) object into an old child's empty
   * field: r <-> child is then garbage although the child lost nothing. */
  GcObject *r = obj_new_typed(&Resurrects, 2, 0), *child = node();
  obj_set_field(r, 0, child);
  obj_decref(child);
  CHECK_EQ(gc_collect(), 0);
  obj_decref(r); /* count 0: the finalizer revives r */
  CHECK_EQ(finalized, 1);
  CHECK(obj_borrow_field(child, 1) == r);
  CHECK_EQ(gc_collect(), 2);
  CHECK_EQ(finalized, 1);

  /* 6. An object made old while a frozen object held it, cut off after
   * gc_unfreeze. */
  GcObject *f = node();
  gc_freeze();
  GcObject *x = node();
  obj_set_field(f, 0, x);
  obj_set_field(x, 0, f);
  obj_decref(x);
  CHECK_EQ(gc_collect(), 0); /* x survives, held by the frozen f */
  gc_unfreeze();
  obj_decref(f);
  CHECK_EQ(gc_collect(), 2);

  /* 7. Most of the ballast loses a reference, and an old cycle is cut. */
  a = pair();
  CHECK_EQ(gc_collect(), 0);
  CHECK_EQ(read_chain(chain), BALLAST);
  obj_decref(a);
  CHECK_EQ(gc_collect(), 2);
  CHECK_EQ(gc_collect(), 0);
  obj_decref(chain);
  CHECK_EQ(gc_collect(), 0); /* the chain died by count */

  /* 8. As 7, but the objects that lost a reference die before the next
   * collection (it leaves the old objects out again). */
  chain = ballast();
  GcObject *other = ballast();
  a = pair();
  CHECK_EQ(gc_collect(), 0);
  CHECK_EQ(read_chain(other), BALLAST);
  obj_decref(other);
  obj_decref(a);
  CHECK_EQ(gc_collect(), 2);
  obj_decref(chain);
  CHECK_EQ(gc_collect(), 0);

  /* 9. An old cycle of objects the pool does not hold is cut. */
  GcObject *big = obj_new(100, 0), *big2 = obj_new(100, 0);
  obj_set_field(big, 0, big2);
  obj_set_field(big2, 0, big);
  obj_decref(big2);
  CHECK_EQ(gc_collect(), 0);
  CHECK_EQ(gc_collect(), 0);
  obj_decref(big);
  CHECK_EQ(gc_collect(), 2);

  /* 10. An old cyclic tree of 4095 nodes, whose leaves hold a live old
   * chain, loses its last outside reference. */
  GcObject *kept = ballast();
  GcObject *tree = parent_tree(12, kept);
  CHECK_EQ(gc_collect(), 0);
  CHECK_EQ(gc_collect(), 0);
  obj_decref(tree);
  CHECK_EQ(gc_collect(), 4095);
  CHECK_EQ(obj_refcount(kept), 1);
  CHECK_EQ(read_chain(kept), BALLAST);
  CHECK_EQ(gc_collect(), 0);
  obj_decref(kept);
  CHECK_EQ(gc_collect(), 0);

  /* 11. Garbage found by a full collection holds objects that survive it,
   * some the pool does not hold: releasing the garbage's references must
   * not disturb the survivors' list while the collection frees. */
  GcObject *bigs[8], *pairs[8];
  for (int i = 0; i < 8; i++) {
    /* survivors and garbage interleaved in the list, either way round */
    if (i % 4 < 2) bigs[i] = i % 2 ? obj_new(100, 0) : node();
    pairs[i] = pair();
    if (i % 4 >= 2) bigs[i] = i % 2 ? obj_new(100, 0) : node();
  }
  for (int i = 0; i < 8; i++) {
    obj_set_field(pairs[i], 1, bigs[i]);
    obj_set_field(obj_borrow_field(pairs[i], 0), 1, bigs[(i + 1) % 8]);
    obj_decref(pairs[i]);
  }
  CHECK_EQ(gc_collect(), 16);
  for (int i = 0; i < 8; i++) CHECK_EQ(obj_refcount(bigs[i]), 1);
  CHECK_EQ(gc_collect(), 0);
  for (int i = 0; i < 8; i++) obj_decref(bigs[i]);
  CHECK_EQ(gc_collect(), 0);

  CHECK_EQ(gc_get_stats(2).collected, 20 + 4095 + 16);
  printf("full_collection_finds_garbage_among_old_objects: ok\n");
  return 0;
}
