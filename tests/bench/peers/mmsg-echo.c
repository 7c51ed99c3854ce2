/* mmsg-echo.c - the bench's datagram speed limit: a minimal recvmmsg/sendmmsg loop.
 *
 * One blocking UDP socket; recvmmsg with MSG_WAITFORONE sleeps for the
 * first datagram and then takes whatever else is queued (up to BATCH);
 * echo answers the whole batch with one sendmmsg, discard drops it.
 * No readiness call, no copies: two system calls per batch at best.
 * Usage: mmsg-echo echo|discard PORT (0: a free port);
 * prints "listening on udp:127.0.0.1:PORT (mmsg-echo)".
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH     64
#define DGRAM_MAX 65536

static char bufs[BATCH][DGRAM_MAX];
static struct mmsghdr msgs[BATCH];
static struct iovec iovs[BATCH];
static struct sockaddr_in peers[BATCH];

/* Sends replies [0, n); a reply the kernel refuses is skipped (dropped). */
static void
answer(int fd, unsigned n)
{
	unsigned done = 0;

	while (done < n) {
		int k = sendmmsg(fd, msgs + done, n - done, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			done++;
			continue;
		}
		done += (unsigned)k;
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int echo;

	if (argc != 3 || (strcmp(argv[1], "echo") != 0 && strcmp(argv[1], "discard") != 0)) {
		fprintf(stderr, "usage: mmsg-echo echo|discard PORT\n");
		return 2;
	}
	echo = strcmp(argv[1], "echo") == 0;
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		perror("mmsg-echo: bind");
		return 1;
	}
	for (unsigned i = 0; i < BATCH; i++) {
		iovs[i].iov_base = bufs[i];
		msgs[i].msg_hdr.msg_name = &peers[i];
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	fprintf(stderr, "listening on udp:127.0.0.1:%d (mmsg-echo)\n", ntohs(sa.sin_port));
	int n = BATCH;
	for (;;) {
		/* Only the entries the last batch used were changed. */
		for (int i = 0; i < n; i++) {
			iovs[i].iov_len = DGRAM_MAX;
			msgs[i].msg_hdr.msg_namelen = sizeof(peers[i]);
		}
		n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR) {
				n = 0;
				continue;
			}
			perror("mmsg-echo: recvmmsg");
			return 1;
		}
		if (!echo)
			continue;
		/* The reply is the datagram: its length, back to its sender. */
		for (int i = 0; i < n; i++)
			iovs[i].iov_len = msgs[i].msg_len;
		answer(fd, (unsigned)n);
	}
}
