/* qshard.c - queue shards: the shard of a visitor, the names of a shard (qshard.h). */
#include "qshard.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "rcluster.h"

unsigned
qshard_pick(const char *site, size_t site_len, const char *visitor, size_t visitor_len, unsigned k)
{
    uint64_t h = hash_fnv1a(HASH_FNV1A_BASIS, site, site_len);

    if (k <= 1) {
        return 0;
    }
    h = hash_fnv1a(h, "", 1); /* the NUL between the two */
    h = hash_fnv1a(h, visitor, visitor_len);
    return (unsigned)(h % k);
}

void
qshard_window(unsigned k, unsigned i, unsigned *lo, unsigned *hi)
{
    unsigned center = (unsigned)(((2UL * i + 1) * RCLUSTER_SLOTS) / (2UL * k));
    unsigned quarter = RCLUSTER_SLOTS / (4 * k);

    *lo = center - quarter;
    *hi = center + quarter;
}

char *
qshard_name(const char *queue_key, unsigned k, unsigned i)
{
    size_t len = strlen(queue_key) + 40;
    unsigned lo, hi, best_n = 0, best_d = RCLUSTER_SLOTS, center;
    char *name;

    if (k <= 1) {
        return strdup(queue_key);
    }
    name = malloc(len);
    if (name == NULL) {
        return NULL;
    }
    qshard_window(k, i, &lo, &hi);
    center = lo + (hi - lo) / 2;
    /* The first counter whose tag's slot is in the window; the nearest to its middle when
     * none of QSHARD_TRIES is (never seen: about one tag in 2 * k hits a window). */
    for (unsigned n = 0; n < QSHARD_TRIES; n++) {
        int w = snprintf(name, len, "{%s:%u/%u~%u}", queue_key, i, k, n);
        unsigned slot = rcluster_crc16(name + 1, (size_t)w - 2) % RCLUSTER_SLOTS;
        unsigned d = slot > center ? slot - center : center - slot;
        if (slot >= lo && slot < hi) {
            return name;
        }
        if (d < best_d) {
            best_d = d;
            best_n = n;
        }
    }
    snprintf(name, len, "{%s:%u/%u~%u}", queue_key, i, k, best_n);
    return name;
}

const char *
qshard_check(const char *queue_key, long k)
{
    if (k > 1 && strpbrk(queue_key, "{}") != NULL) {
        return "QUEUE_KEY may not contain '{' or '}' with QUEUE_SHARDS > 1 (each shard's "
               "keys get the hash tag {<QUEUE_KEY>:<shard>/<shards>~<n>})";
    }
    return NULL;
}

const char *
qshard_check_cluster(const char *queue_key, long k)
{
    const char *open = strchr(queue_key, '{');
    const char *close = open != NULL ? strchr(open + 1, '}') : NULL;

    if (k == 1 && (close == NULL || close == open + 1)) {
        return "on a Redis Cluster (REDIS_CLUSTER) QUEUE_SHARDS=1 needs a QUEUE_KEY with a hash "
               "tag, e.g. {events}, so that the queue's keys share one slot";
    }
    return NULL;
}
