/* net_activate.c - systemd socket activation: adopting the LISTEN_FDS sockets. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "dgram.h"
#include "net.h"
#include "net_int.h"

/* The first descriptor systemd passes (SD_LISTEN_FDS_START). */
#define LISTEN_FDS_START 3

/* Strict decimal for the LISTEN_* variables: -1 when not a number. */
static long
env_number(const char *s)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end != '\0' ? -1 : v;
}

/*
 * A passed descriptor must be a listening stream socket (ListenStream=) or
 * a datagram socket (ListenDatagram=); *dgram says which.
 */
static int
check_passed(int fd, int i, bool *dgram, char *err, size_t errlen)
{
	struct stat st;
	int type = 0, acc = 0;
	socklen_t len = sizeof(int);

	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    (type != SOCK_STREAM && type != SOCK_DGRAM) ||
	    (type == SOCK_STREAM &&
	        (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == -1 || !acc))) {
		snprintf(err, errlen,
		    "socket activation: passed descriptor %d (#%d) is neither a listening stream "
		    "socket nor a datagram socket",
		    fd, i + 1);
		return -1;
	}
	*dgram = type == SOCK_DGRAM;
	return 0;
}

/*
 * A passed socket must be of a kind its service lists: a datagram socket
 * for a service with a udp: or unixgram: address, a stream one for a
 * service with a stream address.  The addresses themselves may differ (the
 * socket unit decides them), the kind may not: a handler would be given
 * datagrams the configuration never asked it to serve, or the reverse.
 */
static int
check_kind(const struct service *svc, bool dgram, const char *name, int i, char *err, size_t errlen)
{
	struct net_addr a;
	char why[256];

	for (size_t j = 0; j < svc->nlisten; j++)
		if (net_parse(svc->listen[j], &a, why, sizeof(why)) == 0 && a.dgram == dgram)
			return 0;
	snprintf(err, errlen,
	    "socket activation: socket #%d (%s) is a %s socket, but service '%s' listens on %s "
	    "(%s addresses only)",
	    i + 1, name, dgram ? "datagram" : "stream", svc->name,
	    svc->nlisten > 0 ? svc->listen[0] : "nothing", dgram ? "stream" : "datagram");
	return -1;
}

/* The passed socket's address as printed: "udp:", "unix:", "unixgram:" forms. */
static void
passed_name(const struct sockaddr_storage *ss, socklen_t sl, bool dgram, char *dst, size_t len)
{
	char name[NET_ADDRSTRLEN - 4]; /* room for "udp:" */

	if (ss->ss_family == AF_UNIX) {
		const struct sockaddr_un *su = (const struct sockaddr_un *)(const void *)ss;

		snprintf(dst, len, "%s:%.*s", dgram ? "unixgram" : "unix",
		    (int)sizeof(su->sun_path) - 1, su->sun_path[0] ? su->sun_path : "@");
		return;
	}
	net_peer_name((const struct sockaddr *)ss, sl, name, sizeof(name));
	snprintf(dst, len, "%s%s", dgram ? "udp:" : "", name);
}

/* The service a passed socket belongs to: by LISTEN_FDNAMES, else in order. */
static struct service *
passed_service(struct config *cf, char **names, int nnames, int i, bool by_name)
{
	if (!by_name)
		return (size_t)i < cf->nsvcs ? &cf->svcs[i] : NULL;
	for (size_t k = 0; k < cf->nsvcs; k++)
		if (i < nnames && strcmp(names[i], cf->svcs[k].name) == 0)
			return &cf->svcs[k];
	return NULL;
}

/*
 * systemd socket activation: when LISTEN_PID is this process, the LISTEN_FDS
 * sockets starting at descriptor 3 replace binding.  A socket goes to the
 * service its LISTEN_FDNAMES entry names (a service may get several; one
 * named by no socket binds its own addresses, so a .socket unit may carry
 * only some services); when no name matches any service the sockets go to
 * the services in order, one each, and the counts must agree.  A socket
 * is a stream or a datagram one, and its service must list an address of
 * that kind; a service given sockets of one kind only still binds its own
 * addresses of the other kind (net_listen_all).
 * Returns 1 when activated, 0 when not, -1 with err filled.
 */
int
adopt_passed(struct config *cf, char *err, size_t errlen)
{
	long pid = env_number(getenv("LISTEN_PID"));
	long n = env_number(getenv("LISTEN_FDS"));
	const char *fdnames = getenv("LISTEN_FDNAMES");
	char *namebuf = NULL, *names[256], *tok, *save = NULL;
	int nnames = 0, r = -1;
	bool by_name = false;

	if (pid != (long)getpid() || n < 0) {
		if (getenv("LISTEN_FDS") != NULL && pid == (long)getpid())
			snprintf(err, errlen, "socket activation: bad LISTEN_FDS '%s'",
			    getenv("LISTEN_FDS"));
		else
			r = 0;
		goto out;
	}
	if (n == 0 || n > 256) {
		snprintf(err, errlen, "socket activation: LISTEN_FDS=%ld, expected 1 to 256", n);
		goto out;
	}
	if (fdnames != NULL && (namebuf = strdup(fdnames)) == NULL) {
		snprintf(err, errlen, "socket activation: %s", strerror(errno));
		goto out;
	}
	for (tok = namebuf ? strtok_r(namebuf, ":", &save) : NULL; tok && nnames < 256;
	     tok = strtok_r(NULL, ":", &save))
		names[nnames++] = tok;
	for (int i = 0; i < n && !by_name; i++)
		by_name = passed_service(cf, names, nnames, i, true) != NULL;
	if (!by_name && (size_t)n != cf->nsvcs) {
		snprintf(err, errlen,
		    "socket activation: %ld socket%s passed for %zu service%s, and LISTEN_FDNAMES "
		    "names none of them",
		    n, n == 1 ? "" : "s", cf->nsvcs, cf->nsvcs == 1 ? "" : "s");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		int fd = LISTEN_FDS_START + i;
		struct service *svc = passed_service(cf, names, nnames, i, by_name);
		char name[NET_ADDRSTRLEN];
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		bool dgram = false;

		if (svc == NULL) {
			snprintf(err, errlen,
			    "socket activation: socket #%d is named '%s', which is "
			    "no service",
			    i + 1, i < nnames ? names[i] : "");
			goto out;
		}
		if (check_passed(fd, i, &dgram, err, errlen) == -1)
			goto out;
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 || net_set_nonblock(fd, 1) == -1 ||
		    getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
			snprintf(err, errlen, "socket activation: descriptor %d: %s", fd,
			    strerror(errno));
			goto out;
		}
		passed_name(&ss, sl, dgram, name, sizeof(name));
		if (check_kind(svc, dgram, name, i, err, errlen) == -1)
			goto out;
		/* The service manager does not ask for packet info: replies need it. */
		if (dgram && ss.ss_family != AF_UNIX &&
		    dgram_listener_setup(fd, (struct sockaddr *)&ss) == -1) {
			snprintf(err, errlen, "socket activation: %s: %s", name, strerror(errno));
			goto out;
		}
		/* No unix_path: the socket file belongs to the service manager. */
		if (add_listener(cf, fd, svc, name, dgram, NULL, NULL) == -1) {
			snprintf(err, errlen, "socket activation: %s", strerror(errno));
			goto out;
		}
	}
	r = 1;
out:
	free(namebuf);
	/* Read once; children (fork model) must not take them for theirs. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return r;
}
