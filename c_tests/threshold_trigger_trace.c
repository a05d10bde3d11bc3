/* Automatic collection follows CPython 3.12's policy exactly: the
 * allocation is counted, then checked (with threshold0 = 10 the 11th
 * allocation collects), the oldest generation whose count exceeds its
 * threshold is collected, and a generation-2 collection is skipped (a
 * younger one runs) while long_lived_pending < long_lived_total / 4.
 * Every object stays alive, so a small model of the policy predicts the
 * exact trace of generations collected, which must match the callbacks'. */
#include <string.h>
#include "check.h"

#define N 1500
static char trace[N], model[N];
static void record(GcPhase phase, const GcCallbackInfo *info, void *ctx) {
  (void)ctx;
  if (phase == GC_PHASE_START) trace[strlen(trace)] = (char)('0' + info->generation);
}

/* CPython 3.12's gc_collect_generations, with every object alive. */
static size_t count[3], size[3], pending, total, skips;
static const size_t threshold[3] = {10, 2, 2};
static void model_allocation(void) {
  count[0]++;
  if (count[0] > threshold[0]) {
    int gen = 0;
    for (int i = 2; i >= 0; i--) {
      if (count[i] > threshold[i]) {
        if (i == 2 && pending < total / 4) { skips++; continue; }
        gen = i;
        break;
      }
    }
    model[strlen(model)] = (char)('0' + gen);
    if (gen + 1 < 3) count[gen + 1]++;
    for (int i = 0; i <= gen; i++) count[i] = 0;
    size_t survivors = 0;
    for (int i = 0; i <= gen; i++) { survivors += size[i]; size[i] = 0; }
    if (gen < 2) {
      if (gen == 1) pending += survivors;
      size[gen + 1] += survivors;
    } else {
      pending = 0;
      total = survivors;
      size[2] = survivors;
    }
  }
  size[0]++; /* the new object joins generation 0 after the collection */
}

int main(void) {
  static GcObject *keep[N];
  gc_collect(); /* empty heap: long_lived_total = 0 */
  gc_set_threshold(10, 2, 2);
  GcThresholds t = gc_get_threshold();
  CHECK(t.threshold0 == 10 && t.threshold1 == 2 && t.threshold2 == 2);
  gc_callback_add(record, NULL);

  for (int i = 0; i < 10; i++) { keep[i] = obj_new(1, 0); model_allocation(); }
  CHECK_EQ(strlen(trace), 0);
  CHECK_EQ(gc_get_count().count0, 10);
  keep[10] = obj_new(1, 0); /* the 11th allocation collects generation 0 */
  model_allocation();
  CHECK(strcmp(trace, "0") == 0);
  CHECK_EQ(gc_get_count().count0, 0); /* the new object was counted first */
  CHECK_EQ(gc_get_count().count1, 1);

  for (int i = 11; i < N; i++) {
    keep[i] = obj_new(1, 0);
    model_allocation();
    if (strcmp(trace, model) != 0) {
      fprintf(stderr, "allocation %d:\n  trace %s\n  model %s\n", i + 1, trace, model);
      return 1;
    }
  }
  GcCounts c = gc_get_count();
  CHECK(c.count0 == count[0] && c.count1 == count[1] && c.count2 == count[2]);
  printf("threshold_trigger_trace: %zu collections, %zu generation-2 skips\n  %s\n",
         strlen(trace), skips, trace);
  CHECK(strchr(trace, '2') != NULL); /* full collections happened */
  CHECK(skips > 0);                  /* and the long-lived rule held one back */

  gc_callback_remove(record, NULL);
  for (int i = 0; i < N; i++) obj_decref(keep[i]);
  return 0;
}
