/* query_scan.c - a site's raw events of a range, visit by visit, into a scan (scan.h). */
#include "query_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbread.h"
#include "event_doc.h"
#include "hash.h"
#include "query_dims.h"
#include "rollup_doc.h"

/* One event of the visit being read: its document (a copy: the scan's strings point into it)
 * and its referrer's host, when a dimension needs it. */
struct held {
    bson_t *doc;
    char *host; /* owned, or NULL */
};

/* The read's state: the scan, the visit being gathered, and what each value slot reads. */
struct reader {
    struct scan *s;
    int slot_dim[FILTER_SLOTS + 1];         /* the dimension of each slot (-1: unused) */
    const char *slot_key[FILTER_SLOTS + 1]; /* its property key (FILTER_PROP) */
    int hosts;                              /* some slot reads the referrer's host */
    struct held *held;
    struct scan_event *ev;
    size_t n, cap;
    int64_t start_ms; /* the held visit's start */
    int too_many;
};

/* The instant of a Date field of doc, or -1. */
static int64_t
date_ms(const bson_t *doc, const char *key)
{
    bson_iter_t it;

    return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_DATE_TIME(&it)
               ? bson_iter_date_time(&it)
               : -1;
}

/* The string at properties.<key> of doc, or NULL. */
static const char *
prop_of(const bson_t *doc, const char *key)
{
    bson_iter_t it, child;

    if (!bson_iter_init_find(&it, doc, EVDOC_PROPERTIES) || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
        !bson_iter_recurse(&it, &child) || !bson_iter_find(&child, key) ||
        !BSON_ITER_HOLDS_UTF8(&child)) {
        return NULL;
    }
    return bson_iter_utf8(&child, NULL);
}

/* The referrer host of page view doc into host (rollup_referrer_host()), or NULL. */
static const char *
referrer_host(const bson_t *doc, char host[ROLLUP_REFERRER_MAX + 1])
{
    const char *ref = prop_of(doc, "referrer");

    return ref != NULL && rollup_referrer_host(ref, host) >= 0 ? host : NULL;
}

/* The value of dimension d (property key `key`) of event doc, as stored (NULL: absent; the
 * entry and exit pages, which are a visit's, are absent here); the referrer's host is written
 * into host (NULL: not asked for, absent). */
static const char *
doc_value(const bson_t *doc, int d, const char *key, char host[ROLLUP_REFERRER_MAX + 1])
{
    const char *type;

    if (FILTER_OF_PAGES(d)) {
        return NULL;
    }
    if (d == FILTER_REFERRER) {
        type = dbread_utf8(doc, EVDOC_EVENT_TYPE);
        return host != NULL && type != NULL && strcmp(type, "page_view") == 0
                   ? referrer_host(doc, host)
                   : NULL;
    }
    return d == FILTER_PROP ? prop_of(doc, key) : dbread_utf8(doc, filter_dim_field(d));
}

int
query_scan_doc_passes(const struct filters *fs, const bson_t *doc)
{
    char host[ROLLUP_REFERRER_MAX + 1];

    for (int i = 0; i < fs->n; i++) {
        if (!filter_pass(&fs->f[i], doc_value(doc, fs->f[i].d.dim, fs->f[i].d.key, host))) {
            return 0;
        }
    }
    return 1;
}

/* Let the held events go. */
static void
drop(struct reader *rd)
{
    for (size_t i = 0; i < rd->n; i++) {
        bson_destroy(rd->held[i].doc);
        free(rd->held[i].host);
    }
    rd->n = 0;
}

/* Count the held visit and let its events go. */
static int
flush(struct reader *rd, struct app_err *err)
{
    int rc = rd->n > 0 ? scan_visit(rd->s, rd->ev, rd->n, rd->start_ms) : 0;

    drop(rd);
    if (rc > 0) {
        return err_set(err, ERR_INVALID, "%s", SCAN_TOO_MANY);
    }
    return rc < 0 ? err_set(err, ERR_INTERNAL, "out of memory") : 0;
}

/* Hold one more event of the visit: its copy and its values. Returns 0, or -1 (err). */
static int
hold(struct reader *rd, const bson_t *doc, struct app_err *err)
{
    struct held *h;
    struct scan_event *e;
    const char *type;

    if (rd->n == rd->cap) {
        size_t cap = rd->cap != 0 ? 2 * rd->cap : 16;
        struct held *held = realloc(rd->held, cap * sizeof *held);
        struct scan_event *ev = held != NULL ? realloc(rd->ev, cap * sizeof *ev) : NULL;
        if (held != NULL) {
            rd->held = held;
        }
        if (ev == NULL) {
            return err_set(err, ERR_INTERNAL, "out of memory");
        }
        rd->ev = ev;
        rd->cap = cap;
    }
    h = &rd->held[rd->n];
    e = &rd->ev[rd->n];
    h->host = NULL;
    if ((h->doc = bson_copy(doc)) == NULL) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    rd->n++;
    memset(e, 0, sizeof *e);
    type = dbread_utf8(h->doc, EVDOC_EVENT_TYPE);
    e->ts = date_ms(h->doc, EVDOC_TIMESTAMP);
    e->page_view = type != NULL && strcmp(type, "page_view") == 0;
    e->interacts = type != NULL && !e->page_view && strcmp(type, "scroll") != 0 &&
                   strcmp(type, "mousemove") != 0;
    e->path = dbread_utf8(h->doc, EVDOC_PATH);
    e->type = type;
    e->visit_id = dbread_utf8(h->doc, EVDOC_VISIT_ID);
    e->user_id = dbread_utf8(h->doc, EVDOC_USER_ID);
    const char *user = e->user_id;
    if (user != NULL && user[0] != '\0') {
        e->user = hash_fnv1a(HASH_FNV1A_BASIS, user, strlen(user));
        e->user += e->user == 0; /* 0 means none */
    }
    if (rd->hosts && e->page_view) {
        char host[ROLLUP_REFERRER_MAX + 1];
        if (referrer_host(h->doc, host) != NULL && (h->host = strdup(host)) == NULL) {
            return err_set(err, ERR_INTERNAL, "out of memory");
        }
    }
    for (int i = 0; i <= FILTER_SLOTS; i++) {
        int d = rd->slot_dim[i];
        e->val[i] = d < 0 || d == FILTER_REFERRER ? (d < 0 ? NULL : h->host)
                                                  : doc_value(h->doc, d, rd->slot_key[i], NULL);
    }
    return 0;
}

/* Each event, in visit order: held with its visit's others, or counted alone without one. */
static int
each_event(const bson_t *doc, void *arg, struct app_err *err)
{
    struct reader *rd = arg;
    const char *visit = dbread_utf8(doc, EVDOC_VISIT_ID);
    int64_t start = visit != NULL ? date_ms(doc, EVDOC_VISIT_START) : -1;

    if (rd->n > 0) {
        const char *held = dbread_utf8(rd->held[0].doc, EVDOC_VISIT_ID);
        if (start < 0 || held == NULL || strcmp(held, visit) != 0) {
            if (flush(rd, err) != 0) {
                return -1;
            }
        }
    }
    if (rd->n >= QUERY_SCAN_VISIT_EVENTS_MAX) {
        return err_set(err, ERR_INVALID, "%s", SCAN_TOO_MANY);
    }
    rd->start_ms = start;
    if (hold(rd, doc, err) != 0) {
        return -1;
    }
    /* An event without a visit (or stored before visit_start) counts alone. */
    return start < 0 && flush(rd, err) != 0 ? -1 : DBREAD_NEXT;
}

/* Whether the scan's filters or rows need the entry or exit page. */
static int
needs_pages(const struct scan *s)
{
    int d = s->mode == SCAN_VALUES ? s->by.dim : -1;

    for (int i = 0; i < s->fs->n; i++) {
        if (s->fs->f[i].d.dim == FILTER_ENTRY_PAGE || s->fs->f[i].d.dim == FILTER_EXIT_PAGE) {
            return 1;
        }
    }
    return d == FILTER_ENTRY_PAGE || d == FILTER_EXIT_PAGE;
}

/* {$gte: from, $lt: end} as Dates under key in b. */
static void
append_span(bson_t *b, const char *key, int64_t from, int64_t end)
{
    bson_t span;

    bson_append_document_begin(b, key, -1, &span);
    BSON_APPEND_DATE_TIME(&span, "$gte", from);
    BSON_APPEND_DATE_TIME(&span, "$lt", end);
    bson_append_document_end(b, &span);
}

/* The ids of the visits outside the range with events in it (an aggregation's documents
 * {_id: visit id}) into the array `ids` (arg: a struct outside). */
struct outside {
    bson_t *ids;
    uint32_t n;
};

static int
outside_id(const bson_t *doc, void *arg, struct app_err *err)
{
    struct outside *o = arg;
    const char *id = dbread_utf8(doc, "_id");
    char key[16];
    const char *k;

    if (id == NULL) {
        return DBREAD_NEXT;
    }
    if (o->n >= QUERY_SCAN_OUTSIDE_MAX) {
        return err_set(err, ERR_INVALID, "%s", SCAN_TOO_MANY);
    }
    bson_uint32_to_string(o->n++, &k, key, sizeof key);
    return BSON_APPEND_UTF8(o->ids, k, id) ? DBREAD_NEXT
                                           : err_set(err, ERR_INTERNAL, "out of memory");
}

/* Read into o the visits with events in [from, end) that began before from or at or after
 * end (a visit's first event's time is its start, and a later event may carry an earlier
 * client time). */
static int
read_outside(store_t *st, const char *site_id, int64_t from, int64_t end, struct outside *o,
             struct app_err *err)
{
    bson_t *p = bson_new(), stages, stage, match, or, alt;
    struct dbread q = {.kind = DBREAD_AGGREGATE,
                       .collection = STORE_EVENTS_COLLECTION,
                       .what = "mongodb scan: visits outside the range",
                       .each = outside_id,
                       .arg = o};
    int rc;

    bson_append_array_begin(p, "pipeline", -1, &stages);
    bson_append_document_begin(&stages, "0", -1, &stage);
    bson_append_document_begin(&stage, "$match", -1, &match);
    BSON_APPEND_UTF8(&match, EVDOC_SITE_ID, site_id);
    append_span(&match, EVDOC_TIMESTAMP, from, end);
    bson_append_array_begin(&match, "$or", -1, & or);
    bson_append_document_begin(& or, "0", -1, &alt);
    BCON_APPEND(&alt, EVDOC_VISIT_START, "{", "$lt", BCON_DATE_TIME(from), "}");
    bson_append_document_end(& or, &alt);
    bson_append_document_begin(& or, "1", -1, &alt);
    BCON_APPEND(&alt, EVDOC_VISIT_START, "{", "$gte", BCON_DATE_TIME(end), "}");
    bson_append_document_end(& or, &alt);
    bson_append_array_end(&match, & or);
    bson_append_document_end(&stage, &match);
    bson_append_document_end(&stages, &stage);
    BCON_APPEND(&stages, "1", "{", "$group", "{", "_id", BCON_UTF8("$" EVDOC_VISIT_ID), "}", "}");
    bson_append_array_end(p, &stages);
    q.query = p;
    rc = dbread_run(st, &q, err);
    bson_destroy(p);
    return rc;
}

/* Append {$project: {...: 1}} of the fields the scan reads as stage `key` of stages: a visit's
 * and an event's own, and each dimension's of the filters and `by` (once each), so that the
 * server sorts and sends no more. */
static void
append_project(bson_t *stages, const char *key, const struct scan *s)
{
    static const char *const own[] = {EVDOC_TIMESTAMP,   EVDOC_VISIT_ID, EVDOC_VISIT_SEQ,
                                      EVDOC_VISIT_START, EVDOC_USER_ID,  EVDOC_EVENT_TYPE,
                                      EVDOC_PATH};
    char fields[FILTER_SLOTS + 1][32];
    int n = 0;
    bson_t stage, project;

    bson_append_document_begin(stages, key, -1, &stage);
    bson_append_document_begin(&stage, "$project", -1, &project);
    BSON_APPEND_INT32(&project, EVDOC_ID, 0); /* a tenth of each document, unread */
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        BSON_APPEND_INT32(&project, own[i], 1);
    }
    for (int i = 0; i <= s->fs->n; i++) {
        const struct filter_dimension *d = i < s->fs->n             ? &s->fs->f[i].d
                                           : s->mode == SCAN_VALUES ? &s->by
                                                                    : NULL;
        const char *field = d != NULL ? filter_dim_field(d->dim) : NULL;
        int seen = 0;
        /* A property or the referrer: all of properties. MongoDB would take
         * "properties.<key>", but the test server drops a dotted path from a $project. */
        if (d != NULL && (d->dim == FILTER_PROP || d->dim == FILTER_REFERRER)) {
            snprintf(fields[n], sizeof fields[n], "%s", EVDOC_PROPERTIES);
        } else if (field != NULL && d->dim != FILTER_PATH && d->dim != FILTER_EVENT_TYPE) {
            snprintf(fields[n], sizeof fields[n], "%s", field);
        } else {
            continue;
        }
        for (int j = 0; j < n; j++) {
            seen |= strcmp(fields[j], fields[n]) == 0;
        }
        if (!seen) {
            BSON_APPEND_INT32(&project, fields[n], 1);
            n++;
        }
    }
    bson_append_document_end(&stage, &project);
    bson_append_document_end(stages, &stage);
}

/* The aggregation: the site's events in [from, end), of the visits that began then, and of
 * the visits `outside` (may be NULL); a visit-level `is` filter on a stored field narrowed on
 * the server (every event of a visit stores its visit's values); sorted by visit. */
static bson_t *
scan_pipeline(const char *site_id, const struct scan *s, const bson_t *outside)
{
    bson_t *p = bson_new(), stages, stage, match, or, alt, sort;

    bson_append_array_begin(p, "pipeline", -1, &stages);
    bson_append_document_begin(&stages, "0", -1, &stage);
    bson_append_document_begin(&stage, "$match", -1, &match);
    BSON_APPEND_UTF8(&match, EVDOC_SITE_ID, site_id);
    for (int i = 0; i < s->fs->n; i++) {
        const struct filter *f = &s->fs->f[i];
        const char *field = filter_dim_field(f->d.dim);
        int dup = 0;
        for (int j = 0; j < i; j++) {
            dup |=
                s->fs->f[j].d.dim == f->d.dim && s->fs->f[j].op == FILTER_IS && !s->fs->f[j].none;
        }
        if (filter_dim_kind(f->d.dim) == FILTER_KIND_VISIT && field != NULL && f->op == FILTER_IS &&
            !f->none && !dup) {
            BSON_APPEND_UTF8(&match, field, f->value);
        }
    }
    bson_append_array_begin(&match, "$or", -1, & or);
    bson_append_document_begin(& or, "0", -1, &alt);
    append_span(&alt, EVDOC_TIMESTAMP, range_raw_from(&s->range), s->end_ms);
    bson_append_document_end(& or, &alt);
    bson_append_document_begin(& or, "1", -1, &alt);
    append_span(&alt, EVDOC_VISIT_START, range_raw_from(&s->range), s->end_ms);
    bson_append_document_end(& or, &alt);
    if (outside != NULL && !bson_empty(outside)) {
        bson_append_document_begin(& or, "2", -1, &alt);
        BCON_APPEND(&alt, EVDOC_VISIT_ID, "{", "$in", BCON_ARRAY(outside), "}");
        bson_append_document_end(& or, &alt);
    }
    bson_append_array_end(&match, & or);
    bson_append_document_end(&stage, &match);
    bson_append_document_end(&stages, &stage);
    append_project(&stages, "1", s);
    bson_append_document_begin(&stages, "2", -1, &stage);
    bson_append_document_begin(&stage, "$sort", -1, &sort);
    BSON_APPEND_INT32(&sort, EVDOC_VISIT_START, 1);
    BSON_APPEND_INT32(&sort, EVDOC_VISIT_ID, 1);
    BSON_APPEND_INT32(&sort, EVDOC_VISIT_SEQ, 1);
    bson_append_document_end(&stage, &sort);
    bson_append_document_end(&stages, &stage);
    bson_append_array_end(p, &stages);
    return p;
}

atomic_ullong query_scan_from_rollups, query_scan_from_raw;

int
query_scan(store_t *st, const char *site_id, struct scan *s, struct app_err *err)
{
    struct reader rd = {.s = s};
    struct outside o = {.ids = NULL};
    struct dbread q = {.kind = DBREAD_AGGREGATE,
                       .collection = STORE_EVENTS_COLLECTION,
                       .what = "mongodb scan",
                       .each = each_event,
                       .arg = &rd};
    bson_t *pipeline = NULL;
    int rc = -1;

    /* A visit's dimensions only: from their rollups, when they hold the range. */
    if (scan_by_dims(s) && (rc = query_dims(st, site_id, s, err)) != 0) {
        if (rc > 0) {
            atomic_fetch_add(&query_scan_from_rollups, 1);
        }
        return rc < 0 ? -1 : 0;
    }
    atomic_fetch_add(&query_scan_from_raw, 1);
    rc = -1;
    for (int i = 0; i <= FILTER_SLOTS; i++) {
        const struct filter_dimension *d = i < s->fs->n                             ? &s->fs->f[i].d
                                           : i == SCAN_BY && s->mode == SCAN_VALUES ? &s->by
                                                                                    : NULL;
        rd.slot_dim[i] = d != NULL ? d->dim : -1;
        rd.slot_key[i] = d != NULL ? d->key : NULL;
        rd.hosts |= d != NULL && d->dim == FILTER_REFERRER;
    }
    if (needs_pages(s)) {
        if ((o.ids = bson_new()) == NULL) {
            err_set(err, ERR_INTERNAL, "out of memory");
            goto done;
        }
        if (read_outside(st, site_id, range_raw_from(&s->range), s->end_ms, &o, err) != 0) {
            goto done;
        }
    }
    pipeline = scan_pipeline(site_id, s, o.ids);
    q.query = pipeline;
    if (dbread_run(st, &q, err) != 0 || flush(&rd, err) != 0) {
        goto done;
    }
    rc = 0;
done:
    drop(&rd);
    free(rd.held);
    free(rd.ev);
    bson_destroy(o.ids);
    bson_destroy(pipeline);
    return rc;
}

int
query_scan_summary(store_t *st, const char *site_id, const struct day_range *r,
                   const struct filters *fs, struct summary *out, struct app_err *err)
{
    struct scan s;
    int rc;

    memset(out, 0, sizeof *out);
    if (scan_init(&s, fs, r, SCAN_ONE, 0, NULL) != 0) {
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    if ((rc = query_scan(st, site_id, &s, err)) == 0) {
        *out = s.rows[0].s;
    }
    scan_cleanup(&s);
    return rc;
}

int
query_scan_series(store_t *st, const char *site_id, const struct day_range *r, int64_t step_ms,
                  const struct filters *fs, struct series *ts, struct visit_series *vs,
                  struct app_err *err)
{
    struct scan s;
    int rc = -1;

    memset(vs, 0, sizeof *vs);
    if (series_init(ts, r, step_ms, err) != 0) {
        return -1;
    }
    vs->n = ts->n;
    vs->pageviews = calloc((size_t)vs->n, sizeof *vs->pageviews);
    vs->visits = calloc((size_t)vs->n, sizeof *vs->visits);
    vs->bounces = calloc((size_t)vs->n, sizeof *vs->bounces);
    vs->duration_ms = calloc((size_t)vs->n, sizeof *vs->duration_ms);
    if (scan_init(&s, fs, r, SCAN_BUCKETS, step_ms, NULL) != 0 || vs->pageviews == NULL ||
        vs->visits == NULL || vs->bounces == NULL || vs->duration_ms == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (query_scan(st, site_id, &s, err) != 0) {
        goto done;
    }
    for (int64_t i = 0; i < ts->n && (size_t)i < s.n_rows; i++) {
        const struct summary *b = &s.rows[i].s;
        ts->views[i] = b->events;
        ts->users[i] = b->visitors;
        vs->pageviews[i] = b->pageviews;
        vs->visits[i] = b->visits;
        vs->bounces[i] = b->bounces;
        vs->duration_ms[i] = b->duration_ms;
    }
    rc = 0;
done:
    scan_cleanup(&s);
    if (rc != 0) {
        series_clear(ts);
        visit_series_clear(vs);
    }
    return rc;
}
