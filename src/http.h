/* http.h - a strict HTTP/1.x request-head parser and the helpers of the HTTP handlers (files, metrics). */
#ifndef DISPATCHD_HTTP_H
#define DISPATCHD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Request line plus headers, leading empty lines included; 431 beyond. */
#define HTTP_HEAD_MAX 8192
/* http_date's result: "Sun, 06 Nov 1994 08:49:37 GMT", and its NUL. */
#define HTTP_DATE_LEN 29

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_PUT, HTTP_OTHER };

/*
 * One request head.  Every pointer points into the bytes given to
 * http_parse_head (nothing is copied or terminated): the struct is valid
 * as long as they are, and a value is its bytes with the optional white
 * space (SP, HTAB) around it left out.
 */
struct http_req {
	enum http_method method; /* GET, HEAD and PUT (case-sensitive); OTHER any other token */
	const char *method_text;
	size_t method_len;
	const char *target; /* the request-target as sent: see http_decode_path */
	size_t target_len;
	int minor; /* 0 for HTTP/1.0; 1 for HTTP/1.1 (and 1.2 to 1.9, RFC 9110 2.5) */
	/* HTTP/1.1: unless Connection has "close"; HTTP/1.0: only when
	 * Connection has "keep-alive" and not "close" (RFC 9112 9.3). */
	bool keep_alive;
	bool has_host;
	long long content_length; /* -1 when absent */
	bool chunked;             /* Transfer-Encoding present: see -501 below */
	bool expect_continue;     /* Expect: 100-continue, in HTTP/1.1 only (RFC 9110 10.1.1) */
	/* Each of these is NULL when absent; its value otherwise (may be empty). */
	const char *range;
	size_t range_len;
	const char *if_modified_since;
	size_t ims_len;
	const char *if_none_match;
	size_t inm_len;
	const char *if_range;
	size_t if_range_len;
};

/*
 * Looks for a complete request head (request line, header lines, the
 * empty line) at the start of p[0..n).  Returns:
 *   > 0   its length, r filled: the caller consumes that many bytes; a
 *         body (content_length) or the next pipelined request follows;
 *   0     incomplete, and shorter than HTTP_HEAD_MAX: wait for more;
 *   -400  malformed (the rules are in http.c, each with its reason);
 *   -431  no end within the first HTTP_HEAD_MAX bytes (n >= HTTP_HEAD_MAX);
 *   -501  Transfer-Encoding present (r filled, r->chunked true):
 *         dispatchd takes no coded request bodies, and without their
 *         length the connection cannot go on; a caller may answer a PUT
 *         with 411 instead, as RFC 9112 6.3 allows;
 *   -505  an HTTP-version other than 1.x ("HTTP/2.0"; none at all,
 *         HTTP/0.9's "GET /", is -400).
 * r is unspecified after any other negative result.  The answer only
 * ever goes from 0 to one final result as bytes are added: once a
 * prefix of the input gives a non-zero result, the whole gives the same
 * one.  A malformed line is refused as soon as it is complete (a byte
 * that no line may hold, such as NUL, even before), so a client that
 * is not speaking HTTP gets its 400 without waiting for the timeout.
 *
 * Each call reads up to min(n, HTTP_HEAD_MAX) bytes from the start.  A
 * caller that calls again as bytes arrive should call http_head_end
 * first, which resumes where it stopped, and this only when that finds
 * an end or n reaches HTTP_HEAD_MAX (and on the first bytes, for the
 * early 400): a client sending one byte at a time then costs linear time.
 */
int http_parse_head(const char *p, size_t n, struct http_req *r);

/*
 * The length of the request head at p[0..n), through its empty line, as
 * http_parse_head would find it (leading empty lines skipped), or 0 when
 * p[0..n) holds no end yet.  Nothing is validated.  from is how many
 * bytes an earlier call on the same (grown) input scanned without an end,
 * 0 the first time: the scan resumes just before it, so each byte is read
 * about once however the input arrives.
 */
size_t http_head_end(const char *p, size_t n, size_t from);

/*
 * Decodes the path of a request-target into dst, NUL-terminated, for
 * looking up a file.  target is origin-form ("/a/b?q") or absolute-form
 * with the http scheme ("http://host:port/a/b", path "/" when empty);
 * the asterisk ("*") and authority ("host:443") forms, other schemes, an
 * empty host or a userinfo ("user@") are -400.  The query ("?...") and
 * any fragment ("#...") are dropped; each %HH (either case) is decoded,
 * %2F included, and dot-segments are left as they are ("%2e%2e" is
 * ".."): the caller refuses every segment that starts with '.'.  Returns
 * 0 with the length (without the NUL) in *outlen; -400 for a bad escape
 * ("%zz", a '%' near the end) or a NUL byte (decoded, or raw anywhere in
 * target); -414 when
 * the path and its NUL do not fit in dstlen bytes.
 */
int http_decode_path(const char *target, size_t len, char *dst, size_t dstlen, size_t *outlen);

/*
 * Applies a Range value to a representation of size bytes (RFC 9110
 * 14.1.2, 14.2): one "bytes=" range, "A-B", "A-" or "-SUFFIX".  Returns
 * 1 with the inclusive *first and *last (last clamped to size - 1, a
 * suffix longer than size meaning all of it); -1 when unsatisfiable, for
 * 416: A >= size, or a suffix of 0; 0 when the header is to be ignored
 * (a 200 with everything): another unit, more than one range (dispatchd
 * sends no multipart/byteranges), a syntax error or B < A, which RFC
 * 9110 says to ignore, and a suffix range of an empty representation
 * (satisfiable, but no first..last can say "nothing").  Numbers of any
 * length are read exactly as far as the result depends on them.
 */
int http_parse_range(const char *v, size_t len, long long size, long long *first, long long *last);

/*
 * Writes t as an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110
 * 5.6.7), with its NUL into dst, which holds HTTP_DATE_LEN + 1 bytes.
 * Names come from tables, never from the locale.  t is clamped to years
 * 0000 to 9999, which four digits can show.  Returns HTTP_DATE_LEN.
 */
size_t http_date(char *dst, time_t t);

/* v in decimal (a '-' first if negative), or in lower-case hexadecimal,
 * at d without a NUL (at most 20 and 16 bytes); returns the end.  No
 * printf on the response path: it is the costliest code a fork child
 * would page in for each response. */
char *http_put_dec(char *d, long long v);
char *http_put_hex(char *d, unsigned long long v);

/*
 * Parses an HTTP-date (RFC 9110 5.6.7) in any of its three forms:
 * "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT"
 * (RFC 850; a two-digit year is taken within 50 years of today's, as the
 * RFC says, so this reads the clock) and "Sun Nov  6 08:49:37 1994"
 * (asctime).  Strict: names as in the RFC (case-sensitive), every
 * field in range (the day within its month), nothing before or after;
 * the weekday is not checked against the date.  Returns 0 with *t, or
 * -1, when an If-Modified-Since is to be ignored.
 */
int http_parse_date(const char *v, size_t len, time_t *t);

/*
 * True when the If-None-Match value inm matches etag (an entity-tag as
 * the server sends it, "\"x\"" or "W/\"x\""), by the weak comparison of
 * RFC 9110 13.1.2: the opaque tags are equal, W/ aside.  "*" alone
 * matches any etag.  A value that is not a valid list of entity-tags
 * matches nothing, so the caller sends the full response.
 */
bool http_etag_match(const char *inm, size_t len, const char *etag);

/*
 * The reason phrase of status, "Not Found" for 404: for 200 201 204 206
 * 301 304 400 403 404 405 408 409 411 413 414 416 431 500 501 503 505;
 * "" for any other (an empty reason-phrase is valid, RFC 9112 4).
 */
const char *http_reason(int status);

/* ---- for the handlers that speak HTTP (files, metrics): http_serve.c ---- */

/*
 * A request head as it arrives.  One that comes whole in one read is
 * parsed where it lies; one that spans reads is gathered (at most
 * HTTP_HEAD_MAX + 1 bytes, so a long one is seen as too long) and parsed
 * again only once http_head_end finds its end, so a client sending one
 * byte at a time costs linear time.  Zeroed before the first use.
 */
struct http_gather {
	char *head;  /* the bytes so far of a head that spans reads, or NULL */
	size_t hlen; /* bytes in head: 0 until a head is begun */
	size_t scan; /* how far http_head_end looked */
};

/*
 * Takes p[0..n), the next bytes of a request head.  Returns 0 (all n
 * bytes taken, the head is incomplete), -1 with errno ENOMEM (drop the
 * connection), or what http_parse_head said of the whole head, with r
 * filled as it says: > 0, the head is complete and *used of the n bytes
 * were its end (a body or the next request follows); < 0, a status to
 * answer (-400 ...), *used being n.  r may point into g: after a
 * non-zero result, http_gather_reset once done with r.
 */
int http_gather(struct http_gather *g, const char *p, size_t n, struct http_req *r, size_t *used);
/* Ready for the next head; frees what g holds (also at the close). */
void http_gather_reset(struct http_gather *g);

/* One response head, as http_resp_head writes it. */
struct http_resp {
	int status;
	const char *ctype; /* Content-Type, or NULL for none */
	long long clen;    /* Content-Length, or -1 for none (204, 304) */
	const char *extra; /* more header lines, each ending CRLF, or NULL */
	const char *conn;  /* Connection's value ("close", "keep-alive"), or NULL */
};

/* What a response head takes besides its ctype and extra. */
#define HTTP_RESP_ROOM 256

/*
 * Writes the head of rs into dst, which holds HTTP_RESP_ROOM plus the
 * lengths of rs->ctype and rs->extra bytes: "HTTP/1.1 STATUS REASON",
 * Date (now), Server (dispatchd/VERSION), Content-Type, Content-Length,
 * extra, Connection, each when there is one, and the empty line.  Returns
 * its length (no NUL is written).
 */
size_t http_resp_head(char *dst, const struct http_resp *rs);

#endif
