/* rollup_write.h - the conditional writes of one batch on one rollup document (the protocol:
 * rollup.h): its upsert that applies the batch's counts, the void of another batch, and the
 * fields a document gets when one of them creates it. A write that answers a duplicate key has
 * settled nothing by itself: what the document says of the batch (rollup_plan_doc_state())
 * is read after it, and the write is run again while the document says neither applied nor
 * voided (an upsert that lost the race to create the document). */
#ifndef PROCESSOR_ROLLUP_WRITE_H
#define PROCESSOR_ROLLUP_WRITE_H

#include <stdint.h>

#include "err.h"
#include "rollup_own.h"
#include "rollup_plan.h"
#include "store.h"

/* Append {$setOnInsert: {...}} to update: the fields document d of plan p gets when an update
 * creates it, besides those of its filter's equalities (rollup_write_not_applied()). A site-day
 * or site-hour: date, event_type (null for all types), and for a site-hour its site_id, hour
 * and u_all: true (a site-day's site_id is the filter's); a path or referrer document: its
 * path or referrer host (its scope, the site-day id, is the filter's). A visit site-day or
 * site-hour: date, and hour for a site-hour, of its visits' start (site_id is the filter's);
 * an entry or exit page: site_id, path and date (its scope, the visit site-day id, is the
 * filter's); a dimensions document: date and its visit's dimensions (site_id is the filter's). */
void rollup_write_on_insert(bson_t *update, const struct rollup_plan *p, const struct plan_doc *d);

/* The filter {_id: <d's id>, <the rest of its shard key>, "runs.<run>": {$not: {$gte: seq}}}:
 * batch run:seq has not been applied to document d of plan p (nor any later batch of that run).
 * The rest of the shard key (docs/scaling.md): a path's, referrer's, entry or exit page's
 * scope, a site-day's, visit site-day's or dimensions document's site_id, an equality that an
 * upsert creating the document copies into it. Free with bson_destroy(). */
bson_t *rollup_write_not_applied(const struct rollup_plan *p, const struct plan_doc *d,
                                 const char *run, int64_t seq);

/* Answer question q of plan p (see rollup_plan_answer()): void its owner on its document (in
 * coll) unless the owner has applied there, running the void again for as long as the document
 * says neither. An owner that is not a batch id is voided at once (no batch applies it).
 * Returns 0 with q->voided set, or -1 with err: ERR_TRANSIENT (MongoDB, or "stopping"), or
 * ERR_INVALID when the document never settles (ROLLUP_UPDATE_TRIES runs). */
int rollup_write_void(store_t *s, mongoc_collection_t *coll, const struct rollup_plan *p,
                      struct plan_question *q, struct app_err *err);

/* Run batch b's conditional upsert filter / update on coll by itself until its document says it
 * is settled: b has applied there (now or before) or is voided there. A second miss of a
 * site-hour's update is its full set u (the filter's last condition, ROLLUP_HOUR_USERS_CAP_KEY):
 * then `capped` (NULL: none; the views, no users, and u_capped: true) runs instead, with the
 * filter without that condition, which counts the views and flags the hour's users as a lower
 * bound. Safe to repeat. Returns 0, or -1 with err: ERR_TRANSIENT (MongoDB, or "stopping"), or
 * ERR_INVALID when the document never settles (ROLLUP_UPDATE_TRIES runs). */
int rollup_write_settle(store_t *s, mongoc_collection_t *coll, const struct rollup_batch *b,
                        const bson_t *filter, const bson_t *update, const bson_t *capped,
                        struct app_err *err);

#endif
