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

/* The most proxies TRUST_PROXY may count. */
#define ABUSE_TRUST_PROXY_MAX 16

/* The key of the client a request counts against. trust_proxy (TRUST_PROXY) is the number
 * of proxies in front of ingest that each append the address they received the request
 * from to X-Forwarded-For (nginx's $proxy_add_x_forwarded_for, most load balancers). xff
 * holds the values of the request's X-Forwarded-For headers, n_xff of them in the order
 * received, read as one comma-separated list (RFC 9110: repeated headers are one list).
 *   - trust_proxy 0, or no header: remote, the connection's address.
 *   - trust_proxy N >= 1: the Nth item from the right, the address the outermost of the N
 *     proxies received the request from, when it is an IP address (IPv4 or IPv6, optionally
 *     in brackets, optionally with a port). The items to its left were written by the
 *     client (or by proxies outside ours) and are never looked at.
 *   - fewer than N items, or the Nth is not an address: remote. Such a request did not
 *     pass the N proxies, so any of its items may be the client's own: it is keyed by the
 *     address it cannot choose (strict: such clients share their peer's bucket).
 * The key is an IPv4 address in dotted form (an IPv4-mapped IPv6 address included), or
 * an IPv6 address's /64 prefix, as one host usually holds a whole /64. A remote that
 * parses as neither is kept as it is (truncated; "?" when empty). Writes out
 * (outsz >= ABUSE_CLIENT_MAX); returns 1 when the key came from xff, else 0. */
int abuse_client(const char *remote, const char *const *xff, size_t n_xff, long trust_proxy,
                 char *out, size_t outsz);

/* --- the per-client table ---------------------------------------------------------------- */

/* How many clients' buckets are kept: ABUSE_STRIPES stripes (a lock each), of
 * ABUSE_SETS sets of ABUSE_WAYS buckets, 8,192 in all. A client's key hashes (with a
 * random seed) to one set. A flood of addresses never grows memory, and never earns
 * more than the table holds (abuse_set_take()). */
#define ABUSE_STRIPES 32
#define ABUSE_SETS 64
#define ABUSE_WAYS 4

/* One bucket of the table and the client it belongs to. */
struct abuse_slot {
    char key[ABUSE_CLIENT_MAX]; /* "" while unused */
    struct abuse_bucket b;
};

/* Take n tokens for client from the set (ABUSE_WAYS slots) its key hashes to, as
 * abuse_bucket_take(). A client not in the set takes an unused slot with a full bucket,
 * else the slot used least recently with the bucket as it stands (refilled up to now_ms):
 * a new or returning client is never more generous than the bucket it replaces, so
 * addresses that evict one another hand on one drained allowance instead of each starting
 * full. Hence the bound: a client rotating over any number of addresses gets at most
 * 8,192 * (burst + rate * t) events in t seconds, what the whole table holds and refills
 * (with M < 8,192 addresses, M buckets' worth, as M clients would). The price: a client
 * whose bucket a flood evicted comes back to what its set's oldest bucket holds, empty at
 * worst (then it may wait burst / rate seconds, longer while the flood evicts it again).
 * A pure function of the set and its arguments; the caller holds the set's lock. */
enum abuse_verdict abuse_set_take(struct abuse_slot *set, const char *client, int64_t now_ms,
                                  long rate, long burst, long n, long *retry_after_s);

typedef struct abuse_rate abuse_rate_t;

/* A table for rate tokens per second, bursts of burst (both >= 1). Returns NULL with err
 * filled when out of memory. */
abuse_rate_t *abuse_rate_new(long rate, long burst, struct app_err *err);

/* NULL is a no-op. */
void abuse_rate_free(abuse_rate_t *r);

/* Take n tokens from client's bucket, as abuse_set_take() on its set. Thread-safe;
 * callers contend only within a stripe. */
enum abuse_verdict abuse_rate_take(abuse_rate_t *r, const char *client, int64_t now_ms, long n,
                                   long *retry_after_s);

/* The monotonic clock in milliseconds, for now_ms. */
int64_t abuse_now_ms(void);

#endif
