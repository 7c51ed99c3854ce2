/* check_http.c - unit tests for the HTTP/1.x request-head parser and its helpers. */
#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "unit.h"

/* A case's result: the whole string is the head. */
#define WHOLE INT_MAX

/*
 * http_parse_head on p[0..n) copied to a buffer of exactly n bytes, so a
 * read past the input is a read past the allocation (ASan sees it).
 */
static int
parse_n(const char *p, size_t n, struct http_req *r)
{
	char *copy = malloc(n > 0 ? n : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, p, n);
	rc = http_parse_head(copy, n, r);
	/* Pointers into the copy are moved onto p, so callers can compare them. */
	if (rc > 0 || rc == -501) {
		ptrdiff_t d = p - copy;
		r->method_text += d;
		r->target += d;
		if (r->range != NULL)
			r->range += d;
		if (r->if_modified_since != NULL)
			r->if_modified_since += d;
		if (r->if_none_match != NULL)
			r->if_none_match += d;
		if (r->if_range != NULL)
			r->if_range += d;
	}
	free(copy);
	return rc;
}

static int
parse(const char *s, struct http_req *r)
{
	return parse_n(s, strlen(s), r);
}

/* The value v[0..len) is the C string want (NULL: absent). */
#define VALUE_EQ(v, len, want)                                                            \
	do {                                                                              \
		if ((want) == NULL) {                                                     \
			ck_assert_ptr_null(v);                                            \
		} else {                                                                  \
			ck_assert_ptr_nonnull(v);                                         \
			ck_assert_msg((len) == strlen(want) && memcmp(v, want, len) == 0, \
			    "%s: \"%.*s\", wanted \"%s\"", #v, (int)(len), v, want);      \
		}                                                                         \
	} while (0)

/*
 * Fed one byte more at a time, every prefix of p[0..n) gives 0 or the
 * final result (an error may come early, never a different one), and
 * once non-zero it stays; http_head_end, resumed at each length, agrees
 * with http_parse_head wherever that found an end.  Returns the result.
 */
static int
check_prefixes(const char *p, size_t n)
{
	struct http_req r;
	int want = parse_n(p, n, &r), got = 0;
	size_t scanned = 0, end = 0;

	for (size_t k = 0; k <= n; k++) {
		int rc = parse_n(p, k, &r);
		ck_assert_msg(rc == 0 || rc == want, "prefix of %zu bytes: %d, the whole %d", k, rc,
		    want);
		ck_assert_msg(got == 0 || rc == got, "prefix of %zu bytes: %d after %d", k, rc,
		    got);
		got = rc;
		if (end == 0) {
			end = http_head_end(p, k, scanned);
			scanned = k;
		}
		ck_assert_uint_eq(end, http_head_end(p, k, 0));
		if (rc > 0)
			ck_assert_uint_eq(end, (size_t)rc);
		if (rc == 0 && k < HTTP_HEAD_MAX)
			ck_assert_uint_eq(end, 0);
	}
	return want;
}

/* The fixed cases: a request head (with what follows it) and the result. */
static const struct {
	const char *what;
	const char *req;
	size_t n;
	int want;
} cases[] = {
#define H(what, req, want)                       \
	{                                        \
		what, req, sizeof(req) - 1, want \
	}
	/* valid heads */
	H("get 1.1", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", WHOLE),
	H("get 1.0 without Host", "GET / HTTP/1.0\r\n\r\n", WHOLE),
	H("head, bare LF", "HEAD /x HTTP/1.1\nHost: a\n\n", WHOLE),
	H("mixed line ends", "GET / HTTP/1.1\r\nHost: a\n\r\n", WHOLE),
	H("mixed line ends", "GET / HTTP/1.1\nHost: a\r\n\n", WHOLE),
	H("put", "PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", WHOLE),
	H("other method", "DELETE /f HTTP/1.1\r\nHost: a\r\n\r\n", WHOLE),
	H("odd token method", "M-SEARCH! * HTTP/1.1\r\nHost: a\r\n\r\n", WHOLE),
	H("1.2 is 1.1", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", WHOLE),
	H("leading CRLF", "\r\nGET / HTTP/1.0\r\n\r\n", WHOLE),
	H("leading LF", "\n\nGET / HTTP/1.0\r\n\r\n", WHOLE),
	H("4 leading lines", "\r\n\n\r\n\nGET / HTTP/1.0\r\n\r\n", WHOLE),
	H("empty value", "GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n", WHOLE),
	H("tab OWS", "GET / HTTP/1.1\r\nHost:\ta\t\r\nX:\t v \t\r\n\r\n", WHOLE),
	H("tab inside a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\r\n\r\n", WHOLE),
	H("obs-text value", "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9 \xff\r\n\r\n", WHOLE),
	H("empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", WHOLE),
	H("Host v6:port", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", WHOLE),
	H("Host reg-name", "GET / HTTP/1.1\r\nHost: a-b.c_d~e%41!$&'()*+,;=\r\n\r\n", WHOLE),
	H("host lower-case", "GET / HTTP/1.1\r\nhOST: a\r\n\r\n", WHOLE),
	H("target obs-text", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", WHOLE),
	H("target absolute", "GET http://a/b?c HTTP/1.1\r\nHost: a\r\n\r\n", WHOLE),
	H("CL list", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 , 5\r\n\r\n", WHOLE),
	H("CL twice",
	    "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 05\r\n\r\n", WHOLE),
	H("CL max", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n",
	    WHOLE),
	H("CL zero", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", WHOLE),
	H("Connection list", "GET / HTTP/1.1\r\nHost: a\r\nConnection: ,, a , b,\r\n\r\n", WHOLE),
	/* pipelined: the first head only */
	H("pipelined", "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n", 28),
	H("then garbage", "GET / HTTP/1.0\r\n\r\n\0\x01 x", 18),
	H("then a body", "PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", 47),
	/* the request line */
	H("HTTP/0.9", "GET /\r\n\r\n", -400),
	H("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", -505),
	H("HTTP/0.9 version", "GET / HTTP/0.9\r\n\r\n", -505),
	H("HTTP/3.0", "GET / HTTP/3.0\r\n", -505),
	H("lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", -400),
	H("version 1.10", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", -400),
	H("version 11", "GET / HTTP/11\r\nHost: a\r\n\r\n", -400),
	H("version x.1", "GET / HTTP/x.1\r\nHost: a\r\n\r\n", -400),
	H("trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", -400),
	H("two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", -400),
	H("two spaces", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", -400),
	H("leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", -400),
	H("tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", -400),
	H("method not a token", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", -400),
	H("method obs-text", "G\xc3\x89T / HTTP/1.1\r\nHost: a\r\n\r\n", -400),
	H("no method", " / HTTP/1.0\r\n\r\n", -400),
	H("space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", -400),
	H("CTL in target", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", -400),
	H("DEL in target", "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", -400),
	H("NUL in target", "GET /\0 HTTP/1.0\r\n\r\n", -400),
	H("request line only", "GET\r\n\r\n", -400),
	H("5 leading lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n", -400),
	H("not HTTP: TLS", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", -400),
	/* line ends */
	H("bare CR", "GET / HTTP/1.1\rHost: a\r\n\r\n", -400),
	H("CR CR LF", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", -400),
	H("CR CR LF at the end", "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", -400),
	H("bare CR leading", "\rGET / HTTP/1.0\r\n\r\n", -400),
	H("bare CR in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", -400),
	/* header lines */
	H("NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", -400),
	H("ESC in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: \x1b[2J\r\n\r\n", -400),
	H("DEL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: \x7f\r\n\r\n", -400),
	H("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", -400),
	H("tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", -400),
	H("empty name", "GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n", -400),
	H("no colon", "GET / HTTP/1.1\r\nHost: a\r\nX a\r\n\r\n", -400),
	H("space in name", "GET / HTTP/1.1\r\nHost: a\r\nX Y: a\r\n\r\n", -400),
	H("name obs-text", "GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: a\r\n\r\n", -400),
	H("name separator", "GET / HTTP/1.1\r\nHost: a\r\nX(y): a\r\n\r\n", -400),
	H("obs-fold SP", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", -400),
	H("obs-fold HTAB", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", -400),
	H("space after the start line", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", -400),
	H("only spaces", "GET / HTTP/1.1\r\nHost: a\r\n \r\n\r\n", -400),
	/* Host */
	H("1.1 without Host", "GET / HTTP/1.1\r\n\r\n", -400),
	H("1.2 without Host", "GET / HTTP/1.2\r\n\r\n", -400),
	H("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", -400),
	H("two Hosts 1.0", "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", -400),
	H("Host with /", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", -400),
	H("Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", -400),
	H("Host userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", -400),
	H("Host obs-text", "GET / HTTP/1.1\r\nHost: \xc3\xa9\r\n\r\n", -400),
	/* Content-Length */
	H("CL letters", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", -400),
	H("CL negative", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", -400),
	H("CL plus", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", -400),
	H("CL hex", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", -400),
	H("CL fraction", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 1.0\r\n\r\n", -400),
	H("CL empty", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", -400),
	H("CL two numbers", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", -400),
	H("CL list differs", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", -400),
	H("CL empty element", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", -400),
	H("CL lines differ",
	    "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", -400),
	H("CL overflow", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n",
	    -400),
	H("CL overflow",
	    "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", -400),
	/* Transfer-Encoding: the smuggling cases first */
	H("CL then TE",
	    "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	    -400),
	H("TE then CL",
	    "PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
	    -400),
	H("TE odd case then CL",
	    "PUT / HTTP/1.1\r\nHost: a\r\ntransfer-ENCODING: identity\r\ncontent-length: 0\r\n\r\n",
	    -400),
	H("TE without Host", "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", -400),
	H("TE chunked", "PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", -501),
	H("TE gzip", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", -501),
	H("TE empty", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", -501),
	H("TE in 1.0", "PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", -501),
	/* the fields kept as one pointer */
	H("two Ranges", "GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n",
	    -400),
	H("two IMS",
	    "GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: x\r\nif-modified-since: y\r\n\r\n",
	    -400),
	H("two INM",
	    "GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"a\"\r\nIf-None-Match: \"b\"\r\n\r\n",
	    -400),
	H("two If-Range", "GET / HTTP/1.1\r\nHost: a\r\nIf-Range: \"a\"\r\nIf-Range: \"a\"\r\n\r\n",
	    -400),
	/* Connection */
	H("Connection not a token", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, a b\r\n\r\n",
	    -400),
	H("Connection separator", "GET / HTTP/1.1\r\nHost: a\r\nConnection: @\r\n\r\n", -400),
#undef H
};

START_TEST(test_cases)
{
	const char *req = cases[_i].req;
	size_t n = cases[_i].n;
	int want = cases[_i].want;

	if (want == WHOLE)
		want = (int)n;
	int got = check_prefixes(req, n);
	ck_assert_msg(got == want, "%s (case %d): %d, wanted %d", cases[_i].what, _i, got, want);
}
END_TEST

/* Every field of a request that has them all, to the byte. */
START_TEST(test_fields)
{
	static const char req[] = "GET /a%20b?q=1 HTTP/1.1\r\n"
	                          "Host: example.com:8080\r\n"
	                          "User-Agent: curl/8.0\r\n"
	                          "Range:  bytes=0-99 \r\n"
	                          "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\t\r\n"
	                          "If-None-Match: W/\"a\", \"b\"\r\n"
	                          "If-Range: \"b\"\r\n"
	                          "Expect: 100-continue\r\n"
	                          "Accept: */*\r\n"
	                          "\r\n"
	                          "rest";
	struct http_req r;
	int rc = parse(req, &r);

	ck_assert_int_eq(rc, (int)strlen(req) - 4);
	ck_assert_int_eq(r.method, HTTP_GET);
	VALUE_EQ(r.method_text, r.method_len, "GET");
	ck_assert_ptr_eq(r.method_text, req);
	VALUE_EQ(r.target, r.target_len, "/a%20b?q=1");
	ck_assert_ptr_eq(r.target, req + 4);
	ck_assert_int_eq(r.minor, 1);
	ck_assert(r.keep_alive);
	ck_assert(r.has_host);
	ck_assert_int_eq(r.content_length, -1);
	ck_assert(!r.chunked);
	ck_assert(r.expect_continue);
	VALUE_EQ(r.range, r.range_len, "bytes=0-99");
	VALUE_EQ(r.if_modified_since, r.ims_len, "Sun, 06 Nov 1994 08:49:37 GMT");
	VALUE_EQ(r.if_none_match, r.inm_len, "W/\"a\", \"b\"");
	VALUE_EQ(r.if_range, r.if_range_len, "\"b\"");
}
END_TEST

START_TEST(test_fields_absent)
{
	struct http_req r;

	ck_assert_int_eq(parse("HEAD /x HTTP/1.0\r\nX-Range: a\r\nRanges: b\r\n\r\n", &r), 43);
	ck_assert_int_eq(r.method, HTTP_HEAD);
	VALUE_EQ(r.method_text, r.method_len, "HEAD");
	VALUE_EQ(r.target, r.target_len, "/x");
	ck_assert_int_eq(r.minor, 0);
	ck_assert(!r.keep_alive);
	ck_assert(!r.has_host);
	ck_assert_int_eq(r.content_length, -1);
	ck_assert(!r.chunked);
	ck_assert(!r.expect_continue);
	ck_assert_ptr_null(r.range);
	ck_assert_ptr_null(r.if_modified_since);
	ck_assert_ptr_null(r.if_none_match);
	ck_assert_ptr_null(r.if_range);

	/* An empty value is present, and empty. */
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nRange:\r\nIf-Range: \r\n\r\n", &r),
	    47);
	ck_assert_ptr_nonnull(r.range);
	ck_assert_uint_eq(r.range_len, 0);
	ck_assert_ptr_nonnull(r.if_range);
	ck_assert_uint_eq(r.if_range_len, 0);
}
END_TEST

START_TEST(test_methods)
{
	static const struct {
		const char *m;
		enum http_method want;
	} m[] = {
		{ "GET", HTTP_GET },
		{ "HEAD", HTTP_HEAD },
		{ "PUT", HTTP_PUT },
		{ "get", HTTP_OTHER },
		{ "Put", HTTP_OTHER },
		{ "GETS", HTTP_OTHER },
		{ "GE", HTTP_OTHER },
		{ "HEA", HTTP_OTHER },
		{ "PUTT", HTTP_OTHER },
		{ "POST", HTTP_OTHER },
		{ "OPTIONS", HTTP_OTHER },
	};
	char req[64];
	struct http_req r;

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		snprintf(req, sizeof(req), "%s / HTTP/1.0\r\n\r\n", m[i].m);
		ck_assert_int_eq(parse(req, &r), (int)strlen(req));
		ck_assert_msg(r.method == m[i].want, "%s: %d", m[i].m, r.method);
		VALUE_EQ(r.method_text, r.method_len, m[i].m);
	}
}
END_TEST

/* keep_alive from the version and the Connection lines. */
static const struct {
	const char *version;
	const char *conn; /* the Connection lines, "" for none */
	bool want;
} keep[] = {
	{ "1.1", "", true },
	{ "1.1", "Connection: close\r\n", false },
	{ "1.1", "Connection: Close\r\n", false },
	{ "1.1", "connection: CLOSE\r\n", false },
	{ "1.1", "Connection: keep-alive\r\n", true },
	{ "1.1", "Connection: upgrade, close\r\n", false },
	{ "1.1", "Connection: ,, close ,,\r\n", false },
	{ "1.1", "Connection: closed\r\n", true },
	{ "1.1", "Connection: clos\r\n", true },
	{ "1.1", "Connection: upgrade\r\n", true },
	{ "1.1", "Connection: a\r\nConnection: close\r\n", false },
	{ "1.1", "X-Connection: close\r\n", true },
	{ "1.1", "Proxy-Connection: close\r\n", true },
	{ "1.2", "", true },
	{ "1.0", "", false },
	{ "1.0", "Connection: keep-alive\r\n", true },
	{ "1.0", "Connection: Keep-Alive\r\n", true },
	{ "1.0", "Connection: te, keep-alive\r\n", true },
	{ "1.0", "Connection: keep-alive, close\r\n", false },
	{ "1.0", "Connection: close, keep-alive\r\n", false },
	{ "1.0", "Connection: keep-alive\r\nConnection: close\r\n", false },
	{ "1.0", "Connection: close\r\n", false },
	{ "1.0", "Connection: keepalive\r\n", false },
	{ "1.0", "Keep-Alive: timeout=5\r\n", false },
};

START_TEST(test_keep_alive)
{
	char req[256];
	struct http_req r;

	snprintf(req, sizeof(req), "GET / HTTP/%s\r\nHost: a\r\n%s\r\n", keep[_i].version,
	    keep[_i].conn);
	ck_assert_int_eq(parse(req, &r), (int)strlen(req));
	ck_assert_msg(r.keep_alive == keep[_i].want, "HTTP/%s, %s: %d", keep[_i].version,
	    keep[_i].conn, r.keep_alive);
}
END_TEST

START_TEST(test_expect)
{
	static const struct {
		const char *req;
		bool want;
	} e[] = {
		{ "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nHost: a\r\nexpect: 100-Continue\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nHost: a\r\nExpect: foo, 100-continue\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continued\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false },
		/* RFC 9110 10.1.1: ignored in HTTP/1.0 */
		{ "GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", false },
	};
	struct http_req r;

	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		ck_assert_int_eq(parse(e[i].req, &r), (int)strlen(e[i].req));
		ck_assert_msg(r.expect_continue == e[i].want, "case %zu", i);
	}
}
END_TEST

START_TEST(test_content_length)
{
	static const struct {
		const char *v;
		long long want;
	} c[] = {
		{ "0", 0 },
		{ "5", 5 },
		{ "005", 5 },
		{ " 42 ", 42 },
		{ "42,42", 42 },
		{ "42 ,\t42", 42 },
		{ "1048576", 1048576 },
		{ "9223372036854775807", LLONG_MAX },
		{ "00000000000000000000009223372036854775807", LLONG_MAX },
	};
	char req[256];
	struct http_req r;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(req, sizeof(req), "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length:%s\r\n\r\n",
		    c[i].v);
		ck_assert_int_eq(parse(req, &r), (int)strlen(req));
		ck_assert_msg(r.content_length == c[i].want, "\"%s\": %lld", c[i].v,
		    r.content_length);
	}
}
END_TEST

/* -501 fills r, so the caller may answer a PUT with 411 instead. */
START_TEST(test_chunked_501)
{
	static const char req[] = "PUT /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	                          "Connection: close\r\n\r\n";
	struct http_req r;

	ck_assert_int_eq(parse(req, &r), -501);
	ck_assert(r.chunked);
	ck_assert_int_eq(r.method, HTTP_PUT);
	VALUE_EQ(r.target, r.target_len, "/up");
	ck_assert_int_eq(r.content_length, -1);
	ck_assert(!r.keep_alive);
	ck_assert(r.has_host);
}
END_TEST

/* Two heads in one buffer: the first, then the second from where it ended. */
START_TEST(test_pipelined)
{
#define P1 "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
#define P2 "\r\nHEAD /b HTTP/1.0\nConnection: keep-alive\n\n"
#define P3 "GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	static const char req[] = P1 P2 P3;
	size_t n = sizeof(req) - 1, off = 0;
	struct http_req r;
	int rc;

	rc = parse_n(req, n, &r);
	ck_assert_int_eq(rc, sizeof(P1) - 1);
	VALUE_EQ(r.target, r.target_len, "/a");
	ck_assert(r.keep_alive);
	off += (size_t)rc;
	rc = parse_n(req + off, n - off, &r);
	ck_assert_int_eq(rc, sizeof(P2) - 1); /* the empty line before it included */
	ck_assert_int_eq(r.method, HTTP_HEAD);
	VALUE_EQ(r.target, r.target_len, "/b");
	ck_assert_ptr_eq(r.target, req + sizeof(P1) - 1 + 7);
	ck_assert(r.keep_alive);
	off += (size_t)rc;
	rc = parse_n(req + off, n - off, &r);
	ck_assert_int_eq(rc, sizeof(P3) - 1);
	VALUE_EQ(r.target, r.target_len, "/c");
	ck_assert(!r.keep_alive);
	ck_assert_int_eq(parse_n(req + n, 0, &r), 0);
#undef P1
#undef P2
#undef P3
}
END_TEST

/* A head of exactly len bytes (CR LF line ends), padded in an X header. */
static char *
head_of(size_t len, size_t extra)
{
	static const char pre[] = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
	char *p = malloc(len + extra + 1);
	size_t fill = len - (sizeof(pre) - 1) - 4;

	ck_assert_ptr_nonnull(p);
	memcpy(p, pre, sizeof(pre) - 1);
	memset(p + sizeof(pre) - 1, 'x', fill);
	memcpy(p + len - 4, "\r\n\r\n", 4);
	memset(p + len, 'G', extra);
	p[len + extra] = '\0';
	return p;
}

START_TEST(test_limit)
{
	struct http_req r;
	char *p;

	/* 8192 bytes is a head; 8193 is not, whatever follows. */
	p = head_of(HTTP_HEAD_MAX, 0);
	ck_assert_int_eq(parse_n(p, HTTP_HEAD_MAX, &r), HTTP_HEAD_MAX);
	ck_assert_uint_eq(r.target_len, 1);
	ck_assert_int_eq(parse_n(p, HTTP_HEAD_MAX - 1, &r), 0);
	free(p);
	p = head_of(HTTP_HEAD_MAX, 100);
	ck_assert_int_eq(parse_n(p, HTTP_HEAD_MAX + 100, &r), HTTP_HEAD_MAX);
	free(p);
	p = head_of(HTTP_HEAD_MAX + 1, 0);
	ck_assert_int_eq(parse_n(p, HTTP_HEAD_MAX + 1, &r), -431);
	ck_assert_int_eq(parse_n(p, HTTP_HEAD_MAX, &r), -431);
	ck_assert_int_eq(parse_n(p, HTTP_HEAD_MAX - 1, &r), 0);
	/* http_head_end finds it; the parser still refuses it. */
	ck_assert_uint_eq(http_head_end(p, HTTP_HEAD_MAX + 1, 0), HTTP_HEAD_MAX + 1);
	free(p);
	p = head_of(HTTP_HEAD_MAX + 1000, 0);
	ck_assert_int_eq(parse_n(p, HTTP_HEAD_MAX + 1000, &r), -431);
	free(p);

	/* Bare LF ends: the last LF at byte 8191 is in, at 8192 out. */
	p = head_of(HTTP_HEAD_MAX, 0);
	memcpy(p + HTTP_HEAD_MAX - 4, "x\r\n\n", 4);
	ck_assert_int_eq(parse_n(p, HTTP_HEAD_MAX, &r), HTTP_HEAD_MAX);
	p[HTTP_HEAD_MAX - 1] = 'x';
	ck_assert_int_eq(parse_n(p, HTTP_HEAD_MAX, &r), -431);
	free(p);

	/* Leading empty lines count: they are bytes the client sent. */
	p = head_of(HTTP_HEAD_MAX, 0);
	memcpy(p, "\r\n", 2);
	memcpy(p + 2, "GET / HTTP/1.1\r\nHost: a\r\nX: ", 28);
	ck_assert_int_eq(parse_n(p, HTTP_HEAD_MAX, &r), HTTP_HEAD_MAX);
	free(p);

	/* An error inside the first 8 KiB is 400, even past them. */
	p = head_of(HTTP_HEAD_MAX + 10, 0);
	p[40] = '\0';
	ck_assert_int_eq(parse_n(p, HTTP_HEAD_MAX + 10, &r), -400);
	ck_assert_int_eq(parse_n(p, 41, &r), -400);
	ck_assert_int_eq(parse_n(p, 40, &r), 0);
	free(p);

	/* Nothing but a long request line. */
	p = malloc(HTTP_HEAD_MAX);
	ck_assert_ptr_nonnull(p);
	memset(p, 'A', HTTP_HEAD_MAX);
	ck_assert_int_eq(parse_n(p, HTTP_HEAD_MAX, &r), -431);
	ck_assert_int_eq(parse_n(p, HTTP_HEAD_MAX - 1, &r), 0);
	free(p);
}
END_TEST

/* Every byte value in each place: accepted exactly where the grammar says. */
START_TEST(test_bytes)
{
	char req[128];
	struct http_req r;

	for (int c = 1; c < 256; c++) {
		bool tchar = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
		bool vchar = (c > 0x20 && c != 0x7f) || c == ' ' || c == '\t';
		int n, rc;

		/* in a method */
		n = snprintf(req, sizeof(req), "G%cT / HTTP/1.0\r\n\r\n", c);
		rc = parse_n(req, (size_t)n, &r);
		ck_assert_msg(rc == (tchar ? n : -400), "method byte 0x%02x: %d", c, rc);
		/* in a field name (a colon ends it: "A" with the value "B: v") */
		n = snprintf(req, sizeof(req), "GET / HTTP/1.0\r\nA%cB: v\r\n\r\n", c);
		rc = parse_n(req, (size_t)n, &r);
		ck_assert_msg(rc == (tchar || c == ':' ? n : -400), "name byte 0x%02x: %d", c, rc);
		/* in a field value */
		n = snprintf(req, sizeof(req), "GET / HTTP/1.0\r\nA: x%cy\r\n\r\n", c);
		rc = parse_n(req, (size_t)n, &r);
		ck_assert_msg(rc == (vchar ? n : -400), "value byte 0x%02x: %d", c, rc);
		/* in a target */
		n = snprintf(req, sizeof(req), "GET /%c HTTP/1.0\r\n\r\n", c);
		rc = parse_n(req, (size_t)n, &r);
		ck_assert_msg(rc == (c > 0x20 && c != 0x7f ? n : -400), "target byte 0x%02x: %d", c,
		    rc);
	}
}
END_TEST

/* http_head_end alone: resumed anywhere, it finds the end a fresh scan does. */
START_TEST(test_head_end)
{
	static const char *const heads[] = {
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET / HTTP/1.1\nHost: a\r\n\n",
		"GET / HTTP/1.1\r\nHost: a\n\r\n",
		"\r\n\nGET / HTTP/1.0\n\n",
		"\r\n\r\n\r\n\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
	};
	static const size_t ends[] = { 27, 24, 25, 26, 19, 10, 18 };

	for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
		size_t n = strlen(heads[h]);
		ck_assert_uint_eq(http_head_end(heads[h], n, 0), ends[h]);
		for (size_t k = 0; k < n; k++) {
			/* Resumed after k bytes, however many come at once. */
			ck_assert_uint_eq(http_head_end(heads[h], k, 0), 0);
			ck_assert_uint_eq(http_head_end(heads[h], n, k), ends[h]);
		}
		/* from past n is taken as n: a few bytes again, none past n. */
		ck_assert_uint_le(http_head_end(heads[h], n, n + 5), n);
	}
	ck_assert_uint_eq(http_head_end("GET / HTTP/1.1\r\n\r", 17, 0), 0);
	ck_assert_uint_eq(http_head_end("GET / HTTP/1.1\r\n\rx\n\n", 20, 0), 20);
	ck_assert_uint_eq(http_head_end("", 0, 0), 0);
}
END_TEST

/* Valid heads with a byte changed, inserted or cut: the prefixes agree. */
START_TEST(test_random_prefixes)
{
	static const char *const base[] = {
		"GET /a?b HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nConnection: close\r\n\r\n",
		"\r\nPUT /f HTTP/1.0\nContent-Length: 12\nExpect: 100-continue\n\nbody",
		"HEAD / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	static const char bytes[] = "\r\n \t:\0\x7f,aH/1";
	unsigned seed = 77;
	char buf[256];

	for (int iter = 0; iter < 3000; iter++) {
		const char *b = base[rand_r(&seed) % 3];
		size_t n = strlen(b), at;
		memcpy(buf, b, n);
		for (int k = 1 + rand_r(&seed) % 3; k > 0; k--) {
			at = (size_t)rand_r(&seed) % n;
			char c = rand_r(&seed) % 2 ? bytes[rand_r(&seed) % (sizeof(bytes) - 1)] :
			                             (char)rand_r(&seed);
			switch (rand_r(&seed) % 3) {
			case 0:
				buf[at] = c;
				break;
			case 1:
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = c;
				n++;
				break;
			default:
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
			}
		}
		check_prefixes(buf, n);
	}
}
END_TEST

/* http_decode_path: the target and the path (or the error). */
static const struct {
	const char *target;
	int want;
	const char *path;
} paths[] = {
	{ "/", 0, "/" },
	{ "/a/b.txt", 0, "/a/b.txt" },
	{ "/a%20b", 0, "/a b" },
	{ "/%2e%2e/etc", 0, "/../etc" },
	{ "/%2E%2E%2f..", 0, "/../.." },
	{ "/a%2Fb", 0, "/a/b" },
	{ "/a%2fb", 0, "/a/b" },
	{ "/%41%4a%4A%7e", 0, "/AJJ~" },
	{ "/caf%C3%A9", 0, "/caf\xc3\xa9" },
	{ "/caf\xc3\xa9", 0, "/caf\xc3\xa9" },
	{ "/a?x=1", 0, "/a" },
	{ "/a?x=%zz", 0, "/a" },
	{ "/a?", 0, "/a" },
	{ "/?q", 0, "/" },
	{ "/a#f", 0, "/a" },
	{ "/a#f?g", 0, "/a" },
	{ "/a?b#c", 0, "/a" },
	{ "/a%3Fb", 0, "/a?b" },
	{ "/a%23b", 0, "/a#b" },
	{ "/a%25", 0, "/a%" },
	{ "/a%2541", 0, "/a%41" },
	{ "//a", 0, "//a" },
	{ "/a;b=c", 0, "/a;b=c" },
	{ "http://h/x", 0, "/x" },
	{ "HTTP://h/x", 0, "/x" },
	{ "Http://h:8080/a%20b?q", 0, "/a b" },
	{ "http://[::1]:80/x", 0, "/x" },
	{ "http://h", 0, "/" },
	{ "http://h?q", 0, "/" },
	{ "http://h#f", 0, "/" },
	{ "/%00", -400, NULL },
	{ "/a%00b", -400, NULL },
	{ "/%zz", -400, NULL },
	{ "/%", -400, NULL },
	{ "/a%", -400, NULL },
	{ "/%4", -400, NULL },
	{ "/%4?", -400, NULL },
	{ "/%4g", -400, NULL },
	{ "/%g4", -400, NULL },
	{ "/%z1", -400, NULL },
	{ "/%1z", -400, NULL },
	{ "/%%41", -400, NULL },
	{ "/%+1", -400, NULL },
	{ "/% 1", -400, NULL },
	{ "https://h/x", -400, NULL },
	{ "http:/h/x", -400, NULL },
	{ "http:", -400, NULL },
	{ "http://", -400, NULL },
	{ "http:///x", -400, NULL },
	{ "http://u@h/x", -400, NULL },
	{ "http://:80/x", -400, NULL },
	{ "ftp://h/x", -400, NULL },
	{ "*", -400, NULL },
	{ "h:80", -400, NULL },
	{ "a/b", -400, NULL },
	{ "", -400, NULL },
	{ "?x", -400, NULL },
};

START_TEST(test_decode_path)
{
	char dst[64];
	size_t len = 12345;
	int rc;

	memset(dst, '#', sizeof(dst));
	rc = http_decode_path(paths[_i].target, strlen(paths[_i].target), dst, sizeof(dst), &len);
	ck_assert_msg(rc == paths[_i].want, "\"%s\": %d, wanted %d", paths[_i].target, rc,
	    paths[_i].want);
	if (rc == 0) {
		ck_assert_str_eq(dst, paths[_i].path);
		ck_assert_uint_eq(len, strlen(paths[_i].path));
	} else {
		ck_assert_uint_eq(len, 12345); /* untouched */
	}
}
END_TEST

START_TEST(test_decode_path_room)
{
	char dst[16];
	size_t len;

	/* A raw NUL is refused like a decoded one. */
	ck_assert_int_eq(http_decode_path("/a\0b", 4, dst, sizeof(dst), &len), -400);
	ck_assert_int_eq(http_decode_path("http://h\0/x", 11, dst, sizeof(dst), &len), -400);
	ck_assert_int_eq(http_decode_path("/a?\0", 4, dst, sizeof(dst), &len), -400);
	/* An escape cut by the length is bad, whatever follows. */
	ck_assert_int_eq(http_decode_path("/%41", 3, dst, sizeof(dst), &len), -400);
	ck_assert_int_eq(http_decode_path("/%41", 2, dst, sizeof(dst), &len), -400);
	/* The target is taken by its length, not up to a NUL. */
	ck_assert_int_eq(http_decode_path("/abc/def", 4, dst, sizeof(dst), &len), 0);
	ck_assert_str_eq(dst, "/abc");

	/* The path and its NUL must fit; nothing is written past dstlen. */
	memset(dst, '#', sizeof(dst));
	ck_assert_int_eq(http_decode_path("/abc", 4, dst, 5, &len), 0);
	ck_assert_str_eq(dst, "/abc");
	ck_assert_int_eq(dst[5], '#');
	memset(dst, '#', sizeof(dst));
	ck_assert_int_eq(http_decode_path("/abc", 4, dst, 4, &len), -414);
	ck_assert_int_eq(dst[4], '#');
	memset(dst, '#', sizeof(dst));
	ck_assert_int_eq(http_decode_path("/abc", 4, dst, 0, &len), -414);
	ck_assert_int_eq(dst[0], '#');
	/* Escapes count once decoded. */
	ck_assert_int_eq(http_decode_path("/%41%42", 7, dst, 4, &len), 0);
	ck_assert_str_eq(dst, "/AB");
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(http_decode_path("/%41%42", 7, dst, 3, &len), -414);
	ck_assert_int_eq(http_decode_path("http://h", 8, dst, 2, &len), 0);
	ck_assert_str_eq(dst, "/");
	ck_assert_int_eq(http_decode_path("http://h", 8, dst, 1, &len), -414);
	/* The first problem found: here the room runs out before the escape. */
	ck_assert_int_eq(http_decode_path("/abcdef%zz", 10, dst, 4, &len), -414);
	ck_assert_int_eq(http_decode_path("/%zzabcdef", 10, dst, 4, &len), -400);
}
END_TEST

/* http_parse_range: value, size, result, first, last. */
static const struct {
	const char *v;
	long long size;
	int want;
	long long first, last;
} ranges[] = {
	{ "bytes=0-0", 10, 1, 0, 0 },
	{ "bytes=0-9", 10, 1, 0, 9 },
	{ "bytes=2-5", 10, 1, 2, 5 },
	{ "bytes=0-99", 10, 1, 0, 9 },
	{ "bytes=9-9", 10, 1, 9, 9 },
	{ "bytes=9-10", 10, 1, 9, 9 },
	{ "bytes=5-", 10, 1, 5, 9 },
	{ "bytes=0-", 10, 1, 0, 9 },
	{ "bytes=9-", 10, 1, 9, 9 },
	{ "bytes=10-", 10, -1, 0, 0 },
	{ "bytes=10-20", 10, -1, 0, 0 },
	{ "bytes=11-11", 10, -1, 0, 0 },
	{ "bytes=-3", 10, 1, 7, 9 },
	{ "bytes=-1", 10, 1, 9, 9 },
	{ "bytes=-9", 10, 1, 1, 9 },
	{ "bytes=-10", 10, 1, 0, 9 },
	{ "bytes=-11", 10, 1, 0, 9 },
	{ "bytes=-0", 10, -1, 0, 0 },
	{ "bytes=-000", 10, -1, 0, 0 },
	{ "bytes=0-", 0, -1, 0, 0 },
	{ "bytes=0-0", 0, -1, 0, 0 },
	{ "bytes=-1", 0, 0, 0, 0 },
	{ "bytes=-0", 0, -1, 0, 0 },
	{ "bytes=0-0", 1, 1, 0, 0 },
	{ "bytes=-5", 1, 1, 0, 0 },
	{ "Bytes=1-2", 10, 1, 1, 2 },
	{ "BYTES=1-2", 10, 1, 1, 2 },
	{ "bytes=00005-0007", 10, 1, 5, 7 },
	{ "bytes= 1-2", 10, 1, 1, 2 },
	{ "bytes=1-2 ", 10, 1, 1, 2 },
	{ "bytes=1-2,", 10, 1, 1, 2 },
	{ "bytes=, 1-2 ,,", 10, 1, 1, 2 },
	/* ignored */
	{ "bytes=3-2", 10, 0, 0, 0 },
	{ "bytes=0010-9", 20, 0, 0, 0 },
	{ "bytes=0-1,3-4", 10, 0, 0, 0 },
	{ "bytes=0-1,0-1", 10, 0, 0, 0 },
	{ "bytes=-1,-2", 10, 0, 0, 0 },
	{ "bytes=", 10, 0, 0, 0 },
	{ "bytes=,", 10, 0, 0, 0 },
	{ "bytes", 10, 0, 0, 0 },
	{ "byte=0-1", 10, 0, 0, 0 },
	{ "items=0-1", 10, 0, 0, 0 },
	{ "bytes =0-1", 10, 0, 0, 0 },
	{ "bytes:0-1", 10, 0, 0, 0 },
	{ "bytes=a-b", 10, 0, 0, 0 },
	{ "bytes=1-2-3", 10, 0, 0, 0 },
	{ "bytes=--1", 10, 0, 0, 0 },
	{ "bytes=-", 10, 0, 0, 0 },
	{ "bytes=1", 10, 0, 0, 0 },
	{ "bytes=1 -2", 10, 0, 0, 0 },
	{ "bytes=1- 2", 10, 0, 0, 0 },
	{ "bytes=+1-2", 10, 0, 0, 0 },
	{ "bytes=0x1-2", 10, 0, 0, 0 },
	{ "bytes=-1x", 10, 0, 0, 0 },
	{ "bytes=1-2x", 10, 0, 0, 0 },
	{ "", 10, 0, 0, 0 },
	/* numbers past long long, read exactly */
	{ "bytes=99999999999999999999-", 10, -1, 0, 0 },
	{ "bytes=99999999999999999999-", LLONG_MAX, -1, 0, 0 },
	{ "bytes=0-99999999999999999999", 10, 1, 0, 9 },
	{ "bytes=3-99999999999999999999", LLONG_MAX, 1, 3, LLONG_MAX - 1 },
	{ "bytes=-99999999999999999999", 10, 1, 0, 9 },
	{ "bytes=99999999999999999999-99999999999999999998", 10, 0, 0, 0 },
	{ "bytes=99999999999999999998-99999999999999999999", 10, -1, 0, 0 },
	{ "bytes=99999999999999999999-099999999999999999999", 10, -1, 0, 0 },
	{ "bytes=100000000000000000000-99999999999999999999", 10, 0, 0, 0 },
	{ "bytes=9223372036854775807-", LLONG_MAX, -1, 0, 0 },
	{ "bytes=9223372036854775806-", LLONG_MAX, 1, LLONG_MAX - 1, LLONG_MAX - 1 },
	{ "bytes=9223372036854775806-9223372036854775807", LLONG_MAX, 1, LLONG_MAX - 1,
	    LLONG_MAX - 1 },
	{ "bytes=-9223372036854775807", LLONG_MAX, 1, 0, LLONG_MAX - 1 },
	{ "bytes=-9223372036854775806", LLONG_MAX, 1, 1, LLONG_MAX - 1 },
	{ "bytes=0-00000000000000000000000009", 10, 1, 0, 9 },
};

START_TEST(test_range)
{
	long long first = -7, last = -7;
	int rc = http_parse_range(ranges[_i].v, strlen(ranges[_i].v), ranges[_i].size, &first,
	    &last);

	ck_assert_msg(rc == ranges[_i].want, "\"%s\" of %lld: %d, wanted %d", ranges[_i].v,
	    ranges[_i].size, rc, ranges[_i].want);
	if (rc == 1) {
		ck_assert_msg(first == ranges[_i].first && last == ranges[_i].last,
		    "\"%s\" of %lld: %lld-%lld, wanted %lld-%lld", ranges[_i].v, ranges[_i].size,
		    first, last, ranges[_i].first, ranges[_i].last);
	} else {
		ck_assert_int_eq(first, -7);
		ck_assert_int_eq(last, -7);
	}
}
END_TEST

/* The value is taken by its length: a range followed by more bytes. */
START_TEST(test_range_length)
{
	long long first, last;

	ck_assert_int_eq(http_parse_range("bytes=2-3,4-5", 9, 10, &first, &last), 1);
	ck_assert_int_eq(first, 2);
	ck_assert_int_eq(last, 3);
	ck_assert_int_eq(http_parse_range("bytes=-35", 8, 10, &first, &last), 1);
	ck_assert_int_eq(first, 7);
	ck_assert_int_eq(http_parse_range("bytes=0-1", 5, 10, &first, &last), 0);
}
END_TEST

START_TEST(test_date_format)
{
	static const struct {
		long long t;
		const char *want;
	} d[] = {
		{ 0, "Thu, 01 Jan 1970 00:00:00 GMT" },
		{ 784111777, "Sun, 06 Nov 1994 08:49:37 GMT" },
		{ 951782400, "Tue, 29 Feb 2000 00:00:00 GMT" },
		{ 1795342530, "Sun, 22 Nov 2026 10:15:30 GMT" },
		{ 2147483647, "Tue, 19 Jan 2038 03:14:07 GMT" },
		{ 2147483648LL, "Tue, 19 Jan 2038 03:14:08 GMT" },
		{ -1, "Wed, 31 Dec 1969 23:59:59 GMT" },
		{ 253402300799LL, "Fri, 31 Dec 9999 23:59:59 GMT" },
		{ 253402300800LL, "Fri, 31 Dec 9999 23:59:59 GMT" },
		{ LLONG_MAX, "Fri, 31 Dec 9999 23:59:59 GMT" },
		{ -62167219200LL, "Sat, 01 Jan 0000 00:00:00 GMT" },
		{ LLONG_MIN, "Sat, 01 Jan 0000 00:00:00 GMT" },
	};
	char out[40];

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		memset(out, '#', sizeof(out));
		ck_assert_uint_eq(http_date(out, (time_t)d[i].t), HTTP_DATE_LEN);
		ck_assert_str_eq(out, d[i].want);
		ck_assert_int_eq(out[HTTP_DATE_LEN + 1], '#');
	}
}
END_TEST

/*
 * http_date's calendar arithmetic against the C library's gmtime_r and
 * the same format: every day boundary of 1900-2100 (leap years, 2000 and
 * 2100 included) and 300,000 pseudo-random times over its whole range.
 */
static void
date_ref(char *out, long long t)
{
	static const char wd[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char mo[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
		"Sep", "Oct", "Nov", "Dec" };
	time_t ct = (time_t)t;
	struct tm tm;

	ck_assert_ptr_nonnull(gmtime_r(&ct, &tm));
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday], tm.tm_mday,
	    mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

START_TEST(test_date_vs_gmtime)
{
	char got[40], want[40];
	unsigned long long x = 0x9e3779b97f4a7c15ULL;
	const long long lo = -62167219200LL, span = 253402300799LL - lo + 1;

	for (long long t = -2208988800LL; t <= 4133980800LL; t += 86400) {
		for (long long k = -1; k <= 0; k++) {
			http_date(got, (time_t)(t + k));
			date_ref(want, t + k);
			ck_assert_str_eq(got, want);
		}
	}
	for (int i = 0; i < 300000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		long long t = lo + (long long)(x % (unsigned long long)span);
		http_date(got, (time_t)t);
		date_ref(want, t);
		ck_assert_str_eq(got, want);
	}
}
END_TEST

/* The printf-free number writers against printf. */
START_TEST(test_put_numbers)
{
	const long long v[] = { 0, 1, 9, 10, 99, 100, 200, 304, 1024, -1, -10, 4294967296LL,
		LLONG_MAX, LLONG_MIN, LLONG_MIN + 1 };
	char got[40], want[40];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		*http_put_dec(got, v[i]) = '\0';
		snprintf(want, sizeof(want), "%lld", v[i]);
		ck_assert_str_eq(got, want);
		*http_put_hex(got, (unsigned long long)v[i]) = '\0';
		snprintf(want, sizeof(want), "%llx", (unsigned long long)v[i]);
		ck_assert_str_eq(got, want);
	}
}
END_TEST

static time_t
date_of(const char *s)
{
	time_t t = (time_t)-12345;

	ck_assert_msg(http_parse_date(s, strlen(s), &t) == 0, "\"%s\" refused", s);
	return t;
}

/* RFC 9110 5.6.7's example in its three forms, and the edges of each field. */
START_TEST(test_date_parse)
{
	static const struct {
		const char *s;
		long long t;
	} d[] = {
		{ "Sun, 06 Nov 1994 08:49:37 GMT", 784111777 },
		{ "Sunday, 06-Nov-94 08:49:37 GMT", 784111777 },
		{ "Sun Nov  6 08:49:37 1994", 784111777 },
		{ "Sun Nov 06 08:49:37 1994", 784111777 },
		{ "Thu, 01 Jan 1970 00:00:00 GMT", 0 },
		{ "Wed, 31 Dec 1969 23:59:59 GMT", -1 },
		{ "Tue, 29 Feb 2000 00:00:00 GMT", 951782400 },
		{ "Thu, 29 Feb 1996 12:00:00 GMT", 825595200 },
		{ "Sat, 31 Dec 2016 23:59:60 GMT", 1483228800 },
		{ "Fri, 31 Dec 9999 23:59:59 GMT", 253402300799LL },
		{ "Sat, 01 Jan 0000 00:00:00 GMT", -62167219200LL },
		/* The weekday is not checked against the date. */
		{ "Mon, 06 Nov 1994 08:49:37 GMT", 784111777 },
		{ "Monday, 06-Nov-94 08:49:37 GMT", 784111777 },
		{ "Tuesday, 06-Nov-94 08:49:37 GMT", 784111777 },
		{ "Wednesday, 06-Nov-94 08:49:37 GMT", 784111777 },
		{ "Thursday, 06-Nov-94 08:49:37 GMT", 784111777 },
		{ "Friday, 06-Nov-94 08:49:37 GMT", 784111777 },
		{ "Saturday, 06-Nov-94 08:49:37 GMT", 784111777 },
		{ "Thu Dec 31 23:59:59 1998", 915148799 },
		{ "Sat Jan  1 00:00:00 2000", 946684800 },
	};

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		ck_assert_msg(date_of(d[i].s) == (time_t)d[i].t, "\"%s\": %lld, wanted %lld",
		    d[i].s, (long long)date_of(d[i].s), d[i].t);
}
END_TEST

START_TEST(test_date_bad)
{
	static const char *const bad[] = {
		"",
		"Sun, 06 Nov 1994 08:49:37 GMT ",
		" Sun, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 06 Nov 1994 08:49:37 gmt",
		"sun, 06 Nov 1994 08:49:37 GMT",
		"Xyz, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 nov 1994 08:49:37 GMT",
		"Sun, 06 Now 1994 08:49:37 GMT",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun,  6 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 94 08:49:37 GMT",
		"Sun, 06 Nov 1994 8:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37",
		"Sun, 06-Nov-1994 08:49:37 GMT",
		"Sun, 00 Nov 1994 08:49:37 GMT",
		"Sun, 31 Nov 1994 08:49:37 GMT",
		"Sun, 32 Jan 1994 08:49:37 GMT",
		"Sun, 29 Feb 1900 08:49:37 GMT",
		"Sun, 29 Feb 1999 08:49:37 GMT",
		"Sun, 30 Feb 2000 08:49:37 GMT",
		"Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 08:60:37 GMT",
		"Sun, 06 Nov 1994 08:49:61 GMT",
		"Sun, 06 Nov 1994 08-49-37 GMT",
		"Sun, 06 Nov 1994 08:4a:37 GMT",
		"Sun, 06 Nov 199x 08:49:37 GMT",
		"Sun; 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMT\r",
		"Sunday, 06-Nov-94 08:49:37 UTC",
		"Sunday, 06 Nov 94 08:49:37 GMT",
		"Sunday, 6-Nov-94 08:49:37 GMT",
		"Sunday, 06-Nov-1994 08:49:37 GMT",
		"Sunday, 31-Jun-94 08:49:37 GMT",
		"Sunday, 06-Nov-9x 08:49:37 GMT",
		"sunday, 06-Nov-94 08:49:37 GMT",
		"Sundae, 06-Nov-94 08:49:37 GMT",
		"Sun, 06-Nov-94 08:49:37 GMT",
		"Sunday 06-Nov-94 08:49:37 GMT",
		"Sun Nov 6 08:49:37 1994",
		"Sun Nov  6 08:49:37 94",
		"Sun Nov  6 08:49:37 1994 ",
		"Sun Nov  0 08:49:37 1994",
		"Sun Nov 31 08:49:37 1994",
		"Sun Nov x6 08:49:37 1994",
		"Sun Nov  6 08:49:37 GMT",
		"Sun, Nov  6 08:49:37 1994",
		"1994-11-06T08:49:37Z",
		"784111777",
	};
	time_t t = (time_t)-12345;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(http_parse_date(bad[i], strlen(bad[i]), &t) == -1, "\"%s\" accepted",
		    bad[i]);
	ck_assert_int_eq(t, -12345);
	/* Taken by its length: the first 29 bytes of a longer string. */
	ck_assert_int_eq(http_parse_date("Sun, 06 Nov 1994 08:49:37 GMTxx", 29, &t), 0);
	ck_assert_int_eq(t, 784111777);
}
END_TEST

/* A two-digit year is within 50 years of this one (RFC 9110 5.6.7). */
START_TEST(test_date_rfc850_year)
{
	time_t now = time(NULL);
	struct tm tm;
	char s[64];
	int year;

	ck_assert_ptr_nonnull(gmtime_r(&now, &tm));
	year = tm.tm_year + 1900;
	for (int ahead = -99; ahead <= 100; ahead++) {
		int y = year + ahead, want = ahead > 50 ? y - 100 : ahead <= -50 ? y + 100 : y;
		struct tm w = { .tm_year = want - 1900, .tm_mon = 0, .tm_mday = 2 };
		snprintf(s, sizeof(s), "Monday, 02-Jan-%02d 00:00:00 GMT", y % 100);
		ck_assert_msg(date_of(s) == timegm(&w), "%s (this year %d): wanted %d", s, year,
		    want);
	}
}
END_TEST

/* http_date then http_parse_date gives t back, in each of the three forms. */
START_TEST(test_date_roundtrip)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
		"Sep", "Oct", "Nov", "Dec" };
	static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	unsigned seed = 2026;
	char out[HTTP_DATE_LEN + 1], s[64];
	time_t t, back;
	struct tm tm;

	for (int i = 0; i < 20000; i++) {
		/* Years 0000 to 9999, and then around now. */
		long long v = (long long)(((unsigned long long)rand_r(&seed) << 31) ^
		                  (unsigned long long)rand_r(&seed)) %
		    (253402300799LL + 62167219200LL + 1);
		t = (time_t)(i % 2 ? v - 62167219200LL : 1700000000LL + v % 400000000LL);
		REQUIRE(http_date(out, t) == HTTP_DATE_LEN && strlen(out) == HTTP_DATE_LEN);
		REQUIRE(http_parse_date(out, HTTP_DATE_LEN, &back) == 0 && back == t);
		/* The same instant in asctime's form. */
		REQUIRE(gmtime_r(&t, &tm) != NULL);
		snprintf(s, sizeof(s), "%s %s %2d %02d:%02d:%02d %04d", wday[tm.tm_wday],
		    mon[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    tm.tm_year + 1900);
		REQUIRE(http_parse_date(s, strlen(s), &back) == 0 && back == t);
	}
	/* RFC 850, for this century's years around now (the window moves). */
	for (t = 1700000000; t < 1900000000; t += 86400 * 7 + 3601) {
		static const char *const longday[] = { "Sunday", "Monday", "Tuesday", "Wednesday",
			"Thursday", "Friday", "Saturday" };
		REQUIRE(gmtime_r(&t, &tm) != NULL);
		snprintf(s, sizeof(s), "%s, %02d-%s-%02d %02d:%02d:%02d GMT", longday[tm.tm_wday],
		    tm.tm_mday, mon[tm.tm_mon], tm.tm_year % 100, tm.tm_hour, tm.tm_min, tm.tm_sec);
		REQUIRE(http_parse_date(s, strlen(s), &back) == 0 && back == t);
	}
}
END_TEST

/* http_etag_match: If-None-Match, etag, result. */
static const struct {
	const char *inm;
	const char *etag;
	bool want;
} etags[] = {
	{ "\"a\"", "\"a\"", true },
	{ "W/\"a\"", "\"a\"", true },
	{ "\"a\"", "W/\"a\"", true },
	{ "W/\"a\"", "W/\"a\"", true },
	{ "\"b\"", "\"a\"", false },
	{ "\"b\", \"a\"", "\"a\"", true },
	{ "\"b\",\"a\"", "\"a\"", true },
	{ "\"a\" , W/\"b\"", "\"b\"", true },
	{ " \"a\" ", "\"a\"", true },
	{ ", ,\"a\",", "\"a\"", true },
	{ "\"a,b\"", "\"a,b\"", true },
	{ "\"a,b\"", "\"a\"", false },
	{ "\"\"", "\"\"", true },
	{ "\"\"", "\"a\"", false },
	{ "\"A\"", "\"a\"", false },
	{ "\"a\"", "\"ab\"", false },
	{ "\"ab\"", "\"a\"", false },
	{ "\"caf\xc3\xa9\"", "\"caf\xc3\xa9\"", true },
	{ "*", "\"a\"", true },
	{ " * ", "W/\"x\"", true },
	/* not a valid list: nothing matches */
	{ "*, \"a\"", "\"a\"", false },
	{ "\"a\", *", "\"a\"", false },
	{ "\"a", "\"a\"", false },
	{ "a", "a", false },
	{ "\"a\" \"b\"", "\"a\"", false },
	{ "\"a\"\"b\"", "\"a\"", false },
	{ "\"a\", junk", "\"a\"", false },
	{ "junk, \"a\"", "\"a\"", false },
	{ "w/\"a\"", "\"a\"", false },
	{ "W/ \"a\"", "\"a\"", false },
	{ "\"a b\"", "\"a b\"", false },
	{ "\"a\x7f\"", "\"a\x7f\"", false },
	{ "", "\"a\"", false },
	{ "**", "\"a\"", false },
	/* not a valid etag: matches nothing */
	{ "\"a\"", "a", false },
	{ "*", "a", false },
	{ "\"a\"", "\"a\" ", false },
	{ "\"a\"", "", false },
};

START_TEST(test_etag)
{
	bool got = http_etag_match(etags[_i].inm, strlen(etags[_i].inm), etags[_i].etag);

	ck_assert_msg(got == etags[_i].want, "'%s' against '%s': %d", etags[_i].inm, etags[_i].etag,
	    got);
}
END_TEST

START_TEST(test_etag_edges)
{
	ck_assert(!http_etag_match("*", 1, NULL));
	/* By its length: "\"a\"" of "\"a\"x". */
	ck_assert(http_etag_match("\"a\"x", 3, "\"a\""));
	ck_assert(!http_etag_match("\"a\"x", 4, "\"a\""));
	ck_assert(!http_etag_match("\"a\"", 2, "\"a\""));
}
END_TEST

START_TEST(test_reason)
{
	static const struct {
		int status;
		const char *reason;
	} r[] = {
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
		{ 0, "" },
		{ -400, "" },
		{ 202, "" },
		{ 418, "" },
		{ 999, "" },
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		ck_assert_str_eq(http_reason(r[i].status), r[i].reason);
}
END_TEST

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("head");

	tcase_add_loop_test(tc, test_cases, 0, NCASES(cases));
	tcase_add_test(tc, test_date_vs_gmtime);
	tcase_add_test(tc, test_put_numbers);
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_fields_absent);
	tcase_add_test(tc, test_methods);
	tcase_add_loop_test(tc, test_keep_alive, 0, NCASES(keep));
	tcase_add_test(tc, test_expect);
	tcase_add_test(tc, test_content_length);
	tcase_add_test(tc, test_chunked_501);
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_limit);
	tcase_add_test(tc, test_bytes);
	tcase_add_test(tc, test_head_end);
	tcase_add_test(tc, test_random_prefixes);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_loop_test(tc, test_decode_path, 0, NCASES(paths));
	tcase_add_test(tc, test_decode_path_room);
	tcase_add_loop_test(tc, test_range, 0, NCASES(ranges));
	tcase_add_test(tc, test_range_length);
	tcase_add_test(tc, test_date_format);
	tcase_add_test(tc, test_date_parse);
	tcase_add_test(tc, test_date_bad);
	tcase_add_test(tc, test_date_rfc850_year);
	tcase_add_test(tc, test_date_roundtrip);
	tcase_add_loop_test(tc, test_etag, 0, NCASES(etags));
	tcase_add_test(tc, test_etag_edges);
	tcase_add_test(tc, test_reason);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
