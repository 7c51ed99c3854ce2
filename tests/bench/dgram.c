/* dgram.c - dispatchd-bench: datagram load, request/response (udp) and one way (flood). */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

/* Largest datagram the client sends or takes. */
#define DG_MAX 65507
/* A request starts with its sequence number and its client's index. */
#define DG_HEAD 12
/* flood: datagrams per sendmmsg. */
#define FLOOD_BATCH 32
/* How long the server gets to empty its socket's queue after a flood. */
#define DRAIN_NS    2000000000ull
#define EVENT_BATCH 256
/* How long the warm-up waits for every client's first answer. */
#define WARM_ALL_NS 3000000000ull

struct uclient {
	int fd;
	bool busy;     /* a request is outstanding */
	uint64_t seq;  /* of the request outstanding, or of the last one */
	uint64_t t0;   /* it was sent */
	uint64_t nops; /* answered, warm-up included */
};

struct dg {
	const struct bench_opts *o;
	struct bench_result *r;
	struct sockaddr_in dst;
	int ep;
	struct uclient *c;
	long nclients;
	char msg[DG_MAX];
	char buf[DG_MAX + 1];
	struct hist h;
	bool measuring, stopping, fatal;
	double ops;
	long long sent, lost, late, bad, errors;
	long busy;
	uint64_t last_progress;
};

static void dg_fail(struct dg *D, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Counts an error and keeps the first message. */
static void
dg_fail(struct dg *D, const char *fmt, ...)
{
	va_list ap;

	D->errors++;
	if (D->r->note[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(D->r->note, sizeof(D->r->note), fmt, ap);
		va_end(ap);
	}
	if (D->errors >= D->o->max_errors)
		D->fatal = true;
}

/* Request seq of client idx, size bytes, into p: a header, then bytes
 * that differ between requests, so that a reply to another request shows. */
static void
dg_message(char *p, size_t size, uint32_t idx, uint64_t seq)
{
	uint64_t x = seq * 0x9e3779b97f4a7c15ULL + idx + 1;

	for (size_t i = DG_HEAD; i < size; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (char)x;
	}
	memcpy(p, &seq, sizeof(seq));
	memcpy(p + sizeof(seq), &idx, sizeof(idx));
}

/* A connected socket towards the server; non-blocking when asked. */
static int
dg_socket(struct dg *D, bool nonblock)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0) {
		dg_fail(D, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&D->dst, sizeof(D->dst)) < 0) {
		dg_fail(D, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ----------------------------------------------------------- request/response */

/* Sends client c's next request. */
static void
rr_send(struct dg *D, struct uclient *c)
{
	uint32_t idx = (uint32_t)(c - D->c);

	c->seq++;
	dg_message(D->msg, D->o->size, idx, c->seq);
	c->t0 = now_ns();
	c->busy = true;
	D->busy++;
	if (D->measuring)
		D->sent++;
	/* A refusal (the ICMP of an earlier datagram, or no socket at the
	 * port right now) loses this request: its timeout counts it. */
	if (send(c->fd, D->msg, D->o->size, 0) < 0 && errno != ECONNREFUSED && errno != EAGAIN &&
	    errno != ENOBUFS)
		dg_fail(D, "send: %s", strerror(errno));
}

static void
rr_done(struct dg *D, struct uclient *c, uint64_t t)
{
	c->busy = false;
	D->busy--;
	c->nops++;
	D->last_progress = t;
	if (D->measuring) {
		hist_add(&D->h, t - c->t0);
		D->ops += 1;
	}
	if (!D->stopping)
		rr_send(D, c);
}

static void dg_bad(struct dg *D, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A reply that answers no request as sent: counted, the first one noted;
 * the request it should have answered times out (a fact about the server,
 * not a failure of the run). */
static void
dg_bad(struct dg *D, const char *fmt, ...)
{
	va_list ap;

	if (!D->measuring)
		return;
	D->bad++;
	if (D->r->note[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(D->r->note, sizeof(D->r->note), fmt, ap);
		va_end(ap);
	}
}

/* One datagram waiting on c: the reply to its request, or a late one. */
static void
rr_read(struct dg *D, struct uclient *c)
{
	ssize_t n = recv(c->fd, D->buf, sizeof(D->buf), 0);
	uint64_t seq;
	uint32_t idx;

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNREFUSED)
			dg_fail(D, "recv: %s", strerror(errno));
		return;
	}
	if ((size_t)n != D->o->size) {
		dg_bad(D, "a %zd-byte reply to a %zu-byte request", n, D->o->size);
		return;
	}
	memcpy(&seq, D->buf, sizeof(seq));
	memcpy(&idx, D->buf + sizeof(seq), sizeof(idx));
	if (idx != (uint32_t)(c - D->c) || seq > c->seq || seq == 0) {
		dg_bad(D, "a reply to no request of this client (client %u, request %llu)",
		    (unsigned)idx, (unsigned long long)seq);
		return;
	}
	dg_message(D->msg, D->o->size, idx, seq);
	if (memcmp(D->buf, D->msg, D->o->size) != 0) {
		dg_bad(D, "wrong bytes echoed (client %u, request %llu)", (unsigned)idx,
		    (unsigned long long)seq);
		return;
	}
	if (seq < c->seq || !c->busy) {
		/* Its request was counted lost already. */
		if (D->measuring)
			D->late++;
		return;
	}
	rr_done(D, c, now_ns());
}

/* Requests unanswered for the reply timeout are lost: the next one goes. */
static uint64_t
rr_expire(struct dg *D, uint64_t t)
{
	uint64_t limit = (uint64_t)(D->o->reply_timeout * 1e9);
	uint64_t next = t + limit;

	for (long i = 0; i < D->nclients; i++) {
		struct uclient *c = &D->c[i];
		if (!c->busy)
			continue;
		if (t - c->t0 >= limit) {
			c->busy = false;
			D->busy--;
			if (D->measuring)
				D->lost++;
			if (!D->stopping)
				rr_send(D, c);
		}
		if (c->busy && c->t0 + limit < next)
			next = c->t0 + limit;
	}
	return next;
}

static bool
rr_all_served(struct dg *D)
{
	for (long i = 0; i < D->nclients; i++)
		if (D->c[i].nops == 0)
			return false;
	return true;
}

static bool
rr_none_busy(struct dg *D)
{
	return D->busy <= 0;
}

/*
 * Runs the clients until done(D) or the deadline; false when it gave up
 * (no reply for the no-progress timeout, too many errors, the server died).
 */
static bool
rr_until(struct dg *D, uint64_t deadline, bool (*done)(struct dg *))
{
	struct epoll_event ev[EVENT_BATCH];
	uint64_t stall = (uint64_t)(D->o->timeout * 1e9);
	unsigned spins = 0;

	for (;;) {
		uint64_t t = now_ns();
		uint64_t next = rr_expire(D, t);
		if (done != NULL && done(D))
			return true;
		if (D->fatal)
			return false;
		if (t >= deadline)
			return done == NULL;
		if (t - D->last_progress > stall) {
			dg_fail(D, "no reply for %.1f s", D->o->timeout);
			return false;
		}
		if ((++spins & 1023) == 0 && D->o->server_pid > 0 &&
		    !probe_alive(D->o->server_pid)) {
			dg_fail(D, "the server (pid %d) is gone", (int)D->o->server_pid);
			D->fatal = true;
			return false;
		}
		if (next > deadline)
			next = deadline;
		uint64_t left = next > t ? next - t : 0;
		int ms = left > 100000000u ? 100 : (int)((left + 999999) / 1000000);
		int n = epoll_wait(D->ep, ev, EVENT_BATCH, ms);
		if (n < 0 && errno != EINTR) {
			dg_fail(D, "epoll_wait: %s", strerror(errno));
			return false;
		}
		for (int i = 0; i < n; i++)
			rr_read(D, &D->c[ev[i].data.u32]);
	}
}

/* udp: N clients, each with one request outstanding, for the window. */
static int
rr_run(struct dg *D)
{
	const struct bench_opts *o = D->o;
	uint64_t warm = (uint64_t)(o->warmup * 1e9);
	struct probe *p = NULL;
	int rc = -1;

	if (o->size < DG_HEAD) {
		dg_fail(D, "--size: a request needs at least %d bytes", DG_HEAD);
		return -1;
	}
	D->ep = epoll_create1(EPOLL_CLOEXEC);
	if (D->ep < 0) {
		dg_fail(D, "epoll_create1: %s", strerror(errno));
		return -1;
	}
	for (long i = 0; i < D->nclients; i++) {
		struct uclient *c = &D->c[i];
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		if ((c->fd = dg_socket(D, true)) < 0)
			return -1;
		if (epoll_ctl(D->ep, EPOLL_CTL_ADD, c->fd, &e) < 0) {
			dg_fail(D, "epoll_ctl: %s", strerror(errno));
			return -1;
		}
	}
	D->last_progress = now_ns();
	for (long i = 0; i < D->nclients; i++)
		rr_send(D, &D->c[i]);
	/* As in load.c: every server process and thread that serves the
	 * clients exists before perf attaches. */
	if (!rr_until(D, now_ns() + warm / 2, NULL))
		goto out;
	/* A server that leaves some clients unanswered (xinetd drains a
	 * datagram after each it answers) is measured all the same: its
	 * losses show in the window. */
	if (!rr_until(D, now_ns() + WARM_ALL_NS, rr_all_served) && D->fatal)
		goto out;
	p = probe_new(o->server_pid, o->perf && o->server_pid > 0, true);
	D->last_progress = now_ns();
	if (!rr_until(D, now_ns() + warm / 2, NULL))
		goto out;

	struct machine_cpu m0;
	probe_start(p);
	machine_cpu(&m0);
	D->measuring = true;
	uint64_t t0 = now_ns(), cpu0 = self_cpu_ns();
	D->last_progress = t0;
	bool ok = rr_until(D, t0 + (uint64_t)(o->secs * 1e9), NULL);
	D->measuring = false;
	load_window(D->r, p, &D->h, D->ops, t0, cpu0, &m0);
	if (!ok && D->fatal)
		goto out;
	if (!(D->r->ops > 0)) {
		if (D->r->note[0] == '\0')
			snprintf(D->r->note, sizeof(D->r->note),
			    "no request answered in the %.1f s window", D->r->window_s);
		goto out;
	}
	/* The replies in flight, or their timeouts. */
	D->stopping = true;
	D->last_progress = now_ns();
	rr_until(D, now_ns() + (uint64_t)((o->reply_timeout + 0.1) * 1e9), rr_none_busy);
	rc = 0;
out:
	probe_free(p);
	return rc;
}

/* ----------------------------------------------------------- flood */

/*
 * The server's socket at port, from /proc/net/udp: datagrams the kernel
 * dropped because its receive buffer was full, and the bytes queued
 * (every unconnected IPv4 socket bound to the port, summed).  -1 when no
 * such socket exists.
 */
static int
udp_sock_stats(int port, long long *drops, long long *queued)
{
	FILE *f = fopen("/proc/net/udp", "r");
	char line[512];
	int found = 0;

	*drops = *queued = 0;
	if (f == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) == NULL) {
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned laddr, lport, raddr, rport, st;
		unsigned long txq, rxq;
		char *tok, *save, *last = NULL;
		if (sscanf(line, " %*d: %x:%x %x:%x %x %lx:%lx", &laddr, &lport, &raddr, &rport,
		        &st, &txq, &rxq) != 7)
			continue;
		if ((int)lport != port || rport != 0)
			continue;
		/* drops is the last field (the line ends in a space). */
		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
			last = tok;
		if (last == NULL)
			continue;
		*drops += strtoll(last, NULL, 10);
		*queued += (long long)rxq;
		found = 1;
	}
	fclose(f);
	return found ? 0 : -1;
}

/* Waits until the server's socket queue is empty; false after DRAIN_NS. */
static bool
flood_drained(struct dg *D)
{
	uint64_t deadline = now_ns() + DRAIN_NS;
	long long drops, queued;

	while (now_ns() < deadline) {
		if (udp_sock_stats(D->o->port, &drops, &queued) < 0) {
			dg_fail(D, "no socket at udp port %d in /proc/net/udp", D->o->port);
			return false;
		}
		if (queued == 0)
			return true;
		usleep(1000);
	}
	return false;
}

/* Sends batches of datagrams on fd until the deadline; false on an error. */
static bool
flood_until(struct dg *D, int fd, struct mmsghdr *mm, uint64_t deadline)
{
	unsigned spins = 0;

	while (now_ns() < deadline) {
		int n = sendmmsg(fd, mm, FLOOD_BATCH, 0);
		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)
				continue;
			dg_fail(D, "sendmmsg: %s", strerror(errno));
			return false;
		}
		if (D->measuring)
			D->sent += n;
		if ((++spins & 4095) == 0 && D->o->server_pid > 0 &&
		    !probe_alive(D->o->server_pid)) {
			dg_fail(D, "the server (pid %d) is gone", (int)D->o->server_pid);
			return false;
		}
	}
	return true;
}

/*
 * flood: one socket sends size-byte datagrams at full speed (sendmmsg,
 * FLOOD_BATCH at a time).  The window starts on an empty server queue and
 * ends when the server has emptied it again, so the datagrams it took are
 * exactly those sent minus those the kernel dropped at its full socket.
 */
static int
flood_run(struct dg *D)
{
	const struct bench_opts *o = D->o;
	uint64_t warm = (uint64_t)(o->warmup * 1e9);
	struct mmsghdr mm[FLOOD_BATCH];
	struct iovec iov = { .iov_base = D->msg, .iov_len = o->size };
	struct probe *p = NULL;
	long long drops0, drops1, queued;
	int rc = -1;
	int fd = dg_socket(D, false);

	if (fd < 0)
		return -1;
	/* Printable text: a logger writes it as it is, one record each. */
	for (size_t i = 0; i < o->size; i++)
		D->msg[i] = (char)('a' + i % 26);
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < FLOOD_BATCH; i++) {
		mm[i].msg_hdr.msg_iov = &iov;
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	if (!flood_until(D, fd, mm, now_ns() + warm / 2) || !flood_drained(D))
		goto out;
	p = probe_new(o->server_pid, o->perf && o->server_pid > 0, true);
	if (!flood_until(D, fd, mm, now_ns() + warm / 2))
		goto out;
	if (!flood_drained(D)) {
		dg_fail(D, "the server did not empty its queue within %.0f s", DRAIN_NS / 1e9);
		goto out;
	}

	struct machine_cpu m0;
	udp_sock_stats(o->port, &drops0, &queued);
	probe_start(p);
	machine_cpu(&m0);
	D->measuring = true;
	uint64_t t0 = now_ns(), cpu0 = self_cpu_ns();
	bool ok = flood_until(D, fd, mm, t0 + (uint64_t)(o->secs * 1e9));
	D->measuring = false;
	bool drained = ok && flood_drained(D);
	/* A socket gone (the server ended) leaves the drops unknown: none. */
	D->r->kdrops = udp_sock_stats(o->port, &drops1, &queued) == 0 ? drops1 - drops0 : 0;
	load_window(D->r, p, &D->h, (double)(D->sent - D->r->kdrops), t0, cpu0, &m0);
	if (!ok)
		goto out;
	if (!drained) {
		dg_fail(D, "the server did not empty its queue within %.0f s", DRAIN_NS / 1e9);
		goto out;
	}
	if (!(D->r->ops > 0)) {
		dg_fail(D, "the server took no datagram in the %.1f s window", D->r->window_s);
		goto out;
	}
	rc = 0;
out:
	probe_free(p);
	close(fd);
	return rc;
}

int
dgram_run(const struct bench_opts *o, struct bench_result *r)
{
	struct dg *D = calloc(1, sizeof(*D));
	int rc;

	if (D == NULL) {
		snprintf(r->note, sizeof(r->note), "out of memory");
		r->errors = 1;
		return -1;
	}
	D->o = o;
	D->r = r;
	D->ep = -1;
	D->nclients = o->mode == MODE_UDP ? o->conns : 0;
	D->dst.sin_family = AF_INET;
	D->dst.sin_port = htons((uint16_t)o->port);
	hist_reset(&D->h);
	if (inet_pton(AF_INET, o->host, &D->dst.sin_addr) != 1 ||
	    (ntohl(D->dst.sin_addr.s_addr) >> 24) != 127) {
		snprintf(r->note, sizeof(r->note), "%s: only numeric 127.x.x.x addresses", o->host);
		r->errors = 1;
		free(D);
		return -1;
	}
	if (o->size > DG_MAX) {
		snprintf(r->note, sizeof(r->note), "--size: at most %d bytes in a datagram",
		    DG_MAX);
		r->errors = 1;
		free(D);
		return -1;
	}
	if (D->nclients > 0) {
		D->c = calloc((size_t)D->nclients, sizeof(*D->c));
		if (D->c == NULL) {
			snprintf(r->note, sizeof(r->note), "out of memory");
			r->errors = 1;
			free(D);
			return -1;
		}
		for (long i = 0; i < D->nclients; i++)
			D->c[i].fd = -1;
	}
	D->last_progress = now_ns();
	rc = o->mode == MODE_UDP ? rr_run(D) : flood_run(D);
	r->sent = D->sent;
	r->lost = D->lost;
	r->late = D->late;
	r->bad = D->bad;
	r->errors += D->errors;
	for (long i = 0; i < D->nclients; i++)
		if (D->c[i].fd >= 0)
			close(D->c[i].fd);
	if (D->ep >= 0)
		close(D->ep);
	free(D->c);
	free(D);
	return rc < 0 || r->errors > 0 ? -1 : 0;
}
