/* jsontext.c - JSON text in a growing buffer; BSON written into it as compact JSON. */
#include "jsontext.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
jsontext_append(struct jsontext *t, const char *data, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        char *s;
        while (cap < t->len + n + 1) {
            cap *= 2;
        }
        if ((s = realloc(t->s, cap)) == NULL) {
            return -1;
        }
        t->s = s;
        t->cap = cap;
    }
    memcpy(t->s + t->len, data, n);
    t->len += n;
    t->s[t->len] = '\0';
    return 0;
}

void
jsontext_free(struct jsontext *t)
{
    free(t->s);
    memset(t, 0, sizeof *t);
}

/* Append a jansson value as jansson writes it (taking v; NULL: out of memory). */
static int
append_json(struct jsontext *t, json_t *v)
{
    char *s = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    int rc = s != NULL ? jsontext_append(t, s, strlen(s)) : -1;

    free(s);
    json_decref(v);
    return rc;
}

/* A value of a type JSON has no word for: through its relaxed extended JSON. */
static int
append_other(struct jsontext *t, const bson_iter_t *it)
{
    bson_t one = BSON_INITIALIZER;
    char *s = NULL;
    json_t *v = NULL;
    int rc = -1;

    if (bson_append_iter(&one, "v", 1, it) &&
        (s = bson_as_relaxed_extended_json(&one, NULL)) != NULL &&
        (v = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)) != NULL) {
        rc = append_json(t, json_incref(json_object_get(v, "v")));
    }
    json_decref(v);
    bson_free(s);
    bson_destroy(&one);
    return rc;
}

/* The members of a document (keys too) or the elements of an array, from child (an
 * iterator before the first). */
static int
append_members(struct jsontext *t, bson_iter_t *child, int is_array)
{
    int first = 1;

    if (jsontext_append(t, is_array ? "[" : "{", 1) != 0) {
        return -1;
    }
    while (bson_iter_next(child)) {
        if ((!first && jsontext_append(t, ",", 1) != 0) ||
            (!is_array && (append_json(t, json_string(bson_iter_key(child))) != 0 ||
                           jsontext_append(t, ":", 1) != 0)) ||
            jsontext_value(t, child) != 0) {
            return -1;
        }
        first = 0;
    }
    return jsontext_append(t, is_array ? "]" : "}", 1);
}

int
jsontext_value(struct jsontext *t, const bson_iter_t *it)
{
    bson_iter_t child;
    char num[32];
    uint32_t len;
    const char *s;

    switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8:
        s = bson_iter_utf8(it, &len);
        return append_json(t, json_stringn(s, len));
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
        snprintf(num, sizeof num, "%lld", (long long)bson_iter_as_int64(it));
        return jsontext_append(t, num, strlen(num));
    case BSON_TYPE_DOUBLE:
        return append_json(t, json_real(bson_iter_double(it)));
    case BSON_TYPE_BOOL:
        return bson_iter_bool(it) ? jsontext_append(t, "true", 4) : jsontext_append(t, "false", 5);
    case BSON_TYPE_NULL:
        return jsontext_append(t, "null", 4);
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
        return bson_iter_recurse(it, &child)
                   ? append_members(t, &child, bson_iter_type(it) == BSON_TYPE_ARRAY)
                   : -1;
    default:
        return append_other(t, it);
    }
}

int
jsontext_bson(struct jsontext *t, const bson_t *doc)
{
    bson_iter_t it;

    return bson_iter_init(&it, doc) ? append_members(t, &it, 0) : -1;
}

int
jsontext_string(struct jsontext *t, const char *s, size_t n)
{
    return append_json(t, json_stringn(s, n));
}
