/* poll.c - the poll(2) backend and the poll model. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "../model.h"
#include "loop.h"

struct pl_state {
	struct pollfd *pfds; /* packed: the first n are in use */
	int *index;          /* descriptor -> slot in pfds, -1 if none */
	int n;
};

static int
pl_init(struct loop *l, int max_fds)
{
	struct pl_state *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -1;
	d->pfds = calloc((size_t)max_fds, sizeof(*d->pfds));
	d->index = malloc((size_t)max_fds * sizeof(*d->index));
	if (d->pfds == NULL || d->index == NULL) {
		free(d->pfds);
		free(d->index);
		free(d);
		return -1;
	}
	for (int i = 0; i < max_fds; i++)
		d->index[i] = -1;
	l->be_data = d;
	return max_fds;
}

static int
pl_set(struct loop *l, int fd, int old_mask, int new_mask)
{
	struct pl_state *d = l->be_data;
	short events = (short)((new_mask & LOOP_READ ? POLLIN : 0) |
	    (new_mask & LOOP_WRITE ? POLLOUT : 0));
	int slot = d->index[fd];

	(void)old_mask;
	if (new_mask == 0) {
		if (slot < 0)
			return 0;
		/* Keep the array packed: the last entry fills the hole. */
		d->pfds[slot] = d->pfds[--d->n];
		d->index[d->pfds[slot].fd] = slot;
		d->index[fd] = -1;
		return 0;
	}
	if (slot < 0) {
		slot = d->n++;
		d->index[fd] = slot;
		d->pfds[slot].fd = fd;
	}
	d->pfds[slot].events = events;
	return 0;
}

static int
pl_wait(struct loop *l, int timeout_ms)
{
	struct pl_state *d = l->be_data;
	int n = poll(d->pfds, (nfds_t)d->n, timeout_ms), nf = 0;

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < d->n && nf < n; i++) {
		short re = d->pfds[i].revents;
		int mask = 0;
		if (re == 0)
			continue;
		if (re & (POLLIN | POLLERR | POLLHUP | POLLNVAL))
			mask |= LOOP_READ;
		if (re & (POLLOUT | POLLERR | POLLHUP | POLLNVAL))
			mask |= LOOP_WRITE;
		l->fired[nf].fd = d->pfds[i].fd;
		l->fired[nf].mask = mask;
		nf++;
	}
	return nf;
}

static void
pl_fini(struct loop *l)
{
	struct pl_state *d = l->be_data;

	free(d->pfds);
	free(d->index);
	free(d);
}

static const struct backend poll_backend = {
	.name = "poll",
	.init = pl_init,
	.set = pl_set,
	.wait = pl_wait,
	.fini = pl_fini,
};

static int
poll_run(struct config *cf)
{
	return loop_run(cf, &poll_backend);
}

const struct model model_poll = {
	.name = "poll",
	.summary = "one thread, non-blocking sockets, poll(2) readiness loop",
	.run = poll_run,
	.workers = true,
};
