/* tz.h - a time zone of the system's tzdata: an IANA name ("Europe/Berlin") read from its
 * TZif file (RFC 8536) under TZDIR or /usr/share/zoneinfo, and the offset from UTC it gives
 * any instant, so that days and hours can be counted where a site's owner lives. Once
 * loaded a zone is read-only memory: every function but tz_load() is pure and may run on
 * any thread. A NULL zone is UTC, whose days are 24 hours from 00:00Z: a site without a zone. glibc
 * offers zones only through the process's TZ variable, one at a time and not thread-safe, hence
 * this reader. */
#ifndef COMMON_TZ_H
#define COMMON_TZ_H

#include <stddef.h>
#include <stdint.h>

/* The longest zone name taken. */
#define TZ_NAME_MAX 64
/* The largest TZif file read (the largest in tzdata is under 4 KiB). */
#define TZ_FILE_MAX (256 * 1024)

struct tz;

/* Whether name can be a zone's name: 1-TZ_NAME_MAX bytes of components of A-Z a-z 0-9 _ + -
 * separated by single '/', none of them starting with '.' or '-' (so no "..", no absolute
 * path, no option). Returns 1 or 0. */
int tz_name_ok(const char *name);

/* Load zone name: tz_name_ok(), then its TZif file under $TZDIR (if set and not empty) or
 * /usr/share/zoneinfo, read with tz_parse(). Returns 0 with *out set (release it with
 * tz_free()), or -1 with why (one line, naming the zone) filled: a bad name, no such zone,
 * or a file that is not a TZif file tz_parse() takes. */
int tz_load(const char *name, struct tz **out, char *why, size_t whylen);

/* Read a TZif file of version 2 or later (data[0..len)): its 64-bit transitions, its local
 * time types and its footer's TZ rule (POSIX, with RFC 8536's extensions: hours up to 167
 * and negative rule times), which gives every instant after the last transition. A file with
 * leap seconds ("right/" zones) is refused. name is kept (copied) as the zone's name.
 * Returns 0 with *out set, or -1 with why filled. */
int tz_parse(const char *name, const unsigned char *data, size_t len, struct tz **out, char *why,
             size_t whylen);

/* Free z (NULL is fine). */
void tz_free(struct tz *z);

/* The zone's name, as loaded ("UTC" for NULL). */
const char *tz_name(const struct tz *z);

/* The offset of local time from UTC at instant utc_ms, in milliseconds (+5:30 is
 * 19,800,000; west of Greenwich negative). */
int64_t tz_offset_ms(const struct tz *z, int64_t utc_ms);

/* The local calendar day of instant utc_ms: days since 1970-01-01 (negative before). */
int64_t tz_day_of(const struct tz *z, int64_t utc_ms);

/* The first instant of local day `day` (days since 1970-01-01): the instant of its midnight,
 * or, where the clocks jumped over midnight, the first instant whose local date is that day.
 * Local day `day` is [tz_day_start(day), tz_day_start(day + 1)): 23 or 25 hours on the days
 * the clocks change. */
int64_t tz_day_start(const struct tz *z, int64_t day);

/* The first instant of the local hour that holds utc_ms: utc_ms less its local time's
 * minutes, seconds and milliseconds. In a zone offset by a half or three quarters of an
 * hour, a local hour starts at :30 or :15 UTC; where the clocks go back, the repeated local
 * hour is two hours, each its own instant. */
int64_t tz_hour_start(const struct tz *z, int64_t utc_ms);

#endif
