/* A typed object dying by refcount goes through the death order: finalize,
 * then its fields are released and its clear hook runs, then destroy, then
 * free. The child released at step 4 dies after its parent (a death caused
 * during another death is queued), before obj_decref returns. The payload is
 * zeroed and 16-byte aligned. */
#include <stdint.h>
#include <string.h>
#include "check.h"

static char trace[64];
static void add(char c) { trace[strlen(trace)] = c; }

static void fin(GcObject *self) { (void)self; add('F'); }
static void clear(GcObject *self) {
  /* fields were already released: the child is gone */
  CHECK(obj_borrow_field(self, 0) == NULL);
  add('C');
}
static void destroy(GcObject *self) {
  CHECK(*(int *)obj_payload(self) == 42);
  add('D');
}
static void child_destroy(GcObject *self) { (void)self; add('c'); }
static const GcType Host = {"Host", NULL, clear, fin, destroy};
static const GcType Child = {"Child", NULL, NULL, NULL, child_destroy};

int main(void) {
  GcObject *o = obj_new_typed(&Host, 1, 40);
  CHECK(o != NULL);
  CHECK_EQ(obj_payload_size(o), 40);
  unsigned char *p = obj_payload(o);
  CHECK(p != NULL);
  CHECK_EQ((uintptr_t)p % 16, 0);
  for (int i = 0; i < 40; i++) CHECK_EQ(p[i], 0);
  *(int *)p = 42;

  GcObject *c = obj_new_typed(&Child, 0, 0);
  CHECK(!gc_is_tracked(c)); /* no fields, no traverse: never tracked */
  CHECK(gc_is_tracked(o));
  obj_set_field(o, 0, c);
  obj_decref(c);

  CHECK(!gc_is_finalized(o));
  obj_decref(o);
  CHECK(strcmp(trace, "FCDc") == 0);
  printf("typed_hooks_refcount_death: %s\n", trace);
  return 0;
}
