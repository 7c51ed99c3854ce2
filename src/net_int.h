/* net_int.h - what the net*.c pieces share, not part of the net.h API. */
#ifndef DISPATCHD_NET_INT_H
#define DISPATCHD_NET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config;
struct service;
struct stat;

/*
 * Records a listening fd (a datagram socket with dgram) in cf->ls (the fd
 * is closed on failure); unix_path, the socket file this process bound (or
 * NULL), is copied with its identity *file.  (net_listen.c)
 */
int add_listener(struct config *cf, int fd, struct service *svc, const char *addr, bool dgram,
    const char *unix_path, const struct stat *file);

struct net_addr;
/*
 * Binds the listeners of svc's address spec (parsed: a) and records them
 * with spec.  0, or -1 with err naming spec.  (net_listen.c)
 */
int net_listen_spec(struct config *cf, struct service *svc, const char *spec,
    const struct net_addr *a, char *err, size_t errlen);

/* The "listening on" lines of cf's listeners, but those a reload kept. (net_listen.c) */
void net_announce(const struct config *cf);

/* Closes l (its socket file removed if process me made it) and frees
 * its strings; l stays in its array (net_listen.c). */
void net_close_listener(struct listener *l, pid_t me);

/* The last listener id given (net_listen.c). */
extern uint32_t net_listener_ids;

/* The listen(2) backlog for cf (net_listen.c). */
int backlog_of(const struct config *cf);
/*
 * TCP_DEFER_ACCEPT on a listener: the kernel hands a connection to accept(2)
 * once its first bytes came, or after about secs silent (rounded up to its
 * SYN-ACK retransmissions: 1, 3, 7, 15 s...); 0 turns it off.  0 or -1.
 */
int net_defer_accept(int fd, long secs);

struct net_addr;
/*
 * Binds a unix: or unixgram: listener for a (a stale socket file
 * replaced, svc's mode applied) and records it.  0, or -1 with err
 * naming spec.  (net_unix.c)
 */
int listen_unix(struct config *cf, struct service *svc, const char *spec, const struct net_addr *a,
    char *err, size_t errlen);
/* Removes the socket file at path if it is still the one bind(2) made
 * (dev, ino).  Keeps errno.  (net_unix.c) */
void unlink_ours(const char *path, dev_t dev, ino_t ino);

/*
 * systemd socket activation: adopts the LISTEN_FDS sockets into cf->ls.
 * Returns 1 when activated, 0 when not, -1 with err filled.  (net_activate.c)
 */
int adopt_passed(struct config *cf, char *err, size_t errlen);

#endif
