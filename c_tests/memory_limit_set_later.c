/* A memory limit set while objects are being made with none (the straight
 * creation paths in use): the very next creation sees it, tracked or
 * untracked, and refuses exactly; cleared, creation goes on. */
#include <string.h>
#include "check.h"

static size_t in_use(void) { return gc_get_memory().bytes_in_use; }

static void check_refused(GcObject *o, size_t used) {
  CHECK(o == NULL);
  CHECK_ERR(GC_ERR_NOMEM);
  CHECK(strstr(gc_last_error(), "memory limit") != NULL);
  CHECK_EQ(in_use(), used);
}

int main(void) {
  CHECK_EQ(gc_get_memory_limit(), 0);
  /* Warm the straight paths: objects made and dropped with no limit. */
  for (int i = 0; i < 1000; i++) {
    obj_decref(obj_new(2, 0));
    obj_decref(obj_new(0, 16));
  }
  GcObject *pair = obj_new(2, 0), *leaf = obj_new(0, 16);
  CHECK(pair != NULL && leaf != NULL);
  size_t used = in_use();
  CHECK_EQ(used, 48 + 48);
  gc_disable(); /* (the refusal's full collection would find nothing) */
  CHECK_EQ(gc_set_memory_limit(used), GC_OK);
  check_refused(obj_new(2, 0), used);
  check_refused(obj_new(0, 16), used);
  CHECK_EQ(gc_set_memory_limit(0), GC_OK);
  GcObject *again = obj_new(2, 0);
  CHECK(again != NULL);
  obj_decref(again);
  obj_decref(pair);
  obj_decref(leaf);
  CHECK_EQ(in_use(), 0);
  printf("memory_limit_set_later: ok\n");
  return 0;
}
