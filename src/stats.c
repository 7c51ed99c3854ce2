/* stats.c - per-service counters, shared with fork children, for SIGUSR1. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "conf.h"
#include "log.h"
#include "stats.h"

static const struct config *stats_cf;

int
stats_init(struct config *cf)
{
	/* MAP_SHARED so that fork children count into the parent's view. */
	size_t len = sizeof(struct svc_stats) * (cf->nsvcs ? cf->nsvcs : 1);
	struct svc_stats *st = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);

	if (st == MAP_FAILED)
		return -1;
	for (size_t i = 0; i < cf->nsvcs; i++) {
		cf->svcs[i].stats = &st[i];
		st[i].warn_dgram_failed = (struct log_rate)LOG_RATE_INIT(10);
		st[i].warn_dgram_guard = (struct log_rate)LOG_RATE_INIT(10);
	}
	stats_cf = cf;
	return 0;
}

int
stats_adopt(struct config *ncf, const struct config *old)
{
	for (size_t i = 0; i < ncf->nsvcs; i++) {
		struct service *svc = &ncf->svcs[i];
		struct svc_stats *st = NULL;

		for (size_t k = 0; k < old->nsvcs && st == NULL; k++)
			if (strcmp(old->svcs[k].name, svc->name) == 0)
				st = old->svcs[k].stats;
		/* A new service: counters of its own, shared as stats_init's. */
		if (st == NULL) {
			st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
			if (st == MAP_FAILED)
				return -1;
			st->warn_dgram_failed = (struct log_rate)LOG_RATE_INIT(10);
			st->warn_dgram_guard = (struct log_rate)LOG_RATE_INIT(10);
		}
		svc->stats = st;
	}
	return 0;
}

void
stats_set_config(const struct config *cf)
{
	stats_cf = cf;
}

const struct config *
stats_config(void)
{
	return stats_cf;
}

void
stats_report(const struct config *cf)
{
	for (size_t i = 0; i < cf->nsvcs; i++) {
		struct svc_stats *st = cf->svcs[i].stats;
		if (st == NULL)
			continue;
		log_status(
		    "status: service %s: connections %llu now, %llu total; bytes %llu in, "
		    "%llu out; refused %llu max_clients, %llu no_fds, %llu fd_setsize, "
		    "%llu denied, %llu per_source, %llu rate_limit, %llu proxy; datagrams %llu received, "
		    "%llu answered, %llu dropped",
		    cf->svcs[i].name, stats_get(&st->conns_now), stats_get(&st->conns_total),
		    stats_get(&st->bytes_in), stats_get(&st->bytes_out),
		    stats_get(&st->refused[REFUSE_MAX_CLIENTS]),
		    stats_get(&st->refused[REFUSE_NO_FDS]),
		    stats_get(&st->refused[REFUSE_FDSETSIZE]),
		    stats_get(&st->refused[REFUSE_DENIED]),
		    stats_get(&st->refused[REFUSE_PER_SOURCE]),
		    stats_get(&st->refused[REFUSE_RATE]), stats_get(&st->refused[REFUSE_PROXY]),
		    stats_get(&st->dgrams_in), stats_get(&st->dgrams_answered),
		    stats_get(&st->dgrams_dropped));
	}
}
