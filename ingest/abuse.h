/* abuse.h - ingest's abuse limits: the sites it accepts events for (SITE_IDS), and how
 * many events per second one client may send (RATE_LIMIT: a token bucket per client
 * address, in a table of fixed size). The arithmetic and the parsing are pure functions;
 * routes.c applies them after a request's body is parsed. */
#ifndef INGEST_ABUSE_H
#define INGEST_ABUSE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* --- SITE_IDS ----------------------------------------------------------------------- */

typedef struct abuse_sites abuse_sites_t;

/* Parse SITE_IDS: a comma-separated list of site ids (blanks around an item are
 * ignored), each 1-256 bytes; empty (or only blanks) accepts any site. Returns the set
 * (free with abuse_sites_free()), or NULL with err filled: ERR_INVALID, "an empty item
 * (two commas, or a comma at an end)" or "\"<item>\" is longer than 256 bytes", or
 * ERR_INTERNAL when out of memory. */
abuse_sites_t *abuse_sites_new(const char *spec, struct app_err *err);

/* NULL is a no-op. */
void abuse_sites_free(abuse_sites_t *s);

/* SITE_IDS's check (a CFG_CHECKED row): 0 when abuse_sites_new() takes value, else -1
 * with its message in why. */
int abuse_check_sites(const char *value, char *why, size_t whylen);

/* True when site_id is accepted: the set is empty, or lists it exactly. */
int abuse_site_accepted(const abuse_sites_t *s, const char *site_id);

/* --- the token bucket ------------------------------------------------------------------ */

/* A client's allowance: up to burst tokens, refilled at rate tokens per second, one token
 * per event. Kept in thousandths of a token, so that a refill of rate per second adds
 * exactly rate thousandths per millisecond (integer arithmetic, no rounding drift). */
struct abuse_bucket {
    int64_t milli;   /* tokens * 1000, 0..burst * 1000 */
    int64_t last_ms; /* when milli was last brought up to date (a monotonic clock) */
};

enum abuse_verdict {
    ABUSE_OK,    /* the tokens were taken */
    ABUSE_WAIT,  /* not enough tokens yet: retry after *retry_after_s */
    ABUSE_NEVER, /* n > burst: the bucket can never hold that many */
};

/* A full bucket at now_ms. */
void abuse_bucket_init(struct abuse_bucket *b, long burst, int64_t now_ms);

/* Take n tokens (n >= 1) from b at now_ms, after refilling it for the time since
 * b->last_ms (a now_ms before it counts as no time). rate and burst are >= 1.
 * ABUSE_OK: taken. ABUSE_WAIT: nothing taken; *retry_after_s is the whole seconds
 * (at least 1) until n tokens will be there. ABUSE_NEVER: n > burst, nothing taken,
 * *retry_after_s 0. A pure function of (*b, now_ms, rate, burst, n): b is brought up to
 * date in every case. */
enum abuse_verdict abuse_bucket_take(struct abuse_bucket *b, int64_t now_ms, long rate, long burst,
                                     long n, long *retry_after_s);

/* --- the client address ----------------------------------------------------------------- */

/* Room for a client key: an IPv4 address, or an IPv6 /64 prefix ("2001:db8:1:2::/64"). */
#define ABUSE_CLIENT_MAX 48

/* The key of the client a request counts against. With trust_proxy, the first hop of
 * xff (X-Forwarded-For: "client, proxy1, ..."; NULL when absent) when it is an IP
 * address (IPv4 or IPv6, optionally in brackets, optionally with a port); otherwise
 * remote, the connection's address. The key is an IPv4 address in dotted form (an
 * IPv4-mapped IPv6 address included), or an IPv6 address's /64 prefix, as one host
 * usually holds a whole /64. An address that parses as neither is kept as it is
 * (truncated). Writes out (outsz >= ABUSE_CLIENT_MAX); returns 1 when the key came
 * from xff, else 0. */
int abuse_client(const char *remote, const char *xff, int trust_proxy, char *out, size_t outsz);

/* --- the per-client table ---------------------------------------------------------------- */

/* How many clients' buckets are kept: ABUSE_STRIPES stripes (a lock each), of
 * ABUSE_SETS sets of ABUSE_WAYS buckets. A client's key hashes (with a random seed) to
 * one set; a new client replaces the bucket in its set used least recently, which is a
 * full bucket again by then unless the table is flooded: a flood of addresses only makes
 * the buckets it evicts start full again, and never grows memory. */
#define ABUSE_STRIPES 32
#define ABUSE_SETS 64
#define ABUSE_WAYS 4

typedef struct abuse_rate abuse_rate_t;

/* A table for rate tokens per second, bursts of burst (both >= 1). Returns NULL with err
 * filled when out of memory. */
abuse_rate_t *abuse_rate_new(long rate, long burst, struct app_err *err);

/* NULL is a no-op. */
void abuse_rate_free(abuse_rate_t *r);

/* Take n tokens from client's bucket (a new client starts with a full one), as
 * abuse_bucket_take(). Thread-safe; callers contend only within a stripe. */
enum abuse_verdict abuse_rate_take(abuse_rate_t *r, const char *client, int64_t now_ms, long n,
                                   long *retry_after_s);

/* The monotonic clock in milliseconds, for now_ms. */
int64_t abuse_now_ms(void);

#endif
