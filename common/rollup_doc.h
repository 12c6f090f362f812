/* rollup_doc.h - the rollup documents: written by the processors (processor/rollup.h, which
 * spells out the exactly-once protocol), read by reporting (reporting/query.h).
 *
 * Ids are self-delimiting: "<date>|*|<n>:<site>" for a site-day, with "<n>:<event type>"
 * in place of "*" for one event type; "<date>T<HH>|..." the same for a site-hour
 * ("<date>T<HH>:<MM>|..." for a zone's hour that starts at another minute); lengths in bytes.
 * A site with a time zone has its days in its local dates: `date` and the site-day ids are
 * local; a site-hour's `hour` is the instant it starts and its id that instant's UTC time.
 * Collections: rollups       {_id: site-day id, site_id, date, event_type|null, views, users, runs:
 * {<run>: <seq>}, voided: [<batch id>...]} rollup_hours  {_id: site-hour id, site_id, date, hour:
 * <Date, the hour's start>, event_type|null, views, u: [<int64 user hash>...], u_capped:
 * true|missing, u_all: true (created with the sets; missing: from before them), runs, voided}
 *   rollup_paths  {_id: site-day id + "|" + path, scope: site-day id, path, views, runs, voided}
 *   rollup_users  {_id: site-day id + "|" + user_id, b: <batch id>}
 *   rollup_referrers {_id: site-day id (all types) + "|" + host, scope, referrer: host,
 *                  views, runs, voided}: page views by referrer (rollup_referrer_host())
 *   rollup_visits {_id: site-day id (all types) of the visits' start, site_id, date, visits,
 *                  bounces, duration_ms, runs, voided}, and the same with _id the site-hour
 *                  id and hour: <Date, the hour's start>: the visits started that day or hour
 *   rollup_entry_pages {_id: visit site-day id + "|" + path, scope: visit site-day id,
 *                  site_id, date, path, visits, bounces, runs, voided}: the visits by entry page
 *   rollup_exit_pages  {the same shape}: the visits by exit page
 *   rollup_dims   {_id: site-day id (all types) + "|" + rollup_dims_key(), site_id, date,
 *                  <each of the visit's dimensions that is present>, views,
 *                  pageviews, u, u_capped, runs, voided}: the events of that day whose visit
 *                  has that combination of dimensions (rollup_dim_fields[]), their page views
 *                  and the set u of their users' hashes (as a site-hour's)
 *   rollup_dim_visits {_id: visit site-day id + "|" + rollup_dims_key(), site_id, date,
 *                  <the dimensions>, visits, bounces, duration_ms, runs, voided}: the visits
 *                  started that day with that combination
 * A site-day of all types in rollups, and a visit site-day in rollup_visits, created by a
 * processor that keeps rollup_dims and rollup_dim_visits has dims: true (ROLLUP_DIMS_FLAG): its
 * day's events (visits) are all in them. A day without it (from before them) is read from the
 * raw events.
 * visits, bounces and duration_ms are sums of the events' changes to their visits' figures
 * (processor/rollup_own.h); once every event of a visit is counted they are the visits'
 * figures (duration_ms the sum of their durations, so the mean is duration_ms / visits).
 * views and users are the figures of /stats and /stats/timeseries; runs, voided and b are
 * the protocol's. A site-hour document is a site-day document of one hour without users:
 * the same protocol, in its own collection; its users are the set u of the hashes
 * (rollup_user_hash()) of the users of the events counted there, added by the update that adds
 * their views ($addToSet: idempotent, no stamps of its own). The hour's unique users are u's
 * size: exact up to a hash collision (about n^2 / 2^65 for n users).
 */
#ifndef COMMON_ROLLUP_DOC_H
#define COMMON_ROLLUP_DOC_H

#include <stddef.h>
#include <stdint.h>

#define ROLLUP_COLLECTION "rollups"
#define ROLLUP_PATHS_COLLECTION "rollup_paths"
#define ROLLUP_USERS_COLLECTION "rollup_users"
#define ROLLUP_HOURS_COLLECTION "rollup_hours"
#define ROLLUP_REFERRERS_COLLECTION "rollup_referrers"
#define ROLLUP_VISITS_COLLECTION "rollup_visits"
#define ROLLUP_ENTRY_PAGES_COLLECTION "rollup_entry_pages"
#define ROLLUP_EXIT_PAGES_COLLECTION "rollup_exit_pages"
#define ROLLUP_DIMS_COLLECTION "rollup_dims"
#define ROLLUP_DIM_VISITS_COLLECTION "rollup_dim_visits"
#define ROLLUP_DIMS_FLAG "dims"

/* The dimensions of a visit that rollup_dims and rollup_dim_visits keep, by their stored field
 * names (common/event_doc.h: every event of a visit carries its visit's), in the order of
 * reporting's enum filter_dim: source, channel, utm_source, utm_medium, utm_campaign, utm_term,
 * utm_content, device, browser, os, country. */
#define ROLLUP_DIMS 11
extern const char *const rollup_dim_fields[ROLLUP_DIMS];

/* The longest rollup_dims_key(): each value at most ROLLUP_DIM_VALUE_MAX bytes. */
#define ROLLUP_DIM_VALUE_MAX 256
#define ROLLUP_DIMS_KEY_MAX (ROLLUP_DIMS * (ROLLUP_DIM_VALUE_MAX + 5) + 1)

/* The leaf of a rollup_dims or rollup_dim_visits id for the values vals[] (NULL or "":
 * absent): for each dimension in order "-" when absent, else "<n>:<value>" (n its length in
 * bytes), so that no two combinations share a key. Writes it into out and returns its length,
 * or -1 when a value is longer than ROLLUP_DIM_VALUE_MAX. */
int rollup_dims_key(const char *const vals[ROLLUP_DIMS], char out[ROLLUP_DIMS_KEY_MAX]);

/* A site-hour's set u grows only while it has fewer than ROLLUP_HOUR_USERS_MAX entries (a
 * document is limited to 16 MB, about 900,000 int64s in an array): a batch finding it full
 * counts its views, not its users, and sets u_capped: the hour's users are then a lower bound.
 * One batch may take it past the limit by its own users (at most a batch's events).
 * ROLLUP_HOUR_USERS_CAP_KEY is the update filter's key for "it has fewer": u.<MAX - 1> missing. */
#define ROLLUP_HOUR_USERS_MAX 500000
#define ROLLUP_HOUR_USERS_CAP_KEY "u.499999"

/* The longest referrer kept: a DNS name. */
#define ROLLUP_REFERRER_MAX 253

/* The referrer a page view counts under: the host of properties.referrer, an absolute
 * http or https URL, lower-cased, without user info or port ("https://News.Example.com:8443/
 * a?b" -> "news.example.com"); letters, digits, '.', '-' and '_' only. Writes it into out
 * (ROLLUP_REFERRER_MAX + 1 bytes) and returns its length, or -1 when referrer is NULL or
 * no such URL: the page view then counts under no referrer. */
int rollup_referrer_host(const char *referrer, char out[ROLLUP_REFERRER_MAX + 1]);

/* A batch id is "<run>:<seq>": ROLLUP_RUN_LEN characters, a colon and a sequence number
 * from 1 (processor/rollup.h). */
#define ROLLUP_RUN_LEN 16
#define ROLLUP_BATCH_ID_MAX 48

/* Split batch id `id` into its run and sequence number. Returns 0, or -1 when it is not a
 * batch id. */
int rollup_batch_parse(const char *id, char run[ROLLUP_RUN_LEN + 1], int64_t *seq);

/* The hash a site-hour's set u keeps of user id `user`: FNV-1a 64 of its bytes (offset basis
 * 14695981039346656037, prime 1099511628211), as a signed 64-bit integer (BSON's int64). A
 * stored format: the sets in rollup_hours hold these values, so another hash would count each
 * returning user of an hour twice. tests/unit/test_rollup_doc.c fixes its values. It is no
 * hash-table hash: a table seeds hash_fnv1a() (common/hash.h) as it likes. */
int64_t rollup_user_hash(const char *user);

/* How many paths /stats lists, most viewed first. */
#define ROLLUP_TOP_PATHS 10

/* The site-day id of the day whose date is ts_ms's UTC date, of one event type unless type is
 * NULL. A site with a time zone (SITE_TIMEZONES, sitetz.h) counts its own calendar days: its
 * documents are those of its local dates (ts_ms = the local day * TS_DAY_MS). malloc'd; NULL
 * when out of memory. */
char *rollup_scope_id(const char *site, int64_t ts_ms, const char *type);

/* The site-hour id of the hour starting at hour_ms (tz_hour_start() of the site's zone; UTC
 * hours without one), of one event type unless type is NULL: "YYYY-MM-DDTHH" of that instant
 * in UTC, with ":MM" when it is not a whole UTC hour (Asia/Kolkata's hours start at :30 UTC).
 * malloc'd; NULL when out of memory. */
char *rollup_hour_id(const char *site, int64_t hour_ms, const char *type);

/* The bucket a rollup document's id starts with: "<date>|" a site-day (*start_ms its midnight,
 * *hour 0), "<date>T<HH>|" or "<date>T<HH>:<MM>|" a site-hour (*start_ms that instant in UTC,
 * *hour 1). Returns the length before that '|', or -1 when id does not start so. */
int rollup_id_bucket(const char *id, int64_t *start_ms, int *hour);

/* Split a rollup document's id (a site-day's or site-hour's, or a child's: "<date>[T<HH>[:<MM>]]
 * |<*|n:type>|<n>:<site>[|<leaf>]"): *day_ms the midnight of its date, the site
 * [*site, *site + *site_len) inside id, and *rest what follows the site ("" for a site-day or
 * site-hour, "|<leaf>" for a child). Returns 0, or -1 when id is not of that form. Its one
 * reader: the processor's retention sweep and reporting's erasure use it. */
int rollup_id_parse(const char *id, int64_t *day_ms, const char **site, size_t *site_len,
                    const char **rest);

/* The id of a path, referrer or user document: parent, ROLLUP_CHILD_SEP, leaf. malloc'd;
 * NULL when out of memory. (The processor's planner builds the same ids on its stack.) */
#define ROLLUP_CHILD_SEP '|'
char *rollup_child_id(const char *parent, const char *leaf);

#endif
