/* uacost.c - ingest's per-event device and country work, timed (tests/bench/bench.sh part 14):
 * ua_parse() on a warm cache (a few real User-Agents over and over, as a site's visitors send
 * them), on a cold one (every User-Agent new), and geo_country() on public addresses.
 *
 *   uacost GEOIP_DB [N]   prints "ua_warm_ns=.. ua_cold_ns=.. geo_ns=.. hits=.. misses=.."
 *
 * Each figure is the wall time of its loop over N calls (default 1,000,000; the cold loop
 * N / 20), divided by the calls: one thread, as one request's worker does it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "geo.h"
#include "ua.h"

static const char *const agents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Android 14; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36",
};
#define N_AGENTS (sizeof agents / sizeof agents[0])

static const char *const addresses[] = {
    "8.8.8.8", "81.2.69.142",         "2.16.0.1",      "133.11.0.1", "185.60.216.35",
    "1.1.1.1", "2a03:2880:f10c::/64", "91.198.174.192"};
#define N_ADDRESSES (sizeof addresses / sizeof addresses[0])

static double
now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int
main(int argc, char **argv)
{
    struct app_err err = {0};
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 1000000;
    ua_t *u = ua_new(&err);
    geo_t *g = argc > 1 ? geo_open(argv[1], &err) : NULL;
    struct event_device d;
    char cc[EVENT_COUNTRY_LEN + 1], agent[512];
    unsigned long hits, misses, found = 0;
    double t0, warm, cold, geo;

    if (u == NULL || g == NULL || n < 20) {
        fprintf(stderr, "usage: uacost GEOIP_DB [N >= 20]: %s\n", err.msg);
        ua_free(u);
        geo_free(g);
        return 2;
    }
    for (size_t i = 0; i < N_AGENTS; i++) { /* warm the cache */
        ua_parse(u, agents[i], strlen(agents[i]), &d);
    }
    t0 = now_ns();
    for (long i = 0; i < n; i++) {
        const char *a = agents[(size_t)i % N_AGENTS];
        ua_parse(u, a, strlen(a), &d);
    }
    warm = (now_ns() - t0) / (double)n;
    t0 = now_ns();
    for (long i = 0; i < n / 20; i++) { /* a new User-Agent each time: a miss each */
        int len = snprintf(agent, sizeof agent, "%s build/%ld", agents[(size_t)i % N_AGENTS], i);
        ua_parse(u, agent, (size_t)len, &d);
    }
    cold = (now_ns() - t0) / (double)(n / 20);
    t0 = now_ns();
    for (long i = 0; i < n; i++) {
        found += (unsigned long)geo_country(g, addresses[(size_t)i % N_ADDRESSES], cc);
    }
    geo = (now_ns() - t0) / (double)n;
    ua_cache_stats(u, &hits, &misses);
    printf("ua_warm_ns=%.0f ua_cold_ns=%.0f geo_ns=%.0f hits=%lu misses=%lu countries=%lu/%ld\n",
           warm, cold, geo, hits, misses, found, n);
    ua_free(u);
    geo_free(g);
    return 0;
}
