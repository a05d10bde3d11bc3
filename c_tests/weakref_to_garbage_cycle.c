/* Weakrefs held from outside to the members of a garbage cycle whose members
 * have finalizers (a <-> b). Death order steps 1 and 3: during the finalizers
 * the weakrefs are intact, so a finalizer can look both objects up through
 * them (and releases what it got, so nothing is resurrected); a finalizer also
 * creates a new weakref to its object. After gc_collect every one of those
 * weakrefs is NULL, and each callback ran once, after all finalizers and
 * before any destroy, seeing NULL for all of them. Then the same on the
 * refcount path for one object. */
#include "check.h"

enum { MAGIC = 0x5eed, DEAD = 0xdead };
typedef struct { int magic; int id; } Payload;
static GcObject *wr[2], *late[2]; /* weakrefs to a and b; made by finalizers */
static int nodes, finalized, destroyed, calls, late_calls;

static int id_of(GcObject *o) {
  Payload *p = obj_payload(o);
  CHECK_EQ(p->magic, MAGIC);
  return p->id;
}
static void check_all_cleared(void) {
  for (int i = 0; i < 2; i++) {
    CHECK(weakref_get(wr[i]) == NULL);
    if (late[i]) CHECK(weakref_get(late[i]) == NULL);
  }
}
static void callback(GcObject *w, void *ctx) {
  int i = (int)(size_t)ctx;
  CHECK(w == wr[i]);
  calls++;
  check_all_cleared();
  CHECK_EQ(destroyed, 0);
}
static void late_callback(GcObject *w, void *ctx) {
  int i = (int)(size_t)ctx;
  CHECK(w == late[i]);
  late_calls++;
  check_all_cleared();
  CHECK_EQ(destroyed, 0);
}

static void on_finalize(GcObject *self) {
  int me = id_of(self);
  finalized++;
  CHECK_EQ(weakref_count(self), 1);
  for (int i = 0; i < 2; i++) {
    if (!wr[i]) continue;
    GcObject *o = weakref_get(wr[i]); /* a new reference... */
    CHECK(o != NULL);
    CHECK_EQ(id_of(o), i);
    obj_decref(o); /* ...released again: no resurrection */
  }
  late[me] = weakref_new(self, late_callback, (void *)(size_t)me);
  CHECK(late[me] != NULL);
  CHECK_EQ(weakref_count(self), 2);
}
static void on_destroy(GcObject *self) {
  CHECK_EQ(finalized, nodes); /* all finalizers ran first */
  ((Payload *)obj_payload(self))->magic = DEAD;
  destroyed++;
}
static const GcType Node = {"Node", NULL, NULL, on_finalize, on_destroy};

static GcObject *node(int id) {
  GcObject *o = obj_new_typed(&Node, 1, sizeof(Payload));
  CHECK(o != NULL);
  *(Payload *)obj_payload(o) = (Payload){MAGIC, id};
  nodes++;
  wr[id] = weakref_new(o, callback, (void *)(size_t)id);
  CHECK(wr[id] != NULL);
  return o;
}
static void release_weakrefs(void) {
  for (int i = 0; i < 2; i++) {
    obj_decref(wr[i]);
    obj_decref(late[i]);
    wr[i] = late[i] = NULL;
  }
}

int main(void) {
  gc_disable();
  gc_collect();

  /* Collector path. */
  GcObject *a = node(0), *b = node(1);
  CHECK_EQ(obj_set_field(a, 0, b), GC_OK);
  CHECK_EQ(obj_set_field(b, 0, a), GC_OK);
  obj_decref(a);
  obj_decref(b);
  CHECK_EQ(gc_collect(), 2);
  CHECK_EQ(finalized, 2);
  CHECK_EQ(destroyed, 2);
  CHECK_EQ(calls, 2);
  CHECK_EQ(late_calls, 2); /* weakrefs created during step 1 are cleared too */
  check_all_cleared();
  release_weakrefs();
  CHECK_EQ(gc_collect(), 0);

  /* Refcount path: one object finalized by its last release. */
  nodes = finalized = destroyed = calls = late_calls = 0;
  GcObject *c = node(0);
  obj_decref(c);
  CHECK_EQ(finalized, 1);
  CHECK_EQ(destroyed, 1);
  CHECK_EQ(calls, 1);
  CHECK_EQ(late_calls, 1);
  check_all_cleared();
  release_weakrefs();
  CHECK_EQ(gc_collect(), 0);

  printf("weakref_to_garbage_cycle: weakrefs worked in finalizers, then were cleared before callbacks\n");
  return 0;
}
