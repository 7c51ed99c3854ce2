/* check_dgram.c - datagram listeners (udp:, unixgram:) under every model: each handler, real clients, floods, access, the reflection guard, activation, SIGTERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define D H_DEADLINE_MS
/* For waits on a server that has a lot to do (a flood, children). */
#define DS (H_DEADLINE_MS * (int)h_time_scale())
/* How long "no reply" is watched for: an absence can only be sampled. */
#define QUIET_MS 150

/* RFC 868: seconds from 1900-01-01 to 1970-01-01. */

/* The three ways to reach a service: UDP over IPv4, over IPv6, unixgram. */
enum tp { TP_V4, TP_V6, TP_UNIX, TP_N };
static const char *const tp_name[TP_N] = { "udp v4", "udp v6", "unixgram" };
static const char *const tp_prefix[TP_N] = { "udp:127.0.0.1:", "udp:[::1]:", "unixgram:" };

/* ---- helpers ---------------------------------------------------------- */

/*
 * Starts model with the configuration text (written to the test's temp
 * dir) and the extra arguments, and waits for nls listening lines.
 */
static void
start_conf(struct srv *s, const char *model, const char *text, int nls, const char *const *extra)
{
	const char *args[24] = { "-m", model, "-c", h_write_conf(h_tmpdir(), text) };
	int n = 4;

	for (; extra != NULL && *extra != NULL && n < 23; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	H_ASSERT(srv_start_n(s, args, nls) == 0, "%s: server did not start", model);
}

/*
 * A service's three listen addresses (v4, v6, a unixgram socket in the
 * temp dir) as a libconfuse list, for the config text.
 */
static const char *
listen3(const char *svc)
{
	static char buf[4][PATH_MAX + 128];
	static int ring;
	char *b = buf[ring++ % 4];

	snprintf(b, sizeof buf[0], "{\"udp:127.0.0.1:0\", \"udp:[::1]:0\", \"unixgram:%s\"}",
	    h_path(h_tmpdir(), svc));
	return b;
}

/* The listening line of service svc whose address starts with prefix. */
static const struct srv_listen *
find_ls(const struct srv *s, const char *svc, const char *prefix)
{
	for (int i = 0; i < s->nls; i++)
		if (strcmp(s->ls[i].service, svc) == 0 &&
		    strncmp(s->ls[i].addr, prefix, strlen(prefix)) == 0)
			return &s->ls[i];
	H_ASSERT(0, "no listening line '%s... (%s, ...)'", prefix, svc);
	return NULL;
}

/*
 * A client of service svc over tp: a connected socket, so that only
 * replies from the very address and port it sent to reach it.  A unixgram
 * client is bound to a fresh path in the temp dir (else it cannot be
 * answered).
 */
static int
client(const char *model, const struct srv *s, const char *svc, enum tp tp)
{
	const struct srv_listen *l = find_ls(s, svc, tp_prefix[tp]);
	static int seq;
	char name[64];
	int fd;

	if (tp == TP_UNIX) {
		snprintf(name, sizeof name, "cli-%d.sock", seq++);
		fd = cli_unixgram(l->addr + strlen("unixgram:"), h_path(h_tmpdir(), name));
	} else {
		fd = cli_udp(tp == TP_V4 ? "127.0.0.1" : "::1", l->port);
	}
	H_ASSERT(fd >= 0, "%s: %s client of %s (%s): %s", model, tp_name[tp], svc, l->addr, H_ERR);
	return fd;
}

static void
send_ok(const char *model, const char *what, int fd, const void *p, size_t n)
{
	H_ASSERT(cli_dgram_send(fd, p, n) == 0, "%s: %s: sending %zu bytes: %s", model, what, n,
	    H_ERR);
}

/* Receives one datagram (up to 65536 bytes) within timeout_ms; its length. */
static size_t
recv_ok(const char *model, const char *what, int fd, char *buf, int timeout_ms)
{
	ssize_t r = cli_dgram_recv(fd, buf, 65536, timeout_ms);

	H_ASSERT(r >= 0, "%s: %s: no reply datagram within %d ms: %s", model, what, timeout_ms,
	    H_ERR);
	H_ASSERT(r <= 65536, "%s: %s: a reply of %zd bytes", model, what, r);
	return (size_t)r;
}

/* Nothing arrives on fd within QUIET_MS. */
static void
quiet_ok(const char *model, const char *what, int fd)
{
	char buf[64];
	ssize_t r = cli_dgram_recv(fd, buf, sizeof buf, QUIET_MS);

	H_ASSERT(r == -1 && errno == ETIMEDOUT, "%s: %s: want no reply, got %zd bytes '%s'", model,
	    what, r, r > 0 ? h_show(buf, (size_t)(r < 64 ? r : 64)) : "");
}

/* Sends p[0..n) and expects exactly want[0..wn) back as one datagram. */
static void
roundtrip(const char *model, const char *what, int fd, const void *p, size_t n, const void *want,
    size_t wn)
{
	static char buf[65536];
	size_t r;

	send_ok(model, what, fd, p, n);
	r = recv_ok(model, what, fd, buf, D);
	H_ASSERT(r == wn && memcmp(buf, want, wn) == 0,
	    "%s: %s: sent %zu bytes, got %zu bytes '%s', want %zu bytes '%s'", model, what, n, r,
	    h_show(buf, r), wn, h_show(want, wn));
}

/* The local port of a UDP socket. */
static int
local_port(int fd)
{
	int p = cli_local_port(fd);

	H_ASSERT(p > 0, "getsockname: %s", H_ERR);
	return p;
}

/* Waits for counter name of svc to be want, with the datagram deadline. */
#define STATUS_IS(s, who, svc, name, want)                                                      \
	do {                                                                                    \
		char got_[512];                                                                 \
		H_ASSERT(srv_status_num_is((s), (svc), (name), (want), got_, sizeof got_, DS),  \
		    "%s: %s counter of %s is not %ld:\n%s", (who), (name), (svc), (long)(want), \
		    got_);                                                                      \
	} while (0)

/* ---- echo ------------------------------------------------------------- */

/*
 * echo over v4, v6 and unixgram: 0, 1, 1000 binary (NULs) and 60000-byte
 * datagrams come back whole and unchanged; a batch of 20 sent before
 * reading comes back whole too; on a wildcard listener the reply leaves
 * from the address the datagram went to (127.0.0.1, 127.0.0.2, ::1).
 */
START_TEST(test_echo)
{
	const char *model = h_model(_i);
	static unsigned char big[60000];
	static char buf[65536];
	const size_t sizes[] = { 0, 1, 1000, 60000 };
	char text[2048], what[256];
	struct srv s;
	long n = 0;

	snprintf(text, sizeof text,
	    "service \"echo\" { listen = %s handler = \"echo\" }\n"
	    "service \"any\" { listen = {\"udp:*:0\"} handler = \"echo\" }\n",
	    listen3("echo.sock"));
	start_conf(&s, model, text, 4, NULL);
	h_fill(big, sizeof big, 862);
	for (int tp = 0; tp < TP_N; tp++) {
		int fd = client(model, &s, "echo", tp);
		bool seen[20] = { false };

		for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++, n++) {
			snprintf(what, sizeof what, "echo %s, %zu bytes", tp_name[tp], sizes[k]);
			roundtrip(model, what, fd, big, sizes[k], big, sizes[k]);
		}
		for (int k = 0; k < 20; k++, n++) {
			snprintf(text, sizeof text, "batch %02d %s", k, tp_name[tp]);
			send_ok(model, "echo batch", fd, text, strlen(text));
		}
		/* In any order (fork, thread): each once. */
		for (int k = 0; k < 20; k++) {
			size_t r = recv_ok(model, "echo batch", fd, buf, D);
			int id;

			snprintf(text, sizeof text, "batch %02d %s", 0, tp_name[tp]);
			H_ASSERT(r == strlen(text) && sscanf(buf, "batch %2d", &id) == 1 &&
			        id >= 0 && id < 20 && !seen[id] &&
			        memcmp(buf + 8, text + 8, r - 8) == 0,
			    "%s: echo %s batch: unexpected reply '%s'", model, tp_name[tp],
			    h_show(buf, r));
			seen[id] = true;
		}
		close(fd);
	}
	STATUS_IS(&s, model, "echo", "received", n);
	STATUS_IS(&s, model, "echo", "answered", n);
	STATUS_IS(&s, model, "echo", "dropped", 0);

	/* The wildcard listener answers from the address it was sent to. */
	{
		static const char *const dst[] = { "127.0.0.1", "127.0.0.2", "::1" };
		const struct srv_listen *l = find_ls(&s, "any", "udp:");

		for (int k = 0; k < 3; k++) {
			int fd = cli_udp(dst[k], l->port);

			H_ASSERT(fd >= 0, "%s: client of %s: %s", model, dst[k], H_ERR);
			snprintf(what, sizeof what, "echo on %s via %s", l->addr, dst[k]);
			roundtrip(model, what, fd, what, strlen(what), what, strlen(what));
			close(fd);
		}
	}
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- timestamp -------------------------------------------------------- */

/*
 * Checks that the r bytes at p are "[TIME] " + msg + LF with TIME a
 * well-formed RFC 3339 stamp between t0 and t1 (microseconds, 2 s slack).
 */
static void
check_stamped(const char *model, const char *what, const char *p, size_t r, const char *msg,
    size_t mn, long long t0, long long t1)
{
	long long us = 0;

	H_ASSERT(r == 1 + H_TS_LEN + 2 + mn + 1 && p[0] == '[' && h_parse_ts(p + 1, &us) &&
	        memcmp(p + 1 + H_TS_LEN, "] ", 2) == 0 && memcmp(p + 3 + H_TS_LEN, msg, mn) == 0 &&
	        p[r - 1] == '\n',
	    "%s: %s: got %zu bytes '%s', want '[TIME] %s\\n'", model, what, r, h_show(p, r),
	    h_show(msg, mn));
	H_ASSERT(us >= t0 - 2000000 && us <= t1 + 2000000, "%s: %s: stamp '%.*s' off the clock",
	    model, what, H_TS_LEN, p + 1);
}

/* One datagram and its expected message (the reply less stamp and LF). */
struct ts_case {
	const char *in;
	size_t n;
	const char *msg;
	size_t mn;
};
#define TSC(in, msg)                                     \
	{                                                \
		in, sizeof(in) - 1, msg, sizeof(msg) - 1 \
	}

/*
 * timestamp over v4, v6 and unixgram: one trailing LF or CR LF removed,
 * other LFs, CRs and NULs are data, an empty datagram is an empty message;
 * a message longer than max_line (16) comes back in 16-byte pieces, one
 * reply datagram each.
 */
START_TEST(test_timestamp)
{
	const char *model = h_model(_i);
	static const struct ts_case cases[] = {
		TSC("hello\n", "hello"),
		TSC("hello\r\n", "hello"),
		TSC("hello", "hello"),
		TSC("", ""),
		TSC("\n", ""),
		TSC("\r\n", ""),
		TSC("a\nb\n", "a\nb"),
		TSC("a\rb\r\r\n", "a\rb\r"),
		TSC("two\n\n", "two\n"),
		TSC("n\0l\n", "n\0l"),
	};
	static const char long_msg[] = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
	static char buf[65536];
	char text[1024], what[96];
	struct srv s;
	long n = 0;

	snprintf(text, sizeof text,
	    "max_line = 16\nservice \"ts\" { listen = %s handler = \"timestamp\" }\n",
	    listen3("ts.sock"));
	start_conf(&s, model, text, 3, NULL);
	for (int tp = 0; tp < TP_N; tp++) {
		int fd = client(model, &s, "ts", tp);

		for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++, n++) {
			long long t0 = h_wall_us(), t1;
			size_t r;

			snprintf(what, sizeof what, "timestamp %s, '%s'", tp_name[tp],
			    h_show(cases[k].in, cases[k].n));
			send_ok(model, what, fd, cases[k].in, cases[k].n);
			r = recv_ok(model, what, fd, buf, D);
			t1 = h_wall_us();
			check_stamped(model, what, buf, r, cases[k].msg, cases[k].mn, t0, t1);
		}
		/* 40 bytes, max_line 16: pieces of 16, 16 and 8, in order. */
		{
			long long t0 = h_wall_us();

			snprintf(what, sizeof what, "timestamp %s, 40 bytes, max_line 16",
			    tp_name[tp]);
			send_ok(model, what, fd, long_msg, 40);
			n++;
			for (int p = 0; p < 3; p++) {
				size_t r = recv_ok(model, what, fd, buf, D);

				check_stamped(model, what, buf, r, long_msg + 16 * p,
				    p < 2 ? 16 : 8, t0, h_wall_us());
			}
			quiet_ok(model, what, fd);
		}
		close(fd);
	}
	STATUS_IS(&s, model, "ts", "received", n);
	STATUS_IS(&s, model, "ts", "answered", n + 2 * TP_N);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- logger ----------------------------------------------------------- */

/* A datagram to the logger and the record text it must give. */
struct log_case {
	const char *in;
	size_t n;
	const char *rec;
};
#define LGC(in, rec)                    \
	{                               \
		in, sizeof(in) - 1, rec \
	}

/* An expected record: PEER and text. */
struct want_rec {
	char peer[128];
	const char *text;
	bool seen;
};

/*
 * Waits for the logger output at path to hold nwant record lines, then
 * checks that they are exactly the wanted ones (in any order: the fork and
 * thread models write concurrently), every one a line record: no
 * connected or disconnected records.
 */
static void
check_records(const char *model, const char *what, const char *path, struct want_rec *want,
    int nwant)
{
	long long end = h_now_ms() + DS;
	size_t len = 0;
	char *text = NULL, *p, *eol;
	int nrec = 0;

	for (;;) {
		free(text);
		text = h_read_file(path, &len);
		if (text != NULL && h_count(text, "\n") >= (size_t)nwant)
			break;
		H_ASSERT(h_now_ms() < end, "%s: %s: %zu of %d records in %s within %d ms:\n%s",
		    model, what, text != NULL ? h_count(text, "\n") : 0, nwant, path, DS,
		    text != NULL ? text : "(no file)");
		h_nap(5);
	}
	for (p = text; (eol = strchr(p, '\n')) != NULL; p = eol + 1) {
		struct h_record rec;
		int k;

		H_ASSERT(h_parse_record(p, (size_t)(eol - p), &rec) && rec.kind == H_REC_LINE,
		    "%s: %s: not a line record: '%.*s'", model, what, (int)(eol - p), p);
		for (k = 0; k < nwant; k++)
			if (!want[k].seen && strcmp(want[k].peer, rec.peer) == 0 &&
			    strlen(want[k].text) == rec.textlen &&
			    memcmp(want[k].text, rec.text, rec.textlen) == 0)
				break;
		H_ASSERT(k < nwant, "%s: %s: unexpected record '%.*s' in:\n%s", model, what,
		    (int)(eol - p), p, text);
		want[k].seen = true;
		nrec++;
	}
	H_ASSERT(nrec == nwant && *p == '\0', "%s: %s: %d records, want %d:\n%s", model, what, nrec,
	    nwant, text);
	free(text);
}

/* The logger's name for the client fd over tp. */
static void
peer_name(int fd, enum tp tp, char *out, size_t cap)
{
	if (tp == TP_V4)
		snprintf(out, cap, "127.0.0.1:%d", local_port(fd));
	else if (tp == TP_V6)
		snprintf(out, cap, "[::1]:%d", local_port(fd));
	else
		snprintf(out, cap, "unix");
}

/*
 * logger over v4, v6 and unixgram, with and without ack: one record
 * "TIME PEER: MESSAGE" per datagram (per max_line piece), the message
 * escaped, PEER the client's address and port; no connected or
 * disconnected records; "OK\n" per record with ack, nothing without.
 */
START_TEST(test_logger)
{
	const char *model = h_model(_i);
	static const struct log_case cases[] = {
		LGC("one", "one"),
		LGC("two\n", "two"),
		LGC("three\r\n", "three"),
		LGC("a\nb", "a\\x0Ab"),
		LGC("", ""),
		LGC("n\0ul\\", "n\\x00ul\\x5C"),
		LGC("0123456789abcdefXYZ", "0123456789abcdef"),
	};
	const int ncases = (int)(sizeof cases / sizeof cases[0]);
	const int nrec = ncases + 1; /* records per client */
	struct want_rec want[2][TP_N * 8];
	const char *dir = h_tmpdir();
	const char *svc[2] = { "log", "logack" };
	char text[2048], what[96];
	struct srv s;

	snprintf(text, sizeof text,
	    "max_line = 16\n"
	    "service \"log\" { listen = %s handler = \"logger\" output = \"%s\" }\n"
	    "service \"logack\" { listen = %s handler = \"logger\" output = \"%s\" ack = true }\n",
	    listen3("log.sock"), h_path(dir, "log.out"), listen3("logack.sock"),
	    h_path(dir, "logack.out"));
	start_conf(&s, model, text, 6, NULL);
	for (int a = 0; a < 2; a++) {
		int nw = 0;

		for (int tp = 0; tp < TP_N; tp++) {
			int fd = client(model, &s, svc[a], tp);
			char peer[128];

			peer_name(fd, tp, peer, sizeof peer);
			for (int k = 0; k < ncases; k++) {
				/* The last one is two pieces: two records. */
				int pieces = k == ncases - 1 ? 2 : 1;

				snprintf(what, sizeof what, "%s %s, '%s'", svc[a], tp_name[tp],
				    h_show(cases[k].in, cases[k].n));
				send_ok(model, what, fd, cases[k].in, cases[k].n);
				for (int p = 0; a == 1 && p < pieces; p++) {
					static char buf[65536];
					size_t r = recv_ok(model, what, fd, buf, D);

					H_ASSERT(r == 3 && memcmp(buf, "OK\n", 3) == 0,
					    "%s: %s: got '%s', want 'OK\\n'", model, what,
					    h_show(buf, r));
				}
				for (int p = 0; p < pieces; p++) {
					snprintf(want[a][nw].peer, sizeof want[a][nw].peer, "%s",
					    peer);
					want[a][nw].text = p == 0 ? cases[k].rec : "XYZ";
					want[a][nw++].seen = false;
				}
			}
			quiet_ok(model, svc[a], fd);
			close(fd);
		}
		snprintf(what, sizeof what, "%s records", svc[a]);
		check_records(model, what, h_path(dir, a == 0 ? "log.out" : "logack.out"), want[a],
		    nw);
	}
	STATUS_IS(&s, model, "log", "received", TP_N * ncases);
	STATUS_IS(&s, model, "log", "answered", 0);
	STATUS_IS(&s, model, "logack", "received", TP_N * ncases);
	STATUS_IS(&s, model, "logack", "answered", TP_N * nrec);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- discard, chargen, daytime, time ---------------------------------- */

/* The first 512 bytes of chargen's stream (RFC 864, as the SPEC lays it out). */
static void
cg_stream(char *out, size_t n)
{
	for (size_t off = 0; off < n; off++) {
		size_t k = off / 74, c = off % 74;

		if (c == 72)
			out[off] = '\r';
		else if (c == 73)
			out[off] = '\n';
		else
			out[off] = (char)(0x20 + (k % 95 + c) % 95);
	}
}

/*
 * The inetd built-ins over v4, v6 and unixgram: discard answers nothing
 * (its counters say it received them); chargen exactly min(request, 512)
 * bytes of its stream from the start; daytime one ctime line with CR LF
 * and time 4 bytes, whatever the request holds.
 */
START_TEST(test_builtins)
{
	const char *model = h_model(_i);
	static const size_t cg_sizes[] = { 0, 1, 73, 74, 75, 511, 512, 513, 60000 };
	static const size_t dc_sizes[] = { 0, 1, 1000, 60000 };
	static unsigned char big[60000];
	static char buf[65536];
	char cg[512], text[4096], what[96];
	struct srv s;

	snprintf(text, sizeof text,
	    "service \"discard\" { listen = %s handler = \"discard\" }\n"
	    "service \"chargen\" { listen = %s handler = \"chargen\" }\n"
	    "service \"daytime\" { listen = %s handler = \"daytime\" }\n"
	    "service \"time\" { listen = %s handler = \"time\" }\n",
	    listen3("discard.sock"), listen3("chargen.sock"), listen3("daytime.sock"),
	    listen3("time.sock"));
	start_conf(&s, model, text, 12, NULL);
	h_fill(big, sizeof big, 864);
	cg_stream(cg, sizeof cg);
	for (int tp = 0; tp < TP_N; tp++) {
		int fd = client(model, &s, "discard", tp);

		for (size_t k = 0; k < sizeof dc_sizes / sizeof dc_sizes[0]; k++)
			send_ok(model, "discard", fd, big, dc_sizes[k]);
		quiet_ok(model, "discard", fd);
		close(fd);

		fd = client(model, &s, "chargen", tp);
		for (size_t k = 0; k < sizeof cg_sizes / sizeof cg_sizes[0]; k++) {
			size_t n = cg_sizes[k] < 512 ? cg_sizes[k] : 512;

			snprintf(what, sizeof what, "chargen %s, %zu-byte request", tp_name[tp],
			    cg_sizes[k]);
			roundtrip(model, what, fd, big, cg_sizes[k], cg, n);
		}
		close(fd);

		fd = client(model, &s, "daytime", tp);
		for (int k = 0; k < 2; k++) {
			long long t0 = h_wall_us() / 1000000;
			size_t r;

			snprintf(what, sizeof what, "daytime %s, %s request", tp_name[tp],
			    k == 0 ? "empty" : "'hello\\n'");
			send_ok(model, what, fd, "hello\n", k == 0 ? 0 : 6);
			r = recv_ok(model, what, fd, buf, D);
			h_check_daytime(model, what, buf, r, t0, h_wall_us() / 1000000);
		}
		close(fd);

		fd = client(model, &s, "time", tp);
		for (int k = 0; k < 2; k++) {
			long long t0 = h_wall_us() / 1000000;
			size_t r;

			snprintf(what, sizeof what, "time %s, %s request", tp_name[tp],
			    k == 0 ? "empty" : "1000-byte");
			send_ok(model, what, fd, big, k == 0 ? 0 : 1000);
			r = recv_ok(model, what, fd, buf, D);
			h_check_time(model, what, (unsigned char *)buf, r, t0,
			    h_wall_us() / 1000000);
		}
		close(fd);
	}
	STATUS_IS(&s, model, "discard", "received", TP_N * 4);
	STATUS_IS(&s, model, "discard", "answered", 0);
	STATUS_IS(&s, model, "discard", "dropped", 0);
	STATUS_IS(&s, model, "chargen", "answered", TP_N * 9);
	STATUS_IS(&s, model, "daytime", "answered", TP_N * 2);
	STATUS_IS(&s, model, "time", "answered", TP_N * 2);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- real clients: nc -u, logger, socat --------------------------------- */

/* Fails the test unless program prog runs here (make deps installs pkg). */
static void
need_tool(const char *prog, const char *probe, const char *pkg)
{
	const char *const argv[] = { "sh", "-c", probe, NULL };
	struct srv t;
	int rc;

	H_ASSERT(srv_spawn_cmd(&t, argv, NULL, NULL) == 0, "spawn sh: %s", H_ERR);
	rc = srv_wait(&t, D);
	if (rc == -1)
		srv_stop(&t, SIGKILL, D);
	srv_free(&t);
	H_ASSERT(rc == 0, "%s is required (Debian package %s; make deps installs it)", prog, pkg);
}

/* A shell script run with sh -c, its arguments, and what it printed. */
struct tool {
	const char *name;
	const char *script;
	const char *arg[2];
	struct srv t;
	char *out;
};

static void
tool_spawn(struct tool *c)
{
	const char *const argv[] = { "sh", "-c", c->script, "sh", c->arg[0], c->arg[1], NULL };

	H_ASSERT(srv_spawn_cmd(&c->t, argv, NULL, NULL) == 0, "%s: spawn: %s", c->name, H_ERR);
}

static void
tool_wait(const char *model, struct tool *c)
{
	int rc = srv_wait(&c->t, 2000 + DS);

	if (rc == -1)
		srv_stop(&c->t, SIGKILL, D);
	H_ASSERT(rc == 0, "%s: %s ('%s') gave %d (-1: still running); stderr: %s", model, c->name,
	    c->script, rc, srv_log(&c->t));
	c->out = strdup(srv_stdout(&c->t));
	H_ASSERT(c->out != NULL, "strdup");
	srv_free(&c->t);
}

/*
 * A logger record of util-linux logger: "TIME 127.0.0.1:PORT: <13>..."
 * (or "unix" from logger -u) whose text ends with msg: exactly one such
 * record in the file text, from an ephemeral port (not the server's).
 */
static void
check_logger_record(const char *model, const char *text, const char *msg, const char *head,
    bool unix_peer, int server_port)
{
	const char *p = text, *eol, *found = NULL;
	struct h_record rec, got = { 0 };
	int n = 0;

	for (; (eol = strchr(p, '\n')) != NULL; p = eol + 1) {
		size_t ml = strlen(msg);

		H_ASSERT(h_parse_record(p, (size_t)(eol - p), &rec) && rec.kind == H_REC_LINE,
		    "%s: logger: not a line record: '%.*s'", model, (int)(eol - p), p);
		if (rec.textlen >= ml && memcmp(rec.text + rec.textlen - ml, msg, ml) == 0) {
			n++;
			found = p;
			got = rec;
		}
	}
	H_ASSERT(n == 1, "%s: logger: %d records ending in '%s', want 1:\n%s", model, n, msg, text);
	H_ASSERT(got.textlen > strlen(head) && memcmp(got.text, head, strlen(head)) == 0,
	    "%s: logger: record '%.*s' does not carry logger's header '%s...'", model,
	    (int)(strchr(found, '\n') - found), found, head);
	if (unix_peer) {
		H_ASSERT(strcmp(got.peer, "unix") == 0, "%s: logger -u: peer '%s', want 'unix'",
		    model, got.peer);
	} else {
		int port = -1;
		char rest;

		H_ASSERT(sscanf(got.peer, "127.0.0.1:%d%c", &port, &rest) == 1 && port >= 1024 &&
		        port <= 65535 && port != server_port,
		    "%s: logger: peer '%s', want 127.0.0.1:PORT (logger's port)", model, got.peer);
	}
}

/* Waits for path to hold n lines; its text (malloc'd). */
static char *
wait_lines(const char *model, const char *path, size_t n)
{
	long long end = h_now_ms() + DS;
	char *text = NULL;

	for (;;) {
		free(text);
		text = h_read_file(path, NULL);
		if (text != NULL && h_count(text, "\n") >= n)
			return text;
		H_ASSERT(h_now_ms() < end, "%s: %s has not %zu lines within %d ms:\n%s", model,
		    path, n, DS, text != NULL ? text : "(no file)");
		h_nap(5);
	}
}

/*
 * The clients a user has: netcat-openbsd (nc -u) against echo, timestamp
 * and daytime; util-linux logger over UDP (RFC 5424 and RFC 3164) and
 * over a unix datagram socket (logger -u) into the logger, one record
 * each carrying the datagram as logger sent it; socat over IPv6 and
 * unixgram against echo.  All at once, since nc and socat wait a second
 * for more before they exit.  Missing tools fail the test.
 */
START_TEST(test_clients)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	char text[4096], port[6][8], cpath[PATH_MAX];
	struct tool c[8] = {
		{ .name = "nc -u echo",
		    .script = "printf 'hello\\n' | nc -u -w1 127.0.0.1 \"$1\"",
		    .arg = { port[0] } },
		{ .name = "nc -u timestamp",
		    .script = "printf 'hello\\n' | nc -u -w1 127.0.0.1 \"$1\"",
		    .arg = { port[1] } },
		{ .name = "nc -u daytime",
		    .script = "printf '\\n' | nc -u -w1 127.0.0.1 \"$1\"",
		    .arg = { port[2] } },
		{ .name = "logger -d -n",
		    .script = "logger -d -n 127.0.0.1 -P \"$1\" 'hello from logger'",
		    .arg = { port[3] } },
		{ .name = "logger --rfc3164",
		    .script = "logger --rfc3164 -d -n 127.0.0.1 -P \"$1\" 'hello 3164'",
		    .arg = { port[3] } },
		{ .name = "logger -u",
		    .script = "logger -d -u \"$1\" 'hello unix'",
		    .arg = { NULL } },
		{ .name = "socat UDP6",
		    .script = "printf 'socat six' | socat -t1 - \"UDP6:[::1]:$1\"",
		    .arg = { port[4] } },
		{ .name = "socat UNIX-SENDTO",
		    .script = "printf 'socat unix' | socat -t1 - \"UNIX-SENDTO:$1,bind=$2\"",
		    .arg = { NULL, cpath } },
	};
	long long t0, t1;
	struct srv s;

	need_tool("nc", "nc -h 2>&1 | grep -q OpenBSD", "netcat-openbsd");
	need_tool("logger", "logger --version | grep -q util-linux", "bsdutils");
	need_tool("socat", "socat -V >/dev/null", "socat");
	snprintf(text, sizeof text,
	    "service \"echo\" { listen = {\"udp:127.0.0.1:0\"} handler = \"echo\" }\n"
	    "service \"ts\" { listen = {\"udp:127.0.0.1:0\"} handler = \"timestamp\" }\n"
	    "service \"day\" { listen = {\"udp:127.0.0.1:0\"} handler = \"daytime\" }\n"
	    "service \"log\" { listen = {\"udp:127.0.0.1:0\"} handler = \"logger\" "
	    "output = \"%s\" }\n"
	    "service \"ulog\" { listen = {\"unixgram:%s\"} handler = \"logger\" output = \"%s\" }\n"
	    "service \"echo6\" { listen = {\"udp:[::1]:0\"} handler = \"echo\" }\n"
	    "service \"uecho\" { listen = {\"unixgram:%s\"} handler = \"echo\" }\n",
	    h_path(dir, "log.out"), h_path(dir, "ulog.sock"), h_path(dir, "ulog.out"),
	    h_path(dir, "uecho.sock"));
	start_conf(&s, model, text, 7, NULL);
	snprintf(port[0], 8, "%d", find_ls(&s, "echo", "udp:")->port);
	snprintf(port[1], 8, "%d", find_ls(&s, "ts", "udp:")->port);
	snprintf(port[2], 8, "%d", find_ls(&s, "day", "udp:")->port);
	snprintf(port[3], 8, "%d", find_ls(&s, "log", "udp:")->port);
	snprintf(port[4], 8, "%d", find_ls(&s, "echo6", "udp:")->port);
	c[5].arg[0] = find_ls(&s, "ulog", "unixgram:")->addr + strlen("unixgram:");
	c[7].arg[0] = find_ls(&s, "uecho", "unixgram:")->addr + strlen("unixgram:");
	snprintf(cpath, sizeof cpath, "%s", h_path(dir, "socat.sock"));

	t0 = h_wall_us();
	for (int i = 0; i < 8; i++)
		tool_spawn(&c[i]);
	for (int i = 0; i < 8; i++)
		tool_wait(model, &c[i]);
	t1 = h_wall_us();

	H_ASSERT(strcmp(c[0].out, "hello\n") == 0, "%s: nc -u echo printed '%s'", model,
	    h_show(c[0].out, strlen(c[0].out)));
	check_stamped(model, "nc -u timestamp", c[1].out, strlen(c[1].out), "hello", 5, t0, t1);
	h_check_daytime(model, "nc -u daytime", c[2].out, strlen(c[2].out), t0 / 1000000,
	    t1 / 1000000);
	H_ASSERT(strcmp(c[6].out, "socat six") == 0, "%s: socat UDP6 echo printed '%s'", model,
	    h_show(c[6].out, strlen(c[6].out)));
	H_ASSERT(strcmp(c[7].out, "socat unix") == 0, "%s: socat UNIX-SENDTO echo printed '%s'",
	    model, h_show(c[7].out, strlen(c[7].out)));
	for (int i = 3; i < 6; i++)
		H_ASSERT(c[i].out[0] == '\0', "%s: %s printed '%s'", model, c[i].name, c[i].out);
	{
		char *log = wait_lines(model, h_path(dir, "log.out"), 2);
		char *ulog = wait_lines(model, h_path(dir, "ulog.out"), 1);

		H_ASSERT(h_count(log, "\n") == 2, "%s: want 2 records:\n%s", model, log);
		check_logger_record(model, log, "hello from logger", "<13>1 ", false,
		    atoi(port[3]));
		check_logger_record(model, log, "hello 3164", "<13>", false, atoi(port[3]));
		H_ASSERT(h_count(ulog, "\n") == 1, "%s: want 1 record:\n%s", model, ulog);
		check_logger_record(model, ulog, "hello unix", "<13>", true, 0);
		free(log);
		free(ulog);
	}
	for (int i = 0; i < 8; i++)
		free(c[i].out);
	STATUS_IS(&s, model, "log", "received", 2);
	STATUS_IS(&s, model, "ulog", "received", 1);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- floods --------------------------------------------------------- */

/*
 * Datagrams the kernel dropped at the UDP socket bound to 127.0.0.1:port
 * because its buffer was full (the drops column of /proc/net/udp); -1 if
 * there is no such socket.
 */
static long
kernel_drops(int port)
{
	FILE *f = fopen("/proc/net/udp", "r");
	char line[512];
	long drops = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long addr;
		unsigned p;
		long d;

		/* local, remote, st, queues, timer, retransmits, uid, timeout, inode, ref, pointer, drops */
		if (sscanf(line, " %*d: %lx:%x %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %ld", &addr,
		        &p, &d) == 3 &&
		    p == (unsigned)port && addr == 0x0100007FUL)
			drops = d;
	}
	fclose(f);
	return drops;
}

#define FLOOD_SOCKS 4
#define FLOOD_BATCH 64

/*
 * Sends up to total 32-byte datagrams as fast as possible from
 * FLOOD_SOCKS sockets taking turns, half to port a and half to port b,
 * never reading; stops early after max_ms.  Returns how many went to
 * each port (sent[0] to a, sent[1] to b).
 */
static void
flood(const char *model, int a, int b, long total, int max_ms, long sent[2])
{
	int fd[FLOOD_SOCKS];
	char payload[FLOOD_BATCH][32];
	struct mmsghdr mm[FLOOD_BATCH];
	struct iovec iov[FLOOD_BATCH];
	long long end = h_now_ms() + max_ms;

	sent[0] = sent[1] = 0;
	for (int i = 0; i < FLOOD_SOCKS; i++) {
		fd[i] = cli_udp("127.0.0.1", i % 2 == 0 ? a : b);
		H_ASSERT(fd[i] >= 0, "%s: flood socket: %s", model, H_ERR);
	}
	memset(mm, 0, sizeof mm);
	for (int k = 0; k < FLOOD_BATCH; k++) {
		memset(payload[k], 'f', sizeof payload[k]);
		iov[k].iov_base = payload[k];
		iov[k].iov_len = sizeof payload[k];
		mm[k].msg_hdr.msg_iov = &iov[k];
		mm[k].msg_hdr.msg_iovlen = 1;
	}
	for (int i = 0; sent[0] + sent[1] < total && h_now_ms() < end; i = (i + 1) % FLOOD_SOCKS) {
		int r = sendmmsg(fd[i], mm, FLOOD_BATCH, 0);

		if (r > 0)
			sent[i % 2] += r;
		else
			H_ASSERT(errno == EAGAIN || errno == ENOBUFS || errno == EINTR,
			    "%s: flood: sendmmsg: %s", model, H_ERR);
	}
	for (int i = 0; i < FLOOD_SOCKS; i++)
		close(fd[i]);
}

/*
 * Waits until the received counter of svc (UDP port) is what was sent
 * less what the kernel dropped at the socket: every datagram delivered
 * was received, once the server has read its buffer dry.
 */
static void
wait_received(struct srv *s, const char *model, const char *svc, int port, long sent)
{
	long long end = h_now_ms() + DS;
	char line[512] = "";
	long drops = -1, got = -1;

	while (h_now_ms() < end) {
		drops = kernel_drops(port);
		H_ASSERT(drops >= 0, "%s: %s: port %d is not in /proc/net/udp", model, svc, port);
		if (srv_status(s, svc, line, sizeof line, D)) {
			got = h_status_num(line, "received");
			if (got == sent - drops)
				return;
		}
		h_nap(20);
	}
	H_ASSERT(0,
	    "%s: %s: %ld datagrams sent, %ld dropped by the kernel at the socket, but %ld "
	    "received:\n%s",
	    model, svc, sent, drops, got, line);
}

/*
 * A flood of 200,000 datagrams (or as many as 4 s allow) into echo, whose
 * replies nobody reads, and into discard: the server's memory stays flat,
 * every datagram the kernel delivered is counted received (what was sent
 * less what the socket buffer dropped: /proc/net/udp), every echo one
 * answered or counted dropped, discard none; the server answers after.
 */
START_TEST(test_flood)
{
	const char *model = h_model(_i);
	const char *asan = getenv("ASAN_OPTIONS");
	char asan_env[512], text[1024], line[512];
	const char *const env[] = { asan_env, NULL };
	const char *args[] = { h_binary(), "-m", model, "-c", NULL, NULL };
	long sent[2], rss0, rss1, recv_e, ans, drop;
	int pe, pd, fd;
	struct srv s;

	/* Under ASan the quarantine would hold what the server frees (see check_builtins). */
	snprintf(asan_env, sizeof asan_env, "ASAN_OPTIONS=%s%squarantine_size_mb=0",
	    asan != NULL ? asan : "", asan != NULL && *asan != '\0' ? ":" : "");
	snprintf(text, sizeof text,
	    "service \"echo\" { listen = {\"udp:127.0.0.1:0\"} handler = \"echo\" }\n"
	    "service \"discard\" { listen = {\"udp:127.0.0.1:0\"} handler = \"discard\" }\n");
	args[4] = h_write_conf(h_tmpdir(), text);
	H_ASSERT(srv_spawn_cmd(&s, args, env, NULL) == 0 &&
	        srv_wait_listening(&s, 2, H_START_MS) == 0,
	    "%s: server did not start", model);
	pe = find_ls(&s, "echo", "udp:")->port;
	pd = find_ls(&s, "discard", "udp:")->port;
	rss0 = h_proc_kb(s.pid, "VmRSS");
	H_ASSERT(rss0 > 0, "%s: no VmRSS", model);

	flood(model, pe, pd, 200000, 4000, sent);
	rss1 = h_proc_kb(s.pid, "VmRSS");
	wait_received(&s, model, "echo", pe, sent[0]);
	wait_received(&s, model, "discard", pd, sent[1]);
	if (h_verbose())
		fprintf(stderr,
		    "%s: flood: %ld to echo (%ld dropped by the kernel), %ld to discard (%ld), "
		    "VmRSS %ld -> %ld kB\n",
		    model, sent[0], kernel_drops(pe), sent[1], kernel_drops(pd), rss0, rss1);
	H_ASSERT(srv_status(&s, "echo", line, sizeof line, D), "%s: no status", model);
	recv_e = h_status_num(line, "received");
	ans = h_status_num(line, "answered");
	drop = h_status_num(line, "dropped");
	H_ASSERT(ans >= 0 && drop >= 0 && ans + drop == recv_e,
	    "%s: echo: %ld answered + %ld dropped != %ld received:\n%s", model, ans, drop, recv_e,
	    line);
	STATUS_IS(&s, model, "discard", "answered", 0);
	STATUS_IS(&s, model, "discard", "dropped", 0);
	/* Bounded, not flat: 200,000 datagrams held anywhere would be far
	 * more.  Asserted in the plain build: under valgrind and ASan RSS
	 * measures their bookkeeping (ASan keeps a record of every thread
	 * ever created, some 140 MB for the thread model's 200,000). */
	if (!h_under_valgrind() && !h_sanitized())
		H_ASSERT(rss1 - rss0 < 16 * 1024,
		    "%s: VmRSS grew by %ld kB (%ld -> %ld) under a flood of %ld datagrams", model,
		    rss1 - rss0, rss0, rss1, sent[0] + sent[1]);
	fd = cli_udp("127.0.0.1", pe);
	H_ASSERT(fd >= 0, "%s: client: %s", model, H_ERR);
	roundtrip(model, "echo after the flood", fd, "after", 5, "after", 5);
	close(fd);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- allow, deny, rate_limit ------------------------------------------ */

/* A UDP client from address src of echo at port; fails the test if it cannot. */
static int
client_from(const char *model, const char *src, int port)
{
	int fd = cli_udp_from(src, 0, "127.0.0.1", port);

	H_ASSERT(fd >= 0, "%s: client from %s: %s", model, src, H_ERR);
	return fd;
}

/*
 * allow and deny per datagram: a denied source (127.0.0.2 on "deny", any
 * but 127.0.0.3 on "allow") gets no reply and is counted denied, the
 * others on the same socket are answered.  rate_limit 5: of 20 datagrams
 * sent at once from one address, 5 (and what the bucket refills while
 * they go) are answered, the rest counted rate_limit; another address is
 * answered meanwhile.
 */
START_TEST(test_access)
{
	const char *model = h_model(_i);
	static char buf[65536];
	char text[1024];
	struct srv s;
	int pd, pa, pr, fd, r = 0;
	long long t0, t1;

	snprintf(text, sizeof text,
	    "service \"deny\" { listen = {\"udp:127.0.0.1:0\"} handler = \"echo\" "
	    "deny = {\"127.0.0.2/32\"} }\n"
	    "service \"allow\" { listen = {\"udp:127.0.0.1:0\"} handler = \"echo\" "
	    "allow = {\"127.0.0.3/32\"} }\n"
	    "service \"rl\" { listen = {\"udp:127.0.0.1:0\"} handler = \"echo\" rate_limit = 5 }\n");
	start_conf(&s, model, text, 3, NULL);
	pd = find_ls(&s, "deny", "udp:")->port;
	pa = find_ls(&s, "allow", "udp:")->port;
	pr = find_ls(&s, "rl", "udp:")->port;

	fd = client_from(model, "127.0.0.2", pd);
	for (int k = 0; k < 3; k++)
		send_ok(model, "deny", fd, "denied", 6);
	quiet_ok(model, "a datagram from a denied source", fd);
	close(fd);
	fd = client_from(model, "127.0.0.1", pd);
	roundtrip(model, "deny: another source", fd, "ok", 2, "ok", 2);
	close(fd);
	STATUS_IS(&s, model, "deny", "denied", 3);
	STATUS_IS(&s, model, "deny", "received", 4);
	STATUS_IS(&s, model, "deny", "answered", 1);

	fd = client_from(model, "127.0.0.1", pa);
	send_ok(model, "allow", fd, "not allowed", 11);
	quiet_ok(model, "a datagram from a source not allowed", fd);
	close(fd);
	fd = client_from(model, "127.0.0.3", pa);
	roundtrip(model, "allow: the allowed source", fd, "ok", 2, "ok", 2);
	close(fd);
	STATUS_IS(&s, model, "allow", "denied", 1);
	STATUS_IS(&s, model, "allow", "answered", 1);

	fd = client_from(model, "127.0.0.1", pr);
	t0 = h_now_ms();
	for (int k = 0; k < 20; k++)
		send_ok(model, "rate_limit", fd, "rl", 2);
	while (cli_dgram_recv(fd, buf, sizeof buf, r == 0 ? D : QUIET_MS) >= 0)
		r++;
	/* The bucket refills while the server works through them: 5 a second. */
	t1 = h_now_ms();
	close(fd);
	H_ASSERT(r >= 5 && r <= 5 + 1 + (int)((t1 - t0) * 5 / 1000),
	    "%s: rate_limit 5: %d of 20 datagrams answered (sent and read in %lld ms)", model, r,
	    t1 - t0);
	STATUS_IS(&s, model, "rl", "rate_limit", 20 - r);
	STATUS_IS(&s, model, "rl", "answered", r);
	fd = client_from(model, "127.0.0.4", pr);
	roundtrip(model, "rate_limit: another source", fd, "ok", 2, "ok", 2);
	close(fd);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- the reflection guard --------------------------------------------- */

/*
 * A UDP socket bound to 127.0.0.1:port (SO_REUSEADDR: two of them share
 * it), connected to 127.0.0.1:to.  fd, or -1 with errno.
 */
static int
udp_bound(int port, int to)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in b = { .sin_family = AF_INET, .sin_port = htons((uint16_t)to) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)) == -1 ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) == -1 ||
	    connect(fd, (struct sockaddr *)&b, sizeof b) == -1) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/*
 * A client on a privileged source port (1023, or the next free one
 * below): echo sends no reply and counts the datagram dropped; a logger
 * with ack records it but sends no OK (dropped too).  Binding such a port
 * needs root or CAP_NET_BIND_SERVICE: without it the test fails.
 */
START_TEST(test_guard)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	char text[1024], rec[64];
	int pe, pl, fe = -1, fl = -1, port;
	struct srv s;

	snprintf(text, sizeof text,
	    "service \"echo\" { listen = {\"udp:127.0.0.1:0\"} handler = \"echo\" }\n"
	    "service \"log\" { listen = {\"udp:127.0.0.1:0\"} handler = \"logger\" "
	    "output = \"%s\" ack = true }\n",
	    h_path(dir, "log.out"));
	start_conf(&s, model, text, 2, NULL);
	pe = find_ls(&s, "echo", "udp:")->port;
	pl = find_ls(&s, "log", "udp:")->port;
	for (port = 1023; port > 1000; port--) {
		fe = udp_bound(port, pe);
		if (fe >= 0 || errno != EADDRINUSE)
			break;
	}
	H_ASSERT(fe >= 0,
	    "%s: cannot bind a UDP client to 127.0.0.1:%d: %s (the reflection guard test "
	    "needs root or CAP_NET_BIND_SERVICE)",
	    model, port, H_ERR);
	fl = udp_bound(port, pl);
	H_ASSERT(fl >= 0, "%s: second socket on 127.0.0.1:%d: %s", model, port, H_ERR);

	send_ok(model, "echo from a privileged port", fe, "guard", 5);
	quiet_ok(model, "echo to a privileged source port", fe);
	STATUS_IS(&s, model, "echo", "received", 1);
	STATUS_IS(&s, model, "echo", "dropped", 1);
	STATUS_IS(&s, model, "echo", "answered", 0);

	send_ok(model, "logger from a privileged port", fl, "guarded\n", 8);
	quiet_ok(model, "logger ack to a privileged source port", fl);
	snprintf(rec, sizeof rec, " 127.0.0.1:%d: guarded\n", port);
	{
		struct h_has has = { h_path(dir, "log.out"), rec };

		H_ASSERT(h_wait_for(h_file_has, &has, DS),
		    "%s: no record '%s' from the privileged port", model, rec);
	}
	STATUS_IS(&s, model, "log", "dropped", 1);
	STATUS_IS(&s, model, "log", "answered", 0);
	close(fe);
	close(fl);

	/* The same from an ordinary port is answered. */
	fe = cli_udp("127.0.0.1", pe);
	H_ASSERT(fe >= 0, "%s: client: %s", model, H_ERR);
	roundtrip(model, "echo from an ordinary port", fe, "fine", 4, "fine", 4);
	close(fe);
	STATUS_IS(&s, model, "echo", "answered", 1);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- a burst over max_clients ----------------------------------------- */

/*
 * max_clients 2, a burst of 100 datagrams sent before reading: every one
 * is answered (fork and thread hold the rest in the socket buffer while
 * two are served; the others have no limit to meet).
 */
START_TEST(test_burst)
{
	const char *model = h_model(_i);
	const char *const extra[] = { "--max-clients", "2", NULL };
	static char buf[65536];
	bool seen[100] = { false };
	char msg[32];
	struct srv s;
	int fd;

	start_conf(&s, model,
	    "service \"echo\" { listen = {\"udp:127.0.0.1:0\"} handler = \"echo\" }\n", 1, extra);
	fd = cli_udp("127.0.0.1", find_ls(&s, "echo", "udp:")->port);
	H_ASSERT(fd >= 0, "%s: client: %s", model, H_ERR);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){ 1 << 20 }, sizeof(int));
	for (int k = 0; k < 100; k++) {
		snprintf(msg, sizeof msg, "burst %03d", k);
		send_ok(model, "burst", fd, msg, strlen(msg));
	}
	for (int k = 0; k < 100; k++) {
		ssize_t r = cli_dgram_recv(fd, buf, sizeof buf, DS);
		int id = -1;

		H_ASSERT(r >= 0,
		    "%s: burst of 100 with max_clients 2: %d replies, then none within "
		    "%d ms",
		    model, k, DS);
		buf[r < 64 ? r : 63] = '\0';
		H_ASSERT(r == 9 && sscanf(buf, "burst %3d", &id) == 1 && id >= 0 && id < 100 &&
		        !seen[id],
		    "%s: burst: unexpected reply '%s'", model, h_show(buf, (size_t)r));
		seen[id] = true;
	}
	close(fd);
	STATUS_IS(&s, model, "echo", "received", 100);
	STATUS_IS(&s, model, "echo", "answered", 100);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- stream and datagram on one port ---------------------------------- */

/*
 * One echo service on TCP and UDP 127.0.0.1:P at once: both answer, the
 * TCP connection staying open across the datagrams (but under a serial
 * model, where it would hold the server).
 */
START_TEST(test_mixed)
{
	const char *model = h_model(_i);
	char text[512], tcp[64], udp[64];
	struct srv s;
	int port = -1, t, u, started = -1;

	for (int attempt = 0; attempt < 5 && started != 0; attempt++) {
		const char *args[] = { "-m", model, "-c", NULL, NULL };

		port = h_free_port();
		H_ASSERT(port > 0, "free port: %s", H_ERR);
		snprintf(text, sizeof text,
		    "service \"echo\" { listen = {\"127.0.0.1:%d\", \"udp:127.0.0.1:%d\"} "
		    "handler = \"echo\" }\n",
		    port, port);
		args[3] = h_write_conf(h_tmpdir(), text);
		started = srv_start_n(&s, args, 2);
		if (started != 0)
			srv_free(&s); /* someone took the port meanwhile */
	}
	H_ASSERT(started == 0, "%s: server did not start", model);
	snprintf(tcp, sizeof tcp, "127.0.0.1:%d", port);
	snprintf(udp, sizeof udp, "udp:127.0.0.1:%d", port);
	H_ASSERT(s.nls == 2 && strcmp(s.ls[0].addr, tcp) == 0 && strcmp(s.ls[1].addr, udp) == 0 &&
	        strcmp(s.ls[0].service, "echo") == 0 && strcmp(s.ls[1].service, "echo") == 0,
	    "%s: want 'listening on %s (echo, echo)' and '%s (echo, echo)'", model, tcp, udp);
	t = cli_connect(port);
	H_ASSERT(t >= 0 && cli_echo_ok(t, "tcp one\n"), "%s: TCP echo on %d", model, port);
	if (h_model_serial(model))
		close(t);
	u = cli_udp("127.0.0.1", port);
	H_ASSERT(u >= 0, "%s: client: %s", model, H_ERR);
	roundtrip(model, "UDP echo on the TCP port", u, "udp one", 7, "udp one", 7);
	if (!h_model_serial(model)) {
		H_ASSERT(cli_echo_ok(t, "tcp two\n"), "%s: TCP echo after UDP", model);
		close(t);
	}
	t = cli_connect(port);
	H_ASSERT(t >= 0 && cli_echo_ok(t, "tcp three\n"), "%s: second TCP connection", model);
	close(t);
	roundtrip(model, "UDP echo again", u, "udp two", 7, "udp two", 7);
	close(u);
	STATUS_IS(&s, model, "echo", "received", 2);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- socket activation ------------------------------------------------ */

#define SA_PROG "systemd-socket-activate"

/* For h_wait_for: systemd-socket-activate announced its socket, or died. */
static bool
sa_ready(void *arg)
{
	struct srv *s = arg;

	return strstr(srv_log(s), " as 3.") != NULL || !srv_alive(s);
}

/*
 * systemd-socket-activate --datagram passes a UDP socket; the first
 * datagram wakes it and execs dispatchd, which takes the socket for its
 * udp: listener, announces it and answers that datagram and the next.
 */
START_TEST(test_activation)
{
	const char *model = h_model(_i);
	char bin[PATH_MAX], sa[64], udp[64], want[160];
	static char buf[65536];
	struct srv s;
	int port = -1, fd, ok = -1;
	size_t r;

	need_tool(SA_PROG, "command -v " SA_PROG, "systemd");
	H_ASSERT(realpath(h_binary(), bin) != NULL, "realpath %s: %s", h_binary(), H_ERR);
	for (int attempt = 0; attempt < 5 && ok != 0; attempt++) {
		port = h_free_udp_port();
		H_ASSERT(port > 0, "free port: %s", H_ERR);
		snprintf(sa, sizeof sa, "127.0.0.1:%d", port);
		snprintf(udp, sizeof udp, "udp:127.0.0.1:%d", port);
		{
			const char *const argv[] = { SA_PROG, "--datagram", "-l", sa, bin, "-m",
				model, "-H", "echo", "-l", udp, NULL };

			H_ASSERT(srv_spawn_cmd(&s, argv, NULL, NULL) == 0, "spawn: %s", H_ERR);
		}
		h_wait_for(sa_ready, &s, H_START_MS);
		if (srv_alive(&s) && strstr(srv_log(&s), " as 3.") != NULL) {
			ok = 0;
		} else {
			H_ASSERT(!srv_alive(&s) && strstr(srv_log(&s), "in use") != NULL,
			    "%s: %s did not listen:\n%s", model, SA_PROG, srv_log(&s));
			srv_free(&s);
		}
	}
	H_ASSERT(ok == 0, "%s: %s: no free port", model, SA_PROG);
	fd = cli_udp("127.0.0.1", port);
	H_ASSERT(fd >= 0, "%s: client: %s", model, H_ERR);
	send_ok(model, "the waking datagram", fd, "wake", 4);
	H_ASSERT(srv_wait_listening(&s, 1, H_START_MS) == 0,
	    "%s: not listening on the passed socket", model);
	snprintf(want, sizeof want, "listening on %s (echo, echo)", udp);
	H_ASSERT(s.nls == 1 && strcmp(s.ls[0].addr, udp) == 0 &&
	        strcmp(s.ls[0].handler, "echo") == 0,
	    "%s: want '%s', got '%s (%s, %s)'", model, want, s.ls[0].addr, s.ls[0].service,
	    s.ls[0].handler);
	r = recv_ok(model, "the waking datagram", fd, buf, DS);
	H_ASSERT(r == 4 && memcmp(buf, "wake", 4) == 0, "%s: the waking datagram came back as '%s'",
	    model, h_show(buf, r));
	roundtrip(model, "echo through the passed socket", fd, "passed", 6, "passed", 6);
	close(fd);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- SIGTERM with datagrams in flight --------------------------------- */

struct sender {
	int fd;
	volatile int stop;
	long sent;
};

/* Sends "seq NNNNNNN" datagrams as fast as it can until told to stop or refused. */
static void *
sender_run(void *arg)
{
	struct sender *sd = arg;
	char msg[32];

	while (!sd->stop) {
		int n = snprintf(msg, sizeof msg, "seq %07ld", sd->sent);

		if (send(sd->fd, msg, (size_t)n, 0) == n) {
			sd->sent++;
			continue;
		}
		if (errno == ECONNREFUSED)
			break; /* the server is gone */
		if (errno == EAGAIN || errno == ENOBUFS) {
			struct pollfd pf = { sd->fd, POLLOUT, 0 };

			(void)poll(&pf, 1, 10);
		}
	}
	return NULL;
}

/*
 * SIGTERM while a client floods a logger: exit status 0 within
 * shutdown_timeout (2 s) plus a second, and every datagram counted
 * received before the signal has its record on disk, whole, once.
 */
static void
sigterm_round(const char *model, int round)
{
	const char *dir = h_tmpdir();
	char text[1024], line[512], out[32];
	struct sender sd = { -1, 0, 0 };
	pthread_t th;
	long before = -1, nrec = 0;
	long long end;
	char *log, *p, *eol, peer[64];
	unsigned char *seen;
	struct srv s;
	int rc;

	snprintf(out, sizeof out, "log-%d.out", round);
	snprintf(text, sizeof text,
	    "shutdown_timeout = 2\n"
	    "service \"log\" { listen = {\"udp:127.0.0.1:0\"} handler = \"logger\" "
	    "output = \"%s\" }\n",
	    h_path(dir, out));
	start_conf(&s, model, text, 1, NULL);
	sd.fd = cli_udp("127.0.0.1", find_ls(&s, "log", "udp:")->port);
	H_ASSERT(sd.fd >= 0, "%s: client: %s", model, H_ERR);
	snprintf(peer, sizeof peer, "127.0.0.1:%d", local_port(sd.fd));
	H_ASSERT(pthread_create(&th, NULL, sender_run, &sd) == 0, "pthread_create");
	end = h_now_ms() + DS;
	while (before < 200 && h_now_ms() < end)
		if (srv_status(&s, "log", line, sizeof line, D))
			before = h_status_num(line, "received");
	if (before < 200) {
		sd.stop = 1;
		pthread_join(th, NULL);
		H_ASSERT(0, "%s: the logger received %ld datagrams within %d ms", model, before,
		    DS);
	}
	kill(s.pid, SIGTERM);
	rc = srv_wait(&s, (2 + 1) * 1000 * (int)h_time_scale() + 1000);
	sd.stop = 1;
	pthread_join(th, NULL);
	close(sd.fd);
	H_ASSERT(rc == 0,
	    "%s: SIGTERM during a flood (round %d): exit %d (128+N: killed by signal N; -1: "
	    "still running after %d ms)",
	    model, round, rc, (2 + 1) * 1000 * (int)h_time_scale() + 1000);

	log = h_read_file(h_path(dir, out), NULL);
	H_ASSERT(log != NULL, "%s: no logger output", model);
	seen = calloc((size_t)sd.sent + 1, 1);
	H_ASSERT(seen != NULL, "calloc");
	for (p = log; (eol = strchr(p, '\n')) != NULL; p = eol + 1) {
		struct h_record rec;
		long id = -1;
		char tail;

		H_ASSERT(h_parse_record(p, (size_t)(eol - p), &rec) && rec.kind == H_REC_LINE &&
		        strcmp(rec.peer, peer) == 0 && rec.textlen == 11 &&
		        sscanf(rec.text, "seq %7ld%c", &id, &tail) == 2 && tail == '\n' &&
		        id >= 0 && id < sd.sent && !seen[id],
		    "%s: record %ld '%.*s' is not a whole datagram of %s seen once", model, nrec,
		    (int)(eol - p), p, peer);
		seen[id] = 1;
		nrec++;
	}
	H_ASSERT(*p == '\0', "%s: a torn last record '%s'", model, p);
	if (h_verbose())
		fprintf(stderr,
		    "%s: SIGTERM round %d: %ld sent, %ld received before it, %ld records\n", model,
		    round, sd.sent, before, nrec);
	H_ASSERT(nrec >= before, "%s: %ld records, but %ld datagrams were received before SIGTERM",
	    model, nrec, before);
	free(seen);
	free(log);
}

/* Three rounds: a race at shutdown need not show the first time. */
START_TEST(test_sigterm)
{
	for (int round = 0; round < 3; round++)
		sigterm_round(h_model(_i), round);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("dgram");
	int to = 30 * (int)h_time_scale();

	h_tcase_models(su, "echo", to, test_echo);
	h_tcase_models(su, "timestamp", to, test_timestamp);
	h_tcase_models(su, "logger", to, test_logger);
	h_tcase_models(su, "builtins", to, test_builtins);
	h_tcase_models(su, "clients", to, test_clients);
	h_tcase_models(su, "flood", to, test_flood);
	h_tcase_models(su, "access", to, test_access);
	h_tcase_models(su, "guard", to, test_guard);
	h_tcase_models(su, "burst", to, test_burst);
	h_tcase_models(su, "mixed", to, test_mixed);
	h_tcase_models(su, "activation", to, test_activation);
	h_tcase_models(su, "sigterm", to, test_sigterm);
	return h_run_suite(su);
}
