/* net_listen.c - binding inet listeners, net_listen_all and net_close_all. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "dgram.h"
#include "handler.h"
#include "log.h"
#include "net.h"
#include "net_int.h"

static unsigned
sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)ss)->sin6_port);
	return 0;
}

static void
sa_set_port(struct sockaddr_storage *ss, unsigned port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)(void *)ss)->sin_port = htons((uint16_t)port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons((uint16_t)port);
}

int
net_defer_accept(int fd, long secs)
{
	int v = (int)secs;

	return setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, sizeof(v));
}

/*
 * A bound, non-blocking inet socket, or -1 with errno: TCP and listening
 * (with the service's defer_accept), or with dgram UDP, set up by
 * dgram_listener_setup.  v6only is applied to AF_INET6 sockets: 0 for the
 * dual-stack "*", 1 otherwise so an IPv6 listener never takes the IPv4
 * port of a sibling.
 */
static int
inet_listen(const struct sockaddr *sa, socklen_t salen, int v6only, const struct config *cf,
    const struct service *svc, bool dgram)
{
	int fd, on = 1, saved;

	fd = socket(sa->sa_family,
	    (dgram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/*
	 * TCP: a restart must not wait for TIME_WAIT connections of the last
	 * run.  UDP has no TIME_WAIT, and there SO_REUSEADDR lets a second
	 * process bind the very same port and silently take its datagrams:
	 * a second dispatchd must fail with EADDRINUSE instead.
	 */
	if (!dgram && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (sa->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) == -1)
		goto fail;
	/* After IPV6_V6ONLY: a dual-stack socket needs IPv4's packet info too. */
	if (dgram && dgram_listener_setup(fd, sa) == -1)
		goto fail;
	if (!dgram && svc->defer_accept > 0 && net_defer_accept(fd, svc->defer_accept) == -1)
		goto fail;
	if (bind(fd, sa, salen) == -1 || (!dgram && listen(fd, backlog_of(cf)) == -1))
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

uint32_t net_listener_ids;

int
backlog_of(const struct config *cf)
{
	return cf->backlog > 0 ? (int)cf->backlog : CONF_DEFAULT_BACKLOG;
}

/*
 * Records a listening fd in cf->ls (the fd is closed on failure);
 * unix_path, the socket file this process bound (or NULL), is copied with
 * its identity *file.
 */
int
add_listener(struct config *cf, int fd, struct service *svc, const char *addr, bool dgram,
    const char *unix_path, const struct stat *file)
{
	struct listener *ls, *l;

	if ((ls = realloc(cf->ls, (cf->nls + 1) * sizeof(*ls))) == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	cf->ls = ls;
	l = &ls[cf->nls];
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->svc = svc;
	l->dgram = dgram;
	snprintf(l->addr, sizeof(l->addr), "%s", addr);
	l->owner = getpid();
	l->id = ++net_listener_ids;
	if (unix_path != NULL) {
		if ((l->unix_path = strdup(unix_path)) == NULL) {
			close(fd);
			errno = ENOMEM;
			return -1;
		}
		l->unix_dev = file->st_dev;
		l->unix_ino = file->st_ino;
	}
	cf->nls++;
	return 0;
}

/*
 * The "listening on" lines, printed once every listener is bound: a script
 * that waits for them never sees one from a start that then fails.
 */
void
net_announce(const struct config *cf)
{
	for (size_t i = 0; i < cf->nls; i++) {
		const struct listener *l = &cf->ls[i];
		char line[1024];
		int n;

		if (l->carried)
			continue; /* a reload kept it: announced when bound */
		/* One write: scripts read this line while other processes share stderr. */
		n = snprintf(line, sizeof(line), "listening on %s (%s, %s)\n", l->addr,
		    l->svc->name, l->svc->handler != NULL ? l->svc->handler->name : "none");
		if (n > (int)sizeof(line) - 1) {
			n = (int)sizeof(line) - 1;
			line[n - 1] = '\n';
		}
		while (write(STDERR_FILENO, line, (size_t)n) == -1 && errno == EINTR)
			;
	}
}

/*
 * The bound address as printed ("*:PORT" for the wildcard; "udp:" first
 * for a datagram socket) and its real port.
 */
static int
bound_name(int fd, bool any, bool dgram, char *dst, size_t len, unsigned *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const char *pfx = dgram ? "udp:" : "";
	char name[NET_ADDRSTRLEN - 4]; /* room for "udp:" */

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	*port = sa_port(&ss);
	if (any) {
		snprintf(dst, len, "%s*:%u", pfx, *port);
	} else {
		net_peer_name((struct sockaddr *)&ss, sl, name, sizeof(name));
		snprintf(dst, len, "%s%s", pfx, name);
	}
	return 0;
}

static int
listen_any(struct config *cf, struct service *svc, const char *spec, const struct net_addr *a,
    char *err, size_t errlen)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	char name[NET_ADDRSTRLEN];
	unsigned port;
	int fd;

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_addr = in6addr_any;
	s6.sin6_port = htons((uint16_t)a->port);
	fd = inet_listen((struct sockaddr *)&s6, sizeof(s6), 0, cf, svc, a->dgram);
	if (fd == -1 && errno == EAFNOSUPPORT) {
		/* A kernel without IPv6: IPv4 alone is all there is. */
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		s4.sin_addr.s_addr = htonl(INADDR_ANY);
		s4.sin_port = htons((uint16_t)a->port);
		fd = inet_listen((struct sockaddr *)&s4, sizeof(s4), 0, cf, svc, a->dgram);
	}
	if (fd == -1)
		goto fail;
	if (bound_name(fd, true, a->dgram, name, sizeof(name), &port) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		goto fail;
	}
	if (add_listener(cf, fd, svc, name, a->dgram, NULL, NULL) == -1)
		goto fail;
	cf->ls[cf->nls - 1].tcp = !a->dgram;
	return 0;
fail:
	snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
	return -1;
}

/*
 * An address getaddrinfo listed twice.  The socket type counts: TCP and
 * UDP on one port are two listeners (echo on tcp and udp port 7).
 */
static bool
seen_before(const struct addrinfo *res, const struct addrinfo *ai)
{
	for (; res != ai; res = res->ai_next)
		if (res->ai_socktype == ai->ai_socktype && res->ai_addrlen == ai->ai_addrlen &&
		    memcmp(res->ai_addr, ai->ai_addr, ai->ai_addrlen) == 0)
			return true;
	return false;
}

/*
 * Every address of a literal or a name.  With port 0, the addresses after
 * the first reuse the port the first one got, so "localhost:0" is one port
 * on 127.0.0.1 and ::1 (or fresh ports if that one is taken).
 */
static int
listen_inet(struct config *cf, struct service *svc, const char *spec, const struct net_addr *a,
    char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	struct sockaddr_storage ss;
	struct in_addr in;
	char portstr[8], name[NET_ADDRSTRLEN], numeric[NET_ADDRSTRLEN];
	unsigned port = 0, got;
	bool literal;
	int gai, fd, skipped = 0, bound = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = a->dgram ? SOCK_DGRAM : SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", a->port);
	if ((gai = getaddrinfo(a->host, portstr, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec,
		    gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return -1;
	}
	literal = strchr(a->host, ':') != NULL || inet_pton(AF_INET, a->host, &in) == 1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(ss) || seen_before(res, ai))
			continue;
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		if (a->port == 0 && port != 0)
			sa_set_port(&ss, port);
		fd = inet_listen((struct sockaddr *)&ss, ai->ai_addrlen, 1, cf, svc, a->dgram);
		if (fd == -1 && errno == EADDRINUSE && a->port == 0 && port != 0) {
			sa_set_port(&ss, 0);
			fd = inet_listen((struct sockaddr *)&ss, ai->ai_addrlen, 1, cf, svc,
			    a->dgram);
		}
		if (fd == -1) {
			int saved = errno;

			net_peer_name((struct sockaddr *)&ss, ai->ai_addrlen, numeric,
			    sizeof(numeric));
			/* A name may list ::1 on a host without IPv6: use what exists. */
			if (!literal && (saved == EAFNOSUPPORT || saved == EADDRNOTAVAIL)) {
				log_warnx("%s: skipping %s: %s", spec, numeric, strerror(saved));
				skipped = saved;
				continue;
			}
			if (literal)
				snprintf(err, errlen, "cannot listen on %s: %s", spec,
				    strerror(saved));
			else
				snprintf(err, errlen, "cannot listen on %s (%s): %s", spec, numeric,
				    strerror(saved));
			freeaddrinfo(res);
			return -1;
		}
		if (bound_name(fd, false, a->dgram, name, sizeof(name), &got) == -1) {
			snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
			close(fd);
			freeaddrinfo(res);
			return -1;
		}
		if (add_listener(cf, fd, svc, name, a->dgram, NULL, NULL) == -1) {
			snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
			freeaddrinfo(res);
			return -1;
		}
		cf->ls[cf->nls - 1].tcp = !a->dgram;
		if (port == 0)
			port = got;
		bound++;
	}
	freeaddrinfo(res);
	if (bound == 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec,
		    strerror(skipped != 0 ? skipped : EADDRNOTAVAIL));
		return -1;
	}
	return 0;
}

int
net_listen_spec(struct config *cf, struct service *svc, const char *spec, const struct net_addr *a,
    char *err, size_t errlen)
{
	size_t from = cf->nls;
	int r;

	if (a->kind == NET_ANY)
		r = listen_any(cf, svc, spec, a, err, errlen);
	else if (a->kind == NET_INET)
		r = listen_inet(cf, svc, spec, a, err, errlen);
	else
		r = listen_unix(cf, svc, spec, a, err, errlen);
	/* What a reload matches its addresses against. */
	for (size_t k = from; r == 0 && k < cf->nls; k++)
		if ((cf->ls[k].spec = strdup(spec)) == NULL) {
			snprintf(err, errlen, "cannot listen on %s: out of memory", spec);
			r = -1;
		}
	return r;
}

int
net_listen_all(struct config *cf, char *err, size_t errlen)
{
	struct net_addr a;
	size_t i, j;
	int r;

	bool activated;
	size_t npassed;

	r = adopt_passed(cf, err, errlen);
	if (r == -1)
		goto fail;
	activated = r == 1;
	npassed = cf->nls;
	for (i = 0; i < cf->nsvcs; i++) {
		struct service *svc = &cf->svcs[i];
		/* Whether sockets were passed for svc: [0] stream, [1] datagram. */
		bool passed[2] = { false, false }, told = false;

		for (j = 0; j < npassed; j++)
			if (cf->ls[j].svc == svc)
				passed[cf->ls[j].dgram] = true;
		for (j = 0; j < svc->nlisten; j++) {
			if (net_parse(svc->listen[j], &a, err, errlen) == -1)
				goto fail;
			/*
			 * Passed sockets replace the service's addresses of their
			 * kind; a kind the socket unit left out is bound here.
			 */
			if (passed[a.dgram])
				continue;
			if (activated && !told) {
				log_info("socket activation: no %ssocket passed for service '%s', "
				         "binding its own %saddresses",
				    passed[!a.dgram] ? (a.dgram ? "datagram " : "stream ") : "",
				    svc->name,
				    passed[!a.dgram] ? (a.dgram ? "datagram " : "stream ") : "");
				told = true;
			}
			if (net_listen_spec(cf, svc, svc->listen[j], &a, err, errlen) == -1)
				goto fail;
		}
	}
	net_announce(cf);
	return 0;
fail:
	net_close_all(cf);
	return -1;
}

void
net_close_listener(struct listener *l, pid_t me)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	/* A fork child closing its copies must not remove the parent's file. */
	if (l->unix_path != NULL && l->owner == me)
		unlink_ours(l->unix_path, l->unix_dev, l->unix_ino);
	free(l->unix_path);
	l->unix_path = NULL;
	free(l->spec);
	l->spec = NULL;
}

void
net_close_streams(struct config *cf)
{
	pid_t me = getpid();

	for (size_t i = 0; i < cf->nls; i++)
		if (!cf->ls[i].dgram)
			net_close_listener(&cf->ls[i], me);
}

void
net_close_all(struct config *cf)
{
	pid_t me = getpid();

	for (size_t i = 0; i < cf->nls; i++)
		net_close_listener(&cf->ls[i], me);
	free(cf->ls);
	cf->ls = NULL;
	cf->nls = 0;
}
