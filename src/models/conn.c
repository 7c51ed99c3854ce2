/* conn.c - one connection of the readiness loop: feed the handler, send, hold, cut. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../admit.h"
#include "../conf.h"
#include "../handler.h"
#include "../log.h"
#include "../net.h"
#include "../sink.h"
#include "../stats.h"
#include "loop_int.h"

void *
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
void
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

void
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

void
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
int
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
int
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
void
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

/*
 * The connection is cut (the drain deadline, a second stop signal, idle
 * expiry): whatever the client already sent is still handed to the
 * handler, with replies dropped so a full sink cannot hold input back, so
 * the logger records every line received, in order and without a gap.
 * read_rest (the deadline) also reads what waits in the socket, up to
 * LOOP_DRAIN_READS reads; the other cuts end at what was read.
 */
void
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

