/* test_dashboard.c - unit tests for reporting/dashboard.c: which embedded file each path
 * serves, and that the files embedded are the sources' bytes with their types and tags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dashboard.h"

static void
test_paths(void **state)
{
    static const struct {
        const char *path;
        const struct http_asset *file; /* NULL: not one of the page's */
        const char *type;
    } cases[] = {
        {"/", &dashboard_html, "text/html; charset=utf-8"},
        {"/dashboard/app.css", &dashboard_css, "text/css; charset=utf-8"},
        {"/dashboard/app.js", &dashboard_js, "application/javascript; charset=utf-8"},
        {"/dashboard/uplot.css", &uplot_css, "text/css; charset=utf-8"},
        {"/dashboard/uplot.js", &uplot_js, "application/javascript; charset=utf-8"},
        {"/favicon.ico", &favicon_ico, "image/x-icon"},
        {"", NULL, NULL},
        {"/index.html", NULL, NULL},
        {"/dashboard/", NULL, NULL},
        {"/dashboard/app.js/", NULL, NULL},
        {"/dashboard/APP.JS", NULL, NULL},
        {"//", NULL, NULL},
        {"/stats", NULL, NULL},
        {NULL, NULL, NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct http_asset *got = dashboard_file(cases[i].path);
        if (got != cases[i].file) {
            fail_msg("dashboard_file(\"%s\"): not the expected file",
                     cases[i].path ? cases[i].path : "(null)");
        }
        if (got != NULL) {
            assert_string_equal(got->content_type, cases[i].type);
            assert_null(got->cache_control);
        }
    }
}

/* Each embedded file holds exactly the bytes of its source (run from the repository's
 * top, as `make unit` does), and a quoted tag of 16 hex digits. */
static void
test_bytes(void **state)
{
    static const struct {
        const char *source;
        const struct http_asset *file;
    } cases[] = {
        {"reporting/dashboard/index.html", &dashboard_html},
        {"reporting/dashboard/app.css", &dashboard_css},
        {"reporting/dashboard/app.js", &dashboard_js},
        {".deps/uplot/node_modules/uplot/dist/uPlot.iife.min.js", &uplot_js},
        {".deps/uplot/node_modules/uplot/dist/uPlot.min.css", &uplot_css},
        {"reporting/dashboard/favicon.ico", &favicon_ico},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct http_asset *a = cases[i].file;
        FILE *f = fopen(cases[i].source, "rb");
        char *buf = malloc(a->len + 1);
        size_t n;

        assert_non_null(f);
        assert_non_null(buf);
        n = fread(buf, 1, a->len + 1, f);
        fclose(f);
        if (n != a->len || memcmp(buf, a->body, a->len) != 0) {
            fail_msg("%s: %zu bytes embedded, not the file's %zu", cases[i].source, a->len, n);
        }
        free(buf);
        assert_int_equal(strlen(a->etag), 18);
        assert_int_equal(a->etag[0], '"');
        assert_int_equal(a->etag[17], '"');
        assert_int_equal(strspn(a->etag + 1, "0123456789abcdef"), 16);
    }
    /* Distinct files, distinct tags. */
    assert_string_not_equal(dashboard_js.etag, uplot_js.etag);
    assert_string_not_equal(dashboard_css.etag, uplot_css.etag);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
