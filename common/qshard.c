/* qshard.c - queue shards: the shard of a visitor, the names of a shard (qshard.h). */
#include "qshard.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

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

char *
qshard_name(const char *queue_key, unsigned k, unsigned i)
{
    size_t len = strlen(queue_key) + 16;
    char *name;

    if (k <= 1) {
        return strdup(queue_key);
    }
    name = malloc(len);
    if (name != NULL) {
        snprintf(name, len, "{%s:%u}", queue_key, i);
    }
    return name;
}

const char *
qshard_check(const char *queue_key, long k)
{
    if (k > 1 && strpbrk(queue_key, "{}") != NULL) {
        return "QUEUE_KEY may not contain '{' or '}' with QUEUE_SHARDS > 1 (each shard's "
               "keys get the hash tag {<QUEUE_KEY>:<shard>})";
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
