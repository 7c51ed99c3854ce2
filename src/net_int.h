/* net_int.h - what the net*.c pieces share, not part of the net.h API. */
#ifndef DISPATCHD_NET_INT_H
#define DISPATCHD_NET_INT_H

#include <stdbool.h>
#include <stddef.h>

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

/*
 * systemd socket activation: adopts the LISTEN_FDS sockets into cf->ls.
 * Returns 1 when activated, 0 when not, -1 with err filled.  (net_activate.c)
 */
int adopt_passed(struct config *cf, char *err, size_t errlen);

#endif
