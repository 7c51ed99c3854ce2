/* sink.h - where a handler writes its replies: pending bytes capped at max_pending. */
#ifndef DISPATCHD_SINK_H
#define DISPATCHD_SINK_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * The core owns the sink and sends out.  A handler appends with
 * sink_write() and checks sink_full() before starting a new reply: once
 * the pending bytes reach cap it must stop consuming input and return what
 * it consumed, so the core can send before feeding it the rest.  Memory per
 * connection is therefore about cap plus one reply.
 *
 * Pending bytes are either owned (copied into out) or lent (sink_lend: the
 * caller's bytes, not copied), never both at once: a reply that can go
 * straight back from the core's read buffer costs no copy and no
 * allocation.  Lent bytes are valid only until the handler returns, so the
 * core sends them or calls sink_keep() before it touches its input again.
 */
struct sink {
	struct buf out;   /* owned pending bytes */
	const char *lent; /* lent pending bytes (when lent_len > 0) */
	size_t lent_len;
	size_t cap;
	bool held;        /* sink_hold: full until the core releases it */
	bool close_after; /* sink_close_after: close once all is sent */
	bool more;        /* sink_want_more: call the handler's more() */
};

/* clang-format off */
#define SINK_INIT(capacity) \
	{ .out = BUF_INIT, .lent = NULL, .lent_len = 0, .cap = (capacity), .held = false, \
	  .close_after = false, .more = false }
/* clang-format on */

/* Appends a copy of n bytes; 0, or -1 with errno ENOMEM (nothing added). */
int sink_write(struct sink *s, const void *p, size_t n);
/*
 * Appends n bytes without copying them when nothing is pending, else like
 * sink_write.  p[0..n) must stay unchanged until the handler returns: meant
 * for bytes of the input the core passed in (echo).  0, or -1 with ENOMEM.
 */
int sink_lend(struct sink *s, const void *p, size_t n);
/* Copies lent bytes into owned storage; 0, or -1 with ENOMEM (nothing lost). */
int sink_keep(struct sink *s);
/* Drops every pending byte and frees the storage. */
void sink_clear(struct sink *s);

/* How many bytes wait to be sent. */
static inline size_t
sink_pending(const struct sink *s)
{
	return s->out.len + s->lent_len;
}
/* The first pending byte; sink_pending() bytes follow (only while > 0). */
static inline const char *
sink_peek(const struct sink *s)
{
	return s->lent_len ? s->lent : buf_peek(&s->out);
}
/* Marks n (<= pending) bytes as sent; owned storage is freed once empty. */
static inline void
sink_consume(struct sink *s, size_t n)
{
	if (s->lent_len) {
		s->lent += n;
		s->lent_len -= n;
	} else {
		buf_consume(&s->out, n);
	}
}
/* True once the pending bytes reached the cap, or while held. */
static inline bool
sink_full(const struct sink *s)
{
	return s->held || sink_pending(s) >= s->cap;
}
/* How many more bytes fit below the cap (0 when full). */
static inline size_t
sink_room(const struct sink *s)
{
	size_t n = sink_pending(s);

	return s->held || n >= s->cap ? 0 : s->cap - n;
}

/*
 * Backpressure from somewhere other than the client: a handler whose own
 * output is backed up (the logger writing to a pipe nobody drains) holds
 * the sink.  It then reads as full, so the handler stops consuming and the
 * core stops reading that connection, until the core releases it when the
 * handler's backlog hook reports room (see handler.h).  Only where
 * handler_nowait is set: elsewhere handlers wait for their output.
 */
static inline void
sink_hold(struct sink *s)
{
	s->held = true;
}
static inline void
sink_release(struct sink *s)
{
	s->held = false;
}

/*
 * A handler that has said all it will say (daytime, time) asks the core to
 * close the connection once every pending byte is sent; input that comes
 * meanwhile is still handed to it.
 */
static inline void
sink_close_after(struct sink *s)
{
	s->close_after = true;
}

/*
 * A handler that produces output without input (chargen, file bodies)
 * asks the core to call its more() whenever the sink has room, until it
 * calls sink_want_more(out, false).  The connection then stays open after
 * the client's half-close (it may still read) until sending fails.
 */
static inline void
sink_want_more(struct sink *s, bool on)
{
	s->more = on;
}

#endif
