/* net.c - listen addresses and peer names. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "net.h"

/*
 * The valid forms, in every error: the stream forms first, as they were
 * before datagram listeners (scripts and tests match that part).
 */
#define NET_FORMS                                                   \
	"expected HOST:PORT, [IPV6]:PORT, *:PORT or unix:/path; "   \
	"for datagrams udp:HOST:PORT, udp:[IPV6]:PORT, udp:*:PORT " \
	"or unixgram:/path"

static int
bad_addr(const char *spec, char *err, size_t errlen)
{
	snprintf(err, errlen, "invalid listen address '%s' (" NET_FORMS ")", spec);
	return -1;
}

/* Host names and IPv4 literals: letters, digits, '.', '-', '_'. */
static bool
valid_host(const char *host)
{
	struct in_addr in;
	const char *p;
	bool alpha = false;

	for (p = host; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '_')
			alpha = true;
		else if (!(*p >= '0' && *p <= '9') && *p != '.')
			return false;
	}
	/* All digits and dots: it must be a real dotted quad, not "1.2.3". */
	return alpha || inet_pton(AF_INET, host, &in) == 1;
}

/* An IPv6 literal with an optional "%scope" (fe80::1%eth0). */
static bool
valid_ipv6(const char *host)
{
	char addr[NET_ADDRSTRLEN];
	struct in6_addr in6;
	const char *pct = strchr(host, '%');
	size_t n = pct != NULL ? (size_t)(pct - host) : strlen(host);

	if (n >= sizeof(addr) || (pct != NULL && pct[1] == '\0'))
		return false;
	memcpy(addr, host, n);
	addr[n] = '\0';
	return inet_pton(AF_INET6, addr, &in6) == 1;
}

/* A unix socket path (after "unix:" or "unixgram:"); spec is the whole address. */
static int
parse_path(const char *spec, const char *path, struct net_addr *out, char *err, size_t errlen)
{
	struct sockaddr_un su;
	size_t plen = strlen(path);

	if (plen == 0)
		return bad_addr(spec, err, errlen);
	/* sun_path must hold the terminating NUL too. */
	if (plen >= sizeof(out->path) || plen >= sizeof(su.sun_path)) {
		snprintf(err, errlen, "unix socket path too long in '%s' (at most %zu bytes)", spec,
		    sizeof(su.sun_path) - 1);
		return -1;
	}
	out->kind = NET_UNIX;
	memcpy(out->path, path, plen + 1);
	return 0;
}

/* "HOST:PORT", "[IPV6]:PORT" or "*:PORT" at s; spec is the whole address. */
static int
parse_inet(const char *spec, const char *s, struct net_addr *out, char *err, size_t errlen)
{
	const char *host, *port, *p;
	size_t hlen;
	unsigned long v;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return bad_addr(spec, err, errlen);
		host = s + 1;
		hlen = (size_t)(close - host);
		port = close + 2;
		if (hlen == 0 || hlen >= sizeof(out->host))
			return bad_addr(spec, err, errlen);
		memcpy(out->host, host, hlen);
		out->host[hlen] = '\0';
		if (!valid_ipv6(out->host)) {
			snprintf(err, errlen,
			    "invalid IPv6 address in listen address '%s' (" NET_FORMS ")", spec);
			return -1;
		}
		out->kind = NET_INET;
	} else {
		const char *colon = strrchr(s, ':');

		if (colon == NULL || colon == s)
			return bad_addr(spec, err, errlen);
		hlen = (size_t)(colon - s);
		port = colon + 1;
		if (hlen == 1 && s[0] == '*') {
			out->kind = NET_ANY;
		} else {
			if (hlen >= sizeof(out->host))
				return bad_addr(spec, err, errlen);
			memcpy(out->host, s, hlen);
			out->host[hlen] = '\0';
			/* Also refuses an unbracketed IPv6 literal: "::1:80" is ambiguous. */
			if (!valid_host(out->host))
				return bad_addr(spec, err, errlen);
			out->kind = NET_INET;
		}
	}
	/* Decimal digits only: no sign, no blanks, no service names. */
	for (p = port; *p >= '0' && *p <= '9'; p++)
		;
	if (p == port || *p != '\0')
		return bad_addr(spec, err, errlen);
	errno = 0;
	v = strtoul(port, NULL, 10);
	if (p - port > 5 || v > 65535 || errno == ERANGE) {
		snprintf(err, errlen, "invalid port in listen address '%s' (0..65535)", spec);
		return -1;
	}
	out->port = (unsigned)v;
	return 0;
}

int
net_parse(const char *spec, struct net_addr *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (spec == NULL)
		return bad_addr("", err, errlen);
	if (strncmp(spec, "unix:", 5) == 0)
		return parse_path(spec, spec + 5, out, err, errlen);
	if (strncmp(spec, "unixgram:", 9) == 0) {
		out->dgram = true;
		return parse_path(spec, spec + 9, out, err, errlen);
	}
	if (strncmp(spec, "udp:", 4) == 0) {
		out->dgram = true;
		/* Say what was meant: "udp:unix:/x" would read as host "unix", port "/x". */
		if (strncmp(spec + 4, "unix:", 5) == 0 || strncmp(spec + 4, "unixgram:", 9) == 0) {
			snprintf(err, errlen,
			    "invalid listen address '%s' (a unix datagram socket is unixgram:/path; " NET_FORMS
			    ")",
			    spec);
			return -1;
		}
		return parse_inet(spec, spec + 4, out, err, errlen);
	}
	return parse_inet(spec, spec, out, err, errlen);
}

void
net_peer_name(const struct sockaddr *sa, socklen_t len, char *dst, size_t dstlen)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa == NULL || len < (socklen_t)sizeof(sa_family_t)) {
		snprintf(dst, dstlen, "unknown");
		return;
	}
	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		if (len < (socklen_t)sizeof(*s4))
			break;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(dst, dstlen, "%s:%u", ip, (unsigned)ntohs(s4->sin_port));
		return;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		if (len < (socklen_t)sizeof(*s6))
			break;
		/* A dual-stack socket sees IPv4 clients as ::ffff:a.b.c.d. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, sizeof(ip));
			snprintf(dst, dstlen, "%s:%u", ip, (unsigned)ntohs(s6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
			snprintf(dst, dstlen, "[%s]:%u", ip, (unsigned)ntohs(s6->sin6_port));
		}
		return;
	}
	case AF_UNIX:
		snprintf(dst, dstlen, "unix");
		return;
	default:
		break;
	}
	snprintf(dst, dstlen, "unknown");
}

const char *
net_peer_text(const struct peer *p)
{
	struct peer *w = (struct peer *)(uintptr_t)p;

	if (w->text[0] == '\0')
		net_peer_name((const struct sockaddr *)&w->sa, w->salen, w->text, sizeof(w->text));
	return w->text;
}
