/* One obj_decref releasing a chain of 10^7 nodes must not overflow the
 * stack: on the main thread and on a thread with a 64 KiB stack.
 * RCGC_CHAIN overrides the length (valgrind runs use a shorter chain). */
#include <pthread.h>
#include <stdlib.h>
#include "check.h"

static long destroyed;
static void destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType Link = {"Link", NULL, NULL, NULL, destroy};

static long chain_length(void) {
  const char *env = getenv("RCGC_CHAIN");
  return env ? atol(env) : 10000000L;
}

static void *release_chain(void *arg) {
  (void)arg;
  long n = chain_length();
  GcObject *head = obj_new_typed(&Link, 1, 0);
  GcObject *tail = head;
  obj_incref(tail);
  for (long i = 1; i < n; i++) {
    GcObject *next = obj_new_typed(&Link, 1, 0);
    CHECK(next != NULL);
    obj_set_field(tail, 0, next);
    obj_decref(tail);
    tail = next;
  }
  obj_decref(tail);
  destroyed = 0;
  obj_decref(head); /* one call frees all n nodes */
  CHECK_EQ(destroyed, n);
  return NULL;
}

int main(void) {
  gc_disable(); /* the chain is acyclic: keep the collector out of the timing */
  release_chain(NULL);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  CHECK_EQ(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
  pthread_t t;
  CHECK_EQ(pthread_create(&t, &attr, release_chain, NULL), 0);
  CHECK_EQ(pthread_join(t, NULL), 0);
  pthread_attr_destroy(&attr);
  printf("deep_chain: released %ld nodes twice (main stack, 64 KiB stack)\n",
         chain_length());
  return 0;
}
