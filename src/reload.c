/* reload.c - SIGHUP reads the configuration again: the new one serves new connections, the old one lives until its last connection ends. */
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "conf.h"
#include "daemon.h"
#include "handler.h"
#include "log.h"
#include "model.h"
#include "net.h"
#include "reload.h"
#include "sig.h"
#include "stats.h"

static int r_argc;
static char **r_argv;
static char *r_path;           /* the configuration file, absolute */
static char r_cwd[PATH_MAX];   /* where start-up resolved relative paths */
static struct config *r_first; /* main's, not allocated here */
static struct config *retired; /* newest first */
static struct config *current;
static bool here;

void
reload_init(int argc, char **argv, struct config *cf)
{
	r_argc = argc;
	r_argv = argv;
	r_first = cf;
	current = cf;
	if (getcwd(r_cwd, sizeof(r_cwd)) == NULL)
		r_cwd[0] = '\0';
	free(r_path);
	r_path = NULL;
	if (cf->config_path != NULL) {
		if (cf->config_path[0] == '/' || r_cwd[0] == '\0')
			r_path = strdup(cf->config_path);
		else if (asprintf(&r_path, "%s/%s", r_cwd, cf->config_path) < 0)
			r_path = NULL;
	}
	here = true;
}

void
reload_here(bool on)
{
	here = on;
}

bool
reload_enabled(void)
{
	return here;
}

/* path made absolute against the start-up directory, replacing *slot. */
static void
absolutize(char **slot, const char *prefix)
{
	const char *path = *slot + strlen(prefix);
	char *abs;

	if (path[0] == '/' || r_cwd[0] == '\0')
		return;
	if (asprintf(&abs, "%s%s/%s", prefix, r_cwd, path) < 0)
		fatal("start-up");
	free(*slot);
	*slot = abs;
}

void
reload_absolute(struct config *cf)
{
	if (r_cwd[0] == '\0' && getcwd(r_cwd, sizeof(r_cwd)) == NULL)
		r_cwd[0] = '\0';
	if (cf->pidfile)
		absolutize(&cf->pidfile, "");
	for (size_t i = 0; i < cf->nsvcs; i++) {
		struct service *svc = &cf->svcs[i];
		if (svc->output && strcmp(svc->output, "-") != 0 &&
		    strcmp(svc->output, "syslog") != 0)
			absolutize(&svc->output, "");
		if (svc->access_log && strcmp(svc->access_log, "-") != 0 &&
		    strcmp(svc->access_log, "syslog") != 0)
			absolutize(&svc->access_log, "");
		if (svc->root)
			absolutize(&svc->root, "");
		for (size_t j = 0; j < svc->nlisten; j++)
			if (strncmp(svc->listen[j], "unix:", 5) == 0)
				absolutize(&svc->listen[j], "unix:");
			else if (strncmp(svc->listen[j], "unixgram:", 9) == 0)
				absolutize(&svc->listen[j], "unixgram:");
	}
}

/* ncf's service svc will count on in the running service's table. */
static bool
adopts_sources(struct config *cur, struct service *svc)
{
	struct service *o = conf_service(cur, svc->name);

	return o != NULL && o->sources != NULL && (svc->max_per_source > 0 || svc->rate_limit > 0);
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Settings a running process cannot change: kept, each with a line. */
static void
keep_restart_settings(struct config *ncf, const struct config *cur)
{
	char was[64], now[64];

#define KEEP_NUM(field, name)                                                                    \
	if (ncf->field != cur->field) {                                                          \
		snprintf(was, sizeof(was), "%ld", (long)cur->field);                             \
		snprintf(now, sizeof(now), "%ld", (long)ncf->field);                             \
		log_warnx("reload: %s %s -> %s takes a restart; still %s", name, was, now, was); \
		ncf->field = cur->field;                                                         \
	}
	if (ncf->model != cur->model) {
		log_warnx("reload: model %s -> %s takes a restart; still %s", cur->model->name,
		    ncf->model->name, cur->model->name);
		ncf->model = cur->model;
	}
	KEEP_NUM(workers, "workers")
	KEEP_NUM(max_line, "max_line")
	KEEP_NUM(daemonize, "daemon")
#undef KEEP_NUM
	if (!same_str(ncf->user, cur->user) || !same_str(ncf->pidfile, cur->pidfile)) {
		log_warnx("reload: user and pidfile take a restart; still the running ones");
		free(ncf->user);
		free(ncf->pidfile);
		ncf->user = cur->user != NULL ? strdup(cur->user) : NULL;
		ncf->pidfile = cur->pidfile != NULL ? strdup(cur->pidfile) : NULL;
	}
}

/* True when a service of a configuration still in use counts in svc's
 * per-source table too (a reload carried it over: access_adopt). */
static bool
sources_shared(const struct service *svc)
{
	RELOAD_EACH_SVC(current, c, i)
	if (&c->svcs[i] != svc && c->svcs[i].sources == svc->sources)
		return true;
	return false;
}

/* Frees a configuration that is not (or no longer) in use, listeners
 * included; only nset of its services had their handlers set up. */
static void
unload(struct config *cf, size_t nset)
{
	net_close_all(cf);
	handler_fini_all(cf->svcs, nset);
	/* conf_free ends each service's table: not one that lives on. */
	for (size_t i = 0; i < cf->nsvcs; i++)
		if (cf->svcs[i].sources != NULL && sources_shared(&cf->svcs[i]))
			cf->svcs[i].sources = NULL;
	conf_free(cf);
	if (cf != r_first)
		free(cf);
}

struct config *
reload_config(struct config *cur)
{
	struct config *ncf;
	char err[512];
	size_t nset = 0;
	const char *failed = NULL;
	int r;

	if (r_path == NULL) {
		log_info("reload: no configuration file (flags only): nothing to read again");
		return NULL;
	}
	if ((ncf = calloc(1, sizeof(*ncf))) == NULL) {
		log_warnx("reload: out of memory; keeping the running configuration");
		return NULL;
	}
	conf_path_override = r_path;
	r = conf_load(ncf, r_argc, r_argv, err, sizeof(err));
	conf_path_override = NULL;
	if (r != 0) {
		log_errx("reload: %s; keeping the running configuration",
		    r < 0 ? err : "--help or --version");
		conf_free(ncf);
		free(ncf);
		return NULL;
	}
	keep_restart_settings(ncf, cur);
	ncf->test_only = false;
	if (cur->daemonize)
		reload_absolute(ncf);
	for (; nset < ncf->nsvcs && failed == NULL; nset++) {
		struct service *svc = &ncf->svcs[nset];

		if (svc->handler->setup && svc->handler->setup(svc, err, sizeof(err)) < 0) {
			failed = svc->name; /* not set up: nset stays short of it */
			break;
		}
		if (!adopts_sources(cur, svc) && access_setup(svc, err, sizeof(err)) < 0)
			failed = svc->name;
	}
	if (failed != NULL) {
		log_errx("reload: service '%s': %s; keeping the running configuration", failed,
		    err);
		unload(ncf, nset);
		return NULL;
	}
	if (net_listen_reload(ncf, cur, err, sizeof(err)) < 0 || stats_adopt(ncf, cur) < 0) {
		log_errx("reload: %s; keeping the running configuration",
		    err[0] ? err : "counters: out of memory");
		reload_abandon(ncf);
		return NULL;
	}
	return ncf;
}

void
reload_abandon(struct config *ncf)
{
	net_reload_release(ncf);
	unload(ncf, ncf->nsvcs);
}

void
reload_commit(struct config *old, struct config *ncf, bool ready)
{
	size_t kept = 0, added = 0;

	for (size_t i = 0; i < ncf->nsvcs; i++) {
		struct service *svc = &ncf->svcs[i], *o = conf_service(old, svc->name);

		if (o == NULL) {
			added++;
			continue;
		}
		kept++;
		if (svc->sources == NULL && adopts_sources(old, svc))
			access_adopt(svc, o);
	}
	net_reload_commit(ncf, old, atomic_load(&old->open_dgrams) > 0);
	stats_set_config(ncf);
	sig_set_drain(ncf->shutdown_timeout);
	log_set_verbosity(ncf->verbosity);
	current = ncf;
	atomic_store(&old->retired, true);
	old->retired_next = retired;
	retired = old;
	log_info("reload: %zu service%s (%zu kept, %zu added, %zu removed), %zu listener%s",
	    ncf->nsvcs, ncf->nsvcs == 1 ? "" : "s", kept, added, old->nsvcs - kept, ncf->nls,
	    ncf->nls == 1 ? "" : "s");
	if (ready)
		notify_send("READY=1");
	reload_collect();
}

struct config *
reload_current(void)
{
	return current;
}

struct config *
reload_retired(void)
{
	return retired;
}

/* True while some service of cf has queued output its handler holds. */
static bool
backlogged(struct config *cf)
{
	for (size_t i = 0; i < cf->nsvcs; i++) {
		struct service *svc = &cf->svcs[i];
		bool room = true;

		if (svc->out_fd >= 0 || svc->out_armed != 0 ||
		    (svc->handler->backlog != NULL && svc->handler->backlog(svc, &room) >= 0))
			return true;
	}
	return false;
}

void
reload_collect(void)
{
	for (struct config **pp = &retired; *pp != NULL;) {
		struct config *cf = *pp;

		if (atomic_load(&cf->open) > 0 || backlogged(cf)) {
			pp = &cf->retired_next;
			continue;
		}
		*pp = cf->retired_next;
		log_debug("reload: the configuration replaced is no longer used: freed");
		unload(cf, cf->nsvcs);
	}
}

void
reload_hold(struct config *cf, bool dgram)
{
	if (cf == NULL)
		return;
	atomic_fetch_add(&cf->open, 1);
	if (dgram)
		atomic_fetch_add(&cf->open_dgrams, 1);
}

void
reload_drop(struct config *cf, bool dgram)
{
	if (cf == NULL)
		return;
	if (dgram)
		atomic_fetch_sub(&cf->open_dgrams, 1);
	/* The last use of cf by whoever held it: the loop may free it. */
	if (atomic_fetch_sub(&cf->open, 1) == 1 && atomic_load(&cf->retired))
		sig_wake();
}
