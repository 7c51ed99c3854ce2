/* fuzz_http.c - the HTTP request-head parser: fed whole or in two parts it agrees, its results lie within the input and match the header lines; and the helpers on parts of the input. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#include "fuzz_util.h"

/* Every prefix is parsed for inputs up to this long (quadratic). */
#define ALL_PREFIXES 256

static bool
fz_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
fz_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* s[0..n) is lc, ASCII case aside. */
static bool
fz_ieq(const char *s, size_t n, const char *lc)
{
	if (strlen(lc) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (unsigned char)lc[i])
			return false;
	}
	return true;
}

/* A copy of p[0..n) in a buffer of exactly n bytes: ASan sees a read past it. */
static char *
fz_copy(const char *p, size_t n)
{
	char *c = malloc(n > 0 ? n : 1);

	FZ_CHECK(c != NULL, "out of memory");
	if (n > 0)
		memcpy(c, p, n);
	return c;
}

/* v[0..len) lies within head[0..n) (v NULL: absent, len 0). */
static void
within(const char *what, const char *v, size_t len, const char *head, size_t n)
{
	if (v == NULL) {
		FZ_CHECK(len == 0, "%s: NULL with length %zu", what, len);
		return;
	}
	FZ_CHECK(v >= head && v <= head + n && len <= (size_t)(head + n - v),
	    "%s: [%td, +%zu) outside the head of %zu bytes", what, v - head, len, n);
}

/* A field value as the parser keeps it: trimmed, no control byte but HTAB. */
static void
value_ok(const char *what, const char *v, size_t len)
{
	if (v == NULL || len == 0)
		return;
	FZ_CHECK(!fz_ows((unsigned char)v[0]) && !fz_ows((unsigned char)v[len - 1]),
	    "%s not trimmed: %s", what, fz_show(v, len));
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		FZ_CHECK(c == '\t' || (c >= 0x20 && c != 0x7f), "%s: byte 0x%02X", what, c);
	}
}

/*
 * What the header lines of a head the parser accepted say, read again
 * plainly: each line after the request line is "name:value".
 */
struct fz_lines {
	int hosts, cls, tes, ranges;
	bool close, keep_alive;
	const char *range;
	size_t range_len;
};

static void
read_lines(const char *h, size_t n, struct fz_lines *l)
{
	size_t pos = 0;
	bool first = true;

	memset(l, 0, sizeof(*l));
	while (pos < n) {
		const char *lf = memchr(h + pos, '\n', n - pos);
		size_t end = (size_t)(lf - h), len = end - pos, c, b, e;
		FZ_CHECK(lf != NULL, "an accepted head has a line without LF");
		if (len > 0 && h[end - 1] == '\r')
			len--;
		if (len == 0 || first) {
			first = first && len == 0;
			pos = end + 1;
			continue;
		}
		const char *line = h + pos;
		for (c = 0; c < len && line[c] != ':'; c++)
			FZ_CHECK(fz_tchar((unsigned char)line[c]),
			    "field name byte 0x%02X accepted", (unsigned char)line[c]);
		FZ_CHECK(c > 0 && c < len, "a field line without a name or colon accepted: %s",
		    fz_show(line, len));
		b = c + 1;
		e = len;
		while (b < e && fz_ows((unsigned char)line[b]))
			b++;
		while (e > b && fz_ows((unsigned char)line[e - 1]))
			e--;
		if (fz_ieq(line, c, "host")) {
			l->hosts++;
		} else if (fz_ieq(line, c, "content-length")) {
			l->cls++;
		} else if (fz_ieq(line, c, "transfer-encoding")) {
			l->tes++;
		} else if (fz_ieq(line, c, "range")) {
			l->ranges++;
			l->range = line + b;
			l->range_len = e - b;
		} else if (fz_ieq(line, c, "connection")) {
			for (size_t i = b; i <= e;) {
				size_t j = i, tb, te;
				while (j < e && line[j] != ',')
					j++;
				tb = i;
				te = j;
				while (tb < te && fz_ows((unsigned char)line[tb]))
					tb++;
				while (te > tb && fz_ows((unsigned char)line[te - 1]))
					te--;
				if (fz_ieq(line + tb, te - tb, "close"))
					l->close = true;
				if (fz_ieq(line + tb, te - tb, "keep-alive"))
					l->keep_alive = true;
				i = j + 1;
			}
		}
		pos = end + 1;
	}
}

/* The properties of one result of http_parse_head on p[0..n). */
static void
check_result(const char *p, size_t n, int rc, const struct http_req *r)
{
	struct fz_lines l;

	FZ_CHECK(rc >= 0 || rc == -400 || rc == -431 || rc == -501 || rc == -505, "result %d: %s",
	    rc, fz_show(p, n));
	FZ_CHECK(rc <= (int)n && rc <= HTTP_HEAD_MAX, "result %d for %zu bytes", rc, n);
	FZ_CHECK(rc != 0 || n < HTTP_HEAD_MAX, "0 (more) for %zu bytes", n);
	FZ_CHECK(rc != -431 || n >= HTTP_HEAD_MAX, "431 for %zu bytes", n);
	if (rc <= 0 && rc != -501)
		return;
	size_t h = rc > 0 ? (size_t)rc : http_head_end(p, n, 0);
	FZ_CHECK(h >= 2 && p[h - 1] == '\n' &&
	        (p[h - 2] == '\n' || (p[h - 2] == '\r' && h >= 3 && p[h - 3] == '\n')),
	    "the head does not end with an empty line: %s", fz_show(p, h));
	within("method", r->method_text, r->method_len, p, h);
	within("target", r->target, r->target_len, p, h);
	within("range", r->range, r->range_len, p, h);
	within("if-modified-since", r->if_modified_since, r->ims_len, p, h);
	within("if-none-match", r->if_none_match, r->inm_len, p, h);
	within("if-range", r->if_range, r->if_range_len, p, h);
	FZ_CHECK(r->method_len > 0 && r->target_len > 0, "empty method or target");
	for (size_t i = 0; i < r->method_len; i++)
		FZ_CHECK(fz_tchar((unsigned char)r->method_text[i]), "method byte 0x%02X",
		    (unsigned char)r->method_text[i]);
	for (size_t i = 0; i < r->target_len; i++) {
		unsigned char c = (unsigned char)r->target[i];
		FZ_CHECK(c > ' ' && c != 0x7f, "target byte 0x%02X", c);
	}
	enum http_method m = HTTP_OTHER;
	if (r->method_len == 3 && memcmp(r->method_text, "GET", 3) == 0)
		m = HTTP_GET;
	else if (r->method_len == 4 && memcmp(r->method_text, "HEAD", 4) == 0)
		m = HTTP_HEAD;
	else if (r->method_len == 3 && memcmp(r->method_text, "PUT", 3) == 0)
		m = HTTP_PUT;
	FZ_CHECK(r->method == m, "method %d for %s", r->method,
	    fz_show(r->method_text, r->method_len));
	FZ_CHECK(r->minor == 0 || r->minor == 1, "minor %d", r->minor);
	FZ_CHECK(r->content_length >= -1, "content_length %lld", r->content_length);
	FZ_CHECK(r->minor == 0 || r->has_host, "HTTP/1.1 without Host accepted");
	FZ_CHECK(!r->expect_continue || r->minor == 1, "100-continue in HTTP/1.0");
	value_ok("range", r->range, r->range_len);
	value_ok("if-modified-since", r->if_modified_since, r->ims_len);
	value_ok("if-none-match", r->if_none_match, r->inm_len);
	value_ok("if-range", r->if_range, r->if_range_len);

	/* Against the header lines read again. */
	read_lines(p, h, &l);
	FZ_CHECK(l.hosts == (r->has_host ? 1 : 0), "%d Host lines, has_host %d", l.hosts,
	    r->has_host);
	FZ_CHECK((l.cls > 0) == (r->content_length != -1), "%d Content-Length lines, %lld", l.cls,
	    r->content_length);
	FZ_CHECK((l.tes > 0) == (rc == -501) && r->chunked == (l.tes > 0),
	    "%d Transfer-Encoding lines, result %d, chunked %d", l.tes, rc, r->chunked);
	FZ_CHECK(l.tes == 0 || l.cls == 0, "Content-Length and Transfer-Encoding accepted");
	FZ_CHECK(l.ranges <= 1 && (l.ranges == 1) == (r->range != NULL), "%d Range lines",
	    l.ranges);
	FZ_CHECK(l.ranges == 0 || (l.range == r->range && l.range_len == r->range_len),
	    "Range value %s", fz_show(r->range, r->range_len));
	bool keep = r->minor == 1 ? !l.close : l.keep_alive && !l.close;
	FZ_CHECK(r->keep_alive == keep, "keep_alive %d, wanted %d (HTTP/1.%d)", r->keep_alive, keep,
	    r->minor);
}

/* The same head from a part of the input: same offsets and values. */
static void
check_same(const char *p, const struct http_req *a, const char *q, const struct http_req *b)
{
#define SAME_PTR(f) \
	FZ_CHECK((a->f == NULL) == (b->f == NULL) && (a->f == NULL || a->f - p == b->f - q), #f)
	SAME_PTR(method_text);
	SAME_PTR(target);
	SAME_PTR(range);
	SAME_PTR(if_modified_since);
	SAME_PTR(if_none_match);
	SAME_PTR(if_range);
#undef SAME_PTR
	FZ_CHECK(a->method == b->method && a->method_len == b->method_len &&
	        a->target_len == b->target_len && a->minor == b->minor &&
	        a->keep_alive == b->keep_alive && a->has_host == b->has_host &&
	        a->content_length == b->content_length && a->chunked == b->chunked &&
	        a->expect_continue == b->expect_continue && a->range_len == b->range_len &&
	        a->ims_len == b->ims_len && a->inm_len == b->inm_len &&
	        a->if_range_len == b->if_range_len,
	    "the fields differ");
}

/*
 * http_gather fed the input in pieces of 1 + (hash % 8) bytes (the first
 * k bytes first): the answer of the whole, the head's length in what it
 * used, the same fields.  Only a refusal the whole gives before any end
 * of a head (a bad request line, a NUL) may be missed: the gathered head
 * is parsed again only once an end came (http.h), as it was before.
 */
static void
check_gather(const char *p, size_t n, size_t k, uint32_t hash, int rc, const struct http_req *whole)
{
	struct http_gather g = { NULL, 0, 0 };
	struct http_req r;
	size_t off = 0, step = 1 + hash % 8, used = 0;
	int gr = 0;

	while (off < n && gr == 0) {
		size_t m = off == 0 && k > 0 ? k : (n - off < step ? n - off : step);
		gr = http_gather(&g, p + off, m, &r, &used);
		FZ_CHECK(gr != -1, "http_gather: no memory");
		FZ_CHECK(used <= m && (gr != 0 || used == m) && (gr >= 0 || used == m),
		    "http_gather used %zu of %zu, result %d", used, m, gr);
		off += used;
	}
	FZ_CHECK(gr == rc ||
	        (gr == 0 && rc < 0 && http_head_end(p, n, 0) == 0 && n <= HTTP_HEAD_MAX),
	    "http_gather in pieces of %zu: %d, the whole %d: %s", step, gr, rc, fz_show(p, n));
	if (gr > 0) {
		FZ_CHECK(off == (size_t)rc, "http_gather used %zu bytes of a %d-byte head", off,
		    rc);
		check_same(p, whole, g.hlen > 0 ? g.head : p, &r);
	}
	http_gather_reset(&g);
	FZ_CHECK(g.head == NULL && g.hlen == 0 && g.scan == 0, "http_gather_reset");
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * http_decode_path against a decoder of its own: the path of an
 * origin-form or http absolute-form target, %HH decoded, query and
 * fragment dropped; with dstlen bytes of room, exactly.
 */
static void
check_path(const char *t, size_t len, size_t dstlen)
{
	char *dst = malloc(dstlen > 0 ? dstlen : 1), *want = malloc(len + 2);
	size_t i = 0, end, w = 0, out = (size_t)-1;
	bool ok = true;
	int rc;

	FZ_CHECK(dst != NULL && want != NULL, "out of memory");
	rc = http_decode_path(t, len, dst, dstlen, &out);
	FZ_CHECK(rc == 0 || rc == -400 || rc == -414, "decode_path: %d", rc);
	if (len > 0 && t[0] == '/') {
		i = 0;
	} else if (len >= 7 && fz_ieq(t, 7, "http://")) {
		for (i = 7; i < len && t[i] != '/' && t[i] != '?' && t[i] != '#'; i++)
			ok = ok && t[i] != '@';
		ok = ok && i > 7 && t[7] != ':';
		if (ok && (i == len || t[i] != '/'))
			want[w++] = '/';
	} else {
		ok = false;
	}
	ok = ok && memchr(t, '\0', len) == NULL;
	for (end = i; end < len && t[end] != '?' && t[end] != '#'; end++)
		;
	while (ok && i < end) {
		int c = (unsigned char)t[i];
		if (c == '%') {
			if (end - i < 3 || hexval((unsigned char)t[i + 1]) < 0 ||
			    hexval((unsigned char)t[i + 2]) < 0) {
				ok = false;
				break;
			}
			c = hexval((unsigned char)t[i + 1]) * 16 + hexval((unsigned char)t[i + 2]);
			i += 3;
		} else {
			i++;
		}
		ok = c != 0;
		want[w++] = (char)c;
	}
	if (!ok) {
		FZ_CHECK(rc != 0, "decode_path accepted %s", fz_show(t, len));
	} else if (w + 1 > dstlen) {
		FZ_CHECK(rc == -414, "decode_path: %d for %zu bytes into %zu", rc, w, dstlen);
	} else {
		FZ_CHECK(rc == 0, "decode_path: %d for %s", rc, fz_show(t, len));
		FZ_CHECK(out == w && dst[w] == '\0' && memcmp(dst, want, w) == 0,
		    "decode_path: %s for %s", fz_show(dst, out), fz_show(t, len));
	}
	free(dst);
	free(want);
}

static void
check_range(const char *v, size_t len, long long size)
{
	long long first = -7, last = -7;
	int rc = http_parse_range(v, len, size, &first, &last);

	FZ_CHECK(rc >= -1 && rc <= 1, "parse_range: %d", rc);
	if (rc == 1)
		FZ_CHECK(first >= 0 && first <= last && last < size,
		    "parse_range %s of %lld: %lld-%lld", fz_show(v, len), size, first, last);
	else
		FZ_CHECK(first == -7 && last == -7, "parse_range wrote on %d", rc);
	/* Satisfiable stays satisfiable for a larger representation. */
	if (rc == 1 && size < LLONG_MAX)
		FZ_CHECK(http_parse_range(v, len, size + 1, &first, &last) == 1,
		    "parse_range %s: not for %lld + 1", fz_show(v, len), size);
}

static void
check_date(const char *v, size_t len)
{
	time_t t, back;
	char out[HTTP_DATE_LEN + 1];

	if (http_parse_date(v, len, &t) != 0)
		return;
	FZ_CHECK(http_date(out, t) == HTTP_DATE_LEN && out[HTTP_DATE_LEN] == '\0', "http_date");
	FZ_CHECK(http_parse_date(out, HTTP_DATE_LEN, &back) == 0 && back == t,
	    "http_date of %s does not parse back: %s", fz_show(v, len), out);
	/* An IMF-fixdate is canonical, but for the weekday and a leap second. */
	if (len == HTTP_DATE_LEN && v[3] == ',' && memcmp(v + 23, "60", 2) != 0)
		FZ_CHECK(memcmp(out + 3, v + 3, HTTP_DATE_LEN - 3) == 0, "%s formats as %s",
		    fz_show(v, len), out);
}

static void
check_etag(const char *v, size_t len)
{
	char *tag = malloc(len + 3);
	bool valid = len >= 2 && v[0] == '"' && v[len - 1] == '"';

	FZ_CHECK(tag != NULL, "out of memory");
	for (size_t i = 1; valid && i + 1 < len; i++) {
		unsigned char c = (unsigned char)v[i];
		valid = c == 0x21 || (c >= 0x23 && c != 0x7f);
	}
	memcpy(tag, v, len);
	tag[len] = '\0';
	(void)http_etag_match(v, len, "\"x\"");
	if (valid && memchr(v, '\0', len) == NULL) {
		/* A tag matches itself, weak or strong, in a list or alone. */
		FZ_CHECK(http_etag_match(v, len, tag), "%s does not match itself", tag);
		memmove(tag + 2, tag, len + 1);
		memcpy(tag, "W/", 2);
		FZ_CHECK(http_etag_match(v, len, tag), "%s does not match %s", fz_show(v, len),
		    tag);
	}
	free(tag);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct http_req whole, part;
	uint32_t hash = 2166136261u;
	size_t k, end;
	char *copy;
	int rc, prc;

	for (size_t i = 0; i < size; i++)
		hash = (hash ^ data[i]) * 16777619u;

	copy = fz_copy(p, size);
	rc = http_parse_head(copy, size, &whole);
	check_result(copy, size, rc, &whole);

	/* The same bytes in two parts: the first gives 0 or the same answer. */
	k = size > 0 ? hash % (size + 1) : 0;
	char *pre = fz_copy(p, k);
	prc = http_parse_head(pre, k, &part);
	FZ_CHECK(prc == 0 || prc == rc, "%zu of %zu bytes: %d, the whole %d: %s", k, size, prc, rc,
	    fz_show(p, size));
	if (prc > 0 || prc == -501)
		check_same(copy, &whole, pre, &part);
	free(pre);
	if (size <= ALL_PREFIXES) {
		int last = 0;
		for (size_t j = 0; j <= size; j++) {
			int r = http_parse_head(copy, j, &part);
			FZ_CHECK((r == 0 || r == rc) && (last == 0 || r == last),
			    "prefix %zu: %d after %d, the whole %d", j, r, last, rc);
			last = r;
		}
	}
	/* The head alone, and with anything after it, is the same head. */
	if (rc > 0) {
		pre = fz_copy(p, (size_t)rc);
		FZ_CHECK(http_parse_head(pre, (size_t)rc, &part) == rc, "the head alone differs");
		check_same(copy, &whole, pre, &part);
		free(pre);
	}

	check_gather(copy, size, k, hash, rc, &whole);

	/* http_head_end: resumed at k it finds the end a fresh scan does. */
	end = http_head_end(copy, size, 0);
	size_t e1 = http_head_end(copy, k, 0);
	FZ_CHECK(e1 == 0 || e1 == end, "head_end of %zu bytes %zu, of %zu %zu", k, e1, size, end);
	if (e1 == 0)
		FZ_CHECK(http_head_end(copy, size, k) == end, "head_end resumed at %zu", k);
	FZ_CHECK(rc <= 0 || end == (size_t)rc, "head_end %zu, parse %d", end, rc);
	FZ_CHECK(rc != 0 || end == 0, "head_end %zu, parse wants more", end);
	FZ_CHECK(rc != -431 || http_head_end(copy, HTTP_HEAD_MAX, 0) == 0,
	    "431 with an end within %d", HTTP_HEAD_MAX);

	/* The helpers on the values of an accepted head. */
	if (rc > 0) {
		check_path(whole.target, whole.target_len, 1 + hash % 64);
		check_path(whole.target, whole.target_len, whole.target_len + 2);
		if (whole.range != NULL) {
			check_range(whole.range, whole.range_len, (long long)(hash % 1000));
			check_range(whole.range, whole.range_len, LLONG_MAX - 1);
		}
		if (whole.if_modified_since != NULL)
			check_date(whole.if_modified_since, whole.ims_len);
		if (whole.if_none_match != NULL)
			check_etag(whole.if_none_match, whole.inm_len);
	}
	/* ... and on each of the first lines of the input, whatever they hold. */
	for (size_t pos = 0, lines = 0; pos < size && lines < 16; lines++) {
		const char *lf = memchr(copy + pos, '\n', size - pos);
		size_t len = lf != NULL ? (size_t)(lf - copy) - pos : size - pos;
		const char *line = copy + pos;
		check_path(line, len, 1 + (hash >> 8) % 32);
		check_path(line, len, len + 2);
		check_range(line, len, 0);
		check_range(line, len, (long long)(hash >> 4) % 100);
		check_range(line, len, LLONG_MAX);
		check_date(line, len);
		check_etag(line, len);
		pos += len + 1;
	}
	free(copy);
	return 0;
}
