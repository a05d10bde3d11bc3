/* Four threads build and drop cyclic garbage (and keep some live
 * structures) while collecting, explicitly and automatically: every object
 * is destroyed exactly once, nothing live is freed, and a final collection
 * leaves nothing behind. */
#include <stdatomic.h>
#include "stress.h"

static atomic_long created, destroyed;
static void destroy(GcObject *self) {
  CHECK_EQ(*(long *)obj_payload(self), 0x600d);
  *(long *)obj_payload(self) = 0xdead;
  atomic_fetch_add(&destroyed, 1);
}
static const GcType Node = {"Node", NULL, NULL, NULL, destroy};

static GcObject *node(void) {
  GcObject *o = obj_new_typed(&Node, 2, sizeof(long));
  CHECK(o != NULL);
  *(long *)obj_payload(o) = 0x600d;
  atomic_fetch_add(&created, 1);
  return o;
}

static void *worker(void *arg) {
  long id = (long)arg, rounds = 200 * stress_scale();
  GcObject *keep = node(); /* a live ring this thread keeps and checks */
  GcObject *tail = node();
  obj_set_field(keep, 0, tail);
  obj_set_field(tail, 0, keep);
  obj_decref(tail);
  for (long r = 0; r < rounds; r++) {
    GcObject *a = node(), *b = node(), *c = node();
    obj_set_field(a, 0, b);
    obj_set_field(b, 0, c);
    obj_set_field(c, 0, a);
    obj_set_field(c, 1, keep); /* garbage pointing into live data */
    obj_decref(a);
    obj_decref(b);
    obj_decref(c);
    if (r % 50 == (id * 7) % 50) gc_collect_generation((int)(r % 3));
    GcObject *t = obj_borrow_field(keep, 0);
    CHECK(obj_borrow_field(t, 0) == keep); /* the live ring is intact */
    CHECK_EQ(*(long *)obj_payload(t), 0x600d);
  }
  obj_decref(keep);
  return NULL;
}

int main(void) {
  gc_set_threshold(100, 5, 5);
  run_threads(4, worker);
  gc_collect();
  CHECK_EQ(atomic_load(&destroyed), atomic_load(&created));
  GcCounts c = gc_get_count();
  CHECK_EQ(c.count0, 0);
  printf("threads_cyclic_garbage: %ld objects, each destroyed once\n", atomic_load(&created));
  return 0;
}
