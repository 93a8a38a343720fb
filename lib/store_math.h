/* SPDX-License-Identifier: ISC */
/*
 * store_math.h - the arithmetic of the shared store's two operations,
 * written once here for the in-process store and once in Lua for Redis
 * (lib/store_redis.c), which must agree with it.  Times are milliseconds
 * as doubles (Redis's Lua numbers are doubles too).  Pure.
 *
 * Rate limits are a generic cell rate algorithm (GCRA): a key holds one
 * number, its theoretical arrival time (TAT).  A limit of count events
 * per window spaces events window/count apart and lets a burst of count
 * through at once: an event at now fits when max(TAT, now) + window/count
 * is no more than window ahead of now, and then becomes the new TAT.  One
 * number a key, one read and one write an event, exact at the limit, and
 * no bursts of twice the limit across a window's edge as fixed windows
 * have; a sliding log would be exact too but keeps count entries a key.
 */
#ifndef POSTERN_STORE_MATH_H
#define POSTERN_STORE_MATH_H

#include <stdint.h>

/*
 * store_math_gcra - whether one more event at now fits count per
 * window_ms with the key's tat (0 when the key holds none): 1 with the new
 * TAT in *next; 0 with the milliseconds until it would fit in *wait_ms.
 */
int	 store_math_gcra(double tat, double now, unsigned count,
	    uint64_t window_ms, double *next, uint64_t *wait_ms);

/* A greylisting triplet's value: when it was first seen, or this once it
 * has passed. */
#define STORE_MATH_PASSED	0.0

/*
 * store_math_grey - a triplet seen at now: its value (first seen, or
 * STORE_MATH_PASSED; exists 0 for none), the network's passes and the
 * settings; returns enum store_grey with, for NEW and EARLY, the
 * milliseconds left in *wait_ms.  The caller then stores: NEW, the value
 * now for retry_ms; PASS, STORE_MATH_PASSED for expire_ms and one more
 * pass of the network.
 */
unsigned store_math_grey(int exists, double value, double now,
	    unsigned passes, uint64_t delay_ms, unsigned auto_allow,
	    uint64_t *wait_ms);

#endif
