/* Every NULL / out-of-range / absurd-size misuse that API.md names: no
 * crash, the documented result or error code, gc_last_error set. */
#include <stdint.h>
#include "check.h"

static void cb(GcPhase phase, const GcCallbackInfo *info, void *ctx) {
  (void)phase; (void)info; (void)ctx;
}

int main(void) {
  CHECK(gc_last_error() == NULL);
  CHECK_EQ(gc_last_error_code(), GC_OK);

  /* NULL objects: no-ops and harmless defaults */
  obj_incref(NULL);
  obj_decref(NULL);
  CHECK_EQ(obj_refcount(NULL), 0);
  CHECK_EQ(obj_nfields(NULL), 0);
  CHECK(obj_payload(NULL) == NULL);
  CHECK_EQ(obj_payload_size(NULL), 0);
  CHECK(obj_type(NULL) == NULL);
  CHECK(!gc_is_tracked(NULL));
  CHECK(!gc_is_finalized(NULL));
  CHECK(!obj_is_weakref(NULL));
  CHECK_EQ(weakref_count(NULL), 0);

  /* NULL objects: errors */
  CHECK_EQ(obj_set_field(NULL, 0, NULL), GC_ERR_NULL);
  CHECK_ERR(GC_ERR_NULL);
  CHECK(obj_get_field(NULL, 0) == NULL);
  CHECK_ERR(GC_ERR_NULL);
  CHECK(obj_borrow_field(NULL, 0) == NULL);
  CHECK_ERR(GC_ERR_NULL);
  CHECK(weakref_new(NULL, NULL, NULL) == NULL);
  CHECK_ERR(GC_ERR_NULL);
  CHECK(weakref_get(NULL) == NULL);
  CHECK_ERR(GC_ERR_NULL);
  CHECK_EQ(gc_callback_add(NULL, NULL), GC_ERR_NULL);
  CHECK_EQ(gc_callback_remove(NULL, NULL), GC_ERR_NULL);

  /* Out-of-range indices */
  GcObject *o = obj_new(2, 0);
  GcObject *v = obj_new(0, 0);
  CHECK_EQ(obj_set_field(o, 2, v), GC_ERR_INDEX);
  CHECK_ERR(GC_ERR_INDEX);
  CHECK_EQ(obj_set_field(o, SIZE_MAX, v), GC_ERR_INDEX);
  CHECK(obj_get_field(o, 2) == NULL);
  CHECK_ERR(GC_ERR_INDEX);
  CHECK(obj_borrow_field(o, 99) == NULL);
  CHECK_ERR(GC_ERR_INDEX);
  CHECK_EQ(obj_refcount(v), 1); /* nothing was stored */
  CHECK_EQ(obj_set_field(v, 0, o), GC_ERR_INDEX); /* no fields at all */

  /* Absurd sizes: GC_ERR_INVALID, nothing counted */
  GcCounts before = gc_get_count();
  CHECK(obj_new(SIZE_MAX, 0) == NULL);
  CHECK_ERR(GC_ERR_INVALID);
  CHECK(obj_new(SIZE_MAX / 8, 0) == NULL);
  CHECK_ERR(GC_ERR_INVALID);
  CHECK(obj_new(0, SIZE_MAX) == NULL);
  CHECK_ERR(GC_ERR_INVALID);
  CHECK(obj_new(1, (size_t)PTRDIFF_MAX) == NULL);
  CHECK_ERR(GC_ERR_INVALID);
  CHECK(obj_new_typed(NULL, 4, SIZE_MAX - 8) == NULL);
  CHECK_ERR(GC_ERR_INVALID);
  /* Huge but representable: the allocator says no */
  CHECK(obj_new(0, (size_t)1 << 46) == NULL);
  CHECK_ERR(GC_ERR_NOMEM);
  CHECK_EQ(gc_get_count().count0, before.count0);

  /* Generations out of range */
  CHECK_EQ(gc_collect_generation(3), GC_ERR_INVALID);
  CHECK_ERR(GC_ERR_INVALID);
  CHECK_EQ(gc_collect_generation(-1), GC_ERR_INVALID);
  GcGenStats s = gc_get_stats(7);
  CHECK(s.collections == 0 && s.collected == 0 && s.uncollectable == 0);
  CHECK_ERR(GC_ERR_INVALID);

  /* Wrong kind of object */
  CHECK(weakref_get(o) == NULL);
  CHECK_ERR(GC_ERR_TYPE);

  /* Callbacks never added; unlock without lock */
  CHECK_EQ(gc_callback_remove(cb, NULL), GC_ERR_INVALID);
  CHECK_ERR(GC_ERR_INVALID);
  gc_unlock();
  CHECK_ERR(GC_ERR_INVALID);

  obj_decref(v);
  obj_decref(o);
  printf("misuse_null_and_range: every misuse reported, no crash\n");
  return 0;
}
