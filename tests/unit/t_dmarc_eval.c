/* SPDX-License-Identifier: ISC */
/*
 * t_dmarc_eval.c - filters/dmarc_eval.c on RFC 7489's cases: aligned SPF
 * only, aligned DKIM only, relaxed against strict (where libopendmarc
 * 1.4.2 errs), a public suffix as d=, sp for a subdomain, np for one that
 * does not exist, pct (p=reject pct=0 quarantines), no record.
 */
#include <string.h>

#include "filters/dmarc_eval.h"
#include "tap.h"

static struct dmarc_record	 rec;
static struct dmarc_eval_out	 out;

static void
record(const char *txt)
{
	char	 why[128];

	ok(dmarc_record_parse(txt, strlen(txt), &rec, why, sizeof(why)) == 0,
	    "record %s (%s)", txt, why);
}

/* The verdict for a From domain and the passing identities. */
static void
eval(const char *from, const char *from_org, int at_org, int exists,
    const struct dmarc_domain *spf, const struct dmarc_domain *dkim,
    size_t ndkim, unsigned roll)
{
	struct dmarc_eval_in	 in = {
		.from = { from, from_org }, .from_exists = exists,
		.rec = &rec, .rec_at_org = at_org, .spf = spf, .dkim = dkim,
		.ndkim = ndkim, .roll = roll,
	};

	dmarc_eval(&in, &out);
}

static void
test_alignment(void)
{
	struct dmarc_domain	 sub = { "mail.example.com", "example.com" };
	struct dmarc_domain	 same = { "EXAMPLE.com", "example.com" };
	struct dmarc_domain	 other = { "example.net", "example.net" };
	struct dmarc_domain	 suffix = { "com", NULL };
	struct dmarc_domain	 from = { "example.com", "example.com" };

	is_int(dmarc_aligned(&sub, &from, 0), 1, "relaxed: a subdomain");
	is_int(dmarc_aligned(&sub, &from, 1), 0, "strict: not a subdomain");
	is_int(dmarc_aligned(&same, &from, 1), 1, "strict: the name, any case");
	is_int(dmarc_aligned(&other, &from, 0), 0, "another domain");
	is_int(dmarc_aligned(&suffix, &from, 0), 0,
	    "a public suffix aligns with nothing");
}

static void
test_verdicts(void)
{
	struct dmarc_domain	 spf = { "bounce.example.com", "example.com" };
	struct dmarc_domain	 d[2] = { { "other.example", "other.example" },
				    { "example.com", "example.com" } };

	record("v=DMARC1; p=reject");
	eval("example.com", "example.com", 0, 1, &spf, NULL, 0, 0);
	ok(out.result == DMARC_RESULT_PASS && out.spf_aligned &&
	    !out.dkim_aligned && out.disposition == DMARC_POLICY_NONE,
	    "aligned SPF only: pass");
	eval("example.com", "example.com", 0, 1, NULL, d, 2, 0);
	ok(out.result == DMARC_RESULT_PASS && out.dkim_aligned,
	    "aligned DKIM only (the second signature): pass");
	eval("example.com", "example.com", 0, 1, NULL, d, 1, 0);
	ok(out.result == DMARC_RESULT_FAIL &&
	    out.disposition == DMARC_POLICY_REJECT,
	    "only an unaligned signature: fail, reject");
	record("v=DMARC1; p=reject; aspf=s");
	eval("example.com", "example.com", 0, 1, &spf, NULL, 0, 0);
	is_int(out.result, DMARC_RESULT_FAIL, "aspf=s: a subdomain fails");
	record("v=DMARC1; p=quarantine; sp=reject");
	eval("a.example.com", "example.com", 1, 1, NULL, NULL, 0, 0);
	ok(out.policy == DMARC_POLICY_REJECT &&
	    out.disposition == DMARC_POLICY_REJECT,
	    "the org domain's record for a subdomain: sp");
	eval("example.com", "example.com", 0, 1, NULL, NULL, 0, 0);
	is_int(out.policy, DMARC_POLICY_QUARANTINE, "its own record: p");
	record("v=DMARC1; p=none; sp=quarantine; np=reject");
	eval("nx.example.com", "example.com", 1, 0, NULL, NULL, 0, 0);
	is_int(out.policy, DMARC_POLICY_REJECT,
	    "a subdomain that does not exist: np");
	eval("a.example.com", "example.com", 1, 1, NULL, NULL, 0, 0);
	is_int(out.policy, DMARC_POLICY_QUARANTINE, "one that exists: sp");
	record("v=DMARC1; p=reject; pct=0");
	eval("example.com", "example.com", 0, 1, NULL, NULL, 0, 0);
	is_int(out.disposition, DMARC_POLICY_QUARANTINE,
	    "p=reject pct=0: quarantine (6.6.4)");
	record("v=DMARC1; p=quarantine; pct=50");
	eval("example.com", "example.com", 0, 1, NULL, NULL, 0, 49);
	is_int(out.disposition, DMARC_POLICY_QUARANTINE, "pct=50, draw 49");
	eval("example.com", "example.com", 0, 1, NULL, NULL, 0, 50);
	is_int(out.disposition, DMARC_POLICY_NONE, "pct=50, draw 50: none");
	eval("example.com", "example.com", 0, 1, &spf, NULL, 0, 50);
	is_int(out.disposition, DMARC_POLICY_NONE, "a pass: none");
}

static void
test_no_record(void)
{
	struct dmarc_eval_in	 in = { .from = { "example.com", "example.com" } };

	dmarc_eval(&in, &out);
	ok(out.result == DMARC_RESULT_NONE &&
	    out.disposition == DMARC_POLICY_NONE, "no record: none");
	is_str(dmarc_result_name(DMARC_RESULT_TEMPERROR), "temperror", "name");
}

int
main(void)
{
	test_alignment();
	test_verdicts();
	test_no_record();
	return tap_done();
}
