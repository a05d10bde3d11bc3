/* A cycle made only through payload references: the host's traverse hook
 * reports them and its clear hook drops them, so the collector can find and
 * break the cycle. Without a traverse hook the same cycle would leak. */
#include "check.h"

typedef struct { GcObject *peer; int id; } Host;
static int destroyed;

static void traverse(GcObject *self, GcVisitFn visit, void *ctx) {
  Host *h = obj_payload(self);
  if (h->peer) visit(h->peer, ctx);
}
static void clear(GcObject *self) {
  Host *h = obj_payload(self);
  GcObject *p = h->peer;
  h->peer = NULL;
  obj_decref(p);
}
static void destroy(GcObject *self) {
  CHECK(((Host *)obj_payload(self))->peer == NULL); /* cleared first */
  destroyed++;
}
static const GcType HostType = {"Host", traverse, clear, NULL, destroy};

static GcObject *host(int id) {
  GcObject *o = obj_new_typed(&HostType, 0, sizeof(Host)); /* no fields */
  ((Host *)obj_payload(o))->id = id;
  return o;
}
static void link_(GcObject *from, GcObject *to) {
  gc_lock(); /* payload references change under the heap lock */
  obj_incref(to);
  ((Host *)obj_payload(from))->peer = to;
  gc_unlock();
}

int main(void) {
  gc_disable();
  GcObject *a = host(1), *b = host(2);
  CHECK(gc_is_tracked(a)); /* a traverse hook makes it tracked */
  link_(a, b);
  link_(b, a);
  obj_decref(a);
  obj_decref(b);
  CHECK_EQ(destroyed, 0);
  CHECK_EQ(gc_collect(), 2);
  CHECK_EQ(destroyed, 2);

  /* On the refcount path the clear hook releases payload references too. */
  GcObject *c = host(3), *d = host(4);
  link_(c, d);
  obj_decref(d);
  obj_decref(c);
  CHECK_EQ(destroyed, 4);
  printf("payload_cycle: ok\n");
  return 0;
}
