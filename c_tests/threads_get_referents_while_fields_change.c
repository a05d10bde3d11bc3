/* gc_get_referents hands its visitor borrowed references to the values of
 * an object's fields. Another thread keeps replacing those values with new
 * untracked objects (which die without the lock when replaced), yet every
 * value the visitor sees stays alive and intact while it looks at it: the
 * walk keeps other threads' field changes out until it ends. (Under
 * valgrind and ASan a read of a freed value fails the test.) */
#include <stdatomic.h>
#include <string.h>
#include "stress.h"

enum { SLOTS = 4, PAYLOAD = 32 };

static GcObject *hub;
static atomic_int writing = 1;

static void *writer(void *arg) {
  (void)arg;
  long n = 20000 * stress_scale();
  for (long k = 0; k < n; k++) {
    GcObject *v = obj_new(0, PAYLOAD);
    CHECK(v != NULL);
    memset(obj_payload(v), 0x3c, PAYLOAD);
    CHECK_EQ(obj_set_field(hub, (size_t)(k % SLOTS), v), GC_OK);
    obj_decref(v); /* the next replacement frees it */
  }
  atomic_store(&writing, 0);
  return NULL;
}

static long seen;

static int look(GcObject *r, void *ctx) {
  (void)ctx;
  /* Spend a while on each value, so a replacement would land meanwhile. */
  for (int pass = 0; pass < 20; pass++) {
    const volatile unsigned char *p = obj_payload(r);
    for (int i = 0; i < PAYLOAD; i++) CHECK_EQ(p[i], 0x3c);
  }
  seen++;
  return 0;
}

int main(void) {
  hub = obj_new(SLOTS, 0);
  CHECK(hub != NULL);
  for (size_t i = 0; i < SLOTS; i++) {
    GcObject *v = obj_new(0, PAYLOAD);
    memset(obj_payload(v), 0x3c, PAYLOAD);
    CHECK_EQ(obj_set_field(hub, i, v), GC_OK);
    obj_decref(v);
  }
  pthread_t w;
  CHECK_EQ(pthread_create(&w, NULL, writer, NULL), 0);
  while (atomic_load(&writing)) CHECK_EQ(gc_get_referents(hub, look, NULL), GC_OK);
  CHECK_EQ(pthread_join(w, NULL), 0);
  obj_decref(hub);
  gc_collect();
  CHECK_EQ(gc_get_memory().objects, 0);
  printf("threads_get_referents_while_fields_change: ok (%ld values looked at)\n", seen);
  return 0;
}
