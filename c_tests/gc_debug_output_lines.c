/* gc_set_debug / gc_get_debug with CPython's flag values, the lines on
 * stderr (GC_DEBUG_STATS, COLLECTABLE, UNCOLLECTABLE), and RCGC_DEBUG read
 * from the environment at start. */
#include "introspect.h"

static int leaked;
/* A clear hook that keeps (leaks) one reference to its object, once: the
 * collection finds the object uncollectable. */
static void clear_leaky(GcObject *self) {
  if (!leaked) {
    leaked = 1;
    obj_incref(self);
  }
}
static const GcType Node = {"Node", NULL, NULL, NULL, NULL};
static const GcType Leaky = {"Leaky", NULL, clear_leaky, NULL, NULL};

/* Runs gc_collect() with stderr captured; returns the text. */
static char *collect_captured(int64_t *found) {
  fflush(stderr);
  FILE *tmp = tmpfile();
  CHECK(tmp != NULL);
  int saved = dup(2);
  CHECK(saved >= 0);
  CHECK(dup2(fileno(tmp), 2) >= 0);
  *found = gc_collect();
  CHECK(dup2(saved, 2) >= 0);
  close(saved);
  long size = ftell(tmp) >= 0 ? lseek(fileno(tmp), 0, SEEK_END) : 0;
  char *buf = malloc((size_t)size + 1);
  CHECK(buf != NULL);
  CHECK_EQ(pread(fileno(tmp), buf, (size_t)size, 0), size);
  buf[size] = 0;
  fclose(tmp);
  return buf;
}

static void check_has(const char *text, const char *line) {
  if (!strstr(text, line)) {
    fprintf(stderr, "missing line: %s\n--- output:\n%s", line, text);
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    printf("debug=%d\n", gc_get_debug());
    return 0;
  }
  CHECK_EQ(GC_DEBUG_STATS, 1);
  CHECK_EQ(GC_DEBUG_COLLECTABLE, 2);
  CHECK_EQ(GC_DEBUG_UNCOLLECTABLE, 4);
  CHECK_EQ(GC_DEBUG_SAVEALL, 32);
  CHECK_EQ(GC_DEBUG_LEAK, 38);
  CHECK_EQ(gc_get_debug(), 0);
  gc_disable();
  gc_set_debug(GC_DEBUG_STATS | GC_DEBUG_COLLECTABLE | GC_DEBUG_UNCOLLECTABLE);
  CHECK_EQ(gc_get_debug(), 7);

  GcObject *keep = obj_new(1, 0);
  GcObject *a = obj_new_typed(&Node, 1, 0), *b = obj_new(1, 0);
  GcObject *l = obj_new_typed(&Leaky, 1, 0);
  obj_set_field(a, 0, b);
  obj_set_field(b, 0, l);
  obj_set_field(l, 0, a);
  obj_decref(a);
  obj_decref(b);
  obj_decref(l);
  int64_t found;
  char *out = collect_captured(&found);
  CHECK_EQ(found, 3);
  char line[128];
  check_has(out, "gc: collecting generation 2...\n");
  check_has(out, "gc: objects in each generation: 4 0 0\n");
  check_has(out, "gc: objects in permanent generation: 0\n");
  snprintf(line, sizeof line, "gc: collectable <Node %p>\n", (void *)a);
  check_has(out, line);
  snprintf(line, sizeof line, "gc: collectable <(object) %p>\n", (void *)b);
  check_has(out, line);
  snprintf(line, sizeof line, "gc: uncollectable <Leaky %p>\n", (void *)l);
  check_has(out, line);
  snprintf(line, sizeof line, "gc: collectable <Leaky %p>", (void *)l);
  CHECK(strstr(out, line) == NULL);
  check_has(out, "gc: done, 3 unreachable, 1 uncollectable, ");
  CHECK(strstr(out, "s elapsed\n") != NULL);
  CHECK_EQ(gc_get_stats(2).uncollectable, 1);
  free(out);

  gc_set_debug(0);
  out = collect_captured(&found);
  CHECK_EQ(found, 0);
  CHECK_EQ(out[0], 0); /* no flags, no lines */
  free(out);
  obj_decref(l); /* the leaked reference: now it dies */
  obj_decref(keep);

  int status;
  out = run_self("child", "RCGC_DEBUG=38", &status);
  CHECK_EQ(status, 0);
  check_has(out, "debug=38\n");
  free(out);
  printf("gc_debug_output_lines: ok\n");
  return 0;
}
