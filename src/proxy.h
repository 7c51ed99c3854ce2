/* proxy.h - a strict PROXY protocol (v1 text, v2 binary) header parser, as HAProxy's proxy-protocol.txt has it: a pure function over bytes. */
#ifndef DISPATCHD_PROXY_H
#define DISPATCHD_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* A v1 line, its CRLF included, is at most this long (proxy-protocol.txt 2.1). */
#define PROXY_V1_MAX 107
/*
 * A v2 header (16 bytes, then addresses and TLVs) longer than this is
 * refused: the protocol allows 16 + 65535, HAProxy sends 16 + 12 or
 * 16 + 36 and a few TLVs (ALPN, authority, a unique id of up to 128
 * bytes, SSL details), far less.  A caller buffers at most this much.
 */
#define PROXY_MAX 4096

/* Which versions a listener accepts: a bit mask (proxy_protocol = "off", "v1", "v2", "any"). */
enum proxy_version { PROXY_V1 = 1, PROXY_V2 = 2, PROXY_ANY = 3 };

/* What a header says. */
struct proxy_hdr {
	int version; /* 1 or 2 */
	/*
	 * Keep the socket's own peer: v1 "UNKNOWN", v2 LOCAL (any family),
	 * and v2 PROXY with AF_UNSPEC or AF_UNIX addresses.  src is then
	 * all zero and srclen 0.
	 */
	bool local;
	/* Otherwise the client: AF_INET (srclen sizeof(struct sockaddr_in))
	 * or AF_INET6 (sizeof(struct sockaddr_in6)), address and port. */
	struct sockaddr_storage src;
	socklen_t srclen;
};

/*
 * Looks for a complete PROXY header of a version in versions (a mask of
 * enum proxy_version) at the start of p[0..n).  Returns:
 *   > 0  its length, h filled: the bytes after it belong to the handler;
 *   0    incomplete, and what is there may still begin a valid header:
 *        wait for more.  Only ever while n < PROXY_MAX (a v1 line: n <
 *        PROXY_V1_MAX), so a caller never buffers more than that;
 *   -1   invalid: *why (when why is not NULL) is a static string that
 *        says why, "bad v2 signature", "v1 line too long"...
 * h is written only when the result is > 0, *why only when it is -1.
 *
 * Strict, as proxy-protocol.txt says a receiver must be ("any sequence
 * which does not exactly match the protocol must be discarded"):
 *   v1  "PROXY TCP4 SRC DST SPORT DPORT\r\n" (TCP6 alike); "PROXY
 *       UNKNOWN\r\n", or "PROXY UNKNOWN " then any bytes but CR and LF
 *       and "\r\n" (local).  Single spaces; addresses as inet_pton reads
 *       them, IPv4 for TCP4 (no leading zeros), IPv6 for TCP6; ports 0 to
 *       65535 in decimal, without sign or leading zeros; the CRLF within
 *       the first PROXY_V1_MAX bytes, and no CR or LF before it.
 *   v2  the 12-byte signature; version 2; command LOCAL (0), whose family
 *       and address block are ignored, or PROXY (1) with TCP over IPv4
 *       (0x11, 12 address bytes at least) or IPv6 (0x21, 36), UNIX
 *       stream (0x31, 216; local) or AF_UNSPEC (0x00; local); the
 *       datagram ones (0x12, 0x22, 0x32) and any other are refused.  After
 *       the addresses of 0x11, 0x21 and 0x31 the rest of the length is
 *       TLVs, skipped but each within the length; the address block of
 *       LOCAL and of AF_UNSPEC, whose size no family gives, is skipped
 *       whole.  Ports are taken as sent (0 included); a header longer than
 *       PROXY_MAX is refused.
 * A first byte that begins no accepted signature is -1 at once.  A v2
 * error comes as soon as the bytes that make it one are there (a TLV's
 * as soon as its three header bytes are); a v1 one with a byte that is
 * wrong where it stands (a letter in a port, a port past 65535, a lone LF,
 * a second space, no CR by the 106th byte), else when the field ends
 * (an address is read by inet_pton then).
 * The answer only ever goes from 0 to one final result as bytes are
 * added: once a prefix gives a non-zero result, the whole gives the same
 * one, with the same reason.  Each call reads at most PROXY_V1_MAX
 * bytes of a v1 line, or a v2 header's first 16 bytes and its TLV
 * headers; no allocation, no state: a caller calls again on the grown
 * input.
 */
int proxy_parse(const char *p, size_t n, int versions, struct proxy_hdr *h, const char **why);

/* A proxy_protocol value: "off" 0, "v1" PROXY_V1, "v2" PROXY_V2, "any" PROXY_ANY; -1 for any other. */
int proxy_versions_parse(const char *s);

/* The name of a versions mask, proxy_versions_parse's inverse: "off", "v1", "v2", "any"; "?" outside 0..3. */
const char *proxy_version_name(int versions);

#endif
