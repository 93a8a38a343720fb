/* SPDX-License-Identifier: ISC */
/*
 * t_store_math.c - lib/store_math.c: GCRA (a burst of exactly N, then one
 * every window/N, the wait until there is room, limits that do not divide
 * evenly, clock values as large as Redis's) and the greylisting steps
 * (new, early, pass after the delay, passed, auto-allowed).
 */
#include <stdio.h>

#include "lib/store.h"
#include "lib/store_math.h"
#include "tap.h"

/* Events at now until one is refused: how many fit. */
static unsigned
burst(double *tat, double now, unsigned count, uint64_t window,
    uint64_t *wait)
{
	double		 next;
	unsigned	 n = 0;

	while (n < 10 * count + 10 &&
	    store_math_gcra(*tat, now, count, window, &next, wait)) {
		*tat = next;
		n++;
	}
	return n;
}

static void
test_gcra(void)
{
	static const unsigned counts[] = { 1, 2, 3, 7, 100, 1000, 60000 };
	static const double starts[] = { 0, 12345, 1764942000123.0 };
	double		 tat, next;
	uint64_t	 wait;
	size_t		 i, j;

	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		for (j = 0; j < sizeof(counts) / sizeof(counts[0]); j++) {
			tat = 0;
			is_int(burst(&tat, starts[i], counts[j], 60000, &wait),
			    counts[j], "%u/1m at %.0f: a burst of exactly %u",
			    counts[j], starts[i], counts[j]);
			ok(wait > 0 && wait <= 60000 / counts[j] + 1,
			    "%u/1m: wait %llu ms", counts[j],
			    (unsigned long long)wait);
		}

	/* 3/1m: three at once, then one every 20 s */
	tat = 0;
	is_int(burst(&tat, 1000, 3, 60000, &wait), 3, "3 at once");
	is_int(wait, 20000, "room again in 20 s");
	is_int(store_math_gcra(tat, 1000 + 19000, 3, 60000, &next, &wait), 0,
	    "not after 19 s");
	is_int(store_math_gcra(tat, 1000 + 20000, 3, 60000, &next, &wait), 1,
	    "after 20 s");
	tat = next;
	is_int(burst(&tat, 21000, 3, 60000, &wait), 0, "and only one");
	/* an idle key starts afresh */
	is_int(burst(&tat, 1000000, 3, 60000, &wait), 3, "full burst later");
}

static void
test_grey(void)
{
	uint64_t	 wait;

	is_int(store_math_grey(0, 0, 1000, 0, 300000, 5, &wait),
	    STORE_GREY_NEW, "first seen");
	is_int(wait, 300000, "the whole delay");
	is_int(store_math_grey(1, 1000, 61000, 0, 300000, 5, &wait),
	    STORE_GREY_EARLY, "a minute later");
	is_int(wait, 240000, "four minutes left");
	is_int(store_math_grey(1, 1000, 301000, 0, 300000, 5, &wait),
	    STORE_GREY_PASS, "after the delay");
	is_int(wait, 0, "no wait");
	is_int(store_math_grey(1, STORE_MATH_PASSED, 302000, 1, 300000, 5,
	    &wait), STORE_GREY_PASS, "passed before");
	is_int(store_math_grey(0, 0, 302000, 5, 300000, 5, &wait),
	    STORE_GREY_AUTO, "a network with 5 passes");
	is_int(store_math_grey(0, 0, 302000, 4, 300000, 5, &wait),
	    STORE_GREY_NEW, "4 passes are not enough");
	is_int(store_math_grey(0, 0, 302000, 100, 300000, 0, &wait),
	    STORE_GREY_NEW, "auto_allow 0: never");
}

int
main(void)
{
	test_gcra();
	test_grey();
	return tap_done();
}
