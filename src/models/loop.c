/* loop.c - the readiness loop shared by select, poll and epoll. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../access.h"
#include "../admit.h"
#include "../conf.h"
#include "../handler.h"
#include "../log.h"
#include "../model.h"
#include "../net.h"
#include "../sig.h"
#include "../sink.h"
#include "../stats.h"
#include "loop.h"

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

static void *
conn_state(struct conn *c)
{
	return c->svc->handler->state_size ? (void *)(c + 1) : NULL;
}

static void
idle_unlink(struct evloop *ev, struct conn *c)
{
	if (c->prev == NULL && ev->idle_head != c)
		return;		/* not in the list (a new connection) */
	if (c->prev)
		c->prev->next = c->next;
	else
		ev->idle_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		ev->idle_tail = c->prev;
	c->prev = c->next = NULL;
}

/* Marks activity: the connection moves to the tail of the idle list, so
 * the head is always the next to time out.  The time is the wake-up's:
 * a timeout of seconds does not need a clock read per read and write. */
static void
idle_touch(struct evloop *ev, struct conn *c)
{
	if (ev->cf->idle_timeout <= 0)
		return;
	c->active_ms = ev->now_ms;
	if (ev->idle_tail == c)
		return;
	idle_unlink(ev, c);
	c->prev = ev->idle_tail;
	if (ev->idle_tail)
		ev->idle_tail->next = c;
	else
		ev->idle_head = c;
	ev->idle_tail = c;
}

static void
held_unlink(struct evloop *ev, struct conn *c)
{
	if (!(c->flags & C_HELD))
		return;
	if (c->hprev)
		c->hprev->hnext = c->hnext;
	else
		ev->held = c->hnext;
	if (c->hnext)
		c->hnext->hprev = c->hprev;
	c->hprev = c->hnext = NULL;
	c->flags &= ~C_HELD;
}

static void
conn_close(struct evloop *ev, struct conn *c)
{
	if (c->mask && ev->be->set(&ev->l, c->fd, c->mask, 0) < 0)
		log_warn("%s: cannot unregister descriptor %d", ev->be->name, c->fd);
	ev->conns[c->fd] = NULL;
	close(c->fd);
	idle_unlink(ev, c);
	held_unlink(ev, c);
	c->svc->handler->close(conn_state(c));
	buf_free(&c->in);
	sink_clear(&c->out);
	admit_release(c->svc, (struct sockaddr *)&c->sa, c->salen);
	ev->nconns--;
	free(c);
}

/*
 * Registers the interest the connection's state calls for: read while
 * the handler can take input, write while replies are pending.  A sink
 * its handler holds puts the connection on the held list, which the loop
 * looks at when the handler's output drains: no connection is ever left
 * with nothing that would wake it.
 */
static int
conn_update(struct evloop *ev, struct conn *c)
{
	int mask = 0;

	if (!(c->flags & C_RD_EOF) && c->in.len == 0 && !sink_full(&c->out))
		mask |= LOOP_READ;
	/* A handler producing without input writes whenever the socket can
	 * take more, not only while replies are pending. */
	if (sink_pending(&c->out) > 0 || (c->out.more && !c->out.close_after))
		mask |= LOOP_WRITE;
	if (c->out.held && !(c->flags & C_HELD)) {
		c->flags |= C_HELD;
		c->hprev = NULL;
		c->hnext = ev->held;
		if (ev->held)
			ev->held->hprev = c;
		ev->held = c;
	}
	if (mask != c->mask) {
		if (ev->be->set(&ev->l, c->fd, c->mask, mask) < 0) {
			log_warn("%s: cannot watch descriptor %d", ev->be->name, c->fd);
			return -1;
		}
		c->mask = mask;
	}
	return 0;
}

/*
 * Sends pending replies until done or the socket is full; what is left is
 * then owned by the sink (lent bytes point into the read buffer, which the
 * next read overwrites).  -1: dead peer, or no memory to keep the rest.
 */
static int
conn_flush(struct evloop *ev, struct conn *c)
{
	while (sink_pending(&c->out) > 0) {
		ssize_t n = send(c->fd, sink_peek(&c->out), sink_pending(&c->out), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		stats_add(&c->svc->stats->bytes_out, (unsigned long long)n);
		sink_consume(&c->out, (size_t)n);
		idle_touch(ev, c);
	}
	return sink_keep(&c->out);
}

/* Hands p[0..n) to the handler; what it cannot take yet is kept. */
static int
conn_feed(struct conn *c, const char *p, size_t n)
{
	ssize_t used = c->svc->handler->data(conn_state(c), p, n, &c->out);

	if (used < 0)
		return -1;
	if ((size_t)used < n)
		return buf_append(&c->in, p + used, n - (size_t)used);
	return 0;
}

/*
 * Feeds kept input while the sink has room, then the end of stream (again
 * after a held sink was released: the handler may hold it from eof too).
 */
static int
conn_progress(struct conn *c)
{
	const struct handler *h = c->svc->handler;

	while (c->in.len > 0 && !sink_full(&c->out)) {
		ssize_t used = h->data(conn_state(c), buf_peek(&c->in), c->in.len, &c->out);
		/* Consuming may free or move the input a reply was lent from. */
		if (used < 0 || sink_keep(&c->out) < 0)
			return -1;
		buf_consume(&c->in, (size_t)used);
		if (used == 0 && !sink_full(&c->out))
			break;	/* breaks the handler contract; never spin on it */
	}
	if ((c->flags & (C_RD_EOF | C_EOF_DONE)) == C_RD_EOF && c->in.len == 0 && !c->out.held) {
		if (h->eof(conn_state(c), &c->out) < 0)
			return -1;
		if (!c->out.held)
			c->flags |= C_EOF_DONE;
	}
	return 0;
}

/*
 * Output without input (sink_want_more): the handler fills the sink, the
 * core sends, a few rounds while the socket takes it all.  0, or -1 when
 * the connection must close.
 */
static int
conn_produce(struct evloop *ev, struct conn *c)
{
	const struct handler *h = c->svc->handler;

	for (int i = 0; i < LOOP_MORE_ROUNDS && c->out.more && h->more != NULL &&
	    !c->out.close_after && !sink_full(&c->out); i++) {
		if (h->more(conn_state(c), &c->out) < 0 || sink_keep(&c->out) < 0 ||
		    conn_flush(ev, c) < 0)
			return -1;
		if (sink_pending(&c->out) > 0)
			break;	/* the socket is full: wait for writability */
	}
	return 0;
}

/*
 * Everything after a readiness event: feed, send, decide, re-register.
 * Feeding and sending alternate until the input is consumed, the socket
 * is full or the handler holds: a connection with kept input and room in
 * its sink is never left waiting for a wake-up that cannot come (audit
 * finding 1).  Each round consumes input or sends replies, so this ends
 * within the one read's worth of input the connection keeps.
 * 0, or -1 when the connection was closed (c is gone).
 */
static int
conn_settle(struct evloop *ev, struct conn *c)
{
	for (;;) {
		size_t before = c->in.len, queued;

		if (conn_progress(c) < 0)
			goto close;
		queued = sink_pending(&c->out);
		if (conn_flush(ev, c) < 0)
			goto close;
		if (c->in.len == 0 || sink_full(&c->out) || sink_pending(&c->out) > 0)
			break;
		if (c->in.len == before && queued == 0)
			break;	/* no progress: the handler broke its contract */
	}
	if (conn_produce(ev, c) < 0)
		goto close;
	/* Done: the handler said all it will (sink_close_after), or the
	 * client's end of stream was handled and nothing more is to come. */
	if (sink_pending(&c->out) == 0 && c->out.close_after) {
		net_end_gently(c->fd);
		goto close;
	}
	if (sink_pending(&c->out) == 0 && (c->flags & C_EOF_DONE) && !c->out.more)
		goto close;
	if (conn_update(ev, c) < 0)
		goto close;
	return 0;
close:
	conn_close(ev, c);
	return -1;
}

/*
 * A read that fills the buffer suggests more is waiting: once its replies
 * are all sent, read again instead of going back to the wait, at most
 * LOOP_READ_ROUNDS times, so a streaming client saves a wait per read and
 * still cannot starve the others.
 */
static void
conn_readable(struct evloop *ev, struct conn *c)
{
	for (int round = 0; round < LOOP_READ_ROUNDS; round++) {
		/* Read about what the sink can still take: input the handler
		 * cannot consume is kept per connection, so keep that small. */
		size_t want = sink_room(&c->out);
		if (want < LOOP_READ_MIN)
			want = LOOP_READ_MIN;
		if (want > LOOP_READ_SIZE)
			want = LOOP_READ_SIZE;
		ssize_t n = read(c->fd, ev->rbuf, want);

		if (n > 0) {
			stats_add(&c->svc->stats->bytes_in, (unsigned long long)n);
			idle_touch(ev, c);
			if (conn_feed(c, ev->rbuf, (size_t)n) < 0) {
				conn_close(ev, c);
				return;
			}
		} else if (n == 0) {
			c->flags |= C_RD_EOF;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_close(ev, c);
			return;
		} else if (round > 0) {
			return;		/* settled after the previous read */
		}
		/* Only a full read suggests more: not a short one, the end of
		 * stream or a wake-up with nothing to read. */
		if (conn_settle(ev, c) < 0 || n <= 0 || (size_t)n < want ||
		    !(c->mask & LOOP_READ) || sink_pending(&c->out) > 0)
			return;
	}
}

static void
listener_pause(struct evloop *ev, struct listener *ls)
{
	size_t i = (size_t)(ls - ev->cf->ls);

	if (ev->paused[i] == 0 && ev->be->set(&ev->l, ls->fd, LOOP_READ, 0) < 0)
		log_warn("%s: cannot pause the listener", ls->addr);
	ev->paused[i] = ev->now_ms + LOOP_ACCEPT_PAUSE_MS;
}

static void
listeners_resume(struct evloop *ev)
{
	for (size_t i = 0; i < ev->cf->nls && !ev->stopping; i++) {
		if (ev->paused[i] == 0 || ev->now_ms < ev->paused[i])
			continue;
		ev->paused[i] = 0;
		if (ev->be->set(&ev->l, ev->cf->ls[i].fd, 0, LOOP_READ) < 0)
			log_warn("%s: cannot watch the listener", ev->cf->ls[i].addr);
	}
}

static void
conn_accept(struct evloop *ev, struct listener *ls)
{
	struct service *svc = ls->svc;
	const struct handler *h = svc->handler;

	for (int i = 0; i < LOOP_ACCEPT_BATCH; i++) {
		struct peer peer;
		int fd = net_accept(ls->fd, &peer, SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				admit_refuse(ls, -1, REFUSE_NO_FDS);
				if (net_spare_ready())
					continue;
				/* Nothing shed it: the connection is still pending. */
				listener_pause(ev, ls);
				return;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			if (errno == ECONNABORTED || errno == EPROTO || errno == EPERM)
				continue;
			/* ENOBUFS, ENOMEM, a listener shut down from outside: the
			 * listener stays readable, so it rests instead of spinning. */
			if (log_rate_ok(&ev->warn_accept))
				log_warn("%s: accept (not accepting for %d ms)", ls->addr,
				    LOOP_ACCEPT_PAUSE_MS);
			listener_pause(ev, ls);
			return;
		}
		if (fd >= ev->l.setsize) {
			admit_refuse(ls, fd, REFUSE_FDSETSIZE);
			if (log_rate_ok(&ev->warn_setsize))
				log_warnx("%s: closed connection from %s: descriptor %d is beyond "
					  "what %s can watch (%d)",
				    ls->addr, peer.text, fd, ev->be->name, ev->l.setsize);
			continue;
		}
		if (admit_take(ls, fd, &peer, ev->nconns, ev->cf->max_clients) != REFUSE_NONE)
			continue;
		struct conn *c = calloc(1, sizeof(*c) + h->state_size);
		if (c == NULL) {
			log_warn("%s: refused %s", ls->addr, peer.text);
			admit_release(svc, (struct sockaddr *)&peer.sa, peer.salen);
			close(fd);
			continue;
		}
		c->salen = peer.salen < sizeof(c->sa) ? peer.salen : sizeof(c->sa);
		memcpy(&c->sa, &peer.sa, c->salen);
		c->fd = fd;
		c->svc = svc;
		c->out.cap = (size_t)ev->cf->max_pending;
		ev->conns[fd] = c;
		ev->nconns++;
		idle_touch(ev, c);
		log_debug("%s: connection from %s", ls->addr, peer.text);
		if (h->open(conn_state(c), svc, &peer, &c->out) < 0) {
			conn_close(ev, c);
			continue;
		}
		conn_settle(ev, c);
	}
}

static struct listener *
find_listener(struct config *cf, int fd)
{
	for (size_t i = 0; i < cf->nls; i++)
		if (cf->ls[i].fd == fd)
			return &cf->ls[i];
	return NULL;
}

/* SIGTERM: stop accepting; open connections get shutdown_timeout. */
static void
begin_stop(struct evloop *ev)
{
	for (size_t i = 0; i < ev->cf->nls; i++)
		if (ev->cf->ls[i].fd >= 0 && ev->paused[i] == 0)
			ev->be->set(&ev->l, ev->cf->ls[i].fd, LOOP_READ, 0);
	net_close_all(ev->cf);
	ev->stopping = true;
	ev->deadline_ms = ev->now_ms + ev->cf->shutdown_timeout * 1000;
	log_info("shutting down: %ld connection%s open, waiting up to %lds", ev->nconns,
	    ev->nconns == 1 ? "" : "s", ev->cf->shutdown_timeout);
}

/*
 * The connection is cut (the drain deadline, a second stop signal, idle
 * expiry): whatever the client already sent is still handed to the
 * handler, with replies dropped so a full sink cannot hold input back, so
 * the logger records every line received, in order and without a gap.
 * read_rest (the deadline) also reads what waits in the socket, up to
 * LOOP_DRAIN_READS reads; the other cuts end at what was read.
 */
static void
conn_cut(struct evloop *ev, struct conn *c, bool read_rest)
{
	const struct handler *h = c->svc->handler;
	void *st = conn_state(c);
	bool eof = (c->flags & C_RD_EOF) != 0;

	sink_clear(&c->out);
	sink_release(&c->out);
	for (int i = 0; i <= LOOP_DRAIN_READS; i++) {
		while (c->in.len > 0) {
			ssize_t used = h->data(st, buf_peek(&c->in), c->in.len, &c->out);
			if (used < 0)
				goto out;
			sink_clear(&c->out);	/* before the lent-from input moves */
			buf_consume(&c->in, (size_t)used);
			if (used == 0 && c->out.held)
				goto out;	/* its output is stuck (before the cut) */
			sink_release(&c->out);
		}
		if (eof || !read_rest || i == LOOP_DRAIN_READS)
			break;
		ssize_t n = read(c->fd, ev->rbuf, LOOP_READ_SIZE);
		if (n <= 0) {
			eof = n == 0;
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		if (buf_append(&c->in, ev->rbuf, (size_t)n) < 0)
			goto out;
	}
	if (!(c->flags & C_EOF_DONE))
		h->eof(st, &c->out);	/* a partial last line is a line */
out:
	sink_clear(&c->out);
	conn_close(ev, c);
}

/* True when another service before index i watches the same descriptor. */
static bool
out_fd_taken(const struct evloop *ev, size_t i, int fd)
{
	for (size_t k = 0; k < i; k++)
		if (ev->out_fd[k] == fd)
			return true;
	return false;
}

/*
 * The handlers' own outputs (the logger's pipe): writes what they queued
 * and watches each output that still holds some for writability.
 * Services may share an output, hence one registration per descriptor.
 */
static void
outputs_watch(struct evloop *ev)
{
	struct config *cf = ev->cf;

	for (size_t i = 0; i < cf->nsvcs; i++) {
		const struct handler *h = cf->svcs[i].handler;
		bool room = true;
		int fd = h->backlog ? h->backlog(&cf->svcs[i], &room) : -1;
		int old = ev->out_fd[i];

		ev->out_room[i] = room;
		if (fd == old)
			continue;
		ev->out_fd[i] = -1;
		if (old >= 0 && !out_fd_taken(ev, cf->nsvcs, old)) {
			ev->be->set(&ev->l, old, LOOP_WRITE, 0);
			ev->nwatched--;
		}
		if (fd >= 0 && !out_fd_taken(ev, cf->nsvcs, fd)) {
			if (ev->be->set(&ev->l, fd, 0, LOOP_WRITE) < 0) {
				log_warn("%s: cannot watch output descriptor %d", ev->be->name, fd);
				continue;
			}
			ev->nwatched++;
		}
		ev->out_fd[i] = fd;
	}
}

/* Resumes the held connections whose service's output has room again;
 * how many. */
static int
held_release(struct evloop *ev)
{
	struct config *cf = ev->cf;
	int n = 0;

	for (struct conn *c = ev->held, *next; c != NULL; c = next) {
		next = c->hnext;
		if (!ev->out_room[c->svc - cf->svcs])
			continue;
		held_unlink(ev, c);
		sink_release(&c->out);
		n++;
		/* A call without input lets the handler send what it owes. */
		if (c->svc->handler->data(conn_state(c), "", 0, &c->out) < 0 ||
		    sink_keep(&c->out) < 0) {
			conn_close(ev, c);
			continue;
		}
		conn_settle(ev, c);	/* may hold it again: it goes back on the list */
	}
	return n;
}

/*
 * After every wake-up: the outputs, then the held connections of the
 * services whose output has room again, then the outputs again (those
 * connections may have queued records that nothing would otherwise
 * watch), a few rounds while that frees room.  Should held connections
 * with room remain, the next wait does not block (held_ready): nothing
 * is left for a wake-up that may not come.
 */
static void
loop_outputs(struct evloop *ev)
{
	outputs_watch(ev);
	for (int round = 0; round < 4 && ev->held != NULL; round++) {
		if (held_release(ev) == 0)
			break;
		outputs_watch(ev);
	}
	ev->held_ready = false;
	for (struct conn *c = ev->held; c != NULL && !ev->held_ready; c = c->hnext)
		ev->held_ready = ev->out_room[c->svc - ev->cf->svcs];
}

static int
wait_timeout(struct evloop *ev)
{
	long long due = -1, now = ev->now_ms;

	if (ev->cf->idle_timeout > 0 && ev->idle_head)
		due = ev->idle_head->active_ms + ev->cf->idle_timeout * 1000;
	if (ev->stopping && (due < 0 || ev->deadline_ms < due))
		due = ev->deadline_ms;
	if (ev->held_ready)
		return 0;
	for (size_t i = 0; i < ev->cf->nls && !ev->stopping; i++)
		if (ev->paused[i] > 0 && (due < 0 || ev->paused[i] < due))
			due = ev->paused[i];
	if (due < 0)
		return -1;
	return due <= now ? 0 : (int)(due - now > 86400000 ? 86400000 : due - now);
}

static void
expire_idle(struct evloop *ev)
{
	if (ev->cf->idle_timeout <= 0)
		return;
	while (ev->idle_head && ev->now_ms - ev->idle_head->active_ms >= ev->cf->idle_timeout * 1000) {
		struct conn *c = ev->idle_head;
		if (c->flags & C_HELD) {
			/* It waits for its handler's output, not for the client. */
			idle_touch(ev, c);
			continue;
		}
		log_debug("closing idle connection on descriptor %d", c->fd);
		conn_cut(ev, c, false);
	}
}

static int
setsize_wanted(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > 1048576)
		return 1048576;
	return (int)rl.rlim_cur;
}

static int
loop_init(struct evloop *ev, struct config *cf, const struct backend *be)
{
	int want = setsize_wanted();

	memset(ev, 0, sizeof(*ev));
	ev->now_ms = sig_now_ms();
	ev->cf = cf;
	ev->be = be;
	ev->warn_setsize = (struct log_rate)LOG_RATE_INIT(10);
	ev->warn_accept = (struct log_rate)LOG_RATE_INIT(10);
	ev->out_fd = malloc((cf->nsvcs + 1) * sizeof(*ev->out_fd));
	ev->out_room = calloc(cf->nsvcs + 1, sizeof(*ev->out_room));
	ev->paused = calloc(cf->nls + 1, sizeof(*ev->paused));
	if (ev->out_fd == NULL || ev->out_room == NULL || ev->paused == NULL)
		return -1;
	for (size_t i = 0; i < cf->nsvcs; i++)
		ev->out_fd[i] = -1;
	/* One thread serves everyone: handlers must never wait on an output. */
	handler_nowait = true;
	ev->l.fired = calloc((size_t)want, sizeof(struct fired));
	if (ev->l.fired == NULL)
		return -1;
	ev->l.setsize = be->init(&ev->l, want);
	if (ev->l.setsize < 0)
		return -1;
	if (ev->l.setsize < want)
		log_info("%s: serving descriptors below %d only", be->name, ev->l.setsize);
	ev->conns = calloc((size_t)ev->l.setsize, sizeof(*ev->conns));
	ev->rbuf = malloc(LOOP_READ_SIZE);
	if (ev->conns == NULL || ev->rbuf == NULL)
		return -1;
	if (be->set(&ev->l, sig_fd(), 0, LOOP_READ) < 0)
		return -1;
	for (size_t i = 0; i < cf->nls; i++)
		if (be->set(&ev->l, cf->ls[i].fd, 0, LOOP_READ) < 0)
			return -1;
	return 0;
}

static void
loop_fini(struct evloop *ev)
{
	/* Only after a second stop signal (or a failed wait) are connections
	 * left: what they sent is handed over, the unread rest is cut.  Nobody
	 * is served any more, so handlers may wait on their outputs again
	 * (within the cut's grace, see handler.h). */
	handler_nowait = false;
	if (ev->conns) {
		for (int fd = 0; fd < ev->l.setsize; fd++)
			if (ev->conns[fd])
				conn_cut(ev, ev->conns[fd], false);
	}
	if (ev->l.setsize > 0)
		ev->be->fini(&ev->l);
	free(ev->out_fd);
	free(ev->out_room);
	free(ev->paused);
	free(ev->conns);
	free(ev->rbuf);
	free(ev->l.fired);
}

int
loop_run(struct config *cf, const struct backend *be)
{
	struct evloop ev;
	int status = 0;

	if (loop_init(&ev, cf, be) < 0) {
		log_err("%s: cannot start the loop", be->name);
		loop_fini(&ev);
		return 1;
	}
	for (;;) {
		/* Stopped: once the connections are done and the handlers'
		 * outputs took what was queued for them, or at the deadline. */
		if (ev.stopping && ev.nconns == 0 && (ev.nwatched == 0 || ev.now_ms >= ev.deadline_ms))
			break;
		int n = be->wait(&ev.l, wait_timeout(&ev));
		if (n < 0) {
			log_err("%s: wait", be->name);
			status = 1;
			break;
		}
		ev.now_ms = sig_now_ms();
		bool signalled = false;
		int nlisten = 0;
		for (int i = 0; i < n; i++) {
			struct fired *f = &ev.l.fired[i];
			struct conn *c = f->fd < ev.l.setsize ? ev.conns[f->fd] : NULL;
			if (c == NULL) {
				/* Listeners and the signal pipe are handled after
				 * the connections, so that a descriptor closed above
				 * and reused by accept is never confused with a
				 * stale event. */
				if (f->fd == sig_fd())
					signalled = true;
				else
					ev.l.fired[nlisten++] = *f;
				continue;
			}
			if (f->mask & LOOP_WRITE) {
				if (conn_flush(&ev, c) < 0) {
					conn_close(&ev, c);
					continue;
				}
				if (!(f->mask & LOOP_READ) || !(c->mask & LOOP_READ)) {
					conn_settle(&ev, c);
					continue;
				}
			}
			if ((f->mask & LOOP_READ) && (c->mask & LOOP_READ))
				conn_readable(&ev, c);
			else if (f->mask & LOOP_READ)
				conn_settle(&ev, c);
		}
		for (int i = 0; i < nlisten && !ev.stopping; i++) {
			struct listener *ls = find_listener(cf, ev.l.fired[i].fd);
			if (ls)
				conn_accept(&ev, ls);
		}
		if (signalled) {
			int stop = model_signals(cf);
			if (stop >= 2) {
				log_info("second stop signal: exiting now, dropping %ld connection%s",
				    ev.nconns, ev.nconns == 1 ? "" : "s");
				break;
			}
			if (stop && !ev.stopping)
				begin_stop(&ev);
		}
		expire_idle(&ev);
		listeners_resume(&ev);
		if (ev.stopping && ev.now_ms >= ev.deadline_ms) {
			handler_nowait = false;	/* as in loop_fini */
			for (int fd = 0; fd < ev.l.setsize; fd++)
				if (ev.conns[fd])
					conn_cut(&ev, ev.conns[fd], true);
		}
		loop_outputs(&ev);
	}
	loop_fini(&ev);
	return status;
}
