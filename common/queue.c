/* queue.c - the Redis list queue: push, reliable claim into a processing list, ack, hand-back, dead
 * letters. */
#include "queue.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
queue_batch_init(struct queue_batch *b)
{
    b->n = 0;
    b->items = NULL;
}

void
queue_batch_clear(struct queue_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        freeReplyObject(b->items[i]);
    }
    free(b->items);
    queue_batch_init(b);
}

static int
batch_add(struct queue_batch *b, redisReply *r)
{
    redisReply **items = realloc(b->items, (b->n + 1) * sizeof *items);
    if (items == NULL) {
        return -1;
    }
    b->items = items;
    b->items[b->n++] = r;
    return 0;
}

/* Consume a reply that should be an integer or status; an error reply or
 * NULL fails. */
static int
expect_ok(redisReply *r, const char *what, struct app_err *err)
{
    int rc = 0;

    if (r == NULL) {
        return -1; /* err already filled by rconn */
    }
    if (r->type == REDIS_REPLY_ERROR) {
        rc = err_set(err, ERR_TRANSIENT, "redis %s: %s", what, r->str);
    }
    freeReplyObject(r);
    return rc;
}

int
queue_push(rconn_t *c, const char *key, const char *payload, size_t len, struct app_err *err)
{
    const char *argv[] = {"LPUSH", key, payload};
    const size_t lens[] = {5, strlen(key), len};

    return expect_ok(rconn_command_argv(c, err, 3, argv, lens), "LPUSH", err);
}

int
queue_claim(rconn_t *c, const char *key, const char *processing, size_t max, long block_ms,
            struct queue_batch *out, struct app_err *err)
{
    redisContext *ctx;
    char secs[32];
    redisReply *r;
    int claimed = 0;

    snprintf(secs, sizeof secs, "%ld.%03ld", block_ms / 1000, block_ms % 1000);
    r = rconn_command_blocking(c, block_ms, err, "BLMOVE %s %s RIGHT LEFT %s", key, processing,
                               secs);
    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return 0;
    }
    if (r->type != REDIS_REPLY_STRING) {
        err_set(err, ERR_TRANSIENT, "redis BLMOVE: %s", r->str ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    if (batch_add(out, r) != 0) {
        freeReplyObject(r);
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    claimed = 1;
    ctx = rconn_context(c, err);
    if (ctx == NULL) {
        return -1;
    }
    for (size_t i = 1; i < max; i++) {
        redisAppendCommand(ctx, "LMOVE %s %s RIGHT LEFT", key, processing);
    }
    for (size_t i = 1; i < max; i++) {
        void *reply = NULL;
        if (redisGetReply(ctx, &reply) != REDIS_OK) {
            rconn_drop(c);
            return err_set(err, ERR_TRANSIENT, "redis LMOVE: connection lost");
        }
        r = reply;
        if (r->type == REDIS_REPLY_STRING && batch_add(out, r) == 0) {
            claimed++;
        } else {
            freeReplyObject(r);
        }
    }
    return claimed;
}

int
queue_list(rconn_t *c, const char *processing, struct queue_batch *out, struct app_err *err)
{
    redisReply *r = rconn_command(c, err, "LRANGE %s 0 -1", processing);
    int n = 0;

    if (r == NULL) {
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        err_set(err, ERR_TRANSIENT, "redis LRANGE: %s", r->str ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    /* The list holds the newest claim at the left: walk it right to left. */
    for (size_t i = r->elements; i-- > 0;) {
        redisReply *item = r->element[i];
        if (item->type != REDIS_REPLY_STRING) {
            continue;
        }
        if (batch_add(out, item) != 0) {
            freeReplyObject(r);
            return err_set(err, ERR_INTERNAL, "out of memory");
        }
        r->element[i] = NULL; /* now owned by the batch */
        n++;
    }
    freeReplyObject(r);
    return n;
}

int
queue_ack(rconn_t *c, const char *processing, const char *dead_key, char **dead, size_t n_dead,
          struct app_err *err)
{
    redisContext *ctx = rconn_context(c, err);
    int rc = 0;

    if (ctx == NULL) {
        return -1;
    }
    redisAppendCommand(ctx, "MULTI");
    for (size_t i = 0; i < n_dead; i++) {
        redisAppendCommand(ctx, "LPUSH %s %s", dead_key, dead[i]);
    }
    redisAppendCommand(ctx, "DEL %s", processing);
    redisAppendCommand(ctx, "EXEC");
    for (size_t i = 0; i < n_dead + 3; i++) {
        void *reply = NULL;
        if (redisGetReply(ctx, &reply) != REDIS_OK) {
            rconn_drop(c);
            return err_set(err, ERR_TRANSIENT, "redis ack: connection lost");
        }
        redisReply *r = reply;
        if (r->type == REDIS_REPLY_ERROR || (i == n_dead + 2 && r->type != REDIS_REPLY_ARRAY)) {
            rc = err_set(err, ERR_TRANSIENT, "redis ack: %s", r->str ? r->str : "EXEC aborted");
        }
        freeReplyObject(r);
    }
    return rc;
}

long
queue_requeue(rconn_t *c, const char *processing, const char *key, struct app_err *err)
{
    static const char script[] =
        "local n = 0\n"
        "while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do n = n + 1 end\n"
        "return n\n";
    redisReply *r = rconn_command(c, err, "EVAL %s 2 %s %s", script, processing, key);
    long n = -1;

    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
        n = (long)r->integer;
    } else {
        err_set(err, ERR_TRANSIENT, "redis requeue: %s", r->str ? r->str : "unexpected reply");
    }
    freeReplyObject(r);
    return n;
}

char *
queue_dead_entry(const char *reason, const char *error, int attempts, long long failed_at_ms,
                 const char *payload, size_t payload_len)
{
    json_t *text = json_stringn(payload, payload_len);
    json_t *o;
    char *out;

    if (text == NULL) {
        /* Not UTF-8 (or has a NUL): keep it readable, bytes >= 0x80 and NUL as '?'. */
        char *copy = malloc(payload_len + 1);
        if (copy == NULL) {
            return NULL;
        }
        for (size_t i = 0; i < payload_len; i++) {
            unsigned char ch = (unsigned char)payload[i];
            copy[i] = (char)(ch >= 0x80 || ch == 0 ? '?' : ch);
        }
        text = json_stringn(copy, payload_len);
        free(copy);
    }
    o = json_pack("{s:s,s:s,s:i,s:I,s:o}", "reason", reason, "error", error, "attempts", attempts,
                  "failed_at", (json_int_t)failed_at_ms, "payload", text);
    out = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return out;
}
