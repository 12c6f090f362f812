/* envelope_fast.c - the fast path of envelope_decode(): the envelopes ingest writes, read
 * without building a JSON tree. */
#include "envelope.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "envelope_int.h"
#include "jsonmem.h"

/* A cursor over an envelope's text. */
struct scan {
    const char *p, *end;
};

/* Skip the literal text lit; 0 when it is not next. */
static int
scan_lit(struct scan *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0) {
        return 0;
    }
    s->p += n;
    return 1;
}

#define SCAN_LIT(s, lit) scan_lit((s), (lit), sizeof(lit) - 1)

/* A JSON string of printable ASCII with no escape (so with nothing to unescape and nothing
 * to check as UTF-8): its bytes *v[0..*n). 0 for any other value. */
static int
scan_str(struct scan *s, const char **v, size_t *n)
{
    const char *q;

    if (s->p >= s->end || *s->p != '"') {
        return 0;
    }
    for (q = s->p + 1; q < s->end && *q != '"'; q++) {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20 || c >= 0x80 || c == '\\') {
            return 0;
        }
    }
    if (q >= s->end) {
        return 0;
    }
    *v = s->p + 1;
    *n = (size_t)(q - *v);
    s->p = q + 1;
    return 1;
}

/* A JSON integer of at most 18 digits (so one that fits, as jansson reads it). */
static int
scan_int(struct scan *s, int64_t *v)
{
    const char *q = s->p;
    int64_t x = 0;
    int neg = 0, digits = 0;

    if (q < s->end && *q == '-') {
        neg = 1;
        q++;
    }
    if (q < s->end && *q == '0' && q + 1 < s->end && q[1] >= '0' && q[1] <= '9') {
        return 0; /* a leading zero: not JSON */
    }
    for (; q < s->end && *q >= '0' && *q <= '9'; q++) {
        if (++digits > 18) {
            return 0;
        }
        x = x * 10 + (*q - '0');
    }
    if (digits == 0 || (q < s->end && (*q == '.' || *q == 'e' || *q == 'E'))) {
        return 0;
    }
    *v = neg ? -x : x;
    s->p = q;
    return 1;
}

/* The properties object: parsed by jansson from its own text, which ends where its brackets
 * (outside strings) balance; NULL when it is not an object nested at most
 * EVENT_PROPERTIES_DEPTH_MAX deep, or not JSON. */
static json_t *
scan_properties(struct scan *s)
{
    const char *q = s->p;
    int depth = 0, in_str = 0;
    json_t *o;

    if (q >= s->end || *q != '{') {
        return NULL;
    }
    for (; q < s->end; q++) {
        char c = *q;
        if (in_str) {
            if (c == '\\') {
                q++;
            } else if (c == '"') {
                in_str = 0;
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > EVENT_PROPERTIES_DEPTH_MAX) {
                return NULL;
            }
        } else if ((c == '}' || c == ']') && --depth == 0) {
            break;
        }
    }
    if (q >= s->end) {
        return NULL;
    }
    o = json_loadb(s->p, (size_t)(q + 1 - s->p), 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    s->p = q + 1;
    return o;
}

/* The string fields of an envelope decoded by decode_fast(): where they are in its text
 * (the first four are enum event_string's). */
enum {
    F_SITE = EVENT_SITE_ID,
    F_TYPE = EVENT_EVENT_TYPE,
    F_PATH = EVENT_PATH,
    F_USER = EVENT_USER_ID,
    F_RID = EVENT_N_STRINGS,
    F_VID, /* the visit's strings: id, e, x, xo */
    F_VE,
    F_VX,
    F_VXO,
    F_ATT,                        /* the attribution's, enum event_attr's order */
    F_VA = F_ATT + EVENT_N_ATTRS, /* the visit's attribution's (visit.va), the same order */
    F_N = F_VA + EVENT_N_ATTRS
};

/* The visit's string members, by field. */
static const int visit_strings[][2] = {{F_VID, V_ID}, {F_VE, V_E}, {F_VX, V_X}, {F_VXO, V_XO}};

/* An integer member of "visit": ,"<name>":<int> (lit is that prefix). */
static int
scan_visit_int(struct scan *s, const char *lit, size_t n, struct visit_raw *r, int m)
{
    if (!scan_lit(s, lit, n) || !scan_int(s, &r->i[m])) {
        return 0;
    }
    r->present[m] = r->is_int[m] = 1;
    return 1;
}

/* An optional string member of "visit": where it is in f[] / n[] (field fi), when present. */
static int
scan_visit_str(struct scan *s, const char *lit, size_t n, struct visit_raw *r, int m,
               const char **f, size_t *len)
{
    if (!scan_lit(s, lit, n)) {
        return 1; /* absent */
    }
    if (!scan_str(s, f, len)) {
        return 0;
    }
    r->present[m] = r->is_str[m] = 1;
    return 1;
}

#define VI(s, lit, r, m) scan_visit_int((s), (lit), sizeof(lit) - 1, (r), (m))
#define VS(s, lit, r, m, fi) scan_visit_str((s), (lit), sizeof(lit) - 1, (r), (m), &f[fi], &n[fi])

/* The key "key": of an object's member next in s: the first one's right after its '{' (*first
 * set, then cleared), any other's after a comma. 0 when it is not next. */
static int
scan_key(struct scan *s, int *first, const char *key)
{
    size_t kn = strlen(key), at = *first ? 0 : 1;

    if ((size_t)(s->end - s->p) < at + kn + 3 || (at == 1 && s->p[0] != ',') || s->p[at] != '"' ||
        memcmp(s->p + at + 1, key, kn) != 0 || memcmp(s->p + at + 1 + kn, "\":", 2) != 0) {
        return 0;
    }
    s->p += at + kn + 3;
    *first = 0;
    return 1;
}

/* The "va" object as envelope_encode() writes it (put_va()), its attribution's strings' places
 * in f[] / n[] (F_VA), its device and country into r->va; 1 when it is of that form and each
 * member keeps its rule, else 0. */
static int
scan_va(struct scan *s, struct visit_raw *r, const char **f, size_t *n)
{
    const char *v;
    size_t vn;
    int first = 1;

    if (!SCAN_LIT(s, "{")) {
        return 0;
    }
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        if (scan_key(s, &first, att_keys[k]) &&
            (!scan_str(s, &f[F_VA + k], &n[F_VA + k]) || !ATT_FITS(n[F_VA + k]))) {
            return 0;
        }
    }
    for (int m = 0; m < DEVICE_N; m++) {
        if (scan_key(s, &first, device_members[m].key) &&
            (!scan_str(s, &v, &vn) || !device_take(&r->va.device, m, v, vn))) {
            return 0;
        }
    }
    if (scan_key(s, &first, "cc") &&
        (!scan_str(s, &v, &vn) || !take_country(v, vn, r->va.country))) {
        return 0;
    }
    r->has_va = 1;
    return SCAN_LIT(s, "}");
}

/* The "visit" object of exactly the form envelope_encode() writes (put_visit()), its strings'
 * places in f[] / n[]; 1 when it is of that form (its rules are checked later, by
 * visit_check()), else 0. */
static int
scan_visit(struct scan *s, struct visit_raw *r, const char **f, size_t *n)
{
    memset(r, 0, sizeof *r);
    if (!SCAN_LIT(s, "{\"id\":") || !scan_str(s, &f[F_VID], &n[F_VID])) {
        return 0;
    }
    r->present[V_ID] = r->is_str[V_ID] = 1;
    if (!VI(s, ",\"s\":", r, V_S) || !VI(s, ",\"start\":", r, V_START) ||
        !VI(s, ",\"n\":", r, V_N) || !VI(s, ",\"b\":", r, V_B) || !VI(s, ",\"d\":", r, V_D) ||
        !VS(s, ",\"e\":", r, V_E, F_VE) || !VI(s, ",\"en\":", r, V_EN) ||
        (r->present[V_E] && !VI(s, ",\"eb\":", r, V_EB)) || !VS(s, ",\"x\":", r, V_X, F_VX) ||
        !VI(s, ",\"xn\":", r, V_XN) || !VI(s, ",\"xb\":", r, V_XB) ||
        !VS(s, ",\"xo\":", r, V_XO, F_VXO)) {
        return 0;
    }
    if (r->present[V_XO] && !VI(s, ",\"xob\":", r, V_XOB)) {
        return 0;
    }
    if (SCAN_LIT(s, ",\"va\":") && !scan_va(s, r, f, n)) {
        return 0;
    }
    return SCAN_LIT(s, "}");
}

/* The "att" object as envelope_encode() writes it (put_att()), its strings' places in f[] /
 * n[]; 1 when it is of that form and each fits, else 0. */
static int
scan_att(struct scan *s, const char **f, size_t *n)
{
    const char *sep = "{\"";

    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        size_t kn = strlen(att_keys[k]);
        if ((size_t)(s->end - s->p) > kn + 4 && memcmp(s->p, sep, 2) == 0 &&
            memcmp(s->p + 2, att_keys[k], kn) == 0 && memcmp(s->p + 2 + kn, "\":", 2) == 0) {
            s->p += kn + 4;
            if (!scan_str(s, &f[F_ATT + k], &n[F_ATT + k]) || !ATT_FITS(n[F_ATT + k])) {
                return 0;
            }
            sep = ",\"";
        }
    }
    return sep[0] == ',' && SCAN_LIT(s, "}");
}

/* What decode_fast() returns besides 0: the text is not of its form (the jansson path
 * decides), or an allocation failed. */

/* The event's src for the strings text[0..len) (NULs between them) and properties props
 * (may be NULL): one jansson string, or with properties the array [that string, props].
 * Takes props's reference in all cases. NULL when out of memory. */
static json_t *
fast_src(const char *text, size_t len, json_t *props)
{
    json_t *strs = json_stringn_nocheck(text, len), *src;

    if (strs == NULL || props == NULL) {
        json_decref(props);
        return strs;
    }
    src = json_array();
    if (src == NULL || json_array_append_new(src, strs) != 0) {
        if (src == NULL) {
            json_decref(strs); /* json_array_append_new() took it otherwise */
        }
        json_decref(src);
        json_decref(props);
        return NULL;
    }
    if (json_array_append_new(src, props) != 0) {
        json_decref(src);
        return NULL;
    }
    return src;
}

/* Decode an envelope of exactly the form envelope_encode() writes: its members in that
 * order, no space, strings of printable ASCII without escapes, integers that fit, and
 * properties (if any) an object no deeper than EVENT_PROPERTIES_DEPTH_MAX. Its fields are
 * then checked with the rules the jansson path applies (event_plain_strings_valid(),
 * check_times(), event_doc_id_valid(), event_id_valid(), event_request_id_valid()), so such an
 * envelope decodes to exactly what the jansson path makes of it; for anything else this returns
 * FAST_NOT_MINE without touching ev, and the jansson path decides (and gives the reason).
 * FAST_NO_MEMORY when an allocation failed. The string fields are copied, NUL-terminated,
 * into one jansson string, which is the event's src (with properties, src is the array
 * [that string, properties]). It costs a tenth of parsing the envelope into a jansson
 * object (callgrind). */
int
decode_fast(const char *buf, size_t len, struct event *ev)
{
    struct scan s = {buf, buf + len};
    const char *id, *dlv = NULL, *vsrc, *vy, *cc, *f[F_N] = {NULL};
    size_t id_n, dlv_n = 0, vsrc_n, vy_n, cc_n, n[F_N] = {0}, at = 0, off[F_N], need = F_N;
    struct event e;
    struct visit_raw vr;
    json_t *props = NULL, *src;
    char local[4096], *text = local;
    const char *t;
    unsigned long failures = jsonmem_failures();
    int has_visit = 0, rc;

    event_init(&e);
    if (!SCAN_LIT(&s, "{\"v\":1,\"id\":") || !scan_str(&s, &id, &id_n) || id_n > EVENT_DOC_ID_MAX) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"dlv\":") && (!scan_str(&s, &dlv, &dlv_n) || dlv_n != EVENT_ID_LEN)) {
        return FAST_NOT_MINE;
    }
    if (!SCAN_LIT(&s, ",\"site_id\":") || !scan_str(&s, &f[F_SITE], &n[F_SITE]) ||
        !SCAN_LIT(&s, ",\"event_type\":") || !scan_str(&s, &f[F_TYPE], &n[F_TYPE]) ||
        !SCAN_LIT(&s, ",\"ts\":") || !scan_int(&s, &e.ts_ms) || !SCAN_LIT(&s, ",\"received\":") ||
        !scan_int(&s, &e.received_ms)) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"cts\":") && !(e.has_client_ts = scan_int(&s, &e.client_ts_ms))) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"path\":") && !scan_str(&s, &f[F_PATH], &n[F_PATH])) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"user_id\":") && !scan_str(&s, &f[F_USER], &n[F_USER])) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"vsrc\":") &&
        (!scan_str(&s, &vsrc, &vsrc_n) ||
         (e.visitor = event_visitor_parse(vsrc, vsrc_n)) == EVENT_VISITOR_UNKNOWN)) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"vy\":") &&
        (!scan_str(&s, &vy, &vy_n) || !take_visitor_id(vy, vy_n, e.prev_visitor))) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"cc\":") &&
        (!scan_str(&s, &cc, &cc_n) || !take_country(cc, cc_n, e.country))) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"att\":") && !scan_att(&s, f, n)) {
        return FAST_NOT_MINE;
    }
    for (int m = 0; m < DEVICE_N; m++) { /* each optional, in device_members' order */
        const char *scan = device_members[m].scan, *v;
        size_t v_n;
        if (scan_lit(&s, scan, strlen(scan)) &&
            (!scan_str(&s, &v, &v_n) || !device_take(&e.device, m, v, v_n))) {
            return FAST_NOT_MINE;
        }
    }
    if (SCAN_LIT(&s, ",\"visit\":") && !(has_visit = scan_visit(&s, &vr, f, n))) {
        return FAST_NOT_MINE;
    }
    if (SCAN_LIT(&s, ",\"properties\":") && (props = scan_properties(&s)) == NULL) {
        return jsonmem_failures() != failures ? FAST_NO_MEMORY : FAST_NOT_MINE;
    }
    /* The visit where envelope_encode() writes it (above), or last, where ingest's former push
     * script spliced it (envelopes queued before the processor assigned visits): both are this
     * form. */
    if ((SCAN_LIT(&s, ",\"rid\":") &&
         (!scan_str(&s, &f[F_RID], &n[F_RID]) || !event_request_id_valid(f[F_RID], n[F_RID]))) ||
        (!has_visit && SCAN_LIT(&s, ",\"visit\":") && !(has_visit = scan_visit(&s, &vr, f, n))) ||
        !SCAN_LIT(&s, "}") || s.p != s.end || !event_plain_strings_valid(f, n) ||
        check_times(&e, NULL) != 0) {
        json_decref(props);
        return FAST_NOT_MINE;
    }
    for (int i = 0; i < F_N; i++) {
        need += n[i];
    }
    /* Without a visit at most 2,693 bytes with the NULs (checked above); a visit's paths may
     * take more. */
    if (need > sizeof local && (text = malloc(need)) == NULL) {
        json_decref(props);
        return FAST_NO_MEMORY;
    }
    for (int i = 0; i < F_N; i++) {
        off[i] = at;
        if (f[i] != NULL) {
            memcpy(text + at, f[i], n[i]);
            at += n[i];
        }
        text[at++] = '\0';
    }
    memcpy(e.id, id, id_n);
    e.id[id_n] = '\0';
    if (dlv != NULL) {
        memcpy(e.delivery, dlv, dlv_n);
        e.delivery[dlv_n] = '\0';
    }
    e.site_id = text + off[F_SITE]; /* for visit_check(); set again below */
    if (has_visit) {
        for (size_t k = 0; k < sizeof visit_strings / sizeof visit_strings[0]; k++) {
            vr.s[visit_strings[k][1]] = text + off[visit_strings[k][0]];
            vr.len[visit_strings[k][1]] = n[visit_strings[k][0]];
        }
    }
    if (!event_doc_id_valid(e.id, text + off[F_SITE]) ||
        (dlv != NULL && !event_id_valid(e.delivery)) ||
        (has_visit && visit_check(&vr, &e, NULL) != 0)) {
        json_decref(props);
        rc = FAST_NOT_MINE;
        goto done;
    }
    if ((src = fast_src(text, at, props)) == NULL || jsonmem_failures() != failures) {
        json_decref(src);
        rc = FAST_NO_MEMORY;
        goto done;
    }
    t = json_string_value(json_is_array(src) ? json_array_get(src, 0) : src);
    if (has_visit) {
        e.visit.id = t + off[F_VID];
        e.visit.e = e.visit.e != NULL ? t + off[F_VE] : NULL;
        e.visit.x = e.visit.x != NULL ? t + off[F_VX] : NULL;
        e.visit.xo = e.visit.xo != NULL ? t + off[F_VXO] : NULL;
        for (int k = 0; k < EVENT_N_ATTRS; k++) {
            e.visit.va.attr[k] = f[F_VA + k] != NULL ? t + off[F_VA + k] : NULL;
        }
    }
    e.site_id = t + off[F_SITE];
    e.event_type = t + off[F_TYPE];
    e.path = f[F_PATH] != NULL ? t + off[F_PATH] : NULL;
    e.user_id = f[F_USER] != NULL ? t + off[F_USER] : NULL;
    e.request_id = f[F_RID] != NULL ? t + off[F_RID] : NULL;
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        e.attr[k] = f[F_ATT + k] != NULL ? t + off[F_ATT + k] : NULL;
    }
    e.properties = json_is_array(src) ? json_array_get(src, 1) : NULL; /* borrowed from src */
    e.src = src;
    *ev = e;
    rc = 0;
done:
    if (text != local) {
        free(text);
    }
    return rc;
}
