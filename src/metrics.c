/* metrics.c - every service's counters in the Prometheus text exposition format (0.0.4). */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "conf.h"
#include "metrics.h"
#include "model.h"
#include "stats.h"

#ifndef DISPATCHD_VERSION
#define DISPATCHD_VERSION "unknown"
#endif

/* Where the text goes: snprintf's rules, with the length kept past cap. */
struct mt_out {
	char *p;
	size_t cap;
	size_t len;
};

static void
mt_put(struct mt_out *o, const char *s, size_t n)
{
	if (o->len < o->cap)
		memcpy(o->p + o->len, s, o->cap - o->len < n ? o->cap - o->len : n);
	o->len += n;
}

static void
mt_puts(struct mt_out *o, const char *s)
{
	mt_put(o, s, strlen(s));
}

/* NAME="VALUE", the value escaped; after a ',' when not the first. */
static void
mt_label(struct mt_out *o, const char *name, const char *v, bool first)
{
	size_t n, room;

	if (!first)
		mt_put(o, ",", 1);
	mt_puts(o, name);
	mt_put(o, "=\"", 2);
	room = o->cap > o->len ? o->cap - o->len : 0;
	n = metrics_escape(room > 0 ? o->p + o->len : NULL, room, v, strlen(v));
	o->len += n;
	mt_put(o, "\"", 1);
}

static void
mt_value(struct mt_out *o, unsigned long long v)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "} %llu\n", v);

	mt_put(o, num, (size_t)n);
}

static void
mt_family(struct mt_out *o, const char *name, const char *type, const char *help)
{
	mt_puts(o, "# HELP ");
	mt_puts(o, name);
	mt_put(o, " ", 1);
	mt_puts(o, help);
	mt_puts(o, "\n# TYPE ");
	mt_puts(o, name);
	mt_put(o, " ", 1);
	mt_puts(o, type);
	mt_put(o, "\n", 1);
}

size_t
metrics_escape(char *dst, size_t cap, const char *v, size_t len)
{
	struct mt_out o = { dst, cap, 0 };

	for (size_t i = 0; i < len; i++) {
		switch (v[i]) {
		case '\\':
			mt_put(&o, "\\\\", 2);
			break;
		case '"':
			mt_put(&o, "\\\"", 2);
			break;
		case '\n':
			mt_put(&o, "\\n", 2);
			break;
		default:
			mt_put(&o, v + i, 1);
		}
	}
	return o.len;
}

/* The families with one sample per service, after build_info. */
static const struct mt_fam {
	const char *name;
	const char *type;
	const char *help;
	size_t off; /* the counter in struct svc_stats; refused: the first reason's */
	bool by_reason;
} mt_fams[] = {
	{ "dispatchd_connections_total", "counter",
	    "Connections admitted, a scrape's own included.",
	    offsetof(struct svc_stats, conns_total), false },
	{ "dispatchd_connections_open", "gauge", "Connections open now, a scrape's own included.",
	    offsetof(struct svc_stats, conns_now), false },
	{ "dispatchd_received_bytes_total", "counter", "Bytes received on connections.",
	    offsetof(struct svc_stats, bytes_in), false },
	{ "dispatchd_sent_bytes_total", "counter", "Bytes sent on connections.",
	    offsetof(struct svc_stats, bytes_out), false },
	{ "dispatchd_datagrams_total", "counter", "Datagrams received, refused ones included.",
	    offsetof(struct svc_stats, dgrams_in), false },
	{ "dispatchd_refused_total", "counter", "Connections and datagrams refused, by reason.",
	    offsetof(struct svc_stats, refused), true },
	{ "dispatchd_logger_records_total", "counter",
	    "Records the logger wrote or handed to syslog, connected and disconnected included.",
	    offsetof(struct svc_stats, records), false },
};

/* Counter k (0: the family's own) of st, 0 without counters. */
static unsigned long long
mt_read(struct svc_stats *st, const struct mt_fam *f, size_t k)
{
	if (st == NULL)
		return 0;
	return stats_get((atomic_ullong *)((char *)st + f->off) + k);
}

size_t
metrics_render(char *dst, size_t cap, const struct config *cf)
{
	struct mt_out o = { dst, cap, 0 };

	mt_family(&o, "dispatchd_build_info", "gauge",
	    "The version of dispatchd and the model it runs; always 1.");
	mt_puts(&o, "dispatchd_build_info{");
	mt_label(&o, "version", DISPATCHD_VERSION, true);
	mt_label(&o, "model", cf->model != NULL ? cf->model->name : "unknown", false);
	mt_value(&o, 1);
	for (size_t f = 0; f < sizeof(mt_fams) / sizeof(mt_fams[0]); f++) {
		const struct mt_fam *fam = &mt_fams[f];
		size_t nk = fam->by_reason ? REFUSE_NREASONS : 1;

		mt_family(&o, fam->name, fam->type, fam->help);
		for (size_t i = 0; i < cf->nsvcs; i++) {
			for (size_t k = 0; k < nk; k++) {
				mt_puts(&o, fam->name);
				mt_put(&o, "{", 1);
				mt_label(&o, "service", cf->svcs[i].name, true);
				if (fam->by_reason)
					mt_label(&o, "reason",
					    access_reason_name((enum refuse_reason)k), false);
				mt_value(&o, mt_read(cf->svcs[i].stats, fam, k));
			}
		}
	}
	return o.len;
}
