/* blocking.c - the one accept loop of the blocking models (iterative, fork, thread). */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "../admit.h"
#include "../conf.h"
#include "../dgram.h"
#include "../log.h"
#include "../model.h"
#include "../net.h"
#include "../reload.h"
#include "../sig.h"
#include "blocking.h"

/* After an unexpected accept error the listener rests this long. */
#define SERVE_ACCEPT_PAUSE_MS 1000

/* Both in one private block (model_private_alloc: a fork child takes no
 * copy of the page poll writes into). */
static struct pollfd *accept_pfds;
static long long *accept_paused; /* per listener: resting until (ms), 0 if not */
static size_t accept_size;
static size_t accept_next; /* round robin over ready listeners */
static size_t dgram_again; /* 1 + the datagram listener just read, or 0 */
static int dgram_streak;   /* datagrams taken in a row without a poll */
/*
 * A read after a datagram that found nothing (one client waiting for
 * each reply) costs a system call for nothing: after each such miss,
 * that many polled datagrams go without one, doubling up to
 * DGRAM_SPEC_BACKOFF_MAX while they keep missing; one that finds a
 * datagram ends it.
 */
#define DGRAM_SPEC_BACKOFF_MAX 64
static unsigned spec_skip;
static unsigned spec_backoff;
static bool has_dgram;  /* some listener is a datagram one */
static char *dgram_buf; /* DGRAM_MAX bytes: the datagram being dispatched */
static struct log_rate warn_accept = LOG_RATE_INIT(10);

/*
 * Listeners that rest after an unexpected accept error are left out of
 * the poll (a negative descriptor) until their time is up.  Returns the
 * poll timeout: until the next one is due, or -1.
 */
static int
accept_resume(struct config *cf)
{
	long long now = 0, due = -1;

	for (size_t i = 0; i < cf->nls; i++) {
		if (accept_paused[i] == 0)
			continue;
		if (now == 0)
			now = sig_now_ms();
		if (now >= accept_paused[i]) {
			accept_paused[i] = 0;
			accept_pfds[i + 1].fd = cf->ls[i].fd;
		} else if (due < 0 || accept_paused[i] < due) {
			due = accept_paused[i];
		}
	}
	return due < 0 ? -1 : (int)(due - now);
}

/*
 * Datagram listeners are left out of the poll while the model serves
 * max_clients (connections and datagrams): the datagrams wait in the
 * socket buffer until a slot frees (SIGCHLD, or sig_wake from a thread).
 */
static void
dgram_gate(struct config *cf, long (*active)(void))
{
	bool full;

	if (!has_dgram)
		return; /* no count to take (a lock, a reap) per accept */
	full = active != NULL && active() >= cf->max_clients;
	for (size_t i = 0; i < cf->nls; i++)
		if (cf->ls[i].dgram && accept_paused[i] == 0)
			accept_pfds[i + 1].fd = full ? -1 : cf->ls[i].fd;
}

static void
listener_rest(size_t i)
{
	accept_paused[i] = sig_now_ms() + SERVE_ACCEPT_PAUSE_MS;
	accept_pfds[i + 1].fd = -1;
}

/*
 * Takes what ls has ready: a connection (admitted) into c, or a datagram
 * into m.  BLOCKING_CONN or BLOCKING_DGRAM, or 0 when nothing was taken.
 */
static int
take(struct config *cf, size_t i, long (*active)(void), struct client *c, struct dgram_msg *m)
{
	struct listener *ls = &cf->ls[i];
	int fd;

	c->ls = ls;
	c->svc = ls->svc;
	if (ls->dgram) {
		int r = dgram_recv(ls->fd, m, dgram_buf, DGRAM_MAX);
		if (r > 0)
			return BLOCKING_DGRAM;
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			if (log_rate_ok(&warn_accept))
				log_warn("%s: receive (not receiving for %d ms)", ls->addr,
				    SERVE_ACCEPT_PAUSE_MS);
			listener_rest(i);
		}
		return 0;
	}
	fd = net_accept(ls->fd, &c->peer, 0);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE) {
			admit_refuse(ls, -1, REFUSE_NO_FDS);
			/* Nothing shed it: still pending, rest a while. */
			if (!net_spare_ready())
				listener_rest(i);
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED && errno != EPROTO && errno != EPERM) {
			/* ENOBUFS, ENOMEM, a listener shut down from outside: it
			 * stays readable, so it rests instead of spinning. */
			if (log_rate_ok(&warn_accept))
				log_warn("%s: accept (not accepting for %d ms)", ls->addr,
				    SERVE_ACCEPT_PAUSE_MS);
			listener_rest(i);
		}
		return 0;
	}
	if (admit_take(ls, fd, &c->peer, active != NULL ? active() : -1, cf->max_clients) !=
	    REFUSE_NONE)
		return 0;
	c->fd = fd;
	return BLOCKING_CONN;
}

/*
 * Waits for the next connection or datagram: BLOCKING_CONN with c filled
 * and admitted, BLOCKING_DGRAM with m filled (c->ls, c->svc: where it
 * came), 0 when woken by a signal (or sig_wake), -1 on an unexpected
 * error.
 */
static int
accept_one(struct config *cf, const struct dispatcher *d, struct client *c, struct dgram_msg *m)
{
	long (*active)(void) = d->active;
	size_t n = cf->nls + 1;

	if (accept_pfds == NULL) {
		accept_size = n * (sizeof(*accept_pfds) + sizeof(*accept_paused));
		accept_pfds = model_private_alloc(accept_size);
		if (accept_pfds == NULL)
			return -1;
		accept_paused = (long long *)(accept_pfds + n); /* a pollfd is 8 bytes */
		dgram_buf = malloc(DGRAM_MAX); /* a fork child serves the datagram in it */
		if (dgram_buf == NULL)
			return -1;
		accept_pfds[0].fd = sig_fd();
		for (size_t i = 0; i < cf->nls; i++) {
			accept_pfds[i + 1].fd = cf->ls[i].fd;
			has_dgram |= cf->ls[i].dgram;
		}
		for (size_t i = 0; i < n; i++)
			accept_pfds[i].events = POLLIN;
	}
	for (;;) {
		if (sig_stop || sig_hup || sig_usr1 || sig_chld)
			return 0;
		/*
		 * After a datagram, the same socket is read again before the
		 * next poll, up to DGRAM_BATCH times in a row: under load the
		 * next datagram costs one system call, not two; once none is
		 * waiting (or the others had to wait long enough), poll.  Not
		 * while such reads keep finding nothing (spec_skip).
		 */
		if (dgram_again > 0 && dgram_streak < DGRAM_BATCH &&
		    (active == NULL || active() < cf->max_clients)) {
			size_t i = dgram_again - 1;
			if (accept_paused[i] == 0 && take(cf, i, active, c, m) == BLOCKING_DGRAM) {
				dgram_streak++;
				spec_backoff = 0;
				return BLOCKING_DGRAM;
			}
			/* Nothing right after a polled one: not a burst. */
			if (dgram_streak == 0) {
				spec_backoff = spec_backoff == 0          ? 1 :
				    spec_backoff < DGRAM_SPEC_BACKOFF_MAX ? spec_backoff * 2 :
				                                            DGRAM_SPEC_BACKOFF_MAX;
				spec_skip = spec_backoff;
			}
		}
		dgram_again = 0;
		dgram_streak = 0;
		int timeout = accept_resume(cf), tick = d->tick_ms != NULL ? d->tick_ms() : -1;
		if (tick >= 0 && (timeout < 0 || tick < timeout))
			timeout = tick;
		dgram_gate(cf, active);
		int ready = poll(accept_pfds, (nfds_t)n, timeout);
		if (ready < 0) {
			if (errno == EINTR)
				return 0;
			log_err("poll");
			return -1;
		}
		if (ready == 0 && active != NULL)
			active(); /* the tick: what it counts is brought up to date */
		if (accept_pfds[0].revents)
			return 0;
		for (size_t k = 0; k < cf->nls; k++) {
			size_t i = (accept_next + k) % cf->nls;
			if (accept_pfds[i + 1].fd < 0 || accept_pfds[i + 1].revents == 0)
				continue;
			int r = take(cf, i, active, c, m);
			if (r != 0) {
				accept_next = i + 1;
				if (r == BLOCKING_DGRAM && spec_skip > 0)
					spec_skip--;
				else if (r == BLOCKING_DGRAM)
					dgram_again = i + 1;
				return r;
			}
		}
	}
}

void
serve_release(struct client *c)
{
	admit_release(c->svc, (struct sockaddr *)&c->peer.sa, c->peer.salen);
}

static void
accept_fini(void)
{
	model_private_free(accept_pfds, accept_size);
	free(dgram_buf);
	accept_pfds = NULL;
	accept_paused = NULL;
	dgram_buf = NULL;
	has_dgram = false;
	spec_skip = spec_backoff = 0;
	dgram_again = accept_next = 0;
	dgram_streak = 0;
}

int
blocking_run(struct config *cf, const struct dispatcher *d)
{
	struct client c;
	struct dgram_msg m;
	int status = 0;

	if (d->start != NULL && d->start(cf) < 0)
		return 1;
	for (;;) {
		/* A SIGHUP's configuration, read here or while serving (iterative). */
		struct config *ncf = model_reload_pending();
		if (ncf != NULL) {
			/* The listeners are polled afresh: ncf's. */
			accept_fini();
			reload_commit(cf, ncf, true);
			cf = ncf;
		}
		int r = accept_one(cf, d, &c, &m);
		if (r < 0) {
			status = 1;
			break;
		}
		if (r == BLOCKING_DGRAM) {
			/* Admitted here, where the per-source buckets live. */
			if (dgram_admit(c.ls, &m) && d->datagram(cf, c.ls, &m) < 0)
				dgram_sent(c.svc, 0, 1); /* not served: dropped */
			continue;
		}
		if (r == 0) {
			if (d->signalled != NULL)
				d->signalled(cf);
			if (model_signals(cf))
				break;
			continue;
		}
		if (d->dispatch(cf, &c) < 0) {
			close(c.fd);
			serve_release(&c);
		}
	}
	/* Stop accepting: new connections are refused by the kernel; the
	 * datagram sockets stay for the replies of datagrams still served. */
	accept_fini();
	net_close_streams(cf);
	if (d->stop != NULL)
		d->stop(cf);
	net_close_all(cf);
	return status;
}
