/* uring_reload.c - the io_uring model takes a reloaded configuration: listeners kept go on with their operations, the others are cancelled before they close. */
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

#include "../conf.h"
#include "../log.h"
#include "../net.h"
#include "../reload.h"
#include "uring_int.h"

long
ur_listener_index(const struct ur *ur, uint32_t id)
{
	for (size_t i = 0; i < ur->cf->nls; i++)
		if (ur->cf->ls[i].id == id)
			return (long)i;
	return -1;
}

struct service *
ur_service_by_uid(const struct ur *ur, uint32_t uid)
{
	RELOAD_EACH_SVC(ur->cf, c, i)
	if (c->svcs[i].uid == uid)
		return &c->svcs[i];
	return NULL;
}

/* The per-listener state, one array each (as struct ur holds them). */
struct lstate {
	bool *on, *poll, *ready, *held, *cancel;
	uint64_t *ud;
	long long *paused;
};

static void
lstate_free(struct lstate *s)
{
	free(s->on);
	free(s->poll);
	free(s->ready);
	free(s->held);
	free(s->cancel);
	free(s->ud);
	free(s->paused);
}

int
ur_reload(struct ur *ur, struct config *ncf)
{
	struct config *cf = ur->cf;
	size_t n = ncf->nls + 1;
	struct lstate s = {
		.on = calloc(n, sizeof(bool)),
		.poll = calloc(n, sizeof(bool)),
		.ready = calloc(n, sizeof(bool)),
		.held = calloc(n, sizeof(bool)),
		.cancel = calloc(n, sizeof(bool)),
		.ud = calloc(n, sizeof(uint64_t)),
		.paused = calloc(n, sizeof(long long)),
	};
	bool *kept = calloc(cf->nls + 1, sizeof(bool));

	if (s.on == NULL || s.poll == NULL || s.ready == NULL || s.held == NULL ||
	    s.cancel == NULL || s.ud == NULL || s.paused == NULL || kept == NULL) {
		log_warnx("reload: io_uring: out of memory");
		lstate_free(&s);
		free(kept);
		return -1;
	}
	/* A socket ncf took over keeps its accept or poll, named by its id. */
	for (size_t j = 0; j < ncf->nls; j++)
		for (size_t i = 0; i < cf->nls; i++) {
			if (cf->ls[i].id != ncf->ls[j].id)
				continue;
			kept[i] = true;
			s.on[j] = ur->acc_on[i];
			s.poll[j] = ur->acc_poll[i];
			s.ready[j] = ur->dg_ready[i];
			s.held[j] = ur->dg_held[i];
			s.cancel[j] = ur->dg_cancel[i];
			s.ud[j] = ur->acc_ud[i];
			s.paused[j] = ur->paused[i];
		}
	/* The others' operations are cancelled, and go in before the
	 * sockets close (their completions then find no listener). */
	for (size_t i = 0; i < cf->nls; i++)
		if (!kept[i])
			ur_listener_cancel(ur, i);
	free(kept);
	io_uring_submit_and_get_events(&ur->ring);
	reload_commit(cf, ncf, true);
	free(ur->acc_on);
	free(ur->acc_poll);
	free(ur->dg_ready);
	free(ur->dg_held);
	free(ur->dg_cancel);
	free(ur->acc_ud);
	free(ur->paused);
	ur->acc_on = s.on;
	ur->acc_poll = s.poll;
	ur->dg_ready = s.ready;
	ur->dg_held = s.held;
	ur->dg_cancel = s.cancel;
	ur->acc_ud = s.ud;
	ur->paused = s.paused;
	ur->cf = ncf;
	ur->cs.idle_timeout_ms = ncf->idle_timeout * 1000;
	ur_listeners_arm(ur);
	return 0;
}
