/* conf_suggest.c - "did you mean" suggestions after a bad option, key or named value. */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conf_int.h"
#include "handler.h"
#include "model.h"
#include "proxy.h"

void
choices_init(struct choices *ch, const char *word, const char *pfx)
{
	memset(ch, 0, sizeof(*ch));
	ch->word = word;
	ch->pfx = pfx;
	ch->bestd = SIZE_MAX;
}

/* Lower-case s[i], for comparing names case-blind. */
#define LC(s, i) tolower((unsigned char)(s)[i])

/*
 * Optimal string alignment distance of a and b (lengths la, lb, at most
 * CHOICE_WORD_MAX), case ignored: three rows of the usual table.
 */
static size_t
osa_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t rows[3][CHOICE_WORD_MAX + 1];
	size_t *pp = rows[0], *p = rows[1], *c = rows[2], *t, d, i, j;

	for (j = 0; j <= lb; j++)
		p[j] = j;
	for (i = 1; i <= la; i++) {
		c[0] = i;
		for (j = 1; j <= lb; j++) {
			d = p[j - 1] + (LC(a, i - 1) != LC(b, j - 1) ? 1 : 0);
			if (p[j] + 1 < d)
				d = p[j] + 1;
			if (c[j - 1] + 1 < d)
				d = c[j - 1] + 1;
			if (i > 1 && j > 1 && LC(a, i - 1) == LC(b, j - 2) &&
			    LC(a, i - 2) == LC(b, j - 1) && pp[j - 2] + 1 < d)
				d = pp[j - 2] + 1;
			c[j] = d;
		}
		t = pp;
		pp = p;
		p = c;
		c = t;
	}
	return p[lb];
}

/*
 * Adds name to the list, and weighs it as a fix for the word.  name must
 * outlive ch (it is kept as the suggestion), unless ch has no word.
 */
void
choices_add(struct choices *ch, const char *name)
{
	size_t n = strlen(ch->list), wl, nl, ld, maxd, d;

	snprintf(ch->list + n, sizeof(ch->list) - n, "%s%s%s", n > 0 ? ", " : "", ch->pfx, name);
	if (ch->word == NULL)
		return;
	wl = strlen(ch->word);
	nl = strlen(name);
	if (wl < 3 || wl > CHOICE_WORD_MAX || nl > CHOICE_WORD_MAX)
		return;
	maxd = wl <= 5 ? 1 : 2;
	ld = wl > nl ? wl - nl : nl - wl;
	if (ld <= maxd && (d = osa_distance(ch->word, wl, name, nl)) <= maxd) {
		if (d < ch->bestd || (d == ch->bestd && ld < ch->bestld)) {
			ch->best = name;
			ch->bestd = d;
			ch->bestld = ld;
			ch->nbest = 1;
		} else if (d == ch->bestd && ld == ch->bestld)
			ch->nbest++;
	}
	if (nl > wl && strncasecmp(name, ch->word, wl) == 0) {
		ch->begun = name;
		ch->nbegun++;
	}
}

/* The suggestion for the word, or NULL. */
static const char *
choices_hint(const struct choices *ch)
{
	if (ch->nbest > 0)
		return ch->nbest == 1 ? ch->best : NULL;
	return ch->nbegun == 1 ? ch->begun : NULL;
}

/* "did you mean '--model'? valid: --config, ..." or "valid: ...", for parentheses. */
void
choices_format(const struct choices *ch, char *dst, size_t len)
{
	const char *hint = choices_hint(ch);

	if (hint != NULL)
		snprintf(dst, len, "did you mean '%s%s'? valid: %s", ch->pfx, hint, ch->list);
	else
		snprintf(dst, len, "valid: %s", ch->list);
}

const char *
model_name_at(size_t i)
{
	return models[i] ? models[i]->name : NULL;
}

const char *
handler_name_at(size_t i)
{
	return handlers[i] ? handlers[i]->name : NULL;
}

/* The proxy_protocol values, "off" to "any". */
const char *
proxy_version_at(size_t i)
{
	return i <= PROXY_ANY ? proxy_version_name((int)i) : NULL;
}

/* The parenthesis after a bad model, handler or proxy_protocol: the names name_at gives. */
void
registry_choices(const char *word, const char *(*name_at)(size_t), char *dst, size_t len)
{
	struct choices ch;
	const char *name;

	choices_init(&ch, word, "");
	for (size_t i = 0; (name = name_at(i)) != NULL; i++)
		choices_add(&ch, name);
	choices_format(&ch, dst, len);
}
