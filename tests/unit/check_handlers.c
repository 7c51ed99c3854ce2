/* check_handlers.c - unit tests for the handlers, driven through the registry. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "handler.h"
#include "net.h"
#include "sink.h"
#include "unit.h"

/* The core's part: "sends" everything pending. */
static void
drain(struct sink *s, struct bytes *got)
{
	if (sink_pending(s) > 0)
		bytes_add(got, sink_peek(s), sink_pending(s));
	sink_clear(s);
}

static struct peer
mkpeer(const char *text)
{
	struct peer p;

	memset(&p, 0, sizeof(p));
	snprintf(p.text, sizeof(p.text), "%s", text);
	return p;
}

/* What the core allocates per connection: state_size zeroed bytes. */
static void *
state_new(const struct handler *h)
{
	void *st = calloc(1, h->state_size > 0 ? h->state_size : 1);
	ck_assert_ptr_nonnull(st);
	return st;
}

enum ending { END_EOF, END_CLOSE };

/*
 * One whole connection the way the core runs it: open, data in chunks of
 * chunk bytes (sending whenever the handler stops at a full sink, which is
 * the only reason it may stop), eof unless the client vanished, close.
 * Returns every byte sent back.
 */
static struct bytes
run_conn(const char *name, struct service *svc, const char *peer, const char *in, size_t n,
    size_t chunk, size_t cap, enum ending end)
{
	const struct handler *h = handler_find(name);
	struct peer pe = mkpeer(peer);
	struct sink s = SINK_INIT(cap);
	struct bytes got = { 0 };
	void *st;

	ck_assert_ptr_nonnull(h);
	svc->handler = h;
	st = state_new(h);
	ck_assert_int_eq(h->open(st, svc, &pe, &s), 0);
	for (size_t off = 0; off < n;) {
		size_t m = n - off < chunk ? n - off : chunk;
		ssize_t r = h->data(st, in + off, m, &s);
		REQUIRE(r >= 0 && (size_t)r <= m);
		/* Stopping early is allowed only at a full sink. */
		REQUIRE((size_t)r == m || sink_full(&s));
		off += (size_t)r;
		if (sink_full(&s) || (size_t)r < m)
			drain(&s, &got);
	}
	if (end == END_EOF)
		ck_assert_int_eq(h->eof(st, &s), 0);
	drain(&s, &got);
	h->close(st);
	free(st);
	if (got.p == NULL)
		bytes_add(&got, "", 0);
	return got;
}

static struct service
mksvc(void)
{
	struct service svc;

	memset(&svc, 0, sizeof(svc));
	svc.name = (char *)"test";
	return svc;
}

/* ---- registry ---- */

/* The handlers of every build, in the registry's order; others may come
 * between and after them without a change here. */
static const struct handler *const known[] = { &handler_echo, &handler_timestamp, &handler_logger,
	&handler_discard, &handler_chargen, &handler_daytime, &handler_time };

START_TEST(test_registry)
{
	char names[512], want[512];
	size_t i, k = 0, used = 0, len0;

	for (i = 0; handlers[i] != NULL; i++) {
		const struct handler *h = handlers[i];
		if (k < sizeof(known) / sizeof(known[0]) && h == known[k])
			k++;
		/* Also: no two handlers share a name. */
		ck_assert_ptr_eq(handler_find(h->name), h);
		ck_assert_ptr_nonnull(h->summary);
		ck_assert(h->open != NULL && h->data != NULL && h->eof != NULL && h->close != NULL);
		used += (size_t)snprintf(want + used, sizeof(want) - used, "%s%s",
		    i > 0 ? ", " : "", h->name);
		ck_assert_uint_lt(used, sizeof(want));
	}
	ck_assert_uint_eq(k, sizeof(known) / sizeof(known[0]));
	ck_assert_ptr_null(handler_find("ECHO"));
	ck_assert_ptr_null(handler_find(""));
	ck_assert_ptr_null(handler_find("DISCARD"));
	handler_names(names, sizeof(names));
	ck_assert_str_eq(names, want);
	/* Cut short: the first name and as much of ", " as fits. */
	len0 = strlen(handlers[0]->name);
	handler_names(names, len0 + 2);
	ck_assert_int_eq(strncmp(names, handlers[0]->name, len0), 0);
	ck_assert_str_eq(names + len0, ",");
	names[0] = 'x';
	handler_names(names, 1);
	ck_assert_str_eq(names, "");
	ck_assert_uint_eq(handler_max_line, CONF_DEFAULT_MAX_LINE);
}
END_TEST

/* Heap bytes in use (mmapped blocks too), to see what is kept. */
static size_t
heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Under valgrind or ASan malloc is not glibc's and mallinfo2 says 0. */
static bool
heap_measurable(void)
{
	size_t before = heap_used();
	char *volatile p = malloc(4096);
	bool ok = heap_used() >= before + 4096;

	free(p);
	return ok;
}

START_TEST(test_scratch)
{
	char *p = handler_scratch(10);
	bool measure = heap_measurable();
	size_t base;

	ck_assert_ptr_nonnull(p);
	memset(p, 'a', 10);
	ck_assert_ptr_eq(handler_scratch(5), p); /* reused, not reallocated */
	handler_scratch_done();
	/* Small: kept as it was, not freed and allocated again (the
	 * allocator would have written its list pointers into it). */
	ck_assert_ptr_eq(handler_scratch(10), p);
	ck_assert_mem_eq(p, "aaaaaaaaaa", 10);
	base = heap_used();
	p = handler_scratch(1 << 20);
	ck_assert_ptr_nonnull(p);
	memset(p, 'b', 1 << 20);
	if (measure)
		ck_assert_uint_ge(heap_used(), base + (1 << 20));
	handler_scratch_done(); /* too large to keep: released */
	if (measure)
		ck_assert_uint_lt(heap_used(), base + (1 << 20));
	p = handler_scratch(100);
	ck_assert_ptr_nonnull(p);
	memset(p, 'c', 100);
	handler_scratch_done();
}
END_TEST

/* ---- echo ---- */

START_TEST(test_echo_chunks)
{
	char in[600];
	struct service svc = mksvc();

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)(i % 3 == 0 ? 0 : i * 13);
	for (size_t chunk = 1; chunk <= 70; chunk++) {
		for (size_t cap = 1; cap <= 4096; cap *= 8) {
			struct bytes got = run_conn("echo", &svc, "127.0.0.1:1", in, sizeof(in),
			    chunk, cap, END_EOF);
			ck_assert_uint_eq(got.len, sizeof(in));
			ck_assert_mem_eq(got.p, in, sizeof(in));
			free(got.p);
		}
	}
}
END_TEST

/* Takes exactly what fits below the cap, whatever the state pointer. */
START_TEST(test_echo_room)
{
	const struct handler *h = &handler_echo;
	struct service svc = mksvc();
	struct peer pe = mkpeer("unix");
	struct sink s = SINK_INIT(5);
	char dummy;
	void *states[2] = { NULL, &dummy };

	ck_assert_uint_eq(h->state_size, 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(h->open(states[i], &svc, &pe, &s), 0);
		ck_assert_int_eq(h->data(states[i], "abc", 3, &s), 3);
		ck_assert_int_eq(h->data(states[i], "defghij", 7, &s), 2);
		ck_assert_int_eq(h->data(states[i], "fghij", 5, &s), 0);
		ck_assert_mem_eq(sink_peek(&s), "abcde", 5);
		sink_clear(&s);
		ck_assert_int_eq(h->data(states[i], "fghij", 5, &s), 5);
		ck_assert_int_eq(h->eof(states[i], &s), 0);
		ck_assert_uint_eq(sink_pending(&s), 5); /* eof adds nothing */
		h->close(states[i]);
		sink_clear(&s);
	}
}
END_TEST

/* ---- timestamp ---- */

static bool
is_rfc3339(const char *t)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";

	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != shape[i])
			return false;
	}
	return true;
}

/* Replaces each "[TIME]" (RFC 3339) with "[T]" after checking its shape. */
static char *
strip_ts(const struct bytes *got)
{
	char *out = malloc(got->len + 1), *o = out;

	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i < got->len;) {
		/* Each reply starts with "[" + 27 bytes of time + "] ". */
		ck_assert_uint_ge(got->len - i, 30);
		ck_assert_int_eq(got->p[i], '[');
		ck_assert_msg(is_rfc3339(got->p + i + 1), "bad time in %s", got->p + i);
		ck_assert_int_eq(got->p[i + 28], ']');
		ck_assert_int_eq(got->p[i + 29], ' ');
		memcpy(o, "[T] ", 4);
		o += 4;
		i += 30;
		const char *lf = memchr(got->p + i, '\n', got->len - i);
		ck_assert_ptr_nonnull(lf);
		size_t n = (size_t)(lf - (got->p + i)) + 1;
		memcpy(o, got->p + i, n);
		o += n;
		i += n;
	}
	*o = '\0';
	return out;
}

START_TEST(test_timestamp_shape)
{
	static const char in[] = "hello\r\nworld\n\nlast";
	struct service svc = mksvc();

	handler_max_line = 8192;
	for (size_t chunk = 1; chunk <= sizeof(in); chunk++) {
		for (size_t cap = 1; cap <= 1000; cap *= 10) {
			struct bytes got = run_conn("timestamp", &svc, "127.0.0.1:5555", in,
			    sizeof(in) - 1, chunk, cap, END_EOF);
			char *s = strip_ts(&got);
			ck_assert_str_eq(s, "[T] hello\n[T] world\n[T] \n[T] last\n");
			free(s);
			free(got.p);
		}
	}
}
END_TEST

START_TEST(test_timestamp_pieces)
{
	static const char in[] = "abcdefghij\nabcd\r\nxy\r\r\n";
	struct service svc = mksvc();

	handler_max_line = 4;
	for (size_t chunk = 1; chunk <= sizeof(in); chunk++) {
		struct bytes got = run_conn("timestamp", &svc, "unix", in, sizeof(in) - 1, chunk,
		    SIZE_MAX, END_EOF);
		char *s = strip_ts(&got);
		ck_assert_str_eq(s, "[T] abcd\n[T] efgh\n[T] ij\n[T] abcd\n[T] xy\r\n");
		free(s);
		free(got.p);
	}
	handler_max_line = CONF_DEFAULT_MAX_LINE;
}
END_TEST

/* Binary bytes pass through the timestamp reply untouched. */
START_TEST(test_timestamp_binary)
{
	static const char in[] = "a\0b\xff\n";
	struct service svc = mksvc();

	handler_max_line = 8192;
	struct bytes got = run_conn("timestamp", &svc, "unix", in, sizeof(in) - 1, 2, 100, END_EOF);
	ck_assert_uint_eq(got.len, 30 + 5);
	ck_assert_mem_eq(got.p + 30, "a\0b\xff\n", 5);
	free(got.p);
}
END_TEST

START_TEST(test_timestamp_format)
{
	struct service svc = mksvc();
	char fmt[] = "%Y|%f";

	handler_max_line = 8192;
	svc.timestamp_format = fmt;
	struct bytes got = run_conn("timestamp", &svc, "unix", "one\ntwo\n", 8, 3, 64, END_EOF);
	/* "[YYYY|uuuuuu] one\n" twice. */
	ck_assert_uint_eq(got.len, 2 * 18);
	for (size_t k = 0; k < 2; k++) {
		const char *r = got.p + 18 * k;
		ck_assert_int_eq(r[0], '[');
		for (size_t i = 1; i < 12; i++)
			if (i != 5)
				ck_assert_msg(r[i] >= '0' && r[i] <= '9', "not a digit in %s", r);
		ck_assert_int_eq(r[5], '|');
		ck_assert_mem_eq(r + 12, k == 0 ? "] one\n" : "] two\n", 6);
	}
	free(got.p);
}
END_TEST

/*
 * An idle connection (no partial line) owns no heap beyond its state; a
 * partial line is held until it completes.
 */
static void
check_idle_memory(const char *name, struct service *svc)
{
	const struct handler *h = handler_find(name);
	struct peer pe = mkpeer("unix");
	struct sink s = SINK_INIT(SIZE_MAX);
	void *st = state_new(h);
	size_t base;

	ck_assert_uint_le(h->state_size, 256);
	/* Warm up what is per thread, not per connection. */
	ck_assert_int_eq(h->open(st, svc, &pe, &s), 0);
	ck_assert_int_eq(h->data(st, "warm\n", 5, &s), 5);
	sink_clear(&s);
	bool measure = heap_measurable();
	base = heap_used();
	ck_assert_int_eq(h->data(st, "abc\ndef\n", 8, &s), 8);
	sink_clear(&s);
	if (measure)
		ck_assert_uint_eq(heap_used(), base);
	ck_assert_int_eq(h->data(st, "partial", 7, &s), 7);
	sink_clear(&s);
	if (measure)
		ck_assert_uint_gt(heap_used(), base);
	ck_assert_int_eq(h->data(st, " line\n", 6, &s), 6);
	sink_clear(&s);
	if (measure)
		ck_assert_uint_eq(heap_used(), base);
	h->close(st);
	free(st);
	sink_clear(&s);
}

START_TEST(test_timestamp_idle_memory)
{
	struct service svc = mksvc();

	handler_max_line = 8192;
	check_idle_memory("timestamp", &svc);
}
END_TEST

/* ---- logger ---- */

static char tmpdir[64];

static void
tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/check_handlers.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	handler_max_line = 8192;
}

static void
tmp_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *
tmp_path(const char *name)
{
	static char path[4][128];
	static int n;
	char *p = path[n++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	return p;
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *p;
	long n;

	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	p = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(fread(p, 1, (size_t)n, fp), (size_t)n);
	p[n] = '\0';
	fclose(fp);
	return p;
}

/* Checks each record's time and replaces it by "T". */
static char *
strip_times(const char *log)
{
	char *out = malloc(strlen(log) + 1), *o = out;
	const char *p = log;

	ck_assert_ptr_nonnull(out);
	while (*p != '\0') {
		ck_assert_msg(strlen(p) > 28 && is_rfc3339(p) && p[27] == ' ', "bad record: %s", p);
		*o++ = 'T';
		p += 27;
		const char *lf = strchr(p, '\n');
		ck_assert_msg(lf != NULL, "record without LF: %s", p);
		memcpy(o, p, (size_t)(lf - p) + 1);
		o += lf - p + 1;
		p = lf + 1;
	}
	*o = '\0';
	return out;
}

static void
log_setup(struct service *svc, const char *output)
{
	char err[256] = "";

	*svc = mksvc();
	svc->output = (char *)output;
	ck_assert_int_eq(handler_logger.setup(svc, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(svc->hdata);
}

START_TEST(test_logger_records)
{
	static const char in[] = "hello\r\nw\xc3\xb6rld\x01\\\n\nlast";
	const char *path = tmp_path("log");

	for (size_t chunk = 1; chunk <= sizeof(in); chunk += 3) {
		struct service svc;
		unlink(path);
		log_setup(&svc, path);
		struct bytes got = run_conn("logger", &svc, "127.0.0.1:5555", in, sizeof(in) - 1,
		    chunk, 64, END_EOF);
		ck_assert_uint_eq(got.len, 0); /* no ack: nothing back */
		handler_logger.fini(&svc);
		ck_assert_ptr_null(svc.hdata);
		char *log = slurp(path), *s = strip_times(log);
		ck_assert_str_eq(s,
		    "T 127.0.0.1:5555 connected\n"
		    "T 127.0.0.1:5555: hello\n"
		    "T 127.0.0.1:5555: w\xc3\xb6rld\\x01\\x5C\n"
		    "T 127.0.0.1:5555: \n"
		    "T 127.0.0.1:5555: last\n"
		    "T 127.0.0.1:5555 disconnected\n");
		free(s);
		free(log);
		free(got.p);
	}
}
END_TEST

START_TEST(test_logger_mode)
{
	const char *path = tmp_path("mode.log");
	struct service svc;
	struct stat sb;
	mode_t old = umask(0);

	log_setup(&svc, path);
	umask(old);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0640);
	handler_logger.fini(&svc);
}
END_TEST

/* O_APPEND: another writer's lines are never overwritten, old content
 * is kept. */
START_TEST(test_logger_append)
{
	const char *path = tmp_path("append.log");
	const struct handler *h = &handler_logger;
	struct service svc;
	struct peer pe = mkpeer("unix");
	struct sink s = SINK_INIT(64);
	void *st = state_new(h);
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs("old\n", fp);
	fclose(fp);
	log_setup(&svc, path);
	ck_assert_int_eq(h->open(st, &svc, &pe, &s), 0);
	int fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "2000-01-01T00:00:00.000000Z other\n", 34), 34);
	close(fd);
	ck_assert_int_eq(h->data(st, "x\n", 2, &s), 2);
	h->close(st);
	free(st);
	h->fini(&svc);
	char *log = slurp(path);
	ck_assert_int_eq(strncmp(log, "old\n", 4), 0);
	char *x = strip_times(log + 4);
	ck_assert_str_eq(x, "T unix connected\nT other\nT unix: x\nT unix disconnected\n");
	free(x);
	free(log);
}
END_TEST

START_TEST(test_logger_ack)
{
	const char *path = tmp_path("ack.log");
	struct service svc;

	log_setup(&svc, path);
	svc.ack = true;
	struct bytes got = run_conn("logger", &svc, "[::1]:5555", "a\nb\r\nc", 6, 1, 4, END_EOF);
	ck_assert_str_eq(got.p, "OK\nOK\nOK\n");
	handler_logger.fini(&svc);
	char *log = slurp(path), *s = strip_times(log);
	ck_assert_str_eq(s,
	    "T [::1]:5555 connected\n"
	    "T [::1]:5555: a\n"
	    "T [::1]:5555: b\n"
	    "T [::1]:5555: c\n"
	    "T [::1]:5555 disconnected\n");
	free(s);
	free(log);
	free(got.p);
}
END_TEST

/* A connection that ends without eof (reset, timeout) still logs its
 * partial line, without an OK. */
START_TEST(test_logger_partial_at_close)
{
	const char *path = tmp_path("partial.log");
	struct service svc;

	log_setup(&svc, path);
	svc.ack = true;
	struct bytes got = run_conn("logger", &svc, "unix", "done\nhalf a li", 14, 5, 1024,
	    END_CLOSE);
	ck_assert_str_eq(got.p, "OK\n");
	handler_logger.fini(&svc);
	char *log = slurp(path), *s = strip_times(log);
	ck_assert_str_eq(s,
	    "T unix connected\n"
	    "T unix: done\n"
	    "T unix: half a li\n"
	    "T unix disconnected\n");
	free(s);
	free(log);
	free(got.p);
}
END_TEST

/* Each max_line piece is escaped on its own: a character cut in two shows
 * as bytes. */
START_TEST(test_logger_pieces)
{
	const char *path = tmp_path("pieces.log");
	struct service svc;

	handler_max_line = 4;
	log_setup(&svc, path);
	struct bytes got = run_conn("logger", &svc, "unix", "abc\xc3\xa9z\n\xc3\xa9\n", 10, 1, 1024,
	    END_EOF);
	handler_logger.fini(&svc);
	char *log = slurp(path), *s = strip_times(log);
	ck_assert_str_eq(s,
	    "T unix connected\n"
	    "T unix: abc\\xC3\n"
	    "T unix: \\xA9z\n"
	    "T unix: \xc3\xa9\n"
	    "T unix disconnected\n");
	free(s);
	free(log);
	free(got.p);
	handler_max_line = CONF_DEFAULT_MAX_LINE;
}
END_TEST

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* Log rotation: after a rename and reopen, records go to the new file. */
START_TEST(test_logger_reopen)
{
	const char *path = tmp_path("rot.log"), *old = tmp_path("rot.log.1");
	const struct handler *h = &handler_logger;
	struct service svc;
	struct peer pe = mkpeer("10.0.0.1:7");
	struct sink s = SINK_INIT(1024);
	void *st = state_new(h);

	log_setup(&svc, path);
	ck_assert_int_eq(h->open(st, &svc, &pe, &s), 0);
	ck_assert_int_eq(h->data(st, "before\n", 7, &s), 7);
	ck_assert_int_eq(rename(path, old), 0);
	int nfds = count_fds();
	h->reopen(&svc);
	ck_assert_int_eq(count_fds(), nfds); /* replaced in place, nothing leaked */
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_eq(h->data(st, "after\n", 6, &s), 6);
	h->close(st);
	free(st);
	h->fini(&svc);

	char *log = slurp(old), *x = strip_times(log);
	ck_assert_str_eq(x, "T 10.0.0.1:7 connected\nT 10.0.0.1:7: before\n");
	free(x);
	free(log);
	log = slurp(path);
	x = strip_times(log);
	ck_assert_str_eq(x, "T 10.0.0.1:7: after\nT 10.0.0.1:7 disconnected\n");
	free(x);
	free(log);
	ck_assert_uint_eq(sink_pending(&s), 0);
}
END_TEST

/* A reopen that fails keeps writing to the file it had. */
START_TEST(test_logger_reopen_fails)
{
	const char *dir = tmp_path("sub"), *moved = tmp_path("moved");
	char path[160], where[160];
	const struct handler *h = &handler_logger;
	struct service svc;
	struct peer pe = mkpeer("unix");
	struct sink s = SINK_INIT(1024);
	void *st = state_new(h);

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/x.log", dir);
	snprintf(where, sizeof(where), "%s/x.log", moved);
	log_setup(&svc, path);
	ck_assert_int_eq(h->open(st, &svc, &pe, &s), 0);
	ck_assert_int_eq(rename(dir, moved), 0);
	h->reopen(&svc); /* the directory is gone: warns, keeps the fd */
	ck_assert_int_eq(h->data(st, "still\n", 6, &s), 6);
	h->close(st);
	free(st);
	h->fini(&svc);
	char *log = slurp(where), *x = strip_times(log);
	ck_assert_str_eq(x, "T unix connected\nT unix: still\nT unix disconnected\n");
	free(x);
	free(log);
}
END_TEST

START_TEST(test_logger_setup_error)
{
	struct service svc = mksvc();
	char err[256] = "";

	svc.output = (char *)"/nonexistent-dir/x.log";
	ck_assert_int_eq(handler_logger.setup(&svc, err, sizeof(err)), -1);
	ck_assert_ptr_null(svc.hdata);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/x.log"));
	ck_assert_ptr_nonnull(strstr(err, strerror(ENOENT)));
}
END_TEST

/* A failing output is warned about; the connection goes on, without OK. */
START_TEST(test_logger_write_error)
{
	struct service svc;

	if (access("/dev/full", W_OK) != 0)
		return;
	log_setup(&svc, "/dev/full");
	svc.ack = true;
	struct bytes got = run_conn("logger", &svc, "unix", "a\nb\n", 4, 4, 64, END_EOF);
	ck_assert_str_eq(got.p, "");
	handler_logger.fini(&svc);
	free(got.p);
}
END_TEST

/* "-" and no output at all: records go to standard output, unbuffered. */
START_TEST(test_logger_stdout)
{
	const char *path = tmp_path("stdout.log");
	const char *outputs[2] = { "-", NULL };
	int saved = dup(STDOUT_FILENO);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	close(fd);
	for (int i = 0; i < 2; i++) {
		struct service svc;
		log_setup(&svc, outputs[i]);
		struct bytes got = run_conn("logger", &svc, "unix", "x\n", 2, 2, 64, END_EOF);
		handler_logger.fini(&svc);
		free(got.p);
	}
	ck_assert_int_ne(fcntl(STDOUT_FILENO, F_GETFD), -1); /* fini left it open */
	dup2(saved, STDOUT_FILENO);
	close(saved);
	char *log = slurp(path), *x = strip_times(log);
	ck_assert_str_eq(x,
	    "T unix connected\nT unix: x\nT unix disconnected\n"
	    "T unix connected\nT unix: x\nT unix disconnected\n");
	free(x);
	free(log);
}
END_TEST

/* Threads writing long records to one file never tear or interleave them. */
#define LOG_THREADS 4
#define LOG_LINES   300

struct lthr {
	struct service *svc;
	int id;
};

static void *
lthr_main(void *p)
{
	struct lthr *a = p;
	const struct handler *h = &handler_logger;
	char peer[32], line[3000];
	struct peer pe;
	struct sink s = SINK_INIT(SIZE_MAX);
	void *st = calloc(1, h->state_size);

	snprintf(peer, sizeof(peer), "thread%d", a->id);
	pe = mkpeer(peer);
	if (st == NULL || h->open(st, a->svc, &pe, &s) != 0)
		return (void *)1;
	for (int i = 0; i < LOG_LINES; i++) {
		size_t n = 100 + (size_t)((i * 7919 + a->id * 31) % 2800);
		memset(line, 'a' + a->id, n);
		line[n - 1] = '\n';
		if (h->data(st, line, n, &s) != (ssize_t)n)
			return (void *)1;
	}
	h->close(st);
	free(st);
	return NULL;
}

START_TEST(test_logger_threads)
{
	const char *path = tmp_path("threads.log");
	struct service svc;
	pthread_t t[LOG_THREADS];
	struct lthr a[LOG_THREADS];
	int records = 0;

	log_setup(&svc, path);
	for (int i = 0; i < LOG_THREADS; i++) {
		a[i] = (struct lthr){ &svc, i };
		ck_assert_int_eq(pthread_create(&t[i], NULL, lthr_main, &a[i]), 0);
	}
	for (int i = 0; i < LOG_THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		ck_assert_ptr_null(r);
	}
	handler_logger.fini(&svc);
	char *log = slurp(path), *x = strip_times(log);
	for (char *line = strtok(x, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		int id;
		ck_assert_int_eq(sscanf(line, "T thread%d", &id), 1);
		ck_assert(id >= 0 && id < LOG_THREADS);
		const char *body = strstr(line, ": ");
		if (body != NULL) {
			char c = (char)('a' + id);
			for (body += 2; *body != '\0'; body++)
				REQUIRE(*body == c);
		}
		records++;
	}
	ck_assert_int_eq(records, LOG_THREADS * (LOG_LINES + 2));
	free(x);
	free(log);
}
END_TEST

START_TEST(test_logger_idle_memory)
{
	struct service svc;

	log_setup(&svc, tmp_path("idle.log"));
	check_idle_memory("logger", &svc);
	handler_logger.fini(&svc);
}
END_TEST

START_TEST(test_logger_no_setup)
{
	const struct handler *h = &handler_logger;
	struct service svc = mksvc();
	struct peer pe = mkpeer("unix");
	struct sink s = SINK_INIT(64);
	void *st = state_new(h);

	/* Refused, and close after a failed open is harmless. */
	ck_assert_int_eq(h->open(st, &svc, &pe, &s), -1);
	h->close(st);
	free(st);
}
END_TEST

Suite *
handlers_suite(void)
{
	Suite *s = suite_create("handlers");
	TCase *tc = tcase_create("core");
	TCase *tl = tcase_create("logger");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_registry);
	tcase_add_test(tc, test_scratch);
	tcase_add_test(tc, test_echo_chunks);
	tcase_add_test(tc, test_echo_room);
	tcase_add_test(tc, test_timestamp_shape);
	tcase_add_test(tc, test_timestamp_pieces);
	tcase_add_test(tc, test_timestamp_binary);
	tcase_add_test(tc, test_timestamp_format);
	tcase_add_test(tc, test_timestamp_idle_memory);
	suite_add_tcase(s, tc);

	tcase_set_timeout(tl, 60);
	tcase_add_checked_fixture(tl, tmp_setup, tmp_teardown);
	tcase_add_test(tl, test_logger_records);
	tcase_add_test(tl, test_logger_mode);
	tcase_add_test(tl, test_logger_append);
	tcase_add_test(tl, test_logger_ack);
	tcase_add_test(tl, test_logger_partial_at_close);
	tcase_add_test(tl, test_logger_pieces);
	tcase_add_test(tl, test_logger_reopen);
	tcase_add_test(tl, test_logger_reopen_fails);
	tcase_add_test(tl, test_logger_setup_error);
	tcase_add_test(tl, test_logger_write_error);
	tcase_add_test(tl, test_logger_stdout);
	tcase_add_test(tl, test_logger_threads);
	tcase_add_test(tl, test_logger_idle_memory);
	tcase_add_test(tl, test_logger_no_setup);
	suite_add_tcase(s, tl);
	return s;
}
