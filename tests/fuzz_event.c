/* fuzz_event.c - libFuzzer target: the event parser/validator, the envelope codec, the
 * timestamp parsers and the query-string parser, with round-trip properties. Each input
 * runs on a thread with the stack of a civetweb worker (102400 bytes, Debian's
 * CIVETWEB_THREAD_STACK_SIZE), so a parse that recurses too deep for a worker crashes
 * here too. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "event.h"
#include "http.h"
#include "ts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WORKER_STACK_BYTES 102400

/* A request body that validates must survive envelope encode -> decode unchanged. */
static void
request_round_trip(const char *buf, size_t len)
{
    json_t *body = event_parse_body(buf, len, NULL);
    struct event ev, back;
    struct app_err err = {0};
    char *text;
    size_t text_len = 0;

    event_init(&back);
    if (body == NULL || event_from_request(body, &ev, &err) != 0) {
        json_decref(body);
        return;
    }
    ev.received_ms = 1;
    ev.request_id = "fuzz-rid";
    event_new_id(ev.ts_ms, ev.id);
    text = envelope_encode(&ev, &text_len);
    if (text == NULL) {
        abort();
    }
    if (envelope_decode(text, text_len, &back, &err) != 0 || strcmp(back.id, ev.id) != 0 ||
        strcmp(back.site_id, ev.site_id) != 0 || strcmp(back.event_type, ev.event_type) != 0 ||
        back.ts_ms != ev.ts_ms || back.received_ms != ev.received_ms || back.request_id == NULL ||
        strcmp(back.request_id, ev.request_id) != 0 || (ev.path == NULL) != (back.path == NULL) ||
        (ev.path && strcmp(ev.path, back.path) != 0) ||
        (ev.user_id == NULL) != (back.user_id == NULL) ||
        (ev.user_id && strcmp(ev.user_id, back.user_id) != 0) ||
        (ev.properties == NULL) != (back.properties == NULL) ||
        (ev.properties && !json_equal(ev.properties, back.properties))) {
        abort(); /* the envelope lost or changed something */
    }
    free(text);
    event_cleanup(&back);
    event_cleanup(&ev);
    json_decref(body);
}

struct input {
    const uint8_t *data;
    size_t size;
};

static void *
run_one(void *arg)
{
    const struct input *in = arg;
    const uint8_t *data = in->data;
    size_t size = in->size;
    const char *buf = (const char *)data;
    struct event ev;
    struct app_err err = {0};
    int64_t ms;
    char out[64], *qs;

    request_round_trip(buf, size);

    if (envelope_decode(buf, size, &ev, &err) == 0) {
        event_cleanup(&ev);
    }

    if (ts_parse_rfc3339(buf, size, &ms) == 0) {
        char text[TS_FORMAT_LEN];
        int64_t again;
        ts_format(ms, text);
        /* Every accepted instant is within years 0001-9999, and its canonical form
         * parses back to the same instant. */
        if (ms < TS_MIN_MS || ms > TS_MAX_MS || ts_parse_rfc3339(text, strlen(text), &again) != 0 ||
            again != ms) {
            abort();
        }
    }
    if (ts_parse_date(buf, size, &ms) == 0 &&
        (ms % TS_DAY_MS != 0 || ms < TS_MIN_MS || ms > TS_MAX_MS)) {
        abort(); /* a date starts at midnight, within years 0001-9999 */
    }

    qs = malloc(size + 1);
    if (qs != NULL) {
        memcpy(qs, data, size);
        qs[size] = '\0';
        int n = http_query_param(qs, "site_id", out, sizeof out);
        if (n >= 0 && ((size_t)n >= sizeof out || out[n] != '\0')) {
            abort();
        }
        free(qs);
    }
    return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    pthread_attr_t attr;
    pthread_t t;

    if (pthread_attr_init(&attr) != 0 ||
        pthread_attr_setstacksize(&attr, WORKER_STACK_BYTES) != 0 ||
        pthread_create(&t, &attr, run_one, &in) != 0) {
        abort();
    }
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    return 0;
}
