/* check_proxy.c - unit tests for the PROXY protocol header parser: every case fed a byte at a time, decided where it should be, with its reason. */
#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "unit.h"

/* A case's result: the whole string is the header. */
#define WHOLE INT_MAX

/* The v2 signature, and an address block for each family (192.0.2.1:54321 to 198.51.100.7:443, 2001:db8::1 alike). */
#define SIG "\r\n\r\n\0\r\nQUIT\n"
#define V4                 \
	"\xc0\x00\x02\x01" \
	"\xc6\x33\x64\x07" \
	"\xd4\x31"         \
	"\x01\xbb"
#define V6                                           \
	"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01" \
	"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02" \
	"\xd4\x31"                                   \
	"\x01\xbb"
/* ALPN "h2", authority "example.com", an empty NOOP: 22 bytes. */
#define TLVS           \
	"\x01\x00\x02" \
	"h2"           \
	"\x02\x00\x0b" \
	"example.com"  \
	"\x04\x00\x00"
#define TCP4 "PROXY TCP4 192.0.2.1 198.51.100.7 54321 443\r\n"

/* ck_assert_msg without its system call when it passes, for the hot loops. */
#define REQUIRE_MSG(c, ...)                        \
	do {                                       \
		if (!(c))                          \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

/* A sentinel reason: *why must not change unless the result is -1. */
static const char untouched[] = "untouched";

/*
 * proxy_parse on p[0..n) copied to a buffer of exactly n bytes, so that
 * a read past the input is a read past the allocation (ASan sees it).
 * h must come back as it was unless the result is > 0, *why unless -1.
 */
static int
parse_n(const char *p, size_t n, int versions, struct proxy_hdr *h, const char **why)
{
	char *copy = malloc(n > 0 ? n : 1);
	struct proxy_hdr before;
	int rc;

	REQUIRE(copy != NULL);
	if (n > 0)
		memcpy(copy, p, n);
	memset(h, 0xA5, sizeof(*h));
	before = *h;
	*why = untouched;
	rc = proxy_parse(copy, n, versions, h, why);
	free(copy);
	REQUIRE(rc >= -1 && rc <= (int)n);
	REQUIRE(rc > 0 || memcmp(h, &before, sizeof(*h)) == 0);
	REQUIRE((rc == -1) == (*why != untouched));
	REQUIRE(*why != NULL);
	return rc;
}

/*
 * Fed one byte more at a time, every prefix of p[0..n) gives 0 until it
 * gives the final result, then that one, with the same reason.  Returns
 * the result; *at is the shortest prefix that gives it (0 if none).
 */
static int
check_prefixes(const char *p, size_t n, int versions, size_t *at, const char **why)
{
	struct proxy_hdr h;
	const char *w;
	int want = parse_n(p, n, versions, &h, why), got = 0;

	*at = 0;
	for (size_t k = 0; k <= n; k++) {
		int rc = parse_n(p, k, versions, &h, &w);
		if (rc != 0 && got == 0)
			*at = k;
		REQUIRE_MSG(rc == 0 || rc == want, "prefix of %zu bytes: %d, the whole %d", k, rc,
		    want);
		REQUIRE_MSG(got == 0 || rc == got, "prefix of %zu bytes: %d after %d", k, rc, got);
		if (rc == -1)
			REQUIRE_MSG(w == *why, "prefix of %zu bytes: \"%s\", the whole \"%s\"", k,
			    w, *why);
		got = rc;
	}
	return want;
}

/* h's source is ip (IPv4 unless it has a ':') and port; NULL: local. */
static void
check_src(const struct proxy_hdr *h, const char *ip, unsigned port)
{
	struct sockaddr_storage want, zero;

	memset(&zero, 0, sizeof(zero));
	if (ip == NULL) {
		ck_assert(h->local);
		ck_assert_uint_eq(h->srclen, 0);
		ck_assert(memcmp(&h->src, &zero, sizeof(zero)) == 0);
		return;
	}
	socklen_t len = unit_addr(&want, ip, port);
	ck_assert(!h->local);
	ck_assert_uint_eq(h->srclen, len);
	ck_assert_msg(memcmp(&h->src, &want, len) == 0, "not %s port %u", ip, port);
}

/* The fixed cases: bytes, the versions accepted, the result and where and why it comes. */
static const struct {
	const char *what;
	int versions;
	const char *in;
	size_t n;
	int want;        /* WHOLE, a length, 0 (incomplete) or -1 */
	size_t at;       /* -1: the shortest prefix that is -1, 0 for the whole input */
	const char *why; /* -1: the reason */
	const char *ip;  /* > 0: the source, NULL when local */
	unsigned port;
} cases[] = {
#define OK(what, v, in, ip, port)                                      \
	{                                                              \
		what, v, in, sizeof(in) - 1, WHOLE, 0, NULL, ip, port, \
	}
#define OKN(what, v, in, want, ip, port)                              \
	{                                                             \
		what, v, in, sizeof(in) - 1, want, 0, NULL, ip, port, \
	}
#define BAD(what, v, in, at, why)                                  \
	{                                                          \
		what, v, in, sizeof(in) - 1, -1, at, why, NULL, 0, \
	}
#define MORE(what, v, in)                                        \
	{                                                        \
		what, v, in, sizeof(in) - 1, 0, 0, NULL, NULL, 0 \
	}
	/* v1, valid */
	OK("tcp4", PROXY_V1, TCP4, "192.0.2.1", 54321),
	OK("tcp4 any", PROXY_ANY, TCP4, "192.0.2.1", 54321),
	OK("tcp4 edges", PROXY_ANY, "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", "0.0.0.0", 0),
	OK("tcp6", PROXY_ANY, "PROXY TCP6 2001:db8::1 2001:db8::2 54321 443\r\n", "2001:db8::1",
	    54321),
	OK("tcp6 full, upper case", PROXY_ANY,
	    "PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:0001 ::1 1 2\r\n", "2001:db8::1", 1),
	OK("tcp6 v4-mapped", PROXY_ANY, "PROXY TCP6 ::ffff:192.0.2.1 :: 80 8080\r\n",
	    "::ffff:192.0.2.1", 80),
	OK("tcp6 longest (104)", PROXY_ANY,
	    "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
	OK("unknown", PROXY_ANY, "PROXY UNKNOWN\r\n", NULL, 0),
	OK("unknown with addresses", PROXY_V1,
	    "PROXY UNKNOWN 2001:db8::1 2001:db8::2 54321 443\r\n", NULL, 0),
	OK("unknown with anything", PROXY_ANY, "PROXY UNKNOWN \0\xff\t  x \r\n", NULL, 0),
	OK("unknown worst case (107)", PROXY_ANY,
	    "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
	    NULL, 0),
	OKN("tcp4 then a request", PROXY_ANY, TCP4 "GET / HTTP/1.0\r\n\r\n", 45, "192.0.2.1",
	    54321),
	OKN("unknown then a v1 line", PROXY_ANY, "PROXY UNKNOWN\r\n" TCP4, 15, NULL, 0),
	OKN("tcp4 then CR LF", PROXY_ANY, TCP4 "\r\n", 45, "192.0.2.1", 54321),
	/* v1, the signature */
	BAD("lower-case proxy", PROXY_V1, "proxy TCP4 192.0.2.1 198.51.100.7 54321 443\r\n", 1,
	    "bad v1 signature"),
	BAD("lower-case proxy, any", PROXY_ANY, "proxy TCP4 192.0.2.1 198.51.100.7 54321 443\r\n",
	    1, "neither a v1 nor a v2 signature"),
	BAD("PROXy", PROXY_ANY, "PROXy TCP4", 5, "bad v1 signature"),
	BAD("tab after PROXY", PROXY_ANY, "PROXY\tTCP4", 6, "bad v1 signature"),
	BAD("no space after PROXY", PROXY_ANY, "PROXYTCP4", 6, "bad v1 signature"),
	BAD("space first", PROXY_ANY, " PROXY TCP4", 1, "neither a v1 nor a v2 signature"),
	BAD("HTTP/2 preface", PROXY_ANY, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 3, "bad v1 signature"),
	BAD("HTTP", PROXY_ANY, "GET / HTTP/1.1\r\n\r\n", 1, "neither a v1 nor a v2 signature"),
	BAD("TLS", PROXY_ANY, "\x16\x03\x01\x02\x00", 1, "neither a v1 nor a v2 signature"),
	/* v1, the protocol */
	BAD("lower-case tcp4", PROXY_ANY, "PROXY tcp4 192.0.2.1", 7,
	    "v1 protocol not TCP4, TCP6 or UNKNOWN"),
	BAD("TCP5", PROXY_ANY, "PROXY TCP5 192.0.2.1", 10, "v1 protocol not TCP4, TCP6 or UNKNOWN"),
	BAD("TCP44", PROXY_ANY, "PROXY TCP44 192.0.2.1", 11,
	    "v1 protocol not TCP4, TCP6 or UNKNOWN"),
	BAD("UDP4", PROXY_ANY, "PROXY UDP4 192.0.2.1", 8, "v1 protocol not TCP4, TCP6 or UNKNOWN"),
	BAD("UNKNOWNX", PROXY_ANY, "PROXY UNKNOWNX\r\n", 14,
	    "v1 protocol not TCP4, TCP6 or UNKNOWN"),
	BAD("UNKNOWN tab", PROXY_ANY, "PROXY UNKNOWN\t\r\n", 14,
	    "v1 protocol not TCP4, TCP6 or UNKNOWN"),
	BAD("no protocol", PROXY_ANY, "PROXY \r\n", 7, "v1 protocol not TCP4, TCP6 or UNKNOWN"),
	BAD("two spaces before the protocol", PROXY_ANY, "PROXY  TCP4", 7,
	    "v1 protocol not TCP4, TCP6 or UNKNOWN"),
	/* v1, the fields */
	BAD("two spaces before the source", PROXY_ANY,
	    "PROXY TCP4  192.0.2.1 198.51.100.7 54321 443\r\n", 12, "v1 bad source address"),
	BAD("two spaces before the destination", PROXY_ANY,
	    "PROXY TCP4 192.0.2.1  198.51.100.7 54321 443\r\n", 22, "v1 bad destination address"),
	BAD("two spaces before the source port", PROXY_ANY,
	    "PROXY TCP4 192.0.2.1 198.51.100.7  54321 443\r\n", 35, "v1 bad source port"),
	BAD("two spaces before the destination port", PROXY_ANY,
	    "PROXY TCP4 192.0.2.1 198.51.100.7 54321  443\r\n", 41, "v1 bad destination port"),
	BAD("trailing space", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.51.100.7 54321 443 \r\n", 44,
	    "v1 more fields than TCP4 and TCP6 have"),
	BAD("a fifth field", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.51.100.7 54321 443 80\r\n", 44,
	    "v1 more fields than TCP4 and TCP6 have"),
	BAD("no destination port", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.51.100.7 54321\r\n", 40,
	    "v1 fewer fields than TCP4 and TCP6 have"),
	BAD("no addresses", PROXY_ANY, "PROXY TCP4\r\n", 11,
	    "v1 fewer fields than TCP4 and TCP6 have"),
	BAD("empty destination port", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.51.100.7 54321 \r\n", 41,
	    "v1 bad destination port"),
	/* v1, the ports */
	BAD("leading zero", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.51.100.7 054321 443\r\n", 36,
	    "v1 bad source port"),
	BAD("port 00", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.51.100.7 1 00\r\n", 38,
	    "v1 bad destination port"),
	BAD("port 65536", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.51.100.7 65536 443\r\n", 39,
	    "v1 bad source port"),
	BAD("port 655350", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.51.100.7 1 655350\r\n", 42,
	    "v1 bad destination port"),
	BAD("destination port 65536", PROXY_ANY,
	    "PROXY TCP4 192.0.2.1 198.51.100.7 54321 65536\r\n", 45, "v1 bad destination port"),
	BAD("port 99999", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.51.100.7 99999 443\r\n", 39,
	    "v1 bad source port"),
	BAD("port with a sign", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.51.100.7 +1 443\r\n", 35,
	    "v1 bad source port"),
	BAD("negative port", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.51.100.7 1 -1\r\n", 37,
	    "v1 bad destination port"),
	BAD("hex port", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.51.100.7 0x50 443\r\n", 36,
	    "v1 bad source port"),
	/* v1, the addresses */
	BAD("IPv6 in TCP4", PROXY_ANY, "PROXY TCP4 2001:db8::1 2001:db8::2 1 2\r\n", 16,
	    "v1 bad source address"),
	BAD("IPv4 in TCP6", PROXY_ANY, "PROXY TCP6 192.0.2.1 198.51.100.7 1 2\r\n", 21,
	    "v1 bad source address"),
	BAD("IPv4 destination in TCP6", PROXY_ANY, "PROXY TCP6 ::1 198.51.100.7 1 2\r\n", 28,
	    "v1 bad destination address"),
	BAD("three numbers", PROXY_ANY, "PROXY TCP4 192.0.2 198.51.100.7 1 2\r\n", 19,
	    "v1 bad source address"),
	BAD("five numbers", PROXY_ANY, "PROXY TCP4 192.0.2.1.5 198.51.100.7 1 2\r\n", 23,
	    "v1 bad source address"),
	BAD("256", PROXY_ANY, "PROXY TCP4 256.0.2.1 198.51.100.7 1 2\r\n", 21,
	    "v1 bad source address"),
	BAD("leading zero first", PROXY_ANY, "PROXY TCP4 01.0.2.1 198.51.100.7 1 2\r\n", 13,
	    "v1 bad source address"),
	BAD("leading zero last", PROXY_ANY, "PROXY TCP4 192.0.2.01 198.51.100.7 1 2\r\n", 21,
	    "v1 bad source address"),
	BAD("octal-looking", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.051.100.7 1 2\r\n", 27,
	    "v1 bad destination address"),
	BAD("a name", PROXY_ANY, "PROXY TCP4 localhost 198.51.100.7 1 2\r\n", 12,
	    "v1 bad source address"),
	BAD("a letter after", PROXY_ANY, "PROXY TCP4 192.0.2.1x 198.51.100.7 1 2\r\n", 21,
	    "v1 bad source address"),
	BAD("16 characters", PROXY_ANY, "PROXY TCP4 1111111111111111 198.51.100.7 1 2\r\n", 27,
	    "v1 bad source address"),
	BAD("NUL in an address", PROXY_ANY, "PROXY TCP4 192.0\0.2.1 198.51.100.7 1 2\r\n", 17,
	    "v1 bad source address"),
	BAD("IPv6 zone", PROXY_ANY, "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", 19,
	    "v1 bad source address"),
	BAD("IPv6 brackets", PROXY_ANY, "PROXY TCP6 [::1] ::1 1 2\r\n", 12,
	    "v1 bad source address"),
	BAD("IPv6 two ::", PROXY_ANY, "PROXY TCP6 1::2::3 ::1 1 2\r\n", 19,
	    "v1 bad source address"),
	BAD("IPv6 nine groups", PROXY_ANY, "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", 29,
	    "v1 bad source address"),
	/* v1, the line's end */
	BAD("LF without CR", PROXY_ANY, "PROXY TCP6 ::1 ::1 1 2\n", 23, "v1 LF without CR"),
	BAD("unknown, LF without CR", PROXY_ANY, "PROXY UNKNOWN\n", 14, "v1 LF without CR"),
	BAD("unknown, a LF inside", PROXY_ANY, "PROXY UNKNOWN x\ny\r\n", 16, "v1 LF without CR"),
	BAD("CR without LF", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.51.100.7 54321 443\rX", 45,
	    "v1 CR without LF"),
	BAD("CR CR LF", PROXY_ANY, "PROXY UNKNOWN\r\r\n", 15, "v1 CR without LF"),
	BAD("unknown, 108 bytes", PROXY_ANY,
	    "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 655350\r\n",
	    106, "v1 line too long"),
	BAD("tcp6 v4-mapped, 116 bytes", PROXY_ANY,
	    "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 65535 65535\r\n",
	    106, "v1 line too long"),
	BAD("a v1 header, v2 only", PROXY_V2, TCP4, 1, "bad v2 signature"),
	BAD("anything, off", 0, TCP4, 1, "PROXY protocol off"),
	MORE("v1 first byte", PROXY_ANY, "P"),
	MORE("v1 signature", PROXY_ANY, "PROXY "),
	MORE("v1 half a line", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.5"),
	MORE("v1 up to the CR", PROXY_ANY, "PROXY TCP4 192.0.2.1 198.51.100.7 54321 443\r"),
	MORE("v1 unknown", PROXY_ANY, "PROXY UNKNOWN"),

	/* v2, valid */
	OK("v2 tcp4", PROXY_V2, SIG "\x21\x11\x00\x0c" V4, "192.0.2.1", 54321),
	OK("v2 tcp4 any", PROXY_ANY, SIG "\x21\x11\x00\x0c" V4, "192.0.2.1", 54321),
	OK("v2 tcp4 TLVs", PROXY_ANY, SIG "\x21\x11\x00\x22" V4 TLVS, "192.0.2.1", 54321),
	OK("v2 tcp4 port 0", PROXY_ANY,
	    SIG "\x21\x11\x00\x0c"
	        "\x0a\0\0\x01\x0a\0\0\x02\0\0\0\0",
	    "10.0.0.1", 0),
	OK("v2 tcp6", PROXY_V2, SIG "\x21\x21\x00\x24" V6, "2001:db8::1", 54321),
	OK("v2 tcp6 TLVs", PROXY_ANY, SIG "\x21\x21\x00\x3a" V6 TLVS, "2001:db8::1", 54321),
	OK("v2 tcp6 a TLV of 0", PROXY_ANY, SIG "\x21\x21\x00\x27" V6 "\x04\x00\x00", "2001:db8::1",
	    54321),
	OK("v2 local", PROXY_ANY, SIG "\x20\x00\x00\x00", NULL, 0),
	OK("v2 local, tcp4 addresses", PROXY_ANY, SIG "\x20\x11\x00\x0c" V4, NULL, 0),
	OK("v2 local, tcp6 addresses and TLVs", PROXY_ANY, SIG "\x20\x21\x00\x3a" V6 TLVS, NULL, 0),
	OK("v2 local, any family, not TLVs", PROXY_ANY,
	    SIG "\x20\xff\x00\x05"
	        "abcde",
	    NULL, 0),
	OK("v2 local, datagrams", PROXY_ANY,
	    SIG "\x20\x12\x00\x02"
	        "\x01\x00",
	    NULL, 0),
	OK("v2 local, tcp4, short", PROXY_ANY,
	    SIG "\x20\x11\x00\x02"
	        "\x01\x00",
	    NULL, 0),
	OK("v2 unspec", PROXY_ANY, SIG "\x21\x00\x00\x00", NULL, 0),
	OK("v2 unspec, addresses", PROXY_ANY,
	    SIG "\x21\x00\x00\x02"
	        "\xff\xff",
	    NULL, 0),
	OKN("v2 tcp4 then a request", PROXY_ANY, SIG "\x21\x11\x00\x0c" V4 "GET / HTTP/1.0\r\n\r\n",
	    28, "192.0.2.1", 54321),
	OKN("v2 then a v1 line", PROXY_ANY, SIG "\x20\x00\x00\x00" TCP4, 16, NULL, 0),
	/* v2, invalid */
	BAD("v2 bad signature end", PROXY_ANY, "\r\n\r\n\0\r\nQUIx\n\x21\x11\x00\x0c" V4, 11,
	    "bad v2 signature"),
	BAD("v2 CR LF CR LF GET", PROXY_ANY, "\r\n\r\nGET / HTTP/1.1\r\n", 5, "bad v2 signature"),
	BAD("v2 CR CR", PROXY_ANY, "\r\r\n", 2, "bad v2 signature"),
	BAD("v2 version 1", PROXY_ANY, SIG "\x11\x11\x00\x0c" V4, 13, "v2 version not 2"),
	BAD("v2 version 3", PROXY_ANY, SIG "\x31\x11\x00\x0c" V4, 13, "v2 version not 2"),
	BAD("v2 version 0", PROXY_ANY, SIG "\x00\x00\x00\x00", 13, "v2 version not 2"),
	BAD("v2 command 2", PROXY_ANY, SIG "\x22\x11\x00\x0c" V4, 13,
	    "v2 command neither LOCAL nor PROXY"),
	BAD("v2 command 15", PROXY_ANY, SIG "\x2f\x00\x00\x00", 13,
	    "v2 command neither LOCAL nor PROXY"),
	BAD("v2 udp4", PROXY_ANY, SIG "\x21\x12\x00\x0c" V4, 14,
	    "v2 datagram transport on a stream connection"),
	BAD("v2 udp6", PROXY_ANY, SIG "\x21\x22\x00\x24" V6, 14,
	    "v2 datagram transport on a stream connection"),
	BAD("v2 unix datagrams", PROXY_ANY, SIG "\x21\x32\x00\x00", 14,
	    "v2 datagram transport on a stream connection"),
	BAD("v2 inet, unspec transport", PROXY_ANY, SIG "\x21\x10\x00\x0c" V4, 14,
	    "v2 unknown address family or transport"),
	BAD("v2 unspec, stream", PROXY_ANY, SIG "\x21\x01\x00\x00", 14,
	    "v2 unknown address family or transport"),
	BAD("v2 transport 3", PROXY_ANY, SIG "\x21\x13\x00\x0c" V4, 14,
	    "v2 unknown address family or transport"),
	BAD("v2 family 4", PROXY_ANY, SIG "\x21\x41\x00\x00", 14,
	    "v2 unknown address family or transport"),
	BAD("v2 tcp4 in 11 bytes", PROXY_ANY, SIG "\x21\x11\x00\x0b" V4, 16,
	    "v2 address block shorter than its family needs"),
	BAD("v2 tcp6 in 35 bytes", PROXY_ANY, SIG "\x21\x21\x00\x23" V6, 16,
	    "v2 address block shorter than its family needs"),
	BAD("v2 tcp6 in 12 bytes", PROXY_ANY, SIG "\x21\x21\x00\x0c" V4, 16,
	    "v2 address block shorter than its family needs"),
	BAD("v2 unix in 215 bytes", PROXY_ANY, SIG "\x21\x31\x00\xd7", 16,
	    "v2 address block shorter than its family needs"),
	BAD("v2 4097 bytes", PROXY_ANY, SIG "\x21\x11\x0f\xf1" V4, 16,
	    "v2 header longer than 4096 bytes"),
	BAD("v2 local, 65551 bytes", PROXY_ANY, SIG "\x20\x00\xff\xff", 16,
	    "v2 header longer than 4096 bytes"),
	BAD("v2 truncated TLV header", PROXY_ANY, SIG "\x21\x11\x00\x0e" V4 "\x01\x00", 16,
	    "v2 TLV header past the length"),
	BAD("v2 truncated TLV value", PROXY_ANY,
	    SIG "\x21\x11\x00\x11" V4 "\x01\x00\x03"
	        "ab",
	    31, "v2 TLV value past the length"),
	BAD("v2 second TLV truncated", PROXY_ANY,
	    SIG "\x21\x21\x00\x39" V6 "\x01\x00\x02"
	        "h2"
	        "\x02\x00\x0b"
	        "example.com"
	        "\x04\x00",
	    60, "v2 TLV header past the length"),
	BAD("v2 TLV of 65535", PROXY_ANY, SIG "\x21\x11\x00\x0f" V4 "\x04\xff\xff", 31,
	    "v2 TLV value past the length"),
	BAD("v2 unix, TLV truncated", PROXY_ANY, SIG "\x21\x31\x00\xd9", 16,
	    "v2 TLV header past the length"),
	BAD("a v2 header, v1 only", PROXY_V1, SIG "\x21\x11\x00\x0c" V4, 1, "bad v1 signature"),
	BAD("a v2 header, off", 0, SIG "\x21\x11\x00\x0c" V4, 1, "PROXY protocol off"),
	MORE("v2 first byte", PROXY_ANY, "\r"),
	MORE("v2 signature", PROXY_ANY, SIG),
	MORE("v2 fixed part", PROXY_ANY, SIG "\x21\x11\x00\x22"),
	MORE("v2 without its last byte", PROXY_ANY,
	    SIG "\x21\x11\x00\x22" V4 "\x01\x00\x02"
	        "h2"
	        "\x02\x00\x0b"
	        "example.com"
	        "\x04\x00"),
	MORE("v2 local without its addresses", PROXY_ANY,
	    SIG "\x20\x11\x00\x0c"
	        "\xc0\x00\x02"),
#undef OK
#undef OKN
#undef BAD
#undef MORE
};

START_TEST(test_cases)
{
	struct proxy_hdr h;
	const char *why;
	size_t n = cases[_i].n, at, want_at = cases[_i].at;
	int want = cases[_i].want == WHOLE ? (int)n : cases[_i].want;
	int got = check_prefixes(cases[_i].in, n, cases[_i].versions, &at, &why);

	ck_assert_msg(got == want, "%s (case %d): %d, wanted %d (%s)", cases[_i].what, _i, got,
	    want, got == -1 ? why : "");
	if (want == -1) {
		if (want_at == 0)
			want_at = n;
		ck_assert_msg(at == want_at, "%s: -1 after %zu bytes, wanted %zu", cases[_i].what,
		    at, want_at);
		ck_assert_msg(strcmp(why, cases[_i].why) == 0, "%s: \"%s\", wanted \"%s\"",
		    cases[_i].what, why, cases[_i].why);
	}
	if (want > 0) {
		ck_assert_uint_eq(at, (size_t)want);
		ck_assert_int_eq(parse_n(cases[_i].in, n, cases[_i].versions, &h, &why), want);
		ck_assert_int_eq(h.version, cases[_i].in[0] == 'P' ? 1 : 2);
		check_src(&h, cases[_i].ip, cases[_i].port);
	}
}
END_TEST

/* v1 UNKNOWN lines of 100 to 110 bytes: up to 107 with the CRLF, refused at the 106th byte beyond. */
START_TEST(test_v1_length)
{
	char line[128];
	struct proxy_hdr h;
	const char *why;
	size_t at;

	for (size_t len = 100; len <= 110; len++) {
		memset(line, 'x', sizeof(line));
		memcpy(line, "PROXY UNKNOWN ", 14);
		memcpy(line + len - 2, "\r\n", 2);
		int rc = check_prefixes(line, len, PROXY_V1, &at, &why);
		if (len <= PROXY_V1_MAX) {
			ck_assert_int_eq(rc, (int)len);
		} else {
			ck_assert_int_eq(rc, -1);
			ck_assert_uint_eq(at, PROXY_V1_MAX - 1);
			ck_assert_str_eq(why, "v1 line too long");
		}
	}
	/* No line end at all: refused at the same byte. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	ck_assert_int_eq(check_prefixes(line, sizeof(line), PROXY_V1, &at, &why), -1);
	ck_assert_uint_eq(at, PROXY_V1_MAX - 1);
	ck_assert_int_eq(proxy_parse(line, PROXY_V1_MAX - 2, PROXY_ANY, &h, &why), 0);
}
END_TEST

/* v2 UNIX stream addresses (216 bytes): local, TLVs after them checked. */
START_TEST(test_v2_unix)
{
	char buf[16 + 216 + 8];
	struct proxy_hdr h;
	const char *why;
	size_t at;

	memcpy(buf, SIG "\x21\x31\x00\xd8", 16);
	memset(buf + 16, 0, 216);
	memcpy(buf + 16, "/run/client.sock", 16);
	memcpy(buf + 16 + 108, "/run/server.sock", 16);
	ck_assert_int_eq(check_prefixes(buf, 16 + 216, PROXY_V2, &at, &why), 16 + 216);
	ck_assert_int_eq(parse_n(buf, 16 + 216, PROXY_V2, &h, &why), 16 + 216);
	ck_assert_int_eq(h.version, 2);
	check_src(&h, NULL, 0);

	/* With a TLV ... */
	buf[15] = (char)(216 + 5);
	memcpy(buf + 16 + 216, "\x01\x00\x02h2", 5);
	ck_assert_int_eq(check_prefixes(buf, 16 + 216 + 5, PROXY_ANY, &at, &why), 16 + 216 + 5);
	/* ... whose value runs past the length. */
	buf[15] = (char)(216 + 4);
	ck_assert_int_eq(check_prefixes(buf, 16 + 216 + 4, PROXY_ANY, &at, &why), -1);
	ck_assert_uint_eq(at, 16 + 216 + 3);
	ck_assert_str_eq(why, "v2 TLV value past the length");
}
END_TEST

/* v2 up to PROXY_MAX bytes, one TLV filling the rest; one byte more is refused at the length. */
START_TEST(test_v2_max)
{
	static char buf[PROXY_MAX + 1];
	struct proxy_hdr h;
	const char *why;
	size_t len = PROXY_MAX - 16, tlv = len - 12 - 3, at;

	memset(buf, 'v', sizeof(buf));
	memcpy(buf, SIG "\x21\x11", 14);
	buf[14] = (char)(len >> 8);
	buf[15] = (char)len;
	memcpy(buf + 16, V4, 12);
	buf[28] = 0x04;
	buf[29] = (char)(tlv >> 8);
	buf[30] = (char)tlv;
	ck_assert_int_eq(check_prefixes(buf, PROXY_MAX, PROXY_ANY, &at, &why), PROXY_MAX);
	ck_assert_int_eq(proxy_parse(buf, sizeof(buf), PROXY_V2, &h, &why), PROXY_MAX);
	check_src(&h, "192.0.2.1", 54321);

	len++;
	tlv++;
	buf[14] = (char)(len >> 8);
	buf[15] = (char)len;
	buf[29] = (char)(tlv >> 8);
	buf[30] = (char)tlv;
	ck_assert_int_eq(check_prefixes(buf, PROXY_MAX + 1, PROXY_ANY, &at, &why), -1);
	ck_assert_uint_eq(at, 16);
	ck_assert_str_eq(why, "v2 header longer than 4096 bytes");
}
END_TEST

/* A v2 header of many small TLVs, a byte at a time: 0 until its last byte, whatever follows. */
START_TEST(test_v2_many_tlvs)
{
	char buf[16 + 36 + 100 * 4 + 4];
	size_t n = 16 + 36, at;
	const char *why;

	memcpy(buf, SIG "\x21\x21\x00\x00", 16);
	memcpy(buf + 16, V6, 36);
	for (int i = 0; i < 100; i++) {
		memcpy(buf + n, "\x05\x00\x01", 3);
		buf[n + 3] = (char)i;
		n += 4;
	}
	buf[14] = (char)((n - 16) >> 8);
	buf[15] = (char)(n - 16);
	memcpy(buf + n, "tail", 4);
	ck_assert_int_eq(check_prefixes(buf, n + 4, PROXY_ANY, &at, &why), (int)n);
	ck_assert_uint_eq(at, n);
}
END_TEST

/*
 * Each valid case with one byte replaced, inserted or deleted, at every
 * position: whatever the result, every prefix agrees with it.
 */
START_TEST(test_mutations)
{
	static const unsigned char bytes[] = { 0, ' ', '\r', '\n', '0', '1', '9', ':', '.', 'P',
		'f', 0x21, 0x11, 0xff };
	char buf[160];
	size_t at;
	const char *why;

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t n = cases[c].n;
		if (cases[c].want <= 0 || n + 1 > sizeof(buf))
			continue;
		for (size_t i = 0; i < n; i++) {
			for (size_t b = 0; b <= sizeof(bytes); b++) {
				unsigned char x = b < sizeof(bytes) ?
				    bytes[b] :
				    (unsigned char)(cases[c].in[i] + 1);
				memcpy(buf, cases[c].in, n);
				buf[i] = (char)x;
				check_prefixes(buf, n, cases[c].versions, &at, &why);
				memcpy(buf + i + 1, cases[c].in + i, n - i);
				check_prefixes(buf, n + 1, cases[c].versions, &at, &why);
			}
			memcpy(buf, cases[c].in, i);
			memcpy(buf + i, cases[c].in + i + 1, n - i - 1);
			check_prefixes(buf, n - 1, cases[c].versions, &at, &why);
		}
	}
}
END_TEST

START_TEST(test_edges)
{
	struct proxy_hdr h;

	/* Nothing yet is incomplete, whatever the versions; why may be NULL. */
	ck_assert_int_eq(proxy_parse(NULL, 0, PROXY_ANY, &h, NULL), 0);
	ck_assert_int_eq(proxy_parse(NULL, 0, 0, &h, NULL), 0);
	ck_assert_int_eq(proxy_parse("x", 1, PROXY_ANY, &h, NULL), -1);
	ck_assert_int_eq(proxy_parse(TCP4, strlen(TCP4), PROXY_ANY, &h, NULL), 45);
	/* Bits beyond PROXY_ANY are ignored. */
	ck_assert_int_eq(proxy_parse(TCP4, strlen(TCP4), PROXY_V1 | 8, &h, NULL), 45);
	ck_assert_int_eq(proxy_parse(TCP4, strlen(TCP4), PROXY_V2 | 4, &h, NULL), -1);
}
END_TEST

START_TEST(test_versions)
{
	static const struct {
		const char *s;
		int v;
	} names[] = { { "off", 0 }, { "v1", PROXY_V1 }, { "v2", PROXY_V2 }, { "any", PROXY_ANY } };
	static const char *const bad[] = { "", "V1", "v3", "any ", "on", "1", "v1,v2", "Off" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ck_assert_int_eq(proxy_versions_parse(names[i].s), names[i].v);
		ck_assert_str_eq(proxy_version_name(names[i].v), names[i].s);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(proxy_versions_parse(bad[i]), -1);
	ck_assert_str_eq(proxy_version_name(-1), "?");
	ck_assert_str_eq(proxy_version_name(4), "?");
}
END_TEST

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *
proxy_suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_cases, 0, NCASES(cases));
	tcase_add_test(tc, test_v1_length);
	tcase_add_test(tc, test_v2_unix);
	tcase_add_test(tc, test_v2_max);
	tcase_add_test(tc, test_v2_many_tlvs);
	tcase_add_test(tc, test_mutations);
	tcase_add_test(tc, test_edges);
	tcase_add_test(tc, test_versions);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
