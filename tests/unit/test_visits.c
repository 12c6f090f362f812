/* test_visits.c - unit tests for ingest/visits.c's pure parts: how an event type counts, the
 * state key, and the push script's call (keys, arguments) that visits_cmd_build() makes.
 * What the script decides runs in Redis: tests/it/it_visits.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "visits.h"

static void
test_class(void **state)
{
    static const struct {
        const char *type;
        char class;
    } cases[] = {
        {"page_view", 'p'}, {"scroll", 's'},     {"mousemove", 's'}, {"click", 'i'},
        {"signup", 'i'},    {"page_views", 'i'}, {"Page_view", 'i'}, {"scrolls", 'i'},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (visits_class(cases[i].type) != cases[i].class) {
            fail_msg("%s: '%c', not '%c'", cases[i].type, visits_class(cases[i].type),
                     cases[i].class);
        }
    }
}

static void
test_state_key(void **state)
{
    char a[128], b[128];

    (void)state;
    assert_int_equal(visits_state_key("{events:3/4~0}", "site", "u1", a, sizeof a),
                     strlen("{events:3/4~0}:visit:4:site:u1"));
    assert_string_equal(a, "{events:3/4~0}:visit:4:site:u1");
    /* The site's length keeps ("a:b", "c") and ("a", "b:c") apart. */
    visits_state_key("events", "a:b", "c", a, sizeof a);
    visits_state_key("events", "a", "b:c", b, sizeof b);
    assert_string_equal(a, "events:visit:3:a:b:c");
    assert_string_equal(b, "events:visit:1:a:b:c");
    /* Too small: the size it needs. */
    assert_int_equal(visits_state_key("events", "site", "u1", a, 8),
                     strlen("events:visit:4:site:u1"));
}

/* An event of site "s" with user_id user (NULL: none) and visitor source v. */
static struct event
event_of(const char *id, const char *type, const char *path, const char *user, enum event_visitor v,
         const char *client_id)
{
    struct event ev;

    memset(&ev, 0, sizeof ev);
    strcpy(ev.id, id);
    ev.site_id = "s";
    ev.event_type = type;
    ev.path = path;
    ev.user_id = user;
    ev.visitor = v;
    ev.client_id = client_id;
    ev.ts_ms = 1765000000000LL;
    ev.received_ms = 253402300799999LL;
    return ev;
}

/* argv[i] of cmd as a string. */
static void
assert_arg(const struct visits_cmd *cmd, int i, const char *want)
{
    if (i >= cmd->argc) {
        fail_msg("argument %d of %d", i, cmd->argc);
    }
    if (cmd->argvlen[i] != strlen(want) || memcmp(cmd->argv[i], want, cmd->argvlen[i]) != 0) {
        fail_msg("argument %d: \"%.*s\", not \"%s\"", i, (int)cmd->argvlen[i], cmd->argv[i], want);
    }
}

static void
test_cmd(void **state)
{
    struct event evs[4] = {
        event_of("id0", "page_view", "/a?q=secret#f", "u1", EVENT_VISITOR_CLIENT, NULL),
        event_of("id1", "click", NULL, NULL, EVENT_VISITOR_UNKNOWN, NULL),
        event_of("s:e7", "scroll", NULL, "h1", EVENT_VISITOR_HASH, "e7"),
        event_of("id3", "click", "", "h2", EVENT_VISITOR_HASH, NULL),
    };
    struct visits_item items[4] = {
        {"{\"v\":1}", 7, &evs[0], "ignored: not hashed"},
        {"{}", 2, &evs[1], NULL},
        {"{\"x\":1}", 7, &evs[2], "h0"},
        {"{\"y\":2}", 7, &evs[3], ""},
    };
    struct visits_cmd cmd = {0};
    int a;

    (void)state;
    for (int round = 0; round < 2; round++) { /* built again into the same cmd */
        assert_int_equal(visits_cmd_build(&cmd, "q", NULL, 2, items, 4), 0);
        assert_int_equal(cmd.argc, 3 + 5 + 2 + 4 * 4);
        assert_arg(&cmd, 0, "EVAL");
        assert_non_null(strstr(cmd.argv[1], "LPUSH"));
        assert_arg(&cmd, 2, "5");
        assert_arg(&cmd, 3, "q");
        assert_arg(&cmd, 4, "q:visit:1:s:u1");
        assert_arg(&cmd, 5, "q:visit:1:s:h1");
        assert_arg(&cmd, 6, "q:visit:1:s:h0"); /* yesterday's id of the hashed visitor */
        assert_arg(&cmd, 7, "q:visit:1:s:h2");
        assert_arg(&cmd, 8, "2000");
        assert_arg(&cmd, 9, "302000"); /* the timeout and VISITS_MARGIN_S */
        a = 10;
        /* Heads: keys, class, client id, then ts 1765000000000 and received 253402300799999
         * as little-endian doubles (struct.unpack('<c1c1c1dd')). */
#define TIMES                                                                                      \
    "\x00\x00\x20\x2b\x23\xaf\x79\x42"                                                             \
    "\xe0\x7f\xfb\x43\xfa\xce\xec\x42"
        const struct {
            const char *bytes;
            size_t len;
        } want[4][4] = {
            {{"1p-" TIMES, 19}, {"{\"v\":1", 6}, {"id0", 3}, {"/a", 2}},
            {{"0", 1}, {"{}", 2}, {"", 0}, {"", 0}},
            {{"2sc" TIMES, 19}, {"{\"x\":1", 6}, {"s:e7", 4}, {"", 0}},
            {{"1i-" TIMES, 19}, {"{\"y\":2", 6}, {"id3", 3}, {"", 0}},
        };
#undef TIMES
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++, a++) {
                if (cmd.argvlen[a] != want[i][j].len ||
                    memcmp(cmd.argv[a], want[i][j].bytes, want[i][j].len) != 0) {
                    fail_msg("item %d, argument %d: %zu bytes, not the %zu wanted", i, j,
                             cmd.argvlen[a], want[i][j].len);
                }
            }
        }
    }
    /* The id and a page view's path go escaped as the envelope escapes them. */
    evs[0].path = "/q\"\\\x01";
    strcpy(evs[0].id, "s\"x:e1");
    assert_int_equal(visits_cmd_build(&cmd, "q", NULL, 2, items, 1), 0);
    assert_arg(&cmd, 9, "s\\\"x:e1");
    assert_arg(&cmd, 10, "/q\\\"\\\\\\u0001");
    /* An empty user_id has no visit either. */
    evs[0].user_id = "";
    assert_int_equal(visits_cmd_build(&cmd, "q", NULL, 1800, items, 1), 0);
    assert_arg(&cmd, 2, "1");
    assert_arg(&cmd, 4, "1800000");
    assert_arg(&cmd, 5, "2100000");
    assert_arg(&cmd, 6, "0");
    assert_arg(&cmd, 7, "{\"v\":1}"); /* whole: it gets no visit */
    visits_cmd_cleanup(&cmd);
    assert_null(cmd.argv);
}

/* EVALSHA names the script by its SHA1; after NOSCRIPT the same call goes with its text. */
static void
test_cmd_sha(void **state)
{
    struct event ev = event_of("id0", "click", NULL, "u1", EVENT_VISITOR_CLIENT, NULL);
    struct visits_item item = {"{}", 2, &ev, NULL};
    struct visits_cmd a = {0}, b = {0};
    char sha[41];

    (void)state;
    assert_int_equal(visits_script_sha1(sha), 0);
    assert_int_equal(strspn(sha, "0123456789abcdef"), 40);
    assert_int_equal(visits_cmd_build(&a, "q", sha, 60, &item, 1), 0);
    assert_int_equal(visits_cmd_build(&b, "q", NULL, 60, &item, 1), 0);
    assert_arg(&a, 0, "EVALSHA");
    assert_arg(&a, 1, sha);
    assert_int_equal(a.argc, b.argc);
    for (int i = 2; i < a.argc; i++) {
        assert_memory_equal(a.argv[i], b.argv[i], a.argvlen[i]);
        assert_int_equal(a.argvlen[i], b.argvlen[i]);
    }
    visits_cmd_with_text(&a);
    assert_arg(&a, 0, "EVAL");
    assert_int_equal(a.argvlen[1], b.argvlen[1]);
    assert_memory_equal(a.argv[1], b.argv[1], b.argvlen[1]);
    visits_cmd_cleanup(&a);
    visits_cmd_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_class),
        cmocka_unit_test(test_state_key),
        cmocka_unit_test(test_cmd),
        cmocka_unit_test(test_cmd_sha),
    };
    return cmocka_run_group_tests_name("visits: the push script's inputs", tests, NULL, NULL);
}
