/* epoll-echo.c - the bench's speed limit: a minimal single-threaded epoll echo loop.
 *
 * Level-triggered; one 256 KiB read buffer for the loop; read, then write
 * straight back; only what the socket would not take is kept, and then
 * the connection stops reading and waits for EPOLLOUT until it is sent.
 * Usage: epoll-echo PORT (0: a free port); prints "listening on ADDR (epoll-echo)".
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_SIZE  (256 * 1024)
#define MAX_EVENTS 1024

struct pending {
	char *data;
	size_t len, off;
};

static struct pending *pend; /* by descriptor */
static int npend;
static char rbuf[READ_SIZE];

static void
drop(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(pend[fd].data);
	memset(&pend[fd], 0, sizeof(pend[fd]));
}

static void
watch(int ep, int op, int fd, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.fd = fd };

	if (epoll_ctl(ep, op, fd, &e) < 0) {
		perror("epoll_ctl");
		exit(1);
	}
}

/* Sends what the socket takes; keeps the rest and waits for EPOLLOUT. */
static void
send_rest(int ep, int fd, const char *p, size_t n, int was_pending)
{
	struct pending *pd = &pend[fd];
	size_t off = 0;

	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			drop(ep, fd);
			return;
		}
		off += (size_t)w;
	}
	if (off == n) {
		if (was_pending) {
			free(pd->data);
			memset(pd, 0, sizeof(*pd));
			watch(ep, EPOLL_CTL_MOD, fd, EPOLLIN);
		}
		return;
	}
	if (was_pending) {
		pd->off += off;
		return;
	}
	pd->data = malloc(n - off);
	if (pd->data == NULL) {
		drop(ep, fd);
		return;
	}
	memcpy(pd->data, p + off, n - off);
	pd->len = n - off;
	pd->off = 0;
	watch(ep, EPOLL_CTL_MOD, fd, EPOLLOUT);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct epoll_event ev[MAX_EVENTS];
	int one = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: epoll-echo PORT\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 511) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &len) < 0) {
		perror("epoll-echo: listen");
		return 1;
	}
	npend = (int)sysconf(_SC_OPEN_MAX);
	if (npend < 1024)
		npend = 1024;
	pend = calloc((size_t)npend, sizeof(*pend));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (pend == NULL || ep < 0) {
		perror("epoll-echo");
		return 1;
	}
	watch(ep, EPOLL_CTL_ADD, ls, EPOLLIN);
	fprintf(stderr, "listening on 127.0.0.1:%d (epoll-echo)\n", ntohs(sa.sin_port));
	for (;;) {
		int n = epoll_wait(ep, ev, MAX_EVENTS, -1);
		if (n < 0 && errno != EINTR) {
			perror("epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			if (fd == ls) {
				int c;
				while ((c = accept4(ls, NULL, NULL,
				            SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					if (c >= npend) {
						close(c);
						continue;
					}
					watch(ep, EPOLL_CTL_ADD, c, EPOLLIN);
				}
				continue;
			}
			if (pend[fd].data) {
				struct pending *pd = &pend[fd];
				send_rest(ep, fd, pd->data + pd->off, pd->len - pd->off, 1);
				continue;
			}
			ssize_t r = read(fd, rbuf, sizeof(rbuf));
			if (r > 0)
				send_rest(ep, fd, rbuf, (size_t)r, 0);
			else if (r == 0 || (errno != EAGAIN && errno != EINTR))
				drop(ep, fd);
		}
	}
}
