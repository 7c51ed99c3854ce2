/* check_dgram_io.c - unit tests of dgram_io.c with real sockets: receive, reply from the address sent to, batches. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "dgram.h"
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
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_dgram_io.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown_tmpdir(void)
{
	char cmd[128];

	/* Only socket files made by the tests live there. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

/* tmpdir/name in one of four rotating buffers: a test uses at most four. */
static const char *
tmp_path(const char *name)
{
	static char path[4][128];
	static unsigned k;

	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", tmpdir, name);
	return path[k];
}

/* One service listening on spec, bound by net_listen_all as the daemon does. */
struct server {
	struct config cf;
	struct service svc;
	char *listen[1];
	int fd;
};

static void
server_start(struct server *sv, const char *spec)
{
	char err[512];
	int saved, devnull;

	memset(sv, 0, sizeof(*sv));
	sv->listen[0] = (char *)spec;
	sv->svc.name = (char *)"svc";
	sv->svc.handler = &test_handler;
	sv->svc.listen = sv->listen;
	sv->svc.nlisten = 1;
	sv->cf.svcs = &sv->svc;
	sv->cf.nsvcs = 1;
	sv->cf.backlog = 16;
	/* The "listening on" line is check_net's business. */
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	ck_assert(saved >= 0 && devnull >= 0);
	ck_assert_int_eq(dup2(devnull, STDERR_FILENO), STDERR_FILENO);
	ck_assert_msg(net_listen_all(&sv->cf, err, sizeof(err)) == 0, "%s: %s", spec, err);
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(devnull);
	ck_assert_uint_eq(sv->cf.nls, 1);
	ck_assert(sv->cf.ls[0].dgram);
	sv->fd = sv->cf.ls[0].fd;
}

static void
server_stop(struct server *sv)
{
	net_close_all(&sv->cf);
}

static unsigned
port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Waits until fd is readable: true, or false at the deadline. */
static bool
wait_readable(int fd)
{
	long end = now_ms() + DEADLINE_MS;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		long left = end - now_ms();
		int r;

		if (left <= 0)
			return false;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return (p.revents & POLLIN) != 0;
		if (r == -1 && errno != EINTR)
			return false;
	}
}

/*
 * A client socket of ip's family, bound to that family's loopback
 * address (so getsockname names it as the server sees it).
 */
static int
client_for(const char *ip)
{
	struct sockaddr_storage ss;
	bool v6 = strchr(ip, ':') != NULL;
	socklen_t sl = unit_addr(&ss, v6 ? "::1" : "127.0.0.1", 0);
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, sl), 0);
	return fd;
}

/* Whether this host has IPv6 on loopback. */
static bool
have_ipv6(void)
{
	struct sockaddr_storage ss;
	socklen_t sl = unit_addr(&ss, "::1", 0);
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&ss, sl) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* The printed name of a socket's local address ("1.2.3.4:5", "[::1]:5"). */
static void
local_name(int fd, char *dst, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	net_peer_name((struct sockaddr *)&ss, sl, dst, len);
}

/* True when fd is bound to a wildcard address (0.0.0.0 or ::). */
static bool
bound_wild(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	if (ss.ss_family == AF_INET)
		return ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr);
}

static void
fill(char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)((i * 31 + seed) & 0xff);
}

/*
 * One round trip: a client of to_ip's family sends n bytes to to_ip on
 * the server's port; the server receives them with dgram_recv, which must
 * name the client and the address the datagram was sent to, and replies
 * with dgram_send; the reply must come back whole from to_ip:port, as
 * the client addressed it.
 */
static void
round_trip(int sfd, const char *to_ip, size_t n)
{
	static char out[DGRAM_MAX], in[DGRAM_MAX], buf[DGRAM_MAX];
	struct sockaddr_storage to, from, want;
	socklen_t tolen, fromlen = sizeof(from);
	struct dgram_msg m;
	char name[NET_ADDRSTRLEN], wname[NET_ADDRSTRLEN];
	unsigned port = port_of(sfd);
	int c = client_for(to_ip);
	ssize_t got;

	tolen = unit_addr(&to, to_ip, port);
	fill(out, n, (unsigned)n);
	ck_assert_int_eq(sendto(c, out, n, 0, (struct sockaddr *)&to, tolen), (ssize_t)n);
	ck_assert(wait_readable(sfd));
	memset(&m, 0xa5, sizeof(m));
	ck_assert_int_eq(dgram_recv(sfd, &m, buf, sizeof(buf)), 1);
	ck_assert_uint_eq(m.len, n);
	ck_assert(!m.truncated);
	ck_assert_ptr_eq(m.p, buf);
	ck_assert(n == 0 || memcmp(m.p, out, n) == 0);

	/* The peer: the client, as net_peer_name names it. */
	local_name(c, name, sizeof(name));
	ck_assert_str_eq(m.peer.text, "");
	ck_assert_str_eq(net_peer_text(&m.peer), name);
	ck_assert_str_eq(m.peer.text, name);

	/*
	 * On a wildcard socket, the local address it was sent to, the port
	 * left 0; a socket bound to one address asks for none (it can only
	 * reply from that one), and the reply below must still come from it.
	 */
	ck_assert(m.has_dst == bound_wild(sfd));
	unit_addr(&want, to_ip, 0);
	if (m.has_dst)
		ck_assert_int_eq(m.dst.ss_family, want.ss_family);
	if (m.has_dst && want.ss_family == AF_INET)
		ck_assert(memcmp(&((struct sockaddr_in *)&m.dst)->sin_addr,
		              &((struct sockaddr_in *)&want)->sin_addr, 4) == 0);
	else if (m.has_dst)
		ck_assert(memcmp(&((struct sockaddr_in6 *)&m.dst)->sin6_addr,
		              &((struct sockaddr_in6 *)&want)->sin6_addr, 16) == 0);

	/* The reply, from where the client sent it. */
	ck_assert_int_eq(dgram_send(sfd, &m, out, n), 0);
	ck_assert(wait_readable(c));
	got = recvfrom(c, in, sizeof(in), MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
	ck_assert_int_eq(got, (ssize_t)n);
	ck_assert(n == 0 || memcmp(in, out, n) == 0);
	net_peer_name((struct sockaddr *)&from, fromlen, name, sizeof(name));
	net_peer_name((struct sockaddr *)&to, tolen, wname, sizeof(wname));
	ck_assert_str_eq(name, wname);
	close(c);
}

/* 0, 1 and 60,000 bytes: empty datagrams exist, and big ones come whole. */
static const size_t sizes[] = { 0, 1, 60000 };

START_TEST(test_ipv4)
{
	struct server sv;

	server_start(&sv, "udp:127.0.0.1:0");
	round_trip(sv.fd, "127.0.0.1", sizes[_i]);
	server_stop(&sv);
}
END_TEST

START_TEST(test_ipv6)
{
	struct server sv;

	if (!have_ipv6())
		return;
	server_start(&sv, "udp:[::1]:0");
	round_trip(sv.fd, "::1", sizes[_i]);
	server_stop(&sv);
}
END_TEST

/*
 * udp:*:0 takes both families on one socket.  The reply leaves from the
 * address each datagram was sent to: 127.0.0.2 is not the address
 * routing would choose for 127.0.0.1's client (that is 127.0.0.1), so a
 * reply from it proves the packet info is used.
 */
START_TEST(test_wildcard)
{
	struct server sv;

	server_start(&sv, "udp:*:0");
	round_trip(sv.fd, "127.0.0.1", sizes[_i]);
	round_trip(sv.fd, "127.0.0.2", sizes[_i]);
	if (have_ipv6())
		round_trip(sv.fd, "::1", sizes[_i]);
	server_stop(&sv);
}
END_TEST

/* An IPv4 wildcard alone (no dual stack): IP_PKTINFO on an AF_INET socket. */
START_TEST(test_wildcard_ipv4_only)
{
	struct sockaddr_storage ss;
	socklen_t sl = unit_addr(&ss, "0.0.0.0", 0);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dgram_listener_setup(fd, (struct sockaddr *)&ss), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, sl), 0);
	round_trip(fd, "127.0.0.3", 5);
	close(fd);
}
END_TEST

/* A datagram longer than the buffer: the buffer's worth, flagged. */
START_TEST(test_truncated)
{
	struct server sv;
	struct sockaddr_storage to;
	socklen_t tolen;
	struct dgram_msg m;
	char out[300], buf[100];
	int c = client_for("127.0.0.1");

	server_start(&sv, "udp:127.0.0.1:0");
	tolen = unit_addr(&to, "127.0.0.1", port_of(sv.fd));
	fill(out, sizeof(out), 7);
	ck_assert_int_eq(sendto(c, out, 200, 0, (struct sockaddr *)&to, tolen), 200);
	ck_assert_int_eq(sendto(c, out, 100, 0, (struct sockaddr *)&to, tolen), 100);
	ck_assert(wait_readable(sv.fd));
	ck_assert_int_eq(dgram_recv(sv.fd, &m, buf, sizeof(buf)), 1);
	ck_assert(m.truncated);
	ck_assert_uint_eq(m.len, sizeof(buf));
	ck_assert(memcmp(m.p, out, sizeof(buf)) == 0);
	/* Exactly the buffer's size is whole; the tail of the first is gone. */
	ck_assert(wait_readable(sv.fd));
	ck_assert_int_eq(dgram_recv(sv.fd, &m, buf, sizeof(buf)), 1);
	ck_assert(!m.truncated);
	ck_assert_uint_eq(m.len, 100);
	ck_assert_int_eq(dgram_recv(sv.fd, &m, buf, sizeof(buf)), 0);
	close(c);
	server_stop(&sv);
}
END_TEST

/* Nothing waiting: 0 at once, from both receivers. */
START_TEST(test_nothing_waiting)
{
	static char bufs[4][DGRAM_MAX];
	struct dgram_msg ms[4];
	struct server sv;

	server_start(&sv, "udp:127.0.0.1:0");
	ck_assert_int_eq(dgram_recv(sv.fd, &ms[0], bufs[0], sizeof(bufs[0])), 0);
	ck_assert_int_eq(dgram_recv_batch(sv.fd, ms, bufs[0], sizeof(bufs[0]), 4), 0);
	ck_assert_int_eq(dgram_recv_batch(sv.fd, ms, bufs[0], sizeof(bufs[0]), 0), 0);
	server_stop(&sv);
}
END_TEST

/* A unix datagram client socket, bound to path unless path is NULL. */
static int
unix_client(const char *path)
{
	struct sockaddr_un su;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	if (path != NULL) {
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&su, unit_unix_addr(&su, path)), 0);
	}
	return fd;
}

static void
unix_send(int c, const char *path, const char *p, size_t n)
{
	struct sockaddr_un su;

	socklen_t len = unit_unix_addr(&su, path);

	ck_assert_int_eq(sendto(c, p, n, 0, (struct sockaddr *)&su, len), (ssize_t)n);
}

/*
 * unixgram: a bound client is answered at its path; an unbound one has
 * no address: named "unix" too, but no reply is possible.
 */
START_TEST(test_unixgram)
{
	static char buf[DGRAM_MAX], big[60000];
	char spec[200], in[64];
	const char *spath, *cpath;
	struct server sv;
	struct dgram_msg m;
	int c, u;

	spath = tmp_path("srv.sock");
	snprintf(spec, sizeof(spec), "unixgram:%s", spath);
	server_start(&sv, spec);
	cpath = tmp_path("cli.sock");
	c = unix_client(cpath);

	unix_send(c, spath, "hello", 5);
	ck_assert(wait_readable(sv.fd));
	ck_assert_int_eq(dgram_recv(sv.fd, &m, buf, sizeof(buf)), 1);
	ck_assert_uint_eq(m.len, 5);
	ck_assert(memcmp(m.p, "hello", 5) == 0);
	ck_assert_str_eq(net_peer_text(&m.peer), "unix");
	ck_assert(!m.has_dst);
	ck_assert_int_eq(m.peer.sa.ss_family, AF_UNIX);
	ck_assert_str_eq(((struct sockaddr_un *)&m.peer.sa)->sun_path, cpath);
	ck_assert_int_eq(dgram_send(sv.fd, &m, "olleh", 5), 0);
	ck_assert(wait_readable(c));
	ck_assert_int_eq(recv(c, in, sizeof(in), MSG_DONTWAIT), 5);
	ck_assert(memcmp(in, "olleh", 5) == 0);

	/* Empty and 60,000-byte datagrams, both ways. */
	unix_send(c, spath, "", 0);
	ck_assert(wait_readable(sv.fd));
	ck_assert_int_eq(dgram_recv(sv.fd, &m, buf, sizeof(buf)), 1);
	ck_assert_uint_eq(m.len, 0);
	ck_assert_int_eq(dgram_send(sv.fd, &m, "", 0), 0);
	ck_assert(wait_readable(c));
	ck_assert_int_eq(recv(c, in, sizeof(in), MSG_DONTWAIT), 0);
	fill(big, sizeof(big), 3);
	unix_send(c, spath, big, sizeof(big));
	ck_assert(wait_readable(sv.fd));
	ck_assert_int_eq(dgram_recv(sv.fd, &m, buf, sizeof(buf)), 1);
	ck_assert_uint_eq(m.len, sizeof(big));
	ck_assert(!m.truncated);
	ck_assert_int_eq(dgram_send(sv.fd, &m, m.p, m.len), 0);
	ck_assert(wait_readable(c));
	ck_assert_int_eq(recv(c, buf, sizeof(buf), MSG_DONTWAIT), (ssize_t)sizeof(big));
	ck_assert(memcmp(buf, big, sizeof(big)) == 0);

	/* Unbound: "unix", the family alone, nowhere to reply. */
	u = unix_client(NULL);
	unix_send(u, spath, "anon", 4);
	ck_assert(wait_readable(sv.fd));
	ck_assert_int_eq(dgram_recv(sv.fd, &m, buf, sizeof(buf)), 1);
	ck_assert_uint_eq(m.len, 4);
	ck_assert_str_eq(net_peer_text(&m.peer), "unix");
	ck_assert_int_eq(m.peer.sa.ss_family, AF_UNIX);
	ck_assert_int_eq(m.peer.salen, (socklen_t)sizeof(sa_family_t));
	errno = 0;
	ck_assert_int_eq(dgram_send(sv.fd, &m, "x", 1), -1);
	ck_assert_int_eq(errno, EDESTADDRREQ);

	close(u);
	close(c);
	server_stop(&sv);
}
END_TEST

/*
 * A unixgram client that never reads: once its queue is full the reply
 * is refused at once (dropped, never waited for).
 */
START_TEST(test_unixgram_full)
{
	static char buf[DGRAM_MAX];
	char spec[200];
	const char *spath;
	struct server sv;
	struct dgram_msg m;
	int c, i, r = 0;

	spath = tmp_path("srv.sock");
	snprintf(spec, sizeof(spec), "unixgram:%s", spath);
	server_start(&sv, spec);
	c = unix_client(tmp_path("deaf.sock"));
	unix_send(c, spath, "q", 1);
	ck_assert(wait_readable(sv.fd));
	ck_assert_int_eq(dgram_recv(sv.fd, &m, buf, sizeof(buf)), 1);
	for (i = 0; i < 100000 && (r = dgram_send(sv.fd, &m, buf, 1000)) == 0; i++)
		;
	ck_assert_int_eq(r, -1);
	ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "errno %d", errno);
	close(c);
	server_stop(&sv);
}
END_TEST

/*
 * The batch pair: 40 datagrams from two clients (one to 127.0.0.1, one
 * to 127.0.0.2 on a wildcard listener) come in as 32 then 8 (the batch
 * is capped at DGRAM_BATCH), in order; dgram_send_batch answers them
 * all, each from the address its datagram was sent to.
 */
START_TEST(test_batch)
{
	enum { N = 40 };
	static char bufs[N][DGRAM_MAX], in[DGRAM_MAX];
	static struct dgram_msg ms[N];
	struct dgram_out out[N];
	struct sockaddr_storage to[2], from;
	socklen_t tolen[2], fromlen;
	const char *ips[2] = { "127.0.0.1", "127.0.0.2" };
	char name[NET_ADDRSTRLEN], want[NET_ADDRSTRLEN];
	struct server sv;
	int c[2], got = 0, n, i, k;

	server_start(&sv, "udp:*:0");
	for (k = 0; k < 2; k++) {
		c[k] = client_for(ips[k]);
		tolen[k] = unit_addr(&to[k], ips[k], port_of(sv.fd));
	}
	for (i = 0; i < N; i++) {
		char msg[32];
		int len = snprintf(msg, sizeof(msg), "datagram %d", i);

		ck_assert_int_eq(sendto(c[i % 2], msg, (size_t)len, 0,
		                     (struct sockaddr *)&to[i % 2], tolen[i % 2]),
		    len);
	}
	ck_assert(wait_readable(sv.fd));
	/* Loopback delivers at once, but wait for all 40 to be queued. */
	for (long end = now_ms() + DEADLINE_MS; got < N && now_ms() < end;) {
		n = dgram_recv_batch(sv.fd, ms + got, bufs[got], sizeof(bufs[0]), N - got);
		ck_assert_int_ge(n, 0);
		/* Asked for 40: at most DGRAM_BATCH at a time. */
		ck_assert_int_le(n, DGRAM_BATCH);
		if (n == 0)
			wait_readable(sv.fd);
		got += n;
	}
	ck_assert_int_eq(got, N);
	ck_assert_int_eq(dgram_recv_batch(sv.fd, ms, bufs[0], sizeof(bufs[0]), N), 0);
	for (i = 0; i < N; i++) {
		char msg[32];
		int len = snprintf(msg, sizeof(msg), "datagram %d", i);

		ck_assert_uint_eq(ms[i].len, (size_t)len);
		ck_assert(memcmp(ms[i].p, msg, (size_t)len) == 0);
		ck_assert_ptr_eq(ms[i].p, bufs[i]);
		ck_assert(ms[i].has_dst && !ms[i].truncated);
		local_name(c[i % 2], want, sizeof(want));
		ck_assert_str_eq(net_peer_text(&ms[i].peer), want);
		ck_assert_int_eq(ms[i].dst.ss_family, AF_INET);
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ms[i].dst)->sin_addr, name,
		    sizeof(name));
		ck_assert_str_eq(name, ips[i % 2]);
		out[i].m = &ms[i];
		out[i].p = ms[i].p;
		out[i].n = ms[i].len;
	}
	ck_assert_int_eq(dgram_send_batch(sv.fd, out, N), N);
	for (i = 0; i < N; i++) {
		char msg[32];
		int len = snprintf(msg, sizeof(msg), "datagram %d", i);
		ssize_t r;

		ck_assert(wait_readable(c[i % 2]));
		fromlen = sizeof(from);
		r = recvfrom(c[i % 2], in, sizeof(in), MSG_DONTWAIT, (struct sockaddr *)&from,
		    &fromlen);
		ck_assert_int_eq(r, len);
		ck_assert(memcmp(in, msg, (size_t)len) == 0);
		net_peer_name((struct sockaddr *)&from, fromlen, name, sizeof(name));
		net_peer_name((struct sockaddr *)&to[i % 2], tolen[i % 2], want, sizeof(want));
		ck_assert_str_eq(name, want);
	}
	ck_assert_int_eq(dgram_send_batch(sv.fd, out, 0), 0);
	close(c[0]);
	close(c[1]);
	server_stop(&sv);
}
END_TEST

/*
 * dgram_send_batch on a unixgram socket drops what cannot go (an unbound
 * client, a client whose queue is full) and still sends the rest.
 */
START_TEST(test_batch_unixgram_drops)
{
	static char buf[DGRAM_MAX];
	struct dgram_msg m[3];
	struct dgram_out out[200];
	char spec[200], in[64];
	const char *spath;
	struct server sv;
	int bound, anon, deaf, i, n = 0, r;

	spath = tmp_path("srv.sock");
	snprintf(spec, sizeof(spec), "unixgram:%s", spath);
	server_start(&sv, spec);
	bound = unix_client(tmp_path("bound.sock"));
	anon = unix_client(NULL);
	deaf = unix_client(tmp_path("deaf.sock"));
	unix_send(anon, spath, "a", 1);
	unix_send(deaf, spath, "d", 1);
	unix_send(bound, spath, "b", 1);
	for (i = 0; i < 3; i++) {
		ck_assert(wait_readable(sv.fd));
		ck_assert_int_eq(dgram_recv(sv.fd, &m[i], buf + i * 8, 8), 1);
	}
	/* Fill deaf's queue. */
	for (i = 0; i < 100000 && dgram_send(sv.fd, &m[1], buf, 1000) == 0; i++)
		;
	ck_assert_int_lt(i, 100000);
	/* anon, deaf x 100, bound: only bound's reply can go. */
	out[n++] = (struct dgram_out){ &m[0], "to anon", 7 };
	for (i = 0; i < 100; i++)
		out[n++] = (struct dgram_out){ &m[1], "to deaf", 7 };
	out[n++] = (struct dgram_out){ &m[2], "to bound", 8 };
	ck_assert_int_eq(dgram_send_batch(sv.fd, out, n), 1);
	ck_assert(wait_readable(bound));
	r = (int)recv(bound, in, sizeof(in), MSG_DONTWAIT);
	ck_assert_int_eq(r, 8);
	ck_assert(memcmp(in, "to bound", 8) == 0);
	close(bound);
	close(anon);
	close(deaf);
	server_stop(&sv);
}
END_TEST

Suite *
dgram_io_suite(void)
{
	Suite *s = suite_create("dgram_io");
	TCase *tc;
	int nsizes = (int)(sizeof(sizes) / sizeof(sizes[0]));

	tc = tcase_create("udp");
	tcase_add_loop_test(tc, test_ipv4, 0, nsizes);
	tcase_add_loop_test(tc, test_ipv6, 0, nsizes);
	tcase_add_loop_test(tc, test_wildcard, 0, nsizes);
	tcase_add_test(tc, test_wildcard_ipv4_only);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_nothing_waiting);
	tcase_add_test(tc, test_batch);
	suite_add_tcase(s, tc);

	tc = tcase_create("unixgram");
	tcase_add_checked_fixture(tc, setup_tmpdir, teardown_tmpdir);
	tcase_add_test(tc, test_unixgram);
	tcase_add_test(tc, test_unixgram_full);
	tcase_add_test(tc, test_batch_unixgram_drops);
	suite_add_tcase(s, tc);
	return s;
}
