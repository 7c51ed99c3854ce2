/* handler.h - the handler interface and registry: bytes in, bytes out. */
#ifndef DISPATCHD_HANDLER_H
#define DISPATCHD_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct dgram_reply;
struct service;
struct sink;
struct peer;

/*
 * A handler never touches a socket.  The core allocates state_size zeroed
 * bytes per connection and calls, in order:
 *   open   once, when the connection is accepted;
 *   data   for received bytes: returns how many of the n bytes it consumed
 *          (0..n), or -1 to drop the connection.  It stops early only when
 *          sink_full(); the core sends, then calls again with the rest.
 *          Called with the sink not full and n > 0, it consumes at least one
 *          byte, or returns with the sink full (a reply filled it);
 *   eof    once, when the client half-closed and all its bytes were
 *          consumed; the core then sends what is pending and closes;
 *   more   (optional) whenever the sink has room, while the handler asked
 *          for it with sink_want_more(out, true) (in open or later): it
 *          writes output without input, up to sink_room(), and returns 0
 *          or -1 to drop the connection.  Never called with the sink full,
 *          so a client that does not read holds it at max_pending;
 *   timeout (optional) once the deadline it set with sink_timer() passed
 *          (files: a request head that did not arrive in time): it may
 *          write a last reply and sink_close_after(); returns 0, or -1
 *          to close at once.  Without it the connection closes;
 *   close  exactly once, always (also after errors, resets and timeouts,
 *          without eof); releases what the state owns.
 * open/eof return 0, or -1 to drop the connection.
 *
 * A handler may speak first (write in open), and may end the connection
 * itself: sink_close_after(out) closes it once all pending output is
 * sent (daytime and time do both in open).  See sink.h.
 *
 * Datagram listeners (optional; NULL: the handler serves streams only):
 *   datagram  one datagram, p[0..n) (n may be 0), from peer: the whole
 *           message, never split or joined by the core.  The handler
 *           appends zero or more reply datagrams with dgram_reply_add
 *           (dgram.h); the core sends them to peer, or none when the
 *           reflection guard forbids it (the handler cannot tell, so
 *           what it does besides replying, a logger record, happens
 *           either way).  No per-connection state, no open/close: only
 *           the per-service data (svc->hdata, from setup).  Returns 0,
 *           or -1 on an error (errno set): nothing is sent, the core
 *           counts the datagram dropped and warns (rate-limited, a
 *           flood must not flood the log); the handler logs only what
 *           the core cannot know.  Never waits on the client; may be
 *           called by several threads at once (the thread model).
 *
 * Per service (all optional):
 *   setup   at start-up, before serving: open outputs etc.; on error
 *           fills err and returns -1;
 *   reopen  on SIGHUP, in every process that serves (log rotation), and
 *           once after -d detached (standard output is /dev/null then);
 *   backlog where handler_nowait is set (below): writes what the handler
 *           queued for an output of its own that could not take it at
 *           once.  Returns the descriptor to wait on for writability while
 *           some is still queued, else -1; sets *room when the service's
 *           held sinks may be released (see sink_hold);
 *   fini    at exit; reports what its outputs could not write.
 */
struct handler {
	const char *name;
	const char *summary;
	size_t state_size;
	int (*open)(void *st, struct service *svc, const struct peer *peer, struct sink *out);
	ssize_t (*data)(void *st, const char *p, size_t n, struct sink *out);
	int (*eof)(void *st, struct sink *out);
	void (*close)(void *st);
	int (*more)(void *st, struct sink *out);
	int (*timeout)(void *st, struct sink *out);
	int (*datagram)(struct service *svc, const struct peer *peer, const char *p, size_t n,
	    struct dgram_reply *out);
	int (*setup)(struct service *svc, char *err, size_t errlen);
	void (*reopen)(struct service *svc);
	int (*backlog)(struct service *svc, bool *room);
	void (*fini)(struct service *svc);
	/* defer_accept when the service sets none: seconds of TCP_DEFER_ACCEPT
	 * (a protocol whose client always speaks first), else 0. */
	int defer_accept;
};

extern const struct handler handler_echo;
extern const struct handler handler_timestamp;
extern const struct handler handler_logger;
extern const struct handler handler_discard;
extern const struct handler handler_chargen;
extern const struct handler handler_daytime;
extern const struct handler handler_time;
extern const struct handler handler_files;
extern const struct handler handler_metrics;

/*
 * The line framing limit (max_line) for the line handlers, which cannot see
 * struct config: set by the core before setup and open (default 8192).
 */
extern size_t handler_max_line;

/*
 * How a handler writes to an output of its own (the logger's pipe or
 * terminal) that cannot take a record at once.  false (iterative, fork,
 * thread: a process or thread per connection): it waits, until the cut
 * (sig.h).  true (select, poll, epoll: one thread serves everyone): it
 * never waits; it queues a bounded backlog, holds the sinks of the
 * connections that feed it (backpressure) and the core calls backlog()
 * when the output is writable.  Set by the model before serving; a loop
 * clears it at its cut, when nobody is served any more.  After the cut
 * (sig.h) an output is still waited for while it keeps taking bytes (at
 * most 2 s, half a second without progress), then it has given up: its
 * later records are lost and reported, so none leaves a gap.
 */
extern bool handler_nowait;

/*
 * For handlers that assemble a reply or record before one sink_write or
 * write(2): a per-thread buffer of at least n bytes, so idle connections
 * own no such memory.  Valid until the next call in the same thread; freed
 * at thread exit.  NULL with errno ENOMEM.  handler_scratch_done() after
 * use gives back a buffer grown unusually large by a long line.
 */
char *handler_scratch(size_t n);
void handler_scratch_done(void);
/* Once, before serving: what handler_scratch would set up on first use
 * (its thread key), so fork children inherit it rather than each paying
 * for it. */
void handler_prepare(void);

/*
 * Shared pieces for handlers with nothing to do there: an open that says
 * nothing and keeps nothing, data that consumes
 * and drops every byte (discard, and the built-ins that speak on their own:
 * the client's input is read so its sends never block), an eof that adds
 * nothing (the core sends what is pending and closes), a close that owns
 * nothing.
 */
int handler_open_none(void *st, struct service *svc, const struct peer *peer, struct sink *out);
ssize_t handler_data_drop(void *st, const char *p, size_t n, struct sink *out);
int handler_eof_none(void *st, struct sink *out);
void handler_close_none(void *st);

/* The registry, NULL-terminated, in the order names are listed. */
extern const struct handler *const handlers[];

/* The handler called name, or NULL. */
const struct handler *handler_find(const char *name);
/* The registry's names, "echo, timestamp, ...", into dst (always terminated). */
void handler_names(char *dst, size_t len);

/* Calls every service's reopen: SIGHUP, and after -d detached. */
void handler_reopen_all(struct service *svcs, size_t n);

/* Calls every service's fini (closes handler outputs), at exit. */
void handler_fini_all(struct service *svcs, size_t n);

#endif
