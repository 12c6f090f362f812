/* test_client.c - unit tests for ingest/client.c: the client key, from the connection's
 * address or X-Forwarded-For (TRUST_PROXY). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"

/* TRUST_PROXY=N: the client is the Nth X-Forwarded-For address from the right, the one
 * the outermost of the N trusted proxies saw (each appends the address it got the request
 * from); what lies to its left was written by the client. */
static void
test_client(void **state)
{
    static const struct {
        const char *remote;
        const char *xff; /* NULL: no header */
        int trust;
        int from_xff;
        const char *key;
    } cases[] = {
        {"127.0.0.1", NULL, 0, 0, "127.0.0.1"},
        {"127.0.0.1", NULL, 1, 0, "127.0.0.1"},
        {"127.0.0.1", "203.0.113.7", 0, 0, "127.0.0.1"}, /* not trusted: ignored */
        {"127.0.0.1", "203.0.113.7", 1, 1, "203.0.113.7"},
        /* One proxy that appends: the client wrote what is left of the last address. */
        {"127.0.0.1", "1.2.3.4, 203.0.113.7", 1, 1, "203.0.113.7"},
        {"127.0.0.1", "spoofed, 203.0.113.7", 1, 1, "203.0.113.7"},
        {"127.0.0.1", "203.0.113.7, 10.0.0.1, 10.0.0.2", 1, 1, "10.0.0.2"},
        {"127.0.0.1", "203.0.113.7, 10.0.0.1, 10.0.0.2", 2, 1, "10.0.0.1"},
        {"127.0.0.1", "203.0.113.7, 10.0.0.1, 10.0.0.2", 3, 1, "203.0.113.7"},
        /* Fewer addresses than trusted proxies: the request did not come through them
         * all, so any of its addresses may be the client's own: the connection's. */
        {"127.0.0.1", "203.0.113.7, 10.0.0.1, 10.0.0.2", 4, 0, "127.0.0.1"},
        {"127.0.0.1", "203.0.113.7", 2, 0, "127.0.0.1"},
        {"127.0.0.1", " \t203.0.113.7 ,10.0.0.1", 2, 1, "203.0.113.7"},
        {"127.0.0.1", "203.0.113.7,10.0.0.1 \t", 1, 1, "10.0.0.1"},
        {"127.0.0.1", "203.0.113.7:51234", 1, 1, "203.0.113.7"},
        {"127.0.0.1", "2001:db8:1:2:3:4:5:6", 1, 1, "2001:db8:1:2::/64"},
        {"127.0.0.1", "2001:db8:1:2:ffff::1", 1, 1, "2001:db8:1:2::/64"},
        {"127.0.0.1", "[2001:db8:1:2::9]", 1, 1, "2001:db8:1:2::/64"},
        {"127.0.0.1", "[2001:db8:1:2::9]:443, 10.0.0.1", 2, 1, "2001:db8:1:2::/64"},
        {"127.0.0.1", "10.0.0.1, [2001:db8:1:2::9]:443", 1, 1, "2001:db8:1:2::/64"},
        {"127.0.0.1", "::ffff:198.51.100.4", 1, 1, "198.51.100.4"},
        {"127.0.0.1", "2001:DB8::1", 1, 1, "2001:db8::/64"},
        /* The chosen item is not an address: the connection's, never another item. */
        {"127.0.0.1", "203.0.113.7, unknown", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "203.0.113.7, unknown", 2, 1, "203.0.113.7"},
        {"127.0.0.1", "unknown, 203.0.113.7", 2, 0, "127.0.0.1"},
        {"127.0.0.1", "", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "203.0.113.7,", 1, 0, "127.0.0.1"},
        {"127.0.0.1", ", 203.0.113.7", 1, 1, "203.0.113.7"},
        {"127.0.0.1", ", 203.0.113.7", 2, 0, "127.0.0.1"},
        {"127.0.0.1", "203.0.113.300", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "[2001:db8::1", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "[2001:db8::1]x", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "2001:db8::1:80:x", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "203.0.113.7 10.0.0.1", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "_hidden", 1, 0, "127.0.0.1"},
        {"127.0.0.1", "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:eeee:ffff",
         1, 0, "127.0.0.1"},
        /* The connection's own address, IPv6 and mapped. */
        {"::1", NULL, 0, 0, "::/64"},
        {"2001:db8:5:6::7", NULL, 0, 0, "2001:db8:5:6::/64"},
        {"::ffff:192.0.2.1", NULL, 0, 0, "192.0.2.1"},
        {"not-an-address", NULL, 0, 0, "not-an-address"},
        {"not-an-address", "203.0.113.7", 2, 0, "not-an-address"},
    };

    /* Several X-Forwarded-For headers are one list, in their order. */
    static const struct {
        const char *xff[3]; /* NULL-terminated */
        int trust;
        int from_xff;
        const char *key;
    } multi[] = {
        {{"1.2.3.4", "203.0.113.7", NULL}, 1, 1, "203.0.113.7"},
        {{"1.2.3.4", "203.0.113.7", NULL}, 2, 1, "1.2.3.4"},
        {{"1.2.3.4", "203.0.113.7", NULL}, 3, 0, "127.0.0.1"},
        {{"198.51.100.1, 10.0.0.1", "10.0.0.2", NULL}, 1, 1, "10.0.0.2"},
        {{"198.51.100.1, 10.0.0.1", "10.0.0.2", NULL}, 2, 1, "10.0.0.1"},
        {{"198.51.100.1, 10.0.0.1", "10.0.0.2", NULL}, 3, 1, "198.51.100.1"},
        {{"198.51.100.1", "", "10.0.0.2"}, 2, 0, "127.0.0.1"}, /* an empty header: an item */
        {{"198.51.100.1", "", "10.0.0.2"}, 3, 1, "198.51.100.1"},
        {{"a, b, 198.51.100.1", "10.0.0.1, 10.0.0.2", "10.0.0.3"}, 4, 1, "198.51.100.1"},
        {{"a, b, 198.51.100.1", "10.0.0.1, 10.0.0.2", "10.0.0.3"}, 6, 0, "127.0.0.1"},
        {{"a, b, 198.51.100.1", "10.0.0.1, 10.0.0.2", "10.0.0.3"}, 16, 0, "127.0.0.1"},
    };
    char out[CLIENT_KEY_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *xff[1] = {cases[i].xff};
        memset(out, '#', sizeof out);
        int from = client_make_key(cases[i].remote, xff, cases[i].xff != NULL, cases[i].trust, out,
                                   sizeof out);
        if (from != cases[i].from_xff || strcmp(out, cases[i].key) != 0) {
            fail_msg("remote %s, X-Forwarded-For \"%s\", trust %d: %s (from xff %d)",
                     cases[i].remote, cases[i].xff ? cases[i].xff : "(none)", cases[i].trust, out,
                     from);
        }
    }
    for (size_t i = 0; i < sizeof multi / sizeof multi[0]; i++) {
        size_t n = 0;
        while (n < 3 && multi[i].xff[n] != NULL) {
            n++;
        }
        memset(out, '#', sizeof out);
        int from = client_make_key("127.0.0.1", multi[i].xff, n, multi[i].trust, out, sizeof out);
        if (from != multi[i].from_xff || strcmp(out, multi[i].key) != 0) {
            fail_msg("headers case %zu, trust %d: %s (from xff %d), expected %s", i, multi[i].trust,
                     out, from, multi[i].key);
        }
    }
    /* An empty remote address still names one bucket, never an unused slot's "". */
    assert_int_equal(client_make_key("", NULL, 0, 0, out, sizeof out), 0);
    assert_string_equal(out, "?");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client),
    };

    return cmocka_run_group_tests_name("client: client addresses, TRUST_PROXY", tests, NULL, NULL);
}
