/* envelope_visit.c - the envelope's "visit" member: its encoding (and an envelope's with one
 * added) and its rules, for both decoders. */
#include "envelope.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "envelope_int.h"
#include "jsonmem.h"

/* Append ,"va":{...}, the visit's attribution, device and country: the members of a, each only
 * when set, in the order the fast path of the decoder reads them (scan_va()): the attribution's
 * (att_keys[]), the device's (device_members[]), "cc". */
static void
put_va(struct out *o, const struct event_visit_attr *a)
{
    const char *sep = "\"";

    put(o, ",\"va\":{", 7);
    for (int k = 0; k < EVENT_N_ATTRS + DEVICE_N + 1; k++) {
        const char *key, *v;
        if (k < EVENT_N_ATTRS) {
            key = att_keys[k];
            v = a->attr[k] != NULL ? a->attr[k] : "";
        } else if (k < EVENT_N_ATTRS + DEVICE_N) {
            key = device_members[k - EVENT_N_ATTRS].key;
            v = device_get(&a->device, k - EVENT_N_ATTRS);
        } else {
            key = "cc";
            v = a->country;
        }
        if (v[0] != '\0') {
            put(o, sep, strlen(sep));
            put(o, key, strlen(key));
            put_string_n(o, "\":\"", 3, v, v + strlen(v));
            sep = ",\"";
        }
    }
    put(o, "}", 1);
}

/* Append the object {...} of visit v: its members in the order the fast path of the decoder
 * reads them (scan_visit()), e, x and xo only when set, eb only with e, xob only with xo, va
 * only when has_va. */
static void
put_visit_object(struct out *o, const struct event_visit *v)
{
    put(o, "{", 1);
    put_string_n(o, "\"id\":\"", 6, v->id, v->id + strlen(v->id));
    PUT_INT(o, "s", v->seq);
    PUT_INT(o, "start", v->start_ms);
    PUT_INT(o, "n", v->n);
    PUT_INT(o, "b", v->b);
    PUT_INT(o, "d", v->d);
    if (v->e != NULL) {
        PUT_STRING(o, "e", v->e);
    }
    PUT_INT(o, "en", v->en);
    if (v->e != NULL) {
        PUT_INT(o, "eb", v->eb);
    }
    if (v->x != NULL) {
        PUT_STRING(o, "x", v->x);
    }
    PUT_INT(o, "xn", v->xn);
    PUT_INT(o, "xb", v->xb);
    if (v->xo != NULL) {
        PUT_STRING(o, "xo", v->xo);
        PUT_INT(o, "xob", v->xob);
    }
    if (v->has_va) {
        put_va(o, &v->va);
    }
    put(o, "}", 1);
}

/* Append ,"visit":{...}. */
void
put_visit(struct out *o, const struct event_visit *v)
{
    put(o, ",\"visit\":", 9);
    put_visit_object(o, v);
}

/* Room for visit v's object, escapes aside: its fixed part and its strings. */
size_t
visit_room(const struct event_visit *v)
{
    size_t n = 160 + len_or_0(v->id) + len_or_0(v->e) + len_or_0(v->x) + len_or_0(v->xo);

    if (v->has_va) {
        n += 120 + sizeof v->va.device + sizeof v->va.country;
        for (int k = 0; k < EVENT_N_ATTRS; k++) {
            n += len_or_0(v->va.attr[k]);
        }
    }
    return n;
}

char *
envelope_visit_encode(const struct event_visit *v, size_t *len)
{
    struct out o = {0};

    o.cap = visit_room(v);
    if ((o.buf = malloc(o.cap)) == NULL) {
        return NULL;
    }
    put_visit_object(&o, v);
    if (o.failed) {
        free(o.buf);
        return NULL;
    }
    o.buf[o.len] = '\0';
    *len = o.len;
    return o.buf;
}

char *
envelope_with_visit(const char *env, size_t len, const char *member, size_t member_len,
                    size_t *out_len)
{
    static const char key[] = ",\"visit\":";
    size_t n;
    char *out;

    if (len < 2 || env[len - 1] != '}') {
        return NULL;
    }
    n = len - 1 + sizeof key - 1 + member_len + 1;
    if ((out = malloc(n + 1)) == NULL) {
        return NULL;
    }
    memcpy(out, env, len - 1);
    memcpy(out + len - 1, key, sizeof key - 1);
    memcpy(out + len - 1 + sizeof key - 1, member, member_len);
    out[n - 1] = '}';
    out[n] = '\0';
    *out_len = n;
    return out;
}

int
envelope_event_with_visit(struct event *ev, const struct event_visit *v)
{
    enum { N_STRS = 4 + EVENT_N_ATTRS };
    const char *strs[N_STRS] = {v->id, v->e, v->x, v->xo};
    size_t len[N_STRS], at = 0;
    char local[4 * (EVENT_PATH_MAX + 1)], *text;
    json_t *held, *src;
    const char *t;

    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        strs[4 + k] = v->has_va ? v->va.attr[k] : NULL;
    }
    for (int i = 0; i < N_STRS; i++) {
        len[i] = strs[i] != NULL ? strlen(strs[i]) : 0;
        at += len[i] + 1;
    }
    text = at <= sizeof local ? local : malloc(at);
    if (text == NULL) {
        return -1;
    }
    at = 0;
    for (int i = 0; i < N_STRS; i++) {
        memcpy(text + at, strs[i] != NULL ? strs[i] : "", len[i]);
        at += len[i];
        text[at++] = '\0';
    }
    held = json_stringn_nocheck(text, at);
    if (text != local) {
        free(text);
    }
    if (held == NULL || (src = json_array()) == NULL) {
        json_decref(held);
        return -1;
    }
    if (json_array_append(src, ev->src) != 0) {
        json_decref(held);
        json_decref(src);
        return -1;
    }
    if (json_array_append_new(src, held) != 0) { /* which releases held */
        json_decref(src);
        return -1;
    }
    json_decref(ev->src); /* src holds it now */
    ev->src = src;
    t = json_string_value(held);
    ev->visit = *v;
    ev->visit.id = t;
    t += len[0] + 1;
    ev->visit.e = v->e != NULL ? t : NULL;
    t += len[1] + 1;
    ev->visit.x = v->x != NULL ? t : NULL;
    t += len[2] + 1;
    ev->visit.xo = v->xo != NULL ? t : NULL;
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        t += len[3 + k] + 1;
        ev->visit.va.attr[k] = strs[4 + k] != NULL ? t : NULL;
    }
    /* What the envelope leaves out (put_visit_object()) decodes as 0, or "". */
    ev->visit.eb = v->e != NULL ? v->eb : 0;
    ev->visit.xob = v->xo != NULL ? v->xob : 0;
    if (!v->has_va) {
        memset(&ev->visit.va, 0, sizeof ev->visit.va);
    }
    ev->has_visit = 1;
    return 0;
}

/* Each member's rule, and the reason its value breaks it. */
enum visit_rule { R_ID, R_SEQ, R_TIME, R_01, R_SIGN, R_DUR, R_PATH };
static const struct {
    const char *name;
    enum visit_rule rule;
} visit_members[V_MEMBERS] = {
    [V_ID] = {"id", R_ID},   [V_S] = {"s", R_SEQ},    [V_START] = {"start", R_TIME},
    [V_N] = {"n", R_01},     [V_B] = {"b", R_SIGN},   [V_D] = {"d", R_DUR},
    [V_E] = {"e", R_PATH},   [V_EN] = {"en", R_01},   [V_EB] = {"eb", R_SIGN},
    [V_X] = {"x", R_PATH},   [V_XN] = {"xn", R_01},   [V_XB] = {"xb", R_SIGN},
    [V_XO] = {"xo", R_PATH}, [V_XOB] = {"xob", R_01},
};
static const char *const visit_reasons[] = {
    [R_ID] = "is not a valid event id",
    [R_SEQ] = "is not an integer of at least 1",
    [R_TIME] = "is not an integer time within years 0001-9999",
    [R_01] = "is not 0 or 1",
    [R_SIGN] = "is not -1, 0 or 1",
    [R_DUR] = "is not an integer of at least 0",
    [R_PATH] = "is not a string of at most 2048 bytes",
};

/* Whether member m of r keeps its rule. */
static int
visit_member_ok(const struct visit_raw *r, int m, const char *site_id)
{
    int64_t v = r->i[m];

    switch (visit_members[m].rule) {
    case R_ID:
        return r->is_str[m] && r->len[m] <= EVENT_DOC_ID_MAX && strlen(r->s[m]) == r->len[m] &&
               event_doc_id_valid(r->s[m], site_id);
    case R_PATH:
        return r->is_str[m] && event_string_fits(EVENT_PATH, r->len[m]);
    case R_SEQ:
        return r->is_int[m] && v >= 1;
    case R_TIME:
        return r->is_int[m] && event_time_valid(v);
    case R_01:
        return r->is_int[m] && (v == 0 || v == 1);
    case R_SIGN:
        return r->is_int[m] && v >= -1 && v <= 1;
    case R_DUR:
        return r->is_int[m] && v >= 0;
    }
    return 0;
}

/* The rules of "visit" (the contract: docs/design.md, Visits), for both decoders: every member
 * required but e, eb, x and xo, and xob required with xo only (ignored without it); each
 * present one keeps its rule; then e is there when en is 1, eb exactly when e is (an eb without
 * e is refused, not ignored as xob is: it would be a bounce change with no page to add it on),
 * x when xn is 1 or xb is not 0, and xo only when the exit moved (x there, xn 1). Fills
 * ev->visit (its strings are r's) and sets has_visit; or -1 with err, ev untouched. */
int
visit_check(const struct visit_raw *r, struct event *ev, struct app_err *err)
{
    struct event_visit v;

    for (int m = 0; m < V_MEMBERS; m++) {
        int optional =
            m == V_E || m == V_EB || m == V_X || m == V_XO || (m == V_XOB && !r->present[V_XO]);
        if (!r->present[m] || (m == V_XOB && !r->present[V_XO])) {
            if (!optional) {
                return err_set(err, ERR_INVALID, "envelope field 'visit.%s' is missing",
                               visit_members[m].name);
            }
            continue;
        }
        if (!visit_member_ok(r, m, ev->site_id)) {
            return err_set(err, ERR_INVALID, "envelope field 'visit.%s' %s", visit_members[m].name,
                           visit_reasons[visit_members[m].rule]);
        }
    }
    if (r->i[V_EN] == 1 && !r->present[V_E]) {
        return err_set(err, ERR_INVALID, "envelope field 'visit.e' is missing with en 1");
    }
    if (r->present[V_E] && !r->present[V_EB]) {
        return err_set(err, ERR_INVALID, "envelope field 'visit.eb' is missing with e");
    }
    if (r->present[V_EB] && !r->present[V_E]) {
        return err_set(err, ERR_INVALID, "envelope field 'visit.eb' is present without e");
    }
    if ((r->i[V_XN] == 1 || r->i[V_XB] != 0) && !r->present[V_X]) {
        return err_set(err, ERR_INVALID,
                       "envelope field 'visit.x' is missing with xn 1 or xb not 0");
    }
    if (r->present[V_XO] && (!r->present[V_X] || r->i[V_XN] != 1)) {
        return err_set(err, ERR_INVALID,
                       "envelope field 'visit.xo' is present without a move of x");
    }
    v.id = r->s[V_ID];
    v.seq = r->i[V_S];
    v.start_ms = r->i[V_START];
    v.n = (int)r->i[V_N];
    v.b = (int)r->i[V_B];
    v.d = r->i[V_D];
    v.e = r->present[V_E] ? r->s[V_E] : NULL;
    v.en = (int)r->i[V_EN];
    v.eb = r->present[V_E] ? (int)r->i[V_EB] : 0;
    v.x = r->present[V_X] ? r->s[V_X] : NULL;
    v.xn = (int)r->i[V_XN];
    v.xb = (int)r->i[V_XB];
    v.xo = r->present[V_XO] ? r->s[V_XO] : NULL;
    v.xob = r->present[V_XO] ? (int)r->i[V_XOB] : 0;
    v.has_va = r->has_va;
    v.va = r->va;
    ev->visit = v;
    ev->has_visit = 1;
    return 0;
}

/* The jansson path's "visit.va" (any JSON value; NULL when absent) checked into v: the rules of
 * the envelope's own "att" members, device members and "cc" (unknown members ignored). Returns
 * 0, or -1 with err set. */
static int
take_va(json_t *va, struct event_visit *v, struct app_err *err)
{
    static const char device_reason[] = "envelope field '";
    json_t *cc;

    if (va == NULL) {
        return 0;
    }
    if (!json_is_object(va)) {
        return err_set(err, ERR_INVALID, "envelope field 'visit.va' is not an object");
    }
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        json_t *a = json_object_get(va, att_keys[k]);
        if (a != NULL && (!json_is_string(a) || !ATT_FITS(json_string_length(a)))) {
            return err_set(err, ERR_INVALID,
                           "envelope field 'visit.va.%s' is not a string of 1-%d bytes",
                           att_keys[k], EVENT_ATTR_MAX);
        }
        v->va.attr[k] = json_string_value(a);
    }
    for (int m = 0; m < DEVICE_N; m++) {
        json_t *d = json_object_get(va, device_members[m].key);
        if (d != NULL && (!json_is_string(d) || !device_take(&v->va.device, m, json_string_value(d),
                                                             json_string_length(d)))) {
            /* "envelope field 'visit.va.br' is not ...": the envelope's own reason, renamed */
            return err_set(err, ERR_INVALID, "envelope field 'visit.va.%s",
                           device_members[m].reason + sizeof device_reason - 1);
        }
    }
    cc = json_object_get(va, "cc");
    if (cc != NULL &&
        (!json_is_string(cc) ||
         !take_country(json_string_value(cc), json_string_length(cc), v->va.country))) {
        return err_set(err, ERR_INVALID,
                       "envelope field 'visit.va.cc' is not a country code (two letters A-Z)");
    }
    v->has_va = 1;
    return 0;
}

/* The jansson path's "visit" (any JSON value; NULL when absent) checked into ev. */
int
take_visit(json_t *visit, struct event *ev, struct app_err *err)
{
    struct visit_raw r;

    if (visit == NULL) {
        return 0;
    }
    if (!json_is_object(visit)) {
        return err_set(err, ERR_INVALID, "envelope field 'visit' is not an object");
    }
    memset(&r, 0, sizeof r);
    for (int m = 0; m < V_MEMBERS; m++) {
        json_t *v = json_object_get(visit, visit_members[m].name);
        r.present[m] = v != NULL;
        if (json_is_string(v)) {
            r.is_str[m] = 1;
            r.s[m] = json_string_value(v);
            r.len[m] = json_string_length(v);
        } else if (json_is_integer(v)) {
            r.is_int[m] = 1;
            r.i[m] = json_integer_value(v);
        }
    }
    if (visit_check(&r, ev, err) != 0) {
        return -1;
    }
    return take_va(json_object_get(visit, "va"), &ev->visit, err);
}
