/* uring.c - the io_uring model: one thread, a completion loop with one io_uring_enter per wake-up. */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../admit.h"
#include "../conf.h"
#include "../handler.h"
#include "../log.h"
#include "../model.h"
#include "../net.h"
#include "../reload.h"
#include "../sig.h"
#include "../stats.h"
#include "uring_int.h"

/*
 * The sources of completions: a multishot accept per stream listener, a
 * multishot poll per datagram listener and on the signal self-pipe, a
 * multishot receive per connection into the provided buffers, one send
 * in flight per connection, a poll for each handler output that is backed
 * up, and one timeout for idle expiry.  Each wake-up is one
 * io_uring_submit_and_wait: the operations queued while handling the
 * last completions go in, the next ones come out.
 */

static void
listener_arm(struct ur *ur, size_t i)
{
	struct listener *ls = &ur->cf->ls[i];
	struct io_uring_sqe *sqe = ur_sqe(ur);

	if (ls->dgram) {
		io_uring_prep_poll_multishot(sqe, ls->fd, POLLIN);
		io_uring_sqe_set_data64(sqe, ur_ud(UR_DGPOLL, 0, ls->id));
	} else if (ur->lst[i].poll) {
		/* Out of descriptors, an accept would fail at once, pending
		 * connection or not: wait for one, then shed it (shed). */
		io_uring_prep_poll_add(sqe, ls->fd, POLLIN);
		io_uring_sqe_set_data64(sqe, ur_ud(UR_ACCEPT, 1, ls->id));
	} else {
		io_uring_prep_multishot_accept(sqe, ls->fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		io_uring_sqe_set_data64(sqe, ur_ud(UR_ACCEPT, 0, ls->id));
	}
	ur->lst[i].ud = sqe->user_data;
	ur->lst[i].on = true;
	ur->inflight++;
}

void
ur_listener_cancel(struct ur *ur, size_t i)
{
	if (!ur->lst[i].on || ur->lst[i].cancel)
		return;
	ur_cancel(ur, ur->lst[i].ud);
	ur->lst[i].cancel = true;
}

/* Listeners whose accept or poll ended, paused ones that rested: armed again. */
void
ur_listeners_arm(struct ur *ur)
{
	for (size_t i = 0; i < ur->cf->nls && !ur->stopping; i++) {
		if (ur->lst[i].paused != 0 && ur->cs.now_ms >= ur->lst[i].paused)
			ur->lst[i].paused = 0;
		if (!ur->lst[i].on && ur->lst[i].paused == 0 && !ur->lst[i].held)
			listener_arm(ur, i);
	}
}

static void
complete(struct ur *ur, uint64_t ud, int res, uint32_t flags)
{
	enum ur_kind k = (enum ur_kind)(ud >> 56);
	uint32_t gen = (uint32_t)(ud >> 32) & 0xffffff, idx = (uint32_t)ud;
	bool last = !(flags & IORING_CQE_F_MORE);

	if (k == UR_IGNORE)
		return;
	if (last)
		ur->inflight--;
	switch (k) {
	case UR_ACCEPT:
	case UR_DGPOLL: {
		/* idx is the listener's id: a reload may have moved it. */
		long i = ur_listener_index(ur, idx);

		if (i < 0) { /* one a reload closed: what it still took goes */
			if (k == UR_ACCEPT && gen == 0 && res >= 0)
				close(res);
			break;
		}
		if (last)
			ur->lst[i].on = ur->lst[i].cancel = false;
		if (k == UR_ACCEPT && gen == 1) {
			if (res > 0 && !ur->stopping && !ur->exiting)
				ur_out_of_fds(ur, (size_t)i);
		} else if (k == UR_ACCEPT) {
			ur_accepted(ur, (size_t)i, res);
		} else if (res > 0)
			ur->lst[i].ready = true;
		break;
	}
	case UR_SIG:
		ur->sig_on = !last;
		ur->signalled = true;
		break;
	case UR_TIMER:
		ur->timer_on = false;
		break;
	case UR_OUTPOLL: {
		struct service *svc = ur_service_by_uid(ur, idx);

		if (svc != NULL && svc->out_armed == gen)
			svc->out_armed = 0;
		break;
	}
	case UR_RECV:
	case UR_SEND:
		uc_complete(ur, k, gen, idx, res, flags);
		break;
	default:
		break;
	}
}

/* Completions that came, at most UR_CQE_BATCH. */
static void
reap(struct ur *ur)
{
	struct io_uring_cqe *cqe;

	for (int n = 0; n < UR_CQE_BATCH && io_uring_peek_cqe(&ur->ring, &cqe) == 0; n++) {
		uint64_t ud = cqe->user_data;
		int res = cqe->res;
		uint32_t flags = cqe->flags;

		io_uring_cqe_seen(&ur->ring, cqe);
		complete(ur, ud, res, flags);
	}
}

static void
sig_arm(struct ur *ur)
{
	struct io_uring_sqe *sqe;

	if (ur->sig_on || ur->exiting)
		return;
	sqe = ur_sqe(ur);
	io_uring_prep_poll_multishot(sqe, sig_fd(), POLLIN);
	io_uring_sqe_set_data64(sqe, ur_ud(UR_SIG, 0, 0));
	ur->sig_on = true;
	ur->inflight++;
}

/*
 * Idle expiry without a timeout on every wait: one timeout operation,
 * for when the least recently active connection times out rounded up to
 * a whole second, or a handler's deadline (exact) if sooner, armed again
 * only after it fired (the moment only moves later while it is armed, as
 * with the readiness loops' timerfd).
 */
static void
idle_timer(struct ur *ur)
{
	struct io_uring_sqe *sqe;
	long long due;

	if (ur->exiting || (due = conn_wake_due(&ur->cs)) < 0)
		return;
	if (ur->timer_on && due >= ur->timer_at)
		return;
	ur->tts.tv_sec = due / 1000;
	ur->tts.tv_nsec = due % 1000 * 1000000L;
	ur->timer_at = due;
	sqe = ur_sqe(ur);
	if (ur->timer_on) { /* a handler's deadline comes sooner */
		io_uring_prep_timeout_update(sqe, &ur->tts, ur_ud(UR_TIMER, 0, 0),
		    IORING_TIMEOUT_ABS);
		io_uring_sqe_set_data64(sqe, ur_ud(UR_IGNORE, 0, 0));
		return;
	}
	io_uring_prep_timeout(sqe, &ur->tts, 0, IORING_TIMEOUT_ABS);
	io_uring_sqe_set_data64(sqe, ur_ud(UR_TIMER, 0, 0));
	ur->timer_on = true;
	ur->inflight++;
}

static void
expire_idle(struct ur *ur)
{
	struct conn *c;

	while ((c = conn_idle_expired(&ur->cs)) != NULL) {
		struct uconn *u = ur_uc_at(ur, c->fd);

		conn_touch(&ur->cs, c); /* a closing one waits for its completions */
		if (u != NULL && u->end == UC_OPEN) {
			log_debug("closing idle connection on descriptor %d", c->fd);
			uc_close(ur, u, UC_CUT);
		}
	}
	while ((c = conn_timer_expired(&ur->cs)) != NULL) {
		struct uconn *u = ur_uc_at(ur, c->fd);

		if (u == NULL || u->end != UC_OPEN)
			continue;
		if (conn_timeout(&ur->cs, c) < 0)
			uc_close(ur, u, UC_CLOSE);
		else
			uc_settle(ur, u);
	}
}

/* Every open connection ends (the drain's deadline, the exit). */
static void
close_all(struct ur *ur, enum uc_end end)
{
	for (int fd = 0; fd <= ur->maxfd && fd < ur->ucsize && ur->cs.n > 0; fd++) {
		struct uconn *u = ur->uc[fd];
		if (u != NULL && u->end == UC_OPEN)
			uc_close(ur, u, end);
	}
}

/* SIGTERM: stop accepting; open connections get shutdown_timeout. */
static void
begin_stop(struct ur *ur)
{
	for (size_t i = 0; i < ur->cf->nls; i++)
		ur_listener_cancel(ur, i);
	/* The cancels go in (and their requests let go of the sockets)
	 * before the listeners close: the kernel refuses what comes next. */
	io_uring_submit_and_get_events(&ur->ring);
	ur->stopping = true;
	stop_deadline(&ur->deadline_ms, ur->cs.now_ms, ur->cs.n, ur->cf->shutdown_timeout);
	if (ur->deadline_ms != SIG_NO_DEADLINE) {
		net_close_all(ur->cf);
		return;
	}
	/* Replaced by a reload: the sockets close, the listeners stay known
	 * for the connections the accepts still bring (served, see accepted). */
	for (size_t i = 0; i < ur->cf->nls; i++) {
		if (ur->cf->ls[i].fd >= 0)
			close(ur->cf->ls[i].fd);
		ur->cf->ls[i].fd = -1;
	}
}

/* The wait: none while work is left, else until a completion, a paused
 * listener's rest or the drain's deadline. */
static int
ur_wait(struct ur *ur, bool busy)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts;
	long long due = ur->stopping && ur->deadline_ms != SIG_NO_DEADLINE ? ur->deadline_ms : -1;
	int r;

	for (size_t i = 0; i < ur->cf->nls && !ur->stopping; i++)
		if (ur->lst[i].paused > 0 && (due < 0 || ur->lst[i].paused < due))
			due = ur->lst[i].paused;
	if (busy || ur->held_ready || (due >= 0 && due <= ur->cs.now_ms))
		r = io_uring_submit_and_get_events(&ur->ring);
	else if (due < 0)
		r = io_uring_submit_and_wait(&ur->ring, 1);
	else {
		ts.tv_sec = (due - ur->cs.now_ms) / 1000;
		ts.tv_nsec = (due - ur->cs.now_ms) % 1000 * 1000000L;
		r = io_uring_submit_and_wait_timeout(&ur->ring, &cqe, 1, &ts, NULL);
	}
	if (r == -ETIME || r == -EINTR || r == -EBUSY || r == -EAGAIN)
		return 0;
	return r;
}

static int
ur_init(struct ur *ur, struct config *cf, char *err, size_t errlen)
{
	size_t nls = cf->nls + 1;

	ur->cf = cf;
	ur->cs.now_ms = sig_now_ms();
	ur->cs.idle_timeout_ms = cf->idle_timeout * 1000;
	ur->warn_accept = (struct log_rate)LOG_RATE_INIT(10);
	ur->warn_setsize = (struct log_rate)LOG_RATE_INIT(10);
	ur->dg.warn = (struct log_rate)LOG_RATE_INIT(10);
	if (ur_ring_setup(&ur->ring, UR_SQ_ENTRIES, UR_CQ_ENTRIES, err, errlen) < 0)
		return -1;
	ur->ring_ok = true;
	if (ur_bufs_setup(ur, err, errlen) < 0)
		return -1;
	ur->ucsize = model_fd_limit();
	ur->uc = calloc((size_t)ur->ucsize, sizeof(*ur->uc));
	ur->lst = calloc(nls, sizeof(*ur->lst));
	ur->cutbuf = malloc(UR_CUT_SIZE);
	if (ur->uc == NULL || ur->lst == NULL || ur->cutbuf == NULL) {
		ur_cause(err, errlen, "start", ENOMEM);
		return -1;
	}
	/* One thread serves everyone: handlers must never wait on an output. */
	handler_nowait = true;
	sig_arm(ur);
	ur_listeners_arm(ur);
	return 0;
}

/*
 * The end: every connection still open is cut without reading (only a
 * second stop signal or a failure leaves any), every operation cancelled,
 * and nothing is freed before its completion came: the kernel may still
 * read or write the memory an operation names until then.
 */
static void
ur_fini(struct ur *ur)
{
	long long until;

	handler_nowait = false;
	if (ur->ring_ok) {
		ur->exiting = true;
		close_all(ur, UC_CUT);
		for (size_t i = 0; ur->lst != NULL && i < ur->cf->nls; i++)
			ur_listener_cancel(ur, i);
		if (ur->sig_on)
			ur_cancel(ur, ur_ud(UR_SIG, 0, 0));
		if (ur->timer_on)
			ur_cancel(ur, ur_ud(UR_TIMER, 0, 0));
		RELOAD_EACH_SVC(ur->cf, c, i)
		if (c->svcs[i].out_armed != 0)
			ur_cancel(ur, ur_ud(UR_OUTPOLL, c->svcs[i].out_armed, c->svcs[i].uid));
		until = sig_now_ms() + 5000;
		while (ur->inflight > 0 && sig_now_ms() < until) {
			struct io_uring_cqe *cqe;
			struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 100000000L };
			io_uring_submit_and_wait_timeout(&ur->ring, &cqe, 1, &ts, NULL);
			reap(ur);
		}
		if (ur->inflight > 0) {
			/* Never: leave the memory to the exit rather than to the kernel. */
			log_warnx("io_uring: %ld operation%s still in flight at exit", ur->inflight,
			    ur->inflight == 1 ? "" : "s");
			return;
		}
		io_uring_queue_exit(&ur->ring);
	}
	if (ur->bufs != NULL)
		munmap(ur->bufs, (size_t)UR_BUF_COUNT * UR_BUF_SIZE);
	if (ur->br != NULL)
		munmap(ur->br, UR_BUF_COUNT * sizeof(struct io_uring_buf));
	free(ur->uc);
	free(ur->lst);
	free(ur->cutbuf);
	dgram_batch_free(&ur->dg);
}

/* The signal flags acted on; -1 on a second stop signal: exit now. */
static int
ur_signals(struct ur *ur)
{
	bool hup = sig_hup;
	int stop = model_signals(ur->cf);

	/* The outputs were reopened: a poll in flight may name the file
	 * closed, under the same number as the new one.  Polled afresh. */
	if (hup)
		RELOAD_EACH_SVC(ur->cf, c, i)
		{
			struct service *svc = &c->svcs[i];

			if (svc->out_armed != 0)
				ur_cancel(ur, ur_ud(UR_OUTPOLL, svc->out_armed, svc->uid));
			svc->out_armed = 0;
			svc->out_fd = -1;
		}

	if (stop >= 2) {
		log_info("second stop signal: exiting now, dropping %ld connection%s", ur->cs.n,
		    ur->cs.n == 1 ? "" : "s");
		return -1;
	}
	if ((stop || sig_retire) && !ur->stopping)
		begin_stop(ur);
	else if (stop && ur->deadline_ms == SIG_NO_DEADLINE) /* retired, now stopped */
		stop_deadline(&ur->deadline_ms, ur->cs.now_ms, ur->cs.n, ur->cf->shutdown_timeout);
	return 0;
}

static int
ur_run(struct config *cf)
{
	struct ur ur;
	char err[256];
	int status = 0;
	bool busy = false;

	memset(&ur, 0, sizeof(ur));
	if (ur_init(&ur, cf, err, sizeof(err)) < 0) {
		log_errx("%s", err);
		ur_fini(&ur);
		return 1;
	}
	for (;;) {
		/* Stopped: once the connections are done and the handlers'
		 * outputs took what was queued for them, or at the deadline. */
		if (ur.stopping && ur.cs.n == 0 &&
		    (ur.nwatched == 0 || ur.cs.now_ms >= ur.deadline_ms))
			break;
		int r = ur_wait(&ur, busy);
		if (r < 0) {
			log_errx("io_uring: wait: %s", strerror(-r));
			status = 1;
			break;
		}
		ur.cs.now_ms = sig_now_ms();
		/* Signals before what completed: connections accepted after a
		 * SIGHUP (a worker's forwarded one) write to the reopened
		 * outputs.  The flags, as the pipe's read may complete later. */
		ur.signalled = sig_hup || sig_usr1 || sig_chld ||
		    ((sig_stop || sig_retire) && !ur.stopping);
		if (ur.signalled && ur_signals(&ur) < 0)
			break;
		ur.signalled = false;
		reap(&ur);
		if (ur.signalled && ur_signals(&ur) < 0)
			break;
		struct config *ncf = model_reload_pending();
		if (ncf != NULL && (ur.stopping || ur_reload(&ur, ncf) < 0))
			reload_abandon(ncf);
		expire_idle(&ur);
		if (ur.stopping && ur.cs.now_ms >= ur.deadline_ms) {
			handler_nowait = false; /* as loop.c does at the cut */
			close_all(&ur, UC_CUT_READ);
		}
		uc_unstarve(&ur);
		busy = ur_datagrams_all(&ur);
		ur_outputs(&ur);
		ur_listeners_arm(&ur);
		sig_arm(&ur);
		idle_timer(&ur);
	}
	ur_fini(&ur);
	return status;
}

const struct model model_io_uring = {
	.name = "io_uring",
	.summary = "one thread, a completion loop on io_uring(7): multishot accept and receive",
	.run = ur_run,
	.workers = true,
	.probe = ur_probe,
};
