/* test_sources.c - unit tests for ingest/sources.c: referrer hosts, the referrer list (the
 * pinned referers.json, build/gen/referers.c), the channel rules, a page view's attribution,
 * the campaign's checks and the stripped referrer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sources.h"

static void
test_host(void **state)
{
    static const struct {
        const char *referrer, *host; /* host "" when none */
    } cases[] = {
        {"https://www.Google.com/", "google.com"},
        {"https://www.google.com", "google.com"},
        {"http://user:pw@Example.ORG:8080/a/b", "example.org"},
        {"https://news.ycombinator.com/item", "news.ycombinator.com"},
        {"https://example.com./x", "example.com"},
        {"//cdn.example.net/p", "cdn.example.net"},
        {"t.co/abc", "t.co"},
        {"android-app://com.google.android.gm/", "com.google.android.gm"},
        {"https://www.example.com?q=1", "example.com"},
        {"https://www.example.com#top", "example.com"},
        {"https://www./", "www"},
        {"https://[::1]/", ""},
        {"https://exa mple.com/", ""},
        {"", ""},
        {"https:///path", ""},
        {"https://bad\\host/", "bad"},
    };
    char out[EVENT_HOST_MAX + 1], longest[300];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = sources_host(cases[i].referrer, out);
        assert_int_equal(n, strlen(cases[i].host));
        if (n > 0) {
            assert_string_equal(out, cases[i].host);
        }
    }
    memset(longest, 'a', sizeof longest);
    memcpy(longest, "https://", 8);
    longest[8 + EVENT_HOST_MAX] = '\0';
    assert_int_equal(sources_host(longest, out), EVENT_HOST_MAX);
    longest[8 + EVENT_HOST_MAX] = 'a';
    longest[8 + EVENT_HOST_MAX + 1] = '\0';
    assert_int_equal(sources_host(longest, out), 0);
}

/* The generated table is what bsearch() needs: sorted by host, byte order. */
static void
test_table_sorted(void **state)
{
    (void)state;
    assert_true(sources_known_n > 1000);
    for (size_t i = 1; i < sources_known_n; i++) {
        int c = strcmp(sources_known[i - 1].host, sources_known[i].host);
        assert_true(c <= 0);
        if (c == 0) { /* then the longest path first */
            assert_true(strlen(sources_known[i - 1].path) >= strlen(sources_known[i].path));
        }
        assert_true(strncmp(sources_known[i].host, "www.", 4) != 0);
        assert_true(sources_known[i].path[0] == '/');
    }
}

static void
test_lookup(void **state)
{
    static const struct {
        const char *host, *path, *name, *medium; /* name NULL: not in the list */
    } cases[] = {
        {"google.com", "/", "Google", "search"},
        {"google.com", "", "Google", "search"},
        {"google.de", "/search", "Google", "search"},
        {"google.com", "/imgres", "Google Images", "search"},
        {"google.co.uk", "/", "Google", "search"},
        {"bing.com", "/search", "Bing", "search"},
        {"facebook.com", "/", "Facebook", "social"},
        {"m.facebook.com", "/", "Facebook", "social"},
        {"l.facebook.com", "/l.php", "Facebook", "social"},
        {"t.co", "/xyz", "Twitter", "social"},
        {"mail.google.com", "/mail/u/0/", "Gmail", "email"},
        {"mail.yahoo.com", "/", "Yahoo! Mail", "email"},
        {"example.com", "/", NULL, NULL},
        {"com", "/", NULL, NULL},
        {"co.uk", "/", NULL, NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct sources_known *k = sources_lookup(cases[i].host, cases[i].path);
        if (cases[i].name == NULL) {
            assert_null(k);
            continue;
        }
        assert_non_null(k);
        assert_string_equal(k->name, cases[i].name);
        assert_string_equal(k->medium, cases[i].medium);
    }
}

/* The rules of docs/api.md (Sources and channels), row by row. */
static void
test_channel(void **state)
{
    static const struct {
        const char *medium, *utm_medium, *channel;
    } cases[] = {
        {"none", NULL, "Direct"},
        {"none", "cpc", "Paid"},
        {"search", "CPC", "Paid"},
        {"search", "ppc", "Paid"},
        {"social", "paid_social", "Paid"},
        {"referral", "display", "Paid"},
        {"none", "email", "Email"},
        {"none", "Newsletter", "Email"},
        {"referral", "social", "Organic Social"},
        {"none", "organic", "Organic Search"},
        {"none", "referral", "Referral"},
        {"search", NULL, "Organic Search"},
        {"search", "something", "Organic Search"},
        {"social", NULL, "Organic Social"},
        {"email", NULL, "Email"},
        {"paid", NULL, "Paid"},
        {"unknown", NULL, "Referral"},
        {"referral", NULL, "Referral"},
        {"none", "something", "Direct"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_string_equal(sources_channel(cases[i].medium, cases[i].utm_medium),
                            cases[i].channel);
    }
}

/* A page view of properties props (JSON text) sent from the page of host site. */
static void
attribute(struct event *ev, const char *type, const char *props, const char *site)
{
    json_t *p = json_loads(props, 0, NULL);

    assert_non_null(p);
    event_init(ev);
    ev->src = p;
    ev->properties = p;
    ev->event_type = type;
    assert_int_equal(sources_strip_referrer(ev), 0);
    sources_attribute(ev, site);
}

static void
test_attribute(void **state)
{
    static const struct {
        const char *props, *site, *source, *medium, *channel;
    } cases[] = {
        {"{}", "", SOURCES_DIRECT, "none", "Direct"},
        {"{\"referrer\":\"\"}", "", SOURCES_DIRECT, "none", "Direct"},
        {"{\"referrer\":null}", "", SOURCES_DIRECT, "none", "Direct"},
        {"{\"referrer\":\"https://shop.example/a\"}", "shop.example", SOURCES_DIRECT, "none",
         "Direct"},
        {"{\"referrer\":\"https://www.shop.example/a\"}", "shop.example", SOURCES_DIRECT, "none",
         "Direct"},
        {"{\"referrer\":\"https://www.google.com/\"}", "shop.example", "Google", "search",
         "Organic Search"},
        {"{\"referrer\":\"https://www.bing.com/search?q=secret\"}", "", "Bing", "search",
         "Organic Search"},
        {"{\"referrer\":\"https://t.co/\"}", "", "Twitter", "social", "Organic Social"},
        {"{\"referrer\":\"https://mail.google.com/mail/u/0/\"}", "", "Gmail", "email", "Email"},
        {"{\"referrer\":\"https://Blog.Example.ORG:8443/post\"}", "", "blog.example.org",
         "referral", "Referral"},
        {"{\"referrer\":\"https://www.google.com/\",\"utm_medium\":\"cpc\"}", "", "Google",
         "search", "Paid"},
    };
    struct event ev;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        attribute(&ev, "page_view", cases[i].props, cases[i].site);
        assert_string_equal(ev.attr[EVENT_ATTR_SOURCE], cases[i].source);
        assert_string_equal(ev.attr[EVENT_ATTR_MEDIUM], cases[i].medium);
        assert_string_equal(ev.attr[EVENT_ATTR_CHANNEL], cases[i].channel);
        event_cleanup(&ev);
    }
    attribute(&ev, "page_view",
              "{\"utm_source\":\"news\",\"utm_medium\":\"email\",\"utm_campaign\":\"spring\","
              "\"utm_term\":\"shoes\",\"utm_content\":\"\",\"other\":\"x\"}",
              "");
    assert_string_equal(ev.attr[EVENT_ATTR_UTM_SOURCE], "news");
    assert_string_equal(ev.attr[EVENT_ATTR_UTM_MEDIUM], "email");
    assert_string_equal(ev.attr[EVENT_ATTR_UTM_CAMPAIGN], "spring");
    assert_string_equal(ev.attr[EVENT_ATTR_UTM_TERM], "shoes");
    assert_null(ev.attr[EVENT_ATTR_UTM_CONTENT]); /* empty: none */
    assert_string_equal(ev.attr[EVENT_ATTR_CHANNEL], "Email");
    event_cleanup(&ev);
    /* Other event types get none. */
    attribute(&ev, "click", "{\"referrer\":\"https://www.google.com/\",\"utm_source\":\"x\"}", "");
    for (int k = 0; k < EVENT_N_ATTRS; k++) {
        assert_null(ev.attr[k]);
    }
    event_cleanup(&ev);
}

static void
test_strip(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"https://www.google.com/", "https://www.google.com/"},
        {"https://a.example/p?token=SECRET", "https://a.example/p"},
        {"https://a.example/p#SECRET", "https://a.example/p"},
        {"https://a.example/?x=1#y", "https://a.example/"},
        {"https://user:SECRET@a.example/p?q", "https://a.example/p"},
        {"https://a.example/p?q=user@x", "https://a.example/p"},
        {"a.example/p?SECRET", "a.example/p"},
        {"", ""},
    };
    struct event ev;
    char props[256];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(props, sizeof props, "{\"referrer\":\"%s\"}", cases[i].in);
        attribute(&ev, "click", props, "");
        assert_string_equal(json_string_value(json_object_get(ev.properties, "referrer")),
                            cases[i].out);
        event_cleanup(&ev);
    }
    attribute(&ev, "click", "{\"referrer\":5}", "");
    assert_int_equal(json_integer_value(json_object_get(ev.properties, "referrer")), 5);
    event_cleanup(&ev);
}

static void
test_check(void **state)
{
    struct event ev;
    struct app_err err = {0};
    char props[400], big[EVENT_ATTR_MAX + 2];

    (void)state;
    attribute(&ev, "page_view", "{\"utm_source\":\"a\",\"utm_term\":null}", "");
    assert_int_equal(sources_check(&ev, &err), 0);
    event_cleanup(&ev);
    attribute(&ev, "page_view", "{\"utm_campaign\":5}", "");
    assert_int_equal(sources_check(&ev, &err), -1);
    assert_int_equal(err.code, ERR_INVALID);
    assert_string_equal(err.msg,
                        "Field 'properties.utm_campaign' must be a string of at most 256 bytes");
    event_cleanup(&ev);
    memset(big, 'x', sizeof big);
    big[EVENT_ATTR_MAX] = '\0';
    snprintf(props, sizeof props, "{\"utm_content\":\"%s\"}", big);
    attribute(&ev, "page_view", props, "");
    assert_int_equal(sources_check(&ev, &err), 0);
    event_cleanup(&ev);
    big[EVENT_ATTR_MAX] = 'x';
    big[EVENT_ATTR_MAX + 1] = '\0';
    snprintf(props, sizeof props, "{\"utm_content\":\"%s\"}", big);
    attribute(&ev, "page_view", props, "");
    assert_int_equal(sources_check(&ev, &err), -1);
    assert_string_equal(err.msg,
                        "Field 'properties.utm_content' must be a string of at most 256 bytes");
    event_cleanup(&ev);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host),      cmocka_unit_test(test_table_sorted),
        cmocka_unit_test(test_lookup),    cmocka_unit_test(test_channel),
        cmocka_unit_test(test_attribute), cmocka_unit_test(test_strip),
        cmocka_unit_test(test_check),
    };

    return cmocka_run_group_tests_name("sources: referrers, channels, campaigns", tests, NULL,
                                       NULL);
}
