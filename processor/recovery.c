/* recovery.c - the recovery pass through the registry of consumers, and the operator's
 * adoption of processing lists that have no registry entry. No script walks the keyspace,
 * and every key a script touches is in its KEYS (Redis Cluster routes by them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"

/* The reclaim script of one registered consumer, whose keys are its KEYS: when its
 * heartbeat (KEYS[1]) is gone, move its processing list (KEYS[2]) back to the consuming
 * end of the queue (KEYS[3]) in order and unregister it (SREM KEYS[4] ARGV[1]). */
static const char reclaim_script[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
    "local moved = 0\n"
    "while redis.call('LMOVE', KEYS[2], KEYS[3], 'LEFT', 'RIGHT') do moved = moved + 1 end\n"
    "redis.call('SREM', KEYS[4], ARGV[1])\n"
    "return moved\n";

/* Append the reclaim script of consumer id to ctx's pipeline. Returns 0, or -1 when out
 * of memory (the context is then unusable). */
static int
append_reclaim(const queue_t *q, redisContext *ctx, const char *id, size_t id_len)
{
    char *hb = NULL, *pl = NULL, *consumer = strndup(id, id_len);
    int rc = -1;

    if (consumer == NULL || (hb = queue_consumer_key(q, "heartbeat", consumer)) == NULL ||
        (pl = queue_consumer_key(q, "processing", consumer)) == NULL) {
        goto done;
    }
    const char *argv[] = {"EVAL",
                          reclaim_script,
                          "4",
                          hb,
                          pl,
                          queue_name(q, QUEUE_PENDING),
                          queue_name(q, QUEUE_CONSUMERS),
                          consumer};
    size_t lens[8];
    for (size_t i = 0; i < 8; i++) {
        lens[i] = strlen(argv[i]);
    }
    rc = redisAppendCommandArgv(ctx, 8, argv, lens) == REDIS_OK ? 0 : -1;
done:
    free(consumer);
    free(hb);
    free(pl);
    return rc;
}

/* Send the reclaim script of each of the n members in one pipeline and add up what
 * they moved. Returns it, or -1 with err. */
static long
reclaim_all(const queue_t *q, rconn_t *c, redisReply **members, size_t n, struct app_err *err)
{
    redisContext *ctx;
    long moved = 0;
    int rc = 0;

    rconn_route(c, queue_name(q, QUEUE_CONSUMERS));
    ctx = rconn_context(c, err);
    if (ctx == NULL) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *id = members[i]->str != NULL ? members[i]->str : "";
        if (append_reclaim(q, ctx, id, members[i]->len) != 0) {
            rconn_drop(c); /* out of memory: the context is unusable */
            return err_set(err, ERR_INTERNAL, "out of memory");
        }
    }
    for (size_t i = 0; i < n; i++) {
        void *reply = NULL;
        if (redisGetReply(ctx, &reply) != REDIS_OK) {
            rconn_drop(c);
            return err_set(err, ERR_TRANSIENT, "redis recovery: connection lost");
        }
        redisReply *r = reply;
        if (r->type == REDIS_REPLY_INTEGER) {
            moved += (long)r->integer;
        } else {
            rc = err_set(err, ERR_TRANSIENT, "redis recovery: %s",
                         r->str ? r->str : "unexpected reply");
        }
        freeReplyObject(r);
    }
    return rc != 0 ? -1 : moved;
}

long
queue_recover(const queue_t *q, rconn_t *c, struct app_err *err)
{
    redisReply *members;
    long moved = 0;

    rconn_route(c, queue_name(q, QUEUE_CONSUMERS));
    members = rconn_command(c, err, "SMEMBERS %s", queue_name(q, QUEUE_CONSUMERS));
    if (members == NULL) {
        return -1;
    }
    if (members->type != REDIS_REPLY_ARRAY) {
        err_set(err, ERR_TRANSIENT, "redis SMEMBERS: %s",
                members->str ? members->str : "unexpected reply");
        moved = -1;
    } else if (members->elements > 0) {
        /* One script per consumer, each naming its keys, in one pipeline: the cost grows
         * with the number of registered consumers, never with the keys in Redis. */
        moved = reclaim_all(q, c, members->element, members->elements, err);
    }
    freeReplyObject(members);
    return moved;
}

char *
queue_glob_escape(const char *s)
{
    char *out = malloc(2 * strlen(s) + 1), *o = out;

    if (out == NULL) {
        return NULL;
    }
    for (; *s != '\0'; s++) {
        if (strchr("*?[]\\", *s) != NULL) {
            *o++ = '\\';
        }
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

/* Register consumer (KEYS[2] SADD ARGV[1]) while its processing list (KEYS[1]) exists.
 * Returns 1 when it was not registered, 0 when it was or the list is gone, -1 with err. */
static int
adopt(const queue_t *q, rconn_t *c, const char *list, const char *consumer, struct app_err *err)
{
    static const char script[] = "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
                                 "return redis.call('SADD', KEYS[2], ARGV[1])\n";
    const char *argv[] = {"EVAL", script, "2", list, queue_name(q, QUEUE_CONSUMERS), consumer};
    size_t lens[6];
    redisReply *r;
    int rc = -1;

    for (size_t i = 0; i < 6; i++) {
        lens[i] = strlen(argv[i]);
    }
    rconn_route(c, list);
    r = rconn_command_argv(c, err, 6, argv, lens);
    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
        rc = r->integer != 0;
    } else {
        err_set(err, ERR_TRANSIENT, "redis adopt: %s", r->str ? r->str : "unexpected reply");
    }
    freeReplyObject(r);
    return rc;
}

/* One SCAN step from *cursor (updated; "0" when the walk is done): adopt each processing
 * list it returns. Returns the number adopted, or -1 with err. */
static long
adopt_step(const queue_t *q, rconn_t *c, const char *pattern, size_t prefix_len, char *cursor,
           size_t cursor_size, long *scanned, struct app_err *err)
{
    redisReply *r;
    long adopted = 0;

    /* On a cluster, the master of the shard's slot: it holds every key of the shard. */
    rconn_route(c, queue_name(q, QUEUE_CONSUMERS));
    r = rconn_command(c, err, "SCAN %s MATCH %s COUNT %d TYPE list", cursor, pattern,
                      QUEUE_ADOPT_STEP);
    if (r == NULL) {
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
        err_set(err, ERR_TRANSIENT, "redis SCAN: %s", r->str ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    snprintf(cursor, cursor_size, "%s", r->element[0]->str);
    for (size_t i = 0; i < r->element[1]->elements && adopted >= 0; i++) {
        const redisReply *k = r->element[1]->element[i];
        int n;
        if (k->type != REDIS_REPLY_STRING || k->len <= prefix_len || strlen(k->str) != k->len) {
            continue; /* not one of ours, or a NUL in it (not a consumer id) */
        }
        n = adopt(q, c, k->str, k->str + prefix_len, err);
        adopted = n < 0 ? -1 : adopted + n;
        (*scanned)++;
    }
    freeReplyObject(r);
    return adopted;
}

long
queue_adopt_orphans(const queue_t *q, rconn_t *c, long *lists, struct app_err *err)
{
    char *prefix = queue_consumer_key(q, "processing", "");
    char *escaped = prefix != NULL ? queue_glob_escape(prefix) : NULL;
    char *pattern = NULL, cursor[32] = "0";
    long adopted = 0;

    *lists = 0;
    if (escaped == NULL || (pattern = malloc(strlen(escaped) + 2)) == NULL) {
        adopted = err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    snprintf(pattern, strlen(escaped) + 2, "%s*", escaped);
    do {
        long n = adopt_step(q, c, pattern, strlen(prefix), cursor, sizeof cursor, lists, err);
        adopted = n < 0 ? -1 : adopted + n;
    } while (adopted >= 0 && strcmp(cursor, "0") != 0);
done:
    free(prefix);
    free(escaped);
    free(pattern);
    return adopted;
}
