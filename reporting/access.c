/* access.c - who may read and who may administer: the bearer token of each request, against
 * the read tokens or, on an admin route, the admin tokens (auth.h, auth_http.h). */
#include <string.h>

#include "auth_http.h"
#include "reporting.h"

int
reporting_filter(struct mg_connection *conn, void *ctx)
{
    struct reporting *r = ctx;
    int flags = http_route_flags(conn);

    if (flags & HTTP_ROUTE_ADMIN) {
        return auth_check_admin(conn, &r->admin);
    }
    if (r->auth.n == 0 || (flags & HTTP_ROUTE_PUBLIC)) {
        return 0;
    }
    return auth_check_bearer(conn, &r->auth);
}

/* Whether the request's token of list a (which reporting_filter() let through) covers
 * site_id: 0, or the status of the 403 sent (what: what the token may not do). */
static int
may(struct mg_connection *conn, const struct auth *a, const char *site_id, const char *what)
{
    const struct auth_token *t = auth_request_token(conn, a);

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
