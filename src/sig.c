/* sig.c - signals: flags plus a self-pipe that every model waits on. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sig.h"

volatile sig_atomic_t sig_stop;
volatile sig_atomic_t sig_hup;
volatile sig_atomic_t sig_usr1;
volatile sig_atomic_t sig_chld;
volatile sig_atomic_t sig_retire;

static int sig_pipe[2] = { -1, -1 };
/* Readable once connections are to be cut now; never drained. */
static int cut_pipe[2] = { -1, -1 };
/* The cut, CLOCK_MONOTONIC ms: -1 while serving, set by the first stop
 * signal (now + drain_ms), made "now" by a second one.  Lock-free atomics
 * are safe in a signal handler. */
static _Atomic long long cut_at = -1;
static _Atomic long long drain_ms = 5000;
/* In a fork child a repeated SIGTERM/SIGINT (from the parent and from the
 * terminal's process group) must not count as the "second signal". */
static volatile sig_atomic_t sig_in_child;
/* A fork child (sig_fork_child) before its first wait on the pipes: the
 * handler sets the flags but writes nowhere; pipes_own() makes them. */
static volatile sig_atomic_t pipes_lazy;

static const int handled[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD };

long long
sig_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe */
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Async-signal-safe: a flag, a clock read and one write. */
static void
cut_mark(int stops)
{
	if (stops >= 2) {
		atomic_store(&cut_at, sig_now_ms());
		if (cut_pipe[1] >= 0 && write(cut_pipe[1], "", 1) < 0) {
			/* full: already readable */
		}
	} else if (stops == 1 && atomic_load(&cut_at) < 0) {
		atomic_store(&cut_at, sig_now_ms() + atomic_load(&drain_ms));
	}
}

static void
on_signal(int signo)
{
	int saved = errno;
	char c = (char)signo;

	switch (signo) {
	case SIGTERM:
	case SIGINT:
		if (sig_in_child)
			sig_stop = sig_stop < 1 ? 1 : sig_stop;
		else if (sig_stop < 2)
			sig_stop++;
		cut_mark(sig_stop);
		break;
	case SIGUSR2: /* children only: the parent cuts us now */
		if (!sig_in_child)
			goto out;
		sig_stop = 2;
		cut_mark(2);
		break;
	case SIGHUP:
		sig_hup = 1;
		break;
	case SIGUSR1:
		if (sig_in_child)
			goto out; /* the parent reports for the whole server */
		sig_usr1 = 1;
		break;
	case SIGCHLD:
		sig_chld = 1;
		break;
	case SIGQUIT: /* workers only: a reload replaced us */
		sig_retire = 1;
		break;
	}
	/* A full pipe already guarantees a wake-up: the failure is harmless. */
	if (!pipes_lazy && sig_pipe[1] >= 0 && write(sig_pipe[1], &c, 1) < 0) {
	}
out:
	errno = saved;
}

void
sig_wake(void)
{
	char c = 0;

	/* A full pipe already guarantees a wake-up: the failure is harmless. */
	if (!pipes_lazy && sig_pipe[1] >= 0 && write(sig_pipe[1], &c, 1) < 0) {
	}
}

static int
install(int signo, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: blocking reads and writes must return EINTR so the
	 * blocking models notice the flags. */
	sa.sa_flags = signo == SIGCHLD ? SA_NOCLDSTOP : 0;
	return sigaction(signo, &sa, NULL);
}

static int
open_pipe(void)
{
	for (int i = 0; i < 2; i++) {
		if (cut_pipe[i] >= 0)
			close(cut_pipe[i]);
		cut_pipe[i] = -1;
	}
	return pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0 ||
	        pipe2(cut_pipe, O_NONBLOCK | O_CLOEXEC) < 0 ?
	    -1 :
	    0;
}

int
sig_setup(void)
{
	/* SIGUSR2 is caught (and ignored here) so that a fork child needs no
	 * sigaction of its own for the parent's cut. */
	if (install(SIGPIPE, SIG_IGN) < 0 || install(SIGUSR2, on_signal) < 0 || open_pipe() < 0)
		return -1;
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		if (install(handled[i], on_signal) < 0)
			return -1;
	return 0;
}

int
sig_retire_setup(void)
{
	return install(SIGQUIT, on_signal);
}

/*
 * Makes this process's own pipes in place of the ones it inherited (closed
 * unless lazy: then they are the parent's, left open and unused), with the
 * signals held so that none is written to a pipe being replaced.  A signal
 * that came since the fork set its flag but woke nothing of this
 * process's (a worker started just before a stop never stopped): the new
 * pipes are made readable for it.  0 or -1.
 */
static int
pipes_own(void)
{
	sigset_t all, old;

	sigemptyset(&all);
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaddset(&all, handled[i]);
	sigaddset(&all, SIGUSR2);
	sigaddset(&all, SIGQUIT);
	if (pthread_sigmask(SIG_BLOCK, &all, &old) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (!pipes_lazy && sig_pipe[i] >= 0)
			close(sig_pipe[i]);
		if (pipes_lazy)
			cut_pipe[i] = -1;
		sig_pipe[i] = -1;
	}
	int r = open_pipe();
	if (r == 0) {
		pipes_lazy = 0;
		if (sig_stop || sig_hup || sig_retire)
			sig_wake();
		if (sig_stop >= 2 && write(cut_pipe[1], "", 1) < 0) {
			/* a fresh pipe takes one byte */
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

int
sig_fd(void)
{
	if (pipes_lazy && pipes_own() < 0)
		return -1;
	return sig_pipe[0];
}

void
sig_drain(void)
{
	char tmp[64];

	while (!pipes_lazy && read(sig_pipe[0], tmp, sizeof(tmp)) > 0)
		;
}

int
sig_child_setup(void)
{
	sig_in_child = 1;
	if (install(SIGCHLD, SIG_DFL) < 0 || install(SIGUSR1, SIG_IGN) < 0 ||
	    install(SIGQUIT, on_signal) < 0)
		return -1;
	/* sig_stop must stay untouched: a SIGTERM forwarded right after fork
	 * counts. */
	sig_usr1 = sig_chld = 0;
	return pipes_own();
}

void
sig_fork_child(void)
{
	sig_in_child = 1;
	sig_usr1 = sig_chld = 0;
	pipes_lazy = 1;
}

void
sig_fini(void)
{
	for (int i = 0; i < 2; i++) {
		if (sig_pipe[i] >= 0)
			close(sig_pipe[i]);
		if (cut_pipe[i] >= 0)
			close(cut_pipe[i]);
		sig_pipe[i] = cut_pipe[i] = -1;
	}
}

void
sig_set_drain(long seconds)
{
	atomic_store(&drain_ms, (long long)seconds * 1000);
}

void
sig_cut_now(void)
{
	cut_mark(2);
}

long long
sig_cut_ms(void)
{
	return atomic_load(&cut_at);
}

bool
sig_cut_due(void)
{
	long long at = atomic_load(&cut_at);

	return at >= 0 && sig_now_ms() >= at;
}

int
sig_cut_fd(void)
{
	if (pipes_lazy && pipes_own() < 0)
		return -1;
	return cut_pipe[0];
}

int
sig_wait_cut(int fd, short events)
{
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = events },
		{ .fd = sig_cut_fd(), .events = POLLIN },
	};

	for (;;) {
		long long at = atomic_load(&cut_at), now = sig_now_ms();
		int timeout;

		if (at >= 0 && now >= at)
			return 0;
		/* Threads other than the one signals reach learn of a first
		 * stop signal only from cut_at: look again every second. */
		timeout = at < 0 ? 1000 : at - now > 1000 ? 1000 : (int)(at - now);
		int n = poll(pfd, pfd[1].fd >= 0 ? 2 : 1, timeout);
		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0 && pfd[1].revents)
			return 0;
		if (n > 0 && pfd[0].revents)
			return 1;
	}
}
