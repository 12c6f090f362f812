/* test_visit_step.c - processor/visit_step.c by table: sequences of one visitor's events in
 * arrival order, each with the visit member it must get (the rules of docs/design.md,
 * "Visits", which the processor's assignment applies to each claimed event); the state's
 * packed form (visit_state_pack(), what Redis keeps between batches) and visit_class(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "visit_step.h"

#define T0 1765000000000LL
#define TIMEOUT 1800000LL

/* One event and the member it must get, written as the envelope writes it (absent members
 * left out): "id s start n b d [e en eb | en] [x] xn xb [xo xob]". */
struct step {
    const char *id;
    int64_t ts, rcv; /* ms after T0 */
    char class;
    const char *path;
    const char *want;
};

/* The member as text, in the envelope's order and form. */
static void
member_text(const struct event_visit *m, char *out, size_t n)
{
    int k = snprintf(out, n, "%s %lld %lld n%d b%d d%lld", m->id, (long long)m->seq,
                     (long long)(m->start_ms - T0), m->n, m->b, (long long)m->d);
    if (m->e != NULL) {
        k += snprintf(out + k, n - (size_t)k, " e%s en%d eb%d", m->e, m->en, m->eb);
    } else {
        k += snprintf(out + k, n - (size_t)k, " en%d", m->en);
    }
    if (m->x != NULL) {
        k += snprintf(out + k, n - (size_t)k, " x%s", m->x);
    }
    k += snprintf(out + k, n - (size_t)k, " xn%d xb%d", m->xn, m->xb);
    if (m->xo != NULL) {
        snprintf(out + k, n - (size_t)k, " xo%s xob%d", m->xo, m->xob);
    }
}

static void
run(const char *name, const struct step *steps, size_t n)
{
    struct visit_state st;
    char old_exit[EVENT_PATH_MAX + 1], got[512];

    memset(&st, 0, sizeof st);
    for (size_t i = 0; i < n; i++) {
        const struct step *s = &steps[i];
        struct visit_input in = {s->id, T0 + s->ts, T0 + s->rcv, s->class, s->path, NULL};
        struct event_visit m;
        visit_step(&st, &in, TIMEOUT, &m, old_exit);
        member_text(&m, got, sizeof got);
        if (strcmp(got, s->want) != 0) {
            fail_msg("%s, event %zu: \"%s\", not \"%s\"", name, i + 1, got, s->want);
        }
    }
}

#define RUN(name, ...)                                                                             \
    do {                                                                                           \
        static const struct step steps_[] = {__VA_ARGS__};                                         \
        run(name, steps_, sizeof steps_ / sizeof steps_[0]);                                       \
    } while (0)

static void
test_shapes(void **state)
{
    (void)state;
    RUN("a bounce", {"a1", 0, 0, 'p', "/a", "a1 1 0 n1 b1 d0 e/a en1 eb1 x/a xn1 xb1"});
    RUN("a bounce ended by a click",
        {"a1", 0, 0, 'p', "/a", "a1 1 0 n1 b1 d0 e/a en1 eb1 x/a xn1 xb1"},
        {"a2", 2000, 2000, 'i', NULL, "a1 2 0 n0 b-1 d2000 e/a en0 eb-1 x/a xn0 xb-1"});
    RUN("two pages: the exit moves",
        {"a1", 0, 0, 'p', "/a", "a1 1 0 n1 b1 d0 e/a en1 eb1 x/a xn1 xb1"},
        {"a2", 5000, 5000, 'p', "/b", "a1 2 0 n0 b-1 d5000 e/a en0 eb-1 x/b xn1 xb0 xo/a xob1"},
        {"a3", 6000, 6000, 'p', "/a", "a1 3 0 n0 b0 d1000 en0 x/a xn1 xb0 xo/b xob0"},
        {"a4", 7000, 7000, 's', NULL, "a1 4 0 n0 b0 d1000 en0 xn0 xb0"});
    RUN("the same page again: no move",
        {"a1", 0, 0, 'p', "/a", "a1 1 0 n1 b1 d0 e/a en1 eb1 x/a xn1 xb1"},
        {"a2", 1000, 1000, 'p', "/a", "a1 2 0 n0 b-1 d1000 e/a en0 eb-1 x/a xn0 xb-1"});
    RUN("scrolls and moves only: no page, no bounce",
        {"a1", 0, 0, 's', NULL, "a1 1 0 n1 b0 d0 en0 xn0 xb0"},
        {"a2", 3000, 3000, 's', NULL, "a1 2 0 n0 b0 d3000 en0 xn0 xb0"});
    RUN("clicks only: no bounce", {"a1", 0, 0, 'i', NULL, "a1 1 0 n1 b0 d0 en0 xn0 xb0"},
        {"a2", 0, 10, 'p', "/a", "a1 2 0 n0 b0 d0 e/a en1 eb0 x/a xn1 xb0"});
    RUN("a first page view without a path: a bounce without entry or exit, then one with",
        {"a1", 0, 0, 'p', NULL, "a1 1 0 n1 b1 d0 en0 xn0 xb0"},
        {"a2", 1000, 1000, 'p', "/b", "a1 2 0 n0 b-1 d1000 e/b en1 eb0 x/b xn1 xb0"});
}

/* New visit or not: by arrival, a gap over the timeout starts one (the timeout itself does
 * not); event times only stretch the duration, in any order. */
static void
test_gaps_and_times(void **state)
{
    (void)state;
    RUN("a gap of exactly the timeout continues",
        {"a1", 0, 0, 'p', "/a", "a1 1 0 n1 b1 d0 e/a en1 eb1 x/a xn1 xb1"},
        {"a2", 5, TIMEOUT, 'i', NULL, "a1 2 0 n0 b-1 d5 e/a en0 eb-1 x/a xn0 xb-1"});
    RUN("a gap over the timeout starts a visit with the event's id and time",
        {"a1", 0, 0, 'p', "/a", "a1 1 0 n1 b1 d0 e/a en1 eb1 x/a xn1 xb1"},
        {"b1", 7, TIMEOUT + 1, 'p', "/b", "b1 1 7 n1 b1 d0 e/b en1 eb1 x/b xn1 xb1"},
        {"b2", 3, TIMEOUT + 2, 'i', NULL, "b1 2 7 n0 b-1 d4 e/b en0 eb-1 x/b xn0 xb-1"});
    RUN("times out of order: the span grows both ways",
        {"a1", 10000, 0, 's', NULL, "a1 1 10000 n1 b0 d0 en0 xn0 xb0"},
        {"a2", 4000, 1, 's', NULL, "a1 2 10000 n0 b0 d6000 en0 xn0 xb0"},
        {"a3", 12000, 2, 's', NULL, "a1 3 10000 n0 b0 d2000 en0 xn0 xb0"},
        {"a4", 5000, 3, 's', NULL, "a1 4 10000 n0 b0 d0 en0 xn0 xb0"});
    /* Two ingests' clocks: an arrival before the latest neither ends nor moves the visit. */
    RUN("an earlier arrival does not move the latest",
        {"a1", 0, 1000, 's', NULL, "a1 1 0 n1 b0 d0 en0 xn0 xb0"},
        {"a2", 0, 500, 's', NULL, "a1 2 0 n0 b0 d0 en0 xn0 xb0"},
        {"a3", 0, 1000 + TIMEOUT, 's', NULL, "a1 3 0 n0 b0 d0 en0 xn0 xb0"});
}

/* A state packs and unpacks to itself, and anything else unpacks to no state. */
static void
test_state_pack(void **unused)
{
    static char buf[VISIT_STATE_PACKED_MAX], big[VISIT_STATE_PACKED_MAX + 8];
    struct visit_state st, back;
    size_t n;

    memset(&st, 0, sizeof st); /* padding included: the states are compared as bytes */
    st.live = 1;
    st.seq = 3;
    st.last_received = T0 + 5;
    st.min_ts = -62135596800000LL;
    st.max_ts = 253402300799999LL;
    st.start_ms = T0;
    st.page_views = 2;
    st.interacted = 1;
    (void)unused;
    strcpy(st.id, "site:a\"b");
    strcpy(st.entry, "/\u00e9t\u00e9?");
    memset(st.exit, 'x', EVENT_PATH_MAX);
    st.exit[EVENT_PATH_MAX] = '\0';
    /* The visit's attribution, device and country: some at their longest, some empty. */
    memset(st.attr[EVENT_ATTR_SOURCE], 's', EVENT_ATTR_MAX);
    strcpy(st.attr[EVENT_ATTR_CHANNEL], "Paid Search");
    memset(st.attr[EVENT_ATTR_UTM_CONTENT], 'c', EVENT_ATTR_MAX);
    memset(st.device.browser, 'b', EVENT_DEVICE_NAME_MAX);
    memset(st.device.os_version, '9', EVENT_DEVICE_VERSION_MAX);
    strcpy(st.device.device, "desktop");
    strcpy(st.country, "DE");
    n = visit_state_pack(&st, buf);
    assert_true(n <= VISIT_STATE_PACKED_MAX);
    assert_int_equal(visit_state_unpack(buf, n, &back), 0);
    assert_memory_equal(&back, &st, sizeof st);

    /* Each cut, a byte more, and a few changed bytes: no state. */
    for (size_t k = 0; k < n; k += k < 64 ? 1 : 97) {
        assert_int_equal(visit_state_unpack(buf, k, &back), -1);
        assert_false(back.live);
    }
    memcpy(big, buf, n);
    big[n] = 0;
    assert_int_equal(visit_state_unpack(big, n + 1, &back), -1);
    const struct {
        size_t at;
        char byte;
        const char *why;
    } bad[] = {
        {0, 'W', "another format"},
        {1, '1', "the version before the visit kept its attribution"},
        {1, '3', "another version"},
        {2, 0, "seq 0"},
        {2 + 5 * 8, 3, "page views 3"},
        {2 + 5 * 8 + 1, 2, "interacted 2"},
        {2 + 5 * 8 + 2, 0, "id length cut to 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(big, buf, n);
        big[bad[i].at] = bad[i].byte;
        if (visit_state_unpack(big, n, &back) != -1) {
            fail_msg("%s: unpacked", bad[i].why);
        }
    }
    /* A NUL inside a text. */
    memcpy(big, buf, n);
    big[2 + 5 * 8 + 2 + 2 + 1] = '\0';
    assert_int_equal(visit_state_unpack(big, n, &back), -1);
    /* A country of one letter (its length cut to 1, and the text with it). */
    memcpy(big, buf, n);
    assert_int_equal(big[n - 4], 2);
    big[n - 4] = 1;
    assert_int_equal(visit_state_unpack(big, n - 1, &back), -1);
    /* No country at all: a state. */
    big[n - 4] = 0;
    assert_int_equal(visit_state_unpack(big, n - 2, &back), 0);
    assert_string_equal(back.country, "");
    assert_string_equal(back.device.device, "desktop");
    /* The state ingest's Lua script kept (struct.pack) is no state: its visit starts anew. */
    assert_int_equal(visit_state_unpack("\0\0\0\0\0\0\xf0?", 8, &back), -1);
}

/* A visit keeps its first event's attribution, device and country: each later event gets them
 * as va (through a packed state too), whatever its own; a new visit keeps its own first event's,
 * even when that one has none. */
static void
test_attribution(void **unused)
{
    struct event first, other, none;
    struct visit_state st, back;
    struct event_visit m;
    char old_exit[EVENT_PATH_MAX + 1], packed[VISIT_STATE_PACKED_MAX];
    struct visit_input in = {"a1", T0, T0, 'p', "/a", &first};

    (void)unused;
    memset(&st, 0, sizeof st);
    event_init(&first);
    event_init(&other);
    event_init(&none);
    first.attr[EVENT_ATTR_SOURCE] = "news.example";
    first.attr[EVENT_ATTR_MEDIUM] = "referral";
    first.attr[EVENT_ATTR_UTM_CAMPAIGN] = "spring";
    strcpy(first.device.browser, "Firefox");
    strcpy(first.device.browser_version, "120");
    strcpy(first.device.device, "mobile");
    strcpy(first.country, "DE");
    other.attr[EVENT_ATTR_SOURCE] = "Direct / None";
    other.attr[EVENT_ATTR_UTM_TERM] = "t";
    strcpy(other.device.browser, "Chrome");
    strcpy(other.country, "FR");

    visit_step(&st, &in, TIMEOUT, &m, old_exit);
    assert_true(m.n == 1 && !m.has_va);
    for (int i = 0; i < 3; i++) { /* its own values, the state packed between, no event */
        in = (struct visit_input){"a2", T0 + 1 + i, T0 + 1 + i, 'p', "/b", i == 2 ? NULL : &other};
        if (i == 1) {
            assert_int_equal(visit_state_unpack(packed, visit_state_pack(&st, packed), &back), 0);
            st = back;
        }
        visit_step(&st, &in, TIMEOUT, &m, old_exit);
        assert_true(m.n == 0 && m.has_va);
        assert_string_equal(m.va.attr[EVENT_ATTR_SOURCE], "news.example");
        assert_string_equal(m.va.attr[EVENT_ATTR_MEDIUM], "referral");
        assert_null(m.va.attr[EVENT_ATTR_CHANNEL]);
        assert_string_equal(m.va.attr[EVENT_ATTR_UTM_CAMPAIGN], "spring");
        assert_null(m.va.attr[EVENT_ATTR_UTM_TERM]);
        assert_string_equal(m.va.device.browser, "Firefox");
        assert_string_equal(m.va.device.browser_version, "120");
        assert_string_equal(m.va.device.os, "");
        assert_string_equal(m.va.device.device, "mobile");
        assert_string_equal(m.va.country, "DE");
    }
    /* After the timeout: a new visit, whose first event has none of them. */
    in = (struct visit_input){"b1", T0 + TIMEOUT + 9, T0 + TIMEOUT + 9, 'i', NULL, &none};
    visit_step(&st, &in, TIMEOUT, &m, old_exit);
    assert_true(m.n == 1 && !m.has_va);
    in = (struct visit_input){"b2", T0 + TIMEOUT + 10, T0 + TIMEOUT + 10, 'p', "/c", &other};
    visit_step(&st, &in, TIMEOUT, &m, old_exit);
    assert_true(m.n == 0 && m.has_va);
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        assert_null(m.va.attr[k]);
    }
    assert_string_equal(m.va.device.browser, "");
    assert_string_equal(m.va.country, "");
}

static void
test_class(void **unused)
{
    (void)unused;
    assert_int_equal(visit_class("page_view"), VISIT_PAGE_VIEW);
    assert_int_equal(visit_class("scroll"), VISIT_PASSIVE);
    assert_int_equal(visit_class("mousemove"), VISIT_PASSIVE);
    assert_int_equal(visit_class("click"), VISIT_INTERACTION);
    assert_int_equal(visit_class("page_views"), VISIT_INTERACTION);
    assert_int_equal(visit_class(""), VISIT_INTERACTION);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),     cmocka_unit_test(test_gaps_and_times),
        cmocka_unit_test(test_state_pack), cmocka_unit_test(test_attribution),
        cmocka_unit_test(test_class),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
