/* SPDX-License-Identifier: ISC */
/*
 * taglist.h - DKIM tag=value lists (RFC 6376 3.2), as DKIM key records,
 * ARC-Message-Signature and ARC-Seal fields write them: tags separated by
 * ';', folding white space allowed around names, '=' and values.  Pure:
 * the values point into the text parsed.
 */
#ifndef POSTERN_TAGLIST_H
#define POSTERN_TAGLIST_H

#include <stddef.h>

#define TAGLIST_MAX	24	/* tags a list */

struct util_buf;

struct taglist_tag {
	const char	*name;		/* into the text, nlen bytes */
	size_t		 nlen;
	const char	*value;		/* FWS at its ends left out */
	size_t		 vlen;
};

struct taglist {
	size_t			 n;
	struct taglist_tag	 t[TAGLIST_MAX];
};

/*
 * taglist_parse - text (len bytes) into out: 0, or -1 for a list that is
 * not one (a tag without '=', a name not ALPHA *(ALPHA / DIGIT / "_"),
 * a value with a byte outside VALCHAR and FWS, a tag twice, more than
 * TAGLIST_MAX tags).  An empty last tag (a final ';') is allowed.
 */
int		 taglist_parse(const char *text, size_t len, struct taglist *out);
/* taglist_get - the tag named name (NUL-terminated), or NULL. */
const struct taglist_tag *taglist_get(const struct taglist *,
		    const char *name);
/* taglist_is - whether tag's value is s (case-insensitive), tag may be
 * NULL. */
int		 taglist_is(const struct taglist_tag *, const char *s);
/*
 * taglist_value - tag's value into buf (bufsz bytes, NUL-terminated),
 * folding white space left out when squeeze (b=, bh=, p=: base64 may be
 * folded); -1 when it does not fit or tag is NULL.
 */
int		 taglist_value(const struct taglist_tag *, int squeeze,
		    char *buf, size_t bufsz);
/*
 * taglist_blank - text (len bytes) with the value of its tag name (the
 * first) emptied, appended to out: what a signature's b= covers (RFC
 * 6376 3.7).  The rest of the bytes are kept as they are.
 */
void		 taglist_blank(const char *text, size_t len, const char *name,
		    struct util_buf *out);

#endif
