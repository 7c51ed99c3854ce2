/* files_fs.c - the file-system side of the files handler: paths beneath a root (openat2, or a walk without it), uploads' temporary files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "files_fs.h"

/* openat2 answers EAGAIN when a concurrent rename may have let a ".."
 * escape; the man page invites a retry. */
#define FS_AGAIN_TRIES 16
#define FS_TMP_TRIES   100
#define FS_TMP_RANDOM  6

enum { FS_UNKNOWN, FS_OPENAT2, FS_WALK };
static atomic_int fs_mode = FS_UNKNOWN;
static atomic_bool fs_forced;

int
fs_path_check(const char *path, size_t len)
{
	bool start = true;

	for (size_t i = 0; i < len; i++) {
		if (path[i] == '\0' || (start && path[i] == '.'))
			return -1;
		start = path[i] == '/';
	}
	return 0;
}

void
fs_force_fallback(bool on)
{
	atomic_store(&fs_forced, on);
}

static long
fs_openat2(int dirfd, const char *path, int flags, mode_t mode, unsigned long long resolve)
{
	struct open_how how = { 0 };

	how.flags = (unsigned long long)(unsigned)flags;
	/* openat2, unlike openat, refuses a mode it would not use. */
	if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE)
		how.mode = mode;
	how.resolve = resolve;
	return syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/*
 * Whether openat2 works, asked once: ENOSYS (before Linux 5.6) or EPERM
 * for opening "/" as O_PATH, which no permission can deny, means it does
 * not (a seccomp filter such as systemd's SystemCallFilter answers EPERM
 * for a system call it does not know).  Threads that race here ask the
 * same question and get the same answer.
 */
static bool
fs_use_openat2(void)
{
	int mode;

	if (atomic_load(&fs_forced))
		return false;
	if ((mode = atomic_load(&fs_mode)) == FS_UNKNOWN) {
		int saved = errno;
		long fd = fs_openat2(AT_FDCWD, "/", O_PATH | O_CLOEXEC, 0, RESOLVE_NO_MAGICLINKS);

		mode = fd < 0 && (errno == ENOSYS || errno == EPERM) ? FS_WALK : FS_OPENAT2;
		if (fd >= 0)
			close((int)fd);
		errno = saved;
		atomic_store(&fs_mode, mode);
	}
	return mode == FS_OPENAT2;
}

/* The errno for a failed open of name in dirfd: openat(O_NOFOLLOW |
 * O_DIRECTORY) says ENOTDIR for a symlink, which the walk refuses as a
 * symlink (ELOOP), as O_NOFOLLOW alone would. */
static int
fs_walk_errno(int dirfd, const char *name, int err)
{
	struct stat st;

	if (err == ENOTDIR && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return ELOOP;
	return err;
}

/*
 * The walk without openat2: each directory opened O_PATH | O_NOFOLLOW
 * beneath the one before, so no symlink is ever followed and nothing but
 * ".." could climb out; ".." is refused, since only openat2 can tell
 * without a race whether one stays beneath the root.
 */
static int
fs_walk(int rootfd, const char *path, int flags, mode_t mode)
{
	char name[NAME_MAX + 1];
	int cur = rootfd, fd;
	const char *p = path;

	for (;;) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		bool last = p[len] == '\0' || p[len + strspn(p + len, "/")] == '\0';

		if (len > NAME_MAX) {
			fd = -1;
			errno = ENAMETOOLONG;
			break;
		}
		memcpy(name, len > 0 ? p : ".", len > 0 ? len : 1);
		name[len > 0 ? len : 1] = '\0';
		if (strcmp(name, "..") == 0) {
			fd = -1;
			errno = EXDEV;
			break;
		}
		if (last) {
			/* "dir/" must be a directory, as for openat. */
			int f = flags | O_NOFOLLOW | O_CLOEXEC | (p[len] == '/' ? O_DIRECTORY : 0);
			struct stat st;

			fd = openat(cur, name, f, mode);
			if (fd < 0) {
				errno = fs_walk_errno(cur, name, errno);
			} else if ((flags & O_PATH) != 0 &&
			    (fstat(fd, &st) < 0 || S_ISLNK(st.st_mode))) {
				/* O_PATH | O_NOFOLLOW opens the symlink itself. */
				close(fd);
				fd = -1;
				errno = ELOOP;
			}
			break;
		}
		p += len;
		if (strcmp(name, ".") == 0)
			continue;
		fd = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			errno = fs_walk_errno(cur, name, errno);
			break;
		}
		if (cur != rootfd)
			close(cur);
		cur = fd;
	}
	if (cur != rootfd) {
		int saved = errno;

		close(cur);
		errno = saved;
	}
	return fd;
}

int
fs_open_beneath(int rootfd, const char *path, int flags, mode_t mode)
{
	long fd;

	if (!fs_use_openat2())
		return fs_walk(rootfd, path, flags, mode);
	/* Absolute paths are refused by RESOLVE_BENEATH: ours are relative. */
	while (*path == '/')
		path++;
	for (int i = 0; i < FS_AGAIN_TRIES; i++) {
		fd = fs_openat2(rootfd, *path != '\0' ? path : ".", flags | O_CLOEXEC, mode,
		    RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	/* A filter installed after the first call (a sandboxed child). */
	if (fd < 0 && errno == ENOSYS)
		return fs_walk(rootfd, path, flags, mode);
	return (int)fd;
}

int
fs_open_parent(int rootfd, const char *path, char *name, size_t namelen)
{
	const char *slash = strrchr(path, '/');
	const char *last = slash != NULL ? slash + 1 : path;
	size_t len = strlen(last), plen = (size_t)(last - path);

	if (len == 0 || strcmp(last, ".") == 0 || strcmp(last, "..") == 0) {
		errno = EINVAL;
		return -1;
	}
	if (len >= namelen || plen >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	char parent[PATH_MAX];

	memcpy(parent, path, plen);
	parent[plen] = '\0';
	int fd = fs_open_beneath(rootfd, parent, O_RDONLY | O_DIRECTORY, 0);
	if (fd >= 0)
		memcpy(name, last, len + 1);
	return fd;
}

/* splitmix64's finalizer: spreads a counter over all 64 bits. */
static uint64_t
fs_mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* FS_TMP_RANDOM characters from [A-Za-z0-9]: getrandom, or where it
 * fails (a filter, no entropy yet) the pid, the clock and a counter, which
 * O_EXCL makes enough (a taken name is only a retry). */
static void
fs_tmp_suffix(char *s)
{
	static const char alnum[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static atomic_uint_fast64_t counter;
	unsigned char r[FS_TMP_RANDOM];

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t x = fs_mix(((uint64_t)getpid() << 40) ^ (uint64_t)ts.tv_nsec ^
		    ((uint64_t)ts.tv_sec << 30) ^ fs_mix(atomic_fetch_add(&counter, 1)));
		memcpy(r, &x, sizeof(r));
	}
	for (size_t i = 0; i < sizeof(r); i++)
		s[i] = alnum[r[i] % (sizeof(alnum) - 1)];
}

int
fs_tmpfile(int dirfd, const char *name, char *tmpname, size_t tmplen)
{
	/* ".NAME." + suffix, within NAME_MAX. */
	size_t room = NAME_MAX - 2 - FS_TMP_RANDOM;
	size_t len = strnlen(name, room);
	size_t total = 2 + len + FS_TMP_RANDOM;

	if (strchr(name, '/') != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (tmplen <= total) {
		errno = ENAMETOOLONG;
		return -1;
	}
	tmpname[0] = '.';
	memcpy(tmpname + 1, name, len);
	tmpname[1 + len] = '.';
	tmpname[total] = '\0';
	for (int i = 0; i < FS_TMP_TRIES; i++) {
		fs_tmp_suffix(tmpname + 2 + len);
		int fd = openat(dirfd, tmpname, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1; /* errno EEXIST */
}
