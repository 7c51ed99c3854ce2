/* stats.h - per-service counters, shared with fork children, for SIGUSR1. */
#ifndef DISPATCHD_STATS_H
#define DISPATCHD_STATS_H

#include <stdatomic.h>

#include "log.h"

struct config;

/*
 * Why a connection was refused: the index of svc_stats.refused.
 * REFUSE_NONE (admitted) is negative so that it never indexes it.
 */
enum refuse_reason {
	REFUSE_NONE = -1,
	REFUSE_MAX_CLIENTS,
	REFUSE_NO_FDS,
	REFUSE_FDSETSIZE,
	REFUSE_DENIED,     /* allow/deny lists */
	REFUSE_PER_SOURCE, /* max_per_source */
	REFUSE_RATE,       /* rate_limit */
	REFUSE_PROXY,      /* proxy_protocol: untrusted source, bad, late or no header */
	REFUSE_NREASONS
};

struct svc_stats {
	atomic_ullong conns_now;
	atomic_ullong conns_total;
	atomic_ullong bytes_in;
	atomic_ullong bytes_out;
	atomic_ullong refused[REFUSE_NREASONS]; /* connections and datagrams */
	/* Datagram listeners: received (refused ones too, counted above as
	 * well), answered (reply datagrams sent), dropped (not handled:
	 * truncated, handler error; or not answered: reflection guard, a
	 * reply the socket could not take). */
	atomic_ullong dgrams_in;
	atomic_ullong dgrams_answered;
	atomic_ullong dgrams_dropped;
	/* Logger: records written to its output or handed to syslog
	 * (connected and disconnected ones too; not those lost).  Counted
	 * by recout_write, or by the queue that wrote one later. */
	atomic_ullong records;
	/* The datagram warnings' rate limits, here so that fork children
	 * (a child per datagram) share them: a plain update race between
	 * processes costs at most an extra warning. */
	struct log_rate warn_dgram_failed;
	struct log_rate warn_dgram_guard;
};

/* Maps one shared anonymous region for every service's counters. 0 or -1. */
int stats_init(struct config *cf);

/* The configuration whose counters stats_init mapped (for the metrics
 * handler, which reports every service), or NULL before. */
const struct config *stats_config(void);

/*
 * A reload: each service of ncf counts on in the counters of old's service
 * of the same name; a new one gets counters of its own (shared with fork
 * children too; a removed service's stay mapped).  0 or -1.
 */
int stats_adopt(struct config *ncf, const struct config *old);
/* The configuration stats_config() gives from now on. */
void stats_set_config(const struct config *cf);

/* A counter's value now. */
static inline unsigned long long
stats_get(atomic_ullong *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Writes the one-line status of every service to the diagnostics. */
void stats_report(const struct config *cf);

static inline void
stats_add(atomic_ullong *c, unsigned long long n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline void
stats_sub(atomic_ullong *c, unsigned long long n)
{
	atomic_fetch_sub_explicit(c, n, memory_order_relaxed);
}

#endif
