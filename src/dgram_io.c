/* dgram_io.c - datagram I/O for the models: receive with the local address, reply from it. */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "dgram.h"
#include "net.h"

/*
 * Room for one packet-info control message, either family.  A dual-stack
 * socket asked for both may receive both for an IPv4 datagram.
 */
#define DGRAM_CMSG_SPACE \
	(CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(struct in6_pktinfo)))

/* sendmmsg per call in dgram_send_batch: bounds the stack it takes. */
#define DGRAM_SEND_CHUNK 64

union dgram_cmsg {
	char buf[DGRAM_CMSG_SPACE];
	struct cmsghdr align;
};

/*
 * The kernel's receive buffer default (net.core.rmem_default) is kept: a
 * larger SO_RCVBUF would let a flood queue more datagrams, not serve more,
 * and the operator tunes the sysctl for every socket at once.
 */
/* True when replies from a socket bound to sa need packet info. */
static bool
needs_pktinfo(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
		in_addr_t a = ntohl(s4->sin_addr.s_addr);

		return a == INADDR_ANY || IN_MULTICAST(a) || a == INADDR_BROADCAST;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		return IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) ||
		    IN6_IS_ADDR_MULTICAST(&s6->sin6_addr);
	}
	return false;
}

int
dgram_listener_setup(int fd, const struct sockaddr *local)
{
	int on = 1, v6only = 1;
	socklen_t len = sizeof(v6only);

	if (!needs_pktinfo(local))
		return 0;
	if (local->sa_family == AF_INET)
		return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) == -1)
		return -1;
	/*
	 * A dual-stack socket ("udp:*:PORT", IPV6_V6ONLY off) also receives
	 * IPv4: IP_PKTINFO gives those datagrams' local address as IPv4, with
	 * ipi_spec_dst, on every kernel.
	 */
	if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) == -1)
		return -1;
	if (!v6only && setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) == -1)
		return -1;
	return 0;
}

/* m's local address from the control messages of a received datagram. */
static void
take_dst(struct dgram_msg *m, struct msghdr *mh)
{
	struct cmsghdr *c;
	bool v4 = false;

	m->has_dst = false;
	memset(&m->dst, 0, sizeof(m->dst));
	if (mh->msg_flags & MSG_CTRUNC)
		return;
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&m->dst;
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			/*
			 * ipi_spec_dst, not ipi_addr: for a datagram sent to a
			 * broadcast or multicast address it is the interface's own
			 * address, the one a reply can leave from.
			 */
			memset(&m->dst, 0, sizeof(m->dst));
			s4->sin_family = AF_INET;
			s4->sin_addr = pi.ipi_spec_dst;
			m->has_dst = true;
			v4 = true;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo)) && !v4) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&m->dst;
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			/* No reply can leave from a multicast address: let routing choose. */
			if (IN6_IS_ADDR_MULTICAST(&pi.ipi6_addr))
				continue;
			s6->sin6_family = AF_INET6;
			s6->sin6_addr = pi.ipi6_addr;
			/* A link-local address means nothing without its interface. */
			if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
				s6->sin6_scope_id = (uint32_t)pi.ipi6_ifindex;
			m->has_dst = true;
		}
	}
}

/* m's peer from what recvmsg put in its name. */
static void
take_peer(struct dgram_msg *m, socklen_t namelen)
{
	struct peer *p = &m->peer;

	/*
	 * Only a unix socket leaves the name empty: its client never bound
	 * an address, so there is nowhere to reply.  Given the family alone,
	 * as accept(2) gives an unnamed unix client, dgram_send refuses it.
	 */
	if (namelen < (socklen_t)sizeof(sa_family_t)) {
		memset(&p->sa, 0, sizeof(sa_family_t));
		p->sa.ss_family = AF_UNIX;
		namelen = sizeof(sa_family_t);
	}
	p->salen = namelen;
	/* Formatted on first use (net_peer_text): most datagrams never need it. */
	p->text[0] = '\0';
}

/* The msghdr that receives into buf[0..size) and ctl, naming m->peer. */
static void
recv_header(struct msghdr *mh, struct iovec *iov, struct dgram_msg *m, char *buf, size_t size,
    union dgram_cmsg *ctl)
{
	iov->iov_base = buf;
	iov->iov_len = size;
	memset(mh, 0, sizeof(*mh));
	mh->msg_name = &m->peer.sa;
	mh->msg_namelen = sizeof(m->peer.sa);
	mh->msg_iov = iov;
	mh->msg_iovlen = 1;
	mh->msg_control = ctl->buf;
	mh->msg_controllen = sizeof(ctl->buf);
}

/* Fills m after recvmsg put n bytes into buf. */
static void
recv_done(struct dgram_msg *m, struct msghdr *mh, char *buf, size_t n)
{
	m->p = buf;
	m->len = n;
	/* MSG_TRUNC in msg_flags: the datagram was longer, its tail is lost. */
	m->truncated = (mh->msg_flags & MSG_TRUNC) != 0;
	take_peer(m, mh->msg_namelen);
	take_dst(m, mh);
}

int
dgram_recv(int fd, struct dgram_msg *m, char *buf, size_t size)
{
	union dgram_cmsg ctl;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;

	do {
		recv_header(&mh, &iov, m, buf, size, &ctl);
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	recv_done(m, &mh, buf, (size_t)n);
	return 1;
}

int
dgram_recv_batch(int fd, struct dgram_msg *ms, char *bufs, size_t each, int max)
{
	struct mmsghdr v[DGRAM_BATCH];
	struct iovec iov[DGRAM_BATCH];
	union dgram_cmsg ctl[DGRAM_BATCH];
	int n, i;

	if (max > DGRAM_BATCH)
		max = DGRAM_BATCH;
	if (max <= 0)
		return 0;
	for (i = 0; i < max; i++) {
		recv_header(&v[i].msg_hdr, &iov[i], &ms[i], bufs + (size_t)i * each, each, &ctl[i]);
		v[i].msg_len = 0;
	}
	do {
		n = recvmmsg(fd, v, (unsigned)max, MSG_DONTWAIT, NULL);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	for (i = 0; i < n; i++)
		recv_done(&ms[i], &v[i].msg_hdr, bufs + (size_t)i * each, v[i].msg_len);
	return n;
}

/*
 * The msghdr that sends p[0..n) to m->peer from m->dst.  -1 (EDESTADDRREQ)
 * for a peer with no address: an unbound unix client.
 */
static int
send_header(struct msghdr *mh, struct iovec *iov, const struct dgram_msg *m, const char *p,
    size_t n, union dgram_cmsg *ctl)
{
	struct cmsghdr *c;

	if (m->peer.salen <= (socklen_t)sizeof(sa_family_t)) {
		errno = EDESTADDRREQ;
		return -1;
	}
	iov->iov_base = (void *)(uintptr_t)p;
	iov->iov_len = n;
	memset(mh, 0, sizeof(*mh));
	mh->msg_name = (void *)(uintptr_t)&m->peer.sa;
	mh->msg_namelen = m->peer.salen;
	mh->msg_iov = iov;
	mh->msg_iovlen = 1;
	if (!m->has_dst)
		return 0;
	memset(ctl, 0, sizeof(*ctl));
	mh->msg_control = ctl->buf;
	c = (struct cmsghdr *)(void *)ctl->buf;
	if (m->dst.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)&m->dst;
		struct in_pktinfo pi;

		/* ifindex 0: routing picks the interface, the source is ours. */
		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = s4->sin_addr;
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else if (m->dst.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)&m->dst;
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = s6->sin6_addr;
		pi.ipi6_ifindex = s6->sin6_scope_id; /* 0 but for link-local */
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else {
		mh->msg_control = NULL;
	}
	return 0;
}

int
dgram_send(int fd, const struct dgram_msg *m, const char *p, size_t n)
{
	union dgram_cmsg ctl;
	struct msghdr mh;
	struct iovec iov;
	ssize_t r;

	if (send_header(&mh, &iov, m, p, n, &ctl) == -1)
		return -1;
	do {
		r = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (r == -1 && errno == EINTR);
	return r == -1 ? -1 : 0;
}

int
dgram_send_batch(int fd, const struct dgram_out *out, int n)
{
	struct mmsghdr v[DGRAM_SEND_CHUNK];
	struct iovec iov[DGRAM_SEND_CHUNK];
	union dgram_cmsg ctl[DGRAM_SEND_CHUNK];
	int sent = 0, i = 0;

	while (i < n) {
		int k = 0, r;

		/* Up to a chunk of sendable replies; one with no address is dropped. */
		while (i + k < n && k < DGRAM_SEND_CHUNK) {
			const struct dgram_out *o = &out[i + k];

			if (send_header(&v[k].msg_hdr, &iov[k], o->m, o->p, o->n, &ctl[k]) == -1) {
				if (k == 0) {
					i++;
					continue;
				}
				break;
			}
			v[k].msg_len = 0;
			k++;
		}
		if (k == 0)
			break;
		do {
			r = sendmmsg(fd, v, (unsigned)k, MSG_DONTWAIT | MSG_NOSIGNAL);
		} while (r == -1 && errno == EINTR);
		if (r > 0) {
			sent += r;
			i += r;
			continue;
		}
		/*
		 * The first of the chunk was not taken: dropped.  A full UDP
		 * socket takes none of the rest either; elsewhere the next ones
		 * are tried: on a unixgram socket EAGAIN is one client's full
		 * queue, and one unreachable peer must not cost the others.
		 */
		if ((errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) &&
		    out[i].m->peer.sa.ss_family != AF_UNIX)
			break;
		i++;
	}
	return sent;
}
