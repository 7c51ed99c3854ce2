/* check_conn.c - unit tests for the connection core, driven by events alone: bytes arrived, bytes sent. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "conn.h"
#include "handler.h"
#include "net.h"
#include "sink.h"
#include "stats.h"
#include "unit.h"

/*
 * No socket and no readiness here: a test plays the driver, handing the
 * core input in chunks of its choosing and "sending" at most so many
 * bytes at a time, as a completion-based loop would.  That the core runs
 * this way is the point (issue 13, item 2).
 */

static struct svc_stats stats;

static struct service
mksvc(const struct handler *h)
{
	struct service svc;

	memset(&svc, 0, sizeof(svc));
	svc.name = (char *)"test";
	svc.handler = h;
	svc.stats = &stats;
	return svc;
}

static struct peer
mkpeer(void)
{
	struct peer pe;

	memset(&pe, 0, sizeof(pe));
	strcpy(pe.text, "127.0.0.1:1");
	return pe;
}

/* The driver "sends" up to max bytes of what is pending; how many. */
static size_t
send_some(struct conns *cs, struct conn *c, size_t max, struct bytes *got)
{
	size_t n = sink_pending(&c->out);

	if (n > max)
		n = max;
	if (n > 0) {
		bytes_add(got, sink_peek(&c->out), n);
		conn_sent(cs, c, n);
	}
	return n;
}

/* ---- a recording handler: what it was given, replies, holds on demand ---- */

struct rec {
	struct bytes seen; /* every byte consumed, in order */
	int eofs;
	int empty_calls; /* data() without input: conn_resume */
	bool hold;       /* hold the sink instead of consuming */
	size_t per_call; /* at most this much consumed per data() (0: 10) */
};

static int
rec_open(void *st, struct service *svc, const struct peer *peer, struct sink *out)
{
	(void)st;
	(void)svc;
	(void)peer;
	(void)out;
	return 0;
}

/* Consumes up to per_call bytes a round while the sink has room, echoing
 * each round as an owned copy, as a line handler replies. */
static ssize_t
rec_data(void *st, const char *p, size_t n, struct sink *out)
{
	struct rec *r = st;
	size_t used = 0, per = r->per_call > 0 ? r->per_call : 10;

	if (n == 0)
		r->empty_calls++;
	if (r->hold) {
		sink_hold(out);
		return 0;
	}
	while (used < n && !sink_full(out)) {
		size_t m = n - used < per ? n - used : per;
		if (sink_write(out, p + used, m) < 0)
			return -1;
		bytes_add(&r->seen, p + used, m);
		used += m;
	}
	return (ssize_t)used;
}

static int
rec_eof(void *st, struct sink *out)
{
	(void)out;
	((struct rec *)st)->eofs++;
	return 0;
}

static void
rec_close(void *st)
{
	free(((struct rec *)st)->seen.p);
}

static const struct handler handler_rec = {
	.name = "rec",
	.summary = "records its input (tests)",
	.state_size = sizeof(struct rec),
	.open = rec_open,
	.data = rec_data,
	.eof = rec_eof,
	.close = rec_close,
};

static struct rec *
rec_of(struct conn *c)
{
	return conn_state(c);
}

/* ---- echo through the core, hostile chunking, bounded memory ---- */

#define ECHO_LEN (1024 * 1024 + 13)
#define ECHO_CAP 4096

static const size_t echo_chunks[] = { 1, 7, 4096, 65536, ECHO_LEN };
static const size_t echo_sends[] = { 1, 1000, 1024 * 1024 };

/*
 * 1 MiB through echo with max_pending 4096, for every pairing of input
 * chunk (1 byte .. all at once) and send size: everything comes back in
 * order; input is asked for only while the handler can take it; the kept
 * input never passes one chunk and the pending replies never pass the
 * cap; the connection finishes once the half-close is handled.
 */
START_TEST(test_echo_chunked)
{
	size_t chunk = echo_chunks[_i % 5], sendmax = echo_sends[_i / 5];
	struct service svc = mksvc(handler_find("echo"));
	struct peer pe = mkpeer();
	struct conns cs = { .idle_timeout_ms = 0 };
	static char in[ECHO_LEN];
	struct bytes got = { 0 };
	size_t off = 0;
	long rounds = 0;
	struct conn *c;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 131 + i / 977);
	c = conn_new(&cs, &svc, -1, &pe, ECHO_CAP);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(cs.n, 1);
	ck_assert_int_eq(conn_start(c, &pe), 0);
	for (;;) {
		int want = conn_wants(&cs, c);

		REQUIRE(++rounds < 50L * 1000 * 1000);
		if ((want & CONN_WANT_READ) && off < sizeof(in)) {
			size_t m = sizeof(in) - off < chunk ? sizeof(in) - off : chunk;
			REQUIRE(conn_input(&cs, c, in + off, m) == 0);
			REQUIRE(c->in.len <= m);
			off += m;
		} else if ((want & CONN_WANT_READ) && !(c->flags & CONN_RD_EOF)) {
			conn_input_end(c);
		} else {
			REQUIRE(want & CONN_WANT_WRITE); /* never stuck */
		}
		REQUIRE(sink_pending(&c->out) <= ECHO_CAP);
		/* Lent bytes point into in[], which stays: no keep needed. */
		send_some(&cs, c, sendmax, &got);
		REQUIRE(conn_settle(c) == 0);
		if (conn_done(c) == CONN_FINISHED)
			break;
		REQUIRE(conn_done(c) == CONN_GOING);
	}
	ck_assert_uint_eq(got.len, sizeof(in));
	ck_assert(memcmp(got.p, in, sizeof(in)) == 0);
	ck_assert_int_eq(c->in.len, 0);
	conn_free(&cs, c);
	ck_assert_int_eq(cs.n, 0);
	free(got.p);
}
END_TEST

/* ---- speaking first, closing after, producing ---- */

/* daytime replies on open and asks to close once that is sent: the core
 * says "close gently" only when nothing is pending any more. */
START_TEST(test_daytime_close_after)
{
	struct service svc = mksvc(handler_find("daytime"));
	struct peer pe = mkpeer();
	struct bytes got = { 0 };
	struct conn *c = conn_new(NULL, &svc, -1, &pe, 4096);

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(conn_start(c, &pe), 0);
	ck_assert_uint_eq(sink_pending(&c->out), 26); /* "Sun Dec  6 05:55:49 2026\r\n" */
	ck_assert_int_eq(conn_done(c), CONN_GOING);
	ck_assert(conn_wants(NULL, c) & CONN_WANT_WRITE);
	send_some(NULL, c, 5, &got);
	ck_assert_int_eq(conn_done(c), CONN_GOING);
	send_some(NULL, c, 100, &got);
	ck_assert_int_eq(conn_done(c), CONN_CLOSE_GENTLY);
	ck_assert_uint_eq(got.len, 26);
	ck_assert(got.p[24] == '\r' && got.p[25] == '\n');
	conn_free(NULL, c);
	free(got.p);
}
END_TEST

/*
 * chargen with a client that reads slowly and then not at all: the sink
 * never holds more than max_pending plus one line, output comes only as
 * fast as it is sent, the half-close does not end it, and what was sent
 * is the RFC 864 pattern.
 */
START_TEST(test_chargen_bounded)
{
	const size_t cap = 1000;
	struct service svc = mksvc(handler_find("chargen"));
	struct peer pe = mkpeer();
	struct bytes got = { 0 };
	struct conn *c = conn_new(NULL, &svc, -1, &pe, (long)cap);

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(conn_start(c, &pe), 0);
	ck_assert(conn_producing(c));
	for (int i = 0; i < 200; i++) {
		REQUIRE(conn_settle(c) == 0);
		REQUIRE(sink_pending(&c->out) <= cap + 74);
		REQUIRE(conn_wants(NULL, c) & CONN_WANT_WRITE);
		send_some(NULL, c, 333, &got);
		if (i == 50)
			conn_input_end(c);
		REQUIRE(conn_done(c) == CONN_GOING);
	}
	/* Not reading: settling again and again queues nothing more. */
	for (int i = 0; i < 100; i++)
		REQUIRE(conn_settle(c) == 0);
	ck_assert_uint_le(sink_pending(&c->out), cap + 74);
	ck_assert_uint_eq(got.len, 200 * 333);
	for (size_t k = 0; k < got.len; k++) {
		size_t line = k / 74, col = k % 74;
		char want = col == 72 ? '\r' : col == 73 ? '\n' : (char)(0x20 + (line + col) % 95);
		REQUIRE(got.p[k] == want);
	}
	conn_free(NULL, c);
	free(got.p);
}
END_TEST

/* ---- the cut ---- */

/*
 * A connection whose replies back up keeps input; at the cut the handler
 * gets all of it (replies dropped), then what still waits in the socket,
 * then its eof, exactly once; a connection whose eof was handled is not
 * given another.
 */
START_TEST(test_cut_hands_over)
{
	struct service svc = mksvc(&handler_rec);
	struct peer pe = mkpeer();
	char kept[500], waiting[3000], buf[256];
	int sv[2];
	struct conn *c;
	struct rec *r;

	for (size_t i = 0; i < sizeof(kept); i++)
		kept[i] = (char)('a' + i % 26);
	for (size_t i = 0; i < sizeof(waiting); i++)
		waiting[i] = (char)('A' + i % 26);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c = conn_new(NULL, &svc, sv[0], &pe, 100);
	ck_assert_ptr_nonnull(c);
	r = rec_of(c);
	ck_assert_int_eq(conn_start(c, &pe), 0);
	ck_assert_int_eq(conn_input(NULL, c, kept, sizeof(kept)), 0);
	ck_assert_uint_eq(r->seen.len, 100); /* the sink filled at its cap */
	ck_assert_uint_eq(c->in.len, 400);
	ck_assert_int_eq(conn_wants(NULL, c) & CONN_WANT_READ, 0);
	ck_assert_int_eq(write(sv[1], waiting, sizeof(waiting)), (ssize_t)sizeof(waiting));
	conn_cut(c, sv[0], buf, sizeof(buf)); /* a small buffer: many reads */
	ck_assert_uint_eq(r->seen.len, sizeof(kept) + sizeof(waiting));
	ck_assert(memcmp(r->seen.p, kept, sizeof(kept)) == 0);
	ck_assert(memcmp(r->seen.p + sizeof(kept), waiting, sizeof(waiting)) == 0);
	ck_assert_int_eq(r->eofs, 1);
	ck_assert_uint_eq(sink_pending(&c->out), 0);
	conn_cut(c, -1, buf, sizeof(buf));
	ck_assert_int_eq(r->eofs, 1);
	conn_free(NULL, c);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Without a descriptor (idle expiry) the cut ends at what was received. */
START_TEST(test_cut_without_reading)
{
	struct service svc = mksvc(&handler_rec);
	struct peer pe = mkpeer();
	char buf[64];
	int sv[2];
	struct conn *c;
	struct rec *r;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c = conn_new(NULL, &svc, sv[0], &pe, 4);
	ck_assert_ptr_nonnull(c);
	r = rec_of(c);
	r->per_call = 4;
	ck_assert_int_eq(conn_input(NULL, c, "0123456789", 10), 0);
	ck_assert_int_eq(write(sv[1], "unread", 6), 6);
	conn_cut(c, -1, buf, sizeof(buf));
	ck_assert_uint_eq(r->seen.len, 10);
	ck_assert_int_eq(r->eofs, 1);
	ck_assert_int_eq(recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT), 6); /* left alone */
	conn_free(NULL, c);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ---- held sinks and the idle list ---- */

/* A handler that holds its sink stops input and is listed as held;
 * conn_resume takes it off, releases the sink and calls data() without
 * input; the kept input then flows again. */
START_TEST(test_held_resume)
{
	struct service svc = mksvc(&handler_rec);
	struct peer pe = mkpeer();
	struct conns cs = { .idle_timeout_ms = 0 };
	struct conn *c = conn_new(&cs, &svc, -1, &pe, 4096);
	struct rec *r;

	ck_assert_ptr_nonnull(c);
	r = rec_of(c);
	r->hold = true;
	ck_assert_int_eq(conn_input(&cs, c, "abc\n", 4), 0);
	ck_assert_uint_eq(c->in.len, 4);
	ck_assert_int_eq(conn_wants(&cs, c), 0);
	ck_assert_ptr_eq(cs.held, c);
	ck_assert(c->flags & CONN_HELD);
	r->hold = false;
	ck_assert_int_eq(conn_resume(&cs, c), 0);
	ck_assert_ptr_null(cs.held);
	ck_assert_int_eq(r->empty_calls, 1);
	ck_assert(!sink_full(&c->out));
	ck_assert_int_eq(conn_settle(c), 0);
	ck_assert_uint_eq(r->seen.len, 4);
	ck_assert_uint_eq(c->in.len, 0);
	ck_assert(conn_wants(&cs, c) & CONN_WANT_READ);
	conn_free(&cs, c);
}
END_TEST

/* The idle list: least recently active first, activity moves a
 * connection to the end, a held one waits for its output, not its client. */
START_TEST(test_idle_order)
{
	struct service svc = mksvc(&handler_rec);
	struct peer pe = mkpeer();
	struct conns cs = { .idle_timeout_ms = 1000 };
	struct conn *c[3];

	for (int i = 0; i < 3; i++) {
		cs.now_ms = i * 10;
		c[i] = conn_new(&cs, &svc, -1, &pe, 4096);
		ck_assert_ptr_nonnull(c[i]);
	}
	ck_assert_int_eq(conn_idle_due(&cs), 1000);
	cs.now_ms = 30;
	ck_assert_int_eq(conn_input(&cs, c[0], "x", 1), 0); /* activity */
	ck_assert_int_eq(conn_idle_due(&cs), 1010);
	cs.now_ms = 1009;
	ck_assert_ptr_null(conn_idle_expired(&cs));
	cs.now_ms = 1010;
	ck_assert_ptr_eq(conn_idle_expired(&cs), c[1]);
	conn_free(&cs, c[1]);
	/* c[2], now the least recently active, is held: it is touched and
	 * passed over, and c[0] is due. */
	sink_hold(&c[2]->out);
	ck_assert_int_eq(conn_wants(&cs, c[2]), 0);
	cs.now_ms = 1030;
	ck_assert_ptr_eq(conn_idle_expired(&cs), c[0]);
	conn_free(&cs, c[0]);
	ck_assert_int_eq(conn_idle_due(&cs), 2030);
	conn_free(&cs, c[2]);
	ck_assert_int_eq(cs.n, 0);
	ck_assert_ptr_null(cs.idle_head);
	ck_assert_ptr_null(cs.held);
}
END_TEST

Suite *
conn_suite(void)
{
	Suite *s = suite_create("conn");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_echo_chunked, 0, 15);
	tcase_add_test(tc, test_daytime_close_after);
	tcase_add_test(tc, test_chargen_bounded);
	tcase_add_test(tc, test_cut_hands_over);
	tcase_add_test(tc, test_cut_without_reading);
	tcase_add_test(tc, test_held_resume);
	tcase_add_test(tc, test_idle_order);
	suite_add_tcase(s, tc);
	return s;
}
