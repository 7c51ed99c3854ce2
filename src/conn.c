/* conn.c - the connection core: feed the handler, account what is sent, idle and held lists, the cut. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "access.h"
#include "conf.h"
#include "conn.h"
#include "conn_int.h"
#include "handler.h"
#include "log.h"
#include "net.h"
#include "stats.h"

void *
conn_state(struct conn *c)
{
	return c->svc->handler->state_size ? (void *)(c + 1) : NULL;
}

long long
conn_wake_due(const struct conns *cs)
{
	long long due = -1;

	if (cs->idle_timeout_ms > 0 && cs->idle_head != NULL)
		due = (cs->idle_head->active_ms + cs->idle_timeout_ms + 999) / 1000 * 1000;
	if (cs->timer_head != NULL && (due < 0 || cs->timer_head->due_ms < due))
		due = cs->timer_head->due_ms;
	return due;
}

static void
idle_unlink(struct conns *cs, struct conn *c)
{
	if (c->prev == NULL && cs->idle_head != c)
		return; /* not in the list */
	if (c->prev)
		c->prev->next = c->next;
	else
		cs->idle_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		cs->idle_tail = c->prev;
	c->prev = c->next = NULL;
}

/* The connection moves to the tail of the idle list, so the head is always
 * the next to time out.  The time is the driver's wake-up: a timeout of
 * seconds does not need a clock read per read and write. */
void
conn_touch(struct conns *cs, struct conn *c)
{
	if (cs == NULL || cs->idle_timeout_ms <= 0)
		return;
	c->active_ms = cs->now_ms;
	if (cs->idle_tail == c)
		return;
	idle_unlink(cs, c);
	c->prev = cs->idle_tail;
	if (cs->idle_tail)
		cs->idle_tail->next = c;
	else
		cs->idle_head = c;
	cs->idle_tail = c;
}

long long
conn_idle_due(const struct conns *cs)
{
	long long due = -1;

	if (cs->idle_timeout_ms > 0 && cs->idle_head != NULL)
		due = cs->idle_head->active_ms + cs->idle_timeout_ms;
	if (cs->timer_head != NULL && (due < 0 || cs->timer_head->due_ms < due))
		due = cs->timer_head->due_ms;
	return due;
}

void
conn_timer_unlink(struct conns *cs, struct conn *c)
{
	if (!(c->flags & CONN_TIMED))
		return;
	c->flags &= ~CONN_TIMED;
	if (cs == NULL)
		return;
	if (c->tprev)
		c->tprev->tnext = c->tnext;
	else
		cs->timer_head = c->tnext;
	if (c->tnext)
		c->tnext->tprev = c->tprev;
	else
		cs->timer_tail = c->tprev;
	c->tprev = c->tnext = NULL;
}

/* Deadlines are mostly now plus one service's timeout, so a new one
 * almost always goes at the tail: the search starts there. */
void
conn_timer_take(struct conns *cs, struct conn *c, long long now_ms)
{
	struct conn *after;

	if (!c->out.timer_req)
		return;
	c->out.timer_req = false;
	conn_timer_unlink(cs, c);
	if (c->out.timer_ms <= 0)
		return;
	c->due_ms = now_ms + c->out.timer_ms;
	c->flags |= CONN_TIMED;
	if (cs == NULL)
		return;
	for (after = cs->timer_tail; after != NULL && after->due_ms > c->due_ms;
	     after = after->tprev)
		;
	c->tprev = after;
	c->tnext = after ? after->tnext : cs->timer_head;
	if (c->tnext)
		c->tnext->tprev = c;
	else
		cs->timer_tail = c;
	if (after)
		after->tnext = c;
	else
		cs->timer_head = c;
}

struct conn *
conn_timer_expired(struct conns *cs)
{
	struct conn *c = cs->timer_head;

	if (c == NULL || c->due_ms > cs->now_ms)
		return NULL;
	conn_timer_unlink(cs, c);
	return c;
}

int
conn_timeout(struct conns *cs, struct conn *c)
{
	const struct handler *h = c->svc->handler;

	conn_timer_unlink(cs, c);
	if (c->flags & CONN_PROXY)
		return conn_proxy_refuse(c, REFUSE_PROXY, NULL,
		    "no PROXY header in time (proxy_timeout)");
	if (h->timeout == NULL || h->timeout(conn_state(c), &c->out) < 0)
		return -1;
	return sink_keep(&c->out);
}

struct conn *
conn_idle_expired(struct conns *cs)
{
	while (cs->idle_head && cs->idle_timeout_ms > 0 &&
	    cs->now_ms - cs->idle_head->active_ms >= cs->idle_timeout_ms) {
		struct conn *c = cs->idle_head;
		if (!(c->flags & CONN_HELD))
			return c;
		conn_touch(cs, c); /* it waits for its handler's output */
	}
	return NULL;
}

void
conn_held_unlink(struct conns *cs, struct conn *c)
{
	if (!(c->flags & CONN_HELD))
		return;
	if (c->hprev)
		c->hprev->hnext = c->hnext;
	else
		cs->held = c->hnext;
	if (c->hnext)
		c->hnext->hprev = c->hprev;
	c->hprev = c->hnext = NULL;
	c->flags &= ~CONN_HELD;
}

struct conn *
conn_new(struct conns *cs, struct service *svc, int fd, const struct peer *peer, long max_pending)
{
	struct conn *c = calloc(1, sizeof(*c) + svc->handler->state_size);

	if (c == NULL)
		return NULL;
	c->salen = peer->salen < sizeof(c->sa) ? peer->salen : sizeof(c->sa);
	memcpy(&c->sa, &peer->sa, c->salen);
	c->fd = fd;
	c->svc = svc;
	c->out.cap = (size_t)max_pending;
	if (svc->proxy_protocol != 0) {
		c->flags |= CONN_PROXY;
		sink_timer(&c->out, svc->proxy_timeout * 1000);
	}
	if (cs != NULL) {
		cs->n++;
		conn_touch(cs, c);
	}
	return c;
}

int
conn_start(struct conn *c, const struct peer *peer)
{
	if (c->flags & CONN_PROXY)
		return 0; /* opened with the header's source */
	return c->svc->handler->open(conn_state(c), c->svc, peer, &c->out);
}

/* The handler takes p[0..n) while its sink has room; the rest is kept. 0 or -1. */
int
conn_feed(struct conn *c, const char *p, size_t n)
{
	ssize_t used = c->svc->handler->data(conn_state(c), p, n, &c->out);

	if (used < 0)
		return -1;
	if ((size_t)used < n)
		return buf_append(&c->in, p + used, n - (size_t)used);
	return 0;
}

void
conn_free(struct conns *cs, struct conn *c)
{
	if (cs != NULL) {
		idle_unlink(cs, c);
		conn_held_unlink(cs, c);
		conn_timer_unlink(cs, c);
		cs->n--;
	}
	if (c->flags & CONN_SOURCE) {
		/* Unmarked first: dying in between leaks a count, never ends
		 * another connection's. */
		if (conn_source_note != NULL)
			atomic_store(&conn_source_note->held, 0);
		access_release(c->svc, (const struct sockaddr *)&c->sa, c->salen);
	}
	if (!(c->flags & CONN_PROXY))
		c->svc->handler->close(conn_state(c));
	free(c->phdr);
	buf_free(&c->in);
	sink_clear(&c->out);
	free(c);
}

int
conn_input(struct conns *cs, struct conn *c, const char *p, size_t n)
{
	stats_add(&c->svc->stats->bytes_in, (unsigned long long)n);
	conn_touch(cs, c);
	if (c->flags & CONN_PROXY)
		return conn_proxy_input(cs, c, p, n);
	return conn_feed(c, p, n);
}

void
conn_sent(struct conns *cs, struct conn *c, size_t n)
{
	stats_add(&c->svc->stats->bytes_out, (unsigned long long)n);
	sink_consume(&c->out, n);
	conn_touch(cs, c);
}

void
conn_sent_file(struct conns *cs, struct conn *c, size_t n)
{
	stats_add(&c->svc->stats->bytes_out, (unsigned long long)n);
	sink_file_consume(&c->out, n);
	conn_touch(cs, c);
}

bool
conn_producing(const struct conn *c)
{
	return c->out.more && c->svc->handler->more != NULL && !c->out.close_after &&
	    !sink_full(&c->out);
}

int
conn_produce(struct conn *c)
{
	if (!conn_producing(c))
		return 0;
	if (c->svc->handler->more(conn_state(c), &c->out) < 0)
		return -1;
	return sink_keep(&c->out);
}

/*
 * Kept input while the sink has room, then the end of stream (again after
 * a held sink was released: the handler may hold it from eof too), then
 * one round of more().
 */
int
conn_settle(struct conn *c)
{
	const struct handler *h = c->svc->handler;

	if (c->flags & CONN_PROXY)
		return (c->flags & CONN_RD_EOF) ? conn_proxy_refuse(c, REFUSE_PROXY, NULL,
		                                      "end of stream before the PROXY header") :
		                                  0;
	while (c->in.len > 0 && !sink_full(&c->out)) {
		ssize_t used = h->data(conn_state(c), buf_peek(&c->in), c->in.len, &c->out);
		/* Consuming may free or move the input a reply was lent from. */
		if (used < 0 || sink_keep(&c->out) < 0)
			return -1;
		buf_consume(&c->in, (size_t)used);
		if (used == 0 && !sink_full(&c->out))
			break; /* breaks the handler contract; never spin on it */
	}
	if ((c->flags & (CONN_RD_EOF | CONN_EOF_DONE)) == CONN_RD_EOF && c->in.len == 0 &&
	    !c->out.held) {
		if (h->eof(conn_state(c), &c->out) < 0 || sink_keep(&c->out) < 0)
			return -1;
		if (!c->out.held)
			c->flags |= CONN_EOF_DONE;
	}
	return conn_produce(c);
}

int
conn_wants(struct conns *cs, struct conn *c)
{
	int want = 0;

	if (cs != NULL)
		conn_timer_take(cs, c, cs->now_ms);
	if (!(c->flags & CONN_RD_EOF) && c->in.len == 0 && !sink_full(&c->out))
		want |= CONN_WANT_READ;
	/* A producing handler writes whenever the socket can take more, not
	 * only while replies are pending. */
	if (sink_pending(&c->out) > 0 || c->out.file_len > 0 ||
	    (c->out.more && !c->out.close_after))
		want |= CONN_WANT_WRITE;
	if (c->out.held && !(c->flags & CONN_HELD) && cs != NULL) {
		c->flags |= CONN_HELD;
		c->hprev = NULL;
		c->hnext = cs->held;
		if (cs->held)
			cs->held->hprev = c;
		cs->held = c;
	}
	return want;
}

enum conn_end
conn_done(const struct conn *c)
{
	if (sink_pending(&c->out) > 0 || c->out.file_len > 0)
		return CONN_GOING;
	if (c->out.close_after)
		return CONN_CLOSE_GENTLY;
	if ((c->flags & CONN_EOF_DONE) && !c->out.more)
		return CONN_FINISHED;
	return CONN_GOING;
}

int
conn_resume(struct conns *cs, struct conn *c)
{
	conn_held_unlink(cs, c);
	sink_release(&c->out);
	/* A call without input lets the handler send what it owes. */
	if (c->svc->handler->data(conn_state(c), "", 0, &c->out) < 0)
		return -1;
	return sink_keep(&c->out);
}

/* Hands the kept input over with replies dropped. 0, or -1 to stop. */
static int
cut_feed(struct conn *c)
{
	const struct handler *h = c->svc->handler;

	while (c->in.len > 0) {
		ssize_t used = h->data(conn_state(c), buf_peek(&c->in), c->in.len, &c->out);
		if (used < 0)
			return -1;
		sink_clear(&c->out); /* before the lent-from input moves */
		buf_consume(&c->in, (size_t)used);
		if (used == 0 && c->out.held)
			return -1; /* its output is stuck (before the cut) */
		sink_release(&c->out);
	}
	return 0;
}

void
conn_cut(struct conn *c, int fd, char *buf, size_t size)
{
	bool eof = (c->flags & CONN_RD_EOF) != 0;

	if (c->flags & CONN_PROXY)
		return; /* no handler to hand anything to */
	sink_clear(&c->out);
	sink_release(&c->out);
	for (int i = 0;; i++) {
		if (cut_feed(c) < 0)
			goto out;
		if (eof || fd < 0 || i == CONN_CUT_READS)
			break;
		ssize_t n = recv(fd, buf, size, MSG_DONTWAIT);
		if (n <= 0) {
			eof = n == 0;
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		if (buf_append(&c->in, buf, (size_t)n) < 0)
			goto out;
	}
	if (!(c->flags & CONN_EOF_DONE)) {
		c->svc->handler->eof(conn_state(c), &c->out); /* a partial last line is a line */
		c->flags |= CONN_EOF_DONE;
	}
out:
	sink_clear(&c->out);
}
