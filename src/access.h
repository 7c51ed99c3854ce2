/* access.h - allow/deny lists and per-source limits (max_per_source, rate_limit) of a service. */
#ifndef DISPATCHD_ACCESS_H
#define DISPATCHD_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "stats.h"

struct service;

/* The most sources one service keeps state for (see access_admit). */
#define ACCESS_TABLE_MAX 65536

/* The valid forms, for error messages. */
#define ACCESS_PREFIX_FORMS "expected ADDRESS or ADDRESS/LEN, e.g. 10.0.0.0/8 or ::1/128"

/*
 * One CIDR prefix.  IPv4 (family AF_INET) uses addr[0..3]; a prefix written
 * in the IPv4-mapped range (::ffff:a.b.c.d/96..128) is stored as IPv4.
 * Bits past len are always zero.
 */
struct access_prefix {
	unsigned char family; /* AF_INET or AF_INET6 */
	unsigned char len;    /* 0..32 or 0..128 */
	unsigned char addr[16];
};

struct access_list {
	struct access_prefix *v;
	size_t n;
};

/* A service's allow and deny lists: immutable once serving starts. */
struct access_rules {
	struct access_list allow; /* empty: every address */
	struct access_list deny;
};

/*
 * Parses "ADDRESS" (a host: /32 or /128) or "ADDRESS/LEN" into out.  A
 * prefix with bits set past LEN ("10.0.0.1/8") is refused, suggesting the
 * masked form: in an access list it is more likely a typo than a network.
 * 0, or -1 with "invalid prefix 'S' (...)" in err.
 */
int access_prefix_parse(const char *s, struct access_prefix *out, char *err, size_t errlen);

/* Parses s (see access_prefix_parse) and appends it to l. 0, or -1 with err. */
int access_list_add(struct access_list *l, const char *s, char *err, size_t errlen);

/* Makes dst (freed first) a copy of src. 0, or -1 when out of memory. */
int access_list_copy(struct access_list *dst, const struct access_list *src);

/* Frees l's prefixes and empties it. */
void access_list_free(struct access_list *l);
void access_rules_free(struct access_rules *r);

/*
 * The allow/deny decision alone: REFUSE_DENIED when sa matches a deny
 * prefix, or the allow list is not empty and sa matches none of it; else
 * REFUSE_NONE.  IPv4-mapped IPv6 addresses are matched as IPv4 (and only
 * by IPv4 prefixes); unix and other non-IP peers are never refused.
 */
enum refuse_reason access_check(const struct access_rules *r, const struct sockaddr *sa,
    socklen_t len);

/* True when sa is an IP address that a prefix of l matches (as access_check matches). */
bool access_list_has(const struct access_list *l, const struct sockaddr *sa, socklen_t len);

/*
 * Prepares the per-source table of svc when it has max_per_source or
 * rate_limit set (none otherwise).  Once per service at start-up, before
 * serving and before forking: the table is one shared mapping, and every
 * process forked afterwards counts against the same sources.  0, or -1
 * with err filled.
 */
int access_setup(struct service *svc, char *err, size_t errlen);

/*
 * Unmaps this process's view of what access_setup made (not the rules);
 * only the process that called access_setup also destroys the lock, so
 * a fork child may call it too.  Safe to call twice.
 */
void access_fini(struct service *svc);

/*
 * A reload: nsvc, which replaces osvc and limits sources too, counts on in
 * osvc's table (a source's open connections and its bucket carry over),
 * under nsvc's limits from now on.  Otherwise nothing (access_setup then).
 */
void access_adopt(struct service *nsvc, struct service *osvc);

/*
 * Whether a new connection from sa may be served by svc: REFUSE_NONE, or
 * REFUSE_DENIED (allow/deny), REFUSE_PER_SOURCE (max_per_source reached)
 * or REFUSE_RATE (rate_limit exceeded).  It counts and logs nothing: the
 * caller closes the connection, counts svc->stats->refused[why] and warns.
 *
 * An admitted connection counts against max_per_source until
 * access_release; a refused one needs no release.  So call it last, after
 * every other reason to refuse.  A refused attempt takes no rate token.
 *
 * Thread- and process-safe (one process-shared mutex per service, held
 * briefly); with no rules and no limits it returns at once without
 * locking.  Unix peers are always admitted.  Needs access_setup for the
 * limits: without it only allow/deny apply.
 *
 * The table holds at most ACCESS_TABLE_MAX sources.  When full, the source
 * idle longest (no open connection) is forgotten: it may start again with
 * a full rate bucket, which only makes the limit more lenient.  When every
 * tracked source has open connections (only with max_per_source), a new
 * source is refused with REFUSE_PER_SOURCE: its connections could not be
 * counted.
 */
enum refuse_reason access_admit(struct service *svc, const struct sockaddr *sa, socklen_t len);

/*
 * Whether one datagram from sa may be handled by svc: REFUSE_NONE, or
 * REFUSE_DENIED (allow/deny) or REFUSE_RATE (rate_limit, counted in
 * datagrams per second from one address, from the same buckets as
 * access_admit's connections).  max_per_source does not apply, a datagram
 * being no connection: nothing to release.  Like access_admit it counts
 * and logs nothing, and is thread-safe.
 */
enum refuse_reason access_admit_datagram(struct service *svc, const struct sockaddr *sa,
    socklen_t len);

/*
 * Ends the accounting of a connection access_admit admitted, in any
 * process sharing the table (a fork child's in the parent, say).
 * Thread- and process-safe.
 */
void access_release(struct service *svc, const struct sockaddr *sa, socklen_t len);

/*
 * Forgets every source of svc (their connection counts and buckets), as
 * when a process that counted connections died with them open (a worker
 * killed): the limits are lenient for a while (a later release of a
 * connection admitted before finds nothing, or lowers a newer count)
 * rather than keep counts nothing will ever end.  Thread- and
 * process-safe.
 */
void access_forget(struct service *svc);

/* "max_clients", "no_fds", "fd_setsize", "denied", "per_source", "rate_limit", "proxy"; "none". */
const char *access_reason_name(enum refuse_reason why);

/* How many sources svc keeps state for now (tests, diagnostics). */
size_t access_sources(struct service *svc);

/*
 * Tests only: replaces the monotonic clock (nanoseconds) the rate limit
 * reads; NULL restores CLOCK_MONOTONIC.  Set it before serving starts.
 */
void access_set_clock(long long (*now_ns)(void));

#endif
