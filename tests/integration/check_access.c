/* check_access.c - access lists and per-source limits of the real binary: allow/deny, IPv6 and mapped IPv4, max_per_source, rate_limit, per-service config, unix socket mode. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define D H_DEADLINE_MS

/* Connects from src to host:port; the outcome, the socket left open in *fdp. */
static enum h_outcome
open_from(const char *src, const char *host, int port, int *fdp)
{
	int fd = cli_connect_from(src, host, port, D);

	*fdp = fd;
	if (fd < 0)
		return H_NOCONN;
	return cli_probe(fd);
}

/* The same, closing the socket. */
static enum h_outcome
try_from(const char *src, const char *host, int port)
{
	int fd;
	enum h_outcome o = open_from(src, host, port, &fd);

	if (fd >= 0)
		close(fd);
	return o;
}

/* Asserts that a connection from src to host:port has outcome want. */
#define EXPECT(model, src, host, port, want)                                          \
	do {                                                                          \
		enum h_outcome o_ = try_from(src, host, port);                        \
		H_ASSERT(o_ == (want),                                                \
		    "%s: connection from %s to %s:%d "                                \
		    "%s, want %s (%s)",                                               \
		    model, src, host, port, h_outcome_name(o_), h_outcome_name(want), \
		    o_ == H_NOCONN ? H_ERR : "");                                     \
	} while (0)

/* True if IPv6 loopback is usable here. */
static bool
have_ipv6(void)
{
	struct sockaddr_in6 sin6;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd == -1)
		return false;
	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&sin6, sizeof sin6) == 0;
	close(fd);
	return ok;
}

/* One server, its access rules and what they make of clients: a row. */
struct rules_case {
	const char *what; /* for messages */
	const char *listen;
	const char *opts[5]; /* after -m MODEL -l LISTEN */
	struct {
		const char *src, *host;
		enum h_outcome want;
	} probes[5]; /* in this order */
	struct {
		const char *name;
		long want;
	} counters[3];      /* of service echo, after the probes */
	const char *log[3]; /* what the server's log must hold */
	bool ipv6;          /* needs the IPv6 loopback */
};

static const struct rules_case rules_cases[] = {
	/* Every loopback source refused at once: nothing served, counted as
	 * denied, warned about ("refused 127.0.0.1:PORT: denied"). */
	{ "--deny 127.0.0.0/8", "127.0.0.1:0", { "--deny", "127.0.0.0/8" },
	    { { "127.0.0.1", "127.0.0.1", H_REFUSED }, { "127.0.0.2", "127.0.0.1", H_REFUSED } },
	    { { "denied", 2 }, { "total", 0 } }, { ": refused 127.0.0.1:", ": denied\n" }, false },
	/* A deny list of single hosts refuses exactly those. */
	{ "--deny 10.0.0.0/8 --deny 127.0.0.1", "127.0.0.1:0",
	    { "--deny", "10.0.0.0/8", "--deny", "127.0.0.1" },
	    { { "127.0.0.1", "127.0.0.1", H_REFUSED }, { "127.0.0.2", "127.0.0.1", H_SERVED } },
	    { { "denied", 1 }, { "total", 1 } }, { NULL }, false },
	/* An allow list admits only the clients it names. */
	{ "--allow 127.0.0.2/32", "127.0.0.1:0", { "--allow", "127.0.0.2/32" },
	    { { "127.0.0.1", "127.0.0.1", H_REFUSED }, { "127.0.0.2", "127.0.0.1", H_SERVED },
	        { "127.0.0.3", "127.0.0.1", H_REFUSED }, { "127.0.0.2", "127.0.0.1", H_SERVED } },
	    { { "denied", 2 }, { "total", 2 } }, { NULL }, false },
	/* An allow list and a deny list that both match a client: deny wins. */
	{ "--allow 127.0.0.0/8 --deny 127.0.0.2/32", "127.0.0.1:0",
	    { "--allow", "127.0.0.0/8", "--deny", "127.0.0.2/32" },
	    { { "127.0.0.2", "127.0.0.1", H_REFUSED }, { "127.0.0.1", "127.0.0.1", H_SERVED },
	        { "127.0.0.3", "127.0.0.1", H_SERVED } },
	    { { "denied", 1 } }, { NULL }, false },
	/* IPv6: on [::1]:0, --deny ::1/128 refuses ::1. */
	{ "[::1]:0 --deny ::1/128", "[::1]:0", { "--deny", "::1/128" },
	    { { "::1", "::1", H_REFUSED } }, { { "denied", 1 } }, { NULL }, true },
	/* On *:0 (one socket for both families) an IPv4 client arrives as
	 * ::ffff:127.0.0.1 and is matched as IPv4: --deny 127.0.0.1/32
	 * refuses it but neither 127.0.0.2 nor ::1. */
	{ "*:0 --deny 127.0.0.1/32", "*:0", { "--deny", "127.0.0.1/32" },
	    { { "127.0.0.1", "127.0.0.1", H_REFUSED }, { "127.0.0.2", "127.0.0.1", H_SERVED },
	        { "::1", "::1", H_SERVED } },
	    { { "denied", 1 } }, { NULL }, true },
	/* A prefix written in the mapped range (::ffff:127.0.0.0/104) is an
	 * IPv4 prefix (127.0.0.0/8) that admits IPv4 clients and not ::1. */
	{ "*:0 --allow ::ffff:127.0.0.0/104", "*:0", { "--allow", "::ffff:127.0.0.0/104" },
	    { { "127.0.0.1", "127.0.0.1", H_SERVED }, { "::1", "::1", H_REFUSED } },
	    { { "denied", 1 } }, { NULL }, true },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * --allow and --deny, of IPv4 and IPv6 clients, under every model: each
 * row of rules_cases starts a server on its listen address with its
 * options, connects from each probe's source to its host in turn and
 * expects its outcome, then the echo service's counters and the log.
 */
START_TEST(test_rules)
{
	const struct rules_case *c = &rules_cases[H_LOOP_CASE(_i)];
	const char *model = h_model(H_LOOP_MODEL(_i));
	const char *args[4 + NELEM(c->opts) + 1] = { "-m", model, "-l", c->listen };
	char who[128];
	struct srv s;
	size_t i;
	int port;

	snprintf(who, sizeof who, "%s, %s", model, c->what);
	if (c->ipv6 && !have_ipv6()) {
		printf("SKIP: %s: no IPv6 loopback (::1) here\n", who);
		fflush(stdout);
		return;
	}
	for (i = 0; i < NELEM(c->opts) && c->opts[i] != NULL; i++)
		args[4 + i] = c->opts[i];
	H_START_OK(&s, args, who);
	port = srv_port(&s, 0);
	for (i = 0; i < NELEM(c->probes) && c->probes[i].src != NULL; i++)
		EXPECT(who, c->probes[i].src, c->probes[i].host, port, c->probes[i].want);
	for (i = 0; i < NELEM(c->counters) && c->counters[i].name != NULL; i++)
		H_EXPECT_STATUS(&s, who, "echo", c->counters[i].name, c->counters[i].want);
	for (i = 0; i < NELEM(c->log) && c->log[i] != NULL; i++)
		H_ASSERT(strstr(srv_log(&s), c->log[i]) != NULL, "%s: no '%s' in the server's log",
		    who, c->log[i]);
	H_STOP_OK(&s, who);
}
END_TEST

struct retry {
	const char *src;
	int port;
	int fd;      /* the served connection, left open */
	int refused; /* attempts refused meanwhile */
	bool other;  /* an attempt neither served nor refused */
};

/* One attempt from r->src: true once one is served (kept open in r->fd). */
static bool
served_again(void *arg)
{
	struct retry *r = arg;
	enum h_outcome o = open_from(r->src, "127.0.0.1", r->port, &r->fd);

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

/*
 * --max-per-source 2: a third concurrent connection from 127.0.0.1 is
 * refused (counted as per_source) while one from 127.0.0.2 is admitted;
 * once one of the first two leaves, 127.0.0.1 is admitted again (once the
 * server has seen the close), and then refused again at two.
 *
 * iterative serves one connection at a time, so a source never has two:
 * there, connections from one source wait their turn and are all served.
 */
START_TEST(test_per_source)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-l", "127.0.0.1:0", "--max-per-source", "2", NULL };
	struct retry r = { "127.0.0.1", 0, -1, 0, false };
	struct srv s;
	int a, b, c, d, port;
	enum h_outcome o;

	H_START_OK(&s, args, model);
	port = r.port = srv_port(&s, 0);

	if (h_model_serial(model)) {
		for (int i = 0; i < 4; i++)
			EXPECT(model, "127.0.0.1", "127.0.0.1", port, H_SERVED);
		/* b waits behind a in the backlog, then is served. */
		o = open_from("127.0.0.1", "127.0.0.1", port, &a);
		H_ASSERT(o == H_SERVED, "%s: first connection %s", model, h_outcome_name(o));
		b = cli_connect_from("127.0.0.1", "127.0.0.1", port, D);
		H_ASSERT(b >= 0, "%s: connect: %s", model, H_ERR);
		close(a);
		H_ASSERT(cli_probe(b) == H_SERVED && cli_echo_ok(b, "b2\n"),
		    "%s: waiting connection not served after the first left", model);
		close(b);
		H_EXPECT_STATUS(&s, model, "echo", "per_source", 0);
		H_STOP_OK(&s, model);
		return;
	}

	o = open_from("127.0.0.1", "127.0.0.1", port, &a);
	H_ASSERT(o == H_SERVED, "%s: first connection %s", model, h_outcome_name(o));
	o = open_from("127.0.0.1", "127.0.0.1", port, &b);
	H_ASSERT(o == H_SERVED, "%s: second connection %s", model, h_outcome_name(o));
	o = open_from("127.0.0.1", "127.0.0.1", port, &c);
	H_ASSERT(o == H_REFUSED,
	    "%s: third connection from 127.0.0.1 %s, "
	    "want refused",
	    model, h_outcome_name(o));
	close(c);
	o = open_from("127.0.0.2", "127.0.0.1", port, &d);
	H_ASSERT(o == H_SERVED, "%s: connection from 127.0.0.2 %s", model, h_outcome_name(o));
	H_ASSERT(cli_echo_ok(a, "a\n") && cli_echo_ok(b, "b\n"),
	    "%s: admitted connections hurt by the refusal", model);
	H_EXPECT_STATUS(&s, model, "echo", "per_source", 1);
	H_EXPECT_STATUS(&s, model, "echo", "now", 3);
	H_ASSERT(strstr(srv_log(&s), ": per_source\n") != NULL,
	    "%s: no warning 'refused PEER: per_source'", model);

	close(a);
	H_ASSERT(h_wait_for(served_again, &r, D) && r.fd >= 0,
	    "%s: 127.0.0.1 not admitted again after one of its two "
	    "connections left (%d refused%s)",
	    model, r.refused, r.other ? ", one attempt neither served nor refused" : "");
	/* Two again (b and the new one): the next is refused. */
	o = open_from("127.0.0.1", "127.0.0.1", port, &c);
	H_ASSERT(o == H_REFUSED, "%s: connection over the limit again %s", model,
	    h_outcome_name(o));
	close(c);
	H_EXPECT_STATUS(&s, model, "echo", "per_source", 2 + r.refused);
	H_ASSERT(cli_echo_ok(b, "b\n") && cli_echo_ok(d, "d\n") && cli_echo_ok(r.fd, "e\n"),
	    "%s: admitted connections hurt", model);
	close(b);
	close(d);
	close(r.fd);
	H_EXPECT_STATUS(&s, model, "echo", "now", 0);
	H_STOP_OK(&s, model);
}
END_TEST

#define BURST 20
#define RATE  5

/*
 * --rate-limit 5: a burst of 20 connections from 127.0.0.1 (one after the
 * other, as fast as they are answered) gets about 5 admitted: at least 1,
 * at most 5 plus what the bucket refilled during the burst; the refused
 * ones are exactly the rate_limit counter, warned about at a limited rate.
 * Another source is unaffected, and 127.0.0.1 is admitted again once the
 * bucket refilled.
 */
START_TEST(test_rate_limit)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-l", "127.0.0.1:0", "--rate-limit", "5", NULL };
	struct retry r = { "127.0.0.1", 0, -1, 0, false };
	int admitted = 0, refused = 0, port, slack, warnings;
	long long t0, burst_ms;
	struct srv s;

	H_START_OK(&s, args, model);
	port = r.port = srv_port(&s, 0);
	t0 = h_now_ms();
	for (int i = 0; i < BURST; i++) {
		enum h_outcome o = try_from("127.0.0.1", "127.0.0.1", port);

		H_ASSERT(o == H_SERVED || o == H_REFUSED, "%s: burst connection %d %s", model, i,
		    h_outcome_name(o));
		if (o == H_SERVED)
			admitted++;
		else
			refused++;
	}
	burst_ms = h_now_ms() - t0;
	/* Tokens that came back while the burst lasted, rounded up, + 1. */
	slack = (int)((burst_ms * RATE + 999) / 1000) + 1;
	if (h_verbose())
		fprintf(stderr, "rate_limit %s: %d of %d admitted in %lld ms\n", model, admitted,
		    BURST, burst_ms);
	H_ASSERT(admitted >= 1 && admitted <= RATE + slack,
	    "%s: %d of a burst of %d admitted in %lld ms, want 1..%d", model, admitted, BURST,
	    burst_ms, RATE + slack);
	H_EXPECT_STATUS(&s, model, "echo", "rate_limit", refused);

	/* Another source has a bucket of its own. */
	EXPECT(model, "127.0.0.2", "127.0.0.1", port, H_SERVED);

	/* The bucket refills: admitted again (refusals take no token). */
	H_ASSERT(h_wait_for(served_again, &r, 3 * D) && r.fd >= 0,
	    "%s: 127.0.0.1 not admitted again after the burst (%d more "
	    "refused%s)",
	    model, r.refused, r.other ? ", one attempt neither served nor refused" : "");
	close(r.fd);
	H_EXPECT_STATUS(&s, model, "echo", "rate_limit", refused + r.refused);
	H_EXPECT_STATUS(&s, model, "echo", "denied", 0);

	/* Warned about, at a limited rate: not once per refusal. */
	warnings = (int)h_count(srv_log(&s), ": rate_limit\n");
	H_ASSERT(warnings >= 1 && warnings < refused + r.refused,
	    "%s: %d 'refused PEER: rate_limit' warnings for %d refusals", model, warnings,
	    refused + r.refused);
	H_STOP_OK(&s, model);
}
END_TEST

/*
 * Limits and lists per service: "limited" has max_per_source 1, an allow
 * list and inherits the global deny list; "open" empties the deny list
 * and has no limits.  Each service refuses and counts on its own.
 */
START_TEST(test_service_config)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	const char *conf;
	const char *args[] = { "-m", model, "-c", NULL, NULL };
	bool conc = !h_model_serial(model);
	struct srv s;
	int lim, open_, a, b, c, i;
	int fds[3];
	enum h_outcome o;

	H_ASSERT(dir != NULL, "tmpdir");
	conf = h_write_conf(dir,
	    "deny = {\"127.0.0.3\"}\n"
	    "service \"limited\" {\n"
	    "  listen = {\"127.0.0.1:0\"}\n"
	    "  handler = \"echo\"\n"
	    "  allow = {\"127.0.0.0/30\"}\n"
	    "  max_per_source = 1\n"
	    "}\n"
	    "service \"open\" {\n"
	    "  listen = {\"127.0.0.1:0\"}\n"
	    "  handler = \"echo\"\n"
	    "  deny = {}\n"
	    "}\n");
	args[3] = conf;
	H_ASSERT(srv_start_n(&s, args, 2) == 0, "%s: server did not start", model);
	lim = srv_port(&s, srv_find(&s, "limited"));
	open_ = srv_port(&s, srv_find(&s, "open"));
	H_ASSERT(lim > 0 && open_ > 0, "%s: services not found", model);

	EXPECT(model, "127.0.0.5", "127.0.0.1", lim, H_REFUSED); /* allow */
	EXPECT(model, "127.0.0.3", "127.0.0.1", lim, H_REFUSED); /* deny */
	EXPECT(model, "127.0.0.5", "127.0.0.1", open_, H_SERVED);
	EXPECT(model, "127.0.0.3", "127.0.0.1", open_, H_SERVED);
	if (conc) {
		o = open_from("127.0.0.1", "127.0.0.1", lim, &a);
		H_ASSERT(o == H_SERVED, "%s: limited: first connection %s", model,
		    h_outcome_name(o));
		o = open_from("127.0.0.1", "127.0.0.1", lim, &b);
		H_ASSERT(o == H_REFUSED,
		    "%s: limited: second connection from "
		    "127.0.0.1 %s, want refused",
		    model, h_outcome_name(o));
		close(b);
		o = open_from("127.0.0.2", "127.0.0.1", lim, &c);
		H_ASSERT(o == H_SERVED, "%s: limited: 127.0.0.2 %s", model, h_outcome_name(o));
		/* No limit on the other service. */
		for (i = 0; i < 3; i++) {
			o = open_from("127.0.0.1", "127.0.0.1", open_, &fds[i]);
			H_ASSERT(o == H_SERVED,
			    "%s: open: connection %d from "
			    "127.0.0.1 %s",
			    model, i + 1, h_outcome_name(o));
		}
		for (i = 0; i < 3; i++)
			close(fds[i]);
		close(a);
		close(c);
	} else {
		EXPECT(model, "127.0.0.1", "127.0.0.1", lim, H_SERVED);
		EXPECT(model, "127.0.0.1", "127.0.0.1", lim, H_SERVED);
	}
	H_EXPECT_STATUS(&s, model, "limited", "denied", 2);
	H_EXPECT_STATUS(&s, model, "limited", "per_source", conc ? 1 : 0);
	H_EXPECT_STATUS(&s, model, "open", "denied", 0);
	H_EXPECT_STATUS(&s, model, "open", "per_source", 0);
	H_EXPECT_STATUS(&s, model, "open", "total", conc ? 5 : 2);
	H_STOP_OK(&s, model);
}
END_TEST

/* The permission bits of path, or -1. */
static int
perms(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1 || !S_ISSOCK(st.st_mode))
		return -1;
	return (int)(st.st_mode & 07777);
}

/*
 * mode = "0600" on a unix listener gives the socket file mode 0600, and
 * "0660" gives 0660 also under umask 077; a service without mode takes
 * the global one.  Unix clients are never refused, even with deny lists
 * that cover every address and limits of one.
 */
START_TEST(test_unix_mode)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	char text[2048];
	const char *conf, *p, *g, *o;
	const char *args[] = { "-m", model, "-c", NULL, NULL };
	struct srv s;
	int fds[3], i, n;

	H_ASSERT(dir != NULL, "tmpdir");
	p = h_path(dir, "p.sock");
	g = h_path(dir, "g.sock");
	o = h_path(dir, "o.sock");
	snprintf(text, sizeof text,
	    "mode = \"0604\"\n"
	    "service \"private\" {\n"
	    "  listen = {\"unix:%s\"}\n"
	    "  handler = \"echo\"\n"
	    "  mode = \"0600\"\n"
	    "  deny = {\"0.0.0.0/0\", \"::/0\"}\n"
	    "  max_per_source = 1\n"
	    "  rate_limit = 1\n"
	    "}\n"
	    "service \"group\" {\n"
	    "  listen = {\"unix:%s\"}\n"
	    "  handler = \"echo\"\n"
	    "  mode = \"0660\"\n"
	    "}\n"
	    "service \"other\" {\n"
	    "  listen = {\"unix:%s\"}\n"
	    "  handler = \"echo\"\n"
	    "}\n",
	    p, g, o);
	conf = h_write_conf(dir, text);
	args[3] = conf;
	umask(077); /* the server inherits it: the modes must not */
	H_ASSERT(srv_start_n(&s, args, 3) == 0, "%s: server did not start", model);
	H_ASSERT(perms(p) == 0600, "%s: %s has mode %o, want 600", model, p, perms(p));
	H_ASSERT(perms(g) == 0660, "%s: %s has mode %o, want 660", model, g, perms(g));
	H_ASSERT(perms(o) == 0604, "%s: %s has mode %o, want 604 (global)", model, o, perms(o));

	n = h_model_serial(model) ? 1 : 3;
	for (int round = 0; round < (h_model_serial(model) ? 3 : 1); round++) {
		for (i = 0; i < n; i++) {
			fds[i] = cli_connect_unix(p, D);
			H_ASSERT(fds[i] >= 0, "%s: connect %s: %s", model, p, H_ERR);
			H_ASSERT(cli_probe(fds[i]) == H_SERVED, "%s: unix client %d not served",
			    model, i + 1);
		}
		for (i = 0; i < n; i++)
			close(fds[i]);
	}
	H_EXPECT_STATUS(&s, model, "private", "total", 3);
	H_EXPECT_STATUS(&s, model, "private", "denied", 0);
	H_EXPECT_STATUS(&s, model, "private", "per_source", 0);
	H_EXPECT_STATUS(&s, model, "private", "rate_limit", 0);
	H_STOP_OK(&s, model);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("access");

	h_tcase_models_n(su, "rules", 30, test_rules, (int)NELEM(rules_cases));
	h_tcase_models(su, "per_source", 30, test_per_source);
	h_tcase_models(su, "rate_limit", 30, test_rate_limit);
	h_tcase_models(su, "service_config", 30, test_service_config);
	h_tcase_models(su, "unix_mode", 30, test_unix_mode);
	return h_run_suite(su);
}
