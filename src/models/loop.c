/* loop.c - the readiness loop shared by select, poll and epoll. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../access.h"
#include "../conf.h"
#include "../handler.h"
#include "../log.h"
#include "../model.h"
#include "../net.h"
#include "../sig.h"
#include "../sink.h"
#include "../stats.h"
#include "loop.h"

/* One read buffer per loop; a connection keeps input only while its
 * handler could not consume it (replies backed up to max_pending). */
#define LOOP_READ_SIZE (256 * 1024)
#define LOOP_READ_MIN (16 * 1024)
/* Bounded work per wake-up: accepts per listener, reads at shutdown. */
#define LOOP_ACCEPT_BATCH 64
#define LOOP_DRAIN_READS 64
/* Reads in a row on one connection while each fills the buffer. */
#define LOOP_READ_ROUNDS 4

enum { C_RD_EOF = 1, C_EOF_DONE = 2 };

struct conn {
	int fd;
	int mask;		/* interest registered with the backend */
	int flags;
	struct service *svc;
	struct sink out;	/* replies not yet sent */
	struct buf in;		/* input the handler has not consumed yet */
	struct conn *prev;	/* idle list, least recently active first */
	struct conn *next;
	long long active_ms;
	/* The peer, for access_release: unix peers are never counted, so an
	 * IPv6-sized address is enough and keeps idle connections small. */
	struct sockaddr_in6 sa;
	socklen_t salen;
	/* the handler's state follows */
};

struct evloop {
	struct loop l;		/* the backend's view; first member */
	const struct backend *be;
	struct config *cf;
	struct conn **conns;	/* by descriptor */
	long nconns;
	struct conn *idle_head;
	struct conn *idle_tail;
	char *rbuf;
	bool stopping;
	long long now_ms;	/* the clock, read once per wake-up */
	long long deadline_ms;
	struct log_rate warn_full;
	struct log_rate warn_fds;
	struct log_rate warn_setsize;
	struct log_rate warn_access;
};

static long long
clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *
conn_state(struct conn *c)
{
	return c->svc->handler->state_size ? (void *)(c + 1) : NULL;
}

static void
idle_unlink(struct evloop *ev, struct conn *c)
{
	if (c->prev == NULL && ev->idle_head != c)
		return;		/* not in the list (a new connection) */
	if (c->prev)
		c->prev->next = c->next;
	else
		ev->idle_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		ev->idle_tail = c->prev;
	c->prev = c->next = NULL;
}

/* Marks activity: the connection moves to the tail of the idle list, so
 * the head is always the next to time out.  The time is the wake-up's:
 * a timeout of seconds does not need a clock read per read and write. */
static void
idle_touch(struct evloop *ev, struct conn *c)
{
	if (ev->cf->idle_timeout <= 0)
		return;
	c->active_ms = ev->now_ms;
	if (ev->idle_tail == c)
		return;
	idle_unlink(ev, c);
	c->prev = ev->idle_tail;
	if (ev->idle_tail)
		ev->idle_tail->next = c;
	else
		ev->idle_head = c;
	ev->idle_tail = c;
}

static void
conn_close(struct evloop *ev, struct conn *c)
{
	if (c->mask && ev->be->set(&ev->l, c->fd, c->mask, 0) < 0)
		log_warn("%s: cannot unregister descriptor %d", ev->be->name, c->fd);
	ev->conns[c->fd] = NULL;
	close(c->fd);
	idle_unlink(ev, c);
	c->svc->handler->close(conn_state(c));
	buf_free(&c->in);
	sink_clear(&c->out);
	access_release(c->svc, (struct sockaddr *)&c->sa, c->salen);
	stats_sub(&c->svc->stats->conns_now, 1);
	ev->nconns--;
	free(c);
}

/* Registers the interest the connection's state calls for: read while
 * the handler can take input, write while replies are pending. */
static int
conn_update(struct evloop *ev, struct conn *c)
{
	int mask = 0;

	if (!(c->flags & C_RD_EOF) && c->in.len == 0 && !sink_full(&c->out))
		mask |= LOOP_READ;
	if (sink_pending(&c->out) > 0)
		mask |= LOOP_WRITE;
	if (mask != c->mask) {
		if (ev->be->set(&ev->l, c->fd, c->mask, mask) < 0) {
			log_warn("%s: cannot watch descriptor %d", ev->be->name, c->fd);
			return -1;
		}
		c->mask = mask;
	}
	return 0;
}

/*
 * Sends pending replies until done or the socket is full; what is left is
 * then owned by the sink (lent bytes point into the read buffer, which the
 * next read overwrites).  -1: dead peer, or no memory to keep the rest.
 */
static int
conn_flush(struct evloop *ev, struct conn *c)
{
	while (sink_pending(&c->out) > 0) {
		ssize_t n = send(c->fd, sink_peek(&c->out), sink_pending(&c->out), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		stats_add(&c->svc->stats->bytes_out, (unsigned long long)n);
		sink_consume(&c->out, (size_t)n);
		idle_touch(ev, c);
	}
	return sink_keep(&c->out);
}

/* Hands p[0..n) to the handler; what it cannot take yet is kept. */
static int
conn_feed(struct conn *c, const char *p, size_t n)
{
	ssize_t used = c->svc->handler->data(conn_state(c), p, n, &c->out);

	if (used < 0)
		return -1;
	if ((size_t)used < n)
		return buf_append(&c->in, p + used, n - (size_t)used);
	return 0;
}

/* Feeds kept input while the sink has room, then the end of stream. */
static int
conn_progress(struct conn *c)
{
	while (c->in.len > 0 && !sink_full(&c->out)) {
		ssize_t used = c->svc->handler->data(conn_state(c), buf_peek(&c->in), c->in.len,
		    &c->out);
		/* Consuming may free or move the input a reply was lent from. */
		if (used < 0 || sink_keep(&c->out) < 0)
			return -1;
		buf_consume(&c->in, (size_t)used);
	}
	if ((c->flags & (C_RD_EOF | C_EOF_DONE)) == C_RD_EOF && c->in.len == 0) {
		c->flags |= C_EOF_DONE;
		if (c->svc->handler->eof(conn_state(c), &c->out) < 0)
			return -1;
	}
	return 0;
}

/* Everything after a readiness event: feed, send, decide, re-register.
 * 0, or -1 when the connection was closed (c is gone). */
static int
conn_settle(struct evloop *ev, struct conn *c)
{
	if (conn_progress(c) < 0 || conn_flush(ev, c) < 0)
		goto close;
	/* A flush that freed room lets kept input through; one more round. */
	if (c->in.len > 0 && !sink_full(&c->out) &&
	    (conn_progress(c) < 0 || conn_flush(ev, c) < 0))
		goto close;
	if ((c->flags & C_EOF_DONE) && sink_pending(&c->out) == 0)
		goto close;
	if (conn_update(ev, c) < 0)
		goto close;
	return 0;
close:
	conn_close(ev, c);
	return -1;
}

/*
 * A read that fills the buffer suggests more is waiting: once its replies
 * are all sent, read again instead of going back to the wait, at most
 * LOOP_READ_ROUNDS times, so a streaming client saves a wait per read and
 * still cannot starve the others.
 */
static void
conn_readable(struct evloop *ev, struct conn *c)
{
	for (int round = 0; round < LOOP_READ_ROUNDS; round++) {
		/* Read about what the sink can still take: input the handler
		 * cannot consume is kept per connection, so keep that small. */
		size_t want = sink_room(&c->out);
		if (want < LOOP_READ_MIN)
			want = LOOP_READ_MIN;
		if (want > LOOP_READ_SIZE)
			want = LOOP_READ_SIZE;
		ssize_t n = read(c->fd, ev->rbuf, want);

		if (n > 0) {
			stats_add(&c->svc->stats->bytes_in, (unsigned long long)n);
			idle_touch(ev, c);
			if (conn_feed(c, ev->rbuf, (size_t)n) < 0) {
				conn_close(ev, c);
				return;
			}
		} else if (n == 0) {
			c->flags |= C_RD_EOF;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_close(ev, c);
			return;
		} else if (round > 0) {
			return;		/* settled after the previous read */
		}
		/* Only a full read suggests more: not a short one, the end of
		 * stream or a wake-up with nothing to read. */
		if (conn_settle(ev, c) < 0 || n <= 0 || (size_t)n < want ||
		    !(c->mask & LOOP_READ) || sink_pending(&c->out) > 0)
			return;
	}
}

static void
refuse(int fd, struct service *svc, enum refuse_reason why)
{
	close(fd);
	stats_add(&svc->stats->refused[why], 1);
}

static void
conn_accept(struct evloop *ev, struct listener *ls)
{
	struct service *svc = ls->svc;
	const struct handler *h = svc->handler;

	for (int i = 0; i < LOOP_ACCEPT_BATCH; i++) {
		struct peer peer;
		int fd = net_accept(ls->fd, &peer, SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				stats_add(&svc->stats->refused[REFUSE_NO_FDS], 1);
				if (log_rate_ok(&ev->warn_fds))
					log_warn("%s: connection refused, out of descriptors", ls->addr);
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			if (errno == ECONNABORTED || errno == EPROTO || errno == EPERM)
				continue;
			log_warn("%s: accept", ls->addr);
			return;
		}
		if (fd >= ev->l.setsize) {
			refuse(fd, svc, REFUSE_FDSETSIZE);
			if (log_rate_ok(&ev->warn_setsize))
				log_warnx("%s: closed connection from %s: descriptor %d is beyond "
					  "what %s can watch (%d)",
				    ls->addr, peer.text, fd, ev->be->name, ev->l.setsize);
			continue;
		}
		if (ev->nconns >= ev->cf->max_clients) {
			refuse(fd, svc, REFUSE_MAX_CLIENTS);
			if (log_rate_ok(&ev->warn_full))
				log_warnx("%s: refused %s: max_clients (%ld) reached", ls->addr,
				    peer.text, ev->cf->max_clients);
			continue;
		}
		enum refuse_reason why = access_admit(svc, (struct sockaddr *)&peer.sa, peer.salen);
		if (why != REFUSE_NONE) {
			refuse(fd, svc, why);
			if (log_rate_ok(&ev->warn_access))
				log_warnx("%s: refused %s: %s", ls->addr, peer.text,
				    access_reason_name(why));
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c) + h->state_size);
		if (c == NULL) {
			log_warn("%s: refused %s", ls->addr, peer.text);
			access_release(svc, (struct sockaddr *)&peer.sa, peer.salen);
			close(fd);
			continue;
		}
		c->salen = peer.salen < sizeof(c->sa) ? peer.salen : sizeof(c->sa);
		memcpy(&c->sa, &peer.sa, c->salen);
		c->fd = fd;
		c->svc = svc;
		c->out.cap = (size_t)ev->cf->max_pending;
		ev->conns[fd] = c;
		ev->nconns++;
		stats_add(&svc->stats->conns_now, 1);
		stats_add(&svc->stats->conns_total, 1);
		idle_touch(ev, c);
		log_debug("%s: connection from %s", ls->addr, peer.text);
		if (h->open(conn_state(c), svc, &peer, &c->out) < 0) {
			conn_close(ev, c);
			continue;
		}
		conn_settle(ev, c);
	}
}

static struct listener *
find_listener(struct config *cf, int fd)
{
	for (size_t i = 0; i < cf->nls; i++)
		if (cf->ls[i].fd == fd)
			return &cf->ls[i];
	return NULL;
}

/* SIGTERM: stop accepting; open connections get shutdown_timeout. */
static void
begin_stop(struct evloop *ev)
{
	for (size_t i = 0; i < ev->cf->nls; i++)
		if (ev->cf->ls[i].fd >= 0)
			ev->be->set(&ev->l, ev->cf->ls[i].fd, LOOP_READ, 0);
	net_close_all(ev->cf);
	ev->stopping = true;
	ev->deadline_ms = ev->now_ms + ev->cf->shutdown_timeout * 1000;
	log_info("shutting down: %ld connection%s open, waiting up to %lds", ev->nconns,
	    ev->nconns == 1 ? "" : "s", ev->cf->shutdown_timeout);
}

/* The drain time is over: whatever the client already sent is still
 * handed to the handler (replies are dropped, so a full sink cannot hold
 * input back), so the logger records every line received. */
static void
conn_force_close(struct evloop *ev, struct conn *c)
{
	const struct handler *h = c->svc->handler;
	void *st = conn_state(c);
	bool eof = false;

	sink_clear(&c->out);
	for (int i = 0; i <= LOOP_DRAIN_READS; i++) {
		while (c->in.len > 0) {
			ssize_t used = h->data(st, buf_peek(&c->in), c->in.len, &c->out);
			if (used < 0)
				goto out;
			sink_clear(&c->out);	/* before the lent-from input moves */
			buf_consume(&c->in, (size_t)used);
		}
		if (eof || i == LOOP_DRAIN_READS)
			break;
		ssize_t n = read(c->fd, ev->rbuf, LOOP_READ_SIZE);
		if (n <= 0) {
			eof = n == 0;
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		if (buf_append(&c->in, ev->rbuf, (size_t)n) < 0)
			goto out;
	}
	if (!(c->flags & C_EOF_DONE))
		h->eof(st, &c->out);
out:
	conn_close(ev, c);
}

static int
wait_timeout(struct evloop *ev)
{
	long long due = -1, now = ev->now_ms;

	if (ev->cf->idle_timeout > 0 && ev->idle_head)
		due = ev->idle_head->active_ms + ev->cf->idle_timeout * 1000;
	if (ev->stopping && (due < 0 || ev->deadline_ms < due))
		due = ev->deadline_ms;
	if (due < 0)
		return -1;
	return due <= now ? 0 : (int)(due - now > 86400000 ? 86400000 : due - now);
}

static void
expire_idle(struct evloop *ev)
{
	if (ev->cf->idle_timeout <= 0)
		return;
	while (ev->idle_head && ev->now_ms - ev->idle_head->active_ms >= ev->cf->idle_timeout * 1000) {
		struct conn *c = ev->idle_head;
		log_debug("closing idle connection on descriptor %d", c->fd);
		conn_close(ev, c);
	}
}

static int
setsize_wanted(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > 1048576)
		return 1048576;
	return (int)rl.rlim_cur;
}

static int
loop_init(struct evloop *ev, struct config *cf, const struct backend *be)
{
	int want = setsize_wanted();

	memset(ev, 0, sizeof(*ev));
	ev->now_ms = clock_ms();
	ev->cf = cf;
	ev->be = be;
	ev->warn_full = (struct log_rate)LOG_RATE_INIT(10);
	ev->warn_fds = (struct log_rate)LOG_RATE_INIT(10);
	ev->warn_setsize = (struct log_rate)LOG_RATE_INIT(10);
	ev->warn_access = (struct log_rate)LOG_RATE_INIT(10);
	ev->l.fired = calloc((size_t)want, sizeof(struct fired));
	if (ev->l.fired == NULL)
		return -1;
	ev->l.setsize = be->init(&ev->l, want);
	if (ev->l.setsize < 0)
		return -1;
	if (ev->l.setsize < want)
		log_info("%s: serving descriptors below %d only", be->name, ev->l.setsize);
	ev->conns = calloc((size_t)ev->l.setsize, sizeof(*ev->conns));
	ev->rbuf = malloc(LOOP_READ_SIZE);
	if (ev->conns == NULL || ev->rbuf == NULL)
		return -1;
	if (be->set(&ev->l, sig_fd(), 0, LOOP_READ) < 0)
		return -1;
	for (size_t i = 0; i < cf->nls; i++)
		if (be->set(&ev->l, cf->ls[i].fd, 0, LOOP_READ) < 0)
			return -1;
	return 0;
}

static void
loop_fini(struct evloop *ev)
{
	if (ev->conns) {
		for (int fd = 0; fd < ev->l.setsize; fd++)
			if (ev->conns[fd])
				conn_close(ev, ev->conns[fd]);
	}
	if (ev->l.setsize > 0)
		ev->be->fini(&ev->l);
	free(ev->conns);
	free(ev->rbuf);
	free(ev->l.fired);
}

int
loop_run(struct config *cf, const struct backend *be)
{
	struct evloop ev;
	int status = 0;

	if (loop_init(&ev, cf, be) < 0) {
		log_err("%s: cannot start the loop", be->name);
		loop_fini(&ev);
		return 1;
	}
	for (;;) {
		if (ev.stopping && ev.nconns == 0)
			break;
		int n = be->wait(&ev.l, wait_timeout(&ev));
		if (n < 0) {
			log_err("%s: wait", be->name);
			status = 1;
			break;
		}
		ev.now_ms = clock_ms();
		bool signalled = false;
		int nlisten = 0;
		for (int i = 0; i < n; i++) {
			struct fired *f = &ev.l.fired[i];
			struct conn *c = f->fd < ev.l.setsize ? ev.conns[f->fd] : NULL;
			if (c == NULL) {
				/* Listeners and the signal pipe are handled after
				 * the connections, so that a descriptor closed above
				 * and reused by accept is never confused with a
				 * stale event. */
				if (f->fd == sig_fd())
					signalled = true;
				else
					ev.l.fired[nlisten++] = *f;
				continue;
			}
			if (f->mask & LOOP_WRITE) {
				if (conn_flush(&ev, c) < 0) {
					conn_close(&ev, c);
					continue;
				}
				if (!(f->mask & LOOP_READ) || !(c->mask & LOOP_READ)) {
					conn_settle(&ev, c);
					continue;
				}
			}
			if ((f->mask & LOOP_READ) && (c->mask & LOOP_READ))
				conn_readable(&ev, c);
			else if (f->mask & LOOP_READ)
				conn_settle(&ev, c);
		}
		for (int i = 0; i < nlisten && !ev.stopping; i++) {
			struct listener *ls = find_listener(cf, ev.l.fired[i].fd);
			if (ls)
				conn_accept(&ev, ls);
		}
		if (signalled) {
			int stop = model_signals(cf);
			if (stop >= 2) {
				log_info("second stop signal: exiting now, dropping %ld connection%s",
				    ev.nconns, ev.nconns == 1 ? "" : "s");
				break;
			}
			if (stop && !ev.stopping)
				begin_stop(&ev);
		}
		expire_idle(&ev);
		if (ev.stopping && ev.now_ms >= ev.deadline_ms) {
			for (int fd = 0; fd < ev.l.setsize; fd++)
				if (ev.conns[fd])
					conn_force_close(&ev, ev.conns[fd]);
		}
	}
	loop_fini(&ev);
	return status;
}
