/* Objects made by threads that do not hold the heap lock's bias join
 * generation 0 through lists of their own (a lane per thread, so that
 * linking a new object writes only that thread's objects): every walk,
 * collection and freeze still sees them as generation 0. Two threads each
 * make a live object, a cycle that is garbage, and an object held only by
 * a field of the main thread's object; then the main thread visits
 * generation 0, finds the referrer, collects generation 0 (the cycles, and
 * nothing else), and freezes what is left. */
#include "introspect.h" /* first: it defines _GNU_SOURCE */

#include <pthread.h>

typedef struct {
  GcObject *holder; /* the main thread's, field i gets this thread's object */
  int i;
  GcObject *live;   /* returned: a new reference */
  GcObject *cycle;  /* returned: borrowed, garbage once the thread ends */
} Work;

static void *make(void *p) {
  Work *w = p;
  w->live = obj_new(2, 0);
  GcObject *a = obj_new(1, 0), *b = obj_new(1, 0);
  obj_set_field(a, 0, b);
  obj_set_field(b, 0, a);
  obj_decref(b);
  obj_decref(a);
  w->cycle = a;
  GcObject *held = obj_new(1, 0);
  obj_set_field(w->holder, w->i, held);
  obj_decref(held);
  return NULL;
}

static int holds(GcObject *o, void *ctx) { return o == ctx ? 1 : 0; }

int main(void) {
  gc_disable();
  GcObject *holder = obj_new(2, 0); /* this thread takes the bias */
  Work w[2] = {{holder, 0, NULL, NULL}, {holder, 1, NULL, NULL}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++) CHECK_EQ(pthread_create(&t[i], NULL, make, &w[i]), 0);
  for (int i = 0; i < 2; i++) CHECK_EQ(pthread_join(t[i], NULL), 0);

  /* holder, and per thread: live, the cycle's 2, held */
  CHECK_EQ(gc_get_count().count0, 9);
  Seen s = seen_none();
  CHECK_EQ(gc_visit_objects(0, record, &s), GC_OK);
  CHECK_EQ(s.n, 9);
  for (int i = 0; i < 2; i++) {
    int found = 0;
    for (int k = 0; k < s.n; k++) found += s.o[k] == w[i].live || s.o[k] == w[i].cycle;
    CHECK_EQ(found, 2);
    GcObject *held = obj_borrow_field(holder, i);
    CHECK_EQ(gc_get_referrers(held, holds, holder), 1);
  }

  CHECK_EQ(gc_collect_generation(0), 4); /* both cycles */
  s = seen_none();
  CHECK_EQ(gc_visit_objects(0, record, &s), GC_OK);
  CHECK_EQ(s.n, 0);
  s = seen_none();
  CHECK_EQ(gc_visit_objects(1, record, &s), GC_OK);
  CHECK_EQ(s.n, 5);

  /* New objects of another thread, then a freeze: all of them frozen. */
  Work more = {holder, 0, NULL, NULL};
  CHECK_EQ(pthread_create(&t[0], NULL, make, &more), 0);
  CHECK_EQ(pthread_join(t[0], NULL), 0);
  gc_freeze();
  /* the 5 of generation 1 and the 4 new ones, less the object field 0 of
   * the holder held until the new thread replaced it */
  CHECK_EQ(gc_get_freeze_count(), 5 + 4 - 1);
  gc_unfreeze();
  CHECK_EQ(gc_collect(), 2); /* the last thread's cycle */

  for (int i = 0; i < 2; i++) obj_decref(w[i].live);
  obj_decref(more.live);
  obj_decref(holder);
  CHECK_EQ(gc_collect(), 0);
  printf("threads_young_lanes: ok\n");
  return 0;
}
