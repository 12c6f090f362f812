/* test_hosts.c - unit tests for reporting/hosts.c: views per referrer host, at most
 * HOSTS_MAX hosts, and their top. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hosts.h"

/* "host:views host:views ..." of the top `limit` of h. */
static void
expect_top(const struct hosts *h, size_t limit, const char *want)
{
    const struct host_views *top[16];
    char got[512] = "";
    long n = hosts_top(h, limit, top);

    assert_true(n >= 0);
    for (long i = 0; i < n; i++) {
        size_t at = strlen(got);
        snprintf(got + at, sizeof got - at, "%s:%lld ", top[i]->host, (long long)top[i]->views);
    }
    assert_string_equal(got, want);
}

static void
test_add_and_top(void **state)
{
    static const struct {
        const char *host;
        int64_t views;
    } adds[] = {
        {"b.example", 2}, {"a.example", 1}, {"c.example", 3}, {"a.example", 1},
        {"d.example", 2}, {"b.example", 0}, {"e", 1},
    };
    struct hosts h;

    (void)state;
    assert_int_equal(hosts_init(&h), 0);
    expect_top(&h, 10, "");
    for (size_t i = 0; i < sizeof adds / sizeof adds[0]; i++) {
        assert_int_equal(hosts_add(&h, adds[i].host, adds[i].views), 0);
    }
    assert_int_equal(h.n, 5);
    /* Most viewed first, ties by host ascending. */
    expect_top(&h, 10, "c.example:3 a.example:2 b.example:2 d.example:2 e:1 ");
    expect_top(&h, 2, "c.example:3 a.example:2 ");
    expect_top(&h, 0, "");
    hosts_free(&h);
    hosts_free(&h); /* twice: nothing */
}

/* At most HOSTS_MAX hosts: another is refused, a known one still counts. */
static void
test_bounded(void **state)
{
    struct hosts h;
    char host[32];

    (void)state;
    assert_int_equal(hosts_init(&h), 0);
    for (int i = 0; i < HOSTS_MAX; i++) {
        snprintf(host, sizeof host, "h%d.example", i);
        assert_int_equal(hosts_add(&h, host, 1), 0);
    }
    assert_int_equal(h.n, HOSTS_MAX);
    assert_int_equal(hosts_add(&h, "one-more.example", 1), 1);
    assert_int_equal(hosts_add(&h, "h7.example", 5), 0);
    assert_int_equal(h.n, HOSTS_MAX);
    expect_top(&h, 2, "h7.example:6 h0.example:1 ");
    hosts_free(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_top),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests_name("hosts: views per referrer host, bounded", tests, NULL,
                                       NULL);
}
