/* shards.h - ingest's side of the queue shards (QUEUE_SHARDS, common/qshard.h): one pusher
 * per shard, and the events of a request sent each to its visitor's shard. */
#ifndef INGEST_SHARDS_H
#define INGEST_SHARDS_H

#include <stddef.h>

#include "err.h"
#include "event.h"
#include "pusher.h"

/* The shard of ev among k: qshard_pick() of its site and its visitor, the user_id when it
 * is not empty, else the event's _id (so a client's retry of one event_id goes to the
 * same shard). Pure. */
unsigned shards_of_event(const struct event *ev, unsigned k);

/* The shard among k of a hashed visitor (visitor source "hash") of site whose client key is
 * client (client_make_key()) and User-Agent user_agent (NULL: none): FNV-1a 64 of the site,
 * a NUL, the client key, a NUL and the User-Agent, modulo k. It does not depend on the day's
 * salt, so the client's ids of yesterday and today land on one shard (where the processor
 * continues a visit across UTC midnight, processor/assign.c, by the envelope's "vy"). Computed
 * for each request, never stored. Pure. */
unsigned shards_of_client(const char *site, const char *client, const char *user_agent, unsigned k);

/* What an event needs beside its struct event on its way to the queue. */
struct shards_extra {
    unsigned shard; /* its shard: shards_of_event() or, hashed, shards_of_client() */
};

/* Push the n envelopes (envelopes[i] is evs[i]'s, extra[i] its shard, NULL: shards_of_event())
 * onto their shards' pushers (pushers[0..k)), one pusher_push() per shard concerned, each
 * with that shard's envelopes in request order: atomic per shard (so a request is all or
 * none only with k = 1), stopping at the first failure. Returns 0 when every shard
 * acknowledged; else -1 with err of that failure, and *maybe set to the events that may
 * nevertheless be queued (those of the shards that acknowledged before it, and its own when
 * no answer came): err->code is then ERR_UNKNOWN when *maybe > 0. */
int shards_push(pusher_t *const *pushers, unsigned k, const struct event *evs,
                const struct shards_extra *extra, char *const *envelopes, const size_t *lens,
                size_t n, size_t *maybe, struct app_err *err);

#endif
