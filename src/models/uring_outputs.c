/* uring_outputs.c - the io_uring model's handler outputs, held connections and datagram listeners, after every wake-up. */
#include <poll.h>
#include <stdbool.h>

#include "../conf.h"
#include "../handler.h"
#include "../reload.h"
#include "uring_int.h"

/*
 * The handlers' own outputs (the logger's pipe), as the readiness loops
 * do: writes what they queued, and a poll for writability on each output
 * that still holds some.
 */
static void
outputs_watch(struct ur *ur)
{
	ur->nwatched = 0;
	RELOAD_EACH_SVC(ur->cf, c, i)
	{
		struct service *svc = &c->svcs[i];
		bool room = true;
		int fd = svc->handler->backlog ? svc->handler->backlog(svc, &room) : -1;

		svc->out_room = room;
		if (fd != svc->out_fd && svc->out_armed != 0) {
			ur_cancel(ur, ur_ud(UR_OUTPOLL, svc->out_armed, svc->uid));
			svc->out_armed = 0; /* its completion is ignored */
		}
		svc->out_fd = fd;
		if (fd < 0)
			continue;
		ur->nwatched++;
		if (svc->out_armed == 0 && !ur->exiting) {
			struct io_uring_sqe *sqe = ur_sqe(ur);
			uint32_t gen = (++ur->gen & 0xffffff) | 1;
			io_uring_prep_poll_add(sqe, fd, POLLOUT);
			io_uring_sqe_set_data64(sqe, ur_ud(UR_OUTPOLL, gen, svc->uid));
			svc->out_armed = gen;
			ur->inflight++;
		}
	}
}

/* Held connections whose service's output has room again, not sending. */
static bool
held_may_go(struct ur *ur, struct conn *c)
{
	struct uconn *u = ur_uc_at(ur, c->fd);

	return c->svc->out_room && u != NULL && !u->sending && u->end == UC_OPEN;
}

static int
held_release(struct ur *ur)
{
	int n = 0;

	for (struct conn *c = ur->cs.held, *next; c != NULL; c = next) {
		struct uconn *u = ur_uc_at(ur, c->fd);

		next = c->hnext;
		if (!held_may_go(ur, c))
			continue;
		n++;
		if (conn_resume(&ur->cs, c) < 0)
			uc_close(ur, u, UC_CLOSE);
		else
			uc_settle(ur, u); /* may hold it again */
	}
	return n;
}

/* The datagram listeners of a service whose output is backed up are not read. */
static void
dgram_gate(struct ur *ur)
{
	struct config *cf = ur->cf;

	for (size_t i = 0; i < cf->nls && !ur->stopping; i++) {
		bool hold = cf->ls[i].dgram && !cf->ls[i].svc->out_room;

		if (hold == ur->lst[i].held)
			continue;
		ur->lst[i].held = hold;
		if (hold)
			ur_listener_cancel(ur, i);
		else
			ur->lst[i].ready = true; /* what came meanwhile */
	}
}

/* After every wake-up, as loop_outputs does for the readiness loops. */
void
ur_outputs(struct ur *ur)
{
	outputs_watch(ur);
	for (int round = 0; round < 4 && ur->cs.held != NULL; round++) {
		if (held_release(ur) == 0)
			break;
		outputs_watch(ur);
	}
	ur->held_ready = false;
	for (struct conn *c = ur->cs.held; c != NULL && !ur->held_ready; c = c->hnext)
		ur->held_ready = held_may_go(ur, c);
	dgram_gate(ur);
}

/* Datagram listeners with datagrams waiting: a batch each.  True while
 * some may have more. */
bool
ur_datagrams_all(struct ur *ur)
{
	bool more = false;

	for (size_t i = 0; i < ur->cf->nls && !ur->stopping; i++) {
		if (!ur->lst[i].ready || ur->lst[i].held)
			continue;
		ur->lst[i].ready = dgram_batch_run(&ur->dg, &ur->cf->ls[i]) == DGRAM_BATCH;
		more |= ur->lst[i].ready;
	}
	return more;
}
