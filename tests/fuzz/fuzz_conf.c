/* fuzz_conf.c - the configuration: conf_parse_text on any text, conf_load on any argv. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "access.h"
#include "conf.h"
#include "handler.h"
#include "net.h"
#include "timefmt.h"

#include "fuzz_util.h"

/*
 * The input, split at NUL bytes: the first part is the configuration text,
 * the others are argv[1..] of conf_load.  Any file conf_load opens (-c
 * FILE, or the installed default) is that same text: the link wraps fopen
 * (-Wl,--wrap=fopen), so no input ever reads a real file.  A path that
 * contains "missing" fails with ENOENT, for the error paths.
 */

#define FZ_MAX_ARGS 64

FILE *__real_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode);

static bool fz_in_load;
static const char *fz_text;
static size_t fz_text_len;

FILE *
__wrap_fopen(const char *path, const char *mode)
{
	if (!fz_in_load)
		return __real_fopen(path, mode);
	if (strstr(path, "missing") != NULL) {
		errno = ENOENT;
		return NULL;
	}
	if (fz_text_len == 0)
		return __real_fopen("/dev/null", "r");
	return fmemopen((void *)(uintptr_t)fz_text, fz_text_len, "r");
}

/* --help and --version print to standard output: not into libFuzzer's log. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	(void)argc;
	(void)argv;
	FZ_CHECK(fd != -1 && dup2(fd, STDOUT_FILENO) == STDOUT_FILENO, "/dev/null: %s",
	    strerror(errno));
	close(fd);
	return 0;
}

/* Any format the configuration accepted, formatted at a few times. */
static void
fz_check_format(const char *fmt)
{
	static const struct timeval tvs[] = {
		{ 0, 0 },
		{ 1700000000, 123456 },
		{ 253402300799, 999999 }, /* 9999-12-31T23:59:59 */
		{ -1, 999999 },
	};
	static const size_t lens[] = { TIMEFMT_MAX, 28, 7, 1 };

	for (size_t t = 0; t < sizeof(tvs) / sizeof(tvs[0]); t++) {
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			/* Exactly len bytes: ASan sees a write past them. */
			char *dst = malloc(lens[l]);
			FZ_CHECK(dst != NULL, "out of memory");
			size_t n = timefmt_format(dst, lens[l], fmt, &tvs[t]);
			FZ_CHECK(n < lens[l] && dst[n] == '\0' && strlen(dst) == n,
			    "timefmt_format('%s', %zu) returned %zu", fmt ? fmt : "(rfc3339)",
			    lens[l], n);
			free(dst);
		}
	}
}

static void
fz_check_list(const struct access_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct access_prefix *p = &l->v[i];
		size_t bytes = p->family == AF_INET ? 4 : 16;

		FZ_CHECK((p->family == AF_INET && p->len <= 32) ||
		        (p->family == AF_INET6 && p->len <= 128),
		    "prefix %zu: family %u len %u", i, p->family, p->len);
		for (size_t b = p->len; b < 8 * 16; b++)
			FZ_CHECK(b < 8 * bytes ? !(p->addr[b / 8] & (0x80 >> (b % 8))) :
			                         p->addr[b / 8] == 0,
			    "prefix %zu: bit %zu set past /%u", i, b, p->len);
	}
}

/* What a configuration that parsed must look like. */
static void
fz_check_config(const struct config *cf)
{
	char why[512];

	FZ_CHECK(cf->model != NULL, "no model");
	FZ_CHECK(cf->max_clients >= 1 && cf->max_clients <= 1000000, "max_clients %ld",
	    cf->max_clients);
	FZ_CHECK(cf->idle_timeout >= 0 && cf->idle_timeout <= 31536000, "idle_timeout %ld",
	    cf->idle_timeout);
	FZ_CHECK(cf->max_line >= 1 && cf->max_line <= CONF_MAX_LINE_LIMIT, "max_line %ld",
	    cf->max_line);
	FZ_CHECK(cf->max_pending >= 1 && cf->max_pending <= CONF_MAX_PENDING_LIMIT,
	    "max_pending %ld", cf->max_pending);
	FZ_CHECK(cf->backlog >= 1 && cf->backlog <= 65535, "backlog %ld", cf->backlog);
	FZ_CHECK(cf->shutdown_timeout >= 0 && cf->shutdown_timeout <= 3600, "shutdown_timeout %ld",
	    cf->shutdown_timeout);
	FZ_CHECK(cf->max_per_source >= 0 && cf->max_per_source <= CONF_MAX_SOURCE_LIMIT &&
	        cf->rate_limit >= 0 && cf->rate_limit <= CONF_MAX_SOURCE_LIMIT,
	    "max_per_source %ld rate_limit %ld", cf->max_per_source, cf->rate_limit);
	FZ_CHECK(cf->mode <= 0777, "mode %o", cf->mode);
	FZ_CHECK(cf->pidfile == NULL || cf->pidfile[0] != '\0', "empty pidfile");
	FZ_CHECK(cf->user == NULL || cf->user[0] != '\0', "empty user");
	fz_check_list(&cf->access.allow);
	fz_check_list(&cf->access.deny);
	for (size_t i = 0; i < cf->nsvcs; i++) {
		const struct service *svc = &cf->svcs[i];
		struct net_addr a;

		FZ_CHECK(svc->name != NULL && svc->name[0] != '\0', "service %zu has no name", i);
		FZ_CHECK(svc->handler != NULL && handler_find(svc->handler->name) == svc->handler,
		    "service '%s': no handler", svc->name);
		FZ_CHECK(svc->nlisten >= 1, "service '%s': no listen address", svc->name);
		for (size_t k = 0; k < svc->nlisten; k++)
			FZ_CHECK(net_parse(svc->listen[k], &a, why, sizeof(why)) == 0,
			    "service '%s': listen '%s' kept but: %s", svc->name, svc->listen[k],
			    why);
		FZ_CHECK(svc->output != NULL && svc->output[0] != '\0', "service '%s': no output",
		    svc->name);
		if (svc->timestamp_format != NULL)
			FZ_CHECK(timefmt_check(svc->timestamp_format, why, sizeof(why)) == 0,
			    "service '%s': format kept but: %s", svc->name, why);
		fz_check_format(svc->timestamp_format);
		FZ_CHECK(svc->max_per_source >= 0 && svc->max_per_source <= CONF_MAX_SOURCE_LIMIT &&
		        svc->rate_limit >= 0 && svc->rate_limit <= CONF_MAX_SOURCE_LIMIT,
		    "service '%s': max_per_source %ld rate_limit %ld", svc->name,
		    svc->max_per_source, svc->rate_limit);
		FZ_CHECK(svc->mode <= 0777, "service '%s': mode %o", svc->name, svc->mode);
		fz_check_list(&svc->access.allow);
		fz_check_list(&svc->access.deny);
	}
}

/*
 * SPEC.md: a bad value gives "one line on stderr that names the bad
 * value".  The value is quoted as it is, so a control byte in it (LF, ESC)
 * reaches the terminal: known, so only checked with FZ_STRICT.
 */
static void
fz_check_message(const char *who, const char *err)
{
#ifdef FZ_STRICT
	for (const char *p = err; *p != '\0'; p++)
		FZ_CHECK(((unsigned char)*p >= 0x20 && *p != 0x7f) || *p == '\t',
		    "%s: control byte 0x%02X in the message: %s", who, (unsigned char)*p,
		    fz_show(err, strlen(err)));
#else
	(void)who;
	(void)err;
#endif
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[FZ_MAX_ARGS + 2], err[512];
	struct config cf;
	size_t off;
	int argc = 0, r;

	FZ_CHECK(buf != NULL, "out of memory");
	memcpy(buf, data, size);
	buf[size] = '\0';
	fz_text = buf;
	fz_text_len = strlen(buf);

	/* The file parser alone: errors are fine, crashes and leaks are not. */
	memset(&cf, 0, sizeof(cf));
	err[0] = '\0';
	r = conf_parse_text(&cf, "fuzz.conf", buf, err, sizeof(err));
	if (r == 0)
		fz_check_config(&cf);
	else
		FZ_CHECK(r == -1 && err[0] != '\0', "conf_parse_text: %d with no message", r);
	if (r != 0)
		fz_check_message("conf_parse_text", err);
	conf_free(&cf);

	/* The command line, with -c FILE reading the text above. */
	argv[argc++] = (char *)"dispatchd";
	for (off = fz_text_len + 1; off <= size && argc <= FZ_MAX_ARGS;
	     off += strlen(buf + off) + 1)
		argv[argc++] = buf + off;
	argv[argc] = NULL;
	memset(&cf, 0, sizeof(cf));
	err[0] = '\0';
	optind = 0;
	fz_in_load = true;
	r = conf_load(&cf, argc, argv, err, sizeof(err));
	fz_in_load = false;
	if (r == 0) {
		FZ_CHECK(cf.nsvcs >= 1, "conf_load: no services");
		fz_check_config(&cf);
	} else {
		FZ_CHECK(r == 1 || (r == -1 && err[0] != '\0'), "conf_load: %d with no message", r);
		fz_check_message("conf_load", err);
	}
	conf_free(&cf);
	free(buf);
	return 0;
}
