/* Shared by the introspection scenarios: a payload holding one reference
 * (with its traverse and clear hooks), a visit function that records the
 * objects it is given, and a way to run this program again as a child with
 * extra environment and read what it wrote on stderr. */
#ifndef RCGC_INTROSPECT_H
#define RCGC_INTROSPECT_H
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"

/* A payload that holds one strong reference, reported by `traverse` and
 * released by `clear`. */
typedef struct { GcObject *ref; } OneRef;
static inline void one_ref_traverse(GcObject *self, GcVisitFn visit, void *ctx) {
  OneRef *p = obj_payload(self);
  if (p->ref) visit(p->ref, ctx);
}
static inline void one_ref_clear(GcObject *self) {
  OneRef *p = obj_payload(self);
  GcObject *r = p->ref;
  p->ref = NULL;
  obj_decref(r);
}

typedef struct {
  GcObject *o[64];
  int n;
} Seen;

/* GcObjectVisitFn: appends `o` to the Seen in ctx; never stops. */
static inline int record(GcObject *o, void *ctx) {
  Seen *s = ctx;
  CHECK(s->n < 64);
  s->o[s->n++] = o;
  return 0;
}

static inline Seen seen_none(void) {
  Seen s;
  s.n = 0;
  return s;
}

/* Checks that `s` holds exactly the `n` objects given, in that order. */
static inline void check_seen(const Seen *s, int n, GcObject *const *want) {
  CHECK_EQ(s->n, n);
  for (int i = 0; i < n; i++) CHECK(s->o[i] == want[i]);
}
#define CHECK_SEEN(s, ...)                                                   \
  do {                                                                       \
    GcObject *const want_[] = {__VA_ARGS__};                                 \
    check_seen(&(s), (int)(sizeof want_ / sizeof want_[0]), want_);          \
  } while (0)

/* Runs this program again as `<self> <arg>` with `env` ("NAME=value ...",
 * may be empty) and returns what it wrote on stdout and stderr (malloc'd).
 * The child's exit status goes to *status. */
static inline char *run_self(const char *arg, const char *env, int *status) {
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  CHECK(len > 0);
  self[len] = 0;
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "env %s '%s' %s 2>&1", env, self, arg);
  FILE *p = popen(cmd, "r");
  CHECK(p != NULL);
  size_t cap = 1 << 16, n = 0;
  char *out = malloc(cap);
  CHECK(out != NULL);
  size_t got;
  while ((got = fread(out + n, 1, cap - 1 - n, p)) > 0) {
    n += got;
    if (n + 1 == cap) {
      cap *= 2;
      out = realloc(out, cap);
      CHECK(out != NULL);
    }
  }
  out[n] = 0;
  *status = pclose(p);
  return out;
}

/* Reads a whole file (malloc'd, NUL-terminated). */
static inline char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  CHECK(f != NULL);
  CHECK_EQ(fseek(f, 0, SEEK_END), 0);
  long size = ftell(f);
  CHECK(size >= 0);
  rewind(f);
  char *buf = malloc((size_t)size + 1);
  CHECK(buf != NULL);
  CHECK_EQ(fread(buf, 1, (size_t)size, f), (size_t)size);
  buf[size] = 0;
  fclose(f);
  return buf;
}
#endif
