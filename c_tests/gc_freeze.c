/* gc_freeze moves every tracked object to a permanent generation that no
 * collection examines; gc_get_freeze_count counts the frozen objects still
 * alive; gc_unfreeze moves them back to the oldest generation. */
#include "check.h"

int main(void) {
  gc_disable();
  gc_collect();
  GcObject *a = obj_new(1, 0), *b = obj_new(1, 0);
  obj_set_field(a, 0, b);
  obj_set_field(b, 0, a);
  GcObject *alone = obj_new(1, 0);
  CHECK_EQ(gc_get_count().count0, 3);
  gc_freeze();
  CHECK_EQ(gc_get_freeze_count(), 3);
  CHECK_EQ(gc_get_count().count0, 0);

  obj_decref(a);
  obj_decref(b); /* garbage, but frozen */
  CHECK_EQ(gc_collect(), 0);
  obj_decref(alone); /* frozen objects still die by refcount */
  CHECK_EQ(gc_get_freeze_count(), 2);

  gc_unfreeze();
  CHECK_EQ(gc_get_freeze_count(), 0);
  CHECK_EQ(gc_collect_generation(1), 0); /* they are in generation 2 now */
  CHECK_EQ(gc_collect(), 2);
  printf("gc_freeze: ok\n");
  return 0;
}
