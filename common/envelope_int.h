/* envelope_int.h - what the envelope's own files share, and no other file includes:
 * envelope.c (the format, its encoder and the jansson decoder), envelope_visit.c (the visit
 * member: its encoding and its rules) and envelope_fast.c (the decoder's fast path). */
#ifndef COMMON_ENVELOPE_INT_H
#define COMMON_ENVELOPE_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "envelope.h"

/* A growing output string; failed is set once an allocation fails. Not kept
 * NUL-terminated as it grows (envelope_encode() ends it), but room for the NUL is. */
struct out {
    char *buf;
    size_t len, cap;
    int failed;
};

/* Make room for n more bytes (and the NUL), or set o->failed. */
void grow(struct out *o, size_t n);

/* Append s[0..n). */
static inline void
put(struct out *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        grow(o, n);
        if (o->failed) {
            return;
        }
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

/* Append prefix[0..plen), then v (up to end, or to a NUL before it) as a JSON string. */
void put_string_n(struct out *o, const char *prefix, size_t plen, const char *v, const char *end);

/* Append ,"key":"v", v's first n bytes (PUT_STRING_N) or all of it. */
#define PUT_STRING_N(o, key, v, n)                                                                 \
    put_string_n(o, ",\"" key "\":\"", sizeof(",\"" key "\":\"") - 1, v, (v) + (n))
#define PUT_STRING(o, key, v) PUT_STRING_N(o, key, v, strlen(v))

/* Append v in decimal. */
void put_num(struct out *o, int64_t v);

/* Append ,"key":<v>. */
#define PUT_INT(o, key, v)                                                                         \
    do {                                                                                           \
        put(o, ",\"" key "\":", sizeof(",\"" key "\":") - 1);                                      \
        put_num(o, v);                                                                             \
    } while (0)

static inline size_t
len_or_0(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

/* The rule of each member of "att" for both decoders: 1-EVENT_ATTR_MAX bytes. */
#define ATT_FITS(n) ((n) >= 1 && (n) <= EVENT_ATTR_MAX)

/* The envelope's names of the attribution's members (enum event_attr, "att" and "visit.va"). */
extern const char *const att_keys[EVENT_N_ATTRS];

/* The rules of "vy" and "cc" for both decoders, and of the times (envelope.c). */
int take_visitor_id(const char *s, size_t n, char *out);
int take_country(const char *s, size_t n, char *out);
int check_times(const struct event *ev, struct app_err *err);

/* The members of "visit", in the order envelope_encode() writes them. */
enum {
    V_ID,
    V_S,
    V_START,
    V_N,
    V_B,
    V_D,
    V_E,
    V_EN,
    V_EB,
    V_X,
    V_XN,
    V_XB,
    V_XO,
    V_XOB,
    V_MEMBERS
};

/* What a decoder found in "visit": each member present or not, a string (its bytes, as
 * jansson reads them) or an integer, or neither. */
struct visit_raw {
    unsigned char present[V_MEMBERS], is_str[V_MEMBERS], is_int[V_MEMBERS];
    const char *s[V_MEMBERS];
    size_t len[V_MEMBERS];
    int64_t i[V_MEMBERS];
    int has_va;                 /* "va" read (by the fast path: checked, strings aside) */
    struct event_visit_attr va; /* its device and country; its strings are set later */
};

/* The rules of "visit" for both decoders (envelope_visit.c): visit_check() checks what a
 * decoder found and fills ev->visit; take_visit() reads jansson's "visit" (NULL: none). Each
 * returns 0, or -1 with err set. */
int visit_check(const struct visit_raw *r, struct event *ev, struct app_err *err);
int take_visit(json_t *visit, struct event *ev, struct app_err *err);

/* Append ,"visit":{...} of v, and the room its object takes, escapes aside
 * (envelope_visit.c). */
void put_visit(struct out *o, const struct event_visit *v);
size_t visit_room(const struct event_visit *v);

/* The fast path of envelope_decode() (envelope_fast.c): 0 with ev filled, FAST_NOT_MINE when
 * the envelope is not of the form it reads (the jansson decoder then reads it), or
 * FAST_NO_MEMORY. */
#define FAST_NOT_MINE 1
#define FAST_NO_MEMORY (-1)
int decode_fast(const char *buf, size_t len, struct event *ev);

#endif
