/* admit.h - one admission path: whether a model serves a connection, and its end. */
#ifndef DISPATCHD_ADMIT_H
#define DISPATCHD_ADMIT_H

#include <stdatomic.h>
#include <sys/socket.h>

#include "stats.h"

struct listener;
struct peer;
struct service;

/*
 * Every model asks here whether to serve a connection it just accepted on
 * ls, and says here when one ends, so that refusals are counted once and
 * the open and total counts mean the same under every model.
 *
 * admit_take checks, in order, max_clients (active: the connections the
 * model serves now; -1 for a model that serves one at a time) and the
 * service's access rules (allow/deny, max_per_source, rate_limit; last,
 * as a refused attempt takes no rate token); on a service with
 * proxy_protocol, instead of the access rules, whether the peer may send
 * a PROXY header (proxy_from; the rules then apply to the header's source,
 * in conn.c, and admit_release leaves that source's accounting to it).
 * On a refusal it closes fd,
 * counts the reason, warns (at most once every 10 s per reason) and
 * returns the reason.  On REFUSE_NONE the connection counts as open (and
 * in the total) until admit_release.  Called by the thread that accepts.
 */
enum refuse_reason admit_take(struct listener *ls, int fd, const struct peer *peer, long active,
    long max_clients);

/*
 * A connection ends (any thread, any process that shares the counters):
 * its per-source accounting and the open count.  sa/salen: the peer
 * admit_take was given.
 */
void admit_release(struct service *svc, const struct sockaddr *sa, socklen_t salen);

/*
 * workers = N: max_clients counts the open connections of every worker
 * in total, kept in shared memory (admit_take then takes a place from it
 * atomically instead of comparing its active count; admit_release gives
 * it back), and each worker counts its own per service in own (indexed
 * like svcs) so that its supervisor can take back what a worker that
 * died held.  Before serving; NULL: each process its own.
 */
struct service;
void admit_share(atomic_long *total, atomic_long *own, const struct service *svcs);

/*
 * Counts a refusal decided before admit_take (fd closed unless -1):
 * REFUSE_NO_FDS (accept failed for lack of descriptors; warns here) or
 * REFUSE_FDSETSIZE (the caller, which knows the limit, warns).
 */
void admit_refuse(struct listener *ls, int fd, enum refuse_reason why);

#endif
