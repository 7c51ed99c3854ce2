/* check_reload.c - SIGHUP reads the configuration again, under every model (and with workers): new values for new connections, the open ones go on as they began, services added and removed, a broken file keeps the running configuration, a storm of reloads under load loses nothing and leaks nothing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define D H_DEADLINE_MS

/* The model of test i; with workers, only those that have them. */
static const char *
model_of(int i, bool workers)
{
	const char *m = h_model(i);

	return workers && !h_model_workers(m) ? NULL : m;
}

struct reloaded {
	struct srv *s;
	size_t want; /* "reload: " lines (or "keeping the running") to wait for */
	const char *what;
};

static bool
reloaded(void *arg)
{
	struct reloaded *r = arg;

	return h_count(srv_log(r->s), r->what) >= r->want;
}

/* Waits for the n-th line naming what (with workers, "new workers;": the
 * reload is done once the replaced workers stopped accepting). */
static void
wait_line(struct srv *s, const char *model, const char *what, size_t n)
{
	struct reloaded r = { s, n, what };

	H_ASSERT(h_wait_for(reloaded, &r, D), "%s: no %zu-th '%s' line after SIGHUP:\n%s", model, n,
	    what, srv_log(s));
}

/* Replaces path with text at once (as an editor or a deploy tool does: a
 * reload must never read a file half written). */
static void
put(const char *model, const char *path, const char *text)
{
	char tmp[600];

	snprintf(tmp, sizeof tmp, "%s.new", path);
	H_ASSERT(h_write_file(tmp, text) == 0 && rename(tmp, path) == 0, "%s: write %s: %s", model,
	    path, H_ERR);
}

/* Writes text to path and starts the server on it, n listeners. */
static void
start_file(struct srv *s, const char *model, const char *path, const char *text, int n)
{
	const char *args[] = { "-c", path, NULL };

	put(model, path, text);
	H_ASSERT(srv_start_n(s, args, n) == 0, "%s: did not start", model);
}

/* Writes text to path and sends SIGHUP. */
static void
hup_only(struct srv *s, const char *model, const char *path, const char *text)
{
	put(model, path, text);
	H_ASSERT(kill(s->pid, SIGHUP) == 0, "kill: %s", H_ERR);
}

/* Both, then waits for the n-th line naming what. */
static void
hup(struct srv *s, const char *model, const char *path, const char *text, const char *what,
    size_t n)
{
	hup_only(s, model, path, text);
	wait_line(s, model, what, n);
}

/* The port service name was last announced on (TCP, or UDP with udp):
 * read from the log, as reloads announce more than H_MAX_LISTEN. */
static int
port_of(struct srv *s, const char *name, bool udp)
{
	const char *log = srv_log(s), *p = log;
	char tail[96];
	int port = -1;

	snprintf(tail, sizeof tail, " (%s, ", name);
	while ((p = strstr(p, "listening on ")) != NULL) {
		const char *eol = strchr(p, '\n'), *t = strstr(p, tail), *colon;

		p += strlen("listening on ");
		if (eol == NULL || t == NULL || t > eol || (strncmp(p, "udp:", 4) == 0) != udp)
			continue;
		for (colon = t; colon > p && *colon != ':'; colon--)
			;
		if (*colon == ':')
			port = atoi(colon + 1);
	}
	return port;
}

/* One line through a timestamp service: true when the reply is "[fmt] line". */
static bool
stamped(int fd, const char *fmt, const char *line)
{
	char want[128], got[128];
	ssize_t n;

	snprintf(want, sizeof want, "[%s] %s", fmt, line);
	if (cli_send(fd, line) < 0 || cli_send(fd, "\n") < 0)
		return false;
	n = cli_read_line(fd, got, sizeof got, D);
	return n > 0 && strncmp(got, want, strlen(want)) == 0;
}

struct has_line {
	const char *path;
	const char *text;
};

static bool
file_has_line(void *arg)
{
	struct has_line *h = arg;
	char *t = h_read_file(h->path, NULL);
	bool yes = t != NULL && strstr(t, h->text) != NULL;

	free(t);
	return yes;
}

static bool
file_lacks(const char *path, const char *text)
{
	char *t = h_read_file(path, NULL);
	bool no = t == NULL || strstr(t, text) == NULL;

	free(t);
	return no;
}

#define CONF_A                                                                                 \
	"%s"                                                                                   \
	"service \"ts\" { listen = {\"127.0.0.1:0\"} handler = \"timestamp\"\n"                \
	"  timestamp_format = \"A\" }\n"                                                       \
	"service \"lg\" { listen = {\"127.0.0.1:0\"} handler = \"logger\" output = \"%s\" }\n" \
	"service \"gone\" { listen = {\"127.0.0.1:0\"} handler = \"echo\" }\n"
#define CONF_B                                                                                 \
	"%s"                                                                                   \
	"service \"ts\" { listen = {\"127.0.0.1:0\"} handler = \"timestamp\"\n"                \
	"  timestamp_format = \"B\" max_per_source = 1 }\n"                                    \
	"service \"lg\" { listen = {\"127.0.0.1:0\"} handler = \"logger\" output = \"%s\" }\n" \
	"service \"new\" { listen = {\"127.0.0.1:0\", \"udp:127.0.0.1:0\"} handler = \"echo\" }\n"

/*
 * A reload: connections open before it go on under the configuration
 * they began with (their timestamp format, their logger output), new ones
 * get the new one; the removed service's port refuses, the added service
 * answers over TCP and UDP, the kept ones keep their ports and their
 * counters.  Then a broken file (one line, the running configuration
 * kept and served) and a changed model (a restart, said so, the rest
 * applied).  SIGTERM then exits 0.
 */
static void
reload_services(const char *model, bool workers)
{
	const char *dir = h_tmpdir();
	char text[2048], f1[512], f2[512], path[512], extra[64];
	int ts, lg, gone, nw, nwu, h_ts, h_lg, c, u;
	char buf[256];
	struct has_line hl;
	struct srv s;
	bool serial = h_model_serial(model);

	H_ASSERT(dir != NULL, "tmpdir");
	snprintf(extra, sizeof extra, "model = \"%s\"\n%s", model, workers ? "workers = 2\n" : "");
	snprintf(f1, sizeof f1, "%s", h_path(dir, "records-1"));
	snprintf(f2, sizeof f2, "%s", h_path(dir, "records-2"));
	snprintf(path, sizeof path, "%s", h_path(dir, "reload.conf"));
	snprintf(text, sizeof text, CONF_A, extra, f1);
	start_file(&s, model, path, text, 3);
	ts = port_of(&s, "ts", false);
	lg = port_of(&s, "lg", false);
	gone = port_of(&s, "gone", false);
	/* A serial model serves one at a time: the logger's alone. */
	h_ts = serial ? -1 : cli_connect(ts);
	h_lg = cli_connect(lg);
	H_ASSERT(serial || (h_ts >= 0 && stamped(h_ts, "A", "before")), "%s: timestamp A before",
	    model);
	H_ASSERT(h_lg >= 0 && cli_send(h_lg, "held-before\n") == 0, "%s: logger", model);
	hl = (struct has_line){ f1, "held-before" };
	H_ASSERT(h_wait_for(file_has_line, &hl, D), "%s: no record in %s", model, f1);

	snprintf(text, sizeof text, CONF_B, extra, f2);
	hup_only(&s, model, path, text);
	/* The open ones as they began (a serial model takes the new
	 * configuration once the connection it serves ended). */
	if (!serial) {
		int c2, c3;

		wait_line(&s, model, workers ? "new workers;" : "(2 kept, 1 added, 1 removed)", 1);
		H_ASSERT(stamped(h_ts, "A", "held"), "%s: an open connection changed format",
		    model);
		/* A limit that came with the reload holds for new connections
		 * (the one open before it is not counted against it). */
		c2 = cli_connect(ts);
		H_ASSERT(c2 >= 0 && stamped(c2, "B", "limited"), "%s: the first new connection",
		    model);
		c3 = cli_connect_host("127.0.0.1", ts, D);
		H_ASSERT(c3 >= 0 && cli_probe(c3) == H_REFUSED,
		    "%s: a second new connection from 127.0.0.1 not refused by the new "
		    "max_per_source = 1",
		    model);
		H_ASSERT(stamped(h_ts, "A", "held"), "%s: an open connection disturbed", model);
		close(c3);
		close(c2);
		close(h_ts);
		/* Their places given back (a fork child reaped first): the
		 * next connection from 127.0.0.1 is within the limit. */
		H_EXPECT_STATUS(&s, model, "ts", "now", 0);
	}
	H_ASSERT(cli_send(h_lg, "held-after\n") == 0, "%s: logger", model);
	hl = (struct has_line){ f1, "held-after" };
	H_ASSERT(h_wait_for(file_has_line, &hl, D) && file_lacks(f2, "held-after"),
	    "%s: a record of a connection open before the reload not in the old output", model);
	close(h_lg);
	wait_line(&s, model, workers ? "new workers;" : "(2 kept, 1 added, 1 removed)", 1);
	nw = port_of(&s, "new", false);
	nwu = port_of(&s, "new", true);
	H_ASSERT(nw > 0 && nwu > 0, "%s: no listeners of service new:\n%s", model, srv_log(&s));
	H_ASSERT(port_of(&s, "ts", false) == ts && port_of(&s, "lg", false) == lg &&
	        srv_listening(&s) == 5,
	    "%s: the kept listeners were bound again:\n%s", model, srv_log(&s));

	c = cli_connect(ts);
	H_ASSERT(c >= 0 && stamped(c, "B", "after"), "%s: a new connection not in format B", model);
	close(c);
	H_EXPECT_STATUS(&s, model, "ts", "now", 0); /* max_per_source 1: its place back */
	c = cli_connect(lg);
	H_ASSERT(c >= 0 && cli_send(c, "new-after\n") == 0, "%s: logger", model);
	close(c);
	hl = (struct has_line){ f2, "new-after" };
	H_ASSERT(h_wait_for(file_has_line, &hl, D) && file_lacks(f1, "new-after"),
	    "%s: a new connection's record not in the new output", model);
	c = cli_connect(nw);
	H_ASSERT(c >= 0 && cli_echo_ok(c, "added\n"), "%s: the added service over TCP", model);
	close(c);
	u = cli_udp("127.0.0.1", nwu);
	H_ASSERT(u >= 0 && cli_dgram_send(u, "dgram", 5) == 0 &&
	        cli_dgram_recv(u, buf, sizeof buf, D) == 5 && memcmp(buf, "dgram", 5) == 0,
	    "%s: the added service over UDP", model);
	close(u);
	c = cli_connect_host("127.0.0.1", gone, D);
	H_ASSERT(c < 0 || cli_probe(c) != H_SERVED, "%s: the removed service still answers", model);
	if (c >= 0)
		close(c);
	/* Counted on: the first connection to ts, the limited one, the one after. */
	H_ASSERT(srv_status_num(&s, "ts", "total") == (serial ? 1 : 3) &&
	        srv_status_num(&s, "ts", "per_source") == (serial ? 0 : 1),
	    "%s: ts counted %ld connections and %ld refused per_source, want %d and %d", model,
	    srv_status_num(&s, "ts", "total"), srv_status_num(&s, "ts", "per_source"),
	    serial ? 1 : 3, serial ? 0 : 1);

	/* A broken file: one line, nothing changes. */
	hup(&s, model, path, "service \"ts\" { listen = \n", "keeping the running configuration",
	    1);
	H_ASSERT(h_count(srv_log(&s), "keeping the running configuration") == 1 &&
	        h_count(srv_log(&s), " kept, ") == 1,
	    "%s: a broken file:\n%s", model, srv_log(&s));
	c = cli_connect(ts);
	H_ASSERT(c >= 0 && stamped(c, "B", "kept"), "%s: not serving after a broken file", model);
	close(c);
	c = cli_connect(nw);
	H_ASSERT(c >= 0 && cli_echo_ok(c, "kept\n"), "%s: not serving after a broken file", model);
	close(c);

	/* A model that takes a restart: said, the rest applied. */
	snprintf(extra, sizeof extra, "model = \"%s\"\n%s",
	    strcmp(model, "poll") == 0 ? "select" : "poll", workers ? "workers = 2\n" : "");
	snprintf(text, sizeof text, CONF_A, extra, f1);
	hup(&s, model, path, text, "takes a restart", 1);
	wait_line(&s, model, workers ? "new workers;" : "(2 kept, 1 added, 1 removed)", 2);
	c = cli_connect(port_of(&s, "gone", false));
	H_ASSERT(c >= 0 && cli_echo_ok(c, "back\n"), "%s: the service added back", model);
	close(c);
	c = cli_connect(ts);
	H_ASSERT(c >= 0 && stamped(c, "A", "again"), "%s: not format A again", model);
	close(c);
	H_STOP_OK(&s, model);
}

START_TEST(test_services)
{
	const char *model = model_of(_i, false);

	reload_services(model, false);
}
END_TEST

START_TEST(test_services_workers)
{
	const char *model = model_of(_i, true);

	if (model != NULL)
		reload_services(model, true);
}
END_TEST

/* The descriptors the process has open (at most as many as before: one
 * more is a leak, fewer a connection closed meanwhile). */
static int
nfds(pid_t pid)
{
	char path[64];
	DIR *d;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

struct fds_back {
	pid_t pid;
	int want;
	int got;
};

static bool
fds_back(void *arg)
{
	struct fds_back *f = arg;

	f->got = nfds(f->pid);
	return f->got >= 0 && f->got <= f->want;
}

/*
 * Starts the echo service alone from path, its text written into a (the
 * base the tests' other files add to), and warms it: returns its port,
 * and in *fd0 the descriptors then (the handlers' lazily opened state
 * counted in the baseline).
 */
static int
start_echo(struct srv *s, const char *model, const char *path, char *a, size_t alen, int *fd0)
{
	int port, c;

	snprintf(a, alen,
	    "model = \"%s\"\nservice \"e\" { listen = {\"127.0.0.1:0\"} handler = \"echo\" }\n",
	    model);
	start_file(s, model, path, a, 1);
	port = srv_port(s, 0);
	c = cli_connect(port);
	H_ASSERT(c >= 0 && cli_echo_ok(c, "warm\n"), "%s: not serving", model);
	close(c);
	*fd0 = nfds(s->pid);
	return port;
}

#define STORM_BYTES (1 << 20)
#define STORM_HUPS  20

/*
 * A storm: 1 MiB pipelined through echo (in 1-byte and 64 KiB pieces)
 * beside a client that sends up to 2 MiB and reads nothing until the end
 * and one reset mid-stream, while 20 SIGHUPs alternate two files that
 * keep the echo service and add and remove a logger service and its
 * output: every byte comes back in order (the held client's too), the server ends the storm with the
 * descriptors it began with (no listener, output or configuration kept
 * for good), and still serves.
 */
START_TEST(test_storm)
{
	const char *model = model_of(_i, false);
	const char *dir = h_tmpdir();
	char a[512], b[2048], path[512], logp[512];
	struct fds_back fb;
	struct hbuf in = { 0 };
	unsigned char *data = malloc(STORM_BYTES);
	struct srv s;
	int port, c, fd0, nr;
	long pushed = 0;
	bool serial = h_model_serial(model);

	H_ASSERT(dir != NULL && data != NULL, "setup");
	h_fill(data, STORM_BYTES, 7);
	snprintf(logp, sizeof logp, "%s", h_path(dir, "storm-records"));
	snprintf(path, sizeof path, "%s", h_path(dir, "storm.conf"));
	port = start_echo(&s, model, path, a, sizeof a, &fd0);
	snprintf(b, sizeof b,
	    "%sservice \"lg\" { listen = {\"127.0.0.1:0\", \"udp:127.0.0.1:0\"} handler = "
	    "\"logger\" output = \"%s\" }\n",
	    a, logp);
	/* A client that sends and never reads while the reloads go on (its
	 * echo backs up: it is held), and one reset mid-stream. */
	nr = serial ? -1 : cli_connect(port);
	if (nr >= 0) {
		pushed = cli_push(nr, data, STORM_BYTES, 2L * STORM_BYTES, 300, D);
		H_ASSERT(pushed > 0, "%s: the non-reading client could not send", model);
	}
	c = cli_connect(port);
	H_ASSERT(c >= 0, "%s: connect", model);
	for (int i = 0; i < STORM_HUPS; i++) {
		if (i == STORM_HUPS / 2 && !serial) {
			int rs = cli_connect(port);
			H_ASSERT(rs >= 0 && cli_write_all(rs, data, 4096, D) == 0, "%s: reset",
			    model);
			cli_reset(rs);
		}
		/* A piece between reloads: the first bytes one at a time. */
		size_t piece = STORM_BYTES / STORM_HUPS, off = (size_t)i * piece;

		if (i == 0) {
			for (size_t k = 0; k < 64; k++)
				H_ASSERT(cli_write_all(c, data + k, 1, D) == 0, "%s: write", model);
			H_ASSERT(cli_write_all(c, data + 64, piece - 64, D) == 0, "%s: write",
			    model);
		} else {
			H_ASSERT(cli_write_all(c, data + off, piece, D) == 0, "%s: write", model);
		}
		hup_only(&s, model, path, i % 2 == 0 ? b : a);
		/* The echo reads on while we do: take what came back. */
		while (in.len < off + piece) {
			char tmp[65536];
			ssize_t n = cli_read_exact(c, tmp,
			    off + piece - in.len < sizeof tmp ? off + piece - in.len : sizeof tmp,
			    D);
			H_ASSERT(n > 0, "%s: echo stalled at %zu of %zu bytes during the reloads",
			    model, in.len, off + piece);
			hbuf_add(&in, tmp, (size_t)n);
		}
	}
	{
		size_t rest = STORM_BYTES - (STORM_BYTES / STORM_HUPS) * STORM_HUPS;
		H_ASSERT(rest == 0 || cli_write_all(c, data + STORM_BYTES - rest, rest, D) == 0,
		    "write");
		while (in.len < STORM_BYTES) {
			char tmp[65536];
			ssize_t n = cli_read_exact(c, tmp,
			    STORM_BYTES - in.len < sizeof tmp ? STORM_BYTES - in.len : sizeof tmp,
			    D);
			H_ASSERT(n > 0, "%s: echo stalled", model);
			hbuf_add(&in, tmp, (size_t)n);
		}
	}
	H_ASSERT(memcmp(in.p, data, STORM_BYTES) == 0, "%s: the echo differs", model);
	close(c);
	/* The held client reads now: everything it sent comes back, in order. */
	for (long got = 0; nr >= 0 && got < pushed;) {
		char tmp[65536];
		size_t want = (size_t)(pushed - got) < sizeof tmp ? (size_t)(pushed - got) :
		                                                    sizeof tmp;
		ssize_t n = cli_read_exact(nr, tmp, want, D);

		H_ASSERT(n > 0, "%s: the held client got %ld of %ld bytes back", model, got,
		    pushed);
		for (ssize_t k = 0; k < n; k++)
			H_ASSERT(tmp[k] == (char)data[(size_t)(got + k) % STORM_BYTES],
			    "%s: the held client's echo differs at byte %ld", model, got + (long)k);
		got += n;
	}
	if (nr >= 0)
		close(nr);
	/*
	 * Signals that came while one was handled count once: the storm made
	 * some reloads, at least one.  One more, which adds a service "fin":
	 * once it listens, the logger service and its output are gone, and
	 * the configurations replaced are freed (at a reload at the latest).
	 */
	{
		struct reloaded r = { &s, 1, " kept, " };
		H_ASSERT(h_wait_for(reloaded, &r, D), "%s: no reload:\n%s", model, srv_log(&s));
	}
	snprintf(b, sizeof b,
	    "%sservice \"fin\" { listen = {\"127.0.0.1:0\"} handler = \"echo\" }\n", a);
	hup(&s, model, path, b, "(fin, echo)", 1);
	c = cli_connect(port_of(&s, "fin", false));
	H_ASSERT(c >= 0 && cli_echo_ok(c, "fin\n"), "%s: the last file not applied", model);
	close(c);
	c = cli_connect_host("127.0.0.1", port_of(&s, "lg", false), D);
	H_ASSERT(c < 0 || cli_probe(c) != H_SERVED, "%s: the logger service outlived the storm",
	    model);
	if (c >= 0)
		close(c);
	fb = (struct fds_back){ s.pid, fd0 + 1 /* fin's listener */, 0 };
	H_ASSERT(h_wait_for(fds_back, &fb, D),
	    "%s: %d descriptors open after the reloads, %d before", model, fb.got, fd0);
	c = cli_connect(port);
	H_ASSERT(c >= 0 && cli_echo_ok(c, "after\n"), "%s: not serving after the storm", model);
	close(c);
	H_STOP_OK(&s, model);
	hbuf_free(&in);
	free(data);
}
END_TEST

#define DG_HUPS  8
#define DG_BURST 2000

/*
 * Datagrams in flight while their listener goes: a UDP echo service is
 * added and removed 8 times, and each time the removal comes while a
 * burst of 2,000 datagrams is on its way (a thread model's datagram
 * threads still answering, a fork model's children, a loop's batch).
 * Each added listener answers; the server ends with the descriptors it
 * began with, still serves over TCP, and stops with status 0.
 */
START_TEST(test_dgram_removed)
{
	const char *model = model_of(_i, false);
	const char *dir = h_tmpdir();
	char a[256], b[512], path[512], buf[64];
	struct fds_back fb;
	struct srv s;
	int port, c, fd0;

	H_ASSERT(dir != NULL, "tmpdir");
	snprintf(path, sizeof path, "%s", h_path(dir, "dgram.conf"));
	port = start_echo(&s, model, path, a, sizeof a, &fd0);
	snprintf(b, sizeof b,
	    "%sservice \"u\" { listen = {\"udp:127.0.0.1:0\"} handler = \"echo\" }\n", a);
	for (int i = 0; i < DG_HUPS; i++) {
		hup(&s, model, path, b, "(1 kept, 1 added, 0 removed)", (size_t)i + 1);
		int u = cli_udp("127.0.0.1", port_of(&s, "u", true));

		H_ASSERT(u >= 0 && cli_dgram_send(u, "first", 5) == 0 &&
		        cli_dgram_recv(u, buf, sizeof buf, D) == 5 && memcmp(buf, "first", 5) == 0,
		    "%s: the added UDP listener does not answer (round %d)", model, i);
		/* The burst, then the removal while it is being answered, then
		 * more into the closing socket; replies and refusals unread. */
		for (int k = 0; k < DG_BURST; k++) {
			if (k == DG_BURST / 2)
				hup_only(&s, model, path, a);
			if (send(u, "burst", 5, MSG_DONTWAIT) < 0 && errno != EAGAIN &&
			    errno != ECONNREFUSED)
				H_ASSERT(0, "%s: send: %s", model, H_ERR);
		}
		wait_line(&s, model, "(1 kept, 0 added, 1 removed)", (size_t)i + 1);
		close(u);
	}
	fb = (struct fds_back){ s.pid, fd0, 0 };
	H_ASSERT(h_wait_for(fds_back, &fb, D),
	    "%s: %d descriptors open after the datagram reloads, %d before", model, fb.got, fd0);
	c = cli_connect(port);
	H_ASSERT(c >= 0 && cli_echo_ok(c, "after\n"), "%s: not serving after the reloads", model);
	close(c);
	H_STOP_OK(&s, model);
}
END_TEST

#define BL_LINES 3000 /* about 300 KiB of records: several pipe buffers */

/*
 * A retired configuration's output that backs up: a logger connection
 * writes to a FIFO nobody reads (the records back up, the connection is
 * held), a reload moves the service's output to a file.  A new connection
 * is served and recorded in the new file meanwhile; once the FIFO is
 * read, every record of the old connection comes out of it (the loop
 * still watches the retired output and resumes the connection), none in
 * the new file.
 */
START_TEST(test_backlog)
{
	const char *model = model_of(_i, false);
	const char *dir = h_tmpdir();
	char text[1024], path[512], fifo[512], file[512], line[128];
	struct hbuf sent = { 0 }, got = { 0 };
	struct has_line hl;
	struct srv s;
	int rd, c, h, last = 0;

	if (h_model_serial(model))
		return; /* its one connection blocks on the FIFO: nothing else is served */
	H_ASSERT(dir != NULL, "tmpdir");
	snprintf(fifo, sizeof fifo, "%s", h_path(dir, "fifo"));
	snprintf(file, sizeof file, "%s", h_path(dir, "after"));
	snprintf(path, sizeof path, "%s", h_path(dir, "backlog.conf"));
	H_ASSERT(mkfifo(fifo, 0600) == 0, "mkfifo: %s", H_ERR);
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	H_ASSERT(rd >= 0, "open %s: %s", fifo, H_ERR);
	snprintf(text, sizeof text,
	    "model = \"%s\"\nservice \"lg\" { listen = {\"127.0.0.1:0\"} handler = \"logger\" "
	    "output = \"%s\" }\n",
	    model, fifo);
	start_file(&s, model, path, text, 1);
	h = cli_connect(srv_port(&s, 0));
	H_ASSERT(h >= 0, "%s: connect", model);
	for (int i = 0; i < BL_LINES; i++) {
		int n = snprintf(line, sizeof line, "old-%05d %s\n", i,
		    "................................................................................");
		hbuf_add(&sent, line, (size_t)n);
	}
	/* The socket takes what the held connection does not read. */
	H_ASSERT(cli_write_all(h, sent.p, sent.len, D) == 0, "%s: write", model);
	/* Accepted before the reload (one accepted after it is a new
	 * connection): its first record came out. */
	for (long long end = h_now_ms() + D;
	     strstr(got.p != NULL ? got.p : "", ": old-") == NULL && h_now_ms() < end;) {
		char tmp[512];
		ssize_t n = read(rd, tmp, sizeof tmp);

		if (n > 0)
			hbuf_add(&got, tmp, (size_t)n);
		else
			h_nap(5);
	}
	H_ASSERT(got.p != NULL && strstr(got.p, ": old-") != NULL, "%s: no record in the FIFO",
	    model);

	snprintf(text, sizeof text,
	    "model = \"%s\"\nservice \"lg\" { listen = {\"127.0.0.1:0\"} handler = \"logger\" "
	    "output = \"%s\" }\n",
	    model, file);
	hup(&s, model, path, text, "reload: 1 service (1 kept", 1);
	c = cli_connect(srv_port(&s, 0));
	H_ASSERT(c >= 0 && cli_send(c, "new-line\n") == 0, "%s: connect", model);
	hl = (struct has_line){ file, "new-line" };
	H_ASSERT(h_wait_for(file_has_line, &hl, D),
	    "%s: a new connection not recorded while the old output is backed up", model);
	close(c);
	close(h);
	/* Now the FIFO is read: every old record comes out. */
	for (long long end = h_now_ms() + D * 2; h_now_ms() < end;) {
		char tmp[65536];
		ssize_t n = read(rd, tmp, sizeof tmp);

		if (n <= 0)
			last = n < 0 ? errno : 0;
		if (n > 0) {
			hbuf_add(&got, tmp, (size_t)n);
			hbuf_add(&got, "", 0);
			if (got.p != NULL && strstr(got.p, "disconnected") != NULL)
				break;
			continue;
		}
		h_nap(5);
	}
	for (int i = 0; i < BL_LINES; i += 499) {
		snprintf(line, sizeof line, "old-%05d ", i);
		H_ASSERT(got.p != NULL && strstr(got.p, line) != NULL && file_lacks(file, line),
		    "%s: record %s not in the old output (%zu bytes of it read; last read: %s)",
		    model, line, got.len, strerror(last));
	}
	H_ASSERT(h_count(got.p, ": old-") == BL_LINES, "%s: %zu records of %d in the old output",
	    model, h_count(got.p, ": old-"), BL_LINES);
	close(rd);
	H_STOP_OK(&s, model);
	hbuf_free(&sent);
	hbuf_free(&got);
}
END_TEST

/*
 * A per-source table carried over, then dropped: a reload with nothing
 * open, then A (max_per_source 2) holds h1, B (the same) takes the table over and holds h2, C has no
 * limit.  B's last connection ends and B is freed while A, retired too,
 * still counts h1 in that table: closing h1 then must find it there (it
 * once was unmapped with B: the server crashed).  Then served, exit 0.
 */
START_TEST(test_sources_chain)
{
	const char *model = model_of(_i, false);
	const char *dir = h_tmpdir();
	char text[512], path[512];
	struct srv s;
	int h1, h2, c, port;

	if (h_model_serial(model))
		return; /* two connections at once */
	H_ASSERT(dir != NULL, "tmpdir");
	snprintf(path, sizeof path, "%s", h_path(dir, "chain.conf"));
	snprintf(text, sizeof text,
	    "model = \"%s\"\nservice \"e\" { listen = {\"127.0.0.1:0\"} handler = \"echo\" "
	    "max_per_source = 2 }\n",
	    model);
	start_file(&s, model, path, text, 1);
	port = srv_port(&s, 0);
	/* A reload with nothing open: the first configuration is freed at
	 * once, its table carried on (once unmapped with it). */
	snprintf(text + strlen(text), sizeof text - strlen(text), "# a\n");
	hup(&s, model, path, text, " kept, ", 1);
	h1 = cli_connect(port);
	H_ASSERT(h1 >= 0 && cli_echo_ok(h1, "a\n"), "%s: h1", model);
	snprintf(text + strlen(text), sizeof text - strlen(text), "# b\n");
	hup(&s, model, path, text, " kept, ", 2);
	h2 = cli_connect(port);
	H_ASSERT(h2 >= 0 && cli_echo_ok(h2, "b\n"), "%s: h2", model);
	snprintf(text, sizeof text,
	    "model = \"%s\"\nservice \"e\" { listen = {\"127.0.0.1:0\"} handler = \"echo\" }\n",
	    model);
	hup(&s, model, path, text, " kept, ", 3);
	close(h2);
	/* h2's place back, and (at that signal) B freed. */
	H_EXPECT_STATUS(&s, model, "e", "now", 1);
	H_ASSERT(cli_echo_ok(h1, "still\n"), "%s: h1 after B was freed", model);
	close(h1);
	H_EXPECT_STATUS(&s, model, "e", "now", 0);
	for (int i = 0; i < 3; i++) {
		c = cli_connect(port);
		H_ASSERT(c >= 0 && cli_echo_ok(c, "after\n"), "%s: not serving after the chain",
		    model);
		close(c);
	}
	H_STOP_OK(&s, model);
}
END_TEST

struct record {
	const char *path;
	int port;         /* the client's local port: its records' PEER */
	const char *tail; /* " connected", ": line", ... */
};

static bool
has_record(void *arg)
{
	const struct record *r = arg;
	char needle[64], *t = h_read_file(r->path, NULL);
	bool ok;

	snprintf(needle, sizeof needle, "127.0.0.1:%d%s\n", r->port, r->tail);
	ok = t != NULL && strstr(t, needle) != NULL;
	free(t);
	return ok;
}

/* Waits for the logger record of the client on fd that ends in tail. */
static void
wait_record(const char *model, const char *path, int fd, const char *tail)
{
	struct record r = { path, cli_local_port(fd), tail };

	H_ASSERT(h_wait_for(has_record, &r, D), "%s: no record '127.0.0.1:%d%s' in:\n%s", model,
	    r.port, tail, h_read_file(path, NULL));
}

/*
 * defer_accept: unset, a logger service accepts a silent connection at once
 * (its "connected" record comes).  Reloaded with defer_accept = 3, the kept
 * listener holds a silent connection in the kernel: a later client that
 * speaks is served while the silent one has no record, and its first bytes
 * hand it over; one that stays silent is handed over after the period
 * (about 3 s), not held for ever.
 */
START_TEST(test_defer_accept)
{
	const char *model = model_of(_i, false);
	const char *dir = h_tmpdir();
	const char *out = h_path(dir, "defer.log");
	char text[1024], path[512];
	struct record silent;
	struct srv s;
	int a, b, c, e, port;

	H_ASSERT(dir != NULL, "tmpdir");
	snprintf(path, sizeof path, "%s", h_path(dir, "defer.conf"));
	snprintf(text, sizeof text,
	    "model = \"%s\"\nservice \"lg\" { listen = {\"127.0.0.1:0\"} handler = \"logger\" "
	    "output = \"%s\" }\n",
	    model, out);
	start_file(&s, model, path, text, 1);
	port = srv_port(&s, 0);
	a = cli_connect(port);
	H_ASSERT(a >= 0, "%s: connect: %s", model, H_ERR);
	wait_record(model, out, a, " connected");
	silent = (struct record){ out, cli_local_port(a), " disconnected" };
	close(a); /* a serial model serves nothing else meanwhile */
	H_ASSERT(h_wait_for(has_record, &silent, D), "%s: no disconnected record", model);

	snprintf(text, sizeof text,
	    "model = \"%s\"\nservice \"lg\" { listen = {\"127.0.0.1:0\"} handler = \"logger\" "
	    "output = \"%s\" defer_accept = 3 }\n",
	    model, out);
	hup(&s, model, path, text, "reload: ", 1);
	H_ASSERT(port_of(&s, "lg", false) == port, "%s: the listener was not kept", model);
	c = cli_connect(port);
	H_ASSERT(c >= 0, "%s: connect: %s", model, H_ERR);
	silent = (struct record){ out, cli_local_port(c), " connected" };
	b = cli_connect(port);
	H_ASSERT(b >= 0 && cli_send(b, "from b\n") == 0 && cli_shut_wr(b) == 0 &&
	        cli_wait_closed(b, D),
	    "%s: the client that spoke was not served", model);
	wait_record(model, out, b, " disconnected");
	H_ASSERT(!has_record(&silent),
	    "%s: the silent connection was accepted before it spoke:\n%s", model,
	    h_read_file(out, NULL));
	H_ASSERT(cli_send(c, "from c\n") == 0, "%s: send: %s", model, H_ERR);
	wait_record(model, out, c, ": from c");
	H_ASSERT(has_record(&silent), "%s: a record without its connection", model);
	close(c);

	e = cli_connect(port);
	H_ASSERT(e >= 0, "%s: connect: %s", model, H_ERR);
	silent.port = cli_local_port(e);
	H_ASSERT(h_wait_for(has_record, &silent, 3000 + D),
	    "%s: a connection that stayed silent was never handed over", model);
	close(e);
	H_STOP_OK(&s, model);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("reload");

	h_tcase_models(su, "services", 60, test_services);
	h_tcase_models(su, "services_workers", 60, test_services_workers);
	h_tcase_models(su, "storm", 60, test_storm);
	h_tcase_models(su, "dgram_removed", 60, test_dgram_removed);
	h_tcase_models(su, "backlog", 60, test_backlog);
	h_tcase_models(su, "sources_chain", 60, test_sources_chain);
	h_tcase_models(su, "defer_accept", 60, test_defer_accept);
	return h_run_suite(su);
}
