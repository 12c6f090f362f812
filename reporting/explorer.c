/* explorer.c - GET /events: parameters, cursor, filter and rendering (pure). */
#include "explorer.h"

#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "event_doc.h"
#include "hash.h"
#include "jsontext.h"
#include "params.h"
#include "range.h"
#include "text.h"
#include "ts.h"

/* Parse `from` or `to` (name) of length len into *ms: an instant as it is, a date as the
 * first instant of that day in zone z (NULL: UTC), or for `to` of the next one (the end of
 * that day). */
static int
parse_bound(const char *v, int len, int is_to, const struct tz *z, int64_t *ms)
{
    if (len == 10) {
        if (ts_parse_date(v, 10, ms) != 0) {
            return -1;
        }
        *ms = tz_day_start(z, *ms / TS_DAY_MS + (is_to ? 1 : 0));
        return 0;
    }
    return len > 0 && ts_parse_rfc3339(v, (size_t)len, ms) == 0 ? 0 : -1;
}

/* Read filter `name` (at most max bytes) into out; -1 with msg when it is bad. */
static int
filter_param(const char *qs, const char *name, char *out, size_t max, char *msg, size_t msglen)
{
    if (reporting_param(qs, name, out, max) < 0) {
        snprintf(msg, msglen, "Parameter '%s' must be 1-%zu bytes of UTF-8", name, max);
        return -1;
    }
    return 0;
}

int
explorer_parse(const char *qs, const struct sitetz *tzs, struct events_query *q, char *msg,
               size_t msglen)
{
    char from[64], to[64], limit[16], props[8], cursor[EXPLORER_CURSOR_MAX + 1];
    int site_len, from_len, to_len, limit_len, props_len, cursor_len, rc;

    memset(q, 0, sizeof *q);
    site_len = reporting_param(qs, "site_id", q->site_id, EVENT_SITE_ID_MAX);
    if (site_len == 0) {
        snprintf(msg, msglen, "%s", EXPLORER_MISSING_SITE);
        return -1;
    }
    if (site_len < 0) {
        snprintf(msg, msglen, "Parameter 'site_id' must be 1-%d bytes of UTF-8", EVENT_SITE_ID_MAX);
        return -1;
    }
    if (filters_read(qs, &q->filters, msg, msglen) != 0) {
        return -1;
    }
    for (int i = 0; i < q->filters.n; i++) {
        /* A page of events does not hold their visits whole. */
        if (FILTER_OF_PAGES(q->filters.f[i].d.dim)) {
            snprintf(msg, msglen, "Filter dimension '%s' does not apply to /events",
                     filter_dim_names[q->filters.f[i].d.dim]);
            return -1;
        }
    }
    if (filter_param(qs, "event_type", q->event_type, EVENT_TYPE_MAX, msg, msglen) != 0 ||
        filter_param(qs, "user_id", q->user_id, EVENT_USER_ID_MAX, msg, msglen) != 0 ||
        filter_param(qs, "path", q->path, EVENT_PATH_MAX, msg, msglen) != 0) {
        return -1;
    }
    q->from_ms = TS_MIN_MS;
    q->to_ms = TS_MAX_MS + 1;
    from_len = reporting_param(qs, "from", from, sizeof from - 1);
    to_len = reporting_param(qs, "to", to, sizeof to - 1);
    if (from_len != 0 &&
        parse_bound(from, from_len, 0, tzs != NULL ? sitetz_find(tzs, q->site_id) : NULL,
                    &q->from_ms) != 0) {
        snprintf(msg, msglen,
                 "Parameter 'from' must be an RFC 3339 instant (e.g. 2025-11-15T10:00:00Z) or "
                 "a date YYYY-MM-DD");
        return -1;
    }
    if (to_len != 0 && parse_bound(to, to_len, 1, tzs != NULL ? sitetz_find(tzs, q->site_id) : NULL,
                                   &q->to_ms) != 0) {
        snprintf(msg, msglen,
                 "Parameter 'to' must be an RFC 3339 instant (e.g. 2025-11-15T10:00:00Z) or a "
                 "date YYYY-MM-DD");
        return -1;
    }
    if (q->from_ms >= q->to_ms) {
        snprintf(msg, msglen, "%s", EXPLORER_FROM_AFTER_TO);
        return -1;
    }
    q->limit = EXPLORER_LIMIT_DEFAULT;
    limit_len = reporting_param(qs, "limit", limit, sizeof limit - 1);
    if (limit_len < 0 ||
        (limit_len > 0 && cfg_parse_long(limit, 1, EXPLORER_LIMIT_MAX, &q->limit) != 0)) {
        snprintf(msg, msglen, "%s", EXPLORER_BAD_LIMIT);
        return -1;
    }
    props_len = reporting_param(qs, "properties", props, 5);
    q->properties = props_len == 0 || (props_len == 4 && memcmp(props, "true", 4) == 0);
    if (props_len != 0 && !q->properties && (props_len != 5 || memcmp(props, "false", 5) != 0)) {
        snprintf(msg, msglen, "%s", EXPLORER_BAD_PROPERTIES);
        return -1;
    }
    cursor_len = reporting_param(qs, "cursor", cursor, EXPLORER_CURSOR_MAX);
    if (cursor_len < 0) {
        snprintf(msg, msglen, "%s", EXPLORER_BAD_CURSOR);
        return -1;
    }
    if (cursor_len > 0 && (rc = explorer_cursor_decode(cursor, (size_t)cursor_len, q)) != 0) {
        snprintf(msg, msglen, "%s", rc == -2 ? EXPLORER_OTHER_CURSOR : EXPLORER_BAD_CURSOR);
        return -1;
    }
    return 0;
}

/* --- the cursor ------------------------------------------------------------------------ */

uint64_t
explorer_filters_hash(const struct events_query *q)
{
    const char *fields[] = {q->site_id, q->event_type, q->user_id, q->path};
    uint64_t h = HASH_FNV1A_BASIS;
    unsigned char b[16];

    /* Each string with its NUL, so that the fields cannot run into each other. */
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        h = hash_fnv1a(h, fields[i], strlen(fields[i]) + 1);
    }
    for (int i = 0; i < q->filters.n; i++) {
        const struct filter *f = &q->filters.f[i];
        unsigned char dim_op[2] = {(unsigned char)f->d.dim, (unsigned char)f->op};
        h = hash_fnv1a(h, dim_op, sizeof dim_op);
        h = hash_fnv1a(h, f->d.key, strlen(f->d.key) + 1);
        h = hash_fnv1a(h, f->value, strlen(f->value) + 1);
    }
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)((uint64_t)q->from_ms >> (56 - 8 * i));
        b[8 + i] = (unsigned char)((uint64_t)q->to_ms >> (56 - 8 * i));
    }
    return hash_fnv1a(h, b, sizeof b);
}

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url of in[0..n) without padding into out (NUL-terminated). */
static void
b64url_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;

    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = B64URL[v >> 18];
        out[o++] = B64URL[(v >> 12) & 63];
        out[o++] = B64URL[(v >> 6) & 63];
        out[o++] = B64URL[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = B64URL[v >> 18];
        out[o++] = B64URL[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = B64URL[v >> 18];
        out[o++] = B64URL[(v >> 12) & 63];
        out[o++] = B64URL[(v >> 6) & 63];
    }
    out[o] = '\0';
}

/* Decode base64url s[0..len) (no padding) into out (room for len * 3 / 4 bytes). Returns
 * the decoded length, or -1 for a character outside the alphabet or a length of 4k + 1.
 * Leftover bits are not checked here: the caller compares a re-encoding. */
static long
b64url_decode(const char *s, size_t len, unsigned char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    long o = 0;

    if (len % 4 == 1) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        const char *p = s[i] != '\0' ? strchr(B64URL, s[i]) : NULL;
        if (p == NULL) {
            return -1;
        }
        acc = (acc << 6 | (uint32_t)(p - B64URL)) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return o;
}

void
explorer_cursor_encode(const struct events_query *q, int64_t ts_ms, const char *id,
                       char out[EXPLORER_CURSOR_MAX + 1])
{
    unsigned char raw[EXPLORER_CURSOR_FIXED + EVENT_DOC_ID_MAX];
    uint64_t h = explorer_filters_hash(q);
    size_t id_len = strnlen(id, EVENT_DOC_ID_MAX);

    raw[0] = 1;
    for (int i = 0; i < 8; i++) {
        raw[1 + i] = (unsigned char)((uint64_t)ts_ms >> (56 - 8 * i));
        raw[9 + i] = (unsigned char)(h >> (56 - 8 * i));
    }
    memcpy(raw + EXPLORER_CURSOR_FIXED, id, id_len);
    b64url_encode(raw, EXPLORER_CURSOR_FIXED + id_len, out);
}

int
explorer_cursor_decode(const char *s, size_t len, struct events_query *q)
{
    unsigned char raw[EXPLORER_CURSOR_MAX];
    char again[EXPLORER_CURSOR_MAX + 1];
    uint64_t ts = 0, h = 0;
    long n;
    size_t id_len;

    if (len > EXPLORER_CURSOR_MAX || (n = b64url_decode(s, len, raw)) < 0 ||
        n <= EXPLORER_CURSOR_FIXED || raw[0] != 1) {
        return -1;
    }
    id_len = (size_t)n - EXPLORER_CURSOR_FIXED;
    if (id_len > EVENT_DOC_ID_MAX ||
        !text_is_utf8((const char *)raw + EXPLORER_CURSOR_FIXED, id_len)) {
        return -1;
    }
    for (int i = 0; i < 8; i++) {
        ts = ts << 8 | raw[1 + i];
        h = h << 8 | raw[9 + i];
    }
    if ((int64_t)ts < TS_MIN_MS || (int64_t)ts > TS_MAX_MS) {
        return -1;
    }
    memcpy(q->after_id, raw + EXPLORER_CURSOR_FIXED, id_len);
    q->after_id[id_len] = '\0';
    /* Only the encoder's own output: the same bytes again, no stray bits. */
    b64url_encode(raw, (size_t)n, again);
    if (strlen(again) != len || memcmp(again, s, len) != 0) {
        return -1;
    }
    if (h != explorer_filters_hash(q)) {
        return -2;
    }
    q->after_ms = (int64_t)ts;
    q->has_after = 1;
    return 0;
}

/* --- the query ------------------------------------------------------------------------- */

bson_t *
explorer_filter(const struct events_query *q)
{
    bson_t *f = bson_new();
    bson_t range, alts, clause, lt;
    int64_t upper = q->to_ms;

    if (q->has_after && q->after_ms + 1 < upper) {
        upper = q->after_ms + 1;
    }
    /* Plain strings: a value is never read as an operator. */
    BSON_APPEND_UTF8(f, EVDOC_SITE_ID, q->site_id);
    BSON_APPEND_DOCUMENT_BEGIN(f, EVDOC_TIMESTAMP, &range);
    BSON_APPEND_DATE_TIME(&range, "$gte", q->from_ms);
    BSON_APPEND_DATE_TIME(&range, "$lt", upper);
    bson_append_document_end(f, &range);
    if (q->event_type[0] != '\0') {
        BSON_APPEND_UTF8(f, EVDOC_EVENT_TYPE, q->event_type);
    }
    if (q->user_id[0] != '\0') {
        BSON_APPEND_UTF8(f, EVDOC_USER_ID, q->user_id);
    }
    if (q->path[0] != '\0') {
        BSON_APPEND_UTF8(f, EVDOC_PATH, q->path);
    }
    if (q->has_after) {
        /* (timestamp < after) or (timestamp == after and _id < after_id): each branch
         * has tight bounds on the index {site_id, timestamp, _id}. */
        BSON_APPEND_ARRAY_BEGIN(f, "$or", &alts);
        BSON_APPEND_DOCUMENT_BEGIN(&alts, "0", &clause);
        BSON_APPEND_DOCUMENT_BEGIN(&clause, EVDOC_TIMESTAMP, &lt);
        BSON_APPEND_DATE_TIME(&lt, "$lt", q->after_ms);
        bson_append_document_end(&clause, &lt);
        bson_append_document_end(&alts, &clause);
        BSON_APPEND_DOCUMENT_BEGIN(&alts, "1", &clause);
        BSON_APPEND_DATE_TIME(&clause, EVDOC_TIMESTAMP, q->after_ms);
        BSON_APPEND_DOCUMENT_BEGIN(&clause, EVDOC_ID, &lt);
        BSON_APPEND_UTF8(&lt, "$lt", q->after_id);
        bson_append_document_end(&clause, &lt);
        bson_append_document_end(&alts, &clause);
        bson_append_array_end(f, &alts);
    }
    return f;
}

bson_t *
explorer_pipeline(const struct events_query *q)
{
    bson_t *filter = explorer_filter(q), *p;
    bson_t project = BSON_INITIALIZER;
    int props = 0; /* a filter reads the properties (a property, the referrer) */

    for (int i = 0; i < q->filters.n; i++) {
        props |= q->filters.f[i].d.dim == FILTER_PROP || q->filters.f[i].d.dim == FILTER_REFERRER;
    }

    BSON_APPEND_INT32(&project, EVDOC_CREATED_AT, 0);
    BSON_APPEND_INT32(&project, EVDOC_DELIVERY, 0);
    BSON_APPEND_INT32(&project, "own", 0);
    if (!q->properties && !props) {
        BSON_APPEND_INT32(&project, EVDOC_PROPERTIES, 0);
    }
    /* With filters the page reads on until limit + 1 events passed them (events.c): no
     * $limit. */
    p = q->filters.n > 0
            ? BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(filter), "}", "{", "$sort",
                       "{", EVDOC_TIMESTAMP, BCON_INT32(-1), EVDOC_ID, BCON_INT32(-1), "}", "}",
                       "{", "$project", BCON_DOCUMENT(&project), "}", "]")
            : BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(filter), "}", "{", "$sort",
                       "{", EVDOC_TIMESTAMP, BCON_INT32(-1), EVDOC_ID, BCON_INT32(-1), "}", "}",
                       "{", "$limit", BCON_INT64(q->limit + 1), "}", "{", "$project",
                       BCON_DOCUMENT(&project), "}", "]");
    bson_destroy(&project);
    bson_destroy(filter);
    return p;
}

int
explorer_page_fits(long n, size_t used, size_t len)
{
    /* used + ',' + len <= EXPLORER_PAGE_BYTES, without overflow. */
    return n == 0 || (used < EXPLORER_PAGE_BYTES && len < EXPLORER_PAGE_BYTES - used);
}

uint32_t
explorer_batch(const struct events_query *q, long n, size_t used, size_t largest)
{
    uint32_t most = q->properties ? EXPLORER_BATCH_PROPS : EXPLORER_BATCH_BARE;
    /* With filters, an event read may not be kept: the batch is not cut to what is needed. */
    long need = q->filters.n > 0 ? (long)most : q->limit + 1 - n;

    if (need < 1) {
        need = 1;
    }
    if ((long)most > need) {
        most = (uint32_t)need;
    }
    if (largest == 0) {
        return q->properties && most > 8 ? 8 : most;
    }
    return range_batch(used < EXPLORER_PAGE_BYTES ? EXPLORER_PAGE_BYTES - used : 0, largest, most);
}

/* Set key to the date at field of doc as YYYY-MM-DDTHH:MM:SS.mmmZ; nothing when absent. */
static int
render_date(json_t *ev, const char *key, const bson_t *doc, const char *field, int64_t *ms)
{
    bson_iter_t it;
    char buf[TS_FORMAT_LEN];

    if (!bson_iter_init_find(&it, doc, field) || !BSON_ITER_HOLDS_DATE_TIME(&it)) {
        return 0;
    }
    *ms = bson_iter_date_time(&it);
    ts_format(*ms, buf);
    return json_object_set_new(ev, key, json_string(buf));
}

/* Set key to the string at field of doc, or null when it is not a string. */
static int
render_string(json_t *ev, const char *key, const bson_t *doc, const char *field)
{
    bson_iter_t it;

    if (bson_iter_init_find(&it, doc, field) && BSON_ITER_HOLDS_UTF8(&it)) {
        uint32_t len;
        const char *s = bson_iter_utf8(&it, &len);
        return json_object_set_new(ev, key, json_stringn(s, len));
    }
    return json_object_set_new(ev, key, json_null());
}

/* Append ,"properties":{...} (the document at EVDOC_PROPERTIES, when there is one). */
static int
render_properties(struct jsontext *t, const bson_t *doc)
{
    bson_iter_t it;
    const uint8_t *data;
    uint32_t len;
    bson_t props;
    static const char key[] = ",\"properties\":";

    if (!bson_iter_init_find(&it, doc, EVDOC_PROPERTIES) || !BSON_ITER_HOLDS_DOCUMENT(&it)) {
        return 0;
    }
    bson_iter_document(&it, &len, &data);
    return bson_init_static(&props, data, len) && jsontext_append(t, key, sizeof key - 1) == 0 &&
                   jsontext_bson(t, &props) == 0
               ? 0
               : -1;
}

/* The attribution's fields, rendered under their stored names. */
static const char *const attr_names[] = EVDOC_ATTR_NAMES;
/* The device's members of a document (ingest/ua.h), shown under the same names. */
static const char *const device_docs[] = {EVDOC_BROWSER, EVDOC_BROWSER_VERSION, EVDOC_OS,
                                          EVDOC_OS_VERSION, EVDOC_DEVICE};

char *
explorer_render(const bson_t *doc, int with_properties, size_t *len)
{
    struct jsontext t = {0};
    bson_iter_t it;
    json_t *ev;
    char *head = NULL;
    int64_t ms = 0;
    int bad = 0;

    if (!bson_iter_init_find(&it, doc, EVDOC_ID) || !BSON_ITER_HOLDS_UTF8(&it) ||
        !bson_iter_init_find(&it, doc, EVDOC_TIMESTAMP) || !BSON_ITER_HOLDS_DATE_TIME(&it) ||
        (ev = json_object()) == NULL) {
        return NULL;
    }
    bad |= render_string(ev, "id", doc, EVDOC_ID);
    bad |= render_string(ev, "site_id", doc, EVDOC_SITE_ID);
    bad |= render_string(ev, "event_type", doc, EVDOC_EVENT_TYPE);
    bad |= render_string(ev, "path", doc, EVDOC_PATH);
    bad |= render_string(ev, "user_id", doc, EVDOC_USER_ID);
    if (bson_iter_init_find(&it, doc, EVDOC_VISITOR_SOURCE)) { /* absent in older documents */
        bad |= render_string(ev, "visitor_source", doc, EVDOC_VISITOR_SOURCE);
    }
    if (bson_iter_init_find(&it, doc, EVDOC_COUNTRY)) { /* absent when unknown */
        bad |= render_string(ev, "country", doc, EVDOC_COUNTRY);
    }
    for (size_t k = 0; k < sizeof attr_names / sizeof attr_names[0]; k++) {
        if (bson_iter_init_find(&it, doc, attr_names[k])) { /* page views only */
            bad |= render_string(ev, attr_names[k], doc, attr_names[k]);
        }
    }
    for (size_t i = 0; i < sizeof device_docs / sizeof device_docs[0]; i++) { /* when known */
        if (bson_iter_init_find(&it, doc, device_docs[i])) {
            bad |= render_string(ev, device_docs[i], doc, device_docs[i]);
        }
    }
    bad |= render_date(ev, "timestamp", doc, EVDOC_TIMESTAMP, &ms);
    bad |= render_date(ev, "received_at", doc, EVDOC_RECEIVED_AT, &ms);
    bad |= render_date(ev, "client_timestamp", doc, EVDOC_CLIENT_TIMESTAMP, &ms);
    /* Its visit (absent in documents stored before visits, and without a user_id). */
    if (bson_iter_init_find(&it, doc, EVDOC_VISIT_ID)) {
        bad |= render_string(ev, "visit_id", doc, EVDOC_VISIT_ID);
    }
    if (bson_iter_init_find(&it, doc, EVDOC_VISIT_SEQ) && BSON_ITER_HOLDS_INT(&it)) {
        bad |= json_object_set_new(ev, "visit_seq", json_integer(bson_iter_as_int64(&it))) != 0;
    }
    /* The small fields through jansson; the properties written after them, closing the
     * object again: "{...}" becomes "{...,"properties":{...}}". */
    bad |= (head = json_dumps(ev, JSON_COMPACT)) == NULL ||
           jsontext_append(&t, head, strlen(head) - 1) != 0 ||
           (with_properties && render_properties(&t, doc) != 0) || jsontext_append(&t, "}", 1) != 0;
    free(head);
    json_decref(ev);
    if (bad) {
        jsontext_free(&t);
        return NULL;
    }
    *len = t.len;
    return t.s;
}
