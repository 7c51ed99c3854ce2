/* conf.h - configuration: libconfuse file plus command-line flags. */
#ifndef DISPATCHD_CONF_H
#define DISPATCHD_CONF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "access.h"

struct handler;
struct model;
struct listener;
struct svc_stats;
struct access_table;

#define CONF_DEFAULT_MAX_CLIENTS      1024
#define CONF_DEFAULT_IDLE_TIMEOUT     300
#define CONF_DEFAULT_MAX_LINE         8192
#define CONF_DEFAULT_MAX_PENDING      262144
#define CONF_DEFAULT_BACKLOG          128
#define CONF_DEFAULT_SHUTDOWN_TIMEOUT 5
#define CONF_DEFAULT_MAX_UPLOAD       (64L * 1024 * 1024)
#define CONF_DEFAULT_REQUEST_TIMEOUT  10
#define CONF_DEFAULT_PROXY_TIMEOUT    5
/* defer_accept unset: the handler's own default (struct handler). */
#define CONF_DEFAULT_DEFER_ACCEPT (-1)
#define CONF_MAX_WORKERS          256
#define CONF_DEFAULT_MODEL        "epoll"
#define CONF_DEFAULT_HANDLER      "echo"

/* Upper bounds accepted for the numeric settings. */
#define CONF_MAX_CLIENTS_LIMIT 1000000L
#define CONF_MAX_LINE_LIMIT    (16L * 1024 * 1024)
#define CONF_MAX_PENDING_LIMIT (1024L * 1024 * 1024)
#define CONF_MAX_SOURCE_LIMIT  1000000L /* max_per_source, rate_limit */
#define CONF_MAX_UPLOAD_LIMIT  (1L << 40)

/* One service: a handler served on one or more listen addresses. */
struct service {
	char *name;
	char **listen;
	size_t nlisten;
	const struct handler *handler;
	char *output;               /* logger: file path, "-" or "syslog" */
	bool ack;                   /* logger: reply OK after each record */
	char *timestamp_format;     /* timestamp: strftime format, NULL = RFC 3339 */
	char *root;                 /* files: the directory served */
	bool listing;               /* files: list a directory without index.html */
	bool upload;                /* files: PUT allowed */
	char *access_log;           /* files: path, "-" or "syslog"; NULL = none */
	long max_upload;            /* files: largest PUT body, bytes */
	long request_timeout;       /* files: seconds for a request head */
	long defer_accept;          /* TCP_DEFER_ACCEPT seconds, 0 = off (resolved: never -1) */
	void *hdata;                /* the handler's per-service data (setup/fini) */
	struct svc_stats *stats;    /* counters, shared with fork children */
	struct access_rules access; /* allow/deny (the global lists unless set here) */
	long max_per_source;        /* concurrent connections from one address, 0 = no limit */
	long rate_limit;            /* new connections per second from one address, 0 = no limit */
	bool has_mode;              /* unix: listeners: chmod the socket file to mode */
	unsigned mode;              /* permission bits, 0..0777 */
	int proxy_protocol;         /* PROXY header versions accepted (proxy.h mask), 0 = off */
	struct access_list proxy_from; /* who may send one */
	long proxy_timeout;            /* seconds for the header */
	struct access_table *sources;  /* access_setup: per-source state */
	struct config *owner;          /* the configuration holding it (reload.c) */
	uint32_t uid;                  /* unique in the process, across reloads */
	/* The single-thread loops' view of the handler's output (backlog). */
	int out_fd;         /* watched for writability, -1: none */
	bool out_room;      /* held sinks may go on */
	uint32_t out_armed; /* io_uring: the generation of its poll in flight, 0: none */
};

struct config {
	const struct model *model;
	long max_clients;
	long workers;      /* processes, each its own loop (select, poll, epoll, io_uring) */
	long idle_timeout; /* seconds, 0 = never */
	long max_line;
	long max_pending;
	long backlog;
	long shutdown_timeout;      /* seconds */
	long max_per_source;        /* the services' default (also from the flag) */
	long rate_limit;            /* the services' default */
	long max_upload;            /* the services' default */
	long request_timeout;       /* the services' default */
	long defer_accept;          /* the services' default; -1: each handler's own */
	struct access_rules access; /* the services' default allow/deny */
	bool has_mode;              /* the services' default mode */
	unsigned mode;
	int proxy_protocol;            /* the services' default */
	struct access_list proxy_from; /* the services' default */
	long proxy_timeout;            /* the services' default */
	struct service *svcs;
	size_t nsvcs;
	struct listener *ls; /* filled by net_listen_all() */
	size_t nls;
	char *config_path; /* NULL when none was read */
	char *pidfile;
	char *user;
	bool daemonize;
	bool test_only;
	int verbosity; /* 0 normal, <0 quiet, >0 verbose */
	/* reload.c: connections (and datagrams being served) admitted under
	 * this configuration; once it is replaced, freed when none is left. */
	atomic_long open;
	atomic_long open_dgrams; /* of them, datagrams answered outside the loop */
	atomic_bool retired;
	struct config *retired_next;
};

/*
 * Parses argv and the configuration file into cf (zeroed by the caller).
 * Returns 0 to go on, 1 when it printed --help or --version (exit 0), or
 * -1 with one line in err that names the bad value and the valid choices.
 */
int conf_load(struct config *cf, int argc, char **argv, char *err, size_t errlen);

/*
 * Parses configuration text (as if read from a file called name) on top of
 * the defaults. For tests and conf_load. 0, or -1 with err filled.
 */
int conf_parse_text(struct config *cf, const char *name, const char *text, char *err,
    size_t errlen);

/* When set, the file conf_load reads instead of the one -c names: a
 * reload reads the path made absolute at start-up (-d moves to "/"). */
extern const char *conf_path_override;

/* The service of cf called name, or NULL. */
struct service *conf_service(struct config *cf, const char *name);

/* Frees what conf_load allocated (not the listeners). */
void conf_free(struct config *cf);

/* The usage text of --help. */
void conf_usage(FILE *fp);

#endif
