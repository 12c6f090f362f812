/* qshard.h - queue shards (QUEUE_SHARDS): which shard an event goes to, and each shard's
 * key names. Pure functions, table-tested (tests/unit/test_qshard.c).
 *
 * With one shard (the default) the queue is QUEUE_KEY itself, as before shards existed, so
 * an upgrade moves nothing. With K > 1, shard i's base name is "{<QUEUE_KEY>:<i>}" and all
 * its keys (pending list, processing lists, heartbeats, registry, dead letters: processor/
 * queue.h) are that base followed by a suffix, so they carry one hash tag and live in one
 * Redis Cluster slot. docs/design.md#queue-shards says how shards are drained. */
#ifndef COMMON_QSHARD_H
#define COMMON_QSHARD_H

#include <stddef.h>

/* QUEUE_SHARDS is 1 to this. */
#define QSHARD_MAX 256

/* The shard of one visitor's events among k (k >= 1): FNV-1a 64 (common/hash.h, from
 * HASH_FNV1A_BASIS) of the site id, one NUL byte and the visitor (the event's user_id when
 * it has a non-empty one, else its _id), modulo k. A fixed function: the same visitor of
 * the same site always lands on the same shard, so its events stay in order. */
unsigned qshard_pick(const char *site, size_t site_len, const char *visitor, size_t visitor_len,
                     unsigned k);

/* The base name of shard i of k, malloc'd (free() it), or NULL when out of memory:
 * queue_key itself when k is 1, else "{<queue_key>:<i>}". */
char *qshard_name(const char *queue_key, unsigned k, unsigned i);

/* Whether queue_key may be used with k shards: NULL when it may, else why not (a hash tag
 * of its own, a '{' or '}', would be cut by the shard's, putting every shard in one slot or
 * none in a predictable one). */
const char *qshard_check(const char *queue_key, long k);

/* The same on a Redis Cluster, after qshard_check(): NULL when the keys of each shard share
 * one slot, else why not (one shard, QUEUE_SHARDS=1, keeps QUEUE_KEY's names, so QUEUE_KEY
 * needs a hash tag of its own: a non-empty {...}). */
const char *qshard_check_cluster(const char *queue_key, long k);

#endif
