/* For the scenarios that pin which generation automatic collections pick:
 * with threshold0 = 5 and collection disabled, `next_automatic_generation`
 * enables it, makes the six objects whose last triggers one, and returns
 * the generation that collection took (-1 if none ran), collection
 * disabled again and the objects released. `record_generation` must be a
 * registered gc callback. */
#ifndef RCGC_AUTOMATIC_H
#define RCGC_AUTOMATIC_H

#include "check.h"

static int last_generation = -1;

static void record_generation(GcPhase phase, const GcCallbackInfo *info, void *ctx) {
  (void)ctx;
  if (phase == GC_PHASE_START) last_generation = info->generation;
}

static int next_automatic_generation(void) {
  gc_enable();
  last_generation = -1;
  GcObject *fresh[6];
  for (int i = 0; i < 6; i++) fresh[i] = obj_new(1, 0); /* the 6th collects */
  int generation = last_generation;
  gc_disable();
  for (int i = 0; i < 6; i++) obj_decref(fresh[i]);
  return generation;
}

#endif
