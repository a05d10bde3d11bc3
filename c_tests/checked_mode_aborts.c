/* Checked mode (gc_set_checks(true), or RCGC_CHECKS=1): each misuse aborts
 * the process with exactly one line on stderr,
 *   rcgc: <function>(<address>): <what>
 * naming the object's type. Each case runs in a forked child; the parent
 * checks the child died of SIGABRT and what it printed. The last case
 * re-executes this program with RCGC_CHECKS=1 in the environment. */
#include "death_test.h" /* first: it sets _GNU_SOURCE */
#include <stdint.h>

static const GcType Node = {"Node", NULL, NULL, NULL, NULL};

static void use_after_free(void) {
  GcObject *o = obj_new_typed(&Node, 1, 0);
  death_publish(o);
  obj_decref(o);
  obj_decref(o); /* double decref */
}
static void set_field_on_freed(void) {
  GcObject *o = obj_new_typed(&Node, 2, 0);
  GcObject *v = obj_new(0, 0);
  death_publish(o);
  obj_decref(o);
  obj_set_field(o, 0, v);
}
static void get_field_on_freed_value(void) {
  GcObject *o = obj_new_typed(&Node, 0, 8);
  death_publish(o);
  obj_decref(o);
  (void)obj_refcount(o); /* any use after free */
}
static void never_allocated(void) {
  static _Alignas(16) char fake[64];
  death_publish(fake);
  obj_decref((GcObject *)fake);
}
static void underflow_fin(GcObject *self) { obj_decref(self); } /* count is 0 */
static const GcType Bad = {"Bad", NULL, NULL, underflow_fin, NULL};
static void underflow(void) {
  GcObject *o = obj_new_typed(&Bad, 0, 0);
  death_publish(o);
  obj_decref(o);
}
/* gc_collect() makes this thread the owner of the biases while the mode
 * is off (bias.rs), whose paths skip the validation; turning checked mode
 * on ends them, so the handles below are still validated. */
static void checks_on_after_biases_claimed(void) {
  gc_set_checks(false);
  CHECK_EQ(gc_collect(), 0);
  gc_set_checks(true);
  CHECK(gc_checks_enabled());
  use_after_free();
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
  {"checked mode on after the biases were claimed", checks_on_after_biases_claimed, "obj_decref",
   "object of type \"Node\" was already freed"},
};

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "env") == 0) {
    death_publish_fd = DEATH_EXEC_FD;
    env_use_after_free();
    return 0;
  }
  CHECK(!gc_checks_enabled() || getenv("RCGC_CHECKS"));
  printf("checked_mode_aborts:\n");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_abort(cases[i].name, cases[i].run, cases[i].fn, cases[i].what);
  expect_abort_exec("RCGC_CHECKS=1 in the environment", argv[0], "env", "obj_decref",
                    "object of type \"Node\" was already freed");
  if (death_failed) return 1;

  /* The mode is fixed once an object exists. */
  GcObject *o = obj_new(0, 0);
  gc_set_checks(!gc_checks_enabled());
  CHECK_ERR(GC_ERR_INVALID);
  obj_decref(o);
  return 0;
}
