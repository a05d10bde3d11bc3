/* A small heap with a planted object, dumped for tests/heapsnapshot/check.sh:
 *   App (held) -> Registry -> Entry =payload=> Planted
 *   Registry -> an untracked leaf; a weakref (held) -> Planted (weak);
 *   a garbage cycle Cycle <-> Cycle awaiting collection.
 * Usage: planted <snapshot path> <dot path> */
#include <stdio.h>
#include <stdlib.h>
#include "rcgc.h"

#define CHECK(c)                                                   \
  do {                                                             \
    if (!(c)) {                                                    \
      fprintf(stderr, "planted: line %d: %s\n", __LINE__, #c);     \
      exit(1);                                                     \
    }                                                              \
  } while (0)

typedef struct { GcObject *ref; } Payload;
static void traverse(GcObject *self, GcVisitFn visit, void *ctx) {
  Payload *p = obj_payload(self);
  if (p->ref) visit(p->ref, ctx);
}
static void clear(GcObject *self) {
  Payload *p = obj_payload(self);
  GcObject *r = p->ref;
  p->ref = NULL;
  obj_decref(r);
}
static const GcType App = {"App", NULL, NULL, NULL, NULL};
static const GcType Registry = {"Registry", NULL, NULL, NULL, NULL};
static const GcType Entry = {"Entry", traverse, clear, NULL, NULL};
static const GcType Planted = {"Planted", NULL, NULL, NULL, NULL};
static const GcType Cycle = {"Cycle", NULL, NULL, NULL, NULL};

int main(int argc, char **argv) {
  CHECK(argc == 3);
  gc_disable();
  GcObject *app = obj_new_typed(&App, 1, 0);
  GcObject *registry = obj_new_typed(&Registry, 2, 0);
  GcObject *entry = obj_new_typed(&Entry, 0, sizeof(Payload));
  GcObject *planted = obj_new_typed(&Planted, 1, 0);
  GcObject *leaf = obj_new(0, 8);
  GcObject *wr = weakref_new(planted, NULL, NULL);
  GcObject *c1 = obj_new_typed(&Cycle, 1, 0), *c2 = obj_new_typed(&Cycle, 1, 0);
  obj_set_field(app, 0, registry);
  obj_set_field(registry, 0, entry);
  obj_set_field(registry, 1, leaf);
  ((Payload *)obj_payload(entry))->ref = planted; /* our reference moves there */
  obj_set_field(c1, 0, c2);
  obj_set_field(c2, 0, c1);
  obj_decref(registry);
  obj_decref(entry);
  obj_decref(leaf);
  obj_decref(c1);
  obj_decref(c2);
  CHECK(gc_dump_heap(argv[1], GC_DUMP_HEAPSNAPSHOT) == GC_OK);
  CHECK(gc_dump_heap(argv[2], GC_DUMP_DOT) == GC_OK);
  obj_decref(wr);
  obj_decref(app);
  CHECK(gc_collect() == 2);
  return 0;
}
