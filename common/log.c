/* log.c - one-line log messages on stderr, with a level threshold. */
#include "log.h"

#include <mongoc/mongoc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_service = "app";
static volatile int log_threshold = LOG_LVL_INFO;

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

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    char line[2048];
    struct timespec now;
    struct tm tm;
    size_t n;
    int k;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    k = snprintf(line + n, sizeof line - n, ".%.3ldZ %.64s %s ", now.tv_nsec / 1000000L,
                 log_service, level_names[level]);
    if (k > 0) {
        n += (size_t)k; /* at most ~100 bytes: the service name is cut to 64 */
    }
    k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    if (k > 0) {
        size_t end = n + (size_t)k;
        if (end > sizeof line - 2) {
            end = sizeof line - 2;
        }
        for (size_t i = n; i < end; i++) {
            if (line[i] == '\n' || line[i] == '\r') {
                line[i] = ' ';
            }
        }
        n = end;
    }
    line[n++] = '\n';
    /* One write() per line keeps lines from different threads whole. */
    ssize_t w = write(STDERR_FILENO, line, n);
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

static void
mongoc_handler(mongoc_log_level_t mlevel, const char *domain, const char *message, void *data)
{
    enum log_level level;

    (void)data;
    switch (mlevel) {
    case MONGOC_LOG_LEVEL_ERROR:
    case MONGOC_LOG_LEVEL_CRITICAL:
        level = LOG_LVL_ERROR;
        break;
    case MONGOC_LOG_LEVEL_WARNING:
        level = LOG_LVL_WARN;
        break;
    case MONGOC_LOG_LEVEL_MESSAGE:
    case MONGOC_LOG_LEVEL_INFO:
        level = LOG_LVL_INFO;
        break;
    default:
        level = LOG_LVL_DEBUG;
        break;
    }
    /* The test server lacks endSessions; the driver warns about it at client
     * destroy. It is harmless (see MONGO.md), so it is demoted to debug. */
    if (strstr(message, "endSessions") != NULL) {
        level = LOG_LVL_DEBUG;
    }
    if (mlevel == MONGOC_LOG_LEVEL_TRACE) {
        return;
    }
    log_msg(level, "mongoc[%s]: %s", domain, message);
}

void
log_route_mongoc(void)
{
    mongoc_log_trace_disable();
    mongoc_log_set_handler(mongoc_handler, NULL);
}

int
log_civetweb(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    LOG_WARN("civetweb: %s", message);
    return 1;
}
