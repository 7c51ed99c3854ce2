/* unit.h - what the unit suites share: their constructors, which check_main.c runs, byte strings, addresses, a clock and REQUIRE. */
#ifndef DISPATCHD_TEST_UNIT_H
#define DISPATCHD_TEST_UNIT_H

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

/*
 * One suite per module: tests/unit/check_NAME.c defines NAME_suite().
 * The Makefile lists them all in U_SUITES as "U_SUITE(NAME) ...", so a
 * new suite is its file alone.
 */
#ifndef U_SUITES
#error "U_SUITES is not defined: build the unit suites with the Makefile"
#endif
#define U_SUITE(name) Suite *name##_suite(void);
U_SUITES
#undef U_SUITE

/* A growable byte string, NUL-terminated: what a connection got back.
 * It grows by doubling: tests append a byte at a time. */
struct bytes {
	char *p;
	size_t len;
	size_t cap;
};

static inline void
bytes_add(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap > 0 ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (b->p == NULL)
			ck_abort_msg("out of memory");
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/*
 * The address ip (IPv6 if it has a ':', else IPv4) and port in *ss; its
 * length.
 */
static inline socklen_t
unit_addr(struct sockaddr_storage *ss, const char *ip, unsigned port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	return sizeof(*s4);
}

/* The unix socket address path in *su; its length. */
static inline socklen_t
unit_unix_addr(struct sockaddr_un *su, const char *path)
{
	memset(su, 0, sizeof(*su));
	su->sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(su->sun_path));
	snprintf(su->sun_path, sizeof(su->sun_path), "%s", path);
	return sizeof(*su);
}

/* A new unix socket of type (SOCK_STREAM, SOCK_DGRAM), close-on-exec, and the address path in *su. */
static inline int
unit_unix_socket(struct sockaddr_un *su, const char *path, int type)
{
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	unit_unix_addr(su, path);
	return fd;
}

/*
 * access.c's clock, moved by hand: a suite passes unit_clock to
 * access_set_clock() and sets unit_now (check_main.c defines both).
 */
extern long long unit_now;
long long unit_clock(void);

/* For hot loops: Check's own asserts cost a system call each when they pass. */
#define REQUIRE(c)                                                 \
	do {                                                       \
		if (!(c))                                          \
			ck_abort_msg("line %d: %s", __LINE__, #c); \
	} while (0)

#endif
