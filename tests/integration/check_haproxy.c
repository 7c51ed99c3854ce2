/* check_haproxy.c - the shipped conf/haproxy.cfg with the real haproxy in front of two dispatchd instances (PROXY protocol v2): the client's address in the records, access rules through the proxy, an instance killed mid-stream under ack with the client resending. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define D H_DEADLINE_MS

/* Lines the killed-instance test sends, and how many may wait for their OK. */
#define NLINES 400
#define WINDOW 8
/* The instance is killed once this many lines were acknowledged. */
#define KILL_AT 100

/* One dispatchd instance: a logger (ack) and the echo the health check uses. */
struct inst {
	struct srv s;
	int log_port;
	int check_port;
	char out[512]; /* the logger's output file */
};

/* conf/haproxy.cfg, where make check runs (the top of the tree), unless told. */
static const char *
haproxy_cfg(void)
{
	const char *p = getenv("DISPATCHD_HAPROXY_CFG");

	return p != NULL && *p != '\0' ? p : "conf/haproxy.cfg";
}

/* True when the haproxy program is there (Debian package haproxy). */
static bool
have_haproxy(void)
{
	const char *const argv[] = { "haproxy", "-v", NULL };

	return h_runs(argv);
}

static void
inst_start(struct inst *in, const char *model, int k)
{
	char text[1024], name[32];
	const char *conf;

	snprintf(in->out, sizeof(in->out), "%s",
	    h_path(h_tmpdir(), k == 1 ? "out1.log" : "out2.log"));
	snprintf(text, sizeof(text),
	    "proxy_protocol = \"v2\"\n"
	    "proxy_from = {\"127.0.0.1/32\"}\n"
	    "deny = {\"127.0.0.3/32\"}\n"
	    "service log {\n"
	    "  handler = \"logger\"\n"
	    "  listen = {\"127.0.0.1:0\"}\n"
	    "  output = \"%s\"\n"
	    "  ack = true\n"
	    "}\n"
	    "service health {\n"
	    "  handler = \"echo\"\n"
	    "  listen = {\"127.0.0.1:0\"}\n"
	    "}\n",
	    in->out);
	snprintf(name, sizeof(name), "inst%d.conf", k);
	conf = h_path(h_tmpdir(), name);
	H_ASSERT(h_write_file(conf, text) == 0, "%s: write %s", model, conf);
	const char *const args[] = { "-m", model, "-c", conf, NULL };
	H_ASSERT(srv_start_n(&in->s, args, 2) == 0, "%s: instance %d did not start", model, k);
	in->log_port = srv_port(&in->s, srv_find(&in->s, "log"));
	in->check_port = srv_port(&in->s, srv_find(&in->s, "health"));
	H_ASSERT(in->log_port > 0 && in->check_port > 0, "%s: instance %d's ports", model, k);
}

/* True once a connection to port succeeds. */
static bool
accepting(void *arg)
{
	int fd = cli_connect(*(int *)arg);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * haproxy -f conf/haproxy.cfg in front of a and b, its addresses from the
 * environment the file reads; the port clients use.  A port that was free
 * a moment ago may be taken meanwhile: tried again.
 */
static int
lb_start(struct srv *h, const char *model, struct inst *a, struct inst *b)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		char env[5][64];
		int port = h_free_port();

		H_ASSERT(port > 0, "%s: a free port", model);
		snprintf(env[0], sizeof(env[0]), "DISPATCHD_LB=127.0.0.1:%d", port);
		snprintf(env[1], sizeof(env[1]), "DISPATCHD_1=127.0.0.1:%d", a->log_port);
		snprintf(env[2], sizeof(env[2]), "DISPATCHD_1_CHECK=%d", a->check_port);
		snprintf(env[3], sizeof(env[3]), "DISPATCHD_2=127.0.0.1:%d", b->log_port);
		snprintf(env[4], sizeof(env[4]), "DISPATCHD_2_CHECK=%d", b->check_port);
		const char *const envp[] = { env[0], env[1], env[2], env[3], env[4], NULL };
		/* -db: in the foreground, its messages on stderr. */
		const char *const argv[] = { "haproxy", "-db", "-f", haproxy_cfg(), NULL };

		H_ASSERT(srv_spawn_cmd(h, argv, envp, NULL) == 0, "%s: spawn haproxy", model);
		if (h_wait_for(accepting, &port, D))
			return port;
		srv_stop(h, SIGKILL, D);
		srv_free(h);
	}
	H_ASSERT(false, "%s: haproxy never accepted", model);
	return -1;
}

/* Both outputs, concatenated (each record is one line). */
static char *
outputs(struct inst *in)
{
	struct hbuf b = { 0 };

	for (int k = 0; k < 2; k++) {
		size_t n = 0;
		char *p = h_read_file(in[k].out, &n);

		if (p != NULL)
			hbuf_add(&b, p, n);
		free(p);
	}
	hbuf_add(&b, "", 1);
	return b.p;
}

/*
 * Through haproxy, a client from 127.0.0.2 is recorded as itself (address
 * and port), with its connected and disconnected records; one from
 * 127.0.0.3, which the instances deny, is cut off unrecorded and counted.
 */
START_TEST(test_peer_and_deny)
{
	const char *model = h_conc_model(_i);
	const char *other = h_conc_model((_i + 1) % h_nconc_models());
	struct inst in[2];
	struct srv h;
	char line[64], want[128], *all;
	int lb, fd, port;
	long denied = 0;

	if (!have_haproxy()) {
		fprintf(stderr, "%s: haproxy missing (Debian package haproxy), skipped\n", model);
		return;
	}
	inst_start(&in[0], model, 1);
	inst_start(&in[1], other, 2);
	lb = lb_start(&h, model, &in[0], &in[1]);

	fd = cli_connect_from("127.0.0.2", "127.0.0.1", lb, D);
	H_ASSERT(fd >= 0, "%s: connect through haproxy: %s", model, H_ERR);
	port = cli_local_port(fd);
	H_ASSERT(cli_send(fd, "through the proxy\n") == 0, "%s: send", model);
	H_ASSERT(cli_read_line(fd, line, sizeof(line), D) == 3 && strcmp(line, "OK\n") == 0,
	    "%s: no OK through haproxy (%s)", model, H_ERR);
	close(fd);
	snprintf(want, sizeof(want), " 127.0.0.2:%d: through the proxy\n", port);
	all = outputs(in);
	H_ASSERT(h_count(all, want) == 1, "%s+%s: want one record '%s', have:\n%s", model, other,
	    want, all);
	snprintf(want, sizeof(want), " 127.0.0.2:%d connected\n", port);
	H_ASSERT(h_count(all, want) == 1, "%s: no connected record of 127.0.0.2:%d", model, port);
	free(all);

	/* Denied by the header's source, though haproxy (trusted) connects. */
	fd = cli_connect_from("127.0.0.3", "127.0.0.1", lb, D);
	H_ASSERT(fd >= 0, "%s: connect through haproxy: %s", model, H_ERR);
	cli_send(fd, "denied line\n");
	H_ASSERT(cli_wait_closed(fd, D), "%s: a denied client through haproxy was not cut off",
	    model);
	close(fd);
	for (long long end = h_now_ms() + D; denied < 1 && h_now_ms() < end;) {
		denied = 0;
		for (int k = 0; k < 2; k++) {
			long n = srv_status_num(&in[k].s, "log", "denied");
			denied += n > 0 ? n : 0;
		}
	}
	H_ASSERT(denied == 1, "%s: denied %ld, want 1", model, denied);
	all = outputs(in);
	H_ASSERT(strstr(all, "127.0.0.3") == NULL, "%s: the denied client was recorded:\n%s", model,
	    all);
	free(all);

	srv_stop(&h, SIGTERM, D);
	srv_stop(&in[0].s, SIGTERM, D);
	srv_stop(&in[1].s, SIGTERM, D);
	srv_free(&h);
	srv_free(&in[0].s);
	srv_free(&in[1].s);
}
END_TEST

/* The client of the killed-instance test. */
struct sender {
	int fd;
	int next;  /* the next line never sent */
	int acked; /* lines acknowledged: acks come in order */
	int sends[NLINES];
};

static void
send_line(const char *model, struct sender *c, int i)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "line-%04d\n", i);

	c->sends[i]++;
	/* A write into a connection haproxy is closing fails: the OK will
	 * not come, and the line is sent again on the next connection. */
	(void)cli_write_all(c->fd, line, (size_t)n, D);
	(void)model;
}

/* A new connection through haproxy; the unacknowledged lines sent again. */
static void
reconnect(const char *model, struct sender *c, int lb)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = cli_connect_from("127.0.0.4", "127.0.0.1", lb, D);
	H_ASSERT(c->fd >= 0, "%s: reconnect through haproxy: %s", model, H_ERR);
	for (int i = c->acked; i < c->next; i++)
		send_line(model, c, i);
}

/* The instance whose output holds line-0000: the one serving the client. */
static int
serving(struct inst *in)
{
	for (int k = 0; k < 2; k++) {
		size_t n = 0;
		char *p = h_read_file(in[k].out, &n);
		bool has = p != NULL && strstr(p, ": line-0000\n") != NULL;

		free(p);
		if (has)
			return k;
	}
	return -1;
}

/*
 * ack under fire: a client keeps WINDOW lines waiting for their OK; once
 * KILL_AT are acknowledged, the instance serving it is killed (SIGKILL);
 * the client reconnects through haproxy, which sends it to the other
 * instance, and sends again what was not acknowledged.  Then every line
 * is on disk, each at most once per instance; a line sent once (its OK
 * came on the first try) exactly once in all.  A line written by the
 * killed instance whose OK was lost with it is written again by the
 * other: what ack promises is "written", not "written once".
 */
START_TEST(test_kill_one)
{
	const char *model = h_conc_model(_i);
	const char *other = h_conc_model((_i + 1) % h_nconc_models());
	struct inst in[2];
	struct sender *c = calloc(1, sizeof(*c));
	struct srv h;
	int lb, victim = -1, reconnects = 0, twice = 0;
	long long end;
	char *files[2];

	H_ASSERT(c != NULL, "calloc");
	if (!have_haproxy()) {
		fprintf(stderr, "%s: haproxy missing (Debian package haproxy), skipped\n", model);
		free(c);
		return;
	}
	inst_start(&in[0], model, 1);
	inst_start(&in[1], other, 2);
	lb = lb_start(&h, model, &in[0], &in[1]);
	c->fd = -1;
	reconnect(model, c, lb);
	end = h_now_ms() + 6 * D;
	while (c->acked < NLINES) {
		char ok[16];

		H_ASSERT(h_now_ms() < end, "%s: %d of %d lines acknowledged, %d reconnects", model,
		    c->acked, NLINES, reconnects);
		while (c->next < NLINES && c->next - c->acked < WINDOW)
			send_line(model, c, c->next++);
		if (cli_read_line(c->fd, ok, sizeof(ok), D) == 3 && strcmp(ok, "OK\n") == 0) {
			c->acked++;
		} else {
			reconnects++;
			reconnect(model, c, lb);
			continue;
		}
		if (c->acked == KILL_AT && victim < 0) {
			victim = serving(in);
			H_ASSERT(victim >= 0, "%s: line-0000 is in no output", model);
			/* The whole instance, as a service manager kills its
			 * cgroup: a fork model's children serve on without
			 * their parent. */
			pid_t kids[64];
			int nk = h_proc_children(in[victim].s.pid, kids, 64);

			kill(in[victim].s.pid, SIGKILL);
			for (int j = 0; j < nk; j++)
				kill(kids[j], SIGKILL);
			H_ASSERT(srv_wait(&in[victim].s, D) == 128 + SIGKILL, "%s: kill", model);
		}
	}
	close(c->fd);
	H_ASSERT(victim >= 0 && reconnects >= 1,
	    "%s: the instance was not killed mid-stream (victim %d, %d reconnects)", model, victim,
	    reconnects);

	for (int k = 0; k < 2; k++) {
		size_t n = 0;

		files[k] = h_read_file(in[k].out, &n);
		H_ASSERT(files[k] != NULL, "%s: read %s", model, in[k].out);
	}
	for (int i = 0; i < NLINES; i++) {
		char rec[40];
		size_t n[2];

		snprintf(rec, sizeof(rec), ": line-%04d\n", i);
		for (int k = 0; k < 2; k++)
			n[k] = h_count(files[k], rec);
		H_ASSERT(n[0] <= 1 && n[1] <= 1,
		    "%s+%s: line-%04d written %zu and %zu times by the instances", model, other, i,
		    n[0], n[1]);
		H_ASSERT(n[0] + n[1] >= 1, "%s+%s: acknowledged line-%04d is on no disk", model,
		    other, i);
		H_ASSERT(c->sends[i] > 1 || n[0] + n[1] == 1,
		    "%s+%s: line-%04d, sent once, written %zu times", model, other, i, n[0] + n[1]);
		twice += n[0] + n[1] == 2;
	}
	/* Every line's record names the client, not the proxy (lb_start's
	 * probe, a client from 127.0.0.1, has its own records). */
	for (int k = 0; k < 2; k++)
		for (const char *l = files[k]; *l != '\0' && strchr(l, '\n') != NULL;
		     l = strchr(l, '\n') + 1) {
			const char *sp = strchr(l, ' ');
			const char *rec = strstr(l, ": line-");

			if (rec == NULL || rec > strchr(l, '\n'))
				continue;
			H_ASSERT(sp != NULL && strncmp(sp, " 127.0.0.4:", 11) == 0,
			    "%s: a record that does not name the client: %.60s", model, l);
		}
	if (h_verbose())
		fprintf(stderr,
		    "%s+%s: %d lines, killed instance %d after %d, %d reconnects, %d "
		    "written by both\n",
		    model, other, NLINES, victim + 1, KILL_AT, reconnects, twice);
	free(files[0]);
	free(files[1]);
	free(c);
	srv_stop(&h, SIGTERM, D);
	srv_stop(&in[1 - victim].s, SIGTERM, D);
	srv_free(&h);
	srv_free(&in[0].s);
	srv_free(&in[1].s);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("haproxy");

	h_tcase_conc_models(su, "peer_and_deny", 60, test_peer_and_deny);
	h_tcase_conc_models(su, "kill_one", 90, test_kill_one);
	return h_run_suite(su);
}
