/* SPDX-License-Identifier: ISC */
/*
 * spamstatus.h - the value of the score header (regex.score_header) in
 * SpamAssassin's X-Spam-Status format, so that Sieve rules and mail
 * readers written for SpamAssassin work unchanged.
 */
#ifndef POSTERN_SPAMSTATUS_H
#define POSTERN_SPAMSTATUS_H

#include <stddef.h>

#define SPAMSTATUS_TESTS_MAX	64	/* rule names listed, then "..." */

/*
 * spamstatus - "Yes, score=6.0 required=5.0 tests=RULE_A,RULE_B" (No
 * unless spam; tests=none when tests is ""), tests a comma-separated list
 * of rule names; folded before a name that would take a line past 78
 * columns (name_len: the field name's, for the first line), at most
 * SPAMSTATUS_TESTS_MAX names.  A new string (xmalloc).
 */
char	*spamstatus(double score, double required, int spam,
	    const char *tests, size_t name_len);

#endif
