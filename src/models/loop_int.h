/* loop_int.h - what the readiness loop (loop.c) and its connections (conn.c) share. */
#ifndef DISPATCHD_LOOP_INT_H
#define DISPATCHD_LOOP_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "../buf.h"
#include "../log.h"
#include "../sink.h"
#include "loop.h"

struct config;
struct service;

/* One read buffer per loop; a connection keeps input only while its
 * handler could not consume it (replies backed up to max_pending). */
#define LOOP_READ_SIZE (256 * 1024)
#define LOOP_READ_MIN (16 * 1024)
/* Bounded work per wake-up: accepts per listener, reads at shutdown. */
#define LOOP_ACCEPT_BATCH 64
#define LOOP_DRAIN_READS 64
/* Reads in a row on one connection while each fills the buffer. */
#define LOOP_READ_ROUNDS 4
/* Rounds of more() and send per wake-up for a handler producing without
 * input (chargen): a fast reader cannot starve the others. */
#define LOOP_MORE_ROUNDS 4

/* After an unexpected accept error the listener rests this long. */
#define LOOP_ACCEPT_PAUSE_MS 1000

enum { C_RD_EOF = 1, C_EOF_DONE = 2, C_HELD = 4 };

struct conn {
	int fd;
	int mask;		/* interest registered with the backend */
	int flags;
	struct service *svc;
	struct sink out;	/* replies not yet sent */
	struct buf in;		/* input the handler has not consumed yet */
	struct conn *prev;	/* idle list, least recently active first */
	struct conn *next;
	struct conn *hprev;	/* held list: sinks held by their handler */
	struct conn *hnext;
	long long active_ms;
	/* The peer, for access_release: unix peers are never counted, so an
	 * IPv6-sized address is enough and keeps idle connections small. */
	struct sockaddr_in6 sa;
	socklen_t salen;
	/* the handler's state follows */
};

struct evloop {
	struct loop l;		/* the backend's view; first member */
	const struct backend *be;
	struct config *cf;
	struct conn **conns;	/* by descriptor */
	long nconns;
	struct conn *idle_head;
	struct conn *idle_tail;
	struct conn *held;	/* connections whose handler's output is backed up */
	/* Per service, for handlers with a backlog hook: the output descriptor
	 * watched for writability (-1: none), and whether held sinks may go. */
	int *out_fd;
	bool *out_room;
	int nwatched;		/* services with an output watched */
	bool held_ready;	/* held connections may go on: do not block */
	long long *paused;	/* per listener: resting until (ms), 0 when not */
	char *rbuf;
	bool stopping;
	long long now_ms;	/* the clock, read once per wake-up */
	long long deadline_ms;
	struct log_rate warn_setsize;
	struct log_rate warn_accept;
};

/* The handler's state, which follows the struct. */
void *conn_state(struct conn *c);
/* Marks activity (the wake-up's time): c goes to the idle list's tail. */
void idle_touch(struct evloop *ev, struct conn *c);
/* Takes c off the held list, if it is on it. */
void held_unlink(struct evloop *ev, struct conn *c);
/* Unregisters, closes and frees c; the handler's close, the admission's end. */
void conn_close(struct evloop *ev, struct conn *c);
/* Sends pending replies until done or the socket is full. 0, or -1: close it. */
int conn_flush(struct evloop *ev, struct conn *c);
/* Everything after an event: feed, send, decide, re-register. 0, or -1
 * when c was closed (gone). */
int conn_settle(struct evloop *ev, struct conn *c);
/* c is readable: read, feed, settle (a few reads while each fills the buffer). */
void conn_readable(struct evloop *ev, struct conn *c);
/* Cuts c: what it sent goes to the handler (read_rest: also what waits in
 * the socket), replies dropped; then closes it. */
void conn_cut(struct evloop *ev, struct conn *c, bool read_rest);

#endif
