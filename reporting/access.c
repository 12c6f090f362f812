/* access.c - who may read and who may administer: the bearer token of each request, against
 * the read tokens or, on an admin route, the admin tokens (auth.h). */
#include <string.h>

#include "reporting.h"

/* The request's token known to list a, or NULL. */
static const struct auth_token *
request_token(struct mg_connection *conn, const struct auth *a)
{
    const char *tok = NULL;
    size_t len = auth_bearer(mg_get_header(conn, "Authorization"), &tok);

    return len > 0 ? auth_match(a, tok, len) : NULL;
}

/* Whether the request carries a token of list a: 0, or the status of the 401 sent. */
static int
check_bearer(struct mg_connection *conn, const struct auth *a)
{
    if (mg_get_header(conn, "Authorization") == NULL) {
        return http_send_error_headers(conn, 401, "WWW-Authenticate: Bearer\r\n",
                                       "Missing token: send Authorization: Bearer <token>");
    }
    if (request_token(conn, a) == NULL) {
        return http_send_error_headers(
            conn, 401, "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n", "Invalid token");
    }
    return 0;
}

int
reporting_filter(struct mg_connection *conn, void *ctx)
{
    struct reporting *r = ctx;
    int flags = http_route_flags(conn);

    if (flags & HTTP_ROUTE_ADMIN) {
        /* Without admin tokens the route is not there: the same 404 as an unknown path. */
        return r->admin.n == 0 ? http_send_error(conn, 404, "Not found: %.128s",
                                                 mg_get_request_info(conn)->local_uri)
                               : check_bearer(conn, &r->admin);
    }
    if (r->auth.n == 0 || (flags & HTTP_ROUTE_PUBLIC)) {
        return 0;
    }
    return check_bearer(conn, &r->auth);
}

/* Whether the request's token of list a (which reporting_filter() let through) covers
 * site_id: 0, or the status of the 403 sent (what: what the token may not do). */
static int
may(struct mg_connection *conn, const struct auth *a, const char *site_id, const char *what)
{
    const struct auth_token *t = request_token(conn, a);

    if (t == NULL || !auth_covers(t, site_id)) {
        return http_send_error(conn, 403, "This token may not %s site_id '%s'", what, site_id);
    }
    return 0;
}

int
reporting_may_read(struct mg_connection *conn, struct reporting *r, const char *site_id)
{
    return r->auth.n == 0 ? 0 : may(conn, &r->auth, site_id, "read");
}

int
reporting_may_admin(struct mg_connection *conn, struct reporting *r, const char *site_id,
                    const char *what)
{
    /* reporting_filter() answered 404 without admin tokens: the route never runs then. */
    return may(conn, &r->admin, site_id, what);
}
