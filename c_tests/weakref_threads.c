/* weakref_get racing with deaths on other threads (DESIGN.md "Threads"):
 * 3 reader threads call weakref_get in a loop on a shared table of weakrefs,
 * while a writer thread kills the targets (last release, or dropping a cycle
 * that gc_collect or an automatic collection then frees) with their weakrefs
 * still published, and later replaces them with new targets and new weakrefs.
 * Half of the slots are published through a small mutex (held only to swap
 * the pointer or take a reference), half through the fields of a shared
 * container object (obj_set_field / obj_get_field). One reader also
 * collects, and readers create short-lived weakrefs of their own. A reader's
 * decref may be the last one.
 * Checks: a reader never gets an object whose death has begun (its
 * finalizer or destroy hook ran; destroy poisons the payload), and gets the
 * target of the weakref it asked; every callback sees its weakref cleared
 * and runs at most once, before destroy; at the end every object created was
 * finalized and destroyed exactly once.
 * RCGC_WEAK_THREADS_ITERS sets the writer's iterations (default 5000). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include "check.h"

enum { NSLOTS = 16, NREADERS = 3 };
#define MAGIC 0x600dcafeu
#define POISON 0xdeaddeadu

typedef struct { uint32_t magic, id; } Payload;
typedef struct {
  atomic_int finalized, destroyed, callbacks;
  _Atomic(GcObject *) wr; /* the weakref made for this object, if any */
} Record;

static Record *records;
static size_t max_records;
static atomic_size_t next_id;
static atomic_int stop, ready;
static atomic_long reads, hits, misses, callbacks_total;
static atomic_long progress; /* the writer's iteration */

/* Even slots: a mutex-protected pointer owning one reference to the weakref.
 * Odd slots: field s of `container`. */
static struct { pthread_mutex_t mu; GcObject *wr; } slots[NSLOTS];
static GcObject *container;

static Record *record_of(GcObject *o) {
  Payload *p = obj_payload(o);
  CHECK(p != NULL);
  CHECK_EQ(p->magic, MAGIC);
  CHECK(p->id < atomic_load(&next_id));
  return &records[p->id];
}

static void on_finalize(GcObject *self) {
  CHECK_EQ(atomic_fetch_add(&record_of(self)->finalized, 1), 0);
}
static void on_destroy(GcObject *self) {
  Record *r = record_of(self);
  CHECK_EQ(atomic_load(&r->finalized), 1);
  CHECK_EQ(atomic_fetch_add(&r->destroyed, 1), 0);
  ((Payload *)obj_payload(self))->magic = POISON;
}
static const GcType Target = {"Target", NULL, NULL, on_finalize, on_destroy};

static void callback(GcObject *wr, void *ctx) {
  Record *r = ctx;
  CHECK(weakref_get(wr) == NULL);
  CHECK(atomic_load(&r->wr) == wr);
  CHECK_EQ(atomic_load(&r->finalized), 1);
  CHECK_EQ(atomic_load(&r->destroyed), 0);
  CHECK_EQ(atomic_fetch_add(&r->callbacks, 1), 0);
  atomic_fetch_add(&callbacks_total, 1);
}

static GcObject *new_target(void) {
  size_t id = atomic_fetch_add(&next_id, 1);
  CHECK(id < max_records);
  GcObject *o = obj_new_typed(&Target, 1, sizeof(Payload));
  CHECK(o != NULL);
  *(Payload *)obj_payload(o) = (Payload){MAGIC, (uint32_t)id};
  return o;
}

/* An object a reader holds must be untouched by any death. */
static void check_intact(GcObject *o) {
  Record *r = record_of(o);
  CHECK_EQ(atomic_load(&r->finalized), 0);
  CHECK_EQ(atomic_load(&r->destroyed), 0);
}

static uint32_t xorshift(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

static void *reader(void *arg) {
  int me = (int)(size_t)arg;
  uint32_t seed = 2463534242u + (uint32_t)me * 7919u;
  atomic_fetch_add(&ready, 1);
  for (long n = 0; !atomic_load(&stop); n++) {
    /* Keep pace with the writer: at most 8 reads per writer iteration. */
    while (n > 8 * (atomic_load(&progress) + 1) && !atomic_load(&stop)) sched_yield();
    atomic_fetch_add(&reads, 1);
    int s = (int)(xorshift(&seed) % NSLOTS);
    GcObject *wr;
    if (s % 2 == 0) {
      pthread_mutex_lock(&slots[s].mu);
      wr = slots[s].wr;
      obj_incref(wr);
      pthread_mutex_unlock(&slots[s].mu);
    } else {
      wr = obj_get_field(container, (size_t)s);
    }
    if (wr == NULL) continue;
    CHECK(obj_is_weakref(wr));
    GcObject *t = weakref_get(wr);
    if (t) {
      check_intact(t);
      CHECK(atomic_load(&record_of(t)->wr) == wr); /* the right target */
      CHECK(weakref_count(t) >= 1);
      GcObject *partner = obj_get_field(t, 0); /* a cycle member, or NULL */
      if (partner) {
        check_intact(partner);
        CHECK(obj_borrow_field(partner, 0) == t);
        obj_decref(partner);
      }
      if (n % 8 == 0) { /* a weakref of our own, created and dropped */
        GcObject *mine = weakref_new(t, NULL, NULL);
        CHECK(mine != NULL);
        GcObject *again = weakref_get(mine);
        CHECK(again == t);
        obj_decref(again);
        obj_decref(mine);
      }
      atomic_fetch_add(&hits, 1);
      obj_decref(t); /* may be the last reference: the death runs here */
    } else {
      atomic_fetch_add(&misses, 1);
    }
    obj_decref(wr);
    if (me == 0 && n % 256 == 0) CHECK(gc_collect() >= 0);
  }
  return NULL;
}

int main(void) {
  long iters = 5000;
  const char *env = getenv("RCGC_WEAK_THREADS_ITERS");
  if (env && atol(env) > 0) iters = atol(env);
  max_records = 2 * (size_t)iters + 2 * NSLOTS;
  records = calloc(max_records, sizeof(Record));
  CHECK(records != NULL);
  gc_set_threshold(50, 5, 5); /* frequent automatic collections */

  container = obj_new(NSLOTS, 0);
  CHECK(container != NULL);
  for (int s = 0; s < NSLOTS; s++) CHECK_EQ(pthread_mutex_init(&slots[s].mu, NULL), 0);
  GcObject *targets[NSLOTS] = {0}; /* the writer's strong references */

  pthread_t readers[NREADERS];
  for (int i = 0; i < NREADERS; i++)
    CHECK_EQ(pthread_create(&readers[i], NULL, reader, (void *)(size_t)i), 0);
  while (atomic_load(&ready) < NREADERS) sched_yield();

  /* The writer. Iteration i kills the target of slot s = i % NSLOTS (its
   * weakref stays published, so readers race with the death or with the
   * collection of the cycle), and refills slot r, whose target it killed
   * NSLOTS/2 iterations ago, with a new target and a new weakref. */
  for (long i = 0; i < iters + NSLOTS; i++) {
    int s = (int)(i % NSLOTS), r = (s + NSLOTS / 2) % NSLOTS;
    GcObject *dying = targets[s];
    targets[s] = NULL;
    obj_decref(dying); /* last release, or the cycle becomes garbage */

    GcObject *t = NULL, *wr = NULL;
    if (i < iters) { /* afterwards the slots are emptied */
      t = new_target();
      if (i % 3 == 0) { /* dies through a cycle: t <-> partner */
        GcObject *partner = new_target();
        CHECK_EQ(obj_set_field(t, 0, partner), GC_OK);
        CHECK_EQ(obj_set_field(partner, 0, t), GC_OK);
        obj_decref(partner);
      }
      wr = weakref_new(t, callback, record_of(t));
      CHECK(wr != NULL);
      atomic_store(&record_of(t)->wr, wr); /* before it is published */
    }
    CHECK(targets[r] == NULL);
    targets[r] = t;
    if (r % 2 == 0) {
      pthread_mutex_lock(&slots[r].mu);
      GcObject *old_wr = slots[r].wr;
      slots[r].wr = wr; /* the slot takes over our reference */
      pthread_mutex_unlock(&slots[r].mu);
      obj_decref(old_wr);
    } else {
      CHECK_EQ(obj_set_field(container, (size_t)r, wr), GC_OK); /* releases the old one */
      obj_decref(wr);
    }
    if (i % 8 == 0) CHECK(gc_collect() >= 0);
    /* Keep pace with the readers, even on a loaded machine. */
    while (atomic_load(&reads) < i) sched_yield();
    atomic_store(&progress, i + 1);
  }

  atomic_store(&stop, 1);
  for (int i = 0; i < NREADERS; i++) CHECK_EQ(pthread_join(readers[i], NULL), 0);
  obj_decref(container);
  for (int s = 0; s < NSLOTS; s++) CHECK_EQ(pthread_mutex_destroy(&slots[s].mu), 0);
  gc_collect();
  CHECK_EQ(gc_collect(), 0);

  size_t created = atomic_load(&next_id);
  for (size_t id = 0; id < created; id++) {
    CHECK_EQ(atomic_load(&records[id].finalized), 1);
    CHECK_EQ(atomic_load(&records[id].destroyed), 1);
    CHECK(atomic_load(&records[id].callbacks) <= 1);
  }
  CHECK(atomic_load(&hits) > 0);
  free(records);
  printf("weakref_threads: %zu objects freed once each; readers got %ld live, %ld dead; %ld callbacks\n",
         created, atomic_load(&hits), atomic_load(&misses), atomic_load(&callbacks_total));
  return 0;
}
