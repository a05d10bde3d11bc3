/* find_leak.c: finding a planted leak with the leak report and a why-alive
 * chain.
 *
 * The "program": an event bus (a global Bus) to which every Request
 * subscribes a Listener while it is handled. The planted bug: handling a
 * request forgets to unsubscribe, so the bus keeps every request alive.
 *
 * Step 1 runs the buggy program as a child with RCGC_LEAK_REPORT=1: at exit
 * rcgc prints what is still alive, largest group first, and why.
 * Step 2 does what its author would do next, inside the program: ask
 * gc_visit_type_stats what grows, and gc_why_alive why one Request is alive.
 * Step 3 fixes the bug (unsubscribe) and checks that nothing leaks.
 *
 * Build: gcc -std=c11 -Wall -Wextra -Werror -Iinclude examples/find_leak.c \
 *            -Ltarget/release -lrcgc -o find_leak
 * Run:   LD_LIBRARY_PATH=target/release ./find_leak
 * Exits 0 when every check holds, 1 otherwise.
 */
#define _GNU_SOURCE
#include <rcgc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "find_leak: FAILED at line %d: %s\n", __LINE__, #cond); \
      exit(1);                                                              \
    }                                                                       \
  } while (0)

static const GcType Bus = {"Bus", NULL, NULL, NULL, NULL};           /* field 0: first Listener */
static const GcType Listener = {"Listener", NULL, NULL, NULL, NULL}; /* 0: next, 1: Request */
static const GcType Request = {"Request", NULL, NULL, NULL, NULL};   /* 0: reply; payload: the body */

static GcObject *bus; /* the program's one global */

static void subscribe(GcObject *request) {
  GcObject *l = obj_new_typed(&Listener, 2, 0);
  GcObject *first = obj_get_field(bus, 0);
  obj_set_field(l, 0, first);
  obj_set_field(l, 1, request);
  obj_set_field(bus, 0, l);
  obj_decref(first);
  obj_decref(l);
}

static void unsubscribe_all(void) { obj_set_field(bus, 0, NULL); }

static void handle(int n, int fixed) {
  GcObject *request = obj_new_typed(&Request, 1, 256);
  snprintf(obj_payload(request), 256, "GET /item/%d", n);
  subscribe(request);
  /* ... the request is handled ... */
  if (fixed) unsubscribe_all();
  obj_decref(request);
}

static void run_program(int requests, int fixed) {
  bus = obj_new_typed(&Bus, 1, 0);
  for (int i = 0; i < requests; i++) handle(i, fixed);
}

static int print_group(const GcTypeStats *s, void *ctx) {
  (void)ctx;
  printf("    %-12s %4zu objects %7zu bytes\n", s->name, s->objects, s->bytes);
  return 0;
}

static int first_request(GcObject *o, void *ctx) {
  if (obj_type(o) != &Request) return 0;
  *(GcObject **)ctx = o;
  return 1; /* found: stop the walk */
}

/* Collects a why-alive chain as type names, a run of one type as `Type xN`. */
typedef struct {
  const char *last;
  int run;
  char text[256];
} Chain;

static void flush_run(Chain *c) {
  if (!c->last) return;
  size_t len = strlen(c->text);
  snprintf(c->text + len, sizeof c->text - len, c->run > 1 ? "%s%s x%d" : "%s%s",
           len ? " -> " : "", c->last, c->run);
}

static int add_link(GcObject *o, void *ctx) {
  Chain *c = ctx;
  const GcType *t = obj_type(o);
  const char *name = t ? t->name : "(object)";
  if (c->last && strcmp(c->last, name) == 0) {
    c->run++;
  } else {
    flush_run(c);
    c->last = name;
    c->run = 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--buggy") == 0) {
    run_program(100, 0); /* exits with the leak; RCGC_LEAK_REPORT tells */
    return 0;
  }

  printf("1. the buggy program, run with RCGC_LEAK_REPORT=1:\n");
  char self[4096], cmd[8300], line[512];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  CHECK(len > 0);
  self[len] = 0;
  snprintf(cmd, sizeof cmd, "RCGC_LEAK_REPORT=1 '%s' --buggy 2>&1", self);
  FILE *child = popen(cmd, "r");
  CHECK(child != NULL);
  int saw_chain = 0;
  while (fgets(line, sizeof line, child)) {
    printf("    | %s", line);
    if (strstr(line, "why alive: Request") && strstr(line, "held: Bus -> Listener -> Request"))
      saw_chain = 1;
  }
  CHECK(pclose(child) == 0);
  CHECK(saw_chain); /* the report names the culprit: the Bus's listeners */

  printf("2. the same, asked from inside the program:\n");
  run_program(100, 0);
  CHECK(gc_visit_type_stats(print_group, NULL) == GC_OK);
  GcObject *req = NULL;
  CHECK(gc_visit_objects(-1, first_request, &req) == 1);
  Chain chain = {NULL, 0, ""};
  int64_t n = gc_why_alive(req, add_link, &chain); /* the oldest Request */
  flush_run(&chain);
  printf("    why is the oldest Request alive? held: %s\n", chain.text);
  CHECK(n == 102);
  CHECK(strcmp(chain.text, "Bus -> Listener x100 -> Request") == 0);
  CHECK(gc_dump_heap("/tmp/find_leak.heapsnapshot", GC_DUMP_HEAPSNAPSHOT) == GC_OK);
  printf("    (heap snapshot for Chrome DevTools: /tmp/find_leak.heapsnapshot)\n");
  remove("/tmp/find_leak.heapsnapshot");

  printf("3. fixed: unsubscribe when the request is done\n");
  unsubscribe_all();
  obj_decref(bus);
  run_program(100, 1);
  obj_decref(bus);
  gc_collect();
  CHECK(gc_visit_objects(-1, first_request, &req) == GC_OK); /* no Request left */
  printf("find_leak: ok, no leak left\n");
  return 0;
}
