/* sweep.c - retention in the processor: the expiry check and the sweep (sweep.h). */
#include "sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_doc.h"
#include "log.h"
#include "rollup_doc.h"
#include "ts.h"

const char *const sweep_coll_names[SWEEP_COLLS] = {"events", "rollup_users", "rollups"};

/* The rollup collections ROLLUP_RETENTION_DAYS deletes from, rollup_users aside. */
static const char *const rollup_colls[] = {
    ROLLUP_COLLECTION,
    ROLLUP_PATHS_COLLECTION,
    ROLLUP_HOURS_COLLECTION,
    ROLLUP_REFERRERS_COLLECTION,
    ROLLUP_VISITS_COLLECTION,
    ROLLUP_ENTRY_PAGES_COLLECTION,
    ROLLUP_EXIT_PAGES_COLLECTION,
    ROLLUP_DIMS_COLLECTION,
    ROLLUP_DIM_VISITS_COLLECTION,
};
#define N_ROLLUP_COLLS (sizeof rollup_colls / sizeof rollup_colls[0])

/* A pass's stages, in order. */
enum { STAGE_IDLE, STAGE_EVENTS_OTHERS, STAGE_EVENTS_SITE, STAGE_USERS, STAGE_ROLLUPS };

int64_t
sweep_store_cutoff_ms(const struct retention *ret, const char *site, int64_t now_ms)
{
    int64_t raw = retention_site_cutoff_ms(ret, site, now_ms);
    int64_t rollups = retention_cutoff_ms(now_ms, ret->rollup_days);

    return raw > rollups ? raw : rollups;
}

int
sweep_expired(const struct retention *ret, const struct event *ev, int64_t now_ms, char *msg,
              size_t msglen)
{
    int64_t cutoff = sweep_store_cutoff_ms(ret, ev->site_id, now_ms);
    char day[TS_FORMAT_LEN], first[TS_FORMAT_LEN];

    if (ev->ts_ms >= cutoff) {
        return 0;
    }
    ts_format(ev->ts_ms, day);
    ts_format(cutoff, first);
    snprintf(msg, msglen, "its day %.10s is before %.10s, the first its site keeps", day, first);
    return 1;
}

int
sweep_parse_id(const char *id, int64_t *day_ms, const char **site, size_t *site_len)
{
    const char *rest;

    return rollup_id_parse(id, day_ms, site, site_len, &rest);
}

void
sweep_init(struct sweep *sw, const struct retention *ret, long every_s, atomic_ullong *total)
{
    memset(sw, 0, sizeof *sw);
    sw->ret = ret;
    sw->every_ms = (int64_t)every_s * 1000;
    sw->next_mono_ms = ts_mono_ms();
    sw->total = total;
}

void
sweep_cleanup(struct sweep *sw)
{
    free(sw->resume);
    sw->resume = NULL;
}

/* Whether any setting deletes anything. */
static int
has_work(const struct retention *r)
{
    int any = r->days > 0 || r->rollup_days > 0;

    for (size_t i = 0; !any && i < r->sites.n; i++) {
        any = r->site_days[i] > 0;
    }
    return any;
}

/* The latest cutoff any site's rollup_users may have (INT64_MIN: none). */
static int64_t
users_bound_ms(const struct sweep *sw)
{
    const struct retention *r = sw->ret;
    int64_t bound = retention_cutoff_ms(sw->now_ms, r->days);

    for (size_t i = 0; i < r->sites.n; i++) {
        int64_t c = retention_cutoff_ms(sw->now_ms, r->site_days[i]);
        bound = c > bound ? c : bound;
    }
    int64_t rollups = retention_cutoff_ms(sw->now_ms, r->rollup_days);
    return rollups > bound ? rollups : bound;
}

/* Up to SWEEP_BATCH _ids (strings, malloc'd into ids[], *n of them) of coll matching filter,
 * in _id order when sorted. Returns 0, or -1 with err. */
static int
find_ids(mongoc_collection_t *coll, const bson_t *filter, int sorted, char **ids, size_t *n,
         struct app_err *err)
{
    bson_t *opts =
        BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64(SWEEP_BATCH));
    mongoc_cursor_t *cur;
    const bson_t *doc;
    bson_error_t berr;
    int rc = 0;

    if (sorted) {
        BCON_APPEND(opts, "sort", "{", "_id", BCON_INT32(1), "}");
    }
    *n = 0;
    cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
    while (rc == 0 && *n < SWEEP_BATCH && mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it)) {
            continue; /* not ours: the sweep deletes by string ids only */
        }
        if ((ids[*n] = strdup(bson_iter_utf8(&it, NULL))) == NULL) {
            rc = err_set(err, ERR_INTERNAL, "out of memory");
        } else {
            (*n)++;
        }
    }
    if (rc == 0 && mongoc_cursor_error(cur, &berr)) {
        rc = err_set(err, ERR_TRANSIENT, "mongodb find %s: %s", mongoc_collection_get_name(coll),
                     berr.message);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    return rc;
}

/* Delete the documents of coll with the n ids (n may be 0); their number into *deleted.
 * Returns 0, or -1 with err. */
static int
delete_ids(const store_t *s, mongoc_collection_t *coll, char *const *ids, size_t n,
           unsigned long long *deleted, struct app_err *err)
{
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, reply;
    bson_error_t berr;
    bson_iter_t it;
    int rc = 0;

    *deleted = 0;
    if (n == 0) {
        goto done;
    }
    if (store_append_in(&filter, "_id", ids, n, err) != 0 ||
        store_append_write_concern(s, &opts) != 0) {
        rc = err->code != 0 ? -1 : err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (!mongoc_collection_delete_many(coll, &filter, &opts, &reply, &berr)) {
        rc = err_set(err, ERR_TRANSIENT, "mongodb delete %s: %s", mongoc_collection_get_name(coll),
                     berr.message);
    } else if (bson_iter_init_find(&it, &reply, "deletedCount") && BSON_ITER_HOLDS_NUMBER(&it)) {
        *deleted = (unsigned long long)bson_iter_as_int64(&it);
    }
    bson_destroy(&reply);
done:
    bson_destroy(&opts);
    bson_destroy(&filter);
    return rc;
}

/* Find up to SWEEP_BATCH documents of coll matching filter (freed here) and delete them,
 * counting them under kind. Returns 1 when more may follow, 0 when none are left, -1 with
 * err. */
static int
find_delete(struct sweep *sw, const store_t *s, mongoc_collection_t *coll, bson_t *filter,
            enum sweep_coll kind, char **ids, size_t *n, struct app_err *err)
{
    unsigned long long del = 0;
    int rc = find_ids(coll, filter, 0, ids, n, err);

    if (rc == 0) {
        rc = delete_ids(s, coll, ids, *n, &del, err);
    }
    sw->deleted[kind] += del;
    bson_destroy(filter);
    return rc != 0 ? -1 : *n == SWEEP_BATCH;
}

/* {_id: {$lt: <day of cutoff_ms>[, $gt: after]}}: the rollup documents of the days before
 * (every rollup _id starts with its day), after a walk's last _id. */
static void
ids_before(bson_t *filter, int64_t cutoff_ms, const char *after)
{
    bson_t range;
    char bound[TS_FORMAT_LEN];

    ts_format(cutoff_ms, bound);
    bson_append_document_begin(filter, "_id", -1, &range);
    bson_append_utf8(&range, "$lt", -1, bound, 10);
    if (after != NULL) {
        BSON_APPEND_UTF8(&range, "$gt", after);
    }
    bson_append_document_end(filter, &range);
}

/* One step of the raw events: up to SWEEP_BATCH events before cutoff of one site (site
 * non-NULL), or of every site SITE_RETENTION does not list. Returns 1 when more may follow,
 * 0 when the stage is done, -1 with err. */
static int
step_events(struct sweep *sw, const store_t *s, mongoc_collection_t *coll, const char *site,
            int64_t cutoff, char **ids, size_t *n, struct app_err *err)
{
    bson_t filter = BSON_INITIALIZER, sites, lt;

    if (site != NULL) {
        BSON_APPEND_UTF8(&filter, EVDOC_SITE_ID, site);
    } else if (sw->ret->sites.n > 0) {
        char key[16];
        bson_append_document_begin(&filter, EVDOC_SITE_ID, -1, &sites);
        bson_append_array_begin(&sites, "$nin", -1, &lt);
        for (size_t i = 0; i < sw->ret->sites.n; i++) {
            const char *k;
            bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
            bson_append_utf8(&lt, k, -1, sw->ret->sites.items[i].site, -1);
        }
        bson_append_array_end(&sites, &lt);
        bson_append_document_end(&filter, &sites);
    }
    bson_append_document_begin(&filter, EVDOC_TIMESTAMP, -1, &lt);
    BSON_APPEND_DATE_TIME(&lt, "$lt", cutoff);
    bson_append_document_end(&filter, &lt);
    return find_delete(sw, s, coll, &filter, SWEEP_EVENTS, ids, n, err);
}

/* One step of rollup_users, walked in _id order from sw->resume below the latest cutoff:
 * a user document of a day before its site's raw cutoff, or ROLLUP_RETENTION_DAYS', is
 * deleted (it names a user of that day). Returns as step_events(). */
static int
step_users(struct sweep *sw, const store_t *s, mongoc_collection_t *coll, char **ids, size_t *n,
           struct app_err *err)
{
    bson_t filter = BSON_INITIALIZER;
    char *del_ids[SWEEP_BATCH], site[EVENT_SITE_ID_MAX + 1];
    size_t m = 0;
    unsigned long long del = 0;
    int64_t rollups = retention_cutoff_ms(sw->now_ms, sw->ret->rollup_days);
    int rc;

    ids_before(&filter, users_bound_ms(sw), sw->resume);
    rc = find_ids(coll, &filter, 1, ids, n, err);
    for (size_t i = 0; rc == 0 && i < *n; i++) {
        int64_t day;
        const char *p;
        size_t len;
        if (sweep_parse_id(ids[i], &day, &p, &len) != 0 || len > EVENT_SITE_ID_MAX) {
            continue;
        }
        memcpy(site, p, len);
        site[len] = '\0';
        if (day < rollups || day < retention_site_cutoff_ms(sw->ret, site, sw->now_ms)) {
            del_ids[m++] = ids[i];
        }
    }
    if (rc == 0) {
        rc = delete_ids(s, coll, del_ids, m, &del, err);
    }
    if (rc == 0 && *n > 0) {
        free(sw->resume);
        if ((sw->resume = strdup(ids[*n - 1])) == NULL) {
            rc = err_set(err, ERR_INTERNAL, "out of memory");
        }
    }
    sw->deleted[SWEEP_USERS] += del;
    bson_destroy(&filter);
    return rc != 0 ? -1 : *n == SWEEP_BATCH;
}

/* One step of a rollup collection under ROLLUP_RETENTION_DAYS: documents whose _id's day
 * (every rollup _id starts with it) is before the cutoff. Returns as step_events(). */
static int
step_rollups(struct sweep *sw, const store_t *s, mongoc_collection_t *coll, char **ids, size_t *n,
             struct app_err *err)
{
    bson_t filter = BSON_INITIALIZER;

    ids_before(&filter, retention_cutoff_ms(sw->now_ms, sw->ret->rollup_days), NULL);
    return find_delete(sw, s, coll, &filter, SWEEP_ROLLUPS, ids, n, err);
}

/* Move to the next stage (and site or collection) that has work, or end the pass. */
static void
advance(struct sweep *sw)
{
    const struct retention *r = sw->ret;

    for (;;) {
        if (sw->stage == STAGE_EVENTS_OTHERS) {
            sw->stage = STAGE_EVENTS_SITE;
            sw->at = 0;
        } else if (sw->stage == STAGE_EVENTS_SITE && sw->at + 1 < r->sites.n) {
            sw->at++;
        } else if (sw->stage == STAGE_EVENTS_SITE) {
            sw->stage = STAGE_USERS;
        } else if (sw->stage == STAGE_USERS) {
            sw->stage = STAGE_ROLLUPS;
            sw->at = 0;
        } else if (sw->stage == STAGE_ROLLUPS && sw->at + 1 < N_ROLLUP_COLLS) {
            sw->at++;
        } else {
            sw->stage = STAGE_IDLE;
            return;
        }
        if ((sw->stage == STAGE_EVENTS_SITE && !sw->events_by_ttl && sw->at < r->sites.n &&
             r->site_days[sw->at] > 0) ||
            (sw->stage == STAGE_USERS && users_bound_ms(sw) != INT64_MIN) ||
            (sw->stage == STAGE_ROLLUPS && r->rollup_days > 0)) {
            return;
        }
    }
}

/* The pass ends: log and count what it deleted, plan the next. */
static void
end_pass(struct sweep *sw, const struct app_err *err)
{
    if (err != NULL) {
        LOG_WARN("retention sweep stopped: %s; the next in %lld s", err->msg,
                 (long long)(sw->every_ms / 1000));
    }
    if (sw->deleted[SWEEP_EVENTS] + sw->deleted[SWEEP_USERS] + sw->deleted[SWEEP_ROLLUPS] > 0) {
        LOG_INFO("retention sweep: deleted %llu events, %llu rollup user documents, %llu rollup "
                 "documents",
                 sw->deleted[SWEEP_EVENTS], sw->deleted[SWEEP_USERS], sw->deleted[SWEEP_ROLLUPS]);
    }
    for (int c = 0; c < SWEEP_COLLS; c++) {
        atomic_fetch_add_explicit(&sw->total[c], sw->deleted[c], memory_order_relaxed);
        sw->deleted[c] = 0;
    }
    free(sw->resume);
    sw->resume = NULL;
    sw->stage = STAGE_IDLE;
    sw->next_mono_ms = ts_mono_ms() + sw->every_ms;
}

void
sweep_tick(struct sweep *sw, store_t *s, int64_t budget_ms)
{
    int64_t start = ts_mono_ms();
    mongoc_client_t *client = NULL;
    char *ids[SWEEP_BATCH];
    struct app_err err = {0};
    int more = 0;

    if (sw->stage == STAGE_IDLE) {
        if (start < sw->next_mono_ms || !has_work(sw->ret)) {
            return;
        }
        sw->now_ms = ts_now_ms() - SWEEP_MARGIN_MS;
        sw->stage = STAGE_EVENTS_OTHERS;
        if (sw->ret->days <= 0 || sw->events_by_ttl) {
            advance(sw);
        }
    }
    client = store_client_pop(s);
    /* A stop leaves the pass where it is: the process ends, and the next one starts anew. */
    while (sw->stage != STAGE_IDLE && more >= 0 && ts_mono_ms() - start <= budget_ms &&
           store_stopping(s, &err) == 0) {
        const char *name = sw->stage <= STAGE_EVENTS_SITE ? STORE_EVENTS_COLLECTION
                           : sw->stage == STAGE_USERS     ? ROLLUP_USERS_COLLECTION
                                                          : rollup_colls[sw->at];
        mongoc_collection_t *coll = store_collection(s, client, name);
        size_t n = 0;

        if (sw->stage == STAGE_EVENTS_OTHERS) {
            more = step_events(sw, s, coll, NULL, retention_cutoff_ms(sw->now_ms, sw->ret->days),
                               ids, &n, &err);
        } else if (sw->stage == STAGE_EVENTS_SITE) {
            more = step_events(sw, s, coll, sw->ret->sites.items[sw->at].site,
                               retention_cutoff_ms(sw->now_ms, sw->ret->site_days[sw->at]), ids, &n,
                               &err);
        } else if (sw->stage == STAGE_USERS) {
            more = step_users(sw, s, coll, ids, &n, &err);
        } else {
            more = step_rollups(sw, s, coll, ids, &n, &err);
        }
        for (size_t i = 0; i < n; i++) {
            free(ids[i]);
        }
        mongoc_collection_destroy(coll);
        if (more == 0) {
            free(sw->resume);
            sw->resume = NULL;
            advance(sw);
        }
    }
    store_client_push(s, client);
    if (more < 0) {
        end_pass(sw, &err);
    } else if (sw->stage == STAGE_IDLE) {
        end_pass(sw, NULL);
    }
}
