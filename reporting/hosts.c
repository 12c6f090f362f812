/* hosts.c - views per referrer host within a bounded memory. */
#include "hosts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "range.h"

#define HOSTS_SLOTS 4096

int
hosts_init(struct hosts *h)
{
    h->n = 0;
    h->slot = calloc(HOSTS_SLOTS, sizeof *h->slot);
    return h->slot != NULL ? 0 : -1;
}

void
hosts_free(struct hosts *h)
{
    for (size_t i = 0; h->slot != NULL && i < HOSTS_SLOTS; i++) {
        while (h->slot[i] != NULL) {
            struct host_views *next = h->slot[i]->next;
            free(h->slot[i]);
            h->slot[i] = next;
        }
    }
    free(h->slot);
    memset(h, 0, sizeof *h);
}

int
hosts_add(struct hosts *h, const char *host, int64_t views)
{
    size_t i = (size_t)(range_user_hash(host, strlen(host)) % HOSTS_SLOTS);
    struct host_views *e;

    for (e = h->slot[i]; e != NULL; e = e->next) {
        if (strcmp(e->host, host) == 0) {
            e->views += views;
            return 0;
        }
    }
    if (h->n == HOSTS_MAX) {
        return 1;
    }
    if ((e = malloc(sizeof *e)) == NULL) {
        return -1;
    }
    snprintf(e->host, sizeof e->host, "%s", host);
    e->views = views;
    e->next = h->slot[i];
    h->slot[i] = e;
    h->n++;
    return 0;
}

static int
cmp_views(const void *a, const void *b)
{
    const struct host_views *x = *(struct host_views *const *)a;
    const struct host_views *y = *(struct host_views *const *)b;

    return x->views != y->views ? (x->views > y->views ? -1 : 1) : strcmp(x->host, y->host);
}

long
hosts_top(const struct hosts *h, size_t limit, const struct host_views **top)
{
    const struct host_views **all = malloc((h->n ? h->n : 1) * sizeof *all);
    size_t n = 0;

    if (all == NULL) {
        return -1;
    }
    for (size_t i = 0; i < HOSTS_SLOTS; i++) {
        for (const struct host_views *e = h->slot[i]; e != NULL; e = e->next) {
            all[n++] = e;
        }
    }
    qsort(all, n, sizeof *all, cmp_views);
    n = n < limit ? n : limit;
    memcpy(top, all, n * sizeof *top);
    free(all);
    return (long)n;
}
