/* serve.c - the blocking serve-a-connection routine and the blocking accept loop. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../access.h"
#include "../admit.h"
#include "../conf.h"
#include "../handler.h"
#include "../log.h"
#include "../model.h"
#include "../net.h"
#include "../sig.h"
#include "../sink.h"
#include "../stats.h"
#include "serve.h"

/*
 * Reads start in a buffer on the stack, small enough for the thread
 * model's stacks; a connection whose read fills it is streaming, and
 * switches to a heap buffer as large as the readiness loop's, so bulk
 * costs a few system calls per MiB rather than 64.  Connections that only
 * exchange small messages never allocate it.
 */
#define SERVE_READ_SIZE (32 * 1024)
#define SERVE_STREAM_READ_SIZE (256 * 1024)

bool serve_handles_signals = true;
bool serve_blocking_reads = false;

/* After an unexpected accept error the listener rests this long. */
#define SERVE_ACCEPT_PAUSE_MS 1000

static struct pollfd *accept_pfds;
static long long *accept_paused;	/* per listener: resting until (ms), 0 if not */
static size_t accept_next;	/* round robin over ready listeners */
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

int
serve_accept(struct config *cf, long (*active)(void), struct client *c)
{
	size_t n = cf->nls + 1;

	if (accept_pfds == NULL) {
		accept_pfds = calloc(n, sizeof(*accept_pfds));
		accept_paused = calloc(n, sizeof(*accept_paused));
		if (accept_pfds == NULL || accept_paused == NULL)
			return -1;
		accept_pfds[0].fd = sig_fd();
		for (size_t i = 0; i < cf->nls; i++)
			accept_pfds[i + 1].fd = cf->ls[i].fd;
		for (size_t i = 0; i < n; i++)
			accept_pfds[i].events = POLLIN;
	}
	for (;;) {
		if (sig_stop || sig_hup || sig_usr1 || sig_chld)
			return 0;
		if (poll(accept_pfds, (nfds_t)n, accept_resume(cf)) < 0) {
			if (errno == EINTR)
				return 0;
			log_err("poll");
			return -1;
		}
		if (accept_pfds[0].revents)
			return 0;
		for (size_t k = 0; k < cf->nls; k++) {
			size_t i = (accept_next + k) % cf->nls;
			struct listener *ls = &cf->ls[i];
			if (accept_pfds[i + 1].revents == 0)
				continue;
			int fd = net_accept(ls->fd, &c->peer, 0);
			if (fd < 0) {
				if (errno == EMFILE || errno == ENFILE) {
					admit_refuse(ls, -1, REFUSE_NO_FDS);
					/* Nothing shed it: still pending, rest a while. */
					if (!net_spare_ready()) {
						accept_paused[i] = sig_now_ms() + SERVE_ACCEPT_PAUSE_MS;
						accept_pfds[i + 1].fd = -1;
					}
				} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				    errno != ECONNABORTED && errno != EPROTO && errno != EPERM) {
					/* ENOBUFS, ENOMEM, a listener shut down from
					 * outside: it stays readable, so it rests
					 * instead of spinning. */
					if (log_rate_ok(&warn_accept))
						log_warn("%s: accept (not accepting for %d ms)",
						    ls->addr, SERVE_ACCEPT_PAUSE_MS);
					accept_paused[i] = sig_now_ms() + SERVE_ACCEPT_PAUSE_MS;
					accept_pfds[i + 1].fd = -1;
				}
				continue;
			}
			if (admit_take(ls, fd, &c->peer, active != NULL ? active() : -1,
				cf->max_clients) != REFUSE_NONE)
				continue;
			accept_next = i + 1;
			c->fd = fd;
			c->svc = ls->svc;
			return 1;
		}
	}
}

void
serve_release(struct client *c)
{
	admit_release(c->svc, (struct sockaddr *)&c->peer.sa, c->peer.salen);
}

void
serve_accept_fini(void)
{
	free(accept_pfds);
	free(accept_paused);
	accept_pfds = NULL;
	accept_paused = NULL;
}

/* One connection's progress through serve(). */
struct session {
	struct config *cf;
	struct client *c;
	const struct handler *h;
	void *st;
	struct sink out;
	long long deadline_ms;	/* drain deadline once stopping, else -1 */
	const char *rest;	/* read but not yet consumed by the handler */
	size_t rest_len;
	bool eof_done;
	bool timed_out;
};

/* Sets SO_RCVTIMEO (and SO_SNDTIMEO with both) to ms; 0 waits forever. */
static void
set_timeouts(struct session *s, long long ms, bool both)
{
	struct timeval tv = {
		.tv_sec = (time_t)(ms / 1000),
		.tv_usec = (suseconds_t)(ms % 1000 * 1000),
	};

	if (setsockopt(s->c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    (both && setsockopt(s->c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0))
		log_warn("%s: cannot set socket timeouts", s->c->peer.text);
}

/*
 * Acts on the signal flags (SIGHUP reopens, a first stop starts the drain
 * deadline).  0 to go on, -1 when the connection must end now (a second
 * stop signal, or the fork parent's cut).
 */
static int
take_signals(struct session *s)
{
	if (!(sig_stop || sig_hup || sig_usr1))
		return 0;
	int stop = model_signals(s->cf);
	if (stop >= 2)
		return -1;
	if (stop && s->deadline_ms < 0) {
		long long left = s->cf->shutdown_timeout * 1000;

		s->deadline_ms = sig_now_ms() + left;
		/* A blocking read must end at the deadline too. */
		if (serve_blocking_reads && left > 0 &&
		    (s->cf->idle_timeout <= 0 || left < s->cf->idle_timeout * 1000))
			set_timeouts(s, left, false);
	}
	return 0;
}

/*
 * Where signals interrupt this process (iterative, fork children) a
 * signal that lands between two system calls would only be seen after the
 * next blocking call returns, maybe never.  So every wait is a poll on the
 * client and the signal pipe, with the idle timeout or the drain deadline
 * as its timeout.  Returns 1 when fd is ready, 0 on timeout (timed_out
 * set), -1 when the connection must end now.
 */
static int
wait_ready(struct session *s, short events)
{
	struct pollfd pfd[2] = {
		{ .fd = s->c->fd, .events = events },
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
		/* idle_timeout may be a year: poll takes an int of ms, so a
		 * long wait is taken a day at a time. */
		timeout = due < 0 ? -1 : due <= now ? 0 :
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
			s->timed_out = true;
			return 0;
		}
		if (pfd[0].revents)
			return 1;
		sig_drain();	/* the flags are looked at above */
	}
}

/* Sends every pending reply. 0, or -1 when the client is gone or stuck. */
static int
flush(struct session *s)
{
	int flags = MSG_NOSIGNAL | (serve_handles_signals ? MSG_DONTWAIT : 0);

	/* Lent bytes point into the caller's read buffer, which stays
	 * untouched until this returns: every pending byte is sent or the
	 * connection ends. */
	while (sink_pending(&s->out) > 0) {
		ssize_t n = send(s->c->fd, sink_peek(&s->out), sink_pending(&s->out), flags);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			if (!serve_handles_signals) {
				s->timed_out = true;	/* SO_SNDTIMEO */
				return -1;
			}
			if (wait_ready(s, POLLOUT) <= 0)
				return -1;
			continue;
		}
		stats_add(&s->c->svc->stats->bytes_out, (unsigned long long)n);
		sink_consume(&s->out, (size_t)n);
	}
	return 0;
}

/*
 * Hands p[0..n) to the handler, sending whenever the sink fills.  What
 * it has not consumed when sending fails stays noted in s->rest, so that
 * a cut can still hand it over.
 */
static int
feed(struct session *s, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t used = s->h->data(s->st, p, n, &s->out);
		if (used < 0)
			return -1;
		p += used;
		n -= (size_t)used;
		s->rest = p;
		s->rest_len = n;
		if (flush(s) < 0)
			return -1;
	}
	s->rest_len = 0;
	return 0;
}

/* Hands p[0..n) to the handler with every reply dropped. 0 or -1. */
static int
feed_dropping(struct session *s, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t used = s->h->data(s->st, p, n, &s->out);
		sink_clear(&s->out);
		if (used < 0)
			return -1;
		p += used;
		n -= (size_t)used;
	}
	return 0;
}

/*
 * The connection is cut (the drain deadline, a second stop signal, the
 * thread model's shutdown, idle expiry): what the client already sent is
 * handed to the handler, replies dropped, so the logger records every
 * line received in order and without a gap.  First the rest of the last
 * read (it lives in rbuf, so before anything is read into it), then, with
 * read_more, what still waits in the socket (up to 64 reads).
 */
static void
drain_rest(struct session *s, char *rbuf, size_t rsize, bool read_more)
{
	sink_clear(&s->out);	/* lent bytes may point into rbuf */
	if (s->rest_len > 0 && feed_dropping(s, s->rest, s->rest_len) < 0)
		return;
	s->rest_len = 0;
	for (int i = 0; read_more && i < 64; i++) {
		ssize_t n = recv(s->c->fd, rbuf, rsize, MSG_DONTWAIT);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		if (feed_dropping(s, rbuf, (size_t)n) < 0)
			return;
	}
	s->h->eof(s->st, &s->out);
	sink_clear(&s->out);
}

/*
 * One round for a handler that produces without input (chargen): what
 * the client sent meanwhile is read without waiting and handed over, then
 * more() fills the sink and flush() sends it, waiting for room as any
 * reply does (idle_timeout, signals, the thread model's shutdown).  The
 * client's half-close does not end it; a failed send does.  0 or -1.
 */
static int
produce(struct session *s, char *rbuf, size_t rsize)
{
	if (serve_handles_signals && take_signals(s) < 0)
		return -1;
	if (s->deadline_ms >= 0 && sig_now_ms() >= s->deadline_ms) {
		s->timed_out = true;
		return -1;
	}
	while (!s->eof_done) {
		ssize_t n = recv(s->c->fd, rbuf, rsize, MSG_DONTWAIT);
		if (n > 0) {
			stats_add(&s->c->svc->stats->bytes_in, (unsigned long long)n);
			if (feed(s, rbuf, (size_t)n) < 0)
				return -1;
		} else if (n == 0) {
			s->eof_done = true;
			if (s->h->eof(s->st, &s->out) < 0 || flush(s) < 0)
				return -1;
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else {
			return -1;
		}
	}
	if (s->h->more(s->st, &s->out) < 0 || flush(s) < 0)
		return -1;
	return 0;
}

void
serve(struct config *cf, struct client *c)
{
	struct session s = { .cf = cf, .c = c, .h = c->svc->handler, .deadline_ms = -1 };
	char sbuf[SERVE_READ_SIZE], *rbuf = sbuf, *big = NULL;
	size_t rsize = sizeof(sbuf);
	struct svc_stats *stats = c->svc->stats;

	s.out.cap = (size_t)cf->max_pending;
	if (s.h->state_size && (s.st = calloc(1, s.h->state_size)) == NULL) {
		log_warn("%s: cannot serve", c->peer.text);
		return;
	}
	/* Thread workers block in read and send: their signals go to the main
	 * thread, which ends stuck connections with shutdown(2). */
	if (!serve_handles_signals && cf->idle_timeout > 0)
		set_timeouts(&s, cf->idle_timeout * 1000, true);
	else if (serve_blocking_reads && cf->idle_timeout > 0)
		set_timeouts(&s, cf->idle_timeout * 1000, false);
	log_debug("connection from %s", c->peer.text);
	if (s.h->open(s.st, c->svc, &c->peer, &s.out) < 0 || flush(&s) < 0)
		goto done;
	for (;;) {
		bool cut = false;

		if (s.out.close_after) {
			net_end_gently(c->fd);	/* the handler said all; flushed */
			break;
		}
		if (s.out.more && s.h->more != NULL) {
			if (produce(&s, rbuf, rsize) < 0)
				break;
			continue;
		}
		if (serve_blocking_reads) {
			if (take_signals(&s) < 0)
				break;
			if (s.deadline_ms >= 0 && sig_now_ms() >= s.deadline_ms) {
				s.timed_out = true;
				break;
			}
		} else if (serve_handles_signals && wait_ready(&s, POLLIN) <= 0) {
			break;
		}
		ssize_t n = read(c->fd, rbuf, rsize);
		if (n > 0) {
			stats_add(&stats->bytes_in, (unsigned long long)n);
			/* A signal that came just before the read blocked is acted
			 * on before the handler writes (SIGHUP: the new file). */
			if (serve_blocking_reads)
				cut = take_signals(&s) < 0;
			if (feed(&s, rbuf, (size_t)n) < 0 || cut)
				break;
			/* Without memory the stack buffer just goes on serving. */
			if ((size_t)n == rsize && big == NULL &&
			    (big = malloc(SERVE_STREAM_READ_SIZE)) != NULL) {
				rbuf = big;
				rsize = SERVE_STREAM_READ_SIZE;
			}
		} else if (n == 0) {
			s.eof_done = true;
			if (s.h->eof(s.st, &s.out) < 0 || flush(&s) < 0 || !s.out.more)
				break;
			/* A producing handler goes on after the half-close. */
		} else if (errno != EINTR) {
			s.timed_out = errno == EAGAIN || errno == EWOULDBLOCK;
			break;
		}
	}
	/* Cut off (the drain deadline while waiting to read or stuck writing,
	 * a second signal, the thread model's shutdown): what the client sent
	 * is still handed to the handler.  Idle expiry hands over what was
	 * read.  A client that went away (reset) takes nothing more. */
	if (!s.eof_done && (sig_cut_due() ||
	    (s.timed_out && s.deadline_ms >= 0 && sig_now_ms() >= s.deadline_ms))) {
		drain_rest(&s, rbuf, rsize, true);
	} else if (s.timed_out) {
		log_debug("%s: idle for %lds, closing", c->peer.text, cf->idle_timeout);
		if (!s.eof_done)
			drain_rest(&s, rbuf, rsize, false);
	}
done:
	s.h->close(s.st);
	free(s.st);
	free(big);
	sink_clear(&s.out);
}
