/* net_reload.c - the listeners of a reloaded configuration: the running ones it still lists taken over, the others bound, then the old ones closed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "net.h"
#include "net_int.h"

/* ncf takes over l for svc (the socket stays old's until the commit). */
static int
carry(struct config *ncf, const struct listener *l, struct service *svc)
{
	struct listener *ls = realloc(ncf->ls, (ncf->nls + 1) * sizeof(*ls)), *n;

	if (ls == NULL)
		return -1;
	ncf->ls = ls;
	n = &ls[ncf->nls];
	*n = *l;
	n->svc = svc;
	n->carried = true;
	n->unix_path = NULL;
	n->spec = NULL;
	if ((l->unix_path != NULL && (n->unix_path = strdup(l->unix_path)) == NULL) ||
	    (l->spec != NULL && (n->spec = strdup(l->spec)) == NULL)) {
		free(n->unix_path);
		return -1;
	}
	ncf->nls++;
	return 0;
}

static bool
taken(const struct config *ncf, int fd)
{
	for (size_t k = 0; k < ncf->nls; k++)
		if (ncf->ls[k].carried && ncf->ls[k].fd == fd)
			return true;
	return false;
}

void
net_reload_release(struct config *ncf)
{
	for (size_t k = 0; k < ncf->nls; k++)
		if (ncf->ls[k].carried) {
			ncf->ls[k].fd = -1;
			free(ncf->ls[k].unix_path);
			ncf->ls[k].unix_path = NULL;
		}
}

int
net_listen_reload(struct config *ncf, struct config *old, char *err, size_t errlen)
{
	struct net_addr a;
	size_t npassed;

	ncf->ls = NULL;
	ncf->nls = 0;
	/* Sockets systemd passed cannot be bound again: they stay with the
	 * service of the same name, or are closed with the old configuration. */
	for (size_t i = 0; i < old->nls; i++) {
		struct listener *l = &old->ls[i];
		struct service *svc;

		if (l->fd < 0 || l->spec != NULL || (svc = conf_service(ncf, l->svc->name)) == NULL)
			continue;
		if (carry(ncf, l, svc) < 0)
			goto nomem;
	}
	npassed = ncf->nls;
	for (size_t i = 0; i < ncf->nsvcs; i++) {
		struct service *svc = &ncf->svcs[i];
		bool passed[2] = { false, false };

		for (size_t k = 0; k < npassed; k++)
			if (ncf->ls[k].svc == svc)
				passed[ncf->ls[k].dgram] = true;
		for (size_t j = 0; j < svc->nlisten; j++) {
			bool kept = false;

			if (net_parse(svc->listen[j], &a, err, errlen) == -1)
				goto fail;
			if (passed[a.dgram])
				continue;
			/* The same address spec of the same service: every socket
			 * bound for it (a host name may have given several); else,
			 * a fixed address that moved from another service (port 0
			 * is not one: each such spec is a port of its own). */
			for (int pass = 0; pass < 2 && !kept; pass++)
				for (size_t k = 0; k < old->nls; k++) {
					struct listener *l = &old->ls[k];

					if (l->fd < 0 || l->spec == NULL ||
					    strcmp(l->spec, svc->listen[j]) != 0 ||
					    taken(ncf, l->fd) ||
					    (pass == 0 && strcmp(l->svc->name, svc->name) != 0) ||
					    (pass == 1 && a.kind != NET_UNIX && a.port == 0))
						continue;
					if (carry(ncf, l, svc) < 0)
						goto nomem;
					kept = true;
				}
			if (!kept &&
			    net_listen_spec(ncf, svc, svc->listen[j], &a, err, errlen) == -1)
				goto fail;
		}
	}
	net_announce(ncf);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	net_reload_release(ncf);
	net_close_all(ncf);
	return -1;
}

void
net_reload_commit(struct config *ncf, struct config *old, bool keep_dgram)
{
	int backlog = backlog_of(ncf);

	for (size_t k = 0; k < ncf->nls; k++) {
		struct listener *n = &ncf->ls[k];

		if (!n->carried)
			continue;
		n->carried = false;
		for (size_t i = 0; i < old->nls; i++) {
			struct listener *l = &old->ls[i];

			if (l->fd != n->fd)
				continue;
			/* Its socket file is the new one's to remove now. */
			l->fd = -1;
			free(l->unix_path);
			l->unix_path = NULL;
		}
		if (!n->dgram && listen(n->fd, backlog) < 0)
			log_warn("%s: listen", n->addr);
		if (n->tcp && net_defer_accept(n->fd, n->svc->defer_accept) < 0)
			log_warn("%s: TCP_DEFER_ACCEPT", n->addr);
		if (n->unix_path != NULL && n->svc->has_mode &&
		    chmod(n->unix_path, n->svc->mode) < 0)
			log_warn("%s: chmod", n->addr);
	}
	/* The ones ncf does not list close now; a datagram socket that a
	 * reply may still go out through stays until old is freed. */
	for (size_t i = 0; i < old->nls; i++)
		if (old->ls[i].fd >= 0 && !(old->ls[i].dgram && keep_dgram))
			net_close_listener(&old->ls[i], getpid());
}
