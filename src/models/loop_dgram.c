/* loop_dgram.c - a readiness loop's datagram listeners: a bounded batch per wake-up, paused while the output is backed up. */
#include "../conf.h"
#include "../dgram.h"
#include "../log.h"
#include "../net.h"
#include "loop_int.h"

/*
 * One batch (dgram_batch_run).  The listener stays registered
 * (level-triggered): what is left is taken at the next wake-up, after the
 * other sources had their turn.
 */
void
loop_datagrams(struct evloop *ev, struct listener *ls)
{
	dgram_batch_run(&ev->dg, ls);
}

/*
 * The datagram listeners of a service whose output is backed up (the
 * logger's pipe) are not read until it has room again, as a held
 * connection is not: the socket buffer holds what comes meanwhile, and
 * the kernel drops (and counts) what it cannot.
 */
void
loop_dgram_gate(struct evloop *ev)
{
	struct config *cf = ev->cf;

	for (size_t i = 0; i < cf->nls && !ev->stopping; i++) {
		struct listener *ls = &cf->ls[i];
		bool hold = ls->dgram && !ls->svc->out_room;

		if (hold == ev->dg_held[i] || ev->paused[i] != 0)
			continue;
		if (ev->be->set(&ev->l, ls->fd, hold ? ev->lmask : 0, hold ? 0 : ev->lmask) < 0)
			log_warn("%s: cannot %s the listener", ls->addr, hold ? "pause" : "watch");
		else
			ev->dg_held[i] = hold;
	}
}

void
loop_dgram_fini(struct evloop *ev)
{
	dgram_batch_free(&ev->dg);
}
