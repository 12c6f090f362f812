/* funnel_plan.c - GET /stats/funnel's parameter, aggregation and step matching
 * (funnel_plan.h). */
#include "funnel_plan.h"

#include <stdlib.h>
#include <string.h>

#include "event_doc.h"
#include "ts.h"

#define PAGE_VIEW "page_view"

static const char *const prefixes[] = {"path:", "event:"};

int
funnel_parse(const char *steps, int len, struct funnel *f, char *msg, size_t msgsz)
{
    size_t n = 1;
    const char *p;

    memset(f, 0, sizeof *f);
    if (len == 0) {
        bson_snprintf(msg, msgsz, "%s", FUNNEL_ERR_MISSING);
        return -1;
    }
    if (len < 0) {
        bson_snprintf(msg, msgsz, "%s", FUNNEL_ERR_PARAM);
        return -1;
    }
    for (p = steps; (p = strchr(p, ',')) != NULL; p++) {
        n++;
    }
    if (n < FUNNEL_STEPS_MIN || n > FUNNEL_STEPS_MAX) {
        bson_snprintf(msg, msgsz,
                      "Parameter 'steps' must list %d to %d steps, comma-separated; it has %zu",
                      FUNNEL_STEPS_MIN, FUNNEL_STEPS_MAX, n);
        return -1;
    }
    p = steps;
    for (size_t i = 0; i < n; i++) {
        const char *end = strchr(p, ',');
        size_t plen, vlen = 0;
        int kind = -1;

        if (end == NULL) {
            end = p + strlen(p);
        }
        for (int k = 0; k < 2 && kind < 0; k++) {
            plen = strlen(prefixes[k]);
            if ((size_t)(end - p) >= plen && memcmp(p, prefixes[k], plen) == 0) {
                kind = k;
                vlen = (size_t)(end - p) - plen;
                p += plen;
            }
        }
        if (kind < 0) {
            bson_snprintf(msg, msgsz,
                          "Parameter 'steps': step %zu must be path:<path> or event:<event_type>",
                          i + 1);
            return -1;
        }
        if (vlen == 0) {
            bson_snprintf(msg, msgsz, "Parameter 'steps': step %zu has an empty value", i + 1);
            return -1;
        }
        if (vlen > FUNNEL_VALUE_MAX) {
            bson_snprintf(msg, msgsz, "Parameter 'steps': step %zu is longer than %d bytes", i + 1,
                          FUNNEL_VALUE_MAX);
            return -1;
        }
        f->steps[i].kind = kind == 0 ? FUNNEL_PATH : FUNNEL_EVENT;
        memcpy(f->steps[i].value, p, vlen);
        f->steps[i].value[vlen] = '\0';
        p = end + 1;
    }
    f->n = n;
    return 0;
}

char *
funnel_step_name(const struct funnel_step *s, char *out, size_t outsz)
{
    bson_snprintf(out, outsz, "%s%s", prefixes[s->kind == FUNNEL_PATH ? 0 : 1], s->value);
    return out;
}

int
funnel_step_match(const struct funnel_step *s, const char *event_type, const char *path)
{
    if (event_type == NULL) {
        return 0;
    }
    if (s->kind == FUNNEL_EVENT) {
        return strcmp(event_type, s->value) == 0;
    }
    return path != NULL && strcmp(event_type, PAGE_VIEW) == 0 && strcmp(path, s->value) == 0;
}

/* Append the values of f's steps of one kind to arr as "0", "1"... */
static void
append_values(bson_t *arr, const struct funnel *f, enum funnel_kind kind)
{
    int n = 0;

    for (size_t i = 0; i < f->n; i++) {
        char k[4];
        if (f->steps[i].kind != kind) {
            continue;
        }
        bson_snprintf(k, sizeof k, "%d", n++);
        BSON_APPEND_UTF8(arr, k, f->steps[i].value);
    }
}

/* The first stage's filter: the site and the visits' start (index {site_id, visit_start}),
 * and the events that can match a step. Filters on other fields go here too. */
static bson_t *
funnel_match(const char *site_id, const struct day_range *r, const struct funnel *f)
{
    bson_t *m = BCON_NEW(EVDOC_SITE_ID, BCON_UTF8(site_id), EVDOC_VISIT_START, "{", "$gte",
                         BCON_DATE_TIME(range_raw_from(r)), "$lt", BCON_DATE_TIME(r->end_ms), "}");
    bson_t alts, alt, in, arr;

    bson_append_array_begin(m, "$or", -1, &alts);
    bson_append_document_begin(&alts, "0", -1, &alt);
    bson_append_document_begin(&alt, EVDOC_EVENT_TYPE, -1, &in);
    bson_append_array_begin(&in, "$in", -1, &arr);
    append_values(&arr, f, FUNNEL_EVENT);
    bson_append_array_end(&in, &arr);
    bson_append_document_end(&alt, &in);
    bson_append_document_end(&alts, &alt);

    bson_append_document_begin(&alts, "1", -1, &alt);
    BSON_APPEND_UTF8(&alt, EVDOC_EVENT_TYPE, PAGE_VIEW);
    bson_append_document_begin(&alt, EVDOC_PATH, -1, &in);
    bson_append_array_begin(&in, "$in", -1, &arr);
    append_values(&arr, f, FUNNEL_PATH);
    bson_append_array_end(&in, &arr);
    bson_append_document_end(&alt, &in);
    bson_append_document_end(&alts, &alt);
    bson_append_array_end(m, &alts);
    return m;
}

bson_t *
funnel_pipeline(const char *site_id, const struct day_range *r, const struct funnel *f)
{
    bson_t *p = bson_new(), *match = funnel_match(site_id, r, f);
    bson_t stages;

    bson_append_array_begin(p, "pipeline", -1, &stages);
    BCON_APPEND(&stages, "0", "{", "$match", BCON_DOCUMENT(match), "}");
    BCON_APPEND(&stages, "1", "{", "$sort", "{", EVDOC_VISIT_ID, BCON_INT32(1), EVDOC_VISIT_SEQ,
                BCON_INT32(1), "}", "}");
    BCON_APPEND(&stages, "2", "{", "$project", "{", EVDOC_ID, BCON_INT32(0), EVDOC_VISIT_ID,
                BCON_INT32(1), EVDOC_VISIT_SEQ, BCON_INT32(1), EVDOC_USER_ID, BCON_INT32(1),
                EVDOC_EVENT_TYPE, BCON_INT32(1), EVDOC_PATH, BCON_INT32(1), "}", "}");
    bson_append_array_end(p, &stages);
    bson_destroy(match);
    return p;
}

bson_t *
funnel_opts(void)
{
    return BCON_NEW("allowDiskUse", BCON_BOOL(true), "batchSize", BCON_INT32(FUNNEL_BATCH));
}

void
funnel_walk_init(struct funnel_walk *w, const struct funnel *f)
{
    memset(w, 0, sizeof *w);
    w->f = f;
}

/* FNV-1a 64 of s, never 0 (the table's empty slot). */
static uint64_t
hash_of(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h != 0 ? h : 1;
}

/* The slot of key in a table of size slots (a power of two): its own or the empty one where
 * it would go. */
static size_t
slot_of(const uint64_t *keys, size_t size, uint64_t key)
{
    size_t i = (size_t)(key ^ (key >> 29)) & (size - 1);

    while (keys[i] != 0 && keys[i] != key) {
        i = (i + 1) & (size - 1);
    }
    return i;
}

/* Double the table (to 1024 slots from none). Returns 0, or -1 out of memory. */
static int
grow(struct funnel_walk *w)
{
    size_t size = w->size != 0 ? w->size * 2 : 1024;
    uint64_t *keys = calloc(size, sizeof *keys);
    uint8_t *best = calloc(size, sizeof *best);

    if (keys == NULL || best == NULL) {
        free(keys);
        free(best);
        return -1;
    }
    for (size_t i = 0; i < w->size; i++) {
        if (w->keys[i] != 0) {
            size_t j = slot_of(keys, size, w->keys[i]);
            keys[j] = w->keys[i];
            best[j] = w->best[i];
        }
    }
    free(w->keys);
    free(w->best);
    w->keys = keys;
    w->best = best;
    w->size = size;
    return 0;
}

/* Count the current visit: its visitor reached at least its step. Returns as
 * funnel_walk_event(). */
static int
end_visit(struct funnel_walk *w)
{
    size_t i;

    if (w->reached == 0 || w->user == 0) {
        return 0;
    }
    if (w->size != 0 && w->keys[i = slot_of(w->keys, w->size, w->user)] != 0) {
        if (w->best[i] < w->reached) {
            w->best[i] = (uint8_t)w->reached;
        }
        return 0;
    }
    if (w->used >= FUNNEL_VISITORS_MAX) {
        return 1;
    }
    if ((w->used + 1) * 2 > w->size && grow(w) != 0) {
        return -1;
    }
    i = slot_of(w->keys, w->size, w->user);
    w->keys[i] = w->user;
    w->best[i] = (uint8_t)w->reached;
    w->used++;
    return 0;
}

int
funnel_walk_event(struct funnel_walk *w, const char *visit_id, const char *user_id,
                  const char *event_type, const char *path)
{
    const struct funnel *f = w->f;

    if (visit_id == NULL) {
        return 0;
    }
    if (w->visit == NULL || strcmp(w->visit, visit_id) != 0) {
        size_t len = strlen(visit_id) + 1;
        int rc = w->visit != NULL ? end_visit(w) : 0;
        if (rc != 0) {
            return rc;
        }
        if (len > w->visit_size) {
            char *v = realloc(w->visit, len);
            if (v == NULL) {
                return -1;
            }
            w->visit = v;
            w->visit_size = len;
        }
        memcpy(w->visit, visit_id, len);
        w->reached = 0;
        w->user = 0;
    }
    if (w->reached < f->n && funnel_step_match(&f->steps[w->reached], event_type, path)) {
        if (w->reached == 0) {
            w->user = user_id != NULL && user_id[0] != '\0' ? hash_of(user_id) : 0;
        }
        w->reached++;
    }
    return 0;
}

int
funnel_walk_end(struct funnel_walk *w)
{
    int rc = w->visit != NULL ? end_visit(w) : 0;

    w->reached = 0;
    return rc;
}

void
funnel_walk_counts(const struct funnel_walk *w, int64_t visitors[FUNNEL_STEPS_MAX])
{
    memset(visitors, 0, FUNNEL_STEPS_MAX * sizeof *visitors);
    for (size_t i = 0; i < w->size; i++) {
        for (size_t k = 0; w->keys[i] != 0 && k < w->best[i]; k++) {
            visitors[k]++;
        }
    }
}

void
funnel_walk_cleanup(struct funnel_walk *w)
{
    free(w->visit);
    free(w->keys);
    free(w->best);
    memset(w, 0, sizeof *w);
}
