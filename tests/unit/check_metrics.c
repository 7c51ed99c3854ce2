/* check_metrics.c - unit tests for the metrics exposition (label escaping, the text), the handler's hooks, and the record counts of record outputs. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "handler.h"
#include "metrics.h"
#include "model.h"
#include "net.h"
#include "recout.h"
#include "sink.h"
#include "stats.h"
#include "unit.h"

/* ---- label values ---- */

static const struct {
	const char *in, *want;
} esc_cases[] = {
	{ "", "" },
	{ "echo", "echo" },
	{ "a\\b", "a\\\\b" },
	{ "say \"hi\"", "say \\\"hi\\\"" },
	{ "two\nlines\n", "two\\nlines\\n" },
	{ "\\\"\n", "\\\\\\\"\\n" },
	/* Anything else passes as it is: CR, TAB, UTF-8, braces, commas. */
	{ "\r\t{a=\"b\",}=\xc3\xb6", "\r\t{a=\\\"b\\\",}=\xc3\xb6" },
};

START_TEST(test_escape)
{
	const char *in = esc_cases[_i].in, *want = esc_cases[_i].want;
	size_t wl = strlen(want);
	char out[64];

	ck_assert_uint_eq(metrics_escape(NULL, 0, in, strlen(in)), wl);
	/* Every cap: at most cap bytes written, the length always whole. */
	for (size_t cap = 0; cap <= wl + 1; cap++) {
		memset(out, '#', sizeof(out));
		ck_assert_uint_eq(metrics_escape(out, cap, in, strlen(in)), wl);
		ck_assert_int_eq(memcmp(out, want, cap < wl ? cap : wl), 0);
		ck_assert_int_eq(out[cap < wl ? cap : wl], '#');
	}
}
END_TEST

/* ---- the exposition ---- */

static struct service svcs[2];
static struct config cf;

/* Two services, their counters mapped by stats_init and set to known values. */
static void
cf_setup(void)
{
	memset(&cf, 0, sizeof(cf));
	memset(svcs, 0, sizeof(svcs));
	svcs[0].name = (char *)"echo";
	svcs[0].handler = &handler_echo;
	svcs[1].name = (char *)"odd \"one\"\\\n";
	svcs[1].handler = &handler_logger;
	cf.svcs = svcs;
	cf.nsvcs = 2;
	cf.model = model_find("poll");
	ck_assert_int_eq(stats_init(&cf), 0);
	ck_assert_ptr_eq(stats_config(), &cf);
	stats_add(&svcs[0].stats->conns_total, 12);
	stats_add(&svcs[0].stats->conns_now, 2);
	stats_add(&svcs[0].stats->bytes_in, 1234567890123ULL);
	stats_add(&svcs[0].stats->bytes_out, 99);
	stats_add(&svcs[0].stats->dgrams_in, 5);
	stats_add(&svcs[0].stats->refused[REFUSE_DENIED], 3);
	stats_add(&svcs[0].stats->refused[REFUSE_PROXY], 4);
	stats_add(&svcs[1].stats->records, 7);
}

static const char want_text[] =
    "# HELP dispatchd_build_info The version of dispatchd and the model it runs; always 1.\n"
    "# TYPE dispatchd_build_info gauge\n"
    "dispatchd_build_info{version=\"" DISPATCHD_VERSION "\",model=\"poll\"} 1\n"
    "# HELP dispatchd_connections_total Connections admitted, a scrape's own included.\n"
    "# TYPE dispatchd_connections_total counter\n"
    "dispatchd_connections_total{service=\"echo\"} 12\n"
    "dispatchd_connections_total{service=\"odd \\\"one\\\"\\\\\\n\"} 0\n"
    "# HELP dispatchd_connections_open Connections open now, a scrape's own included.\n"
    "# TYPE dispatchd_connections_open gauge\n"
    "dispatchd_connections_open{service=\"echo\"} 2\n"
    "dispatchd_connections_open{service=\"odd \\\"one\\\"\\\\\\n\"} 0\n"
    "# HELP dispatchd_received_bytes_total Bytes received on connections.\n"
    "# TYPE dispatchd_received_bytes_total counter\n"
    "dispatchd_received_bytes_total{service=\"echo\"} 1234567890123\n"
    "dispatchd_received_bytes_total{service=\"odd \\\"one\\\"\\\\\\n\"} 0\n"
    "# HELP dispatchd_sent_bytes_total Bytes sent on connections.\n"
    "# TYPE dispatchd_sent_bytes_total counter\n"
    "dispatchd_sent_bytes_total{service=\"echo\"} 99\n"
    "dispatchd_sent_bytes_total{service=\"odd \\\"one\\\"\\\\\\n\"} 0\n"
    "# HELP dispatchd_datagrams_total Datagrams received, refused ones included.\n"
    "# TYPE dispatchd_datagrams_total counter\n"
    "dispatchd_datagrams_total{service=\"echo\"} 5\n"
    "dispatchd_datagrams_total{service=\"odd \\\"one\\\"\\\\\\n\"} 0\n"
    "# HELP dispatchd_refused_total Connections and datagrams refused, by reason.\n"
    "# TYPE dispatchd_refused_total counter\n"
    "dispatchd_refused_total{service=\"echo\",reason=\"max_clients\"} 0\n"
    "dispatchd_refused_total{service=\"echo\",reason=\"no_fds\"} 0\n"
    "dispatchd_refused_total{service=\"echo\",reason=\"fd_setsize\"} 0\n"
    "dispatchd_refused_total{service=\"echo\",reason=\"denied\"} 3\n"
    "dispatchd_refused_total{service=\"echo\",reason=\"per_source\"} 0\n"
    "dispatchd_refused_total{service=\"echo\",reason=\"rate_limit\"} 0\n"
    "dispatchd_refused_total{service=\"echo\",reason=\"proxy\"} 4\n"
    "dispatchd_refused_total{service=\"odd \\\"one\\\"\\\\\\n\",reason=\"max_clients\"} 0\n"
    "dispatchd_refused_total{service=\"odd \\\"one\\\"\\\\\\n\",reason=\"no_fds\"} 0\n"
    "dispatchd_refused_total{service=\"odd \\\"one\\\"\\\\\\n\",reason=\"fd_setsize\"} 0\n"
    "dispatchd_refused_total{service=\"odd \\\"one\\\"\\\\\\n\",reason=\"denied\"} 0\n"
    "dispatchd_refused_total{service=\"odd \\\"one\\\"\\\\\\n\",reason=\"per_source\"} 0\n"
    "dispatchd_refused_total{service=\"odd \\\"one\\\"\\\\\\n\",reason=\"rate_limit\"} 0\n"
    "dispatchd_refused_total{service=\"odd \\\"one\\\"\\\\\\n\",reason=\"proxy\"} 0\n"
    "# HELP dispatchd_logger_records_total Records the logger wrote or handed to syslog, "
    "connected and disconnected included.\n"
    "# TYPE dispatchd_logger_records_total counter\n"
    "dispatchd_logger_records_total{service=\"echo\"} 0\n"
    "dispatchd_logger_records_total{service=\"odd \\\"one\\\"\\\\\\n\"} 7\n";

START_TEST(test_render)
{
	size_t wl = sizeof(want_text) - 1, n;
	char *out = malloc(wl + 16);

	cf_setup();
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(metrics_render(NULL, 0, &cf), wl);
	n = metrics_render(out, wl + 16, &cf);
	ck_assert_uint_eq(n, wl);
	out[n] = '\0';
	ck_assert_str_eq(out, want_text);
	/* Cut anywhere: at most cap bytes, the same prefix, the whole length. */
	for (size_t cap = 0; cap < wl; cap += 7) {
		memset(out, '#', wl + 16);
		ck_assert_uint_eq(metrics_render(out, cap, &cf), wl);
		ck_assert_int_eq(memcmp(out, want_text, cap), 0);
		ck_assert_int_eq(out[cap], '#');
	}
	free(out);
}
END_TEST

/* A service without counters shows zeros; a model unknown says so. */
START_TEST(test_render_no_stats)
{
	struct service one = { .name = (char *)"x" };
	struct config c = { .svcs = &one, .nsvcs = 1 };
	char out[8192];
	size_t n = metrics_render(out, sizeof(out), &c);

	ck_assert_uint_lt(n, sizeof(out));
	out[n] = '\0';
	ck_assert_ptr_nonnull(strstr(out, "model=\"unknown\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(out, "dispatchd_connections_total{service=\"x\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(out, "{service=\"x\",reason=\"proxy\"} 0\n"));
}
END_TEST

/* ---- the handler, through its hooks ---- */

/* What the core sends: every pending byte, into got. */
static void
take(struct sink *s, struct bytes *got)
{
	if (sink_pending(s) > 0) {
		bytes_add(got, sink_peek(s), sink_pending(s));
		sink_consume(s, sink_pending(s));
	}
}

/* One connection fed in chunks of chunk bytes; what it sent back. */
static struct bytes
run_metrics(const char *in, size_t n, size_t chunk, bool timeout, bool *closed)
{
	const struct handler *h = handler_find("metrics");
	struct sink s = SINK_INIT(1024);
	struct peer pe;
	struct bytes got = { 0 };
	void *st = calloc(1, h->state_size);
	char err[128];

	ck_assert_ptr_nonnull(st);
	memset(&pe, 0, sizeof(pe));
	snprintf(pe.text, sizeof(pe.text), "127.0.0.1:9");
	svcs[0].request_timeout = 10;
	ck_assert_int_eq(h->setup(&svcs[0], err, sizeof(err)), 0);
	ck_assert_int_eq(h->open(st, &svcs[0], &pe, &s), 0);
	ck_assert(s.timer_req && s.timer_ms == 10000);
	for (size_t off = 0; off < n;) {
		size_t m = n - off < chunk ? n - off : chunk;
		ssize_t r = h->data(st, in + off, m, &s);
		ck_assert_int_ge(r, 1);
		off += (size_t)r;
		take(&s, &got);
	}
	if (timeout) {
		ck_assert_int_eq(h->timeout(st, &s), 0);
		take(&s, &got);
	}
	*closed = s.close_after;
	h->close(st);
	free(st);
	sink_clear(&s);
	return got;
}

START_TEST(test_handler)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char two[] = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
	                          "GET /other HTTP/1.1\r\nHost: a\r\n\r\n";
	bool closed;
	struct bytes b;

	cf_setup();
	ck_assert_ptr_null(handler_find("metrics")->datagram);
	/* Whole, in pieces, a byte at a time: the same one response. */
	for (size_t chunk = 1; chunk <= sizeof(req); chunk++) {
		b = run_metrics(req, sizeof(req) - 1, chunk, false, &closed);
		ck_assert(closed);
		ck_assert_int_eq(strncmp(b.p, "HTTP/1.1 200 OK\r\n", 17), 0);
		ck_assert_ptr_nonnull(
		    strstr(b.p, "\r\nContent-Type: text/plain; version=0.0.4\r\n"));
		ck_assert_ptr_nonnull(strstr(b.p, "\r\nConnection: close\r\n"));
		const char *body = strstr(b.p, "\r\n\r\n") + 4;
		char cl[64];
		snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", strlen(body));
		ck_assert_ptr_nonnull(strstr(b.p, cl));
		ck_assert_str_eq(body, want_text);
		free(b.p);
	}
	/* A pipelined second request is dropped: one response. */
	b = run_metrics(two, sizeof(two) - 1, sizeof(two), false, &closed);
	ck_assert(closed);
	ck_assert_ptr_null(strstr(b.p + 1, "HTTP/1.1"));
	free(b.p);
	/* HEAD: the head alone, the GET's length. */
	b = run_metrics("HEAD /metrics HTTP/1.0\r\n\r\n", 26, 26, false, &closed);
	ck_assert_int_eq(strncmp(b.p, "HTTP/1.1 200 OK\r\n", 17), 0);
	ck_assert_uint_eq(strlen(strstr(b.p, "\r\n\r\n")), 4);
	free(b.p);
}
END_TEST

static const struct {
	const char *req;
	const char *status; /* the status line */
	const char *extra;  /* a header the response must have, or NULL */
} err_cases[] = {
	{ "GET /other HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 404 Not Found\r\n", NULL },
	{ "GET /metricsx HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 404 Not Found\r\n", NULL },
	{ "GET /very/long/path/that/is/not/metrics/at/all HTTP/1.1\r\nHost: a\r\n\r\n",
	    "HTTP/1.1 404 Not Found\r\n", NULL },
	{ "POST /metrics HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 405 Method Not Allowed\r\n",
	    "\r\nAllow: GET, HEAD\r\n" },
	{ "GET /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n", NULL }, /* no Host */
	{ "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n", NULL },
	{ "\x16\x03\x01", "HTTP/1.1 400 Bad Request\r\n", NULL }, /* TLS */
	{ "GET /metrics HTTP/3.0\r\n\r\n", "HTTP/1.1 505 ", NULL },
};

START_TEST(test_handler_errors)
{
	bool closed;
	struct bytes b;

	cf_setup();
	b = run_metrics(err_cases[_i].req, strlen(err_cases[_i].req), 3, false, &closed);
	ck_assert_msg(b.p != NULL &&
	        strncmp(b.p, err_cases[_i].status, strlen(err_cases[_i].status)) == 0,
	    "%s: got %s", err_cases[_i].req, b.p);
	ck_assert(closed);
	ck_assert_ptr_nonnull(strstr(b.p, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
	if (err_cases[_i].extra != NULL)
		ck_assert_ptr_nonnull(strstr(b.p, err_cases[_i].extra));
	free(b.p);
}
END_TEST

/* A head that does not come whole: 408 at the timeout. */
START_TEST(test_handler_timeout)
{
	bool closed;
	struct bytes b;

	cf_setup();
	b = run_metrics("GET /met", 8, 8, true, &closed);
	ck_assert(closed);
	ck_assert_int_eq(strncmp(b.p, "HTTP/1.1 408 Request Timeout\r\n", 30), 0);
	free(b.p);
	b = run_metrics("", 0, 1, true, &closed);
	ck_assert_int_eq(strncmp(b.p, "HTTP/1.1 408 ", 13), 0);
	free(b.p);
}
END_TEST

/* ---- record counts ---- */

static char tmpdir[64];

static void
tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/check_metrics.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
tmp_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "check_metrics: cannot remove %s\n", tmpdir);
}

static enum recout_fate
put_rec(struct recout *o, atomic_ullong *count, size_t len)
{
	char rec[512];

	memset(rec, 'r', len - 1);
	rec[len - 1] = '\n';
	return recout_write(o, rec, len, count);
}

/* A file counts every record written; NULL counts nothing. */
START_TEST(test_count_file)
{
	char path[128], err[256];
	atomic_ullong n = 0;
	struct recout *o;

	snprintf(path, sizeof(path), "%s/f.log", tmpdir);
	o = recout_get(path, err, sizeof(err));
	ck_assert_ptr_nonnull(o);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(put_rec(o, &n, 20), RECOUT_WRITTEN);
	ck_assert_int_eq(put_rec(o, NULL, 20), RECOUT_WRITTEN);
	ck_assert_uint_eq(atomic_load(&n), 5);
	recout_put(o);
}
END_TEST

/*
 * A pipe, where one thread serves everyone (handler_nowait): a record
 * the pipe cannot take is queued and counted only once the queue wrote
 * it; records of another counter sharing the queue count apart; records
 * the queue gives up (the reader left) are never counted.
 */
START_TEST(test_count_queue)
{
	char path[128], err[256], sink[65536];
	atomic_ullong a = 0, b = 0;
	unsigned long long written = 0, queued = 0;
	struct recout *o;
	bool room;
	int rd;

	signal(SIGPIPE, SIG_IGN); /* as the server: a reader gone is EPIPE */
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	rd = open(path, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rd, 0);
	o = recout_get(path, err, sizeof(err));
	ck_assert_msg(o != NULL, "%s", err);
	handler_nowait = true;
	/* Fill the pipe: the first record that does not fit is queued. */
	for (;;) {
		enum recout_fate f = put_rec(o, &a, 500);
		ck_assert_int_ne(f, RECOUT_LOST);
		if (f == RECOUT_QUEUED)
			break;
		written++;
	}
	ck_assert_uint_eq(atomic_load(&a), written);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(put_rec(o, &b, 100), RECOUT_QUEUED);
	ck_assert_int_eq(put_rec(o, &a, 100), RECOUT_QUEUED);
	ck_assert_int_eq(put_rec(o, NULL, 100), RECOUT_QUEUED);
	queued = 2;
	ck_assert_uint_eq(atomic_load(&a), written);
	ck_assert_uint_eq(atomic_load(&b), 0);
	/* The reader drains; the queue is written: both counters settle. */
	while (recout_queued(o)) {
		while (read(rd, sink, sizeof(sink)) > 0)
			;
		recout_flush(o, &room);
	}
	ck_assert_uint_eq(atomic_load(&a), written + queued);
	ck_assert_uint_eq(atomic_load(&b), 3);

	/* Full again, then the reader leaves: what was queued is lost. */
	while (put_rec(o, &a, 500) == RECOUT_WRITTEN)
		written++;
	ck_assert_int_eq(put_rec(o, &b, 100), RECOUT_QUEUED);
	unsigned long long before_a = atomic_load(&a);
	close(rd);
	ck_assert_int_eq(recout_flush(o, &room), -1);
	ck_assert(!recout_queued(o));
	ck_assert_uint_eq(atomic_load(&a), before_a);
	ck_assert_uint_eq(atomic_load(&b), 3);
	handler_nowait = false;
	recout_put(o);
}
END_TEST

Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");
	TCase *tr = tcase_create("recout");

	tcase_add_loop_test(tc, test_escape, 0, (int)(sizeof(esc_cases) / sizeof(esc_cases[0])));
	tcase_add_test(tc, test_render);
	tcase_add_test(tc, test_render_no_stats);
	tcase_add_test(tc, test_handler);
	tcase_add_loop_test(tc, test_handler_errors, 0,
	    (int)(sizeof(err_cases) / sizeof(err_cases[0])));
	tcase_add_test(tc, test_handler_timeout);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tr, tmp_setup, tmp_teardown);
	tcase_add_test(tr, test_count_file);
	tcase_add_test(tr, test_count_queue);
	suite_add_tcase(s, tr);
	return s;
}
