/* Tiny check helpers shared by the C scenarios: a failed CHECK prints the
 * file, line and expression and exits 1, so the scenario fails by name. */
#ifndef RCGC_CHECK_H
#define RCGC_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include "rcgc.h"

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                      \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

#define CHECK_EQ(a, b)                                                     \
  do {                                                                     \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);        \
    if (check_a_ != check_b_) {                                            \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld != %lld)\n", \
              __FILE__, __LINE__, #a, #b, check_a_, check_b_);             \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

/* A failing call: returns NULL/error and records `code` as the last error. */
#define CHECK_ERR(code)                                                    \
  do {                                                                     \
    CHECK_EQ(gc_last_error_code(), (code));                                \
    CHECK(gc_last_error() != NULL);                                        \
  } while (0)

#endif
