/* memfill.c - the data of reporting's memory checks (tests/it/it_memory.sh, part 10 of
 * tests/bench/bench.sh): one site's events over a range of days, every event with its own path
 * and user, and the rollup documents the processors would keep for them, written raw.
 *
 *   memfill URI SITE N DAYS PAD PROPS   writes N events over the DAYS days that end on
 *                                       2025-11-15, then prints "events=N days=D"
 *                                       and exits 0 (1 on any error)
 *
 * Event i falls on day i % DAYS (at 10:00:00 plus i / DAYS seconds), is a page_view with
 * path "/p<i>" and user "u<i>" (each padded with '-' to PAD bytes, at most 250, so that
 * every path and user is distinct and long), and properties {referrer:
 * "https://h<i % 97>.example/<i>", pad: PROPS bytes (at most 65,536)}. The rollups, shaped as
 * common/rollup_doc.h describes them and counted by one batch "memfill0000000000:1" of
 * run memfill000000000: per day a site-day document (views, users, runs), per event a
 * user document and a path document of that site-day. No site-day-type, site-hour or
 * referrer documents: /stats without event_type, /stats/timeseries by day from the
 * site-days, and every /aggregated figure are the reads these documents serve.
 *
 * Raw writes rather than the processor's: the test server scans a whole collection on
 * every write (docs/benchmarks.md, Notes), and the processor's upserts of distinct documents
 * cost it seconds each past 10,000 documents, while insert_many of fresh ones loads
 * 5,000 in about a second. */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "rollup_doc.h"

#define END_DAY_MS 1763164800000LL /* 2025-11-15T00:00:00Z */
#define DAY_MS 86400000LL
#define RUN "memfill000000000"
#define BATCH_ID RUN ":1"
#define CHUNK 1000
#define PAD_MAX 250
#define PROPS_PAD_MAX 65536

struct writer {
    mongoc_collection_t *coll;
    bson_t *docs[CHUNK];
    int n;
};

/* Write the documents held, if any. Returns 0, or -1 (printed). */
static int
flush(struct writer *w)
{
    bson_error_t err;
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
    int rc = 0;

    if (w->n > 0 && !mongoc_collection_insert_many(w->coll, (const bson_t **)w->docs, (size_t)w->n,
                                                   opts, NULL, &err)) {
        fprintf(stderr, "memfill: insert into %s: %s\n", mongoc_collection_get_name(w->coll),
                err.message);
        rc = -1;
    }
    for (int i = 0; i < w->n; i++) {
        bson_destroy(w->docs[i]);
    }
    w->n = 0;
    bson_destroy(opts);
    return rc;
}

/* Hold doc (taken) for the next write. Returns 0, or -1. */
static int
add(struct writer *w, bson_t *doc)
{
    w->docs[w->n++] = doc;
    return w->n == CHUNK ? flush(w) : 0;
}

/* "<prefix><i>" padded with '-' to pad bytes (at least its digits) into out. */
static void
padded(char *out, size_t n, const char *prefix, long i, int pad)
{
    int len = snprintf(out, n, "%s%ld", prefix, i);

    while (len < pad && (size_t)len + 1 < n) {
        out[len++] = '-';
    }
    out[len] = '\0';
}

static int
fill(mongoc_client_t *client, const char *db, const char *site, long n, long days, int pad,
     int props)
{
    struct writer ev = {mongoc_client_get_collection(client, db, "events"), {0}, 0};
    struct writer users = {
        mongoc_client_get_collection(client, db, ROLLUP_USERS_COLLECTION), {0}, 0};
    struct writer paths = {
        mongoc_client_get_collection(client, db, ROLLUP_PATHS_COLLECTION), {0}, 0};
    struct writer scopes = {mongoc_client_get_collection(client, db, ROLLUP_COLLECTION), {0}, 0};
    char *props_pad = malloc(PROPS_PAD_MAX + 1);
    int rc = 0;

    if (props_pad == NULL) {
        return 1;
    }
    memset(props_pad, 'x', PROPS_PAD_MAX);
    props_pad[props] = '\0';
    for (long i = 0; rc == 0 && i < n; i++) {
        long day = i % days;
        int64_t day_ms = END_DAY_MS - (days - 1 - day) * DAY_MS;
        int64_t ts = day_ms + 10 * 3600 * 1000LL + (i / days) * 1000LL;
        char path[PAD_MAX + 24], user[PAD_MAX + 24], id[EVENT_SITE_ID_MAX + 32], ref[64];
        char *scope = rollup_scope_id(site, day_ms, NULL), *uid, *pid;
        padded(path, sizeof path, "/p", i, pad);
        padded(user, sizeof user, "u", i, pad);
        uid = rollup_child_id(scope, user);
        pid = rollup_child_id(scope, path);
        snprintf(id, sizeof id, "%s:m%ld", site, i);
        snprintf(ref, sizeof ref, "https://h%ld.example/%ld", i % 97, i);
        rc = add(&ev, BCON_NEW("_id", BCON_UTF8(id), "site_id", BCON_UTF8(site), "event_type",
                               BCON_UTF8("page_view"), "path", BCON_UTF8(path), "user_id",
                               BCON_UTF8(user), "timestamp", BCON_DATE_TIME(ts), "createdAt",
                               BCON_DATE_TIME(ts), "received_at", BCON_DATE_TIME(ts), "properties",
                               "{", "referrer", BCON_UTF8(ref), "pad", BCON_UTF8(props_pad), "}"));
        rc = rc != 0 ? rc : add(&users, BCON_NEW("_id", BCON_UTF8(uid), "b", BCON_UTF8(BATCH_ID)));
        rc = rc != 0 ? rc
                     : add(&paths, BCON_NEW("_id", BCON_UTF8(pid), "scope", BCON_UTF8(scope),
                                            "path", BCON_UTF8(path), "views", BCON_INT64(1), "runs",
                                            "{", RUN, BCON_INT64(1), "}"));
        free(pid);
        free(uid);
        free(scope);
    }
    /* The site-days: event i is on day i % days, so day d has the events d, d + days, ... */
    for (long day = 0; rc == 0 && day < days && day < n; day++) {
        int64_t day_ms = END_DAY_MS - (days - 1 - day) * DAY_MS;
        int64_t count = (n - day + days - 1) / days;
        char *scope = rollup_scope_id(site, day_ms, NULL);
        char date[16];
        time_t t = (time_t)(day_ms / 1000);
        strftime(date, sizeof date, "%Y-%m-%d", gmtime(&t));
        rc = add(&scopes,
                 BCON_NEW("_id", BCON_UTF8(scope), "site_id", BCON_UTF8(site), "date",
                          BCON_UTF8(date), "event_type", BCON_NULL, "views", BCON_INT64(count),
                          "users", BCON_INT64(count), "runs", "{", RUN, BCON_INT64(1), "}"));
        free(scope);
    }
    rc = rc != 0 || flush(&ev) != 0 || flush(&users) != 0 || flush(&paths) != 0 ||
                 flush(&scopes) != 0
             ? 1
             : 0;
    free(props_pad);
    mongoc_collection_destroy(ev.coll);
    mongoc_collection_destroy(users.coll);
    mongoc_collection_destroy(paths.coll);
    mongoc_collection_destroy(scopes.coll);
    return rc;
}

int
main(int argc, char **argv)
{
    mongoc_uri_t *uri;
    mongoc_client_t *client;
    long n, days;
    int pad, props, rc;

    if (argc != 7 || (n = strtol(argv[3], NULL, 10)) < 1 ||
        (days = strtol(argv[4], NULL, 10)) < 1 || days > 366 ||
        (pad = (int)strtol(argv[5], NULL, 10)) < 0 || pad > PAD_MAX ||
        (props = (int)strtol(argv[6], NULL, 10)) < 0 || props > PROPS_PAD_MAX) {
        fprintf(stderr, "usage: memfill URI SITE N DAYS(1-366) PAD(0-%d) PROPS(0-%d)\n", PAD_MAX,
                PROPS_PAD_MAX);
        return 1;
    }
    mongoc_init();
    if ((uri = mongoc_uri_new(argv[1])) == NULL) {
        fprintf(stderr, "memfill: bad URI %s\n", argv[1]);
        return 1;
    }
    client = mongoc_client_new_from_uri(uri);
    rc = fill(client, mongoc_uri_get_database(uri), argv[2], n, days, pad, props);
    if (rc == 0) {
        printf("events=%ld days=%ld\n", n, days);
    }
    mongoc_client_destroy(client);
    mongoc_uri_destroy(uri);
    mongoc_cleanup();
    return rc;
}
