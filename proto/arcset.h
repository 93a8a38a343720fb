/* SPDX-License-Identifier: ISC */
/*
 * arcset.h - the ARC sets of a message (RFC 8617 4.1): its
 * ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal fields
 * grouped by instance (i=), and the structural checks of a chain (RFC
 * 8617 5.2, steps 2 and 3) made before any signature is.  Pure: the
 * fields point into the caller's copies of the header values.
 */
#ifndef POSTERN_ARCSET_H
#define POSTERN_ARCSET_H

#include <stddef.h>

#define ARCSET_MAX	50	/* instances (RFC 8617 4.2.1) */

enum arcset_kind { ARCSET_AAR, ARCSET_AMS, ARCSET_AS, ARCSET_KINDS };

/* One field of a set: its value as after the colon. */
struct arcset_field {
	const char	*value;		/* NULL: none */
	size_t		 vlen;
	size_t		 pos;		/* its place among the header fields */
};

struct arcset_chain {
	unsigned		 n;		/* the highest instance */
	const char		*why;		/* the first fault, or NULL */
	struct arcset_field	 f[ARCSET_MAX + 1][ARCSET_KINDS];  /* [i] */
};

enum arcset_status {
	ARCSET_NONE,	/* no ARC field */
	ARCSET_VALID,	/* sets 1 to n, each whole, cv= as they must be */
	ARCSET_FAIL,	/* why says what is wrong */
};

/* arcset_kind_of - the ARC field a header name (nlen bytes) is, or -1. */
int		 arcset_kind_of(const char *name, size_t nlen);
/*
 * arcset_add - one ARC field (kind, value vlen bytes, not copied) at
 * position pos; a field without a usable i= or one that repeats its
 * set's makes the chain fail (c->why).  c starts zeroed.
 */
void		 arcset_add(struct arcset_chain *, enum arcset_kind,
		    const char *value, size_t vlen, size_t pos);
/*
 * arcset_check - the chain's structure: every set from 1 to n whole, the
 * ARC-Seal of set 1 with cv=none and the others with cv=pass, the last
 * one not cv=fail (an earlier sealer already failed the chain).
 */
enum arcset_status arcset_check(struct arcset_chain *);
/* The why of a chain whose last ARC-Seal says cv=fail (compare the
 * pointer). */
extern const char arcset_failed_before[];

#endif
