/* client.c - the client a request counts against: its key, from the connection's address
 * or the trusted end of X-Forwarded-For (TRUST_PROXY). */
#include "client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* The address in one X-Forwarded-For item, item[0..len), without blanks around it,
 * brackets or port, into out (outsz bytes). Returns 0, or -1 when there is none or it does
 * not fit. */
static int
hop_address(const char *item, size_t len, char *out, size_t outsz)
{
    const char *p = item, *end = item + len, *colon;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    if (p < end && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (close == NULL || (close + 1 < end && close[1] != ':')) {
            return -1;
        }
        p++;
        end = close;
    } else if ((colon = memchr(p, ':', (size_t)(end - p))) != NULL &&
               memchr(colon + 1, ':', (size_t)(end - colon - 1)) == NULL) {
        end = colon; /* one colon: an IPv4 address and a port */
    }
    if (p == end || (size_t)(end - p) >= outsz) {
        return -1;
    }
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return 0;
}

/* The nth item from the right (n >= 1) of the lists xff[0..n_xff), read as one list:
 * sets *item and *len and returns 0, or returns -1 when there are fewer than n items. */
static int
nth_from_right(const char *const *xff, size_t n_xff, long n, const char **item, size_t *len)
{
    for (size_t h = n_xff; h-- > 0;) {
        const char *start = xff[h], *end = start + strlen(start), *p = end;
        for (;;) {
            while (p > start && p[-1] != ',') {
                p--;
            }
            if (--n == 0) {
                *item = p;
                *len = (size_t)(end - p);
                return 0;
            }
            if (p == start) {
                break;
            }
            end = --p; /* the comma that ends the item before */
        }
    }
    return -1;
}

/* The key of an address: IPv4 dotted, IPv6 as its /64. Returns 0, or -1 when addr is
 * not an IP address. */
static int
key_of(const char *addr, char *out, size_t outsz)
{
    struct in_addr v4;
    struct in6_addr v6;

    if (inet_pton(AF_INET, addr, &v4) == 1) {
        return inet_ntop(AF_INET, &v4, out, (socklen_t)outsz) ? 0 : -1;
    }
    if (inet_pton(AF_INET6, addr, &v6) != 1) {
        return -1;
    }
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        memcpy(&v4, &v6.s6_addr[12], sizeof v4);
        return inet_ntop(AF_INET, &v4, out, (socklen_t)outsz) ? 0 : -1;
    }
    memset(&v6.s6_addr[8], 0, 8);
    if (inet_ntop(AF_INET6, &v6, out, (socklen_t)outsz) == NULL || strlen(out) + 4 >= outsz) {
        return -1;
    }
    strcat(out, "/64");
    return 0;
}

int
client_make_key(const char *remote, const char *const *xff, size_t n_xff, long trust_proxy,
                char *out, size_t outsz)
{
    char hop[CLIENT_KEY_MAX];
    const char *item;
    size_t len;

    if (trust_proxy > 0 && nth_from_right(xff, n_xff, trust_proxy, &item, &len) == 0 &&
        hop_address(item, len, hop, sizeof hop) == 0 && key_of(hop, out, outsz) == 0) {
        return 1;
    }
    if (key_of(remote, out, outsz) != 0) {
        snprintf(out, outsz, "%s", remote[0] != '\0' ? remote : "?");
    }
    return 0;
}
