/* queue.c - the Redis list queue: push, reliable claim, ack, hand-back, recovery, dead letters. */
#include "queue.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

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

int
queue_claim(rconn_t *c, const char *key, const char *processing, size_t max, long block_ms,
            struct queue_batch *out, struct app_err *err)
{
    redisContext *ctx;
    char secs[32];
    redisReply *r;
    int claimed = 0, lost = 0;

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
        if (r->type != REDIS_REPLY_STRING) {
            freeReplyObject(r); /* nil: the queue ran empty */
        } else if (batch_add(out, r) == 0) {
            claimed++;
        } else {
            /* Moved into the processing list but not into the batch: the claim must not
             * be processed (its ack would delete this one unseen). Read the rest of the
             * replies, then fail: the caller resumes from the processing list. */
            freeReplyObject(r);
            lost = 1;
        }
    }
    if (lost) {
        return err_set(err, ERR_INTERNAL, "out of memory while claiming");
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

/* A JSON string of the bytes, with what is not UTF-8 (or NUL) as '?'. */
static json_t *
safe_string(const char *s, size_t len)
{
    char *copy;
    json_t *j;

    if (text_is_utf8(s, len)) {
        return json_stringn(s, len);
    }
    copy = malloc(len + 1);
    if (copy == NULL) {
        return NULL;
    }
    j = json_stringn(copy, text_sanitize(copy, len + 1, s, len));
    free(copy);
    return j;
}

char *
queue_dead_entry(const char *reason, const char *error, int attempts, long long failed_at_ms,
                 const char *payload, size_t payload_len)
{
    json_t *o =
        json_pack("{s:o?,s:o?,s:i,s:I,s:o?}", "reason", safe_string(reason, strlen(reason)),
                  "error", safe_string(error, strlen(error)), "attempts", attempts, "failed_at",
                  (json_int_t)failed_at_ms, "payload", safe_string(payload, payload_len));
    char *out = NULL;

    /* o? turns a failed (NULL) string into null: refuse that, the entry must be whole. */
    if (o != NULL && json_is_string(json_object_get(o, "reason")) &&
        json_is_string(json_object_get(o, "error")) &&
        json_is_string(json_object_get(o, "payload"))) {
        out = json_dumps(o, JSON_COMPACT);
    }
    json_decref(o);
    return out;
}

int
queue_key(char *out, size_t outlen, const char *qkey, const char *kind, const char *consumer)
{
    int n = consumer ? snprintf(out, outlen, "%s:%s:%s", qkey, kind, consumer)
                     : snprintf(out, outlen, "%s:%s", qkey, kind);
    return n >= 0 && (size_t)n < outlen ? 0 : -1;
}

/* EVAL script with keys k1, k2 and up to two arguments (NULL: fewer); the script
 * returns an integer. */
static long
eval_int(rconn_t *c, struct app_err *err, const char *script, const char *k1, const char *k2,
         const char *a1, const char *a2)
{
    const char *argv[] = {"EVAL", script, "2", k1, k2, a1, a2};
    size_t lens[7];
    int argc = a1 == NULL ? 5 : a2 == NULL ? 6 : 7;
    redisReply *r;
    long n = -1;

    for (int i = 0; i < argc; i++) {
        lens[i] = strlen(argv[i]);
    }
    r = rconn_command_argv(c, err, argc, argv, lens);
    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
        n = (long)r->integer;
    } else {
        err_set(err, ERR_TRANSIENT, "redis script: %s", r->str ? r->str : "unexpected reply");
    }
    freeReplyObject(r);
    return n;
}

long
queue_requeue(rconn_t *c, const char *processing, const char *key, struct app_err *err)
{
    static const char script[] =
        "local n = 0\n"
        "while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do n = n + 1 end\n"
        "return n\n";

    return eval_int(c, err, script, processing, key, NULL, NULL);
}

int
queue_heartbeat(rconn_t *c, const char *qkey, const char *consumer, long ttl_ms,
                struct app_err *err)
{
    static const char script[] = "redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])\n"
                                 "return redis.call('SADD', KEYS[2], ARGV[2])\n";
    char hb[512], set[512], ttl[32];

    if (queue_key(hb, sizeof hb, qkey, "heartbeat", consumer) != 0 ||
        queue_key(set, sizeof set, qkey, "consumers", NULL) != 0) {
        return err_set(err, ERR_INVALID, "key too long");
    }
    snprintf(ttl, sizeof ttl, "%ld", ttl_ms);
    return eval_int(c, err, script, hb, set, ttl, consumer) < 0 ? -1 : 0;
}

int
queue_unregister(rconn_t *c, const char *qkey, const char *consumer, struct app_err *err)
{
    static const char script[] = "redis.call('DEL', KEYS[1])\n"
                                 "if redis.call('LLEN', ARGV[2]) == 0 then\n"
                                 "  return redis.call('SREM', KEYS[2], ARGV[1])\n"
                                 "end\n"
                                 "return 0\n";
    char hb[512], set[512], plist[512];

    if (queue_key(hb, sizeof hb, qkey, "heartbeat", consumer) != 0 ||
        queue_key(set, sizeof set, qkey, "consumers", NULL) != 0 ||
        queue_key(plist, sizeof plist, qkey, "processing", consumer) != 0) {
        return err_set(err, ERR_INVALID, "key too long");
    }
    return eval_int(c, err, script, hb, set, consumer, plist) < 0 ? -1 : 0;
}

long
queue_recover(rconn_t *c, const char *qkey, int scan, struct app_err *err)
{
    static const char script[] =
        "local moved = 0\n"
        "local function reclaim(id)\n"
        "  if redis.call('EXISTS', ARGV[1] .. ':heartbeat:' .. id) == 0 then\n"
        "    local plist = ARGV[1] .. ':processing:' .. id\n"
        "    while redis.call('LMOVE', plist, KEYS[2], 'LEFT', 'RIGHT') do\n"
        "      moved = moved + 1\n"
        "    end\n"
        "    redis.call('SREM', KEYS[1], id)\n"
        "  end\n"
        "end\n"
        "for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do reclaim(id) end\n"
        "if ARGV[2] == 'scan' then\n"
        "  local prefix = ARGV[1] .. ':processing:'\n"
        "  local pattern = prefix:gsub('[%*%?%[%]\\\\]', '\\\\%0') .. '*'\n"
        "  local cursor = '0'\n"
        "  repeat\n"
        "    local res = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)\n"
        "    cursor = res[1]\n"
        "    for _, k in ipairs(res[2]) do reclaim(string.sub(k, #prefix + 1)) end\n"
        "  until cursor == '0'\n"
        "end\n"
        "return moved\n";
    char set[512];

    if (queue_key(set, sizeof set, qkey, "consumers", NULL) != 0) {
        return err_set(err, ERR_INVALID, "key too long");
    }
    return eval_int(c, err, script, set, qkey, qkey, scan ? "scan" : "set");
}

int
queue_dead_list(rconn_t *c, const char *qkey, size_t max, struct queue_batch *out,
                struct app_err *err)
{
    char dead[512];
    redisReply *r;
    int n = 0;

    if (queue_key(dead, sizeof dead, qkey, "dead", NULL) != 0) {
        return err_set(err, ERR_INVALID, "key too long");
    }
    r = rconn_command(c, err, "LRANGE %s 0 %lld", dead, (long long)max - 1);
    if (r == NULL) {
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        err_set(err, ERR_TRANSIENT, "redis LRANGE: %s", r->str ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    for (size_t i = 0; i < r->elements; i++) {
        if (batch_add(out, r->element[i]) != 0) {
            freeReplyObject(r);
            return err_set(err, ERR_INTERNAL, "out of memory");
        }
        r->element[i] = NULL;
        n++;
    }
    freeReplyObject(r);
    return n;
}

long
queue_dead_requeue(rconn_t *c, const char *qkey, struct app_err *err)
{
    /* Oldest first, so the requeued events keep their relative order; the entries
     * that cannot be requeued are written back in their order (one pass, no LREM). */
    static const char script[] =
        "local moved = 0\n"
        "local keep = {}\n"
        "local entries = redis.call('LRANGE', KEYS[1], 0, -1)\n"
        "for i = #entries, 1, -1 do\n"
        "  local ok, d = pcall(cjson.decode, entries[i])\n"
        "  if ok and type(d) == 'table' and type(d.payload) == 'string' then\n"
        "    redis.call('LPUSH', KEYS[2], d.payload)\n"
        "    moved = moved + 1\n"
        "  else\n"
        "    table.insert(keep, 1, entries[i])\n"
        "  end\n"
        "end\n"
        "redis.call('DEL', KEYS[1])\n"
        "for _, e in ipairs(keep) do redis.call('RPUSH', KEYS[1], e) end\n"
        "return moved\n";
    char dead[512];

    if (queue_key(dead, sizeof dead, qkey, "dead", NULL) != 0) {
        return err_set(err, ERR_INVALID, "key too long");
    }
    return eval_int(c, err, script, dead, qkey, NULL, NULL);
}

long
queue_dead_purge(rconn_t *c, const char *qkey, struct app_err *err)
{
    static const char script[] = "local n = redis.call('LLEN', KEYS[1])\n"
                                 "redis.call('DEL', KEYS[1])\n"
                                 "return n\n";
    char dead[512];

    if (queue_key(dead, sizeof dead, qkey, "dead", NULL) != 0) {
        return err_set(err, ERR_INVALID, "key too long");
    }
    return eval_int(c, err, script, dead, qkey, NULL, NULL);
}
