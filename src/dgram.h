/* dgram.h - one datagram's life, whatever model receives it: admission, handler, reflection guard, reply. */
#ifndef DISPATCHD_DGRAM_H
#define DISPATCHD_DGRAM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "log.h"
#include "net.h"

struct listener;
struct service;

/* The largest datagram received whole (UDP's payload limit, rounded up). */
#define DGRAM_MAX 65536
/* Readiness loops: datagrams received (recvmmsg) per listener per wake-up. */
#define DGRAM_BATCH 32

/*
 * The replies a handler makes to one datagram: zero or more datagrams,
 * kept in one growing buffer.  dgram_reply_add appends one reply
 * datagram (n may be 0: an empty datagram).  0, or -1 with ENOMEM
 * (nothing added).
 */
struct dgram_reply {
	char *buf; /* the replies' bytes, one after another */
	size_t len;
	size_t cap;
	size_t *lens; /* the length of each reply */
	size_t n;
	size_t ncap;
};

int dgram_reply_add(struct dgram_reply *r, const void *p, size_t n);
/* Forgets the replies, keeps the storage for the next datagram. */
void dgram_reply_reset(struct dgram_reply *r);
/* Frees the storage. */
void dgram_reply_free(struct dgram_reply *r);

/*
 * One received datagram, with what the reply needs: the source (peer) and
 * the local address it was sent to (from IP_PKTINFO / IPV6_PKTINFO), so
 * that a reply leaves from that address even on a wildcard listener.
 */
struct dgram_msg {
	struct peer peer;
	bool has_dst;
	struct sockaddr_storage dst; /* the local address (port left 0) */
	const char *p;               /* the datagram's bytes */
	size_t len;
	bool truncated; /* longer than the buffer: dropped */
};

/*
 * Everything about one datagram but its I/O: counted as received; refused
 * by the service's allow/deny or rate_limit (counted as refused, no
 * reply); otherwise handed to the handler's datagram hook, whose replies
 * come back in r.  When the reflection guard forbids answering m->peer
 * (source port 0 or below 1024; multicast, broadcast or unspecified
 * source), the handler still runs (a logger record, discard) but r is
 * emptied and the datagram counted as dropped.  Returns how many reply
 * datagrams to send (r->n), to m->peer from m->dst.
 */
size_t dgram_handle(struct listener *ls, const struct dgram_msg *m, struct dgram_reply *r);

/*
 * The two halves of dgram_handle, for models that serve a datagram in
 * another process or thread than the one that received it: dgram_admit
 * where it was received (the fork parent: the per-source buckets of
 * rate_limit live there), which counts it received and refuses it
 * (allow/deny, rate_limit; truncated), counted and warned: false; then
 * dgram_answer wherever it is served, the handler and the guard, which
 * returns the replies to send as dgram_handle does.
 */
bool dgram_admit(struct listener *ls, const struct dgram_msg *m);
size_t dgram_answer(struct listener *ls, const struct dgram_msg *m, struct dgram_reply *r);

/* True when a reply may be sent to sa (the reflection guard alone). */
bool dgram_may_reply(const struct sockaddr *sa, socklen_t salen);

/* After sending: replies sent, and replies the socket could not take at
 * once (dropped, never queued). */
void dgram_sent(struct service *svc, size_t answered, size_t dropped);

/*
 * I/O for the models (dgram_io.c).  The listener socket is non-blocking.
 * dgram_recv receives one datagram into buf (size >= DGRAM_MAX) filling
 * m: 1, 0 when none is waiting, -1 on an error (errno).  dgram_send
 * sends the reply p[0..n) to m->peer from m->dst without waiting: 0, or
 * -1 when the socket could not take it (dropped).
 */
int dgram_recv(int fd, struct dgram_msg *m, char *buf, size_t size);
int dgram_send(int fd, const struct dgram_msg *m, const char *p, size_t n);

/*
 * The batch pair for the readiness loops (dgram_io.c): one system call for
 * up to DGRAM_BATCH datagrams.  dgram_recv_batch receives up to max
 * (at most DGRAM_BATCH; more is read as DGRAM_BATCH) datagrams, the i-th
 * into bufs + i * each (each >= DGRAM_MAX to receive them whole), filling
 * ms[i] as dgram_recv does: how many (>= 1), 0 when none is waiting, -1 on
 * an error (errno).  ms[i].p points into bufs, valid until the next call.
 */
int dgram_recv_batch(int fd, struct dgram_msg *ms, char *bufs, size_t each, int max);

/* One reply for dgram_send_batch: p[0..n) to m->peer from m->dst. */
struct dgram_out {
	const struct dgram_msg *m;
	const char *p;
	size_t n;
};

/*
 * Sends out[0..n) without waiting, with sendmmsg (a call per 64).  Returns
 * how many were sent (0..n), never -1: the others were dropped, for the
 * caller to count (dgram_sent).  A reply the kernel refuses is dropped and
 * the next ones tried, except that once a UDP socket is full (EAGAIN,
 * ENOBUFS) the rest are dropped without trying; a reply to a peer with no
 * address (an unbound unixgram client) is dropped unsent.
 */
int dgram_send_batch(int fd, const struct dgram_out *out, int n);

/*
 * What the receivers put in a dgram_msg, for its readers: an unbound
 * unixgram client (logger -u) has no address, so its peer is the family
 * alone (salen == sizeof(sa_family_t), text "unix") and no reply can
 * reach it; a bound one has its path (text "unix" too).  dst is absent
 * (has_dst false) on unix sockets and for a datagram sent to an IPv6
 * multicast address; a link-local IPv6 dst keeps its interface in
 * sin6_scope_id.  An IPv4 datagram on the dual-stack socket has an
 * AF_INET dst and a v4-mapped AF_INET6 peer.
 */

/*
 * A single-threaded loop's datagram batch (the readiness loops, io_uring;
 * dgram_batch.c): dgram_batch_run receives up to DGRAM_BATCH datagrams on
 * ls with one recvmmsg, handles each (dgram_handle) and sends every reply
 * with one sendmmsg that does not wait; what the socket cannot take is
 * dropped and counted, never queued.  Returns how many were received
 * (DGRAM_BATCH: more may wait), 0 when none was, -1 on an error (warned,
 * at most every 10 s).  The storage is allocated on the first datagram
 * and kept; b starts zeroed with warn = LOG_RATE_INIT(10).
 */
struct dgram_batch {
	char *bufs;
	struct dgram_reply *replies;
	struct dgram_out *out;
	size_t out_cap;
	struct log_rate warn;
};
int dgram_batch_run(struct dgram_batch *b, struct listener *ls);
void dgram_batch_free(struct dgram_batch *b);

/*
 * Sets the socket options a datagram listener bound (or to be bound) to
 * local needs: IP_PKTINFO or IPV6_RECVPKTINFO for an inet socket on a
 * wildcard, multicast or broadcast address, where a reply must be told
 * which of the host's addresses to leave from.  A socket bound to one
 * unicast address replies from it without being told, and its datagrams
 * carry no control message to build or read. 0 or -1.
 */
int dgram_listener_setup(int fd, const struct sockaddr *local);

#endif
