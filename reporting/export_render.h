/* export_render.h - GET /export: an event's document as one NDJSON line or one CSV record,
 * and the CSV's header and quoting. Pure functions.
 *
 * NDJSON keeps every stored field, so that a line can be stored again as it was: "id" (the
 * _id) first, then every other field under its stored name in its stored order; dates
 * (EXPORT_DATE_FIELDS) as RFC 3339 instants with milliseconds, strings, numbers, null and
 * documents as JSON. CSV has one column per field of EXPORT_COLUMNS (every stored field but
 * the processor's bookkeeping "own"), the same values, `properties` as compact JSON, and an
 * empty cell for a field that is absent or null. */
#ifndef REPORTING_EXPORT_RENDER_H
#define REPORTING_EXPORT_RENDER_H

#include <bson/bson.h>
#include <stddef.h>

#include "jsontext.h"

/* The stored date fields, which a line writes as YYYY-MM-DDTHH:MM:SS.mmmZ (docs/api.md). */
#define EXPORT_DATE_FIELDS "timestamp, received_at, client_timestamp, createdAt, visit_start"

/* The CSV's columns, in order (the header row). */
extern const char *const export_columns[];
extern const size_t export_n_columns;

/* Append doc as one NDJSON line ("{...}\n"). Returns 0, or -1 when doc has no string _id or
 * holds a string that is not UTF-8, or out of memory (t then holds part of the line: the
 * caller drops it). */
int export_ndjson(struct jsontext *t, const bson_t *doc);

/* Append the CSV's header row (the column names, CRLF). Returns 0, or -1 out of memory. */
int export_csv_header(struct jsontext *t);

/* Append doc as one CSV record (CRLF-terminated). Returns 0, or -1 when doc has no string
 * _id, a value other than a string does not render (jsontext_value()), or out of memory. */
int export_csv_record(struct jsontext *t, const bson_t *doc);

/* Append s[0..n) as one CSV field (RFC 4180): as it is, or, when it holds a ',', a '"', a
 * CR or a LF, between double quotes with each '"' doubled. Returns 0, or -1 out of memory. */
int export_csv_field(struct jsontext *t, const char *s, size_t n);

#endif
