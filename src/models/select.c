/* select.c - the select(2) backend and the select model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "../model.h"
#include "loop.h"

struct sl_state {
	fd_set rfds, wfds; /* the interest; select() works on copies */
	fd_set rcopy, wcopy;
	int maxfd; /* highest registered descriptor, -1 if none */
};

static int
sl_init(struct loop *l, int max_fds)
{
	struct sl_state *d = malloc(sizeof(*d));

	if (d == NULL)
		return -1;
	FD_ZERO(&d->rfds);
	FD_ZERO(&d->wfds);
	d->maxfd = -1;
	l->be_data = d;
	/* An fd_set holds descriptors below FD_SETSIZE only: the loop
	 * refuses connections at or above it instead of overrunning. */
	return max_fds < FD_SETSIZE ? max_fds : FD_SETSIZE;
}

static int
sl_set(struct loop *l, int fd, int old_mask, int new_mask)
{
	struct sl_state *d = l->be_data;

	(void)old_mask;
	if (fd < 0 || fd >= FD_SETSIZE) {
		errno = EINVAL;
		return -1;
	}
	if (new_mask & LOOP_READ)
		FD_SET(fd, &d->rfds);
	else
		FD_CLR(fd, &d->rfds);
	if (new_mask & LOOP_WRITE)
		FD_SET(fd, &d->wfds);
	else
		FD_CLR(fd, &d->wfds);
	if (new_mask && fd > d->maxfd)
		d->maxfd = fd;
	else if (!new_mask && fd == d->maxfd)
		while (
		    d->maxfd >= 0 && !FD_ISSET(d->maxfd, &d->rfds) && !FD_ISSET(d->maxfd, &d->wfds))
			d->maxfd--;
	return 0;
}

static int
sl_wait(struct loop *l, int timeout_ms)
{
	struct sl_state *d = l->be_data;
	struct timeval tv, *tvp = NULL;
	int n, nf = 0;

	if (timeout_ms >= 0) {
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
		tvp = &tv;
	}
	memcpy(&d->rcopy, &d->rfds, sizeof(fd_set));
	memcpy(&d->wcopy, &d->wfds, sizeof(fd_set));
	n = select(d->maxfd + 1, &d->rcopy, &d->wcopy, NULL, tvp);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int fd = 0; fd <= d->maxfd && nf < n; fd++) {
		int mask = (FD_ISSET(fd, &d->rcopy) ? LOOP_READ : 0) |
		    (FD_ISSET(fd, &d->wcopy) ? LOOP_WRITE : 0);
		if (mask) {
			l->fired[nf].fd = fd;
			l->fired[nf].mask = mask;
			nf++;
		}
	}
	return nf;
}

static void
sl_fini(struct loop *l)
{
	free(l->be_data);
}

static const struct backend select_backend = {
	.name = "select",
	.init = sl_init,
	.set = sl_set,
	.wait = sl_wait,
	.fini = sl_fini,
};

static int
select_run(struct config *cf)
{
	return loop_run(cf, &select_backend);
}

const struct model model_select = {
	.name = "select",
	.summary = "one thread, non-blocking sockets, select(2) readiness loop",
	.run = select_run,
	.workers = true,
};
