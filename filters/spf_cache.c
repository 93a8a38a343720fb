/* SPDX-License-Identifier: ISC */
/*
 * spf_cache.c - recent SPF outcomes (see spf_cache.h).
 *
 * An outcome may be reused for as long as the DNS answers it rests on
 * hold: within those TTLs a new evaluation would read the same answers
 * (from the resolver's cache) and come to the same result.  Keys hold the
 * whole input of a check (client, HELO, sender: macros may use any of
 * them), so two checks share an entry only when they are the same check.
 * The slots are lib/ttlcache.c's.
 *
 * Public: spf_cache_new, spf_cache_free, spf_cache_key, spf_cache_get,
 * spf_cache_put.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/spf_cache.h"
#include "lib/ttlcache.h"
#include "lib/util.h"

struct spf_cache {
	struct ttlcache		*c;		/* of spf_check_outcome */
};

struct spf_cache *
spf_cache_new(size_t nslots, unsigned max_ttl)
{
	struct spf_cache	*c = xcalloc(1, sizeof(*c));

	c->c = ttlcache_new("spf", nslots, sizeof(struct spf_check_outcome),
	    max_ttl);
	return c;
}

void
spf_cache_free(struct spf_cache *c)
{
	if (c == NULL)
		return;
	ttlcache_free(c->c);
	free(c);
}

int
spf_cache_key(char *buf, size_t bufsz, const char *ip, const char *helo,
    const char *sender)
{
	int	 n;

	/* Newlines cannot occur in SMTP arguments: a safe separator. */
	n = snprintf(buf, bufsz, "%c\n%s\n%s\n%s", sender == NULL ? 'h' : 'm',
	    ip, helo, sender != NULL ? sender : "");
	return n < 0 || (size_t)n >= bufsz || (size_t)n >= TTLCACHE_KEY_MAX ?
	    -1 : 0;
}

int
spf_cache_get(struct spf_cache *c, const char *key, uint64_t now_ms,
    struct spf_check_outcome *out)
{
	return ttlcache_get(c->c, key, now_ms, out);
}

void
spf_cache_put(struct spf_cache *c, const char *key, uint64_t now_ms,
    const struct spf_check_outcome *o)
{
	if (o->result != SPF_CHECK_TEMPERROR)
		ttlcache_put(c->c, key, now_ms, o->ttl, o);
}
