/* SPDX-License-Identifier: ISC */
/*
 * authres.h - Authentication-Results header fields (RFC 8601): building
 * ours, and reading the authserv-id of one that arrived with the message,
 * so that a forged header claiming to be ours can be removed (RFC 8601 5).
 * Pure: fuzzed.
 */
#ifndef POSTERN_AUTHRES_H
#define POSTERN_AUTHRES_H

#include <stddef.h>

/* One property of a result: name is ours ("smtp.mailfrom"), value any
 * text (written as an RFC 8601 pvalue: hdrbuild_pvalue). */
struct authres_prop {
	const char	*name;
	const char	*value;
};

/*
 * authres_add - one more resinfo, "method=result (comment) name=value
 * ...", folded onto its own line, at the end of the A-R value *valuep
 * (xmalloc'd, replaced); a NULL *valuep starts one with authserv_id.
 * method, result and the property names are ours; comment (NULL or ""
 * for none) and the values may be anyone's.
 */
void	 authres_add(char **valuep, const char *authserv_id,
	    const char *method, const char *result, const char *comment,
	    const struct authres_prop *props, size_t nprops);

/*
 * authres_is_ours - whether the raw header value (as after the colon:
 * folding, comments allowed) names authserv_id as its authserv-id,
 * compared case-insensitively, with any comments and a trailing version
 * number ignored.  A value whose authserv-id cannot be read is not ours.
 */
int	 authres_is_ours(const char *value, size_t len,
	    const char *authserv_id);

#endif
