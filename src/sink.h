/* sink.h - where a handler writes its replies: pending bytes capped at max_pending. */
#ifndef DISPATCHD_SINK_H
#define DISPATCHD_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

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
	bool timer_req;   /* sink_timer: a request the core takes (conn_timer_take) */
	long timer_ms;    /* the request: fire in timer_ms, 0 = never */
	int file_fd;      /* sink_file: the range's descriptor (the handler's) */
	off_t file_off;   /* its next byte */
	size_t file_len;  /* bytes of it left to send, after the pending bytes */
};

/* clang-format off */
#define SINK_INIT(capacity) \
	{ .out = BUF_INIT, .lent = NULL, .lent_len = 0, .cap = (capacity), .held = false, \
	  .close_after = false, .more = false, .timer_req = false, .timer_ms = 0, .file_fd = -1, \
	  .file_off = 0, .file_len = 0 }
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
/* True once the pending bytes reached the cap, while held, or while a
 * file range waits (nothing may follow it until it is sent). */
static inline bool
sink_full(const struct sink *s)
{
	return s->held || s->file_len > 0 || sink_pending(s) >= s->cap;
}
/* How many more bytes fit below the cap (0 when full). */
static inline size_t
sink_room(const struct sink *s)
{
	size_t n = sink_pending(s);

	return sink_full(s) ? 0 : s->cap - n;
}

/*
 * A file body without a copy: after the pending bytes, the core sends
 * len bytes of fd from off with sendfile(2) (or its model's equivalent),
 * never reading them into memory, so a connection costs the same however
 * large the file and however slowly its client reads.  The sink reads full
 * until the range is sent; then the handler is called again (more(), or
 * data() with the input that waited).  The descriptor stays the handler's:
 * it must stay open until the range is sent or the connection closes (its
 * close hook).  A file that shrinks meanwhile ends the connection: the
 * length was promised.  One range at a time.
 */
static inline void
sink_file(struct sink *s, int fd, off_t off, size_t len)
{
	s->file_fd = fd;
	s->file_off = off;
	s->file_len = len;
}
/* Bytes of the file range still to send (after sink_pending()). */
static inline size_t
sink_file_pending(const struct sink *s)
{
	return s->file_len;
}
/*
 * The send flag for the pending bytes: MSG_MORE when a segment should
 * wait for what follows.  A head before a file range waits for the
 * range's first bytes (as nginx's tcp_nopush; MSG_MORE ends at sendfile's
 * last chunk), and the last reply of a connection that closes after it
 * waits for the FIN: the shutdown(2) that follows at once pushes both in
 * one segment, one packet less for the client to take (a connection per
 * request).  Full-sized segments go out all the same.
 */
static inline int
sink_send_more(const struct sink *s)
{
	return sink_file_pending(s) > 0 || (s->close_after && !s->more) ? MSG_MORE : 0;
}
/* Sends up to max bytes of the file range to sock with one sendfile(2),
 * after every pending byte is sent.  n > 0 sent (not consumed yet: the
 * driver calls conn_sent_file), or -1 with errno (EAGAIN: the socket is
 * full; EIO: the file ended before the range). */
ssize_t sink_sendfile(const struct sink *s, int sock, size_t max);
/* What a driver asks of one sendfile: a few per wake-up, so one fast reader
 * of a large file cannot starve the other connections. */
#define SINK_FILE_CHUNK (1024 * 1024)
/* n bytes of the file range were sent. */
static inline void
sink_file_consume(struct sink *s, size_t n)
{
	s->file_off += (off_t)n;
	s->file_len -= n;
}

/*
 * A deadline for the handler's own purpose (the files handler's request
 * timeout): its timeout() is called once ms from now, unless the handler
 * asks again (a new deadline) or with 0 (none) before.  Independent of
 * activity, unlike idle_timeout: a client trickling one byte at a time
 * still meets it.  The core takes the request after the handler returns.
 */
static inline void
sink_timer(struct sink *s, long ms)
{
	s->timer_req = true;
	s->timer_ms = ms;
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
