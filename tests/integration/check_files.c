/* check_files.c - the files handler (an HTTP/1.1 file server) under every model, over real sockets. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define D H_DEADLINE_MS
/* For the bulk transfers (MiBs): a slowed-down server (valgrind) needs longer. */
#define DS (H_DEADLINE_MS * (int)h_time_scale())

/* Every file's mtime, 2001-09-09T01:46:40Z: the validators are the same on
 * every run and under every model (the differential test compares them). */
#define MTIME      1000000000
#define MTIME_HTTP "Sun, 09 Sep 2001 01:46:40 GMT"
/* The content of the file beside the root that no request may reach. */
#define SECRET    "TOP-SECRET-7d1f0c9a: this file lies outside the root"
#define OCTET     "application/octet-stream"
#define NOT_FOUND "404 Not Found\n"

/* ---- small utilities ------------------------------------------------- */

/* Milliseconds left until end (of h_now_ms), at least 1. */
static int
left(long long end)
{
	long long r = end - h_now_ms();

	return r < 1 ? 1 : (int)r;
}

/*
 * A deliberate stretch of time in which the client does nothing: part of
 * a scenario (a client that stops reading, one that trickles), never a
 * stand-in for a condition.
 */
static void
pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	H_ASSERT(p != NULL, "malloc %zu", n);
	return p;
}

/* n pseudo-random bytes (NULs among them) that depend on seed alone. */
static unsigned char *
rnd_data(size_t n, unsigned seed)
{
	unsigned char *p = xmalloc(n);

	h_fill(p, n, seed);
	return p;
}

/* A printf into a ring of static buffers (valid for the next few calls). */
static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *
fmt(const char *f, ...)
{
	static char ring[32][16384];
	static unsigned next;
	char *p = ring[next++ % 32];
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(p, sizeof ring[0], f, ap);
	va_end(ap);
	H_ASSERT(n >= 0 && (size_t)n < sizeof ring[0], "fmt: %d bytes do not fit", n);
	return p;
}

/* The IMF-fixdate of t: "Sun, 06 Nov 1994 08:49:37 GMT". */
static void
imf_date(char out[32], time_t t)
{
	static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
		"Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", wday[tm.tm_wday], tm.tm_mday,
	    mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* True when v is exactly an IMF-fixdate (every field, the weekday the
 * date's): it prints back the same; *t is its time. */
static bool
imf_parse(const char *v, time_t *t)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm = { 0 };
	char mon[4], wd[4], back[32];
	const char *m;

	if (strlen(v) != 29 ||
	    sscanf(v, "%3s, %2d %3s %4d %2d:%2d:%2d GMT", wd, &tm.tm_mday, mon, &tm.tm_year,
	        &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 7 ||
	    strlen(mon) != 3 || (m = strstr(months, mon)) == NULL || (m - months) % 3 != 0)
		return false;
	tm.tm_mon = (int)(m - months) / 3;
	tm.tm_year -= 1900;
	*t = timegm(&tm);
	imf_date(back, *t);
	return strcmp(back, v) == 0;
}

/* The Content-Type a name gets: from /etc/mime.types when it is there. */
static const char *
mime_of(const char *type)
{
	return access("/etc/mime.types", R_OK) == 0 ? type : OCTET;
}

/*
 * True when openat2(2) with RESOLVE_BENEATH works here: then a symlink
 * that stays beneath the root is followed; the fallback walk refuses
 * every symlink (files_fs.h).
 */
static bool
have_openat2(void)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_BENEATH };
	long fd = syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how);

	if (fd < 0)
		return errno != ENOSYS && errno != EPERM;
	close((int)fd);
	return true;
}

/* ---- the fixture: a temp dir, its root, a server --------------------- */

struct fx {
	const char *model;
	char dir[PATH_MAX];  /* the test's temp dir: the secret lies here, outside */
	char root[PATH_MAX]; /* dir/root: what is served */
	struct srv s;
	int port;
};

/* Writes n bytes at p to path (created or truncated) with mtime mtime. */
static void
put_path(const char *model, const char *path, const void *p, size_t n, time_t mtime)
{
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	const char *c = p;

	H_ASSERT(fd >= 0, "%s: create %s: %s", model, path, H_ERR);
	while (n > 0) {
		ssize_t w = write(fd, c, n);

		H_ASSERT(w > 0, "%s: write %s: %s", model, path, H_ERR);
		c += w;
		n -= (size_t)w;
	}
	H_ASSERT(futimens(fd, ts) == 0 && close(fd) == 0, "%s: %s: %s", model, path, H_ERR);
}

static const char *
in_root(const struct fx *f, const char *rel)
{
	return h_path(f->root, rel);
}

static void
mkfile(const struct fx *f, const char *rel, const void *p, size_t n)
{
	put_path(f->model, in_root(f, rel), p, n, MTIME);
}

static void
mkdir_in(const struct fx *f, const char *rel)
{
	H_ASSERT(mkdir(in_root(f, rel), 0755) == 0, "%s: mkdir %s: %s", f->model, rel, H_ERR);
}

static void
symlink_in(const struct fx *f, const char *target, const char *rel)
{
	H_ASSERT(symlink(target, in_root(f, rel)) == 0, "%s: symlink %s: %s", f->model, rel, H_ERR);
}

/* The whole of root/rel (NULL when it cannot be read) and its length. */
static char *
slurp(const struct fx *f, const char *rel, size_t *len)
{
	return h_read_file(in_root(f, rel), len);
}

/* A fresh temp dir (mkdtemp) with root/ in it and the secret beside root. */
static void
fx_init(struct fx *f, const char *model)
{
	const char *d = h_tmpdir();

	memset(f, 0, sizeof *f);
	f->model = model;
	H_ASSERT(d != NULL, "%s: no temp dir", model);
	snprintf(f->dir, sizeof f->dir, "%s", d);
	snprintf(f->root, sizeof f->root, "%s/root", d);
	H_ASSERT(mkdir(f->root, 0755) == 0, "%s: mkdir %s: %s", model, f->root, H_ERR);
	put_path(model, h_path(f->dir, "secret"), SECRET, strlen(SECRET), MTIME);
}

/* g serves the same root as f (another server, not started yet). */
static void
fx_twin(struct fx *g, const struct fx *f)
{
	memset(g, 0, sizeof *g);
	g->model = f->model;
	memcpy(g->dir, f->dir, sizeof g->dir);
	memcpy(g->root, f->root, sizeof g->root);
}

static void
fx_listening(struct fx *f)
{
	f->port = srv_port(&f->s, 0);
	H_ASSERT(f->s.nls == 1 && strcmp(f->s.ls[0].handler, "files") == 0 && f->port > 0,
	    "%s: bad listening line '%s (%s, %s)'", f->model, f->s.ls[0].addr, f->s.ls[0].service,
	    f->s.ls[0].handler);
}

/*
 * Starts f's model with files on 127.0.0.1:0 over f->root, with the extra
 * arguments (NULL-terminated, or NULL) and env's "NAME=VALUE" entries
 * (NULL: none) in its environment.
 */
static void
fx_start_env(struct fx *f, const char *const *extra, const char *const *env)
{
	const char *args[32] = { h_binary(), "-m", f->model, "-H", "files", "-l", "127.0.0.1:0",
		"--files-root", f->root };
	int n = 9;

	for (; extra != NULL && *extra != NULL && n < 31; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	if (env == NULL)
		H_ASSERT(srv_start(&f->s, args + 1) == 0, "%s: files server did not start",
		    f->model);
	else
		H_ASSERT(srv_spawn_cmd(&f->s, args, env, NULL) == 0 &&
		        srv_wait_listening(&f->s, 1, H_START_MS) == 0,
		    "%s: files server did not start", f->model);
	fx_listening(f);
}

static void
fx_start(struct fx *f, const char *const *extra)
{
	fx_start_env(f, extra, NULL);
}

/* Starts f's model with a configuration file: one files service over
 * f->root, with keys (lines of the service's block) added. */
static void
fx_start_conf(struct fx *f, const char *keys)
{
	const char *args[] = { "-m", f->model, "-c", NULL, NULL };

	args[3] = h_write_conf(f->dir,
	    fmt("service \"web\" {\n\tlisten = {\"127.0.0.1:0\"}\n\thandler = \"files\"\n"
	        "\troot = \"%s\"\n%s}\n",
	        f->root, keys));
	H_ASSERT(srv_start_n(&f->s, args, 1) == 0, "%s: files server (config) did not start",
	    f->model);
	fx_listening(f);
}

static void
fx_stop(struct fx *f)
{
	H_STOP_OK(&f->s, f->model);
}

/* ---- the standard tree ---------------------------------------------- */

/* Files of every size class: the inline limit is 16 KiB, beyond it sendfile. */
static const struct tfile {
	const char *name;
	size_t size;
	const char *type; /* with /etc/mime.types */
} tree[] = {
	{ "one", 1, OCTET },
	{ "k1", 1024, OCTET },
	{ "k16", 16384, OCTET },
	{ "k16p1", 16385, OCTET },
	{ "big", 4 << 20, OCTET },
	{ "x.html", 700, "text/html" },
	{ "x.txt", 33, "text/plain" },
	{ "x.zzqq", 10, OCTET },
	{ "UP.HTML", 20, "text/html" },
	{ "d/in.txt", 100, "text/plain" },
	{ "idx/index.html", 200, "text/html" },
};
#define NTREE ((int)(sizeof tree / sizeof tree[0]))

/* The bytes of tree[i] (made once per test process). */
static const unsigned char *
tbody(int i)
{
	static unsigned char *data[NTREE];

	if (data[i] == NULL)
		data[i] = rnd_data(tree[i].size, 1000 + (unsigned)i);
	return data[i];
}

static int
tfind(const char *name)
{
	for (int i = 0; i < NTREE; i++)
		if (strcmp(tree[i].name, name) == 0)
			return i;
	H_ASSERT(0, "no file %s in the tree", name);
	return -1;
}

static void
std_tree(const struct fx *f)
{
	mkdir_in(f, "d");
	mkdir_in(f, "idx");
	for (int i = 0; i < NTREE; i++)
		mkfile(f, tree[i].name, tbody(i), tree[i].size);
}

/* The usual start of a test: a fresh root with the standard tree, served
 * by model with the extra arguments (NULL-terminated, or NULL). */
static void
fx_std(struct fx *f, const char *model, const char *const *extra)
{
	fx_init(f, model);
	std_tree(f);
	fx_start(f, extra);
}

/* ---- an HTTP client -------------------------------------------------- */

/* One connection: what came and has not been taken as a response yet. */
struct conn {
	const char *model;
	int fd;
	struct hbuf in;
	size_t off; /* in.p[off..len) is not taken yet */
};

/* One response: its head (with the empty line, NUL-terminated) and body. */
struct resp {
	int status;
	char *head;
	size_t hlen;
	char *body;
	size_t blen;
	long long clen; /* Content-Length, -1 when absent */
};

static void
resp_free(struct resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof *r);
}

static void
conn_open(struct conn *c, const struct fx *f)
{
	memset(c, 0, sizeof *c);
	c->model = f->model;
	c->fd = cli_connect(f->port);
	H_ASSERT(c->fd >= 0, "%s: connect to %d: %s", f->model, f->port, H_ERR);
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	hbuf_free(&c->in);
	c->off = 0;
}

static void
conn_send(struct conn *c, const void *p, size_t n)
{
	H_ASSERT(cli_write_all(c->fd, p, n, DS) == 0, "%s: send of %zu bytes: %s", c->model, n,
	    H_ERR);
}

static void
conn_sends(struct conn *c, const char *s)
{
	conn_send(c, s, strlen(s));
}

/* Receives more into c->in by end: the bytes (> 0), 0 at EOF, or -1 with
 * errno (ETIMEDOUT at the deadline). */
static ssize_t
conn_fill(struct conn *c, long long end)
{
	char chunk[65536];

	for (;;) {
		ssize_t r = recv(c->fd, chunk, sizeof chunk, 0);
		struct pollfd pf = { c->fd, POLLIN, 0 };
		int k;

		if (r > 0) {
			hbuf_add(&c->in, chunk, (size_t)r);
			return r;
		}
		if (r == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
		k = h_now_ms() >= end ? 0 : poll(&pf, 1, left(end));
		if (k == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (k < 0 && errno != EINTR)
			return -1;
	}
}

static size_t
conn_avail(const struct conn *c)
{
	return c->in.len - c->off;
}

/* The first byte not taken yet (c->in may have no storage yet: no
 * arithmetic on a null pointer). */
static const char *
conn_at(const struct conn *c)
{
	return c->in.p != NULL ? c->in.p + c->off : "";
}

/* Takes n bytes of c->in (all there) into a new NUL-terminated string. */
static char *
conn_take(struct conn *c, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, conn_at(c), n);
	p[n] = '\0';
	c->off += n;
	if (c->off == c->in.len)
		c->in.len = c->off = 0; /* all taken: the buffer starts again */
	return p;
}

/* The value of the first header name in head (ring of static buffers), or NULL. */
static const char *
head_hdr(const char *head, const char *name)
{
	static char ring[8][1024];
	static unsigned next;
	size_t nl = strlen(name);
	const char *p = strstr(head, "\r\n");

	while (p != NULL && p[2] != '\r' && p[2] != '\0') {
		const char *line = p + 2, *e = strstr(line, "\r\n"), *v;
		char *out;

		p = e;
		if (e == NULL || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
			continue;
		for (v = line + nl + 1; *v == ' ' || *v == '\t'; v++)
			;
		out = ring[next++ % 8];
		snprintf(out, sizeof ring[0], "%.*s", (int)(e - v), v);
		return out;
	}
	return NULL;
}

static const char *
hdr(const struct resp *r, const char *name)
{
	return head_hdr(r->head, name);
}

/* How many header lines called name r has. */
static int
hdr_count(const struct resp *r, const char *name)
{
	size_t nl = strlen(name);
	int n = 0;

	for (const char *p = strstr(r->head, "\r\n"); p != NULL && p[2] != '\r';
	     p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':')
			n++;
	return n;
}

/*
 * Waits by end for a whole response head at c->off and takes it into r
 * (status, clen; no body yet).  False at EOF or the deadline (errno: 0 at
 * EOF); a head that is not HTTP/1.1's fails the test.
 */
static bool
conn_head(struct conn *c, struct resp *r, long long end)
{
	const char *e, *cl;
	size_t hlen;

	resp_free(r);
	while ((e = memmem(conn_at(c), conn_avail(c), "\r\n\r\n", 4)) == NULL) {
		ssize_t k;

		H_ASSERT(conn_avail(c) <= 64 * 1024,
		    "%s: no end of a response head in %zu bytes: '%s'", c->model, conn_avail(c),
		    h_show(conn_at(c), conn_avail(c)));
		k = conn_fill(c, end);
		if (k <= 0) {
			if (k == 0)
				errno = 0;
			return false;
		}
	}
	hlen = (size_t)(e + 4 - conn_at(c));
	r->head = conn_take(c, hlen);
	r->hlen = hlen;
	H_ASSERT(strncmp(r->head, "HTTP/1.1 ", 9) == 0 &&
	        sscanf(r->head + 9, "%3d", &r->status) == 1 && r->head[12] == ' ',
	    "%s: not an HTTP/1.1 status line: '%s'", c->model, h_show(r->head, hlen));
	cl = hdr(r, "Content-Length");
	r->clen = cl != NULL ? strtoll(cl, NULL, 10) : -1;
	return true;
}

/*
 * Reads one whole response into r within timeout_ms: the head, then the
 * body its Content-Length says (none for a HEAD, 1xx, 204 or 304, where
 * the body must not be).  False at EOF or the deadline (errno: 0 at EOF).
 */
static bool
conn_resp(struct conn *c, bool head_req, struct resp *r, int timeout_ms)
{
	long long end = h_now_ms() + timeout_ms;
	size_t want;

	if (!conn_head(c, r, end))
		return false;
	if (head_req || r->status / 100 == 1 || r->status == 204 || r->status == 304) {
		want = 0;
	} else {
		H_ASSERT(r->clen >= 0, "%s: a %d response without Content-Length: '%s'", c->model,
		    r->status, h_show(r->head, r->hlen));
		want = (size_t)r->clen;
	}
	while (conn_avail(c) < want) {
		ssize_t k = conn_fill(c, end);

		if (k <= 0) {
			if (k == 0)
				errno = 0;
			return false;
		}
	}
	r->body = conn_take(c, want);
	r->blen = want;
	return true;
}

/* conn_resp that must succeed ("WHAT: no response"). */
static void
must_resp(struct conn *c, bool head_req, struct resp *r, const char *what)
{
	H_ASSERT(conn_resp(c, head_req, r, DS), "%s: %s: no whole response within %d ms (%s)",
	    c->model, what, DS, errno == 0 ? "EOF" : H_ERR);
}

/* The server closes the connection with no byte more (EOF, or a reset). */
static void
expect_closed(struct conn *c, const char *what, int timeout_ms)
{
	long long end = h_now_ms() + timeout_ms;
	ssize_t k = conn_avail(c) > 0 ? 1 : conn_fill(c, end);

	H_ASSERT(k == 0 || (k < 0 && (errno == ECONNRESET || errno == EPIPE)),
	    "%s: %s: the server did not close: %s", c->model, what,
	    k > 0 ? h_show(conn_at(c), conn_avail(c)) : H_ERR);
}

/* Sends req on a fresh connection, reads one response (of a HEAD when req
 * is one) into r, and closes. */
static void
fetch1(const struct fx *f, const char *req, struct resp *r)
{
	struct conn c;

	conn_open(&c, f);
	conn_sends(&c, req);
	must_resp(&c, strncmp(req, "HEAD ", 5) == 0, r, h_show(req, strlen(req)));
	conn_close(&c);
}

/* "METHOD TARGET HTTP/1.1", Host, the extra header lines (each ending CRLF). */
static const char *
rq(const char *method, const char *target, const char *extra)
{
	return fmt("%s %s HTTP/1.1\r\nHost: test\r\n%s\r\n", method, target,
	    extra != NULL ? extra : "");
}

/* ---- what a response must be ----------------------------------------- */

static void
check_status(const char *model, const char *what, const struct resp *r, int status)
{
	H_ASSERT(r->status == status, "%s: %s: status %d, want %d; response: '%s'", model, what,
	    r->status, status, h_show(r->head, r->hlen));
}

/* Header name has exactly value (NULL: it is absent). */
static void
check_hdr(const char *model, const char *what, const struct resp *r, const char *name,
    const char *value)
{
	const char *v = hdr(r, name);

	if (value == NULL)
		H_ASSERT(v == NULL, "%s: %s: unexpected %s: %s; head '%s'", model, what, name, v,
		    h_show(r->head, r->hlen));
	else
		H_ASSERT(v != NULL && strcmp(v, value) == 0 && hdr_count(r, name) == 1,
		    "%s: %s: %s is %s%s%s, want '%s' once; head '%s'", model, what, name,
		    v ? "'" : "", v ? v : "absent", v ? "'" : "", value, h_show(r->head, r->hlen));
}

static void
check_body(const char *model, const char *what, const struct resp *r, const void *p, size_t n)
{
	size_t i = 0;

	while (i < n && i < r->blen && r->body[i] == ((const char *)p)[i])
		i++;
	H_ASSERT(r->blen == n && i == n,
	    "%s: %s: body of %zu bytes, want %zu; first difference at %zu: '%s'", model, what,
	    r->blen, n, i, h_show(r->body + i, r->blen - i));
}

/*
 * What every response has: one Date, an IMF-fixdate of about now; one
 * "Server: dispatchd/..."; one Content-Length but for 1xx, 204, 304.
 */
static void
check_common(const char *model, const char *what, const struct resp *r)
{
	const char *date = hdr(r, "Date"), *server = hdr(r, "Server");
	time_t t, now = time(NULL);
	bool nolen = r->status / 100 == 1 || r->status == 204 || r->status == 304;

	H_ASSERT(date != NULL && hdr_count(r, "Date") == 1 && imf_parse(date, &t) && t >= now - 5 &&
	        t <= now + 5,
	    "%s: %s: Date '%s' is not one IMF-fixdate of now; head '%s'", model, what,
	    date ? date : "(none)", h_show(r->head, r->hlen));
	H_ASSERT(server != NULL && hdr_count(r, "Server") == 1 &&
	        strncmp(server, "dispatchd/", 10) == 0 && server[10] != '\0',
	    "%s: %s: Server '%s', want dispatchd/VERSION", model, what, server ? server : "(none)");
	H_ASSERT(nolen ? hdr_count(r, "Content-Length") == 0 : hdr_count(r, "Content-Length") == 1,
	    "%s: %s: a %d response with %d Content-Length headers; head '%s'", model, what,
	    r->status, hdr_count(r, "Content-Length"), h_show(r->head, r->hlen));
}

/* The 404 (or 403, 400, ...) with its short text body. */
static void
check_error(const char *model, const char *what, const struct resp *r, int status)
{
	check_status(model, what, r, status);
	check_common(model, what, r);
	H_ASSERT(r->blen > 4 && strncmp(r->body, fmt("%d ", status), 4) == 0,
	    "%s: %s: the body of a %d is '%s'", model, what, status, h_show(r->body, r->blen));
}

/*
 * A 200 with the whole of tree[i]: Content-Length, Content-Type,
 * Last-Modified, a quoted ETag, Accept-Ranges, and the body byte for byte
 * (none when head).
 */
static void
check_tfile(const char *model, const struct resp *r, int i, bool head)
{
	const char *what = fmt("%s /%s", head ? "HEAD" : "GET", tree[i].name);
	const char *etag = hdr(r, "ETag");

	check_status(model, what, r, 200);
	check_common(model, what, r);
	check_hdr(model, what, r, "Content-Length", fmt("%zu", tree[i].size));
	check_hdr(model, what, r, "Content-Type", mime_of(tree[i].type));
	check_hdr(model, what, r, "Last-Modified", MTIME_HTTP);
	check_hdr(model, what, r, "Accept-Ranges", "bytes");
	H_ASSERT(etag != NULL && hdr_count(r, "ETag") == 1 && strlen(etag) >= 3 &&
	        etag[strlen(etag) - 1] == '"' && (etag[0] == '"' || strncmp(etag, "W/\"", 3) == 0),
	    "%s: %s: ETag '%s' is not one entity-tag", model, what, etag ? etag : "(none)");
	if (head)
		H_ASSERT(r->blen == 0, "%s: %s: a body", model, what);
	else
		check_body(model, what, r, tbody(i), tree[i].size);
}

/*
 * The head with the Date header's value left out: what a response must be
 * under every model, and what a HEAD shares with its GET.
 */
static char *
normalized(const struct resp *r)
{
	const char *d = strstr(r->head, "\r\nDate: ");
	char *n = xmalloc(r->hlen + 1);
	size_t k;

	if (d == NULL) {
		memcpy(n, r->head, r->hlen + 1);
		return n;
	}
	k = (size_t)(d - r->head) + 8;
	memcpy(n, r->head, k);
	snprintf(n + k, r->hlen + 1 - k, "%s", strstr(d + 2, "\r\n"));
	return n;
}

/* ---- 1. GET and HEAD of files ---------------------------------------- */

/*
 * Every file of the tree on one kept-alive connection: GET, then a HEAD
 * pipelined with a GET (the HEAD has the GET's head exactly, Date aside,
 * and no body: the GET after it is read right).  Then a changed file has
 * a new ETag and Last-Modified.
 */
START_TEST(test_get)
{
	const char *model = h_model(_i);
	struct resp g = { 0 }, h = { 0 }, again = { 0 };
	char lm[32], *ng, *nh, old_etag[256], target[64];
	struct conn c;
	struct fx f;

	fx_std(&f, model, NULL);
	conn_open(&c, &f);
	for (int i = 0; i < NTREE; i++) {
		snprintf(target, sizeof target, "/%s", tree[i].name);
		conn_sends(&c, rq("GET", target, NULL));
		must_resp(&c, false, &g, target);
		check_tfile(model, &g, i, false);
		check_hdr(model, target, &g, "Connection", NULL); /* HTTP/1.1 keeps it */
		conn_sends(&c, fmt("%s%s", rq("HEAD", target, NULL), rq("GET", target, NULL)));
		must_resp(&c, true, &h, target);
		check_tfile(model, &h, i, true);
		ng = normalized(&g);
		nh = normalized(&h);
		H_ASSERT(strcmp(ng, nh) == 0, "%s: HEAD %s: head '%s', GET's '%s'", model, target,
		    h_show(nh, strlen(nh)), h_show(ng, strlen(ng)));
		free(ng);
		free(nh);
		must_resp(&c, false, &again, target);
		check_tfile(model, &again, i, false);
	}
	/* The file changes: so do its validators. */
	conn_sends(&c, rq("GET", "/k1", NULL));
	must_resp(&c, false, &g, "/k1");
	snprintf(old_etag, sizeof old_etag, "%s", hdr(&g, "ETag"));
	put_path(model, in_root(&f, "k1"), "changed", 7, MTIME + 86400);
	conn_sends(&c, rq("GET", "/k1", NULL));
	must_resp(&c, false, &g, "/k1 changed");
	check_status(model, "GET /k1 changed", &g, 200);
	check_body(model, "GET /k1 changed", &g, "changed", 7);
	imf_date(lm, MTIME + 86400);
	check_hdr(model, "GET /k1 changed", &g, "Last-Modified", lm);
	H_ASSERT(hdr(&g, "ETag") != NULL && strcmp(hdr(&g, "ETag"), old_etag) != 0,
	    "%s: /k1 changed but kept ETag %s", model, old_etag);
	conn_close(&c);
	resp_free(&g);
	resp_free(&h);
	resp_free(&again);
	fx_stop(&f);
}
END_TEST

/* ---- 2. keep-alive, pipelining, the differential property ----------- */

/* One request of a pipeline and what must come back for it. */
struct preq {
	char text[512];
	bool head;
	int status;
	const void *body; /* NULL: not checked here */
	size_t blen;
	const char *location; /* a 301's */
};

/* A small generator (xorshift32): the pipeline is the same on every run. */
static unsigned
rnd(unsigned *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Request k of the mixed pipeline (its last one says Connection: close). */
static void
mixed_req(struct preq *p, int k, bool last, unsigned *x)
{
	const char *close = last ? "Connection: close\r\n" : "";
	int kind = (int)(rnd(x) % 10), i = (int)(rnd(x) % NTREE);
	long long a, b;

	memset(p, 0, sizeof *p);
	if (i == tfind("big") && rnd(x) % 8 != 0)
		i = tfind("k16p1"); /* the 4 MiB file now and then */
	p->status = 200;
	p->body = tbody(i);
	p->blen = tree[i].size;
	switch (kind) {
	case 0:
	case 1:
	case 2: /* a file */
		snprintf(p->text, sizeof p->text, "%s", rq("GET", fmt("/%s", tree[i].name), close));
		break;
	case 3: /* its HEAD */
		snprintf(p->text, sizeof p->text, "%s",
		    rq("HEAD", fmt("/%s", tree[i].name), close));
		p->head = true;
		p->body = NULL;
		break;
	case 4: /* nothing there */
		snprintf(p->text, sizeof p->text, "%s", rq("GET", fmt("/none-%d", k), close));
		p->status = 404;
		p->body = NOT_FOUND;
		p->blen = strlen(NOT_FOUND);
		break;
	case 5: /* a directory without its slash */
		snprintf(p->text, sizeof p->text, "%s", rq("GET", "/d", close));
		p->status = 301;
		p->body = NULL;
		p->location = "/d/";
		break;
	case 6: /* a listing, or the index */
		snprintf(p->text, sizeof p->text, "%s",
		    rq(rnd(x) % 2 ? "HEAD" : "GET", k % 2 ? "/d/" : "/idx/", close));
		p->head = strncmp(p->text, "HEAD", 4) == 0;
		p->body = k % 2 || p->head ? NULL : tbody(tfind("idx/index.html"));
		p->blen = tree[tfind("idx/index.html")].size;
		break;
	case 7: /* a range */
		a = (long long)(rnd(x) % tree[i].size);
		b = a + (long long)(rnd(x) % 70000);
		if (b >= (long long)tree[i].size)
			b = (long long)tree[i].size - 1;
		snprintf(p->text, sizeof p->text, "%s",
		    rq("GET", fmt("/%s", tree[i].name),
		        fmt("Range: bytes=%lld-%lld\r\n%s", a, b, close)));
		p->status = 206;
		p->body = tbody(i) + a;
		p->blen = (size_t)(b - a + 1);
		break;
	case 8: /* not modified */
		snprintf(p->text, sizeof p->text, "%s",
		    rq("GET", fmt("/%s", tree[i].name),
		        fmt("If-Modified-Since: %s\r\n%s", MTIME_HTTP, close)));
		p->status = 304;
		p->body = NULL;
		break;
	default: /* HTTP/1.0 with keep-alive */
		snprintf(p->text, sizeof p->text,
		    "GET /%s HTTP/1.0\r\nConnection: keep-alive\r\n%s\r\n", tree[i].name, close);
		break;
	}
}

/* Checks response k of a pipeline against what its request wants. */
static void
check_preq(const char *model, const struct preq *p, const struct resp *r, int k)
{
	const char *what = fmt("pipelined request %d '%s'", k, h_show(p->text, strlen(p->text)));

	check_status(model, what, r, p->status);
	check_common(model, what, r);
	if (p->location != NULL)
		check_hdr(model, what, r, "Location", p->location);
	if (p->body != NULL)
		check_body(model, what, r, p->body, p->blen);
	if (p->head || p->status == 304)
		H_ASSERT(r->blen == 0, "%s: %s: a body", model, what);
	if (p->head && p->status == 200 && p->body == NULL && strstr(p->text, "/d/") == NULL &&
	    strstr(p->text, "/idx/") == NULL)
		check_hdr(model, what, r, "Content-Length", fmt("%zu", p->blen));
}

#define NMIXED 200

/*
 * 200 mixed requests (files small and large, HEADs, 404s, a redirect,
 * listings, ranges, 304s, HTTP/1.0 keep-alive) in one send, the last
 * with Connection: close: the responses come in order, each right, then
 * the close.  Under every model the stream is byte for byte the same,
 * Date aside: each model's is compared with the first one's.
 */
START_TEST(test_pipeline_differential)
{
	struct preq *reqs = xmalloc(NMIXED * sizeof *reqs);
	struct hbuf all = { 0 }, first = { 0 };
	size_t offs0[NMIXED + 1], offs[NMIXED + 1];
	const char *model0 = h_model(0);
	struct resp r = { 0 };
	unsigned x = 2024;
	struct fx f;

	fx_init(&f, model0);
	std_tree(&f);
	for (int k = 0; k < NMIXED; k++) {
		mixed_req(&reqs[k], k, k == NMIXED - 1, &x);
		hbuf_add(&all, reqs[k].text, strlen(reqs[k].text));
	}
	for (int m = 0; m < h_nmodels(); m++) {
		const char *model = h_model(m);
		struct hbuf norm = { 0 };
		struct conn c;
		size_t i = 0;

		f.model = model;
		fx_start(&f, NULL);
		conn_open(&c, &f);
		H_ASSERT(cli_exchange(c.fd, all.p, all.len, false, &c.in, DS) == 0,
		    "%s: sending the pipeline of %zu bytes: %s", model, all.len, H_ERR);
		for (int k = 0; k < NMIXED; k++) {
			char *nh;

			must_resp(&c, reqs[k].head, &r, fmt("pipelined request %d", k));
			check_preq(model, &reqs[k], &r, k);
			nh = normalized(&r);
			offs[k] = norm.len;
			hbuf_add(&norm, nh, strlen(nh));
			hbuf_add(&norm, r.body, r.blen);
			free(nh);
		}
		offs[NMIXED] = norm.len;
		expect_closed(&c, "after Connection: close", DS);
		conn_close(&c);
		fx_stop(&f);
		if (m == 0) {
			first = norm;
			memcpy(offs0, offs, sizeof offs);
			continue;
		}
		while (i < norm.len && i < first.len && norm.p[i] == first.p[i])
			i++;
		if (i < norm.len || i < first.len) {
			int k = 0;

			while (k < NMIXED && offs[k + 1] <= i)
				k++;
			H_ASSERT(0,
			    "%s and %s differ in response %d (request '%s'), at its byte %zu:\n"
			    "%s: '%s'\n%s: '%s'",
			    model, model0, k, h_show(reqs[k].text, strlen(reqs[k].text)),
			    i - offs[k], model, h_show(norm.p + offs[k], norm.len - offs[k]),
			    model0, h_show(first.p + offs0[k], first.len - offs0[k]));
		}
		hbuf_free(&norm);
	}
	hbuf_free(&first);
	hbuf_free(&all);
	resp_free(&r);
	free(reqs);
}
END_TEST

/*
 * Requests that come a byte at a time (TCP_NODELAY: a segment each): two
 * pipelined ones whose bytes run on from one to the next, then one more
 * after their answers.
 */
START_TEST(test_split)
{
	const char *model = h_model(_i);
	struct resp r = { 0 };
	char two[256];
	int one = 1;
	struct conn c;
	struct fx f;

	fx_std(&f, model, NULL);
	snprintf(two, sizeof two, "%s%s", rq("GET", "/k1", NULL), rq("HEAD", "/x.txt", NULL));
	conn_open(&c, &f);
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < strlen(two); i++)
			conn_send(&c, two + i, 1);
		must_resp(&c, false, &r, "GET /k1 a byte at a time");
		check_tfile(model, &r, tfind("k1"), false);
		must_resp(&c, true, &r, "HEAD /x.txt a byte at a time");
		check_tfile(model, &r, tfind("x.txt"), true);
	}
	conn_sends(&c, rq("GET", "/one", "Connection: close\r\n"));
	must_resp(&c, false, &r, "GET /one after them");
	check_status(model, "GET /one after them", &r, 200);
	check_body(model, "GET /one after them", &r, tbody(tfind("one")), 1);
	expect_closed(&c, "after Connection: close", D);
	conn_close(&c);
	resp_free(&r);
	fx_stop(&f);
}
END_TEST

#define NBIG 5000

/*
 * 5,000 requests of about 1 KiB each (several MiB, far beyond any buffer)
 * in one write while the responses are read: GET, HEAD and 404 in turn,
 * all answered in order, then the close the last one asked for.
 */
START_TEST(test_pipeline_big)
{
	const char *model = h_model(_i);
	static char pad[1001];
	struct hbuf all = { 0 };
	struct resp r = { 0 };
	int k1 = tfind("k1");
	struct conn c;
	struct fx f;

	memset(pad, 'p', sizeof pad - 1);
	fx_std(&f, model, NULL);
	for (int k = 0; k < NBIG; k++) {
		const char *extra = fmt("X-Pad: %s\r\n%s", pad,
		    k == NBIG - 1 ? "Connection: close\r\n" : "");
		const char *t = k % 3 == 2 ? rq("GET", fmt("/gone-%d", k), extra) :
		                             rq(k % 3 ? "HEAD" : "GET", "/k1", extra);

		hbuf_add(&all, t, strlen(t));
	}
	conn_open(&c, &f);
	H_ASSERT(cli_exchange(c.fd, all.p, all.len, false, &c.in, 4 * DS) == 0,
	    "%s: sending %d requests (%zu bytes) while reading: %s", model, NBIG, all.len, H_ERR);
	for (int k = 0; k < NBIG; k++) {
		const char *what = fmt("request %d of %d", k, NBIG);

		must_resp(&c, k % 3 == 1, &r, what);
		if (k % 3 == 2) {
			check_status(model, what, &r, 404);
			check_body(model, what, &r, NOT_FOUND, strlen(NOT_FOUND));
		} else {
			check_status(model, what, &r, 200);
			check_hdr(model, what, &r, "Content-Length", "1024");
			if (k % 3 == 0)
				check_body(model, what, &r, tbody(k1), 1024);
			else
				H_ASSERT(r.blen == 0, "%s: %s: HEAD with a body", model, what);
		}
	}
	check_hdr(model, "the last response", &r, "Connection", "close");
	expect_closed(&c, "after the last request", DS);
	conn_close(&c);
	hbuf_free(&all);
	resp_free(&r);
	fx_stop(&f);
}
END_TEST

/* ---- 3. HTTP/1.0 and Connection -------------------------------------- */

START_TEST(test_connection)
{
	const char *model = h_model(_i);
	const int x = tfind("x.txt");
	struct resp r = { 0 };
	struct conn c;
	struct fx f;

	fx_std(&f, model, NULL);

	/* HTTP/1.0: one response, then the close. */
	conn_open(&c, &f);
	conn_sends(&c, "GET /x.txt HTTP/1.0\r\n\r\n");
	must_resp(&c, false, &r, "HTTP/1.0");
	check_status(model, "HTTP/1.0", &r, 200);
	check_body(model, "HTTP/1.0", &r, tbody(x), tree[x].size);
	check_hdr(model, "HTTP/1.0", &r, "Connection", "close");
	expect_closed(&c, "HTTP/1.0 without keep-alive", D);
	conn_close(&c);

	/* HTTP/1.0 with keep-alive: kept, and says so, until a request without. */
	conn_open(&c, &f);
	for (int i = 0; i < 3; i++) {
		conn_sends(&c, "GET /x.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
		must_resp(&c, false, &r, "HTTP/1.0 keep-alive");
		check_tfile(model, &r, x, false);
	}
	H_ASSERT(strstr(r.head, "\r\nConnection: keep-alive\r\n") != NULL,
	    "%s: HTTP/1.0 keep-alive: the response does not say Connection: keep-alive: '%s'",
	    model, h_show(r.head, r.hlen));
	conn_sends(&c, "HEAD /x.txt HTTP/1.0\r\n\r\n");
	must_resp(&c, true, &r, "HTTP/1.0 after keep-alive");
	check_hdr(model, "HTTP/1.0 after keep-alive", &r, "Connection", "close");
	expect_closed(&c, "HTTP/1.0 after keep-alive", D);
	conn_close(&c);

	/* HTTP/1.1: kept by default; Connection: close is answered and obeyed. */
	conn_open(&c, &f);
	for (int i = 0; i < 3; i++) {
		conn_sends(&c, rq("GET", "/x.txt", NULL));
		must_resp(&c, false, &r, "HTTP/1.1");
		check_tfile(model, &r, x, false);
		check_hdr(model, "HTTP/1.1", &r, "Connection", NULL);
	}
	conn_sends(&c, rq("GET", "/x.txt", "Connection: close\r\n"));
	must_resp(&c, false, &r, "HTTP/1.1 Connection: close");
	check_hdr(model, "HTTP/1.1 Connection: close", &r, "Connection", "close");
	check_body(model, "HTTP/1.1 Connection: close", &r, tbody(x), tree[x].size);
	expect_closed(&c, "HTTP/1.1 Connection: close", D);
	conn_close(&c);
	resp_free(&r);
	fx_stop(&f);
}
END_TEST

/* ---- 4. conditional requests and ranges ------------------------------ */

/* One response per request on one connection (each its own exchange). */
static void
ask(struct conn *c, const char *req, struct resp *r)
{
	conn_sends(c, req);
	must_resp(c, strncmp(req, "HEAD ", 5) == 0, r, h_show(req, strlen(req)));
}

/* A 206 of bytes first..last of tree[i]. */
static void
check_range(const char *model, const struct resp *r, int i, long long first, long long last,
    bool head)
{
	const char *what = fmt("range %lld-%lld of /%s", first, last, tree[i].name);

	check_status(model, what, r, 206);
	check_common(model, what, r);
	check_hdr(model, what, r, "Content-Range",
	    fmt("bytes %lld-%lld/%zu", first, last, tree[i].size));
	check_hdr(model, what, r, "Content-Length", fmt("%lld", last - first + 1));
	if (head)
		H_ASSERT(r->blen == 0, "%s: HEAD %s: a body", model, what);
	else
		check_body(model, what, r, tbody(i) + first, (size_t)(last - first + 1));
}

START_TEST(test_conditional)
{
	const char *model = h_model(_i);
	static const struct {
		const char *spec;
		long long first, last; /* -1: from the end (size + first .. size - 1) */
	} ranges[] = {
		{ "0-0", 0, 0 },
		{ "10-19", 10, 19 },
		{ "-5", -5, -1 },
		{ "100-", 100, -1 },
		{ "1000-999999999", 1000, -1 },
		{ "20000-40000", 20000, 40000 },
		{ "-17000", -17000, -1 },
	};
	struct resp r = { 0 };
	char etag[256], older[32];
	struct conn c;
	struct fx f;

	fx_std(&f, model, NULL);
	conn_open(&c, &f);
	ask(&c, rq("GET", "/k1", NULL), &r);
	snprintf(etag, sizeof etag, "%s", hdr(&r, "ETag"));

	/* If-None-Match: the ETag (alone, in a list, weak, "*") is 304,
	 * without body or Content-Length; another tag is the whole file. */
	char inm[4][300];
	snprintf(inm[0], sizeof inm[0], "%s", etag);
	snprintf(inm[1], sizeof inm[1], "\"nope\", %s", etag);
	snprintf(inm[2], sizeof inm[2], "W/%s", etag);
	snprintf(inm[3], sizeof inm[3], "*");
	for (size_t k = 0; k < sizeof inm / sizeof inm[0]; k++) {
		const char *what = fmt("If-None-Match: %s", inm[k]);

		/* Pipelined with a GET: a body after the 304 would show there. */
		conn_sends(&c,
		    fmt("%s%s", rq("GET", "/k1", fmt("If-None-Match: %s\r\n", inm[k])),
		        rq("GET", "/one", NULL)));
		must_resp(&c, false, &r, what);
		check_status(model, what, &r, 304);
		check_common(model, what, &r);
		check_hdr(model, what, &r, "ETag", etag);
		check_hdr(model, what, &r, "Last-Modified", MTIME_HTTP);
		must_resp(&c, false, &r, "GET /one after a 304");
		check_tfile(model, &r, tfind("one"), false);
	}
	ask(&c, rq("GET", "/k1", "If-None-Match: \"other\"\r\n"), &r);
	check_tfile(model, &r, tfind("k1"), false);

	/* If-Modified-Since: Last-Modified or later is 304; earlier, 200. */
	ask(&c, rq("GET", "/k1", "If-Modified-Since: " MTIME_HTTP "\r\n"), &r);
	check_status(model, "If-Modified-Since: Last-Modified", &r, 304);
	check_common(model, "If-Modified-Since: Last-Modified", &r);
	ask(&c, rq("HEAD", "/k1", "If-Modified-Since: " MTIME_HTTP "\r\n"), &r);
	check_status(model, "HEAD, If-Modified-Since: Last-Modified", &r, 304);
	imf_date(older, MTIME - 1);
	ask(&c, rq("GET", "/k1", fmt("If-Modified-Since: %s\r\n", older)), &r);
	check_tfile(model, &r, tfind("k1"), false);

	/* One range, of a small (inline) and of a large (sendfile) file. */
	for (size_t k = 0; k < sizeof ranges / sizeof ranges[0]; k++) {
		int i = ranges[k].first >= 16384 || ranges[k].first < -1024 ? tfind("big") :
		                                                              tfind("k1");
		long long size = (long long)tree[i].size;
		long long a = ranges[k].first < 0 ? size + ranges[k].first : ranges[k].first;
		long long b = ranges[k].last < 0 ? size - 1 : ranges[k].last;
		const char *range = fmt("Range: bytes=%s\r\n", ranges[k].spec);

		ask(&c, rq("GET", fmt("/%s", tree[i].name), range), &r);
		check_range(model, &r, i, a, b, false);
		ask(&c, rq("HEAD", fmt("/%s", tree[i].name), range), &r);
		check_range(model, &r, i, a, b, true);
	}

	/* Unsatisfiable: 416 with the size; the connection goes on. */
	ask(&c, rq("GET", "/k1", "Range: bytes=1024-\r\n"), &r);
	check_error(model, "Range: bytes=1024- of 1024 bytes", &r, 416);
	check_hdr(model, "Range: bytes=1024-", &r, "Content-Range", "bytes */1024");
	ask(&c, rq("GET", "/big", "Range: bytes=99999999-\r\n"), &r);
	check_status(model, "Range beyond /big", &r, 416);
	check_hdr(model, "Range beyond /big", &r, "Content-Range", fmt("bytes */%d", 4 << 20));

	/* Several ranges, or a stale If-Range: the whole file. */
	ask(&c, rq("GET", "/k1", "Range: bytes=0-1,5-6\r\n"), &r);
	check_tfile(model, &r, tfind("k1"), false);
	ask(&c, rq("GET", "/k1", "Range: bytes=0-9\r\nIf-Range: \"stale-etag\"\r\n"), &r);
	check_tfile(model, &r, tfind("k1"), false);
	ask(&c, rq("GET", "/k1", fmt("Range: bytes=0-9\r\nIf-Range: %s\r\n", older)), &r);
	check_tfile(model, &r, tfind("k1"), false);
	/* A current If-Range (the ETag, or Last-Modified): the range. */
	ask(&c, rq("GET", "/k1", fmt("Range: bytes=0-9\r\nIf-Range: %s\r\n", etag)), &r);
	check_range(model, &r, tfind("k1"), 0, 9, false);
	ask(&c, rq("GET", "/k1", "Range: bytes=5-9\r\nIf-Range: " MTIME_HTTP "\r\n"), &r);
	check_range(model, &r, tfind("k1"), 5, 9, false);
	conn_close(&c);
	resp_free(&r);
	fx_stop(&f);
}
END_TEST

/* ---- 5. directories ------------------------------------------------- */

/* s with each byte written by one() (which returns how many bytes it
 * wrote), NUL-terminated, in a ring of static buffers. */
static const char *
map_bytes(const char *s, int (*one)(char *o, unsigned char ch))
{
	static char ring[8][1024];
	static unsigned next;
	char *out = ring[next++ % 8], *o = out;

	for (; *s != '\0'; s++)
		o += one(o, (unsigned char)*s);
	*o = '\0';
	return out;
}

/* A path segment's byte percent-encoded: all but [A-Za-z0-9-._~] as %HH. */
static int
url_byte(char *o, unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    strchr("-._~", ch) != NULL) {
		*o = (char)ch;
		return 1;
	}
	return sprintf(o, "%%%02X", ch);
}

/* A byte HTML-escaped: & < > " ' as entities. */
static int
html_byte(char *o, unsigned char ch)
{
	static const char *const ent[] = { "&&amp;", "<&lt;", ">&gt;", "\"&quot;", "'&#39;" };

	for (size_t k = 0; k < sizeof ent / sizeof ent[0]; k++)
		if (ent[k][0] == (char)ch)
			return sprintf(o, "%s", ent[k] + 1);
	*o = (char)ch;
	return 1;
}

static const char *
url_enc(const char *s)
{
	return map_bytes(s, url_byte);
}

static const char *
html_esc(const char *s)
{
	return map_bytes(s, html_byte);
}

/* Names for the listing, in byte order (strcmp), with their sizes (-1: a directory). */
static const struct {
	const char *name;
	int size;
} lnames[] = {
	{ "Zed", 3 }, { "a b.txt", 5 }, { "amp&x.txt", 7 }, { "lt<gt>.txt", 11 }, { "my dir", -1 },
	{ "pct%41.txt", 13 }, { "q\"uote'.txt", 17 }, { "sub", -1 }, { "~tilde-_.x", 19 },
	{ "\xc3\xa9t\xc3\xa9.txt", 23 }, /* "été.txt" in UTF-8 */
};
#define NLNAMES ((int)(sizeof lnames / sizeof lnames[0]))

START_TEST(test_dirs)
{
	const char *model = h_model(_i);
	const int idx = tfind("idx/index.html");
	struct resp r = { 0 };
	const char *prev = NULL;
	struct conn c;
	struct fx f, g;

	fx_init(&f, model);
	std_tree(&f);
	mkdir_in(&f, "list");
	for (int k = 0; k < NLNAMES; k++) {
		const char *rel = fmt("list/%s", lnames[k].name);
		char *data;

		if (lnames[k].size < 0) {
			mkdir_in(&f, rel);
			continue;
		}
		data = (char *)rnd_data((size_t)lnames[k].size, 77 + (unsigned)k);
		mkfile(&f, rel, data, (size_t)lnames[k].size);
		free(data);
	}
	mkfile(&f, "list/.hidden", "h", 1);
	mkdir_in(&f, "list/.dotdir");
	fx_start(&f, NULL);
	conn_open(&c, &f);

	/* Without its slash: 301 to the slash form, the name encoded. */
	ask(&c, rq("GET", "/idx", NULL), &r);
	check_error(model, "GET /idx", &r, 301);
	check_hdr(model, "GET /idx", &r, "Location", "/idx/");
	ask(&c, rq("HEAD", "/list/my%20dir", NULL), &r);
	check_status(model, "HEAD /list/my%20dir", &r, 301);
	check_hdr(model, "HEAD /list/my%20dir", &r, "Location", "/list/my%20dir/");
	H_ASSERT(r.blen == 0, "%s: a body for HEAD", model);
	ask(&c, rq("GET", "/list/sub?q=1", NULL), &r);
	check_hdr(model, "GET /list/sub?q=1", &r, "Location", "/list/sub/");

	/* With it: index.html. */
	ask(&c, rq("GET", "/idx/", NULL), &r);
	check_tfile(model, &r, idx, false);

	/* Without an index.html: the listing. */
	ask(&c, rq("GET", "/list/", NULL), &r);
	check_status(model, "listing", &r, 200);
	check_common(model, "listing", &r);
	check_hdr(model, "listing", &r, "Content-Type", "text/html; charset=utf-8");
	H_ASSERT(strstr(r.body, "<title>Index of /list/</title>") != NULL &&
	        strstr(r.body, "<a href=\"../\">") != NULL,
	    "%s: listing: no title or no ../: '%s'", model, h_show(r.body, r.blen));
	H_ASSERT(strstr(r.body, "hidden") == NULL && strstr(r.body, "dotdir") == NULL,
	    "%s: listing shows a dotfile: '%s'", model, h_show(r.body, r.blen));
	/* Each name: its link (href encoded, text escaped), in order, then its size. */
	for (int k = 0; k < NLNAMES; k++) {
		const char *dir = lnames[k].size < 0 ? "/" : "";
		const char *link = fmt("<a href=\"%s%s\">%s%s</a>", url_enc(lnames[k].name), dir,
		    html_esc(lnames[k].name), dir);
		const char *size = fmt("<td>%s</td>",
		    lnames[k].size < 0 ? "-" : fmt("%d", lnames[k].size));
		const char *at = strstr(r.body, link), *td = at ? strstr(at, "<td>") : NULL;

		H_ASSERT(at != NULL, "%s: listing: no '%s' in '%s'", model,
		    h_show(link, strlen(link)), h_show(r.body, r.blen));
		H_ASSERT(prev == NULL || at > prev, "%s: listing: '%s' out of order", model,
		    h_show(link, strlen(link)));
		H_ASSERT(td != NULL && strncmp(td, size, strlen(size)) == 0,
		    "%s: listing: '%s' is not followed by %s", model, h_show(link, strlen(link)),
		    size);
		prev = at;
	}
	H_ASSERT(h_count(r.body, "<a href=") == (size_t)NLNAMES + 1,
	    "%s: listing: %zu links, want %d: '%s'", model, h_count(r.body, "<a href="),
	    NLNAMES + 1, h_show(r.body, r.blen));
	/* Each href leads to its file. */
	for (int k = 0; k < NLNAMES; k++) {
		const char *what = fmt("GET of listed %s", lnames[k].name);

		if (lnames[k].size < 0)
			continue;
		ask(&c, rq("GET", fmt("/list/%s", url_enc(lnames[k].name)), NULL), &r);
		check_status(model, what, &r, 200);
		check_hdr(model, what, &r, "Content-Length", fmt("%d", lnames[k].size));
	}
	ask(&c, rq("HEAD", "/list/", NULL), &r);
	check_status(model, "HEAD of a listing", &r, 200);
	H_ASSERT(r.clen > 500 && r.blen == 0, "%s: HEAD of a listing: Content-Length %lld", model,
	    r.clen);
	ask(&c, rq("GET", "/list/sub/", NULL), &r);
	check_status(model, "an empty listing", &r, 200);
	H_ASSERT(h_count(r.body, "<a href=") == 1, "%s: empty listing: '%s'", model,
	    h_show(r.body, r.blen));
	conn_close(&c);
	fx_stop(&f);

	/* listing = false: 403 where the listing was; index.html still served. */
	fx_twin(&g, &f);
	fx_start_conf(&g, "\tlisting = false\n");
	fetch1(&g, rq("GET", "/list/", NULL), &r);
	check_error(model, "listing = false", &r, 403);
	fetch1(&g, rq("GET", "/idx/", NULL), &r);
	check_tfile(model, &r, idx, false);
	fetch1(&g, rq("GET", "/list", NULL), &r);
	check_status(model, "listing = false, /list", &r, 301);
	fx_stop(&g);
	resp_free(&r);
}
END_TEST

/* ---- 6. safety: nothing outside the root ----------------------------- */

/*
 * Sends req on a fresh connection and reads all the server sends until it
 * closes (req asks for that, or the request was bad); the first response
 * goes to r.  Nothing that came may hold the secret.
 */
static void
fetch_all(const struct fx *f, const char *req, size_t len, struct resp *r)
{
	const char *what = h_show(req, len);
	struct hbuf all = { 0 };
	struct conn c;

	conn_open(&c, f);
	conn_send(&c, req, len);
	must_resp(&c, strncmp(req, "HEAD ", 5) == 0, r, what);
	hbuf_add(&all, r->head, r->hlen);
	hbuf_add(&all, r->body, r->blen);
	expect_closed(&c, what, D);
	hbuf_add(&all, c.in.p, c.in.len);
	H_ASSERT(memmem(all.p, all.len, "TOP-SECRET", 10) == NULL,
	    "%s: %s: the response holds the secret: '%s'", f->model, what, h_show(all.p, all.len));
	hbuf_free(&all);
	conn_close(&c);
}

/* fetch_all of a string. */
static void
fetch_str(const struct fx *f, const char *req, struct resp *r)
{
	fetch_all(f, req, strlen(req), r);
}

START_TEST(test_safety)
{
	const char *model = h_model(_i);
	/* Every way out of the root: 404. */
	static const char *const out[] = {
		"/../secret",
		"/%2e%2e/secret",
		"/%2E%2E%2fsecret",
		"/..%2fsecret",
		"/a/../../secret",
		"/a/%2e%2e/%2e%2e/secret",
		"//../secret",
		"/./../secret",
		"http://x/../secret",
		"http://x/%2e%2e/secret",
		"/a/..%5c..%5csecret",
		"/link_abs",
		"/link_rel",
		"/a/link_up",
		"/dirlink_out/secret",
		"/dirlink_rel/secret",
		"/.hidden",
		"/a/.git/config",
		"/.",
		"/./a/file.txt",
		"/a/.",
		"/%2ehidden",
	};
	/* Bad requests, each answered 400: the connection goes on or not. */
	static const char *const bad_target[] = {
		"/%00",
		"/a/file.txt%00.png",
		"/%zz",
		"/%4",
		"/a%4",
		"/%g0",
		"secret",
		"../secret",
		"*",
		"http://@x/secret",
	};
	static const char *const bad_line[] = {
		"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a\x01secret HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /../secret\r\n\r\n",
		"GET  /../secret HTTP/1.1\r\nHost: x\r\n\r\n",
	};
	static const char nul_line[] = "GET /a\0/../secret HTTP/1.1\r\nHost: x\r\n\r\n";
	/* valgrind does not know openat2: the server walks (files_fs.h). */
	const bool beneath = have_openat2() && !h_under_valgrind();
	const char *close = "Connection: close\r\n";
	struct resp r = { 0 };
	struct fx f;

	fx_init(&f, model);
	mkdir_in(&f, "a");
	mkdir_in(&f, "a/.git");
	mkfile(&f, "a/file.txt", "inside\n", 7);
	mkfile(&f, "a/.git/config", "[core]\n", 7);
	mkfile(&f, ".hidden", "hidden\n", 7);
	symlink_in(&f, h_path(f.dir, "secret"), "link_abs");
	symlink_in(&f, "../secret", "link_rel");
	symlink_in(&f, "../../secret", "a/link_up");
	symlink_in(&f, f.dir, "dirlink_out");
	symlink_in(&f, "..", "dirlink_rel");
	symlink_in(&f, "a/file.txt", "link_in");
	symlink_in(&f, "a", "dirlink_in");
	symlink_in(&f, "loop2", "loop1");
	symlink_in(&f, "loop1", "loop2");
	H_ASSERT(mkfifo(in_root(&f, "fifo"), 0644) == 0, "%s: mkfifo: %s", model, H_ERR);
	fx_start(&f, NULL);

	for (size_t k = 0; k < sizeof out / sizeof out[0]; k++) {
		const char *req = rq("GET", out[k], close);

		fetch_str(&f, req, &r);
		check_error(model, h_show(req, strlen(req)), &r, 404);
	}
	for (size_t k = 0; k < sizeof bad_target / sizeof bad_target[0]; k++) {
		const char *req = rq("GET", bad_target[k], close);

		fetch_str(&f, req, &r);
		check_error(model, h_show(req, strlen(req)), &r, 400);
	}
	/* A byte no request line holds: 400, and the server closes unasked. */
	for (size_t k = 0; k < sizeof bad_line / sizeof bad_line[0]; k++) {
		const char *what = h_show(bad_line[k], strlen(bad_line[k]));

		fetch_str(&f, bad_line[k], &r);
		check_error(model, what, &r, 400);
		check_hdr(model, what, &r, "Connection", "close");
	}
	fetch_all(&f, nul_line, sizeof nul_line - 1, &r);
	check_error(model, "a raw NUL in the target", &r, 400);

	/* Symlinks that stay inside are followed (not by the fallback walk). */
	fetch_str(&f, rq("GET", "/link_in", close), &r);
	if (beneath) {
		check_status(model, "/link_in", &r, 200);
		check_body(model, "/link_in", &r, "inside\n", 7);
	} else {
		check_error(model, "/link_in (no openat2)", &r, 404);
	}
	fetch_str(&f, rq("GET", "/dirlink_in/file.txt", close), &r);
	check_status(model, "/dirlink_in/file.txt", &r, beneath ? 200 : 404);
	fetch_str(&f, rq("GET", "/a/file.txt", close), &r);
	check_status(model, "/a/file.txt", &r, 200);
	check_body(model, "/a/file.txt", &r, "inside\n", 7);
	/* HEAD of a way out: 404 as well, with no body. */
	fetch_str(&f, rq("HEAD", "/%2e%2e/secret", close), &r);
	check_status(model, "HEAD /%2e%2e/secret", &r, 404);
	H_ASSERT(r.blen == 0, "%s: HEAD /%%2e%%2e/secret: a body", model);
	/* What cannot be served as a file: refused at once, never a hang. */
	fetch_str(&f, rq("GET", "/fifo", close), &r);
	check_error(model, "a FIFO", &r, 403);
	fetch_str(&f, rq("GET", "/loop1", close), &r);
	check_error(model, "a symlink loop", &r, 404);
	{
		char name[301], path[6001];

		memset(name, 'n', 300);
		name[300] = '\0';
		for (size_t k = 0; k + 2 < sizeof path; k += 2)
			memcpy(path + k, "/a", 2);
		path[sizeof path - 1] = '\0';
		fetch_str(&f, rq("GET", fmt("/%s", name), close), &r);
		check_error(model, "a name over NAME_MAX", &r, 404);
		fetch_str(&f, rq("GET", path, close), &r);
		check_error(model, "3,000 segments", &r, 404);
	}
	/* The listing of the root names the links, never what they hold. */
	fetch_str(&f, rq("GET", "/", close), &r);
	check_status(model, "the root's listing", &r, 200);
	H_ASSERT(strstr(r.body, "hidden") == NULL, "%s: the root's listing shows .hidden", model);
	resp_free(&r);
	fx_stop(&f);
}
END_TEST

/* ---- 7. limits and malformed requests -------------------------------- */

/*
 * A head of exactly n bytes (> 8 KiB) sent in writes of chunk bytes: one
 * long header, or many short ones; complete (its empty line at the end)
 * when sent at once.  Exactly n: the server has read all of it when it
 * answers, so its close cannot turn into a reset that loses the answer.
 */
static void
head_too_long(const struct fx *f, size_t n, size_t chunk, bool many)
{
	const char *what = fmt("a head of %zu bytes in %zu-byte writes%s", n, chunk,
	    many ? " (many headers)" : "");
	const char *start = many ? "GET /k1 HTTP/1.1\r\nHost: x\r\n" :
	                           "GET /k1 HTTP/1.1\r\nX-Long: ";
	const char *fill = many ? "X-Many: 0123456789\r\n" : "a";
	struct hbuf req = { 0 };
	struct resp r = { 0 };
	struct conn c;

	hbuf_add(&req, start, strlen(start));
	while (req.len < n)
		hbuf_add(&req, fill, strlen(fill) < n - req.len ? strlen(fill) : n - req.len);
	if (chunk >= n)
		memcpy(req.p + n - 4, "\r\n\r\n", 4);
	conn_open(&c, f);
	for (size_t off = 0; off < n; off += chunk)
		conn_send(&c, req.p + off, n - off < chunk ? n - off : chunk);
	must_resp(&c, false, &r, what);
	check_error(f->model, what, &r, 431);
	check_hdr(f->model, what, &r, "Connection", "close");
	expect_closed(&c, what, D);
	conn_close(&c);
	hbuf_free(&req);
	resp_free(&r);
}

START_TEST(test_limits)
{
	const char *model = h_model(_i);
	struct resp r = { 0 };
	struct conn c;
	struct fx f;

	fx_std(&f, model, NULL);

	/* A head of up to 8 KiB is served. */
	{
		char pad[8192 - 64];
		const char *req;

		memset(pad, 'v', sizeof pad - 1);
		pad[sizeof pad - 1] = '\0';
		req = rq("GET", "/k1", fmt("X-Fill: %s\r\nConnection: close\r\n", pad));
		H_ASSERT(strlen(req) <= 8192, "%s: the near-limit head is %zu bytes", model,
		    strlen(req));
		fetch_str(&f, req, &r);
		check_tfile(model, &r, tfind("k1"), false);
	}
	/* Beyond: 431 and the close, whether it came at once or in pieces. */
	head_too_long(&f, 9000, 100000, false);
	head_too_long(&f, 8193, 1000, false);
	head_too_long(&f, 12000, 100000, true);
	head_too_long(&f, 8193, 512, true);

	/*
	 * A malformed head: answered, then the close.  A body whose length is
	 * in doubt (Transfer-Encoding, Content-Length twice) is never read as
	 * the next request (no smuggling): one response, nothing after it.
	 */
	static const struct {
		const char *req;
		int status;
	} bad[] = {
		{ "GARBAGE\r\n\r\n", 400 }, { "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400 },
		{ "GET /\r\n\r\n", 400 }, { "GET / http/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nNo colon here\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: x\r\n Folded: y\r\n\r\n", 400 },
		{ "GET / HTTP/2.0\r\n\r\n", 505 },
		{ "GET /k1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\nx", 400 },
		{ "GET /k1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
		  "GET /x.txt HTTP/1.1\r\nHost: x\r\n\r\n",
		    400 },
		{ "GET /k1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
		  "GET /x.txt HTTP/1.1\r\nHost: x\r\n\r\n",
		    501 },
		{ "GET /k1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n"
		  "\r\n0\r\n\r\nGET /x.txt HTTP/1.1\r\nHost: x\r\n\r\n",
		    400 }, /* both: refused outright (RFC 9112 6.1) */
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		const char *what = h_show(bad[k].req, strlen(bad[k].req));

		fetch_str(&f, bad[k].req, &r);
		check_error(model, what, &r, bad[k].status);
		check_hdr(model, what, &r, "Connection", "close");
	}

	/* Other methods: 405 with Allow; without a body the connection goes on. */
	conn_open(&c, &f);
	static const char *const other[] = { "DELETE", "POST", "OPTIONS", "get", "PATCH" };
	for (size_t k = 0; k < sizeof other / sizeof other[0]; k++) {
		const char *what = fmt("%s /k1", other[k]);

		ask(&c, rq(other[k], "/k1", NULL), &r);
		check_error(model, what, &r, 405);
		check_hdr(model, what, &r, "Allow", "GET, HEAD");
		check_hdr(model, what, &r, "Connection", NULL);
	}
	ask(&c, rq("GET", "/k1", NULL), &r);
	check_tfile(model, &r, tfind("k1"), false);
	/* With a body it cannot skip safely: answered, then closed. */
	conn_sends(&c, rq("POST", "/k1", "Content-Length: 5\r\n"));
	conn_sends(&c, "hello");
	must_resp(&c, false, &r, "POST with a body");
	check_error(model, "POST with a body", &r, 405);
	check_hdr(model, "POST with a body", &r, "Allow", "GET, HEAD");
	conn_close(&c);

	/* A GET with a body: the body is read past, the next request served. */
	conn_open(&c, &f);
	conn_sends(&c,
	    fmt("%s0123456789%s", rq("GET", "/one", "Content-Length: 10\r\n"),
	        rq("GET", "/x.txt", NULL)));
	must_resp(&c, false, &r, "GET with a body");
	check_tfile(model, &r, tfind("one"), false);
	must_resp(&c, false, &r, "GET after a GET with a body");
	check_tfile(model, &r, tfind("x.txt"), false);
	conn_close(&c);
	resp_free(&r);
	fx_stop(&f);
}
END_TEST

/* ---- 7b. request_timeout --------------------------------------------- */

#define TO_MS 1000 /* --request-timeout 1 */

/* c's 408 and then the close, by end; when t0 is given (>= 0), not before
 * most of the timeout has passed since t0. */
static void
expect_408(struct conn *c, const char *what, long long t0, long long end)
{
	struct resp r = { 0 };
	long long took;

	H_ASSERT(conn_resp(c, false, &r, left(end)), "%s: %s: no 408 (%s)", c->model, what,
	    errno == 0 ? "EOF" : H_ERR);
	took = h_now_ms() - t0;
	check_error(c->model, what, &r, 408);
	check_hdr(c->model, what, &r, "Connection", "close");
	expect_closed(c, what, left(end));
	if (t0 >= 0)
		H_ASSERT(took >= TO_MS / 2,
		    "%s: %s: the 408 came after %lld ms, before the timeout", c->model, what, took);
	resp_free(&r);
}

/* A kept-alive connection silent after a response: closed, nothing sent. */
static void
expect_idle_close(struct conn *c, long long end)
{
	expect_closed(c, "a kept-alive connection left idle", left(end));
}

/* Starts a client that trickles a head a byte every 100 ms; the 408 must
 * come while the head is still incomplete. */
static void
trickle_408(const struct fx *f, long long end)
{
	const char *req = rq("GET", "/k1", "X-Slow: 0123456789012345678901234567890123456789\r\n");
	long long t0 = h_now_ms();
	struct conn c;
	size_t i = 0;

	conn_open(&c, f);
	while (i < strlen(req) && h_now_ms() < end) {
		struct pollfd pf = { c.fd, POLLIN, 0 };

		if (send(c.fd, req + i, 1, MSG_NOSIGNAL) != 1)
			break; /* closed: the 408 is there to read */
		i++;
		if (poll(&pf, 1, 100) > 0)
			break;
	}
	H_ASSERT(i < strlen(req), "%s: a head trickled over %lld ms was not cut by the timeout",
	    f->model, h_now_ms() - t0);
	expect_408(&c, "a trickled head", t0, end);
	conn_close(&c);
}

START_TEST(test_timeout)
{
	const char *model = h_model(_i);
	const char *const extra[] = { "--request-timeout", "1", NULL };
	/* A silent connection: about 1 s held by the kernel (defer_accept),
	 * then request_timeout. */
	const int bound = 4000 * (int)h_time_scale();
	struct conn a, b, k, g;
	struct resp r = { 0 };
	long long t0, end;
	struct fx f;

	fx_std(&f, model, extra);
	if (h_model_serial(model)) {
		/* One at a time: each holds the only worker until its timeout. */
		conn_open(&a, &f);
		conn_sends(&a, "GET / HT");
		t0 = h_now_ms();
		expect_408(&a, "a head begun and stalled", t0, t0 + bound);
		conn_close(&a);
		conn_open(&b, &f);
		t0 = h_now_ms();
		expect_408(&b, "a connection that sends nothing", t0, t0 + bound);
		conn_close(&b);
		conn_open(&k, &f);
		ask(&k, rq("GET", "/k1", NULL), &r);
		check_tfile(model, &r, tfind("k1"), false);
		expect_idle_close(&k, h_now_ms() + bound);
		conn_close(&k);
		trickle_408(&f, h_now_ms() + bound);
	} else {
		/* All at once: the stalled ones hold nothing up. */
		t0 = h_now_ms();
		end = t0 + bound;
		conn_open(&a, &f);
		conn_sends(&a, "GET / HT");
		conn_open(&b, &f);
		conn_open(&k, &f);
		ask(&k, rq("GET", "/k1", NULL), &r);
		check_tfile(model, &r, tfind("k1"), false);
		conn_open(&g, &f);
		ask(&g, rq("GET", "/x.txt", NULL), &r);
		check_tfile(model, &r, tfind("x.txt"), false);
		conn_sends(&g, "GET /one HTTP/1.1\r\nHo");
		/* Another client is served meanwhile, before any timeout. */
		fetch1(&f, rq("GET", "/k16p1", "Connection: close\r\n"), &r);
		check_tfile(model, &r, tfind("k16p1"), false);
		H_ASSERT(cli_quiet(a.fd, 0) && cli_quiet(b.fd, 0),
		    "%s: a stalled client was answered before the timeout", model);
		trickle_408(&f, end);
		expect_408(&a, "a head begun and stalled", t0, end);
		expect_408(&b, "a connection that sends nothing", t0, end);
		expect_408(&g, "a second head begun and stalled", t0, end);
		expect_idle_close(&k, end);
		conn_close(&a);
		conn_close(&b);
		conn_close(&k);
		conn_close(&g);
	}
	/* And the server serves on. */
	fetch1(&f, rq("GET", "/k1", NULL), &r);
	check_tfile(model, &r, tfind("k1"), false);
	resp_free(&r);
	fx_stop(&f);
}
END_TEST

/*
 * defer_accept (1 s for files by default): a connection that has sent
 * nothing is held by the kernel, so it is not accepted (not counted) and,
 * under the serial model, does not hold the only worker; one reset before
 * it spoke is never seen at all; the silent one's request hands it over
 * and is answered.
 */
START_TEST(test_deferred)
{
	const char *model = h_model(_i);
	struct resp r = { 0 };
	struct conn b, x;
	struct fx f;

	fx_std(&f, model, NULL);
	conn_open(&b, &f);
	conn_open(&x, &f);
	cli_reset(x.fd); /* closes it */
	x.fd = -1;
	conn_close(&x);
	fetch1(&f, rq("GET", "/k1", "Connection: close\r\n"), &r);
	check_tfile(model, &r, tfind("k1"), false);
	H_EXPECT_STATUS(&f.s, model, "files", "total", 1);
	ask(&b, rq("GET", "/x.txt", "Connection: close\r\n"), &r);
	check_tfile(model, &r, tfind("x.txt"), false);
	H_EXPECT_STATUS(&f.s, model, "files", "total", 2);
	conn_close(&b);
	resp_free(&r);
	fx_stop(&f);
}
END_TEST

/* ---- 8. PUT ---------------------------------------------------------- */

/* "PUT TARGET" with Content-Length n (n < 0: none) and extra headers. */
static const char *
put_head(const char *target, long long n, const char *extra)
{
	return rq("PUT", target,
	    fmt("%s%s", n >= 0 ? fmt("Content-Length: %lld\r\n", n) : "", extra ? extra : ""));
}

/* A PUT of n bytes at p, the body in writes of chunk bytes: the response. */
static void
put_body(struct conn *c, const char *target, const void *p, size_t n, size_t chunk, struct resp *r)
{
	int one = 1;

	if (chunk == 1)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	conn_sends(c, put_head(target, (long long)n, NULL));
	for (size_t off = 0; off < n; off += chunk)
		conn_send(c, (const char *)p + off, n - off < chunk ? n - off : chunk);
	must_resp(c, false, r, fmt("PUT %s", target));
}

/* root/rel holds exactly n bytes at p. */
static void
check_disk(const struct fx *f, const char *rel, const void *p, size_t n)
{
	size_t len = 0;
	char *got = slurp(f, rel, &len);

	H_ASSERT(got != NULL && len == n && memcmp(got, p, n) == 0,
	    "%s: %s on disk: %s%zu bytes, want %zu", f->model, rel, got ? "" : "absent, ", len, n);
	free(got);
}

/* How many entries of dir start with ".NAME." (an upload's temporary files). */
static int
count_tmp(const char *dir, const char *name)
{
	char prefix[NAME_MAX + 3];
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	snprintf(prefix, sizeof prefix, ".%s.", name);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

struct tmpq {
	const char *dir, *name;
	bool want; /* a temporary file is there */
};

static bool
tmp_is(void *arg)
{
	const struct tmpq *q = arg;

	return (count_tmp(q->dir, q->name) > 0) == q->want;
}

START_TEST(test_put)
{
	const char *model = h_model(_i);
	const char *const extra[] = { "--files-upload", "--max-upload", "16777216", NULL };
	static const struct {
		const char *target;
		int status;
	} refused[] = {
		{ "/adir", 409 },
		{ "/adir/", 409 },
		{ "/missing/x", 404 },
		{ "/.hidden", 404 },
		{ "/adir/.x", 404 },
		{ "/../evil", 404 },
		{ "/%2e%2e/evil", 404 },
		{ "/dirlink_out/evil", 404 },
		{ "/%00x", 400 },
	};
	const size_t nbig = 8 << 20;
	unsigned char *big = rnd_data(nbig, 31), *small = rnd_data(3000, 32);
	struct resp r = { 0 };
	struct conn c;
	struct fx f, g;

	fx_init(&f, model);
	std_tree(&f);
	mkdir_in(&f, "adir");
	symlink_in(&f, h_path(f.dir, "secret"), "link_abs");
	symlink_in(&f, f.dir, "dirlink_out");
	fx_start(&f, extra);
	conn_open(&c, &f);

	/* New: 201; again: 204 with the new bytes; GET gives them back. */
	put_body(&c, "/new.bin", small, 1000, 1000, &r);
	check_status(model, "PUT new", &r, 201);
	check_common(model, "PUT new", &r);
	check_disk(&f, "new.bin", small, 1000);
	put_body(&c, "/new.bin", small + 1000, 2000, 2000, &r);
	check_status(model, "PUT replace", &r, 204);
	check_common(model, "PUT replace", &r);
	check_disk(&f, "new.bin", small + 1000, 2000);
	ask(&c, rq("GET", "/new.bin", NULL), &r);
	check_status(model, "GET after PUT", &r, 200);
	check_body(model, "GET after PUT", &r, small + 1000, 2000);
	/* An empty body, and a PUT pipelined with the GET of it. */
	put_body(&c, "/empty", "", 0, 1, &r);
	check_status(model, "PUT empty", &r, 201);
	check_disk(&f, "empty", "", 0);
	conn_sends(&c,
	    fmt("%sabc%s", put_head("/pipe.txt", 3, NULL), rq("GET", "/pipe.txt", NULL)));
	must_resp(&c, false, &r, "pipelined PUT");
	check_status(model, "pipelined PUT", &r, 201);
	must_resp(&c, false, &r, "GET pipelined after PUT");
	check_body(model, "GET pipelined after PUT", &r, "abc", 3);
	check_hdr(model, "GET pipelined after PUT", &r, "Content-Type", mime_of("text/plain"));

	/* A body a byte at a time, and 8 MiB in 1 MiB writes. */
	put_body(&c, "/bytes", small, 3000, 1, &r);
	check_status(model, "PUT a byte at a time", &r, 201);
	check_disk(&f, "bytes", small, 3000);
	put_body(&c, "/d/big.bin", big, nbig, 1 << 20, &r);
	check_status(model, "PUT 8 MiB", &r, 201);
	check_disk(&f, "d/big.bin", big, nbig);

	/* Expect: 100-continue: the interim response, then the final one. */
	conn_sends(&c, put_head("/cont.txt", 5, "Expect: 100-continue\r\n"));
	must_resp(&c, false, &r, "Expect: 100-continue");
	H_ASSERT(strcmp(r.head, "HTTP/1.1 100 Continue\r\n\r\n") == 0,
	    "%s: Expect: 100-continue got '%s'", model, h_show(r.head, r.hlen));
	conn_sends(&c, "hello");
	must_resp(&c, false, &r, "PUT after 100 Continue");
	check_status(model, "PUT after 100 Continue", &r, 201);
	check_disk(&f, "cont.txt", "hello", 5);
	conn_close(&c);

	/* Refused, each on a connection of its own (a refused body is not read:
	 * the server may close).  Onto a directory: 409; a missing parent,
	 * a dotfile, a way out: 404. */
	for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++) {
		fetch1(&f, fmt("%sxy", put_head(refused[k].target, 2, NULL)), &r);
		check_error(model, fmt("PUT %s", refused[k].target), &r, refused[k].status);
	}
	H_ASSERT(access(in_root(&f, "missing"), F_OK) != 0, "%s: PUT made a directory", model);
	H_ASSERT(access(h_path(f.dir, "evil"), F_OK) != 0, "%s: a PUT wrote outside the root (%s)",
	    model, h_path(f.dir, "evil"));
	/* Onto a symlink to outside: the link may be replaced, never followed. */
	fetch1(&f, fmt("%sxy", put_head("/link_abs", 2, NULL)), &r);
	H_ASSERT(r.status / 100 == 2 || r.status / 100 == 4, "%s: PUT onto a link: %d", model,
	    r.status);
	{
		size_t len = 0;
		char *s = h_read_file(h_path(f.dir, "secret"), &len);

		H_ASSERT(s != NULL && strcmp(s, SECRET) == 0,
		    "%s: a PUT onto a symlink changed the file outside the root to '%s'", model,
		    s ? h_show(s, len) : "(gone)");
		free(s);
	}

	/* No length: 411; too long: 413 (no 100 Continue first); both close. */
	conn_open(&c, &f);
	conn_sends(&c, put_head("/nolen", -1, NULL));
	must_resp(&c, false, &r, "PUT without Content-Length");
	check_error(model, "PUT without Content-Length", &r, 411);
	expect_closed(&c, "after 411", D);
	conn_close(&c);
	conn_open(&c, &f);
	conn_sends(&c, put_head("/huge", 16777217, "Expect: 100-continue\r\n"));
	must_resp(&c, false, &r, "PUT over --max-upload");
	check_error(model, "PUT over --max-upload", &r, 413);
	expect_closed(&c, "after 413", D);
	conn_close(&c);
	H_ASSERT(access(in_root(&f, "huge"), F_OK) != 0 && count_tmp(f.root, "huge") == 0,
	    "%s: a refused PUT left a file", model);
	fx_stop(&f);

	/* Without --files-upload: 405 that allows GET and HEAD. */
	fx_twin(&g, &f);
	fx_start(&g, NULL);
	fetch1(&g, fmt("%sxy", put_head("/nope", 2, NULL)), &r);
	check_error(model, "PUT without --files-upload", &r, 405);
	check_hdr(model, "PUT without --files-upload", &r, "Allow", "GET, HEAD");
	H_ASSERT(access(in_root(&g, "nope"), F_OK) != 0, "%s: PUT without upload wrote", model);
	fx_stop(&g);
	free(big);
	free(small);
	resp_free(&r);
}
END_TEST

/*
 * A PUT with Transfer-Encoding: chunked (what `curl -T -` sends) has no
 * Content-Length: 411, as SPEC says ("Content-Length required (411
 * without)"), not the 501 the parser gives any coded body; then the close.
 */
START_TEST(test_put_chunked)
{
	const char *model = h_model(_i);
	const char *const extra[] = { "--files-upload", NULL };
	struct resp r = { 0 };
	struct fx f;

	fx_init(&f, model);
	fx_start(&f, extra);
	fetch_str(&f,
	    fmt("%s5\r\nhello\r\n0\r\n\r\n",
	        put_head("/chunked.txt", -1, "Transfer-Encoding: chunked\r\n")),
	    &r);
	check_error(model, "PUT with Transfer-Encoding: chunked", &r, 411);
	check_hdr(model, "PUT with Transfer-Encoding: chunked", &r, "Connection", "close");
	H_ASSERT(access(in_root(&f, "chunked.txt"), F_OK) != 0 &&
	        count_tmp(f.root, "chunked.txt") == 0,
	    "%s: a refused chunked PUT left a file", model);
	resp_free(&r);
	fx_stop(&f);
}
END_TEST

/*
 * An upload cut off halfway (a close, a reset) leaves nothing: neither
 * the target nor a temporary file; an old file stays as it was.
 */
START_TEST(test_put_interrupted)
{
	const char *model = h_model(_i);
	const char *const extra[] = { "--files-upload", NULL };
	const size_t n = 2 << 20;
	unsigned char *data = rnd_data(n, 41);
	struct resp r = { 0 };
	struct fx f;

	fx_std(&f, model, extra);
	for (int k = 0; k < 4; k++) {
		/* k even: a new file; odd: a replace.  k < 2: close; else a reset. */
		const char *name = k % 2 ? "k1" : "fresh.bin";
		struct tmpq q = { f.root, name, true };
		struct conn c;

		conn_open(&c, &f);
		conn_sends(&c, put_head(fmt("/%s", name), (long long)n, NULL));
		conn_send(&c, data, n / 2);
		H_ASSERT(h_wait_for(tmp_is, &q, D), "%s: no temporary .%s.* while uploading", model,
		    name);
		if (k < 2)
			conn_close(&c);
		else {
			cli_reset(c.fd);
			c.fd = -1;
			conn_close(&c);
		}
		q.want = false;
		H_ASSERT(h_wait_for(tmp_is, &q, D),
		    "%s: the temporary file of an upload cut off by a %s is still there", model,
		    k < 2 ? "close" : "reset");
		if (k % 2)
			check_disk(&f, "k1", tbody(tfind("k1")), 1024);
		else
			H_ASSERT(access(in_root(&f, name), F_OK) != 0,
			    "%s: an upload cut off left %s", model, name);
	}
	/* The server is fine. */
	fetch1(&f, rq("GET", "/k1", NULL), &r);
	check_tfile(model, &r, tfind("k1"), false);
	free(data);
	resp_free(&r);
	fx_stop(&f);
}
END_TEST

/*
 * An upload whose body stops coming gets request_timeout between its
 * reads, not idle_timeout: 408, the temporary file removed, the old file
 * kept, so a stalled upload cannot hold a blocking model's worker long.
 */
START_TEST(test_put_stalled)
{
	const char *model = h_model(_i);
	const char *const extra[] = { "--files-upload", "--request-timeout", "1", NULL };
	const int bound = 3000 * (int)h_time_scale();
	struct resp r = { 0 };
	struct fx f;

	fx_std(&f, model, extra);
	for (int k = 0; k < 2; k++) {
		const char *name = k ? "k1" : "stalled.bin"; /* a replace, a new file */
		struct tmpq q = { f.root, name, true };
		long long t0 = h_now_ms();
		struct conn c;

		conn_open(&c, &f);
		conn_sends(&c, put_head(fmt("/%s", name), 100, NULL));
		conn_sends(&c, "abc");
		H_ASSERT(h_wait_for(tmp_is, &q, D), "%s: no temporary .%s.* while uploading", model,
		    name);
		expect_408(&c, "an upload body that stopped", t0, t0 + bound);
		conn_close(&c);
		q.want = false;
		H_ASSERT(h_wait_for(tmp_is, &q, D),
		    "%s: the temporary file of a timed-out upload is still there", model);
		if (k)
			check_disk(&f, "k1", tbody(tfind("k1")), 1024);
		else
			H_ASSERT(access(in_root(&f, name), F_OK) != 0,
			    "%s: a timed-out upload left %s", model, name);
	}
	fetch1(&f, rq("GET", "/k1", NULL), &r);
	check_tfile(model, &r, tfind("k1"), false);
	resp_free(&r);
	fx_stop(&f);
}
END_TEST

/* ---- 9. a client that does not read ---------------------------------- */

#define HUGE_SIZE (64 << 20)

/* The bytes of the 64 MiB file: word k (8 bytes, little-endian) is k * a
 * large odd number, so that any shifted or repeated part shows. */
static void
huge_fill(unsigned char *p, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t w = (uint64_t)((off + i) / 8) * 0x9E3779B97F4A7C15ULL;

		p[i] = (unsigned char)(w >> (8 * ((off + i) % 8)));
	}
}

static void
huge_file(const struct fx *f)
{
	const size_t chunk = 1 << 20;
	unsigned char *p = xmalloc(chunk);
	int fd = open(in_root(f, "huge"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	H_ASSERT(fd >= 0, "%s: create huge: %s", f->model, H_ERR);
	for (size_t off = 0; off < HUGE_SIZE; off += chunk) {
		huge_fill(p, off, chunk);
		H_ASSERT(write(fd, p, chunk) == (ssize_t)chunk, "%s: write huge: %s", f->model,
		    H_ERR);
	}
	close(fd);
	free(p);
}

/* Reads n more body bytes of huge (at *off) and checks them. */
static void
huge_read(struct conn *c, size_t *off, size_t n)
{
	const size_t chunk = 1 << 20;
	unsigned char *want = xmalloc(chunk), *got = xmalloc(chunk);

	while (n > 0) {
		size_t k = n < chunk ? n : chunk, have = conn_avail(c) < k ? conn_avail(c) : k;
		ssize_t rd;

		memcpy(got, conn_at(c), have);
		c->off += have;
		rd = cli_read_exact(c->fd, got + have, k - have, DS);
		H_ASSERT(rd == (ssize_t)(k - have), "%s: huge: %zd of %zu bytes at %zu: %s",
		    c->model, rd, k - have, *off + have, rd >= 0 && errno == 0 ? "EOF" : H_ERR);
		huge_fill(want, *off, k);
		H_ASSERT(memcmp(got, want, k) == 0, "%s: huge: wrong bytes in %zu..%zu", c->model,
		    *off, *off + k);
		*off += k;
		n -= k;
	}
	free(want);
	free(got);
}

static bool
has_child(void *arg)
{
	pid_t kid;

	return h_proc_children(*(pid_t *)arg, &kid, 1) > 0;
}

/*
 * A 64 MiB download whose client stops reading for half a second: the
 * serving process's memory stays flat (the file is never read into it)
 * and it does not spin; another client is served meanwhile (not under a
 * serial model); then the rest arrives whole.
 */
START_TEST(test_slow_reader)
{
	const char *model = h_model(_i);
	const char *asan = getenv("ASAN_OPTIONS");
	const bool measure = !h_under_valgrind();
	const long bound_kb = h_sanitized() ? 16 * 1024 : 1024;
	char asan_env[512];
	const char *const env[] = { asan_env, NULL };
	/* A download that outlasts request_timeout is not cut by it (the
	 * deadline of the head it answered was met). */
	const char *const extra[] = { "--request-timeout", "1", NULL };
	long base, rss0, rss1, cpu0, cpu1;
	struct resp r = { 0 };
	size_t off = 0;
	pid_t target;
	struct conn c;
	struct fx f;

	/* ASan's quarantine would hold what the server frees: off for this one. */
	snprintf(asan_env, sizeof asan_env, "ASAN_OPTIONS=%s%squarantine_size_mb=0",
	    asan != NULL ? asan : "", asan != NULL && *asan != '\0' ? ":" : "");
	fx_init(&f, model);
	std_tree(&f);
	huge_file(&f);
	fx_start_env(&f, extra, env);
	conn_open(&c, &f);
	/* The baseline: the connection served a file by sendfile already. */
	ask(&c, rq("GET", "/k16p1", NULL), &r);
	check_tfile(model, &r, tfind("k16p1"), false);
	target = f.s.pid;
	if (h_model_in_children(model)) {
		pid_t kids[4];

		H_ASSERT(h_wait_for(has_child, &f.s.pid, D), "%s: no child for the connection",
		    model);
		H_ASSERT(h_proc_children(f.s.pid, kids, 4) == 1,
		    "%s: more than one child for one connection", model);
		target = kids[0];
	}
	base = h_proc_kb(target, "VmRSS");
	conn_sends(&c, rq("GET", "/huge", NULL));
	H_ASSERT(conn_head(&c, &r, h_now_ms() + DS), "%s: GET /huge: no response head", model);
	check_status(model, "GET /huge", &r, 200);
	check_hdr(model, "GET /huge", &r, "Content-Length", fmt("%d", HUGE_SIZE));
	huge_read(&c, &off, 1 << 20);
	rss0 = h_proc_kb(target, "VmRSS");
	cpu0 = h_proc_cpu_ms(target);
	/* The client reads nothing, for longer than request_timeout (1 s,
	 * rounded up to whole seconds by the loops' timer). */
	pause_ms(2500);
	cpu1 = h_proc_cpu_ms(target);
	rss1 = h_proc_kb(target, "VmRSS");
	H_ASSERT(base > 0 && rss0 > 0 && rss1 > 0 && cpu0 >= 0 && cpu1 >= 0,
	    "%s: the serving process %d went away", model, (int)target);
	if (h_verbose())
		fprintf(stderr,
		    "%s: 64 MiB not read for 2.5 s: VmRSS %ld before, %ld -> %ld kB, CPU %ld ms\n",
		    model, base, rss0, rss1, cpu1 - cpu0);
	if (measure) {
		/* The file never comes into memory: 4 MiB is a sixteenth of it. */
		H_ASSERT(rss1 - base < 4 * bound_kb,
		    "%s: VmRSS grew by %ld kB (%ld -> %ld) with a 64 MiB download under way", model,
		    rss1 - base, base, rss1);
		H_ASSERT(rss1 - rss0 < bound_kb,
		    "%s: VmRSS grew by %ld kB (%ld -> %ld) while the client did not read", model,
		    rss1 - rss0, rss0, rss1);
		H_ASSERT(cpu1 - cpu0 < 250,
		    "%s: %ld ms of CPU in 2.5 s while the only client did not read", model,
		    cpu1 - cpu0);
	}
	if (!h_model_serial(model)) {
		fetch1(&f, rq("GET", "/k16p1", "Connection: close\r\n"), &r);
		check_tfile(model, &r, tfind("k16p1"), false);
	}
	huge_read(&c, &off, HUGE_SIZE - off);
	/* The connection goes on after the file. */
	ask(&c, rq("GET", "/k1", NULL), &r);
	check_tfile(model, &r, tfind("k1"), false);
	conn_close(&c);
	resp_free(&r);
	fx_stop(&f);
}
END_TEST

/* ---- 10. the access log ---------------------------------------------- */

/* The log holds at least n lines. */
struct lines_q {
	const char *path;
	size_t n;
};

static bool
has_lines(void *arg)
{
	const struct lines_q *q = arg;
	size_t len = 0;
	char *t = h_read_file(q->path, &len);
	bool ok = t != NULL && h_count(t, "\n") >= q->n;

	free(t);
	return ok;
}

START_TEST(test_access_log)
{
	const char *model = h_model(_i);
	const char *log;
	static const char *const want[] = {
		"GET /x.txt HTTP/1.1 200 33",
		"HEAD /x.txt HTTP/1.1 200 0",
		"GET /nope HTTP/1.1 404 14",
		"GET /a\\x5Cb%41\\xFF\\xC3?q=1 HTTP/1.1 404 14",
		"GET /k1 HTTP/1.1 206 10",
		"GET /k1 HTTP/1.1 304 0",
		"PUT /up.txt HTTP/1.1 201 0",
		"DELETE /k1 HTTP/1.1 405 23",
		"GET /x.txt HTTP/1.0 200 33",
		"- 400 16",
		"- 408 20",
	};
	const int nwant = (int)(sizeof want / sizeof want[0]);
	const char *extra[] = { "--files-upload", "--files-access-log", NULL, "--request-timeout",
		"1", NULL };
	struct lines_q q;
	struct resp r = { 0 };
	struct conn c;
	int port[3], np = 0, line = 0;
	char *text, *p;
	size_t len;
	struct fx f;

	fx_init(&f, model);
	std_tree(&f);
	log = h_path(f.dir, "access.log");
	q.path = log;
	q.n = (size_t)nwant;
	extra[2] = log;
	fx_start(&f, extra);

	conn_open(&c, &f);
	port[np++] = cli_local_port(c.fd);
	ask(&c, rq("GET", "/x.txt", NULL), &r);
	ask(&c, rq("HEAD", "/x.txt", NULL), &r);
	ask(&c, rq("GET", "/nope", NULL), &r);
	ask(&c, rq("GET", "/a\\b%41\xff\xc3?q=1", NULL), &r);
	check_status(model, "odd bytes", &r, 404);
	ask(&c, rq("GET", "/k1", "Range: bytes=0-9\r\n"), &r);
	ask(&c, rq("GET", "/k1", "If-Modified-Since: " MTIME_HTTP "\r\n"), &r);
	ask(&c, fmt("%shello", put_head("/up.txt", 5, NULL)), &r);
	check_status(model, "PUT /up.txt", &r, 201);
	ask(&c, rq("DELETE", "/k1", NULL), &r);
	ask(&c, "GET /x.txt HTTP/1.0\r\n\r\n", &r);
	expect_closed(&c, "HTTP/1.0", D);
	conn_close(&c);
	conn_open(&c, &f);
	port[np++] = cli_local_port(c.fd);
	ask(&c, "GARBAGE\r\n\r\n", &r);
	check_status(model, "GARBAGE", &r, 400);
	conn_close(&c);
	conn_open(&c, &f);
	port[np++] = cli_local_port(c.fd);
	conn_sends(&c, "GET /x");
	expect_408(&c, "408 for the log", -1, h_now_ms() + 3000 * h_time_scale());
	conn_close(&c);

	H_ASSERT(h_wait_for(has_lines, &q, D), "%s: the access log %s has not %d lines", model, log,
	    nwant);
	text = h_read_file(log, &len);
	H_ASSERT(text != NULL, "%s: read %s", model, log);
	for (p = text; *p != '\0' && line < nwant; line++) {
		char *eol = strchr(p, '\n'), peer[64];
		long long us, now = h_wall_us();
		int pi = line < nwant - 2 ? 0 : line - (nwant - 2) + 1;

		H_ASSERT(eol != NULL, "%s: access log line %d unterminated", model, line + 1);
		*eol = '\0';
		snprintf(peer, sizeof peer, "127.0.0.1:%d ", port[pi]);
		H_ASSERT(h_parse_ts(p, &us) && p[H_TS_LEN] == ' ' && us <= now &&
		        us > now - 60 * 1000000LL,
		    "%s: access log line %d: no time of now: '%s'", model, line + 1, p);
		H_ASSERT(strncmp(p + H_TS_LEN + 1, peer, strlen(peer)) == 0 &&
		        strcmp(p + H_TS_LEN + 1 + strlen(peer), want[line]) == 0,
		    "%s: access log line %d is '%s', want 'TIME %s%s'", model, line + 1, p, peer,
		    want[line]);
		p = eol + 1;
	}
	H_ASSERT(*p == '\0', "%s: the access log has more lines: '%s'", model, p);
	free(text);
	resp_free(&r);
	fx_stop(&f);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("files");
	int to = 30 * (int)h_time_scale();

	TCase *tc;

	h_tcase_models(su, "get", to, test_get);
	/* One test over every model: each one's stream is compared with the first's. */
	tc = h_tcase(su, "pipeline_differential", 4 * to);
	tcase_add_test(tc, test_pipeline_differential);
	h_tcase_models(su, "split", to, test_split);
	h_tcase_models(su, "pipeline_big", to, test_pipeline_big);
	h_tcase_models(su, "connection", to, test_connection);
	h_tcase_models(su, "conditional", to, test_conditional);
	h_tcase_models(su, "dirs", to, test_dirs);
	h_tcase_models(su, "safety", to, test_safety);
	h_tcase_models(su, "limits", to, test_limits);
	h_tcase_models(su, "timeout", to, test_timeout);
	h_tcase_models(su, "deferred", to, test_deferred);
	h_tcase_models(su, "put", to, test_put);
	h_tcase_models(su, "put_chunked", to, test_put_chunked);
	h_tcase_models(su, "put_interrupted", to, test_put_interrupted);
	h_tcase_models(su, "put_stalled", to, test_put_stalled);
	h_tcase_models(su, "slow_reader", to, test_slow_reader);
	h_tcase_models(su, "access_log", to, test_access_log);
	return h_run_suite(su);
}
