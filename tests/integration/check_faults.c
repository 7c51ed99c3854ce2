/* check_faults.c - the real binary against faults: killed children, resets, slowloris, floods, descriptor exhaustion, a full logger device, signal storms. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define D H_DEADLINE_MS

/* ---- a flood of connection attempts, from a process of its own ------ */

#define FLOOD_RING 16 /* connections the flood keeps open */

struct flood {
	pid_t pid;
	atomic_long *count; /* attempts so far, shared with the process */
	bool exited;
};

/*
 * Connects to 127.0.0.1:port and closes again, as fast as it goes, max
 * times or for ms milliseconds: non-blocking connects, the last
 * FLOOD_RING kept open, 15 of 16 closed with RST, the others with FIN.
 */
static _Noreturn void
flood_run(atomic_long *count, int port, long max, int ms)
{
	struct sockaddr_in sin;
	int ring[FLOOD_RING];
	long long end = h_now_ms() + ms;
	struct linger lg = { 1, 0 };
	long n;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (n = 0; n < FLOOD_RING; n++)
		ring[n] = -1;
	for (n = 0; n < max && ((n & 63) != 0 || h_now_ms() < end); n++) {
		int *slot = &ring[n % FLOOD_RING];

		if (*slot >= 0) {
			/* RST mostly: no TIME_WAIT piling up on our side. */
			if (n % 16 != 0)
				setsockopt(*slot, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			close(*slot);
		}
		*slot = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (*slot >= 0)
			(void)connect(*slot, (struct sockaddr *)&sin, sizeof sin);
		atomic_store(count, n + 1);
	}
	_exit(0);
}

static void
flood_start(struct flood *f, int port, long max, int ms)
{
	f->exited = false;
	f->count = mmap(NULL, sizeof *f->count, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	H_ASSERT(f->count != MAP_FAILED, "mmap: %s", H_ERR);
	atomic_init(f->count, 0);
	fflush(stdout);
	fflush(stderr);
	f->pid = fork();
	H_ASSERT(f->pid >= 0, "fork: %s", H_ERR);
	if (f->pid == 0)
		flood_run(f->count, port, max, ms);
}

static long
flood_count(struct flood *f)
{
	return atomic_load(f->count);
}

/* True once the flood has finished (it is reaped then). */
static bool
flood_done(struct flood *f)
{
	if (!f->exited && waitpid(f->pid, NULL, WNOHANG) != 0)
		f->exited = true; /* reaped, or not ours any more */
	return f->exited;
}

/* Stops the flood (if still running); the attempts it made. */
static long
flood_stop(struct flood *f)
{
	long n;

	if (!flood_done(f)) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0);
		f->exited = true;
	}
	n = flood_count(f);
	munmap(f->count, sizeof *f->count);
	return n;
}

/* ---- a fork child killed ------------------------------------------- */

struct kids {
	pid_t server;
	pid_t pid[8];
	int n;
	int want;
};

static bool
n_children(void *arg)
{
	struct kids *k = arg;

	k->n = h_proc_children(k->server, k->pid, 8);
	return k->n == k->want;
}

struct logged {
	struct srv *s;
	const char *needle;
};

static bool
log_has(void *arg)
{
	struct logged *l = arg;

	return strstr(srv_log(l->s), l->needle) != NULL;
}

static bool
proc_gone(void *arg)
{
	return !h_proc_exists(*(pid_t *)arg);
}

/*
 * fork: the child serving a connection is killed with SIGKILL mid-stream
 * (replies pending): that client sees its connection end, a client of
 * another child goes on, the parent logs the death and reaps the child
 * (no zombie), its slot under --max-clients 2 comes free and new clients
 * are served.
 */
START_TEST(test_fork_kill)
{
	const char *args[] = { "-m", "fork", "-H", "echo", "-l", "127.0.0.1:0", "--max-clients",
		"2", NULL };
	static char chunk[256 << 10];
	struct kids k = { 0 };
	struct logged lg;
	char needle[64];
	struct srv s;
	pid_t victim;
	int a, b, port;

	H_START_OK(&s, args, "fork");
	port = srv_port(&s, 0);
	a = cli_connect(port);
	H_ASSERT(a >= 0 && cli_echo_ok(a, "a\n"), "fork: first client");
	k.server = s.pid;
	k.want = 1;
	H_ASSERT(h_wait_for(n_children, &k, D), "fork: %d children serving one connection", k.n);
	victim = k.pid[0];
	b = cli_connect(port);
	H_ASSERT(b >= 0 && cli_echo_ok(b, "b\n"), "fork: second client");

	/* Mid-stream: data in flight both ways, replies unread. */
	memset(chunk, 'x', sizeof chunk);
	H_ASSERT(cli_write_all(a, chunk, sizeof chunk, D) == 0, "fork: write: %s", H_ERR);
	H_ASSERT(kill(victim, SIGKILL) == 0, "kill %d: %s", (int)victim, H_ERR);
	H_ASSERT(cli_wait_closed(a, D), "fork: connection of the killed child %d did not end",
	    (int)victim);
	close(a);

	snprintf(needle, sizeof needle, "child %d killed by signal %d", (int)victim, SIGKILL);
	lg.s = &s;
	lg.needle = needle;
	H_ASSERT(h_wait_for(log_has, &lg, D), "fork: the parent did not log '%s'", needle);
	H_ASSERT(h_wait_for(proc_gone, &victim, D),
	    "fork: killed child %d not reaped (still in /proc)", (int)victim);

	H_ASSERT(cli_echo_ok(b, "b still\n"), "fork: other client hurt");
	H_ASSERT(h_wait_for(h_served, &port, D),
	    "fork: no new client served after the child was killed");
	H_EXPECT_STATUS(&s, "fork", "echo", "now", 1);
	H_ASSERT(srv_alive(&s), "fork: server died");
	close(b);
	H_EXPECT_STATUS(&s, "fork", "echo", "now", 0);
	H_STOP_OK(&s, "fork");
}
END_TEST

static bool
no_children_at_all(void *arg)
{
	pid_t kids[8];

	return h_proc_children_all(*(pid_t *)arg, kids, 8) == 0;
}

/*
 * fork: the parent reaps without SIGCHLD (it reaps as it admits, and on
 * its tick while children run): children that ended while nothing else
 * happens, or right before a stop, are reaped all the same, no zombie is
 * left; SIGUSR1 counts only the children that run.
 */
START_TEST(test_fork_reap_idle)
{
	const char *args[] = { "-m", "fork", "-H", "echo", "-l", "127.0.0.1:0", "--max-clients",
		"3", NULL };
	struct srv s;
	int fds[3], port;

	H_START_OK(&s, args, "fork");
	port = srv_port(&s, 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 3; i++) {
			fds[i] = cli_connect(port);
			H_ASSERT(fds[i] >= 0 && cli_echo_ok(fds[i], "x\n"), "fork: client %d", i);
		}
		H_EXPECT_STATUS(&s, "fork", "echo", "now", 3);
		/* The three places are taken: a fourth is refused. */
		int d = cli_connect(port);
		H_ASSERT(d >= 0 && cli_wait_closed(d, D), "fork: a fourth client was not refused");
		close(d);
		for (int i = 0; i < 3; i++)
			close(fds[i]);
		/* Nothing more comes in: the ended children are reaped anyway. */
		H_ASSERT(h_wait_for(no_children_at_all, &s.pid, D),
		    "fork: children left (zombies) after their clients closed");
		H_EXPECT_STATUS(&s, "fork", "echo", "now", 0);
	}
	/* Ended right before the stop: reaped, and the stop is not held up. */
	fds[0] = cli_connect(port);
	H_ASSERT(fds[0] >= 0 && cli_echo_ok(fds[0], "y\n"), "fork: last client");
	close(fds[0]);
	H_STOP_OK(&s, "fork");
}
END_TEST

/* ---- the thread model's parked threads ------------------------------ */

/* The threads of pid (its /proc/PID/task entries), -1 if unreadable. */
static int
n_threads(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

struct nthreads {
	pid_t pid;
	int want;
	int n;
};

static bool
threads_are(void *arg)
{
	struct nthreads *t = arg;

	t->n = n_threads(t->pid);
	return t->n == t->want;
}

/*
 * thread: a thread whose connection ended parks for the next one.  After
 * sequential clients one parked thread serves them all (every reply is
 * right), 40 concurrent ones leave at most 32 parked, parked threads go
 * after 5 idle seconds, and a stop with threads parked is prompt and
 * clean.
 */
START_TEST(test_thread_parked)
{
	const char *args[] = { "-m", "thread", "-H", "echo", "-l", "127.0.0.1:0", NULL };
	struct nthreads t = { 0 };
	struct srv s;
	int fds[40], port;
	char msg[32];

	H_START_OK(&s, args, "thread");
	port = srv_port(&s, 0);
	t.pid = s.pid;
	for (int i = 0; i < 30; i++) {
		int fd = cli_connect(port);
		snprintf(msg, sizeof msg, "seq %d\n", i);
		H_ASSERT(fd >= 0 && cli_echo_ok(fd, msg), "thread: sequential client %d", i);
		close(fd);
	}
	/* Each client's thread parked for the next: two at most at any time. */
	H_EXPECT_STATUS(&s, "thread", "echo", "now", 0);
	int n = n_threads(s.pid);
	H_ASSERT(n >= 2 && n <= 8, "thread: %d threads after 30 sequential clients", n);
	for (int i = 0; i < 40; i++) {
		fds[i] = cli_connect(port);
		snprintf(msg, sizeof msg, "conc %d\n", i);
		H_ASSERT(fds[i] >= 0 && cli_echo_ok(fds[i], msg), "thread: concurrent client %d",
		    i);
	}
	n = n_threads(s.pid);
	H_ASSERT(n == 41, "thread: %d threads serving 40 clients", n);
	for (int i = 0; i < 40; i++)
		close(fds[i]);
	H_EXPECT_STATUS(&s, "thread", "echo", "now", 0);
	n = n_threads(s.pid);
	H_ASSERT(n >= 2 && n <= 33, "thread: %d threads with 40 ended (32 parked at most)", n);
	/* Unused, they go (5 s). */
	t.want = 1;
	H_ASSERT(h_wait_for(threads_are, &t, 5000 + D), "thread: %d threads after idling", t.n);
	/* Parked again, then stopped. */
	fds[0] = cli_connect(port);
	H_ASSERT(fds[0] >= 0 && cli_echo_ok(fds[0], "last\n"), "thread: last client");
	close(fds[0]);
	H_EXPECT_STATUS(&s, "thread", "echo", "now", 0);
	H_STOP_OK(&s, "thread");
}
END_TEST

/* ---- resets with replies pending ----------------------------------- */

#define STALL_MS 200

/* Pushes up to total bytes of 'p' without reading (see cli_push). */
static long
push(int fd, long total)
{
	static char buf[256 << 10];

	memset(buf, 'p', sizeof buf);
	return cli_push(fd, buf, sizeof buf, total, STALL_MS, 20000);
}

/*
 * Two clients push into echo without reading until the server stops
 * reading them (replies pending), then reset (SO_LINGER 0): the server
 * and another client are unaffected, a new client is served, and SIGUSR1
 * shows the open connections back at the number really open.  Under
 * iterative the second resetting client is still in the backlog.
 */
START_TEST(test_reset_pending)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-H", "echo", "-l", "127.0.0.1:0", NULL };
	bool conc = !h_model_serial(model);
	struct srv s;
	int a1, a2, b = -1, c, port;
	long sent1, sent2;

	H_START_OK(&s, args, model);
	port = srv_port(&s, 0);
	if (conc) {
		b = cli_connect(port);
		H_ASSERT(b >= 0 && cli_echo_ok(b, "b\n"), "%s: other client", model);
	}
	a1 = cli_connect(port);
	H_ASSERT(a1 >= 0 && cli_echo_ok(a1, "a1\n"), "%s: client", model);
	a2 = cli_connect(port);
	H_ASSERT(a2 >= 0, "%s: connect: %s", model, H_ERR);
	if (conc)
		H_ASSERT(cli_echo_ok(a2, "a2\n"), "%s: client", model);
	sent1 = push(a1, 16L << 20);
	sent2 = push(a2, 16L << 20);
	H_ASSERT(sent1 > 0 && sent2 > 0, "%s: push: %s", model, H_ERR);
	if (h_verbose())
		fprintf(stderr, "reset %s: pushed %ld and %ld KiB unread\n", model, sent1 >> 10,
		    sent2 >> 10);
	cli_reset(a1);
	cli_reset(a2);

	if (conc) {
		H_ASSERT(cli_echo_ok(b, "b2\n"), "%s: other client hurt by the resets", model);
		H_EXPECT_STATUS(&s, model, "echo", "now", 1);
	}
	c = cli_connect(port);
	H_ASSERT(c >= 0 && cli_echo_ok(c, "c\n"), "%s: new client not served after the resets",
	    model);
	H_EXPECT_STATUS(&s, model, "echo", "now", conc ? 2 : 1);
	if (conc) {
		H_ASSERT(cli_echo_ok(b, "b3\n"), "%s: other client hurt", model);
		close(b);
	}
	close(c);
	H_EXPECT_STATUS(&s, model, "echo", "now", 0);
	H_ASSERT(srv_alive(&s), "%s: server died after client resets", model);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- slowloris ------------------------------------------------------- */

#define SLOW_BYTES  5
#define SLOW_GAP_MS 300

/* Sends line to timestamp and reads the reply; true if it is "[TIME] line". */
static bool
ts_ok(int fd, const char *line)
{
	char buf[256], want[256];
	ssize_t n;

	snprintf(want, sizeof want, "] %s", line);
	if (cli_send(fd, line) == -1)
		return false;
	n = cli_read_line(fd, buf, sizeof buf, D);
	return n > 0 && buf[0] == '[' && strstr(buf, want) != NULL &&
	    strcmp(strstr(buf, want), want) == 0;
}

/*
 * --idle-timeout 1 against timestamp: a client sending one byte every
 * 300 ms (an unfinished line: no reply) is not cut while it goes on for
 * 1.5 s, and its line is whole at the end; once it stops, it is cut after
 * about a second (not before 0.8 s, surely within 4 s).  In the
 * concurrent models a silent client next to it is cut meanwhile, after
 * about a second too.
 */
START_TEST(test_slowloris)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-H", "timestamp", "-l", "127.0.0.1:0",
		"--idle-timeout", "1", NULL };
	long long tq = 0, q_cut = -1, t0, elapsed;
	long long bound = 4000 * h_time_scale();
	char line[SLOW_BYTES + 2];
	struct srv s;
	int q = -1, sl;

	H_START_OK(&s, args, model);
	if (!h_model_serial(model)) {
		q = cli_connect(srv_port(&s, 0));
		/* Its last activity is after tq: the cut comes >= 1 s later. */
		tq = h_now_ms();
		H_ASSERT(q >= 0 && ts_ok(q, "quiet\n"), "%s: quiet client", model);
	}
	sl = cli_connect(srv_port(&s, 0));
	H_ASSERT(sl >= 0 && ts_ok(sl, "slow\n"), "%s: slow client", model);
	t0 = h_now_ms();
	for (int i = 0; i < SLOW_BYTES; i++) {
		long long next = h_now_ms() + SLOW_GAP_MS;

		line[i] = (char)('a' + i);
		H_ASSERT(cli_write_all(sl, line + i, 1, D) == 0,
		    "%s: slow client cut after %d bytes, %lld ms: %s", model, i, h_now_ms() - t0,
		    H_ERR);
		while (h_now_ms() < next) {
			struct pollfd pf[2] = { { sl, POLLIN, 0 }, { q, POLLIN, 0 } };
			long long left = next - h_now_ms();

			if (poll(pf, q >= 0 ? 2 : 1, left > 0 ? (int)left : 0) <= 0)
				continue;
			H_ASSERT(pf[0].revents == 0,
			    "%s: slow client got data or was cut after %d "
			    "bytes, %lld ms",
			    model, i + 1, h_now_ms() - t0);
			if (q >= 0 && pf[1].revents != 0) {
				H_ASSERT(cli_wait_closed(q, 0), "%s: quiet client got data", model);
				q_cut = h_now_ms() - tq;
				close(q);
				q = -1;
			}
		}
	}
	line[SLOW_BYTES] = '\n';
	line[SLOW_BYTES + 1] = '\0';
	/* The last byte of the line: the reply shows it was whole. */
	{
		char buf[256];

		t0 = h_now_ms();
		H_ASSERT(cli_send(sl, "\n") == 0 && cli_read_line(sl, buf, sizeof buf, D) > 0 &&
		        strstr(buf, "] abcde\n") != NULL,
		    "%s: slow client's line not answered after %lld ms", model, h_now_ms() - t0);
	}
	if (q >= 0) {
		H_ASSERT(cli_wait_closed(q, (int)(bound - (h_now_ms() - tq))),
		    "%s: quiet client still connected after %lld ms", model, h_now_ms() - tq);
		q_cut = h_now_ms() - tq;
		close(q);
	}
	if (q_cut >= 0)
		H_ASSERT(q_cut >= 800,
		    "%s: quiet client cut after %lld ms, "
		    "before the 1 s timeout",
		    model, q_cut);
	H_ASSERT(cli_wait_closed(sl, (int)bound),
	    "%s: slow client not cut within %lld ms once it stopped", model, bound);
	elapsed = h_now_ms() - t0;
	H_ASSERT(elapsed >= 800,
	    "%s: slow client cut %lld ms after it "
	    "stopped, before the 1 s timeout",
	    model, elapsed);
	if (h_verbose())
		fprintf(stderr,
		    "slowloris %s: quiet cut after %lld ms, slow "
		    "cut %lld ms after it stopped\n",
		    model, q_cut, elapsed);
	close(sl);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- a connection flood ---------------------------------------------- */

#define FLOOD_N  10000
#define FLOOD_MS 5000

/* For polling: the max_clients counter of echo is above zero. */
static bool
refused_some(void *arg)
{
	return srv_status_num(arg, "echo", "max_clients") > 0;
}

#define HOGS 3 /* with the well-behaved client: max_clients */

/*
 * A flood of 10,000 connection attempts (connect and close, some left
 * open, most reset) beyond --max-clients 4 (three idle clients and the
 * well-behaved one fill it) while the well-behaved client does
 * request/response every few milliseconds: every one of its exchanges
 * succeeds, the flood's connections are refused and counted, and
 * afterwards the server serves new clients and counts no connection that
 * is not there.  Under iterative the flood waits in the backlog behind
 * the well-behaved client.
 */
START_TEST(test_flood)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-H", "echo", "-l", "127.0.0.1:0", "--max-clients", "4",
		NULL };
	bool conc = !h_model_serial(model);
	int g, port, rounds = 0, hogs[HOGS], i;
	struct flood f;
	struct srv s;
	long attempts;
	long long end;

	H_START_OK(&s, args, model);
	port = srv_port(&s, 0);
	g = cli_connect(port);
	H_ASSERT(g >= 0 && cli_echo_ok(g, "hello\n"), "%s: client", model);
	for (i = 0; conc && i < HOGS; i++) {
		hogs[i] = cli_connect(port);
		H_ASSERT(hogs[i] >= 0 && cli_echo_ok(hogs[i], "hog\n"), "%s: idle client %d", model,
		    i + 1);
	}

	flood_start(&f, port, FLOOD_N, FLOOD_MS);
	end = h_now_ms() + FLOOD_MS + D;
	while (!flood_done(&f) && h_now_ms() < end) {
		char msg[32];

		snprintf(msg, sizeof msg, "ping %d\n", rounds++);
		H_ASSERT(cli_echo_ok(g, msg),
		    "%s: well-behaved client failed at exchange %d, %ld "
		    "attempts into the flood",
		    model, rounds, flood_count(&f));
		h_nap(2);
	}
	attempts = flood_stop(&f);
	if (h_verbose())
		fprintf(stderr,
		    "flood %s: %ld attempts, %d exchanges of the "
		    "well-behaved client\n",
		    model, attempts, rounds);
	H_ASSERT(rounds > 0 && attempts > 0, "%s: %ld attempts, %d exchanges", model, attempts,
	    rounds);
	H_ASSERT(cli_echo_ok(g, "after\n"),
	    "%s: client failed after the "
	    "flood",
	    model);
	if (conc) {
		H_ASSERT(h_wait_for(refused_some, &s, D),
		    "%s: no refusal over max_clients counted in a flood of "
		    "%ld attempts",
		    model, attempts);
		for (i = 0; i < HOGS; i++) {
			H_ASSERT(cli_echo_ok(hogs[i], "hog again\n"),
			    "%s: idle client %d hurt by the flood", model, i + 1);
			close(hogs[i]);
		}
		H_ASSERT(h_wait_for(h_served, &port, D), "%s: no new client served after the flood",
		    model);
		/* Every flood connection is gone: only g is open. */
		H_EXPECT_STATUS(&s, model, "echo", "now", 1);
		close(g);
	} else {
		close(g);
		H_ASSERT(h_wait_for(h_served, &port, D), "%s: no new client served after the flood",
		    model);
	}
	H_EXPECT_STATUS(&s, model, "echo", "now", 0);
	H_STOP_OK(&s, model);
}
END_TEST

/*
 * SIGTERM in the middle of a flood (connections being opened, some held
 * open): the server exits 0 within shutdown_timeout (1 s) plus a margin,
 * and leaves no process behind.
 */
START_TEST(test_sigterm_flood)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-H", "echo", "-l", "127.0.0.1:0", "--max-clients", "8",
		"--shutdown-timeout", "1", NULL };
	pid_t left[16];
	struct flood f;
	struct srv s;
	long long t0;
	int r, n;

	H_START_OK(&s, args, model);
	flood_start(&f, srv_port(&s, 0), 1000000, 4 * D);
	for (t0 = h_now_ms(); flood_count(&f) < 500 && h_now_ms() - t0 < D;)
		h_nap(1);
	H_ASSERT(flood_count(&f) >= 500, "%s: the flood did not start", model);
	H_ASSERT(kill(s.pid, SIGTERM) == 0, "kill: %s", H_ERR);
	t0 = h_now_ms();
	/* shutdown_timeout, the fork parent's extra second, the margin. */
	r = srv_wait(&s, (int)(1000 + 1000 + D * h_time_scale()));
	H_ASSERT(r == 0,
	    "%s: %s within %ld ms of SIGTERM during a flood "
	    "(%ld attempts)",
	    model, r == -1 ? "no exit" : "bad exit status", 2000 + D * h_time_scale(),
	    flood_count(&f));
	if (h_verbose())
		fprintf(stderr,
		    "sigterm_flood %s: exit after %lld ms, %ld "
		    "attempts\n",
		    model, h_now_ms() - t0, flood_count(&f));
	flood_stop(&f);
	/* What it left would be ours now (we are the subreaper). */
	n = h_orphans(left, 16);
	H_ASSERT(n == 0, "%s: the server left %d process(es) behind (pid %d)", model, n,
	    n > 0 ? (int)left[0] : 0);
	srv_stop(&s, SIGKILL, D);
}
END_TEST

/* ---- descriptor exhaustion ------------------------------------------ */

#define NOFILE 32
#define NCONN  40 /* more than NOFILE */

/*
 * RLIMIT_NOFILE 32 (soft and hard, so the server cannot raise it) and 40
 * connections: each is either served or closed at once, none is left
 * hanging; "out of descriptors" is warned and counted (no_fds, exactly
 * the refused ones; not under valgrind); over a one-second hold with
 * more connections coming in the server uses little CPU (no busy loop);
 * once connections close, new ones are served again.
 *
 * Models serving each connection in a child, or one at a time (serial),
 * hold no descriptor per connection in the accepting process: there every
 * one of the 40 is served.
 */
START_TEST(test_fd_exhaustion)
{
	const char *model = h_model(_i);
	const char *args[] = { "-m", model, "-H", "echo", "-l", "127.0.0.1:0", NULL };
	bool holds = !h_model_serial(model) && !h_model_in_children(model);
	int fds[NCONN], nserved = 0, nrefused = 0, port, i;
	long cpu0, cpu1, cpu_bound = 300 * h_time_scale();
	long long hold_end;
	struct srv s;
	char line[1024];

	H_ASSERT(h_next_spawn_rlimit(RLIMIT_NOFILE, NOFILE, NOFILE) == 0, "rlimit");
	H_ASSERT(srv_start(&s, args) == 0, "%s: server did not start with %d descriptors", model,
	    NOFILE);
	port = srv_port(&s, 0);

	if (h_model_serial(model)) {
		for (i = 0; i < NCONN; i++)
			H_ASSERT(h_served(&port), "%s: connection %d not served", model, i + 1);
		H_ASSERT(strstr(srv_log(&s), "out of descriptors") == NULL,
		    "%s: out of descriptors serving one at a time", model);
		H_STOP_OK(&s, model);
		return;
	}

	for (i = 0; i < NCONN; i++) {
		enum h_outcome o;

		fds[i] = cli_connect(port);
		H_ASSERT(fds[i] >= 0, "%s: connect %d: %s", model, i + 1, H_ERR);
		o = cli_probe(fds[i]);
		H_ASSERT(o != H_HUNG,
		    "%s: connection %d neither served nor "
		    "closed (%d served, %d refused before)",
		    model, i + 1, nserved, nrefused);
		if (o == H_SERVED) {
			nserved++;
		} else {
			nrefused++;
			close(fds[i]);
			fds[i] = -1;
		}
	}
	if (h_verbose())
		fprintf(stderr, "fd_exhaustion %s: %d served, %d refused\n", model, nserved,
		    nrefused);
	if (!holds) {
		H_ASSERT(nserved == NCONN, "%s: %d of %d connections served", model, nserved,
		    NCONN);
		for (i = 0; i < NCONN; i++)
			close(fds[i]);
		H_ASSERT(strstr(srv_log(&s), "out of descriptors") == NULL,
		    "%s: out of descriptors with a process per connection", model);
		H_STOP_OK(&s, model);
		return;
	}
	H_ASSERT(nserved >= 1 && nrefused >= 1, "%s: %d served, %d refused with %d descriptors",
	    model, nserved, nrefused, NOFILE);

	/* The hold: at the limit, connections keep coming. */
	cpu0 = h_proc_cpu_ms(s.pid);
	hold_end = h_now_ms() + 1000;
	while (h_now_ms() < hold_end) {
		int fd = cli_connect(port);
		enum h_outcome o;

		H_ASSERT(fd >= 0, "%s: connect: %s", model, H_ERR);
		o = cli_probe(fd);
		close(fd);
		H_ASSERT(o == H_REFUSED, "%s: connection at the limit %s", model,
		    o == H_SERVED ? "served" : "left hanging");
		nrefused++;
		h_nap(100);
	}
	cpu1 = h_proc_cpu_ms(s.pid);
	if (h_verbose())
		fprintf(stderr,
		    "fd_exhaustion %s: %ld ms of CPU in the "
		    "1-s hold\n",
		    model, cpu1 - cpu0);
	H_ASSERT(cpu0 >= 0 && cpu1 >= 0 && cpu1 - cpu0 < cpu_bound,
	    "%s: %ld ms of CPU in a 1-s hold out of descriptors: a busy "
	    "loop?",
	    model, cpu1 - cpu0);
	/*
	 * Under valgrind (tests/valgrind-dispatchd) the server's descriptor
	 * limit is lower than ours, and valgrind itself closes what accept
	 * returns above it: those refusals the server never sees.
	 */
	if (!h_under_valgrind()) {
		H_ASSERT(strstr(srv_log(&s), "out of descriptors") != NULL,
		    "%s: no warning 'out of descriptors'", model);
		H_EXPECT_STATUS(&s, model, "echo", "no_fds", nrefused);
	}

	for (i = 0; i < NCONN; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	H_ASSERT(h_wait_for(h_served, &port, D), "%s: no client served once the connections closed",
	    model);
	/* Every connection ended (a thread, say, closes its descriptor a
	 * moment after its client left): all descriptors are back. */
	H_ASSERT(srv_status_num_is(&s, "echo", "now", 0, line, sizeof line, D),
	    "%s: connections still open after the clients left:\n%s", model, line);
	/* Served as many as before at once again: the descriptors came back. */
	for (i = 0; i < nserved; i++) {
		fds[i] = cli_connect(port);
		H_ASSERT(fds[i] >= 0 && cli_probe(fds[i]) == H_SERVED,
		    "%s: only %d of the %d connections served again", model, i, nserved);
	}
	for (i = 0; i < nserved; i++)
		close(fds[i]);
	H_STOP_OK(&s, model);
}
END_TEST

/* ---- the logger on a full device ------------------------------------ */

/* Sends text to a logger with ack, half-closes; what came back before EOF. */
static bool
log_lines(int port, const char *text, struct hbuf *in)
{
	int fd = cli_connect(port);
	bool ok;

	in->len = 0;
	if (fd < 0)
		return false;
	ok = cli_exchange(fd, text, strlen(text), true, in, D) == 0;
	close(fd);
	return ok;
}

/*
 * --logger-output /dev/full (logger with ack, an echo service next to
 * it): every record is lost with a clear diagnostic ("record lost", the
 * error), no OK is sent for a lost record, the server does not crash and
 * the echo service is unaffected.
 */
START_TEST(test_logger_full)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	const char *args[] = { "-m", model, "-c", NULL, NULL };
	bool conc = !h_model_serial(model);
	struct hbuf in = { 0 };
	struct logged lg;
	struct srv s;
	int e = -1, lport, eport;

	H_ASSERT(dir != NULL, "tmpdir");
	args[3] = h_write_conf(dir,
	    "service \"logger\" {\n"
	    "  listen = {\"127.0.0.1:0\"}\n"
	    "  handler = \"logger\"\n"
	    "  output = \"/dev/full\"\n"
	    "  ack = true\n"
	    "}\n"
	    "service \"echo\" {\n"
	    "  listen = {\"127.0.0.1:0\"}\n"
	    "  handler = \"echo\"\n"
	    "}\n");
	H_ASSERT(srv_start_n(&s, args, 2) == 0, "%s: server did not start", model);
	lport = srv_port(&s, srv_find(&s, "logger"));
	eport = srv_port(&s, srv_find(&s, "echo"));
	if (conc) {
		e = cli_connect(eport);
		H_ASSERT(e >= 0 && cli_echo_ok(e, "e\n"), "%s: echo", model);
	}
	for (int i = 0; i < 2; i++) {
		H_ASSERT(log_lines(lport, "one\ntwo\n", &in), "%s: logger connection %d failed: %s",
		    model, i + 1, H_ERR);
		H_ASSERT(in.len == 0, "%s: lost records acknowledged: '%s'", model, in.p);
		if (conc)
			H_ASSERT(cli_echo_ok(e, "e again\n"), "%s: echo service hurt", model);
	}
	lg.s = &s;
	lg.needle = "logger output /dev/full: record lost";
	H_ASSERT(h_wait_for(log_has, &lg, D), "%s: no '%s' diagnostic", model, lg.needle);
	H_ASSERT(strstr(srv_log(&s), "No space left on device") != NULL,
	    "%s: the diagnostic does not give the error", model);
	if (conc)
		close(e);
	H_ASSERT(h_wait_for(h_served, &eport, D), "%s: echo service hurt", model);
	H_ASSERT(srv_alive(&s), "%s: server died", model);
	H_STOP_OK(&s, model);
	hbuf_free(&in);
}
END_TEST

struct resume {
	int port;
	int n; /* probes sent */
	bool failed;
	struct hbuf in;
};

/* Logs one more probe on a connection of its own; true once it is acked. */
static bool
resumed(void *arg)
{
	struct resume *r = arg;
	char line[64];

	snprintf(line, sizeof line, "probe %d\n", ++r->n);
	if (!log_lines(r->port, line, &r->in)) {
		r->failed = true;
		return true; /* stop polling; the caller reports */
	}
	return r->in.len == 3 && memcmp(r->in.p, "OK\n", 3) == 0;
}

/* Fills the file system of path: writes until ENOSPC.  0, or -1. */
static int
fill(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t w;

	if (fd == -1)
		return -1;
	do
		w = write(fd, buf, sizeof buf);
	while (w > 0 || (w == -1 && errno == EINTR));
	/* The last partial page too. */
	while ((w = write(fd, buf, 1)) == 1)
		;
	close(fd);
	return errno == ENOSPC ? 0 : -1;
}

/*
 * In a mount namespace of its own (private propagation), a 64 KiB tmpfs
 * on the directory arg: it lives and dies with the process (and its
 * children).  0, or -1 with errno.
 */
static int
tiny_tmpfs(const char *dir)
{
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=64k") == -1)
		return -1;
	return 0;
}

/* The server's side of it: the spawn hook. */
static void
tiny_tmpfs_hook(void *dir)
{
	if (tiny_tmpfs(dir) == -1) {
		dprintf(2, "tmpfs on %s: %s\n", (const char *)dir, strerror(errno));
		_exit(126);
	}
}

/* Whether a tiny tmpfs can be had here (tried in a child); errno if not. */
static bool
can_tmpfs(const char *dir)
{
	int st, err[2];
	pid_t p;

	if (pipe2(err, O_CLOEXEC) == -1)
		return false;
	fflush(stdout);
	fflush(stderr);
	p = fork();
	if (p == 0) {
		int e = tiny_tmpfs(dir) == 0 ? 0 : errno;

		(void)write(err[1], &e, sizeof e);
		_exit(0);
	}
	close(err[1]);
	st = EIO;
	if (p == -1 || read(err[0], &st, sizeof st) != sizeof st)
		st = p == -1 ? errno : EIO;
	close(err[0]);
	if (p > 0)
		waitpid(p, NULL, 0);
	errno = st;
	return st == 0;
}

/*
 * A tiny tmpfs (64 KiB, seen by the server alone: its own mount
 * namespace, reached here through /proc/PID/root) as the logger output:
 * once it is full, records are lost with "record lost" and no OK, the
 * echo service is unaffected; once space returns, records are written
 * and acknowledged again, whole.
 */
START_TEST(test_logger_resume)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	char fs[256], out[300], text[1024], mine_out[400], mine_fill[400];
	const char *args[] = { "-m", model, "-c", NULL, NULL };
	struct resume r = { 0 };
	struct hbuf in = { 0 };
	struct logged lg;
	struct srv s;
	int lport, eport;
	char *t, *p;

	H_ASSERT(dir != NULL, "tmpdir");
	snprintf(fs, sizeof fs, "%s/fs", dir);
	snprintf(out, sizeof out, "%s/out.log", fs);
	H_ASSERT(mkdir(fs, 0700) == 0, "mkdir: %s", H_ERR);
	if (!can_tmpfs(fs)) {
		printf("SKIP: logger_resume %s: cannot mount a tmpfs in a "
		       "mount namespace (%s); needs root (CAP_SYS_ADMIN)\n",
		    model, H_ERR);
		fflush(stdout);
		return;
	}
	snprintf(text, sizeof text,
	    "service \"logger\" {\n"
	    "  listen = {\"127.0.0.1:0\"}\n"
	    "  handler = \"logger\"\n"
	    "  output = \"%s\"\n"
	    "  ack = true\n"
	    "}\n"
	    "service \"echo\" {\n"
	    "  listen = {\"127.0.0.1:0\"}\n"
	    "  handler = \"echo\"\n"
	    "}\n",
	    out);
	args[3] = h_write_conf(dir, text);
	h_next_spawn_hook(tiny_tmpfs_hook, fs);
	H_ASSERT(srv_start_n(&s, args, 2) == 0, "%s: server did not start", model);
	lport = srv_port(&s, srv_find(&s, "logger"));
	eport = srv_port(&s, srv_find(&s, "echo"));
	snprintf(mine_out, sizeof mine_out, "/proc/%d/root%s", (int)s.pid, out);
	snprintf(mine_fill, sizeof mine_fill, "/proc/%d/root%s/filler", (int)s.pid, fs);

	H_ASSERT(fill(mine_fill) == 0, "%s: filling the tmpfs: %s", model, H_ERR);
	H_ASSERT(log_lines(lport, "lost line\n", &in), "%s: logger connection failed: %s", model,
	    H_ERR);
	H_ASSERT(in.len == 0,
	    "%s: a record on a full device acknowledged: "
	    "'%s'",
	    model, in.p);
	lg.s = &s;
	lg.needle = "record lost";
	H_ASSERT(h_wait_for(log_has, &lg, D), "%s: no '%s' diagnostic", model, lg.needle);
	H_ASSERT(h_wait_for(h_served, &eport, D), "%s: echo service hurt", model);

	H_ASSERT(unlink(mine_fill) == 0, "unlink: %s", H_ERR);
	r.port = lport;
	H_ASSERT(h_wait_for(resumed, &r, D) && !r.failed,
	    "%s: records not acknowledged again once space returned (%d "
	    "probes%s)",
	    model, r.n, r.failed ? ", connection failed" : "");

	/* Read while the server (and with it the tmpfs) is there. */
	t = h_read_file(mine_out, NULL);
	H_ASSERT(t != NULL, "%s: read %s: %s", model, mine_out, H_ERR);
	snprintf(text, sizeof text, ": probe %d\n", r.n);
	H_ASSERT(strstr(t, text) != NULL && strstr(t, "lost line") == NULL,
	    "%s: wrong records after the device was full:\n%s", model, t);
	/* Every record whole. */
	for (p = t; *p != '\0';) {
		char *eol = strchr(p, '\n');
		struct h_record rec;

		H_ASSERT(eol != NULL, "%s: unterminated record '%s'", model, p);
		H_ASSERT(h_parse_record(p, (size_t)(eol - p), &rec), "%s: torn record '%.*s'",
		    model, (int)(eol - p), p);
		p = eol + 1;
	}
	free(t);
	H_STOP_OK(&s, model);
	hbuf_free(&in);
	hbuf_free(&r.in);
}
END_TEST

/* ---- signal storms during heavy logging ----------------------------- */

#define STORM_CLIENTS 20
#define STORM_LINES   500

/* The text of line l of client c (without LF). */
static int
storm_line(char *buf, size_t cap, int c, int l)
{
	static const char fill[] = "the quick brown fox jumps over the lazy "
	                           "dog\t0123456789 THE QUICK BROWN FOX";

	return snprintf(buf, cap, "c%02d l%03d %.*s", c, l,
	    (int)((c * 7 + l * 13) % (int)(sizeof fill - 1)), fill);
}

/* A process sending SIGHUP and SIGUSR1 to pid about every 0.5 ms. */
static pid_t
storm_start(pid_t pid, int ms)
{
	pid_t p;

	fflush(stdout);
	fflush(stderr);
	p = fork();
	if (p == 0) {
		long long end = h_now_ms() + ms;

		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		while (h_now_ms() < end) {
			struct timespec ts = { 0, 500000 };

			if (kill(pid, SIGHUP) == -1)
				break;
			nanosleep(&ts, NULL);
			if (kill(pid, SIGUSR1) == -1)
				break;
			nanosleep(&ts, NULL);
		}
		_exit(0);
	}
	return p;
}

#define STORM_TICK_MS  5 /* the clients' pace: */
#define STORM_PER_TICK 5 /* lines per client per tick (0.5 s in all) */

struct client {
	int fd;
	struct hbuf out;
	size_t ends[STORM_LINES]; /* where each line ends in out */
	size_t off;
	bool shut, eof;
};

/*
 * Runs every client to its end at STORM_PER_TICK lines every
 * STORM_TICK_MS: writes its lines, half-closes, reads until the server
 * closes.  0, or -1 (deadline or error, errno says).
 */
static int
pump(struct client *cl, int n, int timeout_ms)
{
	long long t0 = h_now_ms(), end = t0 + timeout_ms;
	struct pollfd pf[STORM_CLIENTS];
	char chunk[4096];
	int left = n;

	while (left > 0) {
		long long now = h_now_ms();
		long tick = (long)((now - t0) / STORM_TICK_MS);
		long lines = (tick + 1) * STORM_PER_TICK;
		size_t allowed;
		int k, r, wait;

		if (now >= end) {
			errno = ETIMEDOUT;
			return -1;
		}
		/* Until the next tick when someone waits for its allowance. */
		wait = (int)(end - now);
		for (k = 0; k < n; k++) {
			struct client *c = &cl[k];

			allowed = lines >= STORM_LINES ? c->out.len : c->ends[lines - 1];
			pf[k].fd = c->eof ? -1 : c->fd;
			pf[k].events = POLLIN;
			if (!c->shut && c->off < allowed)
				pf[k].events |= POLLOUT;
			else if (!c->shut)
				wait = (int)(t0 + (tick + 1) * STORM_TICK_MS - now);
			pf[k].revents = 0;
		}
		r = poll(pf, (nfds_t)n, wait > 0 ? wait : 0);
		if (r == -1 && errno != EINTR)
			return -1;
		for (k = 0; k < n && r > 0; k++) {
			struct client *c = &cl[k];

			allowed = lines >= STORM_LINES ? c->out.len : c->ends[lines - 1];
			if (pf[k].revents & POLLOUT) {
				ssize_t w = send(c->fd, c->out.p + c->off, allowed - c->off,
				    MSG_NOSIGNAL);

				if (w > 0)
					c->off += (size_t)w;
				else if (w == -1 && errno != EAGAIN && errno != EINTR)
					return -1;
				if (c->off == c->out.len) {
					shutdown(c->fd, SHUT_WR);
					c->shut = true;
				}
			}
			if (pf[k].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t got = recv(c->fd, chunk, sizeof chunk, 0);

				if (got > 0) {
					errno = EPROTO; /* logger replies nothing */
					return -1;
				}
				if (got == 0 && !c->shut) {
					errno = ECONNABORTED;
					return -1;
				}
				if (got == 0) {
					c->eof = true;
					left--;
				} else if (errno != EAGAIN && errno != EINTR) {
					return -1;
				}
			}
		}
	}
	return 0;
}

/*
 * 20 clients send 500 lines each into logger, paced over half a second,
 * while another process sends SIGHUP and SIGUSR1 about every millisecond:
 * every line is recorded exactly once and whole, with a connected and a
 * disconnected record per client, in the one file (SIGHUP without a
 * rename reopens the same file); nothing is reported lost; SIGTERM then
 * gives exit status 0.
 */
START_TEST(test_signal_storm)
{
	const char *model = h_model(_i);
	const char *dir = h_tmpdir();
	const char *out = h_path(dir, "storm.log");
	const char *args[] = { "-m", model, "-H", "logger", "-l", "127.0.0.1:0", "--logger-output",
		out, NULL };
	static struct client cl[STORM_CLIENTS];
	static unsigned char seen[STORM_CLIENTS][STORM_LINES];
	int nconn = 0, ndisc = 0, nlines = 0, port, c, l, r;
	size_t hups0, usr0, hups, usr;
	struct logged lg;
	char line[256];
	pid_t storm;
	struct srv s;
	char *t, *p;
	long long t0;

	H_ASSERT(dir != NULL, "tmpdir");
	H_START_OK(&s, args, model);
	port = srv_port(&s, 0);
	memset(seen, 0, sizeof seen);
	for (c = 0; c < STORM_CLIENTS; c++) {
		memset(&cl[c], 0, sizeof cl[c]);
		for (l = 0; l < STORM_LINES; l++) {
			int n = storm_line(line, sizeof line - 1, c, l);

			line[n] = '\n';
			hbuf_add(&cl[c].out, line, (size_t)n + 1);
			cl[c].ends[l] = cl[c].out.len;
		}
	}
	storm = storm_start(s.pid, 30000);
	H_ASSERT(storm > 0, "fork: %s", H_ERR);
	lg.s = &s;
	lg.needle = "status: service";
	H_ASSERT(h_wait_for(log_has, &lg, D), "%s: the storm did not start", model);
	hups0 = h_count(srv_log(&s), "SIGHUP: reopening");
	usr0 = h_count(s.log, "status: service");
	t0 = h_now_ms();
	for (c = 0; c < STORM_CLIENTS; c++) {
		cl[c].fd = cli_connect(port);
		H_ASSERT(cl[c].fd >= 0, "%s: connect %d: %s", model, c, H_ERR);
	}
	r = pump(cl, STORM_CLIENTS, 20000);
	H_ASSERT(r == 0, "%s: clients failed during the storm: %s", model, H_ERR);
	hups = h_count(srv_log(&s), "SIGHUP: reopening") - hups0;
	usr = h_count(s.log, "status: service") - usr0;
	kill(storm, SIGKILL);
	waitpid(storm, NULL, 0);
	if (h_verbose())
		fprintf(stderr,
		    "signal_storm %s: %d lines in %lld ms, %zu "
		    "reopens and %zu status lines meanwhile\n",
		    model, STORM_CLIENTS * STORM_LINES, h_now_ms() - t0, hups, usr);
	/* The storm really blew while the lines came in. */
	H_ASSERT(hups > 0 && usr > 0,
	    "%s: %zu reopens and %zu status lines "
	    "while logging",
	    model, hups, usr);
	for (c = 0; c < STORM_CLIENTS; c++) {
		close(cl[c].fd);
		hbuf_free(&cl[c].out);
	}
	H_ASSERT(srv_alive(&s), "%s: server died in the storm", model);
	H_ASSERT(strstr(srv_log(&s), "record lost") == NULL && strstr(s.log, "short write") == NULL,
	    "%s: records lost in the storm", model);
	r = srv_stop(&s, SIGTERM, D);
	H_ASSERT(r == 0, "%s: exit status %d after SIGTERM, want 0", model, r);

	t = h_read_file(out, NULL);
	H_ASSERT(t != NULL, "%s: read %s: %s", model, out, H_ERR);
	for (p = t; *p != '\0';) {
		char *eol = strchr(p, '\n');
		struct h_record rec;
		size_t n;

		H_ASSERT(eol != NULL, "%s: unterminated record at the end", model);
		H_ASSERT(h_parse_record(p, (size_t)(eol - p), &rec), "%s: torn record '%.*s'",
		    model, (int)(eol - p), p);
		p = eol + 1;
		if (rec.kind == H_REC_CONNECTED) {
			nconn++;
			continue;
		}
		if (rec.kind == H_REC_DISCONNECTED) {
			ndisc++;
			continue;
		}
		H_ASSERT(sscanf(rec.text, "c%d l%d", &c, &l) == 2 && c >= 0 && c < STORM_CLIENTS &&
		        l >= 0 && l < STORM_LINES,
		    "%s: unknown record '%.*s'", model, (int)rec.textlen, rec.text);
		n = (size_t)storm_line(line, sizeof line, c, l);
		H_ASSERT(rec.textlen == n && memcmp(rec.text, line, n) == 0,
		    "%s: record '%.*s', want '%s'", model, (int)rec.textlen, rec.text, line);
		H_ASSERT(seen[c][l] == 0,
		    "%s: line %d of client %d recorded "
		    "twice",
		    model, l, c);
		seen[c][l] = 1;
		nlines++;
	}
	free(t);
	for (c = 0; c < STORM_CLIENTS; c++)
		for (l = 0; l < STORM_LINES; l++)
			H_ASSERT(seen[c][l],
			    "%s: line %d of client %d lost "
			    "(%d of %d recorded)",
			    model, l, c, nlines, STORM_CLIENTS * STORM_LINES);
	H_ASSERT(nconn == STORM_CLIENTS && ndisc == STORM_CLIENTS,
	    "%s: %d connected and %d disconnected records, want %d", model, nconn, ndisc,
	    STORM_CLIENTS);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("faults");

	tcase_add_test(h_tcase(su, "fork_kill", 30), test_fork_kill);
	tcase_add_test(h_tcase(su, "fork_reap_idle", 30), test_fork_reap_idle);
	tcase_add_test(h_tcase(su, "thread_parked", 40), test_thread_parked);
	h_tcase_models(su, "reset_pending", 30, test_reset_pending);
	h_tcase_models(su, "slowloris", 30, test_slowloris);
	h_tcase_models(su, "flood", 60, test_flood);
	h_tcase_models(su, "sigterm_flood", 30, test_sigterm_flood);
	h_tcase_models(su, "fd_exhaustion", 30, test_fd_exhaustion);
	h_tcase_models(su, "logger_full", 30, test_logger_full);
	h_tcase_models(su, "logger_resume", 30, test_logger_resume);
	h_tcase_models(su, "signal_storm", 60, test_signal_storm);
	return h_run_suite(su);
}
