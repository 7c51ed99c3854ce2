/* uring_setup.c - the io_uring model's ring and provided buffers, the probe, the submission helpers. */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "uring_int.h"

struct io_uring_sqe *
ur_sqe(struct ur *ur)
{
	struct io_uring_sqe *sqe;

	while ((sqe = io_uring_get_sqe(&ur->ring)) == NULL)
		io_uring_submit(&ur->ring); /* the queue is full: make room */
	return sqe;
}

void
ur_cancel(struct ur *ur, uint64_t ud)
{
	struct io_uring_sqe *sqe = ur_sqe(ur);

	io_uring_prep_cancel64(sqe, ud, 0);
	io_uring_sqe_set_data64(sqe, ur_ud(UR_IGNORE, 0, 0));
}

void
ur_buf_return(struct ur *ur, int bid)
{
	io_uring_buf_ring_add(ur->br, ur->bufs + (size_t)bid * UR_BUF_SIZE, UR_BUF_SIZE,
	    (unsigned short)bid, io_uring_buf_ring_mask(UR_BUF_COUNT), 0);
	io_uring_buf_ring_advance(ur->br, 1);
	ur->nfree++;
}

/* One line naming why io_uring cannot be used here. */
void
ur_cause(char *err, size_t errlen, const char *what, int e)
{
	const char *hint = e == EPERM ? " (kernel.io_uring_disabled, a seccomp filter?)" :
	    e == ENOSYS               ? " (a kernel without io_uring?)" :
	    e == ENOMEM               ? " (the memlock limit?)" :
	    e == EINVAL               ? " (a kernel older than 5.19?)" :
	                                "";

	snprintf(err, errlen, "io_uring: cannot %s: %s%s", what, strerror(e), hint);
}

/* The ring, with the flags a single issuer can use where the kernel knows them. */
int
ur_ring_setup(struct io_uring *ring, unsigned entries, unsigned cq, char *err, size_t errlen)
{
	static const unsigned tries[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	int r = -EINVAL;

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]) && r == -EINVAL; i++) {
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		p.flags = tries[i] | (cq ? IORING_SETUP_CQSIZE : 0);
		p.cq_entries = cq;
		r = io_uring_queue_init_params(entries, ring, &p);
	}
	if (r < 0)
		ur_cause(err, errlen, "set up a ring", -r);
	return r;
}

/* The provided-buffer ring (liburing 2.3 has no io_uring_setup_buf_ring). */
int
ur_bufs_setup(struct ur *ur, char *err, size_t errlen)
{
	size_t rsize = UR_BUF_COUNT * sizeof(struct io_uring_buf);
	struct io_uring_buf_reg reg;
	int r;

	ur->br = mmap(NULL, rsize, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (ur->br == MAP_FAILED) {
		ur->br = NULL;
		ur_cause(err, errlen, "map the buffer ring", errno);
		return -1;
	}
	/* Touched now: the pool is fixed, memory does not grow with traffic. */
	ur->bufs = mmap(NULL, (size_t)UR_BUF_COUNT * UR_BUF_SIZE, PROT_READ | PROT_WRITE,
	    MAP_ANONYMOUS | MAP_PRIVATE | MAP_POPULATE, -1, 0);
	if (ur->bufs == MAP_FAILED) {
		ur->bufs = NULL;
		ur_cause(err, errlen, "map the buffers", errno);
		return -1;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)ur->br;
	reg.ring_entries = UR_BUF_COUNT;
	reg.bgid = UR_BGID;
	r = io_uring_register_buf_ring(&ur->ring, &reg, 0);
	if (r < 0) {
		ur_cause(err, errlen, "register a buffer ring", -r);
		return -1;
	}
	io_uring_buf_ring_init(ur->br);
	for (int i = 0; i < UR_BUF_COUNT; i++)
		io_uring_buf_ring_add(ur->br, ur->bufs + (size_t)i * UR_BUF_SIZE, UR_BUF_SIZE,
		    (unsigned short)i, io_uring_buf_ring_mask(UR_BUF_COUNT), i);
	io_uring_buf_ring_advance(ur->br, UR_BUF_COUNT);
	ur->nfree = UR_BUF_COUNT;
	return 0;
}

/* At configuration time (-t too): a tiny ring and buffer ring, then freed. */
int
ur_probe(char *err, size_t errlen)
{
	struct io_uring ring;
	struct io_uring_buf_reg reg;
	void *br;
	int r;

	if (ur_ring_setup(&ring, 4, 0, err, errlen) < 0)
		return -1;
	br = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (br == MAP_FAILED) {
		ur_cause(err, errlen, "map a buffer ring", errno);
		io_uring_queue_exit(&ring);
		return -1;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)br;
	reg.ring_entries = 4;
	reg.bgid = UR_BGID;
	r = io_uring_register_buf_ring(&ring, &reg, 0);
	if (r < 0)
		ur_cause(err, errlen, "register a buffer ring", -r);
	io_uring_queue_exit(&ring);
	munmap(br, 4096);
	return r < 0 ? -1 : 0;
}
