/* util.c - dispatchd-bench: clocks, the latency histogram, descriptor limits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
self_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

/* Exact below HIST_SUB ns, then HIST_SUB buckets per power of two. */
static int
hist_index(uint64_t v)
{
	if (v < HIST_SUB)
		return (int)v;
	int e = 63 - __builtin_clzll(v); /* >= 6 */
	int idx = (e - 5) * HIST_SUB + (int)((v >> (e - 6)) - HIST_SUB);
	return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* The middle of a bucket. */
static double
hist_value(int idx)
{
	if (idx < HIST_SUB)
		return idx;
	int e = idx / HIST_SUB + 5;
	double low = (double)((uint64_t)(HIST_SUB + idx % HIST_SUB) << (e - 6));
	return low + (double)((uint64_t)1 << (e - 6)) / 2;
}

void
hist_add(struct hist *h, uint64_t ns)
{
	h->count[hist_index(ns)]++;
	h->n++;
	if (ns > h->max)
		h->max = ns;
}

double
hist_quantile_us(const struct hist *h, double q)
{
	if (h->n == 0)
		return NAN;
	/* The rank of the sample wanted, 1-based: p99 of 1000 is the 990th. */
	uint64_t rank = (uint64_t)ceil(q * (double)h->n);
	uint64_t seen = 0;

	if (rank < 1)
		rank = 1;
	for (int i = 0; i < HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= rank) {
			double v = hist_value(i);
			return (v > (double)h->max ? (double)h->max : v) / 1000.0;
		}
	}
	return (double)h->max / 1000.0;
}

long
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1048576)
		return 1048576;
	return (long)rl.rlim_cur;
}

int
machine_cpu(struct machine_cpu *m)
{
	FILE *f = fopen("/proc/stat", "r");
	unsigned long long v[10] = { 0 };
	int n;

	memset(m, 0, sizeof(*m));
	if (f == NULL)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
	    &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 8)
		return -1;
	for (int i = 0; i < 8; i++)
		m->total += v[i];
	m->idle = v[3] + v[4];
	m->steal = v[7];
	return 0;
}

long long
listen_overflows(void)
{
	FILE *f = fopen("/proc/net/netstat", "r");
	char names[4096], values[4096];
	long long result = -1;

	if (f == NULL)
		return -1;
	/* Pairs of lines: "TcpExt: Name ..." then "TcpExt: value ...". */
	while (fgets(names, sizeof(names), f) && fgets(values, sizeof(values), f)) {
		if (strncmp(names, "TcpExt:", 7) != 0)
			continue;
		char *sn, *sv;
		char *n = strtok_r(names, " \n", &sn);
		char *v = strtok_r(values, " \n", &sv);
		while (n && v) {
			if (strcmp(n, "ListenOverflows") == 0)
				result = atoll(v);
			n = strtok_r(NULL, " \n", &sn);
			v = strtok_r(NULL, " \n", &sv);
		}
	}
	fclose(f);
	return result;
}
