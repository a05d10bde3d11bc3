/* host_type.c: a host type that keeps references in its payload.
 *
 * "Vec" is a growable array of object references that lives in the
 * payload (not in the library-managed fields), like a Python list. The
 * library cannot see those references by itself, so the type tells it:
 *   traverse  reports each reference (the collector needs it to find cycles)
 *   clear     drops them (breaks cycles; also runs when a Vec dies normally)
 *   destroy   frees the malloc'd array (a non-object resource)
 * Two Vecs that hold each other form a cycle through their payloads, which
 * refcounting cannot free and gc_collect() does.
 *
 * Build: gcc -std=c11 -Wall -Wextra -Werror -Iinclude examples/host_type.c \
 *            -Ltarget/release -lrcgc -o host_type
 * Run:   LD_LIBRARY_PATH=target/release ./host_type
 * Prints every step; exits 0 when every check holds, 1 otherwise.
 */
#include <rcgc.h>

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "host_type: FAILED at line %d: %s\n", __LINE__, #cond); \
      exit(1);                                                              \
    }                                                                       \
  } while (0)

/* ------------------------------------------------------------------ */
/* Vec                                                                 */

typedef struct {
  const char *label;
  size_t len, cap;
  GcObject **items; /* malloc'd; each non-NULL entry owns one reference */
} Vec;

static int vec_finalized, vec_cleared, vec_destroyed;

static void vec_traverse(GcObject *self, GcVisitFn visit, void *ctx) {
  Vec *v = obj_payload(self);
  for (size_t i = 0; i < v->len; i++)
    if (v->items[i]) visit(v->items[i], ctx); /* once per reference, nothing else */
}

static void vec_clear(GcObject *self) {
  Vec *v = obj_payload(self);
  printf("    clear    Vec %s (releases %zu item%s)\n", v->label, v->len,
         v->len == 1 ? "" : "s");
  /* Take each reference out of the array before releasing it: a release
   * can run other hooks, which must never see a reference we gave up. */
  while (v->len > 0) {
    GcObject *item = v->items[--v->len];
    v->items[v->len] = NULL;
    obj_decref(item);
  }
  vec_cleared++;
}

static void vec_finalize(GcObject *self) {
  Vec *v = obj_payload(self);
  printf("    finalize Vec %s\n", v->label);
  vec_finalized++;
}

static void vec_destroy(GcObject *self) {
  Vec *v = obj_payload(self);
  printf("    destroy  Vec %s\n", v->label);
  CHECK(v->len == 0); /* clear ran first */
  free(v->items);
  v->items = NULL;
  vec_destroyed++;
}

static const GcType VEC = {
    .name = "Vec",
    .traverse = vec_traverse,
    .clear = vec_clear,
    .finalize = vec_finalize,
    .destroy = vec_destroy,
};

/* A Vec has no fields: all its references are in the payload. */
static GcObject *vec_new(const char *label) {
  GcObject *o = obj_new_typed(&VEC, 0, sizeof(Vec));
  CHECK(o != NULL);
  Vec *v = obj_payload(o); /* zeroed by the library */
  v->label = label;
  return o;
}

/* v.append(item): the Vec takes its own reference (item is borrowed).
 * Changing payload references happens under the heap lock, so a
 * collection on another thread never traverses a half-updated array. */
static void vec_append(GcObject *self, GcObject *item) {
  gc_lock();
  Vec *v = obj_payload(self);
  if (v->len == v->cap) {
    size_t cap = v->cap ? 2 * v->cap : 4;
    GcObject **items = realloc(v->items, cap * sizeof *items);
    CHECK(items != NULL);
    v->items = items;
    v->cap = cap;
  }
  obj_incref(item);
  v->items[v->len++] = item;
  gc_unlock();
}

/* ------------------------------------------------------------------ */
/* Leaf: plain data, no references at all, so it is not even tracked.  */

static int leaves_destroyed;

static void leaf_destroy(GcObject *self) {
  printf("    destroy  Leaf %d\n", *(int *)obj_payload(self));
  leaves_destroyed++;
}

static const GcType LEAF = {.name = "Leaf", .destroy = leaf_destroy};

static GcObject *leaf_new(int value) {
  GcObject *o = obj_new_typed(&LEAF, 0, sizeof(int));
  CHECK(o != NULL);
  *(int *)obj_payload(o) = value;
  return o;
}

/* ------------------------------------------------------------------ */

int main(void) {
  printf("host_type: references held in payloads, with traverse and clear\n");
  CHECK(gc_collect() == 0);

  printf("\n1. A Vec dying by refcount releases its items through clear\n");
  GcObject *c = vec_new("c");
  GcObject *leaf = leaf_new(7);
  vec_append(c, leaf);
  CHECK(obj_refcount(leaf) == 2);
  obj_decref(leaf); /* c's payload now owns the only reference */
  CHECK(gc_is_tracked(c) && !gc_is_tracked(leaf));
  obj_decref(c);
  CHECK(vec_finalized == 1 && vec_cleared == 1 && vec_destroyed == 1);
  CHECK(leaves_destroyed == 1);

  printf("\n2. Two Vecs holding each other: a cycle through payloads\n");
  GcObject *a = vec_new("a");
  GcObject *b = vec_new("b");
  GcObject *l = leaf_new(42);
  vec_append(a, b); /* a = [b, leaf] */
  vec_append(a, l);
  vec_append(b, a); /* b = [a] */
  obj_decref(l);
  printf("  refcount(a) = %zu, refcount(b) = %zu\n", obj_refcount(a), obj_refcount(b));
  CHECK(obj_refcount(a) == 2 && obj_refcount(b) == 2);
  CHECK(gc_is_tracked(a) && gc_is_tracked(b)); /* a traverse hook makes them tracked */

  GcObject *wr = weakref_new(b, NULL, NULL); /* to watch b die */
  CHECK(wr != NULL);
  obj_decref(a);
  obj_decref(b);
  GcObject *still = weakref_get(wr);
  printf("  released a and b: b is %s\n", still ? "still alive (the cycle)" : "GONE");
  CHECK(still != NULL);
  obj_decref(still);
  CHECK(vec_destroyed == 1 && leaves_destroyed == 1);

  printf("  gc_collect():\n");
  int64_t n = gc_collect();
  printf("  gc_collect() returned %lld (the leaf is untracked, so not counted)\n",
         (long long)n);
  CHECK(n == 2);
  CHECK(vec_finalized == 3 && vec_cleared == 3 && vec_destroyed == 3);
  CHECK(leaves_destroyed == 2);
  still = weakref_get(wr);
  CHECK(still == NULL);
  obj_decref(wr);

  printf("\n3. A Vec that holds itself\n");
  GcObject *self = vec_new("self");
  vec_append(self, self);
  obj_decref(self);
  CHECK(vec_destroyed == 3);
  n = gc_collect();
  printf("  gc_collect() returned %lld\n", (long long)n);
  CHECK(n == 1 && vec_destroyed == 4);

  GcGenStats s = gc_get_stats(2);
  printf("\ngeneration 2: %zu collections, %zu collected, %zu uncollectable\n",
         s.collections, s.collected, s.uncollectable);
  CHECK(s.collected >= 3 && s.uncollectable == 0);
  printf("host_type: all checks passed\n");
  return 0;
}
