/* access.c - who may read: the bearer token of each request (auth.h). */
#include <string.h>

#include "reporting.h"

/* The request's known token, or NULL. */
static const struct auth_token *
request_token(struct mg_connection *conn, const struct reporting *r)
{
    const char *tok = NULL;
    size_t len = auth_bearer(mg_get_header(conn, "Authorization"), &tok);

    return len > 0 ? auth_match(&r->auth, tok, len) : NULL;
}

int
reporting_filter(struct mg_connection *conn, void *ctx)
{
    struct reporting *r = ctx;

    if (r->auth.n == 0 || (http_route_flags(conn) & HTTP_ROUTE_PUBLIC)) {
        return 0;
    }
    if (mg_get_header(conn, "Authorization") == NULL) {
        return http_send_error_headers(conn, 401, "WWW-Authenticate: Bearer\r\n",
                                       "Missing token: send Authorization: Bearer <token>");
    }
    if (request_token(conn, r) == NULL) {
        return http_send_error_headers(
            conn, 401, "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n", "Invalid token");
    }
    return 0;
}

int
reporting_may_read(struct mg_connection *conn, struct reporting *r, const char *site_id)
{
    const struct auth_token *t;

    if (r->auth.n == 0) {
        return 0;
    }
    t = request_token(conn, r);
    if (t == NULL || !auth_covers(t, site_id)) {
        return http_send_error(conn, 403, "This token may not read site_id '%s'", site_id);
    }
    return 0;
}
