/* dashboard.c - the dashboard page's files (dashboard.h). */

#include <string.h>

#include "dashboard.h"

const struct http_asset *
dashboard_file(const char *path)
{
    static const struct {
        const char *path;
        const struct http_asset *asset;
    } files[] = {
        {"/", &dashboard_html},
        {"/dashboard/app.css", &dashboard_css},
        {"/dashboard/app.js", &dashboard_js},
        {"/dashboard/uplot.css", &uplot_css},
        {"/dashboard/uplot.js", &uplot_js},
        {"/favicon.ico", &favicon_ico},
    };

    for (size_t i = 0; path != NULL && i < sizeof files / sizeof files[0]; i++) {
        if (strcmp(files[i].path, path) == 0) {
            return files[i].asset;
        }
    }
    return NULL;
}

int
dashboard_handle(struct mg_connection *conn, void *ctx)
{
    const struct http_asset *file = dashboard_file(mg_get_request_info(conn)->local_uri);
    struct http_asset a;

    (void)ctx;
    if (file == NULL) {
        return http_send_error(conn, 404, "Not found: %.128s",
                               mg_get_request_info(conn)->local_uri);
    }
    a = *file;
    a.cache_control = "no-cache";
    if (file == &dashboard_html) {
        /* uPlot sizes its elements through their style properties, which a policy
         * without 'unsafe-inline' still allows (only style attributes and elements in
         * markup are refused). */
        http_add_reply_headers(conn, "Content-Security-Policy: default-src 'none'; "
                                     "script-src 'self'; style-src 'self'; connect-src 'self'; "
                                     "img-src 'self'; base-uri 'none'; form-action 'none'; "
                                     "frame-ancestors 'none'\r\n"
                                     "X-Content-Type-Options: nosniff\r\n"
                                     "Referrer-Policy: no-referrer\r\n");
    }
    return http_send_asset(conn, &a);
}
