/* check_proxy.c - the PROXY protocol (v1 and v2) in front of the real binary, under every model: the header's source in logger records, the bytes after it, health checks, refusals, the header's timeout, access rules on the header's source, the configuration check. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

#define D H_DEADLINE_MS

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* How much slower than natively the server runs here: valgrind, sanitizers, H_TIME_SCALE. */
static long
slow(void)
{
	long s = h_time_scale();

	if (h_under_valgrind() && s < 5)
		s = 5;
	if (h_sanitized() && s < 2)
		s = 2;
	return s;
}

/*
 * True (and a SKIP line printed) when model cannot run here: io_uring
 * where the kernel refuses to set up a ring (kernel.io_uring_disabled, a
 * seccomp profile, an old kernel); the server would refuse to start.
 */
static bool
model_unavailable(const char *model)
{
#ifdef __NR_io_uring_setup
	unsigned char params[256]; /* struct io_uring_params is 120 bytes */
	long fd;

	if (strcmp(model, "io_uring") != 0)
		return false;
	memset(params, 0, sizeof params);
	fd = syscall(__NR_io_uring_setup, 1, params);
	if (fd >= 0) {
		close((int)fd);
		return false;
	}
	printf("SKIP: %s: the kernel refuses io_uring here (%s)\n", model, H_ERR);
	fflush(stdout);
	return true;
#else
	(void)model;
	return false;
#endif
}

/* Starts the server of -m model -c dir/dispatchd.conf holding text, with n listeners. */
static void
start_conf(struct srv *s, const char *model, const char *text, int n)
{
	const char *dir = h_tmpdir();
	const char *args[] = { "-m", model, "-c", NULL, NULL };

	H_ASSERT(dir != NULL, "%s: tmpdir", model);
	args[3] = h_write_conf(dir, text);
	H_ASSERT(srv_start_n(s, args, n) == 0, "%s: server did not start", model);
}

/* The port of service name. */
static int
port_of(const struct srv *s, const char *model, const char *name)
{
	int i = srv_find(s, name), port = i >= 0 ? srv_port(s, i) : -1;

	H_ASSERT(port > 0, "%s: no listener of service %s", model, name);
	return port;
}

/* ---- headers ---------------------------------------------------------- */

/* The v2 signature (12 bytes). */
static const unsigned char v2_sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55,
	0x49, 0x54, 0x0A };

enum { V2_LOCAL = 0, V2_PROXY = 1 };
enum { V2_UNSPEC = 0x00, V2_TCP4 = 0x11, V2_TCP6 = 0x21 };

/*
 * TLVs as HAProxy sends them: ALPN "h2", authority "proxy.example", a
 * unique id of 16 bytes and a NOOP of 3 zero bytes (all skipped).
 */
static const unsigned char tlvs[] = {
	0x01, 0x00, 0x02, 'h', '2', /* ALPN "h2" */
	0x02, 0x00, 0x0d, 'p', 'r', 'o', 'x', 'y', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x05,
	0x00, 0x10, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	0x0d, 0x0e, 0x0f,                   /* UNIQUE_ID */
	0x04, 0x00, 0x03, 0x00, 0x00, 0x00, /* NOOP */
};

#define V2_MAX (16 + 36 + 64)

/*
 * A v2 header into b (V2_MAX bytes): command cmd, family fam; for
 * V2_TCP4 and V2_TCP6 the addresses src:sport and dst:dport (numeric, of
 * that family), then with_tlvs the TLVs above.  Returns its length.
 */
static size_t
v2_hdr(unsigned char *b, int cmd, int fam, const char *src, int sport, const char *dst, int dport,
    bool with_tlvs)
{
	size_t n = 16, alen = fam == V2_TCP4 ? 4 : fam == V2_TCP6 ? 16 : 0;
	int af = fam == V2_TCP4 ? AF_INET : AF_INET6;

	memcpy(b, v2_sig, 12);
	b[12] = (unsigned char)(0x20 | cmd);
	b[13] = (unsigned char)fam;
	if (alen > 0) {
		H_ASSERT(inet_pton(af, src, b + n) == 1 && inet_pton(af, dst, b + n + alen) == 1,
		    "bad test address %s or %s", src, dst);
		n += 2 * alen;
		b[n++] = (unsigned char)(sport >> 8);
		b[n++] = (unsigned char)sport;
		b[n++] = (unsigned char)(dport >> 8);
		b[n++] = (unsigned char)dport;
	}
	if (with_tlvs) {
		memcpy(b + n, tlvs, sizeof tlvs);
		n += sizeof tlvs;
	}
	b[14] = (unsigned char)((n - 16) >> 8);
	b[15] = (unsigned char)(n - 16);
	return n;
}

/* A v1 header for src:sport (TCP4 or TCP6 as src reads) into b; its length. */
static size_t
v1_hdr(char *b, size_t cap, const char *src, int sport)
{
	bool six = strchr(src, ':') != NULL;
	int n = snprintf(b, cap, "PROXY %s %s %s %d 7\r\n", six ? "TCP6" : "TCP4", src,
	    six ? "2001:db8::fe" : "192.0.2.254", sport);

	H_ASSERT(n > 0 && (size_t)n < cap, "v1 header too long");
	return (size_t)n;
}

/* ---- clients ---------------------------------------------------------- */

/* Sends what it can of n bytes; errors ignored (the server may have closed already). */
static void
send_anyway(int fd, const void *p, size_t n)
{
	(void)cli_write_all(fd, p, n, D);
}

/* Sends p[0..n) a byte per segment (TCP_NODELAY), a millisecond apart. */
static void
send_bytewise(const char *who, int fd, const void *p, size_t n)
{
	int one = 1;

	H_ASSERT(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0,
	    "%s: TCP_NODELAY: %s", who, H_ERR);
	for (size_t i = 0; i < n; i++) {
		H_ASSERT(cli_write_all(fd, (const char *)p + i, 1, D) == 0, "%s: byte %zu: %s", who,
		    i, H_ERR);
		h_nap(1);
	}
}

/*
 * Waits up to ms for the connection to end.  1 if it ended (end of
 * stream, ECONNRESET) without a byte from the server, 0 if bytes came
 * first (*got of them), -1 if it did not end in time.
 */
static int
closed_silently(int fd, int ms, size_t *got)
{
	long long end = h_now_ms() + ms;
	char buf[4096];

	*got = 0;
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		long long left = end - h_now_ms();
		ssize_t r;

		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		r = recv(fd, buf, sizeof buf, 0);
		if (r == 0 || (r < 0 && (errno == ECONNRESET || errno == EPIPE)))
			return *got == 0 ? 1 : 0;
		if (r > 0)
			*got += (size_t)r;
		else if (errno != EAGAIN && errno != EINTR)
			return *got == 0 ? 1 : 0;
	}
}

/* Asserts that fd ends within D without a byte from the server. */
#define EXPECT_CLOSED(who, fd, what)                                                      \
	do {                                                                              \
		size_t got_;                                                              \
		int r_ = closed_silently((fd), D * (int)slow(), &got_);                   \
		H_ASSERT(r_ == 1, "%s: %s: %s", (who), (what),                            \
		    r_ < 0 ? "not closed within the deadline" : "the server sent bytes"); \
	} while (0)

/*
 * Connects to port, sends the header hdr[0..hn) then (a write of its
 * own) "probe\n" and expects it back: served, refused (closed without a
 * byte) or neither.  The socket is left open in *fdp (-1 if none).
 */
static enum h_outcome
open_via(int port, const void *hdr, size_t hn, int *fdp)
{
	int fd = cli_connect(port);

	*fdp = fd;
	if (fd < 0)
		return H_NOCONN;
	send_anyway(fd, hdr, hn);
	return cli_probe(fd);
}

/* open_via with a v1 (v2 when v2) header from src:sport. */
static enum h_outcome
open_from(int port, const char *src, int sport, bool v2, int *fdp)
{
	unsigned char b[V2_MAX];
	size_t n;

	if (v2)
		n = v2_hdr(b, V2_PROXY, strchr(src, ':') ? V2_TCP6 : V2_TCP4, src, sport,
		    strchr(src, ':') ? "2001:db8::fe" : "192.0.2.254", 7, false);
	else
		n = v1_hdr((char *)b, sizeof b, src, sport);
	return open_via(port, b, n, fdp);
}

/* The same, closing the socket. */
static enum h_outcome
try_from(int port, const char *src, int sport, bool v2)
{
	int fd;
	enum h_outcome o = open_from(port, src, sport, v2, &fd);

	if (fd >= 0)
		close(fd);
	return o;
}

#define EXPECT_FROM(who, port, src, v2, want)                                             \
	do {                                                                              \
		enum h_outcome o_ = try_from((port), (src), 1000, (v2));                  \
		H_ASSERT(o_ == (want), "%s: a %s header from %s: %s, want %s", (who),     \
		    (v2) ? "v2" : "v1", (src), h_outcome_name(o_), h_outcome_name(want)); \
	} while (0)

/* ---- 1, 2: the header's source in logger records ------------------------ */

/* One logger client: its header, its lines, the peer its records must name. */
struct lg_client {
	const char *what;
	unsigned char hdr[V2_MAX];
	size_t hn;
	bool split;     /* the lines in a write of their own, else with the header */
	char peer[128]; /* expected; for LOCAL and UNKNOWN filled once connected */
	bool own_peer;  /* LOCAL or UNKNOWN: 127.0.0.1:the client's port */
	bool no_lines;  /* the header alone, then the end of stream */
	char lines[2][32];
	int fd;
};

/*
 * A logger service behind the PROXY protocol ("any"), records to a file:
 * each client's header names its source, and its connected record, line
 * records and disconnected record name that source, v1 TCP4 and TCP6, v2
 * over IPv4 and IPv6 with TLVs; the v2 LOCAL health check (an UNSPEC
 * address block, and a TCP4 one that must be ignored), v2 PROXY with an
 * UNSPEC address block and v1 "PROXY UNKNOWN" keep the socket's own
 * peer, 127.0.0.1:CLIENTPORT; a header alone, then the end of stream,
 * gives connected and disconnected records.  Some clients send their
 * lines with the header, the others once its connected record is
 * written.  They come one after the other (a serial model serves one at
 * a time).
 */
START_TEST(test_logger_peer)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	const char *out = h_path(dir, "records.log");
	struct lg_client cl[9];
	char conf[1024], want[256];
	struct srv s;
	int port, nc = 0;
	char *text, *p;

	if (model_unavailable(model))
		return;
	memset(cl, 0, sizeof cl);
	cl[nc].what = "v1 TCP4";
	cl[nc].hn = v1_hdr((char *)cl[nc].hdr, V2_MAX, "203.0.113.7", 4242);
	snprintf(cl[nc++].peer, 128, "203.0.113.7:4242");
	cl[nc].what = "v1 TCP6";
	cl[nc].hn = v1_hdr((char *)cl[nc].hdr, V2_MAX, "2001:db8::1", 5555);
	cl[nc].split = true;
	snprintf(cl[nc++].peer, 128, "[2001:db8::1]:5555");
	cl[nc].what = "v2 PROXY TCP4 with TLVs";
	cl[nc].hn = v2_hdr(cl[nc].hdr, V2_PROXY, V2_TCP4, "198.51.100.22", 40000, "192.0.2.1", 7514,
	    true);
	snprintf(cl[nc++].peer, 128, "198.51.100.22:40000");
	cl[nc].what = "v2 PROXY TCP6 with TLVs";
	cl[nc].hn = v2_hdr(cl[nc].hdr, V2_PROXY, V2_TCP6, "2001:db8:0:1::77", 65535, "2001:db8::2",
	    443, true);
	cl[nc].split = true;
	snprintf(cl[nc++].peer, 128, "[2001:db8:0:1::77]:65535");
	cl[nc].what = "v2 LOCAL (UNSPEC)";
	cl[nc].hn = v2_hdr(cl[nc].hdr, V2_LOCAL, V2_UNSPEC, NULL, 0, NULL, 0, false);
	cl[nc++].own_peer = true;
	cl[nc].what = "v2 LOCAL with a TCP4 address block";
	cl[nc].hn = v2_hdr(cl[nc].hdr, V2_LOCAL, V2_TCP4, "203.0.113.99", 9999, "192.0.2.1", 7514,
	    true);
	cl[nc].split = true;
	cl[nc++].own_peer = true;
	cl[nc].what = "v2 PROXY with an UNSPEC address block";
	cl[nc].hn = v2_hdr(cl[nc].hdr, V2_PROXY, V2_UNSPEC, NULL, 0, NULL, 0, false);
	cl[nc++].own_peer = true;
	cl[nc].what = "v1 TCP4, the header alone, then the end of stream";
	cl[nc].hn = v1_hdr((char *)cl[nc].hdr, V2_MAX, "192.0.2.77", 1);
	cl[nc].no_lines = true;
	snprintf(cl[nc++].peer, 128, "192.0.2.77:1");
	cl[nc].what = "v1 PROXY UNKNOWN";
	cl[nc].hn = (size_t)snprintf((char *)cl[nc].hdr, V2_MAX, "PROXY UNKNOWN\r\n");
	cl[nc++].own_peer = true;

	H_ASSERT(nc <= (int)NELEM(cl), "%d clients for %zu places", nc, NELEM(cl));
	snprintf(conf, sizeof conf,
	    "idle_timeout = 30\n"
	    "service \"log\" {\n"
	    "  listen = {\"127.0.0.1:0\"}\n"
	    "  handler = \"logger\"\n"
	    "  output = \"%s\"\n"
	    "  proxy_protocol = \"any\"\n"
	    "  proxy_from = {\"127.0.0.0/8\"}\n"
	    "}\n",
	    out);
	start_conf(&s, model, conf, 1);
	port = port_of(&s, model, "log");

	for (int c = 0; c < nc; c++) {
		struct lg_client *k = &cl[c];
		struct hbuf msg = { 0 };
		struct h_has has = { out, want };
		char who[160];

		snprintf(who, sizeof who, "%s, %s", model, k->what);
		snprintf(k->lines[0], sizeof k->lines[0], "client %d says hello", c);
		snprintf(k->lines[1], sizeof k->lines[1], "client %d says bye", c);
		k->fd = cli_connect(port);
		H_ASSERT(k->fd >= 0, "%s: connect: %s", who, H_ERR);
		if (k->own_peer)
			snprintf(k->peer, sizeof k->peer, "127.0.0.1:%d", cli_local_port(k->fd));
		hbuf_add(&msg, k->hdr, k->hn);
		if (k->split) {
			H_ASSERT(cli_write_all(k->fd, msg.p, msg.len, D) == 0, "%s: send: %s", who,
			    H_ERR);
			msg.len = 0;
			/* The connected record: the header alone opened the logger. */
			snprintf(want, sizeof want, " %s connected\n", k->peer);
			H_ASSERT(h_wait_for(h_file_has, &has, D * (int)slow()),
			    "%s: no '%s' record after the header alone", who, want);
		}
		for (int l = 0; l < (k->no_lines ? 0 : 2); l++) {
			hbuf_add(&msg, k->lines[l], strlen(k->lines[l]));
			hbuf_add(&msg, "\n", 1);
		}
		H_ASSERT(cli_write_all(k->fd, msg.p, msg.len, D) == 0, "%s: send: %s", who, H_ERR);
		hbuf_free(&msg);
		H_ASSERT(cli_shut_wr(k->fd) == 0, "%s: shutdown: %s", who, H_ERR);
		H_ASSERT(cli_wait_closed(k->fd, D * (int)slow()),
		    "%s: not closed after the end of stream", who);
		close(k->fd);
		snprintf(want, sizeof want, " %s disconnected\n", k->peer);
		H_ASSERT(h_wait_for(h_file_has, &has, D * (int)slow()), "%s: no '%s' record", who,
		    want);
	}
	H_STOP_OK(&s, model);

	/* Every record names its client's source, in its client's order. */
	text = h_read_file(out, NULL);
	H_ASSERT(text != NULL, "%s: read %s: %s", model, out, H_ERR);
	{
		/* 0 none, 1 connected, 2, 3 lines, 4 disconnected (1, 2 without lines) */
		int state[NELEM(cl)] = { 0 };
		int nrec = 0, want_rec = 0;

		for (p = text; *p != '\0';) {
			char *nl = strchr(p, '\n');
			struct h_record r;
			int c, len;

			H_ASSERT(nl != NULL, "%s: unterminated record '%s'", model, p);
			len = (int)(nl - p);
			H_ASSERT(h_parse_record(p, (size_t)len, &r), "%s: malformed record '%.*s'",
			    model, len, p);
			for (c = 0; c < nc && strcmp(cl[c].peer, r.peer) != 0; c++)
				;
			H_ASSERT(c < nc, "%s: record '%.*s' names no client's source", model, len,
			    p);
			switch (r.kind) {
			case H_REC_CONNECTED:
				H_ASSERT(state[c] == 0, "%s, %s: '%.*s' out of order", model,
				    cl[c].what, len, p);
				break;
			case H_REC_LINE:
				H_ASSERT(!cl[c].no_lines && (state[c] == 1 || state[c] == 2) &&
				        r.textlen == strlen(cl[c].lines[state[c] - 1]) &&
				        memcmp(r.text, cl[c].lines[state[c] - 1], r.textlen) == 0,
				    "%s, %s: unexpected record '%.*s'", model, cl[c].what, len, p);
				break;
			case H_REC_DISCONNECTED:
				H_ASSERT(state[c] == (cl[c].no_lines ? 1 : 3),
				    "%s, %s: '%.*s' out of order", model, cl[c].what, len, p);
				break;
			}
			state[c]++;
			nrec++;
			p = nl + 1;
		}
		for (int c = 0; c < nc; c++) {
			int want_c = cl[c].no_lines ? 2 : 4;

			H_ASSERT(state[c] == want_c, "%s, %s: %d of its %d records (peer %s)",
			    model, cl[c].what, state[c], want_c, cl[c].peer);
			want_rec += want_c;
		}
		H_ASSERT(nrec == want_rec, "%s: %d records, want %d", model, nrec, want_rec);
	}
	free(text);
}
END_TEST

/* ---- 1: the bytes after the header ------------------------------------- */

#define BIG (1 << 20)

/* Sends all of p, half-closes, and expects exactly want back, then the end. */
static void
expect_echo(const char *who, int fd, const void *p, size_t n, const void *want, size_t wn)
{
	struct hbuf in = { 0 };
	int r;

	hbuf_add(&in, "", 0);
	r = cli_exchange(fd, p, n, true, &in, D * (int)slow());
	H_ASSERT(r == 0, "%s: exchange: %s (%zu bytes back)", who, r < 0 ? H_ERR : "", in.len);
	H_ASSERT(in.len == wn && memcmp(in.p, want, wn) == 0,
	    "%s: echoed %zu bytes, want %zu: '%s' for '%s'", who, in.len, wn, h_show(in.p, in.len),
	    h_show(want, wn));
	hbuf_free(&in);
}

/*
 * An echo service behind the PROXY protocol ("any"): the bytes after the
 * header are the handler's, echoed exactly and nothing else, whether
 * they come in the header's write (v1, v2 with TLVs, a payload that
 * itself looks like a PROXY header), after a header sent a byte per
 * segment (v1 and v2; and a v2 header whose last byte comes with the
 * payload), or as 1 MiB in the header's write.
 */
START_TEST(test_echo_payload)
{
	const char *model = h_model(_i);
	static const char fake[] = "PROXY TCP4 192.0.2.9 192.0.2.10 1 2\r\nafter a fake header\n";
	unsigned char h2[V2_MAX];
	char h1[128], who[160];
	struct hbuf msg = { 0 };
	size_t n1, n2;
	struct srv s;
	int port, fd;
	char *big;

	if (model_unavailable(model))
		return;
	start_conf(&s, model,
	    "idle_timeout = 30\n"
	    "service \"echo\" {\n"
	    "  listen = {\"127.0.0.1:0\"}\n"
	    "  handler = \"echo\"\n"
	    "  proxy_protocol = \"any\"\n"
	    "  proxy_from = {\"127.0.0.1/32\"}\n"
	    "}\n",
	    1);
	port = port_of(&s, model, "echo");
	n1 = v1_hdr(h1, sizeof h1, "203.0.113.7", 4242);
	n2 = v2_hdr(h2, V2_PROXY, V2_TCP6, "2001:db8::1", 5555, "2001:db8::2", 80, true);

	/* In one write: header and payload. */
	snprintf(who, sizeof who, "%s, v1 header and payload in one write", model);
	fd = cli_connect(port);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	hbuf_add(&msg, h1, n1);
	hbuf_add(&msg, "hello v1\n", 9);
	expect_echo(who, fd, msg.p, msg.len, "hello v1\n", 9);
	close(fd);

	snprintf(who, sizeof who, "%s, v2 header (TLVs) and binary payload in one write", model);
	fd = cli_connect(port);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	msg.len = 0;
	hbuf_add(&msg, h2, n2);
	hbuf_add(&msg, v2_sig, sizeof v2_sig); /* a signature again: payload now */
	hbuf_add(&msg, "\0\r\n\xff", 4);
	expect_echo(who, fd, msg.p, msg.len, msg.p + n2, msg.len - n2);
	close(fd);

	snprintf(who, sizeof who, "%s, a payload that looks like a PROXY header", model);
	fd = cli_connect(port);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	msg.len = 0;
	hbuf_add(&msg, h1, n1);
	hbuf_add(&msg, fake, sizeof fake - 1);
	expect_echo(who, fd, msg.p, msg.len, fake, sizeof fake - 1);
	close(fd);

	/* The header a byte per segment, then the payload. */
	snprintf(who, sizeof who, "%s, v1 header in 1-byte writes", model);
	fd = cli_connect(port);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	send_bytewise(who, fd, h1, n1);
	expect_echo(who, fd, "after split v1\n", 15, "after split v1\n", 15);
	close(fd);

	snprintf(who, sizeof who, "%s, v2 header in 1-byte writes", model);
	fd = cli_connect(port);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	send_bytewise(who, fd, h2, n2);
	expect_echo(who, fd, "after split v2\n", 15, "after split v2\n", 15);
	close(fd);

	snprintf(who, sizeof who, "%s, v2 header in 1-byte writes, its last with the payload",
	    model);
	fd = cli_connect(port);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	send_bytewise(who, fd, h2, n2 - 1);
	msg.len = 0;
	hbuf_add(&msg, h2 + n2 - 1, 1);
	hbuf_add(&msg, "tail\n", 5);
	expect_echo(who, fd, msg.p, msg.len, "tail\n", 5);
	close(fd);

	/* 1 MiB with the header, in one go. */
	snprintf(who, sizeof who, "%s, v2 header and 1 MiB in one go", model);
	big = malloc(BIG);
	H_ASSERT(big != NULL, "%s: malloc", who);
	h_fill(big, BIG, 42);
	msg.len = 0;
	hbuf_add(&msg, h2, n2);
	hbuf_add(&msg, big, BIG);
	fd = cli_connect(port);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	expect_echo(who, fd, msg.p, msg.len, big, BIG);
	close(fd);

	snprintf(who, sizeof who, "%s, v1 header and 1 MiB in one go", model);
	msg.len = 0;
	hbuf_add(&msg, h1, n1);
	hbuf_add(&msg, big, BIG);
	fd = cli_connect(port);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	expect_echo(who, fd, msg.p, msg.len, big, BIG);
	close(fd);
	free(big);
	hbuf_free(&msg);

	H_EXPECT_STATUS(&s, model, "echo", "proxy", 0);
	H_EXPECT_STATUS(&s, model, "echo", "total", 8);
	H_EXPECT_STATUS(&s, model, "echo", "now", 0);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- 3: refusals ---------------------------------------------------------- */

/*
 * Closed without a byte of reply and counted as refused "proxy": a client
 * that is not in proxy_from (at once, before it sends anything, and one
 * that sends a valid header), garbage instead of a header, a malformed
 * v1 line, a v1 header where only v2 is accepted and a v2 one where only
 * v1 is, the end of stream after half a v1 or v2 header.  Each service
 * still serves a valid header afterwards.
 */
START_TEST(test_refusals)
{
	const char *model = h_model(_i);
	unsigned char h2[V2_MAX];
	char h1[128], who[160];
	size_t n1, n2;
	int untrusted, any, v1only, v2only, fd;
	struct srv s;

	if (model_unavailable(model))
		return;
	start_conf(&s, model,
	    "idle_timeout = 30\n"
	    "proxy_timeout = 20\n"
	    "service \"untrusted\" {\n"
	    "  listen = {\"127.0.0.1:0\"} handler = \"echo\"\n"
	    "  proxy_protocol = \"any\" proxy_from = {\"10.0.0.0/8\"}\n"
	    "}\n"
	    "service \"any\" {\n"
	    "  listen = {\"127.0.0.1:0\"} handler = \"echo\"\n"
	    "  proxy_protocol = \"any\" proxy_from = {\"10.0.0.0/8\", \"127.0.0.0/8\"}\n"
	    "}\n"
	    "service \"v1only\" {\n"
	    "  listen = {\"127.0.0.1:0\"} handler = \"echo\"\n"
	    "  proxy_protocol = \"v1\" proxy_from = {\"127.0.0.0/8\"}\n"
	    "}\n"
	    "service \"v2only\" {\n"
	    "  listen = {\"127.0.0.1:0\"} handler = \"echo\"\n"
	    "  proxy_protocol = \"v2\" proxy_from = {\"127.0.0.0/8\"}\n"
	    "}\n",
	    4);
	untrusted = port_of(&s, model, "untrusted");
	any = port_of(&s, model, "any");
	v1only = port_of(&s, model, "v1only");
	v2only = port_of(&s, model, "v2only");
	n1 = v1_hdr(h1, sizeof h1, "198.51.100.1", 1111);
	n2 = v2_hdr(h2, V2_PROXY, V2_TCP4, "198.51.100.2", 2222, "192.0.2.1", 7, true);

	/* Not in proxy_from: closed at once, without waiting for a byte. */
	snprintf(who, sizeof who, "%s, untrusted 127.0.0.1", model);
	fd = cli_connect(untrusted);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	EXPECT_CLOSED(who, fd, "a silent client not in proxy_from");
	close(fd);
	fd = cli_connect(untrusted);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	send_anyway(fd, h1, n1);
	send_anyway(fd, "probe\n", 6);
	EXPECT_CLOSED(who, fd, "a client not in proxy_from with a valid header");
	close(fd);
	H_EXPECT_STATUS(&s, who, "untrusted", "proxy", 2);
	H_EXPECT_STATUS(&s, who, "untrusted", "denied", 0);
	H_EXPECT_STATUS(&s, who, "untrusted", "now", 0);
	H_ASSERT(strstr(srv_log(&s), "not in proxy_from") != NULL,
	    "%s: no warning naming proxy_from in the log", who);

	/* Not a header. */
	snprintf(who, sizeof who, "%s, any", model);
	fd = cli_connect(any);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	send_anyway(fd, "GET / HTTP/1.0\r\n\r\n", 18);
	EXPECT_CLOSED(who, fd, "an HTTP request instead of a header");
	close(fd);
	fd = cli_connect(any);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	send_anyway(fd, "PROXY TCP4 198.51.100.1\r\nprobe\n", 31);
	EXPECT_CLOSED(who, fd, "a v1 line without ports");
	close(fd);
	/* The end of stream after half a header. */
	fd = cli_connect(any);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	send_anyway(fd, h1, n1 / 2);
	H_ASSERT(cli_shut_wr(fd) == 0, "%s: shutdown: %s", who, H_ERR);
	EXPECT_CLOSED(who, fd, "the end of stream after half a v1 header");
	close(fd);
	fd = cli_connect(any);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	send_anyway(fd, h2, 20);
	H_ASSERT(cli_shut_wr(fd) == 0, "%s: shutdown: %s", who, H_ERR);
	EXPECT_CLOSED(who, fd, "the end of stream after 20 bytes of a v2 header");
	close(fd);
	H_EXPECT_STATUS(&s, who, "any", "proxy", 4);
	EXPECT_FROM(who, any, "198.51.100.3", false, H_SERVED);
	EXPECT_FROM(who, any, "198.51.100.4", true, H_SERVED);

	/* A version the service does not take. */
	snprintf(who, sizeof who, "%s, v2only", model);
	fd = cli_connect(v2only);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	send_anyway(fd, h1, n1);
	send_anyway(fd, "probe\n", 6);
	EXPECT_CLOSED(who, fd, "a v1 header");
	close(fd);
	H_EXPECT_STATUS(&s, who, "v2only", "proxy", 1);
	EXPECT_FROM(who, v2only, "198.51.100.5", true, H_SERVED);

	snprintf(who, sizeof who, "%s, v1only", model);
	fd = cli_connect(v1only);
	H_ASSERT(fd >= 0, "%s: connect: %s", who, H_ERR);
	send_anyway(fd, h2, n2);
	send_anyway(fd, "probe\n", 6);
	EXPECT_CLOSED(who, fd, "a v2 header");
	close(fd);
	H_EXPECT_STATUS(&s, who, "v1only", "proxy", 1);
	EXPECT_FROM(who, v1only, "198.51.100.6", false, H_SERVED);

	/* Each counted once, where it happened. */
	H_EXPECT_STATUS(&s, model, "untrusted", "proxy", 2);
	H_EXPECT_STATUS(&s, model, "any", "proxy", 4);
	H_EXPECT_STATUS(&s, model, "any", "now", 0);
	H_EXPECT_STATUS(&s, model, "v1only", "now", 0);
	H_EXPECT_STATUS(&s, model, "v2only", "now", 0);
	H_STOP_OK(&s, model);
}
END_TEST

/*
 * --proxy-timeout 1 (flags this time): a trusted client that sends
 * nothing, and one that stalls inside its header, are closed after about
 * a second (not before 0.5 s, within 5 s), counted "proxy"; meanwhile a
 * client with a valid header is served (a serial model serves it once
 * the silent one is gone), and that client, past its header, is not cut
 * by the header's timeout.
 */
START_TEST(test_timeout)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-H", "echo", "-l", "127.0.0.1:0", "--proxy-protocol",
		"any", "--proxy-from", "127.0.0.1/32", "--proxy-timeout", "1", "--idle-timeout",
		"30", NULL };
	bool serial = h_model_serial(model);
	long long t0, t_other, t_served = 0, t_silent, t_partial = 0, quiet,
	                       limit = 5000LL * slow();
	int silent, partial = -1, other, port, r;
	char h1[128], buf[16];
	size_t n1, got;
	struct srv s;

	if (model_unavailable(model))
		return;
	H_START_OK(&s, args, model);
	port = srv_port(&s, 0);
	n1 = v1_hdr(h1, sizeof h1, "198.51.100.9", 999);

	t0 = h_now_ms();
	silent = cli_connect(port);
	H_ASSERT(silent >= 0, "%s: connect: %s", model, H_ERR);
	if (!serial) {
		partial = cli_connect(port);
		H_ASSERT(partial >= 0, "%s: connect: %s", model, H_ERR);
		H_ASSERT(cli_write_all(partial, h1, 11, D) == 0, "%s: send: %s", model, H_ERR);
	}
	other = cli_connect(port);
	t_other = h_now_ms();
	H_ASSERT(other >= 0, "%s: connect: %s", model, H_ERR);
	H_ASSERT(cli_write_all(other, h1, n1, D) == 0 && cli_write_all(other, "probe\n", 6, D) == 0,
	    "%s: send: %s", model, H_ERR);

	if (!serial) {
		H_ASSERT(cli_read_exact(other, buf, 6, (int)limit) == 6 &&
		        memcmp(buf, "probe\n", 6) == 0,
		    "%s: a client with a header not served while a silent one waits", model);
		t_served = h_now_ms();
	}
	r = closed_silently(silent, (int)(t0 + limit - h_now_ms()), &got);
	t_silent = h_now_ms();
	H_ASSERT(r == 1, "%s: the silent client %s after %lld ms", model,
	    r < 0 ? "not closed" : "got bytes, then closed", t_silent - t0);
	if (partial >= 0) {
		r = closed_silently(partial, (int)(t0 + limit - h_now_ms()), &got);
		t_partial = h_now_ms();
		H_ASSERT(r == 1, "%s: the client with half a header %s after %lld ms", model,
		    r < 0 ? "not closed" : "got bytes, then closed", t_partial - t0);
	}
	if (serial) {
		H_ASSERT(cli_read_exact(other, buf, 6, (int)limit) == 6 &&
		        memcmp(buf, "probe\n", 6) == 0,
		    "%s: the waiting client not served after the silent one was closed", model);
		t_served = h_now_ms();
	}
	if (h_verbose())
		fprintf(stderr,
		    "timeout %s: served %lld ms, silent closed %lld ms, partial %lld ms\n", model,
		    t_served - t0, t_silent - t0, partial >= 0 ? t_partial - t0 : -1LL);
	/* Closed by the proxy timeout (the idle timeout is 30 s). */
	H_ASSERT(t_silent - t0 >= 500, "%s: the silent client closed after %lld ms, before 0.5 s",
	    model, t_silent - t0);
	if (partial >= 0)
		H_ASSERT(t_partial - t0 >= 500,
		    "%s: the client with half a header closed after %lld ms, before 0.5 s", model,
		    t_partial - t0);
	if (!serial)
		H_ASSERT(t_served < t_silent, "%s: served only after the silent client was closed",
		    model);
	/* Past its header the served client is not cut at its header's deadline. */
	quiet = t_other + 1500 - h_now_ms();
	if (quiet > 0)
		H_ASSERT(cli_quiet(other, (int)quiet),
		    "%s: the served client was closed or sent something", model);
	H_ASSERT(cli_echo_ok(other, "still here\n"),
	    "%s: the served client was cut after its header", model);
	close(other);
	close(silent);
	if (partial >= 0)
		close(partial);
	H_EXPECT_STATUS(&s, model, "echo", "proxy", serial ? 1 : 2);
	H_EXPECT_STATUS(&s, model, "echo", "now", 0);
	H_ASSERT(strstr(srv_log(&s), "proxy_timeout") != NULL,
	    "%s: no warning naming proxy_timeout in the log", model);
	H_STOP_OK(&s, model);
}
END_TEST

/*
 * --proxy-timeout 1 is a deadline from the connection's start, not an
 * idle time: a header that trickles in, a byte every 200 ms (a complete
 * one would take about 12 s), is cut after about a second, before it is
 * complete, counted "proxy".
 */
START_TEST(test_trickle)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-H", "echo", "-l", "127.0.0.1:0", "--proxy-protocol",
		"v1", "--proxy-from", "127.0.0.0/8", "--proxy-timeout", "1", "--idle-timeout", "30",
		NULL };
	long long t0, elapsed, limit = 5000LL * slow();
	char h1[128];
	size_t n1, i, got;
	int fd, one = 1, r = -1;
	struct srv s;

	if (model_unavailable(model))
		return;
	H_START_OK(&s, args, model);
	n1 = v1_hdr(h1, sizeof h1, "2001:db8:1234:5678:9abc:def0:1234:5678", 65535);
	fd = cli_connect(srv_port(&s, 0));
	H_ASSERT(fd >= 0, "%s: connect: %s", model, H_ERR);
	H_ASSERT(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0,
	    "%s: TCP_NODELAY: %s", model, H_ERR);
	t0 = h_now_ms();
	for (i = 0; i < n1 && h_now_ms() - t0 < limit; i++) {
		(void)send(fd, h1 + i, 1, MSG_NOSIGNAL); /* fails once the server reset it */
		r = closed_silently(fd, 200, &got);
		if (r >= 0)
			break;
	}
	elapsed = h_now_ms() - t0;
	H_ASSERT(r == 1, "%s: a trickling header %s after %lld ms (%zu of %zu bytes sent)", model,
	    r == 0 ? "got bytes" : "not closed", elapsed, i, n1);
	H_ASSERT(i + 1 < n1, "%s: the whole trickling header was sent before the close", model);
	H_ASSERT(elapsed >= 500, "%s: a trickling header closed after %lld ms, before 0.5 s", model,
	    elapsed);
	close(fd);
	H_EXPECT_STATUS(&s, model, "echo", "proxy", 1);
	H_EXPECT_STATUS(&s, model, "echo", "now", 0);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- 4: access rules on the header's source ------------------------------- */

struct retry {
	int port;
	const char *src;
	int fd;      /* the served connection, left open */
	int refused; /* attempts refused meanwhile */
	bool other;  /* an attempt neither served nor refused */
};

/* One attempt with a header from r->src: true once one is served (kept open in r->fd). */
static bool
served_again(void *arg)
{
	struct retry *r = arg;
	enum h_outcome o = open_from(r->port, r->src, 3000, true, &r->fd);

	if (o == H_SERVED)
		return true;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	if (o == H_REFUSED)
		r->refused++;
	else
		r->other = true;
	return r->other; /* stop polling; the caller reports */
}

#define BURST 8
#define RATE  2

/*
 * allow, deny, max_per_source and rate_limit judge the header's source,
 * never the proxy's own address (127.0.0.1, which every connection
 * comes from): proxy_protocol and proxy_from set globally and inherited.
 *   deny 203.0.113.0/24: a header from 203.0.113.9 refused (denied), from
 *     198.51.100.1 and 2001:db8::9 served.
 *   allow 198.51.100.0/24: 198.51.100.5 served, 203.0.113.5 refused.
 *   max_per_source 1: a second connection from 198.51.100.1 refused
 *     (per_source) while 198.51.100.2 is served; once the first closes,
 *     198.51.100.1 is admitted again (its count released).  A serial
 *     model serves one at a time: the same source again and again.
 *   rate_limit 2: a burst from 198.51.100.50 gets about 2 served, the
 *     rest refused (rate_limit); 198.51.100.51 is served.
 */
START_TEST(test_access)
{
	const char *model = h_model(_i);
	struct retry r = { 0, "198.51.100.1", -1, 0, false };
	int deny, allow, persrc, rate, a, b, c, admitted = 0, refused = 0, slack;
	long long t0, burst_ms;
	struct srv s;
	enum h_outcome o;

	if (model_unavailable(model))
		return;
	start_conf(&s, model,
	    "idle_timeout = 30\n"
	    "proxy_protocol = \"any\"\n"
	    "proxy_from = {\"127.0.0.0/8\"}\n"
	    "service \"deny\" {\n"
	    "  listen = {\"127.0.0.1:0\"} handler = \"echo\"\n"
	    "  deny = {\"203.0.113.0/24\"}\n"
	    "}\n"
	    "service \"allow\" {\n"
	    "  listen = {\"127.0.0.1:0\"} handler = \"echo\"\n"
	    "  allow = {\"198.51.100.0/24\"}\n"
	    "}\n"
	    "service \"persrc\" {\n"
	    "  listen = {\"127.0.0.1:0\"} handler = \"echo\"\n"
	    "  max_per_source = 1\n"
	    "}\n"
	    "service \"rate\" {\n"
	    "  listen = {\"127.0.0.1:0\"} handler = \"echo\"\n"
	    "  rate_limit = 2\n"
	    "}\n",
	    4);
	deny = port_of(&s, model, "deny");
	allow = port_of(&s, model, "allow");
	persrc = r.port = port_of(&s, model, "persrc");
	rate = port_of(&s, model, "rate");

	EXPECT_FROM(model, deny, "203.0.113.9", false, H_REFUSED);
	EXPECT_FROM(model, deny, "203.0.113.10", true, H_REFUSED);
	EXPECT_FROM(model, deny, "198.51.100.1", false, H_SERVED);
	EXPECT_FROM(model, deny, "2001:db8::9", true, H_SERVED);
	H_EXPECT_STATUS(&s, model, "deny", "denied", 2);
	H_EXPECT_STATUS(&s, model, "deny", "proxy", 0);
	/* The first refusal of the process is warned about (then one every 10 s). */
	H_ASSERT(strstr(srv_log(&s), "203.0.113.9:1000") != NULL,
	    "%s: the refusal's warning does not name the header's source", model);

	EXPECT_FROM(model, allow, "198.51.100.5", true, H_SERVED);
	EXPECT_FROM(model, allow, "203.0.113.5", false, H_REFUSED);
	EXPECT_FROM(model, allow, "2001:db8::5", true, H_REFUSED);
	H_EXPECT_STATUS(&s, model, "allow", "denied", 2);
	H_EXPECT_STATUS(&s, model, "allow", "proxy", 0);

	if (h_model_serial(model)) {
		for (int i = 0; i < 3; i++)
			EXPECT_FROM(model, persrc, "198.51.100.1", true, H_SERVED);
		H_EXPECT_STATUS(&s, model, "persrc", "per_source", 0);
	} else {
		o = open_from(persrc, "198.51.100.1", 1001, true, &a);
		H_ASSERT(o == H_SERVED, "%s: persrc: first from 198.51.100.1 %s", model,
		    h_outcome_name(o));
		o = open_from(persrc, "198.51.100.1", 1002, false, &b);
		H_ASSERT(o == H_REFUSED, "%s: persrc: second from 198.51.100.1 %s, want refused",
		    model, h_outcome_name(o));
		close(b);
		o = open_from(persrc, "198.51.100.2", 1003, true, &c);
		H_ASSERT(o == H_SERVED, "%s: persrc: 198.51.100.2 %s", model, h_outcome_name(o));
		H_EXPECT_STATUS(&s, model, "persrc", "per_source", 1);
		H_EXPECT_STATUS(&s, model, "persrc", "now", 2);
		H_ASSERT(cli_echo_ok(a, "a\n") && cli_echo_ok(c, "c\n"),
		    "%s: persrc: admitted connections hurt by the refusal", model);

		close(a);
		H_ASSERT(h_wait_for(served_again, &r, D * (int)slow()) && r.fd >= 0,
		    "%s: persrc: 198.51.100.1 not admitted again after its connection left (%d "
		    "refused%s)",
		    model, r.refused, r.other ? ", one attempt neither served nor refused" : "");
		o = open_from(persrc, "198.51.100.1", 1004, false, &b);
		H_ASSERT(o == H_REFUSED, "%s: persrc: over the limit again %s, want refused", model,
		    h_outcome_name(o));
		close(b);
		H_EXPECT_STATUS(&s, model, "persrc", "per_source", 2 + r.refused);
		H_ASSERT(cli_echo_ok(c, "c\n") && cli_echo_ok(r.fd, "r\n"),
		    "%s: persrc: admitted connections hurt", model);
		close(c);
		close(r.fd);
		H_EXPECT_STATUS(&s, model, "persrc", "now", 0);
	}

	t0 = h_now_ms();
	for (int i = 0; i < BURST; i++) {
		o = try_from(rate, "198.51.100.50", 2000 + i, i % 2 == 0);
		H_ASSERT(o == H_SERVED || o == H_REFUSED, "%s: rate: burst connection %d %s", model,
		    i, h_outcome_name(o));
		if (o == H_SERVED)
			admitted++;
		else
			refused++;
	}
	burst_ms = h_now_ms() - t0;
	slack = (int)((burst_ms * RATE + 999) / 1000) + 1;
	H_ASSERT(admitted >= 1 && admitted <= RATE + slack && refused >= 1,
	    "%s: rate: %d of a burst of %d admitted in %lld ms, want 1..%d", model, admitted, BURST,
	    burst_ms, RATE + slack);
	H_EXPECT_STATUS(&s, model, "rate", "rate_limit", refused);
	EXPECT_FROM(model, rate, "198.51.100.51", true, H_SERVED);
	H_EXPECT_STATUS(&s, model, "rate", "proxy", 0);
	H_STOP_OK(&s, model);
}
END_TEST

/*
 * A process serving a connection that dies outright (a fork child killed,
 * a worker killed) does not keep its header source's max_per_source count
 * forever: with max_per_source 1, after the process serving 198.51.100.7
 * is killed, 198.51.100.7 is admitted again.  Under the models that serve
 * connections in other processes (fork) or with workers.
 */
START_TEST(test_killed_server)
{
	const char *model = h_model(_i);
	struct retry r = { .src = "198.51.100.7", .fd = -1 };
	pid_t kids[16];
	struct srv s;
	enum h_outcome o;
	int a, b, n;

	if (model_unavailable(model) || (!h_model_in_children(model) && !h_model_workers(model)))
		return;
	start_conf(&s, model,
	    h_model_workers(model) ? "workers = 2\n"
	                             "service \"persrc\" {\n"
	                             "  listen = {\"127.0.0.1:0\"} handler = \"echo\"\n"
	                             "  proxy_protocol = \"any\" proxy_from = {\"127.0.0.1\"}\n"
	                             "  max_per_source = 1\n"
	                             "}\n" :
	                             "service \"persrc\" {\n"
	                             "  listen = {\"127.0.0.1:0\"} handler = \"echo\"\n"
	                             "  proxy_protocol = \"any\" proxy_from = {\"127.0.0.1\"}\n"
	                             "  max_per_source = 1\n"
	                             "}\n",
	    1);
	r.port = port_of(&s, model, "persrc");
	o = open_from(r.port, r.src, 1001, true, &a);
	H_ASSERT(o == H_SERVED, "%s: first from %s %s", model, r.src, h_outcome_name(o));
	o = open_from(r.port, r.src, 1002, true, &b);
	H_ASSERT(o == H_REFUSED, "%s: second from %s %s, want refused", model, r.src,
	    h_outcome_name(o));
	close(b);
	/* The fork model's only child serves a; with workers, kill both. */
	n = h_proc_children(s.pid, kids, 16);
	H_ASSERT(n >= 1, "%s: no child process", model);
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	H_ASSERT(cli_wait_closed(a, D), "%s: the killed process's connection stayed open", model);
	close(a);
	H_ASSERT(h_wait_for(served_again, &r, D * (int)slow()) && r.fd >= 0,
	    "%s: %s not admitted again after the process serving it was killed (%d refused%s)",
	    model, r.src, r.refused, r.other ? ", one attempt neither served nor refused" : "");
	close(r.fd);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- 5: the configuration check ------------------------------------------ */

/*
 * proxy_protocol without proxy_from is a configuration error: dispatchd
 * -t exits 1 with a message naming proxy_from, from a file (per service
 * and globally) and from flags; with proxy_from it is accepted.
 */
START_TEST(test_config)
{
	const char *dir = h_tmpdir();
	static const char *const bad[] = {
		"service \"s\" { listen = {\"127.0.0.1:0\"} handler = \"echo\"\n"
		"  proxy_protocol = \"v1\" }\n",
		"proxy_protocol = \"any\"\n"
		"service \"s\" { listen = {\"127.0.0.1:0\"} handler = \"echo\" }\n",
	};
	const char *conf;
	struct srv s;
	int rc;

	H_ASSERT(dir != NULL, "tmpdir");
	for (size_t i = 0; i < NELEM(bad); i++) {
		const char *args[] = { "-t", "-c", NULL, NULL };

		conf = h_write_conf(dir, bad[i]);
		args[2] = conf;
		rc = srv_run(&s, args, D);
		H_ASSERT(rc == 1 && strstr(srv_log(&s), "proxy_from") != NULL,
		    "-t of a config with proxy_protocol and no proxy_from: exit %d, want 1 and a "
		    "message naming proxy_from:\n%s%s",
		    rc, bad[i], srv_log(&s));
		srv_free(&s);
	}
	{
		const char *args[] = { "-t", "-H", "echo", "-l", "127.0.0.1:0", "--proxy-protocol",
			"v2", NULL };

		rc = srv_run(&s, args, D);
		H_ASSERT(rc == 1 && strstr(srv_log(&s), "proxy_from") != NULL,
		    "-t --proxy-protocol v2 without --proxy-from: exit %d, want 1 and a message "
		    "naming proxy_from:\n%s",
		    rc, srv_log(&s));
		srv_free(&s);
	}
	{
		const char *args[] = { "-t", "-H", "echo", "-l", "127.0.0.1:0", "--proxy-protocol",
			"v2", "--proxy-from", "10.0.0.0/8", NULL };

		rc = srv_run(&s, args, D);
		H_ASSERT(rc == 0, "-t --proxy-protocol v2 --proxy-from 10.0.0.0/8: exit %d:\n%s",
		    rc, srv_log(&s));
		srv_free(&s);
	}
	conf = h_write_conf(dir,
	    "service \"s\" { listen = {\"127.0.0.1:0\"} handler = \"echo\"\n"
	    "  proxy_protocol = \"v1\" proxy_from = {\"127.0.0.1\"} }\n");
	{
		const char *args[] = { "-t", "-c", conf, NULL };

		rc = srv_run(&s, args, D);
		H_ASSERT(rc == 0, "-t of a config with proxy_protocol and proxy_from: exit %d:\n%s",
		    rc, srv_log(&s));
		srv_free(&s);
	}
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("proxy");

	h_tcase_models(su, "logger_peer", 60, test_logger_peer);
	h_tcase_models(su, "echo_payload", 60, test_echo_payload);
	h_tcase_models(su, "refusals", 60, test_refusals);
	h_tcase_models(su, "timeout", 60, test_timeout);
	h_tcase_models(su, "trickle", 60, test_trickle);
	h_tcase_models(su, "access", 60, test_access);
	h_tcase_models(su, "killed_server", 60, test_killed_server);
	tcase_add_test(h_tcase(su, "config", 30), test_config);
	return h_run_suite(su);
}
