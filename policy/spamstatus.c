/* SPDX-License-Identifier: ISC */
/*
 * spamstatus.c - SpamAssassin's X-Spam-Status value (see spamstatus.h):
 * "Yes|No, score=S required=R tests=A,B", scores with one decimal, long
 * lists folded after a comma (a line break and a tab, made CRLF by
 * fctx_add_header) as SpamAssassin folds them.
 *
 * Public: spamstatus.
 */
#include <stdio.h>
#include <string.h>

#include "lib/util.h"
#include "policy/spamstatus.h"

#define SPAMSTATUS_COLS	78

char *
spamstatus(double score, double required, int spam, const char *tests,
    size_t name_len)
{
	struct util_buf	 b = { NULL, 0, 0 };
	char		 head[96];
	const char	*t, *end;
	size_t		 col, n, listed = 0;

	snprintf(head, sizeof(head), "%s, score=%.1f required=%.1f tests=",
	    spam ? "Yes" : "No", score, required);
	util_buf_puts(&b, head);
	col = name_len + 2 + strlen(head);
	if (*tests == '\0')
		util_buf_puts(&b, "none");
	for (t = tests; *t != '\0'; t = *end == ',' ? end + 1 : end) {
		end = t + strcspn(t, ",");
		n = (size_t)(end - t);
		if (listed == SPAMSTATUS_TESTS_MAX) {
			util_buf_puts(&b, "...");
			break;
		}
		if (listed > 0 && col + n + 1 > SPAMSTATUS_COLS) {
			util_buf_puts(&b, "\n\t");
			col = 8;
		}
		util_buf_add(&b, t, n);
		col += n;
		if (*end == ',' && end[1] != '\0') {
			util_buf_puts(&b, ",");
			col++;
		}
		listed++;
	}
	util_buf_add(&b, "", 1);
	return (char *)b.p;
}
