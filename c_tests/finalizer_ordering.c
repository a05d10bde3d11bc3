/* The death order in a collection: every finalizer in the garbage runs
 * before any field is released or clear hook runs; then clear hooks; then
 * destroy hooks. A finalizer sees its neighbours intact, and gc_collect
 * called from a finalizer or a hook returns 0 without recursing. */
#include <string.h>
#include "check.h"

#define N 4
static char trace[64];
static void add(char c) { trace[strlen(trace)] = c; }

static void fin(GcObject *self) {
  add('F');
  GcObject *next = obj_borrow_field(self, 0);
  CHECK(next != NULL);                        /* nothing cleared yet */
  CHECK(obj_borrow_field(next, 0) != NULL);
  CHECK_EQ(gc_collect(), 0);                  /* already collecting */
}
static void clear(GcObject *self) {
  (void)self;
  add('C');
  CHECK_EQ(gc_collect(), 0);
}
static void destroy(GcObject *self) { (void)self; add('D'); }
static const GcType Node = {"Node", NULL, clear, fin, destroy};

int main(void) {
  gc_disable();
  GcObject *n[N];
  for (int i = 0; i < N; i++) n[i] = obj_new_typed(&Node, 1, 0);
  for (int i = 0; i < N; i++) obj_set_field(n[i], 0, n[(i + 1) % N]);
  for (int i = 0; i < N; i++) obj_decref(n[i]);
  CHECK_EQ(gc_collect(), N);
  printf("finalizer_ordering: %s\n", trace);
  CHECK(strcmp(trace, "FFFFCCCCDDDD") == 0);
  return 0;
}
