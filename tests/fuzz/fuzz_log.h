/* fuzz_log.h - the logger under fuzzing (fuzz_handlers, fuzz_dgram): its records in a memory file, read back and unescaped. */
#ifndef DISPATCHD_FUZZ_LOG_H
#define DISPATCHD_FUZZ_LOG_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "handler.h"

#include "fuzz_util.h"

static int fz_log_fd = -1; /* ours, on the same file as the logger's */

/*
 * Sets the logger of svc up on a memory file (through /proc/self/fd, as it
 * opens a path) named name, or on an unlinked temporary file: truncating a
 * disk file after every run costs a journal commit.
 */
static inline void
fz_log_setup(struct service *svc, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	char path[4096], err[256];
	bool temp = false;

	fz_log_fd = memfd_create(name, MFD_CLOEXEC);
	if (fz_log_fd != -1) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fz_log_fd);
		if (access(path, W_OK) == -1) {
			close(fz_log_fd);
			fz_log_fd = -1;
		}
	}
	if (fz_log_fd == -1) {
		snprintf(path, sizeof(path), "%s/%s-XXXXXX",
		    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", name);
		fz_log_fd = mkstemp(path);
		FZ_CHECK(fz_log_fd != -1, "mkstemp %s: %s", path, strerror(errno));
		temp = true;
	}
	svc->name = (char *)"fuzz";
	svc->output = path;
	FZ_CHECK(handler_logger.setup(svc, err, sizeof(err)) == 0, "logger setup: %s", err);
	/* Both descriptors stay on the file; nothing is left behind. */
	if (temp)
		unlink(path);
	svc->output = NULL;
}

/* Appends the records written since the last call to log. */
static inline void
fz_read_log(struct fz_bytes *log)
{
	struct stat sb;
	ssize_t r;

	FZ_CHECK(fstat(fz_log_fd, &sb) == 0, "fstat: %s", strerror(errno));
	if (sb.st_size > 0) {
		char *p = malloc((size_t)sb.st_size);
		FZ_CHECK(p != NULL, "out of memory");
		r = pread(fz_log_fd, p, (size_t)sb.st_size, 0);
		FZ_CHECK(r == (ssize_t)sb.st_size, "pread: %s", strerror(errno));
		fz_add(log, p, (size_t)r);
		free(p);
	}
	/* O_APPEND: the next records start at 0 again. */
	FZ_CHECK(ftruncate(fz_log_fd, 0) == 0, "ftruncate: %s", strerror(errno));
}

/* A record's text back to its bytes: \xHH (upper-case hex) is the only escape. */
static inline void
fz_unescape(const char *p, size_t n, struct fz_bytes *out)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\\') {
			fz_addc(out, p[i]);
			continue;
		}
		FZ_CHECK(i + 3 < n && p[i + 1] == 'x', "logger: bare backslash: %s", fz_show(p, n));
		unsigned v = 0;
		for (size_t k = 2; k < 4; k++) {
			char c = p[i + k];
			FZ_CHECK((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'),
			    "logger: bad escape: %s", fz_show(p, n));
			v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'A' + 10);
		}
		fz_addc(out, (char)v);
		i += 3;
	}
}

#endif
