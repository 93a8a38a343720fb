/* SPDX-License-Identifier: ISC */
/*
 * dmarc_eval.c - the DMARC verdict (see dmarc_eval.h).
 *
 * Alignment (RFC 7489 3.1): strict is the same name, any case; relaxed is
 * the same organizational domain, which the caller takes from the public
 * suffix list, so that a signature by a public suffix (d=com, d=co.uk)
 * aligns with nothing.  (libopendmarc 1.4.2 lets strict accept a
 * subdomain and relaxed match any parent: LIBRARIES.md section 10.)
 * The policy: p for the From domain's own record; from the organizational
 * domain's record, np when the From domain does not exist (RFC 9091),
 * else sp; both default along the record's chain (dmarc_record.c).
 * pct (6.6.4): a message the draw leaves out gets the next less strict
 * policy, so p=reject with pct=0 quarantines.
 *
 * Public: dmarc_aligned, dmarc_eval, dmarc_result_name.
 */
#include <stddef.h>
#include <strings.h>

#include "filters/dmarc_eval.h"
#include "lib/util.h"

int
dmarc_aligned(const struct dmarc_domain *id, const struct dmarc_domain *from,
    int strict)
{
	if (id->name == NULL || from->name == NULL)
		return 0;
	if (strict)
		return strcasecmp(id->name, from->name) == 0;
	return id->org != NULL && from->org != NULL &&
	    strcasecmp(id->org, from->org) == 0;
}

void
dmarc_eval(const struct dmarc_eval_in *in, struct dmarc_eval_out *out)
{
	const struct dmarc_record	*r = in->rec;
	size_t				 i;

	out->result = DMARC_RESULT_NONE;
	out->policy = out->disposition = DMARC_POLICY_NONE;
	out->dkim_aligned = out->spf_aligned = 0;
	if (r == NULL)
		return;
	out->policy = !in->rec_at_org ? r->p : !in->from_exists ? r->np :
	    r->sp;
	for (i = 0; i < in->ndkim && !out->dkim_aligned; i++)
		out->dkim_aligned = dmarc_aligned(&in->dkim[i], &in->from,
		    r->adkim_strict);
	out->spf_aligned = in->spf != NULL && dmarc_aligned(in->spf,
	    &in->from, r->aspf_strict);
	if (out->dkim_aligned || out->spf_aligned) {
		out->result = DMARC_RESULT_PASS;
		return;
	}
	out->result = DMARC_RESULT_FAIL;
	out->disposition = out->policy;
	if (out->policy != DMARC_POLICY_NONE && in->roll >= r->pct)
		out->disposition = out->policy == DMARC_POLICY_REJECT ?
		    DMARC_POLICY_QUARANTINE : DMARC_POLICY_NONE;
}

const char *
dmarc_result_name(enum dmarc_result r)
{
	static const char *const names[] = { "none", "pass", "fail",
	    "temperror", "permerror" };

	return (size_t)r < nitems(names) ? names[r] : "?";
}
