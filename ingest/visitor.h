/* visitor.h - the visitor of an event sent without a user_id (cookieless by default): a
 * keyed hash of the day's salt (salt.h), the site, the client as the rate limiter sees it
 * (client.h, TRUST_PROXY included) and the User-Agent. Pure functions; accept.c calls
 * visitor_derive() for each event whose user_id is absent or empty.
 *
 * The id is the first 16 bytes of HMAC-SHA-256(key = the salt, message = site_id, one NUL
 * byte, the client key, one NUL byte, the User-Agent header or nothing), written as 32
 * lowercase hex characters, with OpenSSL's libcrypto (Debian's libssl3). Without the salt,
 * which lives 75 hours in Redis and nowhere else, the id cannot be traced back to an
 * address or a User-Agent, nor linked to the same visitor's id of another day; the address
 * and the User-Agent themselves are never stored or logged. */
#ifndef INGEST_VISITOR_H
#define INGEST_VISITOR_H

#include <stddef.h>

#include "event.h"

/* HMAC-SHA-256 of msg[0..len) with key[0..key_len) into out. Returns 0, or -1 when
 * libcrypto failed (out of memory). */
int visitor_hmac_sha256(const unsigned char *key, size_t key_len, const unsigned char *msg,
                        size_t len, unsigned char out[32]);

/* The visitor id of a request to site_id from client key client (client_make_key()) with
 * User-Agent user_agent (NULL: none) under salt[0..salt_len): EVENT_VISITOR_ID_LEN hex
 * characters and a NUL into out. Returns 0, or -1 when out of memory. */
int visitor_derive(const unsigned char *salt, size_t salt_len, const char *site_id,
                   const char *client, const char *user_agent, char out[EVENT_VISITOR_ID_LEN + 1]);

#endif
