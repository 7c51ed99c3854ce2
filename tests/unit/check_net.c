/* check_net.c - unit tests of net.c: listen addresses, listeners, accept, EMFILE, peer names. */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "handler.h"
#include "net.h"
#include "unit.h"

#define DEADLINE_MS 5000

/* Only its name is used: net.c prints it. */
static const struct handler test_handler = { .name = "testh" };

static char tmpdir[64];

static void
setup_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_net.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	char path[512];

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(tmpdir);
}

/* A one-service configuration over caller-owned storage. */
struct fixture {
	struct config cf;
	struct service svc;
	char *listen[4];
};

static void
fixture_init(struct fixture *fx, const char *a, const char *b)
{
	memset(fx, 0, sizeof(*fx));
	fx->listen[0] = (char *)a;
	fx->listen[1] = (char *)b;
	fx->svc.name = (char *)"svc";
	fx->svc.handler = &test_handler;
	fx->svc.listen = fx->listen;
	fx->svc.nlisten = b != NULL ? 2 : 1;
	fx->cf.svcs = &fx->svc;
	fx->cf.nsvcs = 1;
	fx->cf.backlog = 16;
}

/* Runs net_listen_all with stderr captured into out. */
static int
listen_capture(struct config *cf, char *err, size_t errlen, char *out, size_t outlen)
{
	FILE *tf = tmpfile();
	int saved, r;
	ssize_t n;

	ck_assert_ptr_nonnull(tf);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fileno(tf), STDERR_FILENO), STDERR_FILENO);
	r = net_listen_all(cf, err, errlen);
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	n = pread(fileno(tf), out, outlen - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	fclose(tf);
	return r;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Waits for events on fd until the deadline: the revents, or 0. */
static int
wait_fd(int fd, short events)
{
	long end = now_ms() + DEADLINE_MS;
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		long left = end - now_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return p.revents;
		if (r == -1 && errno != EINTR)
			return 0;
	}
}

static int
accept_wait(int lfd, struct peer *peer)
{
	ck_assert_int_ne(wait_fd(lfd, POLLIN) & POLLIN, 0);
	return net_accept(lfd, peer, SOCK_NONBLOCK);
}

static int
connect_to(int family, const char *ip, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	len = unit_addr(&ss, ip, port);
	ck_assert_int_eq(ss.ss_family, family);
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(connect(fd, (struct sockaddr *)&ss, len) == 0, "connect %s:%u: %s", ip, port,
	    strerror(errno));
	return fd;
}

static int
connect_unix(const char *path)
{
	struct sockaddr_un su;
	int fd = unit_unix_socket(&su, path, SOCK_STREAM);

	if (connect(fd, (struct sockaddr *)&su, sizeof(su)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A bound unix socket at path: listening (live) or not (stale once closed). */
static int
unix_socket_at(const char *path, bool do_listen)
{
	struct sockaddr_un su;
	int fd = unit_unix_socket(&su, path, SOCK_STREAM);

	ck_assert_int_eq(bind(fd, (struct sockaddr *)&su, sizeof(su)), 0);
	if (do_listen)
		ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

static bool
have_ipv6(void)
{
	struct sockaddr_in6 s6;
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	bool ok;

	if (fd == -1)
		return false;
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&s6, sizeof(s6)) == 0;
	close(fd);
	return ok;
}

/* The local port of fd, or 0 (usable where Check cannot report). */
static unsigned
port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static unsigned
local_port(int fd)
{
	unsigned port = port_of(fd);

	ck_assert_uint_ne(port, 0);
	return port;
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

/* Checks the printed line and returns the port it names after prefix. */
static unsigned
line_port(const char *out, const char *prefix)
{
	const char *p = strstr(out, prefix);
	char want[128];
	unsigned port;
	int n = 0;

	ck_assert_msg(p != NULL, "no '%s' in '%s'", prefix, out);
	ck_assert_int_eq(sscanf(p + strlen(prefix), "%u%n", &port, &n), 1);
	snprintf(want, sizeof(want), " (svc, testh)\n");
	ck_assert_msg(strncmp(p + strlen(prefix) + n, want, strlen(want)) == 0, "bad line '%s'",
	    out);
	ck_assert_uint_ne(port, 0);
	return port;
}

/* Specs net_parse accepts, with what it makes of them: host and port for
 * NET_INET, the port for NET_ANY, the path for NET_UNIX; dgram for the
 * udp: and unixgram: forms. */
static const struct {
	const char *spec;
	enum net_kind kind;
	const char *host_or_path;
	unsigned port;
	bool dgram;
} accepted[] = {
	{ "127.0.0.1:80", NET_INET, "127.0.0.1", 80, false },
	{ "localhost:0", NET_INET, "localhost", 0, false },
	{ "host-1.example_x.org:65535", NET_INET, "host-1.example_x.org", 65535, false },
	{ "[::1]:8080", NET_INET, "::1", 8080, false },
	{ "[::ffff:10.0.0.1]:1", NET_INET, "::ffff:10.0.0.1", 1, false },
	{ "[fe80::1%lo]:7", NET_INET, "fe80::1%lo", 7, false },
	{ "*:7007", NET_ANY, NULL, 7007, false },
	{ "unix:/run/dispatchd.sock", NET_UNIX, "/run/dispatchd.sock", 0, false },
	{ "unix:relative.sock", NET_UNIX, "relative.sock", 0, false },
	{ "udp:127.0.0.1:7", NET_INET, "127.0.0.1", 7, true },
	{ "udp:localhost:0", NET_INET, "localhost", 0, true },
	{ "udp:[::1]:514", NET_INET, "::1", 514, true },
	{ "udp:[fe80::1%lo]:7", NET_INET, "fe80::1%lo", 7, true },
	{ "udp:*:7007", NET_ANY, NULL, 7007, true },
	{ "unixgram:/run/log.sock", NET_UNIX, "/run/log.sock", 0, true },
	{ "unixgram:rel", NET_UNIX, "rel", 0, true },
	/* A file may be called udp:x; only the prefix counts. */
	{ "unix:udp:1.2.3.4:5", NET_UNIX, "udp:1.2.3.4:5", 0, false },
	{ "unixgram:unix:/x", NET_UNIX, "unix:/x", 0, true },
};

START_TEST(test_parse_accepted)
{
	const char *spec = accepted[_i].spec;
	struct net_addr a;
	char err[256];

	ck_assert_msg(net_parse(spec, &a, err, sizeof(err)) == 0, "'%s' rejected: %s", spec, err);
	ck_assert_int_eq(a.kind, accepted[_i].kind);
	ck_assert_msg(a.dgram == accepted[_i].dgram, "'%s': dgram %d", spec, a.dgram);
	if (a.kind == NET_INET)
		ck_assert_str_eq(a.host, accepted[_i].host_or_path);
	if (a.kind == NET_UNIX)
		ck_assert_str_eq(a.path, accepted[_i].host_or_path);
	else
		ck_assert_uint_eq(a.port, accepted[_i].port);
}
END_TEST

static const char *const rejected[] = { "", "foo", "80", ":80", "127.0.0.1:", "127.0.0.1:65536",
	"127.0.0.1:99999999999", "127.0.0.1:-1", "127.0.0.1:+1", "127.0.0.1: 80", "127.0.0.1:80 ",
	"127.0.0.1:http", "127.0.0.1:0x10", "::1:80", "[::1]80", "[::1]", "[::1]:", "[nothex]:80",
	"[]:80", "[127.0.0.1]:80", "[fe80::1%]:80", "1.2.3:80", "300.1.1.1:80", "a b:80", "a/b:80",
	"**:80", "*:", "unix:", "tcp://1.2.3.4:5",
	/* The datagram forms, validated as the stream ones. */
	"udp:", "udp:host", "udp:80", "udp::80", "udp:127.0.0.1:", "udp:127.0.0.1:65536",
	"udp:127.0.0.1:http", "udp:::1:80", "udp:[::1]", "udp:[::1]80", "udp:[nothex]:80",
	"udp:*:", "udp:**:80", "udp:1.2.3:80", "udp: 1.2.3.4:5", "unixgram:", "unixgram",
	"udp:unix:/x", "udp:unixgram:/x", "udp:udp:1.2.3.4:5", "UDP:1.2.3.4:5", "tcp:1.2.3.4:5",
	"udp6:[::1]:5", "dgram:1.2.3.4:5" };

START_TEST(test_parse_rejected)
{
	const char *spec = rejected[_i];
	struct net_addr a;
	char err[512];

	err[0] = '\0';
	ck_assert_msg(net_parse(spec, &a, err, sizeof(err)) == -1, "'%s' accepted", spec);
	ck_assert_msg(strstr(err, spec) != NULL, "'%s' not named in: %s", spec, err);
	ck_assert_msg((strstr(err, "expected HOST:PORT, [IPV6]:PORT, *:PORT or unix:/path") !=
	                      NULL &&
	                  strstr(err,
	                      "udp:HOST:PORT, udp:[IPV6]:PORT, udp:*:PORT or "
	                      "unixgram:/path") != NULL) ||
	        strstr(err, "(0..65535)") != NULL,
	    "no valid forms in: %s", err);
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

/* unix: and unixgram: paths: at most sun_path's size less the NUL. */
START_TEST(test_parse_unix_too_long)
{
	static const char *const pfx[] = { "unix:", "unixgram:" };
	struct sockaddr_un su;
	char spec[300], err[512];
	struct net_addr a;
	size_t max = sizeof(su.sun_path) - 1, pl = strlen(pfx[_i]);

	memcpy(spec, pfx[_i], pl);
	memset(spec + pl, 'x', max);
	spec[pl + max] = '\0';
	ck_assert_int_eq(net_parse(spec, &a, err, sizeof(err)), 0); /* exactly fits */
	ck_assert_uint_eq(strlen(a.path), max);
	ck_assert(a.dgram == (_i == 1));

	spec[pl + max] = 'x';
	spec[pl + max + 1] = '\0';
	ck_assert_int_eq(net_parse(spec, &a, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too long"));
	ck_assert_ptr_nonnull(strstr(err, "107"));
	ck_assert_ptr_nonnull(strstr(err, pfx[_i]));
}
END_TEST

START_TEST(test_peer_name)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	struct sockaddr_un su;
	char out[NET_ADDRSTRLEN];

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons(5);
	inet_pton(AF_INET, "1.2.3.4", &s4.sin_addr);
	net_peer_name((struct sockaddr *)&s4, sizeof(s4), out, sizeof(out));
	ck_assert_str_eq(out, "1.2.3.4:5");

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(65535);
	inet_pton(AF_INET6, "::1", &s6.sin6_addr);
	net_peer_name((struct sockaddr *)&s6, sizeof(s6), out, sizeof(out));
	ck_assert_str_eq(out, "[::1]:65535");

	inet_pton(AF_INET6, "2001:db8::42", &s6.sin6_addr);
	net_peer_name((struct sockaddr *)&s6, sizeof(s6), out, sizeof(out));
	ck_assert_str_eq(out, "[2001:db8::42]:65535");

	inet_pton(AF_INET6, "::ffff:1.2.3.4", &s6.sin6_addr);
	s6.sin6_port = htons(5);
	net_peer_name((struct sockaddr *)&s6, sizeof(s6), out, sizeof(out));
	ck_assert_str_eq(out, "1.2.3.4:5");

	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	/* accept() on a unix socket gives an unnamed address: the family alone. */
	net_peer_name((struct sockaddr *)&su, sizeof(sa_family_t), out, sizeof(out));
	ck_assert_str_eq(out, "unix");
	snprintf(su.sun_path, sizeof(su.sun_path), "/tmp/x");
	net_peer_name((struct sockaddr *)&su, sizeof(su), out, sizeof(out));
	ck_assert_str_eq(out, "unix");

	/* Truncated or foreign addresses do not read past len. */
	net_peer_name((struct sockaddr *)&s4, 4, out, sizeof(out));
	ck_assert_str_eq(out, "unknown");
	net_peer_name(NULL, 0, out, sizeof(out));
	ck_assert_str_eq(out, "unknown");
}
END_TEST

/* Listens on spec, checks the line, connects and accepts once. */
static void
listen_connect_accept(const char *spec, const char *prefix, int family, const char *ip,
    const char *peer_ip)
{
	struct fixture fx;
	struct peer peer;
	char err[512], out[1024], want[NET_ADDRSTRLEN];
	unsigned port;
	int c, s, fl;

	fixture_init(&fx, spec, NULL);
	ck_assert_msg(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)) == 0, "%s: %s",
	    spec, err);
	ck_assert_uint_eq(fx.cf.nls, 1);
	ck_assert_ptr_eq(fx.cf.ls[0].svc, &fx.svc);
	port = line_port(out, prefix);
	snprintf(want, sizeof(want), "%s%u", prefix + strlen("listening on "), port);
	ck_assert_str_eq(fx.cf.ls[0].addr, want);

	fl = fcntl(fx.cf.ls[0].fd, F_GETFL);
	ck_assert_int_ne(fl & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(fx.cf.ls[0].fd, F_GETFD) & FD_CLOEXEC, 0);

	/* Nothing pending yet. */
	ck_assert_int_eq(net_accept(fx.cf.ls[0].fd, &peer, 0), -1);
	ck_assert_int_eq(errno, EAGAIN);

	c = connect_to(family, ip, port);
	s = accept_wait(fx.cf.ls[0].fd, &peer);
	ck_assert_int_ge(s, 0);
	snprintf(want, sizeof(want), "%s:%u", peer_ip, local_port(c));
	ck_assert_str_eq(peer.text, want);
	ck_assert_int_ne(fcntl(s, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(s, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(write(c, "hi", 2), 2);
	ck_assert_int_ne(wait_fd(s, POLLIN) & POLLIN, 0);
	ck_assert_int_eq(read(s, out, sizeof(out)), 2);
	close(c);
	close(s);
	net_close_all(&fx.cf);
	ck_assert_ptr_null(fx.cf.ls);
	ck_assert_uint_eq(fx.cf.nls, 0);
}

START_TEST(test_listen_ipv4)
{
	listen_connect_accept("127.0.0.1:0", "listening on 127.0.0.1:", AF_INET, "127.0.0.1",
	    "127.0.0.1");
}
END_TEST

START_TEST(test_listen_ipv6)
{
	if (!have_ipv6())
		return;
	listen_connect_accept("[::1]:0", "listening on [::1]:", AF_INET6, "::1", "[::1]");
}
END_TEST

START_TEST(test_listen_any)
{
	/* Dual stack: an IPv4 client shows as IPv4, not ::ffff:127.0.0.1. */
	listen_connect_accept("*:0", "listening on *:", AF_INET, "127.0.0.1", "127.0.0.1");
	if (have_ipv6())
		listen_connect_accept("*:0", "listening on *:", AF_INET6, "::1", "[::1]");
}
END_TEST

START_TEST(test_listen_name)
{
	struct fixture fx;
	char err[512], out[1024];
	size_t i;

	fixture_init(&fx, "localhost:0", NULL);
	ck_assert_msg(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)) == 0, "%s", err);
	ck_assert_uint_ge(fx.cf.nls, 1);
	/* One line per socket; all on the port of the first. */
	for (i = 0; i < fx.cf.nls; i++) {
		char *line = strstr(out, fx.cf.ls[i].addr);

		ck_assert_msg(line != NULL, "%s not printed: %s", fx.cf.ls[i].addr, out);
		ck_assert_uint_eq(local_port(fx.cf.ls[i].fd), local_port(fx.cf.ls[0].fd));
	}
	net_close_all(&fx.cf);
}
END_TEST

START_TEST(test_listen_two_addresses)
{
	struct fixture fx;
	char err[512], out[1024];
	unsigned p1, p2;

	fixture_init(&fx, "127.0.0.1:0", "127.0.0.1:0");
	ck_assert_int_eq(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)), 0);
	ck_assert_uint_eq(fx.cf.nls, 2);
	p1 = line_port(out, "listening on 127.0.0.1:");
	p2 = line_port(strchr(out, '\n') + 1, "listening on 127.0.0.1:");
	ck_assert_uint_ne(p1, p2);
	net_close_all(&fx.cf);
}
END_TEST

START_TEST(test_listen_failure_closes_all)
{
	struct fixture fx;
	char err[512], out[1024], busy[64], sock[128], want[160];
	struct sockaddr_in s4;
	socklen_t len = sizeof(s4);
	int blocker, before;

	/* Someone else holds a port. */
	blocker = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(blocker, (struct sockaddr *)&s4, sizeof(s4)), 0);
	ck_assert_int_eq(listen(blocker, 1), 0);
	ck_assert_int_eq(getsockname(blocker, (struct sockaddr *)&s4, &len), 0);
	snprintf(busy, sizeof(busy), "127.0.0.1:%u", ntohs(s4.sin_port));
	snprintf(sock, sizeof(sock), "unix:%s/a.sock", tmpdir);

	before = count_fds();
	fixture_init(&fx, sock, busy);
	ck_assert_int_eq(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)), -1);
	snprintf(want, sizeof(want), "cannot listen on %s: %s", busy, strerror(EADDRINUSE));
	ck_assert_str_eq(err, want);
	/* The unix listener was bound first, but no "listening on" line was
	 * printed for it: scripts wait for that line. */
	ck_assert_str_eq(out, "");
	/* The unix listener bound first is gone, file and descriptor. */
	ck_assert_ptr_null(fx.cf.ls);
	ck_assert_uint_eq(fx.cf.nls, 0);
	ck_assert_int_eq(count_fds(), before);
	ck_assert_int_eq(access(sock + 5, F_OK), -1);
	close(blocker);
}
END_TEST

START_TEST(test_listen_unix)
{
	struct fixture fx;
	struct peer peer;
	char err[512], out[1024], spec[128], want[256];
	int c, s;

	snprintf(spec, sizeof(spec), "unix:%s/d.sock", tmpdir);
	fixture_init(&fx, spec, NULL);
	ck_assert_msg(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)) == 0, "%s", err);
	snprintf(want, sizeof(want), "listening on %s (svc, testh)\n", spec);
	ck_assert_str_eq(out, want);
	ck_assert_str_eq(fx.cf.ls[0].addr, spec);
	ck_assert_str_eq(fx.cf.ls[0].unix_path, spec + 5);
	ck_assert_int_eq(fx.cf.ls[0].owner, getpid());
	ck_assert_int_ne(fcntl(fx.cf.ls[0].fd, F_GETFL) & O_NONBLOCK, 0);

	c = connect_unix(spec + 5);
	ck_assert_int_ge(c, 0);
	s = accept_wait(fx.cf.ls[0].fd, &peer);
	ck_assert_int_ge(s, 0);
	ck_assert_str_eq(peer.text, "unix");
	close(c);
	close(s);
	net_close_all(&fx.cf);
	/* Removed at exit by the process that bound it. */
	ck_assert_int_eq(access(spec + 5, F_OK), -1);
}
END_TEST

START_TEST(test_listen_unix_relative)
{
	struct fixture fx;
	char err[512], out[1024], cwd[256];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(tmpdir), 0);
	fixture_init(&fx, "unix:rel.sock", NULL);
	ck_assert_int_eq(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)), 0);
	ck_assert_str_eq(out, "listening on unix:rel.sock (svc, testh)\n");
	ck_assert_int_eq(access("rel.sock", F_OK), 0);
	net_close_all(&fx.cf);
	ck_assert_int_eq(access("rel.sock", F_OK), -1);
	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

START_TEST(test_listen_unix_stale)
{
	struct fixture fx;
	char err[512], out[1024], spec[128];
	int old, c;

	snprintf(spec, sizeof(spec), "unix:%s/stale.sock", tmpdir);
	/* A socket file whose server died: bound, never listening, closed. */
	old = unix_socket_at(spec + 5, false);
	close(old);
	ck_assert_int_eq(access(spec + 5, F_OK), 0);

	fixture_init(&fx, spec, NULL);
	ck_assert_msg(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)) == 0, "%s", err);
	c = connect_unix(spec + 5);
	ck_assert_int_ge(c, 0);
	close(c);
	net_close_all(&fx.cf);
}
END_TEST

START_TEST(test_listen_unix_live)
{
	struct fixture fx;
	char err[512], out[1024], spec[128], want[256];
	int live, c;

	snprintf(spec, sizeof(spec), "unix:%s/live.sock", tmpdir);
	live = unix_socket_at(spec + 5, true);

	fixture_init(&fx, spec, NULL);
	ck_assert_int_eq(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)), -1);
	snprintf(want, sizeof(want), "cannot listen on %s: %s", spec, strerror(EADDRINUSE));
	ck_assert_str_eq(err, want);
	ck_assert_str_eq(out, "");
	/* The live server keeps its socket. */
	c = connect_unix(spec + 5);
	ck_assert_int_ge(c, 0);
	close(c);
	close(live);
}
END_TEST

START_TEST(test_listen_unix_regular_file)
{
	struct fixture fx;
	char err[512], out[1024], spec[128];
	struct stat st;
	int fd;

	snprintf(spec, sizeof(spec), "unix:%s/file.sock", tmpdir);
	fd = open(spec + 5, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "keep", 4), 4);
	close(fd);

	fixture_init(&fx, spec, NULL);
	ck_assert_int_eq(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)), -1);
	ck_assert_ptr_nonnull(strstr(err, spec));
	ck_assert_ptr_nonnull(strstr(err, "not a socket"));
	/* Never deleted. */
	ck_assert_int_eq(stat(spec + 5, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, 4);
}
END_TEST

START_TEST(test_unix_removed_only_by_owner)
{
	struct fixture fx;
	char err[512], out[1024], spec[128];
	pid_t pid;
	int status;

	snprintf(spec, sizeof(spec), "unix:%s/own.sock", tmpdir);
	fixture_init(&fx, spec, NULL);
	ck_assert_int_eq(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* A fork child closing its copies. */
		net_close_all(&fx.cf);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(access(spec + 5, F_OK), 0);
	net_close_all(&fx.cf);
	ck_assert_int_eq(access(spec + 5, F_OK), -1);
}
END_TEST

/*
 * Audit finding 9: a server whose socket file was removed and bound again
 * by another server leaves the other's file in place when it stops.
 */
START_TEST(test_unix_replaced_not_removed)
{
	struct fixture a, b;
	struct peer peer;
	char err[512], out[1024], spec[128];
	struct stat st;
	int c, s;

	snprintf(spec, sizeof(spec), "unix:%s/u.sock", tmpdir);
	fixture_init(&a, spec, NULL);
	ck_assert_msg(listen_capture(&a.cf, err, sizeof(err), out, sizeof(out)) == 0, "%s", err);
	ck_assert_int_eq(unlink(spec + 5), 0);
	fixture_init(&b, spec, NULL);
	ck_assert_msg(listen_capture(&b.cf, err, sizeof(err), out, sizeof(out)) == 0, "%s", err);

	net_close_all(&a.cf);
	ck_assert_msg(lstat(spec + 5, &st) == 0 && S_ISSOCK(st.st_mode),
	    "the first server removed the second's socket file at stop");
	c = connect_unix(spec + 5);
	ck_assert_int_ge(c, 0);
	s = accept_wait(b.cf.ls[0].fd, &peer);
	ck_assert_int_ge(s, 0);
	close(s);
	close(c);
	/* Its own file, the second removes. */
	net_close_all(&b.cf);
	ck_assert_int_eq(access(spec + 5, F_OK), -1);
}
END_TEST

/* Listens on a unix socket of a service with mode (or none: -1) under umask mask. */
static mode_t
unix_mode_after_listen(int mode, mode_t mask)
{
	struct fixture fx;
	struct stat st;
	char err[512], out[1024], spec[128];
	mode_t old;
	int c;

	snprintf(spec, sizeof(spec), "unix:%s/m%o.sock", tmpdir, (unsigned)mode & 07777);
	fixture_init(&fx, spec, NULL);
	fx.svc.has_mode = mode >= 0;
	fx.svc.mode = mode >= 0 ? (unsigned)mode : 0;
	old = umask(mask);
	ck_assert_msg(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)) == 0, "%s", err);
	/* The process umask is back. */
	ck_assert_uint_eq(umask(old), mask);
	ck_assert_int_eq(lstat(spec + 5, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	if (mode != 0) {
		c = connect_unix(spec + 5);
		ck_assert_int_ge(c, 0);
		close(c);
	}
	net_close_all(&fx.cf);
	return st.st_mode & 07777;
}

/* mode: exactly these bits, whatever the umask; without it, the umask's result. */
START_TEST(test_listen_unix_mode)
{
	ck_assert_uint_eq(unix_mode_after_listen(0660, 022), 0660);
	ck_assert_uint_eq(unix_mode_after_listen(0666, 077), 0666);
	ck_assert_uint_eq(unix_mode_after_listen(0600, 0), 0600);
	ck_assert_uint_eq(unix_mode_after_listen(0777, 0777), 0777);
	ck_assert_uint_eq(unix_mode_after_listen(0, 022), 0);
	ck_assert_uint_eq(unix_mode_after_listen(-1, 022), 0755);
	ck_assert_uint_eq(unix_mode_after_listen(-1, 077), 0700);
}
END_TEST

/* As root: another user can connect to a 0666 socket and not to a 0600 one. */
START_TEST(test_listen_unix_mode_effect)
{
	static const unsigned modes[2] = { 0666, 0600 };
	struct fixture fx[2];
	char err[512], out[1024], spec[2][128];
	pid_t pid;
	int status;

	if (geteuid() != 0)
		return;
	ck_assert_int_eq(chmod(tmpdir, 0711), 0);
	for (int i = 0; i < 2; i++) {
		snprintf(spec[i], sizeof(spec[i]), "unix:%s/eff%o.sock", tmpdir, modes[i]);
		fixture_init(&fx[i], spec[i], NULL);
		fx[i].svc.has_mode = true;
		fx[i].svc.mode = modes[i];
		ck_assert_msg(listen_capture(&fx[i].cf, err, sizeof(err), out, sizeof(out)) == 0,
		    "%s", err);
	}
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct sockaddr_un su;
		int r[2];

		if (setgroups(0, NULL) == -1 || setgid(65534) == -1 || setuid(65534) == -1)
			_exit(2);
		for (int i = 0; i < 2; i++) {
			int fd = unit_unix_socket(&su, spec[i] + 5, SOCK_STREAM);

			r[i] = connect(fd, (struct sockaddr *)&su, sizeof(su)) == 0 ? 0 : errno;
			close(fd);
		}
		_exit(r[0] == 0 && r[1] == EACCES ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	for (int i = 0; i < 2; i++)
		net_close_all(&fx[i].cf);
}
END_TEST

/* mode means nothing to a TCP listener: ignored. */
START_TEST(test_listen_mode_tcp)
{
	struct fixture fx;
	char err[512], out[1024];
	int c;

	fixture_init(&fx, "127.0.0.1:0", NULL);
	fx.svc.has_mode = true;
	fx.svc.mode = 0600;
	ck_assert_msg(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)) == 0, "%s", err);
	c = connect_to(AF_INET, "127.0.0.1", local_port(fx.cf.ls[0].fd));
	close(c);
	net_close_all(&fx.cf);
}
END_TEST

/* A stale socket file is replaced by one with the mode. */
START_TEST(test_listen_unix_mode_stale)
{
	struct fixture fx;
	struct stat st;
	char err[512], out[1024], spec[128];
	int old;

	snprintf(spec, sizeof(spec), "unix:%s/stale-mode.sock", tmpdir);
	old = unix_socket_at(spec + 5, false);
	close(old);
	ck_assert_int_eq(chmod(spec + 5, 0777), 0);
	fixture_init(&fx, spec, NULL);
	fx.svc.has_mode = true;
	fx.svc.mode = 0640;
	ck_assert_msg(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)) == 0, "%s", err);
	ck_assert_int_eq(lstat(spec + 5, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	net_close_all(&fx.cf);
}
END_TEST

/* The socket type of fd. */
static int
sock_type(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);

	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
	return type;
}

/*
 * udp: listeners: bound datagram sockets (no listen), non-blocking,
 * close-on-exec, the line with the prefix and the real port; a datagram
 * sent to the port is waiting on the socket.
 */
static void
listen_udp(const char *spec, const char *prefix, int family, const char *ip)
{
	struct fixture fx;
	struct sockaddr_storage ss;
	socklen_t sl;
	char err[512], out[1024], want[NET_ADDRSTRLEN], buf[8];
	unsigned port;
	int c, on = -1;
	socklen_t len = sizeof(on);

	fixture_init(&fx, spec, NULL);
	ck_assert_msg(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)) == 0, "%s: %s",
	    spec, err);
	ck_assert_uint_eq(fx.cf.nls, 1);
	ck_assert(fx.cf.ls[0].dgram);
	port = line_port(out, prefix);
	snprintf(want, sizeof(want), "%s%u", prefix + strlen("listening on "), port);
	ck_assert_str_eq(fx.cf.ls[0].addr, want);
	ck_assert_int_eq(sock_type(fx.cf.ls[0].fd), SOCK_DGRAM);
	ck_assert_int_ne(fcntl(fx.cf.ls[0].fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(fx.cf.ls[0].fd, F_GETFD) & FD_CLOEXEC, 0);
	/* No SO_REUSEADDR on UDP: it would let another process share the port. */
	ck_assert_int_eq(getsockopt(fx.cf.ls[0].fd, SOL_SOCKET, SO_REUSEADDR, &on, &len), 0);
	ck_assert_int_eq(on, 0);

	sl = unit_addr(&ss, ip, port);
	ck_assert_int_eq(ss.ss_family, family);
	c = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(sendto(c, "hi", 2, 0, (struct sockaddr *)&ss, sl), 2);
	ck_assert_int_ne(wait_fd(fx.cf.ls[0].fd, POLLIN) & POLLIN, 0);
	ck_assert_int_eq(recv(fx.cf.ls[0].fd, buf, sizeof(buf), 0), 2);
	close(c);
	net_close_all(&fx.cf);
}

START_TEST(test_listen_udp)
{
	listen_udp("udp:127.0.0.1:0", "listening on udp:127.0.0.1:", AF_INET, "127.0.0.1");
	if (have_ipv6())
		listen_udp("udp:[::1]:0", "listening on udp:[::1]:", AF_INET6, "::1");
	/* The wildcard: one dual-stack socket, both families. */
	listen_udp("udp:*:0", "listening on udp:*:", AF_INET, "127.0.0.1");
	if (have_ipv6())
		listen_udp("udp:*:0", "listening on udp:*:", AF_INET6, "::1");
}
END_TEST

/*
 * TCP and UDP on one port are two listeners of one service (echo on tcp
 * and udp port 7); a second UDP bind of a taken port fails, as TCP's does.
 */
START_TEST(test_listen_tcp_and_udp)
{
	struct fixture fx, again;
	char err[512], out[1024], tcp[64], udp[64], want[256];
	struct sockaddr_in s4;
	unsigned port;
	int probe;

	for (int attempt = 0;; attempt++) {
		/* A free port, then both on it; someone may take it meanwhile. */
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(probe, 0);
		ck_assert_int_eq(bind(probe, (struct sockaddr *)&s4, sizeof(s4)), 0);
		port = local_port(probe);
		close(probe);
		snprintf(tcp, sizeof(tcp), "127.0.0.1:%u", port);
		snprintf(udp, sizeof(udp), "udp:127.0.0.1:%u", port);
		fixture_init(&fx, tcp, udp);
		if (listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)) == 0)
			break;
		ck_assert_msg(attempt < 5 && strstr(err, strerror(EADDRINUSE)) != NULL, "%s", err);
	}
	snprintf(want, sizeof(want), "listening on %s (svc, testh)\nlistening on %s (svc, testh)\n",
	    tcp, udp);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(fx.cf.nls, 2);
	ck_assert(!fx.cf.ls[0].dgram && fx.cf.ls[1].dgram);
	ck_assert_int_eq(sock_type(fx.cf.ls[0].fd), SOCK_STREAM);
	ck_assert_int_eq(sock_type(fx.cf.ls[1].fd), SOCK_DGRAM);

	fixture_init(&again, udp, NULL);
	ck_assert_int_eq(listen_capture(&again.cf, err, sizeof(err), out, sizeof(out)), -1);
	snprintf(want, sizeof(want), "cannot listen on %s: %s", udp, strerror(EADDRINUSE));
	ck_assert_str_eq(err, want);
	ck_assert_str_eq(out, "");
	net_close_all(&fx.cf);
}
END_TEST

/* A bound unix datagram socket at path (a live server until closed). */
static int
unixgram_at(const char *path)
{
	struct sockaddr_un su;
	int fd = unit_unix_socket(&su, path, SOCK_DGRAM);

	ck_assert_int_eq(bind(fd, (struct sockaddr *)&su, sizeof(su)), 0);
	return fd;
}

/* Sends one datagram to path: 0, or -1 with errno. */
static int
send_unixgram(const char *path)
{
	struct sockaddr_un su;
	int fd = unit_unix_socket(&su, path, SOCK_DGRAM), r;

	r = sendto(fd, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&su, sizeof(su)) == 1 ? 0 : -1;
	close(fd);
	return r;
}

/*
 * unixgram: as unix: a datagram socket at the path, the line with the
 * prefix, a stale file replaced, a live socket (of either type) an error,
 * mode applied, the file removed at close by its owner only.
 */
START_TEST(test_listen_unixgram)
{
	struct fixture fx;
	char err[512], out[1024], spec[96], want[256];
	struct stat st;
	int old, live;
	pid_t pid;
	int status;

	snprintf(spec, sizeof(spec), "unixgram:%s/g.sock", tmpdir);
	const char *path = spec + strlen("unixgram:");

	/* A stale file: bound by a server that died. */
	old = unixgram_at(path);
	close(old);
	fixture_init(&fx, spec, NULL);
	fx.svc.has_mode = true;
	fx.svc.mode = 0620;
	ck_assert_msg(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)) == 0, "%s", err);
	snprintf(want, sizeof(want), "listening on %s (svc, testh)\n", spec);
	ck_assert_str_eq(out, want);
	ck_assert_str_eq(fx.cf.ls[0].addr, spec);
	ck_assert(fx.cf.ls[0].dgram);
	ck_assert_str_eq(fx.cf.ls[0].unix_path, path);
	ck_assert_int_eq(sock_type(fx.cf.ls[0].fd), SOCK_DGRAM);
	ck_assert_int_ne(fcntl(fx.cf.ls[0].fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(fx.cf.ls[0].fd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0620);
	ck_assert_int_eq(send_unixgram(path), 0);
	ck_assert_int_ne(wait_fd(fx.cf.ls[0].fd, POLLIN) & POLLIN, 0);

	/* Our live socket is not replaced by a second server. */
	{
		struct fixture two;

		fixture_init(&two, spec, NULL);
		ck_assert_int_eq(listen_capture(&two.cf, err, sizeof(err), out, sizeof(out)), -1);
		snprintf(want, sizeof(want), "cannot listen on %s: %s", spec, strerror(EADDRINUSE));
		ck_assert_str_eq(err, want);
	}

	/* A fork child closing its copies leaves the file; the owner removes it. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		net_close_all(&fx.cf);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(access(path, F_OK), 0);
	net_close_all(&fx.cf);
	ck_assert_int_eq(access(path, F_OK), -1);

	/* A live stream server at the path is not replaced either. */
	live = unix_socket_at(path, true);
	fixture_init(&fx, spec, NULL);
	ck_assert_int_eq(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)), -1);
	ck_assert_ptr_nonnull(strstr(err, strerror(EADDRINUSE)));
	close(live);
	unlink(path);
}
END_TEST

/* A service may mix stream and datagram listeners, unix ones too. */
START_TEST(test_listen_mixed)
{
	struct fixture fx;
	char err[512], out[1024], s1[128], s2[128];

	snprintf(s1, sizeof(s1), "unix:%s/m.sock", tmpdir);
	snprintf(s2, sizeof(s2), "unixgram:%s/m.dgram", tmpdir);
	fixture_init(&fx, s1, s2);
	ck_assert_msg(listen_capture(&fx.cf, err, sizeof(err), out, sizeof(out)) == 0, "%s", err);
	ck_assert_uint_eq(fx.cf.nls, 2);
	ck_assert(!fx.cf.ls[0].dgram && fx.cf.ls[1].dgram);
	ck_assert_int_eq(sock_type(fx.cf.ls[0].fd), SOCK_STREAM);
	ck_assert_int_eq(sock_type(fx.cf.ls[1].fd), SOCK_DGRAM);
	net_close_all(&fx.cf);
	ck_assert_int_eq(access(s1 + 5, F_OK), -1);
	ck_assert_int_eq(access(s2 + 9, F_OK), -1);
}
END_TEST

START_TEST(test_set_nonblock)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(net_set_nonblock(fd, 1), 0);
	ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(net_set_nonblock(fd, 0), 0);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	ck_assert_int_eq(net_set_nonblock(fd, 1), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* In the EMFILE child, where Check's assertions cannot report. */
#define CHILD_REQUIRE(cond)                                                                  \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: %s (errno %s)\n", __FILE__, __LINE__, #cond, \
			    strerror(errno));                                                \
			_exit(1);                                                            \
		}                                                                            \
	} while (0)

static void
emfile_child(void)
{
	struct fixture fx;
	struct peer peer;
	struct rlimit rl;
	struct sockaddr_in s4;
	struct pollfd p;
	char err[512], buf[8], want[64];
	int c1, c2, spare2, lowest, s, devnull, saved;
	ssize_t n;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fixture_init(&fx, "127.0.0.1:0", NULL);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	saved = dup(STDERR_FILENO);
	CHILD_REQUIRE(devnull >= 0 && saved >= 0 && dup2(devnull, STDERR_FILENO) == STDERR_FILENO);
	CHILD_REQUIRE(net_listen_all(&fx.cf, err, sizeof(err)) == 0);
	CHILD_REQUIRE(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
	close(saved);
	close(devnull);
	s4.sin_port = htons((uint16_t)port_of(fx.cf.ls[0].fd));
	CHILD_REQUIRE(s4.sin_port != 0);
	CHILD_REQUIRE(net_spare_init() == 0);
	c1 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHILD_REQUIRE(c1 >= 0 && connect(c1, (struct sockaddr *)&s4, sizeof(s4)) == 0);
	/* Made now, connected later: connect needs no new descriptor. */
	c2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	spare2 = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHILD_REQUIRE(c2 >= 0 && spare2 >= 0);

	/* Every descriptor below the limit in use: the next accept fails. */
	lowest = dup(0);
	CHILD_REQUIRE(lowest >= 0);
	close(lowest);
	CHILD_REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rl.rlim_cur = (rlim_t)lowest;
	CHILD_REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	CHILD_REQUIRE(dup(0) == -1 && errno == EMFILE);

	CHILD_REQUIRE((wait_fd(fx.cf.ls[0].fd, POLLIN) & POLLIN) != 0);
	CHILD_REQUIRE(net_accept(fx.cf.ls[0].fd, &peer, SOCK_NONBLOCK) == -1);
	CHILD_REQUIRE(errno == EMFILE);
	/* The connection left the queue: a level-triggered wait stays quiet. */
	p.fd = fx.cf.ls[0].fd;
	p.events = POLLIN;
	CHILD_REQUIRE(poll(&p, 1, 0) == 0);
	/* And the client learns at once. */
	CHILD_REQUIRE(wait_fd(c1, POLLIN) != 0);
	n = read(c1, buf, sizeof(buf));
	CHILD_REQUIRE(n == 0 || (n == -1 && errno == ECONNRESET));
	/* The spare is back in place: still out of descriptors. */
	CHILD_REQUIRE(dup(0) == -1 && errno == EMFILE);

	/* A descriptor frees up: service resumes. */
	close(spare2);
	CHILD_REQUIRE(connect(c2, (struct sockaddr *)&s4, sizeof(s4)) == 0);
	CHILD_REQUIRE((wait_fd(fx.cf.ls[0].fd, POLLIN) & POLLIN) != 0);
	s = net_accept(fx.cf.ls[0].fd, &peer, SOCK_NONBLOCK);
	CHILD_REQUIRE(s >= 0);
	snprintf(want, sizeof(want), "127.0.0.1:%u", port_of(c2));
	CHILD_REQUIRE(strcmp(peer.text, want) == 0);
	CHILD_REQUIRE(write(c2, "x", 1) == 1);
	CHILD_REQUIRE((wait_fd(s, POLLIN) & POLLIN) != 0);
	CHILD_REQUIRE(read(s, buf, sizeof(buf)) == 1);
	close(s);
	close(c1);
	close(c2);
	net_spare_close();
	net_close_all(&fx.cf);
	_exit(0);
}

START_TEST(test_accept_emfile)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		emfile_child();
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "EMFILE child failed (%d)",
	    status);
}
END_TEST

Suite *
net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_accepted, 0,
	    (int)(sizeof(accepted) / sizeof(accepted[0])));
	tcase_add_loop_test(tc, test_parse_rejected, 0,
	    (int)(sizeof(rejected) / sizeof(rejected[0])));
	tcase_add_loop_test(tc, test_parse_unix_too_long, 0, 2);
	tcase_add_test(tc, test_peer_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("listen");
	tcase_add_checked_fixture(tc, setup_tmpdir, teardown_tmpdir);
	tcase_add_test(tc, test_listen_ipv4);
	tcase_add_test(tc, test_listen_ipv6);
	tcase_add_test(tc, test_listen_any);
	tcase_add_test(tc, test_listen_name);
	tcase_add_test(tc, test_listen_two_addresses);
	tcase_add_test(tc, test_listen_failure_closes_all);
	tcase_add_test(tc, test_listen_unix);
	tcase_add_test(tc, test_listen_unix_relative);
	tcase_add_test(tc, test_listen_unix_stale);
	tcase_add_test(tc, test_listen_unix_live);
	tcase_add_test(tc, test_listen_unix_regular_file);
	tcase_add_test(tc, test_unix_removed_only_by_owner);
	tcase_add_test(tc, test_unix_replaced_not_removed);
	tcase_add_test(tc, test_listen_unix_mode);
	tcase_add_test(tc, test_listen_unix_mode_effect);
	tcase_add_test(tc, test_listen_mode_tcp);
	tcase_add_test(tc, test_listen_unix_mode_stale);
	tcase_add_test(tc, test_listen_udp);
	tcase_add_test(tc, test_listen_tcp_and_udp);
	tcase_add_test(tc, test_listen_unixgram);
	tcase_add_test(tc, test_listen_mixed);
	tcase_add_test(tc, test_set_nonblock);
	tcase_add_test(tc, test_accept_emfile);
	suite_add_tcase(s, tc);
	return s;
}
