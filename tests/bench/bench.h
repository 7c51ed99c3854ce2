/* bench.h - dispatchd-bench: the load client's shared declarations. */
#ifndef DISPATCHD_BENCH_H
#define DISPATCHD_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum bench_mode {
	MODE_PINGPONG,
	MODE_LINES,
	MODE_CONNRATE,
	MODE_BULK,
	MODE_HOLD,
	MODE_UDP,   /* datagram request/response, one outstanding per client */
	MODE_FLOOD, /* datagrams one way at full speed, no reply expected */
};

struct bench_opts {
	enum bench_mode mode;
	const char *host; /* numeric IPv4, loopback only */
	int port;
	long conns;           /* concurrent connections (hold: how many to hold) */
	size_t size;          /* message / line / bulk write size in bytes */
	double secs;          /* measured window */
	double warmup;        /* unmeasured run before the window */
	long long ops;        /* stop the window after this many operations (0: time only) */
	double timeout;       /* no progress this long: give up */
	double hold_secs;     /* hold: idle time before the pings */
	int sources;          /* 127.0.0.x source addresses to spread over (0: automatic) */
	size_t window;        /* bulk: unverified bytes in flight at most */
	pid_t server_pid;     /* 0: no server figures */
	bool perf;            /* count the server's system calls with perf stat */
	long max_errors;      /* give up after this many errors */
	double reply_timeout; /* udp: a request unanswered this long is lost */
	const char *label;    /* copied to the RESULT line */
};

/* What one run measured; NAN where not measured. */
struct bench_result {
	double window_s; /* length of the measured window */
	double ops;      /* operations in the window (bulk: MiB) */
	double rate;     /* ops per second */
	double p50_us, p99_us, p999_us, max_us;
	long long errors;
	double cpu_us_per_op;  /* server CPU time per operation */
	double server_cpu_pct; /* server CPU over the window, percent of one core */
	double syscalls_per_op;
	double sqes_per_op, cqes_per_op; /* io_uring submissions, completions */
	double client_cpu_us_per_op;
	const char *cpu_method;  /* "schedstat" (ns) or "stat" (ticks) */
	double steal_pct;        /* of the machine's CPU time, stolen by the hypervisor */
	double machine_busy_pct; /* of the machine's CPU time, not idle */
	int server_procs, server_threads;
	/* hold */
	long held;     /* connections established */
	long answered; /* of which answered the ping */
	double rss_before_kib, rss_idle_kib, rss_after_kib;
	double pss_before_kib, pss_after_kib; /* shared pages split among processes */
	double kib_per_conn, kib_per_conn_idle, pss_kib_per_conn;
	double connect_s;           /* time to establish all held connections */
	long long listen_overflows; /* accept-queue overflows while connecting */
	/* udp, flood: datagrams in the window */
	long long sent;   /* sent by the client */
	long long lost;   /* udp: requests unanswered within the reply timeout */
	long long late;   /* udp: replies that came after their request was lost */
	long long bad;    /* udp: replies that match no request (length, bytes) */
	long long kdrops; /* flood: dropped by the kernel at the server's full socket */
	char note[256];   /* first error, if any */
};

/* Latency histogram: log-linear buckets, about 1.6% wide, in ns. */
#define HIST_SUB     64
#define HIST_BUCKETS (HIST_SUB * 40)
struct hist {
	uint64_t count[HIST_BUCKETS];
	uint64_t n;
	uint64_t max;
};

/* Machine-wide CPU time from /proc/stat, in clock ticks. */
struct machine_cpu {
	unsigned long long total, idle, steal;
};

/* util.c */
/* Monotonic time in ns. */
uint64_t now_ns(void);
void hist_reset(struct hist *h);
void hist_add(struct hist *h, uint64_t ns);
/* The value below which a fraction q (0..1) of the samples fall, in µs;
 * NAN when empty. */
double hist_quantile_us(const struct hist *h, double q);
/* This process's CPU time (user + system) in ns. */
uint64_t self_cpu_ns(void);
/* Reads /proc/stat; 0, or -1 when it cannot. */
int machine_cpu(struct machine_cpu *m);
/* TcpExt ListenOverflows (connections a full accept queue dropped), or -1. */
long long listen_overflows(void);
/* Raises RLIMIT_NOFILE's soft limit to the hard limit; returns it. */
long raise_nofile(void);

/* probe.c: the server's CPU time, system calls and memory, from /proc and perf. */
struct probe;
/* Starts watching root and its descendants; perf is attached (events
 * disabled) when want_perf, to every process of the tree when whole_tree,
 * else to root alone (children born later are counted either way).
 * NULL only when out of memory; figures it cannot get are NAN. */
struct probe *probe_new(pid_t root, bool want_perf, bool whole_tree);
/* Opens the window: enables the syscall count, takes the CPU snapshot. */
void probe_start(struct probe *p);
/* Closes the window; cpu_ns and syscalls (-1: unknown) cover it. */
void probe_stop(struct probe *p, double *cpu_ns, long long *syscalls, const char **method,
    int *nprocs, int *nthreads);
/* After probe_stop: io_uring submissions and completions in the window
 * (-1: not counted, e.g. no io_uring tracepoints on this kernel). */
void probe_uring(struct probe *p, long long *sqes, long long *cqes);
/* Detaches perf and frees p. */
void probe_free(struct probe *p);
/* Resident memory of root and its descendants, in KiB (NAN: unknown);
 * *pss_kib gets the proportional set size when pss_kib is not NULL. */
double probe_rss_kib(pid_t root, double *pss_kib);
/* True while root exists and is not a zombie. */
bool probe_alive(pid_t root);

/* load.c: runs one mode against the server and fills r. */
int load_run(const struct bench_opts *o, struct bench_result *r);
/* Fills r's window figures (rate, latency, server CPU and system calls per
 * operation, client CPU, stolen time) for ops operations done between t0
 * (cpu0: the client's CPU then, m0: the machine's) and now; stops p. */
void load_window(struct bench_result *r, struct probe *p, const struct hist *h, double ops,
    uint64_t t0, uint64_t cpu0, const struct machine_cpu *m0);

/* dgram.c: the udp and flood modes. */
int dgram_run(const struct bench_opts *o, struct bench_result *r);

#endif
