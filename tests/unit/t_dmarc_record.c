/* SPDX-License-Identifier: ISC */
/*
 * t_dmarc_record.c - proto/dmarc_record.c: which TXT record is the
 * policy (RFC 7489 6.6.3), and each tag with its default and its errors
 * (6.3; np from RFC 9091), including what libopendmarc 1.4.2 gets wrong.
 */
#include <string.h>

#include "proto/dmarc_record.h"
#include "tap.h"

static struct dmarc_record	 r;
static char			 why[128];

static int
parse(const char *txt)
{
	return dmarc_record_parse(txt, strlen(txt), &r, why, sizeof(why));
}

static int
select3(const char *a, const char *b, const char *c)
{
	const char	*t[3] = { a, b, c };
	size_t		 l[3] = { strlen(a), strlen(b), strlen(c) };

	return dmarc_record_select(t, l, 3);
}

static void
test_select(void)
{
	is_int(dmarc_record_is("v=DMARC1; p=none", 16), 1, "a record");
	is_int(dmarc_record_is("V = DMARC1 ;p=none", 18), 1,
	    "V any case, blanks around '=' and before ';'");
	is_int(dmarc_record_is("v=DMARC1", 8), 1, "alone");
	is_int(dmarc_record_is("v=dmarc1; p=none", 16), 0,
	    "DMARC1 exactly (case-sensitive)");
	is_int(dmarc_record_is("v=DMARC10; p=none", 17), 0, "DMARC10");
	is_int(dmarc_record_is("p=none; v=DMARC1", 16), 0,
	    "v= not first: not a record");
	is_int(select3("v=spf1 -all", "v=DMARC1; p=reject", "hello"), 1,
	    "the DMARC one among other TXT records");
	is_int(select3("v=spf1 -all", "x", "y"), -1, "none");
	is_int(select3("v=DMARC1; p=reject", "z", "v=DMARC1; p=none"), -2,
	    "two: several, no policy");
}

static void
test_tags(void)
{
	is_int(parse("v=DMARC1; p=reject"), 0, "minimal");
	ok(r.p == DMARC_POLICY_REJECT && r.sp == DMARC_POLICY_REJECT &&
	    r.np == DMARC_POLICY_REJECT, "sp and np default to p");
	ok(!r.adkim_strict && !r.aspf_strict && r.pct == 100 &&
	    r.ri == 86400 && strcmp(r.fo, "0") == 0, "defaults");
	is_int(parse("v=DMARC1;p=Quarantine;sp=none;np=reject;adkim=s;"
	    "aspf=S;pct=20;ri=3600;fo=1:d;rua=mailto:a@example.com!10m,"
	    "mailto:b@example.com;ruf=mailto:f@example.com;"), 0, "every tag");
	ok(r.p == DMARC_POLICY_QUARANTINE && r.sp == DMARC_POLICY_NONE &&
	    r.np == DMARC_POLICY_REJECT, "p, sp, np");
	ok(r.adkim_strict && r.aspf_strict, "strict alignment");
	ok(r.pct == 20 && r.ri == 3600 && strcmp(r.fo, "1:d") == 0,
	    "pct, ri, fo");
	is_str(r.rua, "mailto:a@example.com!10m,mailto:b@example.com", "rua");
	is_str(r.ruf, "mailto:f@example.com", "ruf");
	is_int(parse("v=DMARC1; p=none; sp=quarantine"), 0, "sp alone");
	is_int(r.np, DMARC_POLICY_QUARANTINE, "np defaults to sp");
	is_int(parse("v=DMARC1; p=reject; pct=0"), 0, "pct=0");
	is_int((int)r.pct, 0, "kept as 0 (the caller applies 6.6.4)");
}

static void
test_errors(void)
{
	is_int(parse("v=DMARC1; p=reject; aspf=bogus; adkim=x; pct=101; "
	    "ri=abc; fo=2; np=maybe; foo=bar"), 0,
	    "bad values and unknown tags: the record stays");
	ok(r.p == DMARC_POLICY_REJECT && !r.aspf_strict && !r.adkim_strict &&
	    r.pct == 100 && r.ri == 86400 && strcmp(r.fo, "0") == 0 &&
	    r.np == DMARC_POLICY_REJECT, "each bad value: its default");
	is_int(parse("v=DMARC1; p=reject; p=none"), 0, "p twice");
	is_int(r.p, DMARC_POLICY_REJECT, "the first counts");
	is_int(parse("v=DMARC1; p=bogus"), -1, "no valid p, no rua");
	is_str(why, "no valid p= tag", "why");
	is_int(parse("v=DMARC1; sp=reject; rua=mailto:r@example.com"), 0,
	    "no p but a valid rua");
	ok(r.p_implied && r.p == DMARC_POLICY_NONE &&
	    r.sp == DMARC_POLICY_NONE && r.np == DMARC_POLICY_NONE,
	    "as p=none (and nothing else of it)");
	is_int(parse("v=DMARC1; p=reject; sp=bogus"), -1,
	    "an invalid sp without rua (6.6.3 step 6)");
	is_int(parse("v=DMARC1; p=reject; rua=not a uri, :x, mailto:, "
	    "mailto:a@example.com!x"), 0, "bad URIs do not drop the record");
	is_str(r.rua, "", "none of them kept");
	is_int(parse("v=DMARC1; p=none; rua=x, mailto:ok@example.com!5k"), 0,
	    "a list with a bad URI");
	is_str(r.rua, "mailto:ok@example.com!5k", "the good one kept");
}

int
main(void)
{
	test_select();
	test_tags();
	test_errors();
	return tap_done();
}
