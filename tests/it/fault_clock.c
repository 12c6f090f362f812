/* fault_clock.c - ingest-fault's clock of the salt's day (ingest/salt.h): linked into
 * ingest-fault only, with -Wl,--wrap=salt_clock_ms. FAULT_SALT_DAYS=N moves the salt's day
 * N days on (negative: back), so that tests/it/it_visitor.sh sees "a new day gives a new
 * salt" without waiting for midnight; FAULT_SALT_AT_MS=T stops it at instant T (ms since the
 * epoch), so that tests/it/it_timezones.sh sees either side of a site's local midnight.
 * Unset, the clock is the wall clock. The programs
 * themselves have no such setting. */
#include <stdint.h>
#include <stdlib.h>

int64_t __real_salt_clock_ms(void);
int64_t __wrap_salt_clock_ms(void);

int64_t
__wrap_salt_clock_ms(void)
{
    const char *v = getenv("FAULT_SALT_DAYS"), *at = getenv("FAULT_SALT_AT_MS");
    int64_t now = __real_salt_clock_ms();

    if (at != NULL) {
        return strtoll(at, NULL, 10);
    }
    return v != NULL ? now + strtoll(v, NULL, 10) * 86400000LL : now;
}
