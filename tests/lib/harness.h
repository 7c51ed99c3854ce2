/* harness.h - integration-test harness: runs the real dispatchd, talks to it over sockets. */
#ifndef DISPATCHD_TEST_HARNESS_H
#define DISPATCHD_TEST_HARNESS_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <check.h>

/*
 * Every wait in the tests is bounded by one of these (milliseconds).
 * H_DEADLINE_MS is "surely long enough on a loaded 2-core machine" for
 * something that normally takes microseconds.
 */
#define H_DEADLINE_MS 5000
#define H_START_MS    5000

/*
 * The models, read at run time from the registry models[] (model.h), in
 * its order: a model added there is tested without editing a test.
 * h_model(i) for i below h_nmodels() (at most H_MAX_MODELS, for arrays
 * indexed by model); h_conc_model(i) for i below h_nconc_models(): those
 * that serve connections at once (not serial).
 */
#define H_MAX_MODELS 16
int h_nmodels(void);
const char *h_model(int i);
int h_nconc_models(void);
const char *h_conc_model(int i);

/*
 * The traits of the model called name (struct model in model.h); an
 * unknown name fails the test.  Serial: one connection at a time, the
 * others wait in the listen backlog.  In children: each connection is
 * served by a child process, the accepting process holds no descriptor
 * for it.
 */
bool h_model_serial(const char *name);
bool h_model_in_children(const char *name);
/* Workers: the model runs as workers = N (one loop per process). */
bool h_model_workers(const char *name);

/* True when H_VERBOSE is set: tests may print what they measured. */
bool h_verbose(void);

/* ---- assertions ---------------------------------------------------- */

/*
 * Like ck_assert_msg(expr, fmt, ...), but on failure first prints the
 * failed expression and the stderr log of every server this test started,
 * then kills and reaps them and removes the temp dirs (Check's fork mode
 * leaves with _exit, so no teardown or atexit handler would run).
 */
#define H_ASSERT(expr, ...)                                \
	do {                                               \
		if (!(expr)) {                             \
			int h_saved_errno_ = errno;        \
			h_fail(__FILE__, __LINE__, #expr); \
			errno = h_saved_errno_;            \
			ck_assert_msg(0, __VA_ARGS__);     \
		}                                          \
	} while (0)

/* For messages: the errno of the failed call (H_ASSERT keeps it intact). */
#define H_ERR strerror(errno)

/* Asserts that srv_start(s, args) started the server: "WHO: server did not start". */
#define H_START_OK(s, args, who) \
	H_ASSERT(srv_start((s), (args)) == 0, "%s: server did not start", (who))

/* Asserts that SIGTERM stops the server with exit status 0 within H_DEADLINE_MS. */
#define H_STOP_OK(s, who)                                                        \
	do {                                                                     \
		int h_rc_ = srv_stop((s), SIGTERM, H_DEADLINE_MS);               \
		H_ASSERT(h_rc_ == 0,                                             \
		    "%s: SIGTERM did not give exit "                             \
		    "status 0 (%d%s)",                                           \
		    (who), h_rc_, h_rc_ == -1 ? ": still running, killed" : ""); \
	} while (0)

/* Asserts that counter name of service svc comes to be want (srv_status_num_is). */
#define H_EXPECT_STATUS(s, who, svc, name, want)                                                \
	do {                                                                                    \
		char h_got_[512];                                                               \
		H_ASSERT(srv_status_num_is((s), (svc), (name), (want), h_got_, sizeof h_got_,   \
		             H_DEADLINE_MS),                                                    \
		    "%s: %s counter of %s is not %ld:\n%s", (who), (name), (svc), (long)(want), \
		    h_got_);                                                                    \
	} while (0)

/* Prints the diagnosis described above and cleans up. */
void h_fail(const char *file, int line, const char *expr);

/*
 * Kills (SIGKILL) and reaps every server still running and every orphan
 * they left (the test process is their subreaper), removes the temp dirs.
 * Safe to call more than once; meant as the checked-fixture teardown.
 */
void h_cleanup(void);

/* Checked-fixture setup: makes this process a subreaper, resets state. */
void h_setup(void);

/* ---- suites -------------------------------------------------------- */

/*
 * Creates test case name with the checked fixture h_setup/h_cleanup and a
 * timeout of timeout_s seconds, adds it to su and returns it, for the
 * caller to add its tests (and any fixture of its own, run after ours).
 */
TCase *h_tcase(Suite *su, const char *name, int timeout_s);

/*
 * h_tcase with test added as a loop test over every model: the test's
 * model is h_model(_i).  Returns the test case.
 */
TCase *h_tcase_models(Suite *su, const char *name, int timeout_s, const TTest *test);

/* The same over the models serving connections at once: h_conc_model(_i). */
TCase *h_tcase_conc_models(Suite *su, const char *name, int timeout_s, const TTest *test);

/*
 * The same over every model times ncases cases (a table's rows): the
 * test's model is h_model(H_LOOP_MODEL(_i)), its case H_LOOP_CASE(_i).
 */
TCase *h_tcase_models_n(Suite *su, const char *name, int timeout_s, const TTest *test, int ncases);
#define H_LOOP_MODEL(i) ((i) % h_nmodels())
#define H_LOOP_CASE(i)  ((i) / h_nmodels())

/*
 * Runs every test of su (output as CK_VERBOSITY says, by default
 * CK_NORMAL) and frees the runner with su.
 * Returns main's exit status: 0 if every test passed, else 1.
 */
int h_run_suite(Suite *su);

/* ---- the server ---------------------------------------------------- */

#define H_MAX_LISTEN 16

/* One "listening on ADDR (SERVICE, HANDLER)" line, parsed. */
struct srv_listen {
	char addr[128]; /* as printed: "127.0.0.1:40211", "unix:/tmp/x", "udp:[::1]:9" */
	char service[64];
	char handler[32];
	int port; /* 0 for unix: and unixgram: addresses */
};

struct srv {
	pid_t pid;
	bool reaped;
	int status; /* wait(2) status once reaped */
	int errfd;  /* unlinked temp file holding the server's stderr */
	int outfd;  /* ... and its stdout */
	char *log;  /* last snapshot from srv_log() */
	char *out;  /* last snapshot from srv_stdout() */
	struct srv_listen ls[H_MAX_LISTEN];
	int nls;
};

/* The binary under test: $DISPATCHD, else build/dispatchd. */
const char *h_binary(void);

/*
 * True when the binary under test is a valgrind wrapper (its path names
 * valgrind, as tests/valgrind-dispatchd for make check-valgrind does).
 */
bool h_under_valgrind(void);
/* True in a build with AddressSanitizer (make check-asan builds the tests
 * and the server alike): freed memory sits in its quarantine (up to
 * 256 MiB by default), so a server's RSS says less about leaks there. */
bool h_sanitized(void);

/*
 * Starts the binary with args (NULL-terminated, without argv[0]): stdin
 * /dev/null, stdout and stderr to temp files, in this process group, with
 * PR_SET_PDEATHSIG SIGKILL, default signal dispositions and mask, no
 * inherited descriptors.  0, or -1 if fork failed.
 */
int srv_spawn(struct srv *s, const char *const args[]);

/*
 * srv_spawn, then waits up to H_START_MS for n "listening on" lines and
 * parses them into s->ls.  0, or -1 (the server exited or was too slow;
 * its log has been printed and it has been killed).
 */
int srv_start_n(struct srv *s, const char *const args[], int n);

/* srv_start_n with n = the number of -l/--listen options (at least 1). */
int srv_start(struct srv *s, const char *const args[]);

/* The port of the i-th listening line (0 for unix), -1 if there is none. */
int srv_port(const struct srv *s, int i);

/* Index of the listening line for service name, or -1. */
int srv_find(const struct srv *s, const char *service);

/* True while the server has not exited (reaps it when it has). */
bool srv_alive(struct srv *s);

/*
 * Waits up to timeout_ms for the server to exit on its own.  Returns the
 * exit code, 128+N when killed by signal N, or -1 on timeout (still running).
 */
int srv_wait(struct srv *s, int timeout_ms);

/*
 * Sends sig and waits up to timeout_ms; on timeout kills it with SIGKILL
 * and returns -1, else the result as in srv_wait.  Orphans it left behind
 * are killed and reaped either way.
 */
int srv_stop(struct srv *s, int sig, int timeout_ms);

/* The server's stderr (stdout) so far, NUL-terminated; owned by s. */
const char *srv_log(struct srv *s);
const char *srv_stdout(struct srv *s);

/* Prints the server's stderr to our stderr, framed, with a title. */
void srv_dump(struct srv *s, const char *title);

/*
 * Runs the binary to completion (at most timeout_ms, then SIGKILL) and
 * returns what srv_wait returns; s keeps the output for srv_log/srv_stdout.
 */
int srv_run(struct srv *s, const char *const args[], int timeout_ms);

/*
 * Releases what s holds (temp files, snapshots) once the server has been
 * stopped or has exited; s may then be started again.
 */
void srv_free(struct srv *s);

/* ---- other programs, detached servers ------------------------------ */

/*
 * Like srv_spawn, but runs argv (argv[0] a path, looked up in PATH when it
 * holds no '/') instead of the binary under test, with the "NAME=VALUE"
 * entries of env (NULL-terminated; NULL for none) added to its
 * environment, in directory cwd (NULL: ours).  For wrappers that exec the
 * server themselves (systemd-socket-activate), and servers that need an
 * environment or a working directory.  0, or -1 if fork failed.
 */
int srv_spawn_cmd(struct srv *s, const char *const argv[], const char *const env[],
    const char *cwd);

/*
 * Runs argv (as srv_spawn_cmd) to completion within H_DEADLINE_MS: true
 * when it exits 0.  For "is this program here" checks (haproxy -v).
 */
bool h_runs(const char *const argv[]);

/* Parses the "listening on" lines written so far into s->ls; how many. */
int srv_listening(struct srv *s);

/*
 * Waits up to timeout_ms for n "listening on" lines, also when the process
 * wrote them and then exited (the original process of -d).  0, or -1 (its
 * log has been printed; if it was too slow, it has been killed).
 */
int srv_wait_listening(struct srv *s, int n, int timeout_ms);

/*
 * Makes s track pid, a process that became our child because we are its
 * subreaper (the daemon that -d leaves behind), so that srv_alive,
 * srv_wait, srv_stop, srv_free, h_fail and h_cleanup treat it as a server
 * we started (it is killed at cleanup, never mistaken for an orphan).
 * log_fd (or -1) is where its stderr went, for srv_log and h_fail.
 * 0, or -1 with errno (ECHILD: pid is not a live child of ours).
 */
int srv_adopt(struct srv *s, pid_t pid, int log_fd);

/*
 * A TCP port of 127.0.0.1 that was free a moment ago (bound to port 0,
 * then closed), for programs that cannot take port 0; -1 on error.
 * Another process may take it meanwhile: callers retry on EADDRINUSE.
 */
int h_free_port(void);

/* ---- clients ------------------------------------------------------- */

/* A growable byte buffer. */
struct hbuf {
	char *p;
	size_t len, cap;
};
void hbuf_add(struct hbuf *b, const void *p, size_t n);
void hbuf_free(struct hbuf *b);

/*
 * Connects to host (numeric "127.0.0.1" or "::1") port within timeout_ms.
 * The socket is non-blocking and close-on-exec; every helper below waits
 * with poll(2).  fd, or -1 with errno.
 */
int cli_connect_host(const char *host, int port, int timeout_ms);
/*
 * Connects the non-blocking socket fd to sa by the deadline end (of
 * h_now_ms).  Returns fd, or -1 with errno (fd closed).
 */
int h_connect_within(int fd, const struct sockaddr_storage *sa, socklen_t salen, long long end);
/* cli_connect_host("127.0.0.1", port, H_DEADLINE_MS). */
int cli_connect(int port);
/* The same for a unix stream socket at path. */
int cli_connect_unix(const char *path, int timeout_ms);

/* Writes all n bytes (MSG_NOSIGNAL) within timeout_ms. 0, or -1 with errno. */
int cli_write_all(int fd, const void *p, size_t n, int timeout_ms);
int cli_send(int fd, const char *str);

/*
 * Reads exactly n bytes within timeout_ms.  Returns n, or fewer with errno
 * ETIMEDOUT (deadline), 0 (end of stream) or the read error.
 */
ssize_t cli_read_exact(int fd, void *buf, size_t n, int timeout_ms);

/*
 * Reads one line (up to and including LF, NUL-terminated) into buf of cap
 * bytes within timeout_ms.  Length, or -1 with errno as cli_read_exact.
 */
ssize_t cli_read_line(int fd, char *buf, size_t cap, int timeout_ms);

/* Appends everything up to end of stream to out.  0 at EOF, -1 otherwise. */
int cli_read_until_eof(int fd, struct hbuf *out, int timeout_ms);

/*
 * Writes all n bytes while reading whatever comes back into in; then, if
 * shut_wr, half-closes and reads up to end of stream.  0, or -1 (deadline
 * or error; errno says).
 */
int cli_exchange(int fd, const void *p, size_t n, bool shut_wr, struct hbuf *in, int timeout_ms);

/*
 * Writes str and expects exactly str back within H_DEADLINE_MS (echo).
 * True on success.
 */
bool cli_echo_ok(int fd, const char *str);

/*
 * Waits up to timeout_ms for the peer to close: true on EOF, ECONNRESET or
 * EPIPE (any data that arrives first is discarded), false on timeout.
 */
bool cli_wait_closed(int fd, int timeout_ms);

/*
 * Sends without reading, until total bytes are sent, the peer takes none
 * for stall_ms (it stopped reading and the buffers are full) or max_ms
 * passed.  Byte k sent is p[k % period]: a pattern of period bytes
 * repeated, or, with period == total, the total bytes at p.  Returns the
 * bytes sent, or -1 with errno if the connection failed.
 */
long cli_push(int fd, const void *p, size_t period, long total, int stall_ms, int max_ms);

/* What became of an echo connection that cli_probe tried. */
enum h_outcome {
	H_SERVED,  /* the probe came back */
	H_REFUSED, /* closed (EOF or RST) with nothing served */
	H_HUNG,    /* neither within H_DEADLINE_MS, or something else came */
	H_NOCONN,  /* connect failed (for callers that connect first) */
};

/* "served", "refused", "neither served nor closed", "connect failed". */
const char *h_outcome_name(enum h_outcome o);

/*
 * Sends "probe\n" to an echo service and waits up to H_DEADLINE_MS for it
 * to come back (H_SERVED) or for the connection to end without a byte
 * (H_REFUSED); anything else is H_HUNG.
 */
enum h_outcome cli_probe(int fd);

/*
 * Connects to 127.0.0.1 port *(int *)arg and gets an echo: for
 * h_wait_for, until a server serves (again).  True if it did.
 */
bool h_served(void *arg);

/* True if nothing at all (no data, no EOF) arrives within ms. */
bool cli_quiet(int fd, int ms);

/* shutdown(SHUT_WR). */
int cli_shut_wr(int fd);
/* Closes with SO_LINGER {1, 0}: the kernel sends RST and drops unsent data. */
void cli_reset(int fd);
/* The local port of a TCP socket, -1 on error. */
int cli_local_port(int fd);

/* ---- datagram clients ---------------------------------------------- */

/*
 * A UDP socket bound to src (numeric; NULL: the wildcard of host's family)
 * port src_port (0: any) and connected to host port: it receives only
 * datagrams from exactly that address and port, so a reply that left
 * from another address is not seen.  Non-blocking, close-on-exec.  fd, or
 * -1 with errno (EACCES: a port below 1024 without the privilege).
 */
int cli_udp_from(const char *src, int src_port, const char *host, int port);
/* cli_udp_from(NULL, 0, host, port). */
int cli_udp(const char *host, int port);

/*
 * A unix datagram socket bound to bind_path (NULL: unbound, it cannot be
 * answered) and connected to path.  fd, or -1 with errno.
 */
int cli_unixgram(const char *path, const char *bind_path);

/* Sends one datagram of n bytes (waiting up to H_DEADLINE_MS for room). 0 or -1. */
int cli_dgram_send(int fd, const void *p, size_t n);

/*
 * Receives one datagram into buf of cap bytes within timeout_ms.  Its
 * whole length (more than cap if it was cut: MSG_TRUNC), 0 for an empty
 * one, or -1 with errno (ETIMEDOUT: none came).
 */
ssize_t cli_dgram_recv(int fd, void *buf, size_t cap, int timeout_ms);

/* A UDP port of 127.0.0.1 that was free a moment ago (as h_free_port). */
int h_free_udp_port(void);

/* ---- time, files, processes --------------------------------------- */

/* CLOCK_MONOTONIC in milliseconds. */
long long h_now_ms(void);
/*
 * $H_TIME_SCALE (valgrind: 5), at least 1: the factor by which a test
 * stretches the time bounds that a slowed-down server must still meet.
 */
long h_time_scale(void);
/* Sleeps ms milliseconds: only as the nap inside a condition-polling loop. */
void h_nap(int ms);

/*
 * Polls cond(arg) every few milliseconds until it is true (returns true)
 * or timeout_ms passed (returns cond's last answer, false).
 */
bool h_wait_for(bool (*cond)(void *), void *arg, int timeout_ms);

/*
 * A fresh directory under $TMPDIR (or /tmp), removed with its contents by
 * h_cleanup().  The string is owned by the harness.
 */
const char *h_tmpdir(void);
/* dir + "/" + name into a static ring of buffers (valid for a while). */
const char *h_path(const char *dir, const char *name);

/* The whole file, NUL-terminated (len without the NUL); NULL on error. */
char *h_read_file(const char *path, size_t *len);
/* A file and a string it should come to hold, for h_wait_for(h_file_has, ...). */
struct h_has {
	const char *path;
	const char *needle;
};
/* True when the file at arg's path exists and holds its needle. */
bool h_file_has(void *arg);
/* Creates path with text. 0 or -1. */
int h_write_file(const char *path, const char *text);
/* Writes text to dir/dispatchd.conf (the test fails if it cannot); its path. */
const char *h_write_conf(const char *dir, const char *text);
/* Occurrences of needle in haystack. */
size_t h_count(const char *haystack, const char *needle);

/* A "Vm...:" field of /proc/PID/status in kB, -1 if unreadable. */
long h_proc_kb(pid_t pid, const char *field);
/* Up to max pids whose parent is ppid (not zombies); returns how many. */
int h_proc_children(pid_t ppid, pid_t *out, int max);
/* The same, zombies counted too. */
int h_proc_children_all(pid_t ppid, pid_t *out, int max);
/*
 * Up to max of our children, zombies too, that are not servers we
 * started and still run: what exited servers left behind (we are their
 * subreaper).  Returns how many.
 */
int h_orphans(pid_t *out, int max);

/*
 * Fills p[0..n) with pseudo-random bytes (NULs among them) that depend on
 * seed alone, the same on every run.
 */
void h_fill(void *p, size_t n, unsigned seed);
/*
 * The n bytes at p for a message: C-escaped (\n, \r, \xHH), cut at
 * about 160 characters with "...".  In a ring of static buffers: valid
 * for the next few calls.
 */
const char *h_show(const void *p, size_t n);

/* RFC 868: the seconds from 1900 to the Unix epoch. */
#define H_EPOCH_1900 2208988800ULL

/*
 * Parses exactly "Www Mmm dD hh:mm:ss YYYY\r\n" (ctime's layout, the day
 * of month space-padded to 2; RFC 867's daytime reply) as a UTC time;
 * every position is checked, and the weekday must be the date's.  True
 * with *t set if well-formed.
 */
bool h_parse_daytime(const char *p, size_t n, long long *t);

/*
 * The reply of daytime (n bytes at p) must be exactly one such line, of a
 * time in [t0 - 2, t1 + 2] (seconds); otherwise fails "WHO: WHAT: ...".
 */
void h_check_daytime(const char *who, const char *what, const char *p, size_t n, long long t0,
    long long t1);

/*
 * The reply of time must be 4 bytes, big-endian seconds since 1900 (RFC
 * 868), of a time in [t0 - 2, t1 + 2]; otherwise fails the test.
 */
void h_check_time(const char *who, const char *what, const unsigned char *p, size_t n, long long t0,
    long long t1);

/* ---- what dispatchd writes ------------------------------------------ */

/* Length of "YYYY-MM-DDTHH:MM:SS.uuuuuuZ". */
#define H_TS_LEN 27

/*
 * Checks that p starts with exactly an RFC 3339 UTC time with six
 * fraction digits and 'Z' (no regex: every position is checked) and stores
 * it as microseconds since the epoch in *us.  True if well-formed.
 */
bool h_parse_ts(const char *p, long long *us);

/* The wall clock (CLOCK_REALTIME) in microseconds since the epoch. */
long long h_wall_us(void);

enum h_rec_kind { H_REC_LINE, H_REC_CONNECTED, H_REC_DISCONNECTED };

/* One logger record: "TIME PEER: LINE", "TIME PEER connected|disconnected". */
struct h_record {
	long long us;
	enum h_rec_kind kind;
	char peer[128];
	const char *text; /* H_REC_LINE: points into the parsed line */
	size_t textlen;
};

/* Parses one record line of len bytes (without the LF). True if well-formed. */
bool h_parse_record(const char *line, size_t len, struct h_record *r);

/*
 * Lines for loading the logger with many clients, each line telling whose
 * it is: line l of client c is "cNN lNNNN " (c 0..99, l 0..9999, zero
 * padded) and 10 to 70 letters that vary with c and l, so that a torn or
 * spliced line does not pass for a whole one.
 */
#define H_LOAD_LINE_MAX 80 /* the longest, without LF and NUL */

/*
 * Line l of client c without its LF, NUL-terminated, into buf of cap
 * bytes (cap > H_LOAD_LINE_MAX holds any line).  Returns its length.
 */
size_t h_load_line(char *buf, size_t cap, int c, int l);

/* Appends lines 0 to nlines-1 of client c to b, each with its LF. */
void h_load_lines(struct hbuf *b, int c, int nlines);

/*
 * The load clients: ncli connections to port, fd[c] that of client c, and
 * port2cli[PORT] = c for its local port (every other entry of the 65536
 * set to -1).  Fails the test, "WHO: ...", if one cannot connect.
 */
void h_load_connect(const char *who, int port, int *fd, int ncli, int *port2cli);

/*
 * Sends data[c] on fd[c] for the ncli clients through one poll loop, at
 * most chunk bytes a send, so that the clients interleave; once all of a
 * client's data is sent, done(fd[c]) (NULL: nothing; close, cli_shut_wr).
 * Fails the test, "WHO: ...", on a send error or if it takes over ms.
 */
void h_load_send(const char *who, const int *fd, const struct hbuf *data, int ncli, size_t chunk,
    int ms, int (*done)(int fd));

/*
 * Parses the "cNN lNNNN " that starts a load line from the n bytes at t
 * (a record's text) into *c and *l.  True if it is there and names a
 * client below ncli and a line below nlines; the rest is not checked.
 */
bool h_load_line_id(const char *t, size_t n, int ncli, int nlines, int *c, int *l);

/* True if the n bytes at t are exactly line l of client c (no LF). */
bool h_load_line_is(const char *t, size_t n, int c, int l);

/*
 * Checks the len bytes at text, the records of a logger that ncli load
 * clients fed nlines lines each (h_load_lines), port2cli[PORT] being the
 * client whose local port is PORT (-1 for none): every line of every
 * client exactly once, whole and in its client's order, one connected
 * and one disconnected record per client, nothing else.  Otherwise fails
 * the test, "WHO: ..." with the first problems printed to stderr.
 */
void h_load_verify(const char *who, const char *text, size_t len, const int *port2cli, int ncli,
    int nlines);

/*
 * For a report of problems: counts one in *nprob and appends "WHAT 'REC'
 * (LEN bytes)" to rep (REC cut at 100 bytes), for the first 8 only.
 */
void h_note(struct hbuf *rep, int *nprob, const char *what, const char *rec, int len);

/* ---- limits, sources, status --------------------------------------- */

/*
 * Sets resource (RLIMIT_NOFILE, ...) to soft/hard in the next process
 * srv_spawn, srv_start, srv_run or srv_spawn_cmd starts (only that one):
 * applied in the child before exec.  Up to 4 resources; 0, or -1.
 */
int h_next_spawn_rlimit(int resource, unsigned long soft, unsigned long hard);

/*
 * Calls fn(arg) in the next process srv_spawn and the rest start (only
 * that one), in the child right before exec (after the rlimits): to set
 * up what the server alone should see, e.g. a mount namespace of its own
 * (reach its files through /proc/PID/root).  fn may _exit(126) on failure.
 */
void h_next_spawn_hook(void (*fn)(void *), void *arg);

/*
 * Like cli_connect_host, with the socket bound to source address src
 * (numeric, same family as host; port 0) before connecting: loopback
 * accepts any 127.0.0.0/8 source, so tests can play several clients.
 */
int cli_connect_from(const char *src, const char *host, int port, int timeout_ms);

/*
 * Sends SIGUSR1 and waits up to timeout_ms for a new status line of
 * service svc; copies it ("status: service ...", no newline) to out.
 * True if one came.
 */
bool srv_status(struct srv *s, const char *svc, char *out, size_t cap, int timeout_ms);

/*
 * The number in front of name in a status line ("connections 2 now" ->
 * "now" is 2; "refused 1 max_clients, 3 denied" -> "denied" is 3), or -1.
 */
long h_status_num(const char *line, const char *name);

/*
 * Sends SIGUSR1 once and returns the number in front of name in the
 * status line of svc that comes within H_DEADLINE_MS (as h_status_num),
 * -1 if none came or it has no such field.
 */
long srv_status_num(struct srv *s, const char *svc, const char *name);

/*
 * Polls the status of svc (SIGUSR1 again and again) until field name
 * equals want or timeout_ms passed: counters that another process or
 * thread updates may lag a moment behind what a client saw.  True if it
 * came to match; got holds the last status line seen.
 */
bool srv_status_num_is(struct srv *s, const char *svc, const char *name, long want, char *got,
    size_t cap, int timeout_ms);

/* User plus system CPU time of pid (all its threads) in ms, -1 if gone. */
long h_proc_cpu_ms(pid_t pid);

/* True while /proc/PID exists (running or a zombie not yet reaped). */
bool h_proc_exists(pid_t pid);

#endif
