/* main.c - dispatchd-bench: options, the run, the report. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench.h"

static const char *const mode_names[] = { "pingpong", "lines", "connrate", "bulk", "hold", "udp",
	"flood" };

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: dispatchd-bench -m MODE -p PORT [options]\n"
	    "  -m, --mode MODE       pingpong|lines|connrate|bulk|hold|udp|flood (default\n"
	    "                        pingpong); udp: C clients, each one datagram out and\n"
	    "                        its echo back; flood: datagrams one way, full speed\n"
	    "  -h, --host ADDR       server address, 127.x.x.x only (default 127.0.0.1)\n"
	    "  -p, --port PORT       server port\n"
	    "  -c, --conns N         concurrent connections (hold: connections to hold)\n"
	    "  -s, --size BYTES      message size; lines: line length with LF; bulk: write size\n"
	    "  -d, --duration SEC    measured window (default 3)\n"
	    "  -n, --ops N           end the window after N operations (bulk: MiB)\n"
	    "  -w, --warmup SEC      unmeasured run before the window (default 1)\n"
	    "  -P, --server-pid PID  report the CPU, system calls and memory of PID and\n"
	    "                        all its descendants\n"
	    "      --no-perf         do not count system calls with perf stat\n"
	    "      --sources N       spread connections over 127.0.0.1..127.0.0.N\n"
	    "      --window BYTES    bulk: unverified bytes in flight (default 4 MiB)\n"
	    "      --hold-secs SEC   hold: idle time before the pings (default 1)\n"
	    "      --reply-timeout SEC  udp: a request unanswered this long is lost\n"
	    "                        (default 0.2)\n"
	    "      --timeout SEC     give up after this long without progress (default 10)\n"
	    "      --max-errors N    give up after N errors (default 100)\n"
	    "      --label TEXT      copied to the RESULT line\n"
	    "Prints a report and one line 'RESULT key=value ...'; exits 1 on any error\n"
	    "and when the measured window completed no operation.\n");
}

static double
parse_num(const char *opt, const char *s, double min, double max)
{
	char *end;
	double v = strtod(s, &end);

	/* Sizes may say K or M (KiB, MiB). */
	if (end != s && (*end == 'k' || *end == 'K')) {
		v *= 1024;
		end++;
	} else if (end != s && (*end == 'm' || *end == 'M')) {
		v *= 1048576;
		end++;
	}
	if (end == s || *end != '\0' || !(v >= min && v <= max)) {
		fprintf(stderr, "dispatchd-bench: %s: bad value '%s' (%g..%g)\n", opt, s, min, max);
		exit(2);
	}
	return v;
}

/* NAN as "NA": the RESULT line stays one token per key. */
static void
put(const char *key, double v, int prec)
{
	if (isnan(v))
		printf(" %s=NA", key);
	else
		printf(" %s=%.*f", key, prec, v);
}

static void
human_us(const char *name, double us)
{
	if (isnan(us))
		printf("  %s -", name);
	else if (us >= 10000)
		printf("  %s %.1f ms", name, us / 1000);
	else
		printf("  %s %.1f µs", name, us);
}

static void
report(const struct bench_opts *o, const struct bench_result *r)
{
	const char *unit = o->mode == MODE_BULK ? "MiB" :
	    o->mode == MODE_CONNRATE            ? "conn" :
	    o->mode == MODE_LINES               ? "line" :
	    o->mode == MODE_HOLD                ? "ping" :
	    o->mode == MODE_UDP                 ? "request" :
	    o->mode == MODE_FLOOD               ? "datagram" :
	                                          "round trip";
	bool dgram = o->mode == MODE_UDP || o->mode == MODE_FLOOD;

	printf("%s: %ld %s%s, %zu-byte %s, %s:%d, window %.2f s (warm-up %.2f s)\n",
	    mode_names[o->mode], dgram ? (o->mode == MODE_FLOOD ? 1 : o->conns) : o->conns,
	    dgram ? "client" : "connection",
	    (dgram ? (o->mode == MODE_FLOOD ? 1 : o->conns) : o->conns) == 1 ? "" : "s", o->size,
	    o->mode == MODE_BULK      ? "writes" :
	        o->mode == MODE_LINES ? "lines" :
	        dgram                 ? "datagrams" :
	                                "messages",
	    o->host, o->port, r->window_s, o->mode == MODE_HOLD ? 0 : o->warmup);
	if (o->mode == MODE_HOLD) {
		printf("  held         %ld connections in %.2f s (%lld accept-queue overflows); "
		       "%ld answered the ping\n",
		    r->held, r->connect_s, r->listen_overflows, r->answered);
		printf("  server RSS   %.0f KiB before, %.0f KiB idle, %.0f KiB after the pings "
		       "(PSS %.0f -> %.0f KiB)\n",
		    r->rss_before_kib, r->rss_idle_kib, r->rss_after_kib, r->pss_before_kib,
		    r->pss_after_kib);
		printf("  per conn     %.3f KiB RSS after the pings (%.3f KiB before them), "
		       "%.3f KiB PSS\n",
		    r->kib_per_conn, r->kib_per_conn_idle, r->pss_kib_per_conn);
	}
	printf("  rate        %.1f %s/s (%.1f %s%s)\n", r->rate, unit, r->ops, unit,
	    r->ops == 1 ? "" : "s");
	printf("  latency   ");
	human_us("p50", r->p50_us);
	human_us("p99", r->p99_us);
	human_us("p99.9", r->p999_us);
	human_us("max", r->max_us);
	printf("\n  errors      %lld%s%s\n", r->errors, r->note[0] ? ": " : "", r->note);
	if (o->mode == MODE_UDP)
		printf("  datagrams   %lld requests sent, %lld lost (no reply within %.3f s), "
		       "%lld late replies, %lld wrong replies\n",
		    r->sent, r->lost, o->reply_timeout, r->late, r->bad);
	if (o->mode == MODE_FLOOD)
		printf("  datagrams   %lld sent, %lld dropped at the server's full socket, "
		       "%.0f taken by the server\n",
		    r->sent, r->kdrops, r->ops);
	if (o->server_pid > 0) {
		printf(
		    "  server      %.2f µs CPU per %s (%.0f%% of a core; %d process%s, %d thread%s;"
		    " %s)",
		    r->cpu_us_per_op, unit, r->server_cpu_pct, r->server_procs,
		    r->server_procs == 1 ? "" : "es", r->server_threads,
		    r->server_threads == 1 ? "" : "s", r->cpu_method ? r->cpu_method : "none");
		if (isnan(r->syscalls_per_op))
			printf(", system calls not counted\n");
		else
			printf(", %.2f system calls per %s", r->syscalls_per_op, unit);
		if (!isnan(r->sqes_per_op) && (r->sqes_per_op > 0 || r->cqes_per_op > 0))
			printf(", io_uring: %.2f submissions and %.2f completions per %s",
			    r->sqes_per_op, r->cqes_per_op, unit);
		if (!isnan(r->syscalls_per_op))
			printf("\n");
	}
	printf("  client      %.2f µs CPU per %s\n", r->client_cpu_us_per_op, unit);
	printf("  machine     %.0f%% busy, %.0f%% stolen by the hypervisor\n", r->machine_busy_pct,
	    r->steal_pct);

	printf("RESULT mode=%s label=%s conns=%ld size=%zu unit=%s", mode_names[o->mode],
	    o->label ? o->label : "-", o->conns, o->size,
	    o->mode == MODE_BULK         ? "MiB" :
	        o->mode == MODE_CONNRATE ? "conn" :
	        o->mode == MODE_LINES    ? "line" :
	        o->mode == MODE_HOLD     ? "ping" :
	        dgram                    ? "dgram" :
	                                   "rt");
	put("window_s", r->window_s, 3);
	put("ops", r->ops, 1);
	put("rate", r->rate, 1);
	put("p50_us", r->p50_us, 1);
	put("p99_us", r->p99_us, 1);
	put("p999_us", r->p999_us, 1);
	put("max_us", r->max_us, 1);
	printf(" errors=%lld", r->errors);
	put("cpu_us_per_op", r->cpu_us_per_op, 3);
	put("server_cpu_pct", r->server_cpu_pct, 1);
	put("syscalls_per_op", r->syscalls_per_op, 3);
	put("sqes_per_op", r->sqes_per_op, 3);
	put("cqes_per_op", r->cqes_per_op, 3);
	put("client_cpu_us_per_op", r->client_cpu_us_per_op, 3);
	printf(" procs=%d threads=%d cpu_method=%s", r->server_procs, r->server_threads,
	    r->cpu_method ? r->cpu_method : "none");
	put("steal_pct", r->steal_pct, 1);
	put("busy_pct", r->machine_busy_pct, 1);
	if (o->mode == MODE_HOLD) {
		printf(" held=%ld answered=%ld listen_overflows=%lld", r->held, r->answered,
		    r->listen_overflows);
		put("connect_s", r->connect_s, 3);
		put("rss_before_kib", r->rss_before_kib, 0);
		put("rss_idle_kib", r->rss_idle_kib, 0);
		put("rss_after_kib", r->rss_after_kib, 0);
		put("pss_before_kib", r->pss_before_kib, 0);
		put("pss_after_kib", r->pss_after_kib, 0);
		put("pss_kib_per_conn", r->pss_kib_per_conn, 4);
		put("kib_per_conn", r->kib_per_conn, 4);
		put("kib_per_conn_idle", r->kib_per_conn_idle, 4);
	}
	if (dgram)
		printf(" sent=%lld lost=%lld late=%lld bad=%lld kdrops=%lld", r->sent, r->lost,
		    r->late, r->bad, r->kdrops);
	/* Free text last: everything after "note=" is the note. */
	printf(" note=%s\n", r->note);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	enum {
		O_NOPERF = 256,
		O_SOURCES,
		O_WINDOW,
		O_HOLD,
		O_TIMEOUT,
		O_MAXERR,
		O_LABEL,
		O_REPLY,
		O_HELP
	};
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "conns", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "ops", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "server-pid", required_argument, NULL, 'P' },
		{ "no-perf", no_argument, NULL, O_NOPERF },
		{ "sources", required_argument, NULL, O_SOURCES },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "hold-secs", required_argument, NULL, O_HOLD },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "max-errors", required_argument, NULL, O_MAXERR },
		{ "label", required_argument, NULL, O_LABEL },
		{ "reply-timeout", required_argument, NULL, O_REPLY },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o = {
		.mode = MODE_PINGPONG,
		.host = "127.0.0.1",
		.conns = -1,
		.secs = 3,
		.warmup = 1,
		.timeout = 10,
		.hold_secs = 1,
		.window = 4 * 1048576,
		.perf = true,
		.max_errors = 100,
		.reply_timeout = 0.2,
	};
	long size = -1;
	int ch;

	while ((ch = getopt_long(argc, argv, "m:h:p:c:s:d:n:w:P:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm': {
			size_t i;
			for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
				if (strcasecmp(optarg, mode_names[i]) == 0)
					break;
			if (i == sizeof(mode_names) / sizeof(mode_names[0])) {
				fprintf(stderr,
				    "dispatchd-bench: unknown mode '%s' (pingpong, lines, connrate, "
				    "bulk, hold, udp, flood)\n",
				    optarg);
				return 2;
			}
			o.mode = (enum bench_mode)i;
			break;
		}
		case 'h':
			o.host = optarg;
			break;
		case 'p':
			o.port = (int)parse_num("--port", optarg, 1, 65535);
			break;
		case 'c':
			o.conns = (long)parse_num("--conns", optarg, 1, 1000000);
			break;
		case 's':
			size = (long)parse_num("--size", optarg, 1, 64 * 1048576.0);
			break;
		case 'd':
			o.secs = parse_num("--duration", optarg, 0.01, 3600);
			break;
		case 'n':
			o.ops = (long long)parse_num("--ops", optarg, 1, 1e15);
			break;
		case 'w':
			o.warmup = parse_num("--warmup", optarg, 0, 600);
			break;
		case 'P':
			o.server_pid = (pid_t)parse_num("--server-pid", optarg, 1, 4194304);
			break;
		case O_NOPERF:
			o.perf = false;
			break;
		case O_SOURCES:
			o.sources = (int)parse_num("--sources", optarg, 1, 254);
			break;
		case O_WINDOW:
			o.window = (size_t)parse_num("--window", optarg, 1, 1024 * 1048576.0);
			break;
		case O_HOLD:
			o.hold_secs = parse_num("--hold-secs", optarg, 0, 600);
			break;
		case O_TIMEOUT:
			o.timeout = parse_num("--timeout", optarg, 0.1, 600);
			break;
		case O_MAXERR:
			o.max_errors = (long)parse_num("--max-errors", optarg, 1, 1e9);
			break;
		case O_LABEL:
			o.label = optarg;
			break;
		case O_REPLY:
			o.reply_timeout = parse_num("--reply-timeout", optarg, 0.001, 60);
			break;
		case O_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || o.port == 0) {
		usage(stderr);
		return 2;
	}
	if (o.conns < 0)
		o.conns = o.mode == MODE_CONNRATE ? 16 : o.mode == MODE_HOLD ? 1000 : 1;
	if (size < 0)
		size = o.mode == MODE_BULK ? 256 * 1024 : 64;
	o.size = (size_t)size;
	if (o.mode == MODE_LINES && o.size < 2) {
		fprintf(stderr, "dispatchd-bench: --size: a line needs at least 2 bytes\n");
		return 2;
	}
	if (o.sources == 0) {
		/* One address has about 28k ports: hold keeps each address
		 * well below (the kernel's port search slows as it fills, and
		 * past 28k it fails); connrate's TIME_WAIT sockets need room. */
		if (o.mode == MODE_HOLD)
			o.sources = o.conns > 2000 ? (int)(o.conns / 2000) + 1 : 1;
		else
			o.sources = o.mode == MODE_CONNRATE ? 4 : 1;
	}
	long nofile = raise_nofile();
	if (o.conns + 32 > nofile) {
		fprintf(stderr,
		    "dispatchd-bench: %ld connections need more descriptors than "
		    "RLIMIT_NOFILE allows (%ld)\n",
		    o.conns, nofile);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	struct bench_result r;
	memset(&r, 0, sizeof(r));
	r.window_s = r.ops = r.rate = NAN;
	r.p50_us = r.p99_us = r.p999_us = r.max_us = NAN;
	r.cpu_us_per_op = r.server_cpu_pct = r.syscalls_per_op = r.client_cpu_us_per_op = NAN;
	r.sqes_per_op = r.cqes_per_op = NAN;
	r.rss_before_kib = r.rss_idle_kib = r.rss_after_kib = NAN;
	r.pss_before_kib = r.pss_after_kib = NAN;
	r.kib_per_conn = r.kib_per_conn_idle = r.pss_kib_per_conn = r.connect_s = NAN;
	r.steal_pct = r.machine_busy_pct = NAN;
	int rc = load_run(&o, &r);
	report(&o, &r);
	return rc < 0 ? 1 : 0;
}
