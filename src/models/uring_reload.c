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

int
ur_reload(struct ur *ur, struct config *ncf)
{
	struct config *cf = ur->cf;
	struct ulis *lst = calloc(ncf->nls + 1, sizeof(*lst));

	if (lst == NULL) {
		log_warnx("reload: io_uring: out of memory");
		return -1;
	}
	/* A socket ncf took over keeps its accept or poll, named by its id;
	 * the others' are cancelled, and go in before the sockets close
	 * (their completions then find no listener). */
	for (size_t i = 0; i < cf->nls; i++) {
		long j = -1;

		for (size_t k = 0; k < ncf->nls && j < 0; k++)
			if (ncf->ls[k].id == cf->ls[i].id)
				j = (long)k;
		if (j >= 0)
			lst[j] = ur->lst[i];
		else
			ur_listener_cancel(ur, i);
	}
	io_uring_submit_and_get_events(&ur->ring);
	reload_commit(cf, ncf, true);
	free(ur->lst);
	ur->lst = lst;
	ur->cf = ncf;
	ur->cs.idle_timeout_ms = ncf->idle_timeout * 1000;
	ur_listeners_arm(ur);
	return 0;
}
