/* net_unix.c - unix: and unixgram: listeners: their socket files, made and removed safely. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "net.h"
#include "net_int.h"

/*
 * Whether path is a stale socket file: a socket nobody accepts on.  A
 * non-blocking probe, so a live server with a full backlog (EAGAIN) counts
 * as live instead of blocking us.  The stream probe serves unixgram files
 * too: a live datagram socket answers EPROTOTYPE (live), a file no socket
 * holds ECONNREFUSED whatever its type (stale).
 */
static bool
stale_socket(const struct sockaddr_un *su, socklen_t len)
{
	int fd, r, e;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return false;
	r = connect(fd, (const struct sockaddr *)su, len);
	e = errno;
	close(fd);
	return r == -1 && e == ECONNREFUSED;
}

/*
 * Binds fd to su, replacing a stale socket file at path.  0, -1 with
 * errno, or -2 when path exists and is not a socket.
 */
static int
bind_unix(int fd, const struct sockaddr_un *su, socklen_t len, const char *path)
{
	struct stat st;

	for (int tries = 0;; tries++) {
		if (bind(fd, (const struct sockaddr *)su, len) == 0)
			return 0;
		if (errno != EADDRINUSE || tries > 0)
			return -1;
		/* Never delete what is not ours to delete. */
		if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
			return -2;
		/* A socket left by a process that died: replace it. */
		if (!stale_socket(su, len)) {
			errno = EADDRINUSE;
			return -1;
		}
		if (unlink(path) == -1 && errno != ENOENT)
			return -1;
	}
}

/*
 * Removes the socket file at path if it is still the one bind(2) made
 * (dev, ino): another server may have removed ours and bound its own
 * there.  Keeps errno.
 */
void
unlink_ours(const char *path, dev_t dev, ino_t ino)
{
	struct stat now;
	int saved = errno;

	if (lstat(path, &now) == 0 && now.st_dev == dev && now.st_ino == ino &&
	    unlink(path) == -1 && errno != ENOENT)
		log_warn("cannot remove %s", path);
	errno = saved;
}

int
listen_unix(struct config *cf, struct service *svc, const char *spec, const struct net_addr *a,
    char *err, size_t errlen)
{
	struct stat file;
	struct sockaddr_un su;
	socklen_t len;
	mode_t old_mask = 0;
	char name[NET_ADDRSTRLEN];
	int fd, saved, r;

	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	memcpy(su.sun_path, a->path, strlen(a->path) + 1);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a->path) + 1);
	snprintf(name, sizeof(name), "%s:%s", a->dgram ? "unixgram" : "unix", a->path);

	fd = socket(AF_UNIX, (a->dgram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		goto fail;
	/*
	 * mode: bind creates the file as 0777 minus the umask, so with this
	 * umask it is born with the mode.  A chmod(path) after bind would
	 * also come before listen, but it follows a symlink that anyone who
	 * can write the directory swaps in meanwhile.  Start-up is
	 * single-threaded, so the process-wide umask touches nothing else.
	 */
	if (svc->has_mode)
		old_mask = umask(0777 & ~(mode_t)svc->mode);
	r = bind_unix(fd, &su, len, a->path);
	saved = errno;
	if (svc->has_mode)
		umask(old_mask);
	errno = saved;
	if (r == -2) {
		snprintf(err, errlen, "cannot listen on %s: file exists and is not a socket", spec);
		close(fd);
		return -1;
	}
	if (r == -1)
		goto fail;
	/*
	 * The file bind(2) just made, identified, so that only it is ever
	 * removed: by the time we stop, the path may name another server's
	 * socket.
	 */
	r = lstat(a->path, &file);
	if (r == -1 || !S_ISSOCK(file.st_mode)) {
		saved = errno;
		close(fd);
		snprintf(err, errlen, "cannot listen on %s: socket file after bind: %s", spec,
		    r == -1 ? strerror(saved) : "replaced by another file");
		return -1;
	}
	if (!a->dgram && listen(fd, backlog_of(cf)) == -1) {
		saved = errno;
		unlink_ours(a->path, file.st_dev, file.st_ino);
		errno = saved;
		goto fail;
	}
	if (add_listener(cf, fd, svc, name, a->dgram, a->path, &file) == -1) {
		saved = errno;
		unlink_ours(a->path, file.st_dev, file.st_ino);
		snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(saved));
		return -1;
	}
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(saved));
	return -1;
}
