/* http.c - a strict HTTP/1.x request-head parser and the helpers of the files handler: pure functions over bytes. */
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "http.h"

/*
 * Empty lines skipped before a request line: RFC 9112 2.2 asks for at
 * least one (clients that send CRLF after a body); a few more are the
 * same robustness, many are not a client speaking HTTP.
 */
#define HTTP_LEADING_MAX 4

/* What the header lines said, for the checks at the end of the head. */
struct http_seen {
	bool close;      /* Connection: close */
	bool keep_alive; /* Connection: keep-alive */
	bool expect;     /* Expect: 100-continue */
};

static bool
http_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
http_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* tchar of RFC 9110 5.6.2: what a method, field name or list token is made of. */
static bool
http_tchar(unsigned char c)
{
	if (http_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A control byte or DEL: in no line of a head, HTAB aside in field values. */
static bool
http_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static unsigned char
http_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* s[0..n) equals the lower-case lc, ASCII case aside (strncasecmp follows the locale). */
static bool
http_ieq(const unsigned char *s, size_t n, const char *lc)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lc[i] == '\0' || http_lower(s[i]) != (unsigned char)lc[i])
			return false;
	return lc[i] == '\0';
}

/* Leaves the optional white space around s[*b..*e) out. */
static void
http_trim(const unsigned char *s, size_t *b, size_t *e)
{
	while (*b < *e && http_ows(s[*b]))
		(*b)++;
	while (*e > *b && http_ows(s[*e - 1]))
		(*e)--;
}

/*
 * The next element of a comma-separated list (RFC 9110 5.6.1) in
 * v[*pos..len), trimmed, into [*b, *e); false at the end.  Empty elements
 * are returned as empty: each caller says what they mean.
 */
static bool
http_list_next(const unsigned char *v, size_t len, size_t *pos, size_t *b, size_t *e)
{
	const unsigned char *comma;

	if (*pos > len)
		return false;
	*b = *pos;
	comma = memchr(v + *pos, ',', len - *pos);
	*e = comma != NULL ? (size_t)(comma - v) : len;
	*pos = *e + 1;
	http_trim(v, b, e);
	return true;
}

/* The length of the empty line at s[i..n): 1 (LF) or 2 (CR LF), else 0. */
static size_t
http_empty_line(const unsigned char *s, size_t n, size_t i)
{
	if (i < n && s[i] == '\n')
		return 1;
	if (i + 1 < n && s[i] == '\r' && s[i + 1] == '\n')
		return 2;
	return 0;
}

/* The request line: method SP request-target SP HTTP-version (RFC 9112 3). */
static int
http_request_line(const unsigned char *l, size_t len, struct http_req *r)
{
	size_t i = 0, t;
	const unsigned char *v;

	/* Single spaces only: RFC 9112 3 lets a server split on any white
	 * space, which is how two parsers come to see two requests. */
	while (i < len && http_tchar(l[i]))
		i++;
	if (i == 0 || i == len || l[i] != ' ')
		return -400;
	r->method_text = (const char *)l;
	r->method_len = i;
	if (i == 3 && memcmp(l, "GET", 3) == 0)
		r->method = HTTP_GET;
	else if (i == 4 && memcmp(l, "HEAD", 4) == 0)
		r->method = HTTP_HEAD;
	else if (i == 3 && memcmp(l, "PUT", 3) == 0)
		r->method = HTTP_PUT;
	else
		r->method = HTTP_OTHER; /* methods are case-sensitive: "get" is another one */

	/* Any byte but a control, DEL or space: bytes >= 0x80 are let
	 * through, as nginx does, for clients that do not percent-encode
	 * UTF-8 names; http_decode_path then checks the form. */
	t = ++i;
	while (i < len && l[i] > ' ' && l[i] != 0x7f)
		i++;
	if (i == t || i == len || l[i] != ' ')
		return -400; /* i == len: HTTP/0.9, "GET /", has no version */
	r->target = (const char *)l + t;
	r->target_len = i - t;

	/* "HTTP/" DIGIT "." DIGIT, case-sensitive, nothing after (RFC 9112 2.3). */
	v = l + i + 1;
	if (len - i - 1 != 8 || memcmp(v, "HTTP/", 5) != 0 || !http_digit(v[5]) || v[6] != '.' ||
	    !http_digit(v[7]))
		return -400;
	if (v[5] != '1')
		return -505;
	/* A higher 1.x is served as 1.1, the highest we conform to (RFC 9110 2.5). */
	r->minor = v[7] == '0' ? 0 : 1;
	return 0;
}

/*
 * Content-Length: 1*DIGIT.  A list of equal values ("42, 42", as a proxy
 * that joined two lines would send) is that value (RFC 9110 8.6); any
 * other list, an empty element, a sign or a value past LLONG_MAX is -1.
 */
static int
http_content_length(const unsigned char *v, size_t len, long long *out)
{
	long long val = -1;
	size_t pos = 0, b, e;

	while (http_list_next(v, len, &pos, &b, &e)) {
		long long x = 0;
		if (b == e)
			return -1;
		for (size_t i = b; i < e; i++) {
			if (!http_digit(v[i]) || x > (LLONG_MAX - (v[i] - '0')) / 10)
				return -1;
			x = x * 10 + (v[i] - '0');
		}
		if (val != -1 && x != val)
			return -1;
		val = x;
	}
	*out = val;
	return 0;
}

/*
 * Host = uri-host [ ":" port ] (RFC 9112 3.2): what a reg-name, an IP
 * literal and a port are made of.  An invalid Host is 400 (RFC 9112 3.2's
 * MUST); this refuses the bytes no host has ('/', '@', space, quotes,
 * non-ASCII), not every odd arrangement of the valid ones.  Empty is
 * valid: a target without an authority is sent with an empty Host.
 */
static bool
http_host_ok(const unsigned char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = v[i];
		if (!http_digit(c) && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    (c == '\0' || strchr("-._~!$&'()*+,;=:[]%", c) == NULL))
			return false;
	}
	return true;
}

/* Connection = #token (RFC 9110 7.6.1), case-insensitive; a non-token is 400. */
static int
http_connection(const unsigned char *v, size_t len, struct http_seen *seen)
{
	size_t pos = 0, b, e;

	while (http_list_next(v, len, &pos, &b, &e)) {
		for (size_t i = b; i < e; i++)
			if (!http_tchar(v[i]))
				return -400;
		if (http_ieq(v + b, e - b, "close"))
			seen->close = true;
		else if (http_ieq(v + b, e - b, "keep-alive"))
			seen->keep_alive = true;
	}
	return 0;
}

/*
 * A single-valued field kept as one pointer: a second line is 400, not
 * "the first wins" or "the last wins": a proxy in front may have taken
 * the other one, and no real client sends two.
 */
static int
http_keep(const char **dst, size_t *dstlen, const unsigned char *v, size_t len)
{
	if (*dst != NULL)
		return -400;
	*dst = (const char *)v;
	*dstlen = len;
	return 0;
}

/* A header line: field-name ":" OWS field-value OWS (RFC 9112 5). */
static int
http_field(const unsigned char *l, size_t len, struct http_req *r, struct http_seen *seen)
{
	size_t i = 0, b, e;
	const unsigned char *name = l, *v;
	size_t nlen;

	/* White space first is obs-fold, or space between the request line
	 * and the first field: both 400 (RFC 9112 5.2, 2.2), never joined. */
	while (i < len && http_tchar(l[i]))
		i++;
	/* No white space before the colon (RFC 9112 5.1: MUST be 400). */
	if (i == 0 || i == len || l[i] != ':')
		return -400;
	nlen = i;
	b = i + 1;
	e = len;
	for (i = b; i < e; i++)
		if (http_ctl(l[i]) && l[i] != '\t')
			return -400;
	http_trim(l, &b, &e);
	v = l + b;

	if (http_ieq(name, nlen, "host")) {
		/* More than one Host, or an invalid one: 400 (RFC 9112 3.2). */
		if (r->has_host || !http_host_ok(v, e - b))
			return -400;
		r->has_host = true;
	} else if (http_ieq(name, nlen, "content-length")) {
		long long cl;
		/* Two different lengths: two parsers would split the stream
		 * in two different places (RFC 9112 6.3). */
		if (http_content_length(v, e - b, &cl) == -1 ||
		    (r->content_length != -1 && r->content_length != cl))
			return -400;
		r->content_length = cl;
	} else if (http_ieq(name, nlen, "transfer-encoding")) {
		r->chunked = true;
	} else if (http_ieq(name, nlen, "connection")) {
		return http_connection(v, e - b, seen);
	} else if (http_ieq(name, nlen, "expect")) {
		size_t pos = 0, eb, ee;
		/* Other expectations are ignored: we have no 417. */
		while (http_list_next(v, e - b, &pos, &eb, &ee))
			if (http_ieq(v + eb, ee - eb, "100-continue"))
				seen->expect = true;
	} else if (http_ieq(name, nlen, "range")) {
		return http_keep(&r->range, &r->range_len, v, e - b);
	} else if (http_ieq(name, nlen, "if-modified-since")) {
		return http_keep(&r->if_modified_since, &r->ims_len, v, e - b);
	} else if (http_ieq(name, nlen, "if-none-match")) {
		/* A list that may be split over lines (RFC 9110 5.3); no
		 * client does, so one pointer it is. */
		return http_keep(&r->if_none_match, &r->inm_len, v, e - b);
	} else if (http_ieq(name, nlen, "if-range")) {
		return http_keep(&r->if_range, &r->if_range_len, v, e - b);
	}
	return 0;
}

/* The checks that need the whole head, in the order of their statuses' weight. */
static int
http_finish(struct http_req *r, const struct http_seen *seen, size_t len)
{
	/* RFC 9112 3.2: an HTTP/1.1 request without Host MUST get 400. */
	if (r->minor >= 1 && !r->has_host)
		return -400;
	/* Both framings: the classic request smuggling (RFC 9112 6.1 says
	 * the server MAY reject it; a server that takes no chunked body must). */
	if (r->chunked && r->content_length != -1)
		return -400;
	r->keep_alive = r->minor >= 1 ? !seen->close : seen->keep_alive && !seen->close;
	r->expect_continue = seen->expect && r->minor >= 1;
	if (r->chunked)
		return -501;
	return (int)len;
}

/*
 * The bytes of an incomplete line that no complete line could make
 * valid: a control byte other than HTAB and CR, DEL, or a CR not
 * followed by LF.  Refusing them early is safe: whatever follows, the
 * line is 400 when complete.
 */
static bool
http_bad_tail(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r') {
			if (i + 1 < n)
				return true; /* not LF, or this line would be complete */
		} else if (http_ctl(s[i]) && s[i] != '\t') {
			return true;
		}
	}
	return false;
}

int
http_parse_head(const char *p, size_t n, struct http_req *r)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t lim = n < HTTP_HEAD_MAX ? n : HTTP_HEAD_MAX;
	size_t pos = 0, leading = 0;
	bool started = false;
	struct http_seen seen = { false, false, false };
	int rc;

	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	/* One line at a time, left to right, stopping at the first error:
	 * a prefix of the input reaches the same error or returns 0. */
	for (;;) {
		const unsigned char *lf = memchr(s + pos, '\n', lim - pos);
		size_t eol, len;

		if (lf == NULL) {
			if (http_bad_tail(s + pos, lim - pos))
				return -400;
			return n >= HTTP_HEAD_MAX ? -431 : 0;
		}
		eol = (size_t)(lf - s);
		/* Lines end in CR LF, or LF alone, as nginx and RFC 9112 2.2
		 * allow; a CR anywhere else is a control byte, so 400. */
		len = eol - pos;
		if (len > 0 && s[eol - 1] == '\r')
			len--;
		if (!started) {
			if (len == 0) {
				if (++leading > HTTP_LEADING_MAX)
					return -400;
				pos = eol + 1;
				continue;
			}
			rc = http_request_line(s + pos, len, r);
			started = true;
		} else if (len == 0) {
			return http_finish(r, &seen, eol + 1);
		} else {
			rc = http_field(s + pos, len, r, &seen);
		}
		if (rc != 0)
			return rc;
		pos = eol + 1;
	}
}

size_t
http_head_end(const char *p, size_t n, size_t from)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t start = 0, k, i;

	/* The leading empty lines again: a few bytes at most. */
	for (int lines = 0; (k = http_empty_line(s, n, start)) > 0; lines++) {
		if (lines == HTTP_LEADING_MAX)
			return start + k; /* one too many: http_parse_head's 400 */
		start += k;
	}
	/* An LF that ended a line up to two bytes before from may be followed
	 * by the rest of its CR LF only now. */
	if (from > n)
		from = n;
	i = from > start + 2 ? from - 2 : start;
	while (i < n) {
		const unsigned char *lf = memchr(s + i, '\n', n - i);
		if (lf == NULL)
			break;
		i = (size_t)(lf - s) + 1;
		if ((k = http_empty_line(s, n, i)) > 0)
			return i + k;
	}
	return 0;
}

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

size_t
http_date(char *dst, time_t t)
{
	long long c = (long long)t;
	struct tm tm;
	time_t ct;
	char *d = dst;

	if (c < HTTP_TIME_MIN)
		c = HTTP_TIME_MIN;
	if (c > HTTP_TIME_MAX)
		c = HTTP_TIME_MAX;
	ct = (time_t)c;
	if (gmtime_r(&ct, &tm) == NULL)
		memset(&tm, 0, sizeof(tm)); /* not reached for a clamped time */
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
	time_t now = time(NULL);
	struct tm ntm;
	int cur = gmtime_r(&now, &ntm) != NULL ? ntm.tm_year + 1900 : 2000;
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
