/* jsontext.h - JSON text in a growing buffer, and a BSON document written into one as
 * compact JSON without building a tree: how GET /events renders a page of events within a
 * bounded memory (a jansson tree of an event's properties takes several times their size). */
#ifndef REPORTING_JSONTEXT_H
#define REPORTING_JSONTEXT_H

#include <bson/bson.h>
#include <stddef.h>

/* A growing buffer of text; zero-initialised, it is empty. s is NUL-terminated once
 * anything has been appended. */
struct jsontext {
    char *s; /* owned */
    size_t len, cap;
};

/* Append data[0..n). Returns 0, or -1 out of memory (t unchanged). */
int jsontext_append(struct jsontext *t, const char *data, size_t n);

/* Free t's text and empty it. */
void jsontext_free(struct jsontext *t);

/* Append doc as a compact JSON object: the bytes jansson's json_dumps(JSON_COMPACT) writes
 * for the value parsed from doc's relaxed extended JSON (what /events showed when it built
 * a tree), so strings, numbers, booleans, null, documents and arrays (the types a document
 * stored from JSON holds) are written directly, and any other BSON type as its relaxed
 * extended JSON. Returns 0, or -1 when out of memory or a string is not UTF-8 (t then holds
 * part of the text: the caller drops it). */
int jsontext_bson(struct jsontext *t, const bson_t *doc);

/* Append the value at it as jsontext_bson() writes a member's value. Returns 0, or -1 (as
 * jsontext_bson()). */
int jsontext_value(struct jsontext *t, const bson_iter_t *it);

/* Append s[0..n) as a JSON string. Returns 0, or -1 when out of memory or s is not UTF-8. */
int jsontext_string(struct jsontext *t, const char *s, size_t n);

#endif
