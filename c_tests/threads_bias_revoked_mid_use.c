#define _GNU_SOURCE
/* The first thread to create objects owns the heap lock and the counts
 * without locked instructions (bias.rs); the first other thread to touch
 * them revokes that while the owner is busy. Each round runs in a fresh
 * forked child (nothing created before the fork, so the bias is
 * unclaimed): the owner loops over incref/decref, set_field/get_field and
 * allocations on shared objects; a second thread joins mid-loop doing
 * lock-free count changes (revokes the counts), a third mid-loop collects
 * (revokes the lock). Every count ends exact, every object is freed once. */
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>
#include "stress.h"

#define N 8
static GcObject *objs[N];
static atomic_int destroyed, phase;
static void destroy(GcObject *self) { (void)self; atomic_fetch_add(&destroyed, 1); }
static const GcType Obj = {"Obj", NULL, NULL, NULL, destroy};

static void *counter(void *arg) {
  (void)arg;
  while (atomic_load(&phase) < 1) {}
  long n = 2000 * stress_scale();
  for (long i = 0; i < n; i++) {
    GcObject *o = objs[i % N];
    obj_incref(o);
    obj_incref(o);
    obj_decref(o);
    obj_decref(o);
  }
  return NULL;
}

static void *collector(void *arg) {
  (void)arg;
  while (atomic_load(&phase) < 2) {}
  for (int i = 0; i < 3 * (int)stress_scale(); i++) gc_collect();
  return NULL;
}

static int round_in_child(void) {
  for (int i = 0; i < N; i++) objs[i] = obj_new_typed(&Obj, 1, 0);
  pthread_t t1, t2;
  CHECK_EQ(pthread_create(&t1, NULL, counter, NULL), 0);
  CHECK_EQ(pthread_create(&t2, NULL, collector, NULL), 0);
  long n = 6000 * stress_scale();
  for (long i = 0; i < n; i++) {
    if (i == n / 3) atomic_store(&phase, 1);
    if (i == 2 * n / 3) atomic_store(&phase, 2);
    GcObject *o = objs[i % N], *p = objs[(i * 7 + 3) % N];
    obj_incref(o);
    obj_set_field(o, 0, p);       /* o -> p: cycles form and break */
    GcObject *f = obj_get_field(o, 0);
    obj_decref(f);
    GcObject *tmp = obj_new(1, 0); /* allocations (and deaths) under the bias */
    obj_set_field(tmp, 0, o);
    obj_decref(tmp);
    obj_decref(o);
  }
  atomic_store(&phase, 2);
  CHECK_EQ(pthread_join(t1, NULL), 0);
  CHECK_EQ(pthread_join(t2, NULL), 0);
  for (int i = 0; i < N; i++) {
    GcObject *f = obj_get_field(objs[i], 0);
    CHECK(f != NULL);
    obj_decref(f);
    /* 1 (ours) + fields pointing here */
    size_t in = 0;
    for (int j = 0; j < N; j++) in += obj_borrow_field(objs[j], 0) == objs[i];
    CHECK_EQ(obj_refcount(objs[i]), 1 + in);
  }
  for (int i = 0; i < N; i++) obj_decref(objs[i]);
  gc_collect();
  CHECK_EQ(atomic_load(&destroyed), N);
  CHECK_EQ(gc_get_memory().objects, 0);
  return 0;
}

int main(void) {
  int rounds = 40;
  for (int r = 0; r < rounds; r++) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(round_in_child());
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  printf("threads_bias_revoked_mid_use: ok (%d rounds)\n", rounds);
  return 0;
}
