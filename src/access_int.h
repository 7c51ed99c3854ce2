/* access_int.h - shared by access.c and access_sources.c only: peer addresses and the allow/deny decision. */
#ifndef DISPATCHD_ACCESS_INT_H
#define DISPATCHD_ACCESS_INT_H

#include <stdbool.h>
#include <sys/socket.h>

#include "access.h"

/*
 * The address of an IP peer into a (16 bytes, zero-padded): 4 for IPv4
 * and IPv4-mapped IPv6, 16 for IPv6, 0 for unix and anything else.
 */
unsigned char peer_addr(const struct sockaddr *sa, socklen_t len, unsigned char *a);

/* REFUSE_DENIED or REFUSE_NONE for the address a (alen bytes, from peer_addr). */
enum refuse_reason rules_check(const struct access_rules *r, const unsigned char *a,
    unsigned char alen);

#endif
