/* event.c - the analytics event: a client's event, the fields an envelope shares, its id. */
#include "event.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "jsonmem.h"
#include "log.h"
#include "ts.h"

struct event_attr_view
event_visit_attrs(const struct event *ev)
{
    const struct event_visit_attr *va = ev->has_visit && ev->visit.has_va ? &ev->visit.va : NULL;

    return va != NULL ? (struct event_attr_view){va->attr, &va->device, va->country}
                      : (struct event_attr_view){ev->attr, &ev->device, ev->country};
}

void
event_init(struct event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->screen_width = -1;
}

void
event_cleanup(struct event *ev)
{
    json_decref(ev->src);
    event_init(ev);
}

/* A present-and-not-null member, or NULL. */
static json_t *
member(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    return json_is_null(v) ? NULL : v;
}

/* The length rule of each string member (enum event_string): the one statement of it,
 * which the jansson path (take_string()) and both fast paths (event_scan(), the envelope's)
 * read through event_string_fits(). */
static const struct {
    const char *name;
    size_t min, max;
} string_rules[EVENT_N_STRINGS] = {
    [EVENT_SITE_ID] = {"site_id", 1, EVENT_SITE_ID_MAX},
    [EVENT_EVENT_TYPE] = {"event_type", 1, EVENT_TYPE_MAX},
    [EVENT_PATH] = {"path", 0, EVENT_PATH_MAX},
    [EVENT_USER_ID] = {"user_id", 0, EVENT_USER_ID_MAX},
};

int
event_string_fits(enum event_string m, size_t len)
{
    return len >= string_rules[m].min && len <= string_rules[m].max;
}

/* Check an optional or required string member's type and length. */
static int
take_string(json_t *obj, enum event_string m, const char **out, struct app_err *err)
{
    const char *name = string_rules[m].name;
    json_t *v = member(obj, name);

    if (v == NULL) {
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v)) {
        return err_set(err, ERR_INVALID, "Field '%s' must be a string", name);
    }
    if (!event_string_fits(m, json_string_length(v))) {
        if (string_rules[m].min == 0) {
            return err_set(err, ERR_INVALID, "Field '%s' must be at most %zu bytes", name,
                           string_rules[m].max);
        }
        return err_set(err, ERR_INVALID, "Field '%s' must be %zu-%zu bytes", name,
                       string_rules[m].min, string_rules[m].max);
    }
    *out = json_string_value(v);
    return 0;
}

int
event_take_time(json_t *obj, const char *name, int64_t *ms, struct app_err *err)
{
    json_t *v = member(obj, name);

    if (!json_is_string(v)) {
        return err_set(err, ERR_INVALID, "Field '%s' must be a string", name);
    }
    if (ts_parse_rfc3339(json_string_value(v), json_string_length(v), ms) != 0) {
        return err_set(err, ERR_INVALID,
                       "Field '%s' must be an RFC 3339 date-time with a time zone, "
                       "e.g. 2025-11-15T10:00:00Z",
                       name);
    }
    return 0;
}

/* The client's event time: an RFC 3339 string with a time zone. */
static int
take_timestamp(json_t *obj, struct event *ev, struct app_err *err)
{
    return event_take_time(obj, "timestamp", &ev->ts_ms, err);
}

int
event_json_depth(const char *buf, size_t len, int max)
{
    int depth = 0, deepest = 0, in_string = 0;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (c == '\\') {
                i++; /* the escaped character cannot end the string */
            } else if (c == '"') {
                in_string = 0;
            }
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > deepest && (deepest = depth) > max) {
                return max + 1;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return deepest;
}

json_t *
event_parse_body(const char *buf, size_t len, struct app_err *err)
{
    json_error_t jerr;
    json_t *v;
    unsigned long failures = jsonmem_failures();

    if (event_json_depth(buf, len, EVENT_BODY_DEPTH_MAX) > EVENT_BODY_DEPTH_MAX) {
        err_set(err, ERR_INVALID, "Request body is nested more than %d levels deep",
                EVENT_BODY_DEPTH_MAX);
        return NULL;
    }
    v = json_loadb(buf, len, JSON_DECODE_ANY, &jerr);
    if (jsonmem_failures() != failures) {
        /* Whatever jansson made of it (a syntax error, or a string short of a byte). */
        json_decref(v);
        err_set(err, ERR_INTERNAL, "out of memory while parsing the body");
        return NULL;
    }
    if (v == NULL) {
        err_set(err, ERR_INVALID, "Invalid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                jerr.column);
    }
    return v;
}

/* True when v holds containers nested more than max levels deep (v itself
 * being level 1). */
static int
too_deep(json_t *v, int max)
{
    const char *key;
    json_t *item;
    size_t i;

    if (max <= 0) {
        return json_is_object(v) || json_is_array(v);
    }
    if (json_is_object(v)) {
        json_object_foreach(v, key, item)
        {
            if (too_deep(item, max - 1)) {
                return 1;
            }
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item)
        {
            if (too_deep(item, max - 1)) {
                return 1;
            }
        }
    }
    return 0;
}

int
event_take_fields(json_t *obj, const char *time_name, event_time_reader read_time, struct event *ev,
                  struct app_err *err)
{
    const char *const required[] = {"site_id", "event_type", time_name};
    char missing[128] = "";
    json_t *props;

    event_init(ev);
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (member(obj, required[i]) == NULL) {
            size_t n = strlen(missing);
            snprintf(missing + n, sizeof missing - n, "%s%s", n ? ", " : "", required[i]);
        }
    }
    if (missing[0] != '\0') {
        return err_set(err, ERR_INVALID, "Missing required fields: %s", missing);
    }
    if (take_string(obj, EVENT_SITE_ID, &ev->site_id, err) != 0 ||
        take_string(obj, EVENT_EVENT_TYPE, &ev->event_type, err) != 0 ||
        read_time(obj, ev, err) != 0 || take_string(obj, EVENT_PATH, &ev->path, err) != 0 ||
        take_string(obj, EVENT_USER_ID, &ev->user_id, err) != 0) {
        event_init(ev);
        return -1;
    }
    props = member(obj, "properties");
    if (props != NULL && !json_is_object(props)) {
        event_init(ev);
        return err_set(err, ERR_INVALID, "Field 'properties' must be an object");
    }
    if (props != NULL && too_deep(props, EVENT_PROPERTIES_DEPTH_MAX)) {
        event_init(ev);
        return err_set(err, ERR_INVALID, "Field 'properties' is nested more than %d levels deep",
                       EVENT_PROPERTIES_DEPTH_MAX);
    }
    ev->properties = props;
    return 0;
}

int
event_from_request(json_t *obj, struct event *ev, struct app_err *err)
{
    event_init(ev);
    if (!json_is_object(obj)) {
        return err_set(err, ERR_INVALID, "Request body must be a JSON object");
    }
    json_t *cid, *src, *width;

    if (event_take_fields(obj, "timestamp", take_timestamp, ev, err) != 0) {
        return -1;
    }
    cid = member(obj, "event_id");
    if (cid != NULL && (!json_is_string(cid) ||
                        !event_client_id_valid(json_string_value(cid), json_string_length(cid)))) {
        event_init(ev);
        return err_set(err, ERR_INVALID, "%s", EVENT_CLIENT_ID_MSG);
    }
    ev->client_id = cid != NULL ? json_string_value(cid) : NULL;
    src = member(obj, EVENT_USER_ID_SOURCE);
    if (src != NULL && (!json_is_string(src) || strcmp(json_string_value(src), "device") != 0)) {
        event_init(ev);
        return err_set(err, ERR_INVALID, "%s", EVENT_USER_ID_SOURCE_MSG);
    }
    width = member(obj, EVENT_SCREEN_WIDTH);
    if (width != NULL && (!json_is_integer(width) || json_integer_value(width) < 0 ||
                          json_integer_value(width) > EVENT_SCREEN_WIDTH_MAX)) {
        event_init(ev);
        return err_set(err, ERR_INVALID, "%s", EVENT_SCREEN_WIDTH_MSG);
    }
    ev->screen_width = width != NULL ? (long)json_integer_value(width) : -1;
    if (ev->user_id != NULL && ev->user_id[0] != '\0') {
        ev->visitor = src != NULL ? EVENT_VISITOR_DEVICE : EVENT_VISITOR_CLIENT;
    }
    ev->src = json_incref(obj);
    return 0;
}

static const char *const visitor_names[] = {
    [EVENT_VISITOR_CLIENT] = "client",
    [EVENT_VISITOR_DEVICE] = "device",
    [EVENT_VISITOR_HASH] = "hash",
};

const char *
event_visitor_name(enum event_visitor v)
{
    return v > EVENT_VISITOR_UNKNOWN && v <= EVENT_VISITOR_HASH ? visitor_names[v] : NULL;
}

enum event_visitor
event_visitor_parse(const char *s, size_t n)
{
    for (int v = EVENT_VISITOR_CLIENT; v <= EVENT_VISITOR_HASH; v++) {
        if (strlen(visitor_names[v]) == n && memcmp(visitor_names[v], s, n) == 0) {
            return (enum event_visitor)v;
        }
    }
    return EVENT_VISITOR_UNKNOWN;
}

/* True when s[0..len) is 1 to max characters of [A-Za-z0-9] and those of punct. */
static int
id_of(const char *s, size_t len, size_t max, const char *punct)
{
    if (len < 1 || len > max) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c != '\0' && strchr(punct, c) != NULL))) {
            return 0;
        }
    }
    return 1;
}

int
event_client_id_valid(const char *s, size_t len)
{
    return id_of(s, len, EVENT_CLIENT_ID_MAX, "_-");
}

void
event_derive_id(const char *site_id, const char *client_id, char out[EVENT_DOC_ID_MAX + 1])
{
    snprintf(out, EVENT_DOC_ID_MAX + 1, "%s:%s", site_id, client_id);
}

int
event_doc_id_valid(const char *id, const char *site_id)
{
    size_t n = strlen(site_id);

    if (event_id_valid(id)) {
        return 1;
    }
    return n <= EVENT_SITE_ID_MAX && strncmp(id, site_id, n) == 0 && id[n] == ':' &&
           event_client_id_valid(id + n + 1, strlen(id + n + 1));
}

const char *
event_delivery(const struct event *ev)
{
    return ev->delivery[0] != '\0' ? ev->delivery : ev->id;
}

int
event_request_id_valid(const char *s, size_t len)
{
    return id_of(s, len, LOG_REQUEST_ID_MAX, "._:-");
}

int
event_time_valid(int64_t ms)
{
    return ms >= TS_MIN_MS && ms <= TS_MAX_MS;
}

int
event_correct_ts(int64_t ts_ms, int64_t sent_ms, int64_t received_ms, int64_t *out)
{
    int64_t skew, t;

    if (__builtin_sub_overflow(received_ms, sent_ms, &skew) ||
        __builtin_add_overflow(ts_ms, skew, &t) || !event_time_valid(t)) {
        return -1;
    }
    *out = t;
    return 0;
}

int
event_random(unsigned char *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r > 0) {
            got += (size_t)r;
        } else if (r < 0 && errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

/* event_random(), or an abort: ids without randomness could collide silently. */
static void
fill_random(unsigned char *buf, size_t n)
{
    if (event_random(buf, n) != 0) {
        abort(); /* no kernel randomness: refuse to mint ids that may collide */
    }
}

void
event_new_id(int64_t now_ms, char out[EVENT_ID_LEN + 1])
{
    /* A per-thread pool of random bytes amortises the system call. */
    static _Thread_local unsigned char pool[4096];
    static _Thread_local size_t used = sizeof pool;
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    uint64_t t = (uint64_t)now_ms;

    if (used + 10 > sizeof pool) {
        fill_random(pool, sizeof pool);
        used = 0;
    }
    for (int i = 0; i < 6; i++) {
        b[i] = (unsigned char)(t >> (40 - 8 * i));
    }
    memcpy(b + 6, pool + used, 10);
    used += 10;
    b[6] = (unsigned char)(0x70 | (b[6] & 0x0f)); /* version 7 */
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f)); /* RFC 4122 variant */
    for (int i = 0, o = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[EVENT_ID_LEN] = '\0';
}

int
event_id_valid(const char *s)
{
    for (int i = 0; i < EVENT_ID_LEN; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return 0;
            }
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return s[14] == '7' && strchr("89ab", s[19]) != NULL && s[EVENT_ID_LEN] == '\0';
}

/* --- the fast path: a plain event without jansson ------------------------------------ */

/* Its acceptance is a whitelist. A plain event has only these members: the string ones of
 * string_rules[], timestamp and event_id, each at most once and each a string of printable
 * ASCII without escapes (the same bytes to jansson), and each checked with the rule the
 * jansson path applies to it: event_string_fits(), ts_parse_rfc3339(),
 * event_client_id_valid(). Any other member (properties, one the jansson path ignores), any
 * other type, a repeated member or any doubt hands the body over, untouched, to the jansson
 * path: so this accepts nothing that path would refuse or read otherwise, without having
 * to know what it does with the rest. */
enum { P_TS = EVENT_N_STRINGS, P_CID, P_N }; /* after enum event_string's members */

/* Where a plain event's members are: the text between their quotes, NULL when absent. */
struct plain {
    const char *v[P_N];
    size_t len[P_N];
};

static const char *
skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    return p;
}

/* A string at p (its opening quote) of printable ASCII without escapes; returns the
 * position of its closing quote, or NULL. */
static const char *
plain_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            return p;
        }
        if (c < 0x20 || c >= 0x7f || c == '\\') {
            return NULL;
        }
    }
    return NULL;
}

/* The whitelisted member named key[0..klen), or P_N. */
static size_t
plain_member(const char *key, size_t klen)
{
    for (size_t k = 0; k < P_N; k++) {
        const char *name = k < P_TS ? string_rules[k].name : k == P_TS ? "timestamp" : "event_id";
        if (strlen(name) == klen && memcmp(name, key, klen) == 0) {
            return k;
        }
    }
    return P_N;
}

/* One plain event object at p: returns the first byte after it, or NULL. Fills pl. */
static const char *
plain_object(const char *p, const char *end, struct plain *pl)
{
    memset(pl, 0, sizeof *pl);
    p = skip_ws(p, end);
    if (p == end || *p != '{') {
        return NULL;
    }
    for (;;) {
        const char *key, *kend, *v, *vend;
        size_t k;

        p = skip_ws(p + 1, end);
        if (p == end || *p != '"' || (kend = plain_string(p, end)) == NULL) {
            return NULL;
        }
        key = p + 1;
        if ((k = plain_member(key, (size_t)(kend - key))) == P_N || pl->v[k] != NULL) {
            return NULL; /* not on the list, or repeated (jansson keeps the last) */
        }
        p = skip_ws(kend + 1, end);
        if (p == end || *p != ':') {
            return NULL;
        }
        p = skip_ws(p + 1, end);
        if (p == end || *p != '"' || (vend = plain_string(p, end)) == NULL) {
            return NULL; /* null, numbers, objects...: jansson's */
        }
        v = p + 1;
        pl->v[k] = v;
        pl->len[k] = (size_t)(vend - v);
        p = skip_ws(vend + 1, end);
        if (p < end && *p == '}') {
            return p + 1;
        }
        if (p == end || *p != ',') {
            return NULL;
        }
    }
}

size_t
event_path_len(const char *path)
{
    return strcspn(path, "?#");
}

int
event_plain_strings_valid(const char *const s[EVENT_N_STRINGS], const size_t len[EVENT_N_STRINGS])
{
    for (int m = 0; m < EVENT_N_STRINGS; m++) {
        if (s[m] == NULL ? string_rules[m].min > 0 : !event_string_fits(m, len[m])) {
            return 0;
        }
    }
    return 1;
}

/* Whether pl is an event that event_from_request() accepts; fills ev (strings not yet
 * terminated). */
static int
plain_valid(const struct plain *pl, struct event *ev)
{
    event_init(ev);
    if (!event_plain_strings_valid(pl->v, pl->len) || pl->v[P_TS] == NULL ||
        ts_parse_rfc3339(pl->v[P_TS], pl->len[P_TS], &ev->ts_ms) != 0 ||
        (pl->v[P_CID] != NULL && !event_client_id_valid(pl->v[P_CID], pl->len[P_CID]))) {
        return 0;
    }
    ev->site_id = pl->v[EVENT_SITE_ID];
    ev->event_type = pl->v[EVENT_EVENT_TYPE];
    ev->path = pl->v[EVENT_PATH];
    ev->user_id = pl->v[EVENT_USER_ID];
    ev->client_id = pl->v[P_CID];
    if (ev->user_id != NULL && pl->len[EVENT_USER_ID] > 0) {
        ev->visitor = EVENT_VISITOR_CLIENT;
    }
    return 1;
}

/* End each of pl's strings that the event keeps (all but the timestamp) at its closing
 * quote. */
static void
plain_terminate(const struct plain *pl)
{
    for (size_t k = 0; k < sizeof pl->v / sizeof pl->v[0]; k++) {
        if (k != P_TS && pl->v[k] != NULL) {
            ((char *)pl->v[k])[pl->len[k]] = '\0';
        }
    }
}

/* Put back the closing quotes of ev's strings (plain_terminate() undone). */
static void
plain_restore(struct event *ev)
{
    const char *s[] = {ev->site_id, ev->event_type, ev->path, ev->user_id, ev->client_id};

    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        if (s[i] != NULL) {
            ((char *)s[i])[strlen(s[i])] = '"';
        }
    }
}

int
event_scan(char *buf, size_t len, struct event *ev)
{
    const char *end = buf + len, *p;
    struct plain pl;

    p = plain_object(buf, end, &pl);
    if (p == NULL || skip_ws(p, end) != end || !plain_valid(&pl, ev)) {
        event_init(ev);
        return 0;
    }
    plain_terminate(&pl);
    return 1;
}

struct event *
event_scan_batch(char *buf, size_t len, size_t max, size_t *n)
{
    const char *end = buf + len, *p = skip_ws(buf, end);
    struct event *evs = NULL, *grown;
    size_t count = 0, cap = 0;
    struct plain pl;

    *n = 0;
    if (p == end || *p != '[') {
        return NULL;
    }
    p++;
    for (;;) {
        if (count == max) {
            goto fail;
        }
        if (count == cap) {
            cap = cap ? cap * 4 : 16;
            cap = cap > max ? max : cap;
            if ((grown = realloc(evs, cap * sizeof *evs)) == NULL) {
                goto fail;
            }
            evs = grown;
        }
        if ((p = plain_object(p, end, &pl)) == NULL || !plain_valid(&pl, &evs[count])) {
            goto fail;
        }
        plain_terminate(&pl);
        count++;
        p = skip_ws(p, end);
        if (p < end && *p == ']') {
            break;
        }
        if (p == end || *p != ',') {
            goto fail;
        }
        p++;
    }
    if (skip_ws(p + 1, end) != end) {
        goto fail;
    }
    *n = count;
    return evs;
fail:
    while (count > 0) {
        plain_restore(&evs[--count]); /* the body goes to jansson as it came */
    }
    free(evs);
    return NULL;
}
