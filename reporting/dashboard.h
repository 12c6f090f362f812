/* dashboard.h - the dashboard page reporting serves at GET /: its HTML, style, script and
 * icon (reporting/dashboard/) and uPlot's, embedded into the binary at build time. */
#ifndef REPORTING_DASHBOARD_H
#define REPORTING_DASHBOARD_H

#include "http.h"

/* Defined in $(BUILD)/gen/<name>.c, which the Makefile writes from the files named by its
 * EMBED_<name>: each file's bytes, Content-Type and strong ETag; no Cache-Control. */
extern const struct http_asset dashboard_html, dashboard_css, dashboard_js, uplot_js, uplot_css,
    favicon_ico;

/* The page's files by request path: "/" (the page), "/dashboard/app.css",
 * "/dashboard/app.js", "/dashboard/uplot.css", "/dashboard/uplot.js" and "/favicon.ico"
 * (which browsers ask for on their own); NULL for any other path. */
const struct http_asset *dashboard_file(const char *path);

/* GET (and HEAD) of those paths: the file, with Cache-Control: no-cache (the browser
 * asks again each time and gets 304 while it holds this build's file) and, for the page,
 * a Content-Security-Policy allowing only this origin's scripts, styles and requests. */
int dashboard_handle(struct mg_connection *conn, void *ctx);

/* The routes of the page's files, for reporting's route table: public (HTTP_ROUTE_PUBLIC),
 * open to every client whatever READ_TOKENS says; the page asks for a token itself, for
 * the JSON API. */
#define DASHBOARD_ROUTES                                                                           \
    {"GET", "/", dashboard_handle, HTTP_ROUTE_PUBLIC},                                             \
        {"GET", "/dashboard/app.css", dashboard_handle, HTTP_ROUTE_PUBLIC},                        \
        {"GET", "/dashboard/app.js", dashboard_handle, HTTP_ROUTE_PUBLIC},                         \
        {"GET", "/dashboard/uplot.css", dashboard_handle, HTTP_ROUTE_PUBLIC},                      \
        {"GET", "/dashboard/uplot.js", dashboard_handle, HTTP_ROUTE_PUBLIC},                       \
    {                                                                                              \
        "GET", "/favicon.ico", dashboard_handle, HTTP_ROUTE_PUBLIC                                 \
    }

#endif
