/* qshard.h - queue shards (QUEUE_SHARDS): which shard an event goes to, and each shard's
 * key names. Pure functions, table-tested (tests/unit/test_qshard.c).
 *
 * With one shard (the default) the queue is QUEUE_KEY itself, as before shards existed, so
 * an upgrade moves nothing. With K > 1, shard i's base name is "{<QUEUE_KEY>:<i>/<K>~<n>}"
 * and all its keys (pending list, processing lists, heartbeats, registry, dead letters:
 * processor/queue.h) are that base followed by a suffix, so they carry one hash tag and live
 * in one Redis Cluster slot. The counter n is the first that puts the tag's slot in the
 * middle half of the i-th of K equal slot ranges (qshard_window()), so the K shards spread
 * evenly over the slot space, and over the masters of a cluster whose masters serve equal
 * ranges. docs/design.md#queue-shards says how shards are drained. */
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

/* Counters tried for one name before settling for the nearest slot (never reached: about
 * one counter in 2 * k hits the window). */
#define QSHARD_TRIES 65536

/* The window of shard i of k (k from 2 to QSHARD_MAX): the slots [*lo, *hi), the middle half
 * of the i-th of k equal ranges of the 16384: center = (2i + 1) * 16384 / 2k (integer
 * division), *lo = center - 16384 / 4k, *hi = center + 16384 / 4k. */
void qshard_window(unsigned k, unsigned i, unsigned *lo, unsigned *hi);

/* The base name of shard i of k, malloc'd (free() it), or NULL when out of memory:
 * queue_key itself when k is 1, else "{<queue_key>:<i>/<k>~<n>}" with the smallest n from 0
 * whose tag's slot (common/rcluster.h's CRC16 of the bytes between the braces, mod 16384)
 * lies in qshard_window(k, i) (e.g. "{events:0/4~3}"). A fixed function of its arguments:
 * every ingest and processor computes the same names. */
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
