/* uring_accept.c - the io_uring model's accepted connections: their peer, admission, their start. */
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
