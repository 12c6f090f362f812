/* goals_plan.c - GET /stats/goals's parameters, aggregation and rows (goals_plan.h). */
#include "goals_plan.h"

#include <stdlib.h>
#include <string.h>

#include "event_doc.h"
#include "filter.h"
#include "ts.h"

/* The tracker's own types: every other type is a goal. */
static const char *const builtin[] = {"page_view", "click", "scroll", "mousemove", "form"};
#define N_BUILTIN (sizeof builtin / sizeof builtin[0])

int
goals_builtin(const char *t)
{
    for (size_t i = 0; i < N_BUILTIN; i++) {
        if (strcmp(t, builtin[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *
goals_params(const char *goal, int goal_len, const char *by, int by_len,
             char key[GOALS_KEY_MAX + 1])
{
    struct filter_dimension d;

    key[0] = '\0';
    if (goal_len < 0) {
        return GOALS_ERR_GOAL;
    }
    if (goal_len > 0 && goals_builtin(goal)) {
        return GOALS_ERR_BUILTIN;
    }
    if (by_len == 0) {
        return NULL;
    }
    /* A property key as the filters take it (filter.h): never a '$' or '.', so
     * properties.<key> is one field of properties, never an operator or a path. */
    if (by_len < 0 || filter_dimension_parse(by, (size_t)by_len, &d) != 0 || d.dim != FILTER_PROP) {
        return GOALS_ERR_BY;
    }
    if (goal_len == 0) {
        return GOALS_ERR_BY_GOAL;
    }
    memcpy(key, d.key, strlen(d.key) + 1);
    return NULL;
}

/* Append the stages {$sort: {_id: 1}} and {$limit: GOALS_VALUES_MAX + 1} to the facet arr,
 * as its stages i and i + 1: one row past the most says there are too many. */
static void
append_cap(bson_t *arr, int i)
{
    char a[8], b[8];

    bson_snprintf(a, sizeof a, "%d", i);
    bson_snprintf(b, sizeof b, "%d", i + 1);
    BCON_APPEND(arr, a, "{", "$sort", "{", "_id", BCON_INT32(1), "}", "}");
    BCON_APPEND(arr, b, "{", "$limit", BCON_INT32(GOALS_VALUES_MAX + 1), "}");
}

/* The first stage's filter: the site and the range (index {site_id, timestamp}), and the
 * types (goal's, or every custom one). Filters on other fields go here too. */
static bson_t *
goals_match(const char *site_id, const struct day_range *r, const char *goal)
{
    bson_t *m = BCON_NEW(EVDOC_SITE_ID, BCON_UTF8(site_id), EVDOC_TIMESTAMP, "{", "$gte",
                         BCON_DATE_TIME(range_raw_from(r)), "$lt", BCON_DATE_TIME(r->end_ms), "}");
    bson_t nin, arr;

    if (goal != NULL) {
        BSON_APPEND_UTF8(m, EVDOC_EVENT_TYPE, goal);
        return m;
    }
    bson_append_document_begin(m, EVDOC_EVENT_TYPE, -1, &nin);
    bson_append_array_begin(&nin, "$nin", -1, &arr);
    for (size_t i = 0; i < N_BUILTIN; i++) {
        char k[4];
        bson_snprintf(k, sizeof k, "%zu", i);
        BSON_APPEND_UTF8(&arr, k, builtin[i]);
    }
    bson_append_array_end(&nin, &arr);
    bson_append_document_end(m, &nin);
    return m;
}

bson_t *
goals_pipeline(const char *site_id, const struct day_range *r, const char *goal, const char *key)
{
    int by_prop = goal != NULL && key != NULL && key[0] != '\0';
    char field[16 + GOALS_KEY_MAX], ref[17 + GOALS_KEY_MAX];
    bson_t *p = bson_new(), *match = goals_match(site_id, r, goal);
    bson_t stages, stage, facet, arr;

    /* What a row is named by: the type, or the value of the property. The test server takes
     * only a field path as a $group's _id, so a visitor's values are gathered with $addToSet
     * and unwound rather than grouped by {value, user}. */
    bson_snprintf(field, sizeof field, "%s", EVDOC_EVENT_TYPE);
    if (by_prop) {
        bson_snprintf(field, sizeof field, "%s.%s", EVDOC_PROPERTIES, key);
    }
    bson_snprintf(ref, sizeof ref, "$%s", field);

    bson_append_array_begin(p, "pipeline", -1, &stages);
    BCON_APPEND(&stages, "0", "{", "$match", BCON_DOCUMENT(match), "}");
    bson_destroy(match);
    bson_append_document_begin(&stages, "1", -1, &stage);
    bson_append_document_begin(&stage, "$facet", -1, &facet);

    /* A property's values: non-empty strings ({$gt: ""}, type bracketing); the others are
     * (none)'s. */
    bson_append_array_begin(&facet, "events", -1, &arr);
    BCON_APPEND(&arr, "0", "{", "$match", "{", field, "{", "$gt", BCON_UTF8(""), "}", "}", "}");
    BCON_APPEND(&arr, "1", "{", "$group", "{", "_id", BCON_UTF8(ref), "n", "{", "$sum",
                BCON_INT32(1), "}", "}", "}");
    append_cap(&arr, 2);
    bson_append_array_end(&facet, &arr);

    bson_append_array_begin(&facet, "visitors", -1, &arr);
    BCON_APPEND(&arr, "0", "{", "$match", "{", EVDOC_USER_ID, "{", "$gt", BCON_UTF8(""), "}", field,
                "{", "$gt", BCON_UTF8(""), "}", "}", "}");
    BCON_APPEND(&arr, "1", "{", "$group", "{", "_id", BCON_UTF8("$" EVDOC_USER_ID), "v", "{",
                "$addToSet", BCON_UTF8(ref), "}", "}", "}");
    BCON_APPEND(&arr, "2", "{", "$unwind", BCON_UTF8("$v"), "}");
    BCON_APPEND(&arr, "3", "{", "$group", "{", "_id", BCON_UTF8("$v"), "n", "{", "$sum",
                BCON_INT32(1), "}", "}", "}");
    append_cap(&arr, 4);
    bson_append_array_end(&facet, &arr);

    if (by_prop) {
        bson_append_array_begin(&facet, "none_events", -1, &arr);
        BCON_APPEND(&arr, "0", "{", "$match", "{", field, "{", "$not", "{", "$gt", BCON_UTF8(""),
                    "}", "}", "}", "}");
        BCON_APPEND(&arr, "1", "{", "$count", BCON_UTF8("n"), "}");
        bson_append_array_end(&facet, &arr);

        bson_append_array_begin(&facet, "none_visitors", -1, &arr);
        BCON_APPEND(&arr, "0", "{", "$match", "{", EVDOC_USER_ID, "{", "$gt", BCON_UTF8(""), "}",
                    field, "{", "$not", "{", "$gt", BCON_UTF8(""), "}", "}", "}", "}");
        BCON_APPEND(&arr, "1", "{", "$group", "{", "_id", BCON_UTF8("$" EVDOC_USER_ID), "}", "}");
        BCON_APPEND(&arr, "2", "{", "$count", BCON_UTF8("n"), "}");
        bson_append_array_end(&facet, &arr);
    }
    bson_append_document_end(&stage, &facet);
    bson_append_document_end(&stages, &stage);
    bson_append_array_end(p, &stages);
    return p;
}

void
goal_rows_clear(struct goal_rows *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->rows[i].name);
    }
    free(g->rows);
    memset(g, 0, sizeof *g);
}

/* Add a row of name with its events. Returns 0, or -1 out of memory. */
static int
add_row(struct goal_rows *g, const char *name, int64_t events)
{
    char *copy = strdup(name);

    if (copy == NULL) {
        return -1;
    }
    g->rows[g->n++] = (struct goal_row){copy, 0, events};
    return 0;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(((const struct goal_row *)a)->name, ((const struct goal_row *)b)->name);
}

/* The facet array `name` of doc in *it. Returns 0, or -1 when doc has none. */
static int
facet(const bson_t *doc, const char *name, bson_iter_t *it)
{
    bson_iter_t f;

    return bson_iter_init_find(&f, doc, name) && BSON_ITER_HOLDS_ARRAY(&f) &&
                   bson_iter_recurse(&f, it)
               ? 0
               : -1;
}

/* The count of a facet's [{n}] ([]: 0). */
static int64_t
facet_count(const bson_t *doc, const char *name)
{
    bson_iter_t it, in;

    if (facet(doc, name, &it) != 0 || !bson_iter_next(&it) || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
        !bson_iter_recurse(&it, &in) || !bson_iter_find(&in, "n") || !BSON_ITER_HOLDS_NUMBER(&in)) {
        return 0;
    }
    return bson_iter_as_int64(&in);
}

/* Call each({_id, n}'s name, n) for each row of facet `name` with a string _id, counting them
 * in *rows. Returns 0, 1 past GOALS_VALUES_MAX rows, or -1 when each failed. */
static int
facet_rows(const bson_t *doc, const char *name, size_t *rows,
           int (*each)(struct goal_rows *, const char *, int64_t), struct goal_rows *g)
{
    bson_iter_t it, in;

    *rows = 0;
    if (facet(doc, name, &it) != 0) {
        return 0;
    }
    while (bson_iter_next(&it)) {
        const char *id = NULL;
        int64_t n = 0;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &in)) {
            continue;
        }
        while (bson_iter_next(&in)) {
            if (strcmp(bson_iter_key(&in), "_id") == 0 && BSON_ITER_HOLDS_UTF8(&in)) {
                id = bson_iter_utf8(&in, NULL);
            } else if (strcmp(bson_iter_key(&in), "n") == 0 && BSON_ITER_HOLDS_NUMBER(&in)) {
                n = bson_iter_as_int64(&in);
            }
        }
        if (id == NULL) {
            continue;
        }
        if (++*rows > GOALS_VALUES_MAX) {
            return 1;
        }
        if (each(g, id, n) != 0) {
            return -1;
        }
    }
    return 0;
}

/* A row of "visitors": its converted visitors, on the row of the same name (rows sorted by
 * name). */
static int
set_visitors(struct goal_rows *g, const char *name, int64_t n)
{
    struct goal_row k = {.name = (char *)name};
    struct goal_row *row = bsearch(&k, g->rows, g->n, sizeof *g->rows, by_name);

    if (row != NULL) {
        row->visitors = n;
    }
    return 0;
}

int
goal_rows_of(const bson_t *doc, int none, struct goal_rows *out)
{
    int64_t none_events = none ? facet_count(doc, "none_events") : 0;
    size_t rows;
    int rc;

    memset(out, 0, sizeof *out);
    out->rows = malloc((GOALS_VALUES_MAX + 1) * sizeof *out->rows);
    if (out->rows == NULL) {
        return -1;
    }
    rc = facet_rows(doc, "events", &rows, add_row, out);
    if (rc == 0) {
        qsort(out->rows, out->n, sizeof *out->rows, by_name);
        rc = facet_rows(doc, "visitors", &rows, set_visitors, out);
    }
    if (rc == 0 && none_events > 0) {
        if ((rc = add_row(out, GOALS_NONE, none_events)) == 0) {
            out->rows[out->n - 1].visitors = facet_count(doc, "none_visitors");
        }
    }
    if (rc != 0) {
        goal_rows_clear(out);
    }
    return rc;
}

/* Most visitors first, then most events, then by name. */
static int
by_rank(const void *a, const void *b)
{
    const struct goal_row *x = a, *y = b;

    if (x->visitors != y->visitors) {
        return x->visitors > y->visitors ? -1 : 1;
    }
    if (x->events != y->events) {
        return x->events > y->events ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

void
goal_rows_rank(struct goal_rows *g, size_t limit)
{
    if (g->n > 1) {
        qsort(g->rows, g->n, sizeof *g->rows, by_rank);
    }
    while (g->n > limit) {
        free(g->rows[--g->n].name);
    }
}

double
goals_rate(int64_t converted, int64_t visitors)
{
    return visitors > 0 ? 100.0 * (double)converted / (double)visitors : 0;
}
