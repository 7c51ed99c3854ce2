/* workers.c - workers = N: N processes, each running the model's loop on the same listeners; the first process supervises them. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "access.h"
#include "admit.h"
#include "conf.h"
#include "log.h"
#include "model.h"
#include "net.h"
#include "sig.h"
#include "stats.h"
#include "workers.h"

/* A worker that dies this soon after it started is restarted only after
 * this long: a worker that cannot run must not become a fork loop. */
#define RESTART_GAP_MS 1000

struct worker {
	pid_t pid;       /* 0: not running */
	long long start; /* when it was started (sig_now_ms) */
	int status;      /* how it ended (wait status), once it did */
};

static struct worker *ws;
static long nws;
static bool stopping;

/*
 * Shared with the workers (admit_share): the open connections of all of
 * them, for max_clients, then each worker's own per service, nsvcs each.
 */
static atomic_long *total;
static atomic_long *own;
static size_t nsvcs;

static void
worker_main(struct config *cf, long i, pid_t parent)
{
	int status;

	/*
	 * A child's own self-pipe; a stop signal that the terminal sends the
	 * whole group and the one the supervisor forwards count once, and
	 * SIGUSR2 from the supervisor cuts now.  SIGUSR1 is the
	 * supervisor's: one status line for the whole set.
	 */
	if (sig_child_setup() < 0) {
		log_warn("worker %ld: signals", i);
		_exit(1);
	}
	/* A supervisor killed outright takes its workers along: they drain
	 * as after SIGTERM (a service manager kills the group anyway). */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(1);
	admit_share(total, own + (size_t)i * nsvcs, cf->svcs);
	status = cf->model->run(cf);
	/* exit, not _exit: the handlers' outputs are closed as at any end. */
	exit(status);
}

static int
spawn(struct config *cf, long i)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0) {
		log_warn("worker %ld: cannot fork", i);
		return -1;
	}
	if (pid == 0)
		worker_main(cf, i, parent);
	ws[i].pid = pid;
	ws[i].start = sig_now_ms();
	log_debug("worker %ld: pid %ld", i, (long)pid);
	return 0;
}

/*
 * A worker ended while serving: the connections it held went with it.
 * Their places in max_clients and in the services' open counts are
 * taken back; the per-source counts of a service it held connections of
 * are forgotten (whose they were is not known here: lenient for a while
 * rather than a source locked out for good).  How many it held.
 */
static long
take_back(struct config *cf, long i)
{
	long held = 0;

	for (size_t s = 0; s < nsvcs; s++) {
		long n = atomic_exchange(&own[(size_t)i * nsvcs + s], 0);

		if (n > 0) {
			stats_sub(&cf->svcs[s].stats->conns_now, (unsigned long long)n);
			atomic_fetch_sub(total, n);
			held += n;
			/* Its per-source counts cannot be told from the others'. */
			access_forget(&cf->svcs[s]);
		}
	}
	return held;
}

static struct config *rcf; /* for reap(), a model_set_reaper hook */

/* SIGCHLD: the workers that ended, marked; a stray child is reaped too. */
static void
reap(void)
{
	pid_t pid;
	int st;

	sig_chld = 0;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (long i = 0; i < nws; i++) {
			if (ws[i].pid != pid)
				continue;
			long held = take_back(rcf, i);

			ws[i].pid = 0;
			/* The set's exit status is how the workers running at
			 * the stop ended; one that died before was warned about. */
			ws[i].status = stopping ? st : 0;
			if (stopping && WIFEXITED(st))
				continue;
			if (WIFSIGNALED(st))
				log_warnx(
				    "worker %ld (pid %ld) killed by signal %d, %ld connection%s "
				    "lost%s",
				    i, (long)pid, WTERMSIG(st), held, held == 1 ? "" : "s",
				    stopping ? "" : "; starting another");
			else
				log_warnx(
				    "worker %ld (pid %ld) exited with %d, %ld connection%s lost%s",
				    i, (long)pid, WEXITSTATUS(st), held, held == 1 ? "" : "s",
				    stopping ? "" : "; starting another");
		}
	}
}

static void
signal_all(int signo)
{
	for (long i = 0; i < nws; i++)
		if (ws[i].pid > 0 && kill(ws[i].pid, signo) < 0 && errno != ESRCH)
			log_warn("worker %ld: kill", i);
}

static long
running(void)
{
	long n = 0;

	for (long i = 0; i < nws; i++)
		n += ws[i].pid > 0;
	return n;
}

/*
 * Starts the workers that are not running (while serving), the soonest
 * RESTART_GAP_MS after the last start of each; returns how long to wait
 * until the next one is due (ms), or -1 when none is.
 */
static int
restart(struct config *cf)
{
	long long now = sig_now_ms(), due = -1;

	for (long i = 0; i < nws && !stopping; i++) {
		if (ws[i].pid > 0)
			continue;
		if (now - ws[i].start >= RESTART_GAP_MS) {
			if (spawn(cf, i) == 0)
				continue;
			ws[i].start = now; /* try again after the gap */
		}
		long long d = ws[i].start + RESTART_GAP_MS - now;
		if (due < 0 || d < due)
			due = d;
	}
	return due < 0 ? -1 : (int)(due > 0 ? due : 1);
}

int
workers_run(struct config *cf)
{
	int stops = 0, status = 0, wait_ms;

	if (cf->workers <= 1)
		return cf->model->run(cf);
	nws = cf->workers;
	nsvcs = cf->nsvcs;
	rcf = cf;
	ws = calloc((size_t)nws, sizeof(*ws));
	/* Zero-filled: every count starts at 0. */
	total = mmap(NULL, (1 + (size_t)nws * nsvcs) * sizeof(*total), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ws == NULL || total == MAP_FAILED) {
		log_warn("workers");
		free(ws);
		return 1;
	}
	own = total + 1;
	admit_share(total, NULL, cf->svcs);
	model_set_reaper(reap);
	for (long i = 0; i < nws; i++)
		if (spawn(cf, i) < 0) {
			stopping = true;
			signal_all(SIGTERM);
			status = 1;
			break;
		}
	if (status == 0)
		log_info("%ld workers (%s), one per process, on the same listeners", nws,
		    cf->model->name);
	wait_ms = -1;
	for (;;) {
		struct pollfd p = { .fd = sig_fd(), .events = POLLIN };
		bool hup;

		if (poll(&p, 1, wait_ms) < 0 && errno != EINTR) {
			log_warn("poll");
			status = 1;
		}
		/* Forwarded first, so that once this process says it reopened
		 * its outputs, every worker has the signal too. */
		hup = sig_hup;
		if (hup)
			signal_all(SIGHUP);
		/* Reaps (reap), reopens our outputs on SIGHUP, and SIGUSR1's
		 * status line covers every worker: the counters are shared. */
		int n = model_signals(cf);
		if (n > stops) {
			stops = n;
			if (!stopping) {
				stopping = true;
				/* The workers close their copies: no new connection
				 * reaches any of them, unix socket files go now. */
				net_close_all(cf);
				log_info("shutting down: %ld workers drain their connections",
				    running());
			}
			signal_all(stops == 1 ? SIGTERM : SIGUSR2);
		}
		if (stopping && running() == 0)
			break;
		wait_ms = restart(cf);
	}
	for (long i = 0; i < nws; i++)
		if (!WIFEXITED(ws[i].status) || WEXITSTATUS(ws[i].status) != 0)
			status = 1;
	model_set_reaper(NULL);
	free(ws);
	ws = NULL;
	return status;
}
