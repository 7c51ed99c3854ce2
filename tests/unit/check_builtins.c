/* check_builtins.c - unit tests for the inetd built-ins: discard, chargen, daytime, time. */
#include <check.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "handler.h"
#include "net.h"
#include "sink.h"
#include "unit.h"

#define LINE_LEN  74 /* chargen: 72 characters + CR LF */
#define SECS_1900 2208988800u

/* Input with every byte value, NULs and line ends among them. */
static char input[700];

static void
input_init(void)
{
	for (size_t i = 0; i < sizeof(input); i++)
		input[i] = (char)(i % 7 == 0 ? '\n' : i * 31);
}

/* The core's part: "sends" everything pending. */
static void
drain(struct sink *s, struct bytes *got)
{
	if (sink_pending(s) > 0)
		bytes_add(got, sink_peek(s), sink_pending(s));
	sink_clear(s);
}

/* One connection of a built-in, from open. */
struct conn {
	const struct handler *h;
	struct service svc;
	struct peer pe;
	struct sink s;
	void *st;
};

static void
conn_open(struct conn *c, const char *name, size_t cap)
{
	memset(c, 0, sizeof(*c));
	c->h = handler_find(name);
	ck_assert_ptr_nonnull(c->h);
	c->svc.name = (char *)"test";
	c->svc.handler = c->h;
	snprintf(c->pe.text, sizeof(c->pe.text), "127.0.0.1:7");
	c->s = (struct sink)SINK_INIT(cap);
	c->st = calloc(1, c->h->state_size > 0 ? c->h->state_size : 1);
	ck_assert_ptr_nonnull(c->st);
	ck_assert_int_eq(c->h->open(c->st, &c->svc, &c->pe, &c->s), 0);
}

static void
conn_close(struct conn *c)
{
	c->h->close(c->st);
	free(c->st);
	sink_clear(&c->s);
}

/*
 * Feeds n bytes in chunks the way the core does; every built-in drops its
 * input, so it must take each chunk whole and write nothing.
 */
static void
feed_dropped(struct conn *c, const char *in, size_t n, size_t chunk)
{
	size_t before = sink_pending(&c->s);

	for (size_t off = 0; off < n; off += chunk) {
		size_t m = n - off < chunk ? n - off : chunk;
		REQUIRE(c->h->data(c->st, in + off, m, &c->s) == (ssize_t)m);
	}
	REQUIRE(sink_pending(&c->s) == before);
}

/* ---- discard ---- */

START_TEST(test_discard)
{
	for (size_t chunk = 1; chunk <= sizeof(input); chunk++) {
		for (size_t cap = 1; cap <= 4096; cap *= 64) {
			struct conn c;
			conn_open(&c, "discard", cap);
			REQUIRE(sink_pending(&c.s) == 0);
			feed_dropped(&c, input, sizeof(input), chunk);
			REQUIRE(c.h->eof(c.st, &c.s) == 0);
			REQUIRE(sink_pending(&c.s) == 0);
			/* The core closes after the half-close, not the handler. */
			REQUIRE(!c.s.close_after && !c.s.more);
			conn_close(&c);
		}
	}
	ck_assert_uint_eq(handler_discard.state_size, 0);
	ck_assert_ptr_null(handler_discard.more);
}
END_TEST

/* ---- chargen ---- */

/* Line k of the stream, written independently of the handler. */
static void
cg_line(size_t k, char *line)
{
	for (size_t i = 0; i < 72; i++)
		line[i] = (char)(' ' + (k + i) % 95);
	line[72] = '\r';
	line[73] = '\n';
}

/*
 * The core's part for a handler that speaks without input: more() while
 * the sink has room (never when full), sending in between, until at least
 * want bytes came back.
 */
static void
cg_pull(struct conn *c, struct bytes *got, size_t want)
{
	while (got->len < want) {
		REQUIRE(c->s.more);
		REQUIRE(!sink_full(&c->s));
		REQUIRE(c->h->more(c->st, &c->s) == 0);
		/* Whole lines, and only while there was room: at most one
		 * line beyond the cap. */
		REQUIRE(sink_full(&c->s));
		REQUIRE(sink_pending(&c->s) % LINE_LEN == 0);
		REQUIRE(sink_pending(&c->s) < c->s.cap + LINE_LEN);
		drain(&c->s, got);
	}
}

START_TEST(test_chargen_lines)
{
	static const char first[] =
	    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n"
	    "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n"
	    "\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghi\r\n";
	struct conn c;
	struct bytes got = { 0 };

	ck_assert_uint_eq(sizeof(first) - 1, 3 * LINE_LEN);
	conn_open(&c, "chargen", 3 * LINE_LEN);
	/* It asks for more() in open; writes nothing there itself. */
	ck_assert(c.s.more);
	ck_assert(!c.s.close_after);
	ck_assert_uint_eq(sink_pending(&c.s), 0);
	cg_pull(&c, &got, 3 * LINE_LEN);
	ck_assert_uint_eq(got.len, 3 * LINE_LEN);
	ck_assert_mem_eq(got.p, first, 3 * LINE_LEN);
	conn_close(&c);
	free(got.p);
}
END_TEST

/* The stream, pulled with every cap from 1 to 3 lines and beyond: the
 * lines cycle with period 95, whatever the send sizes. */
START_TEST(test_chargen_stream)
{
	const size_t nlines = 2 * 95 + 7;
	size_t caps[] = { 1, 2, 73, 74, 75, 148, 222, 1000, 4096 };

	for (size_t ci = 0; ci < sizeof(caps) / sizeof(caps[0]); ci++) {
		struct conn c;
		struct bytes got = { 0 };
		char want[LINE_LEN];

		conn_open(&c, "chargen", caps[ci]);
		cg_pull(&c, &got, nlines * LINE_LEN);
		for (size_t k = 0; k < nlines; k++) {
			cg_line(k, want);
			REQUIRE(memcmp(got.p + k * LINE_LEN, want, LINE_LEN) == 0);
		}
		/* Line 95 is line 0 again, line 96 line 1. */
		ck_assert_mem_eq(got.p + 95 * LINE_LEN, got.p, 2 * LINE_LEN);
		ck_assert_mem_eq(got.p + 190 * LINE_LEN, got.p, LINE_LEN);
		conn_close(&c);
		free(got.p);
	}
}
END_TEST

/* max_pending 1: each more() writes exactly one line, then the sink is
 * full and a client that does not read holds it there. */
START_TEST(test_chargen_cap_one)
{
	struct conn c;
	char want[LINE_LEN];

	conn_open(&c, "chargen", 1);
	for (size_t k = 0; k < 200; k++) {
		ck_assert(!sink_full(&c.s));
		ck_assert_int_eq(c.h->more(c.st, &c.s), 0);
		ck_assert_uint_eq(sink_pending(&c.s), LINE_LEN);
		ck_assert(sink_full(&c.s));
		cg_line(k, want);
		ck_assert_mem_eq(sink_peek(&c.s), want, LINE_LEN);
		sink_clear(&c.s);
	}
	conn_close(&c);
}
END_TEST

/* Per connection: a second connection starts at line 0 again. */
START_TEST(test_chargen_per_connection)
{
	struct conn a, b;
	char want[LINE_LEN];

	conn_open(&a, "chargen", 1);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(a.h->more(a.st, &a.s), 0);
		sink_clear(&a.s);
	}
	conn_open(&b, "chargen", 1);
	ck_assert_int_eq(b.h->more(b.st, &b.s), 0);
	cg_line(0, want);
	ck_assert_mem_eq(sink_peek(&b.s), want, LINE_LEN);
	ck_assert_int_eq(a.h->more(a.st, &a.s), 0);
	cg_line(5, want);
	ck_assert_mem_eq(sink_peek(&a.s), want, LINE_LEN);
	conn_close(&a);
	conn_close(&b);
}
END_TEST

/*
 * Input is taken whole and dropped in every chunk size, whether the sink
 * is empty or full; it neither writes nor moves the stream on, and the
 * half-close changes nothing: lines go on after it.
 */
START_TEST(test_chargen_input)
{
	char want[LINE_LEN];

	for (size_t chunk = 1; chunk <= sizeof(input); chunk++) {
		struct conn c;
		conn_open(&c, "chargen", 100);
		feed_dropped(&c, input, sizeof(input), chunk);
		REQUIRE(c.h->more(c.st, &c.s) == 0);
		REQUIRE(sink_pending(&c.s) == 2 * LINE_LEN);
		feed_dropped(&c, input, sizeof(input), chunk); /* while full */
		sink_clear(&c.s);
		REQUIRE(c.h->eof(c.st, &c.s) == 0);
		REQUIRE(sink_pending(&c.s) == 0 && c.s.more && !c.s.close_after);
		REQUIRE(c.h->more(c.st, &c.s) == 0);
		cg_line(2, want);
		REQUIRE(memcmp(sink_peek(&c.s), want, LINE_LEN) == 0);
		conn_close(&c);
	}
}
END_TEST

/* ---- daytime ---- */

/* What ctime(3) would print for t in UTC, by strftime in the C locale. */
static void
ctime_utc(time_t t, char *dst, size_t len)
{
	struct tm tm;

	ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
	ck_assert_uint_gt(strftime(dst, len, "%a %b %e %H:%M:%S %Y\r\n", &tm), 0);
}

START_TEST(test_daytime)
{
	regex_t re;
	char exp[64];
	bool found = false;
	struct conn c;

	ck_assert_int_eq(regcomp(&re,
	                     "^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) "
	                     "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
	                     "( [1-9]|[12][0-9]|3[01]) "
	                     "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9] [0-9]{4}\r\n$",
	                     REG_EXTENDED | REG_NOSUB),
	    0);
	time_t t0 = time(NULL);
	conn_open(&c, "daytime", 1);
	time_t t1 = time(NULL);
	/* Speaks first, all at once, then asks the core to close. */
	ck_assert(c.s.close_after);
	ck_assert(!c.s.more);
	ck_assert_uint_eq(sink_pending(&c.s), 26);
	char *got = strndup(sink_peek(&c.s), sink_pending(&c.s));
	ck_assert_ptr_nonnull(got);
	ck_assert_msg(regexec(&re, got, 0, NULL, 0) == 0, "bad daytime: %s", got);
	/* UTC, within 2 s of the clock around the call. */
	for (time_t t = t0 - 2; t <= t1 + 2 && !found; t++) {
		ctime_utc(t, exp, sizeof(exp));
		found = strcmp(got, exp) == 0;
	}
	ck_assert_msg(found, "daytime %s is not UTC now (%s)", got, exp);
	/* Input that comes before the close is dropped; eof adds nothing. */
	for (size_t chunk = 1; chunk <= sizeof(input); chunk++)
		feed_dropped(&c, input, sizeof(input), chunk);
	ck_assert_int_eq(c.h->eof(c.st, &c.s), 0);
	ck_assert_uint_eq(sink_pending(&c.s), 26);
	ck_assert_mem_eq(sink_peek(&c.s), got, 26);
	free(got);
	conn_close(&c);
	regfree(&re);
	ck_assert_ptr_null(handler_daytime.more);
}
END_TEST

/* ---- time ---- */

START_TEST(test_time)
{
	struct conn c;

	time_t t0 = time(NULL);
	conn_open(&c, "time", 1);
	time_t t1 = time(NULL);
	ck_assert(c.s.close_after);
	ck_assert(!c.s.more);
	ck_assert_uint_eq(sink_pending(&c.s), 4);
	const unsigned char *b = (const unsigned char *)sink_peek(&c.s);
	uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	/* Mod 2^32 on both sides, so the check holds after 2036 too. */
	uint32_t lo = (uint32_t)((uint64_t)t0 + SECS_1900) - 2;
	ck_assert_msg(v - lo <= (uint32_t)(t1 - t0) + 4, "time %u, now %u", (unsigned)v,
	    (unsigned)(lo + 2));
	for (size_t chunk = 1; chunk <= sizeof(input); chunk++)
		feed_dropped(&c, input, sizeof(input), chunk);
	ck_assert_int_eq(c.h->eof(c.st, &c.s), 0);
	ck_assert_uint_eq(sink_pending(&c.s), 4);
	conn_close(&c);
	ck_assert_ptr_null(handler_time.more);
}
END_TEST

Suite *
builtins_suite(void)
{
	Suite *s = suite_create("builtins");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, input_init, NULL);
	tcase_add_test(tc, test_discard);
	tcase_add_test(tc, test_chargen_lines);
	tcase_add_test(tc, test_chargen_stream);
	tcase_add_test(tc, test_chargen_cap_one);
	tcase_add_test(tc, test_chargen_per_connection);
	tcase_add_test(tc, test_chargen_input);
	tcase_add_test(tc, test_daytime);
	tcase_add_test(tc, test_time);
	suite_add_tcase(s, tc);
	return s;
}
