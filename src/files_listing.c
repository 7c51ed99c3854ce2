/* files_listing.c - the files handler's directory listings in HTML, and the escaping they use. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "buf.h"
#include "files_fs.h"

static const char hexdigits[] = "0123456789ABCDEF";

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
