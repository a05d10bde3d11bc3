/* tutorial.c: the Python garbage-collection tutorial, replayed in C.
 *
 * Each section is one example of the tutorial, with the Python it stands
 * for in a comment: reference counting (a = [1, 2, 3]; b = a; del a;
 * del b), the Node cycle that only gc.collect() frees, gc.get_count(),
 * gc.disable()/gc.enable(), and the weak reference that goes None.
 *
 * Build: gcc -std=c11 -Wall -Wextra -Werror -Iinclude examples/tutorial.c \
 *            -Ltarget/release -lrcgc -o tutorial
 * Run:   LD_LIBRARY_PATH=target/release ./tutorial
 * Prints every step; exits 0 when every check holds, 1 otherwise.
 */
#include <rcgc.h>

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (!(cond)) {                                                        \
      fprintf(stderr, "tutorial: FAILED at line %d: %s\n", __LINE__, #cond); \
      exit(1);                                                            \
    }                                                                     \
  } while (0)

/* ------------------------------------------------------------------ */
/* A "Node" type: value in the payload, `next` in field 0. The hooks
 * count what happens so the program can check it.                     */

typedef struct {
  int value;
} NodeData;

static int finalized;
static int destroyed;
static int verbose = 1; /* print each hook call (off for the bulk steps) */

static void node_finalize(GcObject *self) {
  NodeData *d = obj_payload(self);
  if (verbose) printf("    finalize Node(%d)\n", d->value);
  finalized++;
}

static void node_destroy(GcObject *self) {
  NodeData *d = obj_payload(self);
  if (verbose) printf("    destroy  Node(%d)\n", d->value);
  destroyed++;
}

static const GcType NODE = {
    .name = "Node",
    .traverse = NULL, /* no references in the payload; fields are traversed */
    .clear = NULL,
    .finalize = node_finalize,
    .destroy = node_destroy,
};

/* class Node: def __init__(self, value): self.value = value; self.next = None */
static GcObject *node_new(int value) {
  GcObject *n = obj_new_typed(&NODE, 1, sizeof(NodeData));
  CHECK(n != NULL);
  ((NodeData *)obj_payload(n))->value = value;
  return n;
}

static void print_count(const char *when) {
  GcCounts c = gc_get_count();
  printf("  gc_get_count() %-34s -> (%zu, %zu, %zu)\n", when, c.count0, c.count1,
         c.count2);
}

/* ------------------------------------------------------------------ */

static void reference_counting(void) {
  printf("\n1. Reference counting\n");
  destroyed = finalized = 0;

  /* a = [1, 2, 3]  -- a list of three ints, as three plain objects in
   * the fields of a "list" object */
  GcObject *a = obj_new_typed(&NODE, 3, sizeof(NodeData));
  CHECK(a != NULL);
  ((NodeData *)obj_payload(a))->value = 123;
  for (size_t i = 0; i < 3; i++) {
    GcObject *item = obj_new(0, sizeof(int)); /* no fields: untracked */
    CHECK(item != NULL);
    *(int *)obj_payload(item) = (int)i + 1;
    CHECK(obj_set_field(a, i, item) == GC_OK); /* the field takes its own reference */
    CHECK(obj_refcount(item) == 2);
    obj_decref(item); /* ...so we drop ours: the list now owns the item */
    CHECK(obj_refcount(item) == 1);
  }
  printf("  a = [1, 2, 3]        refcount(a) = %zu\n", obj_refcount(a));
  CHECK(obj_refcount(a) == 1);

  GcObject *b = a; /* b = a: a second reference is an incref */
  obj_incref(b);
  printf("  b = a                refcount(a) = %zu\n", obj_refcount(a));
  CHECK(obj_refcount(a) == 2);

  obj_decref(a); /* del a */
  a = NULL;
  printf("  del a                refcount(b) = %zu, destroyed = %d\n", obj_refcount(b),
         destroyed);
  CHECK(obj_refcount(b) == 1 && destroyed == 0);

  printf("  del b                (the last reference: freed right here)\n");
  obj_decref(b); /* del b */
  b = NULL;
  printf("  destroyed = %d, finalized = %d\n", destroyed, finalized);
  CHECK(destroyed == 1 && finalized == 1);
}

static void circular_reference(void) {
  printf("\n2. A circular reference and the garbage collector\n");
  destroyed = finalized = 0;
  CHECK(gc_collect() == 0); /* start from a clean heap */

  GcObject *node1 = node_new(1); /* node1 = Node(1) */
  GcObject *node2 = node_new(2); /* node2 = Node(2) */
  CHECK(obj_set_field(node1, 0, node2) == GC_OK); /* node1.next = node2 */
  CHECK(obj_set_field(node2, 0, node1) == GC_OK); /* node2.next = node1 */
  printf("  node1.next = node2; node2.next = node1\n");
  printf("  refcount(node1) = %zu, refcount(node2) = %zu\n", obj_refcount(node1),
         obj_refcount(node2));
  CHECK(obj_refcount(node1) == 2 && obj_refcount(node2) == 2);
  CHECK(gc_is_tracked(node1) && gc_is_tracked(node2));

  obj_decref(node1); /* del node1 */
  obj_decref(node2); /* del node2 */
  printf("  del node1; del node2 -> destroyed = %d: refcounting cannot free a cycle\n",
         destroyed);
  CHECK(destroyed == 0);

  printf("  gc_collect():\n");
  int64_t n = gc_collect(); /* gc.collect() */
  printf("  gc_collect() returned %lld; destroyed = %d\n", (long long)n, destroyed);
  CHECK(n == 2);
  CHECK(destroyed == 2 && finalized == 2);
  CHECK(gc_collect() == 0);
}

static void get_count(void) {
  printf("\n3. gc.get_count()\n");
  CHECK(gc_collect() == 0);
  GcCounts c = gc_get_count();
  print_count("after gc_collect()");
  CHECK(c.count0 == 0 && c.count1 == 0 && c.count2 == 0);

  GcObject *objs[5];
  for (int i = 0; i < 5; i++) objs[i] = node_new(100 + i);
  c = gc_get_count();
  print_count("after 5 tracked allocations");
  CHECK(c.count0 == 5);

  GcObject *plain = obj_new(0, 8); /* no fields, no traverse: untracked */
  CHECK(plain != NULL && !gc_is_tracked(plain));
  c = gc_get_count();
  print_count("after 1 untracked allocation");
  CHECK(c.count0 == 5);
  obj_decref(plain);

  obj_decref(objs[4]);
  c = gc_get_count();
  print_count("after freeing 1 tracked object");
  CHECK(c.count0 == 4);

  CHECK(gc_collect_generation(0) == 0); /* gc.collect(0) */
  c = gc_get_count();
  print_count("after gc_collect_generation(0)");
  CHECK(c.count0 == 0 && c.count1 == 1 && c.count2 == 0);

  CHECK(gc_collect_generation(1) == 0); /* gc.collect(1) */
  c = gc_get_count();
  print_count("after gc_collect_generation(1)");
  CHECK(c.count0 == 0 && c.count1 == 0 && c.count2 == 1);

  for (int i = 0; i < 4; i++) obj_decref(objs[i]);
}

static int collections_started;
static int last_generation = -1;

static void on_gc(GcPhase phase, const GcCallbackInfo *info, void *ctx) {
  (void)ctx;
  if (phase == GC_PHASE_START) {
    collections_started++;
    last_generation = info->generation;
  } else {
    printf("    (a generation-%d collection ran: %zu collected)\n", info->generation,
           info->collected);
  }
}

static void disable_enable(void) {
  printf("\n4. gc.disable() / gc.enable()\n");
  destroyed = finalized = 0;
  CHECK(gc_collect() == 0);
  GcThresholds saved = gc_get_threshold();
  printf("  gc_get_threshold() -> (%zu, %zu, %zu)\n", saved.threshold0, saved.threshold1,
         saved.threshold2);
  CHECK(saved.threshold0 == 700 && saved.threshold1 == 10 && saved.threshold2 == 10);
  gc_set_threshold(10, 10, 10); /* gc.set_threshold(10): small, to see it */
  CHECK(gc_callback_add(on_gc, NULL) == GC_OK);

  verbose = 0;
  gc_disable(); /* gc.disable() */
  printf("  gc_disable(); gc_isenabled() -> %s\n", gc_isenabled() ? "true" : "false");
  CHECK(!gc_isenabled());
  for (int i = 0; i < 10; i++) { /* 20 tracked allocations, all cyclic garbage */
    GcObject *x = node_new(i), *y = node_new(-i);
    CHECK(obj_set_field(x, 0, y) == GC_OK && obj_set_field(y, 0, x) == GC_OK);
    obj_decref(x);
    obj_decref(y);
  }
  print_count("after 10 garbage cycles");
  printf("  collections = %d, destroyed = %d: nothing ran while disabled\n",
         collections_started, destroyed);
  CHECK(collections_started == 0 && destroyed == 0);
  CHECK(gc_get_count().count0 == 20);

  gc_enable(); /* gc.enable() */
  printf("  gc_enable(); gc_isenabled() -> %s\n", gc_isenabled() ? "true" : "false");
  CHECK(gc_isenabled());
  printf("  the next tracked allocation is over threshold 10 and collects:\n");
  GcObject *trigger = node_new(999);
  printf("  collections = %d (generation %d), destroyed = %d\n", collections_started,
         last_generation, destroyed);
  CHECK(collections_started == 1 && last_generation == 0);
  CHECK(destroyed == 20);
  obj_decref(trigger);
  verbose = 1;

  CHECK(gc_callback_remove(on_gc, NULL) == GC_OK);
  gc_set_threshold(saved.threshold0, saved.threshold1, saved.threshold2);
}

static int callback_runs;

static void on_weak_death(GcObject *weakref, void *ctx) {
  /* By now the weakref is already cleared: weakref_get gives NULL. */
  GcObject *target = weakref_get(weakref);
  printf("    weakref callback: %s, target is %s\n", (const char *)ctx,
         target ? "still there" : "gone (weakref_get -> NULL)");
  CHECK(target == NULL);
  callback_runs++;
}

static void weak_references(void) {
  printf("\n5. Weak references\n");
  destroyed = finalized = 0;
  callback_runs = 0;

  GcObject *obj = node_new(42);                   /* obj = MyClass() */
  GcObject *weak_ref = weakref_new(obj, NULL, NULL); /* weak_ref = weakref.ref(obj) */
  CHECK(weak_ref != NULL && obj_is_weakref(weak_ref));
  GcObject *with_cb = weakref_new(obj, on_weak_death, "weakref.ref(obj, callback)");
  CHECK(with_cb != NULL);
  printf("  weakref_count(obj) = %zu\n", weakref_count(obj));
  CHECK(weakref_count(obj) == 2);

  GcObject *got = weakref_get(weak_ref); /* print(weak_ref()) */
  printf("  weak_ref() -> %s Node(%d)\n", got == obj ? "the same" : "ANOTHER",
         got ? ((NodeData *)obj_payload(got))->value : -1);
  CHECK(got == obj);
  CHECK(obj_refcount(obj) == 2); /* weakref_get returned a new reference */
  obj_decref(got);
  CHECK(obj_refcount(obj) == 1); /* the weakrefs themselves hold none */

  printf("  del obj:\n");
  obj_decref(obj); /* del obj */
  got = weakref_get(weak_ref);
  printf("  weak_ref() -> %s\n", got ? "an object" : "NULL (None)");
  CHECK(got == NULL);
  CHECK(callback_runs == 1 && destroyed == 1);

  obj_decref(with_cb);
  obj_decref(weak_ref);
}

int main(void) {
  printf("rcgc tutorial: Python's memory management, from C\n");
  reference_counting();
  circular_reference();
  get_count();
  disable_enable();
  weak_references();
  CHECK(gc_collect() == 0);
  printf("\ntutorial: all checks passed\n");
  return 0;
}
