/* probe.c - dispatchd-bench: the server's CPU time, system calls and memory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* A server never has more processes than this in the bench. */
#define PROBE_MAX_PROCS 65536
/* How long perf may take to attach or to answer a command. */
#define PROBE_PERF_WAIT_MS 15000

/* CPU figures of the server's process tree at one instant. */
struct snap {
	double stat_ns;    /* sum of utime+stime+cutime+cstime, in clock ticks */
	double reaped_ns;  /* the cutime+cstime part */
	double sched_ns;   /* sum of the live tasks' run time (schedstat, ns) */
	uint64_t task_sig; /* which tasks were summed, order-free */
	long ntasks;
	int nprocs;
};

struct probe {
	pid_t root;
	pid_t perf; /* 0: none */
	int ctl_fd;
	int ack_fd;
	char dir[64];
	bool uring;   /* perf also counts io_uring's submissions and completions */
	bool counted; /* the window's counts are in perf.out */
	struct snap s0;
};

static int
read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

/* Fields of /proc/PID/stat after the command name. */
struct pstat {
	char state;
	int ppid;
	unsigned long utime, stime;
	long cutime, cstime, threads;
};

static int
read_pstat(int pid, struct pstat *ps)
{
	char path[64], buf[1024];

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	/* The command name may hold spaces and parentheses: skip to the last ')'. */
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	if (sscanf(p + 1, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld %*d %*d %ld",
	        &ps->state, &ps->ppid, &ps->utime, &ps->stime, &ps->cutime, &ps->cstime,
	        &ps->threads) != 7)
		return -1;
	return 0;
}

/*
 * Lists root and all its descendants into pids (at most max), root first.
 * Returns how many, 0 when root is gone.
 */
static int
tree_pids(pid_t root, int *pids, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int *all = NULL, *par = NULL;
	size_t nall = 0, cap = 0;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		struct pstat ps;
		if (*end != '\0' || pid <= 0 || read_pstat((int)pid, &ps) < 0)
			continue;
		if (nall == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			int *a = realloc(all, ncap * sizeof(*a));
			if (a == NULL)
				break;
			all = a;
			int *b = realloc(par, ncap * sizeof(*b));
			if (b == NULL)
				break;
			par = b;
			cap = ncap;
		}
		all[nall] = (int)pid;
		par[nall] = ps.ppid;
		nall++;
	}
	closedir(d);
	for (size_t i = 0; i < nall; i++)
		if (all[i] == root)
			pids[n++] = root;
	/* Breadth first: each pass adds the children of what was found. */
	for (int done = 0; n > 0 && done < n && n < max; done++) {
		for (size_t i = 0; i < nall && n < max; i++)
			if (par[i] == pids[done])
				pids[n++] = all[i];
	}
	free(all);
	free(par);
	return n;
}

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* Adds every live task of process pid: its schedstat run time. */
static void
snap_tasks(int pid, struct snap *s)
{
	char path[64], buf[128];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%ld/schedstat", pid, tid);
		if (read_file(path, buf, sizeof(buf)) < 0)
			continue;
		s->sched_ns += strtod(buf, NULL);
		s->task_sig += mix((uint64_t)tid);
		s->ntasks++;
	}
	closedir(d);
}

static void
snap_take(pid_t root, struct snap *s)
{
	static int pids[PROBE_MAX_PROCS];
	double tick_ns = 1e9 / (double)sysconf(_SC_CLK_TCK);
	int n = tree_pids(root, pids, PROBE_MAX_PROCS);

	memset(s, 0, sizeof(*s));
	s->nprocs = n;
	for (int i = 0; i < n; i++) {
		struct pstat ps;
		if (read_pstat(pids[i], &ps) < 0)
			continue;
		s->stat_ns += (double)(ps.utime + ps.stime) * tick_ns;
		s->reaped_ns += (double)(ps.cutime + ps.cstime) * tick_ns;
		snap_tasks(pids[i], s);
	}
	s->stat_ns += s->reaped_ns;
}

bool
probe_alive(pid_t root)
{
	struct pstat ps;

	return root > 0 && read_pstat(root, &ps) == 0 && ps.state != 'Z' && ps.state != 'X';
}

double
probe_rss_kib(pid_t root, double *pss_kib)
{
	static int pids[PROBE_MAX_PROCS];
	int n = tree_pids(root, pids, PROBE_MAX_PROCS);
	double page_kib = (double)sysconf(_SC_PAGESIZE) / 1024.0;
	double rss = 0, pss = 0;
	char path[64], buf[4096];

	if (n == 0) {
		if (pss_kib)
			*pss_kib = NAN;
		return NAN;
	}
	for (int i = 0; i < n; i++) {
		unsigned long size, resident;
		snprintf(path, sizeof(path), "/proc/%d/statm", pids[i]);
		if (read_file(path, buf, sizeof(buf)) > 0 &&
		    sscanf(buf, "%lu %lu", &size, &resident) == 2)
			rss += (double)resident * page_kib;
		if (pss_kib == NULL)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pids[i]);
		if (read_file(path, buf, sizeof(buf)) > 0) {
			char *p = strstr(buf, "\nPss:");
			if (p)
				pss += strtod(p + 5, NULL);
		}
	}
	if (pss_kib)
		*pss_kib = pss;
	return rss;
}

/* Waits for perf's "ack"; false when it did not come (perf died or hung). */
static bool
perf_wait_ack(struct probe *p)
{
	char buf[64];
	uint64_t deadline = now_ns() + (uint64_t)PROBE_PERF_WAIT_MS * 1000000u;

	while (now_ns() < deadline) {
		struct pollfd pfd = { .fd = p->ack_fd, .events = POLLIN };
		int st;
		if (poll(&pfd, 1, 100) > 0) {
			ssize_t n = read(p->ack_fd, buf, sizeof(buf) - 1);
			if (n > 0) {
				buf[n] = '\0';
				if (strstr(buf, "ack"))
					return true;
			}
		}
		if (waitpid(p->perf, &st, WNOHANG) == p->perf) {
			p->perf = 0;
			return false;
		}
	}
	return false;
}

static bool
perf_command(struct probe *p, const char *cmd)
{
	size_t len = strlen(cmd);

	if (p->perf <= 0)
		return false;
	if (write(p->ctl_fd, cmd, len) != (ssize_t)len)
		return false;
	return perf_wait_ack(p);
}

/* Ends perf (it prints its count on SIGINT); waits at most a few seconds. */
static void
perf_end(struct probe *p)
{
	int st;

	if (p->perf <= 0)
		return;
	kill(p->perf, SIGINT);
	for (int i = 0; i < 500; i++) {
		if (waitpid(p->perf, &st, WNOHANG) == p->perf) {
			p->perf = 0;
			return;
		}
		usleep(10000);
	}
	kill(p->perf, SIGKILL);
	waitpid(p->perf, &st, 0);
	p->perf = 0;
}

/*
 * io_uring's tracepoints: one io_uring_submit_req per submission entry the
 * kernel takes, one io_uring_complete per completion it posts (a multishot
 * receive posts one per chunk).  With DEFER_TASKRUN both run in the
 * server's own task, so attaching to its processes counts them.  They fire
 * only in servers that use io_uring: the others pay nothing for them.
 */
#define URING_EVENTS "io_uring:io_uring_submit_req,io_uring:io_uring_complete"

static bool
uring_events_exist(void)
{
	static const char *const dirs[] = { "/sys/kernel/tracing/events/io_uring",
		"/sys/kernel/debug/tracing/events/io_uring" };
	const char *off = getenv("DISPATCHD_BENCH_NO_URING_EVENTS");

	if (off != NULL && *off != '\0')
		return false;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char path[128];
		snprintf(path, sizeof(path), "%s/io_uring_submit_req", dirs[i]);
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

/* Starts perf stat on the pids listed, events disabled; true once it answers. */
static bool
perf_spawn(struct probe *p, const char *pidlist)
{
	char out[128], err[128], ctl[288], ackp[128];

	snprintf(out, sizeof(out), "%s/perf.out", p->dir);
	snprintf(err, sizeof(err), "%s/perf.err", p->dir);
	snprintf(ackp, sizeof(ackp), "%s/ack", p->dir);
	snprintf(ctl, sizeof(ctl), "fifo:%s/ctl,%s", p->dir, ackp);
	unlink(out);
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("perf", "perf", "stat", "-D", "-1", "-e",
		    p->uring ? "raw_syscalls:sys_enter," URING_EVENTS : "raw_syscalls:sys_enter",
		    "-x", ",", "-o", out, "-p", pidlist, "--control", ctl, (char *)NULL);
		_exit(127);
	}
	p->perf = pid;
	/* A harmless command first: its ack says perf has attached. */
	if (perf_command(p, "disable\n"))
		return true;
	perf_end(p);
	return false;
}

struct probe *
probe_new(pid_t root, bool want_perf, bool whole_tree)
{
	static int pids[PROBE_MAX_PROCS];
	struct probe *p = calloc(1, sizeof(*p));
	char path[128];

	if (p == NULL)
		return NULL;
	p->root = root;
	p->ctl_fd = p->ack_fd = -1;
	if (!want_perf || root <= 0)
		return p;
	snprintf(p->dir, sizeof(p->dir), "/tmp/dispatchd-bench.XXXXXX");
	if (mkdtemp(p->dir) == NULL) {
		p->dir[0] = '\0';
		return p;
	}
	snprintf(path, sizeof(path), "%s/ctl", p->dir);
	if (mkfifo(path, 0600) == 0)
		p->ctl_fd = open(path, O_RDWR | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/ack", p->dir);
	if (mkfifo(path, 0600) == 0)
		p->ack_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (p->ctl_fd < 0 || p->ack_fd < 0)
		return p;

	/* Processes that exist now are listed; later ones inherit the count
	 * from their parent.  A listed process that exits before perf
	 * attaches makes perf fail: then the root alone. */
	int n = whole_tree ? tree_pids(root, pids, PROBE_MAX_PROCS) : 1;
	size_t cap = (size_t)n * 12 + 16;
	char *list = malloc(cap);
	if (list == NULL)
		return p;
	size_t len = 0;
	if (!whole_tree || n < 1) {
		n = 1;
		pids[0] = root;
	}
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(list + len, cap - len, "%s%d", i ? "," : "", pids[i]);
	/* Without the io_uring events when perf cannot count them. */
	p->uring = uring_events_exist();
	if (!perf_spawn(p, list) && p->uring) {
		p->uring = false;
		perf_spawn(p, list);
	}
	if (p->perf <= 0 && n > 1) {
		snprintf(list, cap, "%d", (int)root);
		perf_spawn(p, list);
	}
	free(list);
	return p;
}

void
probe_start(struct probe *p)
{
	if (p->perf > 0 && !perf_command(p, "enable\n"))
		perf_end(p);
	snap_take(p->root, &p->s0);
}

/* The count perf printed for event; -1 when it has none. */
static long long
perf_count(struct probe *p, const char *event)
{
	char path[128], buf[8192];

	snprintf(path, sizeof(path), "%s/perf.out", p->dir);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (strstr(line, event) == NULL)
			continue;
		if (line[0] < '0' || line[0] > '9')
			return -1; /* "<not counted>" */
		return strtoll(line, NULL, 10);
	}
	return -1;
}

void
probe_stop(struct probe *p, double *cpu_ns, long long *syscalls, const char **method, int *nprocs,
    int *nthreads)
{
	struct snap s1;
	bool counted = false;

	snap_take(p->root, &s1);
	if (p->perf > 0 && perf_command(p, "disable\n"))
		counted = true;
	perf_end(p);
	*syscalls = counted ? perf_count(p, "raw_syscalls:sys_enter") : -1;
	p->counted = counted;
	/* The tasks' own clocks are exact, but only when no task came or went
	 * (nor was reaped) during the window; else the tick-grained totals,
	 * which keep the time of exited threads and reaped children. */
	if (s1.nprocs == 0) {
		*cpu_ns = NAN;
		*method = "none";
	} else if (s1.task_sig == p->s0.task_sig && s1.ntasks == p->s0.ntasks &&
	    s1.reaped_ns == p->s0.reaped_ns) {
		*cpu_ns = s1.sched_ns - p->s0.sched_ns;
		*method = "schedstat";
	} else {
		*cpu_ns = s1.stat_ns - p->s0.stat_ns;
		*method = "stat";
	}
	*nprocs = s1.nprocs;
	*nthreads = (int)s1.ntasks;
}

void
probe_uring(struct probe *p, long long *sqes, long long *cqes)
{
	*sqes = *cqes = -1;
	if (!p->uring || !p->counted)
		return;
	*sqes = perf_count(p, "io_uring:io_uring_submit_req");
	*cqes = perf_count(p, "io_uring:io_uring_complete");
}

void
probe_free(struct probe *p)
{
	char path[128];

	if (p == NULL)
		return;
	perf_end(p);
	if (p->ctl_fd >= 0)
		close(p->ctl_fd);
	if (p->ack_fd >= 0)
		close(p->ack_fd);
	if (p->dir[0]) {
		static const char *const names[] = { "ctl", "ack", "perf.out", "perf.err" };
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", p->dir, names[i]);
			unlink(path);
		}
		rmdir(p->dir);
	}
	free(p);
}
