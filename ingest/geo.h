/* geo.h - the country of a request's client (GEOIP_DB): an ISO 3166-1 alpha-2 code looked up
 * in a MaxMind-format database (libmaxminddb) by the client's key (client.h), the address
 * the rate limiter and the visitor hash see (TRUST_PROXY included). accept.c calls
 * geo_country() once per request and puts the code into each of its events (the envelope's
 * "cc", the stored "country"); the address itself is never stored or logged.
 *
 * The database read is the top-level "country_code" string (sapics' ip-location-db files,
 * which deploy/setup.sh installs), else "country" -> "iso_code" (MaxMind's GeoLite2 and
 * GeoIP2 Country and City files). Lookups are thread-safe: the file is mapped read-only
 * once, at start, and never changes while ingest runs (a new file needs a restart). */
#ifndef INGEST_GEO_H
#define INGEST_GEO_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include "err.h"
#include "event.h"

typedef struct geo geo_t;

/* Open the database at path. Returns the handle (free with geo_free()), or NULL with err
 * (ERR_INVALID: "cannot open '<path>': <reason>", e.g. "No such file or directory" or
 * "The MaxMind DB file's metadata section could not be found") when the file is missing,
 * unreadable or not a MaxMind database. */
geo_t *geo_open(const char *path, struct app_err *err);

/* GEOIP_DB's check (cfg.h, CFG_CHECKED): "" (no lookup) or a file geo_open() opens. */
int geo_check_db(const char *value, struct app_err *err);

/* Unmap the database. geo_free(NULL) does nothing. */
void geo_free(geo_t *g);

/* Whether a client key (client_make_key(): an IPv4 address in dotted form, or an IPv6
 * address's /64 prefix "2001:db8:1:2::/64") is a public address worth looking up, and if so
 * the address as a socket address into *out (port 0). Returns 1 for a public address, 0 for
 * anything else: an unparseable key, or an address of a private, shared (CGNAT), loopback,
 * link-local, unspecified, documentation, benchmarking, multicast or reserved range
 * (RFC 6890), an IPv6 unique local (fc00::/7) or site-local address, or an IPv4-mapped or
 * -compatible IPv6 address (client.h turns the first into IPv4 already). Pure. */
int geo_public_address(const char *key, struct sockaddr_storage *out);

/* The country of the client key key: its code into cc (EVENT_COUNTRY_LEN + 1 bytes) and
 * 1 when the address is public (geo_public_address()) and the database names a country of
 * two letters for it (upper-cased); else cc = "" and 0. g NULL (GEOIP_DB empty): always 0. */
int geo_country(const geo_t *g, const char *key, char cc[EVENT_COUNTRY_LEN + 1]);

#endif
