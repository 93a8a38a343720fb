/* SPDX-License-Identifier: ISC */
/*
 * ratelimit_spec.c - the ratelimit keys' syntax (see ratelimit_spec.h);
 * the limits are enforced by GCRA in the store (lib/store_math.h).
 *
 * Public: ratelimit_spec_parse.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/ratelimit_spec.h"

#define RATELIMIT_N_MAX		1000000
#define RATELIMIT_WINDOW_MAX	(7ULL * 86400 * 1000)

static int	ratelimit_spec_one(const char *, size_t,
		    struct ratelimit_spec *, char *, size_t);

int
ratelimit_spec_parse(const char *text, struct ratelimit_spec *out,
    char *why, size_t whysz)
{
	const char	*p = text;
	size_t		 len;
	int		 n = 0;

	for (;;) {
		p += strspn(p, ", \t");
		if (*p == '\0')
			return n;
		len = strcspn(p, ", \t");
		if (n == RATELIMIT_SPECS_MAX) {
			snprintf(why, whysz, "more than %d limits",
			    RATELIMIT_SPECS_MAX);
			return -1;
		}
		if (ratelimit_spec_one(p, len, &out[n++], why, whysz) == -1)
			return -1;
		p += len;
	}
}

/* "N/WINDOW[:close]", len bytes at p. */
static int
ratelimit_spec_one(const char *p, size_t len, struct ratelimit_spec *s,
    char *why, size_t whysz)
{
	char		 buf[64], *slash, *end, *unit;
	unsigned long long n, w, mult;

	if (len >= sizeof(buf)) {
		snprintf(why, whysz, "'%.32s...': too long", p);
		return -1;
	}
	memcpy(buf, p, len);
	buf[len] = '\0';
	memset(s, 0, sizeof(*s));
	if ((end = strchr(buf, ':')) != NULL) {
		if (strcmp(end, ":close") != 0) {
			snprintf(why, whysz, "'%s': only ':close' may follow "
			    "the window", buf);
			return -1;
		}
		*end = '\0';
		s->close = 1;
	}
	if ((slash = strchr(buf, '/')) == NULL || !isdigit((unsigned char)
	    buf[0]) || !isdigit((unsigned char)slash[1])) {
		snprintf(why, whysz, "'%s': not N/WINDOW (e.g. 100/1m)", buf);
		return -1;
	}
	n = strtoull(buf, &end, 10);
	if (end != slash || n < 1 || n > RATELIMIT_N_MAX) {
		snprintf(why, whysz, "'%s': N must be 1 to %d", buf,
		    RATELIMIT_N_MAX);
		return -1;
	}
	w = strtoull(slash + 1, &unit, 10);
	mult = strcmp(unit, "s") == 0 ? 1000 : strcmp(unit, "m") == 0 ?
	    60000 : strcmp(unit, "h") == 0 ? 3600000 : strcmp(unit, "d") == 0 ?
	    86400000 : 0;
	if (mult == 0 || w < 1 || w > RATELIMIT_WINDOW_MAX / mult) {
		snprintf(why, whysz, "'%s': the window must be 1s to 7d (a "
		    "number and s, m, h or d)", buf);
		return -1;
	}
	s->n = n;
	s->window_ms = w * mult;
	return 0;
}
