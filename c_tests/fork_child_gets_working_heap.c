/* fork() while another thread uses the library: the child gets a working
 * heap (API.md v2, fork). Four situations: no other thread, another thread
 * holding gc_lock(), another thread in the middle of a collection (inside a
 * finalizer of the garbage), and another thread calling weakref_get in a
 * loop (forked 20 times). In each child: objects are created, a cycle with
 * weakrefs is collected (callbacks and destroy hooks run), the memory of an
 * object that had weakrefs is reused after the next collection (skipped
 * under
 * AddressSanitizer, whose quarantine delays reuse), an abandoned
 * collection's garbage is collected again without rerunning finalizers,
 * and the child exits 0. A child that hangs is killed after 20 s. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>
#include "stress.h"

static atomic_int destroyed, finalized, callbacks;
static void destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType Node = {"Node", NULL, NULL, NULL, destroy};

/* Parent <-> helper thread hand-shake. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready, release_helper;
static void signal_ready(void) {
  pthread_mutex_lock(&mu);
  ready = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}
static void wait_ready(void) {
  pthread_mutex_lock(&mu);
  while (!ready) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
}
static void wait_release(void) {
  pthread_mutex_lock(&mu);
  while (!release_helper) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
}
static void let_helper_go(void) {
  pthread_mutex_lock(&mu);
  release_helper = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static void *hold_gc_lock(void *arg) {
  (void)arg;
  gc_lock();
  signal_ready();
  wait_release();
  gc_unlock();
  return NULL;
}

/* A cycle whose finalizer blocks the collecting thread mid-collection. */
static void blocking_fin(GcObject *self) {
  (void)self;
  if (finalized++ == 0) {
    signal_ready();
    wait_release();
  }
}
static const GcType Blocking = {"Blocking", NULL, NULL, blocking_fin, destroy};
static void *collect_blocked_in_finalizer(void *arg) {
  (void)arg;
  GcObject *a = obj_new_typed(&Blocking, 1, 0), *b = obj_new_typed(&Blocking, 1, 0);
  obj_set_field(a, 0, b);
  obj_set_field(b, 0, a);
  obj_decref(a);
  obj_decref(b);
  CHECK_EQ(gc_collect(), 2);
  return NULL;
}

static GcObject *shared_target, *shared_wr;
static atomic_int stop_reading;
static void *read_weakref(void *arg) {
  (void)arg;
  signal_ready();
  while (!atomic_load(&stop_reading)) {
    GcObject *t = weakref_get(shared_wr);
    CHECK(t == shared_target);
    obj_decref(t);
  }
  return NULL;
}

static void count_callback(GcObject *wr, void *ctx) {
  (void)wr;
  (void)ctx;
  callbacks++;
}

/* The child's work: everything must work and nothing may hang. */
static void child_work(int abandoned_collection) {
  alarm(20);
  int d0 = destroyed;
  /* A cycle with weakrefs, collected. */
  GcObject *a = obj_new_typed(&Node, 1, 0), *b = obj_new_typed(&Node, 1, 0);
  CHECK(a != NULL && b != NULL);
  obj_set_field(a, 0, b);
  obj_set_field(b, 0, a);
  GcObject *wa = weakref_new(a, count_callback, NULL), *wb = weakref_new(b, count_callback, NULL);
  obj_decref(a);
  obj_decref(b);
  callbacks = 0;
  int fin_before = finalized;
  int64_t found = gc_collect();
  /* An abandoned collection's garbage (2 objects) is found again. */
  CHECK_EQ(found, abandoned_collection ? 4 : 2);
  CHECK_EQ(callbacks, 2);
  /* Of the abandoned cycle, the object whose finalizer was interrupted is
   * not finalized again; the other one's finalizer (not reached in the
   * parent) runs once now. */
  CHECK_EQ(finalized - fin_before, abandoned_collection ? 1 : 0);
  CHECK_EQ(destroyed - d0, abandoned_collection ? 4 : 2);
  CHECK(weakref_get(wa) == NULL && weakref_get(wb) == NULL);
  obj_decref(wa);
  obj_decref(wb);
  /* The memory of an object that had weakrefs goes back to the pool at the
   * next release of the epoch's retired blocks (every collection makes
   * one): no reader of the parent's threads holds it back. */
  GcObject *x = obj_new_typed(&Node, 1, 0);
  GcObject *wx = weakref_new(x, NULL, NULL);
  obj_decref(wx);
  void *addr = x;
  obj_decref(x);
  /* (A young collection: it releases the retired blocks and, unlike a
   * full one, returns no empty page to the system.) */
  gc_collect_generation(0);
  /* Allocations of its size reach the block again (held back, none
   * would). */
  enum { MAX_TRIES = 200000 };
  GcObject **ys = malloc(MAX_TRIES * sizeof *ys);
  CHECK(ys != NULL);
  int tries = 0, reused = 0;
  while (tries < MAX_TRIES && !reused) {
    ys[tries] = obj_new_typed(&Node, 1, 0);
    reused = (void *)ys[tries++] == addr;
  }
  for (int i = 0; i < tries; i++) obj_decref(ys[i]);
  free(ys);
#if !defined(__SANITIZE_ADDRESS__)
  if (!reused) {
    fprintf(stderr, "child: memory of an object that had weakrefs was not reused\n");
    exit(1);
  }
#endif
  gc_lock(); /* the lock is free in the child */
  gc_unlock();
  exit(0);
}

static void fork_and_check(const char *situation, int abandoned_collection) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) child_work(abandoned_collection);
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "%s: child %s %d\n", situation,
            WIFSIGNALED(status) ? (WTERMSIG(status) == SIGALRM ? "hung, killed by signal"
                                                                : "died of signal")
                                : "exited with",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    exit(1);
  }
}

static void with_helper(const char *situation, void *(*helper)(void *), int abandoned) {
  ready = release_helper = 0;
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, helper, NULL), 0);
  wait_ready();
  fork_and_check(situation, abandoned);
  let_helper_go();
  CHECK_EQ(pthread_join(t, NULL), 0);
  printf("  %s: the child has a working heap\n", situation);
}

int main(void) {
  gc_disable();
  printf("fork_child_gets_working_heap:\n");
  fork_and_check("idle", 0);
  printf("  idle: the child has a working heap\n");
  with_helper("another thread holds gc_lock", hold_gc_lock, 0);
  with_helper("another thread is collecting (in a finalizer)", collect_blocked_in_finalizer, 1);

  shared_target = obj_new_typed(&Node, 1, 0);
  shared_wr = weakref_new(shared_target, NULL, NULL);
  ready = 0;
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, read_weakref, NULL), 0);
  wait_ready();
  for (int i = 0; i < 20; i++) fork_and_check("another thread is inside weakref_get", 0);
  atomic_store(&stop_reading, 1);
  CHECK_EQ(pthread_join(t, NULL), 0);
  printf("  another thread is inside weakref_get (20 forks): the child has a working heap\n");
  obj_decref(shared_wr);
  obj_decref(shared_target);
  return 0;
}
