/* SPDX-License-Identifier: ISC */
/*
 * t_spf_cache.c - filters/spf_cache.c: keys tell the identity kind and
 * every input apart; an outcome is kept for min(its TTL, the cap) and not
 * a millisecond longer; temperrors are never kept; a full slot is replaced;
 * a cache of size 0 keeps nothing; keys too long are refused.
 */
#include <limits.h>
#include <string.h>

#include "filters/spf_cache.h"
#include "lib/util.h"
#include "tap.h"

static struct spf_check_outcome
outcome(enum spf_check_result r, unsigned ttl, const char *comment)
{
	struct spf_check_outcome	 o;

	memset(&o, 0, sizeof(o));
	o.result = r;
	o.ttl = ttl;
	strlcpy(o.comment, comment, sizeof(o.comment));
	return o;
}

static void
test_keys(void)
{
	char	 a[1024], b[1024], big[2000];

	ok(spf_cache_key(a, sizeof(a), "192.0.2.1", "h.example", NULL) == 0 &&
	    spf_cache_key(b, sizeof(b), "192.0.2.1", "h.example", "") == 0 &&
	    strcmp(a, b) != 0, "HELO identity and null sender differ");
	spf_cache_key(a, sizeof(a), "192.0.2.1", "h.example", "a@x");
	spf_cache_key(b, sizeof(b), "192.0.2.10", "h.example", "a@x");
	ok(strcmp(a, b) != 0, "client addresses differ");
	spf_cache_key(b, sizeof(b), "192.0.2.1", "h2.example", "a@x");
	ok(strcmp(a, b) != 0, "HELO names differ (macros may use them)");
	spf_cache_key(b, sizeof(b), "192.0.2.1", "h.example", "b@x");
	ok(strcmp(a, b) != 0, "local parts differ (macros may use them)");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ok(spf_cache_key(a, sizeof(a), "192.0.2.1", "h", big) == -1,
	    "a key too long is refused");
}

static void
test_lifetimes(void)
{
	struct spf_cache		*c = spf_cache_new(64, 600);
	struct spf_check_outcome	 o = outcome(SPF_CHECK_PASS, 300, "p"),
					 got;
	char				 k[1024];

	spf_cache_key(k, sizeof(k), "192.0.2.1", "h.example", "a@x");
	ok(!spf_cache_get(c, k, 1000, &got), "empty cache: miss");
	spf_cache_put(c, k, 1000, &o);
	ok(spf_cache_get(c, k, 1000, &got) && got.result == SPF_CHECK_PASS &&
	    strcmp(got.comment, "p") == 0, "hit, the same outcome");
	ok(spf_cache_get(c, k, 1000 + 299999, &got), "still there just "
	    "before its TTL ends");
	ok(!spf_cache_get(c, k, 1000 + 300000, &got), "gone when it ends");
	o = outcome(SPF_CHECK_FAIL, UINT_MAX, "f");
	spf_cache_put(c, k, 0, &o);
	ok(spf_cache_get(c, k, 599999, &got) && got.result == SPF_CHECK_FAIL,
	    "no TTL told: kept up to the cap, replacing the old outcome");
	ok(!spf_cache_get(c, k, 600000, &got), "and not past it");
	o = outcome(SPF_CHECK_TEMPERROR, 300, "t");
	spf_cache_key(k, sizeof(k), "192.0.2.2", "h.example", "a@x");
	spf_cache_put(c, k, 0, &o);
	ok(!spf_cache_get(c, k, 1, &got), "a temperror is not kept");
	o = outcome(SPF_CHECK_PASS, 0, "z");
	spf_cache_put(c, k, 0, &o);
	ok(!spf_cache_get(c, k, 0, &got), "nor an outcome of TTL 0");
	spf_cache_free(c);
}

static void
test_slots(void)
{
	struct spf_cache		*c = spf_cache_new(1, 600);
	struct spf_cache		*none = spf_cache_new(0, 600);
	struct spf_check_outcome	 o = outcome(SPF_CHECK_PASS, 60, "p"),
					 got;
	char				 k1[1024], k2[1024];

	spf_cache_key(k1, sizeof(k1), "192.0.2.1", "h", "a@x");
	spf_cache_key(k2, sizeof(k2), "192.0.2.1", "h", "b@x");
	spf_cache_put(c, k1, 0, &o);
	spf_cache_put(c, k2, 0, &o);
	ok(!spf_cache_get(c, k1, 1, &got) && spf_cache_get(c, k2, 1, &got),
	    "one slot: the newer entry replaced the older one");
	spf_cache_put(none, k1, 0, &o);
	ok(!spf_cache_get(none, k1, 1, &got), "size 0 keeps nothing");
	spf_cache_free(c);
	spf_cache_free(none);
}

int
main(void)
{
	test_keys();
	test_lifetimes();
	test_slots();
	return tap_done();
}
