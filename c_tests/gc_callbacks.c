/* gc_callback_add/remove: callbacks run at the start and stop of every
 * collection (explicit and automatic), on the collecting thread, in the
 * order added, with the generation and the figures; a collection requested
 * from a callback returns 0 (one is already running). */
#include <string.h>
#include "check.h"

static char log_[64];
static GcCallbackInfo last_stop;
static void cb(GcPhase phase, const GcCallbackInfo *info, void *ctx) {
  char tag = *(const char *)ctx;
  log_[strlen(log_)] = phase == GC_PHASE_START ? tag : (char)(tag - 32);
  if (phase == GC_PHASE_START) {
    CHECK(info->collected == 0 && info->uncollectable == 0);
    CHECK_EQ(gc_collect(), 0); /* re-entrant: no nested collection */
  } else {
    last_stop = *info;
  }
}

int main(void) {
  static const char a = 'a', b = 'b';
  gc_disable();
  CHECK_EQ(gc_callback_add(cb, (void *)&a), GC_OK);
  CHECK_EQ(gc_callback_add(cb, (void *)&b), GC_OK);

  GcObject *x = obj_new(1, 0), *y = obj_new(1, 0);
  obj_set_field(x, 0, y);
  obj_set_field(y, 0, x);
  obj_decref(x);
  obj_decref(y);
  CHECK_EQ(gc_collect_generation(1), 2);
  CHECK(strcmp(log_, "abAB") == 0);
  CHECK_EQ(last_stop.generation, 1);
  CHECK_EQ(last_stop.collected, 2);
  CHECK_EQ(last_stop.uncollectable, 0);

  CHECK_EQ(gc_callback_remove(cb, (void *)&a), GC_OK);
  CHECK_EQ(gc_callback_remove(cb, (void *)&a), GC_ERR_INVALID);
  memset(log_, 0, sizeof log_);
  gc_collect();
  CHECK(strcmp(log_, "bB") == 0);
  CHECK_EQ(last_stop.generation, 2);

  /* automatic collections call them too */
  memset(log_, 0, sizeof log_);
  gc_set_threshold(3, 10, 10);
  gc_enable();
  GcObject *keep[4];
  for (int i = 0; i < 4; i++) keep[i] = obj_new(1, 0);
  CHECK(strcmp(log_, "bB") == 0);
  CHECK_EQ(last_stop.generation, 0);
  for (int i = 0; i < 4; i++) obj_decref(keep[i]);
  CHECK_EQ(gc_callback_remove(cb, (void *)&b), GC_OK);
  printf("gc_callbacks: ok\n");
  return 0;
}
