/* auth_http.h - a request's bearer token against a token list (auth.h): the 401 and 404
 * answers that reporting's filter and ingest's share (reporting/access.c, ingest/routes.c). */
#ifndef COMMON_AUTH_HTTP_H
#define COMMON_AUTH_HTTP_H

#include <civetweb.h>

#include "auth.h"

/* The request's token (Authorization: Bearer) known to list a, or NULL. */
const struct auth_token *auth_request_token(struct mg_connection *conn, const struct auth *a);

/* Whether the request carries a token of list a: 0, or the status of the 401 sent
 * ("Missing token: send Authorization: Bearer <token>" with WWW-Authenticate: Bearer, or
 * "Invalid token" with WWW-Authenticate: Bearer error="invalid_token"). */
int auth_check_bearer(struct mg_connection *conn, const struct auth *a);

/* The check of an admin route (HTTP_ROUTE_ADMIN) against the admin list a: without admin
 * tokens the route is not there (404 "Not found: <path>", whatever the request carries),
 * else auth_check_bearer(). Returns 0, or the status of the answer sent. */
int auth_check_admin(struct mg_connection *conn, const struct auth *a);

#endif
