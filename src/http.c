/* http.c - a strict HTTP/1.x request-head parser: http_parse_head and http_head_end, pure functions over bytes. */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "http.h"
#include "http_int.h"

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
