/* framing.c - HTTP/1.1 message framing (RFC 9112): the header rules, and chunked bodies. */
#include "framing.h"

#include <string.h>
#include <strings.h>

#include "civet_internals.h"

/* Whether field value v is a decimal number of 1-18 digits, then nothing but optional
 * whitespace (civetweb drops the whitespace before a value, not after it). */
static int
decimal_value(const char *v)
{
    size_t n = strspn(v, "0123456789");
    return n > 0 && n <= 18 && v[n + strspn(v + n, " \t")] == '\0';
}

const char *
framing_error(const char *http_version, const struct mg_header *headers, int n)
{
    const char *cl = NULL, *te = NULL;
    int n_cl = 0, n_te = 0, n_host = 0,
        v11 = http_version != NULL && strcmp(http_version, "1.1") == 0;

    for (int i = 0; i < n; i++) {
        if (strcasecmp(headers[i].name, "Content-Length") == 0) {
            cl = headers[i].value;
            n_cl++;
        } else if (strcasecmp(headers[i].name, "Transfer-Encoding") == 0) {
            te = headers[i].value;
            n_te++;
        } else if (strcasecmp(headers[i].name, "Host") == 0) {
            n_host++;
        }
    }
    if (n_cl > 1) {
        return "More than one Content-Length header";
    }
    if (n_te > 1) {
        return "More than one Transfer-Encoding header";
    }
    if (cl != NULL && te != NULL) {
        return "Content-Length and Transfer-Encoding may not be sent together";
    }
    if (te != NULL && !v11) {
        /* RFC 9112, 6.1: faulty framing in HTTP/1.0, whose recipients may not know it. */
        return "Transfer-Encoding is not allowed in HTTP/1.0";
    }
    if (te != NULL && strcasecmp(te, "chunked") != 0) {
        return "Transfer-Encoding must be chunked";
    }
    if (cl != NULL && !decimal_value(cl)) {
        return "Content-Length must be a decimal number";
    }
    if (v11 && n_host != 1) {
        /* RFC 9112, 3.2: exactly one Host in HTTP/1.1. */
        return n_host == 0 ? "Missing Host header" : "More than one Host header";
    }
    return NULL;
}

int
framing_hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

#define FRAMING_LINE_MAX 4096   /* a chunk-size line or a trailer line, CRLF excluded */
#define FRAMING_TRAILERS_MAX 64 /* trailer lines */

static int
tchar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Skip optional whitespace, then 1 or more tchars; returns where they end, or NULL. */
static const char *
skip_token(const char *p, const char *end)
{
    const char *start;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    for (start = p; p < end && tchar(*p); p++) {
    }
    return p > start ? p : NULL;
}

/* A quoted-string at p (p < end, *p == '"'); returns where it ends, or NULL. */
static const char *
skip_quoted(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            return p + 1;
        }
        if (c == '\\' && p + 1 < end) {
            p++;
            c = (unsigned char)*p;
        }
        if (c < 0x20 ? c != '\t' : c == 0x7f) {
            return NULL;
        }
    }
    return NULL;
}

int
framing_chunk_size(const char *line, size_t len, uint64_t *size)
{
    const char *p = line, *end = line + len;
    uint64_t v = 0;
    int digits = 0;

    for (; p < end && framing_hex_digit(*p) >= 0; p++) {
        if (++digits > 15) {
            return -1; /* more than any body we take */
        }
        v = v * 16 + (uint64_t)framing_hex_digit(*p);
    }
    if (digits == 0) {
        return -1;
    }
    /* chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) */
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }
        if (p == end) {
            *size = v;
            return 0;
        }
        if (*p != ';' || (p = skip_token(p + 1, end)) == NULL) {
            return -1;
        }
        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }
        if (p < end && *p == '=') {
            for (p++; p < end && (*p == ' ' || *p == '\t'); p++) {
            }
            p = p < end && *p == '"' ? skip_quoted(p, end) : skip_token(p, end);
            if (p == NULL) {
                return -1;
            }
        }
    }
}

/* Where this thread's chunked body is (one request at a time per worker thread). */
enum chunk_state { CHUNK_OFF, CHUNK_SIZE, CHUNK_DATA, CHUNK_DATA_END, CHUNK_TRAILER, CHUNK_DONE };
static _Thread_local enum chunk_state chunk_state;
static _Thread_local uint64_t chunk_left;
static _Thread_local int chunk_trailers;

void
framing_start(struct mg_connection *conn, int chunked)
{
    chunk_state = CHUNK_OFF;
    chunk_trailers = 0;
    if (chunked && civet_internals_raw_chunked(conn) == 0) {
        chunk_state = CHUNK_SIZE;
    }
}

/* Read one line of the chunked framing, ended by CRLF, into line (FRAMING_LINE_MAX + 1
 * bytes); returns its length without the CRLF, or -1 (the client went, a bare LF, too long). */
static int
read_line(struct mg_connection *conn, char *line)
{
    int n = 0;

    for (;;) {
        char c;
        if (mg_read(conn, &c, 1) != 1) {
            return -1;
        }
        if (c == '\n') {
            return n > 0 && line[n - 1] == '\r' ? n - 1 : -1;
        }
        if (n == FRAMING_LINE_MAX + 1) {
            return -1;
        }
        line[n++] = c;
    }
}

int
framing_read(struct mg_connection *conn, char *dst, size_t room)
{
    char line[FRAMING_LINE_MAX + 2];
    int n;

    for (;;) {
        switch (chunk_state) {
        case CHUNK_OFF:
            return mg_read(conn, dst, room);
        case CHUNK_SIZE:
            if ((n = read_line(conn, line)) < 0 ||
                framing_chunk_size(line, (size_t)n, &chunk_left) != 0) {
                return -1;
            }
            chunk_state = chunk_left > 0 ? CHUNK_DATA : CHUNK_TRAILER;
            break;
        case CHUNK_DATA:
            n = mg_read(conn, dst, room < chunk_left ? room : (size_t)chunk_left);
            if (n <= 0) {
                return -1; /* the client went, or civetweb's read timeout, mid-chunk */
            }
            if ((chunk_left -= (uint64_t)n) == 0) {
                chunk_state = CHUNK_DATA_END;
            }
            return n;
        case CHUNK_DATA_END:
            if (read_line(conn, line) != 0) {
                return -1;
            }
            chunk_state = CHUNK_SIZE;
            break;
        case CHUNK_TRAILER:
            /* Trailer fields are read and dropped (none is used here); an empty line ends
             * the body. */
            if ((n = read_line(conn, line)) < 0 || ++chunk_trailers > FRAMING_TRAILERS_MAX) {
                return -1;
            }
            if (n > 0) {
                int name = 0;
                while (name < n && tchar(line[name])) {
                    name++;
                }
                if (name == 0 || name == n || line[name] != ':') {
                    return -1; /* not "name:" */
                }
                break;
            }
            chunk_state = CHUNK_DONE;
            civet_internals_raw_chunked_done(conn);
            return 0;
        case CHUNK_DONE:
            return 0;
        }
    }
}
