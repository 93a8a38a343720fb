/* SPDX-License-Identifier: ISC */
/*
 * spf_cache.h - recent SPF outcomes, so that a sender seen again from the
 * same client within the TTLs of the DNS answers it rests on is answered
 * on the event loop, without a trip to the worker pool.  Direct-mapped
 * (a new entry replaces the one in its slot): bounded memory, O(1).  Not
 * thread-safe: the event loop alone uses it.
 */
#ifndef POSTERN_SPF_CACHE_H
#define POSTERN_SPF_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "filters/spf_check.h"

struct spf_cache;

/* spf_cache_new - nslots entries (0: a cache that keeps nothing), none
 * kept longer than max_ttl seconds.  Never NULL. */
struct spf_cache *spf_cache_new(size_t nslots, unsigned max_ttl);
void		 spf_cache_free(struct spf_cache *);

/*
 * spf_cache_key - the key of one check into buf: the identity kind (HELO
 * when sender is NULL), the client address text, the HELO name, the
 * sender.  0, or -1 when it does not fit (then do not cache).
 */
int		 spf_cache_key(char *buf, size_t bufsz, const char *ip,
		    const char *helo, const char *sender);

/* spf_cache_get - 1 with the outcome for key copied to out when one is
 * kept and not expired at now_ms, else 0. */
int		 spf_cache_get(struct spf_cache *, const char *key,
		    uint64_t now_ms, struct spf_check_outcome *out);

/* spf_cache_put - keep o under key for min(o->ttl, max_ttl) seconds from
 * now_ms; a temperror (it may be gone in a second) is not kept. */
void		 spf_cache_put(struct spf_cache *, const char *key,
		    uint64_t now_ms, const struct spf_check_outcome *o);

#endif
