/* The tutorial's Node cycle:
 *   node1.next = node2; node2.next = node1; del node1; del node2
 * Reference counting cannot free it; gc_collect() finds both and frees them. */
#include "check.h"

enum { VALUE = 0, NEXT = 1 };
static int destroyed;
static void on_destroy(GcObject *self) { (void)self; destroyed++; }
static const GcType Node = {"Node", NULL, NULL, NULL, on_destroy};

int main(void) {
  gc_disable(); /* only the explicit collection below may run */
  gc_collect();
  GcObject *node1 = obj_new_typed(&Node, 2, 0);
  GcObject *node2 = obj_new_typed(&Node, 2, 0);
  CHECK(node1 && node2);
  CHECK(gc_is_tracked(node1));
  CHECK_EQ(obj_set_field(node1, NEXT, node2), GC_OK);
  CHECK_EQ(obj_set_field(node2, NEXT, node1), GC_OK);
  CHECK_EQ(obj_refcount(node1), 2);
  CHECK_EQ(obj_refcount(node2), 2);

  obj_decref(node1); /* del node1 */
  obj_decref(node2); /* del node2 */
  CHECK_EQ(destroyed, 0); /* both still alive: each holds the other */

  CHECK_EQ(gc_collect(), 2);
  CHECK_EQ(destroyed, 2);
  CHECK_EQ(gc_collect(), 0);
  printf("cycle_two_nodes: survived refcounting, gc_collect() found 2\n");
  return 0;
}
