/* export_render.c - GET /export: NDJSON lines and CSV records of events (pure). */
#include "export_render.h"

#include <string.h>

#include "event_doc.h"
#include "ts.h"

const char *const export_columns[] = {
    "id",
    "site_id",
    "event_type",
    "path",
    "user_id",
    "timestamp",
    "received_at",
    "client_timestamp",
    EVDOC_CREATED_AT,
    "delivery",
    "visitor_source",
    "country",
    "source",
    "medium",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device",
    "visit_id",
    "visit_seq",
    "visit_start",
    "properties",
};
const size_t export_n_columns = sizeof export_columns / sizeof export_columns[0];

/* Append the value at it: a date as its instant in quotes when quoted (JSON), bare when not
 * (CSV); anything else as JSON (jsontext_value()). */
static int
append_value(struct jsontext *t, const bson_iter_t *it, int quoted)
{
    char ts[TS_FORMAT_LEN + 2];

    if (BSON_ITER_HOLDS_DATE_TIME(it)) {
        ts_format(bson_iter_date_time(it), ts + 1);
        ts[0] = '"';
        ts[TS_FORMAT_LEN] = '"';
        return quoted ? jsontext_append(t, ts, TS_FORMAT_LEN + 1)
                      : jsontext_append(t, ts + 1, TS_FORMAT_LEN - 1);
    }
    return jsontext_value(t, it);
}

int
export_ndjson(struct jsontext *t, const bson_t *doc)
{
    bson_iter_t it;

    if (!bson_iter_init_find(&it, doc, EVDOC_ID) || !BSON_ITER_HOLDS_UTF8(&it) ||
        jsontext_append(t, "{\"id\":", 6) != 0 || jsontext_value(t, &it) != 0 ||
        !bson_iter_init(&it, doc)) {
        return -1;
    }
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        if (strcmp(key, EVDOC_ID) == 0) {
            continue;
        }
        if (jsontext_append(t, ",", 1) != 0 || jsontext_string(t, key, strlen(key)) != 0 ||
            jsontext_append(t, ":", 1) != 0 || append_value(t, &it, 1) != 0) {
            return -1;
        }
    }
    return jsontext_append(t, "}\n", 2);
}

int
export_csv_field(struct jsontext *t, const char *s, size_t n)
{
    size_t from = 0;

    if (n == 0 || strcspn(s, ",\"\r\n") >= n) {
        /* strcspn stops at a NUL too: a field with one is quoted, which is harmless. */
        return jsontext_append(t, s, n);
    }
    if (jsontext_append(t, "\"", 1) != 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            if (jsontext_append(t, s + from, i + 1 - from) != 0) {
                return -1;
            }
            from = i; /* the quote again, doubled */
        }
    }
    return jsontext_append(t, s + from, n - from) != 0 ? -1 : jsontext_append(t, "\"", 1);
}

int
export_csv_header(struct jsontext *t)
{
    for (size_t c = 0; c < export_n_columns; c++) {
        if ((c > 0 && jsontext_append(t, ",", 1) != 0) ||
            export_csv_field(t, export_columns[c], strlen(export_columns[c])) != 0) {
            return -1;
        }
    }
    return jsontext_append(t, "\r\n", 2);
}

int
export_csv_record(struct jsontext *t, const bson_t *doc)
{
    struct jsontext cell = {0};
    bson_iter_t it;
    int rc = 0;

    if (!bson_iter_init_find(&it, doc, EVDOC_ID) || !BSON_ITER_HOLDS_UTF8(&it)) {
        return -1;
    }
    for (size_t c = 0; rc == 0 && c < export_n_columns; c++) {
        const char *field = c == 0 ? EVDOC_ID : export_columns[c];
        uint32_t len;
        if (c > 0 && jsontext_append(t, ",", 1) != 0) {
            rc = -1;
        } else if (!bson_iter_init_find(&it, doc, field) || BSON_ITER_HOLDS_NULL(&it)) {
            continue; /* an empty cell */
        } else if (BSON_ITER_HOLDS_UTF8(&it)) {
            const char *s = bson_iter_utf8(&it, &len);
            rc = export_csv_field(t, s, len);
        } else {
            cell.len = 0;
            rc = append_value(&cell, &it, 0) != 0 ? -1 : export_csv_field(t, cell.s, cell.len);
        }
    }
    jsontext_free(&cell);
    return rc != 0 ? -1 : jsontext_append(t, "\r\n", 2);
}
