/* log.c - one-line log messages on stderr, with a level threshold. */
#include "log.h"

#include "text.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_service = "app";
static atomic_int log_threshold = LOG_LVL_INFO;
static atomic_int log_format_json = 0;
static _Thread_local char log_rid[LOG_REQUEST_ID_MAX + 1];

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void
log_init(const char *service)
{
    log_service = service;
}

void
log_set_level(enum log_level level)
{
    log_threshold = (int)level;
}

int
log_level_parse(const char *name, enum log_level *out)
{
    for (int i = LOG_LVL_DEBUG; i <= LOG_LVL_ERROR; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void
log_set_format(enum log_format format)
{
    log_format_json = format == LOG_FORMAT_JSON;
}

int
log_format_parse(const char *name, enum log_format *out)
{
    if (strcasecmp(name, "text") == 0) {
        *out = LOG_FORMAT_TEXT;
    } else if (strcasecmp(name, "json") == 0) {
        *out = LOG_FORMAT_JSON;
    } else {
        return -1;
    }
    return 0;
}

void
log_set_request_id(const char *rid)
{
    size_t n = rid != NULL ? strnlen(rid, sizeof log_rid - 1) : 0;

    /* Not snprintf(): this runs twice per request. */
    memcpy(log_rid, rid != NULL ? rid : "", n);
    log_rid[n] = '\0';
}

const char *
log_level_name(enum log_level level)
{
    return level_names[level];
}

int
log_enabled(enum log_level level)
{
    return (int)level >= log_threshold;
}

/* Append s to out (JSON-escaped when json) while fewer than cap - 8 bytes are used
 * (an escape takes 6). Returns the new length. */
static size_t
append(char *out, size_t n, size_t cap, const char *s, int json)
{
    for (; *s != '\0' && n + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (!json) {
            out[n++] = (char)(c == '\n' || c == '\r' ? ' ' : c);
        } else if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    return n;
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    static const char *const lower[] = {"debug", "info", "warn", "error"};
    char msg[1536], safe[1536], stamp[40], line[4096];
    struct timespec now;
    struct tm tm;
    size_t n = 0;
    int json = log_format_json;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%.3ldZ", now.tv_nsec / 1000000L);
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* Messages may quote client bytes: keep the line valid UTF-8. */
    text_sanitize(safe, sizeof safe, msg, strlen(msg));
    n = 0;
    if (json) {
        n = (size_t)snprintf(line, sizeof line, "{\"time\":\"%s\",\"level\":\"%s\",\"service\":\"",
                             stamp, lower[level]);
        n = append(line, n, 256, log_service, 1);
        n = append(line, n, sizeof line, "\",\"message\":\"", 0);
        /* Room is kept for the request id (64 bytes, escaped) and the closing. */
        n = append(line, n, sizeof line - 512, safe, 1);
        if (log_rid[0] != '\0') {
            n = append(line, n, sizeof line, "\",\"fields\":{\"request_id\":\"", 0);
            n = append(line, n, sizeof line, log_rid, 1);
            n = append(line, n, sizeof line, "\"}}", 0);
        } else {
            n = append(line, n, sizeof line, "\"}", 0);
        }
    } else {
        n = append(line, n, sizeof line, stamp, 0);
        n = append(line, n, sizeof line, " ", 0);
        n = append(line, n, 256, log_service, 0);
        n = append(line, n, sizeof line, " ", 0);
        n = append(line, n, sizeof line, level_names[level], 0);
        n = append(line, n, sizeof line, " ", 0);
        n = append(line, n, sizeof line - 512, safe, 0);
        if (log_rid[0] != '\0') {
            n = append(line, n, sizeof line, " [", 0);
            n = append(line, n, sizeof line, log_rid, 0);
            n = append(line, n, sizeof line, "]", 0);
        }
    }
    line[n++] = '\n';
    /* One write() per line keeps lines from different threads whole. */
    ssize_t w = write(json ? STDOUT_FILENO : STDERR_FILENO, line, n);
    (void)w;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;

    if (!log_enabled(level)) {
        return;
    }
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

int
log_civetweb(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    LOG_WARN("civetweb: %s", message);
    return 1;
}
