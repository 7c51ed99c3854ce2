/* workers.h - workers = N: N processes, each running the model's loop on the same listeners. */
#ifndef DISPATCHD_WORKERS_H
#define DISPATCHD_WORKERS_H

struct config;

/*
 * Runs cf's model: in this process when cf->workers is 1; otherwise in
 * cf->workers child processes (fork after the listeners are bound and
 * the services set up, so they share the listeners, the counters and the
 * per-source tables), which this process supervises:
 *   - SIGTERM/SIGINT: closes its listeners, forwards SIGTERM (the workers
 *     drain as one process does); a second one forwards SIGUSR2 (cut now);
 *   - SIGHUP: reopens its outputs and forwards it (each worker reopens);
 *   - SIGUSR1: one status line per service for the whole set;
 *   - a worker that dies while serving is started again (at most once a
 *     second per worker), with a warning;
 *   - max_clients counts every worker's connections (admit_share_total).
 * Returns 0 when every worker running at the stop ended with 0, else 1
 * (a worker that died before was warned about and replaced).
 */
int workers_run(struct config *cf);

#endif
