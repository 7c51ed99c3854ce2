/* fuzz_proxy.c - the PROXY protocol header parser: results in range and final once given, every prefix agreeing, the header read again plainly (v1 by its tokens, v2 by its fields). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy.h"

#include "fuzz_util.h"

/* Every prefix up to this long is parsed (quadratic), then FEW_PREFIXES longer ones. */
#define ALL_PREFIXES 128
#define FEW_PREFIXES 8

static const unsigned char v2sig[12] = { '\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T',
	'\n' };

/* The reason of a result that is not -1. */
static const char no_reason[] = "none";

/*
 * proxy_parse on the input's first k bytes, placed at the end of buf
 * (which holds size bytes, exactly): a read past the k bytes is a read
 * past the allocation, which ASan reports.  h must come back untouched
 * unless the result is > 0, *why unless it is -1.
 */
static int
fz_parse(char *buf, size_t size, const uint8_t *data, size_t k, int versions, struct proxy_hdr *h,
    const char **why)
{
	struct proxy_hdr before;
	char *at = buf + size - k;
	int rc;

	if (k > 0)
		memmove(at, data, k);
	memset(h, 0x5A, sizeof(*h));
	before = *h;
	*why = no_reason;
	rc = proxy_parse(at, k, versions, h, why);
	FZ_CHECK(rc >= -1 && rc <= (int)k && rc <= PROXY_MAX, "result %d for %zu bytes", rc, k);
	FZ_CHECK(rc != 0 || k < (k > 0 && data[0] == 'P' ? PROXY_V1_MAX : PROXY_MAX),
	    "still waiting after %zu bytes", k);
	FZ_CHECK(rc > 0 || memcmp(h, &before, sizeof(*h)) == 0, "h written on %d", rc);
	FZ_CHECK((rc == -1) == (*why != no_reason) && *why != NULL && (*why)[0] != '\0',
	    "reason \"%s\" with %d", *why != NULL ? *why : "(null)", rc);
	return rc;
}

/* The port token t: decimal 0..65535, no sign, no leading zero. */
static bool
fz_port_ok(const char *t, unsigned *port)
{
	char back[8];
	unsigned long v;

	if (*t < '0' || *t > '9' || strlen(t) > 5)
		return false;
	v = strtoul(t, NULL, 10);
	snprintf(back, sizeof(back), "%lu", v);
	*port = (unsigned)v;
	return v <= 65535 && strcmp(back, t) == 0;
}

/*
 * What proxy-protocol.txt 2.1 says of the v1 line l[0..len), its CRLF
 * left out (and no CR or LF in it): valid or not, local, and the source.
 * Read plainly: the tokens between single spaces, inet_pton, and for
 * IPv4 its one canonical spelling (inet_ntop's).
 */
static bool
fz_v1_valid(const char *l, size_t len, bool *local, struct sockaddr_storage *src)
{
	char line[PROXY_V1_MAX + 1], *tok[6], back[INET6_ADDRSTRLEN];
	unsigned char a[16], b[16];
	unsigned sport, dport;
	size_t ntok = 0;
	int af;

	if (len < 6 || memcmp(l, "PROXY ", 6) != 0)
		return false;
	if ((len == 13 || (len > 13 && l[13] == ' ')) && memcmp(l + 6, "UNKNOWN", 7) == 0) {
		*local = true;
		return true;
	}
	if (memchr(l, '\0', len) != NULL)
		return false;
	memcpy(line, l, len);
	line[len] = '\0';
	for (char *s = line;; s++) {
		tok[ntok++] = s;
		s = strchr(s, ' ');
		if (s == NULL || ntok == 6)
			break;
		*s = '\0';
	}
	if (ntok != 6 || strchr(tok[5], ' ') != NULL)
		return false;
	if (strcmp(tok[1], "TCP4") == 0)
		af = AF_INET;
	else if (strcmp(tok[1], "TCP6") == 0)
		af = AF_INET6;
	else
		return false;
	if (inet_pton(af, tok[2], a) != 1 || inet_pton(af, tok[3], b) != 1 ||
	    !fz_port_ok(tok[4], &sport) || !fz_port_ok(tok[5], &dport))
		return false;
	if (af == AF_INET &&
	    (strcmp(inet_ntop(af, a, back, sizeof(back)), tok[2]) != 0 ||
	        strcmp(inet_ntop(af, b, back, sizeof(back)), tok[3]) != 0))
		return false;
	*local = false;
	memset(src, 0, sizeof(*src));
	if (af == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)src;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		s4->sin_port = htons((uint16_t)sport);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)src;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		s6->sin6_port = htons((uint16_t)sport);
	}
	return true;
}

/*
 * What proxy-protocol.txt 2.2 says of the v2 header at d[0..n), its whole
 * length there: valid or not, local, the source.  The TLVs, after the
 * address block of the families that give its size, must tile the rest.
 */
static bool
fz_v2_valid(const uint8_t *d, bool *local, struct sockaddr_storage *src)
{
	size_t len = (size_t)d[14] << 8 | d[15], need, off;

	if (memcmp(d, v2sig, 12) != 0 || d[12] >> 4 != 2 || (d[12] & 15) > 1 ||
	    16 + len > PROXY_MAX)
		return false;
	*local = true;
	if ((d[12] & 15) == 0 || d[13] == 0x00)
		return true;
	switch (d[13]) {
	case 0x11:
		need = 12;
		break;
	case 0x21:
		need = 36;
		break;
	case 0x31:
		need = 216;
		break;
	default:
		return false;
	}
	if (len < need)
		return false;
	for (off = need; off < len; off += 3 + ((size_t)d[16 + off + 1] << 8 | d[16 + off + 2]))
		if (len - off < 3)
			return false;
	if (off != len)
		return false;
	memset(src, 0, sizeof(*src));
	if (d[13] == 0x11) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)src;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, d + 16, 4);
		memcpy(&s4->sin_port, d + 24, 2);
		*local = false;
	} else if (d[13] == 0x21) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)src;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, d + 16, 16);
		memcpy(&s6->sin6_port, d + 48, 2);
		*local = false;
	}
	return true;
}

/* h as a header that says local, or the source src, says it. */
static void
fz_check_hdr(const struct proxy_hdr *h, int version, bool local, const struct sockaddr_storage *src)
{
	static const struct sockaddr_storage zero;

	FZ_CHECK(h->version == version, "version %d, wanted %d", h->version, version);
	FZ_CHECK(h->local == local, "local %d, wanted %d", h->local, local);
	if (local) {
		FZ_CHECK(h->srclen == 0 && memcmp(&h->src, &zero, sizeof(zero)) == 0,
		    "a local header with a source");
		return;
	}
	socklen_t want = src->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	                                             sizeof(struct sockaddr_in6);
	FZ_CHECK(h->src.ss_family == AF_INET || h->src.ss_family == AF_INET6, "family %d",
	    h->src.ss_family);
	FZ_CHECK(h->srclen == want && memcmp(&h->src, src, sizeof(*src)) == 0,
	    "the source differs (family %d, length %u)", h->src.ss_family, (unsigned)h->srclen);
}

/*
 * The result rc on the whole input d[0..n) against the header read again:
 * where the bytes settle it (a v1 line's end, a v2 header's length), the
 * result is the one they give; where they do not yet, 0 or -1.
 */
static void
fz_check_plain(const uint8_t *d, size_t n, int rc, const struct proxy_hdr *h)
{
	struct sockaddr_storage src;
	bool local = false;

	if (n == 0) {
		FZ_CHECK(rc == 0, "%d for nothing", rc);
		return;
	}
	if (d[0] != 'P' && d[0] != '\r') {
		FZ_CHECK(rc == -1, "%d for a first byte 0x%02X", rc, d[0]);
		return;
	}
	if (d[0] == 'P') {
		size_t lim = n < PROXY_V1_MAX ? n : PROXY_V1_MAX, e = 0;
		while (e < lim && d[e] != '\r' && d[e] != '\n')
			e++;
		if (e == lim) {
			/* No line end yet: -1 once the CR can no longer come in time. */
			FZ_CHECK(rc == -1 || (rc == 0 && n < PROXY_V1_MAX - 1),
			    "%d without a line end in %zu bytes", rc, n);
			return;
		}
		bool valid = e + 2 <= PROXY_V1_MAX && fz_v1_valid((const char *)d, e, &local, &src);
		if (d[e] == '\r' && e + 1 == n) {
			/* Up to the CR: a valid line waits for its LF, any other is refused. */
			FZ_CHECK(rc == (valid ? 0 : -1), "%d up to the CR of %s a line", rc,
			    valid ? "a valid" : "an invalid");
			return;
		}
		if (d[e] != '\r' || d[e + 1] != '\n')
			valid = false;
		FZ_CHECK(rc == (valid ? (int)e + 2 : -1), "%d for the line of %zu bytes %s", rc,
		    e + 2, fz_show((const char *)d, e));
		if (rc > 0)
			fz_check_hdr(h, 1, local, &src);
		return;
	}
	for (size_t i = 0; i < n && i < 12; i++)
		if (d[i] != v2sig[i]) {
			FZ_CHECK(rc == -1, "%d for a signature wrong at byte %zu", rc, i);
			return;
		}
	if (n >= 13 && (d[12] >> 4 != 2 || (d[12] & 15) > 1))
		FZ_CHECK(rc == -1, "%d for version and command 0x%02X", rc, d[12]);
	if (n >= 14 && (d[12] & 15) == 1 && d[13] != 0x00 && d[13] != 0x11 && d[13] != 0x21 &&
	    d[13] != 0x31)
		FZ_CHECK(rc == -1, "%d for PROXY with family 0x%02X", rc, d[13]);
	if (n < 16)
		return;
	size_t total = 16 + ((size_t)d[14] << 8 | d[15]);
	if (total > PROXY_MAX)
		FZ_CHECK(rc == -1, "%d for %zu bytes", rc, total);
	if (n < total) {
		FZ_CHECK(rc <= 0, "%d before the %zu bytes of the header", rc, total);
		return;
	}
	bool valid = fz_v2_valid(d, &local, &src);
	FZ_CHECK(rc == (valid ? (int)total : -1), "%d for a v2 header of %zu bytes, %s", rc, total,
	    valid ? "valid" : "invalid");
	if (rc > 0)
		fz_check_hdr(h, 2, local, &src);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr whole, part;
	const char *why, *w;
	uint32_t hash = 2166136261u;
	char *buf = malloc(size > 0 ? size : 1);
	int rc, r;

	FZ_CHECK(buf != NULL, "out of memory");
	for (size_t i = 0; i < size; i++)
		hash = (hash ^ data[i]) * 16777619u;

	rc = fz_parse(buf, size, data, size, PROXY_ANY, &whole, &why);
	fz_check_plain(data, size, rc, &whole);
	if (rc > 0 && whole.version == 1)
		FZ_CHECK(rc <= PROXY_V1_MAX, "a v1 line of %d bytes", rc);

	/* The versions: the one the first byte names gives the same, the other and none -1. */
	if (size > 0) {
		int v = data[0] == 'P' ? PROXY_V1 : data[0] == '\r' ? PROXY_V2 : 0;
		r = fz_parse(buf, size, data, size, v != 0 ? v : PROXY_V1, &part, &w);
		FZ_CHECK(r == (v != 0 ? rc : -1), "versions %d: %d, any %d", v, r, rc);
		FZ_CHECK(r <= 0 || memcmp(&part, &whole, sizeof(part)) == 0, "versions %d: h", v);
		r = fz_parse(buf, size, data, size, v ^ PROXY_ANY, &part, &w);
		FZ_CHECK(r == -1, "versions %d: %d", v ^ PROXY_ANY, r);
		r = fz_parse(buf, size, data, size, 0, &part, &w);
		FZ_CHECK(r == -1, "off: %d", r);
	}

	/*
	 * Prefixes, in increasing length: 0 until the result, then the
	 * result with the same header and reason.  Every one up to
	 * ALL_PREFIXES bytes (past a v1 line's longest); beyond, the header
	 * alone, less a byte, and lengths taken from the hash.
	 */
	size_t ks[ALL_PREFIXES + 1 + FEW_PREFIXES], nk = 0;
	for (size_t k = 0; k <= size && k <= ALL_PREFIXES; k++)
		ks[nk++] = k;
	for (size_t j = 0; size > ALL_PREFIXES && j < FEW_PREFIXES; j++) {
		size_t k = ALL_PREFIXES + 1 + (hash >> (j * 4)) % (size - ALL_PREFIXES);
		if (j < 2 && rc > ALL_PREFIXES + 1)
			k = (size_t)rc - j;
		size_t at = nk++;
		while (at > 0 && ks[at - 1] > k) {
			ks[at] = ks[at - 1];
			at--;
		}
		ks[at] = k;
	}
	int last = 0;
	for (size_t j = 0; j < nk; j++) {
		size_t k = ks[j];
		r = fz_parse(buf, size, data, k, PROXY_ANY, &part, &w);
		FZ_CHECK(r == 0 || r == rc, "prefix %zu: %d, the whole %d", k, r, rc);
		FZ_CHECK(last == 0 || r == last, "prefix %zu: %d after %d", k, r, last);
		FZ_CHECK(r != -1 || w == why, "prefix %zu: \"%s\", the whole \"%s\"", k, w, why);
		FZ_CHECK(r <= 0 || memcmp(&part, &whole, sizeof(part)) == 0, "prefix %zu: h", k);
		FZ_CHECK(rc <= 0 || (k >= (size_t)rc) == (r == rc), "prefix %zu: %d, the whole %d",
		    k, r, rc);
		last = r;
	}
	free(buf);
	return 0;
}
