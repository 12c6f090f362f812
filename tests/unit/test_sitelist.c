/* test_sitelist.c - unit tests for common/sitelist.c ("site:value,..." settings) and
 * common/sitetz.c (SITE_TIMEZONES, against the system's tzdata). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sitelist.h"
#include "sitetz.h"

/* A value of digits only. */
static const char *
digits(const char *v)
{
    return v[0] != '\0' && strspn(v, "0123456789") == strlen(v) ? NULL : "must be digits";
}

static void
test_parse(void **state)
{
    static const struct {
        const char *text;
        size_t n;
        const char *first, *first_value, *last;
    } rows[] = {
        {NULL, 0, NULL, NULL, NULL},
        {"", 0, NULL, NULL, NULL},
        {"shop:1", 1, "shop", "1", "shop"},
        {" shop:1 ,\tblog:22", 2, "blog", "22", "shop"}, /* blanks around items; sorted */
        {"a:b:3,c:4", 2, "a:b", "3", "c"},               /* split at the last ':' */
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct sitelist l;
        struct app_err err = {0};
        assert_int_equal(sitelist_parse(rows[i].text, 10, "days", digits, &l, &err), 0);
        assert_int_equal(l.n, rows[i].n);
        if (l.n > 0) {
            assert_string_equal(l.items[0].site, rows[i].first);
            assert_string_equal(l.items[0].value, rows[i].first_value);
            assert_string_equal(l.items[l.n - 1].site, rows[i].last);
            assert_string_equal(sitelist_find(&l, rows[i].first), rows[i].first_value);
            assert_int_equal(sitelist_index(&l, rows[i].last), (long)l.n - 1);
        }
        assert_null(sitelist_find(&l, "nowhere"));
        sitelist_free(&l);
    }
}

static void
test_parse_bad(void **state)
{
    static const struct {
        const char *text, *msg;
    } rows[] = {
        {"shop", "item 1 (\"shop\"): expected site:days"},
        {"shop:1,", "item 2 is empty"},
        {"shop:1, ,blog:2", "item 2 is empty"},
        {"shop:x", "item 1 (\"shop:x\"): days must be digits"},
        {"shop:", "item 1 (\"shop:\"): days must be digits"},
        {":1", "item 1: the site must be 1-256 bytes without blanks"},
        {"my shop:1", "item 1: the site must be 1-256 bytes without blanks"},
        {"a:1,b:2,a:3", "item 3: site \"a\" is listed twice"},
        {"a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9,j:10,k:11", "at most 10 sites"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct sitelist l;
        struct app_err err = {0};
        assert_int_equal(sitelist_parse(rows[i].text, 10, "days", digits, &l, &err), -1);
        assert_string_equal(err.msg, rows[i].msg);
        assert_null(l.items);
        assert_int_equal(l.n, 0);
    }
}

/* SITE_TIMEZONES: each site's zone loaded, NULL (UTC) for the others; a bad name or a zone
 * the system's tzdata lacks refused, naming the item. */
static void
test_sitetz(void **state)
{
    struct sitetz s;
    struct app_err err = {0};

    (void)state;
    assert_int_equal(sitetz_parse("shop:Europe/Berlin, blog:Asia/Kolkata", &s, &err), 0);
    assert_string_equal(tz_name(sitetz_find(&s, "shop")), "Europe/Berlin");
    assert_string_equal(tz_name(sitetz_find(&s, "blog")), "Asia/Kolkata");
    assert_null(sitetz_find(&s, "other"));
    sitetz_free(&s);
    assert_int_equal(sitetz_parse("", &s, &err), 0);
    assert_null(sitetz_find(&s, "shop"));
    sitetz_free(&s);
    assert_int_equal(sitetz_check("a:UTC,b:Mars/Olympus_Mons", &err), -1);
    assert_string_equal(err.msg, "item 2 (\"b:Mars/Olympus_Mons\"): time zone is not a zone of the "
                                 "system's tzdata (TZDIR, or /usr/share/zoneinfo)");
    assert_int_equal(sitetz_check("a:../../etc/passwd", &err), -1);
    assert_string_equal(err.msg, "item 1 (\"a:../../etc/passwd\"): time zone is not a time zone "
                                 "name such as Europe/Berlin");
    assert_int_equal(sitetz_check("a:Europe", &err), -1); /* a folder of zones */
    assert_int_equal(sitetz_check("a:", &err), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_sitetz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
