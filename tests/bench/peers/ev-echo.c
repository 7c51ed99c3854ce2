/* ev-echo.c - an echo server on libevent, the usual bufferevent way.
 *
 * Input moves to output with evbuffer_add_buffer (no copy); reads and
 * writes of up to 256 KiB at a time; reading pauses while more than
 * 1 MiB waits to be sent.
 * Usage: ev-echo PORT (0: a free port); prints "listening on ADDR (libevent)".
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define IO_SIZE    (256 * 1024)
#define HIGH_WATER (1024 * 1024)

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *out = bufferevent_get_output(bev);

	(void)arg;
	evbuffer_add_buffer(out, bufferevent_get_input(bev));
	if (evbuffer_get_length(out) > HIGH_WATER)
		bufferevent_disable(bev, EV_READ);
}

/* The output drained (low watermark 0): read again. */
static void
on_write(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_enable(bev, EV_READ);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
	struct event_base *base = evconnlistener_get_base(l);
	struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);

	(void)sa;
	(void)len;
	(void)arg;
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	bufferevent_set_max_single_read(bev, IO_SIZE);
	bufferevent_set_max_single_write(bev, IO_SIZE);
	bufferevent_setcb(bev, on_read, on_write, on_event, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (argc != 2) {
		fprintf(stderr, "usage: ev-echo PORT\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct event_base *base = event_base_new();
	struct evconnlistener *l = base == NULL ?
	    NULL :
	    evconnlistener_new_bind(base, on_accept, NULL,
	        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 511,
	        (struct sockaddr *)&sa, sizeof(sa));
	if (l == NULL || getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sa, &len) < 0) {
		perror("ev-echo: listen");
		return 1;
	}
	fprintf(stderr, "listening on 127.0.0.1:%d (libevent)\n", ntohs(sa.sin_port));
	return event_base_dispatch(base);
}
