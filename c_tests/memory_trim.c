/* Memory goes back to the system: gc_trim after releasing a large chain
 * returns at least 90 % of the pages it took; a full collection that frees
 * a large cyclic structure trims on its own; pages taken again are zeroed.
 * RCGC_CHAIN sets the chain length (default 10^7). */
#include <string.h>
#include "check.h"

static size_t chain_length(void) {
  const char *s = getenv("RCGC_CHAIN");
  return s ? strtoul(s, NULL, 10) : 10000000;
}

/* A chain of n objects with `fields` fields each, linked through field 0;
 * with `cyclic` the last links back to the first. Returns the first (a new
 * reference). */
static GcObject *chain(size_t n, size_t fields, int cyclic) {
  GcObject *first = obj_new(fields, 0), *last = first;
  CHECK(first != NULL);
  for (size_t i = 1; i < n; i++) {
    GcObject *o = obj_new(fields, 0);
    CHECK(o != NULL);
    obj_set_field(last, 0, o);
    obj_decref(o);
    last = o;
  }
  if (cyclic) obj_set_field(last, 0, first);
  return first;
}

int main(void) {
  size_t n = chain_length();
  gc_disable();
  GcObject *keep = obj_new(2, 0); /* a live object the trims must not touch */
  obj_set_field(keep, 0, keep);

  /* 1. Released by refcount, returned by gc_trim. */
  size_t start = gc_get_memory().bytes_reserved;
  GcObject *head = chain(n, 1, 0);
  GcMemStats peak = gc_get_memory();
  CHECK_EQ(peak.objects, n + 1);
  size_t grown = peak.bytes_reserved - start;
  CHECK(peak.bytes_in_use >= n * 48 && peak.bytes_reserved >= peak.bytes_in_use);
  obj_decref(head);
  CHECK_EQ(gc_get_memory().objects, 1);
  /* What the release left reserved: the pool's empty pages (nothing where
   * objects have their own allocations, as in sanitizer builds). */
  size_t held = gc_get_memory().bytes_reserved - start;
  size_t returned = gc_trim();
  printf("chain of %zu: reserved grew by %zu bytes, %zu held after the release; "
         "gc_trim returned %zu\n", n, grown, held, returned);
  CHECK(returned >= held / 10 * 9);
  CHECK(gc_get_memory().bytes_reserved <= start + grown / 10);
  CHECK_EQ(gc_trim(), 0); /* nothing left to return */

  /* 2. Cyclic garbage freed by a full collection: trimmed without gc_trim
   * (at least 1 MiB of 96-byte objects, so the library thinks it worth it). */
  size_t m = n / 4 > 20000 ? n / 4 : 20000;
  start = gc_get_memory().bytes_reserved;
  head = chain(m, 7, 1);
  grown = gc_get_memory().bytes_reserved - start;
  obj_decref(head);
  CHECK_EQ((size_t)gc_collect(), m);
  size_t after = gc_get_memory().bytes_reserved;
  printf("cycle of %zu: reserved grew by %zu bytes; after gc_collect %zu above start\n",
         m, grown, after > start ? after - start : 0);
  CHECK(after <= start + grown / 10);

  /* 3. New objects on pages taken again are zeroed, and the survivor is
   * intact. */
  GcObject *fresh[1000];
  for (int i = 0; i < 1000; i++) {
    fresh[i] = obj_new(7, 0);
    for (size_t f = 0; f < 7; f++) CHECK(obj_borrow_field(fresh[i], f) == NULL);
  }
  for (int i = 0; i < 1000; i++) obj_decref(fresh[i]);
  CHECK(obj_borrow_field(keep, 0) == keep);
  obj_set_field(keep, 0, NULL);
  obj_decref(keep);
  CHECK_EQ(gc_get_memory().objects, 0);
  printf("memory_trim: ok\n");
  return 0;
}
