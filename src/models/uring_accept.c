/* uring_accept.c - the io_uring model's accepts: their completions, out of descriptors, the connections: their peer, admission, their start. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../admit.h"
#include "../conf.h"
#include "../conn.h"
#include "../log.h"
#include "../net.h"
#include "../sig.h"
#include "uring_int.h"

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
	u->in_head = u->in_tail = u->q_head = u->q_tail = -1;
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

static void
listener_pause(struct ur *ur, size_t i)
{
	ur_listener_cancel(ur, i);
	ur->lst[i].paused = ur->cs.now_ms + UR_ACCEPT_PAUSE_MS;
}

/*
 * The kernel could not give a descriptor (EMFILE, ENFILE): the connection
 * is still pending.  As the readiness loops do, net_accept sheds it on
 * the spare descriptor and the refusal is counted; when nothing shed it,
 * the listener rests.
 */
static bool
shed(struct ur *ur, size_t i)
{
	struct listener *ls = &ur->cf->ls[i];
	bool got = false;

	for (int k = 0; k < 64; k++) {
		struct peer peer;
		int fd = net_accept(ls->fd, &peer, SOCK_NONBLOCK);

		if (fd >= 0) {
			uc_accepted(ur, ls, fd);
			got = true;
			continue;
		}
		if (errno == EMFILE || errno == ENFILE) {
			admit_refuse(ls, -1, REFUSE_NO_FDS);
			got = false;
			if (net_spare_ready())
				continue;
			listener_pause(ur, i);
			break;
		}
		if (errno == ECONNABORTED || errno == EPROTO || errno == EPERM)
			continue;
		break;
	}
	return got;
}

/* Out of descriptors: the listener is polled until an accept succeeds. */
void
ur_out_of_fds(struct ur *ur, size_t i)
{
	ur->lst[i].poll = !shed(ur, i);
	if (ur->lst[i].poll && ur->lst[i].on && (ur->lst[i].ud >> 32 & 0xffffff) == 0)
		ur_listener_cancel(ur, i); /* a multishot accept still armed */
}

void
ur_accepted(struct ur *ur, size_t i, int res)
{
	struct listener *ls;

	/* Stopping, the listeners are closed: what the accept still took is
	 * closed too, but by a worker a reload replaced, which serves it. */
	if (ur->exiting || (ur->stopping && ur->deadline_ms != SIG_NO_DEADLINE)) {
		if (res >= 0)
			close(res);
		return;
	}
	ls = &ur->cf->ls[i];
	if (res >= 0) {
		uc_accepted(ur, ls, res);
		return;
	}
	if (res == -ECANCELED)
		return;
	if (res == -EMFILE || res == -ENFILE) {
		ur_out_of_fds(ur, i);
		return;
	}
	if (res == -ECONNABORTED || res == -EPROTO || res == -EPERM || res == -EINTR ||
	    res == -EAGAIN)
		return;
	if (log_rate_ok(&ur->warn_accept))
		log_warnx("%s: accept: %s (not accepting for %d ms)", ls->addr, strerror(-res),
		    UR_ACCEPT_PAUSE_MS);
	listener_pause(ur, i);
}
