/* SPDX-License-Identifier: ISC */
/*
 * t_ratelimit_spec.c - policy/ratelimit_spec.c: the limits' syntax (units,
 * several limits, :close, every error, at most RATELIMIT_SPECS_MAX).
 */
#include <string.h>

#include "policy/ratelimit_spec.h"
#include "tap.h"

static void
test_parse(void)
{
	struct ratelimit_spec	 s[RATELIMIT_SPECS_MAX];
	char			 why[256];
	static const char *const bad[] = {
		"100", "100/", "/1m", "0/1m", "1000001/1m", "10/0s", "10/1w",
		"10/8d", "10/1m:later", "x/1m", "10/1m/2",
		"1/1s,1/1s,1/1s,1/1s,1/1s",
	};
	size_t			 i;

	is_int(ratelimit_spec_parse("", s, why, sizeof(why)), 0, "empty");
	is_int(ratelimit_spec_parse("100/1m, 1000/1h:close\t5/30s 2/7d", s,
	    why, sizeof(why)), 4, "four limits");
	ok(s[0].n == 100 && s[0].window_ms == 60000 && !s[0].close &&
	    s[1].n == 1000 && s[1].window_ms == 3600000 && s[1].close &&
	    s[2].window_ms == 30000 && s[3].window_ms == 7 * 86400000ULL,
	    "numbers, units and :close");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		ok(ratelimit_spec_parse(bad[i], s, why, sizeof(why)) == -1 &&
		    why[0] != '\0', "refused: %s (%s)", bad[i], why);
	}
}

int
main(void)
{
	test_parse();
	return tap_done();
}
