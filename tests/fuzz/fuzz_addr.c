/* fuzz_addr.c - listen addresses (net_parse), access prefixes (access_prefix_parse), peer names. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "access.h"
#include "net.h"

#include "fuzz_util.h"

/*
 * The input up to its first NUL is the string given to both parsers; all
 * of it is also a socket address for net_peer_name.  A small error buffer
 * of exactly (input[0] % 16) + 1 bytes checks that no message overflows.
 */

static size_t
fz_strnlen(const char *s, size_t max)
{
	const char *e = memchr(s, '\0', max);

	return e != NULL ? (size_t)(e - s) : max;
}

/* The listen address a parsed one stands for, in its canonical spelling. */
static void
fz_format_addr(const struct net_addr *a, char *dst, size_t len)
{
	const char *udp = a->dgram ? "udp:" : "";

	switch (a->kind) {
	case NET_UNIX:
		snprintf(dst, len, "%s:%s", a->dgram ? "unixgram" : "unix", a->path);
		break;
	case NET_ANY:
		snprintf(dst, len, "%s*:%u", udp, a->port);
		break;
	case NET_INET:
		snprintf(dst, len, strchr(a->host, ':') != NULL ? "%s[%s]:%u" : "%s%s:%u", udp,
		    a->host, a->port);
		break;
	}
}

/* Where the path starts in a parsed unix: or unixgram: spec. */
static size_t
fz_path_at(const struct net_addr *a)
{
	return a->dgram ? strlen("unixgram:") : strlen("unix:");
}

static void
fz_net(const char *s, unsigned char small)
{
	struct net_addr a, b, c;
	char err[512], fmt[512], fmt2[512];
	char *tiny = malloc((size_t)small % 16 + 1);
	int r, r2, r3;

	FZ_CHECK(tiny != NULL, "out of memory");
	tiny[0] = '\0';
	err[0] = '\0';
	r = net_parse(s, &a, err, sizeof(err));
	r2 = net_parse(s, &b, tiny, (size_t)small % 16 + 1);
	FZ_CHECK(r == r2, "net_parse('%s') gave %d then %d", s, r, r2);
	FZ_CHECK(strlen(tiny) <= (size_t)small % 16, "error message overflows its buffer");
	free(tiny);
	if (r == -1) {
		FZ_CHECK(err[0] != '\0', "net_parse('%s'): no message", s);
		/* The message names the bad value (when it fits). */
		if (strlen(s) < 128)
			FZ_CHECK(strstr(err, s) != NULL, "net_parse('%s'): message '%s'", s, err);
		return;
	}
	FZ_CHECK(r == 0, "net_parse('%s') returned %d", s, r);
	FZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0, "net_parse('%s') twice: different results", s);
	switch (a.kind) {
	case NET_UNIX:
		FZ_CHECK(fz_strnlen(a.path, sizeof(a.path)) < sizeof(a.path) &&
		        strlen(a.path) < sizeof(((struct sockaddr_un *)0)->sun_path) &&
		        a.path[0] != '\0' && strcmp(a.path, s + fz_path_at(&a)) == 0,
		    "'%s': path '%s'", s, a.path);
		break;
	case NET_ANY:
		FZ_CHECK(a.port <= 65535, "'%s': port %u", s, a.port);
		break;
	case NET_INET:
		FZ_CHECK(fz_strnlen(a.host, sizeof(a.host)) < sizeof(a.host) && a.host[0] != '\0',
		    "'%s': host", s);
		FZ_CHECK(a.port <= 65535, "'%s': port %u", s, a.port);
		break;
	default:
		FZ_CHECK(0, "'%s': kind %d", s, (int)a.kind);
	}
	/* Printed and parsed again: the same address, and a fixed point. */
	fz_format_addr(&a, fmt, sizeof(fmt));
	r3 = net_parse(fmt, &c, err, sizeof(err));
	FZ_CHECK(r3 == 0, "'%s' printed as '%s', which does not parse: %s", s, fmt, err);
	FZ_CHECK(memcmp(&a, &c, sizeof(a)) == 0, "'%s' printed as '%s' parses differently", s, fmt);
	fz_format_addr(&c, fmt2, sizeof(fmt2));
	FZ_CHECK(strcmp(fmt, fmt2) == 0, "'%s': '%s' then '%s'", s, fmt, fmt2);
}

static bool
fz_bit(const unsigned char *a, unsigned b)
{
	return (a[b / 8] >> (7 - b % 8)) & 1;
}

/* A peer at a (4 or 16 bytes); v4mapped puts an IPv4 one in ::ffff:0:0/96. */
static socklen_t
fz_peer(const unsigned char *a, int family, bool v4mapped, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET && !v4mapped) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		return sizeof(*s4);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	s6->sin6_family = AF_INET6;
	if (family == AF_INET) {
		s6->sin6_addr.s6_addr[10] = 0xff;
		s6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&s6->sin6_addr.s6_addr[12], a, 4);
	} else {
		memcpy(&s6->sin6_addr, a, 16);
	}
	return sizeof(*s6);
}

/* Whether the prefix covers address a of family, by the definition. */
static bool
fz_covers(const struct access_prefix *p, int family, const unsigned char *a)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	/* IPv4-mapped IPv6 is IPv4, and only IPv4 prefixes match it. */
	if (family == AF_INET6 && memcmp(a, mapped, 12) == 0) {
		family = AF_INET;
		a += 12;
	}
	if (family != p->family)
		return false;
	for (unsigned b = 0; b < p->len; b++)
		if (fz_bit(a, b) != fz_bit(p->addr, b))
			return false;
	return true;
}

/* access_check against one prefix as allow and as deny list, for peer a. */
static void
fz_match(struct access_prefix *p, int family, const unsigned char *a, const char *s)
{
	struct access_rules allow = { { p, 1 }, { NULL, 0 } };
	struct access_rules deny = { { NULL, 0 }, { p, 1 } };
	struct sockaddr_storage ss;
	bool want = fz_covers(p, family, a);

	for (int mapped = 0; mapped < 1 + (family == AF_INET); mapped++) {
		socklen_t len = fz_peer(a, family, mapped, &ss);
		const struct sockaddr *sa = (const struct sockaddr *)&ss;

		FZ_CHECK((access_check(&allow, sa, len) == REFUSE_NONE) == want,
		    "'%s' as allow: wrong decision (mapped %d, want match %d)", s, mapped, want);
		FZ_CHECK((access_check(&deny, sa, len) == REFUSE_DENIED) == want,
		    "'%s' as deny: wrong decision (mapped %d, want match %d)", s, mapped, want);
	}
}

static void
fz_prefix(const char *s, const uint8_t *data, size_t size)
{
	struct access_prefix p, q;
	char err[512], net[INET6_ADDRSTRLEN], fmt[INET6_ADDRSTRLEN + 8];
	unsigned char a[16];
	unsigned nbits, b;
	int r;

	err[0] = '\0';
	r = access_prefix_parse(s, &p, err, sizeof(err));
	if (r == -1) {
		FZ_CHECK(err[0] != '\0', "access_prefix_parse('%s'): no message", s);
		return;
	}
	FZ_CHECK(r == 0, "access_prefix_parse('%s') returned %d", s, r);
	FZ_CHECK(access_prefix_parse(s, &q, err, sizeof(err)) == 0 &&
	        memcmp(&p, &q, sizeof(p)) == 0,
	    "access_prefix_parse('%s') twice: different results", s);
	FZ_CHECK((p.family == AF_INET && p.len <= 32) || (p.family == AF_INET6 && p.len <= 128),
	    "'%s': family %u len %u", s, p.family, p.len);
	nbits = p.family == AF_INET ? 32 : 128;
	for (b = p.len; b < 128; b++)
		FZ_CHECK(!fz_bit(p.addr, b), "'%s': bit %u set past /%u", s, b, p.len);
	/* The mapped range is stored as IPv4: ::ffff:10.0.0.0/104 is 10.0.0.0/8. */
	if (p.family == AF_INET6 && p.len >= 96) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
			0xff };
		FZ_CHECK(memcmp(p.addr, mapped, 12) != 0, "'%s': IPv4-mapped kept as IPv6", s);
	}

	/* Printed and parsed again: the same prefix. */
	FZ_CHECK(inet_ntop(p.family, p.addr, net, sizeof(net)) != NULL, "'%s': inet_ntop", s);
	snprintf(fmt, sizeof(fmt), "%s/%u", net, p.len);
	FZ_CHECK(access_prefix_parse(fmt, &q, err, sizeof(err)) == 0, "'%s' printed as '%s': %s", s,
	    fmt, err);
	FZ_CHECK(memcmp(&p, &q, sizeof(p)) == 0, "'%s' printed as '%s' parses differently", s, fmt);

	/* Matching: the network address itself, then one bit flipped. */
	memcpy(a, p.addr, 16);
	fz_match(&p, p.family, a, s);
	b = (size > 1 ? data[size - 1] : 0) % nbits;
	a[b / 8] ^= (unsigned char)(0x80 >> (b % 8));
	fz_match(&p, p.family, a, s);
	/* The other family at the same bytes. */
	fz_match(&p, p.family == AF_INET ? AF_INET6 : AF_INET, a, s);
}

/* net_peer_name on arbitrary bytes and lengths: terminated, within dstlen. */
static void
fz_peer_name(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss;
	size_t n = size < sizeof(ss) ? size : sizeof(ss);
	size_t dstlen = size > 0 ? (size_t)data[0] % NET_ADDRSTRLEN + 1 : NET_ADDRSTRLEN;
	char *dst;

	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, data, n);
	for (int pass = 0; pass < 2; pass++) {
		size_t len = pass == 0 ? NET_ADDRSTRLEN : dstlen;
		dst = malloc(len);
		FZ_CHECK(dst != NULL, "out of memory");
		net_peer_name((const struct sockaddr *)&ss, (socklen_t)n, dst, len);
		FZ_CHECK(fz_strnlen(dst, len) < len, "net_peer_name: not terminated in %zu", len);
		free(dst);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	FZ_CHECK(s != NULL, "out of memory");
	memcpy(s, data, size);
	s[size] = '\0';
	fz_net(s, size > 0 ? data[0] : 0);
	fz_prefix(s, data, size);
	fz_peer_name(data, size);
	free(s);
	return 0;
}
