/* Fields hold strong references: set_field takes one, replacing or clearing
 * a field releases the old value, get_field returns a new reference,
 * borrow_field none, and set_field stores the new value before it releases
 * the old one (the old value's finalizer sees the container updated). */
#include "check.h"

static GcObject *container;
static GcObject *seen_in_field;
static void old_finalize(GcObject *self) {
  (void)self;
  seen_in_field = obj_borrow_field(container, 0);
}
static const GcType Old = {"Old", NULL, NULL, old_finalize, NULL};

int main(void) {
  container = obj_new(2, 0);
  GcObject *v = obj_new(0, 0);
  CHECK_EQ(obj_nfields(container), 2);
  CHECK_EQ(obj_set_field(container, 0, v), GC_OK);
  CHECK_EQ(obj_refcount(v), 2);

  GcObject *got = obj_get_field(container, 0); /* new reference */
  CHECK(got == v);
  CHECK_EQ(obj_refcount(v), 3);
  obj_decref(got);
  CHECK(obj_borrow_field(container, 0) == v); /* borrowed: no change */
  CHECK_EQ(obj_refcount(v), 2);

  CHECK_EQ(obj_set_field(container, 0, v), GC_OK); /* same value again */
  CHECK_EQ(obj_refcount(v), 2);
  CHECK_EQ(obj_set_field(container, 1, v), GC_OK);
  CHECK_EQ(obj_refcount(v), 3);
  CHECK_EQ(obj_set_field(container, 1, NULL), GC_OK); /* clear releases */
  CHECK_EQ(obj_refcount(v), 2);
  CHECK(obj_get_field(container, 1) == NULL);
  CHECK_EQ(gc_last_error_code(), GC_OK); /* an empty field is no error */

  /* The old value dies during set_field: its finalizer sees the new value. */
  GcObject *old = obj_new_typed(&Old, 0, 0);
  CHECK_EQ(obj_set_field(container, 0, old), GC_OK);
  obj_decref(old); /* the field holds the only reference now */
  GcObject *fresh = obj_new(0, 0);
  CHECK_EQ(obj_set_field(container, 0, fresh), GC_OK);
  CHECK(seen_in_field == fresh);
  CHECK_EQ(obj_refcount(v), 1); /* v was replaced by old, then old by fresh */

  obj_decref(fresh);
  obj_decref(v);
  obj_decref(container); /* releases fresh through the field */
  printf("fields_hold_references: ok\n");
  return 0;
}
