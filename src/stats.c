/* stats.c - per-service counters, shared with fork children, for SIGUSR1. */
#include <stdio.h>
#include <sys/mman.h>

#include "conf.h"
#include "log.h"
#include "stats.h"

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
	return 0;
}

static unsigned long long
get(atomic_ullong *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
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
		    cf->svcs[i].name, get(&st->conns_now), get(&st->conns_total),
		    get(&st->bytes_in), get(&st->bytes_out), get(&st->refused[REFUSE_MAX_CLIENTS]),
		    get(&st->refused[REFUSE_NO_FDS]), get(&st->refused[REFUSE_FDSETSIZE]),
		    get(&st->refused[REFUSE_DENIED]), get(&st->refused[REFUSE_PER_SOURCE]),
		    get(&st->refused[REFUSE_RATE]), get(&st->refused[REFUSE_PROXY]),
		    get(&st->dgrams_in), get(&st->dgrams_answered), get(&st->dgrams_dropped));
	}
}
