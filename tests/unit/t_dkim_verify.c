/* SPDX-License-Identifier: ISC */
/*
 * t_dkim_verify.c - the pure parts of filters/dkim_verify.c: the DNS reply
 * built for libopendkim from a resolver answer, the RFC 8601 result of
 * each signature state, and l= against the canonicalized body length
 * (counted by proto/dkimcanon.c: t_dkimcanon.c; the quoting of untrusted
 * tags in Authentication-Results: t_authres.c, t_hdrbuild.c).  The filter
 * itself, with libopendkim reading these replies, is tested through the
 * proxy (tests/integ/test_dkim_verify.py).
 */
#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#include "filters/dkim_verify.h"
#include "lib/dns.h"
#include "lib/util.h"
#include "tap.h"

static const unsigned char txt_rdata[] = "\x0bv=DKIM1; p=";

static void
answer(struct dns_answer *a, enum dns_status st, size_t n)
{
	static const unsigned char	*data[2] = { txt_rdata, txt_rdata };
	static const size_t		 len[2] = { sizeof(txt_rdata) - 1,
					    sizeof(txt_rdata) - 1 };

	memset(a, 0, sizeof(*a));
	a->status = st;
	a->ttl = 0x01020304;
	a->n = n;
	a->data = data;
	a->len = len;
}

static void
test_wire(void)
{
	static const unsigned char want[] =
	    "\x00\x00\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"
	    "\x01s\x0a_domainkey\x07""example\x03""com\x00"
	    "\x00\x10\x00\x01"
	    "\xc0\x0c\x00\x10\x00\x01\x01\x02\x03\x04\x00\x0c"
	    "\x0bv=DKIM1; p=";
	struct dns_answer	 a;
	unsigned char		 buf[512];
	char			 big[300];
	int			 n;

	answer(&a, DNS_OK, 1);
	n = flt_dkim_verify_wire("s._domainkey.example.com", ns_t_txt, &a,
	    buf, sizeof(buf));
	is_mem(buf, n < 0 ? 0 : (size_t)n, want, sizeof(want) - 1,
	    "TXT answer as a DNS reply");
	n = flt_dkim_verify_wire("s._domainkey.example.com.", ns_t_txt, &a,
	    buf, sizeof(buf));
	is_int(n, (int)sizeof(want) - 1, "a trailing dot is the same name");
	is_int(flt_dkim_verify_wire("s._domainkey.example.com", ns_t_txt, &a,
	    buf, sizeof(want) - 2), -1, "one byte short: -1");
	answer(&a, DNS_OK, 2);
	n = flt_dkim_verify_wire("a.b", ns_t_txt, &a, buf, sizeof(buf));
	ok(n > 0 && buf[7] == 2, "two records: ancount 2");
	answer(&a, DNS_NXDOMAIN, 1);
	n = flt_dkim_verify_wire("a.b", ns_t_txt, &a, buf, sizeof(buf));
	ok(n == 12 + 5 + 4 && buf[3] == 0x83 && buf[7] == 0,
	    "NXDOMAIN: rcode 3, no answer");
	answer(&a, DNS_NODATA, 0);
	n = flt_dkim_verify_wire("a.b", ns_t_txt, &a, buf, sizeof(buf));
	ok(n == 12 + 5 + 4 && buf[3] == 0x80 && buf[7] == 0,
	    "NODATA: rcode 0, no answer");
	answer(&a, DNS_TEMPFAIL, 0);
	is_int(flt_dkim_verify_wire("a.b", ns_t_txt, &a, buf, sizeof(buf)),
	    -1, "a temporary failure is no reply");
	answer(&a, DNS_OK, 1);
	is_int(flt_dkim_verify_wire("a..b", ns_t_txt, &a, buf, sizeof(buf)),
	    -1, "empty label");
	is_int(flt_dkim_verify_wire("", ns_t_txt, &a, buf, sizeof(buf)),
	    -1, "empty name");
	is_int(flt_dkim_verify_wire("a.b..", ns_t_txt, &a, buf, sizeof(buf)),
	    -1, "empty last label (found by fuzz_dkim_verify)");
	is_int(flt_dkim_verify_wire(".", ns_t_txt, &a, buf, sizeof(buf)),
	    -1, "the root");
	memset(big, 'a', 64);
	memcpy(big + 64, ".b", 3);
	is_int(flt_dkim_verify_wire(big, ns_t_txt, &a, buf, sizeof(buf)),
	    -1, "64-byte label");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (n = 60; n < (int)sizeof(big) - 1; n += 61)
		big[n] = '.';
	is_int(flt_dkim_verify_wire(big, ns_t_txt, &a, buf, sizeof(buf)),
	    -1, "name over 255 bytes");
}

static void
test_classify(void)
{
	const char	*r;

	is_int(flt_dkim_verify_classify(DKIM_SIGFLAG_PROCESSED |
	    DKIM_SIGFLAG_PASSED, DKIM_SIGBH_MATCH, DKIM_SIGERROR_OK, &r),
	    FLT_DKIM_VERIFY_PASS, "passed + body hash match: pass");
	ok(r == NULL, "no reason for a pass");
	is_int(flt_dkim_verify_classify(DKIM_SIGFLAG_PROCESSED |
	    DKIM_SIGFLAG_PASSED, DKIM_SIGBH_MISMATCH, DKIM_SIGERROR_OK, &r),
	    FLT_DKIM_VERIFY_FAIL, "passed flag alone is not a pass");
	is_str(r, "body hash did not verify", "its reason");
	is_int(flt_dkim_verify_classify(DKIM_SIGFLAG_PASSED,
	    DKIM_SIGBH_UNTESTED, DKIM_SIGERROR_OK, &r),
	    FLT_DKIM_VERIFY_NEUTRAL, "body hash untested: not a pass");
	is_int(flt_dkim_verify_classify(DKIM_SIGFLAG_PROCESSED,
	    DKIM_SIGBH_MATCH, DKIM_SIGERROR_BADSIG, &r),
	    FLT_DKIM_VERIFY_FAIL, "bad signature: fail");
	is_int(flt_dkim_verify_classify(DKIM_SIGFLAG_PROCESSED,
	    DKIM_SIGBH_UNTESTED, DKIM_SIGERROR_KEYREVOKED, &r),
	    FLT_DKIM_VERIFY_FAIL, "revoked key: fail");
	is_str(r, "key revoked", "its reason");
	is_int(flt_dkim_verify_classify(0, DKIM_SIGBH_UNTESTED,
	    DKIM_SIGERROR_KEYFAIL, &r), FLT_DKIM_VERIFY_TEMPERROR,
	    "key lookup failed: temperror");
	is_int(flt_dkim_verify_classify(0, DKIM_SIGBH_UNTESTED,
	    DKIM_SIGERROR_NOKEY, &r), FLT_DKIM_VERIFY_PERMERROR,
	    "no key: permerror");
	is_int(flt_dkim_verify_classify(0, DKIM_SIGBH_UNTESTED,
	    DKIM_SIGERROR_KEYDECODE, &r), FLT_DKIM_VERIFY_PERMERROR,
	    "undecodable key: permerror");
	is_str(r, "p= is not a public key", "its reason");
	is_int(flt_dkim_verify_classify(0, DKIM_SIGBH_UNTESTED,
	    DKIM_SIGERROR_DNSSYNTAX, &r), FLT_DKIM_VERIFY_PERMERROR,
	    "key record syntax: permerror");
	is_str(r, "key record syntax error", "not \"DNS reply corrupt\"");
	is_int(flt_dkim_verify_classify(0, DKIM_SIGBH_UNTESTED,
	    DKIM_SIGERROR_KEYTYPEUNKNOWN, &r), FLT_DKIM_VERIFY_PERMERROR,
	    "unknown k=: permerror");
	ok(r == NULL, "libopendkim's text for other key errors");
	is_int(flt_dkim_verify_classify(0, DKIM_SIGBH_UNTESTED,
	    DKIM_SIGERROR_EXPIRED, &r), FLT_DKIM_VERIFY_NEUTRAL,
	    "expired: neutral");
	is_str(r, "signature expired", "its reason");
	is_int(flt_dkim_verify_classify(0, DKIM_SIGBH_UNTESTED,
	    DKIM_SIGERROR_FUTURE, &r), FLT_DKIM_VERIFY_NEUTRAL,
	    "t= in the future: neutral");
	is_str(r, "signature timestamp in the future", "its reason");
	is_int(flt_dkim_verify_classify(0, DKIM_SIGBH_UNTESTED,
	    DKIM_SIGERROR_TOOLARGE_L, &r), FLT_DKIM_VERIFY_FAIL,
	    "l= beyond the body: fail");
	is_str(r, "l= longer than the body", "its reason");
	is_int(flt_dkim_verify_classify(0, DKIM_SIGBH_UNTESTED,
	    DKIM_SIGERROR_MISSING_B, &r), FLT_DKIM_VERIFY_NEUTRAL,
	    "signature syntax: neutral");
	is_str(flt_dkim_verify_res_name(FLT_DKIM_VERIFY_TEMPERROR),
	    "temperror", "result names");
	is_str(flt_dkim_verify_res_name(FLT_DKIM_VERIFY_POLICY), "policy",
	    "policy's name");
}

static void
test_length(void)
{
	char	 r[64];

	strlcpy(r, "x", sizeof(r));
	is_int(flt_dkim_verify_length(FLT_DKIM_VERIFY_PASS, -1, 22, 38, r,
	    sizeof(r)), FLT_DKIM_VERIFY_PASS, "no l=: pass stays");
	is_int(flt_dkim_verify_length(FLT_DKIM_VERIFY_PASS, 22, 22, 22, r,
	    sizeof(r)), FLT_DKIM_VERIFY_PASS, "l= the whole body: pass");
	is_str(r, "x", "reason untouched");
	is_int(flt_dkim_verify_length(FLT_DKIM_VERIFY_PASS, 22, 22, 38, r,
	    sizeof(r)), FLT_DKIM_VERIFY_POLICY, "16 bytes after l=: policy");
	is_str(r, "16 bytes of the body not signed", "the reason counts them");
	is_int(flt_dkim_verify_length(FLT_DKIM_VERIFY_PASS, 0, 0, 2, r,
	    sizeof(r)), FLT_DKIM_VERIFY_POLICY, "l=0: policy");
	is_str(r, "2 bytes of the body not signed", "all of it");
	is_int(flt_dkim_verify_length(FLT_DKIM_VERIFY_PASS, 0, -1, 0, r,
	    sizeof(r)), FLT_DKIM_VERIFY_POLICY,
	    "signed length unknown: never a pass");
	strlcpy(r, "body hash did not verify", sizeof(r));
	is_int(flt_dkim_verify_length(FLT_DKIM_VERIFY_FAIL, 22, 22, 38, r,
	    sizeof(r)), FLT_DKIM_VERIFY_FAIL, "a fail stays a fail");
	is_str(r, "body hash did not verify", "with its reason");
}

int
main(void)
{
	test_wire();
	test_classify();
	test_length();
	return tap_done();
}
