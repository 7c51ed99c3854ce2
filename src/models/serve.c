/* serve.c - one connection served to its end with blocking I/O, through the connection core. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../conf.h"
#include "../conn.h"
#include "../dgram.h"
#include "../handler.h"
#include "../log.h"
#include "../model.h"
#include "../net.h"
#include "../sig.h"
#include "../sink.h"
#include "../stats.h"
#include "blocking.h"

/*
 * Reads start in a buffer on the stack, small enough for the thread
 * model's stacks; a connection whose read fills it is streaming, and
 * switches to a heap buffer as large as the readiness loop's, so bulk
 * costs a few system calls per MiB rather than 64.  Connections that only
 * exchange small messages never allocate it.
 */
#define SERVE_READ_SIZE        (32 * 1024)
#define SERVE_STREAM_READ_SIZE (256 * 1024)

/* One connection's progress through serve(). */
struct session {
	struct config *cf;
	struct client *cl;
	struct conn *c;
	enum serve_wait wait;
	long long deadline_ms; /* drain deadline once stopping, else -1 */
	long long rcvtimeo_ms; /* SO_RCVTIMEO as set, 0: none */
	int fl;                /* the socket's file status flags, -1 unknown */
	bool timed_out;
	bool timer_due; /* the handler's deadline (sink_timer) passed */
};

/* Sets SO_RCVTIMEO (or SO_SNDTIMEO with send) to ms; 0 waits forever. */
static void
set_timeouts(struct session *s, long long ms, bool send)
{
	struct timeval tv = {
		.tv_sec = (time_t)(ms / 1000),
		.tv_usec = (suseconds_t)(ms % 1000 * 1000),
	};

	if (setsockopt(s->cl->fd, SOL_SOCKET, send ? SO_SNDTIMEO : SO_RCVTIMEO, &tv, sizeof(tv)) <
	    0)
		log_warn("%s: cannot set socket timeouts", s->cl->peer.text);
	else if (!send)
		s->rcvtimeo_ms = ms;
}

/* Whether the handler's deadline (sink_timer) has passed. */
static bool
timer_passed(struct session *s)
{
	/* SO_RCVTIMEO counts in jiffies: a wait may end a tick early. */
	if ((s->c->flags & CONN_TIMED) && sig_now_ms() + 10 >= s->c->due_ms)
		s->timer_due = true;
	return s->timer_due;
}

/*
 * Before a blocking read: SO_RCVTIMEO is a per-read inactivity timeout,
 * so with a deadline (the handler's, the drain's) it is set to what is
 * left of it, again when that is a second shorter than what is set; a
 * deadline that is renewed per request (keep-alive) costs no system call.
 */
static void
read_timeout(struct session *s)
{
	long long want = s->cf->idle_timeout * 1000, now = sig_now_ms();
	long long dues[2] = { s->c->flags & CONN_TIMED ? s->c->due_ms : -1, s->deadline_ms };

	for (int i = 0; i < 2; i++) {
		if (dues[i] < 0)
			continue;
		long long left = dues[i] - now > 0 ? dues[i] - now : 1;
		if (want <= 0 || left < want)
			want = left;
	}
	if (want == s->rcvtimeo_ms ||
	    (want > 0 && s->rcvtimeo_ms > 0 && want <= s->rcvtimeo_ms &&
	        want > s->rcvtimeo_ms - 1000))
		return;
	set_timeouts(s, want, false);
}

/*
 * Acts on the signal flags (SIGHUP reopens, a first stop starts the drain
 * deadline) where signals land in this thread.  0 to go on, -1 when the
 * connection must end now (a second stop signal, or the fork parent's
 * cut) or the drain deadline passed.
 */
static int
take_signals(struct session *s)
{
	if (s->wait == SERVE_WORKER)
		return 0; /* the main thread ends it with shutdown(2) */
	if (sig_stop || sig_hup || sig_usr1) {
		int stop = model_signals(s->cf);
		if (stop >= 2)
			return -1;
		if (stop && s->deadline_ms < 0) {
			long long left = s->cf->shutdown_timeout * 1000;

			s->deadline_ms = sig_now_ms() + left;
			/* A blocking read must end at the deadline too. */
			if (s->wait == SERVE_READ && left > 0 &&
			    (s->cf->idle_timeout <= 0 || left < s->cf->idle_timeout * 1000))
				set_timeouts(s, left, false);
		}
	}
	if (s->deadline_ms >= 0 && sig_now_ms() >= s->deadline_ms) {
		s->timed_out = true;
		return -1;
	}
	return 0;
}

/*
 * Where signals interrupt this thread (SERVE_POLL) a signal that lands
 * between two system calls would only be seen after the next blocking
 * call returns, maybe never.  So every wait is a poll on the client and
 * the signal pipe, with the idle timeout or the drain deadline as its
 * timeout.  Returns 1 when fd is ready, 0 on timeout (timed_out set), -1
 * when the connection must end now.
 */
static int
wait_ready(struct session *s, short events)
{
	struct pollfd pfd[2] = {
		{ .fd = s->cl->fd, .events = events },
		{ .fd = sig_fd(), .events = POLLIN },
	};

	for (;;) {
		long long due = -1, now;
		int timeout;

		if (take_signals(s) < 0)
			return -1;
		now = sig_now_ms();
		if (s->cf->idle_timeout > 0)
			due = now + s->cf->idle_timeout * 1000;
		if (s->deadline_ms >= 0 && (due < 0 || s->deadline_ms < due))
			due = s->deadline_ms;
		if ((s->c->flags & CONN_TIMED) && (due < 0 || s->c->due_ms < due))
			due = s->c->due_ms;
		/* idle_timeout may be a year: poll takes an int of ms, so a
		 * long wait is taken a day at a time. */
		timeout = due < 0 ? -1 :
		    due <= now    ? 0 :
		                    (int)(due - now > 86400000 ? 86400000 : due - now);
		int n = poll(pfd, 2, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0 && sig_now_ms() < due)
			continue;
		if (n == 0) {
			if (!timer_passed(s))
				s->timed_out = true;
			return 0;
		}
		if (pfd[0].revents)
			return 1;
		sig_drain(); /* the flags are looked at above */
	}
}

/*
 * The file range after the pending bytes.  Where the socket blocks and
 * has no send timeout (all waits but the worker's) it is non-blocking
 * while the range is sent, so a slow client is waited for in poll, with
 * the signals and deadlines, never inside sendfile.  0 or -1.
 */
static int
flush_file(struct session *s)
{
	struct conn *c = s->c;
	int r = 0;

	if (sink_file_pending(&c->out) == 0)
		return 0;
	if (s->wait != SERVE_WORKER &&
	    ((s->fl < 0 && (s->fl = fcntl(c->fd, F_GETFL)) < 0) ||
	        fcntl(c->fd, F_SETFL, s->fl | O_NONBLOCK) < 0))
		return -1;
	while (sink_file_pending(&c->out) > 0) {
		ssize_t n = sink_sendfile(&c->out, c->fd, SINK_FILE_CHUNK);
		if (n >= 0) {
			conn_sent_file(NULL, c, (size_t)n);
			continue;
		}
		if (errno == EAGAIN && s->wait == SERVE_WORKER)
			s->timed_out = true; /* SO_SNDTIMEO */
		if (errno != EAGAIN || s->wait == SERVE_WORKER || wait_ready(s, POLLOUT) <= 0) {
			r = -1;
			break;
		}
	}
	if (s->wait != SERVE_WORKER && fcntl(c->fd, F_SETFL, s->fl) < 0)
		r = -1;
	return r;
}

/* Sends every pending reply. 0, or -1 when the client is gone or stuck. */
static int
flush(struct session *s)
{
	struct conn *c = s->c;
	int flags = MSG_NOSIGNAL | (s->wait == SERVE_WORKER ? 0 : MSG_DONTWAIT) |
	    sink_send_more(&c->out);

	/* Lent bytes point into the read buffer, which stays untouched until
	 * this returns: every pending byte is sent or the connection ends. */
	while (sink_pending(&c->out) > 0) {
		ssize_t n = send(c->fd, sink_peek(&c->out), sink_pending(&c->out), flags);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			if (s->wait == SERVE_WORKER) {
				s->timed_out = true; /* SO_SNDTIMEO */
				return -1;
			}
			if (wait_ready(s, POLLOUT) <= 0)
				return -1;
			continue;
		}
		conn_sent(NULL, c, (size_t)n);
	}
	return flush_file(s);
}

/*
 * For a handler that produces without input (chargen): what the client
 * sent meanwhile is read without waiting and handed over (in order: only
 * while nothing is kept), so its half-close is seen; more() is called by
 * conn_settle, and flush() waits for room as any reply does.  0 or -1.
 */
static int
read_meanwhile(struct session *s, char *rbuf, size_t rsize)
{
	struct conn *c = s->c;

	if (take_signals(s) < 0)
		return -1;
	while (!(c->flags & CONN_RD_EOF) && c->in.len == 0 && !sink_full(&c->out)) {
		ssize_t n = recv(c->fd, rbuf, rsize, MSG_DONTWAIT);
		if (n > 0) {
			/* The next recv overwrites rbuf: keep lent replies. */
			if (conn_input(NULL, c, rbuf, (size_t)n) < 0 || sink_keep(&c->out) < 0)
				return -1;
		} else if (n == 0) {
			conn_input_end(c);
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

void
serve(struct config *cf, struct client *cl, enum serve_wait wait)
{
	struct session s = { .cf = cf, .cl = cl, .wait = wait, .deadline_ms = -1, .fl = -1 };
	char sbuf[SERVE_READ_SIZE], *rbuf = sbuf, *big = NULL;
	size_t rsize = sizeof(sbuf);
	struct conn *c;

	if ((c = conn_new(NULL, cl->svc, cl->fd, &cl->peer, cf->max_pending)) == NULL) {
		log_warn("%s: cannot serve", cl->peer.text);
		return;
	}
	s.c = c;
	/* The worker's send timeout is set once; receive timeouts are set
	 * before the first blocking read (read_timeout), with the handler's
	 * deadline folded in, so a connection costs one setsockopt for them. */
	if (cf->idle_timeout > 0 && wait == SERVE_WORKER)
		set_timeouts(&s, cf->idle_timeout * 1000, true);
	log_debug("connection from %s", cl->peer.text);
	if (conn_start(c, &cl->peer) < 0)
		goto done;
	for (;;) {
		size_t kept = c->in.len, queued;
		bool sent_file;

		/* Feed what is kept, the end of stream, more(); send it all
		 * (within the deadline the handler set meanwhile, not an
		 * earlier one it replaced). */
		if (conn_settle(c) < 0)
			break;
		if (c->out.timer_req)
			conn_timer_take(NULL, c, sig_now_ms());
		queued = sink_pending(&c->out);
		sent_file = sink_file_pending(&c->out) > 0;
		if (flush(&s) < 0)
			break;
		enum conn_end end = conn_done(c);
		if (end == CONN_CLOSE_GENTLY)
			net_end_gently(c->fd); /* the handler said all; flushed */
		if (end != CONN_GOING)
			break;
		if (c->in.len > 0) {
			if (c->in.len == kept && queued == 0 && !sent_file)
				break; /* no progress: the handler broke its contract */
			continue;
		}
		if (c->out.timer_req)
			conn_timer_take(NULL, c, sig_now_ms());
		if (s.timer_due || timer_passed(&s)) {
			s.timer_due = false;
			if (conn_timeout(NULL, c) < 0)
				break;
			continue; /* its last word is sent, then it closes */
		}
		if (conn_producing(c)) {
			if (read_meanwhile(&s, rbuf, rsize) < 0)
				break;
			continue;
		}
		if (c->flags & CONN_RD_EOF)
			break; /* nothing left to wait for */
		if (wait == SERVE_POLL) {
			int r = wait_ready(&s, POLLIN);
			if (r == 0 && s.timer_due)
				continue;
			if (r <= 0)
				break;
		} else if (take_signals(&s) < 0) {
			break;
		} else {
			read_timeout(&s);
		}
		ssize_t n = read(c->fd, rbuf, rsize);
		if (n > 0) {
			/* A signal that came just before the read blocked is acted
			 * on before the handler writes (SIGHUP: the new file); a
			 * cut still hands this input over. */
			bool cut = wait == SERVE_READ && take_signals(&s) < 0;
			if (conn_input(NULL, c, rbuf, (size_t)n) < 0)
				break;
			if (cut) {
				sink_clear(&c->out);
				break;
			}
			/* Without memory the stack buffer just goes on serving
			 * (lent replies still point into it: it stays). */
			if ((size_t)n == rsize && big == NULL &&
			    (big = malloc(SERVE_STREAM_READ_SIZE)) != NULL) {
				rbuf = big;
				rsize = SERVE_STREAM_READ_SIZE;
			}
		} else if (n == 0) {
			conn_input_end(c);
		} else if ((errno == EAGAIN || errno == EWOULDBLOCK) && timer_passed(&s)) {
			continue;
		} else if (errno != EINTR) {
			s.timed_out = errno == EAGAIN || errno == EWOULDBLOCK;
			break;
		}
	}
	/* Cut off (the drain deadline while waiting to read or stuck writing,
	 * a second signal, the thread model's shutdown): what the client sent
	 * is still handed to the handler.  Idle expiry hands over what was
	 * read.  A client that went away (reset) takes nothing more. */
	if (!(c->flags & CONN_EOF_DONE) &&
	    (sig_cut_due() ||
	        (s.timed_out && s.deadline_ms >= 0 && sig_now_ms() >= s.deadline_ms))) {
		conn_cut(c, c->fd, rbuf, rsize);
	} else if (s.timed_out) {
		log_debug("%s: idle for %lds, closing", cl->peer.text, cf->idle_timeout);
		conn_cut(c, -1, rbuf, rsize);
	}
done:
	conn_free(NULL, c);
	free(big);
}

void
serve_datagram(struct listener *ls, const struct dgram_msg *m)
{
	struct dgram_reply r = { 0 };
	size_t n = dgram_answer(ls, m, &r), sent = 0, off = 0;

	for (size_t i = 0; i < n; i++) {
		if (dgram_send(ls->fd, m, r.buf + off, r.lens[i]) == 0)
			sent++;
		off += r.lens[i];
	}
	if (n > 0)
		dgram_sent(ls->svc, sent, n - sent);
	dgram_reply_free(&r);
}
