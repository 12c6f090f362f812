/* test_reply.c - unit tests for ingest/reply.c: the 202 texts are json_dumps()'s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "event.h"
#include "reply.h"

/* What jansson writes for these ids (the reply's previous form). */
static char *
jansson_reply(const struct event *evs, size_t n, int single)
{
    json_t *ids = json_array(), *o;
    char *text;

    for (size_t i = 0; i < n; i++) {
        json_array_append_new(ids, json_string(evs[i].id));
    }
    if (single) {
        o = json_pack("{s:s,s:s}", "status", "accepted", "id", evs[0].id);
        json_decref(ids);
    } else {
        o = json_pack("{s:s,s:o}", "status", "accepted", "ids", ids);
    }
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static void
test_same_bytes_as_jansson(void **state)
{
    static const char *const ids[] = {"0190163d-8694-7abc-8def-0123456789ab", "site-1:k_2",
                                      "a b/c?d=e&f~!", "x"};
    struct event evs[4];
    char *mine, *theirs;

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        event_init(&evs[i]);
        snprintf(evs[i].id, sizeof evs[i].id, "%s", ids[i]);
    }
    for (size_t n = 1; n <= 4; n++) {
        for (int single = 0; single <= 1; single++) {
            mine = reply_accepted(evs, n, single);
            theirs = jansson_reply(evs, n, single);
            assert_non_null(mine);
            assert_string_equal(mine, theirs);
            free(mine);
            free(theirs);
        }
    }
}

static void
test_ids_that_need_escaping_are_left_to_jansson(void **state)
{
    static const char *const ids[] = {"s\"1:k", "s\\1:k", "s\n1:k", "s\xc3\xa9:k", "s\x7f:k"};
    struct event ev[2];

    (void)state;
    event_init(&ev[0]);
    snprintf(ev[0].id, sizeof ev[0].id, "%s", "plain");
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        event_init(&ev[1]);
        snprintf(ev[1].id, sizeof ev[1].id, "%s", ids[i]);
        assert_null(reply_accepted(ev, 2, 0));
        assert_null(reply_accepted(&ev[1], 1, 1));
    }
    assert_null(reply_accepted(ev, 0, 0));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_as_jansson),
        cmocka_unit_test(test_ids_that_need_escaping_are_left_to_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
