/* recout_fd.c - the descriptors behind record outputs: files, non-blocking streams, reopening. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"
#include "recout_int.h"

int
ro_open_path(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

/*
 * Makes o->fd safe to write from a loop that must not block: a regular
 * file stays as it is; anything else becomes a stream output with a
 * non-blocking descriptor of our own.  Standard output is shared with
 * whoever started us, so it is reopened through /proc (a new open file
 * description of the same pipe or terminal) rather than changed; a socket
 * cannot be reopened and is written with MSG_DONTWAIT instead.
 */
int
ro_stream_setup(struct recout *o, char *err, size_t errlen)
{
	struct stat st;
	pthread_mutexattr_t ma;

	if (fstat(o->fd, &st) < 0) {
		snprintf(err, errlen, "logger output %s: %s", o->path, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode))
		return 0;
	o->kind = RO_STREAM;
	if (S_ISSOCK(st.st_mode)) {
		o->is_socket = true;
	} else if (o->own_fd) {
		if (net_set_nonblock(o->fd, 1) < 0) {
			snprintf(err, errlen, "logger output %s: %s", o->path, strerror(errno));
			return -1;
		}
	} else {
		char proc[64];
		int fd;

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o->fd);
		fd = open(proc, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_APPEND);
		if (fd < 0) {
			snprintf(err, errlen,
			    "logger output %s: cannot open a non-blocking descriptor of it "
			    "through %s: %s",
			    o->path, proc, strerror(errno));
			return -1;
		}
		o->fd = fd;
		o->close_fd = true;
	}
	o->sh = mmap(NULL, sizeof(*o->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
	    0);
	if (o->sh == MAP_FAILED) {
		o->sh = NULL;
		snprintf(err, errlen, "logger output %s: %s", o->path, strerror(errno));
		return -1;
	}
	memset(o->sh, 0, sizeof(*o->sh));
	if (pthread_mutexattr_init(&ma) != 0 ||
	    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&o->sh->lock, &ma) != 0) {
		snprintf(err, errlen, "logger output %s: cannot set up its lock", o->path);
		return -1;
	}
	pthread_mutexattr_destroy(&ma);
	o->sh_owner = getpid();
	return 0;
}

void
ro_out_free(struct recout *o)
{
	if (o->close_fd && o->fd >= 0)
		close(o->fd);
	if (o->sh != NULL) {
		/* Fork children share the lock: only its creator ends it. */
		if (o->sh_owner == getpid())
			pthread_mutex_destroy(&o->sh->lock);
		munmap(o->sh, sizeof(*o->sh));
	}
	buf_free(&o->q);
	free(o->tally);
	pthread_mutex_destroy(&o->lock);
	free(o->path);
	free(o);
}

static void
ro_restdout(struct recout *o)
{
	struct stat st;
	int fd;

	if (o->kind != RO_STREAM || fstat(STDOUT_FILENO, &st) < 0 || S_ISSOCK(st.st_mode))
		return;
	fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_APPEND);
	if (fd < 0) {
		log_warn("logger output %s: cannot reopen standard output", o->path);
		return;
	}
	if (o->is_socket) {
		o->fd = fd;
		o->is_socket = false;
		o->close_fd = true;
		return;
	}
	if (dup3(fd, o->fd, O_CLOEXEC) < 0)
		log_warn("logger output %s: cannot reopen standard output", o->path);
	close(fd);
}

void
recout_reopen(struct recout *o)
{
	int fd;

	if (!o->own_fd && o->kind != RO_SYSLOG)
		ro_restdout(o);
	if (!o->own_fd)
		return;
	if ((fd = ro_open_path(o->path)) == -1) {
		log_warn("logger output %s: reopen failed, still writing to the old file", o->path);
		return;
	}
	if (o->kind == RO_STREAM && net_set_nonblock(fd, 1) < 0)
		log_warn("logger output %s: reopened, but blocking", o->path);
	if (dup3(fd, o->fd, O_CLOEXEC) == -1)
		log_warn("logger output %s: reopen failed, still writing to the old file", o->path);
	close(fd);
}
