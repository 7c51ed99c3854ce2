/* fork.c - one child process per connection; the parent only accepts and reaps. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __GLIBC__
#include <sys/single_threaded.h>
#endif
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../access.h"
#include "../conf.h"
#include "../conn.h"
#include "../daemon.h"
#include "../handler.h"
#include "../log.h"
#include "../model.h"
#include "../net.h"
#include "../reload.h"
#include "../sig.h"
#include "../stats.h"
#include "blocking.h"

/* The children being served, to count against max_clients, forward
 * signals to, and reap; the parent ends their per-source accounting. */
struct kid {
	pid_t pid;
	bool dgram; /* serving a datagram: no admission to end */
	long slot;  /* its place in sources */
	struct client c;
};
static struct kid *kids;
static long nkids;
static long kids_cap; /* kids and slot_used have room for this many */
/*
 * Shared with the children, one per kid: the PROXY header source a child
 * counted (conn_source_note), which the parent ends when the child did
 * not.  slot_used is the parent's own map of them.
 */
static struct conn_source *sources;
static bool *slot_used;
/*
 * SIGCHLD stays blocked in the parent: a handler's frame, a pipe byte and
 * an interrupted poll for every child cost more than the accept itself.
 * The parent reaps as it counts (kids_count, before every admission), on
 * every signal and at least once a second while children run (the tick).
 * SIGCHLD wakes it only while it waits for a child to end: max_clients
 * reached (datagrams wait for a place) or stopping.
 */
static bool chld_wakes = true; /* as sig_setup leaves it */
static bool stopping;
static long kids_max; /* max_clients as last seen */

static void
chld_wake(void)
{
	bool on = stopping || nkids >= kids_max;
	sigset_t set;

	if (on == chld_wakes)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	/* Unblocked, a SIGCHLD pending meanwhile is delivered at once. */
	if (pthread_sigmask(on ? SIG_UNBLOCK : SIG_BLOCK, &set, NULL) == 0)
		chld_wakes = on;
}

static void
kid_remove(long i)
{
	/* The parent ends it: a child killed mid-connection cannot. */
	if (!kids[i].dgram)
		serve_release(&kids[i].c);
	struct conn_source *s = &sources[kids[i].slot];
	if (atomic_exchange(&s->held, 0))
		access_release(kids[i].c.svc, (const struct sockaddr *)&s->sa, s->salen);
	slot_used[kids[i].slot] = false;
	if (kids[i].dgram)
		reload_drop(kids[i].c.svc->owner, false);
	kids[i] = kids[--nkids];
}

static void
reap(void)
{
	pid_t pid;
	int st;

	sig_chld = 0;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (long i = 0; i < nkids; i++) {
			if (kids[i].pid == pid) {
				kid_remove(i);
				break;
			}
		}
		if (WIFSIGNALED(st))
			log_warnx("child %ld killed by signal %d", (long)pid, WTERMSIG(st));
		else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
			log_warnx("child %ld exited with status %d", (long)pid, WEXITSTATUS(st));
	}
	chld_wake();
}

static long
kids_count(void)
{
	/* A child that exited since the last reap still counts: reap now. */
	reap();
	return nkids;
}

static int
kids_tick_ms(void)
{
	return nkids > 0 ? 1000 : -1;
}

/*
 * Room for cf->max_clients kids (a reload may raise it), in memory the
 * children do not get (model_private_alloc): the parent writes it after
 * every fork, and no child looks at it.  The sources,
 * which children hold pointers into, never move: mapped for the largest
 * max_clients at once (only the pages used are ever backed).  0 or -1.
 */
static int
kids_room(struct config *cf)
{
	kids_max = cf->max_clients;
	if (cf->max_clients <= kids_cap)
		return 0;
	size_t n = (size_t)cf->max_clients, o = (size_t)kids_cap;
	struct kid *k = model_private_resize(kids, o * sizeof(*kids), n * sizeof(*kids));
	if (k == NULL)
		return -1;
	kids = k;
	bool *u = model_private_resize(slot_used, o * sizeof(*slot_used), n * sizeof(*slot_used));
	if (u == NULL) {
		/* Shrinking stays in place: kids_cap stays true of both. */
		kids = model_private_resize(kids, n * sizeof(*kids), o * sizeof(*kids));
		return -1;
	}
	slot_used = u;
	kids_cap = cf->max_clients;
	return 0;
}

/* A free place in sources (there are max_clients: one per kid at most). */
static long
slot_take(struct config *cf)
{
	if (kids_room(cf) < 0)
		return -1;
	for (long k = 0; k < cf->max_clients; k++)
		if (!slot_used[k]) {
			slot_used[k] = true;
			atomic_store(&sources[k].held, 0);
			return k;
		}
	return -1; /* never: nkids < max_clients when a child is made */
}

static void
kids_add(pid_t pid, const struct client *c, bool dgram, long slot)
{
	kids[nkids].pid = pid;
	kids[nkids].dgram = dgram;
	kids[nkids].slot = slot;
	kids[nkids].c = *c;
	nkids++;
	chld_wake();
}

static void
kids_signal(int signo)
{
	for (long i = 0; i < nkids; i++)
		if (kill(kids[i].pid, signo) < 0 && errno != ESRCH)
			log_warn("cannot signal child %ld", (long)kids[i].pid);
}

/* The child: serves the connection c, or the datagram m received on c->ls. */
static void
child(struct config *cf, struct client *c, const struct dgram_msg *m, long slot)
{
	sig_fork_child();
	reload_here(false); /* the parent reloads */
	net_spare_close();
	pidfile_forget();
	if (m != NULL) {
		serve_datagram(c->ls, m); /* answers through the inherited socket */
	} else {
		net_close_all(cf); /* the parent's listeners: never removes their files */
		conn_source_note = &sources[slot];
		serve(cf, c, SERVE_READ); /* the parent's cut is the backstop */
		close(c->fd);
	}
	handler_fini_all(cf->svcs, cf->nsvcs);
	_exit(0); /* closes the signal pipes too */
}

/*
 * fork(2) as the C library does it but for what only a parent with more
 * than one thread needs: glibc's fork then resets its loader's locks and
 * runs the atfork handlers in every child, writes to two pages of the
 * loader's data that each child then copies.  _Fork (glibc 2.34) skips
 * that; this parent has one thread (checked: with another, the full fork).
 */
static pid_t
fork_one(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	if (__libc_single_threaded)
		return _Fork();
#endif
	return fork();
}

/* Forks the child for c (and m); the parent keeps count.  0, or -1. */
static int
spawn(struct config *cf, struct client *c, const struct dgram_msg *m)
{
	long slot = slot_take(cf);
	pid_t pid = slot < 0 ? -1 : fork_one();

	if (pid == 0)
		child(cf, c, m, slot);
	if (pid < 0) {
		if (slot >= 0)
			slot_used[slot] = false;
		log_warn("%s: cannot fork", m != NULL ? c->ls->addr : c->peer.text);
		return -1;
	}
	if (m != NULL)
		reload_hold(c->svc->owner, false); /* as a connection's admission does */
	kids_add(pid, c, m != NULL, slot);
	if (m == NULL)
		close(c->fd);
	return 0;
}

/* Reaps children until none is left or the deadline; false if some are. */
static bool
reap_until(struct config *cf, long long deadline)
{
	struct pollfd pfd = { .fd = sig_fd(), .events = POLLIN };
	int stops = sig_stop;

	for (;;) {
		reap();
		if (nkids == 0)
			return true;
		long long left = deadline - sig_now_ms();
		if (left <= 0 || sig_stop != stops)
			return false;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return false;
		model_signals(cf);
	}
}

/*
 * Stopping: children finish their connections within shutdown_timeout
 * (SIGTERM: they keep their own deadline).  A second stop signal, or the
 * deadline passing, cuts them with SIGUSR2: each still hands what it
 * received to its handler (the logger writes it) and exits.  SIGKILL only
 * for a child that does not manage that within a second.
 */
static void
wait_kids(struct config *cf)
{
	stopping = true;
	chld_wake();
	kids_signal(SIGTERM);
	if (sig_stop < 2 && reap_until(cf, sig_now_ms() + cf->shutdown_timeout * 1000 + 1000))
		return;
	kids_signal(SIGUSR2);
	if (reap_until(cf, sig_now_ms() + 1000))
		return;
	log_warnx("killing %ld child%s still serving", nkids, nkids == 1 ? "" : "ren");
	kids_signal(SIGKILL);
	while (nkids > 0) {
		pid_t pid = waitpid(-1, NULL, 0);
		long i;
		if (pid < 0)
			break;
		for (i = 0; i < nkids && kids[i].pid != pid; i++)
			;
		if (i < nkids)
			kid_remove(i);
	}
}

static int
fork_start(struct config *cf)
{
	sources = mmap(NULL, (size_t)CONF_MAX_CLIENTS_LIMIT * sizeof(*sources),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (kids_room(cf) < 0 || sources == MAP_FAILED) {
		log_err("fork model");
		return -1;
	}
	model_set_reaper(reap);
	stopping = false;
	chld_wake(); /* kids_max is set: blocked */
	return 0;
}

static int
fork_dispatch(struct config *cf, struct client *c)
{
	return spawn(cf, c, NULL);
}

/* One child per datagram (socketserver's ForkingUDPServer): it answers
 * from the listener it inherited and exits. */
static int
fork_datagram(struct config *cf, struct listener *ls, struct dgram_msg *m)
{
	struct client c = { .fd = -1, .ls = ls, .svc = ls->svc };

	return spawn(cf, &c, m);
}

static void
fork_signalled(struct config *cf)
{
	(void)cf;
	reap(); /* SIGUSR1 reports the children that run */
	if (sig_hup)
		kids_signal(SIGHUP); /* children reopen their outputs too */
}

static void
fork_stop(struct config *cf)
{
	wait_kids(cf);
	model_private_free(kids, (size_t)kids_cap * sizeof(*kids));
	model_private_free(slot_used, (size_t)kids_cap * sizeof(*slot_used));
	kids = NULL;
	slot_used = NULL;
	kids_cap = 0;
	munmap(sources, (size_t)CONF_MAX_CLIENTS_LIMIT * sizeof(*sources));
}

static const struct dispatcher fork_dispatcher = {
	.start = fork_start,
	.active = kids_count,
	.tick_ms = kids_tick_ms,
	.dispatch = fork_dispatch,
	.datagram = fork_datagram,
	.signalled = fork_signalled,
	.stop = fork_stop,
};

static int
fork_run(struct config *cf)
{
	return blocking_run(cf, &fork_dispatcher);
}

const struct model model_fork = {
	.name = "fork",
	.summary = "one child process per connection; the parent accepts and reaps",
	.run = fork_run,
	.in_children = true,
};
