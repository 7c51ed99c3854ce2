/* epoll.c - the epoll(7) backend and the epoll model (the default). */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../model.h"
#include "loop.h"

/* Events taken per wait: bounded work per wake-up. */
#define EPOLL_BATCH 1024

struct ep_state {
	int epfd;
	struct epoll_event events[EPOLL_BATCH];
};

static int
ep_init(struct loop *l, int max_fds)
{
	struct ep_state *d = malloc(sizeof(*d));

	if (d == NULL)
		return -1;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0) {
		free(d);
		return -1;
	}
	l->be_data = d;
	return max_fds;
}

static int
ep_set(struct loop *l, int fd, int old_mask, int new_mask)
{
	struct ep_state *d = l->be_data;
	struct epoll_event e = { 0 };
	int op = old_mask == 0 ? EPOLL_CTL_ADD : new_mask == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;

	e.events = (new_mask & LOOP_READ ? EPOLLIN : 0) | (new_mask & LOOP_WRITE ? EPOLLOUT : 0);
	/* Workers on one listener: one of them woken per connection, not all. */
	if ((new_mask & LOOP_SHARED) && op == EPOLL_CTL_ADD)
		e.events |= EPOLLEXCLUSIVE;
	e.data.fd = fd;
	return epoll_ctl(d->epfd, op, fd, &e);
}

static int
ep_wait(struct loop *l, int timeout_ms)
{
	struct ep_state *d = l->be_data;
	int max = l->setsize < EPOLL_BATCH ? l->setsize : EPOLL_BATCH;
	int n = epoll_wait(d->epfd, d->events, max, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++) {
		uint32_t ev = d->events[i].events;
		int mask = 0;
		if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
			mask |= LOOP_READ;
		if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			mask |= LOOP_WRITE;
		l->fired[i].fd = d->events[i].data.fd;
		l->fired[i].mask = mask;
	}
	return n;
}

static void
ep_fini(struct loop *l)
{
	struct ep_state *d = l->be_data;

	close(d->epfd);
	free(d);
}

static const struct backend epoll_backend = {
	.name = "epoll",
	.init = ep_init,
	.set = ep_set,
	.wait = ep_wait,
	.fini = ep_fini,
};

static int
epoll_run(struct config *cf)
{
	return loop_run(cf, &epoll_backend);
}

const struct model model_epoll = {
	.name = "epoll",
	.summary = "one thread, non-blocking sockets, epoll(7) readiness loop (default)",
	.run = epoll_run,
	.workers = true,
};
