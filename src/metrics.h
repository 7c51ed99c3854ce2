/* metrics.h - every service's counters in the Prometheus text exposition format (0.0.4). */
#ifndef DISPATCHD_METRICS_H
#define DISPATCHD_METRICS_H

#include <stddef.h>

struct config;

/* The Content-Type of the format. */
#define METRICS_CTYPE "text/plain; version=0.0.4"

/*
 * Writes the len bytes at v as a label value is written between its
 * double quotes: backslash, double quote and line feed as \\, \" and \n,
 * every other byte as it is.  Like snprintf: returns the escaped length,
 * of which at most cap bytes are written (no NUL); dst may be NULL when
 * cap is 0.
 */
size_t metrics_escape(char *dst, size_t cap, const char *v, size_t len);

/*
 * The exposition of cf: dispatchd_build_info{version,model} 1, then per
 * family (HELP and TYPE lines, then one sample per service of cf, label
 * service="NAME", in the configuration's order):
 * dispatchd_connections_total, dispatchd_connections_open,
 * dispatchd_received_bytes_total, dispatchd_sent_bytes_total,
 * dispatchd_datagrams_total, dispatchd_refused_total (also a label
 * reason= for each of access_reason_name's reasons, zeros included) and
 * dispatchd_logger_records_total (0 for services of other handlers).
 * Each counter is read once, as it is written; a service without
 * counters (before stats_init) shows zeros.  Like snprintf: returns the
 * whole length, of which at most cap bytes are written (no NUL).
 */
size_t metrics_render(char *dst, size_t cap, const struct config *cf);

#endif
