/* test_batch.c - unit tests for ingest/batch.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "batch.h"
#include "failalloc.h"
#include "jsonmem.h"

/* 2025-11-15T10:00:00Z. */
#define EXAMPLE_MS 1763200800000LL

#define OK "{\"site_id\":\"s\",\"event_type\":\"e\",\"timestamp\":\"2025-11-15T10:00:00Z\"}"

/* batch_validate() on the array text (sent_at: sent, or none when NULL), at EXAMPLE_MS, with
 * its fail-th allocation failing (0: none) and *made the allocations it made; the events
 * are then cleaned up. Returns its result, *errors its errors as text (malloc'd, "" for
 * none). */
static int
validate_failing(const char *text, const char *sent, long fail, long *made, char **errors)
{
    json_t *events = json_loads(text, 0, NULL), *errs = NULL;
    size_t n = json_array_size(events);
    struct event *evs = calloc(n ? n : 1, sizeof *evs);
    int64_t sent_ms = 0;
    int rc;

    assert_non_null(events);
    assert_non_null(evs);
    if (sent != NULL) {
        json_t *o = json_pack("{s:s}", "sent_at", sent);
        assert_int_equal(event_take_time(o, "sent_at", &sent_ms, NULL), 0);
        json_decref(o);
    }
    failalloc_arm(fail);
    rc = batch_validate(events, sent != NULL, sent_ms, EXAMPLE_MS, evs, &errs);
    *made = failalloc_count();
    failalloc_arm(0);
    *errors = errs != NULL ? json_dumps(errs, JSON_COMPACT) : strdup("");
    assert_non_null(*errors);
    for (size_t i = 0; i < n; i++) {
        event_cleanup(&evs[i]);
    }
    free(evs);
    json_decref(errs);
    json_decref(events);
    return rc;
}

static int
validate(const char *text, const char *sent, char **errors)
{
    long made;

    return validate_failing(text, sent, 0, &made, errors);
}

static void
test_validate_table(void **state)
{
    static const struct {
        const char *batch, *sent;
        int rc;
        const char *errors;
    } cases[] = {
        {"[" OK "]", NULL, 0, "[]"},
        {"[" OK "," OK "]", "2025-11-15T10:00:00Z", 0, "[]"},
        {"[" OK ",{\"site_id\":\"s\"}," OK ",5]", NULL, 1,
         "[{\"index\":1,\"message\":\"Missing required fields: event_type, timestamp\"},"
         "{\"index\":3,\"message\":\"Request body must be a JSON object\"}]"},
        {"[" OK "]", "9000-01-01T00:00:00Z", 1,
         "[{\"index\":0,\"message\":\"Field 'timestamp' corrected by 'sent_at' falls outside "
         "years 0001-9999\"}]"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *errors;
        int rc = validate(cases[i].batch, cases[i].sent, &errors);
        assert_int_equal(rc, cases[i].rc);
        assert_string_equal(errors, cases[i].errors);
        free(errors);
    }
}

/* The skew correction keeps the client's own time. */
static void
test_validate_corrects_skew(void **state)
{
    json_t *events = json_loads("[" OK "]", 0, NULL), *errs = NULL;
    struct event ev = {0};

    (void)state;
    assert_int_equal(batch_validate(events, 1, EXAMPLE_MS + 60000, EXAMPLE_MS, &ev, &errs), 0);
    assert_int_equal(ev.ts_ms, EXAMPLE_MS - 60000);
    assert_int_equal(ev.has_client_ts, 1);
    assert_int_equal(ev.client_ts_ms, EXAMPLE_MS);
    event_cleanup(&ev);
    json_decref(errs);
    json_decref(events);
}

/* Out of memory while collecting the errors: each allocation fails in turn. A batch with
 * invalid events is never taken for a valid one (which let them through and crashed on
 * their NULL site_id): the result is the errors, or -1. Nothing leaks. */
static void
test_validate_out_of_memory(void **state)
{
    static const char batch[] = "[" OK ",{\"site_id\":\"s\"},5,{\"site_id\":7}]";
    long live = failalloc_live(), made = 0;
    char *want, *got;

    (void)state;
    assert_int_equal(validate(batch, NULL, &want), 1);
    for (long k = 1; made >= k - 1; k++) {
        int rc = validate_failing(batch, NULL, k, &made, &got);
        if (rc != -1) {
            assert_int_equal(rc, 1);
            assert_string_equal(got, want);
        }
        free(got);
    }
    free(want);
    assert_int_equal(failalloc_live(), live);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_table),
        cmocka_unit_test(test_validate_corrects_skew),
        cmocka_unit_test(test_validate_out_of_memory),
    };

    jsonmem_install(); /* jansson's allocations through failalloc's counters */
    return cmocka_run_group_tests_name("batch: POST /events validated all or nothing", tests, NULL,
                                       NULL);
}
