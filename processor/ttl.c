/* ttl.c - the retention TTL indexes on MongoDB (ttl.h). */
#include "ttl.h"

#include <stdlib.h>
#include <string.h>

#include "event_doc.h"
#include "log.h"

/* MongoDB's error codes the reconciliation knows. */
#define CODE_UNAUTHORIZED 13
#define CODE_INDEX_NOT_FOUND 27
#define CODE_COMMAND_NOT_FOUND 59

/* The most indexes read from listIndexes (a collection has 64 at most). */
#define HAVE_MAX 128

/* Whether the server deletes by TTL indexes: 1 yes, 0 no, -1 unknown (err). The test server
 * has no serverStatus; MongoDB has it, and a user without clusterMonitor is refused it
 * (Unauthorized), which is MongoDB all the same. */
static int
probe_ttl_monitor(mongoc_database_t *db, struct app_err *err)
{
    bson_t *cmd = BCON_NEW("serverStatus", BCON_INT32(1));
    bson_error_t berr;
    int ok = mongoc_database_command_simple(db, cmd, NULL, NULL, &berr);

    bson_destroy(cmd);
    if (ok || berr.code == CODE_UNAUTHORIZED) {
        return 1;
    }
    if (berr.code == CODE_COMMAND_NOT_FOUND) {
        return 0;
    }
    err_set(err, ERR_TRANSIENT, "serverStatus: %s", berr.message);
    return -1;
}

/* The indexes of events into have[] (names malloc'd), *n of them. Returns 0, or -1 with err. */
static int
list_indexes(mongoc_collection_t *coll, struct ttl_have *have, size_t *n, struct app_err *err)
{
    mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
    const bson_t *doc;
    bson_error_t berr;
    int rc = 0;

    *n = 0;
    while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        if (*n == HAVE_MAX || !bson_iter_init_find(&it, doc, "name") ||
            !BSON_ITER_HOLDS_UTF8(&it)) {
            continue;
        }
        if ((have[*n].name = strdup(bson_iter_utf8(&it, NULL))) == NULL) {
            rc = err_set(err, ERR_INTERNAL, "out of memory");
            break;
        }
        have[*n].expire_s =
            bson_iter_init_find(&it, doc, "expireAfterSeconds") && BSON_ITER_HOLDS_NUMBER(&it)
                ? bson_iter_as_int64(&it)
                : -1;
        (*n)++;
    }
    if (rc == 0 && mongoc_cursor_error(cur, &berr)) {
        rc = err_set(err, ERR_TRANSIENT, "listIndexes: %s", berr.message);
    }
    mongoc_cursor_destroy(cur);
    return rc;
}

/* Run cmd (destroyed); 0, or -1 after a WARN naming what and the index. An index already gone
 * is no failure when `gone_ok`. */
static int
run(mongoc_database_t *db, bson_t *cmd, const char *what, const char *name, int gone_ok)
{
    bson_error_t berr;
    int ok = mongoc_database_write_command_with_opts(db, cmd, NULL, NULL, &berr);

    bson_destroy(cmd);
    if (ok || (gone_ok && berr.code == CODE_INDEX_NOT_FOUND)) {
        return 0;
    }
    LOG_WARN("retention TTL: %s of index %s failed: %s%s", what, name, berr.message,
             berr.code == CODE_COMMAND_NOT_FOUND ? " (a server without it, as the test server: "
                                                   "its TTL indexes never expire anything)"
                                                 : "");
    return -1;
}

static int
create(mongoc_database_t *db, const struct ttl_index *ix)
{
    bson_t *spec = BCON_NEW("key", "{", EVDOC_TIMESTAMP, BCON_INT32(1), "}", "name",
                            BCON_UTF8(ix->name), "expireAfterSeconds", BCON_INT64(ix->expire_s));
    bson_t *cmd;

    ttl_index_filter(ix, spec);
    cmd = BCON_NEW("createIndexes", BCON_UTF8(STORE_EVENTS_COLLECTION), "indexes", "[",
                   BCON_DOCUMENT(spec), "]");
    bson_destroy(spec);
    return run(db, cmd, "createIndexes", ix->name, 0);
}

/* The steps from have[] to plan; returns how many failed, *in_place the wanted indexes as
 * wanted after them. */
static int
apply(mongoc_database_t *db, const struct ttl_plan *plan, const struct ttl_have *have,
      size_t n_have, long *in_place)
{
    enum ttl_action act[TTL_INDEXES_MAX];
    int drop[HAVE_MAX], failed = 0;

    ttl_diff(plan, have, n_have, act, drop);
    *in_place = 0;
    for (size_t w = 0; w < plan->n; w++) {
        const struct ttl_index *ix = &plan->ix[w];
        int f = 0;
        if (act[w] == TTL_CREATE) {
            f = create(db, ix);
        } else if (act[w] == TTL_COLLMOD) {
            f = run(db,
                    BCON_NEW("collMod", BCON_UTF8(STORE_EVENTS_COLLECTION), "index", "{", "name",
                             BCON_UTF8(ix->name), "expireAfterSeconds", BCON_INT64(ix->expire_s),
                             "}"),
                    "collMod (expireAfterSeconds)", ix->name, 0);
            /* Without collMod (MongoDB's readWrite role lacks it) an index of a shorter age
             * would delete events the processors store: drop it and make it anew instead
             * (in between no index deletes anything). */
            if (f != 0 && (f = run(db,
                                   BCON_NEW("dropIndexes", BCON_UTF8(STORE_EVENTS_COLLECTION),
                                            "index", BCON_UTF8(ix->name)),
                                   "dropIndexes (to make it anew)", ix->name, 1)) == 0) {
                f = create(db, ix);
            }
        }
        failed -= f;
        *in_place += f == 0;
    }
    for (size_t h = 0; h < n_have; h++) {
        if (drop[h]) {
            failed -= run(db,
                          BCON_NEW("dropIndexes", BCON_UTF8(STORE_EVENTS_COLLECTION), "index",
                                   BCON_UTF8(have[h].name)),
                          "dropIndexes", have[h].name, 1);
        }
    }
    return failed;
}

void
ttl_reconcile(store_t *s, const struct retention *r, enum ttl_mode mode, struct ttl_stats *st)
{
    mongoc_client_t *client = store_client_pop(s);
    mongoc_database_t *db = store_database(s, client);
    mongoc_collection_t *coll = store_collection(s, client, STORE_EVENTS_COLLECTION);
    struct ttl_plan plan = {0};
    struct ttl_have have[HAVE_MAX];
    struct app_err err = {0};
    size_t n_have = 0;
    long in_place = 0;
    int use = mode != TTL_OFF, failed = 0;
    const char *why = mode == TTL_OFF ? "RETENTION_TTL=off" : NULL;

    if (use && ttl_plan_build(r, &plan, &err) != 0) {
        LOG_WARN("retention TTL: %s: the sweep deletes the raw events", err.msg);
        use = 0;
        why = "no plan";
    }
    if (use && mode == TTL_AUTO && plan.n > 0) { /* none wanted: the same either way */
        int probe = probe_ttl_monitor(db, &err);
        if (probe < 0) {
            LOG_WARN("retention TTL: %s: indexes left as they are; the sweep deletes the raw "
                     "events until the next start",
                     err.msg);
            goto done;
        }
        use = probe;
        why = "RETENTION_TTL=auto and the server has no serverStatus, as the test server";
    }
    if (!use) {
        plan.n = 0;
    }
    if (list_indexes(coll, have, &n_have, &err) != 0) {
        LOG_WARN("retention TTL: %s: the sweep deletes the raw events", err.msg);
        failed = 1;
    } else {
        failed = apply(db, &plan, have, n_have, &in_place);
    }
    if (use && failed == 0 && plan.n == 0) {
        LOG_INFO("retention TTL: none wanted (every site's raw events are kept)");
    } else if (use && failed == 0) {
        LOG_INFO("retention TTL: %zu TTL index%s on events (RETENTION_TTL=%s); they delete the "
                 "raw events, the sweep the rollups' user documents%s",
                 plan.n, plan.n == 1 ? "" : "es", mode == TTL_ON ? "on" : "auto",
                 r->rollup_days > 0 ? " and rollups" : "");
    } else if (use) {
        LOG_WARN("retention TTL: %d step%s failed (above): the sweep deletes the raw events",
                 failed, failed == 1 ? "" : "s");
    } else {
        LOG_INFO("retention TTL: no TTL index (%s); the sweep deletes the raw events", why);
    }
done:
    atomic_store(&st->events_by_ttl, use && failed == 0 && plan.n > 0);
    atomic_store(&st->indexes, in_place);
    for (size_t h = 0; h < n_have; h++) {
        free((char *)have[h].name);
    }
    mongoc_collection_destroy(coll);
    mongoc_database_destroy(db);
    store_client_push(s, client);
}
