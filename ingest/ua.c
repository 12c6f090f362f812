/* ua.c - browser, OS and device class of a User-Agent: uap-core's rules with PCRE2, cached. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "ua.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One table of rules, compiled. */
struct rules {
    const struct ua_rule *rule;
    pcre2_code **re;
    size_t n;
};

/* One slot of the cache: a User-Agent (malloc'd, owned by the slot) and its result. */
struct slot {
    uint64_t hash;
    char *key;
    size_t len;
    struct event_device dev;
};

struct ua {
    struct rules browser, os;
    pthread_mutex_t lock[UA_CACHE_LOCKS];
    struct slot slot[UA_CACHE_SLOTS];
    atomic_ulong hits, misses;
};

static void
rules_free(struct rules *r)
{
    for (size_t i = 0; r->re != NULL && i < r->n; i++) {
        pcre2_code_free(r->re[i]);
    }
    free(r->re);
    r->re = NULL;
}

static int
rules_compile(struct rules *r, const struct ua_rule *rule, size_t n, const char *name,
              struct app_err *err)
{
    r->rule = rule;
    r->n = n;
    if ((r->re = calloc(n, sizeof *r->re)) == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        int code;
        PCRE2_SIZE at;
        PCRE2_UCHAR msg[120];

        r->re[i] = pcre2_compile((PCRE2_SPTR)rule[i].regex, PCRE2_ZERO_TERMINATED,
                                 rule[i].icase ? PCRE2_CASELESS : 0, &code, &at, NULL);
        if (r->re[i] == NULL) {
            pcre2_get_error_message(code, msg, sizeof msg);
            return err_set(err, ERR_INVALID, "uap-core regex %zu of %s: %s", i, name,
                           (const char *)msg);
        }
        (void)pcre2_jit_compile(r->re[i], PCRE2_JIT_COMPLETE); /* the interpreter without */
    }
    return 0;
}

ua_t *
ua_new(struct app_err *err)
{
    ua_t *u = calloc(1, sizeof *u);
    size_t locks = 0;

    if (u == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    for (; locks < UA_CACHE_LOCKS; locks++) {
        if (pthread_mutex_init(&u->lock[locks], NULL) != 0) {
            err_set(err, ERR_INTERNAL, "out of memory");
            goto fail;
        }
    }
    if (rules_compile(&u->browser, ua_rules_browser, ua_rules_browser_n, "user_agent_parsers",
                      err) != 0 ||
        rules_compile(&u->os, ua_rules_os, ua_rules_os_n, "os_parsers", err) != 0) {
        goto fail;
    }
    return u;
fail:
    rules_free(&u->browser);
    rules_free(&u->os);
    while (locks > 0) {
        pthread_mutex_destroy(&u->lock[--locks]);
    }
    free(u);
    return NULL;
}

void
ua_free(ua_t *u)
{
    if (u == NULL) {
        return;
    }
    for (size_t i = 0; i < UA_CACHE_SLOTS; i++) {
        free(u->slot[i].key);
    }
    for (size_t i = 0; i < UA_CACHE_LOCKS; i++) {
        pthread_mutex_destroy(&u->lock[i]);
    }
    rules_free(&u->browser);
    rules_free(&u->os);
    free(u);
}

/* Append s[0..n) to out (cap bytes with its NUL, *used so far), keeping printable ASCII but
 * '"' and '\\'; what does not fit is dropped. */
static void
put(char *out, size_t cap, size_t *used, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *used + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            out[(*used)++] = (char)c;
        }
    }
    out[*used] = '\0';
}

/* The value of a rule's replacement repl ($1-$9 its groups, of ov) or, without one, of
 * group `group`, trimmed, into out (cap bytes). */
static void
expand(const char *repl, int group, const char *s, const PCRE2_SIZE *ov, int groups, char *out,
       size_t cap)
{
    size_t used = 0, start, end;

    out[0] = '\0';
    if (repl == NULL) {
        if (group < groups && ov[2 * group] != PCRE2_UNSET) {
            put(out, cap, &used, s + ov[2 * group], ov[2 * group + 1] - ov[2 * group]);
        }
    } else {
        for (const char *p = repl; *p != '\0'; p++) {
            if (p[0] == '$' && p[1] >= '1' && p[1] <= '9') {
                int g = p[1] - '0';
                if (g < groups && ov[2 * g] != PCRE2_UNSET) {
                    put(out, cap, &used, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
                }
                p++;
            } else {
                put(out, cap, &used, p, 1);
            }
        }
    }
    for (start = 0; out[start] == ' '; start++) {
    }
    for (end = strlen(out); end > start && out[end - 1] == ' '; end--) {
    }
    memmove(out, out + start, end - start);
    out[end - start] = '\0';
}

/* The family and major version of s[0..n) by the first matching rule of r, or "Other". */
static void
match(const struct rules *r, const char *s, size_t n, pcre2_match_data *md, char *family,
      char *major)
{
    for (size_t i = 0; i < r->n; i++) {
        int groups = pcre2_match(r->re[i], (PCRE2_SPTR)s, n, 0, 0, md, NULL);
        if (groups > 0) {
            const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            expand(r->rule[i].family, 1, s, ov, groups, family, EVENT_DEVICE_NAME_MAX + 1);
            expand(r->rule[i].major, 2, s, ov, groups, major, EVENT_DEVICE_VERSION_MAX + 1);
            if (family[0] != '\0') {
                return;
            }
        }
    }
    strcpy(family, "Other");
    major[0] = '\0';
}

/* Whether s[0..n) holds the text word. */
static int
has(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);

    for (size_t i = 0; i + w <= n; i++) {
        if (memcmp(s + i, word, w) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The device class guessed from the User-Agent and its OS family (ua.h), or "". */
static const char *
guess(const char *s, size_t n, const char *os)
{
    static const char *const desktop[] = {"Windows", "Mac OS X",  "Linux",  "Ubuntu",
                                          "Fedora",  "Chrome OS", "FreeBSD"};

    if (strcmp(os, "iOS") == 0) {
        return has(s, n, "iPad") ? "tablet" : "mobile";
    }
    if (strcmp(os, "Android") == 0) {
        return has(s, n, "Mobile") ? "mobile" : "tablet";
    }
    for (size_t i = 0; i < sizeof desktop / sizeof desktop[0]; i++) {
        if (strcmp(os, desktop[i]) == 0) {
            return "desktop";
        }
    }
    return "";
}

/* Parse s[0..n) with every rule, no cache. md NULL (out of memory): an empty result. */
static void
parse(const ua_t *u, const char *s, size_t n, struct event_device *out)
{
    pcre2_match_data *md = pcre2_match_data_create(10, NULL);

    memset(out, 0, sizeof *out);
    if (md == NULL) {
        return;
    }
    match(&u->browser, s, n, md, out->browser, out->browser_version);
    match(&u->os, s, n, md, out->os, out->os_version);
    strcpy(out->device, guess(s, n, out->os));
    pcre2_match_data_free(md);
}

/* FNV-1a, 64 bits. */
static uint64_t
hash(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ULL;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    }
    return h;
}

void
ua_parse(ua_t *u, const char *s, size_t n, struct event_device *out)
{
    uint64_t h;
    struct slot *sl;
    pthread_mutex_t *lock;
    char *key;

    if (n > UA_INPUT_MAX) {
        n = UA_INPUT_MAX;
    }
    if (n == 0) {
        memset(out, 0, sizeof *out);
        return;
    }
    h = hash(s, n);
    sl = &u->slot[h % UA_CACHE_SLOTS];
    lock = &u->lock[h % UA_CACHE_SLOTS % UA_CACHE_LOCKS];
    pthread_mutex_lock(lock);
    if (sl->key != NULL && sl->hash == h && sl->len == n && memcmp(sl->key, s, n) == 0) {
        *out = sl->dev;
        pthread_mutex_unlock(lock);
        atomic_fetch_add_explicit(&u->hits, 1, memory_order_relaxed);
        return;
    }
    pthread_mutex_unlock(lock);
    atomic_fetch_add_explicit(&u->misses, 1, memory_order_relaxed);
    parse(u, s, n, out); /* outside the lock: the other threads of this stripe go on */
    if ((key = malloc(n)) == NULL) {
        return; /* not cached: the next one parses again */
    }
    memcpy(key, s, n);
    pthread_mutex_lock(lock);
    free(sl->key);
    sl->key = key;
    sl->hash = h;
    sl->len = n;
    sl->dev = *out;
    pthread_mutex_unlock(lock);
}

const char *
ua_device_of_width(long width)
{
    return width < 576 ? "mobile" : width < 992 ? "tablet" : "desktop";
}

void
ua_cache_stats(ua_t *u, unsigned long *hits, unsigned long *misses)
{
    *hits = atomic_load(&u->hits);
    *misses = atomic_load(&u->misses);
}
