/* blocking.h - the blocking models: one accept loop, a dispatcher per model, and serve(). */
#ifndef DISPATCHD_BLOCKING_H
#define DISPATCHD_BLOCKING_H

#include "../net.h"

struct config;
struct service;

struct dgram_msg;
struct listener;

/* One accepted connection, handed by the accept loop to a dispatcher. */
struct client {
	int fd;              /* blocking, close-on-exec */
	struct listener *ls; /* where it came */
	struct service *svc;
	struct peer peer;
};

/* What the accept loop took (internal to blocking.c). */
enum { BLOCKING_CONN = 1, BLOCKING_DGRAM = 2 };

/*
 * What a blocking model is, in the manner of socketserver's
 * process_request: the one accept loop (blocking_run) waits in poll(2)
 * on the listeners and the signal pipe, admits each connection through
 * admit.h (max_clients against active(), the access rules) and hands it
 * to dispatch, which serves it inline, in a child or in a thread.  The
 * loop follows the lifecycle of model.h: on the first stop signal it
 * stops accepting (the listeners are closed), then stop() drains and
 * cuts what the dispatcher still serves.
 */
struct dispatcher {
	/* Before the first accept (may be NULL). 0, or -1 (logged): exit 1. */
	int (*start)(struct config *cf);
	/* How many connections are being served now, for max_clients; NULL
	 * for a model that serves one at a time. */
	long (*active)(void);
	/*
	 * Serves c or hands it over: from 0 on, the dispatcher owns c->fd and
	 * calls serve_release(c) when the connection ends.  -1 (logged): it
	 * could not; the loop closes c->fd and releases c.
	 */
	int (*dispatch)(struct config *cf, struct client *c);
	/*
	 * Serves one datagram received on ls (serve_datagram), inline, in a
	 * child or in a thread; counted against max_clients while served
	 * elsewhere (the listener is not read while the model is full).  m
	 * and its bytes are valid only until it returns.  0, or -1 (logged)
	 * when it could not: the datagram is counted dropped.
	 */
	int (*datagram)(struct config *cf, struct listener *ls, struct dgram_msg *m);
	/* The longest the loop waits for a connection before it calls
	 * active() again, in ms, or -1: no limit (may be NULL; fork: its
	 * children are reaped at least once a second without SIGCHLD). */
	int (*tick_ms)(void);
	/* A signal woke the loop, before model_signals acts on the flags
	 * (may be NULL; fork: forward SIGHUP to the children). */
	void (*signalled)(struct config *cf);
	/* The listeners are closed: drain what is still served within
	 * shutdown_timeout, cut it at the deadline or a second stop signal,
	 * free what start allocated (may be NULL). */
	void (*stop)(struct config *cf);
};

/* Runs the accept loop until a stop signal; the exit status. */
int blocking_run(struct config *cf, const struct dispatcher *d);

/* Ends c's accounting against max_clients and the per-source limits (any
 * thread, or the fork parent at reaping). */
void serve_release(struct client *c);

/*
 * How serve() waits, which depends on where signals land:
 *   SERVE_POLL    signals interrupt this thread (iterative): every wait is
 *                 a poll on the client and the signal pipe, with the idle
 *                 timeout or the drain deadline as its timeout;
 *   SERVE_READ    a fork child: it blocks in read(2) itself (a system call
 *                 less per read), SO_RCVTIMEO carries idle_timeout and the
 *                 drain deadline, and a signal landing just before a read
 *                 is acted on when it returns; the parent's cut (SIGUSR2 a
 *                 second after the deadline, SIGKILL a second later) is
 *                 the backstop;
 *   SERVE_WORKER  a thread whose signals go to the main thread: reads and
 *                 sends block with SO_RCVTIMEO/SO_SNDTIMEO as idle_timeout,
 *                 and the main thread ends it with shutdown(2).
 */
enum serve_wait { SERVE_POLL, SERVE_READ, SERVE_WORKER };

/*
 * Serves one connection to its end with blocking I/O through the
 * connection core (conn.h): the handler's open/data/eof/more/close,
 * replies written fully, and once stopping a drain deadline of
 * shutdown_timeout, at which (or at a second stop signal, or the cut)
 * what the client sent is still handed to the handler.  Does not close
 * c->fd or release c.  Counts bytes.
 */
void serve(struct config *cf, struct client *c, enum serve_wait wait);

/*
 * Serves one datagram the accept loop admitted (dgram_answer: the handler,
 * the guard); its replies sent without waiting, those the socket cannot
 * take dropped and counted.
 */
void serve_datagram(struct listener *ls, const struct dgram_msg *m);

#endif
