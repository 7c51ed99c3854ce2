/* dgram.c - one datagram's life, whatever model receives it: admission, handler, reflection guard, reply. */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "access.h"
#include "conf.h"
#include "dgram.h"
#include "handler.h"
#include "log.h"
#include "net.h"
#include "stats.h"

/* One warning per kind at most every 10 s: a flood must not flood the log. */
static struct log_rate warn_access = LOG_RATE_INIT(10);
static struct log_rate warn_trunc = LOG_RATE_INIT(10);

/* Doubles *cap from min until it holds need (elements of size); false on overflow. */
static bool
grow_to(size_t *cap, size_t need, size_t min, size_t size)
{
	size_t c = *cap > 0 ? *cap : min;

	while (c < need) {
		if (c > SIZE_MAX / 2)
			return false;
		c *= 2;
	}
	if (c > SIZE_MAX / size)
		return false;
	*cap = c;
	return true;
}

int
dgram_reply_add(struct dgram_reply *r, const void *p, size_t n)
{
	if (r->n == r->ncap) {
		size_t ncap = r->ncap;
		size_t *lens;

		if (!grow_to(&ncap, r->n + 1, 4, sizeof(*lens)) ||
		    (lens = realloc(r->lens, ncap * sizeof(*lens))) == NULL) {
			errno = ENOMEM;
			return -1;
		}
		r->lens = lens;
		r->ncap = ncap;
	}
	/* Storage even for an empty reply: r->buf is never NULL once a reply
	 * is listed, so buf + offset is always defined. */
	if (n > r->cap - r->len || r->buf == NULL) {
		size_t cap = r->cap;
		char *buf;

		if (n > SIZE_MAX - r->len || !grow_to(&cap, r->len + n, 512, 1) ||
		    (buf = realloc(r->buf, cap)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
		r->buf = buf;
		r->cap = cap;
	}
	if (n > 0)
		memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->lens[r->n++] = n;
	return 0;
}

void
dgram_reply_reset(struct dgram_reply *r)
{
	r->len = 0;
	r->n = 0;
}

void
dgram_reply_free(struct dgram_reply *r)
{
	free(r->buf);
	free(r->lens);
	memset(r, 0, sizeof(*r));
}

/*
 * An IPv4 source we may answer (a in network order): not unspecified or
 * "this network" (0.0.0.0/8, never a valid source), multicast
 * (224.0.0.0/4) or the limited broadcast.  A directed broadcast
 * (10.1.255.255 on a /16) cannot be told from a host without the
 * interface's netmask; the kernel does not deliver datagrams from such a
 * source anyway.
 */
static bool
v4_ok(const unsigned char *a)
{
	if (a[0] == 0 || (a[0] & 0xf0) == 0xe0)
		return false;
	return !(a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255);
}

bool
dgram_may_reply(const struct sockaddr *sa, socklen_t salen)
{
	if (sa == NULL || salen < (socklen_t)sizeof(sa_family_t))
		return false;
	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		/* Below 1024: the well-known services (echo, chargen, daytime,
		 * ...) whose answers would loop with ours; 0 cannot be sent to. */
		if (salen < (socklen_t)sizeof(*sin) || ntohs(sin->sin_port) < 1024)
			return false;
		return v4_ok((const unsigned char *)&sin->sin_addr);
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		const struct in6_addr *a = &sin6->sin6_addr;

		if (salen < (socklen_t)sizeof(*sin6) || ntohs(sin6->sin6_port) < 1024)
			return false;
		if (IN6_IS_ADDR_V4MAPPED(a))
			return v4_ok(a->s6_addr + 12);
		return !IN6_IS_ADDR_MULTICAST(a) && !IN6_IS_ADDR_UNSPECIFIED(a);
	}
	case AF_UNIX: {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
		size_t off = offsetof(struct sockaddr_un, sun_path);

		/* An unbound client has no name (salen is just the family), and
		 * an empty abstract name is none either: nowhere to send to. */
		if ((size_t)salen <= off)
			return false;
		return !((size_t)salen == off + 1 && sun->sun_path[0] == '\0');
	}
	default:
		return false;
	}
}

bool
dgram_admit(struct listener *ls, const struct dgram_msg *m)
{
	struct service *svc = ls->svc;
	const struct sockaddr *sa = (const struct sockaddr *)&m->peer.sa;
	enum refuse_reason why;

	stats_add(&svc->stats->dgrams_in, 1);
	why = access_admit_datagram(svc, sa, m->peer.salen);
	if (why != REFUSE_NONE) {
		stats_add(&svc->stats->refused[why], 1);
		if (log_rate_ok(&warn_access))
			log_warnx("%s: refused a datagram from %s: %s", ls->addr,
			    net_peer_text(&m->peer), access_reason_name(why));
		return false;
	}
	/* Half a message is not the message: a logger record of it would lie. */
	if (m->truncated) {
		stats_add(&svc->stats->dgrams_dropped, 1);
		if (log_rate_ok(&warn_trunc))
			log_warnx("%s: dropped a datagram from %s: longer than %d bytes", ls->addr,
			    net_peer_text(&m->peer), DGRAM_MAX);
		return false;
	}
	return true;
}

size_t
dgram_answer(struct listener *ls, const struct dgram_msg *m, struct dgram_reply *r)
{
	struct service *svc = ls->svc;
	const struct handler *h = svc->handler;
	const struct sockaddr *sa = (const struct sockaddr *)&m->peer.sa;

	dgram_reply_reset(r);
	errno = 0;
	if (h->datagram == NULL || h->datagram(svc, &m->peer, m->p, m->len, r) == -1) {
		int saved = errno;

		dgram_reply_reset(r);
		stats_add(&svc->stats->dgrams_dropped, 1);
		if (log_rate_ok(&svc->stats->warn_dgram_failed)) {
			errno = saved;
			if (h->datagram == NULL)
				log_warnx("%s: dropped a datagram from %s: %s serves streams only",
				    ls->addr, net_peer_text(&m->peer), h->name);
			else if (saved != 0)
				log_warn("%s: dropped a datagram from %s: %s failed", ls->addr,
				    net_peer_text(&m->peer), h->name);
			else
				log_warnx("%s: dropped a datagram from %s: %s failed", ls->addr,
				    net_peer_text(&m->peer), h->name);
		}
		return 0;
	}
	/*
	 * After the handler, so that what handling does besides replying (a
	 * logger record) happens for any source, as for a source that does
	 * not read our replies.
	 */
	if (r->n > 0 && !dgram_may_reply(sa, m->peer.salen)) {
		stats_add(&svc->stats->dgrams_dropped, r->n);
		if (log_rate_ok(&svc->stats->warn_dgram_guard))
			log_warnx("%s: no reply to %s: a source port below 1024, or not a host "
			          "address (reflection guard)",
			    ls->addr, net_peer_text(&m->peer));
		dgram_reply_reset(r);
		return 0;
	}
	return r->n;
}

size_t
dgram_handle(struct listener *ls, const struct dgram_msg *m, struct dgram_reply *r)
{
	dgram_reply_reset(r);
	return dgram_admit(ls, m) ? dgram_answer(ls, m, r) : 0;
}

void
dgram_sent(struct service *svc, size_t answered, size_t dropped)
{
	if (answered > 0)
		stats_add(&svc->stats->dgrams_answered, answered);
	if (dropped > 0)
		stats_add(&svc->stats->dgrams_dropped, dropped);
}
