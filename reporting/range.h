/* range.h - the pure decisions behind reporting's figures over a range of days: the days a
 * query's parameters ask for, the buckets of a time series, the `limit` of a breakdown,
 * which user documents a site-day counts, and a distinct count. No I/O; table-tested in
 * tests/unit/test_range.c. */
#ifndef REPORTING_RANGE_H
#define REPORTING_RANGE_H

#include <mongoc/mongoc.h>
#include <stddef.h>
#include <stdint.h>

#include "tz.h"

/* The longest range a query may ask for, in days: any interval, and interval=hour. */
#define RANGE_MAX_DAYS 366
#define RANGE_MAX_HOUR_DAYS 31

/* The answers to bad parameters (400), exactly as sent. */
#define RANGE_ERR_BOTH "Use either 'date' or 'from' and 'to', not both"
#define RANGE_ERR_PAIR "Parameters 'from' and 'to' must be given together"
#define RANGE_ERR_DATE "Parameter 'date' must be a calendar date as YYYY-MM-DD, e.g. 2025-11-15"
#define RANGE_ERR_FROM "Parameter 'from' must be a calendar date as YYYY-MM-DD, e.g. 2025-11-15"
#define RANGE_ERR_TO "Parameter 'to' must be a calendar date as YYYY-MM-DD, e.g. 2025-11-15"
#define RANGE_ERR_ORDER "Parameter 'from' must not be after 'to'"
#define RANGE_ERR_LONG "The range from 'from' to 'to' may span at most 366 days"
#define RANGE_ERR_HOURS "With interval=hour the range may span at most 31 days"
#define RANGE_ERR_INTERVAL "Parameter 'interval' must be hour or day"
#define RANGE_ERR_LIMIT "Parameter 'limit' must be an integer from 1 to 100"
#define RANGE_ERR_BY "Parameter 'by' must be event_type, path, referrer, entry_page or exit_page"

/* What a breakdown groups by. */
enum range_by {
    RANGE_BY_EVENT_TYPE = 0,
    RANGE_BY_PATH = 1,
    RANGE_BY_REFERRER = 2,
    RANGE_BY_ENTRY_PAGE = 3, /* the visits' first page views (query_visits.h) */
    RANGE_BY_EXIT_PAGE = 4,  /* their last */
    RANGE_BY_N = 5
};
extern const char *const range_by_names[RANGE_BY_N];

/* Calendar days of a site, first_day to first_day + days - 1 inclusive (days >= 1), in its
 * time zone (z; NULL: UTC, whose days are 24 hours from 00:00Z): the instants [from_ms,
 * end_ms). A day of a zone is 23 or 25 hours where its clocks change. */
struct day_range {
    int64_t from_ms; /* the first day's first instant */
    int64_t days;
    int64_t end_ms;     /* the first instant after the last day */
    int64_t first_day;  /* days since 1970-01-01 */
    const struct tz *z; /* borrowed */
    /* The first instant of the site's raw events that retention keeps (its cutoff,
     * retention.h), INT64_MIN for all: reads of the raw events start there (range_raw_from()),
     * so that a day before it counts nothing, not what is left of it until it is deleted. */
    int64_t raw_from_ms;
};

/* The range of `days` days from first_day in zone z (every raw event kept: raw_from_ms
 * INT64_MIN). */
struct day_range range_make(const struct tz *z, int64_t first_day, int64_t days);

/* Where reads of r's raw events start: from_ms, or raw_from_ms when later. */
int64_t range_raw_from(const struct day_range *r);

/* The date of day i of r (0 the first) as the UTC midnight of that date: what ts_format()
 * writes as r's i-th date, and what rollup_scope_id() takes for the site-day of it. */
int64_t range_date_ms(const struct day_range *r, int64_t i);

/* The first and last dates of r, "YYYY-MM-DD": its days as the site's calendar names them (the
 * rollups' `date`, an answer's "from" and "to"). */
#define RANGE_DATE_LEN 11
void range_dates(const struct day_range *r, char first[RANGE_DATE_LEN], char last[RANGE_DATE_LEN]);

/* The days asked for by `date` (one day) or by `from` and `to` (inclusive), each given
 * with its length as read from the query: 0 when absent or empty, -1 when unreadable, in the
 * site's zone z (NULL: UTC). The caller has checked that at least one of the three is
 * present. Returns NULL and fills *r, or the RANGE_ERR_* message of a 400. */
const char *range_parse(const char *date, int date_len, const char *from, int from_len,
                        const char *to, int to_len, const struct tz *z, struct day_range *r);

/* The bucket length of `interval` ("hour" or "day", length len as above) over r: sets
 * *step_ms. Returns NULL, or RANGE_ERR_INTERVAL (unknown or missing) or RANGE_ERR_HOURS
 * (hour over more than RANGE_MAX_HOUR_DAYS days). */
const char *range_interval(const char *interval, int len, const struct day_range *r,
                           int64_t *step_ms);

/* The number of buckets of step_ms (an hour or a day) in r (a day of 23 hours has 23
 * hours), the first instant of bucket i (i up to the number: the end), and the index of the
 * bucket holding instant ts_ms (-1 outside r). */
int64_t range_buckets(const struct day_range *r, int64_t step_ms);
int64_t range_bucket_start(const struct day_range *r, int64_t step_ms, int64_t i);
int64_t range_bucket_of(const struct day_range *r, int64_t step_ms, int64_t ts_ms);

/* The bucket of a site-day id ("YYYY-MM-DD|...": the site's date, step a day) or site-hour
 * id ("YYYY-MM-DDTHH|..." or "YYYY-MM-DDTHH:MM|...": the hour's first instant in UTC, step an
 * hour; rollup_doc.h) in r: its index, or -1 (another form, or outside). */
int64_t range_bucket_of_id(const struct day_range *r, int64_t step_ms, const char *id);

/* Write bucket i's start into out: "YYYY-MM-DDTHH:MM:SSZ" in UTC (a site without a zone), or
 * the site's local time with its offset, "YYYY-MM-DDTHH:MM:SS+05:30" (26 bytes with the NUL). */
#define RANGE_T_LEN 26
void range_bucket_time(const struct day_range *r, int64_t step_ms, int64_t i,
                       char out[RANGE_T_LEN]);

/* `by` (length len as above): sets *by. Returns NULL, or RANGE_ERR_BY (unknown or
 * missing). */
const char *range_by(const char *s, int len, int *by);

/* `limit` (length len as above): absent means def; else an integer 1..max. Returns NULL
 * and sets *limit, or RANGE_ERR_LIMIT. */
const char *range_limit(const char *s, int len, int def, int max, int *limit);

/* Whether batch `b` (a user document's owner) has applied on the site-day document
 * `scope` (runs.<run> >= seq and b not in voided): exactly the user documents counted in
 * that site-day's `users`. A b that is no batch id counts nowhere. */
int range_user_counted(const bson_t *scope, const char *b);

/* How many documents to ask for in a cursor's next batch, so that a batch of documents
 * the size of the largest met so far (largest bytes; 0: none yet) fits in room bytes:
 * room / largest, at least 1 and at most `most` (`most` when none has been met). A read
 * sets it before each batch (mongoc_cursor_set_batch_size()), so that it holds one batch
 * of about room bytes however many documents it reads; MongoDB itself never sends more
 * than 16 MiB in a batch. */
uint32_t range_batch(size_t room, size_t largest, uint32_t most);

/* A distinct count of users within a bounded memory holds 64-bit hashes (FNV-1a 64 of the
 * user_id's bytes, as the site-hour sets do), at most RANGE_USERS_PASS of them (2 MiB) at
 * once: over more user documents than that, the documents are read in passes, pass p
 * keeping the users whose hash % passes == p, and the passes' counts added. Exact unless
 * two users' hashes collide: a chance of about n^2 / 2^65 for n users. */
#define RANGE_USERS_PASS 262144
uint64_t range_user_hash(const char *s, size_t len);

/* The number of passes for a count over `entries` user documents (at least 1). */
int64_t range_passes(int64_t entries);

/* Sort h[0..n), keep each value once at its front, and return how many there are. */
size_t range_unique(uint64_t *h, size_t n);

/* Add hash x to the set h[0..*n) (room for *cap, a power of two from 2 up to
 * RANGE_USERS_PASS, malloc'd): when it is full, its duplicates are dropped first
 * (range_unique()), then it doubles while that left it more than half full. Returns 0, 1
 * when RANGE_USERS_PASS distinct hashes are held already (x not added: the count needs
 * more passes), or -1 out of memory (h unchanged). */
int range_hold(uint64_t **h, size_t *n, size_t *cap, uint64_t x);

#endif
