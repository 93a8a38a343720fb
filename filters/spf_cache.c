/* SPDX-License-Identifier: ISC */
/*
 * spf_cache.c - recent SPF outcomes (see spf_cache.h).
 *
 * An outcome may be reused for as long as the DNS answers it rests on
 * hold: within those TTLs a new evaluation would read the same answers
 * (from the resolver's cache) and come to the same result.  Keys hold the
 * whole input of a check (client, HELO, sender: macros may use any of
 * them), so two checks share an entry only when they are the same check.
 *
 * Public: spf_cache_new, spf_cache_free, spf_cache_key, spf_cache_get,
 * spf_cache_put.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/spf_cache.h"
#include "lib/util.h"

#define SPF_CACHE_KEY_MAX	1024

struct spf_cache_slot {
	char			 key[SPF_CACHE_KEY_MAX];	/* "" = empty */
	uint64_t		 expires_ms;
	struct spf_check_outcome out;
};

struct spf_cache {
	struct spf_cache_slot	*slot;	/* calloc'd: untouched slots cost
					   no memory until used */
	size_t			 n;
	unsigned		 max_ttl;
};

static size_t	spf_cache_index(const struct spf_cache *, const char *);

struct spf_cache *
spf_cache_new(size_t nslots, unsigned max_ttl)
{
	struct spf_cache	*c = xcalloc(1, sizeof(*c));

	c->n = nslots;
	c->max_ttl = max_ttl;
	if (nslots > 0)
		c->slot = xcalloc(nslots, sizeof(*c->slot));
	return c;
}

void
spf_cache_free(struct spf_cache *c)
{
	if (c == NULL)
		return;
	free(c->slot);
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
	return n < 0 || (size_t)n >= bufsz || (size_t)n >= SPF_CACHE_KEY_MAX ?
	    -1 : 0;
}

/* FNV-1a. */
static size_t
spf_cache_index(const struct spf_cache *c, const char *key)
{
	uint64_t	 h = 14695981039346656037ULL;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ULL;
	}
	return (size_t)(h % c->n);
}

int
spf_cache_get(struct spf_cache *c, const char *key, uint64_t now_ms,
    struct spf_check_outcome *out)
{
	struct spf_cache_slot	*s;

	if (c->n == 0)
		return 0;
	s = &c->slot[spf_cache_index(c, key)];
	if (s->key[0] == '\0' || strcmp(s->key, key) != 0 ||
	    now_ms >= s->expires_ms)
		return 0;
	*out = s->out;
	return 1;
}

void
spf_cache_put(struct spf_cache *c, const char *key, uint64_t now_ms,
    const struct spf_check_outcome *o)
{
	struct spf_cache_slot	*s;
	unsigned		 ttl = o->ttl < c->max_ttl ? o->ttl :
				    c->max_ttl;

	if (c->n == 0 || ttl == 0 || o->result == SPF_CHECK_TEMPERROR ||
	    strlen(key) >= sizeof(s->key))
		return;
	s = &c->slot[spf_cache_index(c, key)];
	strlcpy(s->key, key, sizeof(s->key));
	s->expires_ms = now_ms + (uint64_t)ttl * 1000;
	s->out = *o;
}
