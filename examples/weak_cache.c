/* weak_cache.c: a weak-value cache (Python's weakref.WeakValueDictionary).
 *
 * The cache maps names to documents without keeping them alive: each slot
 * holds a weak reference, whose callback evicts the slot when the last
 * strong reference to the document goes -- at once when refcounting frees
 * it, or at gc_collect() when the document was kept alive by a cycle.
 *
 * Build: gcc -std=c11 -Wall -Wextra -Werror -Iinclude examples/weak_cache.c \
 *            -Ltarget/release -lrcgc -o weak_cache
 * Run:   LD_LIBRARY_PATH=target/release ./weak_cache
 * Prints every step; exits 0 when every check holds, 1 otherwise.
 */
#include <rcgc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "weak_cache: FAILED at line %d: %s\n", __LINE__, #cond); \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

/* ------------------------------------------------------------------ */
/* Documents: the cached values. Field 0 may point at another document
 * (a "parent" link), which is how a document can end up in a cycle.   */

typedef struct {
  char name[32];
  int serial; /* which load produced it */
} Doc;

static int docs_alive;

static void doc_destroy(GcObject *self) {
  Doc *d = obj_payload(self);
  printf("    (document '%s' #%d freed)\n", d->name, d->serial);
  docs_alive--;
}

static const GcType DOC = {.name = "Doc", .destroy = doc_destroy};

static const char *doc_name(GcObject *doc) { return ((Doc *)obj_payload(doc))->name; }
static int doc_serial(GcObject *doc) { return ((Doc *)obj_payload(doc))->serial; }

/* ------------------------------------------------------------------ */
/* The cache: a small open table of (name, weakref) slots.             */

#define SLOTS 8

typedef struct Cache Cache;
typedef struct {
  Cache *cache;
  char name[32];
  GcObject *weakref; /* we own one reference; NULL = empty slot */
} Slot;

struct Cache {
  Slot slots[SLOTS];
  size_t size;
  int hits, misses, evictions, loads;
};

static void cache_init(Cache *c) {
  memset(c, 0, sizeof *c);
  for (size_t i = 0; i < SLOTS; i++) c->slots[i].cache = c;
}

/* Runs when a cached document dies. The weakref is already cleared.
 * The slot may have been given a newer weakref since this one was made;
 * only the weakref the slot still holds may evict it. */
static void on_document_death(GcObject *weakref, void *ctx) {
  Slot *s = ctx;
  CHECK(weakref_get(weakref) == NULL);
  if (s->weakref != weakref) return; /* a stale weakref: not ours to evict */
  printf("    evict '%s' (its document died)\n", s->name);
  s->weakref = NULL;
  s->cache->size--;
  s->cache->evictions++;
  obj_decref(weakref); /* the slot's reference to the weakref object */
}

static Slot *cache_slot(Cache *c, const char *name) {
  for (size_t i = 0; i < SLOTS; i++)
    if (c->slots[i].weakref && strcmp(c->slots[i].name, name) == 0) return &c->slots[i];
  return NULL;
}

/* cache[name] = doc: doc is borrowed; the cache keeps only a weakref. */
static void cache_put(Cache *c, const char *name, GcObject *doc) {
  Slot *s = cache_slot(c, name);
  if (s) {
    /* Replacing: dropping the old weakref object kills it before its
     * target, so its callback will never run. */
    obj_decref(s->weakref);
    s->weakref = NULL;
    c->size--;
  } else {
    for (size_t i = 0; i < SLOTS && !s; i++)
      if (!c->slots[i].weakref) s = &c->slots[i];
    CHECK(s != NULL); /* the example never fills the table */
  }
  snprintf(s->name, sizeof s->name, "%s", name);
  s->weakref = weakref_new(doc, on_document_death, s);
  CHECK(s->weakref != NULL);
  c->size++;
}

/* cache.get(name): a new reference to the document, or NULL. */
static GcObject *cache_get(Cache *c, const char *name) {
  Slot *s = cache_slot(c, name);
  return s ? weakref_get(s->weakref) : NULL;
}

/* Drop every slot (the documents are not touched). */
static void cache_clear(Cache *c) {
  for (size_t i = 0; i < SLOTS; i++) {
    if (c->slots[i].weakref) {
      obj_decref(c->slots[i].weakref);
      c->slots[i].weakref = NULL;
      c->size--;
    }
  }
}

/* "Load" a document from storage: a new reference to a new object. */
static GcObject *load_document(Cache *c, const char *name) {
  GcObject *doc = obj_new_typed(&DOC, 1, sizeof(Doc));
  CHECK(doc != NULL);
  Doc *d = obj_payload(doc);
  snprintf(d->name, sizeof d->name, "%s", name);
  d->serial = ++c->loads;
  docs_alive++;
  return doc;
}

/* Return a new reference to the document `name`, from the cache when some
 * strong reference still keeps it alive, else freshly loaded and cached. */
static GcObject *open_document(Cache *c, const char *name) {
  GcObject *doc = cache_get(c, name);
  if (doc) {
    c->hits++;
    printf("  open '%s': cache hit (#%d)\n", name, doc_serial(doc));
    return doc;
  }
  c->misses++;
  doc = load_document(c, name);
  cache_put(c, name, doc);
  printf("  open '%s': cache miss, loaded #%d\n", name, doc_serial(doc));
  return doc;
}

/* ------------------------------------------------------------------ */

int main(void) {
  Cache cache;
  cache_init(&cache);
  printf("weak_cache: a weak-value cache of documents\n\n");

  printf("1. Two documents, opened twice: the second open is a hit\n");
  GcObject *report = open_document(&cache, "report");
  GcObject *notes = open_document(&cache, "notes");
  GcObject *again = open_document(&cache, "report");
  CHECK(again == report);
  CHECK(obj_refcount(report) == 2); /* ours twice; the cache holds none */
  obj_decref(again);
  CHECK(cache.size == 2 && cache.hits == 1 && cache.misses == 2);

  printf("\n2. The last reference to 'report' goes: evicted at once\n");
  obj_decref(report);
  CHECK(cache.size == 1 && cache.evictions == 1 && docs_alive == 1);
  GcObject *missing = cache_get(&cache, "report");
  CHECK(missing == NULL);
  report = open_document(&cache, "report"); /* loaded afresh */
  CHECK(doc_serial(report) == 3 && cache.misses == 3);

  printf("\n3. A document kept alive only by a cycle stays until gc_collect()\n");
  GcObject *draft = open_document(&cache, "draft");
  GcObject *child = obj_new(1, 0); /* draft -> child -> draft */
  CHECK(child != NULL);
  CHECK(obj_set_field(draft, 0, child) == GC_OK);
  CHECK(obj_set_field(child, 0, draft) == GC_OK);
  obj_decref(child);
  obj_decref(draft);
  printf("  released 'draft' (in a cycle): cache size %zu\n", cache.size);
  CHECK(cache.size == 3 && cache.evictions == 1);
  GcObject *peek = cache_get(&cache, "draft");
  CHECK(peek != NULL); /* still there: refcounting cannot free the cycle */
  obj_decref(peek);
  printf("  gc_collect():\n");
  int64_t found = gc_collect();
  printf("  gc_collect() found %lld unreachable objects\n", (long long)found);
  /* The document and its child, plus the cache's weakref, which the
   * eviction callback released: CPython counts it too (handle_weakrefs). */
  CHECK(found == 3);
  CHECK(cache.size == 2 && cache.evictions == 2);
  peek = cache_get(&cache, "draft");
  CHECK(peek == NULL);

  printf("\n4. Replacing an entry: the old weakref dies first, its callback never runs\n");
  GcObject *notes2 = load_document(&cache, "notes");
  cache_put(&cache, "notes", notes2);
  obj_decref(notes); /* the old 'notes' dies: the slot now belongs to notes2 */
  CHECK(cache.size == 2 && cache.evictions == 2);
  GcObject *n = cache_get(&cache, "notes");
  CHECK(n == notes2);
  printf("  cache['notes'] is now #%d ('%s')\n", doc_serial(n), doc_name(n));
  obj_decref(n);

  printf("\n5. Releasing everything empties the cache\n");
  obj_decref(notes2);
  obj_decref(report);
  printf("  cache size %zu, %d hits, %d misses, %d evictions\n", cache.size, cache.hits,
         cache.misses, cache.evictions);
  CHECK(cache.size == 0 && cache.evictions == 4 && docs_alive == 0);
  cache_clear(&cache); /* nothing left, but the call is how a cache is torn down */
  CHECK(gc_collect() == 0);

  printf("\nweak_cache: all checks passed\n");
  return 0;
}
