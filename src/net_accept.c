/* net_accept.c - accept4 with the spare descriptor, gentle ends, O_NONBLOCK. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"

/* Kept open so that one descriptor can always be freed to shed a connection. */
static int spare_fd = -1;
/* Set by net_spare_init: a spare lost to a race is taken again when possible. */
static bool spare_wanted;

int
net_spare_init(void)
{
	spare_wanted = true;
	if (spare_fd >= 0)
		return 0;
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return spare_fd >= 0 ? 0 : -1;
}

void
net_end_gently(int fd)
{
	char tmp[4096];

	if (shutdown(fd, SHUT_WR) < 0)
		return;
	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (n <= 0 && !(n < 0 && errno == EINTR))
			break;
	}
}

bool
net_spare_ready(void)
{
	return spare_fd >= 0;
}

void
net_spare_close(void)
{
	spare_wanted = false;
	if (spare_fd >= 0)
		close(spare_fd);
	spare_fd = -1;
}

int
net_accept(int lfd, struct peer *peer, int flags)
{
	struct peer tmp;
	int fd, saved;

	if (peer == NULL)
		peer = &tmp;
	peer->salen = sizeof(peer->sa);
	fd = accept4(lfd, (struct sockaddr *)&peer->sa, &peer->salen, flags | SOCK_CLOEXEC);
	if (fd >= 0) {
		net_peer_name((struct sockaddr *)&peer->sa, peer->salen, peer->text,
		    sizeof(peer->text));
		/* Another thread took the slot while the spare was out: retake it. */
		if (spare_wanted && spare_fd < 0)
			spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		return fd;
	}
	if ((errno != EMFILE && errno != ENFILE) || spare_fd < 0)
		return -1;
	/*
	 * Out of descriptors, the connection stays pending and a level-triggered
	 * wait would report it forever: free the spare, take the connection and
	 * close it, so the client learns at once and the loop does not spin.
	 */
	saved = errno;
	close(spare_fd);
	spare_fd = -1;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	else
		saved = errno; /* accept4 says EMFILE with nothing pending too */
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	errno = saved;
	return -1;
}

int
net_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return -1;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl);
}
