/* check_hostile.c - hostile input (issue 12): kept input, cuts, logger pipes, a stuck stdout, stray SIGCHLD, huge timeouts, shutdown races. */
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

#define D H_DEADLINE_MS

/* "unix:" + path into buf. */
static const char *
unix_addr(char *buf, size_t cap, const char *path)
{
	int n = snprintf(buf, cap, "unix:%s", path);

	H_ASSERT(n > 0 && (size_t)n < cap, "path too long: %s", path);
	return buf;
}

/* True while sig is pending for pid (process-wide or its main thread). */
static bool
sig_pending(pid_t pid, int sig)
{
	char path[64], line[256];
	unsigned long long mask;
	bool pending = false;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof line, f) != NULL)
		if ((sscanf(line, "ShdPnd: %llx", &mask) == 1 ||
		        sscanf(line, "SigPnd: %llx", &mask) == 1) &&
		    (mask & (1ULL << (sig - 1))) != 0)
			pending = true;
	fclose(f);
	return pending;
}

struct sigwait {
	pid_t pid;
	int sig;
};

/* True once the signal is no longer pending: its handler has run. */
static bool
sig_taken(void *arg)
{
	struct sigwait *w = arg;

	return !sig_pending(w->pid, w->sig);
}

/*
 * Sends SIGTERM n times, each once the last was taken (standard signals
 * do not queue: two sent at once may arrive as one).
 */
static void
send_terms(struct srv *s, int n, const char *model)
{
	struct sigwait w = { s->pid, SIGTERM };

	for (int i = 0; i < n; i++) {
		H_ASSERT(h_wait_for(sig_taken, &w, D), "%s: SIGTERM still pending after %d ms",
		    model, D);
		H_ASSERT(kill(s->pid, SIGTERM) == 0, "kill: %s", H_ERR);
	}
}

static bool
has_child(void *arg)
{
	pid_t kid;

	return h_proc_children(*(pid_t *)arg, &kid, 1) > 0;
}

/* VmRSS of pid and its children (a model serving in children) in kB. */
static long
rss_kb(pid_t pid)
{
	pid_t kids[64];
	long kb = h_proc_kb(pid, "VmRSS");
	int n = h_proc_children(pid, kids, 64);

	for (int i = 0; i < n; i++) {
		long k = h_proc_kb(kids[i], "VmRSS");

		if (k > 0)
			kb += k;
	}
	return kb;
}

/* ---- standard output as a pipe -------------------------------------- */

/* The spawn hook: the pipe's write end (*arg) becomes the server's stdout. */
static void
stdout_hook(void *arg)
{
	if (dup2(*(int *)arg, STDOUT_FILENO) == -1)
		_exit(126);
}

/* A thread that reads a pipe into text until end of stream. */
struct reader {
	int fd;
	pthread_t tid;
	pthread_mutex_t mu;
	struct hbuf text; /* under mu */
	size_t lines;     /* LFs in text, under mu */
	bool eof;         /* under mu */
	int err;          /* errno of a failed read, under mu */
	atomic_bool stop;
	bool running;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	char chunk[65536];

	while (!atomic_load(&r->stop)) {
		struct pollfd pf = { r->fd, POLLIN, 0 };
		ssize_t k;

		/* A bounded wait, so that reader_finish can stop it. */
		if (poll(&pf, 1, 50) <= 0)
			continue;
		k = read(r->fd, chunk, sizeof chunk);
		if (k == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		pthread_mutex_lock(&r->mu);
		if (k > 0) {
			hbuf_add(&r->text, chunk, (size_t)k);
			/* Counted as it comes: a poll for "all records are
			 * out" must not rescan megabytes under the lock. */
			for (const char *q = chunk;
			     (q = memchr(q, '\n', (size_t)(chunk + k - q))) != NULL; q++)
				r->lines++;
		} else if (k == 0)
			r->eof = true;
		else
			r->err = errno;
		pthread_mutex_unlock(&r->mu);
		if (k <= 0)
			break;
	}
	return NULL;
}

static void
reader_start(struct reader *r, int fd)
{
	memset(r, 0, sizeof *r);
	r->fd = fd;
	pthread_mutex_init(&r->mu, NULL);
	atomic_init(&r->stop, false);
	hbuf_add(&r->text, "", 0);
	H_ASSERT(pthread_create(&r->tid, NULL, reader_main, r) == 0, "pthread_create failed");
	r->running = true;
}

static bool
reader_ended(void *arg)
{
	struct reader *r = arg;
	bool done;

	pthread_mutex_lock(&r->mu);
	done = r->eof || r->err != 0;
	pthread_mutex_unlock(&r->mu);
	return done;
}

/* Waits up to timeout_ms for end of stream; true if it came. */
static bool
reader_wait_eof(struct reader *r, int timeout_ms)
{
	bool ok = h_wait_for(reader_ended, r, timeout_ms);

	pthread_mutex_lock(&r->mu);
	ok = ok && r->err == 0;
	pthread_mutex_unlock(&r->mu);
	return ok;
}

/* Occurrences of needle in what was read so far. */
static size_t
reader_count(struct reader *r, const char *needle)
{
	size_t n;

	pthread_mutex_lock(&r->mu);
	n = strcmp(needle, "\n") == 0 ? r->lines : h_count(r->text.p, needle);
	pthread_mutex_unlock(&r->mu);
	return n;
}

/*
 * srv_start, with the server's standard output a pipe that rd reads all
 * along when rd is not NULL (else the output stays as srv_start sets it).
 */
static void
start_piped(struct srv *s, const char *const args[], const char *model, struct reader *rd)
{
	int pfd[2] = { -1, -1 };

	if (rd != NULL) {
		H_ASSERT(pipe2(pfd, O_CLOEXEC) == 0, "pipe: %s", H_ERR);
		h_next_spawn_hook(stdout_hook, &pfd[1]);
	}
	H_START_OK(s, args, model);
	if (rd != NULL) {
		close(pfd[1]);
		reader_start(rd, pfd[0]);
	}
}

/* Stops the thread and closes the pipe; r->text stays for the caller. */
static void
reader_finish(struct reader *r)
{
	if (r->running) {
		atomic_store(&r->stop, true);
		pthread_join(r->tid, NULL);
		r->running = false;
		close(r->fd);
	}
}

/* An echo exchange on a fresh unix connection within ms. */
static bool
echo_unix_ok(const char *sock, int ms)
{
	char buf[8];
	int fd = cli_connect_unix(sock, ms);
	bool ok;

	if (fd < 0)
		return false;
	ok = cli_write_all(fd, "ping\n", 5, ms) == 0 && cli_read_exact(fd, buf, 5, ms) == 5 &&
	    memcmp(buf, "ping\n", 5) == 0;
	close(fd);
	return ok;
}

/* ====================================================================
 * Finding 1: the readiness loop forgets input it kept.
 * ==================================================================== */

#define READY_ECHO_BYTES 16384
#define READY_TS_LINES   30000
#define READY_LG_LINES   100
#define READY_LG_MS      1500 /* well below --idle-timeout 2 */

/*
 * Echo with --max-pending 4096 over a unix socket: 16 KiB sent by a
 * client that reads as it goes, then a half-close; all of it comes back,
 * then the end of stream, long before any timeout.
 */
START_TEST(test_ready_echo)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	const char *sock = h_path(dir, "e.sock");
	char addr[PATH_MAX + 8];
	const char *args[] = { "-m", model, "--max-pending", "4096", "-l",
		unix_addr(addr, sizeof addr, sock), NULL };
	static char data[READY_ECHO_BYTES];
	struct hbuf in = { 0 };
	struct srv s;
	int fd, r;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)(i * 7 + i / 251);
	H_START_OK(&s, args, model);
	fd = cli_connect_unix(sock, D);
	H_ASSERT(fd >= 0, "%s: connect: %s", model, H_ERR);
	hbuf_add(&in, "", 0);
	r = cli_exchange(fd, data, sizeof data, true, &in, (int)(3000 * h_time_scale()));
	H_ASSERT(r == 0 && in.len == sizeof data, "%s: %zu of %zu bytes echoed, then %s", model,
	    in.len, sizeof data,
	    r == 0 ? "end of stream" : "nothing more within 3 s (input kept and forgotten?)");
	H_ASSERT(memcmp(in.p, data, sizeof data) == 0, "%s: the echo differs from what was sent",
	    model);
	close(fd);
	H_STOP_OK(&s, model);
	hbuf_free(&in);
}
END_TEST

/*
 * timestamp on TCP with the defaults: 30,000 pipelined short lines
 * ("1".."30000", replies 16 times their size) and a half-close; a reply
 * for each, in order, then the end of stream.
 */
START_TEST(test_ready_timestamp)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-H", "timestamp", "-l", "127.0.0.1:0", NULL };
	struct hbuf out = { 0 }, in = { 0 };
	char num[32];
	struct srv s;
	size_t nrep = 0;
	int fd, r;
	char *p, *eol;

	for (int i = 1; i <= READY_TS_LINES; i++) {
		int n = snprintf(num, sizeof num, "%d\n", i);

		hbuf_add(&out, num, (size_t)n);
	}
	H_START_OK(&s, args, model);
	fd = cli_connect(srv_port(&s, 0));
	H_ASSERT(fd >= 0, "%s: connect: %s", model, H_ERR);
	hbuf_add(&in, "", 0);
	r = cli_exchange(fd, out.p, out.len, true, &in, (int)(D * h_time_scale()));
	for (p = in.p; (eol = memchr(p, '\n', in.len - (size_t)(p - in.p))) != NULL; p = eol + 1) {
		const char *sp = memchr(p, ' ', (size_t)(eol - p));

		snprintf(num, sizeof num, "%zu", nrep + 1);
		H_ASSERT(p[0] == '[' && sp != NULL && sp[-1] == ']' &&
		        (size_t)(eol - sp - 1) == strlen(num) &&
		        memcmp(sp + 1, num, strlen(num)) == 0,
		    "%s: reply %zu is '%.*s', want '[TIME] %s'", model, nrep + 1, (int)(eol - p), p,
		    num);
		nrep++;
	}
	H_ASSERT(r == 0 && nrep == READY_TS_LINES, "%s: %zu of %d replies, then %s", model, nrep,
	    READY_TS_LINES,
	    r == 0 ? "end of stream" :
	             "nothing more within the deadline (input kept and forgotten?)");
	H_ASSERT(p == in.p + in.len, "%s: bytes after the last reply", model);
	close(fd);
	H_STOP_OK(&s, model);
	hbuf_free(&in);
	hbuf_free(&out);
}
END_TEST

/*
 * Steps *pp over the LF-terminated records of a logger output to the next
 * line record, skipping connected and disconnected ones and asserting that
 * every record is well-formed.  True with the line record in *rec and, if
 * line is not NULL, the whole record (without its LF) in *line and *len;
 * *pp is then just after it.  False when no whole record is left, with *pp
 * at what follows the last LF.
 */
static bool
next_line_record(const char *model, char **pp, struct h_record *rec, const char **line, int *len)
{
	char *p, *eol;

	for (p = *pp; (eol = strchr(p, '\n')) != NULL; p = eol + 1) {
		H_ASSERT(h_parse_record(p, (size_t)(eol - p), rec), "%s: malformed record '%.*s'",
		    model, (int)(eol - p), p);
		if (rec->kind != H_REC_LINE)
			continue;
		if (line != NULL) {
			*line = p;
			*len = (int)(eol - p);
		}
		*pp = eol + 1;
		return true;
	}
	*pp = p;
	return false;
}

/*
 * logger --logger-ack --max-pending 4 --idle-timeout 2 over a unix
 * socket: 100 lines from a client that reads as it goes get 100 OKs and
 * the end of stream within 1.5 s (a stall would only end by the idle
 * timeout), and 100 line records, in order.
 */
START_TEST(test_ready_logger)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	const char *sock = h_path(dir, "l.sock");
	const char *out = h_path(dir, "l.log");
	char addr[PATH_MAX + 8];
	const char *args[] = { "-m", model, "-H", "logger", "--logger-ack", "--logger-output", out,
		"--max-pending", "4", "--idle-timeout", "2", "-l",
		unix_addr(addr, sizeof addr, sock), NULL };
	struct hbuf lines = { 0 }, in = { 0 };
	char line[64];
	struct srv s;
	int fd, r, nok, nrec = 0;
	struct h_record rec;
	char *t, *p;

	for (int i = 1; i <= READY_LG_LINES; i++) {
		int n = snprintf(line, sizeof line, "line %d\n", i);

		hbuf_add(&lines, line, (size_t)n);
	}
	H_START_OK(&s, args, model);
	fd = cli_connect_unix(sock, D);
	H_ASSERT(fd >= 0, "%s: connect: %s", model, H_ERR);
	hbuf_add(&in, "", 0);
	/* Under valgrind, a stall is still cut short by the idle timeout. */
	r = cli_exchange(fd, lines.p, lines.len, true, &in, (int)(READY_LG_MS * h_time_scale()));
	nok = (int)h_count(in.p, "OK\n");
	H_ASSERT(r == 0 && nok == READY_LG_LINES && in.len == 3 * (size_t)READY_LG_LINES,
	    "%s: %d OKs (%zu bytes) for %d lines, then %s", model, nok, in.len, READY_LG_LINES,
	    r == 0 ? "end of stream" : "nothing more within 1.5 s (input kept and forgotten?)");
	close(fd);
	H_STOP_OK(&s, model);
	t = h_read_file(out, NULL);
	H_ASSERT(t != NULL, "%s: read %s: %s", model, out, H_ERR);
	p = t;
	while (next_line_record(model, &p, &rec, NULL, NULL)) {
		snprintf(line, sizeof line, "line %d", nrec + 1);
		H_ASSERT(rec.textlen == strlen(line) && memcmp(rec.text, line, rec.textlen) == 0,
		    "%s: record %d is '%.*s', want '%s'", model, nrec + 1, (int)rec.textlen,
		    rec.text, line);
		nrec++;
	}
	H_ASSERT(nrec == READY_LG_LINES, "%s: %d line records, want %d", model, nrec,
	    READY_LG_LINES);
	free(t);
	hbuf_free(&in);
	hbuf_free(&lines);
}
END_TEST

/* ====================================================================
 * Finding 2: a cut drops input already received.
 * ==================================================================== */

#define CUT_LINES 60000
#define CUT_LEN   8 /* "L%06d\n" */

/*
 * The records of a cut log: "L000000", "L000001"... with no gap and no
 * repeat; the last may be an unterminated line's head.  Returns the
 * number of whole lines recorded; *partial is set when a head follows.
 */
static long
cut_records(const char *model, const char *path, bool *partial)
{
	char *t = h_read_file(path, NULL), *p, want[24];
	struct h_record rec;
	const char *line;
	long n = 0;
	int len;

	H_ASSERT(t != NULL, "%s: read %s: %s", model, path, H_ERR);
	*partial = false;
	p = t;
	while (next_line_record(model, &p, &rec, &line, &len)) {
		H_ASSERT(!*partial,
		    "%s: a record after the partial line "
		    "L%06ld: '%.*s'",
		    model, n, len, line);
		snprintf(want, sizeof want, "L%06ld", n);
		if (rec.textlen < CUT_LEN - 1 && memcmp(rec.text, want, rec.textlen) == 0) {
			*partial = true;
			continue;
		}
		H_ASSERT(rec.textlen == CUT_LEN - 1 && memcmp(rec.text, want, CUT_LEN - 1) == 0,
		    "%s: after %ld records in order, '%.*s' where %s was due "
		    "(a gap: received lines lost)",
		    model, n, (int)rec.textlen, rec.text, want);
		n++;
	}
	H_ASSERT(*p == '\0', "%s: unterminated record at the end", model);
	free(t);
	return n;
}

/*
 * The audit's cut.sh: logger, --logger-ack, --max-pending 4,
 * --shutdown-timeout 1, unix socket; a client that never reads pipelines
 * "L%06d" lines until its socket is full, then SIGTERM (nsig times).
 * After one signal every line the client's kernel accepted is recorded
 * (the cut hands what was read, the drain reads the rest), in order.
 * After two, the records are a gap-free prefix holding at least every
 * line the server had read (its bytes-in counter) before the signals.
 * to_pipe: output "-", standard output a pipe read all along; the
 * records the cut produces at once must all get out too.
 */
static void
cut_case(const char *model, int nsig, bool to_pipe)
{
	const char *dir = h_tmpdir();
	const char *sock = h_path(dir, "cut.sock");
	const char *out = h_path(dir, "cut.log");
	char addr[PATH_MAX + 8];
	const char *args[] = { "-m", model, "-H", "logger", "--logger-ack", "--logger-output",
		to_pipe ? "-" : out, "--max-pending", "4", "--shutdown-timeout", "1", "-l",
		unix_addr(addr, sizeof addr, sock), NULL };
	static char data[CUT_LINES * CUT_LEN];
	size_t sent = 0;
	long nread = 0, nrec, want;
	int fd, r;
	struct reader rd;
	long long end;
	struct srv s;
	bool partial;

	for (int i = 0; i < CUT_LINES; i++) {
		char line[16];

		snprintf(line, sizeof line, "L%06d\n", i);
		memcpy(data + (size_t)i * CUT_LEN, line, CUT_LEN);
	}
	start_piped(&s, args, model, to_pipe ? &rd : NULL);
	fd = cli_connect_unix(sock, D);
	H_ASSERT(fd >= 0, "%s: connect: %s", model, H_ERR);
	while (sent < sizeof data) {
		size_t n = sizeof data - sent < 65536 ? sizeof data - sent : 65536;
		ssize_t w = send(fd, data + sent, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			sent += (size_t)w;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		H_ASSERT(w == -1 && errno == EAGAIN, "%s: send: %s", model, w == 0 ? "0" : H_ERR);
		break;
	}
	H_ASSERT(sent < sizeof data,
	    "%s: the server read all %zu bytes "
	    "without the OKs being read",
	    model, sent);
	/* What the server has read by now must reach the handler. */
	for (end = h_now_ms() + D; nread <= 0 && h_now_ms() < end;)
		nread = srv_status_num(&s, "logger", "in");
	H_ASSERT(nread > 0, "%s: the server read nothing", model);
	send_terms(&s, nsig, model);
	r = srv_wait(&s, (int)(3000 + D * h_time_scale()));
	H_ASSERT(r == 0, "%s: %s after %d SIGTERM", model, r == -1 ? "no exit" : "bad exit status",
	    nsig);
	close(fd);
	if (to_pipe) {
		H_ASSERT(reader_wait_eof(&rd, D),
		    "%s: stdout not closed after "
		    "the server exited",
		    model);
		reader_finish(&rd);
		H_ASSERT(h_write_file(out, rd.text.p) == 0, "write %s: %s", out, H_ERR);
		hbuf_free(&rd.text);
	}
	nrec = cut_records(model, out, &partial);
	if (h_verbose())
		fprintf(stderr,
		    "cut %s, %d signal%s%s: client sent %zu lines "
		    "(%zu bytes), server had read %ld bytes, %ld lines "
		    "recorded%s\n",
		    model, nsig, nsig == 1 ? "" : "s", to_pipe ? ", stdout pipe" : "",
		    sent / CUT_LEN, sent, nread, nrec, partial ? " and a partial one" : "");
	if (nsig == 1) {
		size_t rest = sent % CUT_LEN;

		/* A head of 7 bytes, "L000123" without LF, looks whole. */
		want = (long)(sent / CUT_LEN) + (rest == CUT_LEN - 1);
		H_ASSERT(nrec == want && partial == (rest > 0 && rest < CUT_LEN - 1),
		    "%s: %ld lines recorded in order%s, but the client sent "
		    "%ld (%zu bytes): the cut lost received lines",
		    model, nrec, partial ? " and a partial one" : "", want, sent);
	} else {
		want = nread / CUT_LEN;
		H_ASSERT(nrec >= want,
		    "%s: %ld lines recorded in order, but "
		    "the server had read %ld bytes (%ld lines) before the "
		    "signals: the second signal dropped input it had read",
		    model, nrec, nread, want);
	}
	srv_free(&s);
}

START_TEST(test_cut_drain)
{
	cut_case(h_model(_i), 1, false);
}
END_TEST

START_TEST(test_cut_drain_pipe)
{
	cut_case(h_model(_i), 1, true);
}
END_TEST

START_TEST(test_cut_second_signal)
{
	cut_case(h_model(_i), 2, false);
}
END_TEST

/* ====================================================================
 * 40 clients x 500 lines into logger, SIGTERM right after the last send.
 * ==================================================================== */

#define NCLI   40
#define NLINES 500
#define CHUNK  1500 /* bytes per send: clients interleave, lines get cut */
#define BURST  65536

static int port2cli[65536];

struct count_arg {
	const char *path;  /* the output file, or NULL: */
	struct reader *rd; /* the pipe's reader */
	size_t want;
};

static bool
all_connected(void *arg)
{
	struct count_arg *a = arg;
	char *t;
	bool ok;

	if (a->rd != NULL)
		return reader_count(a->rd, " connected\n") >= a->want;
	t = h_read_file(a->path, NULL);
	ok = t != NULL && h_count(t, " connected\n") >= a->want;
	free(t);
	return ok;
}

static bool
all_recorded(void *arg)
{
	struct count_arg *a = arg;

	return reader_count(a->rd, "\n") >= a->want;
}

/*
 * 40 clients send 500 lines each (interleaved 1500-byte sends), then
 * half-close (or keep the connection open), and SIGTERM comes right after
 * the last send.  Output: a file, or "-" with standard output a pipe that
 * a thread reads all along.  Half-closing clients get
 * --shutdown-timeout 5 and finish within it; open ones --shutdown-timeout
 * 1 and are cut.  Either way every line is recorded once and whole.
 * With settle (pipe only, clients sending in bursts and keeping the
 * connection open), every record must reach the pipe before any signal:
 * a server waiting for the output to drain must resume by itself; then
 * the clients half-close.
 */
static void
load_case(const char *model, bool to_pipe, bool keep_open, bool settle)
{
	const char *dir = h_tmpdir();
	const char *file = h_path(dir, "load.log");
	const char *how = settle ? "(stdout pipe, clients keep open until "
	                           "all is out)" :
	    to_pipe              ? (keep_open ? "(stdout pipe, clients "
	                                        "keep open)" :
	                                        "(stdout pipe, clients half-close)") :
	              (keep_open ? "(file, clients keep open)" : "(file, clients half-close)");
	const char *args[] = { "-m", model, "-H", "logger", "-l", "127.0.0.1:0",
		"--shutdown-timeout", keep_open ? "1" : "5", "--logger-output",
		to_pipe ? "-" : file, NULL };
	static struct hbuf data[NCLI];
	int fd[NCLI], c, r;
	size_t len;
	struct count_arg ca;
	struct reader rd;
	char *text, who[160];
	struct srv s;

	H_ASSERT(dir != NULL, "tmpdir");
	snprintf(who, sizeof who, "%s %s", model, how);
	for (c = 0; c < NCLI; c++) {
		hbuf_free(&data[c]);
		h_load_lines(&data[c], c, NLINES);
	}
	start_piped(&s, args, model, to_pipe ? &rd : NULL);
	h_load_connect(model, srv_port(&s, 0), fd, NCLI, port2cli);
	/* SIGTERM stops accepting: every client accepted first. */
	ca.path = file;
	ca.rd = to_pipe ? &rd : NULL;
	ca.want = NCLI;
	H_ASSERT(h_wait_for(all_connected, &ca, D), "%s %s: not all %d clients were accepted",
	    model, how, NCLI);

	/* settle: bursts, so that the output falls behind. */
	h_load_send(who, fd, data, NCLI, settle ? BURST : CHUNK, 20000,
	    keep_open ? NULL : cli_shut_wr);
	if (settle) {
		ca.want = NCLI * NLINES + NCLI;
		H_ASSERT(h_wait_for(all_recorded, &ca, (int)(D * h_time_scale())),
		    "%s %s: %zu of %zu records on stdout %d ms after the last "
		    "send, with the pipe read all along (a stall?)",
		    model, how, reader_count(&rd, "\n"), ca.want, (int)(D * h_time_scale()));
		/* All out: the clients may go, no cut needed. */
		for (c = 0; c < NCLI; c++)
			cli_shut_wr(fd[c]);
	}
	/* Right after the last send (or once all is out, with settle). */
	H_ASSERT(kill(s.pid, SIGTERM) == 0, "kill: %s", H_ERR);
	r = srv_wait(&s, (int)((keep_open ? 3000 : 7000) + D * h_time_scale()));
	H_ASSERT(r == 0, "%s %s: %s after SIGTERM", model, how,
	    r == -1 ? "no exit" : "bad exit status");
	for (c = 0; c < NCLI; c++)
		close(fd[c]);
	if (to_pipe) {
		H_ASSERT(reader_wait_eof(&rd, D),
		    "%s %s: stdout not closed "
		    "after the server exited: %s",
		    model, how, rd.err ? strerror(rd.err) : "timeout");
		reader_finish(&rd);
		text = rd.text.p;
		len = rd.text.len;
	} else {
		text = h_read_file(file, &len);
		H_ASSERT(text != NULL, "%s: read %s: %s", model, file, H_ERR);
	}
	h_load_verify(who, text, len, port2cli, NCLI, NLINES);
	free(text);
	srv_free(&s);
}

START_TEST(test_load_file_halfclose)
{
	load_case(h_conc_model(_i), false, false, false);
}
END_TEST

START_TEST(test_load_pipe_halfclose)
{
	load_case(h_conc_model(_i), true, false, false);
}
END_TEST

/* A stall depends on the timing: a few rounds make it likely to show. */
START_TEST(test_load_pipe_settle)
{
	for (int round = 0; round < 3; round++)
		load_case(h_conc_model(_i), true, true, true);
}
END_TEST

START_TEST(test_load_pipe_open)
{
	load_case(h_conc_model(_i), true, true, false);
}
END_TEST

/* ====================================================================
 * Finding 3: records torn on a pipe by concurrent writers.
 * ==================================================================== */

#define TORN_CLIENTS 6
#define TORN_LEN     60000

/*
 * fork and thread (by name: no trait of struct model tells the models
 * whose records come from a process or thread per connection),
 * --max-line 65536, logger output "-" on a pipe nobody reads for the
 * first second while 6 clients each send one 60000-byte line of their
 * own letter: then everything is read, and each record is
 * whole: "TIME PEER: " and 60000 times one letter, or connected or
 * disconnected.
 */
START_TEST(test_pipe_torn)
{
	static const char *const which[] = { "fork", "thread" };
	const char *model = which[_i];
	const char *args[] = { "-m", model, "-H", "logger", "--max-line", "65536", "-l",
		"127.0.0.1:0", NULL };
	static char body[TORN_LEN + 1];
	int fd[TORN_CLIENTS], pfd[2], nconn = 0, ndisc = 0, bad = 0;
	bool got[TORN_CLIENTS] = { false };
	struct hbuf rep = { 0 };
	struct reader rd;
	struct srv s;
	char *p, *eol;
	int c;

	H_ASSERT(pipe2(pfd, O_CLOEXEC) == 0, "pipe: %s", H_ERR);
	h_next_spawn_hook(stdout_hook, &pfd[1]);
	H_START_OK(&s, args, model);
	close(pfd[1]);
	for (c = 0; c < TORN_CLIENTS; c++) {
		memset(body, 'A' + c, TORN_LEN);
		body[TORN_LEN] = '\n';
		fd[c] = cli_connect(srv_port(&s, 0));
		H_ASSERT(fd[c] >= 0, "%s: connect %d: %s", model, c, H_ERR);
		H_ASSERT(cli_write_all(fd[c], body, sizeof body, D) == 0 && cli_shut_wr(fd[c]) == 0,
		    "%s: client %d: send: %s", model, c, H_ERR);
	}
	/* The scenario: the pipe stays full for a second, writers pile up. */
	h_nap(1000);
	reader_start(&rd, pfd[0]);
	for (c = 0; c < TORN_CLIENTS; c++) {
		H_ASSERT(cli_wait_closed(fd[c], (int)(D * h_time_scale())),
		    "%s: client %d not "
		    "finished once stdout was read",
		    model, c);
		close(fd[c]);
	}
	H_STOP_OK(&s, model);
	H_ASSERT(reader_wait_eof(&rd, D),
	    "%s: stdout not closed after the "
	    "server exited",
	    model);
	reader_finish(&rd);

	hbuf_add(&rep, "", 0);
	for (p = rd.text.p; (eol = strchr(p, '\n')) != NULL; p = eol + 1) {
		struct h_record rec;
		size_t i;

		if (!h_parse_record(p, (size_t)(eol - p), &rec)) {
			h_note(&rep, &bad, "malformed:", p, (int)(eol - p));
			continue;
		}
		if (rec.kind == H_REC_CONNECTED) {
			nconn++;
			continue;
		}
		if (rec.kind == H_REC_DISCONNECTED) {
			ndisc++;
			continue;
		}
		c = rec.textlen > 0 ? rec.text[0] - 'A' : -1;
		for (i = 0; c >= 0 && c < TORN_CLIENTS && i < rec.textlen && rec.text[i] == 'A' + c;
		     i++)
			;
		if (c < 0 || c >= TORN_CLIENTS || i != TORN_LEN || rec.textlen != TORN_LEN ||
		    got[c]) {
			h_note(&rep, &bad, "torn or repeated:", p, (int)(eol - p));
			continue;
		}
		got[c] = true;
	}
	if (bad > 0)
		fprintf(stderr, "%s: %d bad records:\n%s", model, bad, rep.p);
	H_ASSERT(bad == 0 && *p == '\0',
	    "%s: %d torn or malformed records "
	    "on the pipe (listed above)%s",
	    model, bad, *p != '\0' ? ", and an unterminated one at the end" : "");
	for (c = 0; c < TORN_CLIENTS; c++)
		H_ASSERT(got[c], "%s: the line of client %c is missing", model, 'A' + c);
	H_ASSERT(nconn == TORN_CLIENTS && ndisc == TORN_CLIENTS,
	    "%s: %d connected and %d disconnected records, want %d", model, nconn, ndisc,
	    TORN_CLIENTS);
	hbuf_free(&rd.text);
	hbuf_free(&rep);
}
END_TEST

/* ====================================================================
 * Finding 4: a stuck standard output.
 * ==================================================================== */

#define STUCK_LINES    20000 /* 1.2 MB in, 2.1 MB of records: 33 pipes */
#define STUCK_STALL_MS 300
#define STUCK_SHUTDOWN 2 /* shutdown_timeout */
#define STUCK_ECHO_MS  3000

/*
 * Sends up to len bytes without reading until the peer stops taking them
 * (no progress for STUCK_STALL_MS; see cli_push).
 */
static long
push(int fd, const char *p, size_t len)
{
	return cli_push(fd, p, len, (long)len, STUCK_STALL_MS, 20000);
}

/*
 * A logger service with output "-" and an echo service; standard output
 * a pipe that is never read.  A client pushes some 6000 lines into the
 * logger with non-blocking sends.  The echo service still answers
 * (except under a serial model, where the logger connection holds the one
 * turn), memory stays bounded, and SIGTERM ends the server within
 * shutdown_timeout (2) + 3 s, status 0, with a "lost" diagnostic for the
 * records it could not write; with nsig 2, the second SIGTERM ends it at
 * once (2 s).
 */
static void
stuck_case(const char *model, int nsig)
{
	const char *dir = h_tmpdir();
	const char *lsock = h_path(dir, "l.sock");
	const char *esock = h_path(dir, "e.sock");
	const char *conf = h_path(dir, "stuck.conf");
	char text[1024];
	const char *args[] = { "-m", model, "-c", conf, NULL };
	struct hbuf lines = { 0 };
	int pfd[2], lc, r;
	long rss0, rss1, sent;
	long long t0;
	struct srv s;

	snprintf(text, sizeof text,
	    "shutdown_timeout = %d\n"
	    "service \"logger\" {\n"
	    "  listen = {\"unix:%s\"}\n"
	    "  handler = \"logger\"\n"
	    "  output = \"-\"\n"
	    "}\n"
	    "service \"echo\" {\n"
	    "  listen = {\"unix:%s\"}\n"
	    "  handler = \"echo\"\n"
	    "}\n",
	    STUCK_SHUTDOWN, lsock, esock);
	H_ASSERT(h_write_file(conf, text) == 0, "write %s: %s", conf, H_ERR);
	for (int i = 0; i < STUCK_LINES; i++) {
		int n = snprintf(text, sizeof text, "line %05d %s\n", i,
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");

		hbuf_add(&lines, text, (size_t)n);
	}
	H_ASSERT(pipe2(pfd, O_CLOEXEC) == 0, "pipe: %s", H_ERR);
	h_next_spawn_hook(stdout_hook, &pfd[1]);
	H_ASSERT(srv_start_n(&s, args, 2) == 0, "%s: server did not start", model);
	close(pfd[1]); /* pfd[0] stays open, never read */
	lc = cli_connect_unix(lsock, D);
	H_ASSERT(lc >= 0, "%s: connect to logger: %s", model, H_ERR);
	/* The baseline with the child serving it (its RSS counts). */
	if (h_model_in_children(model))
		H_ASSERT(h_wait_for(has_child, &s.pid, D),
		    "%s: no child "
		    "serves the logger connection",
		    model);
	rss0 = rss_kb(s.pid);
	sent = push(lc, lines.p, lines.len);
	H_ASSERT(sent > 0, "%s: push: %s", model, H_ERR);
	if (!h_model_serial(model))
		H_ASSERT(echo_unix_ok(esock, (int)(STUCK_ECHO_MS * h_time_scale())),
		    "%s: the echo "
		    "service did not answer within %d ms while stdout is stuck "
		    "(%ld bytes pushed into the logger)",
		    model, STUCK_ECHO_MS, sent);
	rss1 = rss_kb(s.pid);
	/* valgrind's own memory grows with the code it translates. */
	if (!h_under_valgrind())
		H_ASSERT(rss0 > 0 && rss1 > 0 && rss1 - rss0 < 64 * 1024,
		    "%s: RSS grew from %ld to %ld kB with stdout stuck", model, rss0, rss1);
	if (h_verbose())
		fprintf(stderr,
		    "stuck %s: pushed %ld of %zu bytes, RSS %ld -> "
		    "%ld kB\n",
		    model, sent, lines.len, rss0, rss1);

	send_terms(&s, nsig, model);
	t0 = h_now_ms();
	r = srv_wait(&s,
	    (int)((nsig == 1 ? STUCK_SHUTDOWN * 1000 : 0) +
	        (nsig == 1 ? 3000 : 2000) * h_time_scale()));
	H_ASSERT(r == 0,
	    "%s: %s within %lld ms of the %s SIGTERM, with "
	    "stdout stuck",
	    model, r == -1 ? "no exit" : "bad exit status", h_now_ms() - t0,
	    nsig == 1 ? "first" : "second");
	if (nsig == 1)
		H_ASSERT(strstr(srv_log(&s), "lost") != NULL,
		    "%s: no "
		    "diagnostic says records were lost on the stuck stdout",
		    model);
	close(lc);
	close(pfd[0]);
	srv_free(&s);
	hbuf_free(&lines);
}

START_TEST(test_stuck_stdout)
{
	stuck_case(h_model(_i), 1);
}
END_TEST

START_TEST(test_stuck_stdout_second)
{
	stuck_case(h_model(_i), 2);
}
END_TEST

/* ====================================================================
 * Finding 5: a stray SIGCHLD.
 * ==================================================================== */

#define CHLD_IDLE_MS 1000
#define CHLD_CPU_MS  200
#define CHLD_ECHO_MS 2000

/* True once the server has no running child (its inherited one exited). */
static bool
no_running_child(void *arg)
{
	pid_t kids[8];

	return h_proc_children(*(pid_t *)arg, kids, 8) == 0;
}

static bool
no_child_at_all(void *arg)
{
	pid_t kids[8];

	return h_proc_children_all(*(pid_t *)arg, kids, 8) == 0;
}

/*
 * Every model at once, echo on a unix socket.  With via_shell, each is
 * exec'd by "sh -c 'sleep 0.2 & exec dispatchd ...'" and inherits the
 * sleep, whose exit sends SIGCHLD; otherwise it gets "kill -CHLD".  Then
 * each still serves echo and uses under 200 ms of CPU in a second of
 * idling.
 */
static void
chld_case(bool via_shell)
{
	const char *dir = h_tmpdir();
	struct srv s[H_MAX_MODELS];
	static char sock[H_MAX_MODELS][PATH_MAX];
	char addr[PATH_MAX + 8];
	long cpu0[H_MAX_MODELS], cpu;
	struct hbuf rep = { 0 };
	int i, bad = 0;
	char msg[256];

	H_ASSERT(dir != NULL, "tmpdir");
	hbuf_add(&rep, "", 0);
	for (i = 0; i < h_nmodels(); i++) {
		snprintf(sock[i], sizeof sock[i], "%s/%s.sock", dir, h_model(i));
		unix_addr(addr, sizeof addr, sock[i]);
		if (via_shell) {
			const char *argv[] = { "sh", "-c",
				"sleep 0.2 & exec \"$0\" -m \"$1\" -l \"$2\"", h_binary(),
				h_model(i), addr, NULL };

			H_ASSERT(srv_spawn_cmd(&s[i], argv, NULL, NULL) == 0 &&
			        srv_wait_listening(&s[i], 1, H_START_MS) == 0,
			    "%s: server did not start", h_model(i));
		} else {
			const char *args[] = { "-m", h_model(i), "-l", addr, NULL };

			H_START_OK(&s[i], args, h_model(i));
		}
	}
	for (i = 0; i < h_nmodels(); i++) {
		struct sigwait w = { s[i].pid, SIGCHLD };

		if (via_shell)
			H_ASSERT(h_wait_for(no_running_child, &s[i].pid, D),
			    "%s: the inherited sleep did not exit", h_model(i));
		else
			H_ASSERT(kill(s[i].pid, SIGCHLD) == 0, "kill: %s", H_ERR);
		/* Handled before the client comes, not with its wake-up; the
		 * fork model's parent keeps SIGCHLD blocked while nothing
		 * waits for a child (it reaps as it admits and on its tick:
		 * checked below). */
		if (!h_model_in_children(h_model(i)))
			H_ASSERT(h_wait_for(sig_taken, &w, D), "%s: SIGCHLD still pending",
			    h_model(i));
	}
	for (i = 0; i < h_nmodels(); i++) {
		if (echo_unix_ok(sock[i], (int)(CHLD_ECHO_MS * h_time_scale())))
			continue;
		snprintf(msg, sizeof msg,
		    "%s: no echo within %d ms after "
		    "the SIGCHLD\n",
		    h_model(i), CHLD_ECHO_MS);
		hbuf_add(&rep, msg, strlen(msg));
		bad++;
	}
	/* The inherited sleep and the echo's child: no zombie stays. */
	for (i = 0; i < h_nmodels(); i++)
		H_ASSERT(h_wait_for(no_child_at_all, &s[i].pid, D), "%s: a zombie child stays",
		    h_model(i));
	for (i = 0; i < h_nmodels(); i++)
		cpu0[i] = h_proc_cpu_ms(s[i].pid);
	/* The measurement window: idling, nothing to wait for. */
	h_nap(CHLD_IDLE_MS);
	for (i = 0; i < h_nmodels(); i++) {
		cpu = h_proc_cpu_ms(s[i].pid);
		if (cpu0[i] >= 0 && cpu >= 0 && cpu - cpu0[i] < CHLD_CPU_MS)
			continue;
		snprintf(msg, sizeof msg,
		    "%s: %ld ms of CPU in %d ms of "
		    "idling\n",
		    h_model(i), cpu - cpu0[i], CHLD_IDLE_MS);
		hbuf_add(&rep, msg, strlen(msg));
		bad++;
	}
	H_ASSERT(bad == 0, "after a %s:\n%s",
	    via_shell ? "SIGCHLD from an "
	                "inherited child" :
	                "kill -CHLD",
	    rep.p);
	for (i = 0; i < h_nmodels(); i++)
		H_STOP_OK(&s[i], h_model(i));
	for (i = 0; i < h_nmodels(); i++)
		srv_free(&s[i]);
	hbuf_free(&rep);
}

START_TEST(test_sigchld_kill)
{
	chld_case(false);
}
END_TEST

START_TEST(test_sigchld_inherited)
{
	chld_case(true);
}
END_TEST

/* ====================================================================
 * Finding 7: idle_timeout beyond INT_MAX milliseconds.
 * ==================================================================== */

#define IDLE_WINDOW_MS 2000
#define IDLE_NVAL      2

/*
 * --idle-timeout 4294968 (wraps to 704 ms in 32 bits) and 2147484 (a
 * negative poll timeout), every model at once: a connected client that
 * sends nothing is not closed within 2 s.  Under a model serving in
 * children, echo to a client that does not read (the child waits to send)
 * is not cut either: after the 2 s everything comes back, and the
 * connection still echoes.
 */
START_TEST(test_idle_overflow)
{
	static const char *const vals[IDLE_NVAL] = { "4294968", "2147484" };
	const char *dir = h_tmpdir();
	static struct srv s[IDLE_NVAL][H_MAX_MODELS];
	static char big[1 << 20];
	char sock[PATH_MAX], addr[PATH_MAX + 8], msg[256];
	int quiet[IDLE_NVAL][H_MAX_MODELS], stuck[IDLE_NVAL][H_MAX_MODELS];
	long long spoke[IDLE_NVAL][H_MAX_MODELS];
	long pushed[IDLE_NVAL][H_MAX_MODELS];
	struct pollfd pf[IDLE_NVAL * H_MAX_MODELS];
	struct hbuf rep = { 0 };
	long long t0, left;
	int v, i, n, bad = 0;

	H_ASSERT(dir != NULL, "tmpdir");
	hbuf_add(&rep, "", 0);
	memset(big, 'i', sizeof big);
	for (v = 0; v < IDLE_NVAL; v++) {
		for (i = 0; i < h_nmodels(); i++) {
			const char *args[] = { "-m", h_model(i), "--idle-timeout", vals[v], "-l",
				addr, NULL };
			char name[64];

			snprintf(name, sizeof name, "%s-%d.sock", h_model(i), v);
			snprintf(sock, sizeof sock, "%s", h_path(dir, name));
			unix_addr(addr, sizeof addr, sock);
			H_START_OK(&s[v][i], args, h_model(i));
			quiet[v][i] = cli_connect_unix(sock, D);
			H_ASSERT(quiet[v][i] >= 0 && cli_echo_ok(quiet[v][i], "hi\n"),
			    "%s --idle-timeout %s: first exchange failed", h_model(i), vals[v]);
			spoke[v][i] = h_now_ms();
			stuck[v][i] = -1;
			if (!h_model_in_children(h_model(i)))
				continue;
			stuck[v][i] = cli_connect_unix(sock, D);
			H_ASSERT(stuck[v][i] >= 0, "%s: connect: %s", h_model(i), H_ERR);
			pushed[v][i] = push(stuck[v][i], big, sizeof big);
			H_ASSERT(pushed[v][i] > 0 && pushed[v][i] < (long)sizeof big,
			    "%s: pushed %ld bytes", h_model(i), pushed[v][i]);
		}
	}
	/* The window: nothing at all may arrive on a silent client. */
	t0 = h_now_ms();
	while ((left = t0 + IDLE_WINDOW_MS - h_now_ms()) > 0) {
		n = 0;
		for (v = 0; v < IDLE_NVAL; v++)
			for (i = 0; i < h_nmodels(); i++) {
				pf[n].fd = quiet[v][i];
				pf[n].events = POLLIN;
				pf[n++].revents = 0;
			}
		if (poll(pf, (nfds_t)n, (int)left) <= 0)
			continue;
		for (v = 0; v < IDLE_NVAL; v++)
			for (i = 0; i < h_nmodels(); i++) {
				if (quiet[v][i] < 0 || pf[v * h_nmodels() + i].revents == 0)
					continue;
				snprintf(msg, sizeof msg,
				    "%s --idle-timeout "
				    "%s: silent client %s %lld ms after its "
				    "last exchange\n",
				    h_model(i), vals[v],
				    cli_wait_closed(quiet[v][i], 0) ? "closed" : "got data",
				    h_now_ms() - spoke[v][i]);
				hbuf_add(&rep, msg, strlen(msg));
				bad++;
				close(quiet[v][i]);
				quiet[v][i] = -1;
			}
	}
	for (v = 0; v < IDLE_NVAL; v++)
		for (i = 0; i < h_nmodels(); i++) {
			static char back[1 << 20];
			ssize_t got;

			if (stuck[v][i] < 0)
				continue;
			got = cli_read_exact(stuck[v][i], back, (size_t)pushed[v][i],
			    (int)(D * h_time_scale()));
			if (got != pushed[v][i] || !cli_echo_ok(stuck[v][i], "still\n")) {
				snprintf(msg, sizeof msg,
				    "%s --idle-timeout "
				    "%s: client not reading for 2 s was cut "
				    "(%zd of %ld bytes back)\n",
				    h_model(i), vals[v], got, pushed[v][i]);
				hbuf_add(&rep, msg, strlen(msg));
				bad++;
			}
			close(stuck[v][i]);
		}
	H_ASSERT(bad == 0,
	    "connections closed long before the idle "
	    "timeout:\n%s",
	    rep.p);
	for (v = 0; v < IDLE_NVAL; v++)
		for (i = 0; i < h_nmodels(); i++) {
			close(quiet[v][i]);
			H_STOP_OK(&s[v][i], h_model(i));
			srv_free(&s[v][i]);
		}
	hbuf_free(&rep);
}
END_TEST

/* ====================================================================
 * Finding 8: thread workers finishing while the process exits.
 * ==================================================================== */

#define UAF_ROUNDS 24
#define UAF_CONNS  40 /* 2 per source: --max-per-source 2 */

/* Short connections, one after another, until told to stop. */
struct churn {
	int port;
	atomic_bool stop;
	atomic_long served;
};

static void *
churn_main(void *arg)
{
	struct churn *ch = arg;

	for (int k = 0; !atomic_load(&ch->stop); k++) {
		char src[32], buf[2];
		int fd;

		snprintf(src, sizeof src, "127.0.0.%d", 100 + k % 20);
		fd = cli_connect_from(src, "127.0.0.1", ch->port, 1000);
		if (fd < 0)
			continue; /* refused: over the limit, or stopping */
		if (cli_write_all(fd, "y\n", 2, 1000) == 0 && cli_read_exact(fd, buf, 2, 1000) == 2)
			atomic_fetch_add(&ch->served, 1);
		close(fd);
	}
	return NULL;
}

static bool
churning(void *arg)
{
	return atomic_load(&((struct churn *)arg)->served) >= 20;
}

/*
 * thread --max-per-source 2: 40 connections from 20 sources, each served
 * once, all ending right at SIGTERM (closed just before it, just after
 * it, or with short connections coming and going meanwhile), round after
 * round: the process always exits 0.  Best effort: the race is narrow;
 * check-asan makes a use after free fatal.
 */
START_TEST(test_thread_shutdown)
{
	const char *args[] = { "-m", "thread", "-H", "echo", "-l", "127.0.0.1:0",
		"--max-per-source", "2", NULL };
	int fd[UAF_CONNS];

	for (int round = 0; round < UAF_ROUNDS; round++) {
		struct churn ch;
		pthread_t tid;
		struct srv s;
		int c, r;

		H_ASSERT(srv_start(&s, args) == 0,
		    "thread: server did not "
		    "start");
		for (c = 0; c < UAF_CONNS; c++) {
			char src[32];

			snprintf(src, sizeof src, "127.0.0.%d", 2 + c / 2);
			fd[c] = cli_connect_from(src, "127.0.0.1", srv_port(&s, 0), D);
			H_ASSERT(fd[c] >= 0 && cli_echo_ok(fd[c], "x\n"),
			    "thread: client %d from %s not served", c, src);
		}
		if (round % 3 == 2) {
			ch.port = srv_port(&s, 0);
			atomic_init(&ch.stop, false);
			atomic_init(&ch.served, 0);
			H_ASSERT(pthread_create(&tid, NULL, churn_main, &ch) == 0,
			    "pthread_create failed");
			H_ASSERT(h_wait_for(churning, &ch, D),
			    "thread: short "
			    "connections not served");
		}
		if (round % 3 == 1)
			H_ASSERT(kill(s.pid, SIGTERM) == 0, "kill: %s", H_ERR);
		for (c = 0; c < UAF_CONNS; c++)
			close(fd[c]);
		if (round % 3 != 1)
			H_ASSERT(kill(s.pid, SIGTERM) == 0, "kill: %s", H_ERR);
		r = srv_wait(&s, (int)(D * h_time_scale()));
		if (round % 3 == 2) {
			atomic_store(&ch.stop, true);
			pthread_join(tid, NULL);
		}
		H_ASSERT(r == 0,
		    "thread: %s after SIGTERM with workers "
		    "finishing (round %d)",
		    r == -1 ? "no exit" : "bad exit status", round + 1);
		srv_free(&s);
	}
}
END_TEST

/* ====================================================================
 * Finding 13: an accept error that repeats at once.
 * ==================================================================== */

#define ACCEPT_IDLE_MS 1000
#define ACCEPT_CPU_MS  200

/*
 * A duplicate of the server's listening socket on port, taken with
 * pidfd_getfd(2); -1 with errno when the kernel or the rules do not
 * allow it.
 */
static int
grab_listener(pid_t pid, int port)
{
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0)
		return -1;
	for (int n = 3; n < 64; n++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		int fd = (int)syscall(SYS_pidfd_getfd, pidfd, n, 0), on = 0;
		socklen_t onlen = sizeof on;

		if (fd < 0)
			continue;
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET &&
		    ntohs(((struct sockaddr_in *)&ss)->sin_port) == port &&
		    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &onlen) == 0 && on) {
			close(pidfd);
			return fd;
		}
		close(fd);
	}
	close(pidfd);
	errno = ENOENT;
	return -1;
#else
	(void)pid;
	(void)port;
	errno = ENOSYS;
	return -1;
#endif
}

/*
 * A listener shut down from outside (shutdown(2) on a copy of it, as
 * anyone holding the socket can) stays readable while accept fails with
 * EINVAL.  The server must neither spin nor flood its log: it warns and
 * rests the listener, and another service keeps serving.
 */
START_TEST(test_accept_error)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	char sock[PATH_MAX], addr[PATH_MAX + 8];
	const char *args[] = { "-m", model, "-l", "127.0.0.1:0", "-l", addr, NULL };
	struct srv s;
	long cpu0, cpu;
	int lfd, fd;

	H_ASSERT(dir != NULL, "tmpdir");
	snprintf(sock, sizeof sock, "%s", h_path(dir, "echo.sock"));
	unix_addr(addr, sizeof addr, sock);
	H_START_OK(&s, args, model);
	lfd = grab_listener(s.pid, srv_port(&s, 0));
	if (lfd < 0) {
		fprintf(stderr, "SKIP accept_error %s: pidfd_getfd: %s\n", model, strerror(errno));
		srv_stop(&s, SIGTERM, H_DEADLINE_MS);
		srv_free(&s);
		return;
	}
	H_ASSERT(shutdown(lfd, SHUT_RDWR) == 0, "shutdown: %s", H_ERR);
	close(lfd);
	cpu0 = h_proc_cpu_ms(s.pid);
	/* The measurement window: the listener keeps failing meanwhile. */
	h_nap(ACCEPT_IDLE_MS);
	cpu = h_proc_cpu_ms(s.pid);
	H_ASSERT(cpu0 >= 0 && cpu >= 0 && cpu - cpu0 < ACCEPT_CPU_MS,
	    "%s: %ld ms of CPU in %d ms with a failing listener (spinning)", model, cpu - cpu0,
	    ACCEPT_IDLE_MS);
	H_ASSERT(h_count(srv_log(&s), "accept") >= 1 && h_count(srv_log(&s), "accept") <= 2,
	    "%s: want one or two "
	    "warnings about the failing accept (rate-limited), got:\n%s",
	    model, srv_log(&s));
	fd = cli_connect_unix(sock, H_DEADLINE_MS);
	H_ASSERT(fd >= 0, "%s: connect to the other listener: %s", model, H_ERR);
	H_ASSERT(cli_echo_ok(fd, "still here\n"),
	    "%s: the other listener "
	    "does not serve",
	    model);
	close(fd);
	H_ASSERT(srv_stop(&s, SIGTERM, H_DEADLINE_MS) == 0, "%s: no clean exit", model);
	srv_free(&s);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("hostile");

	h_tcase_models(su, "ready_echo", 30, test_ready_echo);
	h_tcase_models(su, "ready_timestamp", 30, test_ready_timestamp);
	h_tcase_models(su, "ready_logger", 30, test_ready_logger);
	h_tcase_models(su, "cut_drain", 30, test_cut_drain);
	h_tcase_models(su, "cut_drain_pipe", 30, test_cut_drain_pipe);
	h_tcase_models(su, "cut_second_signal", 30, test_cut_second_signal);
	h_tcase_conc_models(su, "load_file_halfclose", 60, test_load_file_halfclose);
	h_tcase_conc_models(su, "load_pipe_halfclose", 60, test_load_pipe_halfclose);
	h_tcase_conc_models(su, "load_pipe_settle", 60, test_load_pipe_settle);
	h_tcase_conc_models(su, "load_pipe_open", 60, test_load_pipe_open);
	tcase_add_loop_test(h_tcase(su, "pipe_torn", 30), test_pipe_torn, 0, 2);
	h_tcase_models(su, "stuck_stdout", 30, test_stuck_stdout);
	h_tcase_models(su, "stuck_stdout_second", 30, test_stuck_stdout_second);
	tcase_add_test(h_tcase(su, "sigchld_kill", 30), test_sigchld_kill);
	tcase_add_test(h_tcase(su, "sigchld_inherited", 30), test_sigchld_inherited);
	tcase_add_test(h_tcase(su, "idle_overflow", 30), test_idle_overflow);
	tcase_add_test(h_tcase(su, "thread_shutdown", 60), test_thread_shutdown);
	h_tcase_models(su, "accept_error", 30, test_accept_error);
	return h_run_suite(su);
}
