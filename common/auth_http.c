/* auth_http.c - a request's bearer token against a token list: the 401 and 404 answers. */
#include "auth_http.h"

#include "http.h"
#include "http_reply.h"

const struct auth_token *
auth_request_token(struct mg_connection *conn, const struct auth *a)
{
    const char *tok = NULL;
    size_t len = auth_bearer(mg_get_header(conn, "Authorization"), &tok);

    return len > 0 ? auth_match(a, tok, len) : NULL;
}

int
auth_check_bearer(struct mg_connection *conn, const struct auth *a)
{
    if (mg_get_header(conn, "Authorization") == NULL) {
        return http_send_error_headers(conn, 401, "WWW-Authenticate: Bearer\r\n",
                                       "Missing token: send Authorization: Bearer <token>");
    }
    if (auth_request_token(conn, a) == NULL) {
        return http_send_error_headers(
            conn, 401, "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n", "Invalid token");
    }
    return 0;
}

int
auth_check_admin(struct mg_connection *conn, const struct auth *a)
{
    /* Without admin tokens the route is not there: the same 404 as an unknown path. */
    return a->n == 0 ? http_send_error(conn, 404, "Not found: %.128s",
                                       mg_get_request_info(conn)->local_uri)
                     : auth_check_bearer(conn, a);
}
