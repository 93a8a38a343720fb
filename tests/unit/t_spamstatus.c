/* SPDX-License-Identifier: ISC */
/*
 * t_spamstatus.c - policy/spamstatus.c: SpamAssassin's X-Spam-Status
 * value for no rules, a few, a spam verdict, negative scores, a list
 * folded at 78 columns, and the cap on names listed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/spamstatus.h"
#include "tap.h"

static void
check(const char *got, const char *want, const char *what)
{
	is_str(got, want, "%s", what);
	free((char *)got);
}

int
main(void)
{
	char	 tests[4096], *v, *line;
	size_t	 i, n = 0;
	int	 lines, ok_width = 1;

	check(spamstatus(0, 5, 0, "", 13),
	    "No, score=0.0 required=5.0 tests=none", "no rule");
	check(spamstatus(2, 5, 0, "BODY_HINT", 13),
	    "No, score=2.0 required=5.0 tests=BODY_HINT", "one rule");
	check(spamstatus(8.25, 5, 1, "A,B", 13),
	    "Yes, score=8.2 required=5.0 tests=A,B", "spam, two rules");
	check(spamstatus(-1.5, 0, 0, "GOOD", 13),
	    "No, score=-1.5 required=0.0 tests=GOOD", "a negative score");
	for (i = 0; i < 20; i++)
		n += (size_t)snprintf(tests + n, sizeof(tests) - n, "%sRULE_%02zu",
		    i > 0 ? "," : "", i);
	v = spamstatus(7, 5, 1, tests, 13);
	lines = 0;
	for (line = strtok(v, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		/* "X-Spam-Status: " before the first; a tab is 8 columns */
		if (lines == 0 && 15 + strlen(line) > 78)
			ok_width = 0;
		if (lines > 0 && (line[0] != '\t' || 7 + strlen(line) > 78))
			ok_width = 0;
		lines++;
	}
	ok(lines > 1 && ok_width, "20 names folded with a tab, every line "
	    "within 78 columns (%d lines)", lines);
	free(v);
	for (i = 20; i < 100; i++)
		n += (size_t)snprintf(tests + n, sizeof(tests) - n, ",R%zu", i);
	v = spamstatus(7, 5, 1, tests, 13);
	ok(strstr(v, "R63") != NULL && strstr(v, "R64") == NULL &&
	    strcmp(v + strlen(v) - 3, "...") == 0, "64 names, then ...");
	free(v);
	return tap_done();
}
