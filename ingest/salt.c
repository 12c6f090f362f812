/* salt.c - the daily salt, shared through Redis (salt.h). */
#include "salt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "ts.h"

/* How long a failed fetch answers for the requests after it. */
#define SALT_RETRY_MS 250

/* How many days' salts are kept in memory: the sites' local days of the moment (a site's
 * day may be the UTC day before or after) and a spare. */
#define SALT_DAYS 4

struct salt {
    pthread_mutex_t lock;
    rconn_t *conn; /* used with the lock held */
    char *queue_key;
    struct {
        int64_t day; /* days since the epoch; -1: none */
        unsigned char salt[SALT_LEN];
        unsigned char prev[SALT_LEN]; /* the day before's, when has_prev */
        int has_prev;
    } days[SALT_DAYS];
    size_t next;       /* the slot to replace next */
    int64_t failed_at; /* ts_mono_ms() of the last failed fetch, 0: none */
    struct app_err failure;
};

int
salt_key(const char *queue_key, int64_t now_ms, char *out, size_t outsz)
{
    time_t t = (time_t)(ts_floor(now_ms, TS_DAY_MS) / 1000);
    struct tm tm;
    int n;

    if (gmtime_r(&t, &tm) == NULL) {
        return -1;
    }
    n = snprintf(out, outsz, "%s:salt:%04d-%02d-%02d", queue_key, tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int64_t
salt_clock_ms(void)
{
    return ts_now_ms();
}

int
salt_parse(const char *v, size_t n, unsigned char out[SALT_LEN])
{
    if (n != 2 * SALT_LEN) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) {
            return -1;
        }
        if (i % 2 == 0) {
            out[i / 2] = (unsigned char)(d << 4);
        } else {
            out[i / 2] |= (unsigned char)d;
        }
    }
    return 0;
}

salt_t *
salt_new(const struct rconn_opts *opts, const char *queue_key, struct app_err *err)
{
    salt_t *s = calloc(1, sizeof *s);

    if (s == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    for (size_t i = 0; i < SALT_DAYS; i++) {
        s->days[i].day = -1;
    }
    s->conn = rconn_new(opts);
    s->queue_key = strdup(queue_key);
    if (s->conn == NULL || s->queue_key == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        salt_free(s);
        return NULL;
    }
    return s;
}

void
salt_free(salt_t *s)
{
    if (s == NULL) {
        return;
    }
    rconn_free(s->conn);
    free(s->queue_key);
    pthread_mutex_destroy(&s->lock);
    explicit_bzero(s->days, sizeof s->days);
    free(s);
}

/* The salt of the day that holds now_ms, created when it does not exist (create) or only
 * read (!create): 1 with out filled, 0 when it does not exist (!create), or -1 with err. */
static int
fetch(salt_t *s, int64_t now_ms, int create, unsigned char out[SALT_LEN], struct app_err *err)
{
    static const char hex[] = "0123456789abcdef";
    char key[SALT_KEY_MAX], value[2 * SALT_LEN + 1];
    unsigned char mine[SALT_LEN];
    redisReply *r;
    int rc = -1;

    if (salt_key(s->queue_key, now_ms, key, sizeof key) != 0) {
        return err_set(err, ERR_INVALID, "salt key too long");
    }
    if (create) {
        if (event_random(mine, sizeof mine) != 0) {
            return err_set(err, ERR_INTERNAL, "getrandom: %s", strerror(errno));
        }
        for (size_t i = 0; i < SALT_LEN; i++) {
            value[2 * i] = hex[mine[i] >> 4];
            value[2 * i + 1] = hex[mine[i] & 15];
        }
        value[2 * SALT_LEN] = '\0';
    }
    rconn_route(s->conn, key); /* on a cluster: the master of the key's own slot */
    r = create ? rconn_command(s->conn, err, "SET %s %s NX EX %d GET", key, value, SALT_TTL_SECONDS)
               : rconn_command(s->conn, err, "GET %s", key);
    if (r == NULL) {
        return -1; /* err filled */
    }
    if (r->type == REDIS_REPLY_NIL) {
        if (create) {
            memcpy(out, mine, SALT_LEN); /* ours is the day's salt */
        }
        rc = create ? 1 : 0;
    } else if (r->type == REDIS_REPLY_STRING) {
        rc = salt_parse(r->str, r->len, out) == 0 ? 1 : -1;
        if (rc < 0) {
            err_set(err, ERR_INVALID, "redis key %s does not hold a salt", key);
        }
    } else {
        err_set(err, ERR_TRANSIENT, "redis SET of the salt: %s",
                r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    }
    explicit_bzero(mine, sizeof mine);
    explicit_bzero(value, sizeof value);
    freeReplyObject(r);
    return rc;
}

int
salt_of_day(salt_t *s, int64_t day, unsigned char out[SALT_LEN], unsigned char prev[SALT_LEN],
            int *has_prev, struct app_err *err)
{
    unsigned char fresh[SALT_LEN] = {0}, before[SALT_LEN] = {0};
    int64_t mono = 0;
    int rc = 0, had = 0;
    size_t i;

    pthread_mutex_lock(&s->lock);
    for (i = 0; i < SALT_DAYS && s->days[i].day != day; i++) {
    }
    if (i < SALT_DAYS) {
        memcpy(out, s->days[i].salt, SALT_LEN);
        memcpy(prev, s->days[i].prev, SALT_LEN);
        *has_prev = s->days[i].has_prev;
        goto done;
    }
    mono = ts_mono_ms();
    if (s->failed_at != 0 && mono - s->failed_at < SALT_RETRY_MS) {
        *err = s->failure;
        rc = -1;
        goto done;
    }
    if (fetch(s, day * TS_DAY_MS, 1, fresh, err) < 0) {
        goto failed;
    }
    for (i = 0; i < SALT_DAYS && s->days[i].day != day - 1; i++) {
    }
    if (i < SALT_DAYS) {
        memcpy(before, s->days[i].salt, SALT_LEN); /* the day before's, cached */
        had = 1;
    } else if ((had = fetch(s, (day - 1) * TS_DAY_MS, 0, before, err)) < 0) {
        goto failed;
    }
    i = s->next;
    s->next = (s->next + 1) % SALT_DAYS;
    s->days[i].day = day;
    memcpy(s->days[i].salt, fresh, SALT_LEN);
    memcpy(s->days[i].prev, before, SALT_LEN);
    s->days[i].has_prev = had;
    s->failed_at = 0;
    memcpy(out, fresh, SALT_LEN);
    memcpy(prev, before, SALT_LEN);
    *has_prev = had;
    goto done;
failed:
    rc = -1;
    s->failed_at = mono != 0 ? mono : 1;
    s->failure = *err;
done:
    pthread_mutex_unlock(&s->lock);
    explicit_bzero(fresh, sizeof fresh);
    explicit_bzero(before, sizeof before);
    return rc;
}
