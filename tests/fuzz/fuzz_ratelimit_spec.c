/* SPDX-License-Identifier: ISC */
/*
 * fuzz_ratelimit_spec.c - libFuzzer target for policy/ratelimit_spec.c.
 * The input is a ratelimit key's value.  A parse gives -1 with a reason,
 * or at most RATELIMIT_SPECS_MAX limits within the bounds; GCRA
 * (lib/store_math.c) on each allows the first event and never lets a
 * key's time go backwards.  Any difference aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/store_math.h"
#include "policy/ratelimit_spec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ratelimit_spec	 s[RATELIMIT_SPECS_MAX];
	char			 text[512], why[256] = "";
	double			 tat, next;
	uint64_t		 retry;
	int			 n, i;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	n = ratelimit_spec_parse(text, s, why, sizeof(why));
	if (n == -1) {
		if (why[0] == '\0')
			abort();
		return 0;
	}
	if (n > RATELIMIT_SPECS_MAX)
		abort();
	for (i = 0; i < n; i++) {
		if (s[i].n < 1 || s[i].n > 1000000 || s[i].window_ms < 1000 ||
		    s[i].window_ms > 7ULL * 86400000)
			abort();
		if (!store_math_gcra(0, 1000, (unsigned)s[i].n, s[i].window_ms,
		    &tat, &retry) || tat <= 1000)
			abort();
		if (store_math_gcra(tat, 1000, (unsigned)s[i].n, s[i].window_ms,
		    &next, &retry) ? next <= tat : retry == 0)
			abort();
	}
	return 0;
}
