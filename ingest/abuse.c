/* abuse.c - ingest's abuse limits: accepted sites, and a token bucket per client. */
#include "abuse.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "csv.h"
#include "event.h"

/* --- SITE_IDS ----------------------------------------------------------------------- */

struct abuse_sites {
    size_t n;
    char *buf;  /* a copy of the list, each item NUL-terminated in place */
    char **ids; /* into buf, sorted */
};

struct sites_parse {
    abuse_sites_t *s;
    const char *spec;
    struct app_err *err;
};

static int
take_site(const char *item, size_t len, void *arg)
{
    struct sites_parse *ps = arg;
    abuse_sites_t *s = ps->s;
    size_t at = (size_t)(item - ps->spec);

    if (len == 0) {
        return err_set(ps->err, ERR_INVALID, "an empty item (two commas, or a comma at an end)");
    }
    if (len > EVENT_SITE_ID_MAX) {
        return err_set(ps->err, ERR_INVALID, "\"%.32s...\" is longer than %d bytes", item,
                       EVENT_SITE_ID_MAX);
    }
    /* The byte after the item is a comma, a blank or the end: never part of another. */
    s->buf[at + len] = '\0';
    s->ids[s->n++] = s->buf + at;
    return 0;
}

static int
compare_ids(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

abuse_sites_t *
abuse_sites_new(const char *spec, struct app_err *err)
{
    abuse_sites_t *s = calloc(1, sizeof *s);
    struct sites_parse ps = {s, spec, err};
    size_t items = 1;

    for (const char *p = spec; *p != '\0'; p++) {
        items += *p == ',';
    }
    if (s == NULL || (s->buf = strdup(spec)) == NULL ||
        (s->ids = calloc(items, sizeof *s->ids)) == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        abuse_sites_free(s);
        return NULL;
    }
    if (csv_each(spec, take_site, &ps) != 0) {
        abuse_sites_free(s);
        return NULL;
    }
    qsort(s->ids, s->n, sizeof *s->ids, compare_ids);
    return s;
}

void
abuse_sites_free(abuse_sites_t *s)
{
    if (s != NULL) {
        free(s->ids);
        free(s->buf);
        free(s);
    }
}

int
abuse_check_sites(const char *value, char *why, size_t whylen)
{
    struct app_err err = {0};
    abuse_sites_t *s = abuse_sites_new(value, &err);

    if (s == NULL) {
        snprintf(why, whylen, "%s", err.msg);
        return -1;
    }
    abuse_sites_free(s);
    return 0;
}

int
abuse_site_accepted(const abuse_sites_t *s, const char *site_id)
{
    return s == NULL || s->n == 0 ||
           bsearch(&site_id, s->ids, s->n, sizeof *s->ids, compare_ids) != NULL;
}

/* --- the token bucket ------------------------------------------------------------------ */

void
abuse_bucket_init(struct abuse_bucket *b, long burst, int64_t now_ms)
{
    b->milli = (int64_t)burst * 1000;
    b->last_ms = now_ms;
}

enum abuse_verdict
abuse_bucket_take(struct abuse_bucket *b, int64_t now_ms, long rate, long burst, long n,
                  long *retry_after_s)
{
    int64_t cap = (int64_t)burst * 1000, need = (int64_t)n * 1000;

    if (b->milli > cap) {
        b->milli = cap;
    }
    if (now_ms > b->last_ms) {
        int64_t elapsed = now_ms - b->last_ms, room = cap - b->milli;
        /* Compared before multiplying: a bucket idle for years must not overflow. */
        b->milli = elapsed >= (room + rate - 1) / rate ? cap : b->milli + elapsed * rate;
        b->last_ms = now_ms;
    }
    *retry_after_s = 0;
    if (n > burst) {
        return ABUSE_NEVER;
    }
    if (b->milli >= need) {
        b->milli -= need;
        return ABUSE_OK;
    }
    int64_t wait_ms = (need - b->milli + rate - 1) / rate;
    *retry_after_s = (long)((wait_ms + 999) / 1000);
    return ABUSE_WAIT;
}

/* --- the client address ----------------------------------------------------------------- */

/* The address in one X-Forwarded-For item, item[0..len), without blanks around it,
 * brackets or port, into out (outsz bytes). Returns 0, or -1 when there is none or it does
 * not fit. */
static int
hop_address(const char *item, size_t len, char *out, size_t outsz)
{
    const char *p = item, *end = item + len, *colon;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    if (p < end && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (close == NULL || (close + 1 < end && close[1] != ':')) {
            return -1;
        }
        p++;
        end = close;
    } else if ((colon = memchr(p, ':', (size_t)(end - p))) != NULL &&
               memchr(colon + 1, ':', (size_t)(end - colon - 1)) == NULL) {
        end = colon; /* one colon: an IPv4 address and a port */
    }
    if (p == end || (size_t)(end - p) >= outsz) {
        return -1;
    }
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return 0;
}

/* The nth item from the right (n >= 1) of the lists xff[0..n_xff), read as one list:
 * sets *item and *len and returns 0, or returns -1 when there are fewer than n items. */
static int
nth_from_right(const char *const *xff, size_t n_xff, long n, const char **item, size_t *len)
{
    for (size_t h = n_xff; h-- > 0;) {
        const char *start = xff[h], *end = start + strlen(start), *p = end;
        for (;;) {
            while (p > start && p[-1] != ',') {
                p--;
            }
            if (--n == 0) {
                *item = p;
                *len = (size_t)(end - p);
                return 0;
            }
            if (p == start) {
                break;
            }
            end = --p; /* the comma that ends the item before */
        }
    }
    return -1;
}

/* The key of an address: IPv4 dotted, IPv6 as its /64. Returns 0, or -1 when addr is
 * not an IP address. */
static int
key_of(const char *addr, char *out, size_t outsz)
{
    struct in_addr v4;
    struct in6_addr v6;

    if (inet_pton(AF_INET, addr, &v4) == 1) {
        return inet_ntop(AF_INET, &v4, out, (socklen_t)outsz) ? 0 : -1;
    }
    if (inet_pton(AF_INET6, addr, &v6) != 1) {
        return -1;
    }
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        memcpy(&v4, &v6.s6_addr[12], sizeof v4);
        return inet_ntop(AF_INET, &v4, out, (socklen_t)outsz) ? 0 : -1;
    }
    memset(&v6.s6_addr[8], 0, 8);
    if (inet_ntop(AF_INET6, &v6, out, (socklen_t)outsz) == NULL || strlen(out) + 4 >= outsz) {
        return -1;
    }
    strcat(out, "/64");
    return 0;
}

int
abuse_client(const char *remote, const char *const *xff, size_t n_xff, long trust_proxy, char *out,
             size_t outsz)
{
    char hop[ABUSE_CLIENT_MAX];
    const char *item;
    size_t len;

    if (trust_proxy > 0 && nth_from_right(xff, n_xff, trust_proxy, &item, &len) == 0 &&
        hop_address(item, len, hop, sizeof hop) == 0 && key_of(hop, out, outsz) == 0) {
        return 1;
    }
    if (key_of(remote, out, outsz) != 0) {
        snprintf(out, outsz, "%s", remote[0] != '\0' ? remote : "?");
    }
    return 0;
}

/* --- the per-client table ---------------------------------------------------------------- */

struct stripe {
    pthread_mutex_t lock;
    struct abuse_slot sets[ABUSE_SETS][ABUSE_WAYS];
};

struct abuse_rate {
    long rate, burst;
    uint64_t seed;
    struct stripe stripes[ABUSE_STRIPES];
};

abuse_rate_t *
abuse_rate_new(long rate, long burst, struct app_err *err)
{
    abuse_rate_t *r = calloc(1, sizeof *r);

    if (r == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    r->rate = rate;
    r->burst = burst;
    /* A seed the clients cannot guess, so that they cannot pick addresses that share a
     * set; without randomness the hash still spreads, only predictably. */
    if (getrandom(&r->seed, sizeof r->seed, GRND_NONBLOCK) != (ssize_t)sizeof r->seed) {
        r->seed = (uint64_t)time(NULL);
    }
    for (size_t i = 0; i < ABUSE_STRIPES; i++) {
        pthread_mutex_init(&r->stripes[i].lock, NULL);
    }
    return r;
}

void
abuse_rate_free(abuse_rate_t *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < ABUSE_STRIPES; i++) {
        pthread_mutex_destroy(&r->stripes[i].lock);
    }
    free(r);
}

/* FNV-1a, started from the seed. */
static uint64_t
hash(uint64_t seed, const char *s)
{
    uint64_t h = 14695981039346656037ULL ^ seed;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

enum abuse_verdict
abuse_set_take(struct abuse_slot *set, const char *client, int64_t now_ms, long rate, long burst,
               long n, long *retry_after_s)
{
    struct abuse_slot *s = NULL;

    for (size_t i = 0; i < ABUSE_WAYS && s == NULL; i++) {
        if (set[i].key[0] != '\0' && strcmp(set[i].key, client) == 0) {
            s = &set[i];
        }
    }
    if (s == NULL) {
        s = &set[0]; /* an unused slot, else the one used least recently */
        for (size_t i = 1; i < ABUSE_WAYS && s->key[0] != '\0'; i++) {
            if (set[i].key[0] == '\0' || set[i].b.last_ms < s->b.last_ms) {
                s = &set[i];
            }
        }
        if (s->key[0] == '\0') {
            abuse_bucket_init(&s->b, burst, now_ms);
        }
        /* else the bucket is handed on as it stands: abuse_bucket_take() refills it for
         * the time since it was last used, up to burst, and no further. */
        snprintf(s->key, sizeof s->key, "%s", client);
    }
    return abuse_bucket_take(&s->b, now_ms, rate, burst, n, retry_after_s);
}

enum abuse_verdict
abuse_rate_take(abuse_rate_t *r, const char *client, int64_t now_ms, long n, long *retry_after_s)
{
    uint64_t h = hash(r->seed, client);
    struct stripe *st = &r->stripes[h % ABUSE_STRIPES];
    enum abuse_verdict v;

    pthread_mutex_lock(&st->lock);
    v = abuse_set_take(st->sets[(h / ABUSE_STRIPES) % ABUSE_SETS], client, now_ms, r->rate,
                       r->burst, n, retry_after_s);
    pthread_mutex_unlock(&st->lock);
    return v;
}

int64_t
abuse_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
