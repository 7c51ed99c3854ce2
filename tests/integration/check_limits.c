/* check_limits.c - limits and signals of the real binary: backpressure, max-clients, idle, RST, SIGHUP, SIGTERM. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#define D H_DEADLINE_MS

#define PUSH_TOTAL   (200L << 20) /* what the client tries to push */
#define RSS_BOUND_KB (32L << 10)  /* allowed growth of the server */
#define STALL_MS     750          /* no progress this long: server stopped reading */
#define PUSH_MS      20000        /* the push gives up after this in any case */
#define PAT_LEN      1000003      /* prime period of the pushed bytes */

static unsigned char pat[PAT_LEN];

/* Checked fixture, run after h_setup: fills pat. */
static void
fill_pat(void)
{
	size_t i;
	unsigned x = 2463534242u;

	for (i = 0; i < PAT_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pat[i] = (unsigned char)x;
	}
}

/* The process that serves connections: in children, the (only) child. */
struct serving {
	pid_t server;
	pid_t pid;
};

static bool
find_serving(void *arg)
{
	struct serving *sv = arg;
	pid_t kids[8];

	if (h_proc_children(sv->server, kids, 8) < 1)
		return false;
	sv->pid = kids[0];
	return true;
}

/*
 * Pushes up to total bytes of the pattern without reading, until the
 * server stops reading (no progress for STALL_MS) or PUSH_MS passed (see
 * cli_push).
 */
static long
push(int fd, long total)
{
	return cli_push(fd, pat, PAT_LEN, total, STALL_MS, PUSH_MS);
}

/*
 * Backpressure: a client pushing 200 MiB into echo without reading keeps
 * the serving process's RSS (and its peak, VmHWM) growth under 32 MiB;
 * the bytes pushed then all come back intact once the client reads.
 */
START_TEST(test_backpressure)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-H", "echo", "-l", "127.0.0.1:0", NULL };
	struct serving sv;
	long rss0, rss1, hwm0, hwm1, sent;
	long long got = 0, end;
	unsigned char buf[65536];
	struct srv s;
	int fd;

	H_START_OK(&s, args, model);
	fd = cli_connect(srv_port(&s, 0));
	H_ASSERT(fd >= 0, "%s: connect: %s", model, H_ERR);
	H_ASSERT(cli_echo_ok(fd, "x"), "%s: not served", model);
	sv.server = sv.pid = s.pid;
	if (h_model_in_children(model))
		H_ASSERT(h_wait_for(find_serving, &sv, D), "%s: no child serving the connection",
		    model);
	rss0 = h_proc_kb(sv.pid, "VmRSS");
	hwm0 = h_proc_kb(sv.pid, "VmHWM");
	H_ASSERT(rss0 > 0 && hwm0 > 0, "%s: cannot read /proc/%d/status", model, (int)sv.pid);

	sent = push(fd, PUSH_TOTAL);
	H_ASSERT(sent >= 0, "%s: connection failed while pushing: %s", model, H_ERR);
	rss1 = h_proc_kb(sv.pid, "VmRSS");
	hwm1 = h_proc_kb(sv.pid, "VmHWM");
	if (h_verbose())
		fprintf(stderr,
		    "backpressure %s: pushed %ld KiB, VmRSS %ld -> "
		    "%ld KiB, VmHWM %ld -> %ld KiB\n",
		    model, sent >> 10, rss0, rss1, hwm0, hwm1);
	H_ASSERT(rss1 > 0 && rss1 - rss0 < RSS_BOUND_KB,
	    "%s: VmRSS of pid %d grew from %ld to %ld KiB after %ld KiB "
	    "pushed",
	    model, (int)sv.pid, rss0, rss1, sent >> 10);
	H_ASSERT(hwm1 > 0 && hwm1 - hwm0 < RSS_BOUND_KB,
	    "%s: VmHWM of pid %d grew from %ld to %ld KiB after %ld KiB "
	    "pushed",
	    model, (int)sv.pid, hwm0, hwm1, sent >> 10);
	H_ASSERT(sent < PUSH_TOTAL,
	    "%s: the server took all %ld MiB without the client reading: "
	    "it neither paused reading nor kept the replies",
	    model, PUSH_TOTAL >> 20);

	/* Now read: every byte pushed comes back, in order, then EOF. */
	H_ASSERT(cli_shut_wr(fd) == 0, "shutdown: %s", H_ERR);
	end = h_now_ms() + 30000;
	for (;;) {
		ssize_t r = cli_read_exact(fd, buf, sizeof buf,
		    (int)(end - h_now_ms() > 0 ? end - h_now_ms() : 0));

		for (ssize_t i = 0; i < r; i++)
			H_ASSERT(buf[i] == pat[(got + i) % PAT_LEN], "%s: echoed byte %lld differs",
			    model, got + (long long)i);
		got += r;
		if (r < (ssize_t)sizeof buf) {
			H_ASSERT(errno == 0, "%s: reading back: %s after %lld of %ld bytes", model,
			    H_ERR, got, sent);
			break;
		}
	}
	H_ASSERT(got == sent, "%s: %lld bytes came back, %ld were pushed", model, got, sent);
	close(fd);
	H_STOP_OK(&s, model);
}
END_TEST

/*
 * --max-clients 2: a third connection is closed at once (EOF or RST,
 * nothing echoed) while the first two keep working; once one of them
 * leaves, a new client is served again.  Not for a serial model: there,
 * the third connection simply waits in the backlog.
 */
START_TEST(test_max_clients)
{
	const char *model = h_conc_model(_i);
	const char *args[] = { "-m", model, "-H", "echo", "-l", "127.0.0.1:0", "--max-clients", "2",
		NULL };
	struct hbuf in = { 0 };
	struct srv s;
	int a, b, c, r, port;

	H_START_OK(&s, args, model);
	port = srv_port(&s, 0);
	a = cli_connect(port);
	H_ASSERT(a >= 0 && cli_echo_ok(a, "a\n"), "%s: first client", model);
	b = cli_connect(port);
	H_ASSERT(b >= 0 && cli_echo_ok(b, "b\n"), "%s: second client", model);

	c = cli_connect(port);
	H_ASSERT(c >= 0, "%s: connect: %s", model, H_ERR);
	(void)cli_send(c, "c\n"); /* may already fail: it is being closed */
	r = cli_read_until_eof(c, &in, 2000);
	H_ASSERT(r == 0 || errno == ECONNRESET, "%s: third connection not closed within 2 s: %s",
	    model, H_ERR);
	H_ASSERT(in.len == 0, "%s: third connection was served ('%s')", model, in.p);
	close(c);

	H_ASSERT(cli_echo_ok(a, "a2\n"), "%s: first client hurt", model);
	H_ASSERT(cli_echo_ok(b, "b2\n"), "%s: second client hurt", model);
	close(a);
	H_ASSERT(h_wait_for(h_served, &port, D), "%s: no new client served after one of two left",
	    model);
	H_ASSERT(cli_echo_ok(b, "b3\n"), "%s: second client hurt", model);
	close(b);
	H_STOP_OK(&s, model);
	hbuf_free(&in);
}
END_TEST

/*
 * --idle-timeout 1: a silent client is disconnected after about a second,
 * while (except under a serial model) a client that keeps talking is not.
 */
START_TEST(test_idle_timeout)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-H", "echo", "-l", "127.0.0.1:0", "--idle-timeout",
		"1", NULL };
	bool serial = h_model_serial(model);
	long long t0, elapsed;
	struct srv s;
	int a, b = -1;

	H_START_OK(&s, args, model);
	if (!serial) {
		b = cli_connect(srv_port(&s, 0));
		H_ASSERT(b >= 0 && cli_echo_ok(b, "b\n"), "%s: chatty client", model);
	}
	a = cli_connect(srv_port(&s, 0));
	H_ASSERT(a >= 0 && cli_echo_ok(a, "a\n"), "%s: idle client", model);
	t0 = h_now_ms();
	/* b talks every 250 ms while a stays silent until it is closed. */
	while (!cli_wait_closed(a, 250)) {
		H_ASSERT(h_now_ms() - t0 < 4000, "%s: idle client still connected after 4 s",
		    model);
		if (b >= 0)
			H_ASSERT(cli_echo_ok(b, "tick\n"),
			    "%s: active client was disconnected (%lld ms)", model, h_now_ms() - t0);
	}
	elapsed = h_now_ms() - t0;
	H_ASSERT(elapsed >= 800, "%s: idle client closed after %lld ms, before the 1 s timeout",
	    model, elapsed);
	if (b >= 0) {
		H_ASSERT(cli_echo_ok(b, "still\n"), "%s: active client was disconnected", model);
		close(b);
	}
	close(a);
	H_STOP_OK(&s, model);
}
END_TEST

/*
 * A client that resets (SO_LINGER 0) with replies still unsent does not
 * hurt the server or another client.
 */
START_TEST(test_reset)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-H", "echo", "-l", "127.0.0.1:0", NULL };
	bool serial = h_model_serial(model);
	struct srv s;
	int a, b = -1, c, port;
	long sent;

	H_START_OK(&s, args, model);
	port = srv_port(&s, 0);
	if (!serial) {
		b = cli_connect(port);
		H_ASSERT(b >= 0 && cli_echo_ok(b, "b\n"), "%s: other client", model);
	}
	a = cli_connect(port);
	H_ASSERT(a >= 0 && cli_echo_ok(a, "a\n"), "%s: client", model);
	/* Enough that the server has replies it cannot send. */
	sent = push(a, 8L << 20);
	H_ASSERT(sent > 0, "%s: push: %s", model, H_ERR);
	cli_reset(a);

	if (b >= 0) {
		H_ASSERT(cli_echo_ok(b, "b2\n"), "%s: other client hurt by the reset", model);
		close(b);
	}
	c = cli_connect(port);
	H_ASSERT(c >= 0 && cli_echo_ok(c, "c\n"), "%s: new client not served after the reset",
	    model);
	close(c);
	H_ASSERT(srv_alive(&s), "%s: server died after a client reset", model);
	H_STOP_OK(&s, model);
}
END_TEST

struct probe {
	int fd;
	const char *path;
	int n;
	bool failed;
};

/* Logs one more probe line; true once a probe shows up in the new file. */
static bool
probe_reopened(void *arg)
{
	struct probe *pr = arg;
	char line[64], needle[64], *t;
	bool ok;

	snprintf(line, sizeof line, "probe %d\n", ++pr->n);
	if (cli_send(pr->fd, line) == -1 || cli_read_line(pr->fd, needle, sizeof needle, D) != 3) {
		pr->failed = true;
		return true; /* stop polling; the caller reports */
	}
	snprintf(needle, sizeof needle, ": probe %d\n", pr->n);
	t = h_read_file(pr->path, NULL);
	ok = t != NULL && strstr(t, needle) != NULL;
	free(t);
	return ok;
}

struct file_count {
	const char *path;
	const char *needle;
	size_t want;
};

static bool
file_count(void *arg)
{
	struct file_count *fc = arg;
	char *t = h_read_file(fc->path, NULL);
	bool ok = t != NULL && h_count(t, fc->needle) >= fc->want;

	free(t);
	return ok;
}

/* Sends line and expects "OK\n". */
static bool
logged(int fd, const char *line)
{
	char ack[16];

	return cli_send(fd, line) == 0 && cli_read_line(fd, ack, sizeof ack, D) == 3 &&
	    strcmp(ack, "OK\n") == 0;
}

/*
 * SIGHUP after the logger output was renamed: new records go to a new
 * file at the old path, from the connection that was open across the
 * signal (its own process under a model serving in children) and from a
 * new one.
 */
START_TEST(test_sighup)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	const char *out = h_path(dir, "out.log");
	const char *old = h_path(dir, "out.log.1");
	const char *args[] = { "-m", model, "-H", "logger", "-l", "127.0.0.1:0", "--logger-output",
		out, "--logger-ack", NULL };
	bool serial = h_model_serial(model);
	struct probe pr = { 0 };
	struct file_count fc;
	char *t;
	struct srv s;
	int a, b;

	H_ASSERT(dir != NULL, "tmpdir");
	H_START_OK(&s, args, model);
	a = cli_connect(srv_port(&s, 0));
	H_ASSERT(a >= 0 && logged(a, "before\n"), "%s: first line not acked", model);
	H_ASSERT(rename(out, old) == 0, "rename: %s", H_ERR);
	H_ASSERT(kill(s.pid, SIGHUP) == 0, "kill: %s", H_ERR);

	pr.fd = a;
	pr.path = out;
	H_ASSERT(h_wait_for(probe_reopened, &pr, D) && !pr.failed,
	    "%s: after SIGHUP, the open connection's records never reached "
	    "the new %s (%d probes%s)",
	    model, out, pr.n, pr.failed ? ", connection failed" : "");
	H_ASSERT(logged(a, "after\n"), "%s: line not acked", model);
	if (serial)
		close(a);
	b = cli_connect(srv_port(&s, 0));
	H_ASSERT(b >= 0 && logged(b, "from b\n"), "%s: new client's line not acked", model);
	close(b);
	if (!serial)
		close(a);

	fc.path = out;
	fc.needle = " disconnected\n";
	fc.want = 2;
	H_ASSERT(h_wait_for(file_count, &fc, D), "%s: disconnect records missing from the new file",
	    model);
	t = h_read_file(out, NULL);
	H_ASSERT(t != NULL && strstr(t, ": after\n") != NULL && strstr(t, ": from b\n") != NULL &&
	        strstr(t, ": before\n") == NULL,
	    "%s: new file has wrong records:\n%s", model, t ? t : "");
	free(t);
	t = h_read_file(old, NULL);
	H_ASSERT(t != NULL && strstr(t, ": before\n") != NULL && strstr(t, ": after\n") == NULL &&
	        strstr(t, ": from b\n") == NULL,
	    "%s: renamed file has wrong records:\n%s", model, t ? t : "");
	free(t);
	H_STOP_OK(&s, model);
}
END_TEST

/* Leaves a socket file at path as a crashed server would. */
static int
stale_socket(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		return -1;
	return close(fd);
}

/*
 * A unix listener replaces a stale socket file, serves, and on SIGTERM the
 * server exits 0 and removes the file.
 */
START_TEST(test_sigterm_unix)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	const char *sock = h_path(dir, "d.sock");
	char spec[256];
	const char *args[] = { "-m", model, "-H", "echo", "-l", spec, NULL };
	struct stat st;
	struct srv s;
	int a, r;

	H_ASSERT(dir != NULL, "tmpdir");
	snprintf(spec, sizeof spec, "unix:%s", sock);
	H_ASSERT(stale_socket(sock) == 0, "stale socket: %s", H_ERR);
	H_ASSERT(srv_start(&s, args) == 0, "%s: server did not start over a stale socket file",
	    model);
	H_ASSERT(strcmp(s.ls[0].addr, spec) == 0, "%s: listening line says '%s', want '%s'", model,
	    s.ls[0].addr, spec);
	H_ASSERT(stat(sock, &st) == 0 && S_ISSOCK(st.st_mode), "%s: %s is not a socket", model,
	    sock);
	a = cli_connect_unix(sock, D);
	H_ASSERT(a >= 0, "%s: connect %s: %s", model, sock, H_ERR);
	H_ASSERT(cli_echo_ok(a, "over unix\n"), "%s: no echo over unix", model);
	close(a);
	r = srv_stop(&s, SIGTERM, D);
	H_ASSERT(r == 0, "%s: exit status %d after SIGTERM, want 0", model, r);
	H_ASSERT(stat(sock, &st) == -1 && errno == ENOENT, "%s: %s still there after exit", model,
	    sock);
}
END_TEST

/* "no exit" or "exit status N", for messages. */
static const char *
exit_desc(int r)
{
	static char buf[32];

	if (r == -1)
		return "no exit";
	snprintf(buf, sizeof buf, "exit status %d", r);
	return buf;
}

/*
 * SIGTERM drains: a connection open at SIGTERM is still served, and the
 * server exits 0 as soon as it leaves (well before --shutdown-timeout 10);
 * with a connection that stays silent, it exits 0 after
 * --shutdown-timeout 1 and that connection is closed.
 */
START_TEST(test_shutdown)
{
	const char *model = h_model(_i);
	const char *args10[] = { "-m", model, "-H", "echo", "-l", "127.0.0.1:0",
		"--shutdown-timeout", "10", NULL };
	const char *args1[] = { "-m", model, "-H", "echo", "-l", "127.0.0.1:0",
		"--shutdown-timeout", "1", NULL };
	long long t0;
	struct srv s;
	int a, r;

	H_START_OK(&s, args10, model);
	a = cli_connect(srv_port(&s, 0));
	H_ASSERT(a >= 0 && cli_echo_ok(a, "a\n"), "%s: not served", model);
	H_ASSERT(kill(s.pid, SIGTERM) == 0, "kill: %s", H_ERR);
	H_ASSERT(cli_echo_ok(a, "draining\n"), "%s: open connection not served after SIGTERM",
	    model);
	close(a);
	t0 = h_now_ms();
	r = srv_wait(&s, 3000);
	H_ASSERT(r == 0,
	    "%s: %s within 3 s of the last client leaving "
	    "(shutdown-timeout 10)",
	    model, exit_desc(r));
	if (h_verbose())
		fprintf(stderr,
		    "shutdown %s: exit %lld ms after the last "
		    "client left\n",
		    model, h_now_ms() - t0);
	srv_stop(&s, SIGKILL, D); /* reaps orphans, if any */
	srv_free(&s);

	H_START_OK(&s, args1, model);
	a = cli_connect(srv_port(&s, 0));
	H_ASSERT(a >= 0 && cli_echo_ok(a, "a\n"), "%s: not served", model);
	t0 = h_now_ms();
	H_ASSERT(kill(s.pid, SIGTERM) == 0, "kill: %s", H_ERR);
	r = srv_wait(&s, 4000);
	H_ASSERT(r == 0,
	    "%s: %s within 4 s of SIGTERM with an idle "
	    "client (shutdown-timeout 1)",
	    model, exit_desc(r));
	if (h_verbose())
		fprintf(stderr,
		    "shutdown %s: exit %lld ms after SIGTERM with "
		    "an idle client\n",
		    model, h_now_ms() - t0);
	H_ASSERT(cli_wait_closed(a, 1000),
	    "%s: idle client's connection still open after the server "
	    "exited",
	    model);
	close(a);
	srv_stop(&s, SIGKILL, D);
}
END_TEST

/* h_tcase, with fill_pat as a further checked fixture. */
static TCase *
pat_tcase(Suite *su, const char *name, int timeout_s)
{
	TCase *tc = h_tcase(su, name, timeout_s);

	tcase_add_checked_fixture(tc, fill_pat, NULL);
	return tc;
}

int
main(void)
{
	Suite *su = suite_create("limits");

	tcase_add_loop_test(pat_tcase(su, "backpressure", 60), test_backpressure, 0, h_nmodels());
	tcase_add_loop_test(pat_tcase(su, "max_clients", 30), test_max_clients, 0,
	    h_nconc_models());
	tcase_add_loop_test(pat_tcase(su, "idle_timeout", 30), test_idle_timeout, 0, h_nmodels());
	tcase_add_loop_test(pat_tcase(su, "reset", 30), test_reset, 0, h_nmodels());
	tcase_add_loop_test(pat_tcase(su, "sighup", 30), test_sighup, 0, h_nmodels());
	tcase_add_loop_test(pat_tcase(su, "sigterm_unix", 30), test_sigterm_unix, 0, h_nmodels());
	tcase_add_loop_test(pat_tcase(su, "shutdown", 30), test_shutdown, 0, h_nmodels());
	return h_run_suite(su);
}
