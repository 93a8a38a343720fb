/* SPDX-License-Identifier: ISC */
/*
 * taglist.c - DKIM tag=value lists (see taglist.h).
 *
 * Public: taglist_parse, taglist_get, taglist_is, taglist_value,
 * taglist_blank.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "lib/util.h"
#include "proto/taglist.h"

static int	taglist_fws(int);
static size_t	taglist_tag_end(const char *, size_t, size_t);

/* White space a tag list may hold (FWS: SP, HTAB, CR, LF). */
static int
taglist_fws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Where the tag starting at i ends: its ';' or the text's end. */
static size_t
taglist_tag_end(const char *s, size_t len, size_t i)
{
	const char	*semi = memchr(s + i, ';', len - i);

	return semi != NULL ? (size_t)(semi - s) : len;
}

int
taglist_parse(const char *s, size_t len, struct taglist *out)
{
	struct taglist_tag	*t;
	size_t			 i = 0, end, j, k;

	out->n = 0;
	while (i < len) {
		end = taglist_tag_end(s, len, i);
		while (i < end && taglist_fws((unsigned char)s[i]))
			i++;
		if (i == end) {		/* an empty tag: only the last */
			if (end != len && end + 1 < len) {
				for (k = end + 1; k < len; k++)
					if (!taglist_fws((unsigned char)s[k]))
						return -1;
			}
			return 0;
		}
		if (out->n == TAGLIST_MAX || !isalpha((unsigned char)s[i]))
			return -1;
		t = &out->t[out->n];
		t->name = s + i;
		while (i < end && (isalnum((unsigned char)s[i]) || s[i] == '_'))
			i++;
		t->nlen = (size_t)(s + i - t->name);
		while (i < end && taglist_fws((unsigned char)s[i]))
			i++;
		if (i == end || s[i] != '=')
			return -1;
		i++;
		while (i < end && taglist_fws((unsigned char)s[i]))
			i++;
		j = end;
		while (j > i && taglist_fws((unsigned char)s[j - 1]))
			j--;
		for (k = i; k < j; k++)		/* VALCHAR or FWS */
			if (!taglist_fws((unsigned char)s[k]) &&
			    ((unsigned char)s[k] < 0x21 ||
			    (unsigned char)s[k] > 0x7e || s[k] == ';'))
				return -1;
		t->value = s + i;
		t->vlen = j - i;
		for (k = 0; k < out->n; k++)
			if (out->t[k].nlen == t->nlen &&
			    memcmp(out->t[k].name, t->name, t->nlen) == 0)
				return -1;
		out->n++;
		i = end < len ? end + 1 : end;
	}
	return 0;
}

const struct taglist_tag *
taglist_get(const struct taglist *l, const char *name)
{
	size_t	 i, n = strlen(name);

	for (i = 0; i < l->n; i++)
		if (l->t[i].nlen == n && memcmp(l->t[i].name, name, n) == 0)
			return &l->t[i];
	return NULL;
}

int
taglist_is(const struct taglist_tag *t, const char *s)
{
	return t != NULL && t->vlen == strlen(s) &&
	    strncasecmp(t->value, s, t->vlen) == 0;
}

int
taglist_value(const struct taglist_tag *t, int squeeze, char *buf,
    size_t bufsz)
{
	size_t	 i, n = 0;

	if (t == NULL || bufsz == 0)
		return -1;
	for (i = 0; i < t->vlen; i++) {
		if (squeeze && taglist_fws((unsigned char)t->value[i]))
			continue;
		if (n + 1 >= bufsz)
			return -1;
		buf[n++] = t->value[i];
	}
	buf[n] = '\0';
	return 0;
}

void
taglist_blank(const char *s, size_t len, const char *name,
    struct util_buf *out)
{
	size_t	 i = 0, end, k, n = strlen(name);

	while (i < len) {
		end = taglist_tag_end(s, len, i);
		for (k = i; k < end && taglist_fws((unsigned char)s[k]); k++)
			;
		if (end - k > n && memcmp(s + k, name, n) == 0) {
			for (k += n; k < end && taglist_fws((unsigned char)
			    s[k]); k++)
				;
			if (k < end && s[k] == '=') {
				util_buf_add(out, s, k + 1);
				util_buf_add(out, s + end, len - end);
				return;
			}
		}
		i = end < len ? end + 1 : end;
	}
	util_buf_add(out, s, len);
}
