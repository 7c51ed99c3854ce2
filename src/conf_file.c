/* conf_file.c - the libconfuse configuration file: option tables, value callbacks, services. */
#include <confuse.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "conf.h"
#include "conf_int.h"
#include "handler.h"
#include "model.h"
#include "net.h"
#include "proxy.h"

/* A service's own value of a per-service number: none given. */
#define SVC_NUM_UNSET (-1)

/*
 * libconfuse reports through a callback that only gets the cfg_t, which has
 * no user pointer: the parse in progress is described here.  Parsing
 * happens once, at start-up, before any thread exists.
 */
static struct {
	const char *name;
	char *err;
	size_t errlen;
	int nerr;
} pctx;

static void conf_cfg_error(cfg_t *cfg, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * libconfuse's format for a key that the section being parsed lacks.  It
 * goes through gettext, but dispatchd never calls setlocale: in the C
 * locale it arrives untranslated (were it not, the message just lacks the
 * valid keys).
 */
#define CFG_NO_SUCH_OPTION "no such option '%s'"

/*
 * Keeps the first message only: later ones are usually consequences.  An
 * unknown key gets the keys valid where it stands: cfg is the section
 * being parsed, so inside a service the list is the service keys.
 */
static void
conf_cfg_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[1024], valid[800];
	struct choices ch;
	const char *key;
	va_list aq;
	size_t i;

	if (pctx.nerr++ > 0 || pctx.err == NULL)
		return;
	va_copy(aq, ap);
	if (cfg != NULL && cfg->opts != NULL && strcmp(fmt, CFG_NO_SUCH_OPTION) == 0 &&
	    (key = va_arg(aq, const char *)) != NULL) {
		choices_init(&ch, key, "");
		for (i = 0; cfg->opts[i].name != NULL; i++)
			choices_add(&ch, cfg->opts[i].name);
		choices_format(&ch, valid, sizeof(valid));
		snprintf(msg, sizeof(msg), "no such option '%s' (%s)", key, valid);
	} else
		vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(aq);
	if (cfg != NULL && cfg->line > 0)
		snprintf(pctx.err, pctx.errlen, "%s:%d: %s", pctx.name, cfg->line, msg);
	else
		snprintf(pctx.err, pctx.errlen, "%s: %s", pctx.name, msg);
}

/* "service 'NAME': " inside a service section, "" at the top level. */
static void
section_where(cfg_t *cfg, char *dst, size_t len)
{
	if (cfg != NULL && cfg->title != NULL)
		snprintf(dst, len, "service '%s': ", cfg->title);
	else if (len > 0)
		dst[0] = '\0';
}

/* libconfuse value callback: numbers get the flags' checks, with a line number. */
static int
conf_int_cb(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char msg[256], where[160];
	size_t i;

	for (i = 0; i < NUM_SETTINGS; i++) {
		if (strcmp(num_settings[i].key, opt->name) != 0)
			continue;
		if (check_num(&num_settings[i], opt->name, value, result, msg, sizeof(msg)) == -1) {
			section_where(cfg, where, sizeof(where));
			cfg_error(cfg, "%s%s", where, msg);
			return -1;
		}
		return 0;
	}
	cfg_error(cfg, "%s: no such number setting", opt->name);
	return -1;
}

/* libconfuse value callback for each element of allow and deny. */
static int
conf_prefix_cb(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	struct access_prefix p;
	char why[256], where[160];

	if (access_prefix_parse(value, &p, why, sizeof(why)) == -1) {
		section_where(cfg, where, sizeof(where));
		cfg_error(cfg, "%s%s: %s", where, opt->name, why);
		return -1;
	}
	*(const char **)result = value;
	return 0;
}

#define MODE_FORMS "expected octal permission bits 000 to 777, e.g. 0660"

/* Strict octal "0660", "660", "0": at most 0777 (no setuid or sticky bits). */
static int
parse_mode(const char *s, unsigned *mode)
{
	size_t n = strspn(s, "01234567");
	unsigned long v;

	if (n == 0 || n > 4 || s[n] != '\0')
		return -1;
	v = strtoul(s, NULL, 8);
	if (v > 0777)
		return -1;
	*mode = (unsigned)v;
	return 0;
}

static int
conf_mode_cb(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char where[160];
	unsigned mode;

	if (parse_mode(value, &mode) == -1) {
		section_where(cfg, where, sizeof(where));
		cfg_error(cfg, "%s%s: invalid mode '%s' (" MODE_FORMS ")", where, opt->name, value);
		return -1;
	}
	*(const char **)result = value;
	return 0;
}

/* proxy_protocol: "off", "v1", "v2" or "any", the error with the closest. */
static int
conf_proxy_cb(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char msg[512], where[160];
	int versions;

	(void)opt;
	section_where(cfg, where, sizeof(where));
	if (check_proxy_protocol(value, where, &versions, msg, sizeof(msg)) == -1) {
		cfg_error(cfg, "%s", msg);
		return -1;
	}
	*(const char **)result = value;
	return 0;
}

/* libconfuse's own message for a bad boolean does not show the value. */
static int
conf_bool_cb(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*(cfg_bool_t *)result = cfg_true;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*(cfg_bool_t *)result = cfg_false;
			return 0;
		}
	}
	cfg_error(cfg, "%s: '%s' is not a boolean (true or false)", opt->name, value);
	return -1;
}

/*
 * Reads an allow, deny or proxy_from list of sec into dst.  With inherit, a section
 * that does not mention key keeps dst (the global list); "key = {}" empties it.
 */
static int
read_list(struct access_list *dst, cfg_t *sec, const char *key, bool inherit, char *err,
    size_t errlen)
{
	char why[192];
	unsigned i, n;

	if (inherit && !(cfg_getopt(sec, key)->flags & CFGF_MODIFIED))
		return 0;
	access_list_free(dst);
	n = cfg_size(sec, key);
	for (i = 0; i < n; i++) {
		/* Already checked by conf_prefix_cb: only memory can fail here. */
		if (access_list_add(dst, cfg_getnstr(sec, key, i), why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s: %s", key, why);
			return -1;
		}
	}
	return 0;
}

/*
 * Fills svc from one service section, with cf's globals as defaults; svc
 * is zeroed, and freed by the caller.
 */
static int
fill_service(struct service *svc, cfg_t *sec, const struct config *cf, const char *gtsfmt,
    const char *file, char *err, size_t errlen)
{
	char names[256], why[256], where[256];
	const char *title = cfg_title(sec), *s;
	unsigned i, n;

	if (title == NULL || title[0] == '\0') {
		snprintf(err, errlen, "%s: a service has an empty name", file);
		return -1;
	}
	if ((svc->name = strdup(title)) == NULL)
		goto nomem;

	handler_names(names, sizeof(names));
	/* service "logger" { ... } needs no handler = "logger". */
	if ((s = cfg_getstr(sec, "handler")) == NULL) {
		if ((svc->handler = handler_find(title)) == NULL) {
			snprintf(err, errlen, "%s: service '%s': no handler (valid: %s)", file,
			    title, names);
			return -1;
		}
	} else if ((svc->handler = handler_find(s)) == NULL) {
		registry_choices(s, handler_name_at, why, sizeof(why));
		snprintf(err, errlen, "%s: invalid handler '%s' in service '%s' (%s)", file, s,
		    title, why);
		return -1;
	}

	if ((n = cfg_size(sec, "listen")) == 0) {
		snprintf(err, errlen, "%s: service '%s': no listen address", file, title);
		return -1;
	}
	if ((svc->listen = calloc(n, sizeof(*svc->listen))) == NULL)
		goto nomem;
	svc->nlisten = n;
	for (i = 0; i < n; i++) {
		struct net_addr a;

		s = cfg_getnstr(sec, "listen", i);
		if (net_parse(s, &a, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s: service '%s': %s", file, title, why);
			return -1;
		}
		if ((svc->listen[i] = strdup(s)) == NULL)
			goto nomem;
	}

	s = cfg_getstr(sec, "output");
	if (s == NULL || s[0] == '\0') {
		snprintf(err, errlen,
		    "%s: service '%s': empty output (expected a file path, '-' or 'syslog')", file,
		    title);
		return -1;
	}
	if (set_str(&svc->output, s) == -1)
		goto nomem;
	svc->ack = cfg_getbool(sec, "ack");

	if ((s = cfg_getstr(sec, "timestamp_format")) == NULL)
		s = gtsfmt;
	else {
		snprintf(where, sizeof(where), "%s: service '%s': ", file, title);
		if (check_tsfmt(s, where, err, errlen) == -1)
			return -1;
	}
	if (set_str(&svc->timestamp_format, s) == -1)
		goto nomem;

	if (inherit_globals(svc, cf) == -1)
		goto nomem;
	for (size_t k = 0; k < 2; k++) {
		const char *key = k == 0 ? "root" : "access_log";
		char **dst = k == 0 ? &svc->root : &svc->access_log;

		if ((s = cfg_getstr(sec, key)) == NULL)
			continue;
		if (s[0] == '\0') {
			snprintf(err, errlen, "%s: service '%s': empty %s (expected %s)", file,
			    title, key, k == 0 ? "a directory" : "a file path, '-' or 'syslog'");
			return -1;
		}
		if (set_str(dst, s) == -1)
			goto nomem;
	}
	svc->listing = cfg_getbool(sec, "listing");
	svc->upload = cfg_getbool(sec, "upload");
	for (i = 0; i < NUM_SETTINGS; i++) {
		const struct num_setting *ns = &num_settings[i];
		long v;

		/* Range-checked by conf_int_cb; SVC_NUM_UNSET keeps the global value. */
		if (ns->svc_off != NO_SVC && (v = cfg_getint(sec, ns->key)) != SVC_NUM_UNSET)
			*svc_num_field(svc, ns) = v;
	}
	if ((s = cfg_getstr(sec, "mode")) != NULL)
		svc->has_mode = parse_mode(s, &svc->mode) == 0;
	/* Checked by conf_proxy_cb; none keeps the global value. */
	if ((s = cfg_getstr(sec, "proxy_protocol")) != NULL)
		svc->proxy_protocol = proxy_versions_parse(s);
	if (read_list(&svc->access.allow, sec, "allow", true, why, sizeof(why)) == -1 ||
	    read_list(&svc->access.deny, sec, "deny", true, why, sizeof(why)) == -1 ||
	    read_list(&svc->proxy_from, sec, "proxy_from", true, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: service '%s': %s", file, title, why);
		return -1;
	}
	return 0;
nomem:
	snprintf(err, errlen, "%s: out of memory", file);
	return -1;
}

static int
set_path(char **dst, const char *s, const char *file, const char *key, char *err, size_t errlen)
{
	if (s == NULL)
		return 0;
	if (s[0] == '\0') {
		snprintf(err, errlen, "%s: %s is empty", file, key);
		return -1;
	}
	if (set_str(dst, s) == -1) {
		snprintf(err, errlen, "%s: out of memory", file);
		return -1;
	}
	return 0;
}

/*
 * The file part of the configuration: replaces cf's services, pidfile and
 * user and sets every global from the defaults and the text.  *gtsfmt gets
 * the global timestamp_format (for services made from --listen).  On error
 * cf stays freeable by conf_free.
 */
int
parse_file(struct config *cf, const char *name, const char *text, char **gtsfmt, char *err,
    size_t errlen)
{
	cfg_opt_t svc_opts[] = {
		CFG_STR_LIST("listen", NULL, CFGF_NONE),
		CFG_STR("handler", NULL, CFGF_NONE),
		CFG_STR("output", CONF_DEFAULT_OUTPUT, CFGF_NONE),
		CFG_BOOL_CB("ack", cfg_false, CFGF_NONE, conf_bool_cb),
		CFG_STR("timestamp_format", NULL, CFGF_NONE),
		CFG_STR("root", NULL, CFGF_NONE),
		CFG_BOOL_CB("listing", cfg_true, CFGF_NONE, conf_bool_cb),
		CFG_BOOL_CB("upload", cfg_false, CFGF_NONE, conf_bool_cb),
		CFG_STR("access_log", NULL, CFGF_NONE),
		CFG_INT_CB("max_upload", SVC_NUM_UNSET, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("request_timeout", SVC_NUM_UNSET, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("max_per_source", SVC_NUM_UNSET, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("rate_limit", SVC_NUM_UNSET, CFGF_NONE, conf_int_cb),
		CFG_STR_LIST_CB("allow", NULL, CFGF_NONE, conf_prefix_cb),
		CFG_STR_LIST_CB("deny", NULL, CFGF_NONE, conf_prefix_cb),
		CFG_STR_CB("mode", NULL, CFGF_NONE, conf_mode_cb),
		CFG_STR_CB("proxy_protocol", NULL, CFGF_NONE, conf_proxy_cb),
		CFG_STR_LIST_CB("proxy_from", NULL, CFGF_NONE, conf_prefix_cb),
		CFG_INT_CB("proxy_timeout", SVC_NUM_UNSET, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("defer_accept", SVC_NUM_UNSET, CFGF_NONE, conf_int_cb),
		CFG_END(),
	};
	cfg_opt_t opts[] = {
		CFG_STR("model", CONF_DEFAULT_MODEL, CFGF_NONE),
		CFG_INT_CB("max_clients", CONF_DEFAULT_MAX_CLIENTS, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("workers", 1, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("idle_timeout", CONF_DEFAULT_IDLE_TIMEOUT, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("max_line", CONF_DEFAULT_MAX_LINE, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("max_pending", CONF_DEFAULT_MAX_PENDING, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("backlog", CONF_DEFAULT_BACKLOG, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("shutdown_timeout", CONF_DEFAULT_SHUTDOWN_TIMEOUT, CFGF_NONE,
		    conf_int_cb),
		CFG_INT_CB("max_per_source", 0, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("rate_limit", 0, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("max_upload", CONF_DEFAULT_MAX_UPLOAD, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("request_timeout", CONF_DEFAULT_REQUEST_TIMEOUT, CFGF_NONE, conf_int_cb),
		CFG_STR_LIST_CB("allow", NULL, CFGF_NONE, conf_prefix_cb),
		CFG_STR_LIST_CB("deny", NULL, CFGF_NONE, conf_prefix_cb),
		CFG_STR_CB("mode", NULL, CFGF_NONE, conf_mode_cb),
		CFG_STR_CB("proxy_protocol", "off", CFGF_NONE, conf_proxy_cb),
		CFG_STR_LIST_CB("proxy_from", NULL, CFGF_NONE, conf_prefix_cb),
		CFG_INT_CB("proxy_timeout", CONF_DEFAULT_PROXY_TIMEOUT, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("defer_accept", CONF_DEFAULT_DEFER_ACCEPT, CFGF_NONE, conf_int_cb),
		CFG_STR("timestamp_format", NULL, CFGF_NONE),
		CFG_STR("pidfile", NULL, CFGF_NONE),
		CFG_STR("user", NULL, CFGF_NONE),
		CFG_SEC("service", svc_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
		CFG_END(),
	};
	char why[256];
	const char *s;
	cfg_t *cfg;
	size_t i, n;
	int r;

	*gtsfmt = NULL;
	free_services(cf);
	access_rules_free(&cf->access);
	access_list_free(&cf->proxy_from);
	set_str(&cf->pidfile, NULL);
	set_str(&cf->user, NULL);
	set_defaults(cf);
	err[0] = '\0';

	if ((cfg = cfg_init(opts, CFGF_NONE)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	/* Set before parsing: otherwise libconfuse prints to stderr itself. */
	cfg_set_error_function(cfg, conf_cfg_error);
	pctx.name = name;
	pctx.err = err;
	pctx.errlen = errlen;
	pctx.nerr = 0;
	r = cfg_parse_buf(cfg, text);
	pctx.err = NULL;
	if (r != CFG_SUCCESS) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: cannot parse", name);
		goto fail;
	}

	s = cfg_getstr(cfg, "model");
	if ((cf->model = model_find(s)) == NULL) {
		registry_choices(s, model_name_at, why, sizeof(why));
		snprintf(err, errlen, "%s: invalid model '%s' (%s)", name, s, why);
		goto fail;
	}
	/* Already range-checked by conf_int_cb; the defaults are in range. */
	for (i = 0; i < NUM_SETTINGS; i++)
		*num_field(cf, &num_settings[i]) = cfg_getint(cfg, num_settings[i].key);
	if (set_path(&cf->pidfile, cfg_getstr(cfg, "pidfile"), name, "pidfile", err, errlen) ==
	        -1 ||
	    set_path(&cf->user, cfg_getstr(cfg, "user"), name, "user", err, errlen) == -1)
		goto fail;
	/* Checked by conf_mode_cb, conf_proxy_cb and conf_prefix_cb. */
	if ((s = cfg_getstr(cfg, "mode")) != NULL)
		cf->has_mode = parse_mode(s, &cf->mode) == 0;
	cf->proxy_protocol = proxy_versions_parse(cfg_getstr(cfg, "proxy_protocol"));
	if (read_list(&cf->access.allow, cfg, "allow", false, why, sizeof(why)) == -1 ||
	    read_list(&cf->access.deny, cfg, "deny", false, why, sizeof(why)) == -1 ||
	    read_list(&cf->proxy_from, cfg, "proxy_from", false, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", name, why);
		goto fail;
	}

	if ((s = cfg_getstr(cfg, "timestamp_format")) != NULL) {
		char where[256];

		snprintf(where, sizeof(where), "%s: ", name);
		if (check_tsfmt(s, where, err, errlen) == -1)
			goto fail;
		if ((*gtsfmt = strdup(s)) == NULL)
			goto nomem;
	}

	/* Duplicate titles were refused by libconfuse (CFGF_NO_TITLE_DUPES). */
	if ((n = cfg_size(cfg, "service")) > 0) {
		if ((cf->svcs = calloc(n, sizeof(*cf->svcs))) == NULL)
			goto nomem;
		cf->nsvcs = n;
		for (i = 0; i < n; i++)
			if (fill_service(&cf->svcs[i], cfg_getnsec(cfg, "service", (unsigned)i), cf,
			        *gtsfmt, name, err, errlen) == -1)
				goto fail;
	}
	cfg_free(cfg);
	return 0;
nomem:
	snprintf(err, errlen, "%s: out of memory", name);
fail:
	cfg_free(cfg);
	free(*gtsfmt);
	*gtsfmt = NULL;
	return -1;
}
