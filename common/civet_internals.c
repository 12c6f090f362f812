/* civet_internals.c - all that http takes from inside civetweb, checked against one release. */
#include "civet_internals.h"

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* Checked against civetweb 1.15's source (Debian's 1.15+dfsg-4: its src/civetweb.c) and
 * library. Another version may lay out its connection struct or parse a request otherwise:
 * check every function here against it before adding it to this condition. */
#if CIVETWEB_VERSION_MAJOR != 1 || CIVETWEB_VERSION_MINOR != 15
#error "civet_internals.c was checked against civetweb 1.15 only: check it against this version"
#endif
#if !defined(__x86_64__) || !defined(__linux__)
#error "civet_internals.c's offsets were measured on x86-64 Linux only"
#endif

/* Where civetweb 1.15 keeps what is read here in its struct mg_connection (which a
 * struct mg_connection * points at), in bytes from the start of the struct, as Debian
 * builds it (websockets and TLS on; no IPv6, server statistics or HTTP/2): offsetof()
 * printed by a program compiled with that civetweb.c and those options, and checked at
 * run time against the library where it can be (conn_base(), block_end(),
 * civet_internals_socket()). The request_info member is what mg_get_request_info()
 * returns. */
#define CONN_REQUEST_INFO 16
#define CONN_PHYS_CTX 2272    /* struct mg_context *phys_ctx: what mg_get_context() returns */
#define CONN_SOCK 2296        /* int client.sock */
#define CONN_CONTENT_LEN 2368 /* int64_t content_len: the body's bytes mg_read() may return */
#define CONN_CONSUMED 2376    /* int64_t consumed_content: those it returned */
#define CONN_IS_CHUNKED 2384  /* int is_chunked: 0 no, 1 decoding, 4 all read */
#define CONN_BUF 2392         /* char *buf: the received bytes, the header block first */
#define CONN_BUF_SIZE 2428    /* int buf_size */
#define CONN_REQUEST_LEN 2432 /* int request_len: the header block's length in buf */
#define CONN_DATA_LEN 2436    /* int data_len: the bytes in buf */

int
civet_internals_check(struct app_err *err)
{
    if (strcmp(mg_version(), CIVETWEB_VERSION) != 0) {
        return err_set(err, ERR_INVALID, "civetweb %s is loaded, but this program was built for %s",
                       mg_version(), CIVETWEB_VERSION);
    }
    return 0;
}

/* conn's struct as bytes, or NULL when it is not the struct measured: the context
 * mg_get_context() reads from it must be where ours says. */
static const char *
conn_base(const struct mg_connection *conn)
{
    const char *base = (const char *)conn;
    const struct mg_context *phys;

    memcpy(&phys, base + CONN_PHYS_CTX, sizeof phys);
    return phys == mg_get_context(conn) ? base : NULL;
}

static int
port_of(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET) {
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    }
    if (sa->ss_family == AF_INET6) {
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    }
    return -1;
}

int
civet_internals_socket(const struct mg_connection *conn, int *peer_port)
{
    /* (mg_get_request_info() answers NULL before a request is read: the struct's own.) */
    const char *base = conn_base(conn);
    const struct mg_request_info *ri = (const void *)(base + CONN_REQUEST_INFO);
    struct sockaddr_storage peer, local;
    socklen_t peer_len = sizeof peer, local_len = sizeof local;
    int fd;

    if (base == NULL) {
        return -1;
    }
    memcpy(&fd, base + CONN_SOCK, sizeof fd);
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&peer, &peer_len) != 0 ||
        getsockname(fd, (struct sockaddr *)&local, &local_len) != 0 ||
        port_of(&peer) != ri->remote_port || port_of(&local) != ri->server_port) {
        return -1;
    }
    *peer_port = ri->remote_port;
    return fd;
}

/* The end of the header block of the request on conn (one past its last byte), or NULL
 * when the struct is not as measured: the request line must lie in the block, and the
 * block in the buffer's received bytes. */
static const char *
block_end(const struct mg_connection *conn)
{
    const char *base = conn_base(conn), *buf, *method = mg_get_request_info(conn)->request_method;
    int buf_size, request_len, data_len;

    if (base == NULL || (const char *)mg_get_request_info(conn) != base + CONN_REQUEST_INFO ||
        method == NULL) {
        return NULL;
    }
    memcpy(&buf, base + CONN_BUF, sizeof buf);
    memcpy(&buf_size, base + CONN_BUF_SIZE, sizeof buf_size);
    memcpy(&request_len, base + CONN_REQUEST_LEN, sizeof request_len);
    memcpy(&data_len, base + CONN_DATA_LEN, sizeof data_len);
    if (buf == NULL || request_len <= 0 || request_len > data_len || data_len > buf_size ||
        (uintptr_t)method < (uintptr_t)buf ||
        (uintptr_t)method >= (uintptr_t)buf + (uintptr_t)request_len) {
        return NULL;
    }
    return buf + request_len;
}

#define NOT_CRLF "Request header lines must end with CRLF"

/* civetweb 1.15 parses the header block in place (parse_http_request()): it zeroes the
 * block's last byte, every whitespace byte after the HTTP version, and each header line's
 * CR and LF. It stops, silently, at a line that does not start like a header (a space or
 * tab: obsolete line folding; a colon; a byte over 126...) and after its 64th header;
 * what follows is dropped, a Content-Length included, and the body is then read as the
 * next request (request smuggling). A block ends at the first LF LF or CR LF CR LF, so
 * with bare LFs the bytes after a line's end do not tell where the block ends: every read
 * below is of a byte before end, the block's end as civetweb counted it. */
const char *
civet_internals_headers_error(const struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *end = block_end(conn), *q, *p;
    int n = ri->num_headers;

    if (end == NULL) {
        return "Internal error: civetweb's connection is not as checked";
    }
    if (n >= MG_MAX_HEADERS) {
        return "Too many request headers (at most 63)";
    }
    /* strlen() stays in the block: its last byte is NUL. */
    q = ri->http_version + strlen(ri->http_version);
    if (n == 0) {
        /* Only the request line: every byte after the version is a zeroed CR LF CR LF,
         * or a line civetweb did not take follows. */
        for (p = q; p < end; p++) {
            if (*p != '\0') {
                return "Malformed request headers";
            }
        }
        return end - q == 4 ? NULL : NOT_CRLF;
    }
    /* Each line but the last: the next one starts two bytes (CR LF) after its end. */
    if (ri->http_headers[0].name != q + 2) {
        return NOT_CRLF;
    }
    for (int i = 0; i + 1 < n; i++) {
        const char *v = ri->http_headers[i].value;
        if (ri->http_headers[i + 1].name != v + strlen(v) + 2) {
            return NOT_CRLF;
        }
    }
    /* The last line ends at q. Its CR LF, then the blank line's CR LF, end the block:
     * NUL NUL CR NUL. A bare LF leaves q + 1 non-NUL (the start of a dropped line) or as
     * the block's last byte (LF LF). */
    q = ri->http_headers[n - 1].value;
    q += strlen(q);
    if (end - q < 3 || q[1] != '\0') {
        return NOT_CRLF;
    }
    if (end - q == 3) {
        return NOT_CRLF; /* CR LF, then a bare LF */
    }
    if (end - q == 4 && q[2] == '\r' && q[3] == '\0') {
        return NULL;
    }
    /* q + 2 starts a line that civetweb did not take. */
    return q[2] == ' ' || q[2] == '\t' ? "Obsolete line folding in request headers is not accepted"
                                       : "Malformed request headers";
}

int
civet_internals_raw_chunked(struct mg_connection *conn)
{
    char *base = (char *)conn;
    int64_t content_len, consumed, unlimited = INT64_MAX;
    int is_chunked, raw = 0;

    if (conn_base(conn) == NULL || mg_get_request_info(conn) == NULL) {
        return -1;
    }
    memcpy(&content_len, base + CONN_CONTENT_LEN, sizeof content_len);
    memcpy(&consumed, base + CONN_CONSUMED, sizeof consumed);
    memcpy(&is_chunked, base + CONN_IS_CHUNKED, sizeof is_chunked);
    /* get_request() leaves a chunked request so: decoding, nothing of it read yet. */
    if (is_chunked != 1 || content_len != 0 || consumed != 0) {
        return -1;
    }
    /* mg_read_inner() then returns the bytes as they come, without an end. */
    memcpy(base + CONN_IS_CHUNKED, &raw, sizeof raw);
    memcpy(base + CONN_CONTENT_LEN, &unlimited, sizeof unlimited);
    return 0;
}

void
civet_internals_raw_chunked_done(struct mg_connection *conn)
{
    char *base = (char *)conn;
    int all_read = 4;

    /* As civetweb's own decoder leaves a body read to its end: process_new_connection()
     * keeps the connection for is_chunked 4, and keeps the bytes after content_len (the
     * body's, framing included) in its buffer as the next request. */
    memcpy(base + CONN_CONTENT_LEN, base + CONN_CONSUMED, sizeof(int64_t));
    memcpy(base + CONN_IS_CHUNKED, &all_read, sizeof all_read);
}

int
civet_internals_request_dropped(const struct mg_connection *conn)
{
    /* process_new_connection(): a request parsed (its method set), whose local_uri
     * get_rel_url_at_current_server() could not make (NULL), is neither handled nor
     * answered; the connection is closed. */
    const struct mg_request_info *ri = mg_get_request_info(conn);

    return ri != NULL && ri->request_method != NULL && ri->local_uri == NULL;
}

const char *
civet_internals_error_message(int *status, const char *civetweb_msg)
{
    /* "Malformed message" (get_message()): a header block civetweb could not read whole:
     * bad bytes, more than its 16 KiB buffer, or not in time. */
    switch (*status) {
    case 400:
        return strcmp(civetweb_msg, "Malformed message") == 0
                   ? "Malformed HTTP request, or headers over 16384 bytes"
                   : "Malformed HTTP request";
    case 411:
        /* get_request(): a Content-Length strtoll() cannot read. */
        *status = 400;
        return "Content-Length must be a decimal number";
    case 505:
        return "HTTP version not supported; use HTTP/1.1";
    default:
        return *status >= 500 ? "Internal error" : "Bad request";
    }
}
