/* conf.c - configuration core: defaults, num_settings, conf_load, conf_free, final checks. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "access.h"
#include "conf.h"
#include "conf_int.h"
#include "handler.h"
#include "model.h"
#include "net.h"
#include "proxy.h"
#include "timefmt.h"

/* A configuration file larger than this is surely a mistake. */
#define CONF_FILE_MAX (1024 * 1024)

const struct num_setting num_settings[] = {
	{ "max_clients", "--max-clients", 1, CONF_MAX_CLIENTS_LIMIT, CONF_DEFAULT_MAX_CLIENTS,
	    offsetof(struct config, max_clients), NO_SVC },
	{ "idle_timeout", "--idle-timeout", 0, 31536000, CONF_DEFAULT_IDLE_TIMEOUT,
	    offsetof(struct config, idle_timeout), NO_SVC },
	{ "max_line", "--max-line", 1, CONF_MAX_LINE_LIMIT, CONF_DEFAULT_MAX_LINE,
	    offsetof(struct config, max_line), NO_SVC },
	{ "max_pending", "--max-pending", 1, CONF_MAX_PENDING_LIMIT, CONF_DEFAULT_MAX_PENDING,
	    offsetof(struct config, max_pending), NO_SVC },
	{ "backlog", "--backlog", 1, 65535, CONF_DEFAULT_BACKLOG, offsetof(struct config, backlog),
	    NO_SVC },
	{ "shutdown_timeout", "--shutdown-timeout", 0, 3600, CONF_DEFAULT_SHUTDOWN_TIMEOUT,
	    offsetof(struct config, shutdown_timeout), NO_SVC },
	{ "max_per_source", "--max-per-source", 0, CONF_MAX_SOURCE_LIMIT, 0,
	    offsetof(struct config, max_per_source), offsetof(struct service, max_per_source) },
	{ "rate_limit", "--rate-limit", 0, CONF_MAX_SOURCE_LIMIT, 0,
	    offsetof(struct config, rate_limit), offsetof(struct service, rate_limit) },
	{ "max_upload", "--max-upload", 0, CONF_MAX_UPLOAD_LIMIT, CONF_DEFAULT_MAX_UPLOAD,
	    offsetof(struct config, max_upload), offsetof(struct service, max_upload) },
	{ "request_timeout", "--request-timeout", 1, 3600, CONF_DEFAULT_REQUEST_TIMEOUT,
	    offsetof(struct config, request_timeout), offsetof(struct service, request_timeout) },
	{ "proxy_timeout", "--proxy-timeout", 1, 3600, CONF_DEFAULT_PROXY_TIMEOUT,
	    offsetof(struct config, proxy_timeout), offsetof(struct service, proxy_timeout) },
	{ "workers", "--workers", 1, CONF_MAX_WORKERS, 1, offsetof(struct config, workers),
	    NO_SVC },
	{ "defer_accept", "--defer-accept", 0, 3600, CONF_DEFAULT_DEFER_ACCEPT,
	    offsetof(struct config, defer_accept), offsetof(struct service, defer_accept) },
};
_Static_assert(sizeof(num_settings) / sizeof(num_settings[0]) == NUM_SETTINGS,
    "NUM_SETTINGS in conf_int.h must count the rows of num_settings");

const char *conf_path_override;

long *
num_field(struct config *cf, const struct num_setting *ns)
{
	return (long *)(void *)((char *)cf + ns->off);
}

long *
svc_num_field(struct service *svc, const struct num_setting *ns)
{
	return (long *)(void *)((char *)svc + ns->svc_off);
}

/* Strict decimal: the whole string, no blanks, no base prefixes. */
static int
parse_long(const char *s, long *v)
{
	char *end;
	const char *p = s;

	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	*v = strtol(s, &end, 10);
	if (*end != '\0')
		return -1;
	if (errno == ERANGE)
		return -2;
	return 0;
}

int
check_num(const struct num_setting *ns, const char *who, const char *s, long *v, char *err,
    size_t errlen)
{
	int r = parse_long(s, v);

	if (r == -1) {
		snprintf(err, errlen, "%s: '%s' is not a number (%ld..%ld)", who, s, ns->min,
		    ns->max);
		return -1;
	}
	if (r == -2 || *v < ns->min || *v > ns->max) {
		snprintf(err, errlen, "%s: %s out of range (%ld..%ld)", who, s, ns->min, ns->max);
		return -1;
	}
	return 0;
}

void
free_services(struct config *cf)
{
	size_t i, j;

	for (i = 0; i < cf->nsvcs; i++) {
		struct service *svc = &cf->svcs[i];

		free(svc->name);
		for (j = 0; j < svc->nlisten; j++)
			free(svc->listen[j]);
		free(svc->listen);
		free(svc->output);
		free(svc->timestamp_format);
		free(svc->root);
		free(svc->access_log);
		access_rules_free(&svc->access);
		access_list_free(&svc->proxy_from);
		access_fini(svc);
	}
	free(cf->svcs);
	cf->svcs = NULL;
	cf->nsvcs = 0;
}

void
set_defaults(struct config *cf)
{
	size_t i;

	cf->model = model_find(CONF_DEFAULT_MODEL);
	for (i = 0; i < NUM_SETTINGS; i++)
		*num_field(cf, &num_settings[i]) = num_settings[i].def;
	cf->has_mode = false;
	cf->mode = 0;
	cf->proxy_protocol = 0;
}

/* A service's defaults for the limits, lists and mode: the globals of cf. */
int
inherit_globals(struct service *svc, const struct config *cf)
{
	size_t i;

	for (i = 0; i < NUM_SETTINGS; i++)
		if (num_settings[i].svc_off != NO_SVC)
			*svc_num_field(svc, &num_settings[i]) = *num_field((struct config *)cf,
			    &num_settings[i]);
	svc->has_mode = cf->has_mode;
	svc->mode = cf->mode;
	svc->listing = true;
	svc->proxy_protocol = cf->proxy_protocol;
	if (access_list_copy(&svc->access.allow, &cf->access.allow) == -1 ||
	    access_list_copy(&svc->access.deny, &cf->access.deny) == -1 ||
	    access_list_copy(&svc->proxy_from, &cf->proxy_from) == -1)
		return -1;
	return 0;
}

/* Replaces *dst with a copy of s (NULL allowed). 0, or -1 when out of memory. */
int
set_str(char **dst, const char *s)
{
	char *copy = NULL;

	if (s != NULL && (copy = strdup(s)) == NULL)
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}

int
check_tsfmt(const char *fmt, const char *where, char *err, size_t errlen)
{
	char why[256];

	why[0] = '\0';
	if (timefmt_check(fmt, why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "%sinvalid timestamp_format '%s': %s", where, fmt,
	    why[0] != '\0' ? why : "rejected");
	return -1;
}

int
check_proxy_protocol(const char *s, const char *where, int *versions, char *err, size_t errlen)
{
	char valid[256];

	if ((*versions = proxy_versions_parse(s)) != -1)
		return 0;
	registry_choices(s, proxy_version_at, valid, sizeof(valid));
	snprintf(err, errlen, "%sinvalid proxy_protocol '%s' (%s)", where, s, valid);
	return -1;
}

/* The first datagram listen address of svc (udp:, unixgram:), or NULL. */
static const char *
dgram_listener(const struct service *svc)
{
	for (size_t j = 0; j < svc->nlisten; j++) {
		struct net_addr a;
		char why[256];

		/* Each was parsed when read: a failure here is none of ours to report. */
		if (net_parse(svc->listen[j], &a, why, sizeof(why)) == 0 && a.dgram)
			return svc->listen[j];
	}
	return NULL;
}

/*
 * proxy_protocol on svc: the proxies that may send a header must be
 * named, and every listener must be a stream one (a header begins a
 * connection; a datagram has none).
 */
static int
check_proxy(const struct service *svc, const char *where, char *err, size_t errlen)
{
	const char *v = proxy_version_name(svc->proxy_protocol), *dl;

	if (svc->proxy_protocol == 0)
		return 0;
	if (svc->proxy_from.n == 0) {
		snprintf(err, errlen,
		    "%s: service '%s': proxy_protocol = \"%s\" needs proxy_from (the addresses of "
		    "the proxies that may send a header: proxy_from = {\"CIDR\", ...}, or "
		    "--proxy-from CIDR)",
		    where, svc->name, v);
		return -1;
	}
	if ((dl = dgram_listener(svc)) != NULL) {
		snprintf(err, errlen,
		    "%s: service '%s': proxy_protocol = \"%s\" cannot be used on the datagram "
		    "listener '%s' (PROXY headers come on stream connections only: HOST:PORT, "
		    "[IPV6]:PORT, *:PORT or unix:/path)",
		    where, svc->name, v, dl);
		return -1;
	}
	return 0;
}

/*
 * Checks that need a service's final values (file and flags merged), and
 * the defaults that depend on the handler.
 * syslog(3) cannot tell whether a record reached the log, so an OK there
 * would promise what nobody knows: ack needs a file or standard output.
 */
static int
check_services(struct config *cf, const char *where, char *err, size_t errlen)
{
	for (size_t i = 0; i < cf->nsvcs; i++) {
		struct service *svc = &cf->svcs[i];
		const char *dl;

		/* Unset in the service and globally: the handler's own. */
		if (svc->defer_accept < 0)
			svc->defer_accept = svc->handler->defer_accept;
		/* A datagram listener needs the handler's datagram hook. */
		if (svc->handler->datagram == NULL && (dl = dgram_listener(svc)) != NULL) {
			char names[256];
			size_t n = 0;

			names[0] = '\0';
			for (size_t k = 0; handlers[k] != NULL; k++)
				if (handlers[k]->datagram != NULL && n < sizeof(names))
					n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s",
					    n > 0 ? ", " : "", handlers[k]->name);
			snprintf(err, errlen,
			    "%s: service '%s': handler '%s' cannot serve the datagram listener '%s' "
			    "(handlers with datagrams: %s)",
			    where, svc->name, svc->handler->name, dl, names);
			return -1;
		}

		/* The files handler's root: checked here so that -t says it too. */
		if (svc->handler == &handler_files) {
			struct stat sb;

			if (svc->root == NULL) {
				snprintf(err, errlen,
				    "%s: service '%s': the files handler needs a root (root = \"DIR\" in "
				    "the service, or --files-root DIR)",
				    where, svc->name);
				return -1;
			}
			int bad = stat(svc->root, &sb) < 0 ? errno :
			    S_ISDIR(sb.st_mode)            ? 0 :
			                                     ENOTDIR;
			if (bad != 0) {
				snprintf(err, errlen, "%s: service '%s': root '%s': %s", where,
				    svc->name, svc->root, strerror(bad));
				return -1;
			}
		}
		if (svc->handler == &handler_logger && svc->ack && svc->output != NULL &&
		    strcmp(svc->output, "syslog") == 0) {
			snprintf(err, errlen,
			    "%s: service '%s': ack = true needs a file or '-' output (valid: a file "
			    "path, '-'): syslog(3) cannot report whether a record was delivered",
			    where, svc->name);
			return -1;
		}
		if (check_proxy(svc, where, err, errlen) == -1)
			return -1;
	}
	return 0;
}

int
conf_parse_text(struct config *cf, const char *name, const char *text, char *err, size_t errlen)
{
	char *gtsfmt;
	int r;

	r = parse_file(cf, name, text, &gtsfmt, err, errlen);
	free(gtsfmt);
	return r == 0 ? check_services(cf, name, err, errlen) : r;
}

/* Reads a whole file into a terminated buffer, *text, owned by the caller. */
static int
read_file(const char *path, char **text, char *err, size_t errlen)
{
	FILE *fp;
	char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, n;

	*text = NULL;
	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			if (cap > CONF_FILE_MAX + 1)
				cap = CONF_FILE_MAX + 1;
			if ((nbuf = realloc(buf, cap + 1)) == NULL) {
				snprintf(err, errlen, "cannot read %s: out of memory", path);
				goto fail;
			}
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (len > CONF_FILE_MAX) {
			snprintf(err, errlen, "%s: too large (over %d bytes)", path, CONF_FILE_MAX);
			goto fail;
		}
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		/* A directory opens fine and fails here with EISDIR. */
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	buf[len] = '\0';
	/* libconfuse would silently stop at a NUL byte. */
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		goto fail;
	}
	fclose(fp);
	*text = buf;
	return 0;
fail:
	fclose(fp);
	free(buf);
	return -1;
}

int
conf_load(struct config *cf, int argc, char **argv, char *err, size_t errlen)
{
	struct flags fl;
	struct stat st;
	const char *path = NULL;
	char *text = NULL, *gtsfmt = NULL, names[256];
	int r;

	memset(&fl, 0, sizeof(fl));
	err[0] = '\0';
	set_defaults(cf);
	if ((r = parse_args(&fl, argc, argv, err, errlen)) != 0)
		goto out;

	r = -1;
	if (fl.config != NULL)
		path = conf_path_override != NULL ? conf_path_override : fl.config;
	else if (fl.nlisten == 0) {
		/* The installed file is optional: only a missing one is quietly skipped. */
		if (stat(DISPATCHD_CONFIG, &st) == 0 || (errno != ENOENT && errno != ENOTDIR))
			path = DISPATCHD_CONFIG;
		else {
			snprintf(err, errlen,
			    "no services: give --listen ADDR or a configuration file with -c FILE");
			goto out;
		}
	}
	if (path != NULL) {
		if (set_str(&cf->config_path, path) == -1)
			goto nomem;
		if (read_file(path, &text, err, errlen) == -1 ||
		    parse_file(cf, path, text, &gtsfmt, err, errlen) == -1)
			goto out;
	}
	if (apply_flags(cf, &fl, gtsfmt) == -1)
		goto nomem;
	if (cf->model == NULL) {
		/* Only when the registry lacks the default. */
		model_names(names, sizeof(names));
		snprintf(err, errlen, "invalid model '%s' (valid: %s)", CONF_DEFAULT_MODEL, names);
		goto out;
	}
	if (check_services(cf, path != NULL ? path : "command line", err, errlen) == -1)
		goto out;
	/* A file may hold only globals when --listen gives the services. */
	if (cf->nsvcs == 0) {
		snprintf(err, errlen,
		    "no services in %s: add a service section or give --listen ADDR",
		    path != NULL ? path : "the configuration");
		goto out;
	}
	if (cf->workers > 1 && !cf->model->workers) {
		char loops[128] = "";

		for (size_t i = 0; models[i] != NULL; i++)
			if (models[i]->workers)
				snprintf(loops + strlen(loops), sizeof(loops) - strlen(loops),
				    "%s%s", loops[0] ? ", " : "", models[i]->name);
		snprintf(err, errlen,
		    "workers = %ld needs a model that runs one loop per process (%s), not %s",
		    cf->workers, loops, cf->model->name);
		goto out;
	}
	/* A model the host refuses (io_uring) fails here, -t included. */
	if (cf->model->probe != NULL && cf->model->probe(err, errlen) == -1)
		goto out;
	for (size_t i = 0; i < cf->nsvcs; i++) {
		static uint32_t uids;

		cf->svcs[i].owner = cf;
		cf->svcs[i].uid = ++uids;
		cf->svcs[i].out_fd = -1;
		cf->svcs[i].out_room = true;
	}
	r = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	free(fl.listen);
	access_rules_free(&fl.access);
	access_list_free(&fl.proxy_from);
	free(text);
	free(gtsfmt);
	return r;
}

struct service *
conf_service(struct config *cf, const char *name)
{
	for (size_t i = 0; i < cf->nsvcs; i++)
		if (strcmp(cf->svcs[i].name, name) == 0)
			return &cf->svcs[i];
	return NULL;
}

void
conf_free(struct config *cf)
{
	free_services(cf);
	access_rules_free(&cf->access);
	access_list_free(&cf->proxy_from);
	set_str(&cf->config_path, NULL);
	set_str(&cf->pidfile, NULL);
	set_str(&cf->user, NULL);
}
