/* SPDX-License-Identifier: ISC */
/*
 * store_math.c - GCRA and greylisting arithmetic (see store_math.h).
 *
 * Public: store_math_gcra, store_math_grey.
 */
#include <math.h>

#include "lib/store.h"
#include "lib/store_math.h"

int
store_math_gcra(double tat, double now, unsigned count, uint64_t window_ms,
    double *next, uint64_t *wait_ms)
{
	double	 w = (double)window_ms, t = w / count, nt, slack;

	/* Half a millisecond of slack (less for intervals under a
	 * millisecond): count events at once fit exactly, whatever the
	 * rounding of count * (w / count) at clock values near 2^41. */
	slack = t / 2 < 0.5 ? t / 2 : 0.5;
	nt = (tat > now ? tat : now) + t;
	if (nt - now > w + slack) {
		*wait_ms = (uint64_t)ceil(nt - w - slack - now);
		return 0;
	}
	*next = nt;
	return 1;
}

unsigned
store_math_grey(int exists, double value, double now, unsigned passes,
    uint64_t delay_ms, unsigned auto_allow, uint64_t *wait_ms)
{
	double	 d = (double)delay_ms;

	*wait_ms = 0;
	if (auto_allow > 0 && passes >= auto_allow)
		return STORE_GREY_AUTO;
	if (!exists || value < 0) {
		*wait_ms = delay_ms;
		return STORE_GREY_NEW;
	}
	if (value != STORE_MATH_PASSED && now - value < d) {
		*wait_ms = (uint64_t)ceil(d - (now - value));
		return STORE_GREY_EARLY;
	}
	return STORE_GREY_PASS;
}
