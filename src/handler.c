/* handler.c - the handler registry and the handlers' per-thread scratch buffer. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "handler.h"

/* Scratch kept between calls; a larger one is freed after use. */
#define SCRATCH_KEEP (64 * 1024)
#define SCRATCH_MIN  1024

size_t handler_max_line = CONF_DEFAULT_MAX_LINE;
bool handler_nowait;

/* Adding a handler: its file under handlers/ plus one line here. */
const struct handler *const handlers[] = {
	&handler_echo,
	&handler_timestamp,
	&handler_logger,
	&handler_discard,
	&handler_chargen,
	&handler_daytime,
	&handler_time,
	&handler_files,
	&handler_metrics,
	NULL,
};

static _Thread_local struct {
	char *p;
	size_t size;
} scratch;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static pthread_key_t scratch_key;
static bool scratch_key_ok;

/* _Thread_local has no destructor: the key frees a connection thread's
 * buffer when the thread model ends the thread. */
static void
scratch_key_init(void)
{
	scratch_key_ok = pthread_key_create(&scratch_key, free) == 0;
}

void
handler_prepare(void)
{
	pthread_once(&scratch_once, scratch_key_init);
}

char *
handler_scratch(size_t n)
{
	if (n <= scratch.size)
		return scratch.p;
	size_t size = n < SCRATCH_MIN ? SCRATCH_MIN : n;
	char *p = realloc(scratch.p, size);
	if (p == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	scratch.p = p;
	scratch.size = size;
	pthread_once(&scratch_once, scratch_key_init);
	if (scratch_key_ok)
		pthread_setspecific(scratch_key, p);
	return p;
}

void
handler_scratch_done(void)
{
	if (scratch.size <= SCRATCH_KEEP)
		return;
	free(scratch.p);
	scratch.p = NULL;
	scratch.size = 0;
	if (scratch_key_ok)
		pthread_setspecific(scratch_key, NULL);
}

int
handler_open_none(void *st, struct service *svc, const struct peer *peer, struct sink *out)
{
	(void)st;
	(void)svc;
	(void)peer;
	(void)out;
	return 0;
}

ssize_t
handler_data_drop(void *st, const char *p, size_t n, struct sink *out)
{
	(void)st;
	(void)p;
	(void)out;
	return (ssize_t)n;
}

int
handler_eof_none(void *st, struct sink *out)
{
	(void)st;
	(void)out;
	return 0;
}

void
handler_close_none(void *st)
{
	(void)st;
}

const struct handler *
handler_find(const char *name)
{
	for (size_t i = 0; handlers[i] != NULL; i++)
		if (strcmp(handlers[i]->name, name) == 0)
			return handlers[i];
	return NULL;
}

void
handler_names(char *dst, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return;
	for (size_t i = 0; handlers[i] != NULL; i++) {
		const char *parts[2] = { i > 0 ? ", " : "", handlers[i]->name };
		for (size_t k = 0; k < 2; k++) {
			size_t m = strlen(parts[k]);
			/* Cut rather than overrun; dst stays terminated. */
			if (m > len - 1 - n)
				m = len - 1 - n;
			memcpy(dst + n, parts[k], m);
			n += m;
		}
	}
	dst[n] = '\0';
}

void
handler_reopen_all(struct service *svcs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (svcs[i].handler != NULL && svcs[i].handler->reopen != NULL)
			svcs[i].handler->reopen(&svcs[i]);
}

void
handler_fini_all(struct service *svcs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (svcs[i].handler != NULL && svcs[i].handler->fini != NULL)
			svcs[i].handler->fini(&svcs[i]);
}
