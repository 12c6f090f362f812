/* test_geo.c - unit tests for ingest/geo.c: which client keys are looked up, and their
 * countries in the pinned database (deploy/setup.sh, the Makefile's GEOIP_DB_DEFAULT). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "geo.h"

/* Client keys as client_make_key() writes them: the public ones are looked up, the rest
 * (RFC 6890's special ranges, unique local, link-local, anything unparseable) never. */
static void
test_public_address(void **state)
{
    static const struct {
        const char *key;
        int public;
        int family; /* of the socket address, when public */
    } cases[] = {
        {"193.99.144.80", 1, AF_INET},
        {"1.1.1.1", 1, AF_INET},
        {"8.8.8.8", 1, AF_INET},
        {"2a00:1450:4001:800::/64", 1, AF_INET6},
        {"2001:4860:4860::/64", 1, AF_INET6},
        {"0.0.0.0", 0, 0},
        {"0.1.2.3", 0, 0},
        {"10.0.0.1", 0, 0},
        {"10.255.255.255", 0, 0},
        {"100.64.0.1", 0, 0},      /* carrier-grade NAT */
        {"100.127.255.255", 0, 0}, /* its last address */
        {"100.128.0.1", 1, AF_INET},
        {"100.63.255.255", 1, AF_INET},
        {"127.0.0.1", 0, 0},
        {"127.255.0.9", 0, 0},
        {"169.254.1.1", 0, 0},
        {"172.15.255.255", 1, AF_INET},
        {"172.16.0.1", 0, 0},
        {"172.31.255.255", 0, 0},
        {"172.32.0.1", 1, AF_INET},
        {"192.0.0.9", 0, 0},
        {"192.0.2.44", 0, 0},
        {"192.88.99.1", 0, 0},
        {"192.168.1.20", 0, 0},
        {"192.169.0.1", 1, AF_INET},
        {"198.18.0.1", 0, 0},
        {"198.19.255.255", 0, 0},
        {"198.20.0.1", 1, AF_INET},
        {"198.51.100.4", 0, 0},
        {"203.0.113.7", 0, 0},
        {"224.0.0.1", 0, 0},
        {"239.255.255.250", 0, 0},
        {"240.0.0.1", 0, 0},
        {"255.255.255.255", 0, 0},
        {"::/64", 0, 0}, /* ::1 and :: as keys */
        {"::ffff:0:0/64", 0, 0},
        {"64:ff9b::/64", 0, 0},
        {"100::/64", 0, 0},
        {"2001::/64", 0, 0}, /* Teredo */
        {"2001:2::/64", 0, 0},
        {"2001:db8:1:2::/64", 0, 0},
        {"fc00::/64", 0, 0},
        {"fd12:3456:789a:1::/64", 0, 0},
        {"fe80::/64", 0, 0},
        {"febf:ffff::/64", 0, 0},
        {"fec0::/64", 0, 0},
        {"ff02::/64", 0, 0},
        /* Not an address: the connection's address kept as it was, or worse. */
        {"?", 0, 0},
        {"", 0, 0},
        {"unix", 0, 0},
        {"203.0.113.300", 0, 0},
        {"193.99.144.80/64", 0, 0},        /* an IPv4 key has no prefix */
        {"2a00:1450:4001:800::/48", 0, 0}, /* a key's prefix is /64 */
        {"2a00:1450:4001:800::", 1, AF_INET6},
        {"2a00:1450:4001:800::/64/64", 0, 0},
        {"123456789012345678901234567890123456789012345678901234567890", 0, 0},
    };
    struct sockaddr_storage sa;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = geo_public_address(cases[i].key, &sa);
        if (got != cases[i].public || (got && sa.ss_family != cases[i].family)) {
            fail_msg("%s: public %d (family %d), expected %d", cases[i].key, got, sa.ss_family,
                     cases[i].public);
        }
    }
}

/* Countries of the pinned database, taken from the file with mmdblookup when this test was
 * written (mmdblookup --file ... --ip 193.99.144.80 country_code). */
static void
test_country(void **state)
{
    static const struct {
        const char *key;
        const char *cc; /* "": none */
    } cases[] = {
        {"193.99.144.80", "DE"},
        {"202.12.27.33", "JP"},
        {"200.160.2.3", "BR"},
        {"81.2.69.160", "GB"},
        {"2a00:1450:4001:800::/64", "IE"},
        {"2001:4860:4860::/64", "US"},
        /* Never looked up. */
        {"10.0.0.1", ""},
        {"127.0.0.1", ""},
        {"192.168.1.20", ""},
        {"::/64", ""},
        {"fe80::/64", ""},
        {"?", ""},
    };
    struct app_err err = {0};
    geo_t *g = geo_open(GEOIP_DB_DEFAULT, &err);
    char cc[EVENT_COUNTRY_LEN + 1];

    (void)state;
    if (g == NULL) {
        fail_msg("%s (deploy/setup.sh installs it)", err.msg);
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(cc, 'x', sizeof cc);
        int found = geo_country(g, cases[i].key, cc);
        if (found != (cases[i].cc[0] != '\0') || strcmp(cc, cases[i].cc) != 0) {
            fail_msg("%s: %d \"%.3s\", expected \"%s\"", cases[i].key, found, cc, cases[i].cc);
        }
    }
    geo_free(g);
    /* No database (GEOIP_DB empty): no country, for any address. */
    memset(cc, 'x', sizeof cc);
    assert_int_equal(geo_country(NULL, "193.99.144.80", cc), 0);
    assert_string_equal(cc, "");
}

/* A file that is missing, or not a MaxMind database: a reason naming the path (cfg names
 * GEOIP_DB); GEOIP_DB's check takes "" (no lookup) and a database. */
static void
test_open_errors(void **state)
{
    struct app_err err = {0};

    (void)state;
    assert_int_equal(geo_check_db("", &err), 0);
    assert_int_equal(geo_check_db(GEOIP_DB_DEFAULT, &err), 0);
    assert_int_equal(geo_check_db("/nonexistent/geo.mmdb", &err), -1);
    assert_string_equal(err.msg, "cannot open '/nonexistent/geo.mmdb': No such file or directory");
    memset(&err, 0, sizeof err);
    assert_null(geo_open("/nonexistent/geo.mmdb", &err));
    assert_int_equal(err.code, ERR_INVALID);
    assert_string_equal(err.msg, "cannot open '/nonexistent/geo.mmdb': No such file or directory");
    memset(&err, 0, sizeof err);
    assert_null(geo_open(__FILE__, &err));
    assert_int_equal(err.code, ERR_INVALID);
    assert_non_null(strstr(err.msg, "cannot open '" __FILE__ "': "));
    assert_null(geo_open("/nonexistent/geo.mmdb", NULL));
    geo_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_address),
        cmocka_unit_test(test_country),
        cmocka_unit_test(test_open_errors),
    };

    return cmocka_run_group_tests_name("geo: client countries, GEOIP_DB", tests, NULL, NULL);
}
