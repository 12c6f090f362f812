/* jsonmem.c - jansson's allocations, watched: a call that ran out of memory told from bad input. */
#include "jsonmem.h"

#include <jansson.h>
#include <stdlib.h>

static _Thread_local unsigned long failures;

static void *
counted_malloc(size_t n)
{
    void *p = malloc(n);

    if (p == NULL && n > 0) {
        failures++;
    }
    return p;
}

void
jsonmem_install(void)
{
    json_set_alloc_funcs(counted_malloc, free);
}

unsigned long
jsonmem_failures(void)
{
    return failures;
}
