/* obj_get_field and obj_set_field take no lock on threads that do not own
 * the counts: readers take references to the values of a shared object's
 * fields while writers replace those values, each replaced value dying at
 * once (its field held its only reference), tracked and untracked, while
 * collections run. A reader that read a value just before it was replaced
 * either gets a reference to it before it dies or goes to the locked path;
 * the dead value's memory is kept until no reader can be looking at it
 * (under valgrind and ASan a read of freed memory fails the test). Every
 * value a reader gets is intact, and in the end every object is gone. */
#include <stdatomic.h>
#include <string.h>
#include "stress.h"

enum { SLOTS = 8, PAYLOAD = 16, WRITERS = 2, READERS = 2 };

static GcObject *hub;
static atomic_int writers_left = WRITERS;

static GcObject *value(long k) {
  /* Untracked (no fields: dies without the lock) or tracked. */
  GcObject *v = (k & 1) ? obj_new(0, PAYLOAD) : obj_new(1, PAYLOAD);
  CHECK(v != NULL);
  memset(obj_payload(v), 0xa5, PAYLOAD);
  return v;
}

static void *writer(void *arg) {
  long id = (long)arg, n = 20000 * stress_scale();
  for (long k = 0; k < n; k++) {
    GcObject *v = value(k + id);
    CHECK_EQ(obj_set_field(hub, (size_t)((k + id) % SLOTS), v), GC_OK);
    obj_decref(v); /* the field holds the only reference now */
  }
  atomic_fetch_sub(&writers_left, 1);
  return NULL;
}

static void *reader(void *arg) {
  long id = (long)arg, got = 0;
  for (long k = 0; atomic_load(&writers_left) > 0; k++) {
    GcObject *v = obj_get_field(hub, (size_t)((k + id) % SLOTS));
    if (v == NULL) continue;
    const unsigned char *p = obj_payload(v);
    for (int i = 0; i < PAYLOAD; i++) CHECK_EQ(p[i], 0xa5);
    obj_decref(v); /* may be the last reference: the value dies here */
    got++;
    if (k % 5000 == id) gc_collect();
  }
  return (void *)got;
}

int main(void) {
  hub = obj_new(SLOTS, 0);
  CHECK(hub != NULL);
  pthread_t w[WRITERS], r[READERS];
  for (long i = 0; i < READERS; i++) CHECK_EQ(pthread_create(&r[i], NULL, reader, (void *)i), 0);
  for (long i = 0; i < WRITERS; i++) CHECK_EQ(pthread_create(&w[i], NULL, writer, (void *)i), 0);
  for (int i = 0; i < WRITERS; i++) CHECK_EQ(pthread_join(w[i], NULL), 0);
  long got = 0;
  for (int i = 0; i < READERS; i++) {
    void *n;
    CHECK_EQ(pthread_join(r[i], &n), 0);
    got += (long)n;
  }
  for (size_t i = 0; i < SLOTS; i++) CHECK_EQ(obj_set_field(hub, i, NULL), GC_OK);
  obj_decref(hub);
  gc_collect();
  GcMemStats m = gc_get_memory();
  CHECK_EQ(m.objects, 0);
  CHECK_EQ(m.bytes_in_use, 0);
  printf("threads_get_field_races_deaths: ok (%ld values read)\n", got);
  return 0;
}
