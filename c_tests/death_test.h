/* Death tests for checked mode: expect_abort() runs a scenario in a forked
 * child with checked mode on (expect_abort_exec() instead re-executes the
 * program with an argument and RCGC_CHECKS=1 in the environment) and checks
 * that it died of SIGABRT after printing exactly one line
 *   rcgc: <fn>(<address>): <what>...
 * where <address> is the one the child published with death_publish() (a
 * re-executed child publishes on DEATH_EXEC_FD). */
#ifndef RCGC_DEATH_TEST_H
#define RCGC_DEATH_TEST_H
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

/* The descriptor a re-executed child publishes on. */
#define DEATH_EXEC_FD 3
static int death_publish_fd = -1;
/* Set when a case failed: every case runs, main returns this. */
static int death_failed;

/* Sends the address of the object about to be misused to the parent. */
static inline void death_publish(const void *p) {
  char addr[32];
  snprintf(addr, sizeof addr, "%p", p);
  if (death_publish_fd >= 0) CHECK(write(death_publish_fd, addr, strlen(addr)) > 0);
}

/* Runs `run`, or (when `run` is NULL) executes `argv0 arg` with
 * RCGC_CHECKS=1, in a child, and checks how it died. */
static inline void death_run(const char *name, void (*run)(void), char *argv0, char *arg,
                             const char *fn, const char *what) {
  int err[2], pub[2];
  CHECK_EQ(pipe(err), 0);
  CHECK_EQ(pipe(pub), 0);
  fflush(stdout);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    dup2(err[1], 2);
    close(err[0]);
    close(pub[0]);
    if (!run) {
      char *args[] = {argv0, arg, NULL};
      dup2(pub[1], DEATH_EXEC_FD);
      setenv("RCGC_CHECKS", "1", 1);
      execv(argv0, args);
      _exit(3);
    }
    gc_set_checks(true);
    death_publish_fd = pub[1];
    run();
    _exit(0); /* not reached if the misuse is caught */
  }
  close(err[1]);
  close(pub[1]);
  char buf[8192] = {0};
  size_t n = 0;
  ssize_t r;
  while (n < sizeof buf - 1 && (r = read(err[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
  close(err[0]);
  char where[40] = "(";
  CHECK(read(pub[0], where + 1, sizeof where - 3) > 0);
  strcat(where, ")");
  close(pub[0]);
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT) {
    fprintf(stderr, "%s: child did not abort (%s %d), stderr:\n%s\n", name,
            WIFSIGNALED(status) ? "signal" : "exit status",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), buf);
    death_failed = 1;
    return;
  }
  int lines = 0;
  const char *line = NULL;
  for (char *p = buf; (p = strstr(p, "rcgc: ")) != NULL; p++)
    if (p == buf || p[-1] == '\n') { lines++; line = p; }
  if (lines != 1 || strncmp(line + 6, fn, strlen(fn)) != 0 ||
      strncmp(line + 6 + strlen(fn), where, strlen(where)) != 0 || !strstr(line, what)) {
    fprintf(stderr, "%s: expected one line \"rcgc: %s%s: ...%s...\", stderr:\n%s\n", name, fn,
            where, what, buf);
    death_failed = 1;
    return;
  }
  printf("  %-44s -> %.*s", name, (int)(strcspn(line, "\n") + 1), line);
}

static inline void expect_abort(const char *name, void (*run)(void), const char *fn,
                                const char *what) {
  death_run(name, run, NULL, NULL, fn, what);
}

static inline void expect_abort_exec(const char *name, char *argv0, char *arg, const char *fn,
                                     const char *what) {
  death_run(name, NULL, argv0, arg, fn, what);
}
#endif
