/* http_fields.c - the files handler's HTTP helpers: request paths, Range, HTTP-dates, If-None-Match, reason phrases. */
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "http_int.h"

static int
http_hexval(unsigned char c)
{
	if (http_digit(c))
		return c - '0';
	c = http_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int
http_decode_path(const char *target, size_t len, char *dst, size_t dstlen, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)target;
	size_t i = 0, end, o = 0;

	/* A NUL anywhere (never from http_parse_head) is refused alike. */
	if (memchr(s, '\0', len) != NULL)
		return -400;
	if (len > 0 && s[0] == '/') {
		i = 0;
	} else if (len >= 7 && http_ieq(s, 7, "http://")) {
		/* Absolute-form (RFC 9112 3.2.2): the authority is the
		 * client's business (the files handler has one root), but an
		 * http URI has a host (RFC 9110 4.2.1) and no userinfo (4.2.4). */
		size_t a = i = 7;
		while (i < len && s[i] != '/' && s[i] != '?' && s[i] != '#') {
			if (s[i] == '@')
				return -400;
			i++;
		}
		if (i == a || s[a] == ':')
			return -400;
	} else {
		return -400; /* "*", "host:port", other schemes */
	}
	for (end = i; end < len && s[end] != '?' && s[end] != '#'; end++)
		;
	if (i == end) {
		/* "http://host" or "http://host?q": the path is "/". */
		if (dstlen < 2)
			return -414;
		dst[o++] = '/';
	}
	while (i < end) {
		int c = s[i];
		if (c == '%') {
			int hi = i + 2 < end ? http_hexval(s[i + 1]) : -1;
			int lo = hi >= 0 ? http_hexval(s[i + 2]) : -1;
			if (lo < 0)
				return -400;
			c = hi << 4 | lo;
			i += 3;
		} else {
			i++;
		}
		/* A NUL would cut the path short of what the caller checks. */
		if (c == 0)
			return -400;
		if (o + 1 >= dstlen)
			return -414;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	*outlen = o;
	return 0;
}

/*
 * 1*DIGIT at v[*i..len), read exactly: *val, or LLONG_MAX and *big when
 * it is larger (then only the digits say more, see http_num_gt).
 */
static bool
http_num(const unsigned char *v, size_t len, size_t *i, long long *val, bool *big)
{
	size_t start = *i;

	*val = 0;
	*big = false;
	for (; *i < len && http_digit(v[*i]); (*i)++) {
		int d = v[*i] - '0';
		if (*big || *val > (LLONG_MAX - d) / 10)
			*big = true;
		else
			*val = *val * 10 + d;
	}
	if (*big)
		*val = LLONG_MAX;
	return *i > start;
}

/* The decimal a[0..alen) is greater than b[0..blen), of any length. */
static bool
http_num_gt(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	while (alen > 1 && *a == '0')
		a++, alen--;
	while (blen > 1 && *b == '0')
		b++, blen--;
	return alen != blen ? alen > blen : memcmp(a, b, alen) > 0;
}

int
http_parse_range(const char *v, size_t len, long long size, long long *first, long long *last)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t pos, b = 0, e = 0, eb, ee, i, ranges = 0;
	long long a, z;
	bool abig, zbig;

	/* range-unit "=" range-set; the unit is case-insensitive (14.1). */
	if (len < 6 || !http_ieq(s, 6, "bytes="))
		return 0;
	pos = 6;
	/* 1#range-spec: empty elements are allowed and mean nothing. */
	while (http_list_next(s, len, &pos, &eb, &ee)) {
		if (eb == ee)
			continue;
		if (++ranges > 1)
			return 0;
		b = eb;
		e = ee;
	}
	if (ranges == 0)
		return 0;
	i = b;
	if (s[i] == '-') {
		/* suffix-range: the last z bytes. */
		i++;
		if (!http_num(s, e, &i, &z, &zbig) || i != e)
			return 0;
		if (z == 0)
			return -1;
		if (size <= 0)
			return 0;
		*first = z >= size ? 0 : size - z;
		*last = size - 1;
		return 1;
	}
	size_t ab = i;
	if (!http_num(s, e, &i, &a, &abig) || i == e || s[i] != '-')
		return 0;
	size_t ae = i++, zb = i;
	if (i == e) {
		z = LLONG_MAX; /* "a-": to the end */
	} else {
		if (!http_num(s, e, &i, &z, &zbig) || i != e)
			return 0;
		/* last-pos < first-pos makes the range-spec invalid: ignored. */
		if (http_num_gt(s + ab, ae - ab, s + zb, e - zb))
			return 0;
	}
	if (a >= size)
		return -1;
	*first = a;
	*last = z >= size ? size - 1 : z;
	return 1;
}

static const char http_wday[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const http_wday_long[7] = { "Sunday", "Monday", "Tuesday", "Wednesday",
	"Thursday", "Friday", "Saturday" };
static const char http_mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
	"Oct", "Nov", "Dec" };

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years 4DIGIT can show. */
#define HTTP_TIME_MIN (-62167219200LL)
#define HTTP_TIME_MAX 253402300799LL

/* v as n decimal digits at d (v >= 0). */
static char *
http_put(char *d, int v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		d[i] = (char)('0' + v % 10);
	return d + n;
}

char *
http_put_dec(char *d, long long v)
{
	char tmp[24], *t = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do
		*--t = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--t = '-';
	size_t n = (size_t)(tmp + sizeof(tmp) - t);
	memcpy(d, t, n);
	return d + n;
}

char *
http_put_hex(char *d, unsigned long long v)
{
	char tmp[16], *t = tmp + sizeof(tmp);

	do
		*--t = "0123456789abcdef"[v & 15];
	while ((v >>= 4) != 0);
	size_t n = (size_t)(tmp + sizeof(tmp) - t);
	memcpy(d, t, n);
	return d + n;
}

/*
 * The UTC calendar of t by arithmetic (days to a proleptic Gregorian date
 * as in H. Hinnant's "chrono-compatible low-level date algorithms"), not
 * gmtime_r: that takes the time zone lock and pages of code a fork
 * model's child would fault in afresh for every response.
 */
static void
http_utc(long long t, struct tm *tm)
{
	long long days = t / 86400, secs = t % 86400;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	tm->tm_hour = (int)(secs / 3600);
	tm->tm_min = (int)(secs / 60 % 60);
	tm->tm_sec = (int)(secs % 60);
	tm->tm_wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
	long long z = days + 719468;              /* days since 0000-03-01 */
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	long long doe = z - era * 146097;                                      /* [0, 146096] */
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
	long long mp = (5 * doy + 2) / 153;                                    /* March = 0 */
	tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->tm_mon = (int)(mp < 10 ? mp + 2 : mp - 10);
	tm->tm_year = (int)(yoe + era * 400 + (mp >= 10) - 1900);
}

size_t
http_date(char *dst, time_t t)
{
	long long c = (long long)t;
	struct tm tm;
	char *d = dst;

	if (c < HTTP_TIME_MIN)
		c = HTTP_TIME_MIN;
	if (c > HTTP_TIME_MAX)
		c = HTTP_TIME_MAX;
	http_utc(c, &tm);
	/* By hand: strftime's %a and %b follow the locale. */
	memcpy(d, http_wday[tm.tm_wday], 3);
	d += 3;
	*d++ = ',';
	*d++ = ' ';
	d = http_put(d, tm.tm_mday, 2);
	*d++ = ' ';
	memcpy(d, http_mon[tm.tm_mon], 3);
	d += 3;
	*d++ = ' ';
	d = http_put(d, tm.tm_year + 1900, 4);
	*d++ = ' ';
	d = http_put(d, tm.tm_hour, 2);
	*d++ = ':';
	d = http_put(d, tm.tm_min, 2);
	*d++ = ':';
	d = http_put(d, tm.tm_sec, 2);
	memcpy(d, " GMT", 5);
	return HTTP_DATE_LEN;
}

/* n digits at s, or -1. */
static int
http_digits(const unsigned char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!http_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* The month named by the three bytes at s, 0..11, or -1. */
static int
http_month(const unsigned char *s)
{
	for (int m = 0; m < 12; m++)
		if (memcmp(s, http_mon[m], 3) == 0)
			return m;
	return -1;
}

/* "HH:MM:SS" at s into tm; a leap second (60) is allowed, as in RFC 5322. */
static bool
http_hms(const unsigned char *s, struct tm *tm)
{
	if (s[2] != ':' || s[5] != ':')
		return false;
	tm->tm_hour = http_digits(s, 2);
	tm->tm_min = http_digits(s + 3, 2);
	tm->tm_sec = http_digits(s + 6, 2);
	return tm->tm_hour >= 0 && tm->tm_hour <= 23 && tm->tm_min >= 0 && tm->tm_min <= 59 &&
	    tm->tm_sec >= 0 && tm->tm_sec <= 60;
}

/* Day, month and full year in tm (a real date), then timegm. */
static int
http_mktime(struct tm *tm, int year, time_t *t)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	if (year < 0 || tm->tm_mon < 0 || tm->tm_mday < 1 || tm->tm_mday > mdays[tm->tm_mon] ||
	    (tm->tm_mon == 1 && tm->tm_mday == 29 && !leap))
		return -1;
	tm->tm_year = year - 1900;
	tm->tm_isdst = 0;
	*t = timegm(tm);
	return 0;
}

int
http_parse_date(const char *v, size_t len, time_t *t)
{
	const unsigned char *s = (const unsigned char *)v;
	struct tm tm;
	int year;
	size_t w;

	memset(&tm, 0, sizeof(tm));
	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
	if (len == HTTP_DATE_LEN && s[3] == ',') {
		for (w = 0; w < 7 && memcmp(s, http_wday[w], 3) != 0; w++)
			;
		if (w == 7 || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
		    memcmp(s + 25, " GMT", 4) != 0 || !http_hms(s + 17, &tm))
			return -1;
		tm.tm_mday = http_digits(s + 5, 2);
		tm.tm_mon = http_month(s + 8);
		year = http_digits(s + 12, 4);
		return http_mktime(&tm, year, t);
	}
	/* asctime: "Sun Nov  6 08:49:37 1994", the day space-padded. */
	if (len == 24 && s[3] == ' ') {
		for (w = 0; w < 7 && memcmp(s, http_wday[w], 3) != 0; w++)
			;
		if (w == 7 || s[7] != ' ' || s[10] != ' ' || s[19] != ' ' || !http_hms(s + 11, &tm))
			return -1;
		tm.tm_mon = http_month(s + 4);
		tm.tm_mday = s[8] == ' ' ? http_digits(s + 9, 1) : http_digits(s + 8, 2);
		year = http_digits(s + 20, 4);
		return http_mktime(&tm, year, t);
	}
	/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". */
	for (w = 0; w < 7; w++) {
		size_t k = strlen(http_wday_long[w]);
		if (len == k + 24 && memcmp(s, http_wday_long[w], k) == 0)
			break;
	}
	if (w == 7)
		return -1;
	s += strlen(http_wday_long[w]);
	if (s[0] != ',' || s[1] != ' ' || s[4] != '-' || s[8] != '-' || s[11] != ' ' ||
	    memcmp(s + 20, " GMT", 4) != 0 || !http_hms(s + 12, &tm))
		return -1;
	tm.tm_mday = http_digits(s + 2, 2);
	tm.tm_mon = http_month(s + 5);
	year = http_digits(s + 9, 2);
	if (year < 0)
		return -1;
	/* RFC 9110 5.6.7: more than 50 years ahead is the century before. */
	struct tm ntm;
	http_utc((long long)time(NULL), &ntm);
	int cur = ntm.tm_year + 1900;
	year += cur - cur % 100;
	if (year > cur + 50)
		year -= 100;
	else if (year <= cur - 50)
		year += 100;
	return http_mktime(&tm, year, t);
}

/*
 * The entity-tag at v[*i..len): [ "W/" ] DQUOTE *etagc DQUOTE (RFC 9110
 * 8.8.3), its opaque-tag (quotes included) into [*b, *e); false when
 * there is none.
 */
static bool
http_etag(const unsigned char *v, size_t len, size_t *i, size_t *b, size_t *e)
{
	if (*i + 1 < len && v[*i] == 'W' && v[*i + 1] == '/')
		*i += 2;
	if (*i >= len || v[*i] != '"')
		return false;
	*b = (*i)++;
	/* etagc: %x21 / %x23-7E / obs-text, so a comma may be inside. */
	while (*i < len && v[*i] != '"' && (v[*i] == 0x21 || (v[*i] >= 0x23 && v[*i] != 0x7f)))
		(*i)++;
	if (*i >= len || v[*i] != '"')
		return false;
	*e = ++(*i);
	return true;
}

bool
http_etag_match(const char *inm, size_t len, const char *etag)
{
	const unsigned char *s = (const unsigned char *)inm;
	const unsigned char *et = (const unsigned char *)etag;
	size_t i = 0, b, e, tb, te, etlen = etag != NULL ? strlen(etag) : 0;
	bool match = false;

	if (etag == NULL || !http_etag(et, etlen, &i, &tb, &te) || i != etlen)
		return false;
	b = 0;
	e = len;
	http_trim(s, &b, &e);
	if (e - b == 1 && s[b] == '*')
		return true;
	/* #entity-tag: empty elements allowed, anything else makes the
	 * whole value invalid (no match, whatever came before). */
	i = b;
	while (i < e) {
		size_t ob, oe;
		if (s[i] == ',' || http_ows(s[i])) {
			i++;
			continue;
		}
		if (!http_etag(s, e, &i, &ob, &oe))
			return false;
		if (oe - ob == te - tb && memcmp(s + ob, et + tb, te - tb) == 0)
			match = true;
		while (i < e && http_ows(s[i]))
			i++;
		if (i < e && s[i] != ',')
			return false;
	}
	return match;
}

const char *
http_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
		{ 200, "OK" },
		{ 201, "Created" },
		{ 204, "No Content" },
		{ 206, "Partial Content" },
		{ 301, "Moved Permanently" },
		{ 304, "Not Modified" },
		{ 400, "Bad Request" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 408, "Request Timeout" },
		{ 409, "Conflict" },
		{ 411, "Length Required" },
		{ 413, "Content Too Large" },
		{ 414, "URI Too Long" },
		{ 416, "Range Not Satisfiable" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
	};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "";
}
