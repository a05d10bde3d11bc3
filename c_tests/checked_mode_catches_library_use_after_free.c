/* Checked mode must also catch the library's own use of an object the host
 * freed too early (an extra obj_decref): whenever the library is about to
 * touch a freed object (releasing a field, a collection's scan, a field's
 * old or current value), it aborts with the one line naming the object:
 *  (a) an extra obj_decref(self) in the finalizer of a cycle member;
 *  (b) an extra decref, then the holder of a field still pointing at the
 *      freed object dies and releases it;
 *  (c) the same stale field met by a collection's scan;
 *  (d) the stale field read by obj_get_field / replaced by obj_set_field.
 * Without checked mode, (b) must not corrupt the pool: the stale release
 * finds a count of 0 and is refused (GC_ERR_INVALID), and later objects are
 * sound (16-aligned, distinct); not run under ASan (no pool there). */
#include "death_test.h"

static const GcType Node = {"Node", NULL, NULL, NULL, NULL};
static const GcType Holder = {"Holder", NULL, NULL, NULL, NULL};

static void extra_decref_fin(GcObject *self) {
  death_publish(self);
  obj_decref(self); /* the bug: one release too many */
}
static const GcType A = {"A", NULL, NULL, extra_decref_fin, NULL};
static void finalizer_extra_decref_in_cycle(void) {
  GcObject *a = obj_new_typed(&A, 1, 0), *b = obj_new_typed(&Node, 1, 0);
  obj_set_field(a, 0, b);
  obj_set_field(b, 0, a);
  obj_decref(a);
  obj_decref(b);
  gc_collect();
}

/* A holder whose field 0 still points at a Node freed by an extra decref. */
static GcObject *stale_holder(int self_cycle) {
  GcObject *h = obj_new_typed(&Holder, 2, 0);
  GcObject *o = obj_new_typed(&Node, 1, 0);
  obj_set_field(h, 0, o);
  if (self_cycle) obj_set_field(h, 1, h);
  death_publish(o);
  obj_decref(o);
  obj_decref(o); /* the bug: the field's reference is released too */
  return h;
}
static void holder_death_releases_stale_field(void) { obj_decref(stale_holder(0)); }
static void collection_scans_stale_field(void) {
  obj_decref(stale_holder(1)); /* kept alive by its own cycle */
  gc_collect();
}
static void get_field_of_stale_field(void) {
  GcObject *v = obj_get_field(stale_holder(0), 0);
  obj_decref(v);
}
static void set_field_over_stale_field(void) { obj_set_field(stale_holder(0), 0, NULL); }

#if !defined(__SANITIZE_ADDRESS__)
static void unchecked_stale_release_is_refused(void) {
  /* Two freed objects of the stale one's size first, so its memory is not
   * the last free block of its size class (the holder is larger). */
  GcObject *x1 = obj_new_typed(&Node, 1, 0), *x2 = obj_new_typed(&Node, 1, 0);
  obj_decref(x1);
  obj_decref(x2);
  GcObject *h = obj_new_typed(&Holder, 3, 0);
  GcObject *o = obj_new_typed(&Node, 1, 0);
  obj_set_field(h, 0, o);
  obj_decref(o);
  obj_decref(o); /* the bug */
  obj_decref(h); /* releases the stale field: must be refused */
  CHECK_EQ(gc_last_error_code(), GC_ERR_INVALID);
  GcObject *made[64];
  for (int i = 0; i < 64; i++) {
    made[i] = obj_new_typed(&Node, 1, 0);
    CHECK(made[i] != NULL);
    if (((uintptr_t)made[i] & 15) != 0) {
      fprintf(stderr, "allocator corrupted: obj_new returned %p\n", (void *)made[i]);
      exit(1);
    }
    for (int j = 0; j < i; j++) CHECK(made[j] != made[i]);
    CHECK_EQ(obj_refcount(made[i]), 1);
  }
  for (int i = 0; i < 64; i++) obj_decref(made[i]);
}
#endif

int main(void) {
  printf("checked_mode_catches_library_use_after_free:\n");
  const char *freed_node = "object of type \"Node\" was already freed";
  expect_abort("(a) extra decref in a cycle member's finalizer", finalizer_extra_decref_in_cycle,
               "obj_decref", "object of type \"A\" was already freed");
  expect_abort("(b) holder's death releases a stale field", holder_death_releases_stale_field,
               "obj_decref", freed_node);
  expect_abort("(c) a collection scans a stale field", collection_scans_stale_field, "gc_collect",
               freed_node);
  expect_abort("(d) obj_get_field of a stale field", get_field_of_stale_field, "obj_get_field",
               freed_node);
  expect_abort("(d) obj_set_field over a stale field", set_field_over_stale_field, "obj_set_field",
               freed_node);
#if !defined(__SANITIZE_ADDRESS__)
  /* (The ASan build takes every object from malloc, not the pool: the stale
   * release is then a read of freed malloc memory, which ASan reports.) */
  if (!gc_checks_enabled() && !death_failed) {
    unchecked_stale_release_is_refused();
    printf("  unchecked: the stale release was refused, the allocator is sound\n");
  }
#endif
  return death_failed;
}
