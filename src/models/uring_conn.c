/* uring_conn.c - the io_uring model's connections: multishot receive, one send in flight, closing after the last completion. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../admit.h"
#include "../conf.h"
#include "../conn.h"
#include "../log.h"
#include "../net.h"
#include "../sink.h"
#include "../stats.h"
#include "uring_int.h"

/*
 * The rule that keeps the kernel's view of memory right: while a send is
 * in flight the handler is not called, so the bytes it reads (lent ones
 * in a received buffer, or the sink's own storage) neither move nor go.
 * Input that arrives meanwhile stays in its received buffers, in order
 * (the held input), and the receive goes on until they hold max_pending
 * bytes; the handler gets them when the send completed.  A reply the
 * handler lends from a received buffer (echo) leaves the sink for the
 * connection's queue of lent parts: one send (sendmsg over several
 * buffers) then carries every part, no byte copied, and each buffer goes
 * back to the ring once its part was sent.  The queue is fed only while
 * it holds less than max_pending bytes, so a connection holds at most
 * about twice max_pending in buffers, and no memory of its own.
 */

/* Buffer lists (held input, lent parts), threaded through ur->bnext. */
static void
list_push(struct ur *ur, int *head, int *tail, int bid)
{
	ur->bnext[bid] = -1;
	if (*tail >= 0)
		ur->bnext[*tail] = bid;
	else
		*head = bid;
	*tail = bid;
}

static int
list_pop(struct ur *ur, int *head, int *tail)
{
	int bid = *head;

	*head = ur->bnext[bid];
	if (*head < 0)
		*tail = -1;
	return bid;
}

static const char *
bytes_of(const struct ur *ur, int bid)
{
	return ur->bufs + (size_t)bid * UR_BUF_SIZE + ur->boff[bid];
}

static void
recv_arm(struct ur *ur, struct uconn *u)
{
	struct io_uring_sqe *sqe = ur_sqe(ur);

	io_uring_prep_recv_multishot(sqe, u->c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = UR_BGID;
	io_uring_sqe_set_data64(sqe, ur_ud(UR_RECV, u->gen, (uint32_t)u->c->fd));
	u->recv_on = true;
	u->recv_cancel = false;
	u->nops++;
	ur->inflight++;
}

static void
recv_stop(struct ur *ur, struct uconn *u)
{
	if (!u->recv_on || u->recv_cancel)
		return;
	ur_cancel(ur, ur_ud(UR_RECV, u->gen, (uint32_t)u->c->fd));
	u->recv_cancel = true;
}

/* One send: the lent parts in order (up to UR_IOV_MAX), then the sink's bytes. */
static void
send_arm(struct ur *ur, struct uconn *u)
{
	struct conn *c = u->c;
	struct io_uring_sqe *sqe = ur_sqe(ur);
	int flags = MSG_NOSIGNAL | sink_send_more(&c->out);

	if (u->q_n == 0) {
		io_uring_prep_send(sqe, c->fd, sink_peek(&c->out), sink_pending(&c->out), flags);
	} else if ((u->q_n == 1 && sink_pending(&c->out) == 0) ||
	    (u->sv == NULL && (u->sv = malloc(sizeof(*u->sv))) == NULL)) {
		io_uring_prep_send(sqe, c->fd, bytes_of(ur, u->q_head), ur->blen[u->q_head], flags);
	} else {
		struct usend *sv = u->sv;
		int k = 0, bid = u->q_head;

		for (; bid >= 0 && k < UR_IOV_MAX; bid = ur->bnext[bid], k++) {
			sv->iov[k].iov_base = (void *)bytes_of(ur, bid);
			sv->iov[k].iov_len = ur->blen[bid];
		}
		if (bid < 0 && sink_pending(&c->out) > 0) {
			sv->iov[k].iov_base = (void *)sink_peek(&c->out);
			sv->iov[k++].iov_len = sink_pending(&c->out);
		}
		memset(&sv->mh, 0, sizeof(sv->mh));
		sv->mh.msg_iov = sv->iov;
		sv->mh.msg_iovlen = (size_t)k;
		io_uring_prep_sendmsg(sqe, c->fd, &sv->mh, flags);
	}
	io_uring_sqe_set_data64(sqe, ur_ud(UR_SEND, u->gen, (uint32_t)c->fd));
	u->sending = true;
	u->nops++;
	ur->inflight++;
}

/*
 * A file range (sink_file) has no io_uring operation of its own that
 * sends without a copy, so it goes the way it does on a readiness loop:
 * sendfile(2) into the non-blocking socket while it takes bytes, a few
 * chunks per turn, then a poll for room (the socket full, or the turn
 * over) as the connection's one operation in flight.  The loop still
 * waits only in io_uring_enter.  0: nothing of it is left; 1: the poll
 * is armed; -1: the connection must close.
 */
static int
file_send(struct ur *ur, struct uconn *u)
{
	struct conn *c = u->c;
	struct io_uring_sqe *sqe;

	for (int i = 0; i < UR_MORE_ROUNDS && sink_file_pending(&c->out) > 0; i++) {
		ssize_t n = sink_sendfile(&c->out, c->fd, SINK_FILE_CHUNK);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			break;
		}
		conn_sent_file(&ur->cs, c, (size_t)n);
	}
	if (sink_file_pending(&c->out) == 0)
		return 0;
	sqe = ur_sqe(ur);
	io_uring_prep_poll_add(sqe, c->fd, POLLOUT);
	io_uring_sqe_set_data64(sqe, ur_ud(UR_SEND, u->gen, (uint32_t)c->fd));
	u->sending = true;
	u->file_poll = true;
	u->nops++;
	ur->inflight++;
	return 1;
}

/*
 * The handler was given p[0..n) of buffer bid: a reply lent from it
 * becomes a queued part (the buffer stays out of the ring until it was
 * sent), else the buffer goes back at once.
 */
static void
lent_take(struct ur *ur, struct uconn *u, int bid, const char *p, size_t n)
{
	struct sink *out = &u->c->out;

	if (out->lent_len > 0 && out->lent >= p && out->lent + out->lent_len <= p + n) {
		ur->boff[bid] = (uint32_t)(out->lent - (ur->bufs + (size_t)bid * UR_BUF_SIZE));
		ur->blen[bid] = (uint32_t)out->lent_len;
		list_push(ur, &u->q_head, &u->q_tail, bid);
		u->q_bytes += out->lent_len;
		u->q_n++;
		sink_consume(out, out->lent_len);
		return;
	}
	ur_buf_return(ur, bid);
}

/*
 * Hands the held input to the handler, in order, while nothing is kept
 * in c->in before it and the queue and the sink have room; then the end
 * of stream that came after it.  0, or -1: close.
 */
static int
feed(struct ur *ur, struct uconn *u)
{
	struct conn *c = u->c;

	while (
	    u->in_head >= 0 && c->in.len == 0 && u->q_bytes < c->out.cap && !sink_full(&c->out)) {
		int bid = list_pop(ur, &u->in_head, &u->in_tail);
		const char *p = bytes_of(ur, bid);
		size_t n = ur->blen[bid];

		u->in_bytes -= n;
		if (conn_input(&ur->cs, c, p, n) < 0) {
			ur_buf_return(ur, bid);
			return -1;
		}
		lent_take(ur, u, bid, p, n);
	}
	if (u->in_head < 0 && u->eof_held) {
		u->eof_held = false;
		conn_input_end(c);
	}
	return 0;
}

/* Closing: the held input becomes kept input (a cut still hands it over). */
static void
held_to_kept(struct ur *ur, struct uconn *u)
{
	while (u->in_head >= 0) {
		int bid = list_pop(ur, &u->in_head, &u->in_tail);

		(void)buf_append(&u->c->in, bytes_of(ur, bid), ur->blen[bid]);
		stats_add(&u->c->svc->stats->bytes_in, ur->blen[bid]);
		ur_buf_return(ur, bid);
	}
	u->in_bytes = 0;
	if (u->eof_held) {
		u->eof_held = false;
		conn_input_end(u->c);
	}
}

/* The last operation completed: the end asked for, then the close. */
static void
finish(struct ur *ur, struct uconn *u)
{
	struct conn *c = u->c;
	int fd = c->fd;

	switch (u->end) {
	case UC_CUT_READ:
	case UC_CUT:
		conn_cut(c, u->end == UC_CUT_READ ? fd : -1, ur->cutbuf, UR_CUT_SIZE);
		break;
	case UC_GENTLY:
		net_end_gently(fd);
		break;
	default:
		break;
	}
	if (u->starved)
		for (struct uconn **pp = &ur->starved; *pp != NULL; pp = &(*pp)->snext)
			if (*pp == u) {
				*pp = u->snext;
				break;
			}
	ur->uc[fd] = NULL;
	close(fd);
	admit_release(c->svc, (struct sockaddr *)&c->sa, c->salen);
	conn_free(&ur->cs, c);
	while (u->q_head >= 0)
		ur_buf_return(ur, list_pop(ur, &u->q_head, &u->q_tail));
	while (u->in_head >= 0)
		ur_buf_return(ur, list_pop(ur, &u->in_head, &u->in_tail));
	free(u->sv);
	free(u);
}

void
uc_close(struct ur *ur, struct uconn *u, enum uc_end end)
{
	if (u->end != UC_OPEN) {
		/* Already closing: a cut asked for later still hands over
		 * what was received. */
		if (end > u->end)
			u->end = end;
		return;
	}
	u->end = end;
	held_to_kept(ur, u);
	conn_held_unlink(&ur->cs, u->c);
	recv_stop(ur, u);
	if (u->sending)
		ur_cancel(ur, ur_ud(UR_SEND, u->gen, (uint32_t)u->c->fd));
	if (u->nops == 0)
		finish(ur, u);
}

void
uc_settle(struct ur *ur, struct uconn *u)
{
	struct conn *c = u->c;

	if (u->end != UC_OPEN)
		return;
again:
	if (!u->sending) {
		if (feed(ur, u) < 0 || conn_settle(c) < 0)
			goto close;
		if (u->in_head >= 0 && c->in.len == 0 && (feed(ur, u) < 0 || conn_settle(c) < 0))
			goto close;
		for (int i = 0; i < UR_MORE_ROUNDS && sink_pending(&c->out) == 0 && u->q_n == 0 &&
		     conn_producing(c);
		     i++)
			if (conn_produce(c) < 0)
				goto close;
		if (u->q_n > 0 || sink_pending(&c->out) > 0) {
			send_arm(ur, u);
		} else if (sink_file_pending(&c->out) > 0) {
			int r = file_send(ur, u);
			if (r < 0)
				goto close;
			if (r == 0)
				goto again; /* sent: the handler goes on */
		} else if (u->in_head < 0) {
			switch (conn_done(c)) {
			case CONN_CLOSE_GENTLY:
				uc_close(ur, u, UC_GENTLY);
				return;
			case CONN_FINISHED:
				uc_close(ur, u, UC_CLOSE);
				return;
			case CONN_GOING:
				break;
			}
		}
	}
	/* Receiving goes on while a send is in flight (the sink reads full
	 * then, but only until it completes): a producing handler (chargen)
	 * still reads and drops what its client sends, and a client that
	 * does not read gets one more buffer kept before the receive stops. */
	bool want = (conn_wants(&ur->cs, c) & CONN_WANT_READ) != 0;
	if (u->sending && c->in.len == 0 && !(c->flags & CONN_RD_EOF) && !c->out.held)
		want = true;
	if (u->in_bytes >= c->out.cap || u->eof_held)
		want = false;
	if (want) {
		if (!u->recv_on && !u->starved)
			recv_arm(ur, u);
	} else {
		recv_stop(ur, u);
	}
	return;
close:
	uc_close(ur, u, UC_CLOSE);
}

/* Input the handler cannot be given now: kept, counted as conn_input would. */
static int
keep_input(struct ur *ur, struct conn *c, const char *p, size_t n)
{
	stats_add(&c->svc->stats->bytes_in, (unsigned long long)n);
	conn_touch(&ur->cs, c);
	return buf_append(&c->in, p, n);
}

static void
starve(struct ur *ur, struct uconn *u)
{
	if (u->starved)
		return;
	u->starved = true;
	u->snext = ur->starved;
	ur->starved = u;
}

void
uc_unstarve(struct ur *ur)
{
	while (ur->starved != NULL && ur->nfree > 0) {
		struct uconn *u = ur->starved;
		ur->starved = u->snext;
		u->starved = false;
		u->snext = NULL;
		uc_settle(ur, u);
	}
}

static void
received(struct ur *ur, struct uconn *u, int res, uint32_t flags)
{
	struct conn *c = u->c;
	int bid = -1;

	if (flags & IORING_CQE_F_BUFFER) {
		bid = (int)(flags >> IORING_CQE_BUFFER_SHIFT);
		ur->nfree--;
	}
	if (!(flags & IORING_CQE_F_MORE)) {
		u->recv_on = false;
		u->recv_cancel = false;
	}
	if (res > 0 && bid >= 0) {
		const char *p = ur->bufs + (size_t)bid * UR_BUF_SIZE;
		if (u->end == UC_CLOSE || u->end == UC_GENTLY) {
			ur_buf_return(ur, bid); /* nobody reads it any more */
			return;
		}
		if (u->end != UC_OPEN) {
			/* The cut hands it over. */
			int r = keep_input(ur, c, p, (size_t)res);
			ur_buf_return(ur, bid);
			if (r < 0)
				uc_close(ur, u, UC_CLOSE);
			else
				recv_stop(ur, u);
			return;
		}
		ur->boff[bid] = 0;
		ur->blen[bid] = (uint32_t)res;
		list_push(ur, &u->in_head, &u->in_tail, bid);
		u->in_bytes += (size_t)res;
		if (u->sending) {
			/* The handler gets it after the send. */
			conn_touch(&ur->cs, c);
			if (u->in_bytes >= c->out.cap)
				recv_stop(ur, u);
			return;
		}
		uc_settle(ur, u);
		return;
	}
	if (bid >= 0)
		ur_buf_return(ur, bid);
	if (u->end != UC_OPEN)
		return;
	if (res == 0) {
		if (u->in_head >= 0)
			u->eof_held = true; /* after the held input */
		else
			conn_input_end(c);
	} else if (res == -ENOBUFS) {
		starve(ur, u);
		return;
	} else if (res != -ECANCELED && res != -EINTR && res != -EAGAIN) {
		uc_close(ur, u, UC_CLOSE);
		return;
	}
	uc_settle(ur, u);
}

static void
sent(struct ur *ur, struct uconn *u, int res)
{
	struct conn *c = u->c;

	u->sending = false;
	if (u->end != UC_OPEN)
		return;
	if (u->file_poll) {
		u->file_poll = false; /* room, or an error sendfile will name */
		uc_settle(ur, u);
		return;
	}
	if (res <= 0) {
		if (res == -EINTR || res == -EAGAIN) {
			uc_settle(ur, u);
			return;
		}
		uc_close(ur, u, UC_CLOSE);
		return;
	}
	size_t n = (size_t)res;
	while (n > 0 && u->q_head >= 0) {
		int bid = u->q_head;
		size_t take = n < ur->blen[bid] ? n : ur->blen[bid];

		ur->boff[bid] += (uint32_t)take;
		ur->blen[bid] -= (uint32_t)take;
		u->q_bytes -= take;
		n -= take;
		stats_add(&c->svc->stats->bytes_out, (unsigned long long)take);
		if (ur->blen[bid] == 0) {
			ur_buf_return(ur, list_pop(ur, &u->q_head, &u->q_tail));
			u->q_n--;
		}
	}
	if (n > 0)
		conn_sent(&ur->cs, c, n);
	else
		conn_touch(&ur->cs, c);
	if (u->q_n == 0 && u->sv != NULL) {
		free(u->sv);
		u->sv = NULL;
	}
	uc_settle(ur, u);
}

void
uc_complete(struct ur *ur, enum ur_kind k, uint32_t gen, uint32_t fd, int res, uint32_t flags)
{
	struct uconn *u = (int)fd < ur->ucsize ? ur->uc[fd] : NULL;
	bool last = !(flags & IORING_CQE_F_MORE);

	if (u == NULL || (u->gen & 0xffffff) != gen) {
		/* Cannot happen: a connection lives until its last completion. */
		if (flags & IORING_CQE_F_BUFFER)
			ur_buf_return(ur, (int)(flags >> IORING_CQE_BUFFER_SHIFT));
		return;
	}
	if (last)
		u->nops--;
	if (k == UR_RECV)
		received(ur, u, res, flags);
	else
		sent(ur, u, res);
	/* received() and sent() may have freed u only through uc_close, which
	 * frees only when nothing is in flight: look it up again. */
	u = ur->uc[fd];
	if (u != NULL && (u->gen & 0xffffff) == gen && u->end != UC_OPEN && u->nops == 0)
		finish(ur, u);
}
