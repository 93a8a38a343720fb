/* SPDX-License-Identifier: ISC */
/*
 * ttlcache.c - string keys to fixed-size values with an expiry (see
 * ttlcache.h).  One calloc'd array of slots, each the key, the expiry and
 * the value; the slot is the key's FNV-1a hash modulo the slot count.
 * Slots never touched cost no memory until used (calloc).  A mutex makes
 * it safe for every event loop at once.
 *
 * Public: ttlcache_new, ttlcache_free, ttlcache_get, ttlcache_put.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/metrics.h"
#include "lib/ttlcache.h"
#include "lib/util.h"

struct ttlcache_slot {
	char			 key[TTLCACHE_KEY_MAX];	/* "" = empty */
	uint64_t		 expires_ms;
	unsigned char		 val[];
};

struct ttlcache {
	pthread_mutex_t		 lock;
	unsigned char		*slots;
	size_t			 n;
	size_t			 valsz;
	size_t			 slotsz;	/* a slot and its value */
	unsigned		 max_ttl;
	const char		*name;		/* in the metrics */
};

static struct ttlcache_slot *ttlcache_slot(const struct ttlcache *,
		    const char *);

struct ttlcache *
ttlcache_new(const char *name, size_t nslots, size_t valsz,
    unsigned max_ttl)
{
	struct ttlcache	*c = xcalloc(1, sizeof(*c));

	c->name = name;
	pthread_mutex_init(&c->lock, NULL);
	c->n = nslots;
	c->valsz = valsz;
	/* each slot aligned for the value that follows the next one */
	c->slotsz = (sizeof(struct ttlcache_slot) + valsz + 15) & ~(size_t)15;
	c->max_ttl = max_ttl;
	if (nslots > 0)
		c->slots = xcalloc(nslots, c->slotsz);
	return c;
}

void
ttlcache_free(struct ttlcache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->slots);
	free(c);
}

/* The key's slot: FNV-1a. */
static struct ttlcache_slot *
ttlcache_slot(const struct ttlcache *c, const char *key)
{
	uint64_t	 h = 14695981039346656037ULL;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ULL;
	}
	return (struct ttlcache_slot *)(void *)(c->slots +
	    (size_t)(h % c->n) * c->slotsz);
}

int
ttlcache_get(struct ttlcache *c, const char *key, uint64_t now_ms, void *val)
{
	struct ttlcache_slot	*s;

	int			 hit;

	if (c->n == 0)
		return 0;
	pthread_mutex_lock(&c->lock);
	s = ttlcache_slot(c, key);
	if ((hit = s->key[0] != '\0' && strcmp(s->key, key) == 0 &&
	    now_ms < s->expires_ms))
		memcpy(val, s->val, c->valsz);
	pthread_mutex_unlock(&c->lock);
	metric_add(M_CACHE_LOOKUPS, 1, c->name, hit ? "hit" : "miss");
	return hit;
}

void
ttlcache_put(struct ttlcache *c, const char *key, uint64_t now_ms,
    unsigned ttl, const void *val)
{
	struct ttlcache_slot	*s;

	if (ttl > c->max_ttl)
		ttl = c->max_ttl;
	if (c->n == 0 || ttl == 0 || key[0] == '\0' ||
	    strlen(key) >= TTLCACHE_KEY_MAX)
		return;
	pthread_mutex_lock(&c->lock);
	s = ttlcache_slot(c, key);
	strlcpy(s->key, key, sizeof(s->key));
	s->expires_ms = now_ms + (uint64_t)ttl * 1000;
	memcpy(s->val, val, c->valsz);
	pthread_mutex_unlock(&c->lock);
}
