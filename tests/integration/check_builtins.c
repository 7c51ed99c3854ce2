/* check_builtins.c - the inetd built-ins (discard, chargen, daytime, time) under every model, over TCP. */
#include <errno.h>
#include <poll.h>
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
/* For the bulk transfers (MiBs): a slowed-down server (valgrind) needs longer. */
#define DS (H_DEADLINE_MS * (int)h_time_scale())

/* RFC 868: seconds from 1900-01-01 to 1970-01-01. */

/* chargen: 72 characters + CR LF a line, from the 95 printable ones. */
#define CG_COLS   72
#define CG_LINE   74
#define CG_NCHARS 95

/* ---- helpers ---------------------------------------------------------- */

/* Milliseconds left until end (CLOCK_MONOTONIC), at least 1. */
static int
left(long long end)
{
	long long r = end - h_now_ms();

	return r < 1 ? 1 : (int)r;
}

/* The wall clock in whole seconds since 1970. */
static long long
wall_s(void)
{
	return h_wall_us() / 1000000;
}

/*
 * A deliberate stretch of time during which the test does nothing: part of
 * a scenario (a client that does not read for a while), never a stand-in
 * for a condition.
 */
static void
window_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* A small deterministic generator (xorshift32). */
static unsigned
rnd(unsigned *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void
fill(unsigned char *p, size_t n, unsigned seed)
{
	unsigned x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)rnd(&x);
}

/*
 * Reads everything up to the end of the stream into out within
 * timeout_ms: 0 at EOF, 1 when the stream ended with ECONNRESET (after
 * whatever data came first), -1 on timeout or another error (errno).
 */
static int
read_to_end(int fd, struct hbuf *out, int timeout_ms)
{
	long long end = h_now_ms() + timeout_ms;
	char chunk[65536];

	for (;;) {
		ssize_t r = recv(fd, chunk, sizeof chunk, 0);

		if (r > 0) {
			hbuf_add(out, chunk, (size_t)r);
			continue;
		}
		if (r == 0)
			return 0;
		if (errno == ECONNRESET)
			return 1;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
		{
			struct pollfd pf = { fd, POLLIN, 0 };
			int k = h_now_ms() >= end ? 0 : poll(&pf, 1, left(end));

			if (k == -1 && errno == EINTR)
				continue;
			if (k <= 0) {
				if (k == 0)
					errno = ETIMEDOUT;
				return -1;
			}
		}
	}
}

/*
 * Starts model with handler on 127.0.0.1:0, plus extra arguments; with
 * env (NULL-terminated "NAME=VALUE" entries) added to its environment.
 */
static void
start_env(struct srv *s, const char *model, const char *handler, const char *const *extra,
    const char *const *env)
{
	const char *args[17] = { h_binary(), "-m", model, "-H", handler, "-l", "127.0.0.1:0" };
	int n = 7;

	for (; extra != NULL && *extra != NULL && n < 16; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	if (env == NULL)
		H_ASSERT(srv_start(s, args + 1) == 0, "%s: %s server did not start", model,
		    handler);
	else
		H_ASSERT(srv_spawn_cmd(s, args, env, NULL) == 0 &&
		        srv_wait_listening(s, 1, H_START_MS) == 0,
		    "%s: %s server did not start", model, handler);
	H_ASSERT(s->nls == 1 && strcmp(s->ls[0].handler, handler) == 0 && s->ls[0].port > 0,
	    "%s: bad listening line '%s (%s, %s)'", model, s->ls[0].addr, s->ls[0].service,
	    s->ls[0].handler);
}

static void
start(struct srv *s, const char *model, const char *handler, const char *const *extra)
{
	start_env(s, model, handler, extra, NULL);
}

static int
connect_ok(const char *model, struct srv *s)
{
	int fd = cli_connect(srv_port(s, 0));

	H_ASSERT(fd >= 0, "%s: connect: %s", model, H_ERR);
	return fd;
}

/* ---- daytime and time ------------------------------------------------- */

/*
 * One connection to daytime or time: connect, optionally send str first,
 * read until the server closes (EOF; ECONNRESET only when allow_reset,
 * after the reply) and check the reply.
 */
static void
one_reply(const char *model, struct srv *s, bool daytime, const char *what, const char *str,
    int *resets)
{
	struct hbuf in = { 0 };
	long long t0 = wall_s(), t1;
	int fd = connect_ok(model, s), r;

	if (str != NULL)
		H_ASSERT(cli_send(fd, str) == 0, "%s: %s: write: %s", model, what, H_ERR);
	r = read_to_end(fd, &in, D);
	t1 = wall_s();
	H_ASSERT(r == 0 || (r == 1 && str != NULL),
	    "%s: %s: the server did not close within %d ms (%s) after %zu "
	    "bytes '%s'",
	    model, what, D, r == 1 ? "reset" : H_ERR, in.len, h_show(in.p, in.len));
	if (r == 1)
		(*resets)++;
	if (daytime)
		h_check_daytime(model, what, in.p, in.len, t0, t1);
	else
		h_check_time(model, what, (const unsigned char *)in.p, in.len, t0, t1);
	close(fd);
	hbuf_free(&in);
}

static void
reply_case(const char *model, bool daytime)
{
	const char *handler = daytime ? "daytime" : "time";
	char what[64];
	struct srv s;
	int i, resets = 0;

	start(&s, model, handler, NULL);
	/* One after another: each is answered and closed by the server. */
	for (i = 0; i < 3; i++) {
		snprintf(what, sizeof what, "%s connection %d", handler, i + 1);
		one_reply(model, &s, daytime, what, NULL, &resets);
	}
	/* A client that sends something first (RFC 867/868: it is ignored). */
	snprintf(what, sizeof what, "%s with client data", handler);
	one_reply(model, &s, daytime, what, "hello\r\nsome more\r\n", &resets);
	/* A client that resets at once does not disturb the next. */
	cli_reset(connect_ok(model, &s));
	snprintf(what, sizeof what, "%s after a reset client", handler);
	one_reply(model, &s, daytime, what, NULL, &resets);
	if (h_verbose() && resets > 0)
		fprintf(stderr,
		    "%s %s: the client that sent data got a reset "
		    "after the reply\n",
		    model, handler);
	H_STOP_OK(&s, model);
}

/* daytime: one ctime line, UTC, then the server closes. */
START_TEST(test_daytime)
{
	reply_case(h_model(_i), true);
}
END_TEST

/* time: 4 bytes, seconds since 1900 big-endian, then the server closes. */
START_TEST(test_time)
{
	reply_case(h_model(_i), false);
}
END_TEST

/* ---- discard ---------------------------------------------------------- */

/*
 * discard: 1 MiB in random chunks, nothing comes back; the server closes
 * only after the half-close, and it keeps serving.
 */
START_TEST(test_discard)
{
	const char *model = h_model(_i);
	const size_t total = 1 << 20;
	unsigned char *data = malloc(total);
	struct hbuf in = { 0 };
	long long end;
	unsigned x = 12345;
	size_t off = 0;
	struct srv s;
	int fd, i;

	H_ASSERT(data != NULL, "malloc");
	fill(data, total, 863);
	start(&s, model, "discard", NULL);

	fd = connect_ok(model, &s);
	end = h_now_ms() + 2 * DS;
	while (off < total) {
		size_t n = 1 + rnd(&x) % 65536;

		if (n > total - off)
			n = total - off;
		H_ASSERT(cli_exchange(fd, data + off, n, false, &in, left(end)) == 0,
		    "%s: discard: write at byte %zu: %s", model, off,
		    errno == 0 ? "closed" : H_ERR);
		H_ASSERT(in.len == 0, "%s: discard sent %zu bytes back: '%s'", model, in.len,
		    h_show(in.p, in.len));
		off += n;
	}
	/* Bounded wait for an absence: no byte, no EOF before the half-close. */
	H_ASSERT(cli_quiet(fd, 100), "%s: discard replied or closed before the half-close", model);
	H_ASSERT(cli_exchange(fd, NULL, 0, true, &in, D) == 0,
	    "%s: discard: no EOF within %d ms after the half-close: %s", model, D, H_ERR);
	H_ASSERT(in.len == 0, "%s: discard sent %zu bytes back: '%s'", model, in.len,
	    h_show(in.p, in.len));
	close(fd);

	/* A half-close at once: EOF at once. */
	fd = connect_ok(model, &s);
	H_ASSERT(cli_exchange(fd, NULL, 0, true, &in, D) == 0 && in.len == 0,
	    "%s: discard: no clean EOF after an immediate half-close", model);
	close(fd);

	/* Clients that leave without a half-close, then one more. */
	for (i = 0; i < 2; i++) {
		fd = connect_ok(model, &s);
		H_ASSERT(cli_write_all(fd, data, 70000, D) == 0, "%s: discard: write: %s", model,
		    H_ERR);
		if (i == 0)
			close(fd);
		else
			cli_reset(fd);
	}
	fd = connect_ok(model, &s);
	H_ASSERT(cli_exchange(fd, data, 4096, true, &in, D) == 0 && in.len == 0,
	    "%s: discard: the last client was not served", model);
	close(fd);

	H_STOP_OK(&s, model);
	free(data);
	hbuf_free(&in);
}
END_TEST

/* ---- chargen ---------------------------------------------------------- */

/* Where a chargen stream is: the offset of its next byte. */
struct cg {
	unsigned long long off;
};

/* Byte off of a chargen stream. */
static unsigned char
cg_byte(unsigned long long off)
{
	unsigned long long k = off / CG_LINE;
	unsigned c = (unsigned)(off % CG_LINE);

	if (c == CG_COLS)
		return '\r';
	if (c == CG_COLS + 1)
		return '\n';
	return (unsigned char)(0x20 + (k % CG_NCHARS + c) % CG_NCHARS);
}

/* Checks that the n bytes at p continue the stream. */
static void
cg_feed(const char *model, const char *what, struct cg *cg, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++, cg->off++) {
		unsigned char want = cg_byte(cg->off);

		H_ASSERT(c[i] == want,
		    "%s: %s: byte %llu (line %llu, column %u) is 0x%02x, want "
		    "0x%02x; from there: '%s'",
		    model, what, cg->off, cg->off / CG_LINE, (unsigned)(cg->off % CG_LINE), c[i],
		    want, h_show(c + i, n - i < 80 ? n - i : 80));
	}
}

/* Reads nlines more whole lines and checks them. */
static void
cg_read_lines(const char *model, const char *what, int fd, struct cg *cg, int nlines,
    int timeout_ms)
{
	size_t n = (size_t)nlines * CG_LINE;
	char *buf = malloc(n);
	ssize_t r;

	H_ASSERT(buf != NULL, "malloc");
	H_ASSERT(cg->off % CG_LINE == 0, "%s: %s: not at a line start", model, what);
	r = cli_read_exact(fd, buf, n, timeout_ms);
	H_ASSERT(r == (ssize_t)n, "%s: %s: %zd of %zu bytes (%d lines) came within %d ms: %s",
	    model, what, r, n, nlines, timeout_ms, r >= 0 && errno == 0 ? "EOF" : H_ERR);
	cg_feed(model, what, cg, buf, n);
	free(buf);
}

/*
 * chargen: 100 lines of the pattern; each connection starts at line 0
 * (a second one while the first is open, except under a serial model).
 */
START_TEST(test_chargen)
{
	const char *model = h_model(_i);
	struct cg a = { 0 }, b = { 0 };
	char first[CG_LINE];
	struct srv s;
	int fa, fb;

	start(&s, model, "chargen", NULL);
	fa = connect_ok(model, &s);
	H_ASSERT(cli_read_exact(fa, first, CG_LINE, D) == CG_LINE, "%s: chargen: no first line: %s",
	    model, H_ERR);
	H_ASSERT(first[0] == ' ' && first[1] == '!' && memcmp(first + 70, "fg\r\n", 4) == 0,
	    "%s: chargen: first line is '%s', want ' !\"#...efg\\r\\n'", model,
	    h_show(first, CG_LINE));
	cg_feed(model, "chargen", &a, first, CG_LINE);
	cg_read_lines(model, "chargen", fa, &a, 99, D);

	if (h_model_serial(model))
		close(fa);
	fb = connect_ok(model, &s);
	cg_read_lines(model, "chargen (second client)", fb, &b, 100, D);
	if (!h_model_serial(model)) {
		/* The first one carries on where it was. */
		cg_read_lines(model, "chargen (first client again)", fa, &a, 100, D);
		close(fa);
	}
	close(fb);
	H_STOP_OK(&s, model);
}
END_TEST

/*
 * chargen with input: the client sends 8 MiB (more than the kernel
 * buffers could hold unread) in random chunks while reading, so the
 * server must read and drop it while it keeps sending the pattern.
 */
START_TEST(test_chargen_input)
{
	const char *model = h_model(_i);
	const size_t total = 8 << 20;
	unsigned char *data = malloc(total);
	const char *what = "chargen with client data";
	static char chunk[65536];
	struct cg cg = { 0 };
	size_t off = 0, cur = 0;
	unsigned x = 864;
	long long end;
	struct srv s;
	int fd;

	H_ASSERT(data != NULL, "malloc");
	fill(data, total, 864);
	start(&s, model, "chargen", NULL);
	fd = connect_ok(model, &s);
	end = h_now_ms() + 2 * DS;
	while (off < total) {
		struct pollfd pf = { fd, POLLIN | POLLOUT, 0 };
		/* Bounded also while output keeps coming and input does not go. */
		int r = h_now_ms() >= end ? 0 : poll(&pf, 1, left(end));

		if (r == -1 && errno == EINTR)
			continue;
		H_ASSERT(r > 0,
		    "%s: %s: stuck after sending %zu of %zu bytes "
		    "and reading %llu within %d ms: %s",
		    model, what, off, total, cg.off, 2 * DS, r == 0 ? "timeout" : H_ERR);
		if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t k = recv(fd, chunk, sizeof chunk, 0);

			H_ASSERT(k > 0 || (k == -1 && (errno == EAGAIN || errno == EINTR)),
			    "%s: %s: connection ended after "
			    "sending %zu bytes: %s",
			    model, what, off, k == 0 ? "EOF" : H_ERR);
			if (k > 0)
				cg_feed(model, what, &cg, chunk, (size_t)k);
		}
		if (pf.revents & POLLOUT) {
			ssize_t w;

			if (cur == 0) {
				cur = 1 + rnd(&x) % 65536;
				if (cur > total - off)
					cur = total - off;
			}
			w = send(fd, data + off, cur, MSG_NOSIGNAL);
			H_ASSERT(w > 0 || (w == -1 && (errno == EAGAIN || errno == EINTR)),
			    "%s: %s: write: %s", model, what, H_ERR);
			if (w > 0) {
				off += (size_t)w;
				cur -= (size_t)w;
			}
		}
	}
	/* Up to the next line boundary, then 100 more lines. */
	if (cg.off % CG_LINE != 0) {
		size_t n = CG_LINE - (size_t)(cg.off % CG_LINE);

		H_ASSERT(cli_read_exact(fd, chunk, n, D) == (ssize_t)n,
		    "%s: %s: the line was not finished: %s", model, what, H_ERR);
		cg_feed(model, what, &cg, chunk, n);
	}
	cg_read_lines(model, what, fd, &cg, 100, D);
	H_ASSERT(cg.off >= 100 * CG_LINE, "%s: %s: too few lines", model, what);
	if (h_verbose())
		fprintf(stderr,
		    "%s: chargen read %llu lines while sending %zu "
		    "bytes\n",
		    model, cg.off / CG_LINE, total);
	close(fd);
	H_STOP_OK(&s, model);
	free(data);
}
END_TEST

/*
 * chargen after the client's half-close: the client may still read, so the
 * server keeps sending; once the client leaves, the next one is served.
 */
START_TEST(test_chargen_halfclose)
{
	const char *model = h_model(_i);
	const char *what = "chargen after the half-close";
	struct cg cg = { 0 }, c2 = { 0 };
	struct srv s;
	int fd;

	start(&s, model, "chargen", NULL);
	fd = connect_ok(model, &s);
	cg_read_lines(model, "chargen", fd, &cg, 10, D);
	H_ASSERT(cli_shut_wr(fd) == 0, "%s: shutdown: %s", model, H_ERR);
	cg_read_lines(model, what, fd, &cg, 10, D);
	/* Well past anything the server had queued before it saw the EOF. */
	cg_read_lines(model, what, fd, &cg, 100000, DS);
	close(fd);
	fd = connect_ok(model, &s);
	cg_read_lines(model, "chargen (next client)", fd, &c2, 10, D);
	close(fd);
	H_STOP_OK(&s, model);
}
END_TEST

/* For h_wait_for: the server (arg) has a child. */
static bool
has_child(void *arg)
{
	pid_t kid;

	return h_proc_children(*(pid_t *)arg, &kid, 1) > 0;
}

/*
 * chargen to a client that never reads, with --max-pending 4096: the
 * server's memory stays flat and it does not spin (measured on the process
 * that serves the client: the server, or its child under a model serving
 * in children), other clients are served meanwhile (not under a serial
 * model), and when the client leaves with its data unread the server
 * carries on.
 */
START_TEST(test_chargen_stalled)
{
	const char *model = h_model(_i);
	const char *const extra[] = { "--max-pending", "4096", NULL };
	bool measure = !h_under_valgrind();
	struct cg cg = { 0 }, cb = { 0 };
	long rss0, rss1, cpu0, cpu1;
	const char *asan = getenv("ASAN_OPTIONS");
	char asan_env[512];
	const char *const env[] = { asan_env, NULL };
	pid_t target;
	struct srv s;
	int fa, fb;

	/*
	 * Under AddressSanitizer (make check-asan) the quarantine keeps what
	 * the server frees while it fills the socket buffers, some 15 MB
	 * here: turn it off for this server, so that VmRSS measures the
	 * server and not ASan's delay before reuse.  Other servers ignore it.
	 */
	snprintf(asan_env, sizeof asan_env, "ASAN_OPTIONS=%s%squarantine_size_mb=0",
	    asan != NULL ? asan : "", asan != NULL && *asan != '\0' ? ":" : "");
	start_env(&s, model, "chargen", extra, env);
	target = s.pid;
	fa = connect_ok(model, &s);
	/* The baseline once the model serves: the first line came (a model
	 * sets itself up after the listening lines: io_uring's buffer pool). */
	cg_read_lines(model, "chargen (first line)", fa, &cg, 1, D);
	rss0 = h_proc_kb(target, "VmRSS");
	if (h_model_in_children(model)) {
		pid_t kids[4];

		H_ASSERT(h_wait_for(has_child, &s.pid, D), "%s: no child for the connection",
		    model);
		H_ASSERT(h_proc_children(s.pid, kids, 4) == 1,
		    "%s: more than one child for one connection", model);
		target = kids[0];
		rss0 = h_proc_kb(target, "VmRSS");
	}
	H_ASSERT(rss0 > 0, "%s: no VmRSS for %d", model, (int)target);

	/* The client does not read for a second. */
	window_ms(300);
	cpu0 = h_proc_cpu_ms(target);
	window_ms(700);
	cpu1 = h_proc_cpu_ms(target);
	rss1 = h_proc_kb(target, "VmRSS");
	H_ASSERT(srv_alive(&s) && cpu0 >= 0 && cpu1 >= 0 && rss1 > 0,
	    "%s: the server (%d) went away while a client did not read", model, (int)target);
	if (h_verbose())
		fprintf(stderr,
		    "%s: chargen not read for 1 s: VmRSS %ld -> "
		    "%ld kB, CPU %ld ms in the last 0.7 s\n",
		    model, rss0, rss1, cpu1 - cpu0);
	if (measure) {
		H_ASSERT(rss1 - rss0 <= 8192,
		    "%s: VmRSS grew by %ld kB (%ld -> %ld) while a chargen "
		    "client did not read (--max-pending 4096)",
		    model, rss1 - rss0, rss0, rss1);
		H_ASSERT(cpu1 - cpu0 < 350,
		    "%s: the server used %ld ms of CPU in 0.7 s while its only "
		    "client did not read (spinning?)",
		    model, cpu1 - cpu0);
	}

	/* Another client is served meanwhile. */
	if (!h_model_serial(model)) {
		fb = connect_ok(model, &s);
		cg_read_lines(model, "chargen (second client, first stalled)", fb, &cb, 20, D);
		close(fb);
	}
	/* The stalled client had been sent the pattern on from there. */
	cg_read_lines(model, "chargen (stalled client)", fa, &cg, 1, D);
	/* It leaves with data unread (the kernel resets the connection). */
	close(fa);
	H_ASSERT(srv_alive(&s),
	    "%s: the server died when a chargen client "
	    "left with data unread",
	    model);
	memset(&cb, 0, sizeof cb);
	fb = connect_ok(model, &s);
	cg_read_lines(model, "chargen (after the stalled client left)", fb, &cb, 20, D);
	close(fb);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- the real netcat -------------------------------------------------- */

/* True when netcat-openbsd is there (nc -N, -d). */
static bool
have_nc(void)
{
	const char *const argv[] = { "sh", "-c", "nc -h 2>&1 | grep -q OpenBSD", NULL };

	return h_runs(argv);
}

/* Runs argv to completion; returns its stdout (malloc'd) and length. */
static char *
run_nc(const char *model, const char *const argv[], size_t *len)
{
	struct srv n;
	const char *out;
	char *copy;
	int rc;

	H_ASSERT(srv_spawn_cmd(&n, argv, NULL, NULL) == 0, "%s: spawn %s", model, argv[0]);
	rc = srv_wait(&n, D);
	H_ASSERT(rc == 0,
	    "%s: '%s %s ...' gave %d (-1: still running after "
	    "%d ms); stderr: %s",
	    model, argv[0], argv[1], rc, D, srv_log(&n));
	out = srv_stdout(&n);
	*len = strlen(out);
	copy = strdup(out);
	H_ASSERT(copy != NULL, "strdup");
	srv_free(&n);
	return copy;
}

/*
 * netcat-openbsd against daytime (nc -d: no stdin; nc -N: EOF on stdin
 * becomes a half-close) and discard (1 MiB piped through nc -N: nothing
 * back, nc exits once the server closed).  Skipped without nc.
 */
START_TEST(test_nc)
{
	const char *model = h_model(_i);
	static const char *const modes[] = { "-d", "-N" };
	char port[16], what[32], *out;
	struct srv s, t;
	size_t len;

	if (!have_nc()) {
		fprintf(stderr, "%s: nc: netcat-openbsd missing, skipped\n", model);
		return;
	}
	start(&s, model, "daytime", NULL);
	snprintf(port, sizeof port, "%d", srv_port(&s, 0));
	for (int i = 0; i < 2; i++) {
		const char *const argv[] = { "nc", modes[i], "127.0.0.1", port, NULL };
		long long t0 = wall_s(), t1;

		out = run_nc(model, argv, &len);
		t1 = wall_s();
		snprintf(what, sizeof what, "daytime via nc %s", modes[i]);
		h_check_daytime(model, what, out, len, t0, t1);
		free(out);
	}
	H_STOP_OK(&s, model);

	start(&t, model, "discard", NULL);
	snprintf(port, sizeof port, "%d", srv_port(&t, 0));
	{
		const char *const argv[] = { "sh", "-c",
			"head -c 1048576 /dev/urandom | nc -N 127.0.0.1 \"$0\"", port, NULL };

		out = run_nc(model, argv, &len);
		H_ASSERT(len == 0,
		    "%s: discard via nc -N: %zu bytes came "
		    "back: '%s'",
		    model, len, h_show(out, len));
		free(out);
	}
	H_STOP_OK(&t, model);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("builtins");
	/* The bulk transfers wait up to 2 * DS: a slowed-down server gets longer. */
	int to = 30 * (int)h_time_scale();

	h_tcase_models(su, "daytime", to, test_daytime);
	h_tcase_models(su, "time", to, test_time);
	h_tcase_models(su, "discard", to, test_discard);
	h_tcase_models(su, "chargen", to, test_chargen);
	h_tcase_models(su, "chargen_input", to, test_chargen_input);
	h_tcase_models(su, "chargen_halfclose", to, test_chargen_halfclose);
	h_tcase_models(su, "chargen_stalled", to, test_chargen_stalled);
	h_tcase_models(su, "nc", to, test_nc);
	return h_run_suite(su);
}
