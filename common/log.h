/* log.h - one-line log messages on stderr, with a level threshold. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

struct mg_connection;

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* text: `2025-05-01T12:00:00.123Z processor WARN message [rid]` on stderr, for people;
 * json: `{"time":"...","level":"warn","service":"processor","message":"...",
 *        "fields":{"request_id":"..."}}` on stdout, one object per line, for collectors. */
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

/* Choose the line format (default text). */
void log_set_format(enum log_format format);

/* Parse "text" or "json". Returns 0 and sets *out, or -1. */
int log_format_parse(const char *name, enum log_format *out);

/* The longest request id kept: ingest takes a client's X-Request-Id up to this long. */
#define LOG_REQUEST_ID_MAX 64

/* Attach a request id to this thread's following messages (NULL or "" clears it).
 * Copied; at most LOG_REQUEST_ID_MAX bytes are kept. */
void log_set_request_id(const char *rid);

/* Set the service name printed on every line (the string must outlive the logger). */
void log_init(const char *service);

/* Set the threshold; messages below it are dropped. */
void log_set_level(enum log_level level);

/* Parse "debug", "info", "warn" or "error" (any case). Returns 0 and sets *out, or -1. */
int log_level_parse(const char *name, enum log_level *out);

/* The upper-case name of a level, e.g. "WARN". */
const char *log_level_name(enum log_level level);

/* True when a message at this level would be written. */
int log_enabled(enum log_level level);

/* Format one message and write it as a single line in the chosen format:
 * `2025-05-01T12:00:00.123Z processor WARN redis down, retry in 800 ms`.
 * Newlines inside the message are replaced by spaces (text) or escaped (json).
 * Safe from any thread, not from a signal handler. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_DEBUG(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define LOG_INFO(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define LOG_WARN(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define LOG_ERROR(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)

/* civetweb's `log_message` callback: writes the message at WARN and returns 1
 * so civetweb does not print it again. */
int log_civetweb(const struct mg_connection *conn, const char *message);

#endif
