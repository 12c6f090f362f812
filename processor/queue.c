/* queue.c - the Redis list queue: reliable claim, ack, hand-back, dead letters (recovery:
 * recovery.c). */
#include "queue.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assign.h"
#include "text.h"

/* The key names of the enum queue_key_kind (see queue.h), built once; with no consumer the
 * per-consumer ones are NULL. */
enum { QUEUE_N_NAMES = QUEUE_ASSIGNER + 1 };

struct queue {
    char *names[QUEUE_N_NAMES];
};

/* "<name>:<kind>" or "<name>:<kind>:<consumer>", malloc'd; NULL when out of memory. */
static char *
make_key(const char *name, const char *kind, const char *consumer)
{
    size_t len = strlen(name) + 1 + strlen(kind) + (consumer ? 1 + strlen(consumer) : 0) + 1;
    char *k = malloc(len);

    if (k != NULL) {
        snprintf(k, len, consumer ? "%s:%s:%s" : "%s:%s", name, kind, consumer);
    }
    return k;
}

char *
queue_consumer_key(const queue_t *q, const char *kind, const char *consumer)
{
    return make_key(q->names[QUEUE_PENDING], kind, consumer);
}

queue_t *
queue_new(const char *queue_key, const char *consumer)
{
    queue_t *q = calloc(1, sizeof *q);
    char **k;

    if (q == NULL) {
        return NULL;
    }
    k = q->names;
    k[QUEUE_PENDING] = strdup(queue_key);
    k[QUEUE_DEAD] = make_key(queue_key, "dead", NULL);
    k[QUEUE_CONSUMERS] = make_key(queue_key, "consumers", NULL);
    k[QUEUE_ASSIGNING] = make_key(queue_key, "assigning", NULL);
    k[QUEUE_LEASE] = make_key(queue_key, "assign", NULL);
    k[QUEUE_ASSIGNER] = make_key(queue_key, "assigner", NULL);
    if (consumer != NULL) {
        k[QUEUE_CONSUMER] = strdup(consumer);
        k[QUEUE_PROCESSING] = make_key(queue_key, "processing", consumer);
        k[QUEUE_HEARTBEAT] = make_key(queue_key, "heartbeat", consumer);
    }
    for (int i = 0; i < QUEUE_N_NAMES; i++) {
        int wanted = consumer != NULL ||
                     (i != QUEUE_CONSUMER && i != QUEUE_PROCESSING && i != QUEUE_HEARTBEAT);
        if (wanted && k[i] == NULL) {
            queue_free(q);
            return NULL;
        }
    }
    return q;
}

void
queue_free(queue_t *q)
{
    if (q == NULL) {
        return;
    }
    for (int i = 0; i < QUEUE_N_NAMES; i++) {
        free(q->names[i]);
    }
    free(q);
}

const char *
queue_name(const queue_t *q, enum queue_key_kind which)
{
    return q->names[which];
}

/* The consumer operations need a consumer: fail clearly rather than touch a NULL key. */
static int
need_consumer(const queue_t *q, struct app_err *err)
{
    return q->names[QUEUE_CONSUMER] != NULL ? 0
                                            : err_set(err, ERR_INTERNAL, "queue: no consumer id");
}

void
queue_batch_init(struct queue_batch *b)
{
    b->n = 0;
    b->items = NULL;
    b->ev = NULL;
}

void
queue_batch_clear(struct queue_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        freeReplyObject(b->items[i]);
        if (b->ev != NULL) {
            event_cleanup(&b->ev[i]);
        }
    }
    free(b->items);
    free(b->ev);
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

/* Move the strings of the array reply r (of command what) into out: right to left when reversed (a
 * list whose newest element is at the left, read oldest first), else as listed. Frees r. Returns
 * the number moved, or -1 with err (out of memory: the rest are not in out; a claim's must then not
 * be processed, since its ack would delete them unseen, and the caller resumes from the processing
 * list). */
static int
take_reply(redisReply *r, const char *what, int reversed, struct queue_batch *out,
           struct app_err *err)
{
    int n = 0;

    if (r->type != REDIS_REPLY_ARRAY) {
        err_set(err, ERR_TRANSIENT, "redis %s: %s", what, r->str ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    for (size_t k = 0; k < r->elements; k++) {
        size_t i = reversed ? r->elements - 1 - k : k;
        if (r->element[i]->type != REDIS_REPLY_STRING) {
            continue;
        }
        if (batch_add(out, r->element[i]) != 0) {
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
queue_batch_take(redisReply *r, const char *what, struct queue_batch *out, struct app_err *err)
{
    return take_reply(r, what, 0, out, err);
}

/* One claim with its visits assigned (assign.h): ASSIGN_BUSY, the number claimed, or -1. */
static int
claim_now(const queue_t *q, rconn_t *c, size_t max, long timeout_s, struct queue_batch *out,
          struct app_err *err)
{
    const struct assign_keys k = {.shard = q->names[QUEUE_PENDING],
                                  .assigning = q->names[QUEUE_ASSIGNING],
                                  .lease = q->names[QUEUE_LEASE],
                                  .assigner = q->names[QUEUE_ASSIGNER],
                                  .processing = q->names[QUEUE_PROCESSING],
                                  .consumers = q->names[QUEUE_CONSUMERS],
                                  .consumer = q->names[QUEUE_CONSUMER]};
    struct queue_batch b;
    int n;

    queue_batch_init(&b);
    n = assign_claim(c, &k, max, &b, err);
    if (n > 0 && assign_batch(c, &k, timeout_s, &b, err) != 0) {
        n = -1;
    }
    if (n > 0 && out->n == 0) { /* the whole batch, its decoded events with it */
        queue_batch_clear(out);
        *out = b;
        return n;
    }
    for (size_t i = 0; n > 0 && i < b.n; i++) {
        if (batch_add(out, b.items[i]) != 0) {
            n = err_set(err, ERR_INTERNAL, "out of memory");
            break;
        }
        b.items[i] = NULL;
    }
    queue_batch_clear(&b);
    return n;
}

int
queue_claim(const queue_t *q, rconn_t *c, size_t max, long block_ms, long timeout_s,
            struct queue_batch *out, struct app_err *err)
{
    const char *key = q->names[QUEUE_PENDING];
    char secs[32];
    redisReply *r;
    int n;

    if (need_consumer(q, err) != 0) {
        return -1;
    }
    n = claim_now(q, c, max, timeout_s, out, err);
    if (n == ASSIGN_BUSY) {
        /* Another processor assigns this queue's next batch: it takes a few milliseconds. */
        if (block_ms <= 0) {
            return 0;
        }
        long ms = block_ms < QUEUE_BUSY_WAIT_MS ? block_ms : QUEUE_BUSY_WAIT_MS;
        nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = ms * 1000000L}, NULL);
        n = claim_now(q, c, max, timeout_s, out, err);
        return n == ASSIGN_BUSY ? 0 : n;
    }
    if (n != 0 || block_ms <= 0) {
        return n;
    }
    /* Empty: wait for an envelope without taking it (BLMOVE of the list onto itself, right
     * to right, leaves it as it was), then claim as above. A blocking command cannot run
     * in a script, and a BLMOVE into the processing list would create it unregistered. */
    snprintf(secs, sizeof secs, "%ld.%03ld", block_ms / 1000, block_ms % 1000);
    rconn_route(c, key);
    r = rconn_command_blocking(c, block_ms, err, "BLMOVE %s %s RIGHT RIGHT %s", key, key, secs);
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
    freeReplyObject(r);
    n = claim_now(q, c, max, timeout_s, out, err); /* 0 when another processor was first */
    return n == ASSIGN_BUSY ? 0 : n;
}

/* LRANGE key 0 stop, moving its elements into out as take_reply() does. */
static int
take_range(rconn_t *c, const char *key, long long stop, int reversed, struct queue_batch *out,
           struct app_err *err)
{
    redisReply *r;

    rconn_route(c, key);
    r = rconn_command(c, err, "LRANGE %s 0 %lld", key, stop);

    return r == NULL ? -1 : take_reply(r, "LRANGE", reversed, out, err);
}

int
queue_list(const queue_t *q, rconn_t *c, struct queue_batch *out, struct app_err *err)
{
    if (need_consumer(q, err) != 0) {
        return -1;
    }
    /* The list holds the newest claim at the left. */
    return take_range(c, q->names[QUEUE_PROCESSING], -1, 1, out, err);
}

int
queue_ack(const queue_t *q, rconn_t *c, char **dead, size_t n_dead, struct app_err *err)
{
    /* Only while the processing list exists: a retry after a lost reply (the script ran, its
     * answer never came) finds it gone and pushes nothing twice, and so does an ack of a
     * list that a recovery pass returned to the queue meanwhile (its envelopes are processed
     * again, and their dead letters pushed then). */
    static const char script[] = "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
                                 "for i = 1, #ARGV do redis.call('LPUSH', KEYS[2], ARGV[i]) end\n"
                                 "redis.call('DEL', KEYS[1])\n"
                                 "return 1\n";
    size_t argc = 5 + n_dead;
    const char **argv = malloc(argc * sizeof *argv);
    size_t *lens = malloc(argc * sizeof *lens);
    redisReply *r = NULL;
    int rc = -1;

    if (need_consumer(q, err) != 0) {
        goto done;
    }
    if (argv == NULL || lens == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    argv[0] = "EVAL";
    argv[1] = script;
    argv[2] = "2";
    argv[3] = q->names[QUEUE_PROCESSING];
    argv[4] = q->names[QUEUE_DEAD];
    for (size_t i = 0; i < n_dead; i++) {
        argv[5 + i] = dead[i];
    }
    for (size_t i = 0; i < argc; i++) {
        lens[i] = strlen(argv[i]);
    }
    rconn_route(c, argv[3]);
    r = rconn_command_argv(c, err, (int)argc, argv, lens);
    if (r == NULL) {
        goto done;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
        rc = r->integer != 0;
    } else {
        err_set(err, ERR_TRANSIENT, "redis ack: %s", r->str ? r->str : "unexpected reply");
    }
done:
    freeReplyObject(r);
    free(argv);
    free(lens);
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

/* A command (an EVAL) whose answer is an integer: returns it, or -1 with err. */
static long
eval_argv(rconn_t *c, struct app_err *err, int argc, const char **argv)
{
    size_t lens[8];
    redisReply *r;
    long n = -1;

    for (int i = 0; i < argc; i++) {
        lens[i] = strlen(argv[i]);
    }
    rconn_route(c, argv[3]); /* every script's first key: they all share the shard's slot */
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

/* EVAL script with keys k1, k2 and up to two arguments (NULL: fewer); the script
 * returns an integer. */
static long
eval_int(rconn_t *c, struct app_err *err, const char *script, const char *k1, const char *k2,
         const char *a1, const char *a2)
{
    const char *argv[] = {"EVAL", script, "2", k1, k2, a1, a2};

    return eval_argv(c, err, a1 == NULL ? 5 : a2 == NULL ? 6 : 7, argv);
}

long
queue_requeue(const queue_t *q, rconn_t *c, struct app_err *err)
{
    static const char script[] =
        "local n = 0\n"
        "while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do n = n + 1 end\n"
        "return n\n";

    if (need_consumer(q, err) != 0) {
        return -1;
    }
    return eval_int(c, err, script, q->names[QUEUE_PROCESSING], q->names[QUEUE_PENDING], NULL,
                    NULL);
}

int
queue_heartbeat(const queue_t *q, rconn_t *c, long ttl_ms, struct app_err *err)
{
    static const char script[] = "redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])\n"
                                 "return redis.call('SADD', KEYS[2], ARGV[2])\n";
    char ttl[32];

    if (need_consumer(q, err) != 0) {
        return -1;
    }
    snprintf(ttl, sizeof ttl, "%ld", ttl_ms);
    return eval_int(c, err, script, q->names[QUEUE_HEARTBEAT], q->names[QUEUE_CONSUMERS], ttl,
                    q->names[QUEUE_CONSUMER]) < 0
               ? -1
               : 0;
}

int
queue_unregister(const queue_t *q, rconn_t *c, struct app_err *err)
{
    static const char script[] = "redis.call('DEL', KEYS[1])\n"
                                 "if redis.call('LLEN', KEYS[3]) == 0 then\n"
                                 "  return redis.call('SREM', KEYS[2], ARGV[1])\n"
                                 "end\n"
                                 "return 0\n";
    const char *const *k = (const char *const *)q->names;
    const char *argv[] = {
        "EVAL",           script, "3", k[QUEUE_HEARTBEAT], k[QUEUE_CONSUMERS], k[QUEUE_PROCESSING],
        k[QUEUE_CONSUMER]};

    if (need_consumer(q, err) != 0) {
        return -1;
    }
    return eval_argv(c, err, 7, argv) < 0 ? -1 : 0;
}

int
queue_dead_list(const queue_t *q, rconn_t *c, size_t max, struct queue_batch *out,
                struct app_err *err)
{
    return take_range(c, q->names[QUEUE_DEAD], (long long)max - 1, 0, out, err);
}

long
queue_dead_requeue(const queue_t *q, rconn_t *c, struct app_err *err)
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
    return eval_int(c, err, script, q->names[QUEUE_DEAD], q->names[QUEUE_PENDING], NULL, NULL);
}

long
queue_dead_purge(const queue_t *q, rconn_t *c, struct app_err *err)
{
    static const char script[] = "local n = redis.call('LLEN', KEYS[1])\n"
                                 "redis.call('DEL', KEYS[1])\n"
                                 "return n\n";
    return eval_int(c, err, script, q->names[QUEUE_DEAD], q->names[QUEUE_PENDING], NULL, NULL);
}

int
queue_depths(const queue_t *q, rconn_t *c, struct queue_depths *out, struct app_err *err)
{
    const char *keys[] = {q->names[QUEUE_PENDING], q->names[QUEUE_PROCESSING], q->names[QUEUE_DEAD],
                          q->names[QUEUE_ASSIGNING]};
    long long assigning = 0;
    long long *dest[] = {&out->pending, &out->processing, &out->dead, &assigning};
    enum { N_KEYS = sizeof keys / sizeof keys[0] };
    redisContext *ctx;
    int rc = 0;

    rconn_route(c, keys[0]);
    ctx = rconn_context(c, err);
    if (ctx == NULL) {
        return -1;
    }
    for (size_t i = 0; i < N_KEYS; i++) {
        *dest[i] = 0;
        if (keys[i] != NULL && redisAppendCommand(ctx, "LLEN %s", keys[i]) != REDIS_OK) {
            rconn_drop(c); /* out of memory: the context is unusable */
            return err_set(err, ERR_INTERNAL, "out of memory");
        }
    }
    for (size_t i = 0; i < N_KEYS; i++) {
        void *reply = NULL;
        if (keys[i] == NULL) {
            continue;
        }
        if (redisGetReply(ctx, &reply) != REDIS_OK) {
            rconn_drop(c);
            return err_set(err, ERR_TRANSIENT, "redis LLEN: connection lost");
        }
        redisReply *r = reply;
        if (r->type == REDIS_REPLY_INTEGER) {
            *dest[i] = r->integer;
        } else {
            rc =
                err_set(err, ERR_TRANSIENT, "redis LLEN: %s", r->str ? r->str : "unexpected reply");
        }
        freeReplyObject(r);
    }
    out->pending += assigning; /* a claim's batch being assigned is still waiting */
    return rc;
}
