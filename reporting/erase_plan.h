/* erase_plan.h - erasure's pure parts (docs/design.md#erasure): the admin paths that name
 * what to erase, the steps of a job, which rollup ids belong to a site or a visitor, and the
 * removal of a visitor's hash from a site-hour's set. Table-tested in
 * tests/unit/test_erase_plan.c. */
#ifndef REPORTING_ERASE_PLAN_H
#define REPORTING_ERASE_PLAN_H

#include <bson/bson.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define ERASE_JOBS_COLLECTION "jobs"
#define ERASE_AUDIT_COLLECTION "audit"

/* A job id: ERASE_JOB_ID_LEN lower-case hex digits (random). */
#define ERASE_JOB_ID_LEN 32

enum erase_kind { ERASE_VISITOR, ERASE_SITE };
extern const char *const erase_kind_names[2]; /* "visitor", "site" */

/* What DELETE /sites/{site} or /sites/{site}/visitors/{id} names: each segment
 * percent-decoded, 1-256 bytes of UTF-8. */
struct erase_target {
    enum erase_kind kind;
    char site[EVENT_SITE_ID_MAX + 1];
    char visitor[EVENT_USER_ID_MAX + 1]; /* "" for a site */
};

/* Parse path as sent (reporting's listener does not decode paths: http_opts.raw_paths),
 * "/sites/<site>" or "/sites/<site>/visitors/<id>", each segment percent-decoded (a '/' in an
 * id is sent as %2F; %00 is refused), into *t. Returns NULL, or the message of a 400 naming the
 * bad part. */
const char *erase_parse_path(const char *path, struct erase_target *t);

/* Parse "/jobs/<id>" into id. Returns NULL, or the message of a 400. */
const char *erase_parse_job_path(const char *path, char id[ERASE_JOB_ID_LEN + 1]);

/* How a step finds the documents it deletes. */
enum erase_how {
    ERASE_BY_FILTER, /* {site_id: site} (and user_id: visitor for a visitor's events) */
    ERASE_BY_ID,     /* the _id is a child id of one of the site's days (rollup_doc.h): read
                      * the collection in _id order, a page at a time (no server filter can
                      * parse a counted id) */
    ERASE_HASH_SET,  /* remove rollup_user_hash(visitor) from u of {site_id, u: hash} */
};

struct erase_step {
    const char *collection;
    enum erase_how how;
};

/* The steps of a job of kind, in order; their number into *n. Static data. */
const struct erase_step *erase_steps(enum erase_kind kind, size_t *n);

/* Whether child id `id` (a rollup_users, rollup_paths or rollup_referrers _id: a site-day
 * or site-hour id, '|', a leaf) is of site, and, unless visitor is NULL, its leaf is
 * visitor. */
int erase_id_matches(const char *id, const char *site, const char *visitor);

/* Append to *out (an array being built, keys "0", "1", ...) every element of the array at
 * iterator `u` but the int64s equal to h. Returns how many were left out, or -1 when out
 * cannot grow. */
int erase_set_without(const bson_iter_t *u, int64_t h, bson_t *out);

#endif
