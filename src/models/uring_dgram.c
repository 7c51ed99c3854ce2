/* uring_dgram.c - the io_uring model's datagram listeners: a poll completion, then a bounded batch. */
#include <errno.h>
#include <stdlib.h>

#include "../conf.h"
#include "../dgram.h"
#include "../log.h"
#include "../net.h"
#include "uring_int.h"

static int
dgram_storage(struct ur *ur)
{
	if (ur->dg_bufs != NULL)
		return 0;
	ur->dg_bufs = malloc((size_t)DGRAM_BATCH * DGRAM_MAX);
	ur->dg_replies = calloc(DGRAM_BATCH, sizeof(*ur->dg_replies));
	if (ur->dg_bufs == NULL || ur->dg_replies == NULL)
		return -1;
	return 0;
}

static int
dgram_out_room(struct ur *ur, size_t n)
{
	if (n <= ur->dg_out_cap)
		return 0;
	struct dgram_out *p = realloc(ur->dg_out, n * sizeof(*p));
	if (p == NULL)
		return -1;
	ur->dg_out = p;
	ur->dg_out_cap = n;
	return 0;
}

/*
 * As the readiness loops do (loop_dgram.c): one recvmmsg of up to
 * DGRAM_BATCH datagrams, each handled, every reply in one sendmmsg that
 * does not wait; what the socket cannot take is dropped and counted.
 * Returns how many were received (DGRAM_BATCH: more may wait).
 */
int
ur_datagrams(struct ur *ur, struct listener *ls)
{
	struct dgram_msg ms[DGRAM_BATCH];
	size_t nout = 0;
	int n;

	if (dgram_storage(ur) < 0) {
		log_warn("%s: cannot receive", ls->addr);
		return 0;
	}
	n = dgram_recv_batch(ls->fd, ms, ur->dg_bufs, DGRAM_MAX, DGRAM_BATCH);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    log_rate_ok(&ur->warn_accept))
			log_warn("%s: receive", ls->addr);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		struct dgram_reply *r = &ur->dg_replies[i];
		size_t k;

		dgram_reply_reset(r);
		k = dgram_handle(ls, &ms[i], r);
		if (k == 0)
			continue;
		if (dgram_out_room(ur, nout + k) < 0) {
			dgram_sent(ls->svc, 0, k);
			continue;
		}
		for (size_t j = 0, off = 0; j < k; off += r->lens[j], j++) {
			ur->dg_out[nout].m = &ms[i];
			ur->dg_out[nout].p = r->buf + off;
			ur->dg_out[nout].n = r->lens[j];
			nout++;
		}
	}
	if (nout > 0) {
		int sent = dgram_send_batch(ls->fd, ur->dg_out, (int)nout);
		dgram_sent(ls->svc, (size_t)sent, nout - (size_t)sent);
	}
	return n;
}

void
ur_dgram_fini(struct ur *ur)
{
	if (ur->dg_replies != NULL)
		for (int i = 0; i < DGRAM_BATCH; i++)
			dgram_reply_free(&ur->dg_replies[i]);
	free(ur->dg_replies);
	free(ur->dg_bufs);
	free(ur->dg_out);
}
