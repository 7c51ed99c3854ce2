/* uring_int.h - what the io_uring loop (uring.c) and its connections' I/O (uring_conn.c) share. */
#ifndef DISPATCHD_URING_INT_H
#define DISPATCHD_URING_INT_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "../conn.h"
#include "../dgram.h"
#include "../log.h"

struct config;
struct listener;

/*
 * The provided-buffer ring: every multishot receive takes its buffers
 * from one fixed pool, mapped and touched once at start-up, so that
 * memory does not grow with the connections: an idle connection owns no
 * buffer.  A buffer goes back to the ring right after its bytes were
 * handed to the handler, or, when a reply was lent from it (echo), once
 * that reply was sent.
 */
#define UR_BUF_SIZE  (32 * 1024)
#define UR_BUF_COUNT 256 /* a power of two */
#define UR_BGID      0
/* Submission and completion queue sizes. */
#define UR_SQ_ENTRIES 1024
#define UR_CQ_ENTRIES 16384
/* Completions handled per wake-up: bounded work, then the timers. */
#define UR_CQE_BATCH 4096
/* After an unexpected accept error the listener rests this long. */
#define UR_ACCEPT_PAUSE_MS 1000
/* Rounds of more() per settle for a handler producing without input. */
#define UR_MORE_ROUNDS 4
/* conn_cut's scratch buffer. */
#define UR_CUT_SIZE (64 * 1024)

/*
 * user_data: what a completion is about.  The kind in the top byte, a
 * generation in the next three, an index (descriptor, listener, service)
 * in the low half.  A connection's state lives until none of its
 * operations is in flight, so a completion never finds it freed; the
 * generation is checked all the same.
 */
enum ur_kind {
	UR_IGNORE = 0, /* cancels, timeout removals: nothing to do */
	UR_ACCEPT,     /* listener index */
	UR_DGPOLL,     /* listener index */
	UR_SIG,        /* the signal self-pipe */
	UR_TIMER,      /* idle expiry */
	UR_OUTPOLL,    /* service index: its output writable */
	UR_RECV,       /* descriptor */
	UR_SEND,       /* descriptor */
};

static inline uint64_t
ur_ud(enum ur_kind k, uint32_t gen, uint32_t idx)
{
	return (uint64_t)k << 56 | (uint64_t)(gen & 0xffffff) << 32 | idx;
}

/* How a connection ends, once its operations completed. */
enum uc_end {
	UC_OPEN = 0,
	UC_CLOSE,    /* close (an error, the end of its stream) */
	UC_GENTLY,   /* net_end_gently, then close */
	UC_CUT,      /* conn_cut without reading, then close */
	UC_CUT_READ, /* conn_cut reading what waits in the socket, then close */
};

/* A connection's driver state, by descriptor. */
struct uconn {
	struct conn *c;
	uint32_t gen;
	int nops;         /* operations in flight */
	bool recv_on;     /* multishot receive armed (until its last completion) */
	bool recv_cancel; /* ... and a cancel asked for */
	bool sending;     /* one send in flight: the handler is not called */
	bool file_poll;   /* ... which is a poll for room to sendfile into */
	bool starved;     /* the receive ended for lack of buffers */
	bool eof_held;    /* the end of stream came after held input */
	enum uc_end end;
	struct uconn *snext; /* starved list */
	/* Received buffers not yet handed to the handler, in order (a list
	 * through ur->bnext): input that came while a send was in flight. */
	int in_head, in_tail;
	size_t in_bytes;
	/* Replies lent from received buffers, in order, sent before the
	 * sink's own bytes (a list through ur->bnext, one segment each). */
	int q_head, q_tail;
	size_t q_bytes;
	int q_n;
	struct usend *sv; /* sendmsg's header, while a send has several parts */
};

/* At most this many parts per sendmsg. */
#define UR_IOV_MAX 32
struct usend {
	struct msghdr mh;
	struct iovec iov[UR_IOV_MAX + 1];
};

/* A listener's operation: its accept, or its poll for datagrams. */
struct ulis {
	bool on;          /* multishot accept or datagram poll armed */
	bool poll;        /* out of descriptors: a poll, not an accept */
	bool ready;       /* a datagram listener may have datagrams waiting */
	bool held;        /* its output is backed up: not read */
	bool cancel;      /* its accept or poll is being cancelled */
	uint64_t ud;      /* the operation's user_data */
	long long paused; /* resting until (ms), 0 when not */
};

struct ur {
	struct io_uring ring;
	struct config *cf;
	struct conns cs;
	struct uconn **uc; /* by descriptor */
	int ucsize;
	int maxfd; /* the highest descriptor served so far */
	bool ring_ok;
	uint32_t gen;
	long inflight; /* operations whose last completion has not come */
	/* the provided buffers */
	struct io_uring_buf_ring *br;
	char *bufs;
	int nfree; /* buffers in the ring */
	/* per buffer out of the ring: the next on its list, and the bytes
	 * (from boff, blen of them) held or lent from it */
	int bnext[UR_BUF_COUNT];
	uint32_t boff[UR_BUF_COUNT];
	uint32_t blen[UR_BUF_COUNT];
	struct uconn *starved;
	/* listeners */
	struct ulis *lst; /* per listener of cf, by index */
	bool sig_on;
	bool signalled;
	/* idle expiry */
	bool timer_on;
	long long timer_at; /* when the armed timeout fires (ms) */
	struct __kernel_timespec tts;
	/* the handlers' outputs: struct service's out_fd, out_room, out_armed */
	int nwatched;
	bool held_ready;
	bool stopping;
	bool exiting; /* the end: completions are only counted */
	long long deadline_ms;
	char *cutbuf;
	struct log_rate warn_accept;
	struct log_rate warn_setsize;
	struct dgram_batch dg; /* datagram batches (dgram_batch_run) */
};

/* A free submission entry (submits to make room when the queue is full). */
struct io_uring_sqe *ur_sqe(struct ur *ur);
/* Cancels the operation with user_data ud (its completion still comes). */
void ur_cancel(struct ur *ur, uint64_t ud);
/* Gives buffer bid back to the ring. */
void ur_buf_return(struct ur *ur, int bid);

/* An accept completion of listener i: the connection admitted and
 * started, or what the error asks (uring_accept.c). */
void ur_accepted(struct ur *ur, size_t i, int res);
/* Out of descriptors on listener i: shed what is pending, then a poll
 * rather than an accept until one succeeds (uring_accept.c). */
void ur_out_of_fds(struct ur *ur, size_t i);

/* A new connection on fd accepted from ls (uring_accept.c). */
void uc_accepted(struct ur *ur, struct listener *ls, int fd);
/* A receive or send completion. */
void uc_complete(struct ur *ur, enum ur_kind k, uint32_t gen, uint32_t fd, int res, uint32_t flags);
/* Ends u as end says, once its operations completed (maybe at once). */
void uc_close(struct ur *ur, struct uconn *u, enum uc_end end);
/* Everything after an event: feed, send, decide, receive or not. */
void uc_settle(struct ur *ur, struct uconn *u);
/* Arms the receives that ended for lack of buffers, while some are free. */
void uc_unstarve(struct ur *ur);

/* Setup (uring_setup.c): one line naming why io_uring cannot be used;
 * the ring, with the flags a single issuer can use where the kernel
 * knows them; the provided buffers; the probe of model.h. */
void ur_cause(char *err, size_t errlen, const char *what, int e);
int ur_ring_setup(struct io_uring *ring, unsigned entries, unsigned cq, char *err, size_t errlen);
int ur_bufs_setup(struct ur *ur, char *err, size_t errlen);
int ur_probe(char *err, size_t errlen);

/* Stops listener i's accept or poll (its last completion still comes). */
void ur_listener_cancel(struct ur *ur, size_t i);
/* Arms the listeners whose accept or poll ended, the paused ones that rested. */
void ur_listeners_arm(struct ur *ur);

/* A reload (uring_reload.c): the listener with id, its index in ur->cf or
 * -1 (one a reload closed); the service with uid, running or retired, or
 * NULL; ncf made the running configuration, 0, or -1 (the running one
 * stays).  Completions name listeners and services by these ids. */
long ur_listener_index(const struct ur *ur, uint32_t id);
struct service *ur_service_by_uid(const struct ur *ur, uint32_t uid);
int ur_reload(struct ur *ur, struct config *ncf);

/* After every wake-up (uring_outputs.c): the handlers' outputs, the held
 * connections, the datagram listeners' gate. */
void ur_outputs(struct ur *ur);
/* A batch for each datagram listener with datagrams waiting; true while
 * some may have more. */
bool ur_datagrams_all(struct ur *ur);

/* The connection on descriptor fd, or NULL. */
static inline struct uconn *
ur_uc_at(struct ur *ur, int fd)
{
	return fd >= 0 && fd < ur->ucsize ? ur->uc[fd] : NULL;
}

#endif
