/* jsonmem.h - jansson's allocations, watched: a call that ran out of memory told from bad input. */
#ifndef COMMON_JSONMEM_H
#define COMMON_JSONMEM_H

/* Route jansson's allocations through malloc() and free() from this module, counting on each
 * thread the allocations that fail. Call it once from main() before any thread starts
 * (svc_main() does); until then nothing is counted. In the -fault builds of the tests the
 * malloc() called here is tests/it/fault.c's, so FAULT_INJECT=alloc:N reaches jansson's
 * allocations too. */
void jsonmem_install(void);

/* How many of jansson's allocations have failed on this thread. jansson does not always say
 * when one did: jansson 2.14's parser may then report a syntax error, or return a document
 * with a byte missing from a string (its text buffer drops a byte it cannot grow for). A
 * caller that must tell bad input from a lack of memory, or must not take a damaged
 * document for the one sent, reads this before and after the call. */
unsigned long jsonmem_failures(void);

#endif
