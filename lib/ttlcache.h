/* SPDX-License-Identifier: ISC */
/*
 * ttlcache.h - answers kept for as long as the DNS answers they rest on
 * hold (their TTLs, within a maximum): a string key to a value of fixed
 * size.  Direct-mapped (a new entry replaces the one in its slot):
 * bounded memory, O(1).  Not thread-safe: one event loop uses a cache.
 */
#ifndef POSTERN_TTLCACHE_H
#define POSTERN_TTLCACHE_H

#include <stddef.h>
#include <stdint.h>

#define TTLCACHE_KEY_MAX	1024	/* longer keys are not kept */

struct ttlcache;

/* ttlcache_new - nslots entries of valsz bytes (0 slots: a cache that
 * keeps nothing), none kept longer than max_ttl seconds; its hits and
 * misses counted under name (a static string) in the metrics.  Never
 * NULL. */
struct ttlcache	*ttlcache_new(const char *name, size_t nslots, size_t valsz,
		    unsigned max_ttl);
void		 ttlcache_free(struct ttlcache *);

/* ttlcache_get - 1 with the value kept for key copied to val when there
 * is one not expired at now_ms, else 0. */
int		 ttlcache_get(struct ttlcache *, const char *key,
		    uint64_t now_ms, void *val);

/* ttlcache_put - keep val (copied) under key for min(ttl, max_ttl)
 * seconds from now_ms; a ttl of 0 keeps nothing. */
void		 ttlcache_put(struct ttlcache *, const char *key,
		    uint64_t now_ms, unsigned ttl, const void *val);

#endif
