/* Checked mode (gc_set_checks(true), or RCGC_CHECKS=1): each misuse aborts
 * the process with exactly one line on stderr,
 *   rcgc: <function>(<address>): <what>
 * naming the object's type. Each case runs in a forked child; the parent
 * checks the child died of SIGABRT and what it printed. The last case
 * re-executes this program with RCGC_CHECKS=1 in the environment. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

static const GcType Node = {"Node", NULL, NULL, NULL, NULL};
static char addr[32];
static int publish_fd = -1;
/* Sends the address about to be misused to the parent. */
static void publish(void) {
  if (publish_fd >= 0) CHECK(write(publish_fd, addr, strlen(addr)) > 0);
}

static void use_after_free(void) {
  GcObject *o = obj_new_typed(&Node, 1, 0);
  snprintf(addr, sizeof addr, "%p", (void *)o);
  publish();
  obj_decref(o);
  obj_decref(o); /* double decref */
}
static void set_field_on_freed(void) {
  GcObject *o = obj_new_typed(&Node, 2, 0);
  GcObject *v = obj_new(0, 0);
  snprintf(addr, sizeof addr, "%p", (void *)o);
  publish();
  obj_decref(o);
  obj_set_field(o, 0, v);
}
static void get_field_on_freed_value(void) {
  GcObject *o = obj_new_typed(&Node, 0, 8);
  snprintf(addr, sizeof addr, "%p", (void *)o);
  publish();
  obj_decref(o);
  (void)obj_refcount(o); /* any use after free */
}
static void never_allocated(void) {
  static _Alignas(16) char fake[64];
  snprintf(addr, sizeof addr, "%p", (void *)fake);
  publish();
  obj_decref((GcObject *)fake);
}
static void underflow_fin(GcObject *self) { obj_decref(self); } /* count is 0 */
static const GcType Bad = {"Bad", NULL, NULL, underflow_fin, NULL};
static void underflow(void) {
  GcObject *o = obj_new_typed(&Bad, 0, 0);
  snprintf(addr, sizeof addr, "%p", (void *)o);
  publish();
  obj_decref(o);
}
static void env_use_after_free(void) {
  CHECK(gc_checks_enabled()); /* from RCGC_CHECKS=1 alone */
  use_after_free();
}

typedef struct { const char *name; void (*run)(void); const char *fn, *what; } Case;
static const Case cases[] = {
  {"double decref", use_after_free, "obj_decref", "object of type \"Node\" was already freed"},
  {"set_field on a freed object", set_field_on_freed, "obj_set_field", "object of type \"Node\" was already freed"},
  {"use after free", get_field_on_freed_value, "obj_refcount", "object of type \"Node\" was already freed"},
  {"decref of a pointer never allocated", never_allocated, "obj_decref", "is not an object allocated by rcgc"},
  {"refcount underflow", underflow, "obj_decref", "reference count underflow on object of type \"Bad\""},
};

/* Runs `run` (or execs this program with `arg`) in a child and checks it
 * died of SIGABRT after printing one line naming `fn`, the address it
 * published and `what`. */
static void expect_abort(const char *name, void (*run)(void), const char *arg,
                         char **argv, const char *fn, const char *what) {
  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  /* the object's address is known only to the child: it publishes it */
  int afds[2];
  CHECK_EQ(pipe(afds), 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    close(afds[0]);
    if (arg) {
      char *args[] = {argv[0], (char *)arg, NULL};
      dup2(afds[1], 3);
      setenv("RCGC_CHECKS", "1", 1);
      execv(argv[0], args);
      _exit(3);
    }
    gc_set_checks(true);
    publish_fd = afds[1];
    run();
    _exit(0); /* not reached if the misuse aborts */
  }
  close(fds[1]);
  close(afds[1]);
  char buf[4096] = {0};
  size_t n = 0;
  ssize_t r;
  while (n < sizeof buf - 1 && (r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
  close(fds[0]);
  char where[40] = "(";
  CHECK(read(afds[0], where + 1, sizeof where - 3) > 0);
  strcat(where, ")");
  close(afds[0]);
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT) {
    fprintf(stderr, "%s: child did not abort (status %d), stderr:\n%s\n", name, status, buf);
    exit(1);
  }
  /* exactly one rcgc line, naming the function, the address and the what */
  int lines = 0;
  const char *line = NULL;
  for (char *p = buf; (p = strstr(p, "rcgc: ")) != NULL; p++) {
    if (p == buf || p[-1] == '\n') { lines++; line = p; }
  }
  if (lines != 1 || strncmp(line + 6, fn, strlen(fn)) != 0 ||
      strncmp(line + 6 + strlen(fn), where, strlen(where)) != 0 || !strstr(line, what)) {
    fprintf(stderr, "%s: unexpected stderr:\n%s\n", name, buf);
    exit(1);
  }
  printf("  %-38s -> %.*s", name, (int)(strchr(line, '\n') - line + 1), line);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "env") == 0) {
    publish_fd = 3;
    env_use_after_free();
    return 0;
  }
  CHECK(!gc_checks_enabled() || getenv("RCGC_CHECKS"));
  printf("checked_mode_aborts:\n");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_abort(cases[i].name, cases[i].run, NULL, argv, cases[i].fn, cases[i].what);
  expect_abort("RCGC_CHECKS=1 in the environment", NULL, "env", argv, "obj_decref",
               "object of type \"Node\" was already freed");

  /* The mode is fixed once an object exists. */
  GcObject *o = obj_new(0, 0);
  gc_set_checks(!gc_checks_enabled());
  CHECK_ERR(GC_ERR_INVALID);
  obj_decref(o);
  return 0;
}
