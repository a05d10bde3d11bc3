/* gc_get_memory's figures match a hand count after allocations, deaths and
 * collections, in a single-threaded program (where they are exact):
 * a 2-field object takes 48 bytes (32-byte header + 2 fields), a 100-field
 * object 832 (its own allocation), an untracked object with a 16-byte
 * payload 48 (header + payload: its size sits in the header). */
#include "check.h"

static GcMemStats now(void) { return gc_get_memory(); }

static void check_counts(size_t objects, size_t tracked, size_t bytes) {
  GcMemStats m = now();
  CHECK_EQ(m.objects, objects);
  CHECK_EQ(m.tracked, tracked);
  CHECK_EQ(m.bytes_in_use, bytes);
  CHECK(m.bytes_reserved >= m.bytes_in_use);
  CHECK(m.peak_bytes_in_use >= m.bytes_in_use);
  CHECK_EQ(m.limit, 0);
}

int main(void) {
  gc_disable();
  check_counts(0, 0, 0);
  CHECK_EQ(now().peak_bytes_in_use, 0);

  GcObject *a = obj_new(2, 0);
  GcObject *big = obj_new(100, 0);
  GcObject *leaf = obj_new(0, 16);
  check_counts(3, 2, 48 + 832 + 48);

  /* A weakref is an object too; measure it once. */
  size_t before = now().bytes_in_use;
  GcObject *w = weakref_new(a, NULL, NULL);
  size_t wsize = now().bytes_in_use - before;
  CHECK(wsize >= 32 && wsize % 16 == 0);
  check_counts(4, 3, 48 + 832 + 48 + wsize);

  /* Deaths by refcount. */
  obj_decref(leaf);
  obj_decref(big);
  check_counts(2, 2, 48 + wsize);

  /* The peak is exact: 1000 more 2-field objects, then all released. */
  size_t base = now().bytes_in_use;
  GcObject *many[1000];
  for (int i = 0; i < 1000; i++) many[i] = obj_new(2, 0);
  CHECK_EQ(now().bytes_in_use, base + 1000 * 48);
  for (int i = 0; i < 1000; i++) obj_decref(many[i]);
  CHECK_EQ(now().bytes_in_use, base);
  CHECK_EQ(now().peak_bytes_in_use, base + 1000 * 48);

  /* Cyclic garbage stays in use until a collection frees it. */
  GcObject *x = obj_new(2, 0), *y = obj_new(2, 0);
  obj_set_field(x, 0, y);
  obj_set_field(y, 0, x);
  GcObject *held = obj_new(0, 16); /* an untracked leaf held by the cycle */
  obj_set_field(x, 1, held);
  obj_decref(held);
  obj_decref(x);
  obj_decref(y);
  check_counts(5, 4, 3 * 48 + 48 + wsize);
  CHECK_EQ(gc_collect(), 2);
  check_counts(2, 2, 48 + wsize);

  /* The weakref's target dies: the weakref lives on, cleared. */
  obj_decref(a);
  check_counts(1, 1, wsize);
  obj_decref(w);
  check_counts(0, 0, 0);

  /* A payload of up to 31 bytes keeps its size in the header; from 32 on
   * it has a 16-byte prefix. Each object alone, then freed. */
  static const struct { size_t fields, payload, bytes; } sizes[] = {
      {0, 24, 64}, {0, 31, 64}, {0, 32, 80}, {1, 31, 80}, {1, 32, 96}, {2, 8, 64},
  };
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    GcObject *o = obj_new(sizes[i].fields, sizes[i].payload);
    CHECK_EQ(obj_payload_size(o), sizes[i].payload);
    CHECK_EQ(now().bytes_in_use, sizes[i].bytes);
    obj_decref(o);
    check_counts(0, 0, 0);
  }
  printf("memory_figures: ok\n");
  return 0;
}
