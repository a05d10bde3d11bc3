/* Weakref API misuse is an error code, never a crash: weakref_get on an
 * object that is not a weakref gives NULL with GC_ERR_TYPE; NULL arguments
 * give GC_ERR_NULL (weakref_get, weakref_new) or a harmless default
 * (weakref_count, obj_is_weakref). Weakref objects have no fields
 * (obj_set_field/obj_get_field: GC_ERR_INDEX), no payload and no type, and
 * are tracked; a failed call changes no reference count. */
#include "check.h"

static void callback(GcObject *wr, void *ctx) { (void)wr; (void)ctx; }

int main(void) {
  GcObject *obj = obj_new(1, 8);
  CHECK(obj != NULL);
  CHECK(!obj_is_weakref(obj));
  CHECK(!obj_is_weakref(NULL));

  /* weakref_get on a non-weakref. */
  CHECK(weakref_get(obj) == NULL);
  CHECK_ERR(GC_ERR_TYPE);
  CHECK_EQ(obj_refcount(obj), 1);

  /* NULL arguments. */
  CHECK(weakref_get(NULL) == NULL);
  CHECK_ERR(GC_ERR_NULL);
  CHECK(weakref_new(NULL, NULL, NULL) == NULL);
  CHECK_ERR(GC_ERR_NULL);
  CHECK(weakref_new(NULL, callback, obj) == NULL);
  CHECK_ERR(GC_ERR_NULL);
  CHECK_EQ(weakref_count(NULL), 0);
  CHECK_EQ(weakref_count(obj), 0);

  /* A weakref object: no fields, no payload, no type; tracked. */
  GcObject *wr = weakref_new(obj, NULL, NULL);
  CHECK(wr != NULL);
  CHECK(obj_is_weakref(wr));
  CHECK_EQ(obj_refcount(wr), 1);
  CHECK_EQ(obj_nfields(wr), 0);
  CHECK(obj_payload(wr) == NULL);
  CHECK_EQ(obj_payload_size(wr), 0);
  CHECK(obj_type(wr) == NULL);
  CHECK(gc_is_tracked(wr));
  CHECK_EQ(obj_set_field(wr, 0, obj), GC_ERR_INDEX);
  CHECK_ERR(GC_ERR_INDEX);
  CHECK_EQ(obj_set_field(wr, 0, NULL), GC_ERR_INDEX);
  CHECK_ERR(GC_ERR_INDEX);
  CHECK(obj_get_field(wr, 0) == NULL);
  CHECK_ERR(GC_ERR_INDEX);
  CHECK_EQ(obj_refcount(obj), 1); /* the failed store took no reference */
  CHECK_EQ(weakref_count(obj), 1);
  CHECK_EQ(weakref_count(wr), 0); /* nothing points at the weakref itself */

  /* A weakref to a weakref is a weakref to an object like any other. */
  GcObject *wrwr = weakref_new(wr, NULL, NULL);
  CHECK(wrwr != NULL);
  CHECK_EQ(weakref_count(wr), 1);
  GcObject *got = weakref_get(wrwr);
  CHECK(got == wr);
  obj_decref(got);
  got = weakref_get(wr);
  CHECK(got == obj);
  obj_decref(got);

  /* After the target died, weakref_get is NULL. */
  obj_decref(obj);
  CHECK(weakref_get(wr) == NULL);
  CHECK_EQ(obj_set_field(wr, 0, NULL), GC_ERR_INDEX); /* still no fields */
  CHECK_ERR(GC_ERR_INDEX);
  obj_decref(wr);
  CHECK(weakref_get(wrwr) == NULL);
  obj_decref(wrwr);

  /* Still NULL-safe at the end. */
  obj_incref(NULL);
  obj_decref(NULL);
  CHECK(weakref_get(NULL) == NULL);
  CHECK_ERR(GC_ERR_NULL);

  printf("weakref_misuse: wrong kinds and NULLs gave error codes, weakrefs have no fields\n");
  return 0;
}
