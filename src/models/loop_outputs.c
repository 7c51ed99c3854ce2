/* loop_outputs.c - a readiness loop and the handlers' outputs: each backed-up output watched for writability (those of retired configurations too), the connections held on them resumed. */
#include <stdbool.h>

#include "../conf.h"
#include "../handler.h"
#include "../log.h"
#include "../reload.h"
#include "loop.h"
#include "loop_int.h"

/* True when a service iterated before svc watches the same descriptor. */
static bool
out_fd_taken_before(const struct evloop *ev, const struct service *svc)
{
	RELOAD_EACH_SVC(ev->cf, c, i)
	{
		if (&c->svcs[i] == svc)
			return false;
		if (c->svcs[i].out_fd == svc->out_fd)
			return true;
	}
	return false;
}

/* True when some service watches fd. */
static bool
out_fd_taken(const struct evloop *ev, int fd)
{
	RELOAD_EACH_SVC(ev->cf, c, i)
	if (c->svcs[i].out_fd == fd)
		return true;
	return false;
}

/*
 * The handlers' own outputs (the logger's pipe): writes what they queued
 * and watches each output that still holds some for writability.
 * Services may share an output, hence one registration per descriptor.
 */
static void
outputs_watch(struct evloop *ev)
{
	RELOAD_EACH_SVC(ev->cf, c, i)
	{
		struct service *svc = &c->svcs[i];
		bool room = true;
		int fd = svc->handler->backlog ? svc->handler->backlog(svc, &room) : -1;
		int old = svc->out_fd;

		svc->out_room = room;
		if (fd == old)
			continue;
		svc->out_fd = -1;
		if (old >= 0 && !out_fd_taken(ev, old)) {
			ev->be->set(&ev->l, old, LOOP_WRITE, 0);
			ev->nwatched--;
		}
		if (fd >= 0 && !out_fd_taken(ev, fd)) {
			if (ev->be->set(&ev->l, fd, 0, LOOP_WRITE) < 0) {
				log_warn("%s: cannot watch output descriptor %d", ev->be->name, fd);
				continue;
			}
			ev->nwatched++;
		}
		svc->out_fd = fd;
	}
}

/*
 * After a SIGHUP the outputs were reopened: a descriptor watched may now
 * be another file under the same number, and epoll dropped the watch of
 * the file closed.  Every watch goes; outputs_watch makes them again.
 * (Nothing was accepted since: a number reused is an output or a
 * listener not watched yet, which the removal leaves alone.)
 */
void
loop_outputs_unwatch(struct evloop *ev)
{
	RELOAD_EACH_SVC(ev->cf, c, i)
	{
		struct service *svc = &c->svcs[i];

		if (svc->out_fd >= 0 && !out_fd_taken_before(ev, svc))
			ev->be->set(&ev->l, svc->out_fd, LOOP_WRITE, 0); /* may be gone: fine */
	}
	RELOAD_EACH_SVC(ev->cf, c, i)
	c->svcs[i].out_fd = -1;
	ev->nwatched = 0;
}

/* Resumes the held connections whose service's output has room again;
 * how many. */
static int
held_release(struct evloop *ev)
{
	int n = 0;

	for (struct conn *c = ev->cs.held, *next; c != NULL; c = next) {
		next = c->hnext;
		if (!c->svc->out_room)
			continue;
		n++;
		if (conn_resume(&ev->cs, c) < 0) {
			loop_close(ev, c);
			continue;
		}
		loop_settle(ev, c); /* may hold it again: it goes back on the list */
	}
	return n;
}

/*
 * After every wake-up: the outputs, then the held connections of the
 * services whose output has room again, then the outputs again (those
 * connections may have queued records that nothing would otherwise
 * watch), a few rounds while that frees room.  Should held connections
 * with room remain, the next wait does not block (held_ready): nothing
 * is left for a wake-up that may not come.
 */
void
loop_outputs(struct evloop *ev)
{
	outputs_watch(ev);
	for (int round = 0; round < 4 && ev->cs.held != NULL; round++) {
		if (held_release(ev) == 0)
			break;
		outputs_watch(ev);
	}
	ev->held_ready = false;
	for (struct conn *c = ev->cs.held; c != NULL && !ev->held_ready; c = c->hnext)
		ev->held_ready = c->svc->out_room;
	loop_dgram_gate(ev);
}
