/* A cycle reachable from a live root survives every collection, and so
 * does everything it references; it is collected once the root lets go. */
#include "check.h"

static int destroyed;
static void destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType Node = {"Node", NULL, NULL, NULL, destroy};

int main(void) {
  gc_disable();
  GcObject *root = obj_new_typed(&Node, 1, 0);
  GcObject *a = obj_new_typed(&Node, 2, 0), *b = obj_new_typed(&Node, 2, 0);
  GcObject *leaf = obj_new_typed(&Node, 0, 0);
  obj_set_field(root, 0, a);
  obj_set_field(a, 0, b);
  obj_set_field(b, 0, a);
  obj_set_field(b, 1, leaf);
  obj_decref(a);
  obj_decref(b);
  obj_decref(leaf);

  for (int g = 0; g <= 2; g++) CHECK_EQ(gc_collect_generation(g), 0);
  CHECK_EQ(destroyed, 0);
  CHECK(obj_borrow_field(obj_borrow_field(root, 0), 0) == b);

  obj_set_field(root, 0, NULL);
  CHECK_EQ(destroyed, 0);
  CHECK_EQ(gc_collect(), 2); /* a and b; leaf is untracked, freed along */
  CHECK_EQ(destroyed, 3);
  obj_decref(root);
  printf("cycle_reachable_from_root: ok\n");
  return 0;
}
