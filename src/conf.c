/* conf.c - configuration: libconfuse file plus getopt_long flags into struct config. */
#include <confuse.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "access.h"
#include "conf.h"
#include "handler.h"
#include "model.h"
#include "net.h"
#include "timefmt.h"

#ifndef DISPATCHD_VERSION
#define DISPATCHD_VERSION "unknown"
#endif
#ifndef DISPATCHD_CONFIG
#define DISPATCHD_CONFIG "/usr/local/etc/dispatchd/dispatchd.conf"
#endif

/* A configuration file larger than this is surely a mistake. */
#define CONF_FILE_MAX (1024 * 1024)

/* Logger output of a service that names none: standard output, like "-". */
#define CONF_DEFAULT_OUTPUT "-"

#define TRY_HELP "try 'dispatchd --help'"

/*
 * The numeric settings: one row gives the file key, the flag, the range
 * and the default, so the file and the command line check the same way.
 * Rows with a svc_off are also service keys: the global value is the
 * default of every service, and the flag sets every service's value.
 */
struct num_setting {
	const char *key;
	const char *flag;
	long min;
	long max;
	long def;
	size_t off;		/* in struct config */
	size_t svc_off;		/* in struct service, or NO_SVC */
};

#define NO_SVC SIZE_MAX

static const struct num_setting num_settings[] = {
	{ "max_clients", "--max-clients", 1, 1000000, CONF_DEFAULT_MAX_CLIENTS,
	    offsetof(struct config, max_clients), NO_SVC },
	{ "idle_timeout", "--idle-timeout", 0, 31536000, CONF_DEFAULT_IDLE_TIMEOUT,
	    offsetof(struct config, idle_timeout), NO_SVC },
	{ "max_line", "--max-line", 1, CONF_MAX_LINE_LIMIT, CONF_DEFAULT_MAX_LINE,
	    offsetof(struct config, max_line), NO_SVC },
	{ "max_pending", "--max-pending", 1, CONF_MAX_PENDING_LIMIT, CONF_DEFAULT_MAX_PENDING,
	    offsetof(struct config, max_pending), NO_SVC },
	{ "backlog", "--backlog", 1, 65535, CONF_DEFAULT_BACKLOG,
	    offsetof(struct config, backlog), NO_SVC },
	{ "shutdown_timeout", "--shutdown-timeout", 0, 3600, CONF_DEFAULT_SHUTDOWN_TIMEOUT,
	    offsetof(struct config, shutdown_timeout), NO_SVC },
	{ "max_per_source", "--max-per-source", 0, CONF_MAX_SOURCE_LIMIT, 0,
	    offsetof(struct config, max_per_source), offsetof(struct service, max_per_source) },
	{ "rate_limit", "--rate-limit", 0, CONF_MAX_SOURCE_LIMIT, 0,
	    offsetof(struct config, rate_limit), offsetof(struct service, rate_limit) },
};
#define NUM_SETTINGS (sizeof(num_settings) / sizeof(num_settings[0]))

static long *
num_field(struct config *cf, const struct num_setting *ns)
{
	return (long *)(void *)((char *)cf + ns->off);
}

static long *
svc_num_field(struct service *svc, const struct num_setting *ns)
{
	return (long *)(void *)((char *)svc + ns->svc_off);
}

/* A service's own value of a per-service number: none given. */
#define SVC_NUM_UNSET (-1)

/*
 * The valid names offered after a bad one, and the closest of them.  A
 * name is a plausible fix for the bad word when their optimal string
 * alignment distance (Levenshtein plus swapping two neighbours, case
 * ignored) is at most 1 for a word of 3 to 5 characters and at most 2
 * for a longer one: a looser bound has "foo" suggest "mode", and a word
 * of 1 or 2 characters says too little to guess from.  Failing that, a
 * word of 3 or more characters that begins exactly one name suggests it
 * (libconfuse takes no abbreviations; getopt_long has already taken the
 * unique ones).  Between equally close names, one of the word's length
 * wins: "modle" is "model" with two letters swapped rather than "mode"
 * with one added.  A tie that remains suggests nothing: a coin toss
 * misleads more than the list alone.
 */
#define CHOICE_WORD_MAX 64	/* longer words get the list only */

struct choices {
	const char *word;	/* the bad name without dashes, or NULL */
	const char *pfx;	/* shown before each name: "--", "-" or "" */
	const char *best;	/* the closest name so far */
	size_t bestd;		/* its distance */
	size_t bestld;		/* and its length difference */
	int nbest;		/* names as close */
	const char *begun;	/* a name that word begins */
	int nbegun;
	char list[768];		/* "--config, --model, ..." */
};

static void
choices_init(struct choices *ch, const char *word, const char *pfx)
{
	memset(ch, 0, sizeof(*ch));
	ch->word = word;
	ch->pfx = pfx;
	ch->bestd = SIZE_MAX;
}

/* Lower-case s[i], for comparing names case-blind. */
#define LC(s, i) tolower((unsigned char)(s)[i])

/*
 * Optimal string alignment distance of a and b (lengths la, lb, at most
 * CHOICE_WORD_MAX), case ignored: three rows of the usual table.
 */
static size_t
osa_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t rows[3][CHOICE_WORD_MAX + 1];
	size_t *pp = rows[0], *p = rows[1], *c = rows[2], *t, d, i, j;

	for (j = 0; j <= lb; j++)
		p[j] = j;
	for (i = 1; i <= la; i++) {
		c[0] = i;
		for (j = 1; j <= lb; j++) {
			d = p[j - 1] + (LC(a, i - 1) != LC(b, j - 1) ? 1 : 0);
			if (p[j] + 1 < d)
				d = p[j] + 1;
			if (c[j - 1] + 1 < d)
				d = c[j - 1] + 1;
			if (i > 1 && j > 1 && LC(a, i - 1) == LC(b, j - 2) &&
			    LC(a, i - 2) == LC(b, j - 1) && pp[j - 2] + 1 < d)
				d = pp[j - 2] + 1;
			c[j] = d;
		}
		t = pp;
		pp = p;
		p = c;
		c = t;
	}
	return p[lb];
}

/*
 * Adds name to the list, and weighs it as a fix for the word.  name must
 * outlive ch (it is kept as the suggestion), unless ch has no word.
 */
static void
choices_add(struct choices *ch, const char *name)
{
	size_t n = strlen(ch->list), wl, nl, ld, maxd, d;

	snprintf(ch->list + n, sizeof(ch->list) - n, "%s%s%s", n > 0 ? ", " : "", ch->pfx, name);
	if (ch->word == NULL)
		return;
	wl = strlen(ch->word);
	nl = strlen(name);
	if (wl < 3 || wl > CHOICE_WORD_MAX || nl > CHOICE_WORD_MAX)
		return;
	maxd = wl <= 5 ? 1 : 2;
	ld = wl > nl ? wl - nl : nl - wl;
	if (ld <= maxd && (d = osa_distance(ch->word, wl, name, nl)) <= maxd) {
		if (d < ch->bestd || (d == ch->bestd && ld < ch->bestld)) {
			ch->best = name;
			ch->bestd = d;
			ch->bestld = ld;
			ch->nbest = 1;
		} else if (d == ch->bestd && ld == ch->bestld)
			ch->nbest++;
	}
	if (nl > wl && strncasecmp(name, ch->word, wl) == 0) {
		ch->begun = name;
		ch->nbegun++;
	}
}

/* The suggestion for the word, or NULL. */
static const char *
choices_hint(const struct choices *ch)
{
	if (ch->nbest > 0)
		return ch->nbest == 1 ? ch->best : NULL;
	return ch->nbegun == 1 ? ch->begun : NULL;
}

/* "did you mean '--model'? valid: --config, ..." or "valid: ...", for parentheses. */
static void
choices_format(const struct choices *ch, char *dst, size_t len)
{
	const char *hint = choices_hint(ch);

	if (hint != NULL)
		snprintf(dst, len, "did you mean '%s%s'? valid: %s", ch->pfx, hint, ch->list);
	else
		snprintf(dst, len, "valid: %s", ch->list);
}

static const char *
model_name_at(size_t i)
{
	return models[i] ? models[i]->name : NULL;
}

static const char *
handler_name_at(size_t i)
{
	return handlers[i] ? handlers[i]->name : NULL;
}

/* The parenthesis after a bad model or handler name: a registry's names. */
static void
registry_choices(const char *word, const char *(*name_at)(size_t), char *dst, size_t len)
{
	struct choices ch;
	const char *name;

	choices_init(&ch, word, "");
	for (size_t i = 0; (name = name_at(i)) != NULL; i++)
		choices_add(&ch, name);
	choices_format(&ch, dst, len);
}

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

static int
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

static void
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
		access_rules_free(&svc->access);
		access_fini(svc);
	}
	free(cf->svcs);
	cf->svcs = NULL;
	cf->nsvcs = 0;
}

static void
set_defaults(struct config *cf)
{
	size_t i;

	cf->model = model_find(CONF_DEFAULT_MODEL);
	for (i = 0; i < NUM_SETTINGS; i++)
		*num_field(cf, &num_settings[i]) = num_settings[i].def;
	cf->has_mode = false;
	cf->mode = 0;
}

/* A service's defaults for the limits, lists and mode: the globals of cf. */
static int
inherit_globals(struct service *svc, const struct config *cf)
{
	size_t i;

	for (i = 0; i < NUM_SETTINGS; i++)
		if (num_settings[i].svc_off != NO_SVC)
			*svc_num_field(svc, &num_settings[i]) =
			    *num_field((struct config *)cf, &num_settings[i]);
	svc->has_mode = cf->has_mode;
	svc->mode = cf->mode;
	if (access_list_copy(&svc->access.allow, &cf->access.allow) == -1 ||
	    access_list_copy(&svc->access.deny, &cf->access.deny) == -1)
		return -1;
	return 0;
}

/*
 * Reads an allow or deny list of sec into dst.  With inherit, a section
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

/* Replaces *dst with a copy of s (NULL allowed). 0, or -1 when out of memory. */
static int
set_str(char **dst, const char *s)
{
	char *copy = NULL;

	if (s != NULL && (copy = strdup(s)) == NULL)
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}

static int
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
			snprintf(err, errlen, "%s: service '%s': no handler (valid: %s)", file, title,
			    names);
			return -1;
		}
	} else if ((svc->handler = handler_find(s)) == NULL) {
		registry_choices(s, handler_name_at, why, sizeof(why));
		snprintf(err, errlen, "%s: invalid handler '%s' in service '%s' (%s)", file, s, title,
		    why);
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
	for (i = 0; i < NUM_SETTINGS; i++) {
		const struct num_setting *ns = &num_settings[i];
		long v;

		/* Range-checked by conf_int_cb; SVC_NUM_UNSET keeps the global value. */
		if (ns->svc_off != NO_SVC && (v = cfg_getint(sec, ns->key)) != SVC_NUM_UNSET)
			*svc_num_field(svc, ns) = v;
	}
	if ((s = cfg_getstr(sec, "mode")) != NULL)
		svc->has_mode = parse_mode(s, &svc->mode) == 0;
	if (read_list(&svc->access.allow, sec, "allow", true, why, sizeof(why)) == -1 ||
	    read_list(&svc->access.deny, sec, "deny", true, why, sizeof(why)) == -1) {
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
static int
parse_file(struct config *cf, const char *name, const char *text, char **gtsfmt, char *err,
    size_t errlen)
{
	cfg_opt_t svc_opts[] = {
		CFG_STR_LIST("listen", NULL, CFGF_NONE),
		CFG_STR("handler", NULL, CFGF_NONE),
		CFG_STR("output", CONF_DEFAULT_OUTPUT, CFGF_NONE),
		CFG_BOOL_CB("ack", cfg_false, CFGF_NONE, conf_bool_cb),
		CFG_STR("timestamp_format", NULL, CFGF_NONE),
		CFG_INT_CB("max_per_source", SVC_NUM_UNSET, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("rate_limit", SVC_NUM_UNSET, CFGF_NONE, conf_int_cb),
		CFG_STR_LIST_CB("allow", NULL, CFGF_NONE, conf_prefix_cb),
		CFG_STR_LIST_CB("deny", NULL, CFGF_NONE, conf_prefix_cb),
		CFG_STR_CB("mode", NULL, CFGF_NONE, conf_mode_cb),
		CFG_END()
	};
	cfg_opt_t opts[] = {
		CFG_STR("model", CONF_DEFAULT_MODEL, CFGF_NONE),
		CFG_INT_CB("max_clients", CONF_DEFAULT_MAX_CLIENTS, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("idle_timeout", CONF_DEFAULT_IDLE_TIMEOUT, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("max_line", CONF_DEFAULT_MAX_LINE, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("max_pending", CONF_DEFAULT_MAX_PENDING, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("backlog", CONF_DEFAULT_BACKLOG, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("shutdown_timeout", CONF_DEFAULT_SHUTDOWN_TIMEOUT, CFGF_NONE,
		    conf_int_cb),
		CFG_INT_CB("max_per_source", 0, CFGF_NONE, conf_int_cb),
		CFG_INT_CB("rate_limit", 0, CFGF_NONE, conf_int_cb),
		CFG_STR_LIST_CB("allow", NULL, CFGF_NONE, conf_prefix_cb),
		CFG_STR_LIST_CB("deny", NULL, CFGF_NONE, conf_prefix_cb),
		CFG_STR_CB("mode", NULL, CFGF_NONE, conf_mode_cb),
		CFG_STR("timestamp_format", NULL, CFGF_NONE),
		CFG_STR("pidfile", NULL, CFGF_NONE),
		CFG_STR("user", NULL, CFGF_NONE),
		CFG_SEC("service", svc_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
		CFG_END()
	};
	char why[256];
	const char *s;
	cfg_t *cfg;
	size_t i, n;
	int r;

	*gtsfmt = NULL;
	free_services(cf);
	access_rules_free(&cf->access);
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
	/* Checked by conf_mode_cb and conf_prefix_cb. */
	if ((s = cfg_getstr(cfg, "mode")) != NULL)
		cf->has_mode = parse_mode(s, &cf->mode) == 0;
	if (read_list(&cf->access.allow, cfg, "allow", false, why, sizeof(why)) == -1 ||
	    read_list(&cf->access.deny, cfg, "deny", false, why, sizeof(why)) == -1) {
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

/*
 * Checks that need a service's final values (file and flags merged).
 * syslog(3) cannot tell whether a record reached the log, so an OK there
 * would promise what nobody knows: ack needs a file or standard output.
 */
static int
check_services(struct config *cf, const char *where, char *err, size_t errlen)
{
	for (size_t i = 0; i < cf->nsvcs; i++) {
		struct service *svc = &cf->svcs[i];

		if (svc->handler == &handler_logger && svc->ack && svc->output != NULL &&
		    strcmp(svc->output, "syslog") == 0) {
			snprintf(err, errlen,
			    "%s: service '%s': ack = true needs a file or '-' output (valid: a file "
			    "path, '-'): syslog(3) cannot report whether a record was delivered",
			    where, svc->name);
			return -1;
		}
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

/* Long-only options; the numeric ones are OPT_NUM + their num_settings index. */
enum {
	OPT_NUM = 256,
	OPT_LOGGER_OUTPUT = OPT_NUM + 64,
	OPT_LOGGER_ACK,
	OPT_TIMESTAMP_FORMAT,
	OPT_PIDFILE,
	OPT_USER,
	OPT_ALLOW,
	OPT_DENY,
};

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "model", required_argument, NULL, 'm' },
	{ "handler", required_argument, NULL, 'H' },
	{ "listen", required_argument, NULL, 'l' },
	{ "max-clients", required_argument, NULL, OPT_NUM + 0 },
	{ "idle-timeout", required_argument, NULL, OPT_NUM + 1 },
	{ "max-line", required_argument, NULL, OPT_NUM + 2 },
	{ "max-pending", required_argument, NULL, OPT_NUM + 3 },
	{ "backlog", required_argument, NULL, OPT_NUM + 4 },
	{ "shutdown-timeout", required_argument, NULL, OPT_NUM + 5 },
	{ "max-per-source", required_argument, NULL, OPT_NUM + 6 },
	{ "rate-limit", required_argument, NULL, OPT_NUM + 7 },
	{ "allow", required_argument, NULL, OPT_ALLOW },
	{ "deny", required_argument, NULL, OPT_DENY },
	{ "logger-output", required_argument, NULL, OPT_LOGGER_OUTPUT },
	{ "logger-ack", no_argument, NULL, OPT_LOGGER_ACK },
	{ "timestamp-format", required_argument, NULL, OPT_TIMESTAMP_FORMAT },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "user", required_argument, NULL, OPT_USER },
	{ "daemon", no_argument, NULL, 'd' },
	{ "test-config", no_argument, NULL, 't' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* What the command line asked for, applied on top of the file. */
struct flags {
	const char *config;
	const struct model *model;
	const struct handler *handler;
	const char **listen;	/* pointers into argv */
	size_t nlisten;
	long num[NUM_SETTINGS];
	bool num_set[NUM_SETTINGS];
	const char *logger_output;
	bool logger_ack;
	const char *tsfmt;
	const char *pidfile;
	const char *user;
	struct access_rules access;	/* --allow, --deny */
	bool allow_set;
	bool deny_set;
	bool daemonize;
	bool test_only;
	int verbosity;
};

/* "--name" of the option in argv element arg, without any "=value". */
static void
long_name(const char *arg, char *dst, size_t len)
{
	size_t n = strcspn(arg, "=");

	if (n >= len)
		n = len - 1;
	memcpy(dst, arg, n);
	dst[n] = '\0';
}

static const char short_opts[] = ":c:m:H:l:dtvqVh";

/*
 * The parenthesis after an unknown option: the long options and the
 * closest of them to word (the name without "--"), or with no word the
 * short options (one letter is too little to guess from).
 */
static void
option_choices(const char *word, char *dst, size_t len)
{
	char letter[2] = { '\0', '\0' };
	struct choices ch;
	size_t i;

	if (word != NULL) {
		choices_init(&ch, word, "--");
		for (i = 0; long_opts[i].name != NULL; i++)
			choices_add(&ch, long_opts[i].name);
	} else {
		/* No word: choices_add copies letter and keeps no pointer to it. */
		choices_init(&ch, NULL, "-");
		for (i = 0; short_opts[i] != '\0'; i++) {
			if (short_opts[i] == ':')
				continue;
			letter[0] = short_opts[i];
			choices_add(&ch, letter);
		}
	}
	choices_format(&ch, dst, len);
}

/*
 * getopt_long (with opterr 0) reports an ambiguous abbreviation like an
 * unknown option: "--max" begins several.  Lists them into dst, or
 * returns 0 when word begins fewer than two.
 */
static int
ambiguous_option(const char *word, char *dst, size_t len)
{
	size_t i, n = 0, wl = strlen(word), used;

	if (wl == 0 || len == 0)
		return 0;
	dst[0] = '\0';
	for (i = 0; long_opts[i].name != NULL; i++) {
		if (strncmp(long_opts[i].name, word, wl) != 0)
			continue;
		used = strlen(dst);
		snprintf(dst + used, len - used, "%s--%s", n++ > 0 ? ", " : "", long_opts[i].name);
	}
	return n >= 2;
}

static int
bad_option(int c, char **argv, char *err, size_t errlen)
{
	const char *arg = argv[optind - 1];
	char name[CHOICE_WORD_MAX + 3], valid[800];
	bool known, islong;

	/*
	 * optopt is 0 for an unknown long option, a character outside
	 * short_opts for an unknown short one, and the option's own value
	 * when a known long option got "=value" it does not take.  A long
	 * option in error is always the argv element just consumed.
	 */
	known = optopt >= OPT_NUM ||
	    (optopt > 0 && optopt != ':' && strchr(short_opts, optopt) != NULL);
	islong = (c == ':' || optopt == 0 || known) && strncmp(arg, "--", 2) == 0;
	if (islong)
		long_name(arg, name, sizeof(name));
	else
		snprintf(name, sizeof(name), "-%c", optopt);
	if (c == ':')
		snprintf(err, errlen, "option '%s' needs an argument; " TRY_HELP, name);
	else if (known)
		snprintf(err, errlen, "option '%s' takes no argument; " TRY_HELP, name);
	else if (islong && ambiguous_option(name + 2, valid, sizeof(valid)))
		snprintf(err, errlen, "option '%s' is ambiguous (could be %s); " TRY_HELP, name,
		    valid);
	else {
		option_choices(islong ? name + 2 : NULL, valid, sizeof(valid));
		snprintf(err, errlen, "unknown option '%s' (%s); " TRY_HELP, name, valid);
	}
	return -1;
}

static int
nonempty(const char *flag, const char *s, const char *what, char *err, size_t errlen)
{
	if (s[0] != '\0')
		return 0;
	snprintf(err, errlen, "%s: empty value (expected %s)", flag, what);
	return -1;
}

/* Parses argv into fl. 0, 1 after --help/--version, -1 with err. */
static int
parse_args(struct flags *fl, int argc, char **argv, char *err, size_t errlen)
{
	char why[256];
	struct net_addr a;
	const char **nl;
	int c, i;

	/* 0 makes glibc start afresh, so conf_load may run more than once. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			fl->config = optarg;
			break;
		case 'm':
			if ((fl->model = model_find(optarg)) == NULL) {
				registry_choices(optarg, model_name_at, why, sizeof(why));
				snprintf(err, errlen, "invalid model '%s' (%s)", optarg, why);
				return -1;
			}
			break;
		case 'H':
			if ((fl->handler = handler_find(optarg)) == NULL) {
				registry_choices(optarg, handler_name_at, why, sizeof(why));
				snprintf(err, errlen, "invalid handler '%s' (%s)", optarg, why);
				return -1;
			}
			break;
		case 'l':
			if (net_parse(optarg, &a, err, errlen) == -1)
				return -1;
			if ((nl = realloc(fl->listen, (fl->nlisten + 1) * sizeof(*nl))) == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			fl->listen = nl;
			fl->listen[fl->nlisten++] = optarg;
			break;
		case OPT_LOGGER_OUTPUT:
			if (nonempty("--logger-output", optarg, "a file path, '-' or 'syslog'", err,
			        errlen) == -1)
				return -1;
			fl->logger_output = optarg;
			break;
		case OPT_LOGGER_ACK:
			fl->logger_ack = true;
			break;
		case OPT_TIMESTAMP_FORMAT:
			if (check_tsfmt(optarg, "--timestamp-format: ", err, errlen) == -1)
				return -1;
			fl->tsfmt = optarg;
			break;
		case OPT_PIDFILE:
			if (nonempty("--pidfile", optarg, "a file path", err, errlen) == -1)
				return -1;
			fl->pidfile = optarg;
			break;
		case OPT_USER:
			if (nonempty("--user", optarg, "a user name", err, errlen) == -1)
				return -1;
			fl->user = optarg;
			break;
		case OPT_ALLOW:
		case OPT_DENY:
			if (access_list_add(c == OPT_ALLOW ? &fl->access.allow : &fl->access.deny,
			        optarg, why, sizeof(why)) == -1) {
				snprintf(err, errlen, "--%s: %s", c == OPT_ALLOW ? "allow" : "deny", why);
				return -1;
			}
			if (c == OPT_ALLOW)
				fl->allow_set = true;
			else
				fl->deny_set = true;
			break;
		case 'd':
			fl->daemonize = true;
			break;
		case 't':
			fl->test_only = true;
			break;
		case 'v':
			fl->verbosity++;
			break;
		case 'q':
			fl->verbosity--;
			break;
		case 'V':
			printf("dispatchd %s\n", DISPATCHD_VERSION);
			fflush(stdout);
			return 1;
		case 'h':
			conf_usage(stdout);
			fflush(stdout);
			return 1;
		case ':':
		case '?':
			return bad_option(c, argv, err, errlen);
		default:
			if (c >= OPT_NUM && c < OPT_NUM + (int)NUM_SETTINGS) {
				i = c - OPT_NUM;
				if (check_num(&num_settings[i], num_settings[i].flag, optarg,
				        &fl->num[i], err, errlen) == -1)
					return -1;
				fl->num_set[i] = true;
				break;
			}
			snprintf(err, errlen, "unhandled option %d; " TRY_HELP, c);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'; " TRY_HELP, argv[optind]);
		return -1;
	}
	if (fl->handler != NULL && fl->nlisten == 0) {
		snprintf(err, errlen, "--handler '%s' needs --listen ADDR", fl->handler->name);
		return -1;
	}
	return 0;
}

/*
 * One service per --listen address, named after the handler: echo,
 * echo-2...  They get cf's globals (limits, lists, mode).
 */
static int
listen_services(struct config *cf, const struct flags *fl, const char *gtsfmt)
{
	const struct handler *h = fl->handler;
	size_t i;

	if (h == NULL && (h = handler_find(CONF_DEFAULT_HANDLER)) == NULL)
		return -1;
	free_services(cf);
	if ((cf->svcs = calloc(fl->nlisten, sizeof(*cf->svcs))) == NULL)
		return -1;
	cf->nsvcs = fl->nlisten;
	for (i = 0; i < fl->nlisten; i++) {
		struct service *svc = &cf->svcs[i];
		char name[128];

		if (i == 0)
			snprintf(name, sizeof(name), "%s", h->name);
		else
			snprintf(name, sizeof(name), "%s-%zu", h->name, i + 1);
		svc->handler = h;
		if ((svc->name = strdup(name)) == NULL ||
		    (svc->listen = calloc(1, sizeof(*svc->listen))) == NULL ||
		    (svc->listen[0] = strdup(fl->listen[i])) == NULL)
			return -1;
		svc->nlisten = 1;
		if (set_str(&svc->output, CONF_DEFAULT_OUTPUT) == -1 ||
		    set_str(&svc->timestamp_format, gtsfmt) == -1 || inherit_globals(svc, cf) == -1)
			return -1;
	}
	return 0;
}

/* Flags override the file: applied last. */
static int
apply_flags(struct config *cf, const struct flags *fl, const char *gtsfmt)
{
	size_t i;

	if (fl->model != NULL)
		cf->model = fl->model;
	for (i = 0; i < NUM_SETTINGS; i++)
		if (fl->num_set[i])
			*num_field(cf, &num_settings[i]) = fl->num[i];
	if ((fl->allow_set && access_list_copy(&cf->access.allow, &fl->access.allow) == -1) ||
	    (fl->deny_set && access_list_copy(&cf->access.deny, &fl->access.deny) == -1))
		return -1;
	if ((fl->pidfile != NULL && set_str(&cf->pidfile, fl->pidfile) == -1) ||
	    (fl->user != NULL && set_str(&cf->user, fl->user) == -1))
		return -1;
	cf->daemonize = cf->daemonize || fl->daemonize;
	cf->test_only = cf->test_only || fl->test_only;
	cf->verbosity += fl->verbosity;
	if (fl->nlisten > 0 && listen_services(cf, fl, gtsfmt) == -1)
		return -1;
	for (i = 0; i < cf->nsvcs; i++) {
		struct service *svc = &cf->svcs[i];

		if (fl->logger_output != NULL && set_str(&svc->output, fl->logger_output) == -1)
			return -1;
		if (fl->logger_ack)
			svc->ack = true;
		if (fl->tsfmt != NULL && set_str(&svc->timestamp_format, fl->tsfmt) == -1)
			return -1;
		/* A flag replaces the value, or the list, of every service. */
		for (size_t k = 0; k < NUM_SETTINGS; k++)
			if (fl->num_set[k] && num_settings[k].svc_off != NO_SVC)
				*svc_num_field(svc, &num_settings[k]) = fl->num[k];
		if ((fl->allow_set && access_list_copy(&svc->access.allow, &fl->access.allow) == -1) ||
		    (fl->deny_set && access_list_copy(&svc->access.deny, &fl->access.deny) == -1))
			return -1;
	}
	return 0;
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
		path = fl.config;
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
	r = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	free(fl.listen);
	access_rules_free(&fl.access);
	free(text);
	free(gtsfmt);
	return r;
}

void
conf_free(struct config *cf)
{
	free_services(cf);
	access_rules_free(&cf->access);
	set_str(&cf->config_path, NULL);
	set_str(&cf->pidfile, NULL);
	set_str(&cf->user, NULL);
}

void
conf_usage(FILE *fp)
{
	size_t i;

	/* The lists come from the registries: a new model or handler shows. */
	fputs("usage: dispatchd [-c FILE] [-m MODEL] [-H HANDLER] [-l ADDR]... [options]\n"
	      "  -c, --config FILE         libconfuse configuration file\n", fp);
	fputs("  -m, --model MODEL         ", fp);
	for (i = 0; models[i] != NULL; i++)
		fprintf(fp, "%s%s", i ? "|" : "", models[i]->name);
	fputs("\n  -H, --handler NAME        ", fp);
	for (i = 0; handlers[i] != NULL; i++)
		fprintf(fp, "%s%s", i ? "|" : "", handlers[i]->name);
	fputs(" (with --listen)\n"
	      "  -l, --listen ADDR         serve HANDLER on ADDR (repeatable)\n"
	      "      --max-clients N       concurrent connections (all listeners together)\n"
	      "      --idle-timeout SEC    close a connection silent this long (0: never)\n"
	      "      --max-line BYTES      line framing limit\n"
	      "      --max-pending BYTES   unsent reply bytes per connection before reading pauses\n"
	      "      --backlog N\n"
	      "      --shutdown-timeout SEC  drain time for open connections at SIGTERM\n"
	      "      --max-per-source N    concurrent connections from one address (0: no limit)\n"
	      "      --rate-limit N        new connections per second from one address (0: no limit)\n"
	      "      --allow CIDR          admit only these addresses (repeatable)\n"
	      "      --deny CIDR           refuse these addresses (repeatable; deny wins)\n"
	      "      --logger-output DEST  file path, '-' or 'syslog'\n"
	      "      --logger-ack          reply OK after each logged line\n"
	      "      --timestamp-format F  strftime format\n"
	      "      --pidfile FILE\n"
	      "      --user USER           drop privileges after binding\n"
	      "  -d, --daemon              detach (default: stay in the foreground)\n"
	      "  -t, --test-config         check the configuration and exit\n"
	      "  -v, --verbose / -q, --quiet\n"
	      "  -V, --version / -h, --help\n",
	    fp);
	fputs("\nADDR: HOST:PORT, [IPV6]:PORT, *:PORT or unix:/path (port 0: a free port)\n", fp);
	fprintf(fp, "\nmodels (default %s):\n", CONF_DEFAULT_MODEL);
	for (i = 0; models[i] != NULL; i++)
		fprintf(fp, "  %-12s %s\n", models[i]->name,
		    models[i]->summary != NULL ? models[i]->summary : "");
	fprintf(fp, "\nhandlers (default %s):\n", CONF_DEFAULT_HANDLER);
	for (i = 0; handlers[i] != NULL; i++)
		fprintf(fp, "  %-12s %s\n", handlers[i]->name,
		    handlers[i]->summary != NULL ? handlers[i]->summary : "");
	fprintf(fp, "\nWithout -c or --listen, %s is read.\n", DISPATCHD_CONFIG);
}
