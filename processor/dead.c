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
    "Redis and QUEUE_KEY come from the environment, as for the service.\n";

int
dead_command(const struct processor_cfg *c, int argc, char **argv)
{
    rconn_t *redis = NULL;
    queue_t *q = NULL;
    struct queue_batch batch;
    struct app_err err = {0};
    long n = -1, max = 100;
    int rc = 1;

    queue_batch_init(&batch);
    if (argc < 1 || (strcmp(argv[0], "list") != 0 && argc != 1) || argc > 2 ||
        (argc == 2 && cfg_parse_long(argv[1], 1, 1000000, &max) != 0)) {
        fputs(usage, stderr);
        return SVC_EXIT_CONFIG;
    }
    redis = rconn_new(&c->redis);
    q = queue_new(c->queue_key, NULL);
    if (redis == NULL || q == NULL) {
        fputs("processor: out of memory\n", stderr);
        goto done;
    }
    if (strcmp(argv[0], "list") == 0) {
        n = queue_dead_list(q, redis, (size_t)max, &batch, &err);
        for (size_t i = 0; n >= 0 && i < batch.n; i++) {
            printf("%.*s\n", (int)batch.items[i]->len, batch.items[i]->str);
        }
    } else if (strcmp(argv[0], "requeue") == 0) {
        n = queue_dead_requeue(q, redis, &err);
        if (n >= 0) {
            printf("requeued %ld dead letters onto %s\n", n, queue_name(q, QUEUE_PENDING));
        }
    } else if (strcmp(argv[0], "purge") == 0) {
        n = queue_dead_purge(q, redis, &err);
        if (n >= 0) {
            printf("purged %ld dead letters from %s\n", n, queue_name(q, QUEUE_DEAD));
        }
    } else {
        fputs(usage, stderr);
        rc = SVC_EXIT_CONFIG;
        goto done;
    }
    if (n < 0) {
        fprintf(stderr, "processor: %s\n", err.msg);
        goto done;
    }
    rc = 0;
done:
    queue_batch_clear(&batch);
    rconn_free(redis);
    queue_free(q);
    return rc;
}

int
orphans_command(const struct processor_cfg *c)
{
    rconn_t *redis = rconn_new(&c->redis);
    queue_t *q = queue_new(c->queue_key, NULL);
    struct app_err err = {0};
    long lists = 0, n = -1;

    if (redis == NULL || q == NULL) {
        fputs("processor: out of memory\n", stderr);
    } else if ((n = queue_adopt_orphans(q, redis, &lists, &err)) < 0) {
        fprintf(stderr, "processor: %s\n", err.msg);
    } else {
        printf("adopted %ld processing list%s of unregistered consumers (of %ld found); the next "
               "recovery pass returns those whose processor is gone\n",
               n, n == 1 ? "" : "s", lists);
    }
    rconn_free(redis);
    queue_free(q);
    return n < 0 ? 1 : 0;
}
