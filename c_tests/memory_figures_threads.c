/* gc_get_memory stays exact across threads once they are quiet: untracked
 * objects made and freed by several threads (counted per thread, without
 * the heap lock, once the lock's bias is revoked), objects of exited
 * threads freed by the main thread, more than a share's flush threshold
 * (64 KiB) on one thread, and threads started one after the other (which
 * reuse the shares of exited ones). An untracked object with a 16-byte
 * payload takes 48 bytes. */
#include "check.h"

#include <pthread.h>

#define THREADS 4
#define PER_THREAD 5000 /* 320,000 bytes: several flushes each */
#define KEPT 1000

static GcObject *kept[THREADS][KEPT];

static void *worker(void *arg) {
  GcObject **mine = arg;
  GcObject *tmp[PER_THREAD];
  for (int i = 0; i < PER_THREAD; i++) tmp[i] = obj_new(0, 16);
  for (int i = 0; i < PER_THREAD; i++) {
    CHECK(tmp[i] != NULL);
    if (i < KEPT)
      mine[i] = tmp[i];
    else
      obj_decref(tmp[i]);
  }
  return NULL;
}

static void run(int threads, int one_after_another) {
  pthread_t t[THREADS];
  for (int i = 0; i < threads; i++) {
    CHECK_EQ(pthread_create(&t[i], NULL, worker, kept[i]), 0);
    if (one_after_another) CHECK_EQ(pthread_join(t[i], NULL), 0);
  }
  if (!one_after_another)
    for (int i = 0; i < threads; i++) CHECK_EQ(pthread_join(t[i], NULL), 0);
}

static void release_kept(int threads) {
  for (int i = 0; i < threads; i++)
    for (int k = 0; k < KEPT; k++) obj_decref(kept[i][k]);
}

int main(void) {
  GcMemStats base = gc_get_memory();

  /* The main thread holds one object, so the bias exists before the
   * workers revoke it. */
  GcObject *mine = obj_new(0, 16);
  CHECK_EQ(gc_get_memory().objects, base.objects + 1);

  run(THREADS, 0);
  GcMemStats m = gc_get_memory();
  CHECK_EQ(m.objects, base.objects + 1 + THREADS * KEPT);
  CHECK_EQ(m.bytes_in_use, base.bytes_in_use + 48 * (1 + THREADS * KEPT));
  CHECK(m.peak_bytes_in_use >= m.bytes_in_use);
  CHECK(m.bytes_reserved >= m.bytes_in_use);

  /* Objects of exited threads, freed here. */
  release_kept(THREADS);
  m = gc_get_memory();
  CHECK_EQ(m.objects, base.objects + 1);
  CHECK_EQ(m.bytes_in_use, base.bytes_in_use + 48);

  /* Threads one after the other: the shares of exited threads are taken
   * again, with what they hold. */
  for (int round = 0; round < 3; round++) {
    run(THREADS, 1);
    m = gc_get_memory();
    CHECK_EQ(m.objects, base.objects + 1 + THREADS * KEPT);
    release_kept(THREADS);
  }

  obj_decref(mine);
  m = gc_get_memory();
  CHECK_EQ(m.objects, base.objects);
  CHECK_EQ(m.tracked, base.tracked);
  CHECK_EQ(m.bytes_in_use, base.bytes_in_use);
  return 0;
}
