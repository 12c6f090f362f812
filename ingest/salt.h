/* salt.h - the daily salt of derived visitor ids (visitor.h), shared by every ingest
 * through Redis.
 *
 * One salt per calendar date: SALT_LEN random bytes (getrandom()), kept as 64 hex characters
 * under "<QUEUE_KEY>:salt:<YYYY-MM-DD>" (salt_key()). The first ingest that needs a day's
 * salt creates it with one atomic "SET key value NX EX 270000 GET" (Redis 7): the
 * command stores its value only when the key does not exist, and answers the value that
 * was there, so every other ingest reads the same salt; the key expires 75 hours after its
 * creation, so a salt is gone three days after it was made, and the previous day's is
 * still there all through the next day, in every zone (a visit that crosses midnight,
 * point 2 of issue 23). On a Redis Cluster the key goes to the master of its own slot, like any
 * key.
 *
 * A site with a time zone (SITE_TIMEZONES) takes the salt of its local date, so that its
 * visitors' ids change at its own midnight: the salt of date D serves every site whose day is
 * D, whenever that is. Each ingest caches the last few days' salts (and the day before each)
 * in memory: the first request of a new day fetches or creates its salt, one Redis round trip
 * per ingest and day. When Redis
 * fails then, the request is answered 503, as a failed push is: never with a salt of its
 * own, which would split one visitor into one per ingest. */
#ifndef INGEST_SALT_H
#define INGEST_SALT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "rconn.h"

#define SALT_LEN 32
/* The salt key's time to live: 75 hours from its creation. Date D's salt is made at the
 * earliest when D begins in the zone furthest ahead (UTC+14: 10:00Z the day before) and is
 * needed until D's next day ends in the zone furthest behind (UTC-12: 12:00Z two days after),
 * as the day before's salt of a visit that crosses that midnight: 74 hours, and an hour
 * spare. */
#define SALT_TTL_SECONDS 270000
/* Room for a salt key: the queue key (at most 256 bytes here), ":salt:" and a date. */
#define SALT_KEY_MAX 280

/* The key of the salt of the UTC day that holds now_ms (a time within years 0001-9999):
 * "<queue_key>:salt:YYYY-MM-DD" into out. Returns 0, or -1 when it does not fit in outsz
 * bytes. Pure. */
int salt_key(const char *queue_key, int64_t now_ms, char *out, size_t outsz);

/* The clock of the salt's day: the wall clock (ts_now_ms()). Its own function so that the
 * fault-injection build (tests/it/fault_clock.c) can move the day; the programs run it as
 * it is. */
int64_t salt_clock_ms(void);

typedef struct salt salt_t;

/* A salt source on a Redis connection of its own, made with opts (whose strings must outlive
 * it), for queue key queue_key (copied). Returns NULL with err when out of memory. */
salt_t *salt_new(const struct rconn_opts *opts, const char *queue_key, struct app_err *err);

/* NULL is a no-op. */
void salt_free(salt_t *s);

/* The salt of `day` (days since the epoch: the UTC day of the clock, or a site's local day
 * under SITE_TIMEZONES) into out, and the day before's into prev with *has_prev 1 when Redis
 * has it (0 when not): from memory (the last few days asked for), or else from Redis (fetched
 * or created, the day before's read beside it). Returns 0, or -1 with err (ERR_TRANSIENT or
 * ERR_UNKNOWN: Redis failed; ERR_INVALID: the stored value is not a salt). After a failure,
 * requests within the next 250 ms fail at once with the same reason, so that a Redis outage
 * does not queue every request behind one timeout after another. Thread-safe. */
int salt_of_day(salt_t *s, int64_t day, unsigned char out[SALT_LEN], unsigned char prev[SALT_LEN],
                int *has_prev, struct app_err *err);

/* Parse a stored salt value: 2 * SALT_LEN hex characters. Returns 0, or -1. Pure. */
int salt_parse(const char *v, size_t n, unsigned char out[SALT_LEN]);

#endif
