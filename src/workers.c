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
#include "daemon.h"
#include "log.h"
#include "model.h"
#include "net.h"
#include "reload.h"
#include "sig.h"
#include "stats.h"
#include "workers.h"

/* A worker that dies this soon after it started is restarted only after
 * this long: a worker that cannot run must not become a fork loop. */
#define RESTART_GAP_MS 1000

struct worker {
	pid_t pid;            /* 0: not running */
	long long start;      /* when it was started (sig_now_ms) */
	int status;           /* how it ended (wait status), once it did */
	struct config *cf;    /* the configuration it serves */
	atomic_long *own;     /* its counts per service (cf->nsvcs), in its set's mapping */
	atomic_long *set;     /* that mapping (own of its set's first worker) */
	atomic_long *stopped; /* in it: set by the worker once it stopped accepting */
	bool retiring;        /* a reload replaced it: drains, is not restarted */
};

/* A reload's READY=1 waits, at most this long, until the workers it
 * replaced stopped accepting: from then on every new connection gets the
 * new configuration. */
#define RETIRE_WAIT_MS 5000
static long long retire_until; /* 0: no reload waiting */

static struct worker *ws;
static long nws;  /* the current set: workers = N of them */
static long nall; /* entries in ws: the current set, then retiring ones */
static bool stopping;

/*
 * Shared with the workers (admit_share): the open connections of all of
 * them, for max_clients; each set its own mapping of per-worker counts.
 */
static atomic_long *total;

/* Counts per worker of cf: one per service. */
static size_t
per_worker(const struct config *cf)
{
	return cf->nsvcs ? cf->nsvcs : 1;
}

/* A set's mapping: per worker, its counts per service, then its flag. */
static size_t
set_len(const struct config *cf, long n)
{
	return (size_t)n * (per_worker(cf) + 1) * sizeof(atomic_long);
}

/* Worker i of a set of nws for cf, its counts and flag in set. */
static struct worker
set_worker(struct config *cf, atomic_long *set, long i)
{
	return (struct worker){ .cf = cf,
		.own = set + (size_t)i * per_worker(cf),
		.set = set,
		.stopped = set + (size_t)nws * per_worker(cf) + (size_t)i };
}

static void
worker_main(struct worker *w, long i, pid_t parent)
{
	int status;

	/*
	 * A child's own self-pipe; a stop signal that the terminal sends the
	 * whole group and the one the supervisor forwards count once, and
	 * SIGUSR2 from the supervisor cuts now, SIGQUIT retires.  SIGUSR1 is
	 * the supervisor's: one status line for the whole set.
	 */
	if (sig_child_setup() < 0) {
		log_warn("worker %ld: signals", i);
		_exit(1);
	}
	/* A supervisor killed outright takes its workers along: they drain
	 * as after SIGTERM (a service manager kills the group anyway). */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(1);
	reload_here(false); /* the supervisor reloads: it starts new workers */
	model_stopped_flag = w->stopped;
	admit_share(total, w->own, w->cf->svcs);
	status = w->cf->model->run(w->cf);
	/* exit, not _exit: the handlers' outputs are closed as at any end. */
	exit(status);
}

static int
spawn(long i)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0) {
		log_warn("worker %ld: cannot fork", i);
		return -1;
	}
	if (pid == 0)
		worker_main(&ws[i], i, parent);
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
take_back(struct worker *w)
{
	long held = 0;

	for (size_t s = 0; s < w->cf->nsvcs; s++) {
		long n = atomic_exchange(&w->own[s], 0);

		if (n > 0) {
			stats_sub(&w->cf->svcs[s].stats->conns_now, (unsigned long long)n);
			atomic_fetch_sub(total, n);
			held += n;
			/* Its per-source counts cannot be told from the others'. */
			access_forget(&w->cf->svcs[s]);
		}
	}
	return held;
}

/* The mapping of a set's counts: workers of cf, n of them. */
static atomic_long *
set_map(const struct config *cf, long n)
{
	void *p = mmap(NULL, set_len(cf, n), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
	    0);

	return p == MAP_FAILED ? NULL : p;
}

/* A retiring worker ended: its entry goes, and its set's mapping and
 * configuration once no worker of that set is left. */
static void
retired_gone(long i)
{
	struct worker w = ws[i];
	bool last = true;

	ws[i] = ws[--nall];
	for (long k = 0; k < nall; k++)
		last &= ws[k].set != w.set;
	if (last)
		munmap(w.set, set_len(w.cf, nws));
	reload_drop(w.cf, false);
}

/* SIGCHLD: the workers that ended, marked; a stray child is reaped too. */
static void
reap(void)
{
	pid_t pid;
	int st;

	sig_chld = 0;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (long i = 0; i < nall; i++) {
			if (ws[i].pid != pid)
				continue;
			long held = take_back(&ws[i]);

			ws[i].pid = 0;
			if (ws[i].retiring) {
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
					log_warnx(
					    "worker (pid %ld) replaced by a reload ended with %d, "
					    "%ld connection%s lost",
					    (long)pid, st, held, held == 1 ? "" : "s");
				retired_gone(i);
				break;
			}
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
	for (long i = 0; i < nall; i++)
		if (ws[i].pid > 0 && kill(ws[i].pid, signo) < 0 && errno != ESRCH)
			log_warn("worker %ld: kill", i);
}

static long
running(void)
{
	long n = 0;

	for (long i = 0; i < nall; i++)
		n += ws[i].pid > 0;
	return n;
}

/*
 * Starts the workers that are not running (while serving), the soonest
 * RESTART_GAP_MS after the last start of each; returns how long to wait
 * until the next one is due (ms), or -1 when none is.
 */
static int
restart(void)
{
	long long now = sig_now_ms(), due = -1;

	for (long i = 0; i < nws && !stopping; i++) {
		if (ws[i].pid > 0)
			continue;
		if (now - ws[i].start >= RESTART_GAP_MS) {
			if (spawn(i) == 0)
				continue;
			ws[i].start = now; /* try again after the gap */
		}
		long long d = ws[i].start + RESTART_GAP_MS - now;
		if (due < 0 || d < due)
			due = d;
	}
	return due < 0 ? -1 : (int)(due > 0 ? due : 1);
}

/*
 * A reload: a new set of workers for ncf, then the running ones retire
 * (SIGQUIT): they stop accepting and serve the connections they have
 * until these end.  0, or -1 with nothing changed.
 */
static int
replace_set(struct config *old, struct config *ncf)
{
	atomic_long *set = set_map(ncf, nws);
	struct worker *nw = calloc((size_t)(nall + nws), sizeof(*nw));
	long n = 0, cur = nws;

	if (set == NULL || nw == NULL) {
		log_warnx("reload: workers: out of memory; keeping the running configuration");
		if (set != NULL)
			munmap(set, set_len(ncf, nws));
		free(nw);
		return -1;
	}
	/* The running workers keep the configuration they serve alive: held
	 * before it is retired, which frees what nothing holds. */
	for (long i = 0; i < nall; i++)
		if (!ws[i].retiring && ws[i].pid > 0)
			reload_hold(ws[i].cf, false);
	reload_commit(old, ncf, false);
	for (long i = 0; i < nws; i++)
		nw[n++] = set_worker(ncf, set, i);
	for (long i = 0; i < nall; i++)
		if (ws[i].pid > 0)
			nw[n++] = ws[i];
	/* A set none of whose workers runs (all due a restart) is done with. */
	if (nall > 0 && ws[0].set != NULL) {
		bool used = false;

		for (long k = nws; k < n; k++)
			used |= nw[k].set == ws[0].set;
		if (!used)
			munmap(ws[0].set, set_len(ws[0].cf, nws));
	}
	free(ws);
	ws = nw;
	nall = n;
	for (long i = 0; i < nws; i++)
		if (spawn(i) < 0)
			ws[i].start = sig_now_ms(); /* restart() tries again after the gap */
	/* The new ones accept now: the old ones stop. */
	for (long i = cur; i < nall; i++) {
		if (ws[i].retiring)
			continue;
		ws[i].retiring = true;
		if (kill(ws[i].pid, SIGQUIT) < 0 && errno != ESRCH)
			log_warn("worker (pid %ld): kill", (long)ws[i].pid);
	}
	retire_until = sig_now_ms() + RETIRE_WAIT_MS;
	return 0;
}

/*
 * A reload waiting for the replaced workers to stop accepting: once they
 * all have (or died, or the wait is over), the line and READY=1.  How
 * long to wait before looking again (ms), or -1 when nothing waits.
 */
static int
retire_settle(void)
{
	long accepting = 0, replaced = 0;

	if (retire_until == 0)
		return -1;
	for (long i = nws; i < nall; i++) {
		replaced += ws[i].pid > 0;
		accepting += ws[i].pid > 0 && atomic_load(ws[i].stopped) == 0;
	}
	if (accepting > 0 && sig_now_ms() < retire_until)
		return 5;
	if (accepting > 0)
		log_warnx("reload: %ld replaced worker%s still accepting after %d ms", accepting,
		    accepting == 1 ? "" : "s", RETIRE_WAIT_MS);
	log_info("reload: %ld new workers; %ld replaced, serving their connections until these end",
	    nws, replaced);
	notify_send("READY=1");
	retire_until = 0;
	return -1;
}

int
workers_run(struct config *cf)
{
	int stops = 0, status = 0, wait_ms;
	atomic_long *set;

	if (cf->workers <= 1)
		return cf->model->run(cf);
	nws = nall = cf->workers;
	ws = calloc((size_t)nws, sizeof(*ws));
	/* Zero-filled: every count starts at 0. */
	total = mmap(NULL, sizeof(*total), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
	    0);
	set = set_map(cf, nws);
	if (ws == NULL || total == MAP_FAILED || set == NULL || sig_retire_setup() < 0) {
		log_warn("workers");
		free(ws);
		return 1;
	}
	for (long i = 0; i < nws; i++)
		ws[i] = set_worker(cf, set, i);
	admit_share(total, NULL, cf->svcs);
	model_set_reaper(reap);
	for (long i = 0; i < nws; i++)
		if (spawn(i) < 0) {
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
		/* Reaps (reap), reopens our outputs on SIGHUP, reads the
		 * configuration again, and SIGUSR1's status line covers every
		 * worker: the counters are shared. */
		int n = model_signals(cf);
		struct config *ncf = model_reload_pending();
		if (ncf != NULL && (stopping || n > stops || replace_set(cf, ncf) < 0))
			reload_abandon(ncf);
		else if (ncf != NULL)
			cf = ncf;
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
		wait_ms = restart();
		int settle = retire_settle();
		if (settle >= 0 && (wait_ms < 0 || settle < wait_ms))
			wait_ms = settle;
	}
	for (long i = 0; i < nws; i++)
		if (!WIFEXITED(ws[i].status) || WEXITSTATUS(ws[i].status) != 0)
			status = 1;
	model_set_reaper(NULL);
	free(ws);
	ws = NULL;
	return status;
}
