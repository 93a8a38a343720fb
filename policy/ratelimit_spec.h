/* SPDX-License-Identifier: ISC */
/*
 * ratelimit_spec.h - the limits of one ratelimit key, "N/WINDOW[:close]"
 * entries separated by commas or blanks (ratelimit.client = 100/1m,
 * 1000/1h).
 */
#ifndef POSTERN_RATELIMIT_SPEC_H
#define POSTERN_RATELIMIT_SPEC_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_SPECS_MAX	4	/* limits one key may have: the
					   four keys of MAIL fit one store
					   operation (STORE_KEYS_MAX) */

struct ratelimit_spec {
	uint64_t	 n;		/* events ... */
	uint64_t	 window_ms;	/* ... in this long */
	int		 close;		/* over it: 421 and close, not 450 */
};

/*
 * ratelimit_spec_parse - text into out (at most RATELIMIT_SPECS_MAX):
 * N from 1 to 1000000, WINDOW a number with s, m, h or d (1s to 7d);
 * the count, or -1 with why.  "" is 0 limits.
 */
int	ratelimit_spec_parse(const char *text, struct ratelimit_spec *out,
	    char *why, size_t whysz);

#endif
