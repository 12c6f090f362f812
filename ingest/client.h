/* client.h - the client a request counts against (TRUST_PROXY): the connection's address,
 * or the Nth address from the right of X-Forwarded-For, as a key (an IPv4 address or an
 * IPv6 /64). A pure function; accept.c keys the rate limiter (ratelimit.h) with it. */
#ifndef INGEST_CLIENT_H
#define INGEST_CLIENT_H

#include <stddef.h>

/* Room for a client key: an IPv4 address, or an IPv6 /64 prefix ("2001:db8:1:2::/64"). */
#define CLIENT_KEY_MAX 48

/* The most proxies TRUST_PROXY may count. */
#define CLIENT_TRUST_PROXY_MAX 16

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
 * (outsz >= CLIENT_KEY_MAX); returns 1 when the key came from xff, else 0. */
int client_make_key(const char *remote, const char *const *xff, size_t n_xff, long trust_proxy,
                    char *out, size_t outsz);

#endif
