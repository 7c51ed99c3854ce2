/* loop_conn.c - a readiness loop's connection I/O: read and send when told it may, register interest. */
#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../admit.h"
#include "../conf.h"
#include "../conn.h"
#include "../log.h"
#include "../net.h"
#include "../sink.h"
#include "loop_int.h"

void
loop_close(struct evloop *ev, struct conn *c)
{
	if (c->io && ev->be->set(&ev->l, c->fd, c->io, 0) < 0)
		log_warn("%s: cannot unregister descriptor %d", ev->be->name, c->fd);
	ev->conns[c->fd] = NULL;
	close(c->fd);
	admit_release(c->svc, (struct sockaddr *)&c->sa, c->salen);
	conn_free(&ev->cs, c);
}

/*
 * Registers the interest the connection's state calls for (conn_wants):
 * read while the handler can take input, write while replies are pending.
 * A sink its handler holds goes on the held list, which the loop looks at
 * when the handler's output drains: no connection is ever left with
 * nothing that would wake it.
 */
static int
update(struct evloop *ev, struct conn *c)
{
	int want = conn_wants(&ev->cs, c), mask = 0;

	if (want & CONN_WANT_READ)
		mask |= LOOP_READ;
	if (want & CONN_WANT_WRITE)
		mask |= LOOP_WRITE;
	if (mask != c->io) {
		if (ev->be->set(&ev->l, c->fd, c->io, mask) < 0) {
			log_warn("%s: cannot watch descriptor %d", ev->be->name, c->fd);
			return -1;
		}
		c->io = mask;
	}
	return 0;
}

/*
 * Sends pending replies until done or the socket is full; what is left is
 * then owned by the sink (lent bytes point into the read buffer, which the
 * next read overwrites).  -1: dead peer, or no memory to keep the rest.
 */
int
loop_flush(struct evloop *ev, struct conn *c)
{
	while (sink_pending(&c->out) > 0) {
		ssize_t n = send(c->fd, sink_peek(&c->out), sink_pending(&c->out),
		    MSG_NOSIGNAL | sink_send_more(&c->out));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		conn_sent(&ev->cs, c, (size_t)n);
	}
	/* A file range follows the pending bytes: a few chunks per wake-up. */
	for (int i = 0;
	     i < LOOP_MORE_ROUNDS && sink_pending(&c->out) == 0 && sink_file_pending(&c->out) > 0;
	     i++) {
		ssize_t n = sink_sendfile(&c->out, c->fd, SINK_FILE_CHUNK);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		conn_sent_file(&ev->cs, c, (size_t)n);
	}
	return sink_keep(&c->out);
}

/*
 * Everything after a readiness event: feed, send, decide, re-register.
 * Feeding and sending alternate until the input is consumed, the socket
 * is full or the handler holds: a connection with kept input and room in
 * its sink is never left waiting for a wake-up that cannot come (audit
 * finding 1).  Each round consumes input or sends replies, so this ends
 * within the one read's worth of input the connection keeps.  A handler
 * producing without input (chargen) gets a few rounds while the socket
 * takes all it makes: a fast reader cannot starve the others.
 * 0, or -1 when the connection was closed (c is gone).
 */
int
loop_settle(struct evloop *ev, struct conn *c)
{
	for (;;) {
		size_t before = c->in.len, queued, file;

		if (conn_settle(c) < 0)
			goto close;
		queued = sink_pending(&c->out);
		file = sink_file_pending(&c->out);
		if (loop_flush(ev, c) < 0)
			goto close;
		if (c->in.len == 0 || sink_full(&c->out) || sink_pending(&c->out) > 0)
			break;
		if (c->in.len == before && queued == 0 && file == 0)
			break; /* no progress: the handler broke its contract */
	}
	for (int i = 0; i < LOOP_MORE_ROUNDS && sink_pending(&c->out) == 0 && conn_producing(c);
	     i++)
		if (conn_produce(c) < 0 || loop_flush(ev, c) < 0)
			goto close;
	switch (conn_done(c)) {
	case CONN_CLOSE_GENTLY:
		net_end_gently(c->fd);
		goto close;
	case CONN_FINISHED:
		goto close;
	case CONN_GOING:
		break;
	}
	if (update(ev, c) < 0)
		goto close;
	return 0;
close:
	loop_close(ev, c);
	return -1;
}

/*
 * A read that fills the buffer suggests more is waiting: once its replies
 * are all sent, read again instead of going back to the wait, at most
 * LOOP_READ_ROUNDS times, so a streaming client saves a wait per read and
 * still cannot starve the others.
 */
void
loop_readable(struct evloop *ev, struct conn *c)
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
			if (conn_input(&ev->cs, c, ev->rbuf, (size_t)n) < 0) {
				loop_close(ev, c);
				return;
			}
		} else if (n == 0) {
			conn_input_end(c);
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			loop_close(ev, c);
			return;
		} else if (round > 0) {
			return; /* settled after the previous read */
		}
		/* Only a full read suggests more: not a short one, the end of
		 * stream or a wake-up with nothing to read. */
		if (loop_settle(ev, c) < 0 || n <= 0 || (size_t)n < want || !(c->io & LOOP_READ) ||
		    sink_pending(&c->out) > 0)
			return;
	}
}

/* The drain deadline reads what waits in the socket; the other cuts
 * (a second stop signal, idle expiry) end at what was read. */
void
loop_cut(struct evloop *ev, struct conn *c, bool read_rest)
{
	conn_cut(c, read_rest ? c->fd : -1, ev->rbuf, LOOP_READ_SIZE);
	loop_close(ev, c);
}
