/* dgram_batch.c - a single-threaded loop's datagram batch: one recvmmsg, each handled, one sendmmsg. */
#include <errno.h>
#include <stdlib.h>

#include "conf.h"
#include "dgram.h"
#include "log.h"
#include "net.h"

/* The storage, allocated on the first datagram: DGRAM_BATCH buffers of
 * DGRAM_MAX bytes and a reply list per datagram. 0 or -1. */
static int
storage(struct dgram_batch *b)
{
	if (b->bufs != NULL)
		return 0;
	b->bufs = malloc((size_t)DGRAM_BATCH * DGRAM_MAX);
	b->replies = calloc(DGRAM_BATCH, sizeof(*b->replies));
	if (b->bufs == NULL || b->replies == NULL)
		return -1;
	return 0;
}

/* Room for n sends. 0 or -1. */
static int
out_room(struct dgram_batch *b, size_t n)
{
	struct dgram_out *p;

	if (n <= b->out_cap)
		return 0;
	if ((p = realloc(b->out, n * sizeof(*p))) == NULL)
		return -1;
	b->out = p;
	b->out_cap = n;
	return 0;
}

int
dgram_batch_run(struct dgram_batch *b, struct listener *ls)
{
	struct dgram_msg ms[DGRAM_BATCH];
	size_t nout = 0;
	int n;

	if (storage(b) < 0) {
		log_warn("%s: cannot receive", ls->addr);
		return -1;
	}
	n = dgram_recv_batch(ls->fd, ms, b->bufs, DGRAM_MAX, DGRAM_BATCH);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (log_rate_ok(&b->warn))
			log_warn("%s: receive", ls->addr);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct dgram_reply *r = &b->replies[i];
		size_t k = dgram_handle(ls, &ms[i], r);

		if (k == 0)
			continue;
		if (out_room(b, nout + k) < 0) {
			dgram_sent(ls->svc, 0, k);
			continue;
		}
		for (size_t j = 0, off = 0; j < k; off += r->lens[j], j++) {
			b->out[nout].m = &ms[i];
			b->out[nout].p = r->buf + off;
			b->out[nout].n = r->lens[j];
			nout++;
		}
	}
	if (nout > 0) {
		int sent = dgram_send_batch(ls->fd, b->out, (int)nout);
		dgram_sent(ls->svc, (size_t)sent, nout - (size_t)sent);
	}
	return n;
}

void
dgram_batch_free(struct dgram_batch *b)
{
	if (b->replies != NULL)
		for (int i = 0; i < DGRAM_BATCH; i++)
			dgram_reply_free(&b->replies[i]);
	free(b->replies);
	free(b->bufs);
	free(b->out);
	b->replies = NULL;
	b->bufs = NULL;
	b->out = NULL;
	b->out_cap = 0;
}
