/* Collections of a heap whose references all point to older objects (a
 * tree built children first, as binary-trees builds it), or all to newer
 * ones. The library proves that such members hold no cycle and skips the
 * scan (src/order.rs); what the collections do must not change: nothing
 * found, survivors promoted, and the long-lived figures exact; and a cycle
 * is found whichever way its references were stored. Here: a full
 * collection with no scan
 * counts in long_lived_total the old objects that lost a reference since
 * the last one (they are still alive), so the 25% rule picks the same
 * generations as after a scan. With RCGC_BIAS=0 every collection scans,
 * and the figures are the same. */
#include "automatic.h"

static GcObject *nodes[255];
static int made;

/* A tree of depth d, children first; every node also kept in nodes[]
 * (borrowed). */
static GcObject *build(int d) {
  GcObject *l = d > 0 ? build(d - 1) : NULL, *r = d > 0 ? build(d - 1) : NULL;
  GcObject *t = obj_new(2, 0);
  CHECK(t != NULL);
  nodes[made++] = t;
  CHECK_EQ(obj_set_field(t, 0, l), GC_OK);
  CHECK_EQ(obj_set_field(t, 1, r), GC_OK);
  obj_decref(l);
  obj_decref(r);
  return t;
}

/* Promotes `n` new objects into generation 2 (pending += n), makes count2
 * exceed threshold 1, and returns the generation the next automatic
 * collection picks. The new objects stay alive (returned in `keep`). */
static int next_automatic(int n, GcObject **keep) {
  gc_disable();
  for (int i = 0; i < n; i++) keep[i] = obj_new(1, 0);
  gc_collect_generation(1);
  gc_collect_generation(1);
  CHECK(gc_get_count().count2 >= 2);
  return next_automatic_generation();
}

/* A cycle of two objects made before the last two, linked by stores that
 * involve neither of those: the order says nothing about them. */
static void cycle_among_older_objects(void) {
  gc_collect();
  GcObject *x = obj_new(1, 0), *y = obj_new(1, 0);
  GcObject *later[2] = {obj_new(1, 0), obj_new(1, 0)};
  CHECK_EQ(obj_set_field(x, 0, y), GC_OK);
  CHECK_EQ(obj_set_field(y, 0, x), GC_OK);
  obj_decref(x);
  obj_decref(y);
  CHECK_EQ(gc_collect_generation(0), 2);
  obj_decref(later[0]);
  obj_decref(later[1]);
}

/* A parent made first, each child stored in it as it is made (forward
 * references only), then a cycle of a newer object and an older one. */
static void forward_tree_then_cycle(void) {
  gc_collect();
  GcObject *parent = obj_new(8, 0);
  for (int i = 0; i < 8; i++) {
    GcObject *c = obj_new(1, 0);
    CHECK_EQ(obj_set_field(parent, (size_t)i, c), GC_OK);
    obj_decref(c);
  }
  CHECK_EQ(gc_collect_generation(0), 0);
  GcObject *a = obj_new(1, 0), *b = obj_new(1, 0);
  CHECK_EQ(obj_set_field(a, 0, b), GC_OK); /* forward */
  CHECK_EQ(obj_set_field(b, 0, a), GC_OK); /* back */
  obj_decref(a);
  obj_decref(b);
  CHECK_EQ(gc_collect_generation(0), 2);
  obj_decref(parent);
}

int main(void) {
  cycle_among_older_objects();
  forward_tree_then_cycle();
  gc_disable();
  gc_set_threshold(5, 100, 1);
  gc_callback_add(record_generation, NULL);
  GcObject *root = build(7);
  CHECK_EQ(made, 255);
  CHECK_EQ(gc_collect(), 0); /* long_lived_total = 255 */
  /* 100 old nodes lose a reference and stay alive. */
  for (int i = 0; i < 100; i++) {
    obj_incref(nodes[i]);
    obj_decref(nodes[i]);
  }
  CHECK_EQ(gc_collect(), 0); /* still 255 survivors: long_lived_total = 255 */
  CHECK_EQ(gc_get_stats(2).collected, 0);

  /* pending 62 < 255 / 4 = 63: the full collection is skipped. (Counting
   * only the 155 nodes that kept OLD, 62 >= 38 would pick it.) */
  GcObject *promoted[63];
  CHECK(next_automatic(62, promoted) != 2);
  /* One more: 63 >= 63, a full collection. */
  CHECK_EQ(next_automatic(1, promoted + 62), 2);

  for (int i = 0; i < 63; i++) obj_decref(promoted[i]);
  obj_decref(root);
  CHECK_EQ(gc_collect(), 0);
  GcMemStats m = gc_get_memory();
  CHECK_EQ(m.tracked, 0);
  return 0;
}
