/* Shared by the threaded scenarios: RCGC_STRESS_SCALE (default 10) scales
 * iteration counts; CI's valgrind pass sets 1. */
#ifndef RCGC_STRESS_H
#define RCGC_STRESS_H
#include <pthread.h>
#include <stdlib.h>
#include "check.h"

static inline long stress_scale(void) {
  const char *s = getenv("RCGC_STRESS_SCALE");
  long v = s ? atol(s) : 10;
  return v > 0 ? v : 1;
}

/* Starts `n` threads running `fn(index)` and joins them. */
static inline void run_threads(int n, void *(*fn)(void *)) {
  pthread_t t[16];
  CHECK(n <= 16);
  for (long i = 0; i < n; i++) CHECK_EQ(pthread_create(&t[i], NULL, fn, (void *)i), 0);
  for (int i = 0; i < n; i++) CHECK_EQ(pthread_join(t[i], NULL), 0);
}
#endif
