/* check_workers.c - workers = N under every model that has it: one server made of N processes (max_clients a total, one status line, SIGHUP in every worker, drain, a killed worker replaced, workers gone with their supervisor). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define D        H_DEADLINE_MS
#define NWORKERS 2

/* The model of loop test i, or NULL when that model has no workers. */
static const char *
worker_model(int i)
{
	const char *m = h_model(i);

	if (!h_model_workers(m)) {
		if (h_verbose())
			fprintf(stderr, "%s: no workers, skipped\n", m);
		return NULL;
	}
	return m;
}

/* The worker processes of s, waited for until there are n (h_wait_for). */
struct kids {
	struct srv *s;
	int n;
	pid_t pid[16];
	int got;
};

static bool
has_kids(void *arg)
{
	struct kids *k = arg;

	k->got = h_proc_children(k->s->pid, k->pid, 16);
	return k->got == k->n;
}

static void
expect_kids(struct kids *k, struct srv *s, int n, const char *model)
{
	k->s = s;
	k->n = n;
	H_ASSERT(h_wait_for(has_kids, k, D), "%s: %d worker processes, want %d", model, k->got, n);
}

/* Processes the server left behind that still run (the exited ones are
 * reaped here: we are their subreaper). */
static int
left_running(void)
{
	pid_t left[16];
	int n = h_orphans(left, 16), running = 0;

	for (int i = 0; i < n; i++)
		running += waitpid(left[i], NULL, WNOHANG) == 0;
	return running;
}

static void
start(struct srv *s, const char *model, const char *extra[], const char *conf)
{
	const char *args[16] = { "-m", model, "--workers", "2" };
	int n = 4;

	for (int i = 0; extra != NULL && extra[i] != NULL; i++)
		args[n++] = extra[i];
	if (conf != NULL) {
		args[n++] = "-c";
		args[n++] = conf;
	}
	args[n] = NULL;
	H_ASSERT((conf != NULL ? srv_start_n(s, args, 1) : srv_start(s, args)) == 0,
	    "%s: --workers 2 did not start", model);
}

/*
 * Many clients, at once and one after another, are all served; the
 * status line (SIGUSR1 to the supervisor) counts every one of them once,
 * whichever worker served it; max_clients is a total: with 3, three held
 * connections (across the workers) make the fourth refused, counted once,
 * and closing one makes room again.
 */
START_TEST(test_serve_and_count)
{
	const char *model = worker_model(_i);
	const char *extra[] = { "-l", "127.0.0.1:0", "--max-clients", "3", NULL };
	struct srv s;
	struct kids k;
	int fd[3], port;

	if (model == NULL)
		return;
	start(&s, model, extra, NULL);
	expect_kids(&k, &s, NWORKERS, model);
	port = srv_port(&s, 0);
	for (int i = 0; i < 40; i++) {
		int c = cli_connect(port);
		H_ASSERT(c >= 0 && cli_echo_ok(c, "one of many\n"), "%s: client %d not served",
		    model, i);
		close(c);
	}
	H_EXPECT_STATUS(&s, model, "echo", "total", 40);
	H_EXPECT_STATUS(&s, model, "echo", "now", 0);
	for (int i = 0; i < 3; i++) {
		fd[i] = cli_connect(port);
		H_ASSERT(fd[i] >= 0 && cli_echo_ok(fd[i], "held\n"), "%s: held client %d", model,
		    i);
	}
	H_EXPECT_STATUS(&s, model, "echo", "now", 3);
	{
		int c = cli_connect(port);
		enum h_outcome o = c >= 0 ? cli_probe(c) : H_NOCONN;

		H_ASSERT(o == H_REFUSED, "%s: a 4th connection over max_clients 3 was %s", model,
		    h_outcome_name(o));
		if (c >= 0)
			close(c);
	}
	H_EXPECT_STATUS(&s, model, "echo", "max_clients", 1);
	close(fd[0]);
	H_EXPECT_STATUS(&s, model, "echo", "now", 2);
	fd[0] = cli_connect(port);
	H_ASSERT(fd[0] >= 0 && cli_echo_ok(fd[0], "room again\n"), "%s: no room after a close",
	    model);
	for (int i = 0; i < 3; i++)
		close(fd[i]);
	H_STOP_OK(&s, model);
}
END_TEST

/* True once the file at arg holds 20 "line N" records. */
static bool
twenty_lines(void *arg)
{
	size_t n = 0;
	char *p = h_read_file(arg, &n);
	bool ok = p != NULL && h_count(p, ": line ") == 20;

	free(p);
	return ok;
}

/*
 * SIGHUP to the supervisor reopens the logger output in every worker:
 * after the file is moved away, twenty connections (spread over the
 * workers) all write to the new file, none to the moved one.
 */
START_TEST(test_hup_every_worker)
{
	const char *model = worker_model(_i);
	const char *dir = h_tmpdir();
	char text[1024], moved[512], out[512];
	struct srv s;
	struct kids k;
	int port;

	if (model == NULL)
		return;
	snprintf(out, sizeof(out), "%s", h_path(dir, "out.log"));
	snprintf(moved, sizeof(moved), "%s", h_path(dir, "out.log.1"));
	snprintf(text, sizeof(text),
	    "service log { handler = \"logger\" listen = {\"127.0.0.1:0\"} output = \"%s\" }\n",
	    out);
	H_ASSERT(h_write_file(h_path(dir, "w.conf"), text) == 0, "write w.conf");
	start(&s, model, NULL, h_path(dir, "w.conf"));
	expect_kids(&k, &s, NWORKERS, model);
	port = srv_port(&s, 0);
	H_ASSERT(rename(out, moved) == 0, "rename");
	kill(s.pid, SIGHUP);
	/* The supervisor's own reopen shows it took the signal; the workers
	 * had it forwarded before that line. */
	for (long long end = h_now_ms() + D;
	     h_count(srv_log(&s), "reopening outputs") < 1 && h_now_ms() < end;)
		h_nap(10);
	/* Each worker reopens when it wakes: a connection it takes wakes it
	 * and it acts on the signal first. */
	for (int i = 0; i < 20; i++) {
		char line[32];
		int c = cli_connect(port);

		snprintf(line, sizeof(line), "line %d\n", i);
		H_ASSERT(c >= 0 && cli_send(c, line) == 0, "%s: client %d", model, i);
		close(c);
	}
	H_ASSERT(h_wait_for(twenty_lines, out, D), "%s: not every line in the reopened file",
	    model);
	{
		size_t n = 0;
		char *p = h_read_file(moved, &n);

		H_ASSERT(p != NULL && strstr(p, ": line ") == NULL,
		    "%s: a worker wrote to the moved file after SIGHUP", model);
		free(p);
	}
	H_STOP_OK(&s, model);
}
END_TEST

/*
 * A worker killed outright is replaced (with a warning naming the
 * connections it took along) and the server serves on, its open count
 * right again; SIGTERM drains an open connection in a worker before the
 * set exits 0; killing the supervisor outright takes the workers along.
 */
START_TEST(test_lifecycle)
{
	const char *model = worker_model(_i);
	const char *extra[] = { "-l", "127.0.0.1:0", NULL };
	struct srv s;
	struct kids k, k2;
	int port, c;

	if (model == NULL)
		return;
	start(&s, model, extra, NULL);
	expect_kids(&k, &s, NWORKERS, model);
	port = srv_port(&s, 0);
	c = cli_connect(port);
	H_ASSERT(c >= 0 && cli_echo_ok(c, "before\n"), "%s: not served", model);
	close(c);
	H_EXPECT_STATUS(&s, model, "echo", "now", 0);
	kill(k.pid[0], SIGKILL);
	for (long long end = h_now_ms() + D;
	     h_count(srv_log(&s), "killed by signal 9") < 1 && h_now_ms() < end;)
		h_nap(10);
	H_ASSERT(strstr(srv_log(&s), "starting another") != NULL, "%s: no warning", model);
	expect_kids(&k2, &s, NWORKERS, model);
	for (int i = 0; i < 10; i++) {
		c = cli_connect(port);
		H_ASSERT(c >= 0 && cli_echo_ok(c, "after\n"), "%s: not served after a kill", model);
		close(c);
	}
	H_EXPECT_STATUS(&s, model, "echo", "now", 0);

	/* Drain: a connection open at SIGTERM is still served. */
	c = cli_connect(port);
	H_ASSERT(c >= 0 && cli_echo_ok(c, "open\n"), "%s: not served", model);
	kill(s.pid, SIGTERM);
	for (long long end = h_now_ms() + D;
	     h_count(srv_log(&s), "drain their connections") < 1 && h_now_ms() < end;)
		h_nap(10);
	H_ASSERT(cli_echo_ok(c, "while draining\n"), "%s: not served while draining", model);
	close(c);
	H_ASSERT(srv_wait(&s, D) == 0, "%s: the set did not exit 0 after SIGTERM", model);
	H_ASSERT(left_running() == 0, "%s: workers left behind", model);
	srv_free(&s);

	/* The supervisor killed outright: its workers stop too. */
	start(&s, model, extra, NULL);
	expect_kids(&k, &s, NWORKERS, model);
	kill(s.pid, SIGKILL);
	srv_wait(&s, D);
	for (long long end = h_now_ms() + D; left_running() > 0 && h_now_ms() < end;)
		h_nap(10);
	H_ASSERT(left_running() == 0, "%s: workers outlived their supervisor", model);
	srv_free(&s);
}
END_TEST

/* workers with a model that serves otherwise: refused, naming the ones that can. */
START_TEST(test_config)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "--workers", "2", "-l", "127.0.0.1:0", "-t", NULL };
	struct srv s;
	int rc = srv_run(&s, args, D);

	if (h_model_workers(model))
		H_ASSERT(rc == 0, "%s: --workers 2 -t: %s", model, srv_log(&s));
	else
		H_ASSERT(rc == 1 && strstr(srv_log(&s), "workers = 2 needs a model") != NULL &&
		        strstr(srv_log(&s), "epoll") != NULL,
		    "%s: --workers 2 -t gave %d: %s", model, rc, srv_log(&s));
	srv_free(&s);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("workers");

	h_tcase_models(su, "serve_and_count", 60, test_serve_and_count);
	h_tcase_models(su, "hup_every_worker", 60, test_hup_every_worker);
	h_tcase_models(su, "lifecycle", 60, test_lifecycle);
	h_tcase_models(su, "config", 30, test_config);
	return h_run_suite(su);
}
