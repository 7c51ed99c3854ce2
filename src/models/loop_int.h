/* loop_int.h - what the readiness loop (loop.c) and its connections' I/O (loop_conn.c) share. */
#ifndef DISPATCHD_LOOP_INT_H
#define DISPATCHD_LOOP_INT_H

#include <stdbool.h>

#include "../conn.h"
#include "../dgram.h"
#include "../log.h"
#include "loop.h"

struct config;
struct service;

/* One read buffer per loop; a connection keeps input only while its
 * handler could not consume it (replies backed up to max_pending). */
#define LOOP_READ_SIZE (256 * 1024)
#define LOOP_READ_MIN  (16 * 1024)
/* Bounded work per wake-up: accepts per listener. */
#define LOOP_ACCEPT_BATCH 64
/* Reads in a row on one connection while each fills the buffer. */
#define LOOP_READ_ROUNDS 4
/* Rounds of more() and send per wake-up for a handler producing without
 * input (chargen): a fast reader cannot starve the others. */
#define LOOP_MORE_ROUNDS 4

/* After an unexpected accept error the listener rests this long. */
#define LOOP_ACCEPT_PAUSE_MS 1000

struct evloop {
	struct loop l; /* the backend's view; first member */
	const struct backend *be;
	struct config *cf;
	int lmask;           /* a listener's interest: LOOP_READ, LOOP_SHARED with workers */
	struct conn **conns; /* by descriptor */
	struct conns cs;     /* their count, idle and held lists, the clock */
	int nwatched;        /* output descriptors watched (struct service's out_fd) */
	bool held_ready;     /* held connections may go on: do not block */
	long long *paused;   /* per listener: resting until (ms), 0 when not */
	bool *dg_held;       /* per listener: a datagram one not read (dgram_gate) */
	char *rbuf;
	int tfd; /* idle expiry (idle_timer), -1: none */
	bool timer_armed;
	long long timer_at; /* when the armed timer fires (ms) */
	bool stopping;
	long long deadline_ms;
	struct log_rate warn_setsize;
	struct log_rate warn_accept;
	struct dgram_batch dg; /* datagram listeners (loop_dgram.c) */
};

/* Unregisters and closes c's descriptor, ends its admission, frees it. */
void loop_close(struct evloop *ev, struct conn *c);
/* Sends pending replies until done or the socket is full. 0, or -1: close it. */
int loop_flush(struct evloop *ev, struct conn *c);
/* Everything after an event: feed, send, decide, re-register. 0, or -1
 * when c was closed (gone). */
int loop_settle(struct evloop *ev, struct conn *c);
/* c is readable: read, feed, settle (a few reads while each fills the buffer). */
void loop_readable(struct evloop *ev, struct conn *c);
/* Cuts c (conn_cut; read_rest: also what waits in the socket), closes it. */
void loop_cut(struct evloop *ev, struct conn *c, bool read_rest);

/* After every wake-up: the handlers' outputs watched, the connections
 * held on them resumed where they have room (loop_outputs.c). */
void loop_outputs(struct evloop *ev);
/* After a SIGHUP reopened the outputs: every watch dropped, made again
 * by the next loop_outputs (loop_outputs.c). */
void loop_outputs_unwatch(struct evloop *ev);

struct listener;
/* The datagram listener ls is readable: receive a batch, answer it. */
void loop_datagrams(struct evloop *ev, struct listener *ls);
/* Datagram listeners are not read while their service's output is backed up. */
void loop_dgram_gate(struct evloop *ev);
/* Frees the datagram storage. */
void loop_dgram_fini(struct evloop *ev);

#endif
