/* uring-echo.c - the bench's io_uring anchor: a tuned single-threaded liburing echo loop.
 *
 * The technique of liburing's own network examples (io_uring-echo-server,
 * proxy.c), in our own code for liburing 2.3:
 *   - IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN (completion
 *     work runs only when we wait; plain flags where the kernel refuses);
 *   - one multishot accept on the listener;
 *   - one multishot receive per connection, into a provided-buffer ring
 *     registered by hand (2.3 has no io_uring_setup_buf_ring);
 *   - the reply is sent from the buffer it was received into (no copy);
 *     one send in flight per connection, the others queued in order (two
 *     sends in flight on one stream could be reordered), and the buffer goes
 *     back to the ring when its send completed;
 *   - one io_uring_submit_and_wait per wake-up; buffers go back to the ring
 *     with one tail update per batch of completions.
 * A receive that ends for lack of buffers (ENOBUFS) is re-armed once
 * buffers came back: memory is the fixed pool, never per connection
 * beyond a few bytes of state.
 * Usage: uring-echo PORT (0: a free port); prints "listening on ADDR (uring-echo)".
 */
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE   (32 * 1024)
#define BUF_COUNT  1024 /* a power of two: 32 MiB of address space, touched as used */
#define BGID       1
#define SQ_ENTRIES 1024
#define CQ_ENTRIES 16384

enum { K_ACCEPT = 1, K_RECV, K_SEND, K_CANCEL };

struct conn {
	int head, tail;  /* queued buffers (head is the one being sent), -1: none */
	uint32_t off;    /* how much of head was sent */
	uint8_t recv_on; /* multishot receive armed */
	uint8_t sending; /* head's send in flight */
	uint8_t closing; /* end once nothing is in flight */
	uint8_t starved; /* receive ended with ENOBUFS: re-arm when buffers return */
	int snext;       /* starved list, by descriptor */
};

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static int next_buf[BUF_COUNT]; /* a connection's send queue */
static uint32_t buf_len[BUF_COUNT];
static int returned;       /* buffers added since the last tail update */
static struct conn *conns; /* by descriptor */
static int nconns;
static int starved = -1;
static int listen_fd;

static uint64_t
ud(int kind, int fd)
{
	return (uint64_t)kind << 32 | (uint32_t)fd;
}

static struct io_uring_sqe *
sqe_get(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	while (sqe == NULL) { /* full: hand the queue to the kernel, then again */
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
	}
	return sqe;
}

static void
buf_return(int bid)
{
	io_uring_buf_ring_add(br, bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
	    io_uring_buf_ring_mask(BUF_COUNT), returned++);
}

static void
accept_arm(void)
{
	struct io_uring_sqe *sqe = sqe_get();

	io_uring_prep_multishot_accept(sqe, listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, ud(K_ACCEPT, listen_fd));
}

static void
recv_arm(int fd)
{
	struct io_uring_sqe *sqe = sqe_get();

	io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, ud(K_RECV, fd));
	conns[fd].recv_on = 1;
}

static void
send_head(int fd)
{
	struct conn *c = &conns[fd];
	struct io_uring_sqe *sqe = sqe_get();
	int bid = c->head;

	io_uring_prep_send(sqe, fd, bufs + (size_t)bid * BUF_SIZE + c->off, buf_len[bid] - c->off,
	    MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, ud(K_SEND, fd));
	c->sending = 1;
}

/* Ends fd once neither its receive nor a send is in flight. */
static void
maybe_close(int fd)
{
	struct conn *c = &conns[fd];

	if (!c->closing || c->recv_on || c->sending)
		return;
	while (c->head >= 0) {
		int bid = c->head;
		c->head = next_buf[bid];
		buf_return(bid);
	}
	close(fd);
	memset(c, 0, sizeof(*c));
	c->head = c->tail = -1;
}

static void
closing(int fd)
{
	struct conn *c = &conns[fd];

	if (!c->closing && c->recv_on) {
		struct io_uring_sqe *sqe = sqe_get();
		io_uring_prep_cancel64(sqe, ud(K_RECV, fd), 0);
		io_uring_sqe_set_data64(sqe, ud(K_CANCEL, fd));
	}
	c->closing = 1;
	maybe_close(fd);
}

static void
on_recv(int fd, int res, unsigned flags)
{
	struct conn *c = &conns[fd];

	if (!(flags & IORING_CQE_F_MORE))
		c->recv_on = 0;
	if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
		int bid = (int)(flags >> IORING_CQE_BUFFER_SHIFT);
		if (c->closing) {
			buf_return(bid);
		} else {
			buf_len[bid] = (uint32_t)res;
			next_buf[bid] = -1;
			if (c->head < 0) {
				c->head = c->tail = bid;
				c->off = 0;
				send_head(fd);
			} else {
				next_buf[c->tail] = bid;
				c->tail = bid;
			}
		}
		if (!c->recv_on && !c->closing)
			recv_arm(fd); /* the kernel ended it (rare): again */
		maybe_close(fd);
		return;
	}
	if (res == -ENOBUFS && !c->closing) {
		c->starved = 1;
		c->snext = starved;
		starved = fd;
		return;
	}
	closing(fd); /* the end of the stream, an error, or our cancel */
}

static void
on_send(int fd, int res)
{
	struct conn *c = &conns[fd];

	c->sending = 0;
	if (res <= 0) {
		closing(fd);
		return;
	}
	c->off += (uint32_t)res;
	if (c->off < buf_len[c->head]) { /* short: the rest */
		if (!c->closing)
			send_head(fd);
		maybe_close(fd);
		return;
	}
	int bid = c->head;
	c->head = next_buf[bid];
	c->off = 0;
	if (c->head < 0)
		c->tail = -1;
	buf_return(bid);
	if (c->head >= 0 && !c->closing)
		send_head(fd);
	maybe_close(fd);
}

static void
unstarve(void)
{
	while (starved >= 0) {
		int fd = starved;
		starved = conns[fd].snext;
		conns[fd].starved = 0;
		if (!conns[fd].closing && !conns[fd].recv_on)
			recv_arm(fd);
	}
}

static int
setup_ring(void)
{
	static const unsigned tries[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	int r = -EINVAL;

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = tries[i] | IORING_SETUP_CQSIZE;
		p.cq_entries = CQ_ENTRIES;
		r = io_uring_queue_init_params(SQ_ENTRIES, &ring, &p);
		if (r == 0)
			return 0;
		if (r != -EINVAL)
			break;
	}
	fprintf(stderr, "uring-echo: io_uring_setup: %s\n", strerror(-r));
	return -1;
}

static int
setup_bufs(void)
{
	size_t rsize = BUF_COUNT * sizeof(struct io_uring_buf);
	struct io_uring_buf_reg reg;

	br = mmap(NULL, rsize, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	bufs = mmap(NULL, (size_t)BUF_COUNT * BUF_SIZE, PROT_READ | PROT_WRITE,
	    MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (br == MAP_FAILED || bufs == MAP_FAILED)
		return -ENOMEM;
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)br;
	reg.ring_entries = BUF_COUNT;
	reg.bgid = BGID;
	int r = io_uring_register_buf_ring(&ring, &reg, 0);
	if (r < 0)
		return r;
	io_uring_buf_ring_init(br);
	for (int i = 0; i < BUF_COUNT; i++)
		buf_return(i);
	io_uring_buf_ring_advance(br, returned);
	returned = 0;
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int one = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: uring-echo PORT\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 ||
	    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listen_fd, 511) < 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&sa, &len) < 0) {
		perror("uring-echo: listen");
		return 1;
	}
	nconns = (int)sysconf(_SC_OPEN_MAX);
	if (nconns < 1024)
		nconns = 1024;
	conns = calloc((size_t)nconns, sizeof(*conns));
	if (conns == NULL || setup_ring() < 0)
		return 1;
	for (int i = 0; i < nconns; i++)
		conns[i].head = conns[i].tail = -1;
	int r = setup_bufs();
	if (r < 0) {
		fprintf(stderr, "uring-echo: buffer ring: %s\n", strerror(-r));
		return 1;
	}
	accept_arm();
	fprintf(stderr, "listening on 127.0.0.1:%d (uring-echo)\n", ntohs(sa.sin_port));
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;

		r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			fprintf(stderr, "uring-echo: io_uring_enter: %s\n", strerror(-r));
			return 1;
		}
		io_uring_for_each_cqe(&ring, head, cqe)
		{
			int fd = (int)(uint32_t)cqe->user_data;
			int kind = (int)(cqe->user_data >> 32);
			n++;
			switch (kind) {
			case K_ACCEPT:
				if (cqe->res >= 0) {
					if (cqe->res < nconns)
						recv_arm(cqe->res);
					else
						close(cqe->res);
				}
				if (!(cqe->flags & IORING_CQE_F_MORE))
					accept_arm();
				break;
			case K_RECV:
				on_recv(fd, cqe->res, cqe->flags);
				break;
			case K_SEND:
				on_send(fd, cqe->res);
				break;
			default:
				break;
			}
		}
		io_uring_cq_advance(&ring, n);
		if (returned) {
			io_uring_buf_ring_advance(br, returned);
			returned = 0;
			unstarve();
		}
	}
}
