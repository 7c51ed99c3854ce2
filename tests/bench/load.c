/* load.c - dispatchd-bench: the epoll load generator behind every mode. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

/* The verification pattern repeats with this (prime) period. */
#define PAT_PERIOD 65521u
/* Bulk reads at most this much at once. */
#define BULK_READ (256 * 1024)
/* Connects in flight at once (hold: connections not yet answered, so that
 * a server's accept queue never holds more than this many from us). */
#define CONNECT_INFLIGHT 64
/* Events taken per epoll_wait. */
#define EVENT_BATCH 512
/* Bulk: write records kept for the echo latency. */
#define BULK_RING 4096
/* Longest timestamp prefix a lines reply may carry. */
#define LINE_SLACK 512
/* Time the in-flight operations get to finish after the window. */
#define DRAIN_NS 2000000000ull

enum conn_state { C_FREE, C_CONNECTING, C_IDLE, C_BUSY, C_DONE };

struct conn {
	int fd;
	enum conn_state state;
	uint32_t events; /* registered with epoll */
	uint32_t idx;
	size_t len;       /* bytes in the current message */
	size_t sent, got; /* of the current message; bulk: in all */
	const char *msg;  /* the current message */
	char *reply;      /* lines: the reply so far */
	size_t rlen;
	uint64_t t0; /* the operation started */
	uint64_t seq;
	uint64_t nops; /* completed, warm-up included */
	/* bulk: when each write ended, for the echo latency */
	uint64_t *ring_off, *ring_t;
	unsigned ring_head, ring_n;
};

struct run {
	const struct bench_opts *o;
	struct bench_result *r;
	int ep;
	struct sockaddr_in dst;
	struct conn *c;
	long nconns;
	char *pat; /* pattern, PAT_PERIOD + slack bytes */
	char *rbuf;
	size_t rbuf_size;
	char *lines; /* lines: per-connection line buffers */
	struct hist h;
	bool measuring;
	bool stopping; /* no new operations: draining */
	double ops;    /* completed in the window (bulk: bytes) */
	long busy;     /* operations in flight */
	long connected, opened;
	long dead;         /* connections given up on */
	long hellos;       /* hold: connections that answered their first ping */
	uint64_t next_src; /* source address rotation */
	uint64_t last_progress;
	long long errors;
	bool fatal;
};

static void fail(struct run *R, struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Counts an error, keeps the first message, closes the connection. */
static void
fail(struct run *R, struct conn *c, const char *fmt, ...)
{
	va_list ap;

	R->errors++;
	if (R->r->note[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(R->r->note, sizeof(R->r->note), fmt, ap);
		va_end(ap);
	}
	if (R->errors >= R->o->max_errors)
		R->fatal = true;
	if (c == NULL)
		return;
	if (c->state == C_BUSY)
		R->busy--;
	if (c->state != C_DONE)
		R->dead++;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = C_DONE;
}

static int
set_events(struct run *R, struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.u32 = c->idx };

	if (ev == c->events)
		return 0;
	if (epoll_ctl(R->ep, EPOLL_CTL_MOD, c->fd, &e) < 0)
		return -1;
	c->events = ev;
	return 0;
}

/*
 * Binds fd to the next source address, the port left to connect
 * (IP_BIND_ADDRESS_NO_PORT), so the 4-tuple needs to be unique, not the
 * port.  The kernel scans past the ports in use for each connect: with
 * 19,000 connections from one address that scan was half the client's
 * time, so hold spreads over several addresses, and connrate gives its
 * TIME_WAIT sockets room.
 */
static int
bind_next(struct run *R, int fd)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	int one = 1;

	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	src.sin_addr.s_addr = htonl(
	    0x7f000001u + (uint32_t)(R->next_src++ % (uint64_t)R->o->sources));
	return bind(fd, (struct sockaddr *)&src, sizeof(src));
}

/* Opens a non-blocking connection (from the next source pair when asked). */
static int
conn_open(struct run *R, struct conn *c)
{
	int one = 1;

	c->fd = -1;
	c->t0 = now_ns();
	c->state = C_CONNECTING;
	for (int attempt = 0;; attempt++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			fail(R, c, "socket: %s", strerror(errno));
			return -1;
		}
		c->fd = fd;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (R->o->sources > 1 && bind_next(R, fd) < 0) {
			fail(R, c, "bind: %s", strerror(errno));
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&R->dst, sizeof(R->dst)) == 0 ||
		    errno == EINPROGRESS)
			break;
		/* No free port towards the server from that address: the
		 * next address. */
		if (errno == EADDRNOTAVAIL && R->o->sources > 1 && attempt < R->o->sources) {
			close(fd);
			continue;
		}
		fail(R, c, "connect: %s", strerror(errno));
		return -1;
	}
	R->opened++;
	struct epoll_event e = { .events = EPOLLOUT | EPOLLIN, .data.u32 = c->idx };
	if (epoll_ctl(R->ep, EPOLL_CTL_ADD, c->fd, &e) < 0) {
		fail(R, c, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	c->events = e.events;
	return 0;
}

/* Pattern offset of message seq on connection idx. */
static size_t
msg_offset(const struct conn *c)
{
	return (size_t)((c->seq * 251u + c->idx * 4099u) % PAT_PERIOD);
}

static void conn_send(struct run *R, struct conn *c);

/* Starts the next request on c: a message, a line, or a ping. */
static void
op_begin(struct run *R, struct conn *c, bool keep_t0)
{
	if (R->o->mode == MODE_LINES) {
		/* A printable line of size-1 bytes and its LF. */
		char *line = R->lines + (size_t)c->idx * R->o->size;
		size_t n = R->o->size - 1;
		for (size_t i = 0; i < n; i++)
			line[i] = (char)('a' + (c->seq + c->idx + i) % 26);
		line[n] = '\n';
		c->msg = line;
		c->len = R->o->size;
		c->rlen = 0;
	} else {
		c->msg = R->pat + msg_offset(c);
		c->len = R->o->mode == MODE_HOLD ? 16 : R->o->size;
	}
	c->sent = c->got = 0;
	if (!keep_t0)
		c->t0 = now_ns();
	c->state = C_BUSY;
	R->busy++;
	conn_send(R, c);
}

static void
conn_send(struct run *R, struct conn *c)
{
	while (c->sent < c->len) {
		ssize_t n = write(c->fd, c->msg + c->sent, c->len - c->sent);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (set_events(R, c, EPOLLIN | EPOLLOUT) < 0)
					fail(R, c, "epoll_ctl: %s", strerror(errno));
				return;
			}
			fail(R, c, "write: %s", strerror(errno));
			return;
		}
		c->sent += (size_t)n;
	}
	if (set_events(R, c, EPOLLIN) < 0)
		fail(R, c, "epoll_ctl: %s", strerror(errno));
}

/* One request answered. */
static void
op_done(struct run *R, struct conn *c)
{
	uint64_t t = now_ns();

	R->busy--;
	c->state = C_IDLE;
	c->seq++;
	c->nops++;
	R->last_progress = t;
	if (R->measuring) {
		hist_add(&R->h, t - c->t0);
		R->ops += 1;
	} else if (R->o->mode == MODE_HOLD) {
		R->hellos++;
	}
	if (R->o->mode == MODE_CONNRATE) {
		close(c->fd);
		c->fd = -1;
		c->state = C_FREE;
		if (!R->stopping)
			conn_open(R, c);
		return;
	}
	if (R->o->mode == MODE_HOLD || R->stopping)
		return;
	op_begin(R, c, false);
}

static void
bulk_write(struct run *R, struct conn *c)
{
	size_t window = R->o->window;
	bool blocked = false;

	while (c->sent - c->got < window && !R->stopping) {
		size_t len = window - (c->sent - c->got);
		if (len > R->o->size)
			len = R->o->size;
		ssize_t n = write(c->fd, R->pat + c->sent % PAT_PERIOD, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				blocked = true;
				break;
			}
			fail(R, c, "write: %s", strerror(errno));
			return;
		}
		c->sent += (size_t)n;
		if (c->ring_n < BULK_RING) {
			unsigned i = (c->ring_head + c->ring_n++) % BULK_RING;
			c->ring_off[i] = c->sent;
			c->ring_t[i] = now_ns();
		}
	}
	if (set_events(R, c, blocked ? EPOLLIN | EPOLLOUT : EPOLLIN) < 0)
		fail(R, c, "epoll_ctl: %s", strerror(errno));
}

static void
bulk_read(struct run *R, struct conn *c)
{
	ssize_t n = read(c->fd, R->rbuf, BULK_READ);

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		fail(R, c, n == 0 ? "server closed a bulk connection" : "read: %s",
		    strerror(errno));
		return;
	}
	if ((size_t)n > c->sent - c->got) {
		fail(R, c, "bulk: %zd bytes back, only %zu outstanding", n, c->sent - c->got);
		return;
	}
	if (memcmp(R->rbuf, R->pat + c->got % PAT_PERIOD, (size_t)n) != 0) {
		fail(R, c, "bulk: wrong bytes echoed near offset %zu", c->got);
		return;
	}
	c->got += (size_t)n;
	uint64_t t = now_ns();
	R->last_progress = t;
	if (R->measuring)
		R->ops += (double)n;
	while (c->ring_n > 0 && c->ring_off[c->ring_head] <= c->got) {
		if (R->measuring)
			hist_add(&R->h, t - c->ring_t[c->ring_head]);
		c->ring_head = (c->ring_head + 1) % BULK_RING;
		c->ring_n--;
	}
	bulk_write(R, c);
}

/* A connect finished (writable): check it, then start the mode's work. */
static void
conn_connected(struct run *R, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
		fail(R, c, "connect: %s", strerror(err ? err : errno));
		return;
	}
	R->connected++;
	c->state = C_IDLE;
	switch (R->o->mode) {
	case MODE_CONNRATE:
		op_begin(R, c, true);
		break;
	case MODE_BULK:
		c->sent = c->got = 0;
		bulk_write(R, c);
		break;
	case MODE_HOLD:
		/* A first ping: its answer says the server accepted the
		 * connection, so the connects in flight bound its accept queue. */
		op_begin(R, c, false);
		break;
	default:
		/* Requests start once every connection is up. */
		if (set_events(R, c, EPOLLIN) < 0)
			fail(R, c, "epoll_ctl: %s", strerror(errno));
		break;
	}
}

static void
lines_read(struct run *R, struct conn *c)
{
	size_t cap = R->o->size + LINE_SLACK;
	ssize_t n = read(c->fd, c->reply + c->rlen, cap - c->rlen);

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		fail(R, c, n == 0 ? "server closed a connection" : "read: %s", strerror(errno));
		return;
	}
	if (c->state != C_BUSY) {
		fail(R, c, "unexpected reply data");
		return;
	}
	char *start = c->reply + c->rlen;
	char *lf = memchr(start, '\n', (size_t)n);
	c->rlen += (size_t)n;
	if (lf == NULL) {
		if (c->rlen == cap)
			fail(R, c, "reply line longer than %zu bytes", cap);
		return;
	}
	if (lf != c->reply + c->rlen - 1) {
		fail(R, c, "more than one reply line");
		return;
	}
	/* The echo is the line; a timestamp reply is "[TIME] " + the line. */
	size_t L = c->len;
	if (c->rlen < L || memcmp(c->reply + c->rlen - L, c->msg, L) != 0 ||
	    (c->rlen > L &&
	        (c->reply[0] != '[' || c->rlen < L + 3 ||
	            memcmp(c->reply + c->rlen - L - 2, "] ", 2) != 0))) {
		fail(R, c, "wrong reply line: %.*s", (int)(c->rlen < 120 ? c->rlen - 1 : 120),
		    c->reply);
		return;
	}
	op_done(R, c);
}

/* pingpong, connrate, hold: the echo of the current message. */
static void
msg_read(struct run *R, struct conn *c)
{
	size_t want = c->state == C_BUSY ? c->len - c->got : 1;
	if (want > R->rbuf_size)
		want = R->rbuf_size;
	ssize_t n = read(c->fd, R->rbuf, want);

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		fail(R, c, n == 0 ? "server closed a connection" : "read: %s", strerror(errno));
		return;
	}
	if (c->state != C_BUSY) {
		fail(R, c, "unexpected data from the server");
		return;
	}
	if (c->got + (size_t)n > c->sent) {
		fail(R, c, "more bytes back than sent");
		return;
	}
	if (memcmp(R->rbuf, c->msg + c->got, (size_t)n) != 0) {
		fail(R, c, "wrong bytes echoed (message %llu, offset %zu)",
		    (unsigned long long)c->seq, c->got);
		return;
	}
	c->got += (size_t)n;
	if (c->got == c->len)
		op_done(R, c);
}

static void
on_event(struct run *R, struct conn *c, uint32_t ev)
{
	if (c->fd < 0)
		return;
	if (c->state == C_CONNECTING) {
		if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			conn_connected(R, c);
		return;
	}
	if (R->o->mode == MODE_BULK) {
		if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
			bulk_read(R, c);
		if (c->fd >= 0 && (ev & EPOLLOUT))
			bulk_write(R, c);
		return;
	}
	if ((ev & EPOLLOUT) && c->state == C_BUSY)
		conn_send(R, c);
	if (c->fd >= 0 && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
		if (R->o->mode == MODE_LINES)
			lines_read(R, c);
		else
			msg_read(R, c);
	}
}

/*
 * Runs the event loop until done(R) or the deadline; false when it gave
 * up (no progress for the timeout, too many errors, the server died).
 */
static bool
run_until(struct run *R, uint64_t deadline, bool (*done)(struct run *))
{
	struct epoll_event ev[EVENT_BATCH];
	uint64_t stall = (uint64_t)(R->o->timeout * 1e9);
	unsigned spins = 0;

	for (;;) {
		uint64_t t = now_ns();
		if (done != NULL && done(R))
			return true;
		if (R->fatal)
			return false;
		if (t >= deadline)
			return done == NULL;
		if (t - R->last_progress > stall) {
			fail(R, NULL, "no progress for %.1f s", R->o->timeout);
			return false;
		}
		if ((++spins & 1023) == 0 && R->o->server_pid > 0 &&
		    !probe_alive(R->o->server_pid)) {
			fail(R, NULL, "the server (pid %d) is gone", (int)R->o->server_pid);
			R->fatal = true;
			return false;
		}
		uint64_t left = deadline - t;
		int ms = left > 100000000u ? 100 : (int)((left + 999999) / 1000000);
		int n = epoll_wait(R->ep, ev, EVENT_BATCH, ms);
		if (n < 0 && errno != EINTR) {
			fail(R, NULL, "epoll_wait: %s", strerror(errno));
			return false;
		}
		for (int i = 0; i < n; i++)
			on_event(R, &R->c[ev[i].data.u32], ev[i].events);
	}
}

/* Connections set up (hold: and answered once), or given up on. */
static long
conns_ready(struct run *R)
{
	return (R->o->mode == MODE_HOLD ? R->hellos : R->connected) + R->dead;
}

/* Every connection (still open) has completed an operation. */
static bool
all_served(struct run *R)
{
	for (long i = 0; i < R->nconns; i++)
		if (R->c[i].fd >= 0 && R->c[i].nops == 0 && R->c[i].state != C_DONE)
			return false;
	return true;
}

static bool
none_busy(struct run *R)
{
	return R->busy <= 0;
}

static bool
bulk_drained(struct run *R)
{
	for (long i = 0; i < R->nconns; i++)
		if (R->c[i].fd >= 0 && R->c[i].got < R->c[i].sent)
			return false;
	return true;
}

static bool
window_full(struct run *R)
{
	return R->o->ops > 0 &&
	    R->ops >= (double)R->o->ops * (R->o->mode == MODE_BULK ? 1048576.0 : 1.0);
}

/* Opens R->nconns connections, CONNECT_INFLIGHT at a time. */
static bool
connect_all(struct run *R)
{
	uint64_t deadline = now_ns() +
	    (uint64_t)((R->o->timeout + (double)R->nconns / 500.0) * 1e9);
	struct epoll_event ev[EVENT_BATCH];
	long next = 0;

	while (conns_ready(R) < R->nconns) {
		while (next < R->nconns && next - conns_ready(R) < CONNECT_INFLIGHT) {
			if (conn_open(R, &R->c[next]) < 0 && R->fatal)
				return false;
			next++;
		}
		if (R->fatal || now_ns() > deadline) {
			fail(R, NULL, "connecting: %ld of %ld connected", conns_ready(R) - R->dead,
			    R->nconns);
			return false;
		}
		int n = epoll_wait(R->ep, ev, EVENT_BATCH, 100);
		for (int i = 0; i < n; i++)
			on_event(R, &R->c[ev[i].data.u32], ev[i].events);
	}
	return conns_ready(R) - R->dead > 0;
}

/*
 * Closes every connection; hold's with a reset, so that thousands of
 * TIME_WAIT sockets do not crowd the port range for the next runs (and
 * for other programs on the machine) for a minute.
 */
static void
close_all(struct run *R)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	for (long i = 0; i < R->nconns; i++) {
		if (R->c[i].fd < 0)
			continue;
		if (R->o->mode == MODE_HOLD)
			setsockopt(R->c[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(R->c[i].fd);
		R->c[i].fd = -1;
	}
}

static int
run_init(struct run *R, const struct bench_opts *o, struct bench_result *r)
{
	memset(R, 0, sizeof(*R));
	R->ep = -1;
	R->o = o;
	R->r = r;
	R->nconns = o->conns;
	R->dst.sin_family = AF_INET;
	R->dst.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, o->host, &R->dst.sin_addr) != 1 ||
	    (ntohl(R->dst.sin_addr.s_addr) >> 24) != 127) {
		snprintf(r->note, sizeof(r->note), "%s: only numeric 127.x.x.x addresses", o->host);
		return -1;
	}
	R->ep = epoll_create1(EPOLL_CLOEXEC);
	size_t slack = o->size > BULK_READ ? o->size : BULK_READ;
	R->pat = malloc(PAT_PERIOD + slack);
	R->rbuf_size = BULK_READ;
	R->rbuf = malloc(R->rbuf_size);
	R->c = calloc((size_t)R->nconns, sizeof(*R->c));
	if (R->ep < 0 || R->pat == NULL || R->rbuf == NULL || R->c == NULL) {
		snprintf(r->note, sizeof(r->note), "out of memory");
		return -1;
	}
	/* Bytes that differ from their neighbours and repeat only after
	 * PAT_PERIOD: a lost, doubled or reordered piece shows. */
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < PAT_PERIOD; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		R->pat[i] = (char)(x >> 24);
	}
	for (size_t i = PAT_PERIOD; i < PAT_PERIOD + slack; i++)
		R->pat[i] = R->pat[i - PAT_PERIOD];
	if (o->mode == MODE_LINES) {
		R->lines = malloc((size_t)R->nconns * o->size);
		if (R->lines == NULL)
			return -1;
	}
	for (long i = 0; i < R->nconns; i++) {
		struct conn *c = &R->c[i];
		c->fd = -1;
		c->idx = (uint32_t)i;
		if (o->mode == MODE_LINES && (c->reply = malloc(o->size + LINE_SLACK)) == NULL)
			return -1;
		if (o->mode == MODE_BULK) {
			c->ring_off = calloc(BULK_RING, sizeof(uint64_t));
			c->ring_t = calloc(BULK_RING, sizeof(uint64_t));
			if (c->ring_off == NULL || c->ring_t == NULL)
				return -1;
		}
	}
	hist_reset(&R->h);
	R->last_progress = now_ns();
	return 0;
}

static void
run_fini(struct run *R)
{
	close_all(R);
	if (R->c) {
		for (long i = 0; i < R->nconns; i++) {
			free(R->c[i].reply);
			free(R->c[i].ring_off);
			free(R->c[i].ring_t);
		}
	}
	free(R->c);
	free(R->pat);
	free(R->rbuf);
	free(R->lines);
	if (R->ep >= 0)
		close(R->ep);
}

void
load_window(struct bench_result *r, struct probe *p, const struct hist *h, double ops, uint64_t t0,
    uint64_t cpu0, const struct machine_cpu *m0)
{
	struct machine_cpu m1;
	double cpu_ns;
	long long sc;
	uint64_t t1 = now_ns(), cpu1 = self_cpu_ns();

	if (machine_cpu(&m1) == 0 && m1.total > m0->total) {
		double total = (double)(m1.total - m0->total);
		r->steal_pct = (double)(m1.steal - m0->steal) / total * 100.0;
		r->machine_busy_pct = 100.0 - (double)(m1.idle - m0->idle) / total * 100.0;
	}
	long long sqes, cqes;
	probe_stop(p, &cpu_ns, &sc, &r->cpu_method, &r->server_procs, &r->server_threads);
	probe_uring(p, &sqes, &cqes);
	r->window_s = (double)(t1 - t0) / 1e9;
	r->ops = ops;
	r->rate = r->ops / r->window_s;
	r->p50_us = hist_quantile_us(h, 0.50);
	r->p99_us = hist_quantile_us(h, 0.99);
	r->p999_us = hist_quantile_us(h, 0.999);
	r->max_us = h->n ? (double)h->max / 1000.0 : NAN;
	if (r->ops > 0) {
		r->cpu_us_per_op = cpu_ns / 1000.0 / r->ops;
		r->syscalls_per_op = sc >= 0 ? (double)sc / r->ops : NAN;
		r->sqes_per_op = sqes >= 0 ? (double)sqes / r->ops : NAN;
		r->cqes_per_op = cqes >= 0 ? (double)cqes / r->ops : NAN;
		r->client_cpu_us_per_op = (double)(cpu1 - cpu0) / 1000.0 / r->ops;
	}
	r->server_cpu_pct = cpu_ns / (double)(t1 - t0) * 100.0;
}

/* Fills the window's figures from the probe and the histogram. */
static void
finish_window(struct run *R, struct probe *p, uint64_t t0, uint64_t cpu0,
    const struct machine_cpu *m0)
{
	R->measuring = false;
	load_window(R->r, p, &R->h, R->o->mode == MODE_BULK ? R->ops / 1048576.0 : R->ops, t0, cpu0,
	    m0);
}

/* pingpong, lines, connrate, bulk: warm up, then the measured window. */
static int
run_load(struct run *R)
{
	const struct bench_opts *o = R->o;
	uint64_t warm = (uint64_t)(o->warmup * 1e9);
	struct probe *p = NULL;
	int rc = -1;

	if (!connect_all(R))
		goto out;
	if (o->mode == MODE_PINGPONG || o->mode == MODE_LINES)
		for (long i = 0; i < R->nconns; i++)
			if (R->c[i].state == C_IDLE)
				op_begin(R, &R->c[i], false);
	R->last_progress = now_ns();
	/* First half of the warm-up, and until every connection was served
	 * once: every server process and thread exists before perf attaches. */
	uint64_t t = now_ns();
	if (!run_until(R, t + warm / 2, NULL))
		goto out;
	if (o->mode != MODE_CONNRATE && o->mode != MODE_BULK &&
	    !run_until(R, now_ns() + (uint64_t)(o->timeout * 1e9), all_served))
		goto out;
	p = probe_new(o->server_pid, o->perf && o->server_pid > 0, o->mode != MODE_CONNRATE);
	R->last_progress = now_ns();
	if (!run_until(R, now_ns() + warm / 2, NULL))
		goto out;

	struct machine_cpu m0;
	probe_start(p);
	machine_cpu(&m0);
	R->measuring = true;
	uint64_t t0 = now_ns(), cpu0 = self_cpu_ns();
	R->last_progress = t0;
	bool ok = run_until(R, t0 + (uint64_t)(o->secs * 1e9), o->ops > 0 ? window_full : NULL);
	finish_window(R, p, t0, cpu0, &m0);
	if (!ok && R->fatal)
		goto out;
	/* A window with nothing done measures nothing: a stuck server fails
	 * the run here, well before the no-progress timeout would. */
	if (!(R->r->ops > 0)) {
		if (R->r->note[0] == '\0')
			snprintf(R->r->note, sizeof(R->r->note),
			    "no operation completed in the %.1f s window", R->r->window_s);
		goto out;
	}

	/* Let what is in flight finish, so the server sees orderly closes. */
	R->stopping = true;
	R->last_progress = now_ns();
	run_until(R, now_ns() + DRAIN_NS, o->mode == MODE_BULK ? bulk_drained : none_busy);
	rc = 0;
out:
	probe_free(p);
	return rc;
}

static bool
pings_answered(struct run *R)
{
	return R->busy <= 0;
}

/* hold: N idle connections, memory before and after, then a ping on each. */
static int
run_hold(struct run *R)
{
	const struct bench_opts *o = R->o;
	struct bench_result *r = R->r;
	struct probe *p = NULL;
	int rc = -1;

	r->rss_before_kib = probe_rss_kib(o->server_pid, &r->pss_before_kib);
	long long lo0 = listen_overflows();
	uint64_t t = now_ns();
	bool connected = connect_all(R);
	r->connect_s = (double)(now_ns() - t) / 1e9;
	long long lo1 = listen_overflows();
	r->listen_overflows = lo0 >= 0 && lo1 >= 0 ? lo1 - lo0 : -1;
	if (!connected)
		goto out;
	r->held = R->hellos;
	/* Idle: any event now is the server closing on us. */
	R->last_progress = now_ns();
	if (!run_until(R, now_ns() + (uint64_t)(o->hold_secs * 1e9), NULL) && R->fatal)
		goto out;
	r->rss_idle_kib = probe_rss_kib(o->server_pid, NULL);

	p = probe_new(o->server_pid, o->perf && o->server_pid > 0, true);
	struct machine_cpu m0;
	probe_start(p);
	machine_cpu(&m0);
	R->measuring = true;
	uint64_t t0 = now_ns(), cpu0 = self_cpu_ns();
	for (long i = 0; i < R->nconns; i++)
		if (R->c[i].fd >= 0 && R->c[i].state == C_IDLE)
			op_begin(R, &R->c[i], false);
	R->last_progress = now_ns();
	run_until(R, now_ns() + (uint64_t)((o->timeout + (double)R->nconns / 1000.0) * 1e9),
	    pings_answered);
	finish_window(R, p, t0, cpu0, &m0);
	r->answered = (long)R->ops;
	/* Connections that failed are counted already; add the silent ones. */
	for (long i = 0; i < R->nconns; i++)
		if (R->c[i].state == C_BUSY)
			R->errors++;
	if (r->answered < R->nconns && r->note[0] == '\0')
		snprintf(r->note, sizeof(r->note), "%ld of %ld connections answered", r->answered,
		    R->nconns);

	/* Idle again: freed per-connection buffers must not stay resident. */
	usleep(300000);
	r->rss_after_kib = probe_rss_kib(o->server_pid, &r->pss_after_kib);
	if (r->held > 0) {
		r->kib_per_conn = (r->rss_after_kib - r->rss_before_kib) / (double)r->held;
		r->kib_per_conn_idle = (r->rss_idle_kib - r->rss_before_kib) / (double)r->held;
		r->pss_kib_per_conn = (r->pss_after_kib - r->pss_before_kib) / (double)r->held;
	}
	rc = 0;
out:
	probe_free(p);
	return rc;
}

int
load_run(const struct bench_opts *o, struct bench_result *r)
{
	struct run R;
	int rc;

	if (o->mode == MODE_UDP || o->mode == MODE_FLOOD)
		return dgram_run(o, r);
	if (run_init(&R, o, r) < 0) {
		run_fini(&R);
		r->errors = 1;
		return -1;
	}
	rc = o->mode == MODE_HOLD ? run_hold(&R) : run_load(&R);
	close_all(&R);
	r->errors += R.errors;
	run_fini(&R);
	return rc < 0 || r->errors > 0 ? -1 : 0;
}
