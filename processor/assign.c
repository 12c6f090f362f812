/* assign.c - each claimed event's visit, assigned by the processor (assign.h). */
#include "assign.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assign_plan.h"
#include "envelope.h"
#include "log.h"
#include "visit_step.h"

/* Whether the lease is free or ours (then held for ARGV[2] ms more), and the batch, oldest
 * first: the assigning list (oldest at its left) when a stopped assigner left one, else up to
 * ARGV[3] envelopes from the right of the shard (RPOP gives them oldest first), appended to
 * the assigning list; a batch taken names ARGV[1] its assigner. nil: busy. Only ingest
 * LPUSHes (it_redis_wait.sh counts one WAIT per LPUSH): the processor's pushes are RPUSHes. */
static const char claim_script[] =
    "local l = redis.call('GET', KEYS[3])\n"
    "if l and l ~= ARGV[1] then return false end\n"
    "redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])\n"
    "local out = redis.call('LRANGE', KEYS[2], 0, -1)\n"
    "if #out == 0 then\n"
    "  out = redis.call('RPOP', KEYS[1], ARGV[3])\n"
    "  if not out then redis.call('DEL', KEYS[3]); return {} end\n"
    "  for i = 1, #out, 1000 do\n"
    "    redis.call('RPUSH', KEYS[2], unpack(out, i, math.min(i + 999, #out)))\n"
    "  end\n"
    "end\n"
    "redis.call('SET', KEYS[4], ARGV[1])\n"
    "return out\n";

int
assign_claim(rconn_t *c, const struct assign_keys *k, size_t max, struct queue_batch *out,
             struct app_err *err)
{
    char lease[24], n[24];
    const char *argv[] = {"EVAL",   claim_script, "4",         k->shard, k->assigning,
                          k->lease, k->assigner,  k->consumer, lease,    n};
    size_t lens[10];
    redisReply *r;

    snprintf(lease, sizeof lease, "%d", ASSIGN_LEASE_MS);
    snprintf(n, sizeof n, "%zu", max);
    for (size_t i = 0; i < 10; i++) {
        lens[i] = strlen(argv[i]);
    }
    rconn_route(c, k->shard);
    r = rconn_command_argv(c, err, 10, argv, lens);
    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return ASSIGN_BUSY;
    }
    return queue_batch_take(r, "claim", out, err);
}

/* Unless ARGV[1] is no longer the assigner (KEYS[2]): nil. Else the lease (KEYS[1]) renewed
 * for ARGV[2] ms, and the states of the other keys: for each, HGET "s" then HMGET of its
 * ARGV[a + 1] fields (in chunks that unpack() takes), as one array per key. ARGV[a] is "t" for
 * a visitor's key of today and "y" for its key of yesterday, which follows it: read only when
 * today's has no state (an empty array then), as most hashed visitors' today's key has one. */
static const char read_script[] =
    "if redis.call('GET', KEYS[2]) ~= ARGV[1] then return false end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "local out, a, had = {}, 3, false\n"
    "for i = 3, #KEYS do\n"
    "  local kind, f, r = ARGV[a], tonumber(ARGV[a + 1]), {}\n"
    "  if kind == 't' or not had then\n"
    "    r = {redis.call('HGET', KEYS[i], 's')}\n"
    "    for j = a + 2, a + 1 + f, 1000 do\n"
    "      local v = redis.call('HMGET', KEYS[i], unpack(ARGV, j, math.min(j + 999, a + 1 + f)))\n"
    "      for _, x in ipairs(v) do r[#r + 1] = x end\n"
    "    end\n"
    "  end\n"
    "  if kind == 't' then had = r[1] ~= false end\n"
    "  out[i - 2] = r\n"
    "  a = a + 2 + f\n"
    "end\n"
    "return out\n";

/* Nothing unless ARGV[1] is still the assigner (KEYS[1]) and the assigning list holds the
 * ARGV[4] envelopes claimed; then, atomically: the assigning list emptied, the ARGV[4]
 * envelopes (newest first; "" for one unchanged, taken from the assigning list, so that what
 * gets no visit is not sent back) appended to the processing list (which so holds the newest
 * at its left, as queue_list() reads it) and the consumer registered, each state written (per
 * visitor: its mode, "-" plain, "r" continued from yesterday's key, "n" a new visit replacing
 * a state; "1" when a yesterday's key follows today's in KEYS; then the state, the number of
 * e: fields and the fields), each state's TTL set to ARGV[3] ms, the assigner and the lease
 * (KEYS[5]) deleted. Returns the number pushed, or -1: the batch was taken over. */
static const char commit_script[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end\n"
    "local n = tonumber(ARGV[4])\n"
    "local held = redis.call('LRANGE', KEYS[2], 0, -1)\n"
    "if #held ~= n then return -1 end\n"
    "redis.call('DEL', KEYS[2])\n"
    "local out = {}\n"
    "for i = 1, n do\n"
    "  local e = ARGV[4 + i]\n"
    "  if e == '' then e = held[n + 1 - i] end\n"
    "  out[i] = e\n"
    "end\n"
    "for i = 1, n, 1000 do\n"
    "  redis.call('RPUSH', KEYS[3], unpack(out, i, math.min(i + 999, n)))\n"
    "end\n"
    "if n > 0 then redis.call('SADD', KEYS[4], ARGV[2]) end\n"
    "local a, k = 5 + n, 6\n"
    "while a <= #ARGV do\n"
    "  local mode, key, y = ARGV[a], KEYS[k], nil\n"
    "  if string.sub(mode, 2, 2) == '1' then y = KEYS[k + 1]; k = k + 2 else k = k + 1 end\n"
    "  local m = string.sub(mode, 1, 1)\n"
    "  if m == 'r' and redis.call('EXISTS', y) == 1 then redis.call('RENAME', y, key)\n"
    "  elseif m == 'n' then redis.call('DEL', key); if y then redis.call('DEL', y) end end\n"
    "  redis.call('HSET', key, 's', ARGV[a + 1])\n"
    "  local f = tonumber(ARGV[a + 2])\n"
    "  for j = a + 3, a + 2 + 2 * f, 1000 do\n"
    "    redis.call('HSET', key, unpack(ARGV, j, math.min(j + 999, a + 2 + 2 * f)))\n"
    "  end\n"
    "  redis.call('PEXPIRE', key, ARGV[3])\n"
    "  a = a + 3 + 2 * f\n"
    "end\n"
    "redis.call('DEL', KEYS[1], KEYS[5])\n"
    "return n\n";

/* Append one argument: its text and length. */
struct args {
    const char **argv;
    size_t *lens;
    size_t n, cap;
    char **owned; /* texts made for these arguments */
    size_t n_owned;
};

static int
arg(struct args *a, const char *s, size_t len)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        const char **argv = realloc(a->argv, cap * sizeof *argv);
        size_t *lens = argv != NULL ? realloc(a->lens, cap * sizeof *lens) : NULL;
        if (argv != NULL) {
            a->argv = argv;
        }
        if (lens == NULL) {
            return -1;
        }
        a->lens = lens;
        a->cap = cap;
    }
    a->argv[a->n] = s;
    a->lens[a->n++] = len;
    return 0;
}

/* Take s (malloc'd, NULL: out of memory) as an argument the args own. */
static int
arg_owned(struct args *a, char *s, size_t len)
{
    char **owned = s != NULL ? realloc(a->owned, (a->n_owned + 1) * sizeof *owned) : NULL;

    if (owned == NULL) {
        free(s);
        return -1;
    }
    a->owned = owned;
    a->owned[a->n_owned++] = s;
    return arg(a, s, len);
}

static int
arg_num(struct args *a, long long v)
{
    char *s = malloc(24);

    if (s == NULL) {
        return -1;
    }
    return arg_owned(a, s, (size_t)snprintf(s, 24, "%lld", v));
}

static void
args_free(struct args *a)
{
    for (size_t i = 0; i < a->n_owned; i++) {
        free(a->owned[i]);
    }
    free(a->owned);
    free(a->argv);
    free(a->lens);
}

/* Read the states of the batch's visitors: today's key of each, and yesterday's after it when
 * one was named, each with the e: fields of the visitor's client-sent events. */
static int
read_states(rconn_t *c, const struct assign_keys *k, struct assign_plan *w, struct app_err *err)
{
    struct args a = {0}, fields = {0};
    size_t nkeys = 2;
    char lease[24];
    redisReply *r = NULL;
    int rc = -1;

    if (w->n_visitors == 0) {
        return 0;
    }
    snprintf(lease, sizeof lease, "%d", ASSIGN_LEASE_MS);
    if (arg(&a, "EVAL", 4) != 0 || arg(&a, read_script, sizeof read_script - 1) != 0 ||
        arg(&a, "", 0) != 0 || arg(&a, k->lease, strlen(k->lease)) != 0 ||
        arg(&a, k->assigner, strlen(k->assigner)) != 0) {
        goto oom;
    }
    for (size_t i = 0; i < w->n_visitors; i++) {
        struct assign_visitor *v = w->order[i];
        if (arg(&a, v->key, strlen(v->key)) != 0 ||
            (v->yesterday != NULL && arg(&a, v->yesterday, strlen(v->yesterday)) != 0)) {
            goto oom;
        }
        nkeys += v->yesterday != NULL ? 2 : 1;
    }
    if (arg(&a, k->consumer, strlen(k->consumer)) != 0 || arg(&a, lease, strlen(lease)) != 0) {
        goto oom;
    }
    /* Each visitor's e: fields, made once: today's key and yesterday's name the same ones. */
    for (size_t i = 0; i < w->n_visitors; i++) {
        struct assign_visitor *v = w->order[i];
        size_t first = fields.n;
        if (arg_num(&fields, (long long)v->n_ids) != 0) {
            goto oom;
        }
        for (size_t j = 0; j < v->n_ids; j++) {
            size_t len = 0;
            char *f = assign_plan_field(w->items[v->ids[j]].ev, &len);
            if (arg_owned(&fields, f, len) != 0) {
                goto oom;
            }
        }
        for (int y = 0; y < (v->yesterday != NULL ? 2 : 1); y++) {
            if (arg(&a, y == 0 ? "t" : "y", 1) != 0) {
                goto oom;
            }
            for (size_t f = first; f < fields.n; f++) {
                if (arg(&a, fields.argv[f], fields.lens[f]) != 0) {
                    goto oom;
                }
            }
        }
    }
    {
        char nk[24];
        snprintf(nk, sizeof nk, "%zu", nkeys);
        a.argv[2] = nk;
        a.lens[2] = strlen(nk);
        rconn_route(c, k->shard);
        r = rconn_command_argv(c, err, (int)a.n, a.argv, a.lens);
    }
    if (r == NULL) {
        goto done;
    }
    if (r->type == REDIS_REPLY_NIL) {
        err_set(err, ERR_TRANSIENT, "visit assignment of %s: taken over, nothing committed",
                k->shard);
        goto done;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != nkeys - 2) {
        err_set(err, ERR_TRANSIENT, "redis visit states: %s",
                r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto done;
    }
    for (size_t i = 0, at = 0; i < w->n_visitors; i++) {
        struct assign_visitor *v = w->order[i];
        for (int y = 0; y < (v->yesterday != NULL ? 2 : 1); y++, at++) {
            const redisReply *e = r->element[at];
            if (v->origin != ASSIGN_FROM_NONE) {
                continue; /* today's state: yesterday's was not read */
            }
            /* 1 + n_ids: the state and the fields; none: yesterday's, not read */
            if (e->type != REDIS_REPLY_ARRAY ||
                (e->elements != 1 + v->n_ids && !(y == 1 && e->elements == 0))) {
                err_set(err, ERR_TRANSIENT, "redis visit states: unexpected reply");
                goto done;
            }
            if (e->elements == 0 || e->element[0]->type != REDIS_REPLY_STRING ||
                visit_state_unpack(e->element[0]->str, e->element[0]->len, &v->st) != 0) {
                continue; /* a state of another version is no state */
            }
            v->origin = y == 0 ? ASSIGN_FROM_TODAY : ASSIGN_FROM_YESTERDAY;
            if (v->n_ids > 0 && (v->members = calloc(v->n_ids, sizeof *v->members)) == NULL) {
                goto oom;
            }
            for (size_t j = 0; j < v->n_ids; j++) {
                const redisReply *m = e->element[1 + j];
                if (m->type == REDIS_REPLY_STRING && (v->members[j] = strdup(m->str)) == NULL) {
                    goto oom;
                }
            }
        }
    }
    rc = 0;
    goto done;
oom:
    err_set(err, ERR_INTERNAL, "out of memory");
done:
    freeReplyObject(r);
    args_free(&a);
    args_free(&fields);
    return rc;
}

/* Commit the envelopes env[i] (lens[i]; NULL: the one claimed, unchanged) and the stepped
 * visitors' states. */
static int
commit(rconn_t *c, const struct assign_keys *k, const struct assign_plan *w, const char *const *env,
       const size_t *lens, long timeout_s, struct app_err *err)
{
    struct args a = {0};
    size_t nkeys = 5;
    char nk[24];
    redisReply *r = NULL;
    int rc = -1;

    if (arg(&a, "EVAL", 4) != 0 || arg(&a, commit_script, sizeof commit_script - 1) != 0 ||
        arg(&a, "", 0) != 0 || arg(&a, k->assigner, strlen(k->assigner)) != 0 ||
        arg(&a, k->assigning, strlen(k->assigning)) != 0 ||
        arg(&a, k->processing, strlen(k->processing)) != 0 ||
        arg(&a, k->consumers, strlen(k->consumers)) != 0 ||
        arg(&a, k->lease, strlen(k->lease)) != 0) {
        goto oom;
    }
    for (size_t i = 0; i < w->n_visitors; i++) {
        const struct assign_visitor *v = w->order[i];
        if (!v->stepped) {
            continue;
        }
        if (arg(&a, v->key, strlen(v->key)) != 0) {
            goto oom;
        }
        nkeys++;
        if (assign_plan_mode(v)[1] == '1') {
            if (arg(&a, v->yesterday, strlen(v->yesterday)) != 0) {
                goto oom;
            }
            nkeys++;
        }
    }
    if (arg(&a, k->consumer, strlen(k->consumer)) != 0 ||
        arg(&a, k->consumer, strlen(k->consumer)) != 0 ||
        arg_num(&a, ((long long)timeout_s + ASSIGN_MARGIN_S) * 1000) != 0 ||
        arg_num(&a, (long long)w->n) != 0) {
        goto oom;
    }
    for (size_t i = w->n; i-- > 0;) {
        if (arg(&a, env[i] != NULL ? env[i] : "", env[i] != NULL ? lens[i] : 0) != 0) {
            goto oom;
        }
    }
    for (size_t i = 0; i < w->n_visitors; i++) {
        const struct assign_visitor *v = w->order[i];
        char *st;
        if (!v->stepped) {
            continue;
        }
        if (arg(&a, assign_plan_mode(v), 2) != 0 || (st = malloc(VISIT_STATE_PACKED_MAX)) == NULL ||
            arg_owned(&a, st, visit_state_pack(&v->st, st)) != 0 ||
            arg_num(&a, (long long)v->n_new) != 0) {
            goto oom;
        }
        for (size_t j = 0; j < v->n_new; j++) {
            const struct assign_item *it = &w->items[v->new_ev[j]];
            size_t len = 0;
            char *f = assign_plan_field(it->ev, &len);
            if (arg_owned(&a, f, len) != 0 || arg(&a, it->member, it->member_len) != 0) {
                goto oom;
            }
        }
    }
    snprintf(nk, sizeof nk, "%zu", nkeys);
    a.argv[2] = nk;
    a.lens[2] = strlen(nk);
    rconn_route(c, k->shard);
    if ((r = rconn_command_argv(c, err, (int)a.n, a.argv, a.lens)) == NULL) {
        goto done;
    }
    if (r->type != REDIS_REPLY_INTEGER) {
        err_set(err, ERR_TRANSIENT, "redis visit commit: %s",
                r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    } else if (r->integer < 0) {
        err_set(err, ERR_TRANSIENT, "visit assignment of %s: taken over, nothing committed",
                k->shard);
    } else {
        rc = 0;
    }
    goto done;
oom:
    err_set(err, ERR_INTERNAL, "out of memory");
done:
    freeReplyObject(r);
    args_free(&a);
    return rc;
}

#ifdef FAULT_INJECTION
long assign_fault_kill_at, assign_fault_stall_at;
static long assign_fault_calls;
#endif

int
assign_batch(rconn_t *c, const struct assign_keys *k, long timeout_s, struct queue_batch *b,
             struct app_err *err)
{
    struct assign_plan w = {0};
    char **env = calloc(b->n + 1, sizeof *env);
    size_t *lens = calloc(b->n + 1, sizeof *lens);
    int rc = -1;

    if (env == NULL || lens == NULL || assign_plan_group(&w, b, k->shard) != 0) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (read_states(c, k, &w, err) != 0) {
        goto done;
    }
    if (assign_plan_step(&w, timeout_s) != 0) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
#ifdef FAULT_INJECTION
    /* Both failpoints count the same calls: the claims with a visitor. */
    long call = w.n_visitors > 0 ? ++assign_fault_calls : 0;
    if (call != 0 && call == assign_fault_kill_at) {
        LOG_WARN("failpoint: killing this processor between its claim and its commit");
        raise(SIGKILL);
    }
    if (call != 0 && call == assign_fault_stall_at) {
        long ms = ASSIGN_LEASE_MS + 1000;
        LOG_WARN("failpoint: stalling %ld ms between this claim and its commit", ms);
        nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L}, NULL);
    }
#endif
    for (size_t i = 0; i < b->n; i++) {
        const struct assign_item *it = &w.items[i];
        if (it->member == NULL) {
            continue;
        }
        env[i] = envelope_with_visit(b->items[i]->str, b->items[i]->len, it->member, it->member_len,
                                     &lens[i]);
        if (env[i] == NULL) {
            err_set(err, ERR_INTERNAL, "out of memory");
            goto done;
        }
    }
    rc = commit(c, k, &w, (const char *const *)env, lens, timeout_s, err);
    if (rc != 0) {
        goto done;
    }
    /* The batch now holds what was committed. hiredis allocates a reply's string with
     * malloc() and frees it with free(), so the string is swapped in place. */
    for (size_t i = 0; i < b->n; i++) {
        if (env[i] != NULL) {
            free(b->items[i]->str);
            b->items[i]->str = env[i];
            b->items[i]->len = lens[i];
            env[i] = NULL;
        }
    }
    free(b->ev);
    b->ev = assign_plan_take_events(&w); /* decoded once: the drain takes them as they are */
done:
    for (size_t i = 0; env != NULL && i < b->n; i++) {
        free(env[i]);
    }
    free(env);
    free(lens);
    assign_plan_free(&w);
    return rc;
}
