/* gc_visit_type_stats: one group per type of tracked object, plain objects
 * as "(object)", weakrefs as "(weakref)", all untracked objects as
 * "(untracked)"; bytes as allocated, as gc_get_memory counts them (the
 * groups add up to bytes_in_use); largest bytes first (ties: more objects,
 * then name). Sizes on 64-bit: header 32 + 8 per field; a payload is
 * 16-aligned after the fields, and one of more than 31 bytes adds a 16-byte
 * prefix; rounded up to 16. */
#include "introspect.h"

static const GcType Node = {"Node", NULL, NULL, NULL, NULL};
static const GcType Big = {"Big", NULL, NULL, NULL, NULL};

typedef struct {
  GcTypeStats g[16];
  int n;
} Groups;
static int collect_groups(const GcTypeStats *st, void *ctx) {
  Groups *gs = ctx;
  CHECK(gs->n < 16);
  gs->g[gs->n++] = *st;
  return 0;
}
static int stop(const GcTypeStats *st, void *ctx) {
  (void)st;
  ++*(int *)ctx;
  return 3;
}
static void check_group(const GcTypeStats *g, const char *name, const GcType *type,
                        size_t objects, size_t bytes) {
  CHECK(strcmp(g->name, name) == 0);
  CHECK(g->type == type);
  CHECK_EQ(g->objects, objects);
  CHECK_EQ(g->bytes, bytes);
}

int main(void) {
  gc_disable();
  CHECK_EQ(sizeof(void *), 8);
  GcObject *n[3];
  for (int i = 0; i < 3; i++) n[i] = obj_new_typed(&Node, 1, 0); /* 40 -> 48 each */
  GcObject *big = obj_new_typed(&Big, 1, 200); /* 16 + 48 + 200 = 264 -> 272 */
  GcObject *plain[2] = {obj_new(2, 0), obj_new(2, 0)}; /* 48 each */
  GcObject *w = weakref_new(n[0], NULL, NULL);         /* 16 + 32 + 48 = 96 */
  GcObject *u1 = obj_new(0, 16);                       /* untracked: 48 */
  GcObject *u2 = obj_new_typed(&Node, 0, 16);          /* untracked: 48 */
  GcObject *g1 = obj_new(1, 0), *g2 = obj_new(1, 0);   /* garbage: live */
  obj_set_field(g1, 0, g2);
  obj_set_field(g2, 0, g1);
  obj_decref(g1);
  obj_decref(g2);

  Groups gs = {.n = 0};
  CHECK_EQ(gc_visit_type_stats(collect_groups, &gs), GC_OK);
  CHECK_EQ(gs.n, 5);
  check_group(&gs.g[0], "Big", &Big, 1, 272);
  check_group(&gs.g[1], "(object)", NULL, 4, 4 * 48);
  check_group(&gs.g[2], "Node", &Node, 3, 144);
  check_group(&gs.g[3], "(untracked)", NULL, 2, 96); /* ties: more objects first */
  check_group(&gs.g[4], "(weakref)", NULL, 1, 96);
  size_t sum = 0, objects = 0;
  for (int i = 0; i < gs.n; i++) sum += gs.g[i].bytes, objects += gs.g[i].objects;
  CHECK_EQ(sum, gc_get_memory().bytes_in_use);
  CHECK_EQ(objects, gc_get_memory().objects);

  int calls = 0;
  CHECK_EQ(gc_visit_type_stats(stop, &calls), 3);
  CHECK_EQ(calls, 1);
  CHECK_EQ(gc_visit_type_stats(NULL, NULL), GC_ERR_NULL);
  CHECK_ERR(GC_ERR_NULL);

  CHECK_EQ(gc_collect(), 2);
  obj_decref(u1);
  obj_decref(u2);
  obj_decref(w);
  obj_decref(big);
  for (int i = 0; i < 2; i++) obj_decref(plain[i]);
  gs.n = 0;
  CHECK_EQ(gc_visit_type_stats(collect_groups, &gs), GC_OK);
  CHECK_EQ(gs.n, 1);
  check_group(&gs.g[0], "Node", &Node, 3, 144);
  for (int i = 0; i < 3; i++) obj_decref(n[i]);
  gs.n = 0;
  CHECK_EQ(gc_visit_type_stats(collect_groups, &gs), GC_OK);
  CHECK_EQ(gs.n, 0);
  printf("gc_visit_type_stats_groups: ok\n");
  return 0;
}
