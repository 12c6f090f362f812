/* qrecord.c - the record of the queue layouts in use (qrecord.h). */
#include "qrecord.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ARGV[1]: the value to add, or "" to read only. */
static const char record_script[] =
    "local t = redis.call('TYPE', KEYS[1])['ok']\n"
    "if ARGV[1] == '' then\n"
    "  if t == 'set' then return redis.call('SMEMBERS', KEYS[1]) end\n"
    "  return {'1'}\n"
    "end\n"
    "if t ~= 'set' and t ~= 'none' then redis.call('DEL', KEYS[1]); t = 'none' end\n"
    "if t == 'none' then redis.call('SADD', KEYS[1], '1', ARGV[1]); return {'1'} end\n"
    "local had = redis.call('SMEMBERS', KEYS[1])\n"
    "redis.call('SADD', KEYS[1], ARGV[1])\n"
    "return had\n";

static int
record(const char *queue_key, const char *add, rconn_t *c, unsigned char *used, struct app_err *err)
{
    size_t len = strlen(queue_key) + sizeof ":shards";
    char *key = malloc(len);
    redisReply *r;

    memset(used, 0, QSHARD_MAX + 1);
    if (key == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    snprintf(key, len, "%s:shards", queue_key);
    rconn_route(c, key);
    r = rconn_command(c, err, "EVAL %s 1 %s %s", record_script, key, add);
    free(key);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        if (r != NULL) {
            err_set(err, ERR_TRANSIENT, "redis EVAL: %s", r->str ? r->str : "unexpected reply");
        }
        freeReplyObject(r);
        return -1;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        char *end = NULL;
        unsigned long v;
        if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len > 3 || e->str[0] == '0') {
            continue;
        }
        v = strtoul(e->str, &end, 10);
        if (end == e->str + e->len && v >= 1 && v <= QSHARD_MAX) {
            used[v] = 1;
        }
    }
    freeReplyObject(r);
    return 0;
}

int
qrecord_add(const char *queue_key, unsigned k, rconn_t *c, unsigned char used[QSHARD_MAX + 1],
            struct app_err *err)
{
    char add[16];

    snprintf(add, sizeof add, "%u", k);
    return record(queue_key, add, c, used, err);
}

int
qrecord_read(const char *queue_key, rconn_t *c, unsigned char used[QSHARD_MAX + 1],
             struct app_err *err)
{
    return record(queue_key, "", c, used, err);
}
