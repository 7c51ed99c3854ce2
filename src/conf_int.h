/* conf_int.h - what the conf*.c files share; the public API stays in conf.h. */
#ifndef DISPATCHD_CONF_INT_H
#define DISPATCHD_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "conf.h"

#ifndef DISPATCHD_CONFIG
#define DISPATCHD_CONFIG "/usr/local/etc/dispatchd/dispatchd.conf"
#endif

/* Logger output of a service that names none: standard output, like "-". */
#define CONF_DEFAULT_OUTPUT "-"

/*
 * The numeric settings: one row gives the file key, the flag, the range
 * and the default, so the file and the command line check the same way.
 * Rows with a svc_off are also service keys: the global value is the
 * default of every service, and the flag sets every service's value.
 */
struct num_setting {
	const char *key;
	const char *flag;
	long min;
	long max;
	long def;
	size_t off;     /* in struct config */
	size_t svc_off; /* in struct service, or NO_SVC */
};

#define NO_SVC SIZE_MAX

/* conf.c */
extern const struct num_setting num_settings[];
#define NUM_SETTINGS 13 /* rows of num_settings; conf.c checks */

long *num_field(struct config *cf, const struct num_setting *ns);
long *svc_num_field(struct service *svc, const struct num_setting *ns);
int check_num(const struct num_setting *ns, const char *who, const char *s, long *v, char *err,
    size_t errlen);
void free_services(struct config *cf);
void set_defaults(struct config *cf);
int inherit_globals(struct service *svc, const struct config *cf);
int set_str(char **dst, const char *s);
int check_tsfmt(const char *fmt, const char *where, char *err, size_t errlen);
/* A proxy_protocol value into *versions (a proxy.h mask). 0, or -1 with err. */
int check_proxy_protocol(const char *s, const char *where, int *versions, char *err, size_t errlen);

/* conf_file.c */
int parse_file(struct config *cf, const char *name, const char *text, char **gtsfmt, char *err,
    size_t errlen);

/* conf_suggest.c */
/*
 * The valid names offered after a bad one, and the closest of them.  A
 * name is a plausible fix for the bad word when their optimal string
 * alignment distance (Levenshtein plus swapping two neighbours, case
 * ignored) is at most 1 for a word of 3 to 5 characters and at most 2
 * for a longer one: a looser bound has "foo" suggest "mode", and a word
 * of 1 or 2 characters says too little to guess from.  Failing that, a
 * word of 3 or more characters that begins exactly one name suggests it
 * (libconfuse takes no abbreviations; getopt_long has already taken the
 * unique ones).  Between equally close names, one of the word's length
 * wins: "modle" is "model" with two letters swapped rather than "mode"
 * with one added.  A tie that remains suggests nothing: a coin toss
 * misleads more than the list alone.
 */
#define CHOICE_WORD_MAX 64 /* longer words get the list only */

struct choices {
	const char *word;  /* the bad name without dashes, or NULL */
	const char *pfx;   /* shown before each name: "--", "-" or "" */
	const char *best;  /* the closest name so far */
	size_t bestd;      /* its distance */
	size_t bestld;     /* and its length difference */
	int nbest;         /* names as close */
	const char *begun; /* a name that word begins */
	int nbegun;
	char list[768]; /* "--config, --model, ..." */
};

void choices_init(struct choices *ch, const char *word, const char *pfx);
void choices_add(struct choices *ch, const char *name);
void choices_format(const struct choices *ch, char *dst, size_t len);
const char *model_name_at(size_t i);
const char *handler_name_at(size_t i);
const char *proxy_version_at(size_t i);
void registry_choices(const char *word, const char *(*name_at)(size_t), char *dst, size_t len);

/* conf_flags.c */
/* What the command line asked for, applied on top of the file. */
struct flags {
	const char *config;
	const struct model *model;
	const struct handler *handler;
	const char **listen; /* pointers into argv */
	size_t nlisten;
	long num[NUM_SETTINGS];
	bool num_set[NUM_SETTINGS];
	const char *logger_output;
	bool logger_ack;
	const char *files_root;
	const char *files_access_log;
	bool files_upload;
	const char *tsfmt;
	const char *pidfile;
	const char *user;
	struct access_rules access; /* --allow, --deny */
	bool allow_set;
	bool deny_set;
	int proxy_protocol; /* --proxy-protocol, when proxy_protocol_set */
	bool proxy_protocol_set;
	struct access_list proxy_from; /* --proxy-from */
	bool proxy_from_set;
	bool daemonize;
	bool test_only;
	int verbosity;
};

int parse_args(struct flags *fl, int argc, char **argv, char *err, size_t errlen);
int apply_flags(struct config *cf, const struct flags *fl, const char *gtsfmt);

#endif
