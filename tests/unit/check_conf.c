/* check_conf.c - unit tests of conf.c: the configuration file, the flags, the error lines. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "handler.h"
#include "model.h"
#include "proxy.h"
#include "unit.h"

#define SPEC_EXAMPLE                                                                         \
	"model        = \"epoll\"\n"                                                         \
	"max_clients  = 1024\n"                                                              \
	"idle_timeout = 300\n"                                                               \
	"max_line     = 8192\n"                                                              \
	"max_pending  = 262144\n"                                                            \
	"backlog      = 128\n"                                                               \
	"shutdown_timeout = 5\n"                                                             \
	"\n"                                                                                 \
	"service \"echo\"      { listen = {\"127.0.0.1:7007\"}  handler = \"echo\" }\n"      \
	"service \"timestamp\" { listen = {\"127.0.0.1:7013\"}  handler = \"timestamp\" }\n" \
	"service \"logger\"    { listen = {\"127.0.0.1:7514\"}  handler = \"logger\"\n"      \
	"                      output = \"dispatchd-logger.log\"  ack = false }\n"

/* The valid names an unknown key or option gets, written out here on purpose. */
#define GLOBAL_KEYS                                                                    \
	"model, max_clients, workers, idle_timeout, max_line, max_pending, backlog, "  \
	"shutdown_timeout, max_per_source, rate_limit, max_upload, request_timeout, "  \
	"allow, deny, mode, proxy_protocol, proxy_from, proxy_timeout, defer_accept, " \
	"timestamp_format, pidfile, user, service"
#define SERVICE_KEYS                                                                          \
	"listen, handler, output, ack, timestamp_format, root, listing, upload, access_log, " \
	"max_upload, request_timeout, max_per_source, rate_limit, allow, deny, mode, "        \
	"proxy_protocol, proxy_from, proxy_timeout, defer_accept"
#define LONG_OPTS                                                                            \
	"--config, --model, --handler, --listen, --max-clients, --workers, --idle-timeout, " \
	"--max-line, --max-pending, --backlog, --shutdown-timeout, --max-per-source, "       \
	"--rate-limit, --max-upload, --request-timeout, --allow, --deny, --proxy-protocol, " \
	"--proxy-from, --proxy-timeout, --defer-accept, --logger-output, "                   \
	"--logger-ack, --files-root, --files-upload, --files-access-log, "                   \
	"--timestamp-format, --pidfile, --user, --daemon, --test-config, --verbose, "        \
	"--quiet, --version, --help"
#define SHORT_OPTS "-c, -m, -H, -l, -d, -t, -v, -q, -V, -h"

static struct config cf;
static char err[1024];
static char tmpdir[64];
static char tmpfile_path[128];

static void
setup(void)
{
	memset(&cf, 0, sizeof(cf));
	err[0] = '\0';
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_conf.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(tmpfile_path, sizeof(tmpfile_path), "%s/t.conf", tmpdir);
}

static void
teardown(void)
{
	conf_free(&cf);
	unlink(tmpfile_path);
	rmdir(tmpdir);
}

static const char *
write_conf(const char *text)
{
	FILE *fp = fopen(tmpfile_path, "w");

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
	return tmpfile_path;
}

static int
load_argv(char **argv)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	return conf_load(&cf, argc, argv, err, sizeof(err));
}

/* conf_load on "dispatchd" plus the given arguments. */
#define LOAD(...) load_argv((char *[]){ "dispatchd", __VA_ARGS__, NULL })

static void
assert_err_has(const char *want)
{
	ck_assert_msg(strstr(err, want) != NULL, "'%s' not in error: %s", want, err);
	ck_assert_msg(strchr(err, '\n') == NULL, "error is not one line: %s", err);
}

static void
assert_parse_fails(const char *text, const char *want1, const char *want2)
{
	ck_assert_msg(conf_parse_text(&cf, "t.conf", text, err, sizeof(err)) == -1, "accepted: %s",
	    text);
	assert_err_has("t.conf");
	assert_err_has(want1);
	if (want2 != NULL)
		assert_err_has(want2);
}

static struct service *
svc_named(const char *name)
{
	size_t i;

	for (i = 0; i < cf.nsvcs; i++)
		if (strcmp(cf.svcs[i].name, name) == 0)
			return &cf.svcs[i];
	ck_abort_msg("no service '%s'", name);
	return NULL;
}

static const char *
model_name(size_t i)
{
	return models[i] != NULL ? models[i]->name : NULL;
}

static const char *
handler_name(size_t i)
{
	return handlers[i] != NULL ? handlers[i]->name : NULL;
}

/* A registry's names as the errors list them, "a, b, c": name(i) is the i-th, NULL past the end. */
static const char *
joined(const char *(*name)(size_t i))
{
	static char buf[256];
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; name(i) != NULL; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i > 0 ? ", " : "", name(i));
	return buf;
}

#define valid_models()   joined(model_name)
#define valid_handlers() joined(handler_name)

/* Runs fn with stdout (fd 1) going to a temporary file; returns its text. */
static char *
capture_stdout(int *ret, int (*fn)(void))
{
	static char out[8192];
	FILE *tf = tmpfile();
	int saved;
	ssize_t n;

	ck_assert_ptr_nonnull(tf);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	ck_assert_int_eq(dup2(fileno(tf), STDOUT_FILENO), STDOUT_FILENO);
	*ret = fn();
	fflush(stdout);
	ck_assert_int_eq(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
	close(saved);
	n = pread(fileno(tf), out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	fclose(tf);
	return out;
}

START_TEST(test_spec_example)
{
	struct service *s;

	ck_assert_msg(conf_parse_text(&cf, "spec.conf", SPEC_EXAMPLE, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_ptr_eq(cf.model, model_find("epoll"));
	ck_assert_int_eq(cf.max_clients, 1024);
	ck_assert_int_eq(cf.idle_timeout, 300);
	ck_assert_int_eq(cf.max_line, 8192);
	ck_assert_int_eq(cf.max_pending, 262144);
	ck_assert_int_eq(cf.backlog, 128);
	ck_assert_int_eq(cf.shutdown_timeout, 5);
	ck_assert_uint_eq(cf.nsvcs, 3);
	ck_assert_str_eq(cf.svcs[0].name, "echo");
	ck_assert_str_eq(cf.svcs[1].name, "timestamp");
	ck_assert_str_eq(cf.svcs[2].name, "logger");

	s = svc_named("echo");
	ck_assert_ptr_eq(s->handler, handler_find("echo"));
	ck_assert_uint_eq(s->nlisten, 1);
	ck_assert_str_eq(s->listen[0], "127.0.0.1:7007");
	ck_assert_ptr_null(s->timestamp_format);
	s = svc_named("timestamp");
	ck_assert_ptr_eq(s->handler, handler_find("timestamp"));
	ck_assert_str_eq(s->listen[0], "127.0.0.1:7013");
	s = svc_named("logger");
	ck_assert_ptr_eq(s->handler, handler_find("logger"));
	ck_assert_str_eq(s->listen[0], "127.0.0.1:7514");
	ck_assert_str_eq(s->output, "dispatchd-logger.log");
	ck_assert(!s->ack);
	ck_assert_ptr_null(cf.pidfile);
	ck_assert_ptr_null(cf.user);
	ck_assert_ptr_null(cf.config_path);
	ck_assert_ptr_null(cf.ls);
}
END_TEST

START_TEST(test_defaults)
{
	ck_assert_int_eq(conf_parse_text(&cf, "t.conf", "", err, sizeof(err)), 0);
	ck_assert_ptr_eq(cf.model, model_find(CONF_DEFAULT_MODEL));
	ck_assert_str_eq(cf.model->name, "epoll");
	ck_assert_int_eq(cf.max_clients, CONF_DEFAULT_MAX_CLIENTS);
	ck_assert_int_eq(cf.idle_timeout, CONF_DEFAULT_IDLE_TIMEOUT);
	ck_assert_int_eq(cf.max_line, CONF_DEFAULT_MAX_LINE);
	ck_assert_int_eq(cf.max_pending, CONF_DEFAULT_MAX_PENDING);
	ck_assert_int_eq(cf.backlog, CONF_DEFAULT_BACKLOG);
	ck_assert_int_eq(cf.shutdown_timeout, CONF_DEFAULT_SHUTDOWN_TIMEOUT);
	/* A file may hold only globals: the services can come from --listen. */
	ck_assert_uint_eq(cf.nsvcs, 0);

	/* Service defaults: output "-", ack false, RFC 3339 timestamps. */
	ck_assert_int_eq(conf_parse_text(&cf, "t.conf",
	                     "service logger { listen = {\"127.0.0.1:1\"} }\n", err, sizeof(err)),
	    0);
	ck_assert_uint_eq(cf.nsvcs, 1);
	ck_assert_str_eq(cf.svcs[0].output, "-");
	ck_assert(!cf.svcs[0].ack);
	ck_assert_ptr_null(cf.svcs[0].timestamp_format);
}
END_TEST

START_TEST(test_every_key)
{
	static const char text[] =
	    "# every key\n"
	    "model = \"poll\"\n"
	    "max_clients = 1000000\n"
	    "idle_timeout = 0\n"
	    "max_line = 1\n"
	    "max_pending = 1\n"
	    "backlog = 65535\n"
	    "shutdown_timeout = 3600\n"
	    "timestamp_format = \"%H:%M:%S\"\n"
	    "pidfile = \"/run/dispatchd.pid\"\n"
	    "user = \"nobody\"\n"
	    "service ts1 { listen = {\"*:0\", \"[::1]:0\", \"unix:/tmp/ts.sock\"}\n"
	    "              handler = \"timestamp\" }\n"
	    "service ts2 { listen = {\"localhost:9\"} handler = timestamp\n"
	    "              timestamp_format = \"%s.%f\" }\n"
	    "service log { listen = \"127.0.0.1:0\" handler = \"logger\"\n"
	    "              output = \"/var/log/d.log\" ack = true }\n";
	struct service *s;

	ck_assert_msg(conf_parse_text(&cf, "t.conf", text, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cf.model->name, "poll");
	ck_assert_int_eq(cf.max_clients, 1000000);
	ck_assert_int_eq(cf.idle_timeout, 0);
	ck_assert_int_eq(cf.max_line, 1);
	ck_assert_int_eq(cf.max_pending, 1);
	ck_assert_int_eq(cf.backlog, 65535);
	ck_assert_int_eq(cf.shutdown_timeout, 3600);
	ck_assert_str_eq(cf.pidfile, "/run/dispatchd.pid");
	ck_assert_str_eq(cf.user, "nobody");
	ck_assert_uint_eq(cf.nsvcs, 3);

	s = svc_named("ts1");
	ck_assert_uint_eq(s->nlisten, 3);
	ck_assert_str_eq(s->listen[0], "*:0");
	ck_assert_str_eq(s->listen[1], "[::1]:0");
	ck_assert_str_eq(s->listen[2], "unix:/tmp/ts.sock");
	/* The global format is the services' default... */
	ck_assert_str_eq(s->timestamp_format, "%H:%M:%S");
	/* ...and a service's own wins. */
	s = svc_named("ts2");
	ck_assert_str_eq(s->timestamp_format, "%s.%f");
	s = svc_named("log");
	ck_assert_ptr_eq(s->handler, handler_find("logger"));
	ck_assert_uint_eq(s->nlisten, 1);
	ck_assert_str_eq(s->output, "/var/log/d.log");
	ck_assert(s->ack);
}
END_TEST

START_TEST(test_handler_from_title)
{
	ck_assert_int_eq(conf_parse_text(&cf, "t.conf",
	                     "service timestamp { listen = {\"127.0.0.1:0\"} }\n"
	                     "service logger { listen = {\"127.0.0.1:0\"} }\n",
	                     err, sizeof(err)),
	    0);
	ck_assert_ptr_eq(svc_named("timestamp")->handler, handler_find("timestamp"));
	ck_assert_ptr_eq(svc_named("logger")->handler, handler_find("logger"));

	assert_parse_fails("service web { listen = {\"127.0.0.1:0\"} }\n",
	    "service 'web': no handler", valid_handlers());
}
END_TEST

START_TEST(test_bad_model)
{
	char want[512], names[256];

	snprintf(want, sizeof(want), "invalid model 'fast' (valid: %s)", valid_models());
	assert_parse_fails("model = \"fast\"\n", want, NULL);
	/* valid_models() is the registry, whatever it holds: as model_names() says it. */
	model_names(names, sizeof(names));
	ck_assert_str_ne(names, "");
	ck_assert_str_eq(valid_models(), names);
	conf_free(&cf);
	snprintf(want, sizeof(want),
	    "t.conf: invalid model 'epol' (did you mean 'epoll'? valid: %s)", valid_models());
	assert_parse_fails("model = \"epol\"\n", want, NULL);
}
END_TEST

START_TEST(test_bad_handler)
{
	char want[512], names[256];

	snprintf(want, sizeof(want), "invalid handler 'x' in service 'echo' (valid: %s)",
	    valid_handlers());
	assert_parse_fails("service echo { listen = {\"127.0.0.1:1\"} handler = \"x\" }\n", want,
	    NULL);
	/* valid_handlers() is the registry, whatever it holds: as handler_names() says it. */
	handler_names(names, sizeof(names));
	ck_assert_str_ne(names, "");
	ck_assert_str_eq(valid_handlers(), names);
	conf_free(&cf);
	snprintf(want, sizeof(want),
	    "invalid handler 'echo2' in service 'echo' (did you mean 'echo'? valid: %s)",
	    valid_handlers());
	assert_parse_fails("service echo { listen = {\"127.0.0.1:1\"} handler = \"echo2\" }\n",
	    want, NULL);
}
END_TEST

/* Key, flag, range: as in the brief; both the file and the flags use them. */
static const struct {
	const char *key;
	const char *flag;
	long min;
	long max;
} ranges[] = {
	{ "max_clients", "--max-clients", 1, 1000000 },
	{ "idle_timeout", "--idle-timeout", 0, 31536000 },
	{ "max_line", "--max-line", 1, CONF_MAX_LINE_LIMIT },
	{ "max_pending", "--max-pending", 1, CONF_MAX_PENDING_LIMIT },
	{ "backlog", "--backlog", 1, 65535 },
	{ "shutdown_timeout", "--shutdown-timeout", 0, 3600 },
	{ "max_per_source", "--max-per-source", 0, 1000000 },
	{ "rate_limit", "--rate-limit", 0, 1000000 },
	{ "proxy_timeout", "--proxy-timeout", 1, 3600 },
	{ "defer_accept", "--defer-accept", 0, 3600 },
};
#define NRANGES ((int)(sizeof(ranges) / sizeof(ranges[0])))

START_TEST(test_numbers_file)
{
	const char *key = ranges[_i].key;
	long min = ranges[_i].min, max = ranges[_i].max;
	char text[128], want[128], range[64];

	snprintf(range, sizeof(range), "(%ld..%ld)", min, max);

	snprintf(text, sizeof(text), "%s = %ld\n", key, min);
	ck_assert_msg(conf_parse_text(&cf, "t.conf", text, err, sizeof(err)) == 0, "%s", err);
	snprintf(text, sizeof(text), "\n%s = %ld\n", key, max);
	ck_assert_msg(conf_parse_text(&cf, "t.conf", text, err, sizeof(err)) == 0, "%s", err);

	snprintf(text, sizeof(text), "\n%s = %ld\n", key, min - 1);
	snprintf(want, sizeof(want), "t.conf:2: %s: %ld out of range %s", key, min - 1, range);
	assert_parse_fails(text, want, NULL);
	snprintf(text, sizeof(text), "%s = %ld\n", key, max + 1);
	snprintf(want, sizeof(want), "%s: %ld out of range %s", key, max + 1, range);
	assert_parse_fails(text, want, NULL);
	snprintf(text, sizeof(text), "%s = 99999999999999999999999\n", key);
	assert_parse_fails(text, "99999999999999999999999 out of range", range);

	snprintf(text, sizeof(text), "%s = abc\n", key);
	snprintf(want, sizeof(want), "%s: 'abc' is not a number %s", key, range);
	assert_parse_fails(text, want, NULL);
	snprintf(text, sizeof(text), "%s = \"12x\"\n", key);
	assert_parse_fails(text, "'12x' is not a number", NULL);
	snprintf(text, sizeof(text), "%s = 0x10\n", key);
	assert_parse_fails(text, "'0x10' is not a number", NULL);
}
END_TEST

START_TEST(test_numbers_flags)
{
	const char *flag = ranges[_i].flag;
	long min = ranges[_i].min, max = ranges[_i].max;
	char arg[64], want[160];

	snprintf(arg, sizeof(arg), "%ld", max);
	ck_assert_msg(LOAD("-l", "127.0.0.1:0", (char *)flag, arg) == 0, "%s", err);
	conf_free(&cf);

	snprintf(arg, sizeof(arg), "%ld", min - 1);
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", (char *)flag, arg), -1);
	snprintf(want, sizeof(want), "%s: %ld out of range (%ld..%ld)", flag, min - 1, min, max);
	assert_err_has(want);
	conf_free(&cf);

	ck_assert_int_eq(LOAD((char *)flag, "abc", "-l", "127.0.0.1:0"), -1);
	snprintf(want, sizeof(want), "%s: 'abc' is not a number (%ld..%ld)", flag, min, max);
	assert_err_has(want);
	conf_free(&cf);

	snprintf(arg, sizeof(arg), "%s=%ld ", flag, min);
	ck_assert_int_eq(LOAD(arg, "-l", "127.0.0.1:0"), -1);
	assert_err_has("is not a number");
}
END_TEST

START_TEST(test_unknown_key)
{
	assert_parse_fails("model = \"epoll\"\n\nfoo = 1\n", "", NULL);
	ck_assert_str_eq(err, "t.conf:3: no such option 'foo' (valid: " GLOBAL_KEYS ")");
	conf_free(&cf);
	/* Inside a service, the service keys: not the global ones. */
	assert_parse_fails("service echo {\n listen = {\"127.0.0.1:1\"}\n bar = 2 }\n", "", NULL);
	ck_assert_str_eq(err, "t.conf:3: no such option 'bar' (valid: " SERVICE_KEYS ")");
	conf_free(&cf);

	/* A near miss gets the closest key, then the list all the same. */
	assert_parse_fails("modle = \"epoll\"\n", "", NULL);
	ck_assert_str_eq(err,
	    "t.conf:1: no such option 'modle' (did you mean 'model'? valid: " GLOBAL_KEYS ")");
	conf_free(&cf);
	assert_parse_fails("service echo {\n lisen = {\"127.0.0.1:1\"} }\n", "", NULL);
	ck_assert_str_eq(err,
	    "t.conf:2: no such option 'lisen' (did you mean 'listen'? valid: " SERVICE_KEYS ")");
	conf_free(&cf);
	/* A key of the other level is no fix: "ack" is a service key only. */
	assert_parse_fails("acks = true\n", "no such option 'acks' (valid: " GLOBAL_KEYS ")", NULL);
	conf_free(&cf);
	assert_parse_fails("max-clients = 5\n", "(did you mean 'max_clients'? valid: ", NULL);
	conf_free(&cf);
	assert_parse_fails("maxclient = 5\n", "(did you mean 'max_clients'? valid: ", NULL);
	conf_free(&cf);
	assert_parse_fails("Model = \"epoll\"\n", "(did you mean 'model'? valid: ", NULL);
	conf_free(&cf);
	assert_parse_fails("servce \"echo\" { listen = {\"127.0.0.1:1\"} }\n",
	    "no such option 'servce' (did you mean 'service'? valid: ", NULL);
	conf_free(&cf);
	/* A unique beginning is a near miss too; an ambiguous one is not. */
	assert_parse_fails("timestamp = \"%s\"\n",
	    "(did you mean 'timestamp_format'? valid: ", NULL);
	conf_free(&cf);
	assert_parse_fails("max = 5\n", "no such option 'max' (valid: " GLOBAL_KEYS ")", NULL);
	conf_free(&cf);
	/* Too far, or too short, to guess from. */
	assert_parse_fails("modelling = 1\n", "no such option 'modelling' (valid: ", NULL);
	conf_free(&cf);
	assert_parse_fails("mo = 1\n", "no such option 'mo' (valid: ", NULL);
}
END_TEST

START_TEST(test_syntax_errors)
{
	assert_parse_fails("model = \n", "t.conf:2: premature end of file", NULL);
	conf_free(&cf);
	assert_parse_fails("service echo listen\n", "t.conf:1:", NULL);
	conf_free(&cf);
	assert_parse_fails("service { listen = {\"127.0.0.1:1\"} }\n", "missing title", NULL);
	conf_free(&cf);
	assert_parse_fails("service \"\" { listen = {\"127.0.0.1:1\"} handler = echo }\n",
	    "empty name", NULL);
	conf_free(&cf);
	assert_parse_fails("service log { listen = {\"127.0.0.1:1\"} ack = maybe }\n",
	    "ack: 'maybe' is not a boolean (true or false)", NULL);
}
END_TEST

START_TEST(test_duplicate_service)
{
	assert_parse_fails("service echo { listen = {\"127.0.0.1:1\"} }\n"
	                   "service echo { listen = {\"127.0.0.1:2\"} }\n",
	    "t.conf:2:", "duplicate title 'echo'");
}
END_TEST

START_TEST(test_missing_listen)
{
	assert_parse_fails("service echo { handler = \"echo\" }\n",
	    "service 'echo': no listen address", NULL);
}
END_TEST

START_TEST(test_bad_listen)
{
	assert_parse_fails("service echo { listen = {\"127.0.0.1:1\", \"foo\"} }\n",
	    "service 'echo': invalid listen address 'foo'",
	    "expected HOST:PORT, [IPV6]:PORT, *:PORT or unix:/path");
	conf_free(&cf);
	assert_parse_fails("service echo { listen = {\"127.0.0.1:70000\"} }\n", "127.0.0.1:70000",
	    "0..65535");
}
END_TEST

START_TEST(test_bad_strings)
{
	assert_parse_fails(
	    "service timestamp { listen = {\"127.0.0.1:1\"} timestamp_format = \"\" }\n",
	    "service 'timestamp': invalid timestamp_format ''", NULL);
	conf_free(&cf);
	assert_parse_fails("timestamp_format = \"\"\n", "invalid timestamp_format ''", NULL);
	conf_free(&cf);
	assert_parse_fails("service logger { listen = {\"127.0.0.1:1\"} output = \"\" }\n",
	    "service 'logger': empty output", "'-' or 'syslog'");
	conf_free(&cf);
	/* Audit finding 11: syslog(3) cannot confirm a record, so no OK for it. */
	assert_parse_fails("service l { listen = {\"127.0.0.1:1\"} handler = logger\n"
	                   "  output = \"syslog\" ack = true }\n",
	    "service 'l': ack = true needs a file or '-' output", "syslog(3)");
	conf_free(&cf);
	assert_parse_fails("pidfile = \"\"\n", "pidfile is empty", NULL);
}
END_TEST

START_TEST(test_parse_again_replaces)
{
	ck_assert_int_eq(conf_parse_text(&cf, "a", SPEC_EXAMPLE, err, sizeof(err)), 0);
	ck_assert_int_eq(conf_parse_text(&cf, "b",
	                     "max_clients = 3\npidfile = \"p\"\n"
	                     "service x { listen = \"127.0.0.1:0\" handler = echo }\n",
	                     err, sizeof(err)),
	    0);
	ck_assert_uint_eq(cf.nsvcs, 1);
	ck_assert_str_eq(cf.svcs[0].name, "x");
	ck_assert_int_eq(cf.max_clients, 3);
	ck_assert_int_eq(cf.idle_timeout, CONF_DEFAULT_IDLE_TIMEOUT);
	ck_assert_str_eq(cf.pidfile, "p");
}
END_TEST

/* libconfuse must not print on its own: main prints our one line. */
START_TEST(test_libconfuse_silent)
{
	FILE *tf = tmpfile();
	int saved;
	char buf[256];

	ck_assert_ptr_nonnull(tf);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_eq(dup2(fileno(tf), STDERR_FILENO), STDERR_FILENO);
	ck_assert_int_eq(conf_parse_text(&cf, "t.conf", "foo = 1\nmodel = \n", err, sizeof(err)),
	    -1);
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	ck_assert_int_eq(pread(fileno(tf), buf, sizeof(buf), 0), 0);
	fclose(tf);
	ck_assert_str_eq(err, "t.conf:1: no such option 'foo' (valid: " GLOBAL_KEYS ")");
}
END_TEST

START_TEST(test_load_file_and_overrides)
{
	const char *path = write_conf(
	    SPEC_EXAMPLE "pidfile = \"/file.pid\"\nuser = \"fileuser\"\n");
	size_t i;

	ck_assert_msg(LOAD("-c", (char *)path) == 0, "%s", err);
	ck_assert_str_eq(cf.config_path, path);
	ck_assert_uint_eq(cf.nsvcs, 3);
	ck_assert_str_eq(cf.model->name, "epoll");
	ck_assert(!cf.daemonize);
	ck_assert(!cf.test_only);
	ck_assert_int_eq(cf.verbosity, 0);
	conf_free(&cf);
	memset(&cf, 0, sizeof(cf));

	ck_assert_msg(LOAD("-c", (char *)path, "-m", "thread", "--max-clients", "7",
	                  "--idle-timeout=0", "--max-line", "100", "--max-pending", "200",
	                  "--backlog", "5", "--shutdown-timeout", "9", "--pidfile", "/flag.pid",
	                  "--user", "flaguser", "--logger-output", "-", "--logger-ack",
	                  "--timestamp-format", "%T", "-d", "-t", "-vv", "-q", "--verbose") == 0,
	    "%s", err);
	ck_assert_str_eq(cf.model->name, "thread");
	ck_assert_int_eq(cf.max_clients, 7);
	ck_assert_int_eq(cf.idle_timeout, 0);
	ck_assert_int_eq(cf.max_line, 100);
	ck_assert_int_eq(cf.max_pending, 200);
	ck_assert_int_eq(cf.backlog, 5);
	ck_assert_int_eq(cf.shutdown_timeout, 9);
	ck_assert_str_eq(cf.pidfile, "/flag.pid");
	ck_assert_str_eq(cf.user, "flaguser");
	ck_assert(cf.daemonize);
	ck_assert(cf.test_only);
	ck_assert_int_eq(cf.verbosity, 2);
	/* The file's services stay; the service flags apply to each. */
	ck_assert_uint_eq(cf.nsvcs, 3);
	for (i = 0; i < cf.nsvcs; i++) {
		ck_assert_str_eq(cf.svcs[i].output, "-");
		ck_assert(cf.svcs[i].ack);
		ck_assert_str_eq(cf.svcs[i].timestamp_format, "%T");
	}
	ck_assert_str_eq(svc_named("echo")->listen[0], "127.0.0.1:7007");
}
END_TEST

START_TEST(test_load_listen_replaces)
{
	const char *path = write_conf("max_clients = 5\ntimestamp_format = \"%F\"\n" SPEC_EXAMPLE);

	/* The file's max_clients line comes first; SPEC_EXAMPLE's 1024 wins later. */
	ck_assert_msg(LOAD("-c", (char *)path, "-l", "127.0.0.1:0", "--listen=[::1]:0", "-l",
	                  "unix:/tmp/x.sock") == 0,
	    "%s", err);
	ck_assert_uint_eq(cf.nsvcs, 3);
	ck_assert_str_eq(cf.svcs[0].name, "echo");
	ck_assert_str_eq(cf.svcs[1].name, "echo-2");
	ck_assert_str_eq(cf.svcs[2].name, "echo-3");
	ck_assert_str_eq(cf.svcs[0].listen[0], "127.0.0.1:0");
	ck_assert_str_eq(cf.svcs[1].listen[0], "[::1]:0");
	ck_assert_str_eq(cf.svcs[2].listen[0], "unix:/tmp/x.sock");
	ck_assert_ptr_eq(cf.svcs[1].handler, handler_find("echo"));
	ck_assert_uint_eq(cf.svcs[1].nlisten, 1);
	ck_assert_str_eq(cf.svcs[1].output, "-");
	/* The file's globals still count, the global timestamp format too. */
	ck_assert_int_eq(cf.max_clients, 1024);
	ck_assert_str_eq(cf.svcs[2].timestamp_format, "%F");
	conf_free(&cf);
	memset(&cf, 0, sizeof(cf));

	/* No file: only the flags. */
	ck_assert_msg(LOAD("-H", "timestamp", "-l", "*:0", "-l", "localhost:0", "--logger-ack") ==
	        0,
	    "%s", err);
	ck_assert_ptr_null(cf.config_path);
	ck_assert_uint_eq(cf.nsvcs, 2);
	ck_assert_str_eq(cf.svcs[0].name, "timestamp");
	ck_assert_str_eq(cf.svcs[1].name, "timestamp-2");
	ck_assert_ptr_eq(cf.svcs[0].handler, handler_find("timestamp"));
	ck_assert_ptr_null(cf.svcs[0].timestamp_format);
	ck_assert(cf.svcs[1].ack);
	ck_assert_str_eq(cf.model->name, CONF_DEFAULT_MODEL);
	ck_assert_int_eq(cf.max_clients, CONF_DEFAULT_MAX_CLIENTS);
	conf_free(&cf);
	memset(&cf, 0, sizeof(cf));

	ck_assert_msg(LOAD("-l", "127.0.0.1:0", "-Hlogger") == 0, "%s", err);
	ck_assert_uint_eq(cf.nsvcs, 1);
	ck_assert_str_eq(cf.svcs[0].name, "logger");
}
END_TEST

START_TEST(test_load_errors)
{
	char want[512];

	ck_assert_int_eq(LOAD("--bogus"), -1);
	ck_assert_str_eq(err,
	    "unknown option '--bogus' (valid: " LONG_OPTS "); try 'dispatchd --help'");
	ck_assert_int_eq(LOAD("--bogus=3"), -1);
	ck_assert_str_eq(err,
	    "unknown option '--bogus' (valid: " LONG_OPTS "); try 'dispatchd --help'");
	ck_assert_int_eq(LOAD("-vx"), -1);
	ck_assert_str_eq(err,
	    "unknown option '-x' (valid: " SHORT_OPTS "); try 'dispatchd --help'");
	ck_assert_int_eq(LOAD("--daemon", "-xv"), -1);
	ck_assert_str_eq(err,
	    "unknown option '-x' (valid: " SHORT_OPTS "); try 'dispatchd --help'");
	ck_assert_int_eq(LOAD("--max-clients=5", "-:"), -1);
	ck_assert_str_eq(err,
	    "unknown option '-:' (valid: " SHORT_OPTS "); try 'dispatchd --help'");
	/* A short option gets no guess: '-M' is not taken for '-m'. */
	ck_assert_int_eq(LOAD("-M", "epoll"), -1);
	ck_assert_str_eq(err,
	    "unknown option '-M' (valid: " SHORT_OPTS "); try 'dispatchd --help'");

	/* Near misses get the closest long option, then the list all the same. */
	ck_assert_int_eq(LOAD("--modle", "epoll"), -1);
	ck_assert_str_eq(err,
	    "unknown option '--modle' (did you mean '--model'? valid: " LONG_OPTS
	    "); try 'dispatchd --help'");
	ck_assert_int_eq(LOAD("--mdoel=epoll"), -1);
	assert_err_has("unknown option '--mdoel' (did you mean '--model'? valid: --config, ");
	ck_assert_int_eq(LOAD("--quite"), -1);
	assert_err_has("(did you mean '--quiet'? valid: ");
	ck_assert_int_eq(LOAD("--max_clients", "5"), -1);
	assert_err_has("(did you mean '--max-clients'? valid: ");
	ck_assert_int_eq(LOAD("--shutdowntimeout=5"), -1);
	assert_err_has("(did you mean '--shutdown-timeout'? valid: ");
	ck_assert_int_eq(LOAD("--timestampformat=%s"), -1);
	assert_err_has("(did you mean '--timestamp-format'? valid: ");
	/* Two edits away is too far for a short word. */
	ck_assert_int_eq(LOAD("--mdl", "epoll"), -1);
	ck_assert_str_eq(err,
	    "unknown option '--mdl' (valid: " LONG_OPTS "); try 'dispatchd --help'");
	/* An abbreviation of several: getopt_long says only '?'. */
	ck_assert_int_eq(LOAD("--max=5"), -1);
	ck_assert_str_eq(err,
	    "option '--max' is ambiguous (could be --max-clients, --max-line, --max-pending, "
	    "--max-per-source, --max-upload); try 'dispatchd --help'");
	ck_assert_int_eq(LOAD("--logger", "x"), -1);
	ck_assert_str_eq(err,
	    "option '--logger' is ambiguous (could be --logger-output, --logger-ack); "
	    "try 'dispatchd --help'");
	/* A unique one is the option itself. */
	ck_assert_msg(LOAD("--mod", "poll", "-l", "127.0.0.1:0") == 0, "%s", err);
	ck_assert_ptr_eq(cf.model, model_find("poll"));
	conf_free(&cf);
	ck_assert_int_eq(LOAD("-vc"), -1);
	ck_assert_str_eq(err, "option '-c' needs an argument; try 'dispatchd --help'");
	ck_assert_int_eq(LOAD("--logger-ack=1"), -1);
	ck_assert_str_eq(err, "option '--logger-ack' takes no argument; try 'dispatchd --help'");
	ck_assert_int_eq(LOAD("-c"), -1);
	ck_assert_str_eq(err, "option '-c' needs an argument; try 'dispatchd --help'");
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "--max-clients"), -1);
	ck_assert_str_eq(err, "option '--max-clients' needs an argument; try 'dispatchd --help'");
	ck_assert_int_eq(LOAD("--daemon=yes"), -1);
	ck_assert_str_eq(err, "option '--daemon' takes no argument; try 'dispatchd --help'");
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "extra"), -1);
	ck_assert_str_eq(err, "unexpected argument 'extra'; try 'dispatchd --help'");

	ck_assert_int_eq(LOAD("-m", "fast"), -1);
	snprintf(want, sizeof(want), "invalid model 'fast' (valid: %s)", valid_models());
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "-H", "x"), -1);
	snprintf(want, sizeof(want), "invalid handler 'x' (valid: %s)", valid_handlers());
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(LOAD("-m", "Thread"), -1);
	snprintf(want, sizeof(want), "invalid model 'Thread' (did you mean 'thread'? valid: %s)",
	    valid_models());
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "-H", "timestmap"), -1);
	snprintf(want, sizeof(want),
	    "invalid handler 'timestmap' (did you mean 'timestamp'? valid: %s)", valid_handlers());
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(LOAD("-l", "nope"), -1);
	assert_err_has("invalid listen address 'nope'");
	assert_err_has("expected HOST:PORT");
	ck_assert_int_eq(LOAD("-H", "echo"), -1);
	ck_assert_str_eq(err, "--handler 'echo' needs --listen ADDR");
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "--timestamp-format="), -1);
	assert_err_has("--timestamp-format: invalid timestamp_format ''");
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "--logger-output", ""), -1);
	assert_err_has("--logger-output: empty value");

	/* Bad flags are reported before the file is read. */
	ck_assert_int_eq(LOAD("-c", "/nonexistent/x.conf", "--backlog", "0"), -1);
	assert_err_has("--backlog: 0 out of range (1..65535)");
}
END_TEST

START_TEST(test_load_file_errors)
{
	const char *path;
	struct stat st;

	ck_assert_int_eq(LOAD("-c", "/nonexistent/x.conf"), -1);
	ck_assert_str_eq(err, "cannot read /nonexistent/x.conf: No such file or directory");
	ck_assert_ptr_null(cf.ls);
	conf_free(&cf);

	ck_assert_int_eq(LOAD("-c", tmpdir), -1);
	assert_err_has(tmpdir);
	assert_err_has(strerror(EISDIR));
	conf_free(&cf);

	path = write_conf("model = \"epoll\"\n");
	ck_assert_int_eq(LOAD("-c", (char *)path), -1);
	assert_err_has("no services in");
	assert_err_has(path);
	assert_err_has("--listen");
	conf_free(&cf);

	path = write_conf("max_clients = 0\n");
	ck_assert_int_eq(LOAD("-c", (char *)path, "-l", "127.0.0.1:0"), -1);
	assert_err_has(path);
	assert_err_has("max_clients: 0 out of range (1..1000000)");
	conf_free(&cf);

	/* Without -c and --listen the installed file is read if there is one. */
	if (stat(DISPATCHD_CONFIG, &st) == -1) {
		ck_assert_int_eq(LOAD("-v"), -1);
		ck_assert_str_eq(err,
		    "no services: give --listen ADDR or a configuration file with -c FILE");
	}
}
END_TEST

/* The prefixes of l, as "A/LEN,B/LEN" (IPv4 shown as IPv4). */
static const char *
list_str(const struct access_list *l)
{
	static char buf[512];
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		char a[64];

		ck_assert_ptr_nonnull(inet_ntop(l->v[i].family, l->v[i].addr, a, sizeof(a)));
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s/%u", i > 0 ? "," : "", a,
		    l->v[i].len);
	}
	return buf;
}

START_TEST(test_access_defaults)
{
	ck_assert_int_eq(conf_parse_text(&cf, "t.conf",
	                     "service echo { listen = \"127.0.0.1:0\" }\n", err, sizeof(err)),
	    0);
	ck_assert_int_eq(cf.max_per_source, 0);
	ck_assert_int_eq(cf.rate_limit, 0);
	ck_assert_uint_eq(cf.access.allow.n + cf.access.deny.n, 0);
	ck_assert(!cf.has_mode);
	ck_assert_int_eq(cf.svcs[0].max_per_source, 0);
	ck_assert_int_eq(cf.svcs[0].rate_limit, 0);
	ck_assert_uint_eq(cf.svcs[0].access.allow.n, 0);
	ck_assert_uint_eq(cf.svcs[0].access.deny.n, 0);
	ck_assert(!cf.svcs[0].has_mode);
	ck_assert_ptr_null(cf.svcs[0].sources);
}
END_TEST

/* Globals are every service's default; a service's own value or list replaces it. */
START_TEST(test_access_keys)
{
	static const char text[] =
	    "max_per_source = 5\n"
	    "rate_limit = 10\n"
	    "allow = {\"10.0.0.0/8\", \"::1\"}\n"
	    "deny = \"10.1.0.0/16\"\n"
	    "mode = \"0660\"\n"
	    "service a { listen = {\"127.0.0.1:0\", \"unix:/tmp/a.sock\"} handler = echo }\n"
	    "service b { listen = \"unix:/tmp/b.sock\" handler = echo\n"
	    "            max_per_source = 0 rate_limit = 1000000\n"
	    "            allow = {} deny = {\"::/0\", \"::ffff:192.0.2.0/120\"} mode = 600 }\n"
	    "service c { listen = \"127.0.0.1:0\" handler = echo allow = \"192.0.2.0/24\"\n"
	    "            mode = \"0\" }\n";
	struct service *s;

	ck_assert_msg(conf_parse_text(&cf, "t.conf", text, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cf.max_per_source, 5);
	ck_assert_int_eq(cf.rate_limit, 10);
	ck_assert_str_eq(list_str(&cf.access.allow), "10.0.0.0/8,::1/128");
	ck_assert_str_eq(list_str(&cf.access.deny), "10.1.0.0/16");
	ck_assert(cf.has_mode);
	ck_assert_uint_eq(cf.mode, 0660);

	s = svc_named("a");
	ck_assert_int_eq(s->max_per_source, 5);
	ck_assert_int_eq(s->rate_limit, 10);
	ck_assert_str_eq(list_str(&s->access.allow), "10.0.0.0/8,::1/128");
	ck_assert_str_eq(list_str(&s->access.deny), "10.1.0.0/16");
	ck_assert(s->has_mode);
	ck_assert_uint_eq(s->mode, 0660);
	/* A copy, not the global storage. */
	ck_assert_ptr_ne(s->access.allow.v, cf.access.allow.v);

	s = svc_named("b");
	ck_assert_int_eq(s->max_per_source, 0);
	ck_assert_int_eq(s->rate_limit, 1000000);
	/* "allow = {}" empties the inherited list. */
	ck_assert_uint_eq(s->access.allow.n, 0);
	ck_assert_str_eq(list_str(&s->access.deny), "::/0,192.0.2.0/24");
	ck_assert(s->has_mode);
	ck_assert_uint_eq(s->mode, 0600);

	s = svc_named("c");
	ck_assert_int_eq(s->max_per_source, 5);
	ck_assert_str_eq(list_str(&s->access.allow), "192.0.2.0/24");
	ck_assert_str_eq(list_str(&s->access.deny), "10.1.0.0/16");
	ck_assert(s->has_mode);
	ck_assert_uint_eq(s->mode, 0);
}
END_TEST

START_TEST(test_access_file_errors)
{
	assert_parse_fails("allow = {\"10.0.0.0/8\",\n \"10.0.0.0/33\"}\n",
	    "t.conf:2: allow: invalid prefix '10.0.0.0/33' (expected ADDRESS or ADDRESS/LEN, e.g. "
	    "10.0.0.0/8 or ::1/128)",
	    NULL);
	conf_free(&cf);
	assert_parse_fails("deny = \"\"\n", "t.conf:1: deny: invalid prefix ''", NULL);
	conf_free(&cf);
	assert_parse_fails(
	    "service echo {\n listen = \"127.0.0.1:0\"\n deny = {\"::1\", \"10.0.0.1/8\"} }\n",
	    "t.conf:3: service 'echo': deny: invalid prefix '10.0.0.1/8'",
	    "did you mean 10.0.0.0/8?");
	conf_free(&cf);
	assert_parse_fails("service echo { listen = \"127.0.0.1:0\"\n allow = \"host.example\" }\n",
	    "t.conf:2: service 'echo': allow: invalid prefix 'host.example'", "e.g. 10.0.0.0/8");
	conf_free(&cf);
	assert_parse_fails("service echo { listen = \"127.0.0.1:0\"\n max_per_source = -1 }\n",
	    "t.conf:2: service 'echo': max_per_source: -1 out of range (0..1000000)", NULL);
	conf_free(&cf);
	assert_parse_fails("service echo { listen = \"127.0.0.1:0\" rate_limit = x }\n",
	    "service 'echo': rate_limit: 'x' is not a number (0..1000000)", NULL);
	conf_free(&cf);

	static const char *const modes[] = { "0999", "1777", "07777", "rw-rw----", "", "-1",
		"0x1ff", "0660 " };
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char text[128], want[256];

		snprintf(text, sizeof(text), "mode = \"%s\"\n", modes[i]);
		snprintf(want, sizeof(want),
		    "t.conf:1: mode: invalid mode '%s' (expected octal permission bits 000 to 777, "
		    "e.g. 0660)",
		    modes[i]);
		assert_parse_fails(text, want, NULL);
		conf_free(&cf);
	}
	assert_parse_fails("service echo { listen = \"unix:/x\" mode = \"888\" }\n",
	    "service 'echo': mode: invalid mode '888'", NULL);
}
END_TEST

/* The flags replace the value, or the list, of every service. */
START_TEST(test_access_flags)
{
	const char *path = write_conf(
	    "allow = \"10.0.0.0/8\"\n"
	    "deny = \"10.1.0.0/16\"\n"
	    "service a { listen = \"127.0.0.1:0\" handler = echo max_per_source = 3\n"
	    "            allow = \"::1\" }\n"
	    "service b { listen = \"127.0.0.1:0\" handler = echo rate_limit = 4\n"
	    "            deny = \"::2\" }\n");
	struct service *s;

	ck_assert_msg(LOAD("-c", (char *)path, "--max-per-source", "7", "--rate-limit=9", "--allow",
	                  "192.0.2.0/24", "--allow", "::ffff:198.51.100.7", "--deny",
	                  "192.0.2.128/25") == 0,
	    "%s", err);
	ck_assert_int_eq(cf.max_per_source, 7);
	ck_assert_int_eq(cf.rate_limit, 9);
	for (size_t i = 0; i < cf.nsvcs; i++) {
		s = &cf.svcs[i];
		ck_assert_int_eq(s->max_per_source, 7);
		ck_assert_int_eq(s->rate_limit, 9);
		ck_assert_str_eq(list_str(&s->access.allow), "192.0.2.0/24,198.51.100.7/32");
		ck_assert_str_eq(list_str(&s->access.deny), "192.0.2.128/25");
	}
	conf_free(&cf);
	memset(&cf, 0, sizeof(cf));

	/* Only --deny: the allow lists of the file stay. */
	ck_assert_msg(LOAD("-c", (char *)path, "--deny", "::3") == 0, "%s", err);
	ck_assert_str_eq(list_str(&svc_named("a")->access.allow), "::1/128");
	ck_assert_str_eq(list_str(&svc_named("b")->access.allow), "10.0.0.0/8");
	ck_assert_str_eq(list_str(&svc_named("a")->access.deny), "::3/128");
	ck_assert_str_eq(list_str(&svc_named("b")->access.deny), "::3/128");
	ck_assert_int_eq(svc_named("a")->max_per_source, 3);
	ck_assert_int_eq(svc_named("a")->rate_limit, 0);
	ck_assert_int_eq(svc_named("b")->max_per_source, 0);
	ck_assert_int_eq(svc_named("b")->rate_limit, 4);
	conf_free(&cf);
	memset(&cf, 0, sizeof(cf));

	/* --listen services get the file's globals. */
	path = write_conf("max_per_source = 4\nrate_limit = 2\nallow = \"::1\"\nmode = \"0600\"\n");
	ck_assert_msg(LOAD("-c", (char *)path, "-l", "unix:/tmp/x.sock", "-l", "127.0.0.1:0",
	                  "--rate-limit", "6") == 0,
	    "%s", err);
	ck_assert_uint_eq(cf.nsvcs, 2);
	for (size_t i = 0; i < cf.nsvcs; i++) {
		s = &cf.svcs[i];
		ck_assert_int_eq(s->max_per_source, 4);
		ck_assert_int_eq(s->rate_limit, 6);
		ck_assert_str_eq(list_str(&s->access.allow), "::1/128");
		ck_assert_uint_eq(s->access.deny.n, 0);
		ck_assert(s->has_mode);
		ck_assert_uint_eq(s->mode, 0600);
	}
	conf_free(&cf);
	memset(&cf, 0, sizeof(cf));

	/* No file at all. */
	ck_assert_msg(LOAD("-l", "127.0.0.1:0", "--deny", "0.0.0.0/0") == 0, "%s", err);
	ck_assert_str_eq(list_str(&cf.svcs[0].access.deny), "0.0.0.0/0");
	ck_assert_uint_eq(cf.svcs[0].access.allow.n, 0);
	ck_assert(!cf.svcs[0].has_mode);
}
END_TEST

START_TEST(test_access_flag_errors)
{
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "--allow", "10.0.0.0/33"), -1);
	ck_assert_str_eq(err,
	    "--allow: invalid prefix '10.0.0.0/33' (expected ADDRESS or "
	    "ADDRESS/LEN, e.g. 10.0.0.0/8 or ::1/128)");
	conf_free(&cf);
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "--deny", "::1", "--deny=2001:db8::1/32"), -1);
	assert_err_has("--deny: invalid prefix '2001:db8::1/32'");
	assert_err_has("did you mean 2001:db8::/32?");
	conf_free(&cf);
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "--deny="), -1);
	assert_err_has("--deny: invalid prefix ''");
	conf_free(&cf);
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "--allow"), -1);
	ck_assert_str_eq(err, "option '--allow' needs an argument; try 'dispatchd --help'");
}
END_TEST

/* The proxy_protocol values as every error lists them. */
#define PROXY_VALUES "valid: off, v1, v2, any"

static void
assert_proxy_at(int line, int versions, const struct access_list *from, long timeout,
    int want_versions, const char *want_from, long want_timeout)
{
	ck_assert_msg(versions == want_versions && strcmp(list_str(from), want_from) == 0 &&
	        timeout == want_timeout,
	    "line %d: proxy_protocol %d, proxy_from '%s', proxy_timeout %ld; expected %d, '%s', %ld",
	    line, versions, list_str(from), timeout, want_versions, want_from, want_timeout);
}

/* x (&cf or a service) has these PROXY settings; proxy_from as list_str shows it. */
#define assert_proxy(x, versions, from, timeout)                                             \
	assert_proxy_at(__LINE__, (x)->proxy_protocol, &(x)->proxy_from, (x)->proxy_timeout, \
	    (versions), (from), (timeout))

START_TEST(test_proxy_defaults)
{
	ck_assert_int_eq(CONF_DEFAULT_PROXY_TIMEOUT, 5);
	ck_assert_msg(conf_parse_text(&cf, "t.conf", "service echo { listen = \"127.0.0.1:0\" }\n",
	                  err, sizeof(err)) == 0,
	    "%s", err);
	assert_proxy(&cf, 0, "", CONF_DEFAULT_PROXY_TIMEOUT);
	assert_proxy(&cf.svcs[0], 0, "", 5);
	conf_free(&cf);
	memset(&cf, 0, sizeof(cf));

	/* The same with the services from --listen and no file. */
	ck_assert_msg(LOAD("-l", "127.0.0.1:0") == 0, "%s", err);
	assert_proxy(&cf.svcs[0], 0, "", 5);
}
END_TEST

/* Each value, global then per service; a service's own value or list replaces the global one. */
START_TEST(test_proxy_keys)
{
	static const char text[] =
	    "proxy_protocol = \"v2\"\n"
	    "proxy_from = {\"10.0.0.0/8\", \"::1\"}\n"
	    "proxy_timeout = 30\n"
	    "service a { listen = {\"127.0.0.1:0\", \"[::1]:0\"} handler = echo }\n"
	    "service b { listen = \"127.0.0.1:0\" handler = echo proxy_protocol = \"v1\"\n"
	    "            proxy_from = \"192.0.2.0/24\" proxy_timeout = 1 }\n"
	    "service c { listen = \"127.0.0.1:0\" handler = echo proxy_protocol = \"any\"\n"
	    "            proxy_timeout = 3600 }\n"
	    "service d { listen = {\"udp:127.0.0.1:0\", \"127.0.0.1:0\"} handler = echo\n"
	    "            proxy_protocol = \"off\" proxy_from = {} }\n"
	    "service e { listen = \"unix:/tmp/e.sock\" handler = echo proxy_protocol = v2 }\n";
	static const char *const names[] = { "off", "v1", "v2", "any" };

	ck_assert_msg(conf_parse_text(&cf, "t.conf", text, err, sizeof(err)) == 0, "%s", err);
	assert_proxy(&cf, PROXY_V2, "10.0.0.0/8,::1/128", 30);
	assert_proxy(svc_named("a"), PROXY_V2, "10.0.0.0/8,::1/128", 30);
	/* A copy, not the global storage. */
	ck_assert_ptr_ne(svc_named("a")->proxy_from.v, cf.proxy_from.v);
	assert_proxy(svc_named("b"), PROXY_V1, "192.0.2.0/24", 1);
	assert_proxy(svc_named("c"), PROXY_ANY, "10.0.0.0/8,::1/128", 3600);
	/* Off: a datagram listener and an empty list are fine. */
	assert_proxy(svc_named("d"), 0, "", 30);
	assert_proxy(svc_named("e"), PROXY_V2, "10.0.0.0/8,::1/128", 30);

	/* Every value, at the top level and in a service. */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char t[256];

		snprintf(t, sizeof(t),
		    "proxy_protocol = \"%s\"\nproxy_from = \"::1\"\n"
		    "service x { listen = \"127.0.0.1:0\" handler = echo }\n"
		    "service y { listen = \"127.0.0.1:0\" handler = echo proxy_protocol = %s }\n",
		    names[i], names[(i + 1) % 4]);
		ck_assert_msg(conf_parse_text(&cf, "t.conf", t, err, sizeof(err)) == 0, "%s", err);
		ck_assert_int_eq(cf.proxy_protocol, (int)i);
		ck_assert_int_eq(svc_named("x")->proxy_protocol, (int)i);
		ck_assert_int_eq(svc_named("y")->proxy_protocol, (int)(i + 1) % 4);
	}
}
END_TEST

START_TEST(test_proxy_file_errors)
{
	static const char *const bad[] = { "v3", "on", "", "V2 ", "ANY", "vv2", "proxy" };
	static const char *const hint[] = { NULL, NULL, NULL, "v2", "any", "v2", NULL };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128], want[256];

		snprintf(text, sizeof(text), "\nproxy_protocol = \"%s\"\n", bad[i]);
		if (hint[i] != NULL)
			snprintf(want, sizeof(want),
			    "t.conf:2: invalid proxy_protocol '%s' (did you mean '%s'? " PROXY_VALUES
			    ")",
			    bad[i], hint[i]);
		else
			snprintf(want, sizeof(want),
			    "t.conf:2: invalid proxy_protocol '%s' (" PROXY_VALUES ")", bad[i]);
		assert_parse_fails(text, "", NULL);
		ck_assert_str_eq(err, want);
		conf_free(&cf);
	}
	assert_parse_fails("service echo {\n listen = \"127.0.0.1:0\"\n proxy_protocol = \"2\" }\n",
	    "", NULL);
	ck_assert_str_eq(err,
	    "t.conf:3: service 'echo': invalid proxy_protocol '2' (" PROXY_VALUES ")");
	conf_free(&cf);

	/* proxy_from: the errors of allow and deny. */
	assert_parse_fails("proxy_from = {\"10.0.0.0/8\",\n \"10.0.0.0/33\"}\n",
	    "t.conf:2: proxy_from: invalid prefix '10.0.0.0/33' (expected ADDRESS or "
	    "ADDRESS/LEN, e.g. 10.0.0.0/8 or ::1/128)",
	    NULL);
	conf_free(&cf);
	assert_parse_fails(
	    "service echo { listen = \"127.0.0.1:0\"\n proxy_from = \"10.0.0.1/8\" }\n",
	    "t.conf:2: service 'echo': proxy_from: invalid prefix '10.0.0.1/8'",
	    "did you mean 10.0.0.0/8?");
	conf_free(&cf);
	assert_parse_fails("proxy_from = \"haproxy.example\"\n",
	    "t.conf:1: proxy_from: invalid prefix 'haproxy.example'", NULL);
	conf_free(&cf);

	/* proxy_timeout: 1..3600, in a service too. */
	assert_parse_fails("service echo { listen = \"127.0.0.1:0\"\n proxy_timeout = 0 }\n",
	    "t.conf:2: service 'echo': proxy_timeout: 0 out of range (1..3600)", NULL);
	conf_free(&cf);
	assert_parse_fails("service echo { listen = \"127.0.0.1:0\" proxy_timeout = 3601 }\n",
	    "service 'echo': proxy_timeout: 3601 out of range (1..3600)", NULL);
	conf_free(&cf);
	assert_parse_fails("proxy_timeout = 5s\n", "proxy_timeout: '5s' is not a number (1..3600)",
	    NULL);
	conf_free(&cf);

	/* On without proxy_from: globally, per service, or emptied by the service. */
	assert_parse_fails("service echo { listen = \"127.0.0.1:0\" proxy_protocol = \"v2\" }\n",
	    "", NULL);
	ck_assert_str_eq(err,
	    "t.conf: service 'echo': proxy_protocol = \"v2\" needs proxy_from (the addresses of "
	    "the proxies that may send a header: proxy_from = {\"CIDR\", ...}, or --proxy-from "
	    "CIDR)");
	conf_free(&cf);
	assert_parse_fails("proxy_protocol = \"any\"\n"
	                   "service echo { listen = \"127.0.0.1:0\" }\n",
	    "t.conf: service 'echo': proxy_protocol = \"any\" needs proxy_from", NULL);
	conf_free(&cf);
	assert_parse_fails(
	    "proxy_protocol = v1\nproxy_from = \"::1\"\n"
	    "service a { listen = \"127.0.0.1:0\" handler = echo }\n"
	    "service b { listen = \"127.0.0.1:0\" handler = echo proxy_from = {} }\n",
	    "t.conf: service 'b': proxy_protocol = \"v1\" needs proxy_from", NULL);
	conf_free(&cf);
	/* A unix listener needs no address to match, but the key stays required. */
	assert_parse_fails(
	    "service echo { listen = \"unix:/tmp/x.sock\" proxy_protocol = \"v2\" }\n",
	    "service 'echo': proxy_protocol = \"v2\" needs proxy_from", NULL);
	conf_free(&cf);

	/* Datagram listeners: PROXY headers come on stream connections only. */
	assert_parse_fails("proxy_from = \"::1\"\n"
	                   "service echo { listen = {\"127.0.0.1:0\", \"udp:127.0.0.1:0\"}\n"
	                   "  proxy_protocol = \"v2\" }\n",
	    "", NULL);
	ck_assert_str_eq(err,
	    "t.conf: service 'echo': proxy_protocol = \"v2\" cannot be used on the datagram "
	    "listener 'udp:127.0.0.1:0' (PROXY headers come on stream connections only: "
	    "HOST:PORT, [IPV6]:PORT, *:PORT or unix:/path)");
	conf_free(&cf);
	assert_parse_fails("proxy_protocol = \"v1\"\nproxy_from = \"::1\"\n"
	                   "service echo { listen = {\"unixgram:/tmp/x.sock\"} }\n",
	    "t.conf: service 'echo': proxy_protocol = \"v1\" cannot be used on the datagram "
	    "listener 'unixgram:/tmp/x.sock'",
	    NULL);
}
END_TEST

/* The flags set every service's value, or list, over the file's. */
START_TEST(test_proxy_flags)
{
	const char *path = write_conf(
	    "proxy_protocol = \"v1\"\n"
	    "proxy_from = \"10.0.0.0/8\"\n"
	    "proxy_timeout = 7\n"
	    "service a { listen = \"127.0.0.1:0\" handler = echo proxy_protocol = \"any\"\n"
	    "            proxy_from = \"::1\" proxy_timeout = 8 }\n"
	    "service b { listen = \"127.0.0.1:0\" handler = echo }\n");
	static const char *const names[] = { "off", "v1", "v2", "any" };

	/* The file alone. */
	ck_assert_msg(LOAD("-c", (char *)path) == 0, "%s", err);
	assert_proxy(svc_named("a"), PROXY_ANY, "::1/128", 8);
	assert_proxy(svc_named("b"), PROXY_V1, "10.0.0.0/8", 7);
	conf_free(&cf);
	memset(&cf, 0, sizeof(cf));

	ck_assert_msg(LOAD("-c", (char *)path, "--proxy-protocol", "v2", "--proxy-from",
	                  "192.0.2.0/24", "--proxy-from=::ffff:198.51.100.7", "--proxy-timeout",
	                  "60") == 0,
	    "%s", err);
	assert_proxy(&cf, PROXY_V2, "192.0.2.0/24,198.51.100.7/32", 60);
	for (size_t i = 0; i < cf.nsvcs; i++)
		assert_proxy(&cf.svcs[i], PROXY_V2, "192.0.2.0/24,198.51.100.7/32", 60);
	conf_free(&cf);
	memset(&cf, 0, sizeof(cf));

	/* Only --proxy-timeout: the file's versions and lists stay. */
	ck_assert_msg(LOAD("-c", (char *)path, "--proxy-timeout=2") == 0, "%s", err);
	assert_proxy(svc_named("a"), PROXY_ANY, "::1/128", 2);
	assert_proxy(svc_named("b"), PROXY_V1, "10.0.0.0/8", 2);
	conf_free(&cf);
	memset(&cf, 0, sizeof(cf));

	/* --proxy-protocol off turns it off everywhere: no proxy_from needed then. */
	ck_assert_msg(LOAD("-c", (char *)path, "--proxy-protocol", "off", "-H", "echo", "-l",
	                  "udp:127.0.0.1:0") == 0,
	    "%s", err);
	ck_assert_int_eq(cf.svcs[0].proxy_protocol, 0);
	conf_free(&cf);
	memset(&cf, 0, sizeof(cf));

	/* --listen services get the file's globals... */
	ck_assert_msg(LOAD("-c", (char *)path, "-l", "127.0.0.1:0", "-l", "unix:/tmp/x.sock") == 0,
	    "%s", err);
	ck_assert_uint_eq(cf.nsvcs, 2);
	for (size_t i = 0; i < cf.nsvcs; i++)
		assert_proxy(&cf.svcs[i], PROXY_V1, "10.0.0.0/8", 7);
	conf_free(&cf);
	memset(&cf, 0, sizeof(cf));

	/* ...and with no file, the flags; every value. */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ck_assert_msg(LOAD("-l", "127.0.0.1:0", "--proxy-protocol", (char *)names[i],
		                  "--proxy-from", "127.0.0.1") == 0,
		    "%s", err);
		assert_proxy(&cf, (int)i, "127.0.0.1/32", CONF_DEFAULT_PROXY_TIMEOUT);
		assert_proxy(&cf.svcs[0], (int)i, "127.0.0.1/32", CONF_DEFAULT_PROXY_TIMEOUT);
		conf_free(&cf);
		memset(&cf, 0, sizeof(cf));
	}
}
END_TEST

START_TEST(test_proxy_flag_errors)
{
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "--proxy-protocol", "v3"), -1);
	ck_assert_str_eq(err, "--proxy-protocol: invalid proxy_protocol 'v3' (" PROXY_VALUES ")");
	conf_free(&cf);
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "--proxy-protocol=Any"), -1);
	ck_assert_str_eq(err,
	    "--proxy-protocol: invalid proxy_protocol 'Any' (did you mean 'any'? " PROXY_VALUES
	    ")");
	conf_free(&cf);
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "--proxy-from", "10.0.0.0/33"), -1);
	ck_assert_str_eq(err,
	    "--proxy-from: invalid prefix '10.0.0.0/33' (expected ADDRESS or ADDRESS/LEN, e.g. "
	    "10.0.0.0/8 or ::1/128)");
	conf_free(&cf);
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "--proxy-timeout", "0"), -1);
	ck_assert_str_eq(err, "--proxy-timeout: 0 out of range (1..3600)");
	conf_free(&cf);
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "--proxy-protocol", "v2"), -1);
	ck_assert_str_eq(err,
	    "command line: service 'echo': proxy_protocol = \"v2\" needs proxy_from (the "
	    "addresses of the proxies that may send a header: proxy_from = {\"CIDR\", ...}, or "
	    "--proxy-from CIDR)");
	conf_free(&cf);
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "-l", "unixgram:/tmp/x.sock", "--proxy-protocol",
	                     "v1", "--proxy-from", "::1"),
	    -1);
	ck_assert_str_eq(err,
	    "command line: service 'echo-2': proxy_protocol = \"v1\" cannot be used on the "
	    "datagram listener 'unixgram:/tmp/x.sock' (PROXY headers come on stream connections "
	    "only: HOST:PORT, [IPV6]:PORT, *:PORT or unix:/path)");
	conf_free(&cf);
	/* A flag turns it on over a file's services that name no proxies: said under -t too. */
	ck_assert_int_eq(LOAD("-t", "-c",
	                     (char *)write_conf("service echo { listen = "
	                                        "\"127.0.0.1:0\" }\n"),
	                     "--proxy-protocol", "any"),
	    -1);
	assert_err_has(": service 'echo': proxy_protocol = \"any\" needs proxy_from");
	assert_err_has(tmpfile_path);
	conf_free(&cf);
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "--proxy", "v1"), -1);
	ck_assert_str_eq(err,
	    "option '--proxy' is ambiguous (could be --proxy-protocol, --proxy-from, "
	    "--proxy-timeout); try 'dispatchd --help'");
	conf_free(&cf);
	ck_assert_int_eq(LOAD("-l", "127.0.0.1:0", "--proxy-protocl", "v1"), -1);
	assert_err_has("unknown option '--proxy-protocl' (did you mean '--proxy-protocol'? ");
}
END_TEST

static int
run_help(void)
{
	return LOAD("--help", "--bogus");
}

static int
run_version(void)
{
	return LOAD("-V");
}

START_TEST(test_help_version)
{
	char *out;
	int r;
	size_t i;

	out = capture_stdout(&r, run_help);
	ck_assert_int_eq(r, 1);
	ck_assert_ptr_nonnull(
	    strstr(out, "dispatchd [-c FILE] [-m MODEL] [-H HANDLER] [-l ADDR]... [options]"));
	ck_assert_ptr_nonnull(strstr(out, "--shutdown-timeout SEC"));
	ck_assert_ptr_nonnull(strstr(out, "--max-per-source N"));
	ck_assert_ptr_nonnull(strstr(out, "--rate-limit N"));
	ck_assert_ptr_nonnull(strstr(out, "--allow CIDR"));
	ck_assert_ptr_nonnull(strstr(out, "--deny CIDR"));
	ck_assert_ptr_nonnull(strstr(out, "--proxy-protocol VER  off|v1|v2|any"));
	ck_assert_ptr_nonnull(strstr(out, "--proxy-from CIDR"));
	ck_assert_ptr_nonnull(strstr(out, "--proxy-timeout SEC"));
	ck_assert_ptr_nonnull(strstr(out, "-V, --version / -h, --help"));
	for (i = 0; models[i] != NULL; i++)
		ck_assert_ptr_nonnull(strstr(out, models[i]->name));
	for (i = 0; handlers[i] != NULL; i++) {
		ck_assert_ptr_nonnull(strstr(out, handlers[i]->name));
		if (handlers[i]->summary != NULL)
			ck_assert_ptr_nonnull(strstr(out, handlers[i]->summary));
	}

	out = capture_stdout(&r, run_version);
	ck_assert_int_eq(r, 1);
	ck_assert_str_eq(out, "dispatchd " DISPATCHD_VERSION "\n");
}
END_TEST

/*
 * defer_accept: unset everywhere, the handler's own (1 for the HTTP
 * handlers, whose clients speak first; 0 for the rest); a global value is
 * every service's default, a service's own wins, the flag replaces all.
 */
START_TEST(test_defer_accept)
{
	char text[1024];

	snprintf(text, sizeof(text),
	    "service f { listen = \"127.0.0.1:0\" handler = files root = \"%s\" }\n"
	    "service m { listen = \"127.0.0.1:0\" handler = metrics }\n"
	    "service e { listen = \"127.0.0.1:0\" handler = echo }\n"
	    "service z { listen = \"127.0.0.1:0\" handler = files root = \"%s\"\n"
	    "            defer_accept = 0 }\n"
	    "service d { listen = \"127.0.0.1:0\" handler = logger defer_accept = 7 }\n",
	    tmpdir, tmpdir);
	ck_assert_msg(conf_parse_text(&cf, "t.conf", text, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(svc_named("f")->defer_accept, 1);
	ck_assert_int_eq(svc_named("m")->defer_accept, 1);
	ck_assert_int_eq(svc_named("e")->defer_accept, 0);
	ck_assert_int_eq(svc_named("z")->defer_accept, 0);
	ck_assert_int_eq(svc_named("d")->defer_accept, 7);

	snprintf(text, sizeof(text),
	    "defer_accept = 0\n"
	    "service f { listen = \"127.0.0.1:0\" handler = files root = \"%s\" }\n"
	    "service e { listen = \"127.0.0.1:0\" handler = echo defer_accept = 3 }\n",
	    tmpdir);
	ck_assert_msg(conf_parse_text(&cf, "t.conf", text, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(svc_named("f")->defer_accept, 0);
	ck_assert_int_eq(svc_named("e")->defer_accept, 3);
	conf_free(&cf);
	memset(&cf, 0, sizeof(cf));

	ck_assert_msg(LOAD("-H", "files", "--files-root", tmpdir, "-l", "127.0.0.1:0") == 0, "%s",
	    err);
	ck_assert_int_eq(cf.svcs[0].defer_accept, 1);
	conf_free(&cf);
	ck_assert_msg(LOAD("-H", "files", "--files-root", tmpdir, "-l", "127.0.0.1:0",
	                  "--defer-accept", "4") == 0,
	    "%s", err);
	ck_assert_int_eq(cf.svcs[0].defer_accept, 4);
	conf_free(&cf);
	ck_assert_msg(LOAD("-H", "daytime", "-l", "127.0.0.1:0") == 0, "%s", err);
	ck_assert_int_eq(cf.svcs[0].defer_accept, 0);
}
END_TEST

Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

	tc = tcase_create("file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_spec_example);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_handler_from_title);
	tcase_add_test(tc, test_bad_model);
	tcase_add_test(tc, test_bad_handler);
	tcase_add_loop_test(tc, test_numbers_file, 0, NRANGES);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_duplicate_service);
	tcase_add_test(tc, test_missing_listen);
	tcase_add_test(tc, test_bad_listen);
	tcase_add_test(tc, test_bad_strings);
	tcase_add_test(tc, test_parse_again_replaces);
	tcase_add_test(tc, test_libconfuse_silent);
	tcase_add_test(tc, test_access_defaults);
	tcase_add_test(tc, test_access_keys);
	tcase_add_test(tc, test_access_file_errors);
	tcase_add_test(tc, test_proxy_keys);
	tcase_add_test(tc, test_proxy_file_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_load_file_and_overrides);
	tcase_add_test(tc, test_load_listen_replaces);
	tcase_add_loop_test(tc, test_numbers_flags, 0, NRANGES);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_load_file_errors);
	tcase_add_test(tc, test_help_version);
	tcase_add_test(tc, test_access_flags);
	tcase_add_test(tc, test_access_flag_errors);
	tcase_add_test(tc, test_proxy_defaults);
	tcase_add_test(tc, test_proxy_flags);
	tcase_add_test(tc, test_proxy_flag_errors);
	tcase_add_test(tc, test_defer_accept);
	suite_add_tcase(s, tc);
	return s;
}
