/* sweep.h - retention in the processor: events older than their site's retention are not
 * stored (sweep_expired()), and a sweep every RETENTION_SWEEP_S deletes what has grown older
 * than that since (docs/design.md#retention). */
#ifndef PROCESSOR_SWEEP_H
#define PROCESSOR_SWEEP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "retention.h"
#include "store.h"

/* The sweep's clock runs this far behind the expiry check's: an event stored just before
 * its day fell out of retention is deleted only an hour later, by which time a batch that
 * stored it and stopped before counting it has been redelivered and counted (a recovery pass
 * comes within HEARTBEAT_TTL_MS), and processors whose clocks differ by less than this never
 * delete an event another one would still store again. */
#define SWEEP_MARGIN_MS (3600LL * 1000)

/* Documents one find and one delete of the sweep name at most. */
#define SWEEP_BATCH 500

/* The work the drain loop gives the sweep between two batches. */
#define SWEEP_BUDGET_MS 200

/* RETENTION_SWEEP_S: 1 s to a day. */
#define SWEEP_VAR(dest)                                                                            \
    {                                                                                              \
        "RETENTION_SWEEP_S", "3600", CFG_INT, (dest), 1, 86400, 0, NULL                            \
    }

/* The collections of analytics_retention_deleted_total: the raw events, the user documents
 * of the rollups (rollup_users), every other rollup collection. */
enum sweep_coll { SWEEP_EVENTS, SWEEP_USERS, SWEEP_ROLLUPS, SWEEP_COLLS };
extern const char *const sweep_coll_names[SWEEP_COLLS];

/* A sweep in progress, or waiting for its next pass. */
struct sweep {
    const struct retention *ret; /* borrowed */
    int events_by_ttl;           /* 1: TTL indexes delete the raw events: no events stages */
    int64_t every_ms;
    int64_t next_mono_ms; /* when the next pass starts */
    int stage;            /* 0: no pass running */
    size_t at;            /* the site or collection of the stage */
    char *resume;         /* malloc'd: the last rollup_users _id walked, or NULL */
    int64_t now_ms;       /* the pass's clock: the wall clock at its start, less the margin */
    unsigned long long deleted[SWEEP_COLLS]; /* by this pass */
    atomic_ullong *total;                    /* [SWEEP_COLLS], the metrics' */
};

/* A sweep of ret every every_s seconds, the first at once; it adds what it deletes to
 * total[SWEEP_COLLS]. */
void sweep_init(struct sweep *sw, const struct retention *ret, long every_s, atomic_ullong *total);
void sweep_cleanup(struct sweep *sw);

/* Run the sweep for at most about budget_ms (one find and one delete of at most
 * SWEEP_BATCH documents past it): from the drain loop, between batches, so that a long
 * sweep never holds the draining up. A pass walks the raw events of each retention (the
 * sites under RETENTION_DAYS, then each SITE_RETENTION site), then rollup_users, then, with
 * ROLLUP_RETENTION_DAYS, every other rollup collection; it logs what it deleted (counts and
 * collections, never a site's events' contents). A failure ends the pass with a WARN; the
 * next starts RETENTION_SWEEP_S later. Nothing to do (every retention 0) costs nothing. */
void sweep_tick(struct sweep *sw, store_t *s, int64_t budget_ms);

/* The first instant of the events the processor still stores for site at now_ms: the later
 * of its raw retention's cutoff and ROLLUP_RETENTION_DAYS' (an event of a day whose rollups
 * are deleted would start them again from one event). INT64_MIN: every event. */
int64_t sweep_store_cutoff_ms(const struct retention *ret, const char *site, int64_t now_ms);

/* Whether ev is older than sweep_store_cutoff_ms() of its site at now_ms: then the processor
 * does not store it (a dead letter, `expired`) and msg says why, e.g. "its day 2026-01-02 is
 * before 2026-11-07, the first its site keeps". */
int sweep_expired(const struct retention *ret, const struct event *ev, int64_t now_ms, char *msg,
                  size_t msglen);

/* The day and the site of a rollup _id ("<date>[T<HH>]|<*|n:type>|<n>:<site>[|...]",
 * rollup_doc.h): *day_ms the day's midnight, the site [*site, *site + *site_len) inside id.
 * Returns 0, or -1 when the id is not of that form. */
int sweep_parse_id(const char *id, int64_t *day_ms, const char **site, size_t *site_len);

#endif
