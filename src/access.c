/* access.c - allow/deny lists (CIDR prefixes): parsing, matching, access_check. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "access_int.h"

static const char *const reason_names[REFUSE_NREASONS] = {
	[REFUSE_MAX_CLIENTS] = "max_clients",
	[REFUSE_NO_FDS] = "no_fds",
	[REFUSE_FDSETSIZE] = "fd_setsize",
	[REFUSE_DENIED] = "denied",
	[REFUSE_PER_SOURCE] = "per_source",
	[REFUSE_RATE] = "rate_limit",
	[REFUSE_PROXY] = "proxy",
};

const char *
access_reason_name(enum refuse_reason why)
{
	if (why == REFUSE_NONE)
		return "none";
	if ((int)why < 0 || why >= REFUSE_NREASONS)
		return "unknown";
	return reason_names[why];
}

/* --- prefixes and lists --- */

static bool
is_v4mapped(const unsigned char *a)
{
	static const unsigned char pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a, pre, sizeof(pre)) == 0;
}

/* Clears the bits of a (alen bytes) past len; true when some were set. */
static bool
mask_bits(unsigned char *a, size_t alen, unsigned len)
{
	bool had = false;

	for (size_t i = 0; i < alen; i++) {
		unsigned keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * (unsigned)i : 0;
		unsigned char m = (unsigned char)(0xff00u >> keep);

		had = had || (a[i] & ~m) != 0;
		a[i] &= m;
	}
	return had;
}

int
access_prefix_parse(const char *s, struct access_prefix *out, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN];
	unsigned char a[16];
	const char *slash;
	size_t hlen, nd, alen;
	unsigned long len, maxlen;
	int family;

	memset(out, 0, sizeof(*out));
	memset(a, 0, sizeof(a));
	if (s == NULL)
		s = "";
	slash = strchr(s, '/');
	hlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	/* inet_pton takes no blanks, zone ids or shortened IPv4 ("10.1"). */
	if (strchr(host, ':') != NULL) {
		if (inet_pton(AF_INET6, host, a) != 1)
			goto bad;
		family = AF_INET6;
		alen = 16;
		maxlen = 128;
	} else {
		if (inet_pton(AF_INET, host, a) != 1)
			goto bad;
		family = AF_INET;
		alen = 4;
		maxlen = 32;
	}
	len = maxlen;
	if (slash != NULL) {
		nd = strspn(slash + 1, "0123456789");
		if (nd == 0 || nd > 3 || slash[1 + nd] != '\0')
			goto bad;
		len = strtoul(slash + 1, NULL, 10);
		if (len > maxlen)
			goto bad;
	}
	if (mask_bits(a, alen, (unsigned)len)) {
		char net[INET6_ADDRSTRLEN];

		inet_ntop(family, a, net, sizeof(net));
		snprintf(err, errlen,
		    "invalid prefix '%s': bits set past /%lu (did you mean %s/%lu?)", s, len, net,
		    len);
		return -1;
	}
	/* ::ffff:10.0.0.0/104 is 10.0.0.0/8: peers in that range are matched as IPv4. */
	if (family == AF_INET6 && len >= 96 && is_v4mapped(a)) {
		memmove(a, a + 12, 4);
		memset(a + 4, 0, 12);
		family = AF_INET;
		len -= 96;
	}
	out->family = (unsigned char)family;
	out->len = (unsigned char)len;
	memcpy(out->addr, a, sizeof(a));
	return 0;
bad:
	snprintf(err, errlen, "invalid prefix '%s' (" ACCESS_PREFIX_FORMS ")", s);
	return -1;
}

int
access_list_add(struct access_list *l, const char *s, char *err, size_t errlen)
{
	struct access_prefix p, *v;

	if (access_prefix_parse(s, &p, err, errlen) == -1)
		return -1;
	if ((v = realloc(l->v, (l->n + 1) * sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	v[l->n++] = p;
	l->v = v;
	return 0;
}

int
access_list_copy(struct access_list *dst, const struct access_list *src)
{
	struct access_prefix *v = NULL;

	if (src->n > 0) {
		if ((v = malloc(src->n * sizeof(*v))) == NULL)
			return -1;
		memcpy(v, src->v, src->n * sizeof(*v));
	}
	access_list_free(dst);
	dst->v = v;
	dst->n = src->n;
	return 0;
}

void
access_list_free(struct access_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
access_rules_free(struct access_rules *r)
{
	access_list_free(&r->allow);
	access_list_free(&r->deny);
}

/*
 * The address of an IP peer into a (16 bytes, zero-padded): 4 for IPv4
 * and IPv4-mapped IPv6, 16 for IPv6, 0 for unix and anything else.
 */
unsigned char
peer_addr(const struct sockaddr *sa, socklen_t len, unsigned char *a)
{
	memset(a, 0, 16);
	if (sa == NULL || len < (socklen_t)sizeof(sa_family_t))
		return 0;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		memcpy(a, &s4->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		memcpy(a, &s6->sin6_addr, 16);
		if (is_v4mapped(a)) {
			memmove(a, a + 12, 4);
			memset(a + 4, 0, 12);
			return 4;
		}
		return 16;
	}
	return 0;
}

static bool
prefix_match(const struct access_prefix *p, const unsigned char *a, unsigned char alen)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if ((p->family == AF_INET ? 4 : 16) != alen || memcmp(p->addr, a, full) != 0)
		return false;
	return rest == 0 || (a[full] & (unsigned char)(0xff00u >> rest)) == p->addr[full];
}

static bool
list_match(const struct access_list *l, const unsigned char *a, unsigned char alen)
{
	for (size_t i = 0; i < l->n; i++)
		if (prefix_match(&l->v[i], a, alen))
			return true;
	return false;
}

enum refuse_reason
rules_check(const struct access_rules *r, const unsigned char *a, unsigned char alen)
{
	if (list_match(&r->deny, a, alen))
		return REFUSE_DENIED;
	if (r->allow.n > 0 && !list_match(&r->allow, a, alen))
		return REFUSE_DENIED;
	return REFUSE_NONE;
}

enum refuse_reason
access_check(const struct access_rules *r, const struct sockaddr *sa, socklen_t len)
{
	unsigned char a[16], alen;

	if (r->allow.n == 0 && r->deny.n == 0)
		return REFUSE_NONE;
	if ((alen = peer_addr(sa, len, a)) == 0)
		return REFUSE_NONE;
	return rules_check(r, a, alen);
}

bool
access_list_has(const struct access_list *l, const struct sockaddr *sa, socklen_t len)
{
	unsigned char a[16], alen;

	if ((alen = peer_addr(sa, len, a)) == 0)
		return false;
	return list_match(l, a, alen);
}
