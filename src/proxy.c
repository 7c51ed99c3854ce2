/* proxy.c - a strict PROXY protocol v1/v2 header parser: proxy_parse and the names of the proxy_protocol values. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "proxy.h"

/* The v2 header's fixed part: signature, version and command, family, length. */
#define PROXY_V2_HEAD 16
/* A TLV's type and length. */
#define PROXY_TLV_HEAD 3
/* A macro's value as a string literal: PROXY_STR(PROXY_MAX) is "4096". */
#define PROXY_STR_(x) #x
#define PROXY_STR(x)  PROXY_STR_(x)

static const unsigned char proxy_v2_sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51,
	0x55, 0x49, 0x54, 0x0A };

static int
proxy_fail(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return -1;
}

static bool
proxy_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* The v1 field f[0..len): "TCP4", "TCP6" or "UNKNOWN" as far as it goes (all of it when complete). */
static bool
proxy_v1_protocol(const unsigned char *f, size_t len, bool complete, int *family)
{
	static const struct {
		const char *name;
		int family;
	} protos[] = { { "TCP4", AF_INET }, { "TCP6", AF_INET6 }, { "UNKNOWN", AF_UNSPEC } };

	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		size_t l = strlen(protos[i].name);
		if (len <= l && memcmp(f, protos[i].name, len) == 0 && (!complete || len == l)) {
			*family = protos[i].family;
			return true;
		}
	}
	return false;
}

/*
 * A v1 address of family f[0..len), or as much of one as has come: its
 * bytes and length, then (complete) inet_pton into addr (16 bytes).  An
 * IPv4 number has no leading zero (proxy-protocol.txt 2.1: no confusion
 * with octal), whatever inet_pton would take.
 */
static bool
proxy_v1_addr(int family, const unsigned char *f, size_t len, bool complete, unsigned char *addr)
{
	char text[INET6_ADDRSTRLEN];

	if (len > (family == AF_INET ? INET_ADDRSTRLEN : INET6_ADDRSTRLEN) - 1)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = f[i];
		if (family == AF_INET && c == '0' && (i == 0 || f[i - 1] == '.') && i + 1 < len &&
		    proxy_digit(f[i + 1]))
			return false;
		if (!proxy_digit(c) && c != '.' &&
		    (family == AF_INET ||
		        (c != ':' && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F'))))
			return false;
	}
	if (!complete)
		return true;
	memcpy(text, f, len);
	text[len] = '\0';
	return inet_pton(family, text, addr) == 1;
}

/* h's source: family AF_INET or AF_INET6, the address and port in network order. */
static void
proxy_set_src(struct proxy_hdr *h, int family, const void *addr, const void *port)
{
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&h->src;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, addr, sizeof(s4->sin_addr));
		memcpy(&s4->sin_port, port, sizeof(s4->sin_port));
		h->srclen = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&h->src;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, addr, sizeof(s6->sin6_addr));
		memcpy(&s6->sin6_port, port, sizeof(s6->sin6_port));
		h->srclen = sizeof(*s6);
	}
}

/* A v1 port f[0..len), or as much of one as has come: 0 to 65535, no sign, no leading zero. */
static bool
proxy_v1_port(const unsigned char *f, size_t len, bool complete, unsigned *port)
{
	unsigned v = 0;

	if ((complete && len == 0) || (len > 1 && f[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!proxy_digit(f[i]) || (v = v * 10 + (f[i] - '0')) > 65535)
			return false;
	}
	*port = v;
	return true;
}

/*
 * The v1 line at p[0..n), "PROXY " already seen.  Its fields, split on
 * single spaces up to the first CR or LF, are checked as they come, the
 * one still arriving as a prefix of a valid one.
 */
static int
proxy_v1(const unsigned char *p, size_t n, struct proxy_hdr *h, const char **why)
{
	static const char *const bad_field[] = { "v1 protocol not TCP4, TCP6 or UNKNOWN",
		"v1 bad source address", "v1 bad destination address", "v1 bad source port",
		"v1 bad destination port" };
	/* The CR of the CRLF is at most the 106th byte. */
	size_t lim = n < PROXY_V1_MAX - 1 ? n : PROXY_V1_MAX - 1, end = 6, b = 6;
	int family = AF_UNSPEC, k;
	unsigned sport = 0, dport = 0;
	unsigned char src[sizeof(struct in6_addr)], dst[sizeof(struct in6_addr)];
	struct proxy_hdr hdr;
	bool ended;

	while (end < lim && p[end] != '\r' && p[end] != '\n')
		end++;
	ended = end < lim;
	memset(&hdr, 0, sizeof(hdr));
	hdr.version = 1;
	for (k = 0;; k++) {
		size_t e = b;
		bool ok, complete;

		while (e < end && p[e] != ' ')
			e++;
		if (k > 4)
			return proxy_fail(why, "v1 more fields than TCP4 and TCP6 have");
		complete = e < end || ended; /* a space or the line's end follows */
		if (k == 0) {
			ok = proxy_v1_protocol(p + b, e - b, complete, &family);
		} else if (k <= 2) {
			ok = proxy_v1_addr(family, p + b, e - b, complete, k == 1 ? src : dst);
		} else {
			ok = proxy_v1_port(p + b, e - b, complete, k == 3 ? &sport : &dport);
		}
		if (!ok)
			return proxy_fail(why, bad_field[k]);
		/* UNKNOWN: whatever comes before the CRLF is ignored. */
		if (e == end || (k == 0 && complete && family == AF_UNSPEC))
			break;
		b = e + 1;
	}
	if (!ended)
		return n < PROXY_V1_MAX - 1 ? 0 : proxy_fail(why, "v1 line too long");
	if (family != AF_UNSPEC && k < 4)
		return proxy_fail(why, "v1 fewer fields than TCP4 and TCP6 have");
	if (p[end] == '\n')
		return proxy_fail(why, "v1 LF without CR");
	if (end + 1 == n)
		return 0;
	if (p[end + 1] != '\n')
		return proxy_fail(why, "v1 CR without LF");
	if (family == AF_UNSPEC) {
		hdr.local = true;
	} else {
		uint16_t port = htons((uint16_t)sport);
		proxy_set_src(&hdr, family, src, &port);
	}
	*h = hdr;
	return (int)end + 2;
}

/*
 * The v2 header at p[0..n), its first byte seen.  Each byte is judged as
 * it comes: signature, version and command, family, length; then the
 * TLV headers, each as soon as its three bytes are there.
 */
static int
proxy_v2(const unsigned char *p, size_t n, struct proxy_hdr *h, const char **why)
{
	size_t len, total, addrlen = 0, off;
	struct proxy_hdr hdr;
	bool tlvs = true;

	for (size_t i = 0; i < sizeof(proxy_v2_sig) && i < n; i++)
		if (p[i] != proxy_v2_sig[i])
			return proxy_fail(why, "bad v2 signature");
	if (n <= 12)
		return 0;
	if (p[12] >> 4 != 2)
		return proxy_fail(why, "v2 version not 2");
	if ((p[12] & 0x0F) > 1)
		return proxy_fail(why, "v2 command neither LOCAL nor PROXY");
	if (n <= 13)
		return 0;
	memset(&hdr, 0, sizeof(hdr));
	hdr.version = 2;
	hdr.local = true;
	if ((p[12] & 0x0F) == 0) {
		tlvs = false; /* LOCAL: the family is ignored, the addresses skipped */
	} else {
		switch (p[13]) {
		case 0x11:
			addrlen = 12;
			hdr.local = false;
			break;
		case 0x21:
			addrlen = 36;
			hdr.local = false;
			break;
		case 0x31:
			addrlen = 216;
			break;
		case 0x00:
			tlvs = false;
			break;
		case 0x12:
		case 0x22:
		case 0x32:
			return proxy_fail(why, "v2 datagram transport on a stream connection");
		default:
			return proxy_fail(why, "v2 unknown address family or transport");
		}
	}
	if (n < PROXY_V2_HEAD)
		return 0;
	len = (size_t)p[14] << 8 | p[15];
	total = PROXY_V2_HEAD + len;
	if (total > PROXY_MAX)
		return proxy_fail(why, "v2 header longer than " PROXY_STR(PROXY_MAX) " bytes");
	if (len < addrlen)
		return proxy_fail(why, "v2 address block shorter than its family needs");
	for (off = PROXY_V2_HEAD + addrlen; tlvs && off < total;) {
		if (total - off < PROXY_TLV_HEAD)
			return proxy_fail(why, "v2 TLV header past the length");
		if (n < off + PROXY_TLV_HEAD)
			return 0;
		off += PROXY_TLV_HEAD + ((size_t)p[off + 1] << 8 | p[off + 2]);
		if (off > total)
			return proxy_fail(why, "v2 TLV value past the length");
	}
	if (n < total)
		return 0;
	/* Source address, destination address, source port, destination port. */
	if (!hdr.local && p[13] == 0x11)
		proxy_set_src(&hdr, AF_INET, p + PROXY_V2_HEAD, p + PROXY_V2_HEAD + 8);
	else if (!hdr.local)
		proxy_set_src(&hdr, AF_INET6, p + PROXY_V2_HEAD, p + PROXY_V2_HEAD + 32);
	*h = hdr;
	return (int)total;
}

int
proxy_parse(const char *p, size_t n, int versions, struct proxy_hdr *h, const char **why)
{
	static const char *const no_sig[] = { "PROXY protocol off", "bad v1 signature",
		"bad v2 signature", "neither a v1 nor a v2 signature" };
	const unsigned char *u = (const unsigned char *)p;

	if (n == 0)
		return 0;
	versions &= PROXY_ANY;
	if ((versions & PROXY_V1) && u[0] == 'P') {
		static const char sig[] = "PROXY ";
		for (size_t i = 1; i < sizeof(sig) - 1; i++) {
			if (i == n)
				return 0;
			if (u[i] != (unsigned char)sig[i])
				return proxy_fail(why, "bad v1 signature");
		}
		return proxy_v1(u, n, h, why);
	}
	if ((versions & PROXY_V2) && u[0] == proxy_v2_sig[0])
		return proxy_v2(u, n, h, why);
	return proxy_fail(why, no_sig[versions]);
}

int
proxy_versions_parse(const char *s)
{
	for (int v = 0; v <= PROXY_ANY; v++)
		if (strcmp(s, proxy_version_name(v)) == 0)
			return v;
	return -1;
}

const char *
proxy_version_name(int versions)
{
	static const char *const names[] = { "off", "v1", "v2", "any" };

	return versions >= 0 && versions <= PROXY_ANY ? names[versions] : "?";
}
