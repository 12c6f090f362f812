/* civet_internals.h - all that http takes from inside civetweb, checked against one release. */
#ifndef COMMON_CIVET_INTERNALS_H
#define COMMON_CIVET_INTERNALS_H

#include <civetweb.h>

#include "err.h"

/* Everything here depends on how civetweb works inside, not on its API: the layout of
 * its connection struct, how it parses a request in place, the texts of its own error
 * replies. civet_internals.c was checked against civetweb 1.15 as Debian builds it
 * (1.15+dfsg-4, x86-64) and refuses to build (#error) against any other version; moving
 * to another means checking each function below against that version's source again. */

/* 0 when the civetweb loaded at run time is the version this file was built for, else -1
 * with err filled (a shared library replaced under a built program). */
int civet_internals_check(struct app_err *err);

/* The socket of the connection conn serves, or -1 when civetweb's connection struct is
 * not as checked (the socket's peer and local ports must be the request's); sets
 * *peer_port to its peer's port. Call it from the connection's worker thread; the
 * descriptor is valid until the connection closes. */
int civet_internals_socket(const struct mg_connection *conn, int *peer_port);

/* Why civetweb may not have kept every line of the header block of the request on conn,
 * or NULL when it kept them all: a line it stopped at (obsolete line folding, a line that
 * does not start like a header), a 64th header, or a line not ended by CRLF (a bare LF:
 * RFC 9112 lets a server refuse it, and the block's end is then ambiguous). Reads only
 * the bytes of the header block. A message for a 400 reply. */
const char *civet_internals_headers_error(const struct mg_connection *conn);

/* Whether civetweb read a request on conn and is closing the connection without an
 * answer, not having handed the request over (begin_request): 1.15 does so for a target
 * that is not a path on this server (absolute-form "http://host/path", "*"). Call it from
 * the connection_close callback, and only when nothing was answered. */
int civet_internals_request_dropped(const struct mg_connection *conn);

/* Take over the decoding of the chunked body of the request on conn: from now on
 * mg_read() returns its raw bytes, chunk sizes and all (civetweb 1.15 refuses chunk
 * extensions and trailer fields, which RFC 9112 allows). Returns 0, or -1 (nothing
 * changed) when conn is not a chunked request whose body is untouched. */
int civet_internals_raw_chunked(struct mg_connection *conn);

/* After civet_internals_raw_chunked(): the body was read to its end, so that civetweb
 * may keep the connection for the next request (which may already be in its buffer). */
void civet_internals_raw_chunked_done(struct mg_connection *conn);

/* civetweb's own error reply for status with its message civetweb_msg, in our words:
 * sets *status to the status to answer (civetweb's 411 for a Content-Length it cannot
 * read is a 400) and returns the message. Only civetweb's fixed texts are looked at
 * (some of its messages quote the client's bytes). */
const char *civet_internals_error_message(int *status, const char *civetweb_msg);

#endif
