/* test_sites.c - unit tests for ingest/sites.c: parsing SITE_IDS, and the check of a site. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sites.h"

static void
test_sites(void **state)
{
    static const struct {
        const char *site;
        int accepted;
    } cases[] = {
        {"site-abc-123", 1},  {"b", 1}, {"with space", 1}, {"zz", 1}, {"site-abc-12", 0},
        {"site-abc-1234", 0}, {"B", 0}, {"", 0},           {" b", 0}, {"with", 0},
    };
    struct app_err err = {0, ""};
    sites_t *s = sites_new("zz, site-abc-123,b ,\twith space", &err);

    (void)state;
    assert_non_null(s);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (sites_accepts(s, cases[i].site) != cases[i].accepted) {
            fail_msg("site \"%s\": expected %s", cases[i].site,
                     cases[i].accepted ? "accepted" : "refused");
        }
    }
    sites_free(s);
    sites_free(NULL);

    /* Empty, or blanks only: any site. */
    s = sites_new("  ", &err);
    assert_non_null(s);
    assert_true(sites_accepts(s, "anything"));
    sites_free(s);
    assert_true(sites_accepts(NULL, "anything"));
}

static void
test_sites_errors(void **state)
{
    char long_item[300], spec[320];
    struct app_err e;
    static const struct {
        const char *spec;
        const char *msg;
    } cases[] = {
        {"a,,b", "an empty item (two commas, or a comma at an end)"},
        {"a,", "an empty item (two commas, or a comma at an end)"},
        {",a", "an empty item (two commas, or a comma at an end)"},
        {"a, ,b", "an empty item (two commas, or a comma at an end)"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct app_err err = {0, ""};
        assert_null(sites_new(cases[i].spec, &err));
        assert_int_equal(err.code, ERR_INVALID);
        assert_string_equal(err.msg, cases[i].msg);
        assert_int_equal(sites_check_ids(cases[i].spec, &e), -1);
        assert_string_equal(e.msg, cases[i].msg);
    }
    memset(long_item, 's', 256);
    long_item[256] = '\0';
    snprintf(spec, sizeof spec, "a,%s", long_item);
    assert_int_equal(sites_check_ids(spec, &e), 0); /* 256 bytes: the most */
    snprintf(spec, sizeof spec, "a,%ss", long_item);
    assert_int_equal(sites_check_ids(spec, &e), -1);
    assert_string_equal(e.msg, "\"ssssssssssssssssssssssssssssssss...\" is longer than 256 bytes");
    assert_int_equal(sites_check_ids("", &e), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sites),
        cmocka_unit_test(test_sites_errors),
    };

    return cmocka_run_group_tests_name("sites: SITE_IDS", tests, NULL, NULL);
}
