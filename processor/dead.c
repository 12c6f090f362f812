/* dead.c - the operator commands: processor --dead list|requeue|purge, and
 * processor --recover-orphans. */
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "processor.h"
#include "queue.h"
#include "svc.h"

static const char usage[] =
    "usage: processor --dead list [N]   print up to N dead letters (default 100), newest first,\n"
    "                                   one JSON object per line\n"
    "       processor --dead requeue    push every dead letter's event back onto the queue\n"
    "       processor --dead purge      delete every dead letter\n"
    "Redis, QUEUE_KEY and QUEUE_SHARDS come from the environment, as for the service;\n"
    "each command covers every shard (list: shard 0 first, N in all).\n";

/* One dead-letter command (argv[0]) on one shard; list prints at most *max entries and
 * takes what it printed off *max. Returns the number concerned, or -1 with err. */
static long
dead_shard(const queue_t *q, rconn_t *redis, const char *cmd, long *max, struct app_err *err)
{
    struct queue_batch batch;
    long n = -1;

    if (strcmp(cmd, "requeue") == 0) {
        n = queue_dead_requeue(q, redis, err);
        if (n >= 0) {
            printf("requeued %ld dead letters onto %s\n", n, queue_name(q, QUEUE_PENDING));
        }
    } else if (strcmp(cmd, "purge") == 0) {
        n = queue_dead_purge(q, redis, err);
        if (n >= 0) {
            printf("purged %ld dead letters from %s\n", n, queue_name(q, QUEUE_DEAD));
        }
    } else if (*max > 0) {
        queue_batch_init(&batch);
        n = queue_dead_list(q, redis, (size_t)*max, &batch, err);
        for (size_t i = 0; n >= 0 && i < batch.n; i++) {
            printf("%.*s\n", (int)batch.items[i]->len, batch.items[i]->str);
        }
        *max -= n > 0 ? n : 0;
        queue_batch_clear(&batch);
    } else {
        n = 0;
    }
    return n;
}

int
dead_command(const struct processor_cfg *c, int argc, char **argv)
{
    rconn_t *redis = NULL;
    struct queue_set qs = {0};
    struct app_err err = {0};
    long max = 100;
    int rc = 1;

    if (argc < 1 || (strcmp(argv[0], "list") != 0 && argc != 1) || argc > 2 ||
        (argc == 2 && cfg_parse_long(argv[1], 1, 1000000, &max) != 0) ||
        (strcmp(argv[0], "list") != 0 && strcmp(argv[0], "requeue") != 0 &&
         strcmp(argv[0], "purge") != 0)) {
        fputs(usage, stderr);
        return SVC_EXIT_CONFIG;
    }
    redis = rconn_new(&c->redis);
    if (redis == NULL || queue_set_init(&qs, c->queue_key, (unsigned)c->queue_shards, NULL) != 0) {
        fputs("processor: out of memory\n", stderr);
        goto done;
    }
    /* Shard by shard: each shard's dead letters go back to that shard (its visitors'). */
    for (unsigned i = 0; i < qs.n; i++) {
        if (dead_shard(qs.q[i], redis, argv[0], &max, &err) < 0) {
            fprintf(stderr, "processor: %s\n", err.msg);
            goto done;
        }
    }
    rc = 0;
done:
    rconn_free(redis);
    queue_set_free(&qs);
    return rc;
}

int
orphans_command(const struct processor_cfg *c)
{
    rconn_t *redis = rconn_new(&c->redis);
    struct queue_set qs = {0};
    struct app_err err = {0};
    long lists = 0, n = 0;

    if (redis == NULL || queue_set_init(&qs, c->queue_key, (unsigned)c->queue_shards, NULL) != 0) {
        fputs("processor: out of memory\n", stderr);
        n = -1;
    }
    for (unsigned i = 0; n >= 0 && i < qs.n; i++) {
        long found = 0, k = queue_adopt_orphans(qs.q[i], redis, &found, &err);
        if (k < 0) {
            fprintf(stderr, "processor: %s\n", err.msg);
            n = -1;
        } else {
            n += k;
            lists += found;
        }
    }
    if (n >= 0) {
        printf("adopted %ld processing list%s of unregistered consumers (of %ld found); the next "
               "recovery pass returns those whose processor is gone\n",
               n, n == 1 ? "" : "s", lists);
    }
    rconn_free(redis);
    queue_set_free(&qs);
    return n < 0 ? 1 : 0;
}
