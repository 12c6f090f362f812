/* ts.h - RFC 3339 timestamps and calendar dates as UTC milliseconds since the epoch. */
#ifndef COMMON_TS_H
#define COMMON_TS_H

#include <stddef.h>
#include <stdint.h>

#define TS_DAY_MS 86400000LL
#define TS_HOUR_MS 3600000LL

/* The instants every parser accepts: 0001-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z
 * (UTC). An instant outside them has no four-digit UTC date, so no date query could
 * reach an event stored there. */
#define TS_MIN_MS (-62135596800000LL)
#define TS_MAX_MS 253402300799999LL

/* Parse an RFC 3339 date-time with a zone, e.g. `2025-11-15T10:00:00Z`,
 * `2025-11-15T10:00:00.5+05:30`: 'T' (or 't' or one space) between date and
 * time, seconds required, any number of fraction digits (kept to the
 * millisecond, truncated), zone 'Z', 'z' or +hh:mm / -hh:mm. Impossible dates
 * (2025-02-30) and times are rejected; a leap second (:60) is read as second 0
 * of the next minute (fraction kept), as POSIX time has no leap seconds. The
 * UTC instant must lie within TS_MIN_MS..TS_MAX_MS (so `0001-01-01T00:30:00+01:00`
 * and `9999-12-31T23:59:60Z` are refused). The whole string of length len must be
 * consumed. Returns 0 and sets *ms (UTC), or -1. */
int ts_parse_rfc3339(const char *s, size_t len, int64_t *ms);

/* Parse a calendar date `YYYY-MM-DD` (exactly that, a real date, years 0001-9999)
 * to the UTC midnight that starts it. Returns 0 and sets *ms, or -1. */
int ts_parse_date(const char *s, size_t len, int64_t *ms);

/* Write `YYYY-MM-DDTHH:MM:SS.mmmZ` (25 bytes with the NUL) for ms. out must
 * hold TS_FORMAT_LEN bytes. */
#define TS_FORMAT_LEN 25
void ts_format(int64_t ms, char out[TS_FORMAT_LEN]);

/* The start of the bucket of `unit` milliseconds (unit > 0: TS_DAY_MS, TS_HOUR_MS) counted
 * from the epoch that holds ms: ms rounded down, toward minus infinity, so that an instant
 * before 1970 is in the bucket that starts before it (ms - ms % unit rounds toward zero:
 * 1969-12-31T23:30Z would be in 1970's first hour). For ms >= INT64_MIN + unit. Every day or
 * hour bucket is computed with it. */
int64_t ts_floor(int64_t ms, int64_t unit);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
int64_t ts_days_from_civil(int64_t y, int m, int d);

/* Current wall-clock time in UTC milliseconds. */
int64_t ts_now_ms(void);

/* The monotonic clock (CLOCK_MONOTONIC: not set back by NTP or an operator, counted from
 * an arbitrary start), in nanoseconds and in milliseconds: every deadline, timeout,
 * interval and latency of the programs is measured on it. */
int64_t ts_mono_ns(void);
int64_t ts_mono_ms(void);

#endif
