/* check_metrics.c - the metrics handler under every model: exact counters after known traffic (fork children's too), the exposition format, curl, and its HTTP edges. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define D H_DEADLINE_MS

/* The echo service's traffic: NECHO connections, client i sending ECHO_LEN(i) bytes. */
#define NECHO       3
#define ECHO_LEN(i) (1000 * ((i) + 1) + 7)
#define NDGRAM      4
/* The logger's: LOG_LINES[i] lines on connection i. */
static const int log_lines[] = { 3, 2 };
#define NLOG ((int)(sizeof(log_lines) / sizeof(log_lines[0])))

/* An odd service name: its label value must come escaped. */
#define ODD_NAME "q\"b\\s"
#define ODD_ESC  "q\\\"b\\\\s"

#define REQ "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"

/* ---- the exposition format, parsed strictly ---- */

#define MAX_LABELS 4

struct sample {
	char name[64];
	char lname[MAX_LABELS][32];
	char lval[MAX_LABELS][64]; /* unescaped */
	int nlabels;
	char series[256]; /* name{labels} as sent, for the duplicate check */
	double value;
};

struct expo {
	struct sample *v;
	int n;
	char types[32][64]; /* families with a TYPE line, in order */
	int ntypes;
};

static bool
name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	    (!first && c >= '0' && c <= '9');
}

/* A metric or label name at *p (':' not in label names); its length, 0 if none. */
static size_t
take_name(const char *p, bool label)
{
	size_t i = 0;

	while (name_char(p[i], i == 0) && !(label && p[i] == ':'))
		i++;
	return i;
}

static int
family_index(const struct expo *e, const char *name)
{
	for (int i = 0; i < e->ntypes; i++)
		if (strcmp(e->types[i], name) == 0)
			return i;
	return -1;
}

/*
 * Parses one sample line "name{l="v",...} value" into s.  NULL when
 * well-formed, else what is wrong.
 */
static const char *
parse_sample(const char *line, struct sample *s)
{
	const char *p = line;
	size_t n = take_name(p, false);
	char *end;

	memset(s, 0, sizeof(*s));
	if (n == 0 || n >= sizeof(s->name))
		return "no metric name";
	memcpy(s->name, p, n);
	p += n;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			char *v;
			size_t k = 0;

			if (s->nlabels == MAX_LABELS)
				return "too many labels";
			n = take_name(p, true);
			if (n == 0 || n >= sizeof(s->lname[0]) || p[n] != '=' || p[n + 1] != '"')
				return "bad label name";
			memcpy(s->lname[s->nlabels], p, n);
			p += n + 2;
			v = s->lval[s->nlabels];
			for (; *p != '"'; p++) {
				char c = *p;
				if (c == '\0' || c == '\n')
					return "unterminated label value";
				if (c == '\\') {
					p++;
					if (*p == 'n')
						c = '\n';
					else if (*p == '\\' || *p == '"')
						c = *p;
					else
						return "bad escape in a label value";
				}
				if (k + 1 >= sizeof(s->lval[0]))
					return "label value too long";
				v[k++] = c;
			}
			p++;
			for (int i = 0; i < s->nlabels; i++)
				if (strcmp(s->lname[i], s->lname[s->nlabels]) == 0)
					return "a label twice";
			s->nlabels++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return "no ',' or '}' after a label";
		}
		p++;
	}
	if ((size_t)(p - line) >= sizeof(s->series))
		return "series too long";
	memcpy(s->series, line, (size_t)(p - line));
	if (*p != ' ')
		return "no space before the value";
	p++;
	s->value = strtod(p, &end);
	if (end == p || *end != '\0')
		return "bad value";
	return NULL;
}

/*
 * Parses body (len bytes) into e; fails the test "WHO: ..." unless every
 * line is a HELP or TYPE comment or a sample, every sample's family has a
 * TYPE before it, one family's samples are together, no series comes
 * twice and the body ends with LF.
 */
static void
expo_parse(const char *who, const char *body, size_t len, struct expo *e)
{
	char *copy = strndup(body, len), *line, *save = NULL;
	int last = -1, lineno = 0;
	bool closed[32] = { false };

	H_ASSERT(copy != NULL, "strndup");
	memset(e, 0, sizeof(*e));
	H_ASSERT(len > 0 && body[len - 1] == '\n', "%s: the body does not end with LF", who);
	H_ASSERT(memchr(body, '\0', len) == NULL, "%s: a NUL in the body", who);
	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char name[64], type[32];
			H_ASSERT(sscanf(line + 7, "%63s %31s", name, type) == 2 &&
			        take_name(name, false) == strlen(name),
			    "%s: line %d: bad TYPE: %s", who, lineno, line);
			H_ASSERT(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0,
			    "%s: line %d: type %s", who, lineno, type);
			H_ASSERT(family_index(e, name) < 0, "%s: line %d: a second TYPE for %s",
			    who, lineno, name);
			H_ASSERT(e->ntypes < 32, "%s: too many families", who);
			snprintf(e->types[e->ntypes++], sizeof(e->types[0]), "%s", name);
			continue;
		}
		if (strncmp(line, "# HELP ", 7) == 0 || line[0] == '#') {
			H_ASSERT(strncmp(line, "# HELP ", 7) == 0 && take_name(line + 7, false) > 0,
			    "%s: line %d: a comment that is neither HELP nor TYPE: %s", who, lineno,
			    line);
			continue;
		}
		struct sample s;
		const char *why = parse_sample(line, &s);
		H_ASSERT(why == NULL, "%s: line %d: %s: %s", who, lineno, why, line);
		int f = family_index(e, s.name);
		H_ASSERT(f >= 0, "%s: line %d: %s has no TYPE before it", who, lineno, s.name);
		H_ASSERT(!closed[f], "%s: line %d: %s's samples are not together", who, lineno,
		    s.name);
		if (last >= 0 && last != f)
			closed[last] = true;
		last = f;
		for (int i = 0; i < e->n; i++)
			H_ASSERT(strcmp(e->v[i].series, s.series) != 0, "%s: line %d: %s twice",
			    who, lineno, s.series);
		e->v = realloc(e->v, (size_t)(e->n + 1) * sizeof(*e->v));
		H_ASSERT(e->v != NULL, "realloc");
		e->v[e->n++] = s;
	}
	free(copy);
}

/* The value of name with service=svc (and reason=reason when not NULL); -1 if absent. */
static double
expo_get(const struct expo *e, const char *name, const char *svc, const char *reason)
{
	for (int i = 0; i < e->n; i++) {
		const struct sample *s = &e->v[i];
		int want = reason != NULL ? 2 : 1, got = 0;

		if (strcmp(s->name, name) != 0 || s->nlabels != want)
			continue;
		for (int k = 0; k < s->nlabels; k++)
			if ((strcmp(s->lname[k], "service") == 0 && strcmp(s->lval[k], svc) == 0) ||
			    (reason != NULL && strcmp(s->lname[k], "reason") == 0 &&
			        strcmp(s->lval[k], reason) == 0))
				got++;
		if (got == want)
			return s->value;
	}
	return -1;
}

/* ---- HTTP ---- */

struct resp {
	struct hbuf raw;
	int status;
	const char *body; /* into raw */
	size_t blen;
	long long clen; /* Content-Length, -1 when absent */
};

/* The value of header name (with ": "), NUL-terminated into out; false if absent. */
static bool
resp_header(const struct resp *r, const char *name, char *out, size_t cap)
{
	size_t hl = (size_t)(r->body - r->raw.p), nl = strlen(name);

	for (const char *p = r->raw.p; p < r->raw.p + hl;) {
		const char *eol = memchr(p, '\n', hl - (size_t)(p - r->raw.p));
		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > nl + 2 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			size_t vl;
			while (*v == ' ')
				v++;
			vl = (size_t)(eol - v);
			if (vl > 0 && v[vl - 1] == '\r')
				vl--;
			snprintf(out, cap, "%.*s", (int)vl, v);
			return true;
		}
		p = eol + 1;
	}
	return false;
}

/* Splits r->raw (one whole response, as read up to end of stream). */
static void
resp_split(const char *who, struct resp *r)
{
	char *end, v[32];

	hbuf_add(&r->raw, "", 1); /* a NUL after the bytes */
	r->raw.len--;
	end = strstr(r->raw.p, "\r\n\r\n");
	H_ASSERT(r->raw.len >= 12 && strncmp(r->raw.p, "HTTP/1.1 ", 9) == 0 && end != NULL,
	    "%s: not an HTTP/1.1 response: %s", who, h_show(r->raw.p, r->raw.len));
	r->status = atoi(r->raw.p + 9);
	r->body = end + 4;
	r->blen = r->raw.len - (size_t)(r->body - r->raw.p);
	r->clen = resp_header(r, "Content-Length", v, sizeof(v)) ? atoll(v) : -1;
	H_ASSERT(resp_header(r, "Connection", v, sizeof(v)) && strcmp(v, "close") == 0,
	    "%s: no 'Connection: close': %s", who, h_show(r->raw.p, r->raw.len));
	H_ASSERT(resp_header(r, "Date", v, sizeof(v)), "%s: no Date", who);
}

/* Sends req (in one write, or a byte at a time) and reads the response up to the close. */
static void
http_raw(const char *who, int port, const char *req, size_t len, bool bytewise, struct resp *r)
{
	int fd = cli_connect(port), one = 1;

	memset(r, 0, sizeof(*r));
	H_ASSERT(fd >= 0, "%s: connect to the metrics service: %s", who, H_ERR);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (size_t off = 0; off < len; off += bytewise ? 1 : len) {
		H_ASSERT(cli_write_all(fd, req + off, bytewise ? 1 : len, D) == 0, "%s: send: %s",
		    who, H_ERR);
		if (bytewise)
			h_nap(2);
	}
	H_ASSERT(cli_read_until_eof(fd, &r->raw, D) == 0,
	    "%s: the response did not end with the connection: %s", who, H_ERR);
	close(fd);
	resp_split(who, r);
}

/* ---- the server ---- */

struct ctx {
	const char *model;
	struct srv s;
	const char *dir;
	int echo, udp, log, met, odd; /* ports */
	int scrapes;                  /* connections made to the metrics service */
	long long scrape_bytes;       /* bytes they sent */
};

static int
port_of(struct ctx *x, const char *svc, bool udp)
{
	for (int i = 0; i < x->s.nls; i++)
		if (strcmp(x->s.ls[i].service, svc) == 0 &&
		    (strncmp(x->s.ls[i].addr, "udp:", 4) == 0) == udp)
			return x->s.ls[i].port;
	H_ASSERT(0, "%s: no %s listener of service %s", x->model, udp ? "udp" : "tcp", svc);
	return -1;
}

static void
start(struct ctx *x, const char *model)
{
	char text[2048];
	const char *conf;
	const char *args[] = { "-m", model, "-c", NULL, NULL };

	memset(x, 0, sizeof(*x));
	x->model = model;
	x->dir = h_tmpdir();
	snprintf(text, sizeof(text),
	    "shutdown_timeout = 2\n"
	    "service \"echo\" {\n"
	    "  listen = {\"127.0.0.1:0\", \"udp:127.0.0.1:0\"}\n"
	    "  handler = \"echo\"\n"
	    "  deny = {\"127.0.0.2/32\"}\n"
	    "}\n"
	    "service \"log\" {\n"
	    "  listen = {\"127.0.0.1:0\"}\n"
	    "  handler = \"logger\"\n"
	    "  output = \"%s\"\n"
	    "}\n"
	    "service \"%s\" { listen = {\"127.0.0.1:0\"} handler = \"discard\" }\n"
	    "service \"metrics\" {\n"
	    "  listen = {\"127.0.0.1:0\"}\n"
	    "  handler = \"metrics\"\n"
	    "  request_timeout = 1\n"
	    "}\n",
	    h_path(x->dir, "log"), "q\\\"b\\\\s");
	conf = h_write_conf(x->dir, text);
	args[3] = conf;
	H_ASSERT(srv_start_n(&x->s, args, 5) == 0, "%s: server did not start", model);
	x->echo = port_of(x, "echo", false);
	x->udp = port_of(x, "echo", true);
	x->log = port_of(x, "log", false);
	x->odd = port_of(x, ODD_NAME, false);
	x->met = port_of(x, "metrics", false);
}

/* One scrape over a raw socket: 200, the right type and length, parsed into e. */
static void
scrape(struct ctx *x, struct expo *e, struct resp *r)
{
	char ctype[64];

	http_raw(x->model, x->met, REQ, strlen(REQ), false, r);
	x->scrapes++;
	x->scrape_bytes += (long long)strlen(REQ);
	H_ASSERT(r->status == 200, "%s: GET /metrics: status %d", x->model, r->status);
	H_ASSERT(resp_header(r, "Content-Type", ctype, sizeof(ctype)) &&
	        strcmp(ctype, "text/plain; version=0.0.4") == 0,
	    "%s: Content-Type '%s'", x->model, ctype);
	H_ASSERT(r->clen == (long long)r->blen, "%s: Content-Length %lld for a body of %zu bytes",
	    x->model, r->clen, r->blen);
	expo_parse(x->model, r->body, r->blen, e);
}

/* What the counters must say. */
struct want {
	const char *svc;
	const char *name;
	const char *reason;
	double value;
};

/* Scrapes until every value of w is as wanted (other processes and
 * threads may count a moment after the client saw the effect); fails
 * with the last body otherwise. */
static void
scrape_until(struct ctx *x, const struct want *w, int nw, struct expo *e)
{
	long long end = h_now_ms() + D;
	struct resp r;
	int bad = -1;
	double got = 0;

	for (;;) {
		scrape(x, e, &r);
		bad = -1;
		for (int i = 0; i < nw && bad < 0; i++) {
			got = expo_get(e, w[i].name, w[i].svc, w[i].reason);
			if (got != w[i].value)
				bad = i;
		}
		if (bad < 0 || h_now_ms() > end)
			break;
		free(e->v);
		hbuf_free(&r.raw);
		h_nap(20);
	}
	H_ASSERT(bad < 0, "%s: %s{service=\"%s\"%s%s%s} is %.0f, want %.0f; the last scrape:\n%s",
	    x->model, w[bad].name, w[bad].svc, w[bad].reason ? ",reason=\"" : "",
	    w[bad].reason ? w[bad].reason : "", w[bad].reason ? "\"" : "", got, w[bad].value,
	    r.body);
	hbuf_free(&r.raw);
}

/* The records in the logger's file: whole lines. */
static int
log_records(struct ctx *x)
{
	size_t len;
	char *t = h_read_file(h_path(x->dir, "log"), &len);
	int n;

	H_ASSERT(t != NULL, "%s: cannot read the logger's file", x->model);
	H_ASSERT(len > 0 && t[len - 1] == '\n', "%s: the logger's file ends mid-line", x->model);
	n = (int)h_count(t, "\n");
	free(t);
	return n;
}

static bool
have(const char *tool)
{
	char cmd[128];
	const char *const argv[] = { "sh", "-c", cmd, NULL };

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return h_runs(argv);
}

/* Runs argv; its stdout (malloc'd).  Fails unless it exits 0. */
static char *
run(const char *who, const char *const argv[])
{
	struct srv t;
	char *out;
	int rc;

	H_ASSERT(srv_spawn_cmd(&t, argv, NULL, NULL) == 0, "%s: spawn %s", who, argv[0]);
	rc = srv_wait(&t, D);
	H_ASSERT(rc == 0, "%s: %s gave %d; stderr: %s", who, argv[0], rc, srv_log(&t));
	out = strdup(srv_stdout(&t));
	H_ASSERT(out != NULL, "strdup");
	srv_free(&t);
	return out;
}

/* promtool check metrics on body, when promtool is here. */
static void
promtool_check(const char *who, const char *body, size_t len, const char *dir)
{
	const char *path = h_path(dir, "scrape.txt");
	char cmd[512];
	const char *const argv[] = { "sh", "-c", cmd, NULL };
	char *out;

	if (!have("promtool")) {
		fprintf(stderr, "%s: promtool not installed: 'promtool check metrics' skipped\n",
		    who);
		return;
	}
	FILE *f = fopen(path, "w");
	H_ASSERT(f != NULL && fwrite(body, 1, len, f) == len && fclose(f) == 0, "write %s", path);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' 2>&1", path);
	out = run(who, argv);
	free(out);
}

/*
 * Known traffic, then exact counters, under every model: NECHO echo
 * connections of known sizes, a client the deny list refuses, NDGRAM
 * datagrams to the echo service's udp listener, logger connections whose
 * records are counted in its file; then a held echo connection is open
 * (models that serve connections at once), and curl scrapes too.
 */
START_TEST(test_counts)
{
	const char *model = h_model(_i);
	struct ctx x;
	struct expo e;
	long long echo_bytes = 0, log_bytes = 0;
	int fd, records;
	char buf[64];

	start(&x, model);
	for (int i = 0; i < NECHO; i++) {
		size_t n = ECHO_LEN(i);
		char *p = malloc(n), *back = malloc(n);
		H_ASSERT(p != NULL && back != NULL, "malloc");
		h_fill(p, n, (unsigned)i);
		fd = cli_connect(x.echo);
		H_ASSERT(fd >= 0, "%s: connect to echo: %s", model, H_ERR);
		H_ASSERT(cli_write_all(fd, p, n, D) == 0 &&
		        cli_read_exact(fd, back, n, D) == (ssize_t)n && memcmp(p, back, n) == 0,
		    "%s: echo %d of %zu bytes", model, i, n);
		close(fd);
		echo_bytes += (long long)n;
		free(p);
		free(back);
	}
	fd = cli_connect_from("127.0.0.2", "127.0.0.1", x.echo, D);
	H_ASSERT(fd >= 0 && cli_probe(fd) == H_REFUSED, "%s: 127.0.0.2 not refused", model);
	close(fd);
	fd = cli_udp("127.0.0.1", x.udp);
	H_ASSERT(fd >= 0, "%s: udp socket: %s", model, H_ERR);
	for (int i = 0; i < NDGRAM; i++) {
		snprintf(buf, sizeof(buf), "datagram %d", i);
		H_ASSERT(cli_dgram_send(fd, buf, strlen(buf)) == 0, "%s: send a datagram", model);
		char back[64];
		H_ASSERT(cli_dgram_recv(fd, back, sizeof(back), D) == (ssize_t)strlen(buf),
		    "%s: datagram %d not echoed", model, i);
	}
	close(fd);
	for (int c = 0; c < NLOG; c++) {
		struct hbuf lines = { 0 }, in = { 0 };
		for (int l = 0; l < log_lines[c]; l++) {
			snprintf(buf, sizeof(buf), "client %d line %d\n", c, l);
			hbuf_add(&lines, buf, strlen(buf));
		}
		fd = cli_connect(x.log);
		H_ASSERT(fd >= 0, "%s: connect to the logger: %s", model, H_ERR);
		H_ASSERT(cli_exchange(fd, lines.p, lines.len, true, &in, D) == 0,
		    "%s: logger connection %d", model, c);
		close(fd);
		log_bytes += (long long)lines.len;
		hbuf_free(&lines);
		hbuf_free(&in);
	}
	{
		const char *path = h_path(x.dir, "log");
		long long end = h_now_ms() + D;
		char *t;
		size_t len;
		/* Both connections' last records are in. */
		while ((t = h_read_file(path, &len)) == NULL ||
		    h_count(t, " disconnected\n") < (size_t)NLOG) {
			free(t);
			H_ASSERT(h_now_ms() < end, "%s: the logger's disconnected records", model);
			h_nap(10);
		}
		free(t);
	}
	records = log_records(&x);
	H_ASSERT(records == 2 * NLOG + 5, "%s: %d records in the logger's file", model, records);

	{
		const struct want w[] = {
			{ "echo", "dispatchd_connections_total", NULL, NECHO },
			{ "echo", "dispatchd_connections_open", NULL, 0 },
			{ "echo", "dispatchd_received_bytes_total", NULL, (double)echo_bytes },
			{ "echo", "dispatchd_sent_bytes_total", NULL, (double)echo_bytes },
			{ "echo", "dispatchd_datagrams_total", NULL, NDGRAM },
			{ "echo", "dispatchd_refused_total", "denied", 1 },
			{ "echo", "dispatchd_refused_total", "max_clients", 0 },
			{ "echo", "dispatchd_refused_total", "no_fds", 0 },
			{ "echo", "dispatchd_refused_total", "fd_setsize", 0 },
			{ "echo", "dispatchd_refused_total", "per_source", 0 },
			{ "echo", "dispatchd_refused_total", "rate_limit", 0 },
			{ "echo", "dispatchd_refused_total", "proxy", 0 },
			{ "echo", "dispatchd_logger_records_total", NULL, 0 },
			{ "log", "dispatchd_connections_total", NULL, NLOG },
			{ "log", "dispatchd_connections_open", NULL, 0 },
			{ "log", "dispatchd_received_bytes_total", NULL, (double)log_bytes },
			{ "log", "dispatchd_sent_bytes_total", NULL, 0 },
			{ "log", "dispatchd_datagrams_total", NULL, 0 },
			{ "log", "dispatchd_refused_total", "denied", 0 },
			{ "log", "dispatchd_logger_records_total", NULL, records },
			{ ODD_NAME, "dispatchd_connections_total", NULL, 0 },
			{ ODD_NAME, "dispatchd_refused_total", "proxy", 0 },
			/* The scrape itself is open and counted. */
			{ "metrics", "dispatchd_connections_open", NULL, 1 },
			{ "metrics", "dispatchd_logger_records_total", NULL, 0 },
		};
		char info[128];
		struct resp r;

		scrape_until(&x, w, (int)(sizeof(w) / sizeof(w[0])), &e);
		H_ASSERT(expo_get(&e, "dispatchd_connections_total", "metrics", NULL) == x.scrapes,
		    "%s: the metrics service counted %.0f connections, %d were made", model,
		    expo_get(&e, "dispatchd_connections_total", "metrics", NULL), x.scrapes);
		H_ASSERT(expo_get(&e, "dispatchd_received_bytes_total", "metrics", NULL) ==
		        (double)x.scrape_bytes,
		    "%s: the metrics service received %.0f bytes, %lld were sent", model,
		    expo_get(&e, "dispatchd_received_bytes_total", "metrics", NULL),
		    x.scrape_bytes);
		/* build_info: exactly one sample, version and model. */
		int nb = 0;
		for (int i = 0; i < e.n; i++) {
			if (strcmp(e.v[i].name, "dispatchd_build_info") != 0)
				continue;
			nb++;
			H_ASSERT(e.v[i].value == 1, "%s: build_info %f", model, e.v[i].value);
			snprintf(info, sizeof(info),
			    "dispatchd_build_info{version=\"0.1.0\",model=\"%s\"}", model);
			H_ASSERT(strcmp(e.v[i].series, info) == 0, "%s: %s", model, e.v[i].series);
		}
		H_ASSERT(nb == 1, "%s: %d build_info samples", model, nb);
		/* Every family has HELP and TYPE; every service is in each. */
		static const char *const fams[] = { "dispatchd_build_info",
			"dispatchd_connections_total", "dispatchd_connections_open",
			"dispatchd_received_bytes_total", "dispatchd_sent_bytes_total",
			"dispatchd_datagrams_total", "dispatchd_refused_total",
			"dispatchd_logger_records_total" };
		static const char *const svcs[] = { "echo", "log", ODD_NAME, "metrics" };
		free(e.v);
		scrape(&x, &e, &r);
		for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
			char help[96];
			snprintf(help, sizeof(help), "\n# HELP %s ", fams[f]);
			H_ASSERT(family_index(&e, fams[f]) >= 0 && strstr(r.raw.p, help) != NULL,
			    "%s: no HELP and TYPE for %s", model, fams[f]);
			for (size_t k = 0; f > 0 && k < sizeof(svcs) / sizeof(svcs[0]); k++)
				H_ASSERT(expo_get(&e, fams[f], svcs[k],
				             strcmp(fams[f], "dispatchd_refused_total") == 0 ?
				                 "denied" :
				                 NULL) >= 0,
				    "%s: %s has no sample for service %s", model, fams[f], svcs[k]);
		}
		H_ASSERT(strstr(r.body, "{service=\"" ODD_ESC "\"}") != NULL,
		    "%s: the service name " ODD_NAME " is not escaped as " ODD_ESC, model);
		H_ASSERT(e.ntypes == 8 && e.n == 1 + 6 * 4 + 7 * 4,
		    "%s: %d families, %d samples; want 8 and %d", model, e.ntypes, e.n,
		    1 + 6 * 4 + 7 * 4);
		promtool_check(model, r.body, r.blen, x.dir);
		hbuf_free(&r.raw);
		free(e.v);
	}

	/* A held echo connection is open, and counted once it is gone. */
	if (!h_model_serial(model)) {
		const struct want held[] = {
			{ "echo", "dispatchd_connections_open", NULL, 1 },
			{ "echo", "dispatchd_connections_total", NULL, NECHO + 1 },
		};
		const struct want gone[] = {
			{ "echo", "dispatchd_connections_open", NULL, 0 },
			{ "echo", "dispatchd_received_bytes_total", NULL, (double)echo_bytes + 5 },
			{ "echo", "dispatchd_sent_bytes_total", NULL, (double)echo_bytes + 5 },
		};

		fd = cli_connect(x.echo);
		H_ASSERT(fd >= 0 && cli_echo_ok(fd, "held\n"), "%s: held echo connection", model);
		scrape_until(&x, held, 2, &e);
		free(e.v);
		close(fd);
		scrape_until(&x, gone, 3, &e);
		free(e.v);
	}

	/* curl, the real client, gets the same text. */
	if (have("curl")) {
		char url[64], *out, *body;
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", x.met);
		const char *const argv[] = { "curl", "-s", "-D", "-", url, NULL };
		out = run(model, argv);
		H_ASSERT(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0 &&
		        strstr(out, "\r\nContent-Type: text/plain; version=0.0.4\r\n") != NULL &&
		        (body = strstr(out, "\r\n\r\n")) != NULL,
		    "%s: curl got: %s", model, h_show(out, strlen(out)));
		body += 4;
		expo_parse(model, body, strlen(body), &e);
		H_ASSERT(expo_get(&e, "dispatchd_datagrams_total", "echo", NULL) == NDGRAM &&
		        expo_get(&e, "dispatchd_refused_total", "echo", "denied") == 1 &&
		        expo_get(&e, "dispatchd_logger_records_total", "log", NULL) == records,
		    "%s: curl's scrape differs: %s", model, body);
		free(e.v);
		free(out);
	} else {
		fprintf(stderr, "%s: curl not installed: its scrape skipped\n", model);
	}
	H_STOP_OK(&x.s, model);
}
END_TEST

/* A raw request: its status, and the response (freed by the caller). */
static int
status_of(struct ctx *x, const char *req, bool bytewise, struct resp *r)
{
	http_raw(x->model, x->met, req, strlen(req), bytewise, r);
	return r->status;
}

/*
 * The HTTP edges: 404 for another path, 405 with Allow for POST, HEAD
 * with headers only, HTTP/1.0, a request a byte at a time, a pipelined
 * second request not answered, 400 for garbage, 408 for a head that does
 * not come within request_timeout (1 s).
 */
START_TEST(test_http)
{
	const char *model = h_model(_i);
	struct ctx x;
	struct resp r, g;
	struct expo e;
	char v[64];
	int fd;
	long long t0;

	start(&x, model);
	H_ASSERT(status_of(&x, "GET /other HTTP/1.1\r\nHost: a\r\n\r\n", false, &r) == 404 &&
	        r.clen == (long long)r.blen && r.blen > 0 && r.blen < 64,
	    "%s: /other: %s", model, h_show(r.raw.p, r.raw.len));
	hbuf_free(&r.raw);
	H_ASSERT(status_of(&x, "GET /metrics/x HTTP/1.1\r\nHost: a\r\n\r\n", false, &r) == 404,
	    "%s: /metrics/x: %d", model, r.status);
	hbuf_free(&r.raw);
	H_ASSERT(status_of(&x, "POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	             false, &r) == 405 &&
	        resp_header(&r, "Allow", v, sizeof(v)) && strcmp(v, "GET, HEAD") == 0,
	    "%s: POST: %s", model, h_show(r.raw.p, r.raw.len));
	hbuf_free(&r.raw);

	/* HEAD: the GET's headers, no body. */
	H_ASSERT(status_of(&x, "HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n", false, &r) == 200 &&
	        r.blen == 0 && r.clen > 100 && resp_header(&r, "Content-Type", v, sizeof(v)) &&
	        strcmp(v, "text/plain; version=0.0.4") == 0,
	    "%s: HEAD: %s", model, h_show(r.raw.p, r.raw.len));
	hbuf_free(&r.raw);

	/* HTTP/1.0, a query, and one byte at a time. */
	H_ASSERT(status_of(&x, "GET /metrics?x=1 HTTP/1.0\r\n\r\n", false, &r) == 200 &&
	        r.clen == (long long)r.blen,
	    "%s: HTTP/1.0: %s", model, h_show(r.raw.p, r.raw.len));
	expo_parse(model, r.body, r.blen, &e);
	free(e.v);
	hbuf_free(&r.raw);
	H_ASSERT(status_of(&x, REQ, true, &r) == 200 && r.clen == (long long)r.blen,
	    "%s: a byte at a time: %s", model, h_show(r.raw.p, r.raw.len));
	hbuf_free(&r.raw);

	/* Pipelined: one response, then the close. */
	http_raw(model, x.met, REQ REQ, 2 * strlen(REQ), false, &g);
	H_ASSERT(g.status == 200 && g.clen == (long long)g.blen &&
	        h_count(g.raw.p, "HTTP/1.1 ") == 1,
	    "%s: pipelined requests: %s", model, h_show(g.raw.p, g.raw.len));
	hbuf_free(&g.raw);

	H_ASSERT(status_of(&x, "HELLO\r\n\r\n", false, &r) == 400, "%s: garbage: %s", model,
	    h_show(r.raw.p, r.raw.len));
	hbuf_free(&r.raw);
	H_ASSERT(status_of(&x, "GET /metrics HTTP/2.0\r\n\r\n", false, &r) == 505,
	    "%s: HTTP/2.0: %d", model, r.status);
	hbuf_free(&r.raw);

	/* A head that stops: 408 after request_timeout, then the close. */
	fd = cli_connect(x.met);
	H_ASSERT(fd >= 0 && cli_send(fd, "GET /metr") == 0, "%s: connect: %s", model, H_ERR);
	t0 = h_now_ms();
	memset(&r, 0, sizeof(r));
	H_ASSERT(cli_read_until_eof(fd, &r.raw, D) == 0, "%s: no close after a stalled head",
	    model);
	close(fd);
	resp_split(model, &r);
	H_ASSERT(r.status == 408 && h_now_ms() - t0 >= 900, "%s: a stalled head: %d after %lld ms",
	    model, r.status, h_now_ms() - t0);
	hbuf_free(&r.raw);
	H_STOP_OK(&x.s, model);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("metrics");

	h_tcase_models(su, "counts", 60, test_counts);
	h_tcase_models(su, "http", 60, test_http);
	return h_run_suite(su);
}
