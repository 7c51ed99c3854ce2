/* mime.c - the files handler's MIME table: file name extensions to types, read from a mime.types file. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "files_fs.h"

/* Neither a file name's extension nor a type (RFC 6838: 127 + '/' + 127)
 * is longer: longer tokens are ignored, which bounds the table's memory. */
#define MIME_TOKEN_MAX 255

/* ASCII only: tolower would follow the locale. */
static inline unsigned char
mime_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* One extension while the table is read: offsets into the pool (it
 * moves as it grows), then pointers into it. */
struct mime_ent {
	size_t ext_off, type_off;
	size_t seq; /* line order: the first mapping wins */
	const char *ext, *type;
};

/* One extension as looked up. */
struct mime_pair {
	const char *ext, *type;
};

/*
 * Read once, then only looked up: the final table is exactly as large as
 * it needs to be (the fork model copies the page tables of every page it
 * touches into each child).
 */
struct mime_table {
	struct mime_ent *ents;   /* while reading */
	struct mime_pair *pairs; /* sorted by ext (lower case), one each */
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
			line[k] = (char)mime_lower((unsigned char)line[k]);
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
	/* The pool shrinks (it may move: the offsets stay), the pairs are new. */
	char *p = t->used > 0 ? realloc(t->pool, t->used) : NULL;
	if (p != NULL)
		t->pool = p;
	if (n > 0 && (t->pairs = calloc(n, sizeof(*t->pairs))) == NULL) {
		mime_free(t);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		t->pairs[i].ext = t->pool + t->ents[i].ext_off;
		t->pairs[i].type = t->pool + t->ents[i].type_off;
	}
	free(t->ents);
	t->ents = NULL;
	t->n = n;
	return t;
}

/* The extension looked up, compared in lower case as strcmp would. */
static int
mime_key_cmp(const void *k, const void *e)
{
	const unsigned char *key = k;
	const unsigned char *ext = (const unsigned char *)((const struct mime_pair *)e)->ext;
	size_t i;

	for (i = 0; key[i] != '\0'; i++) {
		int c = mime_lower(key[i]);
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
	const struct mime_pair *e = bsearch(dot + 1, tbl->pairs, tbl->n, sizeof(*e), mime_key_cmp);
	return e != NULL ? e->type : dflt;
}

void
mime_free(struct mime_table *tbl)
{
	if (tbl == NULL)
		return;
	free(tbl->ents);
	free(tbl->pairs);
	free(tbl->pool);
	free(tbl);
}
