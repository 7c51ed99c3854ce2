/* check_files_fs.c - unit tests for the files handler's file-system side: paths beneath a root, temporary files, MIME types, listings. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "files_fs.h"
#include "unit.h"

/*
 * tmpdir/secret and tmpdir/outdir/x lie outside the root, tmpdir/root,
 * which holds files, a deep directory and symlinks of every kind.
 */
static char tmpdir[64], rootpath[80];
static int rootfd = -1;

static void
put(const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	fp = fopen(path, "w");
	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_ge(fputs(text, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
}

static void
mkdir_t(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	ck_assert_msg(mkdir(path, 0755) == 0, "%s: %s", path, strerror(errno));
}

/* A symlink tmpdir/rel whose target is target; "@" in target stands for tmpdir. */
static void
link_t(const char *target, const char *rel)
{
	char path[PATH_MAX], to[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	if (target[0] == '@')
		snprintf(to, sizeof(to), "%s%s", tmpdir, target + 1);
	else
		snprintf(to, sizeof(to), "%s", target);
	ck_assert_msg(symlink(to, path) == 0, "%s: %s", path, strerror(errno));
}

static bool
exists(const char *rel)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	return lstat(path, &st) == 0;
}

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_files_fs.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	umask(022);
	put("secret", "SECRET");
	mkdir_t("outdir");
	put("outdir/x", "OUTSIDE");
	mkdir_t("root");
	put("root/file", "inside");
	mkdir_t("root/a");
	put("root/a/file2", "file2");
	mkdir_t("root/a/b");
	mkdir_t("root/a/b/c");
	mkdir_t("root/a/b/c/d");
	mkdir_t("root/a/b/c/d/e");
	mkdir_t("root/a/b/c/d/e/f");
	put("root/a/b/c/d/e/f/deep", "deep");
	link_t("@/secret", "root/abs");         /* absolute, outside */
	link_t("/etc", "root/etc");             /* absolute directory */
	link_t("../secret", "root/rel");        /* relative, outside */
	link_t("../../secret", "root/a/rel2");  /* relative, two up */
	link_t("../outdir", "root/dirout");     /* a directory outside */
	link_t("file", "root/in");              /* a file inside */
	link_t("../file", "root/a/in_up");      /* inside, by way of .. */
	link_t("a/b", "root/indir");            /* a directory inside */
	link_t("/proc/self/root", "root/proc"); /* to a magic link */
	link_t("../newfile", "root/dang");      /* dangling, outside */
	snprintf(rootpath, sizeof(rootpath), "%s/root", tmpdir);
	rootfd = open(rootpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(rootfd, 0);
	fs_force_fallback(false);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void
teardown(void)
{
	close(rootfd);
	rootfd = -1;
	if (nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

/* Whether the kernel here has a usable openat2: what mode 0 expects. */
static bool
have_openat2(void)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC };
	long fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));

	if (fd >= 0)
		close((int)fd);
	return fd >= 0;
}

/* Loop tests run as _i 0 (openat2 where the kernel has it) and 1 (the
 * walk); true when this run resolves with openat2. */
static bool
mode(int i)
{
	fs_force_fallback(i == 1);
	return i == 0 && have_openat2();
}

/* The file fd is open on, which must lie within the root. */
static void
assert_inside(int fd, const char *what)
{
	char link[64], real[PATH_MAX];
	size_t n = strlen(rootpath);
	ssize_t k;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	k = readlink(link, real, sizeof(real) - 1);
	ck_assert_int_gt(k, 0);
	real[k] = '\0';
	ck_assert_msg(strncmp(real, rootpath, n) == 0 && (real[n] == '\0' || real[n] == '/'),
	    "%s opened %s, outside the root", what, real);
}

/* The first bytes of fd as a string. */
static const char *
slurp(int fd)
{
	static char text[64];
	ssize_t k = pread(fd, text, sizeof(text) - 1, 0);

	ck_assert_int_ge(k, 0);
	text[k] = '\0';
	return text;
}

/* Expectations: the content read, "/" for a directory, or an errno. */
#define DIR_ "/"
struct expect {
	const char *text;
	int err;
};

static const struct {
	const char *path;
	int flags;
	struct expect openat2, walk;
} paths[] = {
	/* plain paths, leading and doubled slashes, "." */
	{ "file", O_RDONLY, { "inside", 0 }, { "inside", 0 } },
	{ "/file", O_RDONLY, { "inside", 0 }, { "inside", 0 } },
	{ "//file", O_RDONLY, { "inside", 0 }, { "inside", 0 } },
	{ "a/b/c/d/e/f/deep", O_RDONLY, { "deep", 0 }, { "deep", 0 } },
	{ "/a//b/./c/d/e/f/deep", O_RDONLY, { "deep", 0 }, { "deep", 0 } },
	{ "./a/./file2", O_RDONLY, { "file2", 0 }, { "file2", 0 } },
	{ "", O_RDONLY, { DIR_, 0 }, { DIR_, 0 } },
	{ "/", O_RDONLY, { DIR_, 0 }, { DIR_, 0 } },
	{ "//", O_RDONLY | O_DIRECTORY, { DIR_, 0 }, { DIR_, 0 } },
	{ "a", O_RDONLY | O_DIRECTORY, { DIR_, 0 }, { DIR_, 0 } },
	{ "/a/b/", O_RDONLY, { DIR_, 0 }, { DIR_, 0 } },
	{ "a/b/c/d/e/f/deep", O_PATH, { "", 0 }, { "", 0 } },
	/* .. : above the root always fails; within it only openat2 allows it */
	{ "..", O_RDONLY, { NULL, EXDEV }, { NULL, EXDEV } },
	{ "/../secret", O_RDONLY, { NULL, EXDEV }, { NULL, EXDEV } },
	{ "/../root/file", O_RDONLY, { NULL, EXDEV }, { NULL, EXDEV } },
	{ "a/../../secret", O_RDONLY, { NULL, EXDEV }, { NULL, EXDEV } },
	{ "a/b/../../../outdir/x", O_RDONLY, { NULL, EXDEV }, { NULL, EXDEV } },
	{ "a/../file", O_RDONLY, { "inside", 0 }, { NULL, EXDEV } },
	{ "a/..", O_RDONLY, { DIR_, 0 }, { NULL, EXDEV } },
	/* symlinks that lead out */
	{ "abs", O_RDONLY, { NULL, EXDEV }, { NULL, ELOOP } },
	{ "etc/passwd", O_RDONLY, { NULL, EXDEV }, { NULL, ELOOP } },
	{ "etc", O_RDONLY | O_DIRECTORY, { NULL, EXDEV }, { NULL, ELOOP } },
	{ "rel", O_RDONLY, { NULL, EXDEV }, { NULL, ELOOP } },
	{ "a/rel2", O_RDONLY, { NULL, EXDEV }, { NULL, ELOOP } },
	{ "dirout/x", O_RDONLY, { NULL, EXDEV }, { NULL, ELOOP } },
	{ "dirout", O_RDONLY | O_DIRECTORY, { NULL, EXDEV }, { NULL, ELOOP } },
	{ "dirout/", O_RDONLY, { NULL, EXDEV }, { NULL, ELOOP } },
	{ "proc/etc/passwd", O_RDONLY, { NULL, EXDEV }, { NULL, ELOOP } },
	{ "proc", O_PATH, { NULL, EXDEV }, { NULL, ELOOP } },
	{ "dang", O_RDONLY, { NULL, EXDEV }, { NULL, ELOOP } },
	/* symlinks that stay inside: openat2 follows them, the walk does not */
	{ "in", O_RDONLY, { "inside", 0 }, { NULL, ELOOP } },
	{ "in", O_PATH, { "", 0 }, { NULL, ELOOP } },
	{ "a/in_up", O_RDONLY, { "inside", 0 }, { NULL, ELOOP } },
	{ "indir/c/d/e/f/deep", O_RDONLY, { "deep", 0 }, { NULL, ELOOP } },
	{ "indir", O_RDONLY | O_DIRECTORY, { DIR_, 0 }, { NULL, ELOOP } },
	{ "indir/", O_RDONLY, { DIR_, 0 }, { NULL, ELOOP } },
	/* what is not there, or not a directory */
	{ "missing", O_RDONLY, { NULL, ENOENT }, { NULL, ENOENT } },
	{ "a/missing/x", O_RDONLY, { NULL, ENOENT }, { NULL, ENOENT } },
	{ "a/b/c/d/e/f/missing", O_RDONLY, { NULL, ENOENT }, { NULL, ENOENT } },
	{ "file/x", O_RDONLY, { NULL, ENOTDIR }, { NULL, ENOTDIR } },
	{ "file/", O_RDONLY, { NULL, ENOTDIR }, { NULL, ENOTDIR } },
	{ "file", O_RDONLY | O_DIRECTORY, { NULL, ENOTDIR }, { NULL, ENOTDIR } },
	{ "a", O_WRONLY, { NULL, EISDIR }, { NULL, EISDIR } },
};

/* Every case of paths[] under both resolvers (_i: case * 2 + mode). */
START_TEST(test_open_beneath)
{
	int c = _i / 2;
	bool o2 = mode(_i % 2);
	const struct expect *want = o2 ? &paths[c].openat2 : &paths[c].walk;
	const char *what = paths[c].path;
	struct stat st;

	errno = 0;
	int fd = fs_open_beneath(rootfd, what, paths[c].flags, 0);
	int err = errno;
	if (fd >= 0)
		assert_inside(fd, what);
	if (want->text == NULL) {
		ck_assert_msg(fd < 0 && err == want->err, "%s (%s): fd %d, %s; wanted %s", what,
		    o2 ? "openat2" : "walk", fd, strerror(err), strerror(want->err));
		return;
	}
	ck_assert_msg(fd >= 0, "%s (%s): %s", what, o2 ? "openat2" : "walk", strerror(err));
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(fstat(fd, &st), 0);
	if (strcmp(want->text, DIR_) == 0)
		ck_assert_msg(S_ISDIR(st.st_mode), "%s: not a directory", what);
	else if (paths[c].flags == O_PATH)
		ck_assert_msg(S_ISREG(st.st_mode), "%s: not a regular file", what);
	else
		ck_assert_str_eq(slurp(fd), want->text);
	close(fd);
}
END_TEST

/* The root itself for "" and "/", under both resolvers. */
START_TEST(test_open_root)
{
	struct stat want, got;

	mode(_i);
	ck_assert_int_eq(fstat(rootfd, &want), 0);
	for (int k = 0; k < 2; k++) {
		int fd = fs_open_beneath(rootfd, k == 0 ? "" : "/", O_RDONLY | O_DIRECTORY, 0);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(fstat(fd, &got), 0);
		ck_assert(got.st_ino == want.st_ino && got.st_dev == want.st_dev);
		close(fd);
	}
}
END_TEST

/* /proc/self as the root: its magic links (cwd, root, exe, fd/N) lead
 * anywhere and must never be followed; its plain files open. */
START_TEST(test_magic_links)
{
	char fdpath[32];
	int procfd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int secret = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *bad[] = { "cwd", "root", "exe", "root/etc/passwd", "cwd/", fdpath };

	mode(_i);
	ck_assert_int_ge(procfd, 0);
	ck_assert_int_ge(secret, 0);
	snprintf(fdpath, sizeof(fdpath), "fd/%d", secret);
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		errno = 0;
		int fd = fs_open_beneath(procfd, bad[k], O_RDONLY, 0);
		ck_assert_msg(fd < 0 && errno == ELOOP, "%s: fd %d, %s", bad[k], fd,
		    strerror(errno));
		fd = fs_open_beneath(procfd, bad[k], O_PATH, 0);
		ck_assert_msg(fd < 0 && errno == ELOOP, "%s O_PATH: fd %d, %s", bad[k], fd,
		    strerror(errno));
	}
	int fd = fs_open_beneath(procfd, "status", O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert(strncmp(slurp(fd), "Name:", 5) == 0);
	close(fd);
	close(secret);
	close(procfd);
}
END_TEST

/* O_CREAT makes the file inside with the mode asked; through a symlink
 * that leads out it makes nothing at all. */
START_TEST(test_open_create)
{
	bool o2 = mode(_i);
	struct stat st;
	char path[PATH_MAX];

	int fd = fs_open_beneath(rootfd, "/a/new", O_WRONLY | O_CREAT | O_EXCL, 0640);
	ck_assert_int_ge(fd, 0);
	assert_inside(fd, "/a/new");
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	close(fd);
	snprintf(path, sizeof(path), "%s/a/new", rootpath);
	ck_assert_int_eq(stat(path, &st), 0);

	errno = 0;
	fd = fs_open_beneath(rootfd, "dang", O_WRONLY | O_CREAT, 0644);
	ck_assert_msg(fd < 0 && errno == (o2 ? EXDEV : ELOOP), "dang: fd %d, %s", fd,
	    strerror(errno));
	ck_assert(!exists("newfile"));
	errno = 0;
	fd = fs_open_beneath(rootfd, "dirout/made", O_WRONLY | O_CREAT, 0644);
	ck_assert_int_lt(fd, 0);
	ck_assert_int_eq(errno, o2 ? EXDEV : ELOOP);
	ck_assert(!exists("outdir/made"));
	fd = fs_open_beneath(rootfd, "../made", O_WRONLY | O_CREAT, 0644);
	ck_assert_int_lt(fd, 0);
	ck_assert_int_eq(errno, EXDEV);
	ck_assert(!exists("made"));
}
END_TEST

/* A component longer than NAME_MAX. */
START_TEST(test_open_long_name)
{
	char path[NAME_MAX + 16];

	mode(_i);
	memset(path, 'x', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	errno = 0;
	ck_assert_int_lt(fs_open_beneath(rootfd, path, O_RDONLY, 0), 0);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	memcpy(path, "/a/", 3);
	ck_assert_int_lt(fs_open_beneath(rootfd, path, O_RDONLY, 0), 0);
	ck_assert_int_eq(errno, ENAMETOOLONG);
}
END_TEST

/* The switch goes both ways: the walk refuses "in", openat2 follows it. */
START_TEST(test_force_fallback)
{
	int fd;

	if (!have_openat2())
		return;
	fs_force_fallback(true);
	ck_assert_int_lt(fs_open_beneath(rootfd, "in", O_RDONLY, 0), 0);
	ck_assert_int_eq(errno, ELOOP);
	fs_force_fallback(false);
	fd = fs_open_beneath(rootfd, "in", O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(slurp(fd), "inside");
	close(fd);
}
END_TEST

static const struct {
	const char *path;
	int want;
} checks[] = {
	{ "/", 0 },
	{ "", 0 },
	{ "/a/b/", 0 },
	{ "/a/b/c.txt", 0 },
	{ "//a", 0 },
	{ "/a//b", 0 },
	{ "/a..b", 0 },
	{ "/a.", 0 },
	{ "/a./b", 0 },
	{ "/a/b.c/d", 0 },
	{ "/~x/", 0 },
	{ "a", 0 },
	{ "/.", -1 },
	{ "/..", -1 },
	{ "/../x", -1 },
	{ "/.git", -1 },
	{ "/.git/config", -1 },
	{ "/a/.hidden/b", -1 },
	{ "/a/.hidden", -1 },
	{ "/a/b/..", -1 },
	{ "/a/./b", -1 },
	{ "/a/../b", -1 },
	{ "/a/..", -1 },
	{ "//.", -1 },
	{ ".", -1 },
	{ "..", -1 },
	{ ".x/y", -1 },
	{ "/.x.up.AbC123", -1 },
};

START_TEST(test_path_check)
{
	ck_assert_msg(fs_path_check(checks[_i].path, strlen(checks[_i].path)) == checks[_i].want,
	    "\"%s\": wanted %d", checks[_i].path, checks[_i].want);
}
END_TEST

START_TEST(test_path_check_bytes)
{
	/* A NUL would cut the path short; only len bytes are looked at. */
	ck_assert_int_eq(fs_path_check("/a\0b", 4), -1);
	ck_assert_int_eq(fs_path_check("/\0", 2), -1);
	ck_assert_int_eq(fs_path_check("/a/.x", 3), 0);
	ck_assert_int_eq(fs_path_check("/a/.x", 4), -1);
	ck_assert_int_eq(fs_path_check("/a/.x", 0), 0);
}
END_TEST

/* The parent opened (compared by inode with rel) and the name, or errno. */
static void
check_parent(const char *path, size_t namelen, const char *rel, const char *want_name, int err)
{
	char name[NAME_MAX + 1] = "unchanged";
	struct stat got, want;

	ck_assert_uint_le(namelen, sizeof(name));
	errno = 0;
	int fd = fs_open_parent(rootfd, path, name, namelen);
	if (rel == NULL) {
		ck_assert_msg(fd < 0 && errno == err, "\"%s\": fd %d, %s; wanted %s", path, fd,
		    strerror(errno), strerror(err));
		ck_assert_str_eq(name, "unchanged");
		return;
	}
	ck_assert_msg(fd >= 0, "\"%s\": %s", path, strerror(errno));
	assert_inside(fd, path);
	ck_assert_int_eq(fstat(fd, &got), 0);
	ck_assert_int_eq(fstatat(rootfd, rel, &want, AT_EMPTY_PATH), 0);
	ck_assert_msg(got.st_ino == want.st_ino, "\"%s\": not the parent %s", path, rel);
	ck_assert_str_eq(name, want_name);
	/* O_RDONLY, not O_PATH: the caller may fsync it after a rename. */
	ck_assert_int_eq(fsync(fd), 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
}

START_TEST(test_open_parent)
{
	bool o2 = mode(_i);
	size_t big = NAME_MAX + 1;

	check_parent("/a/new.txt", big, "a", "new.txt", 0);
	check_parent("/new", big, "", "new", 0);
	check_parent("new", big, "", "new", 0);
	check_parent("//a//b/x", big, "a/b", "x", 0);
	check_parent("/a/b/c/d/e/f/deep", big, "a/b/c/d/e/f", "deep", 0);
	check_parent("/a/file2", 6, "a", "file2", 0);
	check_parent("/a/file2", 5, NULL, NULL, ENAMETOOLONG);
	check_parent("/a/", big, NULL, NULL, EINVAL);
	check_parent("/", big, NULL, NULL, EINVAL);
	check_parent("", big, NULL, NULL, EINVAL);
	check_parent("/a/.", big, NULL, NULL, EINVAL);
	check_parent("/a/..", big, NULL, NULL, EINVAL);
	check_parent("..", big, NULL, NULL, EINVAL);
	check_parent("/missing/x", big, NULL, NULL, ENOENT);
	check_parent("/a/missing/x", big, NULL, NULL, ENOENT);
	check_parent("/file/x", big, NULL, NULL, ENOTDIR);
	check_parent("/../x", big, NULL, NULL, EXDEV);
	check_parent("/dirout/x", big, NULL, NULL, o2 ? EXDEV : ELOOP);
	check_parent("/etc/passwd", big, NULL, NULL, o2 ? EXDEV : ELOOP);
	if (o2)
		check_parent("/indir/x", big, "a/b", "x", 0);
	else
		check_parent("/indir/x", big, NULL, NULL, ELOOP);
}
END_TEST

/* ".NAME." and six characters from [A-Za-z0-9]. */
static void
check_tmpname(const char *tmp, const char *name)
{
	size_t n = strlen(name);

	ck_assert_uint_eq(strlen(tmp), n + 8);
	ck_assert_int_eq(tmp[0], '.');
	ck_assert(strncmp(tmp + 1, name, n) == 0);
	ck_assert_int_eq(tmp[n + 1], '.');
	for (size_t i = n + 2; i < n + 8; i++)
		ck_assert_msg(
		    strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		        tmp[i]) != NULL,
		    "%s: byte %zu", tmp, i);
}

START_TEST(test_tmpfile)
{
	char tmp[20][FS_TMPNAME_MAX];
	struct stat st;
	int dfd = fs_open_beneath(rootfd, "a", O_RDONLY | O_DIRECTORY, 0);

	ck_assert_int_ge(dfd, 0);
	for (int i = 0; i < 20; i++) {
		int fd = fs_tmpfile(dfd, "up.txt", tmp[i], sizeof(tmp[i]));
		ck_assert_int_ge(fd, 0);
		check_tmpname(tmp[i], "up.txt");
		ck_assert_int_eq(fs_path_check(tmp[i], strlen(tmp[i])), -1); /* never served */
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(tmp[i], tmp[j]);
		ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
		ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
		ck_assert_int_eq(fstat(fd, &st), 0);
		ck_assert(S_ISREG(st.st_mode));
		ck_assert_int_eq(st.st_mode & 07777, 0644);
		ck_assert_int_eq(st.st_size, 0);
		ck_assert_int_eq(write(fd, "up", 2), 2);
		close(fd);
		/* It lies in dfd: what the caller renames into place. */
		ck_assert_int_eq(fstatat(dfd, tmp[i], &st, AT_SYMLINK_NOFOLLOW), 0);
		ck_assert_int_eq(st.st_size, 2);
	}
	ck_assert_int_eq(renameat(dfd, tmp[0], dfd, "up.txt"), 0);
	int fd = fs_open_beneath(rootfd, "/a/up.txt", O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(slurp(fd), "up");
	close(fd);
	close(dfd);
}
END_TEST

START_TEST(test_tmpfile_names)
{
	char name[NAME_MAX + 1], tmp[FS_TMPNAME_MAX];
	int dfd = open(rootpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(dfd, 0);
	/* The longest name: NAME is cut to fit NAME_MAX. */
	memset(name, 'n', NAME_MAX);
	name[NAME_MAX] = '\0';
	int fd = fs_tmpfile(dfd, name, tmp, sizeof(tmp));
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_uint_eq(strlen(tmp), NAME_MAX);
	check_tmpname(tmp, name + 8); /* 8 = the dots and the suffix */
	/* A buffer one byte short, then just right. */
	errno = 0;
	ck_assert_int_lt(fs_tmpfile(dfd, "abc", tmp, 11), 0);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	fd = fs_tmpfile(dfd, "abc", tmp, 12);
	ck_assert_int_ge(fd, 0);
	check_tmpname(tmp, "abc");
	close(fd);
	/* One segment only. */
	errno = 0;
	ck_assert_int_lt(fs_tmpfile(dfd, "a/b", tmp, sizeof(tmp)), 0);
	ck_assert_int_eq(errno, EINVAL);
	/* Not a directory. */
	int ffd = open(rootpath, O_PATH | O_CLOEXEC);
	close(dfd);
	dfd = openat(ffd, "file", O_RDONLY | O_CLOEXEC);
	ck_assert_int_lt(fs_tmpfile(dfd, "x", tmp, sizeof(tmp)), 0);
	ck_assert_int_eq(errno, ENOTDIR);
	close(dfd);
	close(ffd);
}
END_TEST

/* MIME types. */

static const char mime_text[] = "# a comment line\n"
                                "   # an indented one\n"
                                "\n"
                                "text/html\thtml HTM\n"
                                "text/plain txt text # trailing comment words\n"
                                "image/jpeg\t\tjpeg jpg jpe\n"
                                "application/x-first dup\n"
                                "application/x-second DUP other\n"
                                "notype ext1\n"
                                "text/x-crlf crlf\r\n"
                                "application/x-alone\n"
                                "image/PNG Png\n"
                                "application/gzip gz\n"
                                "  text/x-indented   ind  \n"
                                "text/\x01 ctl\n"
                                "no-type text/x-next next\n"
                                "application/x-last last"; /* no final newline */

static const struct {
	const char *name;
	const char *want;
} mimes[] = {
	{ "x.html", "text/html" },
	{ "X.HTML", "text/html" },
	{ "a.htm", "text/html" },
	{ "a.HtM", "text/html" },
	{ "notes.txt", "text/plain" },
	{ "t.text", "text/plain" },
	{ "x.trailing", "application/octet-stream" },
	{ "x.comment", "application/octet-stream" },
	{ "x.jpg", "image/jpeg" },
	{ "x.jpe", "image/jpeg" },
	{ "x.jp", "application/octet-stream" },
	{ "x.jpegg", "application/octet-stream" },
	{ "x.dup", "application/x-first" },
	{ "x.Dup", "application/x-first" },
	{ "x.other", "application/x-second" },
	{ "x.ext1", "application/octet-stream" },
	{ "x.crlf", "text/x-crlf" },
	{ "x.png", "image/PNG" },
	{ "x.ind", "text/x-indented" },
	{ "x.ctl", "application/octet-stream" },
	{ "x.next", "application/octet-stream" },
	{ "x.last", "application/x-last" },
	{ "a.tar.gz", "application/gzip" },
	{ "a.jpg.txt", "text/plain" },
	{ "/dir/sub/x.html", "text/html" },
	{ "dir.html/x", "application/octet-stream" },
	{ "dir.html/", "application/octet-stream" },
	{ "x.unknown", "application/octet-stream" },
	{ "noext", "application/octet-stream" },
	{ "html", "application/octet-stream" },
	{ "x.", "application/octet-stream" },
	{ "x.html.", "application/octet-stream" },
	{ ".html", "application/octet-stream" },
	{ "/a/.html", "application/octet-stream" },
	{ "..html", "application/octet-stream" },
	{ "..x.html", "text/html" },
	{ "", "application/octet-stream" },
};

static const char *
mime_file(const char *text, size_t n)
{
	static char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/mime.types", tmpdir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(text, 1, n, fp), n);
	ck_assert_int_eq(fclose(fp), 0);
	return path;
}

START_TEST(test_mime_types)
{
	struct mime_table *t = mime_load(mime_file(mime_text, sizeof(mime_text) - 1));

	ck_assert_ptr_nonnull(t);
	for (size_t i = 0; i < sizeof(mimes) / sizeof(mimes[0]); i++) {
		const char *got = mime_type(t, mimes[i].name);
		ck_assert_msg(strcmp(got, mimes[i].want) == 0, "\"%s\": %s, wanted %s",
		    mimes[i].name, got, mimes[i].want);
		ck_assert_str_eq(mime_type(NULL, mimes[i].name), "application/octet-stream");
	}
	mime_free(t);
	mime_free(NULL);
}
END_TEST

/* Many extensions, looked up in any case: the search finds each one. */
START_TEST(test_mime_many)
{
	struct bytes text = { 0 };
	char line[64], name[32], want[32];

	for (int i = 0; i < 3000; i++) {
		int n = snprintf(line, sizeof(line), "t/%d e%d E%dx\n", i, i, (i * 7) % 3000);
		bytes_add(&text, line, (size_t)n);
	}
	struct mime_table *t = mime_load(mime_file(text.p, text.len));
	ck_assert_ptr_nonnull(t);
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), i % 2 ? "f.e%d" : "f.E%d", i);
		snprintf(want, sizeof(want), "t/%d", i);
		REQUIRE(strcmp(mime_type(t, name), want) == 0);
		/* "e<i>x" first appears on the line j with 7j = i (mod 3000). */
		snprintf(name, sizeof(name), "f.e%dX", (i * 7) % 3000);
		REQUIRE(strcmp(mime_type(t, name), want) == 0);
	}
	REQUIRE(strcmp(mime_type(t, "f.e3000"), "application/octet-stream") == 0);
	REQUIRE(strcmp(mime_type(t, "f.e"), "application/octet-stream") == 0);
	mime_free(t);
	free(text.p);
}
END_TEST

START_TEST(test_mime_limits)
{
	struct bytes text = { 0 };
	char line[MIME_LINE_MAX + 2];
	struct mime_table *t;

	/* A line of MIME_LINE_MAX bytes loads; one more byte fails. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "a/b ", 4);
	line[MIME_LINE_MAX] = '\n';
	t = mime_load(mime_file(line, MIME_LINE_MAX + 1));
	ck_assert_ptr_nonnull(t);
	mime_free(t);
	line[MIME_LINE_MAX] = 'x';
	errno = 0;
	ck_assert_ptr_null(mime_load(mime_file(line, MIME_LINE_MAX + 1)));
	ck_assert_int_eq(errno, EINVAL);

	/* MIME_EXTS_MAX extensions load; one more fails. */
	bytes_add(&text, "a/b", 3);
	for (int i = 0; i < MIME_EXTS_MAX; i++) {
		int n = snprintf(line, sizeof(line), "%s%d", i % 400 == 399 ? "\na/b " : " ", i);
		bytes_add(&text, line, (size_t)n);
	}
	t = mime_load(mime_file(text.p, text.len));
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(mime_type(t, "x.99999"), "a/b");
	mime_free(t);
	bytes_add(&text, " more", 5);
	errno = 0;
	ck_assert_ptr_null(mime_load(mime_file(text.p, text.len)));
	ck_assert_int_eq(errno, E2BIG);
	free(text.p);

	errno = 0;
	ck_assert_ptr_null(mime_load("/nonexistent/mime.types"));
	ck_assert_int_eq(errno, ENOENT);
	t = mime_load(mime_file("", 0));
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(mime_type(t, "x.html"), "application/octet-stream");
	mime_free(t);
}
END_TEST

/* The system's table, where there is one. */
START_TEST(test_mime_system)
{
	struct mime_table *t = mime_load("/etc/mime.types");

	if (t == NULL && errno == ENOENT)
		return;
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(mime_type(t, "x.html"), "text/html");
	ck_assert_str_eq(mime_type(t, "INDEX.HTM"), "text/html");
	ck_assert_str_eq(mime_type(t, "x.txt"), "text/plain");
	ck_assert_str_eq(mime_type(t, "x.jpg"), "image/jpeg");
	ck_assert_str_eq(mime_type(t, "x.png"), "image/png");
	ck_assert_str_eq(mime_type(t, "x.css"), "text/css");
	ck_assert_str_eq(mime_type(t, "x.no-such-ext"), "application/octet-stream");
	mime_free(t);
}
END_TEST

/* Escaping. */

START_TEST(test_html_escape)
{
	static const char in[] = "a&b<c>d\"e'f \xc3\xa9\n%#";
	static const char want[] = "a&amp;b&lt;c&gt;d&quot;e&#39;f \xc3\xa9\n%#";
	char out[FS_HTML_MAX(sizeof(in))];
	size_t n = fs_html_escape(out, in, sizeof(in) - 1);

	ck_assert_uint_eq(n, sizeof(want) - 1);
	ck_assert(memcmp(out, want, n) == 0);
	ck_assert_uint_eq(fs_html_escape(out, "\"\"\"", 3), FS_HTML_MAX(3));
	ck_assert(memcmp(out, "&quot;&quot;&quot;", FS_HTML_MAX(3)) == 0);
	ck_assert_uint_eq(fs_html_escape(out, "", 0), 0);
	ck_assert_uint_eq(fs_html_escape(out, "a\0b", 3), 3);
	ck_assert(memcmp(out, "a\0b", 3) == 0);
}
END_TEST

/* Every byte: unreserved ones stay, the rest become %HH. */
START_TEST(test_url_encode)
{
	for (int c = 0; c < 256; c++) {
		char in = (char)c, out[FS_URL_MAX(1) + 1] = { 0 }, want[4];
		bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
		if (keep)
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "%%%02X", c);
		ck_assert_uint_eq(fs_url_encode(out, &in, 1), strlen(want));
		ck_assert_str_eq(out, want);
	}
	char out[64] = { 0 };
	ck_assert_uint_eq(fs_url_encode(out, "a b/c?d#e%f", 11), 21);
	ck_assert_str_eq(out, "a%20b%2Fc%3Fd%23e%25f");
}
END_TEST

/* Listings. */

static char *
listing(int dfd, const char *urlpath)
{
	struct buf b = BUF_INIT;

	ck_assert_int_eq(fs_listing(dfd, urlpath, &b), 0);
	ck_assert_int_eq(buf_append(&b, "", 1), 0);
	char *s = strdup(buf_peek(&b));
	buf_free(&b);
	ck_assert_ptr_nonnull(s);
	return s;
}

static void
put_size(const char *rel, size_t n)
{
	char text[64];

	memset(text, 'z', n);
	text[n] = '\0';
	put(rel, text);
}

/* A directory of awkward names, tmpdir/root/list. */
static int
make_list_dir(void)
{
	mkdir_t("root/list");
	put_size("root/list/a b", 3);
	put_size("root/list/<x>", 0);
	put_size("root/list/&amp", 5);
	put_size("root/list/q\"uote", 7);
	put_size("root/list/it's", 11);
	put_size("root/list/\xc3\xa9t\xc3\xa9", 13);
	put_size("root/list/100%", 17);
	put_size("root/list/#hash", 19);
	put_size("root/list/what?", 23);
	put_size("root/list/colon:x", 29);
	put_size("root/list/x-y_z.~t", 31);
	put_size("root/list/Zed", 37);
	put_size("root/list/.hidden", 1);
	mkdir_t("root/list/.hiddendir");
	mkdir_t("root/list/sub");
	put_size("root/list/sub/inner", 2);
	link_t("nowhere", "root/list/dangling");
	link_t("sub", "root/list/lnkdir");
	link_t("a b", "root/list/lnkfile");
	link_t("../file", "root/list/lnkup");
	link_t("@/secret", "root/list/lnkout");
	int fd = fs_open_beneath(rootfd, "list", O_RDONLY | O_DIRECTORY, 0);
	ck_assert_int_ge(fd, 0);
	return fd;
}

#define ROW(href, name, size) \
	"<tr><td><a href=\"" href "\">" name "</a></td><td>" size "</td></tr>\n"

START_TEST(test_listing)
{
	bool o2 = mode(_i);
	int dfd = make_list_dir();
	char *got = listing(dfd, "/list/");
	/* Symlinks show their target only when it resolves beneath the
	 * directory (openat2): the walk follows none. */
	const char *lnkdir = o2 ? ROW("lnkdir/", "lnkdir/", "-") : ROW("lnkdir", "lnkdir", "-");
	const char *lnkfile = o2 ? ROW("lnkfile", "lnkfile", "3") : ROW("lnkfile", "lnkfile", "-");
	char want[4096];

	snprintf(want, sizeof(want), "%s%s%s%s",
	    "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
	    "<title>Index of /list/</title>\n</head>\n<body>\n<h1>Index of /list/</h1>\n"
	    "<table>\n<tr><th>Name</th><th>Size</th></tr>\n"
	    "<tr><td><a href=\"../\">../</a></td><td>-</td></tr>\n" /* */
	    ROW("%23hash", "#hash", "19")                           /* */
	    ROW("%26amp", "&amp;amp", "5")                          /* */
	    ROW("100%25", "100%", "17")                             /* */
	    ROW("%3Cx%3E", "&lt;x&gt;", "0")                        /* */
	    ROW("Zed", "Zed", "37")                                 /* */
	    ROW("a%20b", "a b", "3")                                /* */
	    ROW("colon%3Ax", "colon:x", "29")                       /* */
	    ROW("dangling", "dangling", "-")                        /* */
	    ROW("it%27s", "it&#39;s", "11"),
	    lnkdir, lnkfile,
	    ROW("lnkout", "lnkout", "-")                    /* */
	    ROW("lnkup", "lnkup", "-")                      /* */
	    ROW("q%22uote", "q&quot;uote", "7")             /* */
	    ROW("sub/", "sub/", "-")                        /* */
	    ROW("what%3F", "what?", "23")                   /* */
	    ROW("x-y_z.~t", "x-y_z.~t", "31")               /* */
	    ROW("%C3%A9t%C3%A9", "\xc3\xa9t\xc3\xa9", "13") /* */
	    "</table>\n</body>\n</html>\n");
	ck_assert_str_eq(got, want);
	free(got);
	close(dfd);
}
END_TEST

/* At "/" no "../"; the title is escaped; dirfd stays usable, its offset
 * untouched, and the same directory gives the same bytes. */
START_TEST(test_listing_root)
{
	mode(_i);
	int dfd = open(rootpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	off_t before = lseek(dfd, 0, SEEK_CUR);
	char *one = listing(dfd, "/");
	ck_assert_int_eq(lseek(dfd, 0, SEEK_CUR), before);
	char *two = listing(dfd, "/");
	ck_assert_str_eq(one, two);
	ck_assert_ptr_null(strstr(one, "../"));
	ck_assert_ptr_nonnull(strstr(one, "<title>Index of /</title>\n"));
	ck_assert_ptr_nonnull(strstr(one, ROW("a/", "a/", "-")));
	ck_assert_ptr_nonnull(strstr(one, ROW("file", "file", "6")));
	ck_assert_ptr_nonnull(
	    strstr(one, "</a></td><td>-</td></tr>\n</table>\n</body>\n</html>\n"));
	/* Symlinks that lead out, whatever the resolver. */
	ck_assert_ptr_nonnull(strstr(one, ROW("dirout", "dirout", "-")));
	ck_assert_ptr_nonnull(strstr(one, ROW("etc", "etc", "-")));
	ck_assert_ptr_nonnull(strstr(one, ROW("rel", "rel", "-")));
	ck_assert_ptr_nonnull(strstr(one, ROW("proc", "proc", "-")));
	free(one);
	free(two);

	/* An O_PATH descriptor does too; the title is HTML-escaped. */
	char *three = listing(rootfd, "/d<&>\"/");
	ck_assert_ptr_nonnull(strstr(three, "<title>Index of /d&lt;&amp;&gt;&quot;/</title>\n"));
	ck_assert_ptr_nonnull(strstr(three, "<h1>Index of /d&lt;&amp;&gt;&quot;/</h1>\n"));
	ck_assert_ptr_nonnull(
	    strstr(three, "<tr><td><a href=\"../\">../</a></td><td>-</td></tr>\n"));
	free(three);
	int fd = fs_open_beneath(dfd, "file", O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	close(fd);
	close(dfd);
}
END_TEST

/* An empty directory; a failure leaves out as it was. */
START_TEST(test_listing_errors)
{
	struct buf b = BUF_INIT;

	mkdir_t("root/empty");
	put("root/empty/.only-hidden", "x");
	int dfd = fs_open_beneath(rootfd, "empty", O_RDONLY | O_DIRECTORY, 0);
	ck_assert_int_ge(dfd, 0);
	char *got = listing(dfd, "/empty/");
	ck_assert_ptr_nonnull(strstr(got,
	    "<tr><th>Name</th><th>Size</th></tr>\n"
	    "<tr><td><a href=\"../\">../</a></td><td>-</td></tr>\n"
	    "</table>\n</body>\n</html>\n"));
	free(got);
	close(dfd);

	int fd = fs_open_beneath(rootfd, "file", O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	errno = 0;
	ck_assert_int_eq(fs_listing(fd, "/file/", &b), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	ck_assert_ptr_null(b.data);
	ck_assert_int_eq(buf_append(&b, "keep", 4), 0);
	ck_assert_int_eq(fs_listing(fd, "/file/", &b), -1);
	ck_assert_uint_eq(b.len, 4);
	ck_assert(memcmp(buf_peek(&b), "keep", 4) == 0);
	/* A success appends after what was there. */
	ck_assert_int_eq(fs_listing(rootfd, "/", &b), 0);
	ck_assert(memcmp(buf_peek(&b), "keep<!DOCTYPE html>\n", 20) == 0);
	buf_free(&b);
	close(fd);
}
END_TEST

static size_t
count(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

/* FS_LISTING_MAX entries are all shown (hidden ones do not count); one
 * more and the listing stops with a note. */
START_TEST(test_listing_truncated)
{
	static const char note[] =
	    "</table>\n<p>Listing truncated: only the first 10000 entries are shown.</p>\n</body>\n</html>\n";
	char name[32];

	ck_assert_int_eq(FS_LISTING_MAX, 10000);
	mkdir_t("root/many");
	int dfd = fs_open_beneath(rootfd, "many", O_RDONLY | O_DIRECTORY, 0);
	ck_assert_int_ge(dfd, 0);
	for (int i = 0; i < FS_LISTING_MAX + 5; i++) {
		snprintf(name, sizeof(name), i < 5 ? ".h%d" : "f%05d", i);
		int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		REQUIRE(fd >= 0);
		close(fd);
	}
	char *got = listing(dfd, "/many/");
	ck_assert_uint_eq(count(got, "<tr><td>"), FS_LISTING_MAX + 1); /* ../ too */
	ck_assert_ptr_null(strstr(got, "truncated"));
	ck_assert_ptr_nonnull(strstr(got, ROW("f00005", "f00005", "0")));
	ck_assert_ptr_nonnull(strstr(got, ROW("f10004", "f10004", "0") "</table>\n</body>"));
	free(got);

	int fd = openat(dfd, "g", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	got = listing(dfd, "/many/");
	ck_assert_uint_eq(count(got, "<tr><td>"), FS_LISTING_MAX + 1);
	size_t n = strlen(got);
	ck_assert_uint_gt(n, sizeof(note));
	ck_assert_str_eq(got + n - (sizeof(note) - 1), note);
	free(got);
	close(dfd);
}
END_TEST

Suite *
files_fs_suite(void)
{
	Suite *s = suite_create("files_fs");
	TCase *tc = tcase_create("paths");
	int npaths = (int)(sizeof(paths) / sizeof(paths[0]));

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_open_beneath, 0, 2 * npaths);
	tcase_add_loop_test(tc, test_open_root, 0, 2);
	tcase_add_loop_test(tc, test_magic_links, 0, 2);
	tcase_add_loop_test(tc, test_open_create, 0, 2);
	tcase_add_loop_test(tc, test_open_long_name, 0, 2);
	tcase_add_test(tc, test_force_fallback);
	tcase_add_loop_test(tc, test_path_check, 0, (int)(sizeof(checks) / sizeof(checks[0])));
	tcase_add_test(tc, test_path_check_bytes);
	tcase_add_loop_test(tc, test_open_parent, 0, 2);
	tcase_add_test(tc, test_tmpfile);
	tcase_add_test(tc, test_tmpfile_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("mime");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_mime_types);
	tcase_add_test(tc, test_mime_many);
	tcase_add_test(tc, test_mime_limits);
	tcase_add_test(tc, test_mime_system);
	suite_add_tcase(s, tc);

	tc = tcase_create("listing");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_html_escape);
	tcase_add_test(tc, test_url_encode);
	tcase_add_loop_test(tc, test_listing, 0, 2);
	tcase_add_loop_test(tc, test_listing_root, 0, 2);
	tcase_add_test(tc, test_listing_errors);
	tcase_add_test(tc, test_listing_truncated);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
