/* loop_dgram.c - a readiness loop's datagram listeners: a bounded batch per wake-up, paused while the output is backed up. */
#include <errno.h>
#include <stdlib.h>

#include "../conf.h"
#include "../dgram.h"
#include "../log.h"
#include "../net.h"
#include "loop_int.h"

/* The batch's storage, allocated on the first datagram: DGRAM_BATCH
 * buffers of DGRAM_MAX bytes, a reply list per datagram, the sends. */
static int
dgram_storage(struct evloop *ev)
{
	if (ev->dg_bufs != NULL)
		return 0;
	ev->dg_bufs = malloc((size_t)DGRAM_BATCH * DGRAM_MAX);
	ev->dg_replies = calloc(DGRAM_BATCH, sizeof(*ev->dg_replies));
	if (ev->dg_bufs == NULL || ev->dg_replies == NULL)
		return -1;
	return 0;
}

/* Room for n sends. 0 or -1. */
static int
dgram_out_room(struct evloop *ev, size_t n)
{
	if (n <= ev->dg_out_cap)
		return 0;
	struct dgram_out *p = realloc(ev->dg_out, n * sizeof(*p));
	if (p == NULL)
		return -1;
	ev->dg_out = p;
	ev->dg_out_cap = n;
	return 0;
}

/*
 * One recvmmsg of up to DGRAM_BATCH datagrams, each handled (dgram.h),
 * then every reply in one sendmmsg that does not wait: what the socket
 * cannot take is dropped and counted, never queued.  The listener stays
 * registered (level-triggered): what is left is taken at the next wake-up,
 * after the other sources had their turn.
 */
void
loop_datagrams(struct evloop *ev, struct listener *ls)
{
	struct dgram_msg ms[DGRAM_BATCH];
	size_t nout = 0;
	int n;

	if (dgram_storage(ev) < 0) {
		log_warn("%s: cannot receive", ls->addr);
		return;
	}
	n = dgram_recv_batch(ls->fd, ms, ev->dg_bufs, DGRAM_MAX, DGRAM_BATCH);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    log_rate_ok(&ev->warn_accept))
			log_warn("%s: receive", ls->addr);
		return;
	}
	for (int i = 0; i < n; i++) {
		struct dgram_reply *r = &ev->dg_replies[i];
		size_t k;

		dgram_reply_reset(r);
		k = dgram_handle(ls, &ms[i], r);
		if (k == 0)
			continue;
		if (dgram_out_room(ev, nout + k) < 0) {
			dgram_sent(ls->svc, 0, k);
			continue;
		}
		for (size_t j = 0, off = 0; j < k; off += r->lens[j], j++) {
			ev->dg_out[nout].m = &ms[i];
			ev->dg_out[nout].p = r->buf + off;
			ev->dg_out[nout].n = r->lens[j];
			nout++;
		}
	}
	if (nout > 0) {
		int sent = dgram_send_batch(ls->fd, ev->dg_out, (int)nout);
		dgram_sent(ls->svc, (size_t)sent, nout - (size_t)sent);
	}
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
		bool hold = ls->dgram && !ev->out_room[ls->svc - cf->svcs];

		if (hold == ev->dg_held[i] || ev->paused[i] != 0)
			continue;
		if (ev->be->set(&ev->l, ls->fd, hold ? LOOP_READ : 0, hold ? 0 : LOOP_READ) < 0)
			log_warn("%s: cannot %s the listener", ls->addr, hold ? "pause" : "watch");
		else
			ev->dg_held[i] = hold;
	}
}

void
loop_dgram_fini(struct evloop *ev)
{
	if (ev->dg_replies != NULL)
		for (int i = 0; i < DGRAM_BATCH; i++)
			dgram_reply_free(&ev->dg_replies[i]);
	free(ev->dg_replies);
	free(ev->dg_bufs);
	free(ev->dg_out);
}
