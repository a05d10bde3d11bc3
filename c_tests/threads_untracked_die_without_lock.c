#define _GNU_SOURCE
/* An untracked object with no type and no weakrefs dies without the heap
 * lock (no hook, field, list or weakref to deal with): while one thread holds
 * gc_lock, others still create and release such objects, and the memory
 * figures stay exact. Objects that need the lock (a type, weakrefs) wait for
 * it as before. */
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include "stress.h"

static atomic_int done;

static void *worker(void *arg) {
  (void)arg;
  long n = 2000 * stress_scale();
  for (long i = 0; i < n; i++) {
    GcObject *o = obj_new(0, 24);
    CHECK(o != NULL);
    memset(obj_payload(o), 0x5a, 24);
    obj_incref(o);
    obj_decref(o);
    obj_decref(o); /* dies here, without the lock */
  }
  atomic_fetch_add(&done, 1);
  return NULL;
}

static const GcType Typed = {"Typed", NULL, NULL, NULL, NULL};
static atomic_int typed_died;
static void *typed_worker(void *arg) {
  (void)arg;
  obj_decref((GcObject *)arg); /* a typed object's death takes the lock */
  atomic_store(&typed_died, 1);
  return NULL;
}

int main(void) {
  GcObject *typed = obj_new_typed(&Typed, 0, 8);
  gc_lock();
  pthread_t t[2];
  for (int i = 0; i < 2; i++) CHECK_EQ(pthread_create(&t[i], NULL, worker, NULL), 0);
  pthread_t tt;
  CHECK_EQ(pthread_create(&tt, NULL, typed_worker, typed), 0);
  /* Up to 60 s for the untracked deaths to finish while we hold the lock. */
  for (int waited = 0; atomic_load(&done) < 2 && waited < 60000; waited++) {
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  CHECK_EQ(atomic_load(&done), 2);
  CHECK_EQ(atomic_load(&typed_died), 0); /* still waiting for the lock */
  gc_unlock();
  for (int i = 0; i < 2; i++) CHECK_EQ(pthread_join(t[i], NULL), 0);
  CHECK_EQ(pthread_join(tt, NULL), 0);
  CHECK_EQ(atomic_load(&typed_died), 1);
  GcMemStats m = gc_get_memory();
  CHECK_EQ(m.objects, 0);
  CHECK_EQ(m.bytes_in_use, 0);
  printf("threads_untracked_die_without_lock: ok\n");
  return 0;
}
