/*
 * authres.h - Authentication-Results header fields (RFC 8601): building
 * ours, and reading the authserv-id of one that arrived with the message,
 * so that a forged header claiming to be ours can be removed (RFC 8601 5).
 * Pure: fuzzed.
 */
#ifndef POSTERN_AUTHRES_H
#define POSTERN_AUTHRES_H

#include <stddef.h>

/* authres_append - value ("authserv-id" or "authserv-id; resinfo ...")
 * with one more resinfo, folded onto its own line; a new string (xmalloc). */
char	*authres_append(const char *value, const char *resinfo);

/*
 * authres_is_ours - whether the raw header value (as after the colon:
 * folding, comments allowed) names authserv_id as its authserv-id,
 * compared case-insensitively, with any comments and a trailing version
 * number ignored.  A value whose authserv-id cannot be read is not ours.
 */
int	 authres_is_ours(const char *value, size_t len,
	    const char *authserv_id);

#endif
