/* check_logger_load.c - logger under load: 40 clients x 500 lines, SIGTERM at once, nothing lost or torn. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define NCLI   40
#define NLINES 500
#define CHUNK  1500 /* bytes per send: clients interleave, lines get cut */

struct count_arg {
	const char *path;
	size_t want;
};

static bool
all_connected(void *arg)
{
	struct count_arg *a = arg;
	char *t = h_read_file(a->path, NULL);
	bool ok = t != NULL && h_count(t, " connected\n") >= a->want;

	free(t);
	return ok;
}

START_TEST(test_load)
{
	const char *model = h_conc_model(_i);
	const char *dir = h_tmpdir();
	const char *out = h_path(dir, "load.log");
	const char *args[] = { "-m", model, "-H", "logger", "-l", "127.0.0.1:0", "--logger-output",
		out, NULL };
	static struct hbuf data[NCLI];
	static int port2cli[65536];
	int fd[NCLI];
	struct count_arg ca;
	struct srv s;
	char *text;
	size_t len;
	int c, r;

	H_ASSERT(dir != NULL, "tmpdir");
	for (c = 0; c < NCLI; c++) {
		hbuf_free(&data[c]);
		h_load_lines(&data[c], c, NLINES);
	}

	H_START_OK(&s, args, model);
	h_load_connect(model, srv_port(&s, 0), fd, NCLI, port2cli);
	/*
	 * Every connection accepted before the first byte: SIGTERM stops
	 * accepting, and a connection still in the backlog is not served.
	 */
	ca.path = out;
	ca.want = NCLI;
	H_ASSERT(h_wait_for(all_connected, &ca, H_DEADLINE_MS),
	    "%s: not all %d clients were accepted", model, NCLI);

	/* One poll loop drives all 40 sockets; each closes once done. */
	h_load_send(model, fd, data, NCLI, CHUNK, 20000, close);
	/* Right after the last send: every line must still be logged. */
	r = srv_stop(&s, SIGTERM, 20000);
	H_ASSERT(r == 0, "%s: exit status %d after SIGTERM, want 0", model, r);

	text = h_read_file(out, &len);
	H_ASSERT(text != NULL, "%s: no output file %s", model, out);
	H_ASSERT(len > 0 && text[len - 1] == '\n', "%s: the file does not end with a whole record",
	    model);
	h_load_verify(model, text, len, port2cli, NCLI, NLINES);
	free(text);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("logger_load");

	h_tcase_conc_models(su, "no_loss", 60, test_load);
	return h_run_suite(su);
}
