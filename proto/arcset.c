/* SPDX-License-Identifier: ISC */
/*
 * arcset.c - a message's ARC sets and their structure (see arcset.h).
 *
 * Public: arcset_kind_of, arcset_add, arcset_check.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "proto/arcset.h"
#include "proto/taglist.h"

static const char *const arcset_names[ARCSET_KINDS] = {
	"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal",
};

static long	arcset_instance(enum arcset_kind, const char *, size_t);

const char	arcset_failed_before[] = "the last ARC-Seal says cv=fail";

int
arcset_kind_of(const char *name, size_t nlen)
{
	int	 k;

	for (k = 0; k < ARCSET_KINDS; k++)
		if (strlen(arcset_names[k]) == nlen &&
		    strncasecmp(arcset_names[k], name, nlen) == 0)
			return k;
	return -1;
}

/* The i= of a field: an AAR begins with it (RFC 8617 4.1.1), the others
 * have it among their tags; -1 when there is none in 1 to ARCSET_MAX. */
static long
arcset_instance(enum arcset_kind kind, const char *v, size_t len)
{
	struct taglist			 tl;
	const struct taglist_tag	*t;
	size_t				 i = 0, end;
	long				 n = 0;

	if (kind == ARCSET_AAR) {
		const char	*semi = memchr(v, ';', len);

		if (semi == NULL || taglist_parse(v, (size_t)(semi - v),
		    &tl) == -1)
			return -1;
	} else if (taglist_parse(v, len, &tl) == -1)
		return -1;
	if ((t = taglist_get(&tl, "i")) == NULL || t->vlen == 0 ||
	    t->vlen > 2)
		return -1;
	for (end = t->vlen; i < end; i++) {
		if (!isdigit((unsigned char)t->value[i]))
			return -1;
		n = n * 10 + (t->value[i] - '0');
	}
	return n >= 1 && n <= ARCSET_MAX ? n : -1;
}

void
arcset_add(struct arcset_chain *c, enum arcset_kind kind, const char *value,
    size_t vlen, size_t pos)
{
	struct arcset_field	*f;
	long			 i;

	if ((i = arcset_instance(kind, value, vlen)) == -1) {
		if (c->why == NULL)
			c->why = kind == ARCSET_AAR ? "an ARC-Authentication-"
			    "Results without a valid i=" : kind == ARCSET_AMS ?
			    "an ARC-Message-Signature without a valid i=" :
			    "an ARC-Seal without a valid i=";
		return;
	}
	f = &c->f[i][kind];
	if (f->value != NULL) {
		if (c->why == NULL)
			c->why = "two ARC fields of one kind in one set";
		return;
	}
	f->value = value;
	f->vlen = vlen;
	f->pos = pos;
	if ((unsigned)i > c->n)
		c->n = (unsigned)i;
}

enum arcset_status
arcset_check(struct arcset_chain *c)
{
	struct taglist			 tl;
	const struct taglist_tag	*cv;
	unsigned			 i;
	int				 k;

	if (c->n == 0 && c->why == NULL)
		return ARCSET_NONE;
	for (i = 1; c->why == NULL && i <= c->n; i++) {
		for (k = 0; k < ARCSET_KINDS; k++)
			if (c->f[i][k].value == NULL)
				c->why = "an ARC set is missing a field";
		if (c->why != NULL)
			break;
		if (taglist_parse(c->f[i][ARCSET_AS].value,
		    c->f[i][ARCSET_AS].vlen, &tl) == -1) {
			c->why = "an ARC-Seal is not a tag list";
			break;
		}
		cv = taglist_get(&tl, "cv");
		if (i == c->n && taglist_is(cv, "fail"))
			c->why = arcset_failed_before;
		else if (!taglist_is(cv, i == 1 ? "none" : "pass"))
			c->why = i == 1 ? "the first ARC-Seal is not cv=none" :
			    "an ARC-Seal after the first is not cv=pass";
	}
	return c->why == NULL ? ARCSET_VALID : ARCSET_FAIL;
}
