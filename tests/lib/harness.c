/* harness.c - integration-test harness: runs the real dispatchd, talks to it over sockets. */
#include "harness.h"
#include "model.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the registries --------------------------------------------------- */

/* models[] by index, and the models that are not serial, counted once. */
static struct {
	bool done;
	int n, nconc;
	const char *conc[H_MAX_MODELS];
} reg_models;

static void
models_init(void)
{
	if (reg_models.done)
		return;
	while (models[reg_models.n] != NULL) {
		const struct model *m = models[reg_models.n++];

		/* Arrays in the tests are sized by H_MAX_MODELS. */
		if (reg_models.n > H_MAX_MODELS) {
			fprintf(stderr,
			    "harness: more than H_MAX_MODELS (%d) "
			    "models in the registry\n",
			    H_MAX_MODELS);
			abort();
		}
		if (!m->serial)
			reg_models.conc[reg_models.nconc++] = m->name;
	}
	reg_models.done = true;
}

int
h_nmodels(void)
{
	models_init();
	return reg_models.n;
}

const char *
h_model(int i)
{
	ck_assert_int_lt(i, h_nmodels());
	return models[i]->name;
}

int
h_nconc_models(void)
{
	models_init();
	return reg_models.nconc;
}

const char *
h_conc_model(int i)
{
	ck_assert_int_lt(i, h_nconc_models());
	return reg_models.conc[i];
}

static const struct model *
model_named(const char *name)
{
	const struct model *m = model_find(name);

	ck_assert_msg(m != NULL, "no model '%s' in the registry", name);
	return m;
}

bool
h_model_serial(const char *name)
{
	return model_named(name)->serial;
}

bool
h_model_in_children(const char *name)
{
	return model_named(name)->in_children;
}

bool
h_model_workers(const char *name)
{
	return model_named(name)->workers;
}

bool
h_verbose(void)
{
	return getenv("H_VERBOSE") != NULL;
}

/*
 * What h_fail and h_cleanup must find even when the test's own struct srv
 * is gone: a copy of each server's pid and a dup of its stderr file.  The
 * owner field keeps a forked test process from touching its parent's
 * servers (Check runs each test in a child; CK_FORK=no runs them inline).
 */
#define REG_MAX 64
static struct {
	pid_t pid;
	pid_t owner;
	int errfd;
	bool done;
} reg[REG_MAX];
static int nreg;

#define TMP_MAX_DIRS 32
static struct {
	char *path;
	pid_t owner;
} tmpdirs[TMP_MAX_DIRS];
static int ntmp;

/* ---- small utilities ---------------------------------------------- */

long long
h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long
h_time_scale(void)
{
	const char *p = getenv("H_TIME_SCALE");
	long v = p != NULL ? strtol(p, NULL, 10) : 1;

	return v >= 1 ? v : 1;
}

void
h_nap(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
remaining(long long end)
{
	long long left = end - h_now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

bool
h_wait_for(bool (*cond)(void *), void *arg, int timeout_ms)
{
	long long end = h_now_ms() + timeout_ms;

	for (;;) {
		if (cond(arg))
			return true;
		if (h_now_ms() >= end)
			return cond(arg);
		h_nap(5);
	}
}

void
hbuf_add(struct hbuf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (b->len + n + 1 > cap)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (b->p == NULL)
			abort();
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
hbuf_free(struct hbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

size_t
h_count(const char *haystack, const char *needle)
{
	size_t n = 0, nl = strlen(needle);
	const char *p = haystack;

	if (nl == 0)
		return 0;
	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += nl;
	}
	return n;
}

/* ---- files and directories ----------------------------------------- */

char *
h_read_file(const char *path, size_t *len)
{
	struct hbuf b = { 0 };
	char chunk[65536];
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return NULL;
	hbuf_add(&b, "", 0);
	while ((r = read(fd, chunk, sizeof chunk)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			close(fd);
			hbuf_free(&b);
			return NULL;
		}
		hbuf_add(&b, chunk, (size_t)r);
	}
	close(fd);
	if (len != NULL)
		*len = b.len;
	return b.p;
}

bool
h_file_has(void *arg)
{
	const struct h_has *h = arg;
	char *t = h_read_file(h->path, NULL);
	bool ok = t != NULL && strstr(t, h->needle) != NULL;

	free(t);
	return ok;
}

int
h_write_file(const char *path, const char *text)
{
	size_t n = strlen(text), off = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd == -1)
		return -1;
	while (off < n) {
		ssize_t w = write(fd, text + off, n - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	return close(fd);
}

const char *
h_write_conf(const char *dir, const char *text)
{
	const char *path = h_path(dir, "dispatchd.conf");

	H_ASSERT(h_write_file(path, text) == 0, "write %s: %s", path, H_ERR);
	return path;
}

const char *
h_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[PATH_MAX];
	char *p;

	if (base == NULL || *base == '\0' || strlen(base) > 60)
		base = "/tmp"; /* unix socket paths must stay short */
	snprintf(tmpl, sizeof tmpl, "%s/dispatchd-test.XXXXXX", base);
	if (mkdtemp(tmpl) == NULL) {
		fprintf(stderr, "harness: mkdtemp %s: %s\n", tmpl, strerror(errno));
		return NULL;
	}
	p = strdup(tmpl);
	if (p == NULL)
		abort();
	if (ntmp < TMP_MAX_DIRS) {
		tmpdirs[ntmp].path = p;
		tmpdirs[ntmp].owner = getpid();
		ntmp++;
	}
	return p;
}

const char *
h_path(const char *dir, const char *name)
{
	static char ring[8][PATH_MAX];
	static unsigned next;
	char *p = ring[next++ % 8];

	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* ---- /proc ---------------------------------------------------------- */

long
h_proc_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			kb = strtol(line + fl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/* Parent, state of pid from /proc/PID/stat; -1 if it is gone. */
static int
proc_stat(pid_t pid, pid_t *ppid, char *state)
{
	char path[64], buf[1024], *rp;
	int fd, pp;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: parse after the last ')'. */
	rp = strrchr(buf, ')');
	if (rp == NULL || sscanf(rp + 1, " %c %d", state, &pp) != 2)
		return -1;
	*ppid = pp;
	return 0;
}

/* Like h_proc_children, counting zombies too when with_zombies. */
static int
children(pid_t ppid, pid_t *out, int max, bool with_zombies)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		pid_t pid, pp;
		char st;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (proc_stat(pid, &pp, &st) == 0 && pp == ppid && (with_zombies || st != 'Z'))
			out[n++] = pid;
	}
	closedir(d);
	return n;
}

int
h_proc_children(pid_t ppid, pid_t *out, int max)
{
	return children(ppid, out, max, false);
}

int
h_proc_children_all(pid_t ppid, pid_t *out, int max)
{
	return children(ppid, out, max, true);
}

/* ---- the server registry -------------------------------------------- */

static void
reg_add(pid_t pid, int errfd)
{
	int i, slot = -1;

	/*
	 * Keep the logs of this process's stopped servers for h_fail while
	 * there is room: reuse other processes' entries first.
	 */
	for (i = 0; i < nreg && slot == -1; i++)
		if (reg[i].owner != getpid())
			slot = i;
	if (slot == -1 && nreg < REG_MAX)
		slot = nreg++;
	for (i = 0; i < nreg && slot == -1; i++)
		if (reg[i].done)
			slot = i;
	if (slot == -1)
		return;
	if (slot < nreg && reg[slot].pid != 0 && reg[slot].errfd != -1)
		close(reg[slot].errfd);
	reg[slot].pid = pid;
	reg[slot].owner = getpid();
	reg[slot].errfd = fcntl(errfd, F_DUPFD_CLOEXEC, 3);
	reg[slot].done = false;
}

static void
reg_done(pid_t pid)
{
	int i;

	for (i = 0; i < nreg; i++)
		if (reg[i].pid == pid && reg[i].owner == getpid())
			reg[i].done = true;
}

static bool
reg_is_live_server(pid_t pid)
{
	int i;

	for (i = 0; i < nreg; i++)
		if (reg[i].pid == pid && reg[i].owner == getpid() && !reg[i].done)
			return true;
	return false;
}

static char *
fd_snapshot(int fd)
{
	struct hbuf b = { 0 };
	char chunk[65536];
	off_t off = 0;
	ssize_t r;

	hbuf_add(&b, "", 0);
	if (fd == -1)
		return b.p;
	while ((r = pread(fd, chunk, sizeof chunk, off)) > 0) {
		hbuf_add(&b, chunk, (size_t)r);
		off += r;
	}
	return b.p;
}

int
h_orphans(pid_t *out, int max)
{
	int i, n, k = 0;

	n = children(getpid(), out, max, true);
	for (i = 0; i < n; i++)
		if (!reg_is_live_server(out[i]))
			out[k++] = out[i];
	return k;
}

/*
 * Kills and reaps our children that are not live servers: the processes
 * a fork-model server left when it exited (we are their subreaper).
 * Returns how many were still running.
 */
static int
reap_orphans(void)
{
	pid_t kids[256];
	int i, n, reaped, running = 0;
	long long end = h_now_ms() + H_DEADLINE_MS;

	do {
		reaped = 0;
		n = h_orphans(kids, 256);
		for (i = 0; i < n; i++) {
			pid_t pp;
			char st = 'Z';

			if (proc_stat(kids[i], &pp, &st) == 0 && st != 'Z') {
				running++;
				kill(kids[i], SIGKILL);
			}
			if (waitpid(kids[i], NULL, 0) == kids[i])
				reaped++;
		}
		/* Killing one may hand us its own children: go round again. */
	} while (reaped > 0 && h_now_ms() < end);
	return running;
}

void
h_setup(void)
{
	static pid_t registered;

	/* Orphans of fork-model servers become our children, to reap. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	/* A test that returns without teardown (CK_FORK=no) cleans up at exit. */
	if (registered != getpid()) {
		registered = getpid();
		atexit(h_cleanup);
	}
}

void
h_cleanup(void)
{
	int i;

	for (i = 0; i < nreg; i++) {
		if (reg[i].owner != getpid() || reg[i].done)
			continue;
		kill(reg[i].pid, SIGKILL);
		waitpid(reg[i].pid, NULL, 0);
		reg[i].done = true;
	}
	reap_orphans();
	for (i = 0; i < ntmp; i++) {
		if (tmpdirs[i].path == NULL || tmpdirs[i].owner != getpid())
			continue;
		nftw(tmpdirs[i].path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		free(tmpdirs[i].path);
		tmpdirs[i].path = NULL;
	}
	ntmp = 0;
}

void
h_fail(const char *file, int line, const char *expr)
{
	int i;

	fprintf(stderr, "\n*** %s:%d: assertion failed: %s\n", file, line, expr);
	for (i = 0; i < nreg; i++) {
		char *log;

		if (reg[i].owner != getpid())
			continue;
		log = fd_snapshot(reg[i].errfd);
		fprintf(stderr,
		    "--- stderr of server pid %d%s ---\n%s%s"
		    "--- end of server log ---\n",
		    (int)reg[i].pid, reg[i].done ? " (exited)" : "", log,
		    *log && log[strlen(log) - 1] != '\n' ? "\n" : "");
		free(log);
	}
	fflush(stderr);
	h_cleanup();
}

/* ---- suites ---------------------------------------------------------- */

TCase *
h_tcase(Suite *su, const char *name, int timeout_s)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, h_setup, h_cleanup);
	tcase_set_timeout(tc, timeout_s);
	suite_add_tcase(su, tc);
	return tc;
}

TCase *
h_tcase_models(Suite *su, const char *name, int timeout_s, const TTest *test)
{
	return h_tcase_models_n(su, name, timeout_s, test, 1);
}

TCase *
h_tcase_conc_models(Suite *su, const char *name, int timeout_s, const TTest *test)
{
	TCase *tc = h_tcase(su, name, timeout_s);

	tcase_add_loop_test(tc, test, 0, h_nconc_models());
	return tc;
}

TCase *
h_tcase_models_n(Suite *su, const char *name, int timeout_s, const TTest *test, int ncases)
{
	TCase *tc = h_tcase(su, name, timeout_s);

	tcase_add_loop_test(tc, test, 0, h_nmodels() * ncases);
	return tc;
}

int
h_run_suite(Suite *su)
{
	SRunner *sr = srunner_create(su);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

/* ---- the server ------------------------------------------------------ */

const char *
h_binary(void)
{
	const char *p = getenv("DISPATCHD");

	return p != NULL && *p != '\0' ? p : "build/dispatchd";
}

bool
h_under_valgrind(void)
{
	return strstr(h_binary(), "valgrind") != NULL;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define H_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(H_ASAN)
#define H_ASAN 1
#endif

bool
h_sanitized(void)
{
#ifdef H_ASAN
	return true;
#else
	return false;
#endif
}

static int
tmpfile_fd(void)
{
	char tmpl[] = "/tmp/dispatchd-log.XXXXXX";
	int fd = mkostemp(tmpl, O_CLOEXEC | O_APPEND);

	if (fd != -1)
		unlink(tmpl);
	return fd;
}

/* Limits for the next spawned process (h_next_spawn_rlimit). */
#define NEXT_RLIMITS 4
static struct {
	int resource;
	struct rlimit lim;
} next_rlimit[NEXT_RLIMITS];
static int n_next_rlimit;
/* ... and the hook (h_next_spawn_hook). */
static void (*next_hook)(void *);
static void *next_hook_arg;

/*
 * Starts argv (argv[0] a path; searched in PATH when search) as described
 * for srv_spawn, with env's "NAME=VALUE" entries added to its environment
 * and cwd as its working directory (each NULL: unchanged).
 */
static int
spawn(struct srv *s, const char *const argv[], const char *const env[], const char *cwd,
    bool search)
{
	pid_t parent = getpid();
	int i;

	memset(s, 0, sizeof *s);
	s->pid = -1;
	s->errfd = tmpfile_fd();
	s->outfd = tmpfile_fd();
	if (s->errfd == -1 || s->outfd == -1)
		return -1;
	h_setup();

	fflush(stdout);
	fflush(stderr);
	s->pid = fork();
	if (s->pid == -1)
		return -1;
	if (s->pid == 0) {
		sigset_t none;
		int sig, nul;

		/* The server dies with the test, however the test ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(127);
		/* Start it as a shell would: default signals, none blocked. */
		for (sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		nul = open("/dev/null", O_RDONLY);
		if (nul == -1 || dup2(nul, 0) == -1 || dup2(s->outfd, 1) == -1 ||
		    dup2(s->errfd, 2) == -1)
			_exit(127);
		for (i = 0; i < n_next_rlimit; i++)
			if (setrlimit(next_rlimit[i].resource, &next_rlimit[i].lim) == -1) {
				dprintf(2, "harness: setrlimit %d: %s\n", next_rlimit[i].resource,
				    strerror(errno));
				_exit(127);
			}
		if (next_hook != NULL)
			next_hook(next_hook_arg);
		/* No client socket of ours may live on in the server. */
		if (close_range(3, ~0U, 0) == -1)
			for (i = 3; i < 4096; i++)
				close(i);
		for (i = 0; env != NULL && env[i] != NULL; i++)
			if (putenv((char *)env[i]) != 0)
				_exit(127);
		if (cwd != NULL && chdir(cwd) == -1) {
			dprintf(2, "harness: cannot chdir to %s: %s\n", cwd, strerror(errno));
			_exit(127);
		}
		if (search)
			execvp(argv[0], (char *const *)argv);
		else
			execv(argv[0], (char *const *)argv);
		dprintf(2, "harness: cannot exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	n_next_rlimit = 0; /* they were for this one only */
	next_hook = NULL;
	reg_add(s->pid, s->errfd);
	return 0;
}

int
srv_spawn(struct srv *s, const char *const args[])
{
	const char *argv[64];
	int i, n = 0;

	argv[n++] = h_binary();
	for (i = 0; args[i] != NULL && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return spawn(s, argv, NULL, NULL, false);
}

int
srv_spawn_cmd(struct srv *s, const char *const argv[], const char *const env[], const char *cwd)
{
	return spawn(s, argv, env, cwd, strchr(argv[0], '/') == NULL);
}

/* Parses the complete "listening on" lines of the log; returns how many. */
static int
parse_listening(struct srv *s)
{
	const char *p, *log = srv_log(s);
	static const char key[] = "listening on ";

	s->nls = 0;
	for (p = log; *p != '\0';) {
		const char *eol = strchr(p, '\n');
		const char *paren, *comma, *close;
		struct srv_listen *l;
		char line[512];
		size_t len;

		if (eol == NULL)
			break; /* still being written */
		len = (size_t)(eol - p);
		if (len >= sizeof line)
			len = sizeof line - 1;
		memcpy(line, p, len);
		line[len] = '\0';
		p = eol + 1;
		if (strncmp(line, key, sizeof key - 1) != 0 || s->nls == H_MAX_LISTEN)
			continue;
		paren = strstr(line, " (");
		comma = paren ? strstr(paren, ", ") : NULL;
		close = comma ? strchr(comma, ')') : NULL;
		if (close == NULL)
			continue;
		l = &s->ls[s->nls];
		snprintf(l->addr, sizeof l->addr, "%.*s",
		    (int)(paren - line - (int)(sizeof key - 1)), line + sizeof key - 1);
		snprintf(l->service, sizeof l->service, "%.*s", (int)(comma - paren - 2),
		    paren + 2);
		snprintf(l->handler, sizeof l->handler, "%.*s", (int)(close - comma - 2),
		    comma + 2);
		if (strncmp(l->addr, "unix:", 5) == 0 || strncmp(l->addr, "unixgram:", 9) == 0) {
			l->port = 0;
		} else {
			const char *c = strrchr(l->addr, ':');

			l->port = c ? atoi(c + 1) : -1;
		}
		s->nls++;
	}
	return s->nls;
}

int
srv_start_n(struct srv *s, const char *const args[], int n)
{
	if (srv_spawn(s, args) == -1) {
		fprintf(stderr, "harness: cannot start %s: %s\n", h_binary(), strerror(errno));
		return -1;
	}
	return srv_wait_listening(s, n, H_START_MS);
}

int
srv_start(struct srv *s, const char *const args[])
{
	int i, n = 0;

	for (i = 0; args[i] != NULL; i++)
		if (strcmp(args[i], "-l") == 0 || strcmp(args[i], "--listen") == 0 ||
		    strncmp(args[i], "--listen=", 9) == 0)
			n++;
	return srv_start_n(s, args, n > 0 ? n : 1);
}

int
srv_listening(struct srv *s)
{
	return parse_listening(s);
}

int
srv_wait_listening(struct srv *s, int n, int timeout_ms)
{
	long long end = h_now_ms() + timeout_ms;

	for (;;) {
		/* Alive first: a server that wrote its lines and then exited
		 * (the original process of -d) has them all in the log. */
		bool alive = srv_alive(s);

		if (parse_listening(s) >= n)
			return 0;
		if (!alive) {
			srv_dump(s, "server exited before listening");
			return -1;
		}
		if (h_now_ms() >= end) {
			srv_dump(s, "server not listening in time");
			srv_stop(s, SIGKILL, H_DEADLINE_MS);
			return -1;
		}
		h_nap(2);
	}
}

int
srv_port(const struct srv *s, int i)
{
	return i >= 0 && i < s->nls ? s->ls[i].port : -1;
}

int
srv_find(const struct srv *s, const char *service)
{
	int i;

	for (i = 0; i < s->nls; i++)
		if (strcmp(s->ls[i].service, service) == 0)
			return i;
	return -1;
}

bool
srv_alive(struct srv *s)
{
	int st;

	if (s->pid <= 0 || s->reaped)
		return false;
	if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
		s->status = st;
		s->reaped = true;
		reg_done(s->pid);
		return false;
	}
	return true;
}

static int
decode(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

int
srv_wait(struct srv *s, int timeout_ms)
{
	long long end = h_now_ms() + timeout_ms;
	int pfd;

	if (s->pid <= 0)
		return -1;
	/* A pidfd turns "has it exited?" into something poll(2) waits for. */
	pfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	while (srv_alive(s)) {
		if (h_now_ms() >= end) {
			if (pfd != -1)
				close(pfd);
			return -1;
		}
		if (pfd != -1) {
			struct pollfd p = { pfd, POLLIN, 0 };

			poll(&p, 1, remaining(end));
		} else {
			h_nap(2);
		}
	}
	if (pfd != -1)
		close(pfd);
	return decode(s->status);
}

int
srv_stop(struct srv *s, int sig, int timeout_ms)
{
	int r, left;

	if (s->pid <= 0)
		return -1;
	if (srv_alive(s))
		kill(s->pid, sig);
	r = srv_wait(s, timeout_ms);
	if (r == -1) {
		fprintf(stderr,
		    "harness: server %d did not exit within %d ms "
		    "of signal %d; killing it\n",
		    (int)s->pid, timeout_ms, sig);
		kill(s->pid, SIGKILL);
		srv_wait(s, H_DEADLINE_MS);
	}
	left = reap_orphans();
	if (left > 0)
		fprintf(stderr,
		    "harness: server %d left %d process(es) "
		    "running after it exited; killed them\n",
		    (int)s->pid, left);
	return r;
}

const char *
srv_log(struct srv *s)
{
	free(s->log);
	s->log = fd_snapshot(s->errfd);
	return s->log;
}

const char *
srv_stdout(struct srv *s)
{
	free(s->out);
	s->out = fd_snapshot(s->outfd);
	return s->out;
}

void
srv_dump(struct srv *s, const char *title)
{
	const char *log = srv_log(s);

	fprintf(stderr,
	    "--- %s: stderr of server pid %d ---\n%s%s"
	    "--- end of server log ---\n",
	    title, (int)s->pid, log, *log && log[strlen(log) - 1] != '\n' ? "\n" : "");
	fflush(stderr);
}

int
srv_run(struct srv *s, const char *const args[], int timeout_ms)
{
	int r;

	if (srv_spawn(s, args) == -1)
		return -1;
	r = srv_wait(s, timeout_ms);
	if (r == -1)
		srv_stop(s, SIGKILL, H_DEADLINE_MS);
	return r;
}

bool
h_runs(const char *const argv[])
{
	struct srv n;
	int rc;

	if (srv_spawn_cmd(&n, argv, NULL, NULL) != 0)
		return false;
	rc = srv_wait(&n, H_DEADLINE_MS);
	if (rc == -1)
		srv_stop(&n, SIGKILL, H_DEADLINE_MS);
	srv_free(&n);
	return rc == 0;
}

void
srv_free(struct srv *s)
{
	if (srv_alive(s))
		srv_stop(s, SIGKILL, H_DEADLINE_MS);
	if (s->errfd != -1)
		close(s->errfd);
	if (s->outfd != -1)
		close(s->outfd);
	free(s->log);
	free(s->out);
	memset(s, 0, sizeof *s);
	s->errfd = s->outfd = -1;
	s->pid = -1;
}

int
srv_adopt(struct srv *s, pid_t pid, int log_fd)
{
	pid_t pp;
	char st;

	memset(s, 0, sizeof *s);
	s->pid = -1;
	s->errfd = s->outfd = -1;
	if (proc_stat(pid, &pp, &st) == -1 || pp != getpid() || st == 'Z') {
		errno = ECHILD;
		return -1;
	}
	s->errfd = log_fd != -1 ? fcntl(log_fd, F_DUPFD_CLOEXEC, 3) : tmpfile_fd();
	s->outfd = tmpfile_fd();
	if (s->errfd == -1 || s->outfd == -1)
		return -1;
	s->pid = pid;
	reg_add(pid, s->errfd);
	return 0;
}

/* A port of 127.0.0.1 free a moment ago for sockets of type. */
static int
free_port(int type)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd, port = -1;

	fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

int
h_free_port(void)
{
	return free_port(SOCK_STREAM);
}

int
h_free_udp_port(void)
{
	return free_port(SOCK_DGRAM);
}

/* ---- clients -------------------------------------------------------- */

static int
wait_fd(int fd, short events, long long end)
{
	struct pollfd p = { fd, events, 0 };
	int r;

	do
		r = poll(&p, 1, remaining(end));
	while (r == -1 && errno == EINTR);
	if (r == 0)
		errno = ETIMEDOUT;
	return r;
}

/* A numeric address into ss (port set); its length, or 0. */
static socklen_t
numeric_addr(const char *host, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		return sizeof *s4;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return sizeof *s6;
	}
	return 0;
}

/* The socket may be of any family: a failed connect is not retried. */
int
h_connect_within(int fd, const struct sockaddr_storage *sa, socklen_t salen, long long end)
{
	socklen_t len;
	int err = 0;

	if (connect(fd, (const struct sockaddr *)sa, salen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	if (wait_fd(fd, POLLOUT, end) <= 0)
		goto fail;
	len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		goto fail;
	if (err != 0) {
		errno = err;
		goto fail;
	}
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

int
cli_connect_host(const char *host, int port, int timeout_ms)
{
	struct sockaddr_storage ss;
	long long end = h_now_ms() + timeout_ms;
	socklen_t len = numeric_addr(host, port, &ss);
	int fd;

	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	return h_connect_within(fd, &ss, len, end);
}

int
cli_connect(int port)
{
	return cli_connect_host("127.0.0.1", port, H_DEADLINE_MS);
}

int
cli_connect_unix(const char *path, int timeout_ms)
{
	struct sockaddr_un sun;
	long long end = h_now_ms() + timeout_ms;
	int fd, err;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/* A full unix backlog says EAGAIN instead of waiting: retry. */
	while (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		if (errno != EAGAIN || h_now_ms() >= end) {
			err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		h_nap(5);
	}
	return fd;
}

int
cli_write_all(int fd, const void *p, size_t n, int timeout_ms)
{
	const char *c = p;
	long long end = h_now_ms() + timeout_ms;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w > 0) {
			c += w;
			n -= (size_t)w;
		} else if (w == -1 && errno == EINTR) {
			continue;
		} else if (w == -1 && errno == EAGAIN) {
			if (wait_fd(fd, POLLOUT, end) <= 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

int
cli_send(int fd, const char *str)
{
	return cli_write_all(fd, str, strlen(str), H_DEADLINE_MS);
}

ssize_t
cli_read_exact(int fd, void *buf, size_t n, int timeout_ms)
{
	char *c = buf;
	size_t got = 0;
	long long end = h_now_ms() + timeout_ms;

	while (got < n) {
		ssize_t r = recv(fd, c + got, n - got, 0);

		if (r > 0) {
			got += (size_t)r;
		} else if (r == 0) {
			errno = 0;
			break;
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN) {
			if (wait_fd(fd, POLLIN, end) <= 0)
				break;
		} else {
			break;
		}
	}
	return (ssize_t)got;
}

ssize_t
cli_read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
	long long end = h_now_ms() + timeout_ms;
	size_t len = 0;

	/* Byte by byte: the rest of the stream stays in the socket. */
	while (len + 1 < cap) {
		if (cli_read_exact(fd, buf + len, 1, remaining(end)) != 1) {
			buf[len] = '\0';
			return -1;
		}
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

int
cli_read_until_eof(int fd, struct hbuf *out, int timeout_ms)
{
	long long end = h_now_ms() + timeout_ms;
	char chunk[65536];

	for (;;) {
		ssize_t r = recv(fd, chunk, sizeof chunk, 0);

		if (r > 0)
			hbuf_add(out, chunk, (size_t)r);
		else if (r == 0)
			return 0;
		else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN || wait_fd(fd, POLLIN, end) <= 0)
			return -1;
	}
}

int
cli_exchange(int fd, const void *p, size_t n, bool shut_wr, struct hbuf *in, int timeout_ms)
{
	const char *c = p;
	long long end = h_now_ms() + timeout_ms;
	char chunk[65536];

	while (n > 0) {
		struct pollfd pf = { fd, POLLIN | POLLOUT, 0 };
		int r = poll(&pf, 1, remaining(end));

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ETIMEDOUT;
			return -1;
		}
		if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t k = recv(fd, chunk, sizeof chunk, 0);

			if (k > 0)
				hbuf_add(in, chunk, (size_t)k);
			else if (k == 0 || (errno != EAGAIN && errno != EINTR))
				return -1; /* closed before we were done */
		}
		if (pf.revents & POLLOUT) {
			ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

			if (w > 0) {
				c += w;
				n -= (size_t)w;
			} else if (w == -1 && errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
	}
	if (!shut_wr)
		return 0;
	if (cli_shut_wr(fd) == -1)
		return -1;
	return cli_read_until_eof(fd, in, remaining(end));
}

bool
cli_echo_ok(int fd, const char *str)
{
	size_t n = strlen(str);
	char *buf = malloc(n + 1);
	bool ok;

	if (buf == NULL)
		abort();
	ok = cli_write_all(fd, str, n, H_DEADLINE_MS) == 0 &&
	    cli_read_exact(fd, buf, n, H_DEADLINE_MS) == (ssize_t)n && memcmp(buf, str, n) == 0;
	free(buf);
	return ok;
}

long
cli_push(int fd, const void *p, size_t period, long total, int stall_ms, int max_ms)
{
	const char *bytes = p;
	long sent = 0;
	long long now, last = h_now_ms(), end = last + max_ms;

	while (sent < total) {
		/* Up to the end of the pattern: the rest wraps around. */
		size_t off = (size_t)sent % period, want = period - off;
		ssize_t w;

		if ((long)want > total - sent)
			want = (size_t)(total - sent);
		w = send(fd, bytes + off, want, MSG_NOSIGNAL | MSG_DONTWAIT);
		now = h_now_ms();
		if (w > 0) {
			sent += w;
			last = now;
			if (now >= end)
				break;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno != EAGAIN)
			return -1;
		if (now - last >= stall_ms || now >= end)
			break;
		{
			struct pollfd pf = { fd, POLLOUT, 0 };

			poll(&pf, 1, (int)(stall_ms - (now - last)));
		}
	}
	return sent;
}

const char *
h_outcome_name(enum h_outcome o)
{
	static const char *const name[] = {
		"served",
		"refused",
		"neither served nor closed",
		"connect failed",
	};

	return (unsigned)o < sizeof name / sizeof name[0] ? name[o] : "?";
}

enum h_outcome
cli_probe(int fd)
{
	char buf[8];
	ssize_t r;

	/* May already fail: a refused connection is being closed. */
	(void)cli_write_all(fd, "probe\n", 6, H_DEADLINE_MS);
	r = cli_read_exact(fd, buf, 6, H_DEADLINE_MS);
	if (r == 6 && memcmp(buf, "probe\n", 6) == 0)
		return H_SERVED;
	if (r == 0 && (errno == 0 || errno == ECONNRESET || errno == EPIPE))
		return H_REFUSED;
	return H_HUNG;
}

bool
h_served(void *arg)
{
	int port = *(int *)arg, fd = cli_connect(port);
	bool ok = fd >= 0 && cli_echo_ok(fd, "again\n");

	if (fd >= 0)
		close(fd);
	return ok;
}

bool
cli_wait_closed(int fd, int timeout_ms)
{
	long long end = h_now_ms() + timeout_ms;
	char chunk[65536];

	for (;;) {
		ssize_t r = recv(fd, chunk, sizeof chunk, 0);

		if (r == 0)
			return true;
		if (r > 0)
			continue;
		if (errno == ECONNRESET || errno == EPIPE)
			return true;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || wait_fd(fd, POLLIN, end) <= 0)
			return false;
	}
}

bool
cli_quiet(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r == -1 && errno == EINTR);
	return r == 0;
}

int
cli_shut_wr(int fd)
{
	return shutdown(fd, SHUT_WR);
}

void
cli_reset(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

int
cli_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

void
h_fill(void *p, size_t n, unsigned seed)
{
	unsigned char *c = p;
	unsigned x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		/* xorshift32 */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		c[i] = (unsigned char)x;
	}
}

const char *
h_show(const void *p, size_t n)
{
	static char buf[4][704];
	static int ring;
	char *b = buf[ring++ % 4], *o = b;
	const unsigned char *c = p;

	for (size_t i = 0; i < n && o < b + 160; i++) {
		if (c[i] == '\n')
			o += sprintf(o, "\\n");
		else if (c[i] == '\r')
			o += sprintf(o, "\\r");
		else if (c[i] >= 0x20 && c[i] < 0x7f && c[i] != '\\')
			*o++ = (char)c[i];
		else
			o += sprintf(o, "\\x%02x", c[i]);
	}
	if (o >= b + 160)
		o += sprintf(o, "...");
	*o = '\0';
	return b;
}

/* ---- what dispatchd writes ------------------------------------------ */

/* n decimal digits at p into *v; false if any is not a digit. */
static bool
digits(const char *p, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		*v = *v * 10 + (p[i] - '0');
	}
	return true;
}

/* ---- the inetd built-ins daytime and time ---------------------------- */

static const char *const wdays[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
	"Sep", "Oct", "Nov", "Dec" };

bool
h_parse_daytime(const char *p, size_t n, long long *t)
{
	struct tm tm = { 0 }, back;
	int wd = -1, mon = -1, day, hh, mm, ss, year;
	time_t tt;

	if (n != 26 || p[3] != ' ' || p[7] != ' ' || p[10] != ' ' || p[13] != ':' || p[16] != ':' ||
	    p[19] != ' ' || p[24] != '\r' || p[25] != '\n')
		return false;
	for (int i = 0; i < 7; i++)
		if (memcmp(p, wdays[i], 3) == 0)
			wd = i;
	for (int i = 0; i < 12; i++)
		if (memcmp(p + 4, months[i], 3) == 0)
			mon = i;
	if (wd < 0 || mon < 0)
		return false;
	if (p[8] == ' ') {
		if (!digits(p + 9, 1, &day) || day == 0)
			return false;
	} else if (!digits(p + 8, 2, &day) || day < 10) {
		return false;
	}
	if (!digits(p + 11, 2, &hh) || !digits(p + 14, 2, &mm) || !digits(p + 17, 2, &ss) ||
	    !digits(p + 20, 4, &year) || day > 31 || hh > 23 || mm > 59 || ss > 60)
		return false;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss == 60 ? 59 : ss;
	tt = timegm(&tm);
	if (tt == (time_t)-1 || gmtime_r(&tt, &back) == NULL)
		return false;
	/* A real date (no Feb 30), and its weekday. */
	if (back.tm_mday != day || back.tm_mon != mon || back.tm_wday != wd)
		return false;
	*t = (long long)tt;
	return true;
}

void
h_check_daytime(const char *model, const char *what, const char *p, size_t n, long long t0,
    long long t1)
{
	long long t = 0;

	H_ASSERT(h_parse_daytime(p, n, &t),
	    "%s: %s: want exactly one line 'Www Mmm dD hh:mm:ss YYYY\\r\\n', "
	    "got %zu bytes '%s'",
	    model, what, n, h_show(p, n));
	H_ASSERT(t >= t0 - 2 && t <= t1 + 2, "%s: %s: '%s' is %lld s off the clock (%lld..%lld)",
	    model, what, h_show(p, n - 2), t < t0 ? t - t0 : t - t1, t0, t1);
}

void
h_check_time(const char *model, const char *what, const unsigned char *p, size_t n, long long t0,
    long long t1)
{
	uint32_t v, lo;
	int32_t off;

	H_ASSERT(n == 4, "%s: %s: want exactly 4 bytes, got %zu: '%s'", model, what, n,
	    h_show(p, n));
	v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
	lo = (uint32_t)((unsigned long long)t0 + H_EPOCH_1900);
	off = (int32_t)(v - lo); /* mod 2^32 */
	H_ASSERT(off >= -2 && off <= (int32_t)(t1 - t0) + 2,
	    "%s: %s: %lu is %ld s from %lu (unix %lld + 2208988800)", model, what, (unsigned long)v,
	    (long)off, (unsigned long)lo, t0);
}

bool
h_parse_ts(const char *p, long long *us)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, frac;
	time_t t;

	if (strnlen(p, H_TS_LEN) < H_TS_LEN)
		return false;
	if (!digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) || p[7] != '-' ||
	    !digits(p + 8, 2, &d) || p[10] != 'T' || !digits(p + 11, 2, &h) || p[13] != ':' ||
	    !digits(p + 14, 2, &mi) || p[16] != ':' || !digits(p + 17, 2, &sec) || p[19] != '.' ||
	    !digits(p + 20, 6, &frac) || p[26] != 'Z')
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*us = (long long)t * 1000000 + frac;
	return true;
}

long long
h_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool
h_parse_record(const char *line, size_t len, struct h_record *r)
{
	const char *p, *sp, *end = line + len;
	size_t plen;

	memset(r, 0, sizeof *r);
	if (len < H_TS_LEN + 2 || memchr(line, '\n', len) != NULL || !h_parse_ts(line, &r->us) ||
	    line[H_TS_LEN] != ' ')
		return false;
	p = line + H_TS_LEN + 1;
	/* PEER ("ip:port", "[v6]:port", "unix") holds no space. */
	sp = memchr(p, ' ', (size_t)(end - p));
	if (sp == NULL || sp == p)
		return false;
	if (sp[-1] == ':') {
		plen = (size_t)(sp - 1 - p);
		r->kind = H_REC_LINE;
		r->text = sp + 1;
		r->textlen = (size_t)(end - sp - 1);
	} else {
		plen = (size_t)(sp - p);
		if ((size_t)(end - sp - 1) == 9 && memcmp(sp + 1, "connected", 9) == 0)
			r->kind = H_REC_CONNECTED;
		else if ((size_t)(end - sp - 1) == 12 && memcmp(sp + 1, "disconnected", 12) == 0)
			r->kind = H_REC_DISCONNECTED;
		else
			return false;
	}
	if (plen == 0 || plen >= sizeof r->peer)
		return false;
	memcpy(r->peer, p, plen);
	r->peer[plen] = '\0';
	return true;
}

size_t
h_load_line(char *buf, size_t cap, int c, int l)
{
	int n = snprintf(buf, cap, "c%02d l%04d ", c, l);
	int pad = 10 + (c * 7 + l * 13) % 61, j;

	for (j = 0; j < pad && (size_t)n + 1 < cap; j++)
		buf[n++] = (char)('a' + (c + l + j) % 26);
	buf[n] = '\0';
	return (size_t)n;
}

void
h_load_lines(struct hbuf *b, int c, int nlines)
{
	char line[H_LOAD_LINE_MAX + 2];

	for (int l = 0; l < nlines; l++) {
		size_t n = h_load_line(line, sizeof line - 1, c, l);

		line[n++] = '\n';
		hbuf_add(b, line, n);
	}
}

void
h_load_connect(const char *who, int port, int *fd, int ncli, int *port2cli)
{
	for (int i = 0; i < 65536; i++)
		port2cli[i] = -1;
	for (int c = 0; c < ncli; c++) {
		fd[c] = cli_connect(port);
		H_ASSERT(fd[c] >= 0, "%s: connect %d: %s", who, c, H_ERR);
		port2cli[cli_local_port(fd[c])] = c;
	}
}

void
h_load_send(const char *who, const int *fd, const struct hbuf *data, int ncli, size_t chunk, int ms,
    int (*done)(int fd))
{
	struct pollfd *pf = calloc((size_t)ncli, sizeof(*pf));
	size_t *off = calloc((size_t)ncli, sizeof(*off));
	int *idx = calloc((size_t)ncli, sizeof(*idx));
	long long end = h_now_ms() + ms;
	int left = ncli;

	H_ASSERT(pf != NULL && off != NULL && idx != NULL, "out of memory");
	while (left > 0) {
		int n = 0, r;

		for (int c = 0; c < ncli; c++) {
			if (off[c] == data[c].len)
				continue;
			pf[n].fd = fd[c];
			pf[n].events = POLLOUT;
			idx[n++] = c;
		}
		r = poll(pf, (nfds_t)n, 1000);
		H_ASSERT(r >= 0 || errno == EINTR, "poll: %s", H_ERR);
		H_ASSERT(h_now_ms() < end, "%s: sending did not finish in %d ms (%d clients left)",
		    who, ms, left);
		for (int i = 0; i < n && r > 0; i++) {
			int c = idx[i];
			size_t want = data[c].len - off[c];
			ssize_t w;

			if (pf[i].revents == 0)
				continue;
			if (want > chunk)
				want = chunk;
			w = send(fd[c], data[c].p + off[c], want, MSG_NOSIGNAL);
			H_ASSERT(w > 0 || (w == -1 && errno == EAGAIN), "%s: client %d: send: %s",
			    who, c, w == 0 ? "0" : H_ERR);
			if (w > 0)
				off[c] += (size_t)w;
			if (off[c] == data[c].len) {
				if (done != NULL)
					done(fd[c]);
				left--;
			}
		}
	}
	free(pf);
	free(off);
	free(idx);
}

bool
h_load_line_id(const char *t, size_t n, int ncli, int nlines, int *c, int *l)
{
	if (n < 10 || t[0] != 'c' || t[3] != ' ' || t[4] != 'l' || t[9] != ' ')
		return false;
	if (t[1] < '0' || t[1] > '9' || t[2] < '0' || t[2] > '9')
		return false;
	*c = (t[1] - '0') * 10 + (t[2] - '0');
	*l = 0;
	for (int i = 5; i < 9; i++) {
		if (t[i] < '0' || t[i] > '9')
			return false;
		*l = *l * 10 + (t[i] - '0');
	}
	return *c < ncli && *l < nlines;
}

bool
h_load_line_is(const char *t, size_t n, int c, int l)
{
	char line[H_LOAD_LINE_MAX + 1];

	return n == h_load_line(line, sizeof line, c, l) && memcmp(t, line, n) == 0;
}

void
h_note(struct hbuf *rep, int *nprob, const char *what, const char *rec, int len)
{
	char msg[512];

	if ((*nprob)++ < 8) {
		snprintf(msg, sizeof msg, "%s '%.*s'%s (%d bytes)\n", what, len > 100 ? 100 : len,
		    rec, len > 100 ? "..." : "", len);
		hbuf_add(rep, msg, strlen(msg));
	}
}

void
h_load_verify(const char *who, const char *text, size_t len, const int *port2cli, int ncli,
    int nlines)
{
	unsigned char *seen = calloc((size_t)ncli * (size_t)nlines, 1);
	int *nextl = calloc((size_t)ncli, sizeof *nextl);
	int *conn = calloc((size_t)ncli, sizeof *conn);
	int *disc = calloc((size_t)ncli, sizeof *disc);
	int c, l, nprob = 0, missing = 0, badconn = 0;
	struct hbuf rep = { 0 };
	size_t nrec = 0;
	const char *p, *eol;
	char msg[256];

	H_ASSERT(seen != NULL && nextl != NULL && conn != NULL && disc != NULL, "%s: out of memory",
	    who);
	hbuf_add(&rep, "", 0);
	for (p = text; p < text + len; p = eol + 1) {
		struct h_record rec;
		int pc = -1, port, n;

		eol = memchr(p, '\n', len - (size_t)(p - text));
		if (eol == NULL) {
			h_note(&rep, &nprob, "torn last record", p,
			    (int)(len - (size_t)(p - text)));
			break;
		}
		n = (int)(eol - p);
		nrec++;
		if (!h_parse_record(p, (size_t)n, &rec)) {
			h_note(&rep, &nprob, "malformed record", p, n);
			continue;
		}
		if (strncmp(rec.peer, "127.0.0.1:", 10) == 0) {
			port = atoi(rec.peer + 10);
			if (port > 0 && port < 65536)
				pc = port2cli[port];
		}
		if (pc < 0) {
			h_note(&rep, &nprob, "unknown peer in", p, n);
			continue;
		}
		if (rec.kind == H_REC_CONNECTED) {
			conn[pc]++;
			continue;
		}
		if (rec.kind == H_REC_DISCONNECTED) {
			disc[pc]++;
			continue;
		}
		if (!h_load_line_id(rec.text, rec.textlen, ncli, nlines, &c, &l)) {
			h_note(&rep, &nprob, "torn or foreign line", p, n);
			continue;
		}
		if (!h_load_line_is(rec.text, rec.textlen, c, l)) {
			h_note(&rep, &nprob, "torn line", p, n);
			continue;
		}
		if (c != pc)
			h_note(&rep, &nprob, "line from the wrong peer:", p, n);
		if (seen[c * nlines + l]++ > 0)
			h_note(&rep, &nprob, "duplicate line", p, n);
		else if (l != nextl[c])
			h_note(&rep, &nprob, "out of order:", p, n);
		nextl[c] = l + 1;
	}
	for (c = 0; c < ncli; c++) {
		for (l = 0; l < nlines; l++)
			if (seen[c * nlines + l] == 0 && missing++ < 4) {
				snprintf(msg, sizeof msg, "missing: client %d line %d\n", c, l);
				hbuf_add(&rep, msg, strlen(msg));
			}
		if (conn[c] != 1 || disc[c] != 1) {
			badconn++;
			snprintf(msg, sizeof msg,
			    "client %d: %d connected, %d "
			    "disconnected records\n",
			    c, conn[c], disc[c]);
			if (badconn <= 4)
				hbuf_add(&rep, msg, strlen(msg));
		}
	}
	nprob += missing + badconn;
	if (nprob > 0)
		fprintf(stderr, "%s: %zu records, %d problems:\n%s", who, nrec, nprob, rep.p);
	H_ASSERT(nprob == 0 && nrec == (size_t)(ncli * nlines + 2 * ncli),
	    "%s: %zu records (want %d), %d missing lines, %d problems "
	    "(listed above)",
	    who, nrec, ncli * nlines + 2 * ncli, missing, nprob);
	hbuf_free(&rep);
	free(seen);
	free(nextl);
	free(conn);
	free(disc);
}

/* ---- limits, sources, status --------------------------------------- */

int
h_next_spawn_rlimit(int resource, unsigned long soft, unsigned long hard)
{
	if (n_next_rlimit == NEXT_RLIMITS) {
		errno = ENOSPC;
		return -1;
	}
	next_rlimit[n_next_rlimit].resource = resource;
	next_rlimit[n_next_rlimit].lim.rlim_cur = (rlim_t)soft;
	next_rlimit[n_next_rlimit].lim.rlim_max = (rlim_t)hard;
	n_next_rlimit++;
	return 0;
}

void
h_next_spawn_hook(void (*fn)(void *), void *arg)
{
	next_hook = fn;
	next_hook_arg = arg;
}

int
cli_connect_from(const char *src, const char *host, int port, int timeout_ms)
{
	struct sockaddr_storage to, from;
	socklen_t tolen, fromlen;
	long long end = h_now_ms() + timeout_ms;
	int fd;

	tolen = numeric_addr(host, port, &to);
	fromlen = numeric_addr(src, 0, &from);
	if (tolen == 0 || fromlen == 0 || to.ss_family != from.ss_family) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/*
	 * The port is chosen at connect, for this destination: a port
	 * reserved at bind would stay taken for every destination while
	 * the connection is in TIME_WAIT, and the range runs out.
	 */
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &(int){ 1 }, sizeof(int));
	if (bind(fd, (struct sockaddr *)&from, fromlen) == -1) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return h_connect_within(fd, &to, tolen, end);
}

int
cli_udp_from(const char *src, int src_port, const char *host, int port)
{
	struct sockaddr_storage to, from;
	socklen_t tolen, fromlen;
	int fd;

	tolen = numeric_addr(host, port, &to);
	if (tolen == 0) {
		errno = EINVAL;
		return -1;
	}
	if (src == NULL)
		src = to.ss_family == AF_INET6 ? "::" : "0.0.0.0";
	fromlen = numeric_addr(src, src_port, &from);
	if (fromlen == 0 || to.ss_family != from.ss_family) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&from, fromlen) == -1 ||
	    connect(fd, (struct sockaddr *)&to, tolen) == -1) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int
cli_udp(const char *host, int port)
{
	return cli_udp_from(NULL, 0, host, port);
}

int
cli_unixgram(const char *path, const char *bind_path)
{
	struct sockaddr_un to = { .sun_family = AF_UNIX }, from = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof to.sun_path ||
	    (bind_path != NULL && strlen(bind_path) >= sizeof from.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(to.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (bind_path != NULL)
		strcpy(from.sun_path, bind_path);
	if ((bind_path != NULL && bind(fd, (struct sockaddr *)&from, sizeof from) == -1) ||
	    connect(fd, (struct sockaddr *)&to, sizeof to) == -1) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int
cli_dgram_send(int fd, const void *p, size_t n)
{
	long long end = h_now_ms() + H_DEADLINE_MS;

	for (;;) {
		if (send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n)
			return 0;
		if (errno == EINTR)
			continue;
		/* A full unix datagram peer: wait for room (EAGAIN). */
		if (errno != EAGAIN || wait_fd(fd, POLLOUT, end) <= 0)
			return -1;
	}
}

ssize_t
cli_dgram_recv(int fd, void *buf, size_t cap, int timeout_ms)
{
	long long end = h_now_ms() + timeout_ms;

	for (;;) {
		ssize_t r = recv(fd, buf, cap, MSG_TRUNC);
		int w;

		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
		w = wait_fd(fd, POLLIN, end);
		if (w <= 0) {
			if (w == 0)
				errno = ETIMEDOUT;
			return -1;
		}
	}
}

/* The last status line of svc in log and how many there are. */
static size_t
status_last(const char *log, const char *svc, const char **line)
{
	char key[160];
	const char *p = log;
	size_t n = 0;

	snprintf(key, sizeof key, "status: service %s: ", svc);
	*line = NULL;
	while ((p = strstr(p, key)) != NULL) {
		const char *bol = p;

		/* At a line start, after "dispatchd: info: " if anything. */
		while (bol > log && bol[-1] != '\n')
			bol--;
		if (bol == p || (p - bol >= 6 && memcmp(p - 6, "info: ", 6) == 0)) {
			*line = p;
			n++;
		}
		p += strlen(key);
	}
	return n;
}

bool
srv_status(struct srv *s, const char *svc, char *out, size_t cap, int timeout_ms)
{
	long long end = h_now_ms() + timeout_ms;
	const char *line;
	size_t before = status_last(srv_log(s), svc, &line), now;

	if (cap > 0)
		out[0] = '\0';
	if (kill(s->pid, SIGUSR1) == -1)
		return false;
	for (;;) {
		now = status_last(srv_log(s), svc, &line);
		/* Only a whole line: the server may be writing it. */
		if (now > before && strchr(line, '\n') != NULL) {
			if (cap > 0)
				snprintf(out, cap, "%.*s", (int)strcspn(line, "\n"), line);
			return true;
		}
		if (h_now_ms() >= end || !srv_alive(s))
			return false;
		h_nap(2);
	}
}

long
h_status_num(const char *line, const char *name)
{
	size_t nl = strlen(name);
	const char *p = line;

	while ((p = strstr(p, name)) != NULL) {
		const char *q = p;

		/* " N name" followed by a separator or the end. */
		if (q - line >= 3 && q[-1] == ' ' && isdigit((unsigned char)q[-2]) &&
		    (p[nl] == '\0' || p[nl] == ',' || p[nl] == ';' || p[nl] == ' ' ||
		        p[nl] == '\n')) {
			q -= 2;
			while (q > line && isdigit((unsigned char)q[-1]))
				q--;
			if (q > line && q[-1] == ' ')
				return strtol(q, NULL, 10);
		}
		p += nl;
	}
	return -1;
}

long
srv_status_num(struct srv *s, const char *svc, const char *name)
{
	char line[512];

	if (!srv_status(s, svc, line, sizeof line, H_DEADLINE_MS))
		return -1;
	return h_status_num(line, name);
}

bool
srv_status_num_is(struct srv *s, const char *svc, const char *name, long want, char *got,
    size_t cap, int timeout_ms)
{
	long long end = h_now_ms() + timeout_ms;
	char line[1024];

	if (cap > 0)
		got[0] = '\0';
	do {
		if (srv_status(s, svc, line, sizeof line, remaining(end))) {
			if (cap > 0)
				snprintf(got, cap, "%s", line);
			if (h_status_num(line, name) == want)
				return true;
		}
		h_nap(5);
	} while (h_now_ms() < end && srv_alive(s));
	return false;
}

long
h_proc_cpu_ms(pid_t pid)
{
	char path[64], buf[2048], *rp;
	unsigned long ut, st;
	long hz = sysconf(_SC_CLK_TCK);
	int fd;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0 || hz <= 0)
		return -1;
	buf[n] = '\0';
	/* After comm: state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime (fields 3..15). */
	rp = strrchr(buf, ')');
	if (rp == NULL ||
	    sscanf(rp + 1,
	        " %*c %*d %*d %*d %*d %*d %*u %*u "
	        "%*u %*u %*u %lu %lu",
	        &ut, &st) != 2)
		return -1;
	return (long)((ut + st) * 1000 / (unsigned long)hz);
}

bool
h_proc_exists(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	return access(path, F_OK) == 0;
}
