/* uv-echo.c - an echo server on libuv, written as a C engineer would for the bench.
 *
 * One 256 KiB read buffer for the loop (libuv reads into it); each read is
 * sent at once with uv_try_write, and only what the socket did not take is
 * copied and queued with uv_write, reading paused until it is written.
 * Usage: uv-echo PORT (0: a free port); prints "listening on ADDR (libuv)".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define READ_SIZE (256 * 1024)

struct wreq {
	uv_write_t req;
	uv_buf_t buf;
};

static char rbuf[READ_SIZE];

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	*buf = uv_buf_init(rbuf, sizeof(rbuf));
}

static void
on_close(uv_handle_t *h)
{
	free(h);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void
on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	uv_stream_t *s = req->handle;

	free(w->buf.base);
	free(w);
	if (status < 0) {
		uv_close((uv_handle_t *)s, on_close);
		return;
	}
	uv_read_start(s, on_alloc, on_read);
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	if (n < 0) {
		uv_close((uv_handle_t *)s, on_close);
		return;
	}
	if (n == 0)
		return;
	uv_buf_t b = uv_buf_init(buf->base, (unsigned int)n);
	int done = uv_try_write(s, &b, 1);
	if (done == n)
		return;
	if (done < 0 && done != UV_EAGAIN) {
		uv_close((uv_handle_t *)s, on_close);
		return;
	}
	if (done < 0)
		done = 0;
	struct wreq *w = malloc(sizeof(*w));
	char *copy = malloc((size_t)(n - done));
	if (w == NULL || copy == NULL) {
		free(w);
		free(copy);
		uv_close((uv_handle_t *)s, on_close);
		return;
	}
	memcpy(copy, buf->base + done, (size_t)(n - done));
	w->buf = uv_buf_init(copy, (unsigned int)(n - done));
	uv_read_stop(s);
	if (uv_write(&w->req, s, &w->buf, 1, on_written) < 0) {
		free(copy);
		free(w);
		uv_close((uv_handle_t *)s, on_close);
	}
}

static void
on_connection(uv_stream_t *server, int status)
{
	if (status < 0)
		return;
	uv_tcp_t *c = malloc(sizeof(*c));
	if (c == NULL)
		return;
	uv_tcp_init(server->loop, c);
	if (uv_accept(server, (uv_stream_t *)c) < 0) {
		uv_close((uv_handle_t *)c, on_close);
		return;
	}
	uv_read_start((uv_stream_t *)c, on_alloc, on_read);
}

int
main(int argc, char **argv)
{
	uv_loop_t *loop = uv_default_loop();
	uv_tcp_t server;
	struct sockaddr_in sa;
	int len = sizeof(sa);
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: uv-echo PORT\n");
		return 2;
	}
	uv_ip4_addr("127.0.0.1", atoi(argv[1]), &sa);
	uv_tcp_init(loop, &server);
	if ((rc = uv_tcp_bind(&server, (const struct sockaddr *)&sa, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&server, 511, on_connection)) < 0 ||
	    (rc = uv_tcp_getsockname(&server, (struct sockaddr *)&sa, &len)) < 0) {
		fprintf(stderr, "uv-echo: listen: %s\n", uv_strerror(rc));
		return 1;
	}
	fprintf(stderr, "listening on 127.0.0.1:%d (libuv)\n", ntohs(sa.sin_port));
	return uv_run(loop, UV_RUN_DEFAULT);
}
