/* visits.h - ingest's side of visits (issue 23, point 2): each event's visit assigned in Redis,
 * by the script that pushes the group commit (pusher.h), in the same round trip.
 *
 * The state of one visitor's visit on one site lives in a Redis hash on the visitor's queue
 * shard, "<shard key>:visit:<bytes of site_id>:<site_id>:<user_id>" (visits_state_key()):
 * it starts with the shard's own key, so it shares the shard's hash tag and slot on a
 * cluster, and the length before the site id keeps any two (site, visitor) apart. Its fields:
 * "st", the visit in a fixed binary form (visits.c): its last seq, latest arrival, least and
 * greatest ts, page views (capped at 2), whether it interacted, the arrival at which its TTL
 * was last set, its id, start, and entry and exit paths ("" for none); and "e:<_id>" for each
 * event sent with a client event_id: the visit member that event was given, which a duplicate
 * gets again. A new visit replaces the hash. The hash lives at least VISIT_TIMEOUT_S +
 * VISITS_MARGIN_S / 2 after its last event (the TTL, VISIT_TIMEOUT_S + VISITS_MARGIN_S, is set
 * again once half the margin has passed).
 *
 * For each envelope, in order, the script (visits_cmd_build()) decides new visit or not as
 * docs/design.md ("Visits") says, computes the event's contributions, splices
 * "visit":{...} before the envelope's final '}', and LPUSHes every envelope of the call at
 * once. An event without a user_id is pushed as it is. A hashed visitor (visitor source
 * "hash") also names the state key of yesterday's id: when today's has no state, yesterday's
 * is moved to it (RENAME), so a visit crossing midnight goes on under the new id. */
#ifndef INGEST_VISITS_H
#define INGEST_VISITS_H

#include <stddef.h>

#include "cfg.h"
#include "event.h"

/* VISIT_TIMEOUT_S: 1 s to a year. */
#define VISITS_TIMEOUT_MAX_S (366L * 24 * 3600)
/* How long a visit state outlives its visit's timeout: room for the clocks of two ingests
 * (decisions use each ingest's received time, the TTL runs on Redis's clock) and for a
 * client's retry of an event after its visit ended (the same visit member, not a new visit). */
#define VISITS_MARGIN_S 300L

/* The configuration row of VISIT_TIMEOUT_S (default 1800, 1 to VISITS_TIMEOUT_MAX_S) into the
 * long *dest. */
#define VISITS_TIMEOUT_VAR(dest)                                                                   \
    {                                                                                              \
        "VISIT_TIMEOUT_S", "1800", CFG_INT, (dest), 1, VISITS_TIMEOUT_MAX_S, 0, NULL               \
    }

/* One envelope on its way to the queue. */
struct visits_item {
    const char *envelope; /* a compact JSON object ending in '}' (envelope_encode()) */
    size_t len;
    /* Its event, for the visit; NULL, or an event without a user_id: no visit member. */
    const struct event *ev;
    /* A hashed visitor's id under yesterday's salt, or NULL / "": none. */
    const char *prev_user;
};

/* How an event type counts in a visit: 'p' a page view, 's' scroll or mousemove (neither a
 * page view nor an interaction), 'i' anything else (an interaction). Pure. */
char visits_class(const char *event_type);

/* The state key of (site, user) on the shard whose list is shard_key: "<shard_key>:visit:
 * <strlen(site)>:<site>:<user>" into out (NUL-terminated) when it fits in outsz bytes.
 * Returns its length, or the size it needs (>= outsz) when it does not fit. Pure. */
size_t visits_state_key(const char *shard_key, const char *site, const char *user, char *out,
                        size_t outsz);

/* The SHA1 of the push script, in 40 lowercase hex characters and a NUL, into out: what
 * EVALSHA names it by. Returns 0, or -1 when libcrypto failed. */
int visits_script_sha1(char out[41]);

/* One script call: its argument vector (argc entries) and the text it points into. */
struct visits_cmd {
    const char **argv;
    size_t *argvlen;
    int argc;
    size_t cap; /* of argv and argvlen */
    char *text;
    size_t text_cap;
};

/* Build, into cmd (zeroed the first time, reused after), the script call that pushes the n
 * items onto the list shard_key, their visits timing out after timeout_s seconds:
 *   EVALSHA <sha> <numkeys> <shard_key> <state keys...> <timeout ms> <ttl ms> <4 per item>
 * with sha (visits_script_sha1(), not copied), or EVAL <script> ... when sha is NULL
 * KEYS: the list, then for each item with a visit its state key and, for a hashed visitor
 * with prev_user, yesterday's. Per item: its head ("0" when it gets no visit, else 19 bytes:
 * its number of keys '1' or '2', visits_class(), 'c' when the client sent an event_id or '-',
 * then ts and received as little-endian doubles), the envelope (without its final '}' when it
 * gets a visit), and the event's _id and its path (its stored bytes; "" unless a page view),
 * both escaped by envelope_escape() ("" when it gets no visit). The pointers are valid until
 * the next build or visits_cmd_cleanup(). Returns 0, or -1 when out of memory. */
int visits_cmd_build(struct visits_cmd *cmd, const char *shard_key, const char *sha, long timeout_s,
                     const struct visits_item *items, size_t n);

/* Turn a built EVALSHA call into the same call with EVAL and the script's text: after Redis
 * answered NOSCRIPT (its script cache was flushed, or it restarted), which ran nothing. */
void visits_cmd_with_text(struct visits_cmd *cmd);

/* Free what cmd holds; cmd may then be built again. */
void visits_cmd_cleanup(struct visits_cmd *cmd);

#endif
