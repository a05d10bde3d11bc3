/* While one thread holds gc_lock(), another thread's weakref_get on a live
 * target that nobody is collecting must complete (API.md v2): 10^5 calls,
 * after many objects with weakrefs were freed, so the deferred releases of
 * their memory are due while the reader works. The main thread holds the
 * lock and waits up to 20 s for the reader; on failure it reports and exits
 * 1 instead of hanging. RCGC_STRESS_SCALE scales the freed objects. */
#include <stdatomic.h>
#include <time.h>
#include "stress.h"

#define GETS 100000
static GcObject *target, *wr;
static atomic_long done_gets;
static atomic_int finished;

static void *reader(void *arg) {
  (void)arg;
  for (long i = 0; i < GETS; i++) {
    GcObject *t = weakref_get(wr);
    CHECK(t == target);
    obj_decref(t);
    atomic_store(&done_gets, i + 1);
  }
  atomic_store(&finished, 1);
  return NULL;
}

static void *churn(void *arg) {
  (void)arg;
  /* Objects with weakrefs, freed on this thread: their memory is released
   * through deferred work that the reader's weakref_get may run. */
  for (long i = 0; i < 2000 * stress_scale(); i++) {
    GcObject *o = obj_new(1, 0);
    GcObject *w = weakref_new(o, NULL, NULL);
    obj_decref(o);
    obj_decref(w);
  }
  return NULL;
}

int main(void) {
  target = obj_new(1, 0);
  wr = weakref_new(target, NULL, NULL);
  pthread_t c;
  CHECK_EQ(pthread_create(&c, NULL, churn, NULL), 0);
  CHECK_EQ(pthread_join(c, NULL), 0);
  churn(NULL);

  gc_lock();
  pthread_t r;
  CHECK_EQ(pthread_create(&r, NULL, reader, NULL), 0);
  struct timespec ms = {0, 1000000};
  for (int waited = 0; !atomic_load(&finished); waited++) {
    if (waited == 20000) {
      fprintf(stderr, "weakref_get waited for gc_lock: %ld of %d calls done in 20 s\n",
              atomic_load(&done_gets), GETS);
      exit(1);
    }
    nanosleep(&ms, NULL);
  }
  gc_unlock();
  CHECK_EQ(pthread_join(r, NULL), 0);
  obj_decref(wr);
  obj_decref(target);
  printf("weakref_get_never_waits_for_gc_lock: %d calls while gc_lock was held\n", GETS);
  return 0;
}
