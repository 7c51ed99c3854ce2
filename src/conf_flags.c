/* conf_flags.c - the command line: getopt_long flags over the file, and --help. */
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "conf.h"
#include "conf_int.h"
#include "handler.h"
#include "model.h"
#include "net.h"

#ifndef DISPATCHD_VERSION
#define DISPATCHD_VERSION "unknown"
#endif

#define TRY_HELP "try 'dispatchd --help'"

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
	OPT_FILES_ROOT,
	OPT_FILES_UPLOAD,
	OPT_FILES_ACCESS_LOG,
	OPT_PROXY_PROTOCOL,
	OPT_PROXY_FROM,
};

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "model", required_argument, NULL, 'm' },
	{ "handler", required_argument, NULL, 'H' },
	{ "listen", required_argument, NULL, 'l' },
	{ "max-clients", required_argument, NULL, OPT_NUM + 0 },
	{ "workers", required_argument, NULL, OPT_NUM + 11 },
	{ "idle-timeout", required_argument, NULL, OPT_NUM + 1 },
	{ "max-line", required_argument, NULL, OPT_NUM + 2 },
	{ "max-pending", required_argument, NULL, OPT_NUM + 3 },
	{ "backlog", required_argument, NULL, OPT_NUM + 4 },
	{ "shutdown-timeout", required_argument, NULL, OPT_NUM + 5 },
	{ "max-per-source", required_argument, NULL, OPT_NUM + 6 },
	{ "rate-limit", required_argument, NULL, OPT_NUM + 7 },
	{ "max-upload", required_argument, NULL, OPT_NUM + 8 },
	{ "request-timeout", required_argument, NULL, OPT_NUM + 9 },
	{ "allow", required_argument, NULL, OPT_ALLOW },
	{ "deny", required_argument, NULL, OPT_DENY },
	{ "proxy-protocol", required_argument, NULL, OPT_PROXY_PROTOCOL },
	{ "proxy-from", required_argument, NULL, OPT_PROXY_FROM },
	{ "proxy-timeout", required_argument, NULL, OPT_NUM + 10 },
	{ "defer-accept", required_argument, NULL, OPT_NUM + 12 },
	{ "logger-output", required_argument, NULL, OPT_LOGGER_OUTPUT },
	{ "logger-ack", no_argument, NULL, OPT_LOGGER_ACK },
	{ "files-root", required_argument, NULL, OPT_FILES_ROOT },
	{ "files-upload", no_argument, NULL, OPT_FILES_UPLOAD },
	{ "files-access-log", required_argument, NULL, OPT_FILES_ACCESS_LOG },
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

/* --allow, --deny, --proxy-from: one prefix more on that flag's list. */
static int
list_flag(struct flags *fl, int c, const char *arg, char *err, size_t errlen)
{
	struct access_list *l = &fl->proxy_from;
	bool *set = &fl->proxy_from_set;
	const char *flag = "--proxy-from";
	char why[256];

	if (c == OPT_ALLOW) {
		l = &fl->access.allow;
		set = &fl->allow_set;
		flag = "--allow";
	} else if (c == OPT_DENY) {
		l = &fl->access.deny;
		set = &fl->deny_set;
		flag = "--deny";
	}
	if (access_list_add(l, arg, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", flag, why);
		return -1;
	}
	*set = true;
	return 0;
}

/* Parses argv into fl. 0, 1 after --help/--version, -1 with err. */
int
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
		case OPT_FILES_ROOT:
			if (nonempty("--files-root", optarg, "a directory", err, errlen) == -1)
				return -1;
			fl->files_root = optarg;
			break;
		case OPT_FILES_UPLOAD:
			fl->files_upload = true;
			break;
		case OPT_FILES_ACCESS_LOG:
			if (nonempty("--files-access-log", optarg, "a file path, '-' or 'syslog'",
			        err, errlen) == -1)
				return -1;
			fl->files_access_log = optarg;
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
		case OPT_PROXY_FROM:
			if (list_flag(fl, c, optarg, err, errlen) == -1)
				return -1;
			break;
		case OPT_PROXY_PROTOCOL:
			if (check_proxy_protocol(optarg, "--proxy-protocol: ", &fl->proxy_protocol,
			        err, errlen) == -1)
				return -1;
			fl->proxy_protocol_set = true;
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

/* The lists that --allow, --deny and --proxy-from gave replace these. */
static int
copy_lists(struct access_rules *access, struct access_list *proxy_from, const struct flags *fl)
{
	if ((fl->allow_set && access_list_copy(&access->allow, &fl->access.allow) == -1) ||
	    (fl->deny_set && access_list_copy(&access->deny, &fl->access.deny) == -1) ||
	    (fl->proxy_from_set && access_list_copy(proxy_from, &fl->proxy_from) == -1))
		return -1;
	return 0;
}

/* Flags override the file: applied last. */
int
apply_flags(struct config *cf, const struct flags *fl, const char *gtsfmt)
{
	size_t i;

	if (fl->model != NULL)
		cf->model = fl->model;
	for (i = 0; i < NUM_SETTINGS; i++)
		if (fl->num_set[i])
			*num_field(cf, &num_settings[i]) = fl->num[i];
	if (fl->proxy_protocol_set)
		cf->proxy_protocol = fl->proxy_protocol;
	if (copy_lists(&cf->access, &cf->proxy_from, fl) == -1)
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
		if ((fl->files_root != NULL && set_str(&svc->root, fl->files_root) == -1) ||
		    (fl->files_access_log != NULL &&
		        set_str(&svc->access_log, fl->files_access_log) == -1))
			return -1;
		if (fl->files_upload)
			svc->upload = true;
		if (fl->tsfmt != NULL && set_str(&svc->timestamp_format, fl->tsfmt) == -1)
			return -1;
		/* A flag replaces the value, or the list, of every service. */
		for (size_t k = 0; k < NUM_SETTINGS; k++)
			if (fl->num_set[k] && num_settings[k].svc_off != NO_SVC)
				*svc_num_field(svc, &num_settings[k]) = fl->num[k];
		if (fl->proxy_protocol_set)
			svc->proxy_protocol = fl->proxy_protocol;
		if (copy_lists(&svc->access, &svc->proxy_from, fl) == -1)
			return -1;
	}
	return 0;
}

void
conf_usage(FILE *fp)
{
	size_t i;

	/* The lists come from the registries: a new model or handler shows. */
	fputs("usage: dispatchd [-c FILE] [-m MODEL] [-H HANDLER] [-l ADDR]... [options]\n"
	      "  -c, --config FILE         libconfuse configuration file\n",
	    fp);
	fputs("  -m, --model MODEL         ", fp);
	for (i = 0; models[i] != NULL; i++)
		fprintf(fp, "%s%s", i ? "|" : "", models[i]->name);
	fputs("\n  -H, --handler NAME        ", fp);
	for (i = 0; handlers[i] != NULL; i++)
		fprintf(fp, "%s%s", i ? "|" : "", handlers[i]->name);
	fputs(
	    " (with --listen)\n"
	    "  -l, --listen ADDR         serve HANDLER on ADDR (repeatable)\n"
	    "      --max-clients N       concurrent connections (all listeners together)\n"
	    "      --workers N           processes, each its own loop (select, poll, epoll, io_uring)\n"
	    "      --idle-timeout SEC    close a connection silent this long (0: never)\n"
	    "      --max-line BYTES      line framing limit\n"
	    "      --max-pending BYTES   unsent reply bytes per connection before reading pauses\n"
	    "      --backlog N\n"
	    "      --shutdown-timeout SEC  drain time for open connections at SIGTERM\n"
	    "      --max-per-source N    concurrent connections from one address (0: no limit)\n"
	    "      --rate-limit N        new connections per second from one address (0: no limit)\n"
	    "      --allow CIDR          admit only these addresses (repeatable)\n"
	    "      --deny CIDR           refuse these addresses (repeatable; deny wins)\n"
	    "      --proxy-protocol VER  off|v1|v2|any: each connection begins with a PROXY header\n"
	    "      --proxy-from CIDR     the proxies that may send one (repeatable)\n"
	    "      --proxy-timeout SEC   time for the PROXY header to arrive\n"
	    "      --logger-output DEST  file path, '-' or 'syslog'\n"
	    "      --logger-ack          reply OK after each logged line\n"
	    "      --files-root DIR      files: the directory served\n"
	    "      --files-upload        files: allow PUT\n"
	    "      --files-access-log DEST  files: a record per request (file, '-', 'syslog')\n"
	    "      --max-upload BYTES    files: largest PUT body\n"
	    "      --request-timeout SEC  files, metrics: time for a request head to arrive\n"
	    "      --defer-accept SEC    TCP: accept a connection once its first bytes came, or\n"
	    "                            after SEC (0: at once; default 1 for files, metrics)\n"
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
