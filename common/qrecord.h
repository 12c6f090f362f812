/* qrecord.h - the record of the queue layouts in use: the Redis set "<QUEUE_KEY>:shards"
 * holds every QUEUE_SHARDS an ingest or a processor has started with, so that a processor
 * can find events waiting in the shards of a value it does not drain (processor/qset.h).
 * Nothing is ever removed from it by the programs (docs/operations.md#changing-queue_shards
 * says when an operator may). */
#ifndef COMMON_QRECORD_H
#define COMMON_QRECORD_H

#include "err.h"
#include "qshard.h"
#include "rconn.h"

/* Add k to the record, in one script on its one key (routed by it on a Redis Cluster), and
 * set used[k'] for each k' from 1 to QSHARD_MAX it held before (other members are ignored).
 * No record, or one that is not a set (the most shards used, which a build before the set
 * kept), counts as 1 (a version before shards used QUEUE_KEY itself): it becomes {1, k}.
 * Returns 0, or -1 with err. */
int qrecord_add(const char *queue_key, unsigned k, rconn_t *c, unsigned char used[QSHARD_MAX + 1],
                struct app_err *err);

/* The same without adding anything: used[k'] for each k' the record holds ({1} when there is
 * none). */
int qrecord_read(const char *queue_key, rconn_t *c, unsigned char used[QSHARD_MAX + 1],
                 struct app_err *err);

#endif
