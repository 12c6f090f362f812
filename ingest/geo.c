/* geo.c - the country of a request's client: GEOIP_DB, looked up with libmaxminddb (geo.h). */
#include "geo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

struct geo {
    MMDB_s db;
};

geo_t *
geo_open(const char *path, struct app_err *err)
{
    geo_t *g = calloc(1, sizeof *g);
    int status;

    if (g == NULL) {
        err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    errno = 0;
    status = MMDB_open(path, MMDB_MODE_MMAP, &g->db);
    if (status != MMDB_SUCCESS) {
        err_set(err, ERR_INVALID, "cannot open '%s': %s", path,
                status == MMDB_FILE_OPEN_ERROR && errno != 0 ? strerror(errno)
                                                             : MMDB_strerror(status));
        free(g); /* MMDB_open() frees what it made when it fails */
        return NULL;
    }
    return g;
}

int
geo_check_db(const char *value, struct app_err *err)
{
    geo_t *g;

    if (value[0] == '\0') {
        return 0;
    }
    g = geo_open(value, err);
    geo_free(g);
    return g != NULL ? 0 : -1;
}

void
geo_free(geo_t *g)
{
    if (g == NULL) {
        return;
    }
    MMDB_close(&g->db);
    free(g);
}

/* An address range that is not looked up: the first bits bits of net (RFC 6890, RFC 4193,
 * RFC 4291). IPv4 ranges as 4 bytes, IPv6 as 16. */
struct range {
    int family;
    unsigned char net[16];
    int bits;
};

static const struct range not_public[] = {
    {AF_INET, {0}, 8},                        /* 0.0.0.0/8 "this network" */
    {AF_INET, {10}, 8},                       /* 10.0.0.0/8 private */
    {AF_INET, {100, 64}, 10},                 /* 100.64.0.0/10 shared (carrier-grade NAT) */
    {AF_INET, {127}, 8},                      /* 127.0.0.0/8 loopback */
    {AF_INET, {169, 254}, 16},                /* 169.254.0.0/16 link-local */
    {AF_INET, {172, 16}, 12},                 /* 172.16.0.0/12 private */
    {AF_INET, {192, 0, 0}, 24},               /* 192.0.0.0/24 IETF protocol assignments */
    {AF_INET, {192, 0, 2}, 24},               /* 192.0.2.0/24 documentation (TEST-NET-1) */
    {AF_INET, {192, 88, 99}, 24},             /* 192.88.99.0/24 6to4 relay anycast (deprecated) */
    {AF_INET, {192, 168}, 16},                /* 192.168.0.0/16 private */
    {AF_INET, {198, 18}, 15},                 /* 198.18.0.0/15 benchmarking */
    {AF_INET, {198, 51, 100}, 24},            /* 198.51.100.0/24 documentation (TEST-NET-2) */
    {AF_INET, {203, 0, 113}, 24},             /* 203.0.113.0/24 documentation (TEST-NET-3) */
    {AF_INET, {224}, 4},                      /* 224.0.0.0/4 multicast */
    {AF_INET, {240}, 4},                      /* 240.0.0.0/4 reserved, broadcast included */
    {AF_INET6, {0}, 96},                      /* ::/96 unspecified, loopback, IPv4-compatible */
    {AF_INET6, {[10] = 0xff, 0xff}, 96},      /* ::ffff:0:0/96 IPv4-mapped */
    {AF_INET6, {0, 0x64, 0xff, 0x9b}, 96},    /* 64:ff9b::/96 NAT64 */
    {AF_INET6, {0x01}, 64},                   /* 100::/64 discard */
    {AF_INET6, {0x20, 0x01, 0, 0}, 32},       /* 2001::/32 Teredo */
    {AF_INET6, {0x20, 0x01, 0, 0x02}, 48},    /* 2001:2::/48 benchmarking */
    {AF_INET6, {0x20, 0x01, 0x0d, 0xb8}, 32}, /* 2001:db8::/32 documentation */
    {AF_INET6, {0xfc}, 7},                    /* fc00::/7 unique local */
    {AF_INET6, {0xfe, 0x80}, 10},             /* fe80::/10 link-local */
    {AF_INET6, {0xfe, 0xc0}, 10},             /* fec0::/10 site-local (deprecated) */
    {AF_INET6, {0xff}, 8},                    /* ff00::/8 multicast */
};

/* Whether the address a (4 or 16 bytes, as family says) lies in r. */
static int
in_range(int family, const unsigned char *a, const struct range *r)
{
    int full = r->bits / 8, rest = r->bits % 8;

    if (family != r->family || memcmp(a, r->net, (size_t)full) != 0) {
        return 0;
    }
    return rest == 0 || ((a[full] ^ r->net[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static int
is_public(int family, const unsigned char *a)
{
    for (size_t i = 0; i < sizeof not_public / sizeof not_public[0]; i++) {
        if (in_range(family, a, &not_public[i])) {
            return 0;
        }
    }
    return 1;
}

int
geo_public_address(const char *key, struct sockaddr_storage *out)
{
    char addr[CLIENT_KEY_MAX];
    const char *slash = strchr(key, '/');
    size_t n = slash != NULL ? (size_t)(slash - key) : strlen(key);
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;

    memset(out, 0, sizeof *out);
    if (n >= sizeof addr || (slash != NULL && strcmp(slash, "/64") != 0)) {
        return 0;
    }
    memcpy(addr, key, n);
    addr[n] = '\0';
    if (slash == NULL && inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        return is_public(AF_INET, (const unsigned char *)&v4->sin_addr);
    }
    if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        return is_public(AF_INET6, v6->sin6_addr.s6_addr);
    }
    memset(out, 0, sizeof *out);
    return 0;
}

/* The two-letter code at the lookup path of entry, upper-cased, into cc. Returns 1, or 0
 * when the entry has no such string. */
static int
code_at(MMDB_entry_s *entry, const char *const *path, char cc[EVENT_COUNTRY_LEN + 1])
{
    MMDB_entry_data_s data;

    if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data ||
        data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size != EVENT_COUNTRY_LEN) {
        return 0;
    }
    for (int i = 0; i < EVENT_COUNTRY_LEN; i++) {
        char c = data.utf8_string[i];
        if (c >= 'a' && c <= 'z') {
            c = (char)(c - 'a' + 'A');
        }
        if (c < 'A' || c > 'Z') {
            return 0;
        }
        cc[i] = c;
    }
    cc[EVENT_COUNTRY_LEN] = '\0';
    return 1;
}

int
geo_country(const geo_t *g, const char *key, char cc[EVENT_COUNTRY_LEN + 1])
{
    static const char *const flat[] = {"country_code", NULL};
    static const char *const maxmind[] = {"country", "iso_code", NULL};
    struct sockaddr_storage sa;
    MMDB_lookup_result_s r;
    int status = MMDB_SUCCESS;

    cc[0] = '\0';
    if (g == NULL || !geo_public_address(key, &sa)) {
        return 0;
    }
    r = MMDB_lookup_sockaddr(&g->db, (const struct sockaddr *)&sa, &status);
    if (status != MMDB_SUCCESS || !r.found_entry ||
        (!code_at(&r.entry, flat, cc) && !code_at(&r.entry, maxmind, cc))) {
        cc[0] = '\0';
        return 0;
    }
    return 1;
}
