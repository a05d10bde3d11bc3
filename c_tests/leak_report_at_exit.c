/* RCGC_LEAK_REPORT=1: at exit with live objects the library prints the type
 * stats and, for the three largest groups, the why-alive chain of one of
 * their objects as type names, or says it is cyclic garbage. Nothing is
 * printed without the variable, or when nothing is alive. The scenarios run
 * as children of this program so their stderr can be read. */
#include "introspect.h"

static const GcType Graph = {"Graph", NULL, NULL, NULL, NULL};
static const GcType Node = {"Node", NULL, NULL, NULL, NULL};
static const GcType Cycle = {"Cycle", NULL, NULL, NULL, NULL};

/* Raw pointers kept so leak checkers see the planted objects as reachable;
 * rcgc's counts do not include them. */
static GcObject *graph, *cycle[2], *nodes[3];

static void plant(void) {
  gc_disable();
  graph = obj_new_typed(&Graph, 1, 0); /* held: our reference is never dropped */
  GcObject *prev = graph;
  for (int i = 0; i < 3; i++) {
    nodes[i] = obj_new_typed(&Node, 1, 0);
    obj_set_field(prev, 0, nodes[i]);
    obj_decref(nodes[i]);
    prev = nodes[i];
  }
  for (int i = 0; i < 2; i++) cycle[i] = obj_new_typed(&Cycle, 1, 0);
  obj_set_field(cycle[0], 0, cycle[1]);
  obj_set_field(cycle[1], 0, cycle[0]);
  obj_decref(cycle[0]);
  obj_decref(cycle[1]); /* garbage that a gc_collect() would free */
}

static void check_has(const char *text, const char *part) {
  if (!strstr(text, part)) {
    fprintf(stderr, "missing: %s\n--- output:\n%s", part, text);
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc > 1) {
    if (strcmp(argv[1], "leak") == 0) plant();
    if (strcmp(argv[1], "clean") == 0) {
      plant();
      obj_decref(graph);
      gc_collect();
    }
    printf("child done\n");
    fflush(stdout);
    return 0;
  }
  int status;
  char *out = run_self("leak", "RCGC_LEAK_REPORT=1", &status);
  CHECK_EQ(status, 0);
  check_has(out, "child done\n"
                 "rcgc: leak report: 6 live objects, 288 bytes at exit\n"
                 "rcgc:   Node: 3 objects, 144 bytes\n"
                 "rcgc:   Cycle: 2 objects, 96 bytes\n"
                 "rcgc:   Graph: 1 objects, 48 bytes\n");
  /* The sample of each group is its first object in gc_visit_objects(-1)
   * order: nodes[0], cycle[0], graph. Their addresses are the child's, so
   * only the text around them is checked. */
  check_has(out, "rcgc: why alive: Node 0x");
  check_has(out, ": held: Graph -> Node\n");
  check_has(out, "rcgc: why alive: Cycle 0x");
  check_has(out, ": cyclic garbage that a gc_collect() would free\n");
  check_has(out, "rcgc: why alive: Graph 0x");
  check_has(out, ": held: Graph\n");
  free(out);

  out = run_self("leak", "", &status); /* no variable: no report */
  CHECK_EQ(status, 0);
  CHECK(strcmp(out, "child done\n") == 0);
  free(out);
  out = run_self("clean", "RCGC_LEAK_REPORT=1", &status); /* nothing alive */
  CHECK_EQ(status, 0);
  CHECK(strcmp(out, "child done\n") == 0);
  free(out);
  printf("leak_report_at_exit: ok\n");
  return 0;
}
