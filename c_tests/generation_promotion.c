/* Survivors move to the next older generation: cyclic garbage that
 * survived (while still referenced) into generation 1 is not freed by a
 * generation-0 collection, only by a collection of generation 1 or older. */
#include "check.h"

static int destroyed;
static void destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType Node = {"Node", NULL, NULL, NULL, destroy};

int main(void) {
  gc_disable();
  gc_collect();
  GcObject *a = obj_new_typed(&Node, 1, 0), *b = obj_new_typed(&Node, 1, 0);
  obj_set_field(a, 0, b);
  obj_set_field(b, 0, a);
  obj_decref(b);
  CHECK_EQ(gc_collect_generation(0), 0); /* a is held: both survive into gen 1 */
  obj_decref(a);                          /* now the cycle is garbage in gen 1 */

  CHECK_EQ(gc_collect_generation(0), 0);
  CHECK_EQ(destroyed, 0);
  CHECK_EQ(gc_collect_generation(1), 2);
  CHECK_EQ(destroyed, 2);

  /* Into generation 2: only a full collection frees it. */
  a = obj_new_typed(&Node, 1, 0);
  b = obj_new_typed(&Node, 1, 0);
  obj_set_field(a, 0, b);
  obj_set_field(b, 0, a);
  obj_decref(b);
  gc_collect_generation(1); /* gen 0 + 1 -> gen 2 */
  obj_decref(a);
  CHECK_EQ(gc_collect_generation(0), 0);
  CHECK_EQ(gc_collect_generation(1), 0);
  CHECK_EQ(destroyed, 2);
  CHECK_EQ(gc_collect_generation(2), 2);
  CHECK_EQ(destroyed, 4);
  printf("generation_promotion: ok\n");
  return 0;
}
