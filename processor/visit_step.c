/* visit_step.c - one event's step through its visitor's visit (visit_step.h). */
#include "visit_step.h"

#include <stdint.h>
#include <string.h>

/* Copy src into dst, of size bytes (a longer src cut there: ids and paths are validated to
 * fit before they get here). */
static void
set_text(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Keep ev's attribution, device and country in st (none without ev). */
static void
keep_attr(struct visit_state *st, const struct event *ev)
{
    if (ev == NULL) {
        return;
    }
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        if (ev->attr[k] != NULL) {
            set_text(st->attr[k], sizeof st->attr[k], ev->attr[k]);
        }
    }
    st->device = ev->device;
    memcpy(st->country, ev->country, sizeof st->country);
}

/* The visit's attribution, device and country of st into m's va (its strings into st). */
static void
give_attr(const struct visit_state *st, struct event_visit *m)
{
    m->has_va = 1;
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        m->va.attr[k] = st->attr[k][0] != '\0' ? st->attr[k] : NULL;
    }
    m->va.device = st->device;
    memcpy(m->va.country, st->country, sizeof m->va.country);
}

/* Whether a visit with these figures is a bounce: exactly one page view, no interaction. */
static int
bounce(int page_views, int interacted)
{
    return page_views == 1 && !interacted;
}

void
visit_step(struct visit_state *st, const struct visit_input *in, int64_t timeout_ms,
           struct event_visit *m, char old_exit[EVENT_PATH_MAX + 1])
{
    int pv, it, entered = 0, moved = 0, b0, b1;
    int64_t d0;

    memset(m, 0, sizeof *m);
    old_exit[0] = '\0';
    if (!st->live || in->received_ms - st->last_received > timeout_ms) {
        memset(st, 0, sizeof *st);
        st->live = 1;
        st->last_received = in->received_ms;
        st->min_ts = st->max_ts = st->start_ms = in->ts_ms;
        set_text(st->id, sizeof st->id, in->id);
        keep_attr(st, in->own);
        m->n = 1;
    } else {
        if (in->received_ms > st->last_received) {
            st->last_received = in->received_ms;
        }
        give_attr(st, m);
    }
    d0 = st->max_ts - st->min_ts;
    st->seq++;
    if (in->ts_ms < st->min_ts) {
        st->min_ts = in->ts_ms;
    }
    if (in->ts_ms > st->max_ts) {
        st->max_ts = in->ts_ms;
    }
    pv = st->page_views;
    it = st->interacted;
    b0 = bounce(pv, it);
    if (in->class == VISIT_PAGE_VIEW) {
        pv += pv < 2;
        if (in->path != NULL && in->path[0] != '\0') {
            if (st->entry[0] == '\0') {
                set_text(st->entry, sizeof st->entry, in->path);
                entered = 1;
            }
            if (strcmp(st->exit, in->path) != 0) {
                memcpy(old_exit, st->exit, strlen(st->exit) + 1);
                set_text(st->exit, sizeof st->exit, in->path);
                moved = 1;
            }
        }
    } else if (in->class == VISIT_INTERACTION) {
        it = 1;
    }
    st->page_views = pv;
    st->interacted = it;
    b1 = bounce(pv, it);
    m->id = st->id;
    m->seq = st->seq;
    m->start_ms = st->start_ms;
    m->b = b1 - b0;
    m->d = st->max_ts - st->min_ts - d0;
    m->en = entered;
    m->eb = entered ? b1 : m->b;
    if (st->entry[0] != '\0' && (entered || m->eb != 0)) {
        m->e = st->entry;
    } else {
        m->eb = 0;
    }
    m->xn = moved;
    m->xb = moved ? b1 : st->exit[0] == '\0' ? 0 : m->b;
    if (st->exit[0] != '\0' && (moved || m->xb != 0)) {
        m->x = st->exit;
    }
    if (moved && old_exit[0] != '\0') {
        m->xo = old_exit;
        m->xob = b0;
    }
}

char
visit_class(const char *event_type)
{
    if (strcmp(event_type, "page_view") == 0) {
        return VISIT_PAGE_VIEW;
    }
    if (strcmp(event_type, "scroll") == 0 || strcmp(event_type, "mousemove") == 0) {
        return VISIT_PASSIVE;
    }
    return VISIT_INTERACTION;
}

static char *
put_i64(char *p, int64_t v)
{
    uint64_t u = (uint64_t)v;

    for (int i = 0; i < 8; i++) {
        p[i] = (char)(u >> (8 * i));
    }
    return p + 8;
}

static char *
put_text(char *p, const char *s)
{
    size_t n = strlen(s);

    p[0] = (char)(n & 0xff);
    p[1] = (char)(n >> 8);
    memcpy(p + 2, s, n);
    return p + 2 + n;
}

size_t
visit_state_pack(const struct visit_state *st, char *out)
{
    char *p = out;

    *p++ = 'V';
    *p++ = '2';
    p = put_i64(p, st->seq);
    p = put_i64(p, st->last_received);
    p = put_i64(p, st->min_ts);
    p = put_i64(p, st->max_ts);
    p = put_i64(p, st->start_ms);
    *p++ = (char)st->page_views;
    *p++ = (char)st->interacted;
    p = put_text(p, st->id);
    p = put_text(p, st->entry);
    p = put_text(p, st->exit);
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        p = put_text(p, st->attr[k]);
    }
    p = put_text(p, st->device.browser);
    p = put_text(p, st->device.browser_version);
    p = put_text(p, st->device.os);
    p = put_text(p, st->device.os_version);
    p = put_text(p, st->device.device);
    p = put_text(p, st->country);
    return (size_t)(p - out);
}

/* A reader of packed bytes: fails (p = NULL) at the first read past the end. */
struct reader {
    const unsigned char *p, *end;
};

static int64_t
get_i64(struct reader *r)
{
    uint64_t u = 0;

    if (r->p == NULL || r->end - r->p < 8) {
        r->p = NULL;
        return 0;
    }
    for (int i = 0; i < 8; i++) {
        u |= (uint64_t)r->p[i] << (8 * i);
    }
    r->p += 8;
    return (int64_t)u;
}

static int
get_byte(struct reader *r)
{
    if (r->p == NULL || r->p == r->end) {
        r->p = NULL;
        return 0;
    }
    return *r->p++;
}

/* A text of at most size - 1 bytes, without NUL, into dst. */
static void
get_text(struct reader *r, char *dst, size_t size)
{
    size_t n = (size_t)get_byte(r);

    n |= (size_t)get_byte(r) << 8;
    if (r->p == NULL || n >= size || (size_t)(r->end - r->p) < n || memchr(r->p, 0, n) != NULL) {
        r->p = NULL;
        return;
    }
    memcpy(dst, r->p, n);
    dst[n] = '\0';
    r->p += n;
}

int
visit_state_unpack(const char *buf, size_t len, struct visit_state *st)
{
    struct reader r = {(const unsigned char *)buf, (const unsigned char *)buf + len};

    memset(st, 0, sizeof *st);
    if (len < 2 || buf[0] != 'V' || buf[1] != '2') {
        return -1;
    }
    r.p += 2;
    st->seq = get_i64(&r);
    st->last_received = get_i64(&r);
    st->min_ts = get_i64(&r);
    st->max_ts = get_i64(&r);
    st->start_ms = get_i64(&r);
    st->page_views = get_byte(&r);
    st->interacted = get_byte(&r);
    get_text(&r, st->id, sizeof st->id);
    get_text(&r, st->entry, sizeof st->entry);
    get_text(&r, st->exit, sizeof st->exit);
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        get_text(&r, st->attr[k], sizeof st->attr[k]);
    }
    get_text(&r, st->device.browser, sizeof st->device.browser);
    get_text(&r, st->device.browser_version, sizeof st->device.browser_version);
    get_text(&r, st->device.os, sizeof st->device.os);
    get_text(&r, st->device.os_version, sizeof st->device.os_version);
    get_text(&r, st->device.device, sizeof st->device.device);
    get_text(&r, st->country, sizeof st->country);
    if (r.p == NULL || r.p != r.end || st->seq < 1 || st->page_views > 2 || st->interacted > 1 ||
        st->id[0] == '\0' || st->min_ts > st->max_ts || strlen(st->country) == 1) {
        memset(st, 0, sizeof *st);
        return -1;
    }
    st->live = 1;
    return 0;
}
