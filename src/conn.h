/* conn.h - one connection's life, whatever drives its I/O: handler, sink, kept input, idle time, cut. */
#ifndef DISPATCHD_CONN_H
#define DISPATCHD_CONN_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "buf.h"
#include "sink.h"

struct peer;
struct proxy_part;
struct service;

/*
 * The connection core.  Every model that owns a connection drives it
 * through these calls and does only its own I/O: a readiness loop reads
 * and sends when told it may, a completion loop hands over what its reads
 * and sends completed, a blocking model reads and sends until done.  The
 * core never reads, sends, waits or closes a descriptor itself.
 *
 *   conn_new, conn_start        the handler's open (it may reply at once)
 *   conn_input                  "these bytes arrived"
 *   conn_input_end              "the client half-closed"
 *   sink_peek/sink_pending      what to send next (c->out)
 *   conn_sent                   "this many bytes were sent"
 *   conn_settle                 feed kept input, the end of stream and
 *                               more() while the sink has room
 *   conn_wants, conn_done       what the driver does next
 *   conn_cut                    the cut (see below)
 *   conn_free                   the handler's close; the driver closes fd
 *
 * Backpressure: the handler stops consuming once its sink holds
 * max_pending bytes (sink.h); what it did not consume is kept in c->in,
 * at most one read's worth, and conn_wants() stops asking for input
 * until the sink drained.  Lent replies point into the driver's read
 * buffer: the driver sends them or calls sink_keep() (conn_input and
 * conn_settle do) before it reuses that buffer.
 */

enum {
	CONN_RD_EOF = 1,   /* the client half-closed */
	CONN_EOF_DONE = 2, /* the handler's eof was called */
	CONN_HELD = 4,     /* on the held list */
	CONN_TIMED = 8,    /* on the timer list (sink_timer) */
	CONN_PROXY = 16,   /* awaiting its PROXY header: the handler is not open yet */
	CONN_SOURCE = 32,  /* the header's source is counted (access_admit) */
};

/* What the driver waits for next (conn_wants). */
enum { CONN_WANT_READ = 1, CONN_WANT_WRITE = 2 };

struct conn {
	int fd;
	int flags; /* CONN_* */
	int io;    /* the driver's own (readiness: the interest registered) */
	struct service *svc;
	struct sink out;   /* replies not yet sent */
	struct buf in;     /* input the handler has not consumed yet */
	struct conn *prev; /* idle list, least recently active first */
	struct conn *next;
	struct conn *hprev; /* held list: sinks held by their handler */
	struct conn *hnext;
	struct conn *tprev; /* timer list: the handler's deadlines, soonest first */
	struct conn *tnext;
	long long active_ms;
	long long due_ms; /* the handler's deadline (CONN_TIMED) */
	/* The peer, for admit_release: unix peers are never counted, so an
	 * IPv6-sized address is enough and keeps idle connections small. */
	struct sockaddr_in6 sa;
	socklen_t salen;
	struct proxy_part *phdr; /* a PROXY header split over reads, so far */
	                         /* the handler's state follows */
};

/*
 * The connections of one driver (one loop; a blocking model passes NULL
 * and keeps no lists): the idle list (idle_timeout), the held list (sinks
 * held by their handler's backed-up output, see handler.h's backlog) and
 * the count the drain waits for.
 */
struct conns {
	long idle_timeout_ms; /* 0: never */
	long long now_ms;     /* the driver's clock, read once per wake-up */
	struct conn *idle_head;
	struct conn *idle_tail;
	struct conn *held;
	struct conn *timer_head; /* sink_timer deadlines, soonest first */
	struct conn *timer_tail;
	long n;
};

/*
 * Where a fork child notes the PROXY header source it counted against
 * max_per_source (CONN_SOURCE), so that its parent can end that count
 * when the child dies without ending it itself (killed, a crash).  held
 * is 1 while counted.  NULL (the default): nobody to tell.
 */
struct conn_source {
	atomic_int held;
	struct sockaddr_in6 sa;
	socklen_t salen;
};
extern struct conn_source *conn_source_note;

/* The handler's state, which follows the struct (NULL when it has none). */
void *conn_state(struct conn *c);

/*
 * A connection on fd for svc from peer, counted in cs (may be NULL) and
 * put on its idle list; replies capped at max_pending.  NULL with errno
 * ENOMEM.  The handler's open is not called yet: conn_start.
 */
struct conn *conn_new(struct conns *cs, struct service *svc, int fd, const struct peer *peer,
    long max_pending);
/*
 * The handler's open (it may reply or ask to close at once). 0, or -1: free it.
 *
 * On a service with proxy_protocol the connection first awaits its PROXY
 * header (CONN_PROXY): conn_start opens nothing, conn_input gathers the
 * header (its deadline, proxy_timeout, is the connection's sink_timer,
 * so every driver already waits for it), then takes its source as the
 * peer (a LOCAL or UNKNOWN header keeps the socket's), applies the
 * service's allow/deny, max_per_source and rate_limit to it, opens the
 * handler with it and hands it the bytes that came after the header.  A
 * bad header, a late one, the end of stream before it and a refused
 * source end the connection, counted as refused "proxy" (or the access
 * rule's reason) and warned.
 */
int conn_start(struct conn *c, const struct peer *peer);
/* Forgets c: the handler's close, its buffers, the lists and the count.
 * Does not close c->fd or end its admission (the driver does). */
void conn_free(struct conns *cs, struct conn *c);

/*
 * p[0..n) arrived: counted, the handler fed while its sink has room, the
 * rest kept in c->in.  Replies may be lent from p: the driver sends them
 * or calls sink_keep before it reuses p.  0, or -1: close the connection.
 */
int conn_input(struct conns *cs, struct conn *c, const char *p, size_t n);
/* The client half-closed (conn_settle hands the handler its eof). */
static inline void
conn_input_end(struct conn *c)
{
	c->flags |= CONN_RD_EOF;
}
/* n bytes of sink_peek(&c->out) were sent: counted and consumed. */
void conn_sent(struct conns *cs, struct conn *c, size_t n);
/* n bytes of the sink's file range were sent (sink_sendfile): the same. */
void conn_sent_file(struct conns *cs, struct conn *c, size_t n);

/*
 * Feeds kept input while the sink has room, then the end of stream once
 * the input is used up, then (for a producing handler) one more() while
 * the sink has room.  Replies are kept (sink_keep).  Call it after every
 * event, and again after sending while conn_wants() asks for neither.
 * 0, or -1: the connection must close.
 */
int conn_settle(struct conn *c);
/* Only more(), for a driver that sends between rounds. 0 or -1. */
int conn_produce(struct conn *c);
/* True while a producing handler wants more() and its sink has room. */
bool conn_producing(const struct conn *c);

/*
 * CONN_WANT_READ while the handler can take input, CONN_WANT_WRITE while
 * replies are pending or a producing handler wants to go on.  A sink its
 * handler holds wants neither: c goes on cs's held list (conn_resume).
 */
int conn_wants(struct conns *cs, struct conn *c);

/* What conn_done reports once nothing is pending. */
enum conn_end {
	CONN_GOING = 0,    /* not done */
	CONN_CLOSE_GENTLY, /* the handler said all (sink_close_after): net_end_gently, close */
	CONN_FINISHED,     /* the client's end of stream was handled: close */
};
enum conn_end conn_done(const struct conn *c);

/* Held connections: the handler's output has room again; the handler is
 * called without input so it sends what it owes.  0, or -1: close it. */
int conn_resume(struct conns *cs, struct conn *c);
/* Takes c off the held list, if it is on it. */
void conn_held_unlink(struct conns *cs, struct conn *c);

/*
 * The handler's deadline (sink_timer): conn_wants takes a request the
 * handler made at cs's clock; a blocking driver (cs NULL) calls this with
 * its own clock and keeps c->due_ms in mind (CONN_TIMED).  Cheap when no
 * request is waiting.
 */
void conn_timer_take(struct conns *cs, struct conn *c, long long now_ms);
/* The next connection whose deadline passed at cs->now_ms (taken off the
 * timer list), or NULL. */
struct conn *conn_timer_expired(struct conns *cs);
/* The deadline passed: the handler's timeout (it may say a last word and
 * ask to close after it).  0: settle and send as after any event; -1:
 * close now (no such hook, or it failed). */
int conn_timeout(struct conns *cs, struct conn *c);

/* Activity (cs's clock): c moves to the idle list's tail. */
void conn_touch(struct conns *cs, struct conn *c);
/* When the least recently active connection times out or the soonest
 * handler deadline is due, whichever comes first (ms), or -1. */
long long conn_idle_due(const struct conns *cs);
/*
 * The same for a timer that should wake the driver as seldom as it can:
 * idle expiry rounded up to a whole second (idle_timeout is counted in
 * seconds, and nearby ones then share a wake-up), a handler's deadline
 * (a request or PROXY header timeout) exact.
 */
long long conn_wake_due(const struct conns *cs);
/* The next connection idle past idle_timeout at cs->now_ms, or NULL.
 * Held connections wait for their handler's output, not for the client:
 * they are touched and skipped. */
struct conn *conn_idle_expired(struct conns *cs);

/*
 * The cut (the drain deadline, a second stop signal, idle expiry, a
 * blocking model's shutdown): what the client already sent is still handed
 * to the handler, replies dropped so a full sink cannot hold input back,
 * so the logger records every line received, in order and without a gap:
 * the kept input, then, when fd >= 0, what waits in the socket (up to
 * CONN_CUT_READS reads into buf that do not wait: the one read the core
 * does itself), then the handler's eof (a partial last line is a line).
 * The client's end of stream, a handler error or its stuck output end it
 * early.  The driver then frees c.
 */
#define CONN_CUT_READS 64
void conn_cut(struct conn *c, int fd, char *buf, size_t size);

#endif
