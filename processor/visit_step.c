/* visit_step.c - one event's step through its visitor's visit (visit_step.h). */
#include "visit_step.h"

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
        m->n = 1;
    } else if (in->received_ms > st->last_received) {
        st->last_received = in->received_ms;
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
    if (in->class == 'p') {
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
    } else if (in->class == 'i') {
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
