/* export_plan.c - GET /export: parameters, cursor, Accept-Encoding, query, file name (pure). */
#include "export_plan.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "event_doc.h"
#include "params.h"
#include "text.h"
#include "ts.h"

/* Whether value v[0..len) of parameter `name` is one of two words: 0 for a, 1 for b (or
 * absent: 0), -1 for anything else. */
static int
one_of(const char *qs, const char *name, const char *a, const char *b)
{
    char v[8];
    int len = reporting_param(qs, name, v, sizeof v - 1);

    if (len == 0 || (len > 0 && strcmp(v, a) == 0)) {
        return 0;
    }
    return len > 0 && strcmp(v, b) == 0 ? 1 : -1;
}

int
export_parse(const char *qs, const struct sitetz *tzs, struct export_query *q, char *msg,
             size_t msglen)
{
    char date[16], from[16], to[16], cursor[EXPORT_CURSOR_MAX + 1];
    int site_len, date_len, from_len, to_len, cursor_len, format, order;
    const char *bad;

    memset(q, 0, sizeof *q);
    site_len = reporting_param(qs, "site_id", q->site_id, EVENT_SITE_ID_MAX);
    date_len = reporting_param(qs, "date", date, 10);
    from_len = reporting_param(qs, "from", from, 10);
    to_len = reporting_param(qs, "to", to, 10);
    if (site_len == 0 || (date_len == 0 && from_len == 0 && to_len == 0)) {
        snprintf(msg, msglen, "%s", EXPORT_MISSING);
        return -1;
    }
    if (site_len < 0) {
        snprintf(msg, msglen, "Parameter 'site_id' must be 1-%d bytes of UTF-8", EVENT_SITE_ID_MAX);
        return -1;
    }
    if ((bad = range_parse(date, date_len, from, from_len, to, to_len,
                           tzs != NULL ? sitetz_find(tzs, q->site_id) : NULL, &q->days)) != NULL) {
        snprintf(msg, msglen, "%s", bad);
        return -1;
    }
    if ((format = one_of(qs, "format", "ndjson", "csv")) < 0) {
        snprintf(msg, msglen, "%s", EXPORT_BAD_FORMAT);
        return -1;
    }
    if ((order = one_of(qs, "order", "asc", "desc")) < 0) {
        snprintf(msg, msglen, "%s", EXPORT_BAD_ORDER);
        return -1;
    }
    q->format = format == 1 ? EXPORT_CSV : EXPORT_NDJSON;
    q->desc = order;
    cursor_len = reporting_param(qs, "cursor", cursor, EXPORT_CURSOR_MAX);
    if (cursor_len < 0 || (cursor_len > 0 && export_cursor_parse(cursor, (size_t)cursor_len,
                                                                 &q->after_ms, q->after_id) != 0)) {
        snprintf(msg, msglen, "%s", EXPORT_BAD_CURSOR);
        return -1;
    }
    q->has_after = cursor_len > 0;
    return 0;
}

int
export_cursor_parse(const char *s, size_t len, int64_t *ms, char id[EVENT_DOC_ID_MAX + 1])
{
    const char *comma = memchr(s, ',', len);
    size_t ts_len, id_len;

    if (comma == NULL) {
        return -1;
    }
    ts_len = (size_t)(comma - s);
    id_len = len - ts_len - 1;
    if (ts_parse_rfc3339(s, ts_len, ms) != 0 || id_len == 0 || id_len > EVENT_DOC_ID_MAX ||
        memchr(comma + 1, '\0', id_len) != NULL || !text_is_utf8(comma + 1, id_len)) {
        return -1;
    }
    memcpy(id, comma + 1, id_len);
    id[id_len] = '\0';
    return 0;
}

/* The q of one coding's parameters p[0..n) (";q=0.5" and the like): 1 when above 0, 0 when
 * 0 or malformed. Without a q, 1. */
static int
q_positive(const char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        while (i < n && (p[i] == ';' || p[i] == ' ' || p[i] == '\t')) {
            i++;
        }
        if (i + 1 < n && (p[i] == 'q' || p[i] == 'Q') && p[i + 1] == '=') {
            /* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
            size_t j = i + 2, digits = 0;
            int nonzero;
            if (j >= n || (p[j] != '0' && p[j] != '1')) {
                return 0;
            }
            nonzero = p[j++] == '1';
            if (j < n && p[j] == '.') {
                for (j++; j < n && p[j] >= '0' && p[j] <= '9' && digits < 3; j++, digits++) {
                    nonzero |= p[j] != '0';
                }
            }
            while (j < n && (p[j] == ' ' || p[j] == '\t')) {
                j++;
            }
            return j == n || p[j] == ';' ? nonzero : 0;
        }
        while (i < n && p[i] != ';') { /* another parameter */
            i++;
        }
    }
    return 1;
}

int
export_accepts_gzip(const char *ae)
{
    int gzip = -1, any = -1; /* -1: not listed; else whether its q is above 0 */

    while (ae != NULL && *ae != '\0') {
        const char *end = strchr(ae, ',');
        size_t n = end != NULL ? (size_t)(end - ae) : strlen(ae);
        const char *s = ae, *e = ae + n, *semi;
        while (s < e && (*s == ' ' || *s == '\t')) {
            s++;
        }
        semi = memchr(s, ';', (size_t)(e - s));
        const char *ce = semi != NULL ? semi : e;
        while (ce > s && (ce[-1] == ' ' || ce[-1] == '\t')) {
            ce--;
        }
        int pos = q_positive(semi != NULL ? semi : e, semi != NULL ? (size_t)(e - semi) : 0);
        size_t cl = (size_t)(ce - s);
        if ((cl == 4 && strncasecmp(s, "gzip", 4) == 0) ||
            (cl == 6 && strncasecmp(s, "x-gzip", 6) == 0)) {
            gzip = gzip == 1 ? 1 : pos;
        } else if (cl == 1 && *s == '*') {
            any = pos;
        }
        ae = end != NULL ? end + 1 : NULL;
    }
    return gzip >= 0 ? gzip : any == 1;
}

bson_t *
export_pipeline(const struct export_query *q)
{
    const char *beyond = q->desc ? "$lt" : "$gt";
    int dir = q->desc ? -1 : 1;
    int64_t lo = q->days.from_ms, hi = q->days.end_ms;
    bson_t match = BSON_INITIALIZER, range, alts, clause, op;
    bson_t *p;

    if (q->has_after && !q->desc && q->after_ms > lo) {
        lo = q->after_ms;
    }
    if (q->has_after && q->desc && q->after_ms + 1 < hi) {
        hi = q->after_ms + 1;
    }
    /* Plain strings: a value is never read as an operator. */
    BSON_APPEND_UTF8(&match, EVDOC_SITE_ID, q->site_id);
    BSON_APPEND_DOCUMENT_BEGIN(&match, EVDOC_TIMESTAMP, &range);
    BSON_APPEND_DATE_TIME(&range, "$gte", lo);
    BSON_APPEND_DATE_TIME(&range, "$lt", hi);
    bson_append_document_end(&match, &range);
    if (q->has_after) {
        BSON_APPEND_ARRAY_BEGIN(&match, "$or", &alts);
        BSON_APPEND_DOCUMENT_BEGIN(&alts, "0", &clause);
        BSON_APPEND_DOCUMENT_BEGIN(&clause, EVDOC_TIMESTAMP, &op);
        BSON_APPEND_DATE_TIME(&op, beyond, q->after_ms);
        bson_append_document_end(&clause, &op);
        bson_append_document_end(&alts, &clause);
        BSON_APPEND_DOCUMENT_BEGIN(&alts, "1", &clause);
        BSON_APPEND_DATE_TIME(&clause, EVDOC_TIMESTAMP, q->after_ms);
        BSON_APPEND_DOCUMENT_BEGIN(&clause, EVDOC_ID, &op);
        BSON_APPEND_UTF8(&op, beyond, q->after_id);
        bson_append_document_end(&clause, &op);
        bson_append_document_end(&alts, &clause);
        bson_append_array_end(&match, &alts);
    }
    p = BCON_NEW("pipeline", "[", "{", "$match", BCON_DOCUMENT(&match), "}", "{", "$sort", "{",
                 EVDOC_TIMESTAMP, BCON_INT32(dir), EVDOC_ID, BCON_INT32(dir), "}", "}", "]");
    bson_destroy(&match);
    return p;
}

void
export_filename(const struct export_query *q, char out[48])
{
    char a[RANGE_DATE_LEN], b[RANGE_DATE_LEN];

    range_dates(&q->days, a, b);
    snprintf(out, 48, "events-%s-%s.%s", a, b, q->format == EXPORT_CSV ? "csv" : "ndjson");
}
