/* files_fs.c - the file-system side of the files handler: paths beneath a root, uploads' temporary files, MIME types, directory listings. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "files_fs.h"

/* openat2 answers EAGAIN when a concurrent rename may have let a ".."
 * escape; the man page invites a retry. */
#define FS_AGAIN_TRIES 16
#define FS_TMP_TRIES   100
#define FS_TMP_RANDOM  6
/* Neither a file name's extension nor a type (RFC 6838: 127 + '/' + 127)
 * is longer: longer tokens are ignored, which bounds the table's memory. */
#define MIME_TOKEN_MAX 255

static const char hexdigits[] = "0123456789ABCDEF";

/* ASCII only: tolower would follow the locale. */
static inline unsigned char
fs_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

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

/* MIME types. */

/* One extension: offsets into the pool while it grows (it moves), then
 * pointers into it. */
struct mime_ent {
	size_t ext_off, type_off;
	size_t seq; /* line order: the first mapping wins */
	const char *ext, *type;
};

struct mime_table {
	struct mime_ent *ents; /* sorted by ext (lower case), one each */
	size_t n;
	char *pool;
	size_t used, size;
};

/* Appends s[0..n) and a NUL to the pool; its offset, or -1 (ENOMEM). */
static ssize_t
mime_pool_add(struct mime_table *t, const char *s, size_t n)
{
	if (t->used + n + 1 > t->size) {
		size_t size = t->size > 0 ? t->size : 4096;
		while (size < t->used + n + 1)
			size *= 2;
		char *p = realloc(t->pool, size);
		if (p == NULL)
			return -1;
		t->pool = p;
		t->size = size;
	}
	ssize_t off = (ssize_t)t->used;
	memcpy(t->pool + t->used, s, n);
	t->pool[t->used + n] = '\0';
	t->used += n + 1;
	return off;
}

static bool
mime_type_ok(const char *s, size_t n)
{
	if (n > MIME_TOKEN_MAX || memchr(s, '/', n) == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static bool
mime_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\0';
}

/* Adds the extensions of one line; 0, or -1 with errno. */
static int
mime_line(struct mime_table *t, size_t *cap, char *line, size_t len)
{
	const char *tok = NULL; /* the type */
	size_t tlen = 0, i = 0, type = 0;
	bool have_type = false;

	while (i < len) {
		while (i < len && mime_blank(line[i]))
			i++;
		if (i == len || line[i] == '#')
			break;
		size_t start = i;
		while (i < len && !mime_blank(line[i]))
			i++;
		if (tok == NULL) {
			tok = line + start;
			tlen = i - start;
			if (!mime_type_ok(tok, tlen))
				return 0;
			continue;
		}
		size_t n = i - start;
		if (n > MIME_TOKEN_MAX)
			continue;
		if (!have_type) {
			ssize_t off = mime_pool_add(t, tok, tlen);
			if (off < 0)
				return -1;
			type = (size_t)off;
			have_type = true;
		}
		if (t->n == MIME_EXTS_MAX) {
			errno = E2BIG;
			return -1;
		}
		if (t->n == *cap) {
			size_t c = *cap > 0 ? *cap * 2 : 256;
			struct mime_ent *e = reallocarray(t->ents, c, sizeof(*e));
			if (e == NULL)
				return -1;
			t->ents = e;
			*cap = c;
		}
		for (size_t k = start; k < i; k++)
			line[k] = (char)fs_lower((unsigned char)line[k]);
		ssize_t off = mime_pool_add(t, line + start, n);
		if (off < 0)
			return -1;
		t->ents[t->n].ext_off = (size_t)off;
		t->ents[t->n].type_off = type;
		t->ents[t->n].seq = t->n;
		t->n++;
	}
	return 0;
}

static int
mime_cmp(const void *a, const void *b)
{
	const struct mime_ent *x = a, *y = b;
	int c = strcmp(x->ext, y->ext);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Reads the lines of f into t; 0, or -1 with errno. */
static int
mime_read(struct mime_table *t, FILE *f)
{
	char line[MIME_LINE_MAX];
	size_t len = 0, cap = 0;
	int c;

	while ((c = getc(f)) != EOF) {
		if (c != '\n') {
			if (len == sizeof(line)) {
				errno = EINVAL;
				return -1;
			}
			line[len++] = (char)c;
			continue;
		}
		if (mime_line(t, &cap, line, len) < 0)
			return -1;
		len = 0;
	}
	if (ferror(f)) {
		errno = errno != 0 ? errno : EIO;
		return -1;
	}
	return mime_line(t, &cap, line, len);
}

struct mime_table *
mime_load(const char *path)
{
	struct mime_table *t = calloc(1, sizeof(*t));
	FILE *f;

	if (t == NULL)
		return NULL;
	if ((f = fopen(path, "re")) == NULL) {
		mime_free(t);
		return NULL;
	}
	errno = 0;
	int rc = mime_read(t, f);
	int saved = errno;
	fclose(f);
	if (rc < 0) {
		mime_free(t);
		errno = saved;
		return NULL;
	}
	for (size_t i = 0; i < t->n; i++) {
		t->ents[i].ext = t->pool + t->ents[i].ext_off;
		t->ents[i].type = t->pool + t->ents[i].type_off;
	}
	/* Sorted by extension, then by line: the first of equals is kept. */
	if (t->n > 0)
		qsort(t->ents, t->n, sizeof(*t->ents), mime_cmp);
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++)
		if (n == 0 || strcmp(t->ents[i].ext, t->ents[n - 1].ext) != 0)
			t->ents[n++] = t->ents[i];
	t->n = n;
	return t;
}

/* The extension looked up, compared in lower case as strcmp would. */
static int
mime_key_cmp(const void *k, const void *e)
{
	const unsigned char *key = k;
	const unsigned char *ext = (const unsigned char *)((const struct mime_ent *)e)->ext;
	size_t i;

	for (i = 0; key[i] != '\0'; i++) {
		int c = fs_lower(key[i]);
		if (c != ext[i])
			return c - ext[i]; /* the NUL of a shorter ext sorts first */
	}
	return ext[i] == '\0' ? 0 : -1;
}

const char *
mime_type(const struct mime_table *tbl, const char *name)
{
	static const char dflt[] = "application/octet-stream";
	const char *base = strrchr(name, '/');
	const char *dot;

	base = base != NULL ? base + 1 : name;
	/* Leading dots start no extension: ".profile" has none. */
	base += strspn(base, ".");
	dot = strrchr(base, '.');
	if (tbl == NULL || tbl->n == 0 || dot == NULL || dot[1] == '\0')
		return dflt;
	const struct mime_ent *e = bsearch(dot + 1, tbl->ents, tbl->n, sizeof(*e), mime_key_cmp);
	return e != NULL ? e->type : dflt;
}

void
mime_free(struct mime_table *tbl)
{
	if (tbl == NULL)
		return;
	free(tbl->ents);
	free(tbl->pool);
	free(tbl);
}

/* Listings. */

size_t
fs_html_escape(char *dst, const char *s, size_t n)
{
	char *d = dst;

	for (size_t i = 0; i < n; i++) {
		const char *rep;
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			*d++ = s[i];
			continue;
		}
		size_t k = strlen(rep);
		memcpy(d, rep, k);
		d += k;
	}
	return (size_t)(d - dst);
}

size_t
fs_url_encode(char *dst, const char *s, size_t n)
{
	char *d = dst;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		/* isalnum would follow the locale: ASCII only. */
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*d++ = (char)c;
		} else {
			*d++ = '%';
			*d++ = hexdigits[c >> 4];
			*d++ = hexdigits[c & 0x0f];
		}
	}
	return (size_t)(d - dst);
}

enum fs_kind { FS_DIR, FS_REG, FS_OTHER };

struct fs_ent {
	char *name;
	enum fs_kind kind;
	off_t size;
};

static int
fs_ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fs_ent *)a)->name, ((const struct fs_ent *)b)->name);
}

/* What name in dirfd is, a symlink by what it leads to beneath dirfd;
 * -1 when it has gone. */
static int
fs_ent_stat(int dirfd, const char *name, struct fs_ent *e)
{
	struct stat st;

	e->kind = FS_OTHER;
	e->size = 0;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? -1 : 0;
	if (S_ISLNK(st.st_mode)) {
		int fd = fs_open_beneath(dirfd, name, O_PATH, 0);
		int rc = fd >= 0 ? fstat(fd, &st) : -1;

		if (fd >= 0)
			close(fd);
		if (rc < 0)
			return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		e->kind = FS_DIR;
	} else if (S_ISREG(st.st_mode)) {
		e->kind = FS_REG;
		e->size = st.st_size;
	}
	return 0;
}

/* The visible entries of dirfd, at most FS_LISTING_MAX, in *ents; their
 * number, or -1 with errno.  *truncated tells whether some were left. */
static ssize_t
fs_read_dir(int dirfd, struct fs_ent **ents, bool *truncated)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct fs_ent *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*truncated = false;
	if (fd < 0)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (de->d_name[0] == '.')
			continue;
		if (n == FS_LISTING_MAX) {
			*truncated = true;
			break;
		}
		if (n == cap) {
			size_t c = cap > 0 ? cap * 2 : 64;
			struct fs_ent *nv = reallocarray(v, c, sizeof(*nv));
			if (nv == NULL)
				goto fail;
			v = nv;
			cap = c;
		}
		if (fs_ent_stat(dirfd, de->d_name, &v[n]) < 0)
			continue;
		if ((v[n].name = strdup(de->d_name)) == NULL)
			goto fail;
		n++;
	}
	if (de == NULL && errno != 0)
		goto fail;
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), fs_ent_cmp);
	*ents = v;
	return (ssize_t)n;
fail:;
	int saved = errno;
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	errno = saved;
	return -1;
}

/* Appends one row; 0, or -1 (ENOMEM). */
static int
fs_row(struct buf *out, const struct fs_ent *e)
{
	/* Names from readdir fit in NAME_MAX bytes. */
	char href[FS_URL_MAX(NAME_MAX)], text[FS_HTML_MAX(NAME_MAX)], size[32];
	char row[sizeof(href) + sizeof(text) + sizeof(size) + 64];
	size_t len = strlen(e->name);
	size_t hlen = fs_url_encode(href, e->name, len);
	size_t tlen = fs_html_escape(text, e->name, len);
	const char *slash = e->kind == FS_DIR ? "/" : "";

	if (e->kind == FS_REG)
		snprintf(size, sizeof(size), "%lld", (long long)e->size);
	else
		snprintf(size, sizeof(size), "-");
	int n = snprintf(row, sizeof(row),
	    "<tr><td><a href=\"%.*s%s\">%.*s%s</a></td><td>%s</td></tr>\n", (int)hlen, href, slash,
	    (int)tlen, text, slash, size);
	return buf_append(out, row, (size_t)n);
}

int
fs_listing(int dirfd, const char *urlpath, struct buf *out)
{
	static const char up[] = "<tr><td><a href=\"../\">../</a></td><td>-</td></tr>\n";
	static const char table_end[] = "</table>\n", tail[] = "</body>\n</html>\n";
	size_t old = out->len, ulen = strlen(urlpath);
	struct fs_ent *ents = NULL;
	bool truncated;
	ssize_t n = fs_read_dir(dirfd, &ents, &truncated);
	char *title = NULL, *head = NULL;
	int rc = -1, k;

	if (n < 0)
		return -1;
	if ((title = malloc(FS_HTML_MAX(ulen) + 1)) == NULL)
		goto done;
	size_t tlen = fs_html_escape(title, urlpath, ulen);
	k = asprintf(&head,
	    "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
	    "<title>Index of %.*s</title>\n</head>\n<body>\n<h1>Index of %.*s</h1>\n"
	    "<table>\n<tr><th>Name</th><th>Size</th></tr>\n",
	    (int)tlen, title, (int)tlen, title);
	if (k < 0) {
		head = NULL;
		goto done;
	}
	if (buf_append(out, head, (size_t)k) < 0)
		goto done;
	if (strcmp(urlpath, "/") != 0 && buf_append(out, up, sizeof(up) - 1) < 0)
		goto done;
	for (ssize_t i = 0; i < n; i++)
		if (fs_row(out, &ents[i]) < 0)
			goto done;
	if (buf_append(out, table_end, sizeof(table_end) - 1) < 0)
		goto done;
	if (truncated) {
		char note[128];
		k = snprintf(note, sizeof(note),
		    "<p>Listing truncated: only the first %d entries are shown.</p>\n",
		    FS_LISTING_MAX);
		if (buf_append(out, note, (size_t)k) < 0)
			goto done;
	}
	if (buf_append(out, tail, sizeof(tail) - 1) < 0)
		goto done;
	rc = 0;
done:;
	int saved = errno;
	if (rc < 0) {
		/* All or nothing: drop what this listing appended. */
		if (old == 0)
			buf_free(out);
		else
			out->len = old;
	}
	for (ssize_t i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
	free(title);
	free(head);
	errno = saved;
	return rc;
}
