/* serve.h - the blocking serve-a-connection routine and the blocking accept loop. */
#ifndef DISPATCHD_SERVE_H
#define DISPATCHD_SERVE_H

#include <stdbool.h>

#include "../net.h"

struct config;
struct service;

/* One accepted connection, handed by serve_accept to a model. */
struct client {
	int fd;			/* blocking, close-on-exec */
	struct service *svc;
	struct peer peer;
};

/*
 * Waits (poll on the listeners and the signal pipe) for the next
 * connection.  Returns 1 with c filled, 0 when woken by a signal (the
 * caller acts on the flags, e.g. with model_signals()), or -1 on an
 * unexpected error.  Connections over cf->max_clients are refused here
 * (active, NULL for none, counts the connections being served at that
 * moment), and so are those the service's access rules refuse: the one
 * admission path of admit.h.  Every connection returned counts as open
 * until it is given back with serve_release() (any thread or process
 * that shares the counters: the fork parent at reaping).
 */
int serve_accept(struct config *cf, long (*active)(void), struct client *c);

/* Ends c's accounting against the per-source limits (any thread). */
void serve_release(struct client *c);

/* Frees what serve_accept keeps between calls. */
void serve_accept_fini(void);

/*
 * Serves one connection to its end with blocking I/O: the handler's
 * open/data/eof/close, replies written fully, idle_timeout through
 * SO_RCVTIMEO/SO_SNDTIMEO, and, once SIGTERM was seen in this process, a
 * drain deadline of shutdown_timeout.  Does not close c->fd (the caller
 * does, after it forgot the descriptor).  Counts bytes; the connection
 * itself was counted by serve_accept (admit.h) until serve_release.
 */
void serve(struct config *cf, struct client *c);

/*
 * How serve() reacts to EINTR: true in processes whose signals interrupt
 * its reads and writes (iterative, fork children); false where signals go
 * to another thread (thread model), which ends connections itself.
 */
extern bool serve_handles_signals;

/*
 * Whether serve() blocks in read(2) itself (false: it first waits in
 * poll(2) on the client and the signal pipe).  Saves a system call per
 * read; a signal interrupts the read, but one that lands just before it
 * is only acted on when the read returns.  So only fork children use it,
 * whose parent cuts them at the drain deadline anyway (SIGUSR2 a second
 * after it, SIGKILL a second later); SO_RCVTIMEO carries idle_timeout and
 * the drain deadline.
 */
extern bool serve_blocking_reads;

#endif
