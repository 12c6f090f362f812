/* test_insert.c - unit tests for processor/insert.c that need no server: what a stored
 * document met again under an event's _id is to that event (insert_compare_stored()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "insert.h"

#define ID "0190163d-8694-7abc-8def-0123456789ab"
#define CID "s:e1" /* a client's event_id on site s */

/* The document this event gets (insert_events()'s fields, as extended JSON); the rows
 * change one thing in the stored one. */
#define DOC(id, site, path, props, more)                                                           \
    "{\"_id\":\"" id "\",\"site_id\":\"" site "\",\"event_type\":\"page_view\",\"path\":" path     \
    ",\"user_id\":\"u1\",\"timestamp\":{\"$date\":{\"$numberLong\":\"1763200800000\"}},"           \
    "\"createdAt\":{\"$date\":{\"$numberLong\":\"1763200900000\"}}" more props ",\"own\":{\"a\":"  \
    "\"r:1\"}}"
#define RECEIVED ",\"received_at\":{\"$date\":{\"$numberLong\":\"1763200800100\"}}"
#define VISIT(seq) ",\"visit_id\":\"" ID "\",\"visit_seq\":{\"$numberLong\":\"" seq "\"}"
/* A stored document that counts in rollup_dims (own.d) with these dimensions (extended JSON
 * members after user_id). */
#define DIMS_DOC(dims)                                                                             \
    "{\"_id\":\"" ID "\",\"site_id\":\"s\",\"event_type\":\"page_view\",\"path\":\"/a\","          \
    "\"user_id\":\"u1\"" dims                                                                      \
    ",\"timestamp\":{\"$date\":{\"$numberLong\":\"1763200800000\"}}" RECEIVED                      \
    ",\"own\":{\"a\":\"r:1\",\"d\":\"r:1\"}}"
#define PROPS ",\"properties\":{\"a\":{\"$numberLong\":\"1\"},\"b\":[true,\"x\"]}"

static const struct {
    const char *name;
    const char *id, *delivery; /* the event's; delivery "" is its id */
    const char *doc, *stored;
    enum insert_outcome want;
    const char *reason; /* the field named in the reason, or NULL */
} rows[] = {
    {"its own envelope again (a redelivery): itself", ID, "",
     DOC(ID, "s", "\"/a\"", PROPS, RECEIVED ",\"delivery\":\"" ID "\""),
     DOC(ID, "s", "\"/a\"", PROPS, RECEIVED ",\"delivery\":\"" ID "\""), INSERT_DUPLICATE, NULL},
    {"stored at another time by the same processor run: createdAt and own do not matter", ID, "",
     DOC(ID, "s", "\"/a\"", "", RECEIVED),
     "{\"_id\":\"" ID "\",\"site_id\":\"s\",\"event_type\":\"page_view\",\"path\":\"/a\","
     "\"user_id\":\"u1\",\"timestamp\":{\"$date\":{\"$numberLong\":\"1763200800000\"}}" RECEIVED
     ",\"own\":{\"a\":\"q:9\"}}",
     INSERT_DUPLICATE, NULL},
    {"its id under another site", ID, "", DOC(ID, "s", "\"/a\"", "", RECEIVED),
     DOC(ID, "other", "\"/a\"", "", RECEIVED), INSERT_CONFLICT, "site_id"},
    {"its id and delivery with another path", ID, "", DOC(ID, "s", "\"/a\"", "", RECEIVED),
     DOC(ID, "s", "\"/b\"", "", RECEIVED), INSERT_CONFLICT, "path"},
    {"a path where the stored one has none (null)", ID, "", DOC(ID, "s", "\"/a\"", "", RECEIVED),
     DOC(ID, "s", "null", "", RECEIVED), INSERT_CONFLICT, "path"},
    {"properties the stored one lacks", ID, "", DOC(ID, "s", "\"/a\"", PROPS, RECEIVED),
     DOC(ID, "s", "\"/a\"", "", RECEIVED), INSERT_CONFLICT, "properties"},
    {"a property of another type (1 and 1.0)", ID, "", DOC(ID, "s", "\"/a\"", PROPS, RECEIVED),
     DOC(ID, "s", "\"/a\"", ",\"properties\":{\"a\":1.0,\"b\":[true,\"x\"]}", RECEIVED),
     INSERT_CONFLICT, "properties"},
    {"another received_at", ID, "", DOC(ID, "s", "\"/a\"", "", RECEIVED),
     DOC(ID, "s", "\"/a\"", "", ",\"received_at\":{\"$date\":{\"$numberLong\":\"1\"}}"),
     INSERT_CONFLICT, "received_at"},
    {"a client_timestamp the stored one lacks", ID, "",
     DOC(ID, "s", "\"/a\"", "",
         RECEIVED ",\"client_timestamp\":{\"$date\":{\"$numberLong\":\"5\"}}"),
     DOC(ID, "s", "\"/a\"", "", RECEIVED), INSERT_CONFLICT, "client_timestamp"},
    {"counted in rollup_dims (own.d): the same dimensions", ID, "",
     DOC(ID, "s", "\"/a\"", "", ",\"source\":\"Google\",\"device\":\"mobile\"" RECEIVED),
     DIMS_DOC(",\"source\":\"Google\",\"device\":\"mobile\""), INSERT_DUPLICATE, NULL},
    {"counted in rollup_dims (own.d): another source names another document", ID, "",
     DOC(ID, "s", "\"/a\"", "", ",\"source\":\"Bing\",\"device\":\"mobile\"" RECEIVED),
     DIMS_DOC(",\"source\":\"Google\",\"device\":\"mobile\""), INSERT_CONFLICT, "source"},
    {"counted in rollup_dims (own.d): a country the stored one lacks", ID, "",
     DOC(ID, "s", "\"/a\"", "", ",\"country\":\"DE\"" RECEIVED), DIMS_DOC(""), INSERT_CONFLICT,
     "country"},
    {"stored before rollup_dims (no own.d): its dimensions are not compared", ID, "",
     DOC(ID, "s", "\"/a\"", "", ",\"source\":\"Bing\"" RECEIVED),
     DOC(ID, "s", "\"/a\"", "", ",\"source\":\"Google\"" RECEIVED), INSERT_DUPLICATE, NULL},
    {"stored before received_at existed: the rest decides", ID, "",
     DOC(ID, "s", "\"/a\"", "", RECEIVED), DOC(ID, "s", "\"/a\"", "", ""), INSERT_DUPLICATE, NULL},
    {"stored before received_at existed, with another user", ID, "",
     DOC(ID, "s", "\"/a\"", "", RECEIVED),
     "{\"_id\":\"" ID "\",\"site_id\":\"s\",\"event_type\":\"page_view\",\"path\":\"/a\","
     "\"user_id\":\"u2\",\"timestamp\":{\"$date\":{\"$numberLong\":\"1763200800000\"}}}",
     INSERT_CONFLICT, "user_id"},
    {"the client's second send of its event_id (another delivery): the first one wins", CID, "d2",
     DOC(CID, "s", "\"/a\"", "", RECEIVED ",\"delivery\":\"d2\""),
     DOC(CID, "s", "\"/b\"", PROPS, ",\"delivery\":\"d1\""), INSERT_DUPLICATE, NULL},
    {"the same delivery, another timestamp", CID, "d1",
     DOC(CID, "s", "\"/a\"", "", RECEIVED ",\"delivery\":\"d1\""),
     "{\"_id\":\"" CID "\",\"site_id\":\"s\",\"event_type\":\"page_view\",\"path\":\"/a\","
     "\"user_id\":\"u1\",\"timestamp\":{\"$date\":{\"$numberLong\":\"2\"}}" RECEIVED
     ",\"delivery\":\"d1\"}",
     INSERT_CONFLICT, "timestamp"},
    {"a redelivery of an event with a visit: itself", ID, "",
     DOC(ID, "s", "\"/a\"", "", RECEIVED VISIT("2")),
     DOC(ID, "s", "\"/a\"", "", RECEIVED VISIT("2")), INSERT_DUPLICATE, NULL},
    {"the same delivery with another visit_seq", ID, "",
     DOC(ID, "s", "\"/a\"", "", RECEIVED VISIT("2")),
     DOC(ID, "s", "\"/a\"", "", RECEIVED VISIT("3")), INSERT_CONFLICT, "visit_seq"},
    {"the same delivery with a visit, stored without one", ID, "",
     DOC(ID, "s", "\"/a\"", "", RECEIVED VISIT("2")), DOC(ID, "s", "\"/a\"", "", RECEIVED),
     INSERT_CONFLICT, "visit_id"},
    {"another delivery under another site: never a client's duplicate", ID, "d2",
     DOC(ID, "s", "\"/a\"", "", RECEIVED),
     DOC(ID, "t", "\"/a\"", "", RECEIVED ",\"delivery\":\"d1\""), INSERT_CONFLICT, "site_id"},
};

static void
test_compare_stored(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct event ev;
        bson_error_t berr;
        bson_t *doc = bson_new_from_json((const uint8_t *)rows[i].doc, -1, &berr);
        bson_t *stored = bson_new_from_json((const uint8_t *)rows[i].stored, -1, &berr);
        char reason[INSERT_REASON_LEN] = "", want[INSERT_REASON_LEN];
        enum insert_outcome got;

        if (doc == NULL || stored == NULL) {
            fail_msg("%s: bad JSON: %s", rows[i].name, berr.message);
        }
        memset(&ev, 0, sizeof ev);
        snprintf(ev.id, sizeof ev.id, "%s", rows[i].id);
        snprintf(ev.delivery, sizeof ev.delivery, "%s", rows[i].delivery);
        got = insert_compare_stored(&ev, doc, stored, reason);
        if (got != rows[i].want) {
            fail_msg("%s: outcome %d, want %d (%s)", rows[i].name, got, rows[i].want, reason);
        }
        if (rows[i].reason != NULL) {
            if (strcmp(rows[i].reason, "site_id") == 0) {
                snprintf(want, sizeof want, "event %s is stored for another site_id", rows[i].id);
            } else {
                snprintf(want, sizeof want, "event %s is stored with another %s", rows[i].id,
                         rows[i].reason);
            }
            assert_string_equal(reason, want);
        }
        bson_destroy(doc);
        bson_destroy(stored);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare_stored),
    };

    return cmocka_run_group_tests_name("insert: a stored event met again", tests, NULL, NULL);
}
