/* erase_plan.c - erasure's pure parts: paths, steps, ids, a site-hour's set (erase_plan.h). */
#include "erase_plan.h"

#include <stdio.h>
#include <string.h>

#include "rollup_doc.h"
#include "text.h"

const char *const erase_kind_names[2] = {"visitor", "site"};

#define ERASE_PATH_MSG "The path must be /sites/{site_id} or /sites/{site_id}/visitors/{user_id}"

static int
hex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decode the segment [s, end) into out (max bytes at most, plus the NUL). Returns its
 * length, or -1: empty, too long, a bad escape, %00, or not UTF-8. */
static int
segment(const char *s, const char *end, char *out, size_t max)
{
    size_t n = 0;

    while (s < end) {
        int c = (unsigned char)*s++;
        if (c == '%') {
            int hi = end - s >= 2 ? hex(s[0]) : -1, lo = end - s >= 2 ? hex(s[1]) : -1;
            if (hi < 0 || lo < 0 || (c = hi * 16 + lo) == 0) {
                return -1;
            }
            s += 2;
        }
        if (n >= max) {
            return -1;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return n > 0 && text_is_utf8(out, n) ? (int)n : -1;
}

const char *
erase_parse_path(const char *path, struct erase_target *t)
{
    static const char sites[] = "/sites/", visitors[] = "/visitors/";
    const char *s, *slash, *end;

    memset(t, 0, sizeof *t);
    if (strncmp(path, sites, sizeof sites - 1) != 0) {
        return ERASE_PATH_MSG;
    }
    s = path + sizeof sites - 1;
    end = s + strlen(s);
    slash = strchr(s, '/');
    if (segment(s, slash != NULL ? slash : end, t->site, EVENT_SITE_ID_MAX) < 0) {
        return "The site_id in the path must be 1-256 bytes of UTF-8, percent-encoded ('/' as "
               "%2F)";
    }
    t->kind = ERASE_SITE;
    if (slash == NULL) {
        return NULL;
    }
    if (strncmp(slash, visitors, sizeof visitors - 1) != 0) {
        return ERASE_PATH_MSG;
    }
    s = slash + sizeof visitors - 1;
    if (strchr(s, '/') != NULL || segment(s, end, t->visitor, EVENT_USER_ID_MAX) < 0) {
        return "The user_id in the path must be 1-256 bytes of UTF-8, percent-encoded ('/' as "
               "%2F)";
    }
    t->kind = ERASE_VISITOR;
    return NULL;
}

const char *
erase_parse_job_path(const char *path, char id[ERASE_JOB_ID_LEN + 1])
{
    static const char jobs[] = "/jobs/";
    const char *s = path + sizeof jobs - 1;

    if (strncmp(path, jobs, sizeof jobs - 1) != 0 || strlen(s) != ERASE_JOB_ID_LEN ||
        strspn(s, "0123456789abcdef") != ERASE_JOB_ID_LEN) {
        return "The job id in the path must be 32 hex digits";
    }
    memcpy(id, s, ERASE_JOB_ID_LEN + 1);
    return NULL;
}

static const struct erase_step visitor_steps[] = {
    {"events", ERASE_BY_FILTER},
    {ROLLUP_USERS_COLLECTION, ERASE_BY_ID},
    {ROLLUP_HOURS_COLLECTION, ERASE_HASH_SET},
    /* (Steps are numbered in the jobs: a new one goes last.) */
    {ROLLUP_DIMS_COLLECTION, ERASE_HASH_SET},
};

static const struct erase_step site_steps[] = {
    {"events", ERASE_BY_FILTER},
    {ROLLUP_COLLECTION, ERASE_BY_FILTER},
    {ROLLUP_HOURS_COLLECTION, ERASE_BY_FILTER},
    {ROLLUP_VISITS_COLLECTION, ERASE_BY_FILTER},
    {ROLLUP_ENTRY_PAGES_COLLECTION, ERASE_BY_FILTER},
    {ROLLUP_EXIT_PAGES_COLLECTION, ERASE_BY_FILTER},
    {ROLLUP_PATHS_COLLECTION, ERASE_BY_ID},
    {ROLLUP_REFERRERS_COLLECTION, ERASE_BY_ID},
    {ROLLUP_USERS_COLLECTION, ERASE_BY_ID},
    {ROLLUP_DIMS_COLLECTION, ERASE_BY_FILTER},
    {ROLLUP_DIM_VISITS_COLLECTION, ERASE_BY_FILTER},
};

const struct erase_step *
erase_steps(enum erase_kind kind, size_t *n)
{
    if (kind == ERASE_VISITOR) {
        *n = sizeof visitor_steps / sizeof visitor_steps[0];
        return visitor_steps;
    }
    *n = sizeof site_steps / sizeof site_steps[0];
    return site_steps;
}

int
erase_id_matches(const char *id, const char *site, const char *visitor)
{
    const char *s, *rest;
    size_t len;
    int64_t day;

    /* A child of one of the site's days or hours: "...|<n>:<site>|<leaf>", its leaf the rest. */
    return rollup_id_parse(id, &day, &s, &len, &rest) == 0 && *rest == ROLLUP_CHILD_SEP &&
           len == strlen(site) && memcmp(s, site, len) == 0 &&
           (visitor == NULL || strcmp(rest + 1, visitor) == 0);
}

int
erase_set_without(const bson_iter_t *u, int64_t h, bson_t *out)
{
    bson_iter_t it;
    uint32_t i = 0;
    int left = 0;

    if (!bson_iter_recurse(u, &it)) {
        return 0;
    }
    while (bson_iter_next(&it)) {
        char key[16];
        const char *k;
        if (BSON_ITER_HOLDS_INT64(&it) && bson_iter_int64(&it) == h) {
            left++;
            continue;
        }
        bson_uint32_to_string(i++, &k, key, sizeof key);
        if (!bson_append_value(out, k, -1, bson_iter_value(&it))) {
            return -1;
        }
    }
    return left;
}
