/* Releasing one container whose N fields hold finalizable objects must not
 * overflow the stack, whatever the finalizers do with their own object:
 * take and drop a temporary reference directly, take one through a holder
 * object (whose death is queued while the finalizer runs), or resurrect the
 * object onto a free list. Tested at N = 10^6 on the main stack and on a
 * thread with a 64 KiB stack. RCGC_CHAIN overrides N (valgrind runs use a
 * smaller N). */
#include <pthread.h>
#include <stdlib.h>
#include "check.h"

static long finalized, destroyed;
static GcObject *free_list; /* resurrected objects, chained through field 0 */

static void fin_direct(GcObject *self) {
  finalized++;
  obj_incref(self); /* what an interpreter __del__ calling a method does */
  obj_decref(self);
}
static void fin_holder(GcObject *self) {
  finalized++;
  GcObject *holder = obj_new(1, 0);
  obj_set_field(holder, 0, self);
  obj_decref(holder); /* self's count drops back to 0 when holder dies */
}
static void fin_resurrect(GcObject *self) {
  finalized++;
  obj_set_field(self, 0, free_list);
  obj_incref(self); /* the free list's reference: a resurrection */
  GcObject *old = free_list;
  free_list = self;
  obj_decref(old);
}
static void destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType Direct = {"Direct", NULL, NULL, fin_direct, destroy};
static const GcType Holder = {"Holder", NULL, NULL, fin_holder, destroy};
static const GcType Resurrect = {"Resurrect", NULL, NULL, fin_resurrect, destroy};

static long n_objects(void) {
  const char *env = getenv("RCGC_CHAIN");
  long n = env ? atol(env) : 1000000L;
  return n > 1000000L ? 1000000L : n;
}

static void release_many(const GcType *type, long n) {
  GcObject *box = obj_new((size_t)n, 0);
  CHECK(box != NULL);
  for (long i = 0; i < n; i++) {
    GcObject *o = obj_new_typed(type, 1, 0);
    CHECK(o != NULL);
    CHECK_EQ(obj_set_field(box, (size_t)i, o), GC_OK);
    obj_decref(o);
  }
  finalized = destroyed = 0;
  obj_decref(box); /* one call: n finalizers */
  CHECK_EQ(finalized, n);
}

static void *run(void *arg) {
  (void)arg;
  long n = n_objects();
  release_many(&Direct, n);
  CHECK_EQ(destroyed, n);
  release_many(&Holder, n);
  CHECK_EQ(destroyed, n);
  release_many(&Resurrect, n);
  CHECK_EQ(destroyed, 0); /* all on the free list, intact */
  GcObject *list = free_list;
  free_list = NULL;
  obj_decref(list); /* a chain of n finalized objects: no finalizer reruns */
  CHECK_EQ(destroyed, n);
  CHECK_EQ(finalized, n);
  return NULL;
}

int main(void) {
  gc_disable();
  run(NULL);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  CHECK_EQ(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
  pthread_t t;
  CHECK_EQ(pthread_create(&t, &attr, run, NULL), 0);
  CHECK_EQ(pthread_join(t, NULL), 0);
  pthread_attr_destroy(&attr);
  printf("finalizers_release_many_in_constant_stack: %ld objects, three kinds "
         "of finalizer, main stack and 64 KiB stack\n", n_objects());
  return 0;
}
