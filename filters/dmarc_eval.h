/* SPDX-License-Identifier: ISC */
/*
 * dmarc_eval.h - the DMARC verdict on one message (RFC 7489 3.1, 6.6;
 * RFC 9091 for non-existent domains), from what the caller found: the
 * From domain and its organizational domain (public suffix list), the
 * policy record and where it came from, the SPF-authenticated domain and
 * the domains of the passing DKIM signatures.  Pure: no DNS, no list.
 */
#ifndef POSTERN_DMARC_EVAL_H
#define POSTERN_DMARC_EVAL_H

#include <stddef.h>

#include "proto/dmarc_record.h"

enum dmarc_result {
	DMARC_RESULT_NONE,	/* no policy record */
	DMARC_RESULT_PASS,	/* an aligned DKIM or SPF pass */
	DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR,	/* the caller's: a lookup failed */
	DMARC_RESULT_PERMERROR,	/* the caller's: no usable record */
};

/* A domain and its organizational domain (NULL: a public suffix, or not
 * a domain the list knows a registrable part of). */
struct dmarc_domain {
	const char	*name;
	const char	*org;
};

struct dmarc_eval_in {
	struct dmarc_domain	 from;
	int			 from_exists;	/* 0: NXDOMAIN for its A, AAAA
						   and MX (RFC 9091 2.1) */
	const struct dmarc_record *rec;	/* NULL: none found */
	int			 rec_at_org;	/* rec is from.org's, not
						   from.name's */
	const struct dmarc_domain *spf;	/* passed SPF; NULL: no pass */
	const struct dmarc_domain *dkim;	/* passing signatures' d= */
	size_t			 ndkim;
	unsigned		 roll;		/* 0..99: the draw against
						   pct */
};

struct dmarc_eval_out {
	enum dmarc_result	 result;
	enum dmarc_policy	 policy;	/* the one that applies: p, sp
						   or np */
	enum dmarc_policy	 disposition;	/* what to do: policy after pct
						   (none on a pass) */
	int			 dkim_aligned;
	int			 spf_aligned;
};

/* dmarc_aligned - whether id aligns with from: the same name (strict), or
 * the same organizational domain (relaxed; never when either has none). */
int	dmarc_aligned(const struct dmarc_domain *id,
	    const struct dmarc_domain *from, int strict);

/* dmarc_eval - the verdict; result NONE and disposition NONE without a
 * record. */
void	dmarc_eval(const struct dmarc_eval_in *, struct dmarc_eval_out *);

/* dmarc_result_name - "none", "pass", "fail", "temperror", "permerror". */
const char *dmarc_result_name(enum dmarc_result);

#endif
