/* sig.h - signals: flags plus a self-pipe that every model waits on. */
#ifndef DISPATCHD_SIG_H
#define DISPATCHD_SIG_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>

/* Set by the handlers; the models poll them after every wake-up. */
extern volatile sig_atomic_t sig_stop; /* SIGTERM/SIGINT count */
extern volatile sig_atomic_t sig_hup;
extern volatile sig_atomic_t sig_usr1;
extern volatile sig_atomic_t sig_chld;
/* A worker's SIGQUIT (sig_child_setup): a reload started the workers that
 * replace it; it stops accepting and serves its connections until they
 * end (no deadline until a stop signal). */
extern volatile sig_atomic_t sig_retire;
#define SIG_NO_DEADLINE LLONG_MAX

/*
 * Ignores SIGPIPE, creates the self-pipe (non-blocking, close-on-exec) and
 * installs handlers for TERM, INT, HUP, USR1 and CHLD without SA_RESTART,
 * so blocking calls return EINTR and the flags are seen. 0 or -1.
 */
int sig_setup(void);

/* A supervisor: SIGQUIT sets sig_retire, so that a worker it forks is
 * never killed by one that comes before the worker's own setup. */
int sig_retire_setup(void);

/* The self-pipe's read end: readable after any handled signal. */
int sig_fd(void);

/* Empties the self-pipe (call before acting on the flags). */
void sig_drain(void);

/* Makes sig_fd() readable without a signal (any thread): a thread worker
 * that ended wakes the accept loop waiting for a free slot. */
void sig_wake(void);

/*
 * In a worker: it keeps the handlers (so reads return EINTR and it reopens
 * logs on SIGHUP) but its own private self-pipe, ignores SIGCHLD and
 * SIGUSR1, and SIGQUIT retires it.  Repeated SIGTERM/SIGINT (from the
 * parent and the terminal) count once; SIGUSR2 (ignored in the parent)
 * sets sig_stop to 2: the parent cuts its children now.
 */
int sig_child_setup(void);

/*
 * In a fork model's child, without a system call: the same as
 * sig_child_setup but SIGUSR1 is caught and ignored (the parent reports),
 * SIGCHLD stays as the parent left it, SIGQUIT is not a worker's, and the
 * child's own pipes are made only when it first waits on them (sig_fd,
 * sig_cut_fd, sig_wait_cut); until then the parent's stay open, unused.
 */
void sig_fork_child(void);

/* Closes the self-pipe (at exit). */
void sig_fini(void);

/*
 * The cut: the moment this process stops serving open connections and
 * hands what it received to the handlers (the drain deadline).  The first
 * SIGTERM/SIGINT sets it to now + the drain time (sig_set_drain, the
 * shutdown_timeout); a second one, SIGUSR2 in a fork child, or
 * sig_cut_now() (any thread) makes it now.  Blocking waits outside the
 * models' own loops (a logger output that does not drain) end there.
 */
void sig_set_drain(long seconds);
void sig_cut_now(void);
/* CLOCK_MONOTONIC in ms; async-signal-safe. */
long long sig_now_ms(void);
/* The cut on CLOCK_MONOTONIC in ms, or -1 while no stop was asked for. */
long long sig_cut_ms(void);
/* True once the cut has come. */
bool sig_cut_due(void);
/* Readable once the cut was made "now" (never drained). */
int sig_cut_fd(void);
/*
 * Waits (poll) until fd reports events: 1, or 0 once the cut came first,
 * -1 on a poll error.  Usable from any thread.
 */
int sig_wait_cut(int fd, short events);

#endif
