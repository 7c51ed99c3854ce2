/* admit.c - one admission path: whether a model serves a connection, and its end. */
#include <errno.h>
#include <stdatomic.h>
#include <unistd.h>

#include "access.h"
#include "admit.h"
#include "conf.h"
#include "log.h"
#include "net.h"
#include "reload.h"
#include "stats.h"

/* One warning per reason at most every 10 s: a flood must not flood the log. */
static struct log_rate warn_full = LOG_RATE_INIT(10);
static struct log_rate warn_fds = LOG_RATE_INIT(10);
static struct log_rate warn_access = LOG_RATE_INIT(10);

/* workers: every worker's open connections, or NULL (each process counts
 * its own), and this worker's own per service (its supervisor's view). */
static atomic_long *shared_total;
static atomic_long *mine;
static const struct service *svc0;

void
admit_share(atomic_long *total, atomic_long *own, const struct service *svcs)
{
	shared_total = total;
	mine = own;
	svc0 = svcs;
}

/* A place in max_clients: active (this process's count) or, with workers,
 * one taken from the shared total at once, so two workers cannot both take
 * the last one.  True when taken. */
static bool
take_place(long active, long max_clients)
{
	if (active < 0)
		return true;
	if (shared_total == NULL)
		return active < max_clients;
	if (atomic_fetch_add(shared_total, 1) < max_clients)
		return true;
	atomic_fetch_sub(shared_total, 1);
	return false;
}

static void
give_place(long active)
{
	if (active >= 0 && shared_total != NULL)
		atomic_fetch_sub(shared_total, 1);
}

static void
refuse(struct listener *ls, int fd, enum refuse_reason why)
{
	if (fd >= 0)
		close(fd);
	stats_add(&ls->svc->stats->refused[why], 1);
}

enum refuse_reason
admit_take(struct listener *ls, int fd, const struct peer *peer, long active, long max_clients)
{
	struct service *svc = ls->svc;
	enum refuse_reason why;

	if (!take_place(active, max_clients)) {
		refuse(ls, fd, REFUSE_MAX_CLIENTS);
		if (log_rate_ok(&warn_full))
			log_warnx("%s: refused %s: max_clients (%ld) reached", ls->addr, peer->text,
			    max_clients);
		return REFUSE_MAX_CLIENTS;
	}
	/*
	 * Behind a proxy the socket's peer is the proxy: it must be one that
	 * may send a header (a unix client always may: the socket file's mode
	 * decides who connects); the access rules wait for the header's
	 * source (conn.c).
	 */
	if (svc->proxy_protocol != 0)
		why = peer->sa.ss_family == AF_UNIX ||
		        access_list_has(&svc->proxy_from, (const struct sockaddr *)&peer->sa,
		            peer->salen) ?
		    REFUSE_NONE :
		    REFUSE_PROXY;
	else
		why = access_admit(svc, (const struct sockaddr *)&peer->sa, peer->salen);
	if (why == REFUSE_PROXY) {
		give_place(active);
		refuse(ls, fd, why);
		if (log_rate_ok(&warn_access))
			log_warnx(
			    "%s: refused %s: not in proxy_from, and a PROXY header is required",
			    ls->addr, peer->text);
		return why;
	}
	if (why != REFUSE_NONE) {
		give_place(active);
		refuse(ls, fd, why);
		if (log_rate_ok(&warn_access))
			log_warnx("%s: refused %s: %s", ls->addr, peer->text,
			    access_reason_name(why));
		return why;
	}
	stats_add(&svc->stats->conns_now, 1);
	stats_add(&svc->stats->conns_total, 1);
	if (mine != NULL)
		atomic_fetch_add(&mine[svc - svc0], 1);
	reload_hold(svc->owner, false);
	return REFUSE_NONE;
}

void
admit_release(struct service *svc, const struct sockaddr *sa, socklen_t salen)
{
	/* Behind a proxy the header's source was counted, by conn.c. */
	if (svc->proxy_protocol == 0)
		access_release(svc, sa, salen);
	stats_sub(&svc->stats->conns_now, 1);
	give_place(0);
	if (mine != NULL)
		atomic_fetch_sub(&mine[svc - svc0], 1);
	reload_drop(svc->owner, false); /* last: svc may be freed once it is */
}

void
admit_refuse(struct listener *ls, int fd, enum refuse_reason why)
{
	int saved = errno;

	refuse(ls, fd, why);
	errno = saved;
	if (why == REFUSE_NO_FDS && log_rate_ok(&warn_fds))
		log_warn("%s: connection refused, out of descriptors", ls->addr);
}
