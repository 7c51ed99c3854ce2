/* uring_conn.c - the io_uring model's connections: multishot receive, one send in flight, closing after the last completion. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
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
 * Input that arrives meanwhile is kept (c->in) and the receive cancelled,
 * so a connection holds about one buffer's worth of input; the handler
 * gets it when the send completed.
 */

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

static void
send_arm(struct ur *ur, struct uconn *u)
{
	struct conn *c = u->c;
	struct io_uring_sqe *sqe = ur_sqe(ur);

	io_uring_prep_send(sqe, c->fd, sink_peek(&c->out), sink_pending(&c->out), MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, ur_ud(UR_SEND, u->gen, (uint32_t)c->fd));
	u->sending = true;
	u->nops++;
	ur->inflight++;
}

/* The buffer a lent reply pointed into goes back once nothing is lent. */
static void
unhold(struct ur *ur, struct uconn *u)
{
	if (u->hold >= 0 && u->c->out.lent_len == 0) {
		ur_buf_return(ur, u->hold);
		u->hold = -1;
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
	if (u->hold >= 0)
		ur_buf_return(ur, u->hold);
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
	if (!u->sending) {
		if (conn_settle(c) < 0)
			goto close;
		for (int i = 0;
		     i < UR_MORE_ROUNDS && sink_pending(&c->out) == 0 && conn_producing(c); i++)
			if (conn_produce(c) < 0)
				goto close;
		unhold(ur, u);
		if (sink_pending(&c->out) > 0) {
			send_arm(ur, u);
		} else {
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
		if (u->end != UC_OPEN || u->sending) {
			/* The cut hands it over; or after the send. */
			int r = keep_input(ur, c, p, (size_t)res);
			ur_buf_return(ur, bid);
			if (r < 0)
				uc_close(ur, u, UC_CLOSE);
			else
				recv_stop(ur, u);
			return;
		}
		u->hold = bid; /* until nothing is lent from it (unhold) */
		if (conn_input(&ur->cs, c, p, (size_t)res) < 0) {
			uc_close(ur, u, UC_CLOSE);
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
	if (res <= 0) {
		if (res == -EINTR || res == -EAGAIN) {
			uc_settle(ur, u);
			return;
		}
		uc_close(ur, u, UC_CLOSE);
		return;
	}
	conn_sent(&ur->cs, c, (size_t)res);
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

/*
 * The peer accept(2) would have named.  A connection the client already
 * reset is still served (what it sent is handled, a logger records it),
 * but getpeername says ENOTCONN for it: SO_PEERNAME asks the way accept
 * does, with the exact length of the family's address.
 */
static int
peer_of(int fd, struct peer *peer)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	peer->salen = sizeof(peer->sa);
	if (getpeername(fd, (struct sockaddr *)&peer->sa, &peer->salen) < 0) {
		if (errno != ENOTCONN || getsockname(fd, (struct sockaddr *)&local, &len) < 0 ||
		    (local.ss_family != AF_INET && local.ss_family != AF_INET6))
			return -1;
		peer->salen = local.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
		                                           sizeof(struct sockaddr_in6);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERNAME, &peer->sa, &peer->salen) < 0)
			return -1;
	}
	net_peer_name((struct sockaddr *)&peer->sa, peer->salen, peer->text, sizeof(peer->text));
	return 0;
}

void
uc_accepted(struct ur *ur, struct listener *ls, int fd)
{
	struct peer peer;
	struct uconn *u;
	struct conn *c;

	if (peer_of(fd, &peer) < 0) {
		close(fd);
		return;
	}
	if (fd >= ur->ucsize) {
		admit_refuse(ls, fd, REFUSE_FDSETSIZE);
		if (log_rate_ok(&ur->warn_setsize))
			log_warnx("%s: closed connection from %s: descriptor %d is beyond the "
			          "limit (%d)",
			    ls->addr, peer.text, fd, ur->ucsize);
		return;
	}
	if (admit_take(ls, fd, &peer, ur->cs.n, ur->cf->max_clients) != REFUSE_NONE)
		return;
	c = conn_new(&ur->cs, ls->svc, fd, &peer, ur->cf->max_pending);
	u = c != NULL ? calloc(1, sizeof(*u)) : NULL;
	if (u == NULL) {
		log_warn("%s: refused %s", ls->addr, peer.text);
		if (c != NULL)
			conn_free(&ur->cs, c);
		admit_release(ls->svc, (struct sockaddr *)&peer.sa, peer.salen);
		close(fd);
		return;
	}
	u->c = c;
	u->gen = ++ur->gen & 0xffffff;
	u->hold = -1;
	ur->uc[fd] = u;
	if (fd > ur->maxfd)
		ur->maxfd = fd;
	log_debug("%s: connection from %s", ls->addr, peer.text);
	if (conn_start(c, &peer) < 0) {
		uc_close(ur, u, UC_CLOSE);
		return;
	}
	uc_settle(ur, u);
}
