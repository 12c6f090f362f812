/* test_log.c - unit tests for common/log.c (levels, thresholds, the line written to stderr). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define SERVICE "test-svc"

/* Up to this much captured output is checked; more fails the test. */
#define CAPTURE_MAX (1024 * 1024)

/* stderr (fd 2) redirected to a temporary file. No cmocka assertion may run while it is
 * in place, since cmocka reports failures on stderr. */
struct capture {
    FILE *f;
    int saved;
};

static void
capture_begin(struct capture *c)
{
    fflush(stderr);
    c->f = tmpfile();
    assert_non_null(c->f);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->saved >= 0);
    assert_int_equal(dup2(fileno(c->f), STDERR_FILENO), STDERR_FILENO);
}

/* Restore fd 2 and return what was written meanwhile, NUL-terminated, in out (malloc'd:
 * free it); *len gets its length. */
static char *
capture_end(struct capture *c, size_t *len)
{
    int restored = dup2(c->saved, STDERR_FILENO);
    struct stat st;
    char *out;
    size_t n;

    close(c->saved);
    assert_int_equal(restored, STDERR_FILENO);
    assert_int_equal(fstat(fileno(c->f), &st), 0);
    assert_true(st.st_size >= 0 && st.st_size <= CAPTURE_MAX);
    n = (size_t)st.st_size;
    out = malloc(n + 1);
    assert_non_null(out);
    rewind(c->f);
    assert_int_equal(fread(out, 1, n, c->f), n);
    out[n] = '\0';
    fclose(c->f);
    *len = n;
    return out;
}

/* Run one log statement with stderr captured; text gets the output (free it). */
#define CAPTURE(text, len, stmt)                                                                   \
    do {                                                                                           \
        struct capture cap_;                                                                       \
        capture_begin(&cap_);                                                                      \
        stmt;                                                                                      \
        (text) = capture_end(&cap_, &(len));                                                       \
    } while (0)

/* The current second on the clock log.c reads. Not time(): glibc answers that from the
 * coarse clock, which can still show the previous second for a few milliseconds after a
 * line has been stamped with the next one. */
static time_t
now_sec(void)
{
    struct timespec ts;

    assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
    return ts.tv_sec;
}

/* The value of the n digits at s, or -1 when one is not a digit. */
static int
digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Check that line (len bytes) is exactly one line,
 * "YYYY-MM-DDTHH:MM:SS.mmmZ <service> <LEVEL> <message>\n", with a UTC time between
 * t0 and t1 (to the second), and return a pointer to its message. */
static const char *
check_line(const char *line, size_t len, const char *level, time_t t0, time_t t1)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
    struct tm tm;
    char head[64];
    time_t t;

    assert_true(len > sizeof shape);
    assert_int_equal(line[len - 1], '\n');
    assert_int_equal(strlen(line), len);
    assert_ptr_equal(strchr(line, '\n'), line + len - 1);
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? digits(line + i, 1) < 0 : line[i] != shape[i]) {
            fail_msg("timestamp byte %zu is '%c' in: %s", i, line[i], line);
        }
    }
    memset(&tm, 0, sizeof tm);
    tm.tm_year = digits(line, 4) - 1900;
    tm.tm_mon = digits(line + 5, 2) - 1;
    tm.tm_mday = digits(line + 8, 2);
    tm.tm_hour = digits(line + 11, 2);
    tm.tm_min = digits(line + 14, 2);
    tm.tm_sec = digits(line + 17, 2);
    assert_in_range(tm.tm_mon, 0, 11);
    assert_in_range(tm.tm_mday, 1, 31);
    assert_in_range(tm.tm_hour, 0, 23);
    assert_in_range(tm.tm_min, 0, 59);
    assert_in_range(tm.tm_sec, 0, 60);
    t = timegm(&tm);
    if (t < t0 || t > t1) {
        fail_msg("timestamp %.24s is not between %lld and %lld", line, (long long)t0,
                 (long long)t1);
    }
    snprintf(head, sizeof head, "%s %s ", SERVICE, level);
    assert_memory_equal(line + sizeof shape - 1, head, strlen(head));
    return line + sizeof shape - 1 + strlen(head);
}

/* Each test starts from a known service name and the lowest threshold. */
static int
reset_logger(void **state)
{
    (void)state;
    log_init(SERVICE);
    log_set_level(LOG_LVL_DEBUG);
    return 0;
}

static void
test_level_parse_names(void **state)
{
    static const struct {
        const char *name;
        enum log_level level;
    } ok[] = {
        {"debug", LOG_LVL_DEBUG}, {"DEBUG", LOG_LVL_DEBUG}, {"Debug", LOG_LVL_DEBUG},
        {"dEbUg", LOG_LVL_DEBUG}, {"info", LOG_LVL_INFO},   {"INFO", LOG_LVL_INFO},
        {"Info", LOG_LVL_INFO},   {"warn", LOG_LVL_WARN},   {"WARN", LOG_LVL_WARN},
        {"wArN", LOG_LVL_WARN},   {"error", LOG_LVL_ERROR}, {"ERROR", LOG_LVL_ERROR},
        {"Error", LOG_LVL_ERROR},
    };

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        enum log_level out = (enum log_level) - 1;
        if (log_level_parse(ok[i].name, &out) != 0 || out != ok[i].level) {
            fail_msg("\"%s\" gave %d", ok[i].name, (int)out);
        }
    }
}

static void
test_level_parse_rejects(void **state)
{
    static const char *const bad[] = {
        "",      "warning", "err",    "inf",    "debu",   "debugx", " info",
        "info ", "info\n",  "trace",  "fatal",  "notice", "0",      "1",
        "3",     "in fo",   "ERRORS", "WARN\t", "i",      "d",      "\xc3\xa9",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* -1, and *out is left alone. */
        enum log_level out = LOG_LVL_ERROR;
        int rc = log_level_parse(bad[i], &out);
        if (rc != -1 || out != LOG_LVL_ERROR) {
            fail_msg("\"%s\" gave %d (level %d), not -1", bad[i], rc, (int)out);
        }
    }
}

static void
test_level_name(void **state)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

    (void)state;
    assert_string_equal(log_level_name(LOG_LVL_DEBUG), "DEBUG");
    assert_string_equal(log_level_name(LOG_LVL_INFO), "INFO");
    assert_string_equal(log_level_name(LOG_LVL_WARN), "WARN");
    assert_string_equal(log_level_name(LOG_LVL_ERROR), "ERROR");
    /* The name parses back to its level. */
    for (int l = LOG_LVL_DEBUG; l <= LOG_LVL_ERROR; l++) {
        enum log_level out = (enum log_level) - 1;
        assert_string_equal(log_level_name((enum log_level)l), names[l]);
        assert_int_equal(log_level_parse(log_level_name((enum log_level)l), &out), 0);
        assert_int_equal(out, l);
    }
}

static void
test_enabled_each_threshold(void **state)
{
    (void)state;
    for (int t = LOG_LVL_DEBUG; t <= LOG_LVL_ERROR; t++) {
        log_set_level((enum log_level)t);
        for (int l = LOG_LVL_DEBUG; l <= LOG_LVL_ERROR; l++) {
            if (!log_enabled((enum log_level)l) != !(l >= t)) {
                fail_msg("threshold %s: log_enabled(%s) is %d", log_level_name((enum log_level)t),
                         log_level_name((enum log_level)l), log_enabled((enum log_level)l));
            }
        }
    }
    /* Lowering it again takes effect too. */
    log_set_level(LOG_LVL_DEBUG);
    assert_true(log_enabled(LOG_LVL_DEBUG));
}

static void
test_msg_line_format(void **state)
{
    char *text;
    size_t len;
    time_t t0, t1;

    (void)state;
    t0 = now_sec();
    CAPTURE(text, len, LOG_WARN("redis down, retry in %d ms", 800));
    t1 = now_sec();
    assert_string_equal(check_line(text, len, "WARN", t0, t1), "redis down, retry in 800 ms\n");
    free(text);
}

static void
test_msg_each_level(void **state)
{
    char *text;
    size_t len;
    time_t t0, t1;

    (void)state;
    t0 = now_sec();
    CAPTURE(text, len, LOG_DEBUG("d %s", "one"));
    t1 = now_sec();
    assert_string_equal(check_line(text, len, "DEBUG", t0, t1), "d one\n");
    free(text);
    CAPTURE(text, len, LOG_INFO("i %d", 2));
    t1 = now_sec();
    assert_string_equal(check_line(text, len, "INFO", t0, t1), "i 2\n");
    free(text);
    CAPTURE(text, len, LOG_WARN("w %c", '3'));
    t1 = now_sec();
    assert_string_equal(check_line(text, len, "WARN", t0, t1), "w 3\n");
    free(text);
    CAPTURE(text, len, LOG_ERROR("e %ld", 4L));
    t1 = now_sec();
    assert_string_equal(check_line(text, len, "ERROR", t0, t1), "e 4\n");
    free(text);
}

static void
test_msg_below_threshold_dropped(void **state)
{
    char *text;
    size_t len;
    time_t t0, t1;

    (void)state;
    log_set_level(LOG_LVL_WARN);
    CAPTURE(text, len, LOG_DEBUG("dropped"));
    assert_int_equal(len, 0);
    free(text);
    CAPTURE(text, len, LOG_INFO("dropped"));
    assert_int_equal(len, 0);
    free(text);
    t0 = now_sec();
    CAPTURE(text, len, LOG_WARN("kept"));
    t1 = now_sec();
    assert_string_equal(check_line(text, len, "WARN", t0, t1), "kept\n");
    free(text);

    log_set_level(LOG_LVL_ERROR);
    CAPTURE(text, len, LOG_WARN("dropped"));
    assert_int_equal(len, 0);
    free(text);
    CAPTURE(text, len, LOG_ERROR("kept"));
    t1 = now_sec();
    assert_string_equal(check_line(text, len, "ERROR", t0, t1), "kept\n");
    free(text);
}

static void
test_msg_service_name(void **state)
{
    char *text;
    size_t len;

    (void)state;
    log_init("processor");
    CAPTURE(text, len, LOG_INFO("started"));
    assert_int_equal(text[len - 1], '\n');
    assert_non_null(strstr(text, " processor INFO started\n"));
    assert_null(strstr(text, SERVICE));
    free(text);
}

static void
test_msg_newlines_replaced(void **state)
{
    char *text;
    size_t len;
    time_t t0, t1;

    (void)state;
    t0 = now_sec();
    CAPTURE(text, len, LOG_ERROR("first\nsecond"));
    t1 = now_sec();
    assert_string_equal(check_line(text, len, "ERROR", t0, t1), "first second\n");
    free(text);
    /* From an argument, at either end, and several in a row. */
    CAPTURE(text, len, LOG_INFO("body: %s", "\n{\n  \"a\": 1\n}\n\n"));
    t1 = now_sec();
    assert_string_equal(check_line(text, len, "INFO", t0, t1), "body:  {   \"a\": 1 }  \n");
    free(text);
}

static void
test_msg_long_message_is_one_line(void **state)
{
    char *big = malloc(10001);
    char *text;
    const char *msg;
    size_t len;
    time_t t0, t1;

    (void)state;
    assert_non_null(big);
    for (size_t i = 0; i < 10000; i++) {
        big[i] = i % 100 == 50 ? '\n' : 'x';
    }
    big[10000] = '\0';
    t0 = now_sec();
    CAPTURE(text, len, LOG_WARN("%s", big));
    t1 = now_sec();
    /* Cut short, but whole: one line, its newlines replaced, with a good part of it. */
    msg = check_line(text, len, "WARN", t0, t1);
    assert_true(strlen(msg) > 1000);
    for (const char *p = msg; p < text + len - 1; p++) {
        if (*p != 'x' && *p != ' ') {
            fail_msg("byte %td of the message is %02x", p - msg, (unsigned char)*p);
        }
    }
    free(text);
    free(big);
}

static void
test_civetweb_callback(void **state)
{
    char *text;
    size_t len;
    time_t t0, t1;
    int rc;

    (void)state;
    t0 = now_sec();
    CAPTURE(text, len, rc = log_civetweb(NULL, "cannot bind to 8080\n"));
    t1 = now_sec();
    assert_int_equal(rc, 1);
    assert_string_equal(check_line(text, len, "WARN", t0, t1), "civetweb: cannot bind to 8080 \n");
    free(text);

    /* At WARN, so an ERROR threshold drops it, but civetweb is still told it was handled. */
    log_set_level(LOG_LVL_ERROR);
    CAPTURE(text, len, rc = log_civetweb(NULL, "dropped"));
    assert_int_equal(rc, 1);
    assert_int_equal(len, 0);
    free(text);
}

#define THREADS 4
#define LINES_PER_THREAD 500

static void *
log_lines(void *arg)
{
    long id = (long)(intptr_t)arg;

    for (int i = 0; i < LINES_PER_THREAD; i++) {
        LOG_INFO("thread %ld line %d %s", id, i,
                 "padding padding padding padding padding padding padding padding");
    }
    return NULL;
}

/* Lines written from several threads at once come out whole, none lost. */
static void
test_msg_threads_lines_whole(void **state)
{
    pthread_t th[THREADS];
    int started = 0, joined = 0;
    int seen[THREADS][LINES_PER_THREAD];
    struct capture cap;
    char *text, *line, *next;
    char one[256];
    size_t len, lines = 0;
    time_t t0, t1;

    (void)state;
    memset(seen, 0, sizeof seen);
    t0 = now_sec();
    capture_begin(&cap);
    for (long i = 0; i < THREADS; i++) {
        started += pthread_create(&th[i], NULL, log_lines, (void *)(intptr_t)i) == 0;
    }
    for (int i = 0; i < started; i++) {
        joined += pthread_join(th[i], NULL) == 0;
    }
    text = capture_end(&cap, &len);
    t1 = now_sec();
    assert_int_equal(started, THREADS);
    assert_int_equal(joined, THREADS);
    for (line = text; line < text + len; line = next) {
        long id;
        int n, end = 0;
        const char *msg;

        next = strchr(line, '\n');
        assert_non_null(next);
        next++;
        /* check_line wants the line alone, so check a copy of it. */
        assert_true((size_t)(next - line) < sizeof one);
        memcpy(one, line, (size_t)(next - line));
        one[next - line] = '\0';
        msg = check_line(one, (size_t)(next - line), "INFO", t0, t1);
        assert_int_equal(sscanf(msg,
                                "thread %ld line %d padding padding padding padding padding "
                                "padding padding padding%n",
                                &id, &n, &end),
                         2);
        assert_int_equal(msg[end], '\n');
        assert_in_range(id, 0, THREADS - 1);
        assert_in_range(n, 0, LINES_PER_THREAD - 1);
        seen[id][n]++;
        lines++;
    }
    assert_int_equal(lines, THREADS * LINES_PER_THREAD);
    for (int i = 0; i < THREADS; i++) {
        for (int j = 0; j < LINES_PER_THREAD; j++) {
            assert_int_equal(seen[i][j], 1);
        }
    }
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_level_parse_names, reset_logger),
        cmocka_unit_test_setup(test_level_parse_rejects, reset_logger),
        cmocka_unit_test_setup(test_level_name, reset_logger),
        cmocka_unit_test_setup(test_enabled_each_threshold, reset_logger),
        cmocka_unit_test_setup(test_msg_line_format, reset_logger),
        cmocka_unit_test_setup(test_msg_each_level, reset_logger),
        cmocka_unit_test_setup(test_msg_below_threshold_dropped, reset_logger),
        cmocka_unit_test_setup(test_msg_service_name, reset_logger),
        cmocka_unit_test_setup(test_msg_newlines_replaced, reset_logger),
        cmocka_unit_test_setup(test_msg_long_message_is_one_line, reset_logger),
        cmocka_unit_test_setup(test_civetweb_callback, reset_logger),
        cmocka_unit_test_setup(test_msg_threads_lines_whole, reset_logger),
    };

    return cmocka_run_group_tests_name("log: levels, thresholds and the stderr line", tests, NULL,
                                       NULL);
}
