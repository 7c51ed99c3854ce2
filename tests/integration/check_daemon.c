/* check_daemon.c - the real binary as a daemon: systemd notify and socket activation, -d, --pidfile, --user, SIGUSR1. */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define D H_DEADLINE_MS

/* The binary under test as an absolute path (for other working directories and wrappers). */
static const char *
abs_binary(void)
{
	static char path[PATH_MAX];

	if (realpath(h_binary(), path) == NULL)
		snprintf(path, sizeof path, "%s", h_binary());
	return path;
}

/* True if name is an executable file in one of PATH's directories. */
static bool
have_prog(const char *name)
{
	const char *path = getenv("PATH");
	char dirs[4096], *dir, *save = NULL;

	snprintf(dirs, sizeof dirs, "%s", path != NULL ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save))
		if (access(h_path(dir, name), X_OK) == 0)
			return true;
	return false;
}

/* The first line of a small file, without its newline; "" if unreadable. */
static const char *
file_text(const char *path)
{
	static char buf[4096];
	char *t = h_read_file(path, NULL);

	snprintf(buf, sizeof buf, "%s", t != NULL ? t : "");
	buf[strcspn(buf, "\n")] = '\0';
	free(t);
	return buf;
}

/* ---- systemd notify ------------------------------------------------- */

/* A datagram socket standing in for the service manager. */
struct notify {
	int fd;
	char addr[100]; /* as in NOTIFY_SOCKET: a path, or "@name" */
	char env[128];  /* "NOTIFY_SOCKET=..." */
};

static void
notify_open(struct notify *n, bool abstract)
{
	struct sockaddr_un sun;
	socklen_t len;

	if (abstract)
		snprintf(n->addr, sizeof n->addr, "@dispatchd-test-%d-%lld", (int)getpid(),
		    h_now_ms());
	else
		snprintf(n->addr, sizeof n->addr, "%s", h_path(h_tmpdir(), "notify"));
	snprintf(n->env, sizeof n->env, "NOTIFY_SOCKET=%s", n->addr);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, n->addr, strlen(n->addr));
	if (abstract)
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(n->addr));
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	H_ASSERT(n->fd >= 0 && bind(n->fd, (struct sockaddr *)&sun, len) == 0,
	    "notify socket %s: %s", n->addr, H_ERR);
}

/* The next datagram, NUL-terminated, within ms: its length, or -1. */
static ssize_t
notify_recv(struct notify *n, char *buf, size_t cap, int ms)
{
	struct pollfd p = { n->fd, POLLIN, 0 };
	ssize_t r;

	buf[0] = '\0';
	if (poll(&p, 1, ms) <= 0)
		return -1;
	r = recv(n->fd, buf, cap - 1, MSG_DONTWAIT);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	return r;
}

/*
 * The first datagram of a server starting up, within H_START_MS; -1 at
 * once (its log printed) if it exits first.
 */
static ssize_t
notify_first(struct notify *n, struct srv *s, char *buf, size_t cap)
{
	long long end = h_now_ms() + H_START_MS;
	ssize_t r;

	while ((r = notify_recv(n, buf, cap, 20)) < 0 && h_now_ms() < end) {
		if (!srv_alive(s)) {
			r = notify_recv(n, buf, cap, 0);
			if (r < 0)
				srv_dump(s, "server exited before READY=1");
			return r;
		}
	}
	return r;
}

/* True if no datagram is waiting. */
static bool
notify_none(struct notify *n)
{
	char buf[512];

	return notify_recv(n, buf, sizeof buf, 0) < 0;
}

static long long
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * NOTIFY_SOCKET (a path): exactly READY=1 with MAINPID and STATUS once
 * both listeners are bound; RELOADING=1 with a current MONOTONIC_USEC and
 * READY=1 again at SIGHUP; STOPPING=1 at SIGTERM; nothing else.
 */
START_TEST(test_notify)
{
	const char *model = h_model(_i);
	const char *argv[] = { abs_binary(), "-m", model, "-l", "127.0.0.1:0", "-l", "127.0.0.1:0",
		NULL };
	struct notify n;
	const char *env[] = { n.env, NULL };
	char buf[512], want[512];
	unsigned long long usec;
	long long t0, t1;
	struct srv s;
	int a, b;

	notify_open(&n, false);
	H_ASSERT(srv_spawn_cmd(&s, argv, env, NULL) == 0, "spawn: %s", H_ERR);
	H_ASSERT(notify_first(&n, &s, buf, sizeof buf) > 0, "%s: no datagram on NOTIFY_SOCKET",
	    model);
	/* Sent only after every listener was bound (and announced). */
	H_ASSERT(srv_listening(&s) == 2, "%s: READY=1 came before both listeners were bound",
	    model);
	snprintf(want, sizeof want,
	    "READY=1\nMAINPID=%d\nSTATUS=model %s, "
	    "services echo, echo-2",
	    (int)s.pid, model);
	H_ASSERT(strcmp(buf, want) == 0, "%s: first datagram\n'%s'\nwant\n'%s'", model, buf, want);
	a = cli_connect(srv_port(&s, 0));
	H_ASSERT(a >= 0 && cli_echo_ok(a, "ready\n"), "%s: not serving", model);
	close(a);
	b = cli_connect(srv_port(&s, 1));
	H_ASSERT(b >= 0 && cli_echo_ok(b, "ready\n"), "%s: not serving", model);
	close(b);

	t0 = mono_us();
	H_ASSERT(kill(s.pid, SIGHUP) == 0, "kill: %s", H_ERR);
	H_ASSERT(notify_recv(&n, buf, sizeof buf, D) > 0, "%s: no datagram after SIGHUP", model);
	t1 = mono_us();
	H_ASSERT(sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%llu", &usec) == 1 &&
	        strchr(strchr(buf, '\n') + 1, '\n') == NULL,
	    "%s: after SIGHUP got '%s', want RELOADING=1 and MONOTONIC_USEC", model, buf);
	H_ASSERT((long long)usec >= t0 && (long long)usec <= t1,
	    "%s: MONOTONIC_USEC=%llu is not between %lld and %lld (the "
	    "CLOCK_MONOTONIC of the signal)",
	    model, usec, t0, t1);
	H_ASSERT(notify_recv(&n, buf, sizeof buf, D) > 0 && strcmp(buf, "READY=1") == 0,
	    "%s: after RELOADING got '%s', want READY=1", model, buf);

	H_STOP_OK(&s, model);
	H_ASSERT(notify_recv(&n, buf, sizeof buf, 0) > 0 && strcmp(buf, "STOPPING=1") == 0,
	    "%s: at SIGTERM got '%s', want STOPPING=1", model, buf);
	H_ASSERT(notify_none(&n), "%s: unexpected datagram after STOPPING=1", model);
	close(n.fd);
}
END_TEST

/*
 * A reload under systemd: SIGHUP gives RELOADING=1, then READY=1 once the
 * new configuration runs (its added listener bound and announced before);
 * a file that does not parse gives the same pair (the running
 * configuration stays and serves).
 */
START_TEST(test_notify_reload)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	const char *path = h_path(dir, "notify-reload.conf");
	char conf[512];
	const char *argv[] = { abs_binary(), "-m", model, "-c", conf, NULL };
	struct notify n;
	const char *env[] = { n.env, NULL };
	char buf[512];
	struct srv s;
	int c;

	snprintf(conf, sizeof conf, "%s", path);
	H_ASSERT(h_write_file(conf,
	             "service \"a\" { listen = {\"127.0.0.1:0\"} handler = \"echo\" }\n") == 0,
	    "write");
	notify_open(&n, false);
	H_ASSERT(srv_spawn_cmd(&s, argv, env, NULL) == 0, "spawn: %s", H_ERR);
	H_ASSERT(notify_first(&n, &s, buf, sizeof buf) > 0 && strncmp(buf, "READY=1\n", 8) == 0,
	    "%s: no READY=1", model);
	H_ASSERT(h_write_file(conf,
	             "service \"a\" { listen = {\"127.0.0.1:0\"} handler = "
	             "\"echo\" }\nservice \"b\" { listen = {\"127.0.0.1:0\"} "
	             "handler = \"echo\" }\n") == 0,
	    "write");
	H_ASSERT(kill(s.pid, SIGHUP) == 0, "kill: %s", H_ERR);
	H_ASSERT(notify_recv(&n, buf, sizeof buf, D) > 0 && strncmp(buf, "RELOADING=1\n", 12) == 0,
	    "%s: after SIGHUP got '%s', want RELOADING=1", model, buf);
	H_ASSERT(notify_recv(&n, buf, sizeof buf, D) > 0 && strcmp(buf, "READY=1") == 0,
	    "%s: after RELOADING got '%s', want READY=1", model, buf);
	H_ASSERT(srv_listening(&s) == 2 && strstr(srv_log(&s), "reload: 2 services") != NULL,
	    "%s: READY=1 before the reload was made:\n%s", model, srv_log(&s));
	c = cli_connect(srv_port(&s, 1));
	H_ASSERT(c >= 0 && cli_echo_ok(c, "b\n"), "%s: the added service", model);
	close(c);
	H_ASSERT(h_write_file(conf, "service \"a\" {\n") == 0, "write");
	H_ASSERT(kill(s.pid, SIGHUP) == 0, "kill: %s", H_ERR);
	H_ASSERT(notify_recv(&n, buf, sizeof buf, D) > 0 && strncmp(buf, "RELOADING=1\n", 12) == 0,
	    "%s: after SIGHUP got '%s', want RELOADING=1", model, buf);
	H_ASSERT(notify_recv(&n, buf, sizeof buf, D) > 0 && strcmp(buf, "READY=1") == 0,
	    "%s: a broken file: after RELOADING got '%s', want READY=1", model, buf);
	H_ASSERT(h_count(srv_log(&s), "keeping the running configuration") == 1,
	    "%s: no line for the broken file:\n%s", model, srv_log(&s));
	c = cli_connect(srv_port(&s, 1));
	H_ASSERT(c >= 0 && cli_echo_ok(c, "still\n"), "%s: not serving after a broken file", model);
	close(c);
	H_STOP_OK(&s, model);
	close(n.fd);
}
END_TEST

/* NOTIFY_SOCKET in the abstract namespace ("@name"). */
START_TEST(test_notify_abstract)
{
	const char *argv[] = { abs_binary(), "-l", "127.0.0.1:0", NULL };
	struct notify n;
	const char *env[] = { n.env, NULL };
	char buf[512], want[512];
	struct srv s;

	notify_open(&n, true);
	H_ASSERT(srv_spawn_cmd(&s, argv, env, NULL) == 0, "spawn: %s", H_ERR);
	H_ASSERT(notify_first(&n, &s, buf, sizeof buf) > 0, "no datagram on NOTIFY_SOCKET=%s",
	    n.addr);
	snprintf(want, sizeof want,
	    "READY=1\nMAINPID=%d\nSTATUS=model epoll, "
	    "services echo",
	    (int)s.pid);
	H_ASSERT(strcmp(buf, want) == 0, "first datagram\n'%s'\nwant\n'%s'", buf, want);
	H_STOP_OK(&s, "notify_abstract");
	H_ASSERT(notify_recv(&n, buf, sizeof buf, 0) > 0 && strcmp(buf, "STOPPING=1") == 0,
	    "at SIGTERM got '%s'", buf);
	H_ASSERT(notify_none(&n), "unexpected datagram after STOPPING=1");
	close(n.fd);
}
END_TEST

/*
 * Fork children never speak for the service: with two children serving
 * logger connections, SIGHUP (which the children handle too: each reopens
 * its output, seen by its next record landing in the new file) gives one
 * RELOADING=1 and one READY=1, SIGTERM (which the children handle too: each
 * cuts its connection at the drain deadline) one STOPPING=1.  (That the
 * variable left the environment cannot be read from /proc/PID/environ:
 * it shows the environment the process was started with, which
 * unsetenv(3) does not touch.)
 */
START_TEST(test_notify_fork_children)
{
	const char *dir = h_tmpdir();
	char out[PATH_MAX], moved[PATH_MAX], buf[512], line[64];
	const char *argv[] = { abs_binary(), "-m", "fork", "-H", "logger", "--logger-ack",
		"--logger-output", out, "--shutdown-timeout", "1", "-l", "127.0.0.1:0", NULL };
	struct notify n;
	const char *env[] = { n.env, NULL };
	pid_t kids[8];
	int c[2], i;
	struct srv s;

	snprintf(out, sizeof out, "%s", h_path(dir, "log"));
	snprintf(moved, sizeof moved, "%s", h_path(dir, "log.1"));
	notify_open(&n, false);
	H_ASSERT(srv_spawn_cmd(&s, argv, env, NULL) == 0, "spawn: %s", H_ERR);
	H_ASSERT(srv_wait_listening(&s, 1, H_START_MS) == 0, "server did not start");
	H_ASSERT(notify_recv(&n, buf, sizeof buf, D) > 0 && strncmp(buf, "READY=1\n", 8) == 0,
	    "got '%s', want READY=1", buf);
	for (i = 0; i < 2; i++) {
		c[i] = cli_connect(srv_port(&s, 0));
		H_ASSERT(c[i] >= 0 && cli_send(c[i], "before\n") == 0 &&
		        cli_read_line(c[i], line, sizeof line, D) == 3,
		    "client %d not served", i);
	}
	H_ASSERT(h_proc_children(s.pid, kids, 8) == 2, "want 2 children serving");

	H_ASSERT(rename(out, moved) == 0, "rename: %s", H_ERR);
	H_ASSERT(kill(s.pid, SIGHUP) == 0, "kill: %s", H_ERR);
	for (i = 0; i < 2; i++) {
		char rec[64];
		struct h_has h = { out, rec };
		long long end = h_now_ms() + D;

		/* Each child writes to the new file once it took SIGHUP. */
		snprintf(rec, sizeof rec, ": after-hup-%d\n", i);
		while (!h_file_has(&h) && h_now_ms() < end) {
			snprintf(line, sizeof line, "after-hup-%d\n", i);
			H_ASSERT(cli_send(c[i], line) == 0 &&
			        cli_read_line(c[i], line, sizeof line, D) == 3,
			    "client %d not served after SIGHUP", i);
			if (!h_file_has(&h))
				h_nap(5);
		}
		H_ASSERT(h_file_has(&h),
		    "the child serving client %d did not "
		    "reopen its output at SIGHUP",
		    i);
	}
	H_ASSERT(notify_recv(&n, buf, sizeof buf, D) > 0 && strncmp(buf, "RELOADING=1\n", 12) == 0,
	    "after SIGHUP got '%s', want RELOADING=1", buf);
	H_ASSERT(notify_recv(&n, buf, sizeof buf, D) > 0 && strcmp(buf, "READY=1") == 0,
	    "after RELOADING got '%s'", buf);
	H_ASSERT(notify_none(&n),
	    "more than one RELOADING/READY pair "
	    "(a child spoke for the service)");

	H_ASSERT(kill(s.pid, SIGTERM) == 0, "kill: %s", H_ERR);
	for (i = 0; i < 2; i++)
		H_ASSERT(cli_wait_closed(c[i], D), "client %d not cut at the drain deadline", i);
	H_ASSERT(srv_wait(&s, D) == 0, "SIGTERM did not give exit status 0");
	H_ASSERT(notify_recv(&n, buf, sizeof buf, 0) > 0 && strcmp(buf, "STOPPING=1") == 0,
	    "at SIGTERM got '%s'", buf);
	H_ASSERT(notify_none(&n),
	    "more than one STOPPING=1 (a child spoke "
	    "for the service)");
	close(c[0]);
	close(c[1]);
	close(n.fd);
}
END_TEST

/* ---- socket activation ---------------------------------------------- */

#define SA_PROG "systemd-socket-activate"

static bool
sa_skip(void)
{
	if (have_prog(SA_PROG))
		return false;
	printf("SKIP: %s not installed (Debian package systemd)\n", SA_PROG);
	return true;
}

struct sa_ready {
	struct srv *s;
	char want[2][300];
	int nwant;
};

static bool
sa_listening(void *arg)
{
	struct sa_ready *r = arg;
	const char *log = srv_log(r->s);

	for (int i = 0; i < r->nwant; i++)
		if (strstr(log, r->want[i]) == NULL)
			return !srv_alive(r->s); /* stop waiting */
	return true;
}

/*
 * Runs systemd-socket-activate with a TCP socket on a free port of
 * 127.0.0.1 (descriptor 3) and, if upath, a unix socket there (4), names
 * fdnames (or none), to exec the binary with args at the first connection.
 * Returns once both are listening, with *port set: 0, or -1 (log printed).
 */
static int
sa_spawn(struct srv *s, const char *upath, const char *fdnames, const char *const args[], int *port)
{
	for (int attempt = 0; attempt < 10; attempt++) {
		char tcp[64], fdn[256];
		const char *argv[64];
		struct sa_ready r = { s, { "", "" }, 1 };
		int n = 0;

		*port = h_free_port();
		if (*port <= 0)
			return -1;
		snprintf(tcp, sizeof tcp, "127.0.0.1:%d", *port);
		argv[n++] = SA_PROG;
		argv[n++] = "-l";
		argv[n++] = tcp;
		snprintf(r.want[0], sizeof r.want[0], "Listening on %s as 3.", tcp);
		if (upath != NULL) {
			argv[n++] = "-l";
			argv[n++] = upath;
			snprintf(r.want[1], sizeof r.want[1], "Listening on %s as 4.", upath);
			r.nwant = 2;
		}
		if (fdnames != NULL) {
			snprintf(fdn, sizeof fdn, "--fdname=%s", fdnames);
			argv[n++] = fdn;
		}
		argv[n++] = abs_binary();
		for (int i = 0; args[i] != NULL && n < 63; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		if (srv_spawn_cmd(s, argv, NULL, NULL) == -1)
			return -1;
		h_wait_for(sa_listening, &r, H_START_MS);
		if (srv_alive(s) && sa_listening(&r))
			return 0;
		/* Someone took the port between our probe and its bind. */
		if (!srv_alive(s) && strstr(srv_log(s), "in use") != NULL) {
			srv_free(s);
			continue;
		}
		srv_dump(s, SA_PROG " did not listen");
		srv_stop(s, SIGKILL, D);
		return -1;
	}
	return -1;
}

/* Two services, echo and ts, whose own listen addresses must stay unused. */
static const char *
sa_config(const char *dir)
{
	static char path[PATH_MAX];
	char text[1024];

	snprintf(text, sizeof text,
	    "service \"echo\" { listen = {\"unix:%s/bound-echo.sock\"} "
	    "handler = \"echo\" }\n"
	    "service \"ts\" { listen = {\"unix:%s/bound-ts.sock\"} "
	    "handler = \"timestamp\" }\n",
	    dir, dir);
	snprintf(path, sizeof path, "%s", h_path(dir, "sa.conf"));
	H_ASSERT(h_write_file(path, text) == 0, "%s: %s", path, H_ERR);
	return path;
}

/* Sends "hello\n" and expects "[TIME] hello\n". */
static bool
ts_ok(int fd)
{
	char line[128];
	long long us;

	return cli_send(fd, "hello\n") == 0 &&
	    cli_read_line(fd, line, sizeof line, D) == H_TS_LEN + 9 && line[0] == '[' &&
	    h_parse_ts(line + 1, &us) && strcmp(line + 1 + H_TS_LEN, "] hello\n") == 0;
}

/*
 * Socket activation by name, in every model: the TCP socket is named
 * "ts" and the unix socket "echo" (the reverse of the config's order).
 * Each is announced as usual, serves its service (the connection that
 * woke systemd-socket-activate included), the config's own addresses are
 * never bound, and the unix socket file, which belongs to the service
 * manager, is left in place at exit.
 */
START_TEST(test_activation)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	char upath[PATH_MAX], addr[PATH_MAX + 8];
	const char *args[] = { "-m", model, "-c", sa_config(dir), NULL };
	struct stat st;
	struct srv s;
	int port, t, u, i;

	if (sa_skip())
		return;
	snprintf(upath, sizeof upath, "%s", h_path(dir, "sa.sock"));
	H_ASSERT(sa_spawn(&s, upath, "ts:echo", args, &port) == 0, "%s: %s did not start", model,
	    SA_PROG);
	t = cli_connect(port); /* wakes it up: it execs the server */
	H_ASSERT(t >= 0, "%s: connect: %s", model, H_ERR);
	H_ASSERT(srv_wait_listening(&s, 2, H_START_MS) == 0,
	    "%s: not listening on the passed sockets", model);
	H_ASSERT(s.nls == 2, "%s: %d listening lines, want 2", model, s.nls);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	i = srv_find(&s, "ts");
	H_ASSERT(i >= 0 && strcmp(s.ls[i].addr, addr) == 0 &&
	        strcmp(s.ls[i].handler, "timestamp") == 0,
	    "%s: want 'listening on %s (ts, timestamp)'", model, addr);
	snprintf(addr, sizeof addr, "unix:%s", upath);
	i = srv_find(&s, "echo");
	H_ASSERT(i >= 0 && strcmp(s.ls[i].addr, addr) == 0 && strcmp(s.ls[i].handler, "echo") == 0,
	    "%s: want 'listening on %s (echo, echo)'", model, addr);

	H_ASSERT(ts_ok(t), "%s: the waking TCP connection not served by ts", model);
	close(t);
	u = cli_connect_unix(upath, D);
	H_ASSERT(u >= 0 && cli_echo_ok(u, "passed unix\n"),
	    "%s: the unix socket not served by echo", model);
	close(u);
	t = cli_connect(port);
	H_ASSERT(t >= 0 && ts_ok(t), "%s: a second TCP connection not served", model);
	close(t);
	H_ASSERT(access(h_path(dir, "bound-echo.sock"), F_OK) == -1 &&
	        access(h_path(dir, "bound-ts.sock"), F_OK) == -1,
	    "%s: the config's own addresses were bound too", model);

	H_STOP_OK(&s, model);
	H_ASSERT(stat(upath, &st) == 0 && S_ISSOCK(st.st_mode),
	    "%s: the passed unix socket file was removed at exit", model);
}
END_TEST

/* Without LISTEN_FDNAMES the passed sockets go to the services in order. */
START_TEST(test_activation_in_order)
{
	const char *dir = h_tmpdir();
	char upath[PATH_MAX], addr[PATH_MAX + 8];
	const char *args[] = { "-c", sa_config(dir), NULL };
	struct srv s;
	int port, t, u;

	if (sa_skip())
		return;
	snprintf(upath, sizeof upath, "%s", h_path(dir, "sa.sock"));
	H_ASSERT(sa_spawn(&s, upath, NULL, args, &port) == 0, "%s did not start", SA_PROG);
	t = cli_connect(port);
	H_ASSERT(t >= 0, "connect: %s", H_ERR);
	H_ASSERT(srv_wait_listening(&s, 2, H_START_MS) == 0, "not listening on the passed sockets");
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	H_ASSERT(strcmp(s.ls[0].addr, addr) == 0 && strcmp(s.ls[0].service, "echo") == 0,
	    "want 'listening on %s (echo, echo)' first", addr);
	snprintf(addr, sizeof addr, "unix:%s", upath);
	H_ASSERT(strcmp(s.ls[1].addr, addr) == 0 && strcmp(s.ls[1].service, "ts") == 0,
	    "want 'listening on %s (ts, timestamp)' second", addr);
	H_ASSERT(cli_echo_ok(t, "in order\n"), "TCP not served by echo");
	close(t);
	u = cli_connect_unix(upath, D);
	H_ASSERT(u >= 0 && ts_ok(u), "unix not served by ts");
	close(u);
	H_STOP_OK(&s, "activation_in_order");
}
END_TEST

/* Passed sockets that do not fit the services: what is wrong, named. */
static const struct {
	bool unix_too; /* pass a unix socket as descriptor 4 */
	const char *fdnames;
	const char *needle; /* in the error line */
} sa_bad[] = {
	{ false, NULL, "1 socket passed for 2 services" },
	{ true, "echo:bogus", "socket #2 is named 'bogus'" },
};

/*
 * Socket activation with workers = 2, under every model that has them:
 * the passed socket (named echo) is shared by both workers and serves
 * every connection, the one that woke the service manager included;
 * ts binds its own address as usual; SIGTERM stops the whole set.
 */
START_TEST(test_activation_workers)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	const char *args[] = { "-m", model, "--workers", "2", "-c", sa_config(dir), NULL };
	pid_t kids[8];
	struct srv s;
	int port, t, u;

	if (!h_model_workers(model) || sa_skip())
		return;
	H_ASSERT(sa_spawn(&s, NULL, "echo", args, &port) == 0, "%s: %s did not start", model,
	    SA_PROG);
	t = cli_connect(port);
	H_ASSERT(t >= 0, "%s: connect: %s", model, H_ERR);
	H_ASSERT(srv_wait_listening(&s, 2, H_START_MS) == 0, "%s: want two listening lines", model);
	H_ASSERT(cli_echo_ok(t, "woke it\n"), "%s: the first connection not served", model);
	close(t);
	for (long long end = h_now_ms() + D;
	     h_proc_children(s.pid, kids, 8) != 2 && h_now_ms() < end;)
		h_nap(10);
	H_ASSERT(h_proc_children(s.pid, kids, 8) == 2, "%s: want 2 workers", model);
	for (int i = 0; i < 20; i++) {
		t = cli_connect(port);
		H_ASSERT(t >= 0 && cli_echo_ok(t, "passed\n"), "%s: connection %d not served",
		    model, i);
		close(t);
	}
	u = cli_connect_unix(h_path(dir, "bound-ts.sock"), D);
	H_ASSERT(u >= 0 && ts_ok(u), "%s: ts's own socket not served", model);
	close(u);
	H_STOP_OK(&s, model);
}
END_TEST

/* A service no passed socket names binds its own addresses. */
START_TEST(test_activation_partial)
{
	const char *dir = h_tmpdir();
	const char *args[] = { "-c", sa_config(dir), NULL };
	char addr[PATH_MAX + 8];
	struct srv s;
	int port, t, u;

	if (sa_skip())
		return;
	H_ASSERT(sa_spawn(&s, NULL, "echo", args, &port) == 0, "%s did not start", SA_PROG);
	t = cli_connect(port);
	H_ASSERT(t >= 0, "connect: %s", H_ERR);
	H_ASSERT(srv_wait_listening(&s, 2, H_START_MS) == 0,
	    "want the passed socket and ts's own address");
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	H_ASSERT(strcmp(s.ls[0].addr, addr) == 0 && strcmp(s.ls[0].service, "echo") == 0,
	    "want 'listening on %s (echo, echo)' first", addr);
	snprintf(addr, sizeof addr, "unix:%s", h_path(dir, "bound-ts.sock"));
	H_ASSERT(strcmp(s.ls[1].addr, addr) == 0 && strcmp(s.ls[1].service, "ts") == 0,
	    "want 'listening on %s (ts, timestamp)' second", addr);
	H_ASSERT(cli_echo_ok(t, "passed\n"), "TCP not served by echo");
	close(t);
	u = cli_connect_unix(h_path(dir, "bound-ts.sock"), D);
	H_ASSERT(u >= 0 && ts_ok(u), "ts's own socket not served");
	close(u);
	H_STOP_OK(&s, "activation_partial");
}
END_TEST

START_TEST(test_activation_mismatch)
{
	const char *dir = h_tmpdir();
	const char *args[] = { "-c", sa_config(dir), NULL };
	char upath[PATH_MAX];
	const char *log, *err;
	struct srv s;
	int port, t, r;

	if (sa_skip())
		return;
	snprintf(upath, sizeof upath, "%s", h_path(dir, "sa.sock"));
	H_ASSERT(sa_spawn(&s, sa_bad[_i].unix_too ? upath : NULL, sa_bad[_i].fdnames, args,
	             &port) == 0,
	    "%s did not start", SA_PROG);
	/* It wakes the server, which may fail and reset it at once. */
	t = cli_connect(port);
	H_ASSERT(t >= 0 || errno == ECONNRESET, "connect: %s", H_ERR);
	r = srv_wait(&s, D);
	log = srv_log(&s);
	H_ASSERT(r >= 1 && r <= 127, "'%s': exit status %d, want 1..127", sa_bad[_i].needle, r);
	err = strstr(log, "dispatchd: error: socket activation: ");
	H_ASSERT(err != NULL && strstr(err, sa_bad[_i].needle) != NULL,
	    "want an error line 'socket activation: ...%s...'", sa_bad[_i].needle);
	H_ASSERT(t < 0 || cli_wait_closed(t, D), "the waking connection stays open");
	if (t >= 0)
		close(t);
}
END_TEST

/* ---- -d, --pidfile -------------------------------------------------- */

/* The pid in a pidfile, -1 if it is missing or not "PID\n". */
static pid_t
read_pidfile(const char *path)
{
	char *t = h_read_file(path, NULL), *end;
	long pid = -1;

	if (t != NULL) {
		pid = strtol(t, &end, 10);
		if (end == t || strcmp(end, "\n") != 0 || pid <= 0)
			pid = -1;
	}
	free(t);
	return (pid_t)pid;
}

/* Fields 5..7 of /proc/PID/stat. 0, or -1. */
static int
proc_ids(pid_t pid, int *pgrp, int *sid, int *tty)
{
	char path[64], *t, *rp;
	char state;
	int ppid, r = -1;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	t = h_read_file(path, NULL);
	if (t != NULL && (rp = strrchr(t, ')')) != NULL &&
	    sscanf(rp + 1, " %c %d %d %d %d", &state, &ppid, pgrp, sid, tty) == 5)
		r = 0;
	free(t);
	return r;
}

static const char *
fd_target(pid_t pid, const char *fd)
{
	static char target[PATH_MAX];
	char path[64];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, fd);
	n = readlink(path, target, sizeof target - 1);
	target[n > 0 ? n : 0] = '\0';
	return target;
}

/* The pidfile is locked (flock) by someone else. */
static bool
pidfile_locked(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool locked;

	if (fd == -1)
		return false;
	locked = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	close(fd);
	return locked;
}

/* pid is our only live child. */
static bool
only_child(void *arg)
{
	pid_t kids[8];

	return h_proc_children(getpid(), kids, 8) == 1 && kids[0] == *(pid_t *)arg;
}

/*
 * -d --pidfile in every model: the original process exits 0 once the
 * daemon serves; the daemon is in a new session without being its leader,
 * without a terminal, in /, with stdin/out/err on /dev/null, its pid in the
 * locked pidfile.  A second instance with that pidfile, or on the same
 * address, fails (exit 1, the error on stderr) and leaves nothing running;
 * SIGTERM stops the daemon (status 0) and removes the pidfile.
 */
START_TEST(test_daemon)
{
	const char *model = h_model(_i);
	char pidf[PATH_MAX], addr[64], want[PATH_MAX + 128], text[64];
	char cwd[PATH_MAX];
	const char *args[] = { "-d", "--pidfile", pidf, "-m", model, "-l", "127.0.0.1:0", NULL };
	const char *again[] = { "-d", "--pidfile", pidf, "-l", "127.0.0.1:0", NULL };
	const char *inuse[] = { "-d", "-l", addr, NULL };
	int pgrp, sid, tty, fd, r;
	struct srv orig, d, s2;
	pid_t pid;

	snprintf(pidf, sizeof pidf, "%s", h_path(h_tmpdir(), "d.pid"));
	H_ASSERT(srv_spawn(&orig, args) == 0, "spawn: %s", H_ERR);
	r = srv_wait(&orig, H_START_MS);
	H_ASSERT(r == 0, "%s: the original process: status %d, want 0", model, r);
	H_ASSERT(srv_listening(&orig) == 1, "%s: no 'listening on' line before detaching", model);
	pid = read_pidfile(pidf);
	snprintf(text, sizeof text, "%s", file_text(pidf));
	H_ASSERT(pid > 0, "%s: pidfile '%s'", model, text);
	H_ASSERT(pid != orig.pid, "%s: the pidfile names the original process", model);
	H_ASSERT(srv_adopt(&d, pid, orig.errfd) == 0, "%s: the daemon (pid %d) is not running: %s",
	    model, (int)pid, H_ERR);

	H_ASSERT(proc_ids(pid, &pgrp, &sid, &tty) == 0, "/proc/%d/stat", (int)pid);
	H_ASSERT(sid != getsid(0) && sid != pid && tty == 0,
	    "%s: session %d (ours %d, its pid %d), tty %d: want a new "
	    "session it does not lead, no terminal",
	    model, sid, (int)getsid(0), (int)pid, tty);
	snprintf(cwd, sizeof cwd, "%s", fd_target(pid, "cwd"));
	H_ASSERT(strcmp(cwd, "/") == 0, "%s: working directory '%s', want /", model, cwd);
	H_ASSERT(strcmp(fd_target(pid, "fd/0"), "/dev/null") == 0 &&
	        strcmp(fd_target(pid, "fd/1"), "/dev/null") == 0 &&
	        strcmp(fd_target(pid, "fd/2"), "/dev/null") == 0,
	    "%s: stdin/stdout/stderr are not /dev/null", model);
	H_ASSERT(pidfile_locked(pidf), "%s: the pidfile is not locked", model);
	fd = cli_connect(srv_port(&orig, 0));
	H_ASSERT(fd >= 0 && cli_echo_ok(fd, "daemon\n"), "%s: not serving", model);
	close(fd);

	r = srv_run(&s2, again, D);
	snprintf(want, sizeof want,
	    "pidfile %s is locked by a running "
	    "dispatchd (pid %d)",
	    pidf, (int)pid);
	H_ASSERT(r == 1 && strstr(srv_log(&s2), want) != NULL,
	    "%s: second instance with the pidfile: status %d, want 1 and "
	    "'%s'",
	    model, r, want);
	srv_free(&s2);
	snprintf(text, sizeof text, "%s", file_text(pidf));
	H_ASSERT(read_pidfile(pidf) == pid, "%s: the second instance changed the pidfile to '%s'",
	    model, text);

	snprintf(addr, sizeof addr, "127.0.0.1:%d", srv_port(&orig, 0));
	r = srv_run(&s2, inuse, D);
	H_ASSERT(r == 1 && strstr(srv_log(&s2), addr) != NULL &&
	        strstr(srv_log(&s2), strerror(EADDRINUSE)) != NULL,
	    "%s: -d on an address in use: status %d, want 1 and an error "
	    "naming %s",
	    model, r, addr);
	srv_free(&s2);
	/* The failed daemons are gone: our only live child is the first. */
	H_ASSERT(h_wait_for(only_child, &pid, D), "%s: a failed -d instance left a process running",
	    model);

	H_STOP_OK(&d, model);
	H_ASSERT(access(pidf, F_OK) == -1 && errno == ENOENT,
	    "%s: the pidfile is still there after exit", model);
	srv_free(&orig);
}
END_TEST

/*
 * --pidfile in the foreground: it holds the server's pid and is locked;
 * a second instance names the pid and exits 1; gone after SIGTERM.
 */
START_TEST(test_pidfile)
{
	char pidf[PATH_MAX], want[PATH_MAX + 128], text[64];
	const char *args[] = { "--pidfile", pidf, "-l", "127.0.0.1:0", NULL };
	struct srv s, s2;
	int r;

	snprintf(pidf, sizeof pidf, "%s", h_path(h_tmpdir(), "fg.pid"));
	H_START_OK(&s, args, "pidfile");
	snprintf(text, sizeof text, "%s", file_text(pidf));
	H_ASSERT(read_pidfile(pidf) == s.pid, "pidfile '%s', want %d", text, (int)s.pid);
	H_ASSERT(pidfile_locked(pidf), "the pidfile is not locked");
	r = srv_run(&s2, args, D);
	snprintf(want, sizeof want,
	    "pidfile %s is locked by a running "
	    "dispatchd (pid %d)",
	    pidf, (int)s.pid);
	H_ASSERT(r == 1 && strstr(srv_log(&s2), want) != NULL &&
	        strstr(srv_log(&s2), "listening on") == NULL,
	    "second instance: status %d, want 1 and '%s' before listening", r, want);
	srv_free(&s2);
	H_ASSERT(read_pidfile(pidf) == s.pid, "the second instance changed the pidfile");
	H_STOP_OK(&s, "pidfile");
	H_ASSERT(access(pidf, F_OK) == -1 && errno == ENOENT,
	    "the pidfile is still there after exit");
}
END_TEST

/*
 * -d with a relative --pidfile: the daemon works in /, but the pidfile is
 * the one named relative to where it was started, and it is removed there
 * at exit.
 */
/* Unlikely to exist in /, where a daemon that got it wrong would look. */
#define REL_PIDFILE "dispatchd-check-daemon-rel.pid"

START_TEST(test_daemon_relative_pidfile)
{
	const char *argv[] = { abs_binary(), "-d", "--pidfile", REL_PIDFILE, "-l", "127.0.0.1:0",
		NULL };
	char dir[PATH_MAX], pidf[PATH_MAX + 64];
	struct srv orig, d;
	pid_t pid;
	int r;

	/* Our copies: the messages are formatted after h_fail cleaned up. */
	snprintf(dir, sizeof dir, "%s", h_tmpdir());
	snprintf(pidf, sizeof pidf, "%s/" REL_PIDFILE, dir);

	H_ASSERT(srv_spawn_cmd(&orig, argv, NULL, dir) == 0, "spawn: %s", H_ERR);
	r = srv_wait(&orig, H_START_MS);
	H_ASSERT(r == 0, "the original process: status %d, want 0", r);
	pid = read_pidfile(pidf);
	H_ASSERT(pid > 0 && srv_adopt(&d, pid, orig.errfd) == 0, "no daemon named in %s", pidf);
	H_STOP_OK(&d, "daemon_relative_pidfile");
	H_ASSERT(access(pidf, F_OK) == -1,
	    "'--pidfile " REL_PIDFILE "' started in %s: %s is still there "
	    "after exit (the daemon works in /: it unlinked /" REL_PIDFILE "?)",
	    dir, pidf);
	srv_free(&orig);
}
END_TEST

/* ---- pidfile safety (audit findings 10 and 14) ----------------------- */

/*
 * A pidfile another user owns (they could write another pid into it, or
 * lock it to keep us from starting) is refused, as root too, and left as
 * it was.
 */
START_TEST(test_pidfile_foreign_owner)
{
	char pidf[PATH_MAX], want[PATH_MAX + 128], text[64];
	const char *args[] = { "--pidfile", pidf, "-l", "127.0.0.1:0", NULL };
	struct srv s;
	int r;

	if (geteuid() != 0) {
		printf("SKIP: giving a file to another user needs root\n");
		return;
	}
	snprintf(pidf, sizeof pidf, "%s", h_path(h_tmpdir(), "foreign.pid"));
	H_ASSERT(h_write_file(pidf, "junk\n") == 0 && chown(pidf, 65534, 65534) == 0 &&
	        chmod(pidf, 0666) == 0,
	    "%s: %s", pidf, H_ERR);
	r = srv_run(&s, args, D);
	snprintf(want, sizeof want, "pidfile %s: owned by uid 65534, not by uid 0", pidf);
	H_ASSERT(r == 1 && strstr(srv_log(&s), want) != NULL &&
	        strstr(srv_log(&s), "refusing") != NULL &&
	        strstr(srv_log(&s), "listening on") == NULL,
	    "a pidfile of uid 65534: status %d, want 1 and '%s... refusing' "
	    "before listening",
	    r, want);
	snprintf(text, sizeof text, "%s", file_text(pidf));
	H_ASSERT(strcmp(text, "junk") == 0, "the refused pidfile now holds '%s'", text);
	srv_free(&s);
}
END_TEST

/* A pidfile with a second name (a hard link) is refused, both left alone. */
START_TEST(test_pidfile_hard_link)
{
	const char *dir = h_tmpdir();
	char pidf[PATH_MAX], other[PATH_MAX], want[PATH_MAX + 128], text[64];
	const char *args[] = { "--pidfile", pidf, "-l", "127.0.0.1:0", NULL };
	struct srv s;
	int r;

	snprintf(pidf, sizeof pidf, "%s", h_path(dir, "linked.pid"));
	snprintf(other, sizeof other, "%s", h_path(dir, "precious"));
	H_ASSERT(h_write_file(other, "precious\n") == 0 && link(other, pidf) == 0, "%s: %s", pidf,
	    H_ERR);
	r = srv_run(&s, args, D);
	snprintf(want, sizeof want, "pidfile %s: has 2 hard links", pidf);
	H_ASSERT(r == 1 && strstr(srv_log(&s), want) != NULL &&
	        strstr(srv_log(&s), "listening on") == NULL,
	    "a hard-linked pidfile: status %d, want 1 and '%s'", r, want);
	snprintf(text, sizeof text, "%s", file_text(other));
	H_ASSERT(strcmp(text, "precious") == 0, "the file linked to the pidfile now holds '%s'",
	    text);
	srv_free(&s);
}
END_TEST

/* A FIFO where the pidfile should be is refused (and never blocks us). */
START_TEST(test_pidfile_not_regular)
{
	char pidf[PATH_MAX], want[PATH_MAX + 128];
	const char *args[] = { "--pidfile", pidf, "-l", "127.0.0.1:0", NULL };
	struct srv s;
	int r;

	snprintf(pidf, sizeof pidf, "%s", h_path(h_tmpdir(), "fifo.pid"));
	H_ASSERT(mkfifo(pidf, 0644) == 0, "mkfifo %s: %s", pidf, H_ERR);
	r = srv_run(&s, args, D);
	snprintf(want, sizeof want, "pidfile %s: not a regular file", pidf);
	H_ASSERT(r == 1 && strstr(srv_log(&s), want) != NULL,
	    "a FIFO as pidfile: status %d, want 1 and '%s'", r, want);
	srv_free(&s);
}
END_TEST

/*
 * A stale pidfile of our own (its process gone), even one others may
 * write, is reused: it gets our pid, mode 0644, the lock, and is removed
 * at exit.
 */
START_TEST(test_pidfile_stale_reused)
{
	char pidf[PATH_MAX], text[64];
	const char *args[] = { "--pidfile", pidf, "-l", "127.0.0.1:0", NULL };
	struct stat st;
	struct srv s;

	snprintf(pidf, sizeof pidf, "%s", h_path(h_tmpdir(), "stale.pid"));
	H_ASSERT(h_write_file(pidf, "999999999\n") == 0 && chmod(pidf, 0666) == 0, "%s: %s", pidf,
	    H_ERR);
	H_ASSERT(srv_start(&s, args) == 0, "a stale pidfile of ours was refused");
	snprintf(text, sizeof text, "%s", file_text(pidf));
	H_ASSERT(read_pidfile(pidf) == s.pid, "pidfile '%s', want %d", text, (int)s.pid);
	H_ASSERT(stat(pidf, &st) == 0 && (st.st_mode & 07777) == 0644, "pidfile mode %o, want 644",
	    (unsigned)(st.st_mode & 07777));
	H_ASSERT(pidfile_locked(pidf), "the pidfile is not locked");
	H_STOP_OK(&s, "pidfile_stale_reused");
	H_ASSERT(access(pidf, F_OK) == -1 && errno == ENOENT,
	    "the pidfile is still there after exit");
}
END_TEST

/*
 * Two instances A and B on one pidfile, B started while A is gone or
 * still running: B's pidfile is the one left, locked, until B stops.
 * restart: A stops first, then B takes the pidfile.  replaced_kept: A's
 * pidfile is removed while A runs and B makes and locks a new one; when A
 * stops, it leaves B's pidfile alone.
 */
static const struct {
	const char *name;
	bool a_stops_first; /* else A's pidfile is unlinked and A stops after B started */
} pidfile_pairs[] = {
	{ "pidfile_restart", true },
	{ "pidfile_replaced_kept", false },
};

START_TEST(test_pidfile_two_instances)
{
	const char *name = pidfile_pairs[_i].name;
	char pidf[PATH_MAX], text[64], who_a[64], who_b[64];
	const char *args[] = { "--pidfile", pidf, "-l", "127.0.0.1:0", NULL };
	struct srv a, b;

	snprintf(who_a, sizeof who_a, "%s: A", name);
	snprintf(who_b, sizeof who_b, "%s: B", name);
	snprintf(text, sizeof text, "%s.pid", name);
	snprintf(pidf, sizeof pidf, "%s", h_path(h_tmpdir(), text));
	H_ASSERT(srv_start(&a, args) == 0, "%s: instance A did not start", name);
	if (pidfile_pairs[_i].a_stops_first)
		H_STOP_OK(&a, who_a);
	else
		H_ASSERT(unlink(pidf) == 0, "%s: unlink %s: %s", name, pidf, H_ERR);
	H_ASSERT(srv_start(&b, args) == 0, "%s: instance B did not start", name);
	if (!pidfile_pairs[_i].a_stops_first)
		H_STOP_OK(&a, who_a);
	snprintf(text, sizeof text, "%s", file_text(pidf));
	H_ASSERT(read_pidfile(pidf) == b.pid && pidfile_locked(pidf),
	    "%s: after A stopped, the pidfile is '%s', want B's pid %d, locked (A "
	    "removed B's pidfile?)",
	    name, text, (int)b.pid);
	H_STOP_OK(&b, who_b);
	H_ASSERT(access(pidf, F_OK) == -1 && errno == ENOENT,
	    "%s: B's pidfile is still there after B stopped", name);
	srv_free(&a);
}
END_TEST

/*
 * The race of finding 14, made deterministic: between the server's
 * open(2) of the pidfile and its flock(2), the file is moved away and a
 * new one takes its name (what a stopping instance's unlink, followed by a
 * third instance's create, looks like).  A fanotify permission event
 * holds the server inside open(2) while the test swaps the files.  The
 * server must notice that it locked a file the name no longer leads to,
 * and start over on the new one.  Needs CAP_SYS_ADMIN (skipped without).
 */
START_TEST(test_pidfile_swapped_while_locking)
{
	const char *dir = h_tmpdir();
	char pidf[PATH_MAX], old[PATH_MAX], text[64];
	const char *args[] = { "--pidfile", pidf, "-l", "127.0.0.1:0", NULL };
	struct fanotify_event_metadata ev[16];
	long long end = h_now_ms() + H_START_MS;
	bool swapped = false;
	struct srv s;
	int fan;

	snprintf(pidf, sizeof pidf, "%s", h_path(dir, "swap.pid"));
	snprintf(old, sizeof old, "%s", h_path(dir, "swap.old"));
	H_ASSERT(h_write_file(pidf, "old\n") == 0, "%s: %s", pidf, H_ERR);
	fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);
	if (fan == -1 || fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD, pidf) == -1) {
		printf("SKIP: fanotify permission events: %s\n", H_ERR);
		if (fan != -1)
			close(fan);
		return;
	}
	H_ASSERT(srv_spawn(&s, args) == 0, "spawn: %s", H_ERR);
	while (!swapped && h_now_ms() < end) {
		struct pollfd p = { fan, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 20) <= 0) {
			/* Started without an event: fanotify does not see
			 * this file system's opens (nothing to test here). */
			if (srv_listening(&s) >= 1)
				break;
			continue;
		}
		n = read(fan, ev, sizeof ev);
		H_ASSERT(n > 0, "fanotify read: %s", H_ERR);
		for (struct fanotify_event_metadata *m = ev; FAN_EVENT_OK(m, n);
		     m = FAN_EVENT_NEXT(m, n)) {
			struct fanotify_response resp = { m->fd, FAN_ALLOW };

			/* The server is inside open(2): swap, let it go. */
			if (m->pid == s.pid && !swapped) {
				H_ASSERT(rename(pidf, old) == 0 && h_write_file(pidf, "") == 0,
				    "swapping %s: %s", pidf, H_ERR);
				swapped = true;
			}
			H_ASSERT(write(fan, &resp, sizeof resp) == sizeof resp,
			    "fanotify response: %s", H_ERR);
			if (m->fd >= 0)
				close(m->fd);
		}
	}
	close(fan);
	if (!swapped && srv_listening(&s) >= 1) {
		printf("SKIP: fanotify reported no open of %s\n", pidf);
		H_STOP_OK(&s, "pidfile_swapped_while_locking");
		return;
	}
	H_ASSERT(swapped, "the server never opened %s", pidf);
	H_ASSERT(srv_wait_listening(&s, 1, H_START_MS) == 0, "the server did not start");
	snprintf(text, sizeof text, "%s", file_text(pidf));
	H_ASSERT(read_pidfile(pidf) == s.pid && pidfile_locked(pidf),
	    "%s holds '%s', want the server's pid %d and locked: it kept the "
	    "lock of the file moved away",
	    pidf, text, (int)s.pid);
	snprintf(text, sizeof text, "%s", file_text(old));
	H_ASSERT(strcmp(text, "old") == 0 && !pidfile_locked(old),
	    "the file moved away holds '%s' (want 'old') or is locked", text);
	H_STOP_OK(&s, "pidfile_swapped_while_locking");
	H_ASSERT(access(pidf, F_OK) == -1 && access(old, F_OK) == 0,
	    "at exit the server removed the wrong file");
}
END_TEST

/* ---- closed standard descriptors (audit finding 6) -------------------- */

/* Which of the descriptors 0-2 a test closes before exec. */
#define FD_IN  (1 << 0)
#define FD_OUT (1 << 1)
#define FD_ERR (1 << 2)

/* h_next_spawn_hook: closes the descriptors 0-2 whose bits *arg has. */
static void
close_stdio(void *arg)
{
	int mask = *(const int *)arg;

	for (int fd = 0; fd <= 2; fd++)
		if ((mask & (1 << fd)) != 0)
			close(fd);
}

/* The descriptors of mask are /dev/null in pid. */
static bool
stdio_null(pid_t pid, int mask)
{
	static const char *const names[] = { "fd/0", "fd/1", "fd/2" };

	for (int fd = 0; fd <= 2; fd++)
		if ((mask & (1 << fd)) != 0 && strcmp(fd_target(pid, names[fd]), "/dev/null") != 0)
			return false;
	return true;
}

struct unix_up {
	struct srv *s;
	const char *path;
};

/* A unix socket accepts connections (or the server exited: stop waiting). */
static bool
unix_serving(void *arg)
{
	struct unix_up *u = arg;
	int fd = cli_connect_unix(u->path, 0);

	if (fd >= 0) {
		close(fd);
		return true;
	}
	return !srv_alive(u->s);
}

/*
 * Started with descriptors 0, 1 and 2 closed, -d --pidfile in every model:
 * the original process reports success, the daemon serves, its 0-2 are
 * /dev/null, the pidfile is locked (a second instance is refused), and
 * SIGTERM stops it and removes the pidfile and the socket.  (Without
 * stderr there is no "listening on" line: the daemon listens on a unix
 * socket path.)
 */
START_TEST(test_daemon_stdio_closed)
{
	static int closed = FD_IN | FD_OUT | FD_ERR;
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	char pidf[PATH_MAX], sock[PATH_MAX], addr[PATH_MAX + 8];
	char want[PATH_MAX + 128];
	const char *args[] = { "-d", "--pidfile", pidf, "-m", model, "-l", addr, NULL };
	const char *again[] = { "-d", "--pidfile", pidf, "-l", "127.0.0.1:0", NULL };
	struct srv orig, d, s2;
	pid_t pid;
	int fd, r;

	snprintf(pidf, sizeof pidf, "%s", h_path(dir, "closed.pid"));
	snprintf(sock, sizeof sock, "%s", h_path(dir, "closed.sock"));
	snprintf(addr, sizeof addr, "unix:%s", sock);
	h_next_spawn_hook(close_stdio, &closed);
	H_ASSERT(srv_spawn(&orig, args) == 0, "spawn: %s", H_ERR);
	r = srv_wait(&orig, H_START_MS);
	H_ASSERT(r == 0,
	    "%s: -d with 0-2 closed: the original process: "
	    "status %d, want 0",
	    model, r);
	pid = read_pidfile(pidf);
	H_ASSERT(pid > 0 && srv_adopt(&d, pid, -1) == 0, "%s: no daemon running with the pid of %s",
	    model, pidf);
	H_ASSERT(pidfile_locked(pidf), "%s: the pidfile is not locked", model);
	H_ASSERT(stdio_null(pid, closed),
	    "%s: the daemon's 0-2 are not "
	    "/dev/null",
	    model);
	fd = cli_connect_unix(sock, D);
	H_ASSERT(fd >= 0 && cli_echo_ok(fd, "closed stdio\n"), "%s: the daemon does not serve %s",
	    model, sock);
	close(fd);

	r = srv_run(&s2, again, D);
	snprintf(want, sizeof want,
	    "pidfile %s is locked by a running "
	    "dispatchd (pid %d)",
	    pidf, (int)pid);
	H_ASSERT(r == 1 && strstr(srv_log(&s2), want) != NULL,
	    "%s: second instance with the pidfile: status %d, want 1 and '%s'", model, r, want);
	srv_free(&s2);

	H_STOP_OK(&d, model);
	H_ASSERT(access(pidf, F_OK) == -1 && access(sock, F_OK) == -1,
	    "%s: the pidfile or the socket is still there after exit", model);
	srv_free(&orig);
}
END_TEST

/*
 * In the foreground in every model, logger output '-' with stdout closed
 * (case 0: stderr observed, no "record lost" warning), or with
 * 0-2 all closed (a unix socket): stdout is /dev/null, every record is
 * written (OK with --logger-ack) and SIGTERM gives status 0.
 */
START_TEST(test_stdio_closed_logger)
{
	static int out_only = FD_OUT, every = FD_IN | FD_OUT | FD_ERR;
	const char *model = h_model(H_LOOP_MODEL(_i));
	bool all = H_LOOP_CASE(_i) == 1;
	char sock[PATH_MAX], addr[PATH_MAX + 8], line[64];
	const char *args[] = { "-m", model, "-H", "logger", "--logger-output", "-", "--logger-ack",
		"-l", addr, NULL };
	const char *what = all ? "0-2 closed" : "stdout closed";
	struct srv s;
	int fd;

	/* valgrind (make check-valgrind) opens its log file on the lowest
	 * free descriptor before dispatchd runs: nothing is closed then. */
	if (h_under_valgrind()) {
		printf("SKIP: under valgrind, its log file takes the closed "
		       "descriptor\n");
		return;
	}
	snprintf(sock, sizeof sock, "%s", h_path(h_tmpdir(), "lg.sock"));
	if (all)
		snprintf(addr, sizeof addr, "unix:%s", sock);
	else
		snprintf(addr, sizeof addr, "127.0.0.1:0");
	h_next_spawn_hook(close_stdio, all ? &every : &out_only);
	if (all) {
		struct unix_up u = { &s, sock };

		H_ASSERT(srv_spawn(&s, args) == 0, "spawn: %s", H_ERR);
		H_ASSERT(h_wait_for(unix_serving, &u, H_START_MS) && srv_alive(&s),
		    "%s, %s: not serving %s", model, what, sock);
		fd = cli_connect_unix(sock, D);
	} else {
		H_ASSERT(srv_start(&s, args) == 0, "%s, %s: did not start", model, what);
		fd = cli_connect(srv_port(&s, 0));
	}
	H_ASSERT(fd >= 0 && cli_send(fd, "one\ntwo\n") == 0 &&
	        cli_read_line(fd, line, sizeof line, D) == 3 && strcmp(line, "OK\n") == 0 &&
	        cli_read_line(fd, line, sizeof line, D) == 3 && strcmp(line, "OK\n") == 0,
	    "%s, %s: the records were not written (no OK)", model, what);
	close(fd);
	H_ASSERT(stdio_null(s.pid, all ? every : out_only),
	    "%s, %s: the closed descriptors are not /dev/null", model, what);
	H_ASSERT(srv_stop(&s, SIGTERM, D) == 0, "%s, %s: SIGTERM did not give exit status 0", model,
	    what);
	H_ASSERT(strstr(srv_log(&s), "record lost") == NULL &&
	        strstr(srv_log(&s), strerror(EBADF)) == NULL,
	    "%s, %s: records lost", model, what);
}
END_TEST

/* ---- unix socket files (audit finding 9) ------------------------------ */

/*
 * Server A's socket file is removed and server B binds the same path:
 * when A stops, the file (B's) stays, and B still serves it.
 */
START_TEST(test_unix_replaced_kept)
{
	char sock[PATH_MAX], addr[PATH_MAX + 8];
	const char *args[] = { "-l", addr, NULL };
	struct stat st;
	struct srv a, b;
	int fd;

	snprintf(sock, sizeof sock, "%s", h_path(h_tmpdir(), "u.sock"));
	snprintf(addr, sizeof addr, "unix:%s", sock);
	H_ASSERT(srv_start(&a, args) == 0, "server A did not start");
	H_ASSERT(unlink(sock) == 0, "unlink %s: %s", sock, H_ERR);
	H_ASSERT(srv_start(&b, args) == 0, "server B did not start");
	H_STOP_OK(&a, "A");
	H_ASSERT(lstat(sock, &st) == 0 && S_ISSOCK(st.st_mode),
	    "A removed B's socket file %s when it stopped", sock);
	fd = cli_connect_unix(sock, D);
	H_ASSERT(fd >= 0 && cli_echo_ok(fd, "still B\n"), "B does not serve %s after A stopped",
	    sock);
	close(fd);
	H_STOP_OK(&b, "B");
	H_ASSERT(access(sock, F_OK) == -1 && errno == ENOENT,
	    "B's socket file is still there after B stopped");
	srv_free(&a);
}
END_TEST

/* ---- --user --------------------------------------------------------- */

/* The value of a "Field:" line of /proc/PID/task/TID/status, tabs and all. */
static bool
status_field(const char *status, const char *field, char *out, size_t cap)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof key, "\n%s:", field);
	p = strstr(status, key);
	if (p == NULL)
		return false;
	p += strlen(key);
	snprintf(out, cap, "%.*s", (int)strcspn(p, "\n"), p);
	return true;
}

static int
cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

/* "Groups:" text into sorted gids; how many. */
static int
parse_groups(const char *text, gid_t *g, int max)
{
	char *end;
	int n = 0;

	for (;;) {
		long v = strtol(text, &end, 10);

		if (end == text || n == max)
			break;
		g[n++] = (gid_t)v;
		text = end;
	}
	qsort(g, (size_t)n, sizeof *g, cmp_gid);
	return n;
}

/*
 * Every thread of pid runs as pw: real, effective, saved and fs ids,
 * exactly pw's groups, no capabilities.  NULL, or what is wrong.
 */
static const char *
creds_wrong(pid_t pid, const struct passwd *pw, const gid_t *groups, int ngroups)
{
	static char why[2048];
	char path[64], want[128], got[256];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (dir == NULL)
		return "no /proc/PID/task";
	why[0] = '\0';
	while ((de = readdir(dir)) != NULL && why[0] == '\0') {
		char spath[PATH_MAX], *st;
		gid_t g[64];
		int n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(spath, sizeof spath, "%s/%s/status", path, de->d_name);
		st = h_read_file(spath, NULL);
		if (st == NULL)
			continue; /* the thread ended */
		snprintf(want, sizeof want, "\t%u\t%u\t%u\t%u", (unsigned)pw->pw_uid,
		    (unsigned)pw->pw_uid, (unsigned)pw->pw_uid, (unsigned)pw->pw_uid);
		if (!status_field(st, "Uid", got, sizeof got) || strcmp(got, want) != 0)
			snprintf(why, sizeof why, "task %s Uid:%s, want%s", de->d_name, got, want);
		snprintf(want, sizeof want, "\t%u\t%u\t%u\t%u", (unsigned)pw->pw_gid,
		    (unsigned)pw->pw_gid, (unsigned)pw->pw_gid, (unsigned)pw->pw_gid);
		if (why[0] == '\0' &&
		    (!status_field(st, "Gid", got, sizeof got) || strcmp(got, want) != 0))
			snprintf(why, sizeof why, "task %s Gid:%s, want%s", de->d_name, got, want);
		if (why[0] == '\0' &&
		    (!status_field(st, "Groups", got, sizeof got) ||
		        (n = parse_groups(got, g, 64)) != ngroups ||
		        memcmp(g, groups, sizeof *g * (size_t)n) != 0))
			snprintf(why, sizeof why,
			    "task %s Groups:%s, want "
			    "exactly %s's %d group(s)",
			    de->d_name, got, pw->pw_name, ngroups);
		if (why[0] == '\0' &&
		    (!status_field(st, "CapEff", got, sizeof got) ||
		        strcmp(got, "\t0000000000000000") != 0))
			snprintf(why, sizeof why, "task %s CapEff:%s, want 0", de->d_name, got);
		free(st);
	}
	closedir(dir);
	return why[0] ? why : NULL;
}

static bool
find_child(void *arg)
{
	pid_t *pp = arg, kids[4];

	if (h_proc_children(pp[0], kids, 4) != 1)
		return false;
	pp[1] = kids[0];
	return true;
}

/*
 * As root, --user nobody in every model: after binding, every thread (and
 * under a model serving in children the child serving a connection) runs
 * with nobody's uid, gid and only nobody's groups, without capabilities,
 * and still serves.
 */
START_TEST(test_user)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-l", "127.0.0.1:0", "--user", "nobody", NULL };
	struct passwd *pw;
	gid_t groups[64];
	int ngroups = 64, fd;
	const char *why;
	pid_t pp[2];
	struct srv s;

	if (geteuid() != 0) {
		printf("SKIP: --user needs root\n");
		return;
	}
	pw = getpwnam("nobody");
	if (pw == NULL) {
		printf("SKIP: no user nobody\n");
		return;
	}
	H_ASSERT(getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) >= 0,
	    "getgrouplist nobody");
	qsort(groups, (size_t)ngroups, sizeof *groups, cmp_gid);
	H_START_OK(&s, args, model);
	fd = cli_connect(srv_port(&s, 0));
	H_ASSERT(fd >= 0 && cli_echo_ok(fd, "as nobody\n"), "%s: not serving as nobody", model);
	why = creds_wrong(s.pid, pw, groups, ngroups);
	H_ASSERT(why == NULL, "%s: server: %s", model, why);
	if (h_model_in_children(model)) {
		pp[0] = s.pid;
		H_ASSERT(h_wait_for(find_child, pp, D), "%s: no child serving the connection",
		    model);
		why = creds_wrong(pp[1], pw, groups, ngroups);
		H_ASSERT(why == NULL, "%s: child: %s", model, why);
	}
	H_ASSERT(cli_echo_ok(fd, "still\n"), "%s: not serving", model);
	close(fd);
	H_STOP_OK(&s, model);
}
END_TEST

/*
 * --user values refused (as any user): root by name or uid, unknown names.
 * The user is looked up before anything is bound, so each is the usual
 * start-up error: exit 1..127, exactly one line on stderr naming the
 * value, no "listening on" line; under -t the same error, and the same
 * for the config file's user key.
 */
static const char *const bad_users[][2] = {
	{ "root", "refusing to run as root ('root')" },
	{ "0", "refusing to run as root ('0')" },
	{ "no-such-user-dispatchd", "no such user 'no-such-user-dispatchd'" },
	{ "nosuchuser_xyz", "--user: no such user 'nosuchuser_xyz'" },
};

static size_t
lines_in(const char *t)
{
	return h_count(t, "\n") + (*t && t[strlen(t) - 1] != '\n');
}

START_TEST(test_user_refused)
{
	const char *user = bad_users[_i][0], *want = bad_users[_i][1];
	const char *conf = h_path(h_tmpdir(), "user.conf");
	const char *flag[] = { "-l", "127.0.0.1:0", "--user", user, NULL };
	const char *test[] = { "-t", "-l", "127.0.0.1:0", "--user", user, NULL };
	const char *file[] = { "-c", conf, NULL };
	const char *file_t[] = { "-t", "-c", conf, NULL };
	const char *const *runs[] = { flag, test, file, file_t };
	const char *what[] = { "--user", "-t --user", "user =", "-t, user =" };
	char text[256];

	snprintf(text, sizeof text,
	    "user = \"%s\"\n"
	    "service \"e\" { listen = {\"127.0.0.1:0\"} handler = \"echo\" }\n",
	    user);
	H_ASSERT(h_write_file(conf, text) == 0, "cannot write %s", conf);
	for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
		struct srv s;
		int r = srv_run(&s, runs[k], D);
		const char *log = srv_log(&s);

		H_ASSERT(r >= 1 && r <= 127,
		    "%s %s: exit status %d, want "
		    "1..127\n%s",
		    what[k], user, r, log);
		H_ASSERT(strstr(log, "listening on") == NULL,
		    "%s %s: listened before refusing the user:\n%s", what[k], user, log);
		H_ASSERT(lines_in(log) == 1 && strstr(log, want) != NULL,
		    "%s %s: want one line on stderr with '%s', got %zu:\n%s", what[k], user, want,
		    lines_in(log), log);
		H_ASSERT(strstr(srv_stdout(&s), "configuration ok") == NULL,
		    "%s %s: 'configuration ok' for a bad user", what[k], user);
		srv_free(&s);
	}
}
END_TEST

/* -t with an existing user needs no privileges: "configuration ok". */
START_TEST(test_user_check_config)
{
	const char *args[] = { "-t", "-l", "127.0.0.1:0", "--user", "nobody", NULL };
	struct srv s;
	int r;

	if (getpwnam("nobody") == NULL) {
		printf("SKIP: no user nobody\n");
		return;
	}
	r = srv_run(&s, args, D);
	H_ASSERT(r == 0 && strstr(srv_stdout(&s), "configuration ok") != NULL,
	    "-t --user nobody: exit status %d, want 0 and 'configuration ok'"
	    "\n%s%s",
	    r, srv_stdout(&s), srv_log(&s));
	srv_free(&s);
}
END_TEST

/* ---- SIGUSR1 -------------------------------------------------------- */

/* The last status line of service svc in the log (without "dispatchd: info: "). */
static bool
last_status(const char *log, const char *svc, char *out, size_t cap, size_t *count)
{
	char key[128];
	const char *p = log, *last = NULL;

	snprintf(key, sizeof key, "dispatchd: info: status: service %s: ", svc);
	*count = 0;
	while ((p = strstr(p, key)) != NULL) {
		if (p == log || p[-1] == '\n') {
			last = p;
			(*count)++;
		}
		p += strlen(key);
	}
	out[0] = '\0';
	if (last == NULL)
		return false;
	last += strlen("dispatchd: info: ");
	snprintf(out, cap, "%.*s", (int)strcspn(last, "\n"), last);
	return true;
}

/*
 * got is want, or want followed by more counters, all zero: ", 0 NAME"
 * (a new kind of refusal) or "; GROUP 0 NAME" (a new group, such as
 * "; datagrams 0 received, 0 answered, 0 dropped"): the line may grow.
 */
static bool
status_matches(const char *got, const char *want)
{
	static const char az[] = "abcdefghijklmnopqrstuvwxyz_";
	size_t n = strlen(want);

	if (strncmp(got, want, n) != 0)
		return false;
	for (got += n; *got != '\0';) {
		if (strncmp(got, "; ", 2) == 0) {
			got += 2;
			if (strspn(got, az) == 0)
				return false;
			got += strspn(got, az);
		} else if (*got == ',') {
			got++;
		} else {
			return false;
		}
		if (strncmp(got, " 0 ", 3) != 0)
			return false;
		got += 3;
		if (strspn(got, az) == 0)
			return false;
		got += strspn(got, az);
	}
	return true;
}

/*
 * Sends SIGUSR1 and reads the status line of svc it brings, again until
 * the line matches want or D passed: a counter that another process or thread
 * updates right after the client got its reply may lag by a moment.
 * True if it came to match; got is the last line seen.
 */
static bool
status_is(struct srv *s, const char *svc, const char *want, char *got, size_t cap)
{
	long long end = h_now_ms() + D;
	size_t before, now;

	last_status(srv_log(s), svc, got, cap, &before);
	while (h_now_ms() < end) {
		if (kill(s->pid, SIGUSR1) == -1)
			return false;
		do {
			h_nap(2);
			last_status(srv_log(s), svc, got, cap, &now);
		} while (now == before && h_now_ms() < end);
		before = now;
		if (status_matches(got, want))
			return true;
	}
	return false;
}

static void
status_want(char *buf, size_t cap, const char *svc, int now, int total, long bytes, int refused)
{
	snprintf(buf, cap,
	    "status: service %s: connections %d now, %d total; "
	    "bytes %ld in, %ld out; refused %d max_clients, 0 no_fds, "
	    "0 fd_setsize",
	    svc, now, total, bytes, bytes, refused);
}

/*
 * SIGUSR1 in every model: one line per service with exact counters after
 * two echo connections of 1000 and 234 bytes (serial: one after the
 * other), counted in shared memory by the children of a model serving in
 * children too; once both clients left, "0 now" with the totals kept.  A
 * second, idle service reports zeros.
 */
START_TEST(test_status)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-l", "127.0.0.1:0", "-l", "127.0.0.1:0", NULL };
	bool serial = h_model_serial(model);
	char big[1001], small[235], want[512], got[512];
	struct srv s;
	int a, b, port;

	memset(big, 'a', 1000);
	big[1000] = '\0';
	memset(small, 'b', 234);
	small[234] = '\0';
	H_START_OK(&s, args, model);
	port = srv_port(&s, srv_find(&s, "echo"));
	a = cli_connect(port);
	H_ASSERT(a >= 0 && cli_echo_ok(a, big), "%s: first client", model);
	if (serial)
		close(a); /* the second is served once the first left */
	b = cli_connect(port);
	H_ASSERT(b >= 0 && cli_echo_ok(b, small), "%s: second client", model);

	status_want(want, sizeof want, "echo", serial ? 1 : 2, 2, 1234, 0);
	H_ASSERT(status_is(&s, "echo", want, got, sizeof got), "%s: status line\n'%s'\nwant\n'%s'",
	    model, got, want);
	status_want(want, sizeof want, "echo-2", 0, 0, 0, 0);
	H_ASSERT(status_is(&s, "echo-2", want, got, sizeof got),
	    "%s: status line\n'%s'\nwant\n'%s'", model, got, want);

	if (!serial)
		close(a);
	close(b);
	status_want(want, sizeof want, "echo", 0, 2, 1234, 0);
	H_ASSERT(status_is(&s, "echo", want, got, sizeof got),
	    "%s: after both left, status line\n'%s'\nwant\n'%s'", model, got, want);
	H_STOP_OK(&s, model);
}
END_TEST

/*
 * --max-clients 1: the refused second connection is counted (not under a
 * serial model, which keeps the rest in the backlog).
 */
START_TEST(test_status_refused)
{
	const char *model = h_conc_model(_i);
	const char *args[] = { "-m", model, "-l", "127.0.0.1:0", "--max-clients", "1", NULL };
	char want[512], got[512];
	struct srv s;
	int a, b;

	H_START_OK(&s, args, model);
	a = cli_connect(srv_port(&s, 0));
	H_ASSERT(a >= 0 && cli_echo_ok(a, "hello\n"), "%s: first client", model);
	b = cli_connect(srv_port(&s, 0));
	H_ASSERT(b >= 0 && cli_wait_closed(b, D), "%s: the second connection was not refused",
	    model);
	close(b);
	status_want(want, sizeof want, "echo", 1, 1, 6, 1);
	H_ASSERT(status_is(&s, "echo", want, got, sizeof got), "%s: status line\n'%s'\nwant\n'%s'",
	    model, got, want);
	H_ASSERT(cli_echo_ok(a, "still\n"), "%s: first client hurt", model);
	close(a);
	H_STOP_OK(&s, model);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("daemon");

	/*
	 * Detached daemons escape the test's process group: if Check kills a
	 * test that timed out, they come to us, and h_cleanup (at exit)
	 * kills them.
	 */
	h_setup();

	h_tcase_models(su, "notify", 30, test_notify);
	h_tcase_models(su, "notify_reload", 30, test_notify_reload);
	tcase_add_test(h_tcase(su, "notify_abstract", 30), test_notify_abstract);
	tcase_add_test(h_tcase(su, "notify_fork_children", 30), test_notify_fork_children);
	h_tcase_models(su, "activation", 30, test_activation);
	tcase_add_test(h_tcase(su, "activation_in_order", 30), test_activation_in_order);
	tcase_add_test(h_tcase(su, "activation_partial", 30), test_activation_partial);
	h_tcase_models(su, "activation_workers", 30, test_activation_workers);
	tcase_add_loop_test(h_tcase(su, "activation_mismatch", 30), test_activation_mismatch, 0,
	    (int)(sizeof sa_bad / sizeof sa_bad[0]));
	h_tcase_models(su, "daemon", 30, test_daemon);
	tcase_add_test(h_tcase(su, "pidfile", 30), test_pidfile);
	tcase_add_test(h_tcase(su, "daemon_relative_pidfile", 30), test_daemon_relative_pidfile);
	tcase_add_test(h_tcase(su, "pidfile_foreign_owner", 30), test_pidfile_foreign_owner);
	tcase_add_test(h_tcase(su, "pidfile_hard_link", 30), test_pidfile_hard_link);
	tcase_add_test(h_tcase(su, "pidfile_not_regular", 30), test_pidfile_not_regular);
	tcase_add_test(h_tcase(su, "pidfile_stale_reused", 30), test_pidfile_stale_reused);
	tcase_add_loop_test(h_tcase(su, "pidfile_two_instances", 30), test_pidfile_two_instances, 0,
	    (int)(sizeof(pidfile_pairs) / sizeof(pidfile_pairs[0])));
	tcase_add_test(h_tcase(su, "pidfile_swapped_while_locking", 30),
	    test_pidfile_swapped_while_locking);
	h_tcase_models(su, "daemon_stdio_closed", 30, test_daemon_stdio_closed);
	h_tcase_models_n(su, "stdio_closed_logger", 30, test_stdio_closed_logger, 2);
	tcase_add_test(h_tcase(su, "unix_replaced_kept", 30), test_unix_replaced_kept);
	h_tcase_models(su, "user", 30, test_user);
	tcase_add_loop_test(h_tcase(su, "user_refused", 30), test_user_refused, 0,
	    (int)(sizeof bad_users / sizeof bad_users[0]));
	tcase_add_test(h_tcase(su, "user_check_config", 30), test_user_check_config);
	h_tcase_models(su, "status", 30, test_status);
	h_tcase_conc_models(su, "status_refused", 30, test_status_refused);
	return h_run_suite(su);
}
