/* The W1 floor for a library linked as a shared object: a plain increment
 * and decrement in a shared library of their own (libbenchfloor.so), so
 * that bench_malloc calls them as a program calls librcgc.so's functions,
 * through the PLT. */
#include <stddef.h>

void floor_inc(size_t *c) { ++*c; }
void floor_dec(size_t *c) { --*c; }
