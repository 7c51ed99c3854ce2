/* check_uring.c - what only the io_uring model promises: a clear refusal, waits only in io_uring_enter, bounded memory, a connection flood. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "model.h"

#define D H_DEADLINE_MS

/* This binary, which doubles as the seccomp wrapper (main). */
static char self[4096];

static bool
sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return true;
#else
	return false;
#endif
#else
	return false;
#endif
}

static bool
have_uring(void)
{
	return model_find("io_uring") != NULL;
}

/*
 * The wrapper: a filter that makes io_uring_setup fail with errno (as
 * kernel.io_uring_disabled or a container's seccomp profile does), then
 * exec.  Only here, never in the server itself.
 */
static int
seccomp_exec(int err, char **argv)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("seccomp");
		return 126;
	}
	execv(argv[0], argv);
	perror(argv[0]);
	return 127;
}

static size_t
lines_in(const char *t)
{
	return h_count(t, "\n") + (*t && t[strlen(t) - 1] != '\n');
}

/*
 * Where the kernel refuses io_uring: exit status 1, nothing listening,
 * one line naming io_uring and the cause, with and without -t; never a
 * silent fallback to another model.
 */
static const struct {
	int err;
	const char *cause;
	const char *hint;
} refusals[] = {
	{ EPERM, "Operation not permitted", "io_uring_disabled" },
	{ ENOSYS, "Function not implemented", "without io_uring" },
	{ ENOMEM, "Cannot allocate memory", "memlock" },
};
#define NREFUSALS ((int)(sizeof(refusals) / sizeof(refusals[0])))

START_TEST(test_refusal)
{
	int r = _i % NREFUSALS;
	bool check_only = _i >= NREFUSALS;
	char errarg[16];
	struct srv s;

	if (!have_uring())
		return;
	snprintf(errarg, sizeof(errarg), "%d", refusals[r].err);
	const char *argv[] = { self, "--seccomp-exec", errarg, h_binary(), "-m", "io_uring", "-l",
		"127.0.0.1:0", check_only ? "-t" : NULL, NULL };
	H_ASSERT(srv_spawn_cmd(&s, argv, NULL, NULL) == 0, "spawn: %s", H_ERR);
	int st = srv_wait(&s, D);
	const char *log = srv_log(&s);
	H_ASSERT(st == 1, "%s%s: exit status %d, want 1:\n%s", refusals[r].cause,
	    check_only ? " (-t)" : "", st, log);
	H_ASSERT(lines_in(log) == 1, "%s: want one line, got:\n%s", refusals[r].cause, log);
	H_ASSERT(strstr(log, "error: io_uring: cannot set up a ring") != NULL &&
	        strstr(log, refusals[r].cause) != NULL && strstr(log, refusals[r].hint) != NULL,
	    "the line does not name the cause: %s", log);
	H_ASSERT(strstr(srv_stdout(&s), "configuration ok") == NULL, "-t said ok: %s",
	    srv_stdout(&s));
	srv_free(&s);
}
END_TEST

/* The same host, other models: the filter does not concern them. */
START_TEST(test_refusal_other_models)
{
	const char *argv[] = { self, "--seccomp-exec", "1", h_binary(), "-m", "epoll", "-t", "-l",
		"127.0.0.1:0", NULL };
	struct srv s;

	H_ASSERT(srv_spawn_cmd(&s, argv, NULL, NULL) == 0, "spawn: %s", H_ERR);
	H_ASSERT(srv_wait(&s, D) == 0, "epoll -t under the filter failed:\n%s", srv_log(&s));
	srv_free(&s);
}
END_TEST

/* The system call named on one strace line ("123 name(...", "<... name resumed>"). */
static bool
syscall_name(const char *line, char *name, size_t cap)
{
	const char *p = line;
	size_t n = 0;

	while (*p >= '0' && *p <= '9')
		p++;
	while (*p == ' ')
		p++;
	if (strncmp(p, "<... ", 5) == 0)
		p += 5;
	if (*p == '+' || *p == '-' || *p == '\0')
		return false; /* signals, exits */
	while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9') || p[n] == '_')
		n++;
	if (n == 0 || n >= cap)
		return false;
	memcpy(name, p, n);
	name[n] = '\0';
	return true;
}

/*
 * Under strace -f with echo traffic on several connections, the steady
 * state (between the last accept of the clients, which asks getpeername,
 * and a marker connection's) makes no system call but io_uring_enter.
 */
START_TEST(test_strace)
{
	enum { NCLI = 8, ROUNDS = 300 };
	const char *trace = h_path(h_tmpdir(), "trace");
	const char *argv[] = { "strace", "-f", "-qq", "-o", trace, h_binary(), "-m", "io_uring",
		"-l", "127.0.0.1:0", NULL };
	int fds[NCLI], marker;
	struct srv s;
	pid_t kids[4];

	/* Not under the sanitizers (LeakSanitizer cannot run traced) or
	 * valgrind, whose own system calls would be counted. */
	if (!have_uring() || access("/usr/bin/strace", X_OK) != 0 || sanitized() ||
	    h_under_valgrind())
		return;
	H_ASSERT(srv_spawn_cmd(&s, argv, NULL, NULL) == 0, "spawn strace: %s", H_ERR);
	H_ASSERT(srv_wait_listening(&s, 1, 4 * D) == 0, "the server did not start under strace");
	for (int i = 0; i < NCLI; i++) {
		fds[i] = cli_connect(srv_port(&s, 0));
		H_ASSERT(fds[i] >= 0, "connect: %s", H_ERR);
		H_ASSERT(cli_echo_ok(fds[i], "warm-up\n"), "no echo");
	}
	for (int r = 0; r < ROUNDS; r++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "round %d of the steady state\n", r);
		for (int i = 0; i < NCLI; i++)
			H_ASSERT(cli_write_all(fds[i], line, (size_t)n, D) == 0, "send: %s", H_ERR);
		for (int i = 0; i < NCLI; i++) {
			char back[64];
			H_ASSERT(cli_read_exact(fds[i], back, (size_t)n, D) == n &&
			        memcmp(back, line, (size_t)n) == 0,
			    "round %d: no echo", r);
		}
	}
	marker = cli_connect(srv_port(&s, 0));
	H_ASSERT(marker >= 0 && cli_echo_ok(marker, "marker\n"), "marker connection");
	H_ASSERT(h_proc_children(s.pid, kids, 4) >= 1, "no traced server");
	kill(kids[0], SIGTERM);
	for (int i = 0; i < NCLI; i++)
		close(fds[i]);
	close(marker);
	H_ASSERT(srv_wait(&s, 4 * D) == 0, "strace or the server failed:\n%s", srv_log(&s));

	size_t len;
	char *t = h_read_file(trace, &len), *p, *steady = NULL, *end = NULL;
	H_ASSERT(t != NULL, "no trace");
	int seen = 0;
	for (p = t; (p = strstr(p, "getpeername(")) != NULL; p++) {
		if (++seen == NCLI)
			steady = strchr(p, '\n');
		else if (seen == NCLI + 1)
			end = p;
	}
	H_ASSERT(steady != NULL && end != NULL, "%d getpeername calls in the trace, want %d", seen,
	    NCLI + 1);
	*end = '\0';
	long enters = 0, others = 0;
	char bad[512] = "";
	for (p = steady + 1; p < end && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : end) {
		char name[64];
		if (!syscall_name(p, name, sizeof(name)))
			continue;
		if (strcmp(name, "io_uring_enter") == 0) {
			enters++;
		} else {
			others++;
			if (strlen(bad) + strlen(name) + 2 < sizeof(bad)) {
				strcat(bad, " ");
				strcat(bad, name);
			}
		}
	}
	if (h_verbose())
		fprintf(stderr, "strace: %ld io_uring_enter for %d round trips, %ld others\n",
		    enters, NCLI * ROUNDS, others);
	H_ASSERT(others == 0, "steady state made other system calls:%s", bad);
	H_ASSERT(enters > 0 && enters <= 4L * NCLI * ROUNDS, "%ld io_uring_enter calls", enters);
	free(t);
	srv_free(&s);
}
END_TEST

/*
 * A client that sends 50 MiB and never reads: the server stops receiving
 * once the replies back up (its receive is cancelled), so its memory
 * stays within max_pending and about a buffer, and it serves others;
 * once the client reads, every byte comes back in order, partial sends
 * included.  The second run's max_pending of 2 KiB keeps every reply
 * small and the receive stopped most of the time, so what moves the
 * connection on is its sends' own completions, not new input.
 */
START_TEST(test_memory)
{
	const char *args[] = { "-m", "io_uring", "-l", "127.0.0.1:0", _i ? "--max-pending" : NULL,
		"2048", NULL };
	static char pat[65536];
	struct srv s;

	if (!have_uring())
		return;
	h_fill(pat, sizeof(pat), 7);
	H_START_OK(&s, args, "io_uring");
	int probe = cli_connect(srv_port(&s, 0));
	H_ASSERT(probe >= 0 && cli_echo_ok(probe, "before\n"), "no echo");
	long before = h_proc_kb(s.pid, "VmRSS");
	int fd = cli_connect(srv_port(&s, 0));
	H_ASSERT(fd >= 0, "connect: %s", H_ERR);
	long pushed = cli_push(fd, pat, sizeof(pat), 50L << 20, 1500, 20000);
	H_ASSERT(pushed > 0, "push: %s", H_ERR);
	long after = h_proc_kb(s.pid, "VmRSS");
	if (h_verbose())
		fprintf(stderr, "memory: pushed %ld bytes, RSS %ld -> %ld kB\n", pushed, before,
		    after);
	/* Sanitizers and valgrind keep freed memory: the bound is for the
	 * plain build. */
	H_ASSERT(after - before < 8192 || sanitized() || h_under_valgrind(),
	    "RSS grew %ld kB (%ld -> %ld) for a client that does not read", after - before, before,
	    after);
	H_ASSERT(cli_echo_ok(probe, "after\n"), "another client was not served meanwhile");
	/* Its replies found the socket full, and resume once it reads:
	 * every byte it pushed comes back, in order. */
	static char back[65536];
	for (long got = 0; got < pushed;) {
		size_t want = pushed - got < (long)sizeof(back) ? (size_t)(pushed - got) :
		                                                  sizeof(back);
		ssize_t n = cli_read_exact(fd, back, want, D);
		H_ASSERT(n == (ssize_t)want, "the echo stopped after %ld of %ld bytes", got,
		    pushed);
		for (size_t k = 0; k < want; k++)
			H_ASSERT(back[k] == pat[(got + (long)k) % (long)sizeof(pat)],
			    "byte %ld of the echo is wrong", got + (long)k);
		got += (long)want;
	}
	close(fd);
	close(probe);
	H_STOP_OK(&s, "io_uring");
	srv_free(&s);
}
END_TEST

/* 2000 connections open at once, each answered. */
START_TEST(test_flood)
{
	enum { N = 2000 };
	const char *args[] = { "-m", "io_uring", "--max-clients", "4000", "-l", "127.0.0.1:0",
		NULL };
	static int fds[N];
	struct rlimit rl;
	struct srv s;

	if (!have_uring())
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < N + 100 && rl.rlim_max >= N + 100) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	H_START_OK(&s, args, "io_uring");
	for (int i = 0; i < N; i++) {
		fds[i] = cli_connect(srv_port(&s, 0));
		H_ASSERT(fds[i] >= 0, "connection %d: %s", i, H_ERR);
	}
	for (int i = 0; i < N; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "client %d\n", i);
		H_ASSERT(cli_write_all(fds[i], line, (size_t)n, D) == 0, "send %d: %s", i, H_ERR);
	}
	for (int i = 0; i < N; i++) {
		char line[32], back[32];
		int n = snprintf(line, sizeof(line), "client %d\n", i);
		H_ASSERT(cli_read_exact(fds[i], back, (size_t)n, D) == n &&
		        memcmp(back, line, (size_t)n) == 0,
		    "connection %d was not answered", i);
	}
	for (int i = 0; i < N; i++)
		close(fds[i]);
	H_STOP_OK(&s, "io_uring");
	srv_free(&s);
}
END_TEST

int
main(int argc, char **argv)
{
	if (argc > 3 && strcmp(argv[1], "--seccomp-exec") == 0)
		return seccomp_exec(atoi(argv[2]), argv + 3);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0)
		self[n] = '\0';

	Suite *su = suite_create("uring");
	tcase_add_loop_test(h_tcase(su, "refusal", 30), test_refusal, 0, 2 * NREFUSALS);
	tcase_add_test(h_tcase(su, "refusal_other_models", 30), test_refusal_other_models);
	tcase_add_test(h_tcase(su, "strace", 120), test_strace);
	tcase_add_loop_test(h_tcase(su, "memory", 60), test_memory, 0, 2);
	tcase_add_test(h_tcase(su, "flood", 120), test_flood);
	return h_run_suite(su);
}
