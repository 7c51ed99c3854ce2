/* net.h - listen addresses, listening sockets, accept, peer names. */
#ifndef DISPATCHD_NET_H
#define DISPATCHD_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct config;
struct service;

/* "udp:[ffff:...:ffff]:65535" or "unixgram:" + sun_path. */
#define NET_ADDRSTRLEN 128

enum net_kind { NET_INET, NET_ANY, NET_UNIX };

/* A parsed listen address: a stream one, or with dgram a "udp:" or "unixgram:" one. */
struct net_addr {
	enum net_kind kind;
	bool dgram;                /* SOCK_DGRAM: udp: (NET_INET, NET_ANY), unixgram: (NET_UNIX) */
	char host[NET_ADDRSTRLEN]; /* NET_INET: literal or name, no brackets */
	unsigned port;             /* NET_INET, NET_ANY */
	char path[108];            /* NET_UNIX */
};

struct listener {
	int fd;
	struct service *svc;
	bool dgram;                /* a datagram socket (udp:, unixgram:): no accept */
	bool tcp;                  /* a TCP socket this process bound (defer_accept applies) */
	char addr[NET_ADDRSTRLEN]; /* as printed: real port, "unix:/path", "udp:..." */
	char *unix_path;           /* removed at exit by the process that bound it, */
	dev_t unix_dev;            /* ... if it is still the file bind(2) made */
	ino_t unix_ino;
	pid_t owner;
	char *spec;   /* the configured address it was bound for; NULL: passed by systemd */
	bool carried; /* a reload took it over from the running configuration (net_reload.c) */
	uint32_t id;  /* unique in the process; kept when a reload carries it */
};

/* The other end of a connection, as logged: "ip:port", "[ipv6]:port" or "unix". */
struct peer {
	struct sockaddr_storage sa;
	socklen_t salen;
	char text[NET_ADDRSTRLEN];
};

/*
 * Parses "HOST:PORT", "[IPV6]:PORT", "*:PORT" or "unix:/path", or the
 * datagram forms "udp:HOST:PORT", "udp:[IPV6]:PORT", "udp:*:PORT" and
 * "unixgram:/path" (out->dgram set), validated as their stream forms.
 * 0, or -1 with a one-line reason naming spec and the valid forms in err.
 */
int net_parse(const char *spec, struct net_addr *out, char *err, size_t errlen);

/*
 * Binds and listens on every address of every service of cf (a host name
 * may yield several sockets), non-blocking and close-on-exec; datagram
 * addresses get bound SOCK_DGRAM sockets set up by dgram_listener_setup
 * (no listen(2)).  Then prints "listening on ADDR (SERVICE, HANDLER)" to
 * stderr for each, ADDR with its "udp:" or "unixgram:" prefix; on failure
 * nothing is printed and nothing stays bound.  Fills cf->ls.
 * 0, or -1 with err naming the address and the system error.
 */
int net_listen_all(struct config *cf, char *err, size_t errlen);

/*
 * A reload: binds ncf's listeners, taking over the sockets of old's that
 * it still lists (the same address spec, or for a socket systemd passed,
 * a service of the same name) instead of binding them again, and prints
 * "listening on" for the ones bound now.  old is not changed.  0, or -1
 * with err filled and nothing bound (ncf has no listeners then).
 */
int net_listen_reload(struct config *ncf, struct config *old, char *err, size_t errlen);

/* A reload abandoned: the sockets ncf would have taken over are left to
 * the running configuration (net_close_all(ncf) closes its own). */
void net_reload_release(struct config *ncf);

/*
 * The reload is made: the sockets ncf took over are its own (old keeps
 * no copy and no socket file to remove), backlog and mode applied to
 * them, and old's others closed (with keep_dgram, its datagram ones
 * stay open, for replies still to go out, until net_close_all(old)).
 * old's listener array stays, for those still using it.
 */
void net_reload_commit(struct config *ncf, struct config *old, bool keep_dgram);

/*
 * Closes the listeners.  Removes the socket file of each unix listener
 * this process bound, if the path still names the file its bind(2)
 * created (one removed and bound again by another server is left alone).
 */
void net_close_all(struct config *cf);

/*
 * Stops accepting: closes the stream listeners as net_close_all does and
 * keeps the datagram sockets (not read any more), through which replies
 * to datagrams still being served go out, until net_close_all.
 */
void net_close_streams(struct config *cf);

/*
 * Prepares the spare descriptor that net_accept uses to shed a connection
 * when the process is out of descriptors. 0 or -1.
 */
int net_spare_init(void);
/* Closes the spare (fork children, which never accept). */
void net_spare_close(void);
/*
 * Before closing a connection the server ends on its own (daytime, time):
 * sends FIN and reads, without waiting, what the client already sent, so
 * the close does not turn into a reset that could destroy the reply in
 * the client's kernel.  Errors are ignored: the caller closes fd anyway.
 */
void net_end_gently(int fd);

/*
 * False when the spare could not be taken back (another process or thread
 * took the last descriptor): an EMFILE from net_accept then left the
 * connection pending, and a level-triggered wait would report it at once.
 */
bool net_spare_ready(void);

/*
 * accept4(lfd, flags | SOCK_CLOEXEC) filling peer.  Returns the descriptor,
 * or -1 with errno: EAGAIN when nothing is pending, EINTR, or EMFILE/ENFILE
 * after the pending connection was accepted on the spare descriptor and
 * closed (so level-triggered waits do not spin; EAGAIN when nothing was
 * pending after all); other errors of the
 * aborted connection (ECONNABORTED...) are also returned for the caller to
 * skip.
 */
int net_accept(int lfd, struct peer *peer, int flags);

/* Formats sa as a peer name into dst (NET_ADDRSTRLEN bytes). */
void net_peer_name(const struct sockaddr *sa, socklen_t len, char *dst, size_t dstlen);

/*
 * p's text, formatted from its address on the first call when empty: the
 * datagram receivers leave it so, since most datagrams never print their
 * source.  The cache is written through the const pointer: a struct peer
 * is never itself const-qualified.
 */
const char *net_peer_text(const struct peer *p);

/* Sets or clears O_NONBLOCK. 0 or -1. */
int net_set_nonblock(int fd, int on);

#endif
