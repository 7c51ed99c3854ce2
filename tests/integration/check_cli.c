/* check_cli.c - the command line, config file and listener kinds of the real binary. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handler.h"
#include "harness.h"
#include "model.h"

#define D            H_DEADLINE_MS
#define HANDLERS_MAX 32 /* room for the registry's handlers */

static size_t
lines_in(const char *t)
{
	return h_count(t, "\n") + (*t && t[strlen(t) - 1] != '\n');
}

/*
 * Runs args and expects a start-up error: exit status 1..127 (not a
 * signal, not still running), nothing listening, exactly one line on
 * stderr naming every string of names (NULL-terminated).
 */
static void
expect_error(const char *const args[], const char *const names[], const char *what)
{
	struct srv s;
	const char *log;
	int r = srv_run(&s, args, D);

	log = srv_log(&s);
	H_ASSERT(r >= 1 && r <= 127, "%s: exit status %d, want 1..127%s", what, r,
	    r == -1 ? " (still running after 5 s)" : "");
	H_ASSERT(strstr(log, "listening on") == NULL, "%s: the server listened anyway", what);
	H_ASSERT(lines_in(log) == 1, "%s: want one line on stderr, got %zu:\n%s", what,
	    lines_in(log), log);
	for (int i = 0; names[i] != NULL; i++)
		H_ASSERT(strstr(log, names[i]) != NULL, "%s: the error does not name '%s': %s",
		    what, names[i], log);
	srv_free(&s);
}

START_TEST(test_bad_flag)
{
	const char *args[] = { "--nope", "-l", "127.0.0.1:0", NULL };
	const char *names[] = { "nope", NULL };

	expect_error(args, names, "--nope");
}
END_TEST

/* The error names the bad value and every model of the registry. */
START_TEST(test_bad_model)
{
	const char *args[] = { "-m", "fast", "-l", "127.0.0.1:0", NULL };
	const char *names[H_MAX_MODELS + 2] = { "fast" };

	for (int i = 0; i < h_nmodels(); i++)
		names[i + 1] = h_model(i);
	expect_error(args, names, "-m fast");
}
END_TEST

/* A value with control bytes still gives one clean line: they show as \xHH. */
START_TEST(test_bad_value_escaped)
{
	const char *args[] = { "-m", "a\nb\033[2J", "-l", "127.0.0.1:0", NULL };
	const char *names[] = { "'a\\x0Ab\\x1B[2J'", "epoll", NULL };

	expect_error(args, names, "-m with control bytes");
}
END_TEST

/* The error names the bad value and every handler of the registry. */
START_TEST(test_bad_handler)
{
	const char *args[] = { "-H", "fancy", "-l", "127.0.0.1:0", NULL };
	const char *names[HANDLERS_MAX + 2] = { "fancy" };
	int n = 1;

	for (int i = 0; handlers[i] != NULL; i++) {
		H_ASSERT(n <= HANDLERS_MAX, "more than %d handlers", HANDLERS_MAX);
		names[n++] = handlers[i]->name;
	}
	expect_error(args, names, "-H fancy");
}
END_TEST

/* Bad numbers: garbage, trailing garbage, out of range, overflow. */
static const char *const bad_numbers[][2] = {
	{ "--max-clients", "abc" },
	{ "--idle-timeout", "10x" },
	{ "--max-line", "-1" },
	{ "--backlog", "99999999999999999999" },
};

START_TEST(test_bad_number)
{
	const char *args[] = { bad_numbers[_i][0], bad_numbers[_i][1], "-l", "127.0.0.1:0", NULL };
	const char *names[] = { bad_numbers[_i][1], NULL };
	char what[128];

	snprintf(what, sizeof what, "%s %s", args[0], args[1]);
	expect_error(args, names, what);
}
END_TEST

/* Listen addresses that cannot be parsed or resolved. */
static const char *const bad_addrs[] = { "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:-1", "[::1:0",
	"unix:", "no-such-host.invalid:0" };

START_TEST(test_bad_listen)
{
	const char *args[] = { "-l", bad_addrs[_i], NULL };
	const char *names[] = { bad_addrs[_i], NULL };
	char what[128];

	snprintf(what, sizeof what, "-l %s", bad_addrs[_i]);
	expect_error(args, names, what);
}
END_TEST

/*
 * An address already bound: the second server exits non-zero naming the
 * address and the system error; the first one goes on serving.
 */
START_TEST(test_unbindable)
{
	const char *args[] = { "-l", "127.0.0.1:0", NULL };
	char addr[64];
	const char *args2[] = { "-l", addr, NULL };
	struct srv a, b;
	const char *log;
	int r, fd;

	H_START_OK(&a, args, "unbindable");
	snprintf(addr, sizeof addr, "127.0.0.1:%d", srv_port(&a, 0));
	r = srv_run(&b, args2, D);
	log = srv_log(&b);
	H_ASSERT(r >= 1 && r <= 127, "second server on %s: exit status %d", addr, r);
	H_ASSERT(strstr(log, addr) != NULL, "second server: the error does not name %s: %s", addr,
	    log);
	H_ASSERT(strstr(log, strerror(EADDRINUSE)) != NULL,
	    "second server: the error does not say '%s': %s", strerror(EADDRINUSE), log);
	H_ASSERT(strstr(log, "listening on") == NULL, "second server said it was listening");
	fd = cli_connect(srv_port(&a, 0));
	H_ASSERT(fd >= 0 && cli_echo_ok(fd, "still\n"), "first server hurt by the second");
	close(fd);
	H_ASSERT(srv_stop(&a, SIGTERM, D) == 0, "exit status after SIGTERM");
}
END_TEST

/* Two services with their own names and handlers, plus a logger. */
static const char *
write_conf(const char *dir, const char *model)
{
	const char *path = h_path(dir, "d.conf");
	char text[2048];

	snprintf(text, sizeof text,
	    "# dispatchd test configuration\n"
	    "model = \"%s\"\n"
	    "max_clients = 16\n"
	    "idle_timeout = 30\n"
	    "service \"alpha\" { listen = {\"127.0.0.1:0\"} handler = \"echo\" }\n"
	    "service \"beta\" {\n"
	    "  listen = {\"127.0.0.1:0\"}\n"
	    "  handler = \"timestamp\"\n"
	    "}\n"
	    "service \"gamma\" { listen = {\"127.0.0.1:0\"} handler = \"logger\"\n"
	    "  output = \"%s\" ack = true }\n",
	    model, h_path(dir, "gamma.log"));
	return h_write_file(path, text) == 0 ? path : NULL;
}

/*
 * -t: "configuration ok" and exit 0 for good configurations (flags, or a
 * file), the usual one-line error and a non-zero exit for bad ones.
 */
START_TEST(test_check_config)
{
	const char *dir = h_tmpdir();
	const char *conf = write_conf(dir, "poll");
	const char *bad = h_path(dir, "bad.conf");
	const char *ok1[] = { "-t", "-m", "poll", "-l", "127.0.0.1:0", NULL };
	const char *ok2[] = { "-t", "-c", conf, NULL };
	const char *bad1[] = { "-t", "-m", "fast", "-l", "127.0.0.1:0", NULL };
	const char *bad2[] = { "-t", "-c", bad, NULL };
	const char *names1[] = { "fast", "epoll", NULL };
	const char *names2[] = { "turbo", "epoll", NULL };
	const char *const *oks[] = { ok1, ok2 };
	struct srv s;

	H_ASSERT(conf != NULL, "cannot write the config file");
	for (int i = 0; i < 2; i++) {
		int r = srv_run(&s, oks[i], D);
		const char *out = srv_stdout(&s), *log = srv_log(&s);

		H_ASSERT(r == 0,
		    "-t with a good configuration (%s): exit "
		    "status %d\n%s%s",
		    oks[i][1], r, out, log);
		H_ASSERT(strstr(out, "configuration ok") != NULL ||
		        strstr(log, "configuration ok") != NULL,
		    "-t: no 'configuration ok' in:\n%s%s", out, log);
		srv_free(&s);
	}
	expect_error(bad1, names1, "-t -m fast");
	H_ASSERT(h_write_file(bad, "model = \"turbo\"\n") == 0, "write");
	expect_error(bad2, names2, "-t -c with model = \"turbo\"");
}
END_TEST

START_TEST(test_help)
{
	static const char *const opts[] = { "--config", "--model", "--handler", "--listen",
		"--max-clients", "--idle-timeout", "--max-line", "--max-pending", "--backlog",
		"--shutdown-timeout", "--logger-output", "--logger-ack", "--timestamp-format",
		"--pidfile", "--user", "--daemon", "--test-config", "--verbose", "--quiet",
		"--version", "--help", "-c,", "-m,", "-H,", "-l,", "-d,", "-t,", "-v,", "-q,",
		"-V,", "-h," };
	const char *help[] = { "--help", NULL };
	const char *version[] = { "-V", NULL };
	struct srv s;
	char all[16384];
	int r;

	r = srv_run(&s, help, D);
	snprintf(all, sizeof all, "%s%s", srv_stdout(&s), srv_log(&s));
	H_ASSERT(r == 0, "--help: exit status %d", r);
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		H_ASSERT(strstr(all, opts[i]) != NULL, "--help does not list %s:\n%s", opts[i],
		    all);
	srv_free(&s);

	r = srv_run(&s, version, D);
	snprintf(all, sizeof all, "%s%s", srv_stdout(&s), srv_log(&s));
	H_ASSERT(r == 0, "-V: exit status %d", r);
	H_ASSERT(strstr(all, "dispatchd") != NULL && strpbrk(all, "0123456789"),
	    "-V does not print a version: '%s'", all);
}
END_TEST

/* Reads one timestamp reply and checks it carries text. */
static bool
stamped(int fd, const char *text)
{
	char line[256];
	long long us;
	ssize_t n = cli_read_line(fd, line, sizeof line, D);
	size_t tl = strlen(text);

	return n == (ssize_t)(H_TS_LEN + 3 + tl + 1) && line[0] == '[' &&
	    h_parse_ts(line + 1, &us) && line[1 + H_TS_LEN] == ']' && line[2 + H_TS_LEN] == ' ' &&
	    memcmp(line + 3 + H_TS_LEN, text, tl) == 0 && line[n - 1] == '\n';
}

/*
 * A config file with three services (echo, timestamp, logger with output
 * and ack) under each model: one listening line each, naming service and
 * handler, and each serves its handler.
 */
START_TEST(test_config_services)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	const char *conf = write_conf(dir, model);
	const char *args[] = { "-c", conf, NULL };
	int ia, ib, ig, fd;
	char ack[8], *log;
	struct srv s;

	H_ASSERT(conf != NULL, "cannot write the config file");
	H_ASSERT(srv_start_n(&s, args, 3) == 0, "%s: server did not start", model);
	ia = srv_find(&s, "alpha");
	ib = srv_find(&s, "beta");
	ig = srv_find(&s, "gamma");
	H_ASSERT(ia >= 0 && ib >= 0 && ig >= 0 && strcmp(s.ls[ia].handler, "echo") == 0 &&
	        strcmp(s.ls[ib].handler, "timestamp") == 0 &&
	        strcmp(s.ls[ig].handler, "logger") == 0,
	    "%s: want listening lines '(alpha, echo)', '(beta, timestamp)', "
	    "'(gamma, logger)':\n%s",
	    model, srv_log(&s));

	fd = cli_connect(srv_port(&s, ia));
	H_ASSERT(fd >= 0 && cli_echo_ok(fd, "ping\n"), "%s: alpha (echo)", model);
	close(fd);
	fd = cli_connect(srv_port(&s, ib));
	H_ASSERT(fd >= 0 && cli_send(fd, "ping\n") == 0 && stamped(fd, "ping"),
	    "%s: beta (timestamp) did not answer '[TIME] ping'", model);
	close(fd);
	fd = cli_connect(srv_port(&s, ig));
	H_ASSERT(fd >= 0 && cli_send(fd, "to gamma\n") == 0 &&
	        cli_read_line(fd, ack, sizeof ack, D) == 3 && strcmp(ack, "OK\n") == 0,
	    "%s: gamma (logger, ack = true)", model);
	close(fd);
	log = h_read_file(h_path(dir, "gamma.log"), NULL);
	H_ASSERT(log != NULL && strstr(log, ": to gamma\n") != NULL,
	    "%s: gamma's output file lacks the record:\n%s", model, log ? log : "(none)");
	free(log);
	H_STOP_OK(&s, model);
}
END_TEST

static bool
have_ipv6(void)
{
	struct sockaddr_in6 sa;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	memset(&sa, 0, sizeof sa);
	sa.sin6_family = AF_INET6;
	sa.sin6_addr = in6addr_loopback;
	ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/*
 * [::1]:0, *:0 (reachable over IPv4 and IPv6) and unix:/path listeners,
 * all in one server, under each model.
 */
START_TEST(test_listeners)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	const char *sock = h_path(dir, "l.sock");
	char spec[256];
	const char *args[] = { "-m", model, "-l", "[::1]:0", "-l", "*:0", "-l", spec, NULL };
	struct srv s;
	int fd;

	if (!have_ipv6()) {
		fprintf(stderr,
		    "check_cli: no IPv6 loopback; listeners test "
		    "skipped\n");
		return;
	}
	snprintf(spec, sizeof spec, "unix:%s", sock);
	H_START_OK(&s, args, model);
	H_ASSERT(s.nls == 3 && strncmp(s.ls[0].addr, "[::1]:", 6) == 0 && s.ls[0].port > 0 &&
	        s.ls[1].port > 0 && strcmp(s.ls[2].addr, spec) == 0,
	    "%s: want '[::1]:PORT', '...:PORT', '%s' listening lines:\n%s", model, spec,
	    srv_log(&s));

	fd = cli_connect_host("::1", s.ls[0].port, D);
	H_ASSERT(fd >= 0 && cli_echo_ok(fd, "v6\n"), "%s: [::1] listener", model);
	close(fd);
	fd = cli_connect_host("127.0.0.1", s.ls[1].port, D);
	H_ASSERT(fd >= 0 && cli_echo_ok(fd, "any4\n"), "%s: *:%d not reachable over IPv4", model,
	    s.ls[1].port);
	close(fd);
	fd = cli_connect_host("::1", s.ls[1].port, D);
	H_ASSERT(fd >= 0 && cli_echo_ok(fd, "any6\n"), "%s: *:%d not reachable over IPv6", model,
	    s.ls[1].port);
	close(fd);
	fd = cli_connect_unix(sock, D);
	H_ASSERT(fd >= 0 && cli_echo_ok(fd, "unix\n"), "%s: unix listener", model);
	close(fd);
	H_STOP_OK(&s, model);
}
END_TEST

/* Logger peers: "[::1]:port" for IPv6 and "unix" for a unix socket. */
START_TEST(test_logger_peers)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	const char *sock = h_path(dir, "p.sock");
	const char *out = h_path(dir, "p.log");
	char spec[256], want[128], ack[8];
	const char *args[] = { "-m", model, "-H", "logger", "--logger-ack", "--logger-output", out,
		"-l", "[::1]:0", "-l", spec, NULL };
	struct h_has h = { out, want };
	struct srv s;
	char *t;
	int a, u;

	if (!have_ipv6()) {
		fprintf(stderr,
		    "check_cli: no IPv6 loopback; peers test "
		    "skipped\n");
		return;
	}
	snprintf(spec, sizeof spec, "unix:%s", sock);
	H_START_OK(&s, args, model);
	a = cli_connect_host("::1", s.ls[0].port, D);
	H_ASSERT(a >= 0 && cli_send(a, "six\n") == 0 && cli_read_line(a, ack, sizeof ack, D) == 3,
	    "%s: IPv6 client", model);
	snprintf(want, sizeof want, " [::1]:%d: six\n", cli_local_port(a));
	close(a);
	H_ASSERT(h_wait_for(h_file_has, &h, D), "%s: no record '%s'", model, want);
	u = cli_connect_unix(sock, D);
	H_ASSERT(u >= 0 && cli_send(u, "local\n") == 0 && cli_read_line(u, ack, sizeof ack, D) == 3,
	    "%s: unix client", model);
	close(u);
	snprintf(want, sizeof want, " unix disconnected\n");
	H_ASSERT(h_wait_for(h_file_has, &h, D), "%s: no 'unix disconnected'", model);
	t = h_read_file(out, NULL);
	H_ASSERT(t != NULL && strstr(t, " unix connected\n") != NULL &&
	        strstr(t, " unix: local\n") != NULL,
	    "%s: unix peer records wrong:\n%s", model, t ? t : "");
	free(t);
	H_STOP_OK(&s, model);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("cli");

	tcase_add_test(h_tcase(su, "bad_flag", 30), test_bad_flag);
	tcase_add_test(h_tcase(su, "bad_model", 30), test_bad_model);
	tcase_add_test(h_tcase(su, "bad_value_escaped", 30), test_bad_value_escaped);
	tcase_add_test(h_tcase(su, "bad_handler", 30), test_bad_handler);
	tcase_add_loop_test(h_tcase(su, "bad_number", 30), test_bad_number, 0,
	    (int)(sizeof bad_numbers / sizeof bad_numbers[0]));
	tcase_add_loop_test(h_tcase(su, "bad_listen", 30), test_bad_listen, 0,
	    (int)(sizeof bad_addrs / sizeof bad_addrs[0]));
	tcase_add_test(h_tcase(su, "unbindable", 30), test_unbindable);
	tcase_add_test(h_tcase(su, "check_config", 30), test_check_config);
	tcase_add_test(h_tcase(su, "help", 30), test_help);
	h_tcase_models(su, "config_services", 30, test_config_services);
	h_tcase_models(su, "listeners", 30, test_listeners);
	h_tcase_models(su, "logger_peers", 30, test_logger_peers);
	return h_run_suite(su);
}
