/* hosts.h - views per referrer host within a bounded memory: what /stats/breakdown/aggregated
 * by=referrer adds up from the raw events (the server groups them by referrer URL, reporting
 * by host). At most HOSTS_MAX hosts (about 3 MiB); past them the read is refused. Pure;
 * table-tested in tests/unit/test_hosts.c. */
#ifndef REPORTING_HOSTS_H
#define REPORTING_HOSTS_H

#include <stddef.h>
#include <stdint.h>

#include "rollup_doc.h"

#define HOSTS_MAX 10000

/* One host and its views. */
struct host_views {
    struct host_views *next; /* the next of its chain */
    int64_t views;
    char host[ROLLUP_REFERRER_MAX + 1];
};

/* The hosts met: a chained hash table (hosts_init(), hosts_free()). */
struct hosts {
    struct host_views **slot; /* owned, HOSTS_SLOTS chains */
    size_t n;
};

/* Empty h. Returns 0, or -1 out of memory. */
int hosts_init(struct hosts *h);

/* Free h's hosts and table. */
void hosts_free(struct hosts *h);

/* Add views to host's (a host of at most ROLLUP_REFERRER_MAX bytes). Returns 0, 1 when
 * HOSTS_MAX hosts are held and host is another (nothing added), or -1 out of memory. */
int hosts_add(struct hosts *h, const char *host, int64_t views);

/* The top `limit` hosts of h into top[0..), most viewed first, ties by host ascending;
 * they point into h. Returns how many, or -1 out of memory. */
long hosts_top(const struct hosts *h, size_t limit, const struct host_views **top);

#endif
