/* test_shards.c - unit tests for ingest/shards.c's routing: a hashed visitor goes to the
 * shard of its site, client key and User-Agent, whatever its id of the day. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "qshard.h"
#include "shards.h"

/* FNV-1a of site, NUL, client, NUL, User-Agent: qshard_pick() of the site and the visitor
 * "client\0UA", which is the same bytes. */
static void
test_of_client_is_fnv(void **state)
{
    static const char *const uas[] = {"Mozilla/5.0", "", "x"};
    char client[32], visitor[64];

    (void)state;
    for (unsigned k = 1; k <= 9; k++) {
        for (int c = 0; c < 50; c++) {
            for (size_t u = 0; u < sizeof uas / sizeof uas[0]; u++) {
                int n = snprintf(client, sizeof client, "198.51.100.%d", c);
                memcpy(visitor, client, (size_t)n + 1);
                memcpy(visitor + n + 1, uas[u], strlen(uas[u]));
                assert_int_equal(
                    shards_of_client("site", client, uas[u], k),
                    qshard_pick("site", 4, visitor, (size_t)n + 1 + strlen(uas[u]), k));
            }
        }
    }
    /* No User-Agent hashes as an empty one. */
    assert_int_equal(shards_of_client("site", "c", NULL, 7), shards_of_client("site", "c", "", 7));
    assert_int_equal(shards_of_client("site", "c", "ua", 1), 0);
}

/* Spread: 400 clients over 4 shards each get a share; another site moves some. */
static void
test_of_client_spreads(void **state)
{
    unsigned count[4] = {0}, moved = 0;
    char client[32];

    (void)state;
    for (int c = 0; c < 400; c++) {
        snprintf(client, sizeof client, "10.0.%d.%d", c / 256, c % 256);
        unsigned s = shards_of_client("site", client, "UA", 4);
        assert_true(s < 4);
        count[s]++;
        moved += s != shards_of_client("other", client, "UA", 4);
    }
    for (int s = 0; s < 4; s++) {
        if (count[s] < 60) {
            fail_msg("shard %d got %u of 400", s, count[s]);
        }
    }
    assert_true(moved > 200);
}

/* Other visitors keep the user_id's shard (the _id's without one). */
static void
test_of_event(void **state)
{
    struct event ev;

    (void)state;
    memset(&ev, 0, sizeof ev);
    ev.site_id = "site";
    strcpy(ev.id, "site:e1");
    ev.user_id = "u1";
    assert_int_equal(shards_of_event(&ev, 8), qshard_pick("site", 4, "u1", 2, 8));
    ev.user_id = "";
    assert_int_equal(shards_of_event(&ev, 8), qshard_pick("site", 4, "site:e1", 7, 8));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_of_client_is_fnv),
        cmocka_unit_test(test_of_client_spreads),
        cmocka_unit_test(test_of_event),
    };
    return cmocka_run_group_tests_name("shards: each event to its visitor's shard", tests, NULL,
                                       NULL);
}
