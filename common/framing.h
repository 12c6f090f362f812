/* framing.h - HTTP/1.1 message framing (RFC 9112): the header rules, and chunked bodies. */
#ifndef COMMON_FRAMING_H
#define COMMON_FRAMING_H

#include <civetweb.h>
#include <stddef.h>
#include <stdint.h>

/* Why a request with these HTTP version ("1.0", "1.1") and headers cannot be trusted to
 * say where it ends, or is not valid HTTP/1.1 (RFC 9112), or NULL: more than one
 * Content-Length or Transfer-Encoding, both, Transfer-Encoding in HTTP/1.0 or other than
 * chunked, a Content-Length that is not 1-18 digits (then optional whitespace), no Host
 * or more than one in HTTP/1.1. A message for a 400 reply, after which the connection is
 * closed (a second request could hide in the body). Pure. */
const char *framing_error(const char *http_version, const struct mg_header *headers, int n);

/* Read the size of a chunk from the line that starts it (len bytes, CRLF excluded):
 * 1-15 hex digits, then chunk extensions (RFC 9112, 7.1.1: `;name`, `;name=token`,
 * `;name="quoted"`, whitespace around them), which are ignored. Returns 0 and sets *size,
 * or -1 when the line is not that. Pure. */
int framing_chunk_size(const char *line, size_t len, uint64_t *size);

/* The value of hex digit c (0-9, a-f, A-F), or -1. */
int framing_hex_digit(char c);

/* Begin reading the body of the request on conn, which framing_error() found well
 * framed; chunked: it has "Transfer-Encoding: chunked". A chunked body is then decoded
 * here (civetweb 1.15's decoder refuses chunk extensions and trailer fields), unless
 * civetweb's connection is not as checked (civet_internals.h): then civetweb's own
 * decoder reads it. One request at a time per thread (the state is the thread's). */
void framing_start(struct mg_connection *conn, int chunked);

/* mg_read() for the body of the request framing_start() began: up to room bytes of the
 * body, decoded; 0 at its end (after a chunked body's trailer fields, which are read and
 * dropped); -1 when it could not be read or is not well framed. */
int framing_read(struct mg_connection *conn, char *dst, size_t room);

#endif
