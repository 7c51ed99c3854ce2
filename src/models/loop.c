/* loop.c - the readiness loop shared by select, poll and epoll. */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../access.h"
#include "../admit.h"
#include "../conf.h"
#include "../handler.h"
#include "../log.h"
#include "../model.h"
#include "../net.h"
#include "../reload.h"
#include "../sig.h"
#include "../sink.h"
#include "../stats.h"
#include "loop.h"
#include "loop_int.h"

static void
listener_pause(struct evloop *ev, struct listener *ls)
{
	size_t i = (size_t)(ls - ev->cf->ls);

	if (ev->paused[i] == 0 && !ev->dg_held[i] && ev->be->set(&ev->l, ls->fd, ev->lmask, 0) < 0)
		log_warn("%s: cannot pause the listener", ls->addr);
	ev->paused[i] = ev->cs.now_ms + LOOP_ACCEPT_PAUSE_MS;
}

static void
listeners_resume(struct evloop *ev)
{
	for (size_t i = 0; i < ev->cf->nls && !ev->stopping; i++) {
		if (ev->paused[i] == 0 || ev->cs.now_ms < ev->paused[i])
			continue;
		ev->paused[i] = 0;
		if (!ev->dg_held[i] && ev->be->set(&ev->l, ev->cf->ls[i].fd, 0, ev->lmask) < 0)
			log_warn("%s: cannot watch the listener", ev->cf->ls[i].addr);
	}
}

static void
conn_accept(struct evloop *ev, struct listener *ls)
{
	struct service *svc = ls->svc;

	for (int i = 0; i < LOOP_ACCEPT_BATCH; i++) {
		struct peer peer;
		int fd = net_accept(ls->fd, &peer, SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				admit_refuse(ls, -1, REFUSE_NO_FDS);
				if (net_spare_ready())
					continue;
				/* Nothing shed it: the connection is still pending. */
				listener_pause(ev, ls);
				return;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			if (errno == ECONNABORTED || errno == EPROTO || errno == EPERM)
				continue;
			/* ENOBUFS, ENOMEM, a listener shut down from outside: the
			 * listener stays readable, so it rests instead of spinning. */
			if (log_rate_ok(&ev->warn_accept))
				log_warn("%s: accept (not accepting for %d ms)", ls->addr,
				    LOOP_ACCEPT_PAUSE_MS);
			listener_pause(ev, ls);
			return;
		}
		if (fd >= ev->l.setsize) {
			admit_refuse(ls, fd, REFUSE_FDSETSIZE);
			if (log_rate_ok(&ev->warn_setsize))
				log_warnx("%s: closed connection from %s: descriptor %d is beyond "
				          "what %s can watch (%d)",
				    ls->addr, peer.text, fd, ev->be->name, ev->l.setsize);
			continue;
		}
		if (admit_take(ls, fd, &peer, ev->cs.n, ev->cf->max_clients) != REFUSE_NONE)
			continue;
		struct conn *c = conn_new(&ev->cs, svc, fd, &peer, ev->cf->max_pending);
		if (c == NULL) {
			log_warn("%s: refused %s", ls->addr, peer.text);
			admit_release(svc, (struct sockaddr *)&peer.sa, peer.salen);
			close(fd);
			continue;
		}
		ev->conns[fd] = c;
		log_debug("%s: connection from %s", ls->addr, peer.text);
		if (conn_start(c, &peer) < 0) {
			loop_close(ev, c);
			continue;
		}
		loop_settle(ev, c);
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
		if (ev->cf->ls[i].fd >= 0 && ev->paused[i] == 0 && !ev->dg_held[i])
			ev->be->set(&ev->l, ev->cf->ls[i].fd, ev->lmask, 0);
	net_close_all(ev->cf);
	ev->stopping = true;
	stop_deadline(&ev->deadline_ms, ev->cs.now_ms, ev->cs.n, ev->cf->shutdown_timeout);
}

/*
 * Idle expiry without a timeout on every wait: a timerfd, armed for when
 * the least recently active connection times out rounded up to a whole
 * second, and armed again only after it fired.  While it is armed that
 * moment only moves later (activity moves connections to the idle list's
 * tail, new ones come after), so a firing is at most early, never late
 * by more than the rounding.  Only a handler's deadline (sink_timer: a
 * request or PROXY header timeout, kept exact) may come sooner than the
 * timer is armed for: then it is armed again.  A
 * busy loop's waits thus carry no timeout,
 * and the kernel arms no timer per wake-up.  Without a timerfd the wait's
 * timeout does it.
 */
static void
idle_timer(struct evloop *ev)
{
	struct itimerspec its;
	long long due;

	if (ev->tfd < 0 || (due = conn_wake_due(&ev->cs)) < 0)
		return;
	if (ev->timer_armed && due >= ev->timer_at)
		return;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(due / 1000);
	its.it_value.tv_nsec = (long)(due % 1000) * 1000000L;
	if (timerfd_settime(ev->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		log_warn("idle timer");
		ev->be->set(&ev->l, ev->tfd, LOOP_READ, 0);
		close(ev->tfd);
		ev->tfd = -1; /* the wait's timeout takes over */
		return;
	}
	ev->timer_armed = true;
	ev->timer_at = due;
}

/* The timer fired: empty it, so that it is armed again. */
static void
idle_timer_fired(struct evloop *ev)
{
	uint64_t n;

	if (read(ev->tfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("idle timer");
	ev->timer_armed = false;
}

static int
wait_timeout(struct evloop *ev)
{
	long long due = ev->tfd < 0 ? conn_idle_due(&ev->cs) : -1, now = ev->cs.now_ms;

	if (ev->stopping && ev->deadline_ms != SIG_NO_DEADLINE &&
	    (due < 0 || ev->deadline_ms < due))
		due = ev->deadline_ms;
	if (ev->held_ready)
		return 0;
	for (size_t i = 0; i < ev->cf->nls && !ev->stopping; i++)
		if (ev->paused[i] > 0 && (due < 0 || ev->paused[i] < due))
			due = ev->paused[i];
	if (due < 0)
		return -1;
	return due <= now ? 0 : (int)(due - now > 86400000 ? 86400000 : due - now);
}

static void
expire_idle(struct evloop *ev)
{
	struct conn *c;

	while ((c = conn_idle_expired(&ev->cs)) != NULL) {
		log_debug("closing idle connection on descriptor %d", c->fd);
		loop_cut(ev, c, false);
	}
	while ((c = conn_timer_expired(&ev->cs)) != NULL)
		if (conn_timeout(&ev->cs, c) < 0)
			loop_close(ev, c);
		else
			loop_settle(ev, c);
}

/*
 * A SIGHUP's configuration becomes the running one: the running
 * listeners unwatched, ncf's (some the same sockets) watched.  The
 * connections open go on under the configuration they came with.
 * 0, or -1 when ncf cannot be taken (the running one stays).
 */
static int
loop_reload(struct evloop *ev, struct config *ncf)
{
	struct config *cf = ev->cf;
	long long *paused = calloc(ncf->nls + 1, sizeof(*paused));
	bool *held = calloc(ncf->nls + 1, sizeof(*held));

	for (size_t i = 0; i < ncf->nls && paused != NULL; i++)
		if (ncf->ls[i].fd >= ev->l.setsize) {
			log_warnx("reload: %s: descriptor %d is beyond what %s can watch",
			    ncf->ls[i].addr, ncf->ls[i].fd, ev->be->name);
			free(paused);
			paused = NULL;
		}
	if (paused == NULL || held == NULL) {
		free(paused);
		free(held);
		return -1;
	}
	for (size_t i = 0; i < cf->nls; i++)
		if (cf->ls[i].fd >= 0 && ev->paused[i] == 0 && !ev->dg_held[i])
			ev->be->set(&ev->l, cf->ls[i].fd, ev->lmask, 0);
	reload_commit(cf, ncf, true);
	free(ev->paused);
	free(ev->dg_held);
	ev->paused = paused;
	ev->dg_held = held;
	ev->cf = ncf;
	ev->cs.idle_timeout_ms = ncf->idle_timeout * 1000;
	for (size_t i = 0; i < ncf->nls; i++)
		if (ev->be->set(&ev->l, ncf->ls[i].fd, 0, ev->lmask) < 0) {
			log_warn("%s: cannot watch the listener", ncf->ls[i].addr);
			listener_pause(ev, &ncf->ls[i]); /* tried again after the rest */
		}
	return 0;
}

static int
loop_init(struct evloop *ev, struct config *cf, const struct backend *be)
{
	int want = model_fd_limit();

	memset(ev, 0, sizeof(*ev));
	ev->tfd = -1;
	ev->cs.now_ms = sig_now_ms();
	ev->cs.idle_timeout_ms = cf->idle_timeout * 1000;
	ev->cf = cf;
	ev->be = be;
	ev->warn_setsize = (struct log_rate)LOG_RATE_INIT(10);
	ev->warn_accept = (struct log_rate)LOG_RATE_INIT(10);
	ev->dg.warn = (struct log_rate)LOG_RATE_INIT(10);
	ev->paused = calloc(cf->nls + 1, sizeof(*ev->paused));
	ev->dg_held = calloc(cf->nls + 1, sizeof(*ev->dg_held));
	if (ev->paused == NULL || ev->dg_held == NULL)
		return -1;
	/* One thread serves everyone: handlers must never wait on an output. */
	handler_nowait = true;
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
	if (cf->idle_timeout > 0 &&
	    (ev->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) >= 0 &&
	    (ev->tfd >= ev->l.setsize || be->set(&ev->l, ev->tfd, 0, LOOP_READ) < 0)) {
		close(ev->tfd);
		ev->tfd = -1;
	}
	ev->lmask = LOOP_READ | (cf->workers > 1 ? LOOP_SHARED : 0);
	for (size_t i = 0; i < cf->nls; i++)
		if (be->set(&ev->l, cf->ls[i].fd, 0, ev->lmask) < 0)
			return -1;
	return 0;
}

static void
loop_fini(struct evloop *ev)
{
	/* Only after a second stop signal (or a failed wait) are connections
	 * left: what they sent is handed over, the unread rest is cut.  Nobody
	 * is served any more, so handlers may wait on their outputs again
	 * (within the cut's grace, see handler.h). */
	handler_nowait = false;
	if (ev->conns) {
		for (int fd = 0; fd < ev->l.setsize; fd++)
			if (ev->conns[fd])
				loop_cut(ev, ev->conns[fd], false);
	}
	if (ev->l.setsize > 0)
		ev->be->fini(&ev->l);
	if (ev->tfd >= 0)
		close(ev->tfd);
	free(ev->paused);
	free(ev->dg_held);
	free(ev->conns);
	free(ev->rbuf);
	free(ev->l.fired);
	loop_dgram_fini(ev);
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
		/* Stopped: once the connections are done and the handlers'
		 * outputs took what was queued for them, or at the deadline. */
		if (ev.stopping && ev.cs.n == 0 &&
		    (ev.nwatched == 0 || ev.cs.now_ms >= ev.deadline_ms))
			break;
		int n = be->wait(&ev.l, wait_timeout(&ev));
		if (n < 0) {
			log_err("%s: wait", be->name);
			status = 1;
			break;
		}
		ev.cs.now_ms = sig_now_ms();
		bool signalled = false;
		int nlisten = 0;
		for (int i = 0; i < n; i++) {
			struct fired *f = &ev.l.fired[i];
			struct conn *c = f->fd < ev.l.setsize ? ev.conns[f->fd] : NULL;
			if (c == NULL) {
				/* The signal pipe and the listeners are handled
				 * after the connections, so that a descriptor closed
				 * above and reused by accept is never confused with
				 * a stale event. */
				if (f->fd == sig_fd())
					signalled = true;
				else if (f->fd == ev.tfd)
					idle_timer_fired(&ev);
				else
					ev.l.fired[nlisten++] = *f;
				continue;
			}
			if (f->mask & LOOP_WRITE) {
				if (loop_flush(&ev, c) < 0) {
					loop_close(&ev, c);
					continue;
				}
				if (!(f->mask & LOOP_READ) || !(c->io & LOOP_READ)) {
					loop_settle(&ev, c);
					continue;
				}
			}
			if ((f->mask & LOOP_READ) && (c->io & LOOP_READ))
				loop_readable(&ev, c);
			else if (f->mask & LOOP_READ)
				loop_settle(&ev, c);
		}
		/* Signals before new connections: those accepted after a SIGHUP
		 * (a worker's forwarded one) write to the reopened outputs, and
		 * none is accepted after a stop.  The flags too: a signal that
		 * came while the wait returned is not in this wake's events. */
		if (sig_hup || sig_usr1 || sig_chld || ((sig_stop || sig_retire) && !ev.stopping))
			signalled = true;
		if (signalled) {
			bool hup = sig_hup;
			int stop = model_signals(cf);
			if (hup)
				loop_outputs_unwatch(&ev);
			if (stop >= 2) {
				log_info(
				    "second stop signal: exiting now, dropping %ld connection%s",
				    ev.cs.n, ev.cs.n == 1 ? "" : "s");
				break;
			}
			if ((stop || sig_retire) && !ev.stopping)
				begin_stop(&ev);
			else if (stop &&
			    ev.deadline_ms == SIG_NO_DEADLINE) /* retired, now stopped */
				stop_deadline(&ev.deadline_ms, ev.cs.now_ms, ev.cs.n,
				    cf->shutdown_timeout);
			struct config *ncf = model_reload_pending();
			if (ncf != NULL && !ev.stopping && loop_reload(&ev, ncf) == 0)
				cf = ncf;
			else if (ncf != NULL)
				reload_abandon(ncf);
		}
		for (int i = 0; i < nlisten && !ev.stopping; i++) {
			struct listener *ls = find_listener(cf, ev.l.fired[i].fd);
			if (ls && ls->dgram)
				loop_datagrams(&ev, ls);
			else if (ls)
				conn_accept(&ev, ls);
		}
		expire_idle(&ev);
		listeners_resume(&ev);
		if (ev.stopping && ev.cs.now_ms >= ev.deadline_ms) {
			handler_nowait = false; /* as in loop_fini */
			for (int fd = 0; fd < ev.l.setsize; fd++)
				if (ev.conns[fd])
					loop_cut(&ev, ev.conns[fd], true);
		}
		loop_outputs(&ev);
		idle_timer(&ev);
	}
	loop_fini(&ev);
	return status;
}
