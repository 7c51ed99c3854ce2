/* timefmt.h - reply and record timestamps, with the formatted second cached. */
#ifndef DISPATCHD_TIMEFMT_H
#define DISPATCHD_TIMEFMT_H

#include <stddef.h>
#include <sys/time.h>

#define TIMEFMT_MAX 256

/*
 * Formats tv as RFC 3339 UTC with microseconds, "2026-11-22T10:15:30.123456Z"
 * (27 bytes). dst holds at least 28 bytes. Returns the length.
 */
size_t timefmt_rfc3339(char *dst, const struct timeval *tv);

/*
 * Formats tv in UTC with strftime(3) format fmt, where "%f" is the
 * microseconds (6 digits; "%1f".."%6f" the first 1 to 6 of them, cut, so
 * "%3f" is milliseconds) and "%s" the seconds since the Epoch whatever the
 * local time zone, with strftime's flags and width ("%_12s", "%012s");
 * fmt NULL means RFC 3339 as above.  A spec timefmt_check refuses is
 * copied as it is.  The result is cut at len - 1 bytes and always
 * terminated.  Returns the length.  Thread-safe; the part that depends
 * only on the second is cached per thread, so formatting costs a copy
 * once per second.
 */
size_t timefmt_format(char *dst, size_t len, const char *fmt, const struct timeval *tv);

/*
 * Checks a user format: 0, or -1 with a reason naming fmt in err.  Refused:
 * an empty format, one of TIMEFMT_MAX bytes or more, one that expands to
 * nothing or to more than TIMEFMT_MAX - 1 bytes, "%f" with a flag, an E/O
 * modifier or a width above 6, and the '+' flag.
 */
int timefmt_check(const char *fmt, char *err, size_t errlen);

#endif
