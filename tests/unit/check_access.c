/* check_access.c - unit tests of access.c: CIDR prefixes, allow/deny, max_per_source, rate_limit, bounds, threads, processes. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "conf.h"
#include "stats.h"
#include "unit.h"

#define SEC 1000000000LL

static struct service svc;

static void
setup(void)
{
	memset(&svc, 0, sizeof(svc));
	svc.name = (char *)"svc";
	unit_now = 1000 * SEC;
	access_set_clock(unit_clock);
}

static void
teardown(void)
{
	access_fini(&svc);
	access_rules_free(&svc.access);
	access_set_clock(NULL);
}

/* A peer address: IPv4 "a.b.c.d", IPv6 (also "::ffff:a.b.c.d"), or "unix". */
struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

static struct addr
mk(const char *ip)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	if (strcmp(ip, "unix") == 0) {
		struct sockaddr_un *su = (struct sockaddr_un *)&a.ss;

		su->sun_family = AF_UNIX;
		/* What accept(2) gives for an unnamed client: the family alone. */
		a.len = sizeof(sa_family_t);
	} else {
		a.len = unit_addr(&a.ss, ip, 40000);
	}
	return a;
}

static enum refuse_reason
admit(const char *ip)
{
	struct addr a = mk(ip);

	return access_admit(&svc, (struct sockaddr *)&a.ss, a.len);
}

static void
release(const char *ip)
{
	struct addr a = mk(ip);

	access_release(&svc, (struct sockaddr *)&a.ss, a.len);
}

static enum refuse_reason
check(const struct access_rules *r, const char *ip)
{
	struct addr a = mk(ip);

	return access_check(r, (struct sockaddr *)&a.ss, a.len);
}

static void
add(struct access_list *l, const char *spec)
{
	char err[256];

	ck_assert_msg(access_list_add(l, spec, err, sizeof(err)) == 0, "%s: %s", spec, err);
}

static void
limits(long max_per_source, long rate_limit)
{
	char err[256];

	svc.max_per_source = max_per_source;
	svc.rate_limit = rate_limit;
	ck_assert_msg(access_setup(&svc, err, sizeof(err)) == 0, "%s", err);
}

/* --- prefixes --- */

static const struct {
	const char *spec;
	int family;
	unsigned len;
	const char *addr;
} good[] = {
	{ "10.0.0.0/8", AF_INET, 8, "10.0.0.0" },
	{ "192.168.1.7", AF_INET, 32, "192.168.1.7" },
	{ "192.168.1.7/32", AF_INET, 32, "192.168.1.7" },
	{ "0.0.0.0/0", AF_INET, 0, "0.0.0.0" },
	{ "192.168.0.0/23", AF_INET, 23, "192.168.0.0" },
	{ "10.0.0.0/008", AF_INET, 8, "10.0.0.0" },
	{ "::1", AF_INET6, 128, "::1" },
	{ "::1/128", AF_INET6, 128, "::1" },
	{ "::/0", AF_INET6, 0, "::" },
	{ "2001:db8::/32", AF_INET6, 32, "2001:db8::" },
	{ "2001:DB8:8000::/33", AF_INET6, 33, "2001:db8:8000::" },
	{ "fe80::/10", AF_INET6, 10, "fe80::" },
	/* The IPv4-mapped range is stored as IPv4. */
	{ "::ffff:10.0.0.0/104", AF_INET, 8, "10.0.0.0" },
	{ "::ffff:1.2.3.4", AF_INET, 32, "1.2.3.4" },
	{ "::ffff:0:0/96", AF_INET, 0, "0.0.0.0" },
	/* Shorter than /96 it is an IPv6 network that only IPv6 peers meet. */
	{ "::/80", AF_INET6, 80, "::" },
	/* IPv4-compatible (deprecated) addresses are plain IPv6. */
	{ "::1.2.3.4", AF_INET6, 128, "::1.2.3.4" },
};

START_TEST(test_prefix_valid)
{
	struct access_prefix p;
	char err[256], got[INET6_ADDRSTRLEN];

	err[0] = '\0';
	ck_assert_msg(access_prefix_parse(good[_i].spec, &p, err, sizeof(err)) == 0, "%s: %s",
	    good[_i].spec, err);
	ck_assert_int_eq(p.family, good[_i].family);
	ck_assert_uint_eq(p.len, good[_i].len);
	ck_assert_ptr_nonnull(inet_ntop(p.family, p.addr, got, sizeof(got)));
	ck_assert_str_eq(got, good[_i].addr);
	if (p.family == AF_INET) {
		static const unsigned char zero[12];

		ck_assert_int_eq(memcmp(p.addr + 4, zero, sizeof(zero)), 0);
	}
}
END_TEST

static const char *const bad[] = { "", "/8", "10.0.0.0/", "10.0.0.0/33", "::1/129", "::/1000",
	"10.0.0/8", "10.1", "10.0.0.0/8/8", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0 /8",
	" 10.0.0.0", "10.0.0.0/8 ", "10.0.0.0/0x8", "::1/0128", "010.0.0.0/8", "300.0.0.0/8",
	"1.2.3.4.5", "fe80::1%lo", "[::1]/128", "[::1]", "localhost", "1::2::3", "gggg::1", "*",
	"any", "10.0.0.0/8,11.0.0.0/8" };

START_TEST(test_prefix_invalid)
{
	struct access_prefix p;
	char err[512], want[256];

	err[0] = '\0';
	ck_assert_msg(access_prefix_parse(bad[_i], &p, err, sizeof(err)) == -1, "'%s' accepted",
	    bad[_i]);
	snprintf(want, sizeof(want), "invalid prefix '%s' (" ACCESS_PREFIX_FORMS ")", bad[_i]);
	ck_assert_str_eq(err, want);
}
END_TEST

/* Bits past the length: refused, with the masked prefix suggested. */
START_TEST(test_prefix_host_bits)
{
	static const struct {
		const char *spec;
		const char *hint;
	} cases[] = {
		{ "10.0.0.1/8", "did you mean 10.0.0.0/8?" },
		{ "192.168.1.7/23", "did you mean 192.168.0.0/23?" },
		{ "1.2.3.4/0", "did you mean 0.0.0.0/0?" },
		{ "2001:db8::1/32", "did you mean 2001:db8::/32?" },
		{ "::1/0", "did you mean ::/0?" },
		{ "::ffff:10.0.0.1/104", "did you mean ::ffff:10.0.0.0/104?" },
	};
	struct access_prefix p;
	char err[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(access_prefix_parse(cases[i].spec, &p, err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, cases[i].spec) != NULL, "%s", err);
		ck_assert_msg(strstr(err, cases[i].hint) != NULL, "%s", err);
		ck_assert_ptr_null(strchr(err, '\n'));
	}
}
END_TEST

START_TEST(test_lists)
{
	struct access_list a = { NULL, 0 }, b = { NULL, 0 };
	char err[256];

	add(&a, "10.0.0.0/8");
	add(&a, "::1");
	ck_assert_uint_eq(a.n, 2);
	ck_assert_int_eq(access_list_add(&a, "nope", err, sizeof(err)), -1);
	ck_assert_uint_eq(a.n, 2);
	add(&b, "1.1.1.1");
	ck_assert_int_eq(access_list_copy(&b, &a), 0);
	ck_assert_uint_eq(b.n, 2);
	ck_assert_ptr_ne(b.v, a.v);
	ck_assert_int_eq(memcmp(b.v, a.v, 2 * sizeof(*a.v)), 0);
	access_list_free(&a);
	ck_assert_ptr_null(a.v);
	ck_assert_uint_eq(a.n, 0);
	/* Copying an empty list empties. */
	ck_assert_int_eq(access_list_copy(&b, &a), 0);
	ck_assert_ptr_null(b.v);
	ck_assert_uint_eq(b.n, 0);
	access_list_free(&b);
}
END_TEST

/* --- allow / deny --- */

/*
 * A rule set and what it answers each peer: "+PEER" allowed, "-PEER"
 * denied.  IPv4-mapped peers (a dual-stack listener) are matched as IPv4;
 * an allow list that is not empty refuses a peer that matches nothing;
 * deny wins over allow; unix peers are never filtered.
 */
static const struct {
	const char *what;
	const char *allow[3];
	const char *deny[3];
	const char *peers[12];
} rules[] = {
	{ "allow only", { "10.0.0.0/8", "192.168.0.0/23" }, { NULL },
	    { "+10.1.2.3", "+10.255.255.255", "-11.0.0.1", "-9.255.255.255", "+192.168.1.255",
	        "-192.168.2.0", "+::ffff:10.9.9.9", "-::ffff:11.0.0.1", "-::1",
	        "-::a00:1" /* ::10.0.0.1 is not IPv4 */, "+unix" } },
	{ "deny wins", { "10.0.0.0/8", "2001:db8::/31" }, { "10.1.0.0/16", "2001:db8::/32" },
	    { "-10.1.2.3", "-::ffff:10.1.2.3", "+10.2.0.1", "-2001:db8::1", "+2001:db9::1",
	        "-2001:dba::1" } },
	{ "deny only", { NULL },
	    { "::1", "::ffff:203.0.113.0/120" /* written mapped, matches IPv4 */ },
	    { "-::1", "+::2", "+127.0.0.1", "-203.0.113.9", "-::ffff:203.0.113.9", "+203.0.114.9",
	        "+unix" } },
	/* IPv6 prefixes never match IPv4 peers, mapped or not, and the other way round. */
	{ "families apart: ::/0", { "::/0" }, { NULL },
	    { "+2001:db8::1", "-1.2.3.4", "-::ffff:1.2.3.4" } },
	{ "families apart: 0.0.0.0/0", { "0.0.0.0/0" }, { NULL },
	    { "+1.2.3.4", "+::ffff:1.2.3.4", "-::1" } },
	/* 1.2.3.4 and 102:304:: share their first bytes, not their family. */
	{ "families apart: same first bytes", { NULL }, { "1.2.3.4" },
	    { "+102:304::", "-1.2.3.4" } },
};

START_TEST(test_rules)
{
	struct access_rules *r = &svc.access;

	for (size_t i = 0; i < 3 && rules[_i].allow[i] != NULL; i++)
		add(&r->allow, rules[_i].allow[i]);
	for (size_t i = 0; i < 3 && rules[_i].deny[i] != NULL; i++)
		add(&r->deny, rules[_i].deny[i]);
	for (size_t i = 0; i < 12 && rules[_i].peers[i] != NULL; i++) {
		const char *peer = rules[_i].peers[i] + 1;
		enum refuse_reason want = rules[_i].peers[i][0] == '+' ? REFUSE_NONE :
		                                                         REFUSE_DENIED;
		enum refuse_reason got = check(r, peer);

		ck_assert_msg(got == want, "%s (case %d): %s gives %d, want %d", rules[_i].what, _i,
		    peer, (int)got, (int)want);
	}
}
END_TEST

/* The rules through access_admit, with no limits and no setup. */
START_TEST(test_rules_admit)
{
	add(&svc.access.allow, "10.0.0.0/8");
	add(&svc.access.allow, "192.168.0.0/23");
	ck_assert_int_eq(admit("10.1.2.3"), REFUSE_NONE);
	ck_assert_int_eq(admit("11.0.0.1"), REFUSE_DENIED);
	ck_assert_int_eq(admit("::ffff:11.0.0.1"), REFUSE_DENIED);
	ck_assert_int_eq(admit("unix"), REFUSE_NONE);
	ck_assert_ptr_null(svc.sources);
}
END_TEST

START_TEST(test_no_rules)
{
	struct access_rules none;
	struct addr a = mk("1.2.3.4");

	memset(&none, 0, sizeof(none));
	ck_assert_int_eq(check(&none, "1.2.3.4"), REFUSE_NONE);
	/* Nothing configured: no table, nothing kept. */
	limits(0, 0);
	ck_assert_ptr_null(svc.sources);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
	release("1.2.3.4");
	ck_assert_uint_eq(access_sources(&svc), 0);
	/* Truncated or missing addresses are no IP peers. */
	add(&svc.access.allow, "10.0.0.0/8");
	ck_assert_int_eq(access_admit(&svc, (struct sockaddr *)&a.ss, 4), REFUSE_NONE);
	ck_assert_int_eq(access_admit(&svc, NULL, 0), REFUSE_NONE);
	ck_assert_int_eq(access_admit(&svc, (struct sockaddr *)&a.ss, a.len), REFUSE_DENIED);
}
END_TEST

/* Unix peers are never filtered, limited or counted. */
START_TEST(test_unix_peers)
{
	add(&svc.access.allow, "10.0.0.0/8");
	add(&svc.access.deny, "0.0.0.0/0");
	add(&svc.access.deny, "::/0");
	limits(1, 1);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(admit("unix"), REFUSE_NONE);
	ck_assert_uint_eq(access_sources(&svc), 0);
	for (int i = 0; i < 10; i++)
		release("unix");
	ck_assert_uint_eq(access_sources(&svc), 0);
}
END_TEST

/* --- max_per_source --- */

START_TEST(test_max_per_source)
{
	limits(2, 0);
	ck_assert_ptr_nonnull(svc.sources);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_PER_SOURCE);
	/* IPv4 and IPv4-mapped are one source. */
	ck_assert_int_eq(admit("::ffff:1.2.3.4"), REFUSE_PER_SOURCE);
	ck_assert_int_eq(admit("1.2.3.5"), REFUSE_NONE);
	ck_assert_int_eq(admit("::1"), REFUSE_NONE);
	ck_assert_int_eq(admit("::1"), REFUSE_NONE);
	ck_assert_int_eq(admit("::1"), REFUSE_PER_SOURCE);
	/* Same leading bytes, another family: another source. */
	ck_assert_int_eq(admit("102:304::"), REFUSE_NONE);
	ck_assert_uint_eq(access_sources(&svc), 4);

	release("::ffff:1.2.3.4");
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_PER_SOURCE);

	/* Every release ends the accounting; a source without connections is forgotten. */
	release("1.2.3.4");
	release("1.2.3.4");
	release("1.2.3.5");
	release("::1");
	release("::1");
	release("102:304::");
	ck_assert_uint_eq(access_sources(&svc), 0);
	/* A stray release changes nothing. */
	release("1.2.3.4");
	ck_assert_uint_eq(access_sources(&svc), 0);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_PER_SOURCE);
}
END_TEST

/* The rules come first: a denied peer is never counted. */
START_TEST(test_denied_not_counted)
{
	add(&svc.access.deny, "6.6.6.6");
	limits(1, 1);
	ck_assert_int_eq(admit("6.6.6.6"), REFUSE_DENIED);
	ck_assert_uint_eq(access_sources(&svc), 0);
	ck_assert_int_eq(admit("6.6.6.7"), REFUSE_NONE);
	ck_assert_uint_eq(access_sources(&svc), 1);
}
END_TEST

/* --- rate_limit --- */

START_TEST(test_rate_limit)
{
	limits(0, 3);
	/* A full bucket: rate_limit connections at once. */
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
	ck_assert_int_eq(admit("::ffff:1.2.3.4"), REFUSE_NONE);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_RATE);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_RATE);
	/* Other sources have their own bucket. */
	ck_assert_int_eq(admit("1.2.3.5"), REFUSE_NONE);
	/* Refilled continuously: one token every 1/3 s, to the nanosecond. */
	unit_now += SEC / 3;
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_RATE);
	unit_now += 1;
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_RATE);
	/* A long pause fills the bucket to rate_limit, no more. */
	unit_now += 3600 * SEC;
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_RATE);
	/* Refused attempts take no token: still one per 1/3 s. */
	for (int k = 0; k < 5; k++) {
		unit_now += SEC / 3 + 1;
		ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
		for (int i = 0; i < 10; i++)
			ck_assert_int_eq(admit("1.2.3.4"), REFUSE_RATE);
	}
	/* Nothing to give back for a rate alone. */
	release("1.2.3.4");
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_RATE);
}
END_TEST

START_TEST(test_rate_one)
{
	limits(0, 1);
	ck_assert_int_eq(admit("::1"), REFUSE_NONE);
	for (long long t = 0; t < SEC; t += SEC / 10)
		ck_assert_int_eq(admit("::1"), REFUSE_RATE);
	unit_now += SEC - 1;
	ck_assert_int_eq(admit("::1"), REFUSE_RATE);
	unit_now += 1;
	ck_assert_int_eq(admit("::1"), REFUSE_NONE);
}
END_TEST

/* The largest rate: no overflow in the arithmetic. */
START_TEST(test_rate_max)
{
	struct addr a = mk("10.0.0.1");

	limits(0, CONF_MAX_SOURCE_LIMIT);
	for (long i = 0; i < CONF_MAX_SOURCE_LIMIT; i++)
		if (access_admit(&svc, (struct sockaddr *)&a.ss, a.len) != REFUSE_NONE)
			ck_abort_msg("refused after %ld", i);
	ck_assert_int_eq(admit("10.0.0.1"), REFUSE_RATE);
	unit_now += 1000; /* 1 us: 1 token */
	ck_assert_int_eq(admit("10.0.0.1"), REFUSE_NONE);
	ck_assert_int_eq(admit("10.0.0.1"), REFUSE_RATE);
	unit_now += 1000LL * 24 * 3600 * SEC; /* a very long pause */
	ck_assert_int_eq(admit("10.0.0.1"), REFUSE_NONE);
}
END_TEST

/* Both limits: a refusal for max_per_source takes no token. */
START_TEST(test_both_limits)
{
	limits(1, 2);
	ck_assert_int_eq(admit("1.1.1.1"), REFUSE_NONE);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(admit("1.1.1.1"), REFUSE_PER_SOURCE);
	release("1.1.1.1");
	ck_assert_int_eq(admit("1.1.1.1"), REFUSE_NONE); /* the second token */
	release("1.1.1.1");
	ck_assert_int_eq(admit("1.1.1.1"), REFUSE_RATE);
	/* Kept while its bucket is not full, though it has no connection. */
	ck_assert_uint_eq(access_sources(&svc), 1);
	unit_now += SEC / 2;
	ck_assert_int_eq(admit("1.1.1.1"), REFUSE_NONE);
	ck_assert_int_eq(admit("1.1.1.1"), REFUSE_PER_SOURCE);
	release("1.1.1.1");
}
END_TEST

/* Sources are forgotten lazily once they have no connection and a full bucket. */
START_TEST(test_forget_idle)
{
	char ip[64];

	limits(0, 5);
	for (int i = 0; i < 100; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
		ck_assert_int_eq(admit(ip), REFUSE_NONE);
	}
	ck_assert_uint_eq(access_sources(&svc), 100);
	/* Refilled after a second; each call forgets a few (8). */
	unit_now += SEC;
	for (int i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i);
		ck_assert_int_eq(admit(ip), REFUSE_NONE);
	}
	ck_assert_uint_eq(access_sources(&svc), 100 - 5 * 8 + 5);
	for (int i = 5; i < 20; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i);
		ck_assert_int_eq(admit(ip), REFUSE_NONE);
	}
	ck_assert_uint_eq(access_sources(&svc), 20);
	unit_now += SEC;
	for (int i = 0; i < 30; i++)
		ck_assert_int_eq(admit("::ffff:192.0.2.2"), i < 5 ? REFUSE_NONE : REFUSE_RATE);
	ck_assert_uint_eq(access_sources(&svc), 1);
}
END_TEST

/* --- bounds --- */

static void
nth_v6(int i, char *dst, size_t len)
{
	snprintf(dst, len, "2001:db8::%x:%x", (unsigned)i >> 16, (unsigned)i & 0xffff);
}

/* Every tracked source has a connection: a new source cannot be counted. */
START_TEST(test_bound_busy)
{
	char ip[64];

	limits(1, 0);
	for (int i = 0; i < ACCESS_TABLE_MAX; i++) {
		nth_v6(i, ip, sizeof(ip));
		if (admit(ip) != REFUSE_NONE)
			ck_abort_msg("%s refused", ip);
	}
	ck_assert_uint_eq(access_sources(&svc), ACCESS_TABLE_MAX);
	ck_assert_int_eq(admit("192.0.2.1"), REFUSE_PER_SOURCE);
	ck_assert_int_eq(admit("2001:db8::1:0"), REFUSE_PER_SOURCE);
	ck_assert_uint_eq(access_sources(&svc), ACCESS_TABLE_MAX);
	/* One leaves: room for one. */
	nth_v6(77, ip, sizeof(ip));
	release(ip);
	ck_assert_uint_eq(access_sources(&svc), ACCESS_TABLE_MAX - 1);
	ck_assert_int_eq(admit("192.0.2.1"), REFUSE_NONE);
	ck_assert_int_eq(admit("192.0.2.2"), REFUSE_PER_SOURCE);
	release("192.0.2.1");
	for (int i = 0; i < ACCESS_TABLE_MAX; i++) {
		nth_v6(i, ip, sizeof(ip));
		release(ip);
	}
	ck_assert_uint_eq(access_sources(&svc), 0);
}
END_TEST

/* A rate alone: the table stays bounded by forgetting the longest idle source. */
START_TEST(test_bound_rate)
{
	char ip[64];

	limits(0, 1);
	for (int i = 0; i < ACCESS_TABLE_MAX; i++) {
		nth_v6(i, ip, sizeof(ip));
		if (admit(ip) != REFUSE_NONE)
			ck_abort_msg("%s refused", ip);
	}
	ck_assert_uint_eq(access_sources(&svc), ACCESS_TABLE_MAX);
	/* Recent sources are still limited... */
	nth_v6(ACCESS_TABLE_MAX - 1, ip, sizeof(ip));
	ck_assert_int_eq(admit(ip), REFUSE_RATE);
	/* ...a new one pushes the oldest out, which starts afresh (more lenient). */
	ck_assert_int_eq(admit("192.0.2.1"), REFUSE_NONE);
	ck_assert_uint_eq(access_sources(&svc), ACCESS_TABLE_MAX);
	nth_v6(0, ip, sizeof(ip));
	ck_assert_int_eq(admit(ip), REFUSE_NONE);
	ck_assert_uint_eq(access_sources(&svc), ACCESS_TABLE_MAX);
	ck_assert_int_eq(admit("192.0.2.1"), REFUSE_RATE);
	/* A second later every bucket is full again: all forgotten over time. */
	unit_now += SEC;
	for (int i = 0; i < ACCESS_TABLE_MAX / 8 + 8; i++)
		admit("198.51.100.1");
	ck_assert_uint_eq(access_sources(&svc), 1);
}
END_TEST

/* --- threads --- */

#define NTHREADS 8
#define NSOURCES 4

static const char *const thread_src[NSOURCES] = { "10.0.0.1", "::ffff:10.0.0.2", "::1",
	"2001:db8::7" };
static atomic_int in_flight[NSOURCES];
static atomic_long admitted[NSOURCES];
static atomic_long refused_total;
static atomic_int over_limit;
static long thread_iters;

static void *
hammer(void *arg)
{
	unsigned seed = (unsigned)(size_t)arg;
	struct addr a[NSOURCES];

	for (int k = 0; k < NSOURCES; k++)
		a[k] = mk(thread_src[k]);
	for (long i = 0; i < thread_iters; i++) {
		int k = (int)(rand_r(&seed) % NSOURCES);
		enum refuse_reason why = access_admit(&svc, (struct sockaddr *)&a[k].ss, a[k].len);

		if (why != REFUSE_NONE) {
			atomic_fetch_add(&refused_total, 1);
			continue;
		}
		atomic_fetch_add(&admitted[k], 1);
		if (atomic_fetch_add(&in_flight[k], 1) + 1 > svc.max_per_source &&
		    svc.max_per_source > 0)
			atomic_store(&over_limit, 1);
		if (rand_r(&seed) % 16 == 0)
			sched_yield();
		atomic_fetch_sub(&in_flight[k], 1);
		if (svc.max_per_source > 0)
			access_release(&svc, (struct sockaddr *)&a[k].ss, a[k].len);
	}
	return NULL;
}

static void
run_threads(long iters)
{
	pthread_t t[NTHREADS];

	thread_iters = iters;
	for (int k = 0; k < NSOURCES; k++) {
		atomic_store(&in_flight[k], 0);
		atomic_store(&admitted[k], 0);
	}
	atomic_store(&refused_total, 0);
	atomic_store(&over_limit, 0);
	for (size_t i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, (void *)(i + 1)), 0);
	for (size_t i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
}

START_TEST(test_threads_per_source)
{
	long total = 0;

	limits(3, 0);
	run_threads(4000);
	ck_assert_int_eq(atomic_load(&over_limit), 0);
	for (int k = 0; k < NSOURCES; k++)
		total += atomic_load(&admitted[k]);
	ck_assert_int_eq(total + atomic_load(&refused_total), NTHREADS * 4000L);
	/* Every admitted connection was released: nothing left. */
	ck_assert_uint_eq(access_sources(&svc), 0);
	for (int k = 0; k < NSOURCES; k++)
		ck_assert_int_eq(admit(thread_src[k]), REFUSE_NONE);
}
END_TEST

/* With the clock standing still, each source gets exactly rate_limit connections. */
START_TEST(test_threads_rate)
{
	long total = 0;

	/* About 4000 attempts per source. */
	limits(0, 1000);
	run_threads(2000);
	for (int k = 0; k < NSOURCES; k++) {
		ck_assert_int_eq(atomic_load(&admitted[k]), 1000);
		total += atomic_load(&admitted[k]);
	}
	ck_assert_int_eq(total + atomic_load(&refused_total), NTHREADS * 2000L);
	ck_assert_uint_eq(access_sources(&svc), NSOURCES);
}
END_TEST

/* The thread model's pattern: admit in one thread, release in others. */
struct handoff {
	struct addr a;
	pthread_t tid;
};

static void *
release_later(void *arg)
{
	struct handoff *h = arg;

	access_release(&svc, (struct sockaddr *)&h->a.ss, h->a.len);
	return NULL;
}

START_TEST(test_threads_handoff)
{
	struct handoff h[64];
	int n = 0;

	limits(64, 0);
	for (int round = 0; round < 5; round++) {
		n = 0;
		while (n < 64) {
			h[n].a = mk(n % 2 ? "192.0.2.1" : "2001:db8::1");
			if (access_admit(&svc, (struct sockaddr *)&h[n].a.ss, h[n].a.len) !=
			    REFUSE_NONE)
				break;
			n++;
		}
		ck_assert_int_eq(n, 64);
		for (int i = 0; i < n; i++)
			ck_assert_int_eq(pthread_create(&h[i].tid, NULL, release_later, &h[i]), 0);
		for (int i = 0; i < n; i++)
			ck_assert_int_eq(pthread_join(h[i].tid, NULL), 0);
		ck_assert_uint_eq(access_sources(&svc), 0);
	}
}
END_TEST

/* --- processes: the table is shared with every process forked after access_setup --- */

/* How long a child, or the parent's next call, may take: far more than needed. */
#define DEADLINE_MS 10000

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The wait status of child pid, polled until DEADLINE_MS; past it the
 * child is killed and reaped, and the test fails: none is left behind.
 */
static int
wait_child(pid_t pid)
{
	const struct timespec tick = { 0, 1000000 };
	long long deadline = now_ms() + DEADLINE_MS;
	int status;
	pid_t r;

	while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
		nanosleep(&tick, NULL);
	if (r == pid)
		return status;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ck_abort_msg("child %ld: %s", (long)pid,
	    r == 0 ? "still running: killed" : strerror(errno));
	return -1;
}

/* Runs fn in a forked child, which exits at once with what fn returned; fails unless true. */
static void
in_child(bool (*fn)(void))
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fn() ? 0 : 1);
	status = wait_child(pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %#x", status);
}

/* ip is admitted n more times, and then refused for max_per_source. */
static void
admits_left(const char *ip, int n)
{
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(admit(ip), REFUSE_NONE);
	ck_assert_int_eq(admit(ip), REFUSE_PER_SOURCE);
}

/* What a fork child that read a PROXY header does: admits the real client (and keeps it). */
static bool
child_two_conns(void)
{
	return admit("10.0.0.1") == REFUSE_NONE && admit("10.0.0.1") == REFUSE_NONE &&
	    admit("10.0.0.1") == REFUSE_PER_SOURCE && access_sources(&svc) == 1;
}

static bool
child_release_all(void)
{
	release("10.0.0.1");
	release("10.0.0.1");
	release("10.0.0.2");
	return access_sources(&svc) == 0;
}

/* Connections a child admits count in the parent, and the other way round. */
START_TEST(test_fork_per_source)
{
	limits(2, 0);
	in_child(child_two_conns);
	ck_assert_uint_eq(access_sources(&svc), 1);
	ck_assert_int_eq(admit("10.0.0.1"), REFUSE_PER_SOURCE);
	ck_assert_int_eq(admit("10.0.0.2"), REFUSE_NONE);
	/* The parent ends one of the child's. */
	release("10.0.0.1");
	admits_left("10.0.0.1", 1);
	/* Another child ends the parent's. */
	in_child(child_release_all);
	ck_assert_uint_eq(access_sources(&svc), 0);
	admits_left("10.0.0.1", 2);
}
END_TEST

static bool
child_three_tokens(void)
{
	return admit("10.0.0.1") == REFUSE_NONE && admit("10.0.0.1") == REFUSE_NONE &&
	    admit("10.0.0.1") == REFUSE_NONE && admit("10.0.0.1") == REFUSE_RATE;
}

/* Rate tokens a child takes are gone for the parent too. */
START_TEST(test_fork_rate)
{
	limits(0, 3);
	in_child(child_three_tokens);
	ck_assert_uint_eq(access_sources(&svc), 1); /* kept: its bucket is not full */
	ck_assert_int_eq(admit("10.0.0.1"), REFUSE_RATE);
	ck_assert_int_eq(admit("10.0.0.2"), REFUSE_NONE);
	unit_now += SEC / 3 + 1; /* one token back */
	ck_assert_int_eq(admit("10.0.0.1"), REFUSE_NONE);
	ck_assert_int_eq(admit("10.0.0.1"), REFUSE_RATE);
	/* 10.0.0.2's bucket was full again: forgotten. */
	ck_assert_uint_eq(access_sources(&svc), 1);
}
END_TEST

static bool
child_fini(void)
{
	access_fini(&svc);
	return svc.sources == NULL;
}

/* A child that frees its configuration (exit() runs conf_free) leaves the table working. */
START_TEST(test_fork_child_fini)
{
	limits(2, 0);
	ck_assert_int_eq(admit("10.0.0.1"), REFUSE_NONE);
	in_child(child_fini);
	admits_left("10.0.0.1", 1);
	ck_assert_uint_eq(access_sources(&svc), 1);
	release("10.0.0.1");
	release("10.0.0.1");
	ck_assert_uint_eq(access_sources(&svc), 0);
}
END_TEST

/*
 * The rate's clock is read with the table's lock held: a child whose
 * clock says so on stuck_fd and then never returns is a process stopped
 * inside the critical section.  No hook in access.c needed.
 */
static int stuck_fd = -1;

static long long
stuck_clock(void)
{
	const char c = 'L';

	if (write(stuck_fd, &c, 1) != 1)
		_exit(2);
	for (;;)
		pause();
}

static bool
child_stuck(void)
{
	access_set_clock(stuck_clock);
	admit("10.0.0.9");
	return false; /* never reached */
}

static void *
admit_thread(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)admit("10.0.0.3");
}

/* A child killed holding the lock: the parent's next call gets it (EOWNERDEAD), no deadlock. */
START_TEST(test_fork_killed_holding_lock)
{
	struct pollfd pfd;
	struct timespec until;
	pthread_t tid;
	void *why;
	int p[2], status;
	pid_t pid;
	char c;

	limits(2, 1000);
	ck_assert_int_eq(admit("10.0.0.1"), REFUSE_NONE);
	ck_assert_int_eq(pipe(p), 0);
	stuck_fd = p[1];
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(child_stuck() ? 0 : 1);
	close(p[1]);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	if (poll(&pfd, 1, DEADLINE_MS) != 1 || read(p[0], &c, 1) != 1) {
		kill(pid, SIGKILL);
		wait_child(pid);
		ck_abort_msg("the child never took the lock");
	}
	close(p[0]);
	kill(pid, SIGKILL);
	status = wait_child(pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* In a thread, so that a deadlock fails the test instead of hanging it. */
	ck_assert_int_eq(pthread_create(&tid, NULL, admit_thread, NULL), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += DEADLINE_MS / 1000;
	ck_assert_msg(pthread_timedjoin_np(tid, &why, &until) == 0, "deadlocked");
	ck_assert_int_eq((int)(intptr_t)why, REFUSE_NONE);
	/* The table was emptied (the dead process may have left it halfway):
	 * 10.0.0.1's connection is forgotten, which is only more lenient. */
	ck_assert_uint_eq(access_sources(&svc), 1);
	admits_left("10.0.0.1", 2);
	release("10.0.0.1");
	release("10.0.0.1");
	release("10.0.0.3");
	/* Back to normal: the old connection's release finds nothing to end. */
	release("10.0.0.1");
	ck_assert_int_eq(admit("10.0.0.3"), REFUSE_NONE);
}
END_TEST

/* Past BUCKETS_MIN (64) sources the buckets double in place, several times. */
#define NGROW (64 * 16 + 7)

/* NGROW sources with a connection each; true if all were admitted. */
static bool
admit_many(void)
{
	char ip[64];

	for (int i = 0; i < NGROW; i++) {
		nth_v6(i, ip, sizeof(ip));
		if (admit(ip) != REFUSE_NONE)
			return false;
	}
	return access_sources(&svc) == NGROW;
}

START_TEST(test_growth)
{
	char ip[64];

	limits(1, 0);
	/* Grown in a child, in the shared table: the parent finds every source. */
	in_child(admit_many);
	for (int round = 0; round < 2; round++) {
		if (round == 1) /* again in the parent, on the nodes given back */
			ck_assert(admit_many());
		ck_assert_uint_eq(access_sources(&svc), NGROW);
		for (int i = 0; i < NGROW; i++) { /* found: its connection counted */
			nth_v6(i, ip, sizeof(ip));
			REQUIRE(admit(ip) == REFUSE_PER_SOURCE);
		}
		ck_assert_uint_eq(access_sources(&svc), NGROW);
		for (int i = 0; i < NGROW; i++) {
			nth_v6(i, ip, sizeof(ip));
			release(ip);
		}
		ck_assert_uint_eq(access_sources(&svc), 0);
	}
}
END_TEST

/* --- odds and ends --- */

START_TEST(test_reason_names)
{
	ck_assert_str_eq(access_reason_name(REFUSE_MAX_CLIENTS), "max_clients");
	ck_assert_str_eq(access_reason_name(REFUSE_NO_FDS), "no_fds");
	ck_assert_str_eq(access_reason_name(REFUSE_FDSETSIZE), "fd_setsize");
	ck_assert_str_eq(access_reason_name(REFUSE_DENIED), "denied");
	ck_assert_str_eq(access_reason_name(REFUSE_PER_SOURCE), "per_source");
	ck_assert_str_eq(access_reason_name(REFUSE_RATE), "rate_limit");
	ck_assert_str_eq(access_reason_name(REFUSE_NONE), "none");
	ck_assert_str_eq(access_reason_name(REFUSE_NREASONS), "unknown");
	/* REFUSE_NONE never indexes the counters. */
	ck_assert_int_lt(REFUSE_NONE, 0);
	ck_assert_int_eq(REFUSE_MAX_CLIENTS, 0);
}
END_TEST

START_TEST(test_setup_fini)
{
	struct access_table *t;

	limits(1, 0);
	t = svc.sources;
	ck_assert_ptr_nonnull(t);
	limits(1, 0); /* again: kept */
	ck_assert_ptr_eq(svc.sources, t);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
	/* Freed with sources still tracked; twice is harmless. */
	access_fini(&svc);
	ck_assert_ptr_null(svc.sources);
	access_fini(&svc);
	/* Without a table only the rules apply. */
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
	release("1.2.3.4");
}
END_TEST

/* The real clock: a fresh bucket admits rate_limit connections. */
START_TEST(test_real_clock)
{
	access_set_clock(NULL);
	limits(0, 2);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
	ck_assert_int_eq(admit("1.2.3.4"), REFUSE_NONE);
	/* Admitting both of the next two would take a second: one is refused. */
	if (admit("1.2.3.4") == REFUSE_NONE)
		ck_assert_int_eq(admit("1.2.3.4"), REFUSE_RATE);
}
END_TEST

Suite *
access_suite(void)
{
	Suite *s = suite_create("access");
	TCase *tc;

	tc = tcase_create("prefix");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_prefix_valid, 0, (int)(sizeof(good) / sizeof(good[0])));
	tcase_add_loop_test(tc, test_prefix_invalid, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_prefix_host_bits);
	tcase_add_test(tc, test_lists);
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_rules, 0, (int)(sizeof(rules) / sizeof(rules[0])));
	tcase_add_test(tc, test_rules_admit);
	tcase_add_test(tc, test_no_rules);
	tcase_add_test(tc, test_unix_peers);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_max_per_source);
	tcase_add_test(tc, test_denied_not_counted);
	tcase_add_test(tc, test_rate_limit);
	tcase_add_test(tc, test_rate_one);
	tcase_add_test(tc, test_rate_max);
	tcase_add_test(tc, test_both_limits);
	tcase_add_test(tc, test_forget_idle);
	tcase_add_test(tc, test_bound_busy);
	tcase_add_test(tc, test_bound_rate);
	tcase_add_test(tc, test_reason_names);
	tcase_add_test(tc, test_setup_fini);
	tcase_add_test(tc, test_real_clock);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_threads_per_source);
	tcase_add_test(tc, test_threads_rate);
	tcase_add_test(tc, test_threads_handoff);
	suite_add_tcase(s, tc);

	tc = tcase_create("processes");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fork_per_source);
	tcase_add_test(tc, test_fork_rate);
	tcase_add_test(tc, test_fork_child_fini);
	tcase_add_test(tc, test_fork_killed_holding_lock);
	tcase_add_test(tc, test_growth);
	suite_add_tcase(s, tc);
	return s;
}
