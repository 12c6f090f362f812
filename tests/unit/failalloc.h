/* failalloc.h - for unit tests: make the N-th allocation fail, and count what is not freed. */
#ifndef TESTS_FAILALLOC_H
#define TESTS_FAILALLOC_H

/* A test binary linked with tests/unit/failalloc.c and --wrap=malloc,calloc,realloc,strdup,free
 * (the Makefile's FAILALLOC_TESTS) sends its own code's allocations, and jansson's once
 * jsonmem_install() has run, through these counters; libraries' other allocations (cmocka's,
 * libc's) are not seen. Not thread-safe: for single-threaded tests. */

/* From now on, the n-th allocation fails (n >= 1; 1 is the next one), once; 0: none.
 * Restarts failalloc_count(). */
void failalloc_arm(long n);

/* Allocations made since the last failalloc_arm(), the failed one included. */
long failalloc_count(void);

/* Allocations made and not yet freed, since the program started. */
long failalloc_live(void);

#endif
