/* SPDX-License-Identifier: ISC */
/*
 * t_mailbox.c - proto/mailbox.c: the author domains of From values as
 * mail writes them: bare and angle addresses, display names with commas
 * and '@' in quotes, comments, groups, folding, several authors, and the
 * malformed ones.
 */
#include <string.h>

#include "proto/mailbox.h"
#include "tap.h"

static char	 d[4][MAILBOX_DOMAIN_MAX + 1];

static int
doms(const char *v)
{
	memset(d, 0, sizeof(d));
	return mailbox_domains(v, strlen(v), d, 4);
}

int
main(void)
{
	is_int(doms(" alice@Example.COM"), 1, "a bare address");
	is_str(d[0], "example.com", "lower case");
	is_int(doms(" \"Smith, John @ Work\" <john@a.example.>"), 1,
	    "a quoted display name with ',' and '@'");
	is_str(d[0], "a.example", "the angle address, final dot out");
	is_int(doms(" John (the \\) boss, @x) Smith <j@b.example> (c@d)"), 1,
	    "comments, nested escape");
	is_str(d[0], "b.example", "from the angle address");
	is_int(doms(" a@one.example,\r\n\t\"B\" <b@two.example>"), 2,
	    "two authors, folded");
	ok(strcmp(d[0], "one.example") == 0 && strcmp(d[1], "two.example") ==
	    0, "both domains");
	is_int(doms(" Team: a@x.example, b@y.example;, c@z.example"), 3,
	    "a group and one more");
	is_str(d[2], "z.example", "after the group");
	is_int(doms(" <@route.example:u@dest.example>"), 1, "a source route");
	is_str(d[0], "dest.example", "the final domain");
	is_int(doms(" \"odd@name\"@quoted.example"), 1, "a quoted local part");
	is_str(d[0], "quoted.example", "its domain");
	is_int(doms(" a@v.example, b@w.example, c@x.example, d@y.example, "
	    "e@z.example"), 5, "five counted, four kept");
	is_int(doms(" undisclosed-recipients:;"), -1, "no address");
	is_int(doms(""), -1, "empty");
	is_int(doms(" alice"), -1, "no '@'");
	is_int(doms(" a@[192.0.2.1]"), -1, "a domain literal");
	is_int(doms(" a@exa mple.com"), 1, "a blank inside, as obs-domain");
	is_int(doms(" \"open <a@b.example>"), -1, "an open quote");
	is_int(doms(" (open a@b.example"), -1, "an open comment");
	is_int(doms(" <a@b.example"), -1, "an open angle");
	is_int(doms(" <a@b.example> <c@d.example>"), -1, "two angles");
	is_int(doms(" a@b..example"), -1, "an empty label");
	is_int(doms(" a@b_example.com"), 1, "an underscore, as DNS allows");
	return tap_done();
}
