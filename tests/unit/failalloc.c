/* failalloc.c - for unit tests: make the N-th allocation fail, and count what is not freed. */
#include "failalloc.h"

#include <stdlib.h>
#include <string.h>

static long countdown, made, live;

void
failalloc_arm(long n)
{
    countdown = n;
    made = 0;
}

long
failalloc_count(void)
{
    return made;
}

long
failalloc_live(void)
{
    return live;
}

/* Count an allocation; 1 when it is the one to fail. */
static int
fails(void)
{
    made++;
    return countdown > 0 && --countdown == 0;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
void __wrap_free(void *p);

/* Count r as live when it is a new block. */
static void *
born(void *r)
{
    if (r != NULL) {
        live++;
    }
    return r;
}

void *
__wrap_malloc(size_t n)
{
    return fails() ? NULL : born(__real_malloc(n));
}

void *
__wrap_calloc(size_t n, size_t size)
{
    return fails() ? NULL : born(__real_calloc(n, size));
}

void *
__wrap_realloc(void *p, size_t n)
{
    void *r;

    if (fails()) {
        return NULL; /* p is still the caller's */
    }
    r = __real_realloc(p, n);
    if (p != NULL && n == 0) {
        live--; /* freed */
    }
    return p == NULL ? born(r) : r;
}

char *
__wrap_strdup(const char *s)
{
    return fails() ? NULL : born(__real_strdup(s));
}

void
__wrap_free(void *p)
{
    if (p != NULL) {
        live--;
    }
    __real_free(p);
}
