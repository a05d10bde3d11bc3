#define _GNU_SOURCE
/* One shared object incref'd and decref'd by every thread (lock-free on
 * the common path) ends at the exact count and is freed exactly once, by
 * whichever thread drops the last reference. */
#include <stdatomic.h>
#include "stress.h"

static atomic_int destroyed;
static void destroy(GcObject *self) { (void)self; atomic_fetch_add(&destroyed, 1); }
static const GcType Shared = {"Shared", NULL, NULL, NULL, destroy};
static GcObject *shared;
static pthread_barrier_t start;

static void *worker(void *arg) {
  (void)arg;
  long n = 20000 * stress_scale();
  pthread_barrier_wait(&start);
  for (long i = 0; i < n; i++) {
    obj_incref(shared);
    if (i % 3 == 0) {
      obj_incref(shared);
      obj_decref(shared);
    }
    obj_decref(shared);
  }
  obj_decref(shared); /* each thread owned one reference */
  return NULL;
}

int main(void) {
  enum { THREADS = 4 };
  shared = obj_new_typed(&Shared, 1, 0);
  for (int i = 0; i < THREADS - 1; i++) obj_incref(shared);
  CHECK_EQ(obj_refcount(shared), THREADS);
  pthread_barrier_init(&start, NULL, THREADS);
  run_threads(THREADS, worker);
  pthread_barrier_destroy(&start);
  CHECK_EQ(atomic_load(&destroyed), 1);
  printf("threads_shared_refcount: freed exactly once\n");
  return 0;
}
