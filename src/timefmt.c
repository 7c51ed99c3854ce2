/* timefmt.c - reply and record timestamps, with the formatted second cached. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

/* "YYYY-MM-DDTHH:MM:SS." before the microseconds and the "Z". */
#define RFC3339_PREFIX 20
#define RFC3339_LEN    27
#define USEC_DIGITS    6

/*
 * A custom format as expanded for one second: out holds the strftime
 * output with a hole of 1 to 6 bytes at each %f, so a call within the
 * same second is a copy plus the digits.  Keyed by the format's text, not
 * its address: a format freed and another allocated at the same place
 * must not hit.
 */
struct tf_entry {
	bool valid;
	time_t sec;
	char fmt[TIMEFMT_MAX];
	char out[TIMEFMT_MAX];
	size_t outlen;
	size_t nus;
	/* Each hole takes at least one byte of out: at most TIMEFMT_MAX - 1. */
	unsigned short us[TIMEFMT_MAX]; /* where each %f's digits go */
	unsigned char usw[TIMEFMT_MAX]; /* ... and how many: 1 to 6 */
};

/* Two entries, so a thread serving two formats does not thrash. */
#define TF_SLOTS 2

static _Thread_local struct tf_entry tf_cache[TF_SLOTS];
static _Thread_local unsigned tf_next;
static _Thread_local struct {
	bool valid;
	time_t sec;
	char prefix[RFC3339_PREFIX];
} tf_rfc;

static void
tf_digits(char *d, unsigned long v, int n)
{
	while (n-- > 0) {
		d[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Splits tv into whole seconds and 0..999999 microseconds. */
static void
tf_split(const struct timeval *tv, time_t *sec, unsigned long *usec)
{
	time_t s = tv->tv_sec + tv->tv_usec / 1000000;
	long us = (long)(tv->tv_usec % 1000000);

	if (us < 0) {
		us += 1000000;
		s--;
	}
	*sec = s;
	*usec = (unsigned long)us;
}

size_t
timefmt_rfc3339(char *dst, const struct timeval *tv)
{
	time_t sec;
	unsigned long usec;

	tf_split(tv, &sec, &usec);
	if (!tf_rfc.valid || tf_rfc.sec != sec) {
		struct tm tm;
		char *p = tf_rfc.prefix;
		if (gmtime_r(&sec, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
		/* RFC 3339 has four year digits; clamping keeps the length
		 * fixed for any time_t instead of overrunning dst. */
		long year = (long)tm.tm_year + 1900;
		year = year < 0 ? 0 : year > 9999 ? 9999 : year;
		tf_digits(p, (unsigned long)year, 4);
		p[4] = '-';
		tf_digits(p + 5, (unsigned long)tm.tm_mon + 1, 2);
		p[7] = '-';
		tf_digits(p + 8, (unsigned long)tm.tm_mday, 2);
		p[10] = 'T';
		tf_digits(p + 11, (unsigned long)tm.tm_hour, 2);
		p[13] = ':';
		tf_digits(p + 14, (unsigned long)tm.tm_min, 2);
		p[16] = ':';
		tf_digits(p + 17, (unsigned long)tm.tm_sec, 2);
		p[19] = '.';
		tf_rfc.sec = sec;
		tf_rfc.valid = true;
	}
	memcpy(dst, tf_rfc.prefix, RFC3339_PREFIX);
	tf_digits(dst + RFC3339_PREFIX, usec, USEC_DIGITS);
	dst[RFC3339_PREFIX + USEC_DIGITS] = 'Z';
	dst[RFC3339_LEN] = '\0';
	return RFC3339_LEN;
}

/*
 * strftime of fmt[0, n) appended to e->out.  A leading byte is formatted
 * and skipped so that an empty expansion (0) is told apart from one that
 * does not fit (also 0).  False when the result had to be cut.
 */
static bool
tf_segment(struct tf_entry *e, const char *fmt, size_t n, const struct tm *tm)
{
	char f[TIMEFMT_MAX + 1], out[TIMEFMT_MAX + 1];
	size_t r;

	if (n == 0)
		return true;
	if (n > sizeof(f) - 2)
		return false;
	f[0] = 'x';
	memcpy(f + 1, fmt, n);
	f[n + 1] = '\0';
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	r = strftime(out, sizeof(out), f, tm);
#pragma GCC diagnostic pop
	if (r == 0)
		return false;
	r--;
	size_t room = sizeof(e->out) - 1 - e->outlen;
	bool whole = r <= room;
	if (!whole)
		r = room;
	memcpy(e->out + e->outlen, out + 1, r);
	e->outlen += r;
	return whole;
}

/*
 * One conversion specification as the C library's strftime(3) reads it:
 * '%', flags from "_-0^#", a decimal width, an E or O modifier, then the
 * conversion character.  Parsed whole, so that a spec strftime handles is
 * passed to it whole ("%-%s" is "%-%" then "s", as strftime reads it).
 */
struct tf_spec {
	const char *at; /* the '%' */
	size_t len;     /* through the conversion character */
	char conv;      /* '\0' when the format ends first */
	char pad;       /* the last of '_', '-', '0'; '\0' for none */
	bool flags;     /* any flag, '^' and '#' included */
	bool mod;       /* E or O */
	int width;      /* -1 for none; saturates above TIMEFMT_MAX */
};

static void
tf_parse(const char *p, struct tf_spec *sp)
{
	const char *q = p + 1;

	sp->at = p;
	sp->pad = '\0';
	sp->flags = false;
	sp->mod = false;
	sp->width = -1;
	for (; *q != '\0' && strchr("_-0^#", *q) != NULL; q++) {
		sp->flags = true;
		if (*q != '^' && *q != '#')
			sp->pad = *q;
	}
	if (*q >= '1' && *q <= '9') {
		sp->width = 0;
		for (; *q >= '0' && *q <= '9'; q++)
			if (sp->width <= TIMEFMT_MAX)
				sp->width = sp->width * 10 + (*q - '0');
	}
	if (*q == 'E' || *q == 'O') {
		sp->mod = true;
		q++;
	}
	sp->conv = *q;
	sp->len = (size_t)(q - p) + (*q != '\0');
}

/* What becomes of a spec: strftime's, or one it never sees. */
enum tf_kind {
	TF_LIBC,    /* strftime's own */
	TF_SECONDS, /* %s: strftime's runs mktime, which reads tm as local time */
	TF_MICRO,   /* %f, %1f..%6f: not strftime's */
	TF_BAD      /* %f with a flag, modifier or other width; '+' (see below) */
};

static enum tf_kind
tf_kind(const struct tf_spec *sp)
{
	switch (sp->conv) {
	case 's':
		return TF_SECONDS;
	case 'f':
		return sp->flags || sp->mod || sp->width > USEC_DIGITS ? TF_BAD : TF_MICRO;
	case '+':
		/* Not a flag to glibc, which prints "%+" as it is; a C library
		 * that takes it as one (POSIX) would read "%+s" as its own %s. */
		return TF_BAD;
	default:
		return TF_LIBC;
	}
}

/*
 * Appends n bytes of p to e->out, as many as fit.  False when not all did.
 */
static bool
tf_append(struct tf_entry *e, const char *p, size_t n)
{
	size_t room = sizeof(e->out) - 1 - e->outlen;
	size_t k = n < room ? n : room;

	memcpy(e->out + e->outlen, p, k);
	e->outlen += k;
	return k == n;
}

/*
 * %s for second sec, with the flags and width as strftime applies them to
 * its own %s: padded to the width with spaces, or with zeros for the '0'
 * flag ('-' and '_' pad with spaces too once a width is given).  Zeros go
 * after a minus sign (glibc puts them before it).
 */
static bool
tf_seconds(struct tf_entry *e, time_t sec, const struct tf_spec *sp)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%lld", (long long)sec);
	size_t len = (size_t)n, pad = sp->width > n ? (size_t)sp->width - len : 0;
	const char *digits = num;

	if (sp->pad == '0' && num[0] == '-') {
		if (!tf_append(e, "-", 1))
			return false;
		digits++;
		len--;
	}
	while (pad-- > 0)
		if (!tf_append(e, sp->pad == '0' ? "0" : " ", 1))
			return false;
	return tf_append(e, digits, len);
}

/*
 * Expands fmt for second sec (tm: the same in UTC) into e, with holes for
 * %f, whose digits change within the second.  False when the output is
 * longer than TIMEFMT_MAX - 1 bytes; e then holds what fitted.  A spec
 * timefmt_check refuses is copied as it is, as strftime does with specs
 * it does not know; *bad (if not NULL) gets the first one, or len 0.
 */
static bool
tf_build(struct tf_entry *e, const char *fmt, time_t sec, const struct tm *tm, struct tf_spec *bad)
{
	const char *seg = fmt, *p = fmt;
	struct tf_spec sp;
	bool fits = true;

	e->outlen = 0;
	e->nus = 0;
	if (bad != NULL)
		bad->len = 0;
	while (*p != '\0' && fits) {
		if (p[0] != '%') {
			p++;
			continue;
		}
		tf_parse(p, &sp);
		enum tf_kind kind = tf_kind(&sp);
		if (kind == TF_LIBC) {
			p += sp.len;
			continue;
		}
		if (!tf_segment(e, seg, (size_t)(p - seg), tm))
			return false;
		switch (kind) {
		case TF_SECONDS:
			fits = tf_seconds(e, sec, &sp);
			break;
		case TF_MICRO: {
			size_t room = sizeof(e->out) - 1 - e->outlen;
			size_t w = sp.width > 0 ? (size_t)sp.width : USEC_DIGITS;

			if (room == 0) {
				fits = false;
				break;
			}
			e->us[e->nus] = (unsigned short)e->outlen;
			e->usw[e->nus++] = (unsigned char)w;
			fits = w <= room;
			e->outlen += fits ? w : room;
			break;
		}
		default:
			if (bad != NULL && bad->len == 0)
				*bad = sp;
			fits = tf_append(e, p, sp.len);
			break;
		}
		p += sp.len;
		seg = p;
	}
	return fits && tf_segment(e, seg, (size_t)(p - seg), tm);
}

/* Copies the expansion into dst (len > 0) with the microseconds filled in. */
static size_t
tf_render(const struct tf_entry *e, char *dst, size_t len, unsigned long usec)
{
	char digits[USEC_DIGITS];
	size_t n = e->outlen < len - 1 ? e->outlen : len - 1;

	tf_digits(digits, usec, USEC_DIGITS);
	memcpy(dst, e->out, n);
	/* %3f is the first 3 digits: milliseconds, cut, never rounded up
	 * into the next second. */
	for (size_t i = 0; i < e->nus && e->us[i] < n; i++) {
		size_t k = n - e->us[i] < e->usw[i] ? n - e->us[i] : e->usw[i];
		memcpy(dst + e->us[i], digits, k);
	}
	dst[n] = '\0';
	return n;
}

static void
tf_gmtime(time_t sec, struct tm *tm)
{
	if (gmtime_r(&sec, tm) == NULL)
		memset(tm, 0, sizeof(*tm));
}

size_t
timefmt_format(char *dst, size_t len, const char *fmt, const struct timeval *tv)
{
	time_t sec;
	unsigned long usec;
	struct tm tm;

	if (len == 0)
		return 0;
	if (fmt == NULL) {
		char tmp[RFC3339_LEN + 1];
		size_t n = timefmt_rfc3339(tmp, tv);
		if (n > len - 1)
			n = len - 1;
		memcpy(dst, tmp, n);
		dst[n] = '\0';
		return n;
	}

	tf_split(tv, &sec, &usec);
	size_t flen = strlen(fmt);
	if (flen >= TIMEFMT_MAX) {
		/* Too long to be a key (timefmt_check refuses it anyway):
		 * expanded on every call. */
		struct tf_entry e;
		tf_gmtime(sec, &tm);
		tf_build(&e, fmt, sec, &tm, NULL);
		return tf_render(&e, dst, len, usec);
	}

	struct tf_entry *e = NULL;
	for (unsigned i = 0; i < TF_SLOTS; i++) {
		struct tf_entry *c = &tf_cache[i];
		if (c->valid && memcmp(c->fmt, fmt, flen + 1) == 0) {
			e = c;
			break;
		}
	}
	if (e == NULL) {
		e = &tf_cache[tf_next++ % TF_SLOTS];
		memcpy(e->fmt, fmt, flen + 1);
		e->valid = false;
	}
	if (!e->valid || e->sec != sec) {
		tf_gmtime(sec, &tm);
		tf_build(e, fmt, sec, &tm, NULL);
		e->sec = sec;
		e->valid = true;
	}
	return tf_render(e, dst, len, usec);
}

int
timefmt_check(const char *fmt, char *err, size_t errlen)
{
	struct tf_entry e;
	struct tf_spec bad;
	struct tm tm;

	if (fmt == NULL)
		return 0;
	if (*fmt == '\0') {
		snprintf(err, errlen, "timestamp format is empty");
		return -1;
	}
	if (strlen(fmt) >= TIMEFMT_MAX) {
		snprintf(err, errlen, "timestamp format is longer than %d bytes", TIMEFMT_MAX - 1);
		return -1;
	}
	/* 2026-09-30T23:59:59Z, a Wednesday in September: the longest names
	 * in the C locale, so the output is at its longest. */
	const time_t sample = 1790812799;
	tf_gmtime(sample, &tm);
	bool fits = tf_build(&e, fmt, sample, &tm, &bad);
	/* The format last: a long one may be cut, the reason never. */
	if (bad.len > 0 && bad.conv == '+') {
		snprintf(err, errlen,
		    "the '+' flag (\"%.*s\") is not supported, in timestamp "
		    "format \"%s\"",
		    (int)bad.len, bad.at, fmt);
		return -1;
	}
	if (bad.len > 0) {
		snprintf(err, errlen,
		    "\"%.*s\" is not supported (%%f takes no flag or modifier, "
		    "only a width of 1 to 6 digits: %%3f is milliseconds), in timestamp format "
		    "\"%s\"",
		    (int)bad.len, bad.at, fmt);
		return -1;
	}
	if (!fits) {
		snprintf(err, errlen, "timestamp format \"%s\" gives more than %d bytes", fmt,
		    TIMEFMT_MAX - 1);
		return -1;
	}
	if (e.outlen == 0) {
		snprintf(err, errlen, "timestamp format \"%s\" gives an empty timestamp", fmt);
		return -1;
	}
	return 0;
}
