/* SPDX-License-Identifier: ISC */
/*
 * t_spf_record.c - unit tests for filters/spf_record.c: the record screen
 * (valid records, each class of invalid one with its reason), the record
 * choice, the rewrite for libspf2, the explanation screen and escape, the
 * domain check; and that libspf2 compiles every record the screen lets
 * through, rewritten, including generated ones near the size bound.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <spf2/spf.h>

#include "filters/spf_dns.h"
#include "filters/spf_record.h"
#include "lib/util.h"
#include "tap.h"

static void	 test_screen_ok(SPF_server_t *);
static void	 test_screen_bad(void);
static void	 test_select(void);
static void	 test_rewrite(void);
static void	 test_exp(void);
static void	 test_domain(void);
static void	 test_sizes(SPF_server_t *);
static int	 compiles(SPF_server_t *, const char *, int);

static const char *ok_records[] = {
	"v=spf1",
	"v=spf1 -all",
	"V=SPF1 a mx -all",
	"v=spf1  a   mx ",
	"v=spf1 ip4:0.0.0.0/0 -all",
	"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ip6:::1.1.1.1/0 ~all",
	"v=spf1 a:%{d}.example.com/24//64 ?all",
	"v=spf1 exists:%{ir}.%{v}._spf.%{d} -all",
	"v=spf1 exists:%{l1r-}.%{d2}.example.org -all",
	"v=spf1 redirect=_spf.example.com",
	"v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all",
	"v=spf1 include:example.com exp=explain._spf.%{d}",
	"v=spf1 a/0 mx//0 mx:example.com/0//0 -all",
	"v=spf1 ptr:example.com ptr -all",
	"v=spf1 a:foo.123-4 -all",
	"v=spf1 a:mail.example.com. -all",
	"v=spf1 -all foo=%%%_%-",
	"v=spf1 +a -mx ?ptr ~exists:x.example.com",
};

static const struct {
	const char	*rec;
	const char	*why;		/* a substring of the reason */
} bad_records[] = {
	{ "v=spf1 a:foo.123", "invalid domain-spec 'foo.123'" },
	{ "v=spf1 a:foo", "invalid domain-spec 'foo'" },
	{ "v=spf1 a:", "invalid domain-spec ''" },
	{ "v=spf1 a:foo..com", "invalid domain-spec" },
	{ "v=spf1 a:example.com-", "invalid domain-spec" },
	{ "v=spf1 redirect=a.com redirect=b.com", "duplicate redirect=" },
	{ "v=spf1 exp=a.com exp=b.com -all", "duplicate exp=" },
	{ "v=spf1 ip4:1.2.3.4/33", "invalid CIDR length" },
	{ "v=spf1 ip4:1.2.3.4/032", "invalid network" },
	{ "v=spf1 ip4:1.2.3", "invalid network" },
	{ "v=spf1 ip6:::1/129", "invalid CIDR length" },
	{ "v=spf1 ip4:1.2.3.4//32", "invalid network" },
	{ "v=spf1 a/33", "invalid CIDR length" },
	{ "v=spf1 mx//129", "invalid CIDR length" },
	{ "v=spf1 ptr/0", "invalid term" },
	{ "v=spf1 include", "needs a value" },
	{ "v=spf1 exists", "needs a value" },
	{ "v=spf1 ip4", "needs a value" },
	{ "v=spf1 all:foo", "invalid term" },
	{ "v=spf1 foo:bar", "unknown mechanism 'foo:bar'" },
	{ "v=spf1 -exp=a.com", "unknown mechanism" },
	{ "v=spf1 1x=y", "invalid term" },
	{ "v=spf1 exists:%{z}.example.com", "invalid domain-spec" },
	{ "v=spf1 exists:%{c}.example.com", "invalid domain-spec" },
	{ "v=spf1 exists:%{d0}.example.com", "invalid domain-spec" },
	{ "v=spf1 exists:%{d999}.example.com", "invalid domain-spec" },
	{ "v=spf1 exists:%{d.example.com", "invalid domain-spec" },
	{ "v=spf1 exists:%x.example.com", "invalid domain-spec" },
	{ "v=spf1 exists:%", "invalid domain-spec" },
	{ "v=spf1 foo=%{q}", "invalid term" },
	{ "v=spf1 exists:%{l1r,}.example.com", "invalid domain-spec" },
	{ "v=spf1 exists:%{iR}.example.com", "invalid domain-spec" },
	{ "v=spf1 ip4:1.2.3.4\t-all", "control character" },
	{ "v=spf1 a:b\001.example.com", "control character" },
	{ "v=spf1 a:\303\251.example.com", "non-ASCII" },
	{ "v=spf10 -all", "not an SPF record" },
	{ "spf1 -all", "not an SPF record" },
};

static int
compiles(SPF_server_t *srv, const char *rec, int family)
{
	SPF_response_t	*resp;
	SPF_record_t	*r = NULL;
	char		 rw[SPF_RECORD_REWRITE_MAX];
	SPF_errcode_t	 err;

	if (spf_record_rewrite(rec, family, rw, sizeof(rw)) == -1)
		return 0;
	resp = SPF_response_new(NULL);
	err = SPF_record_compile(srv, resp, &r, rw);
	if (r != NULL)
		SPF_record_free(r);
	SPF_response_free(resp);
	return err == SPF_E_SUCCESS;
}

static void
test_screen_ok(SPF_server_t *srv)
{
	char	 why[256];
	size_t	 i;

	for (i = 0; i < sizeof(ok_records) / sizeof(ok_records[0]); i++) {
		why[0] = '\0';
		is_int(spf_record_screen(ok_records[i], why, sizeof(why)), 0,
		    "screen accepts \"%s\" (%s)", ok_records[i], why);
		ok(compiles(srv, ok_records[i], AF_INET),
		    "libspf2 compiles \"%s\" rewritten for IPv4",
		    ok_records[i]);
		ok(compiles(srv, ok_records[i], AF_INET6),
		    "libspf2 compiles \"%s\" rewritten for IPv6",
		    ok_records[i]);
	}
}

static void
test_screen_bad(void)
{
	char	 why[256];
	size_t	 i;

	for (i = 0; i < sizeof(bad_records) / sizeof(bad_records[0]); i++) {
		why[0] = '\0';
		is_int(spf_record_screen(bad_records[i].rec, why, sizeof(why)),
		    -1, "screen refuses \"%s\"", bad_records[i].rec);
		if (!ok(strstr(why, bad_records[i].why) != NULL,
		    "reason for \"%s\"", bad_records[i].rec))
			printf("#   got \"%s\", want \"%s\"\n", why,
			    bad_records[i].why);
	}
}

static void
test_select(void)
{
	const char	*one[] = { "foo", "v=spf1 -all", "v=spf10 a" };
	const char	*two[] = { "v=spf1 a", "V=SPF1 mx" };
	const char	*none[] = { "v=spf10", "spf1", "" };
	const char	*bare[] = { "v=spf1" };
	size_t		 idx = 99;

	is_int(spf_record_select(one, 3, &idx), 1, "one record among three");
	is_int(idx, 1, "its index");
	is_int(spf_record_select(two, 2, &idx), -1, "two records: permerror");
	is_int(spf_record_select(none, 3, &idx), 0, "no record");
	is_int(spf_record_select(bare, 1, &idx), 1, "bare v=spf1");
	is_int(spf_record_select(bare, 0, &idx), 0, "no TXT at all");
}

static void
test_rewrite(void)
{
	static const struct {
		const char	*rec;
		int		 family;
		const char	*want;
	} c[] = {
		{ "v=spf1 ip4:1.2.3.4/0 -all", AF_INET,
		  "v=spf1 ip4:0.0.0.0/1 ip4:128.0.0.0/1 -all" },
		{ "v=spf1 -ip6:::/0", AF_INET6, "v=spf1 -ip6:::/1 -ip6:8000::/1" },
		{ "v=spf1 a/0 -all", AF_INET, "v=spf1 a:%{d}\001 -all" },
		{ "v=spf1 a/0 -all", AF_INET6, "v=spf1 a:%{d} -all" },
		{ "v=spf1 mx:e.com/24//0", AF_INET6, "v=spf1 mx:e.com\001" },
		{ "v=spf1 mx:e.com/24//0", AF_INET, "v=spf1 mx:e.com/24" },
		{ "v=spf1 ~a//0", AF_INET, "v=spf1 ~a:%{d}" },
		{ "v=spf1 a:x.com/24//64", AF_INET, "v=spf1 a:x.com/24//64" },
		{ "v=spf1 redirect=x.com -all", AF_INET, "v=spf1 -all" },
		{ "v=spf1 redirect=x.com a", AF_INET, "v=spf1 a redirect=x.com" },
		{ "v=spf1 exp=e.com foo=bar -all", AF_INET,
		  "v=spf1 -all exp=e.com" },
		{ "v=spf1  a   mx ", AF_INET, "v=spf1 a mx" },
	};
	char	 out[SPF_RECORD_REWRITE_MAX];
	size_t	 i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		is_int(spf_record_rewrite(c[i].rec, c[i].family, out,
		    sizeof(out)), 0, "rewrite \"%s\"", c[i].rec);
		is_str(out, c[i].want, "rewrite of \"%s\" for %s", c[i].rec,
		    c[i].family == AF_INET ? "IPv4" : "IPv6");
	}
	is_int(spf_record_rewrite("v=spf1 ip4:1.2.3.4/0", AF_INET, out, 12),
	    -1, "rewrite into a short buffer fails");
}

static void
test_exp(void)
{
	char	 why[128], out[64], text[256];
	size_t	 i;

	/* "a%- " 62 times: every word is short, but what libspf2 compiles
	 * (spaces escaped, each "%-" three bytes) is one 310-byte run. */
	for (i = 0; i < 248; i++)
		text[i] = "a%- "[i % 4];
	text[248] = '\0';
	is_int(spf_record_screen_exp(text, why, sizeof(why)), -1,
	    "a literal run over 253 bytes across words (found by "
	    "fuzz_spf_record)");
	memcpy(text + 120, "%{d}", 4);
	is_int(spf_record_screen_exp(text, why, sizeof(why)), 0,
	    "a macro in the middle splits the run");
	is_int(spf_record_screen_exp("See %{i} at %{c}, %{r} %{t}.", why,
	    sizeof(why)), 0, "explanation with exp-only macros");
	is_int(spf_record_screen_exp("%{x}", why, sizeof(why)), -1,
	    "unknown macro letter");
	is_int(spf_record_screen_exp("\357\273\277Explanation", why,
	    sizeof(why)), -1, "non-ASCII explanation");
	is_int(spf_record_screen_exp("", why, sizeof(why)), 0, "empty");
	is_int(spf_record_exp_escape("a b  c", out, sizeof(out)), 0,
	    "escape spaces");
	is_str(out, "a%_b%_%_c", "spaces become %%_");
	is_int(spf_record_exp_escape("a b c d", out, 6), -1,
	    "escape into a short buffer fails");
}

static void
test_domain(void)
{
	static const struct {
		const char	*name;
		int		 ok;
	} c[] = {
		{ "example.com", 1 },		{ "x.example.com.", 1 },
		{ "foo.123-4", 1 },		{ "A2345678", 0 },
		{ "[1.2.3.5]", 0 },		{ "1.2.3.5", 0 },
		{ "a..b.com", 0 },		{ ".example.com", 0 },
		{ "", 0 },			{ "a b.com", 0 },
		{ "x@example.com", 0 },
		{ "A1234567890123456789012345678901234567890123456789012345678901"
		  "23.example.com", 0 },
		{ "A1234567890123456789012345678901234567890123456789012345678901"
		  "2.example.com", 1 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		is_int(spf_record_domain_ok(c[i].name), c[i].ok,
		    "domain \"%s\"", c[i].name);
}

/* Records of n copies of term: the screen must refuse before libspf2's
 * buffers would, and whatever it accepts libspf2 must compile. */
static void
test_sizes(SPF_server_t *srv)
{
	static const char *terms[] = {
		" ip4:192.0.2.1", " ip6:2001:db8::1", " a:%{d}.x.example.com",
		" exists:%{ir}.%{l}.%{d}.example.org", " mx:a.b.c.d.e.f.g.h",
		" a/0", " ip4:1.2.3.4/0", " include:_spf.example.com",
	};
	char	 rec[SPF_RECORD_MAXLEN + 64], why[256];
	size_t	 i, n, accepted = 0, refused = 0;
	int	 bad = 0;

	for (i = 0; i < sizeof(terms) / sizeof(terms[0]); i++) {
		strlcpy(rec, "v=spf1", sizeof(rec));
		for (n = 0; n < 80; n++) {
			if (strlcat(rec, terms[i], sizeof(rec)) >= sizeof(rec))
				break;
			if (spf_record_screen(rec, why, sizeof(why)) == -1) {
				refused++;
				continue;
			}
			accepted++;
			if (!compiles(srv, rec, AF_INET) ||
			    !compiles(srv, rec, AF_INET6))
				bad++;
		}
	}
	ok(accepted > 0 && refused > 0, "sizes: %zu accepted, %zu refused",
	    accepted, refused);
	/* Literal runs around libspf2's 255-byte string limit (found by
	 * fuzz_spf_record), plain and with "%-" escapes (3 bytes each). */
	for (n = 240; n < 270; n++) {
		strlcpy(rec, "v=spf1 exists:%{d}", sizeof(rec));
		for (i = 0; i < n; i++)
			strlcat(rec, i % 20 == 19 ? "%-" : "7", sizeof(rec));
		strlcat(rec, "%{d}.example.com -all", sizeof(rec));
		if (spf_record_screen(rec, why, sizeof(why)) == 0) {
			accepted++;
			if (!compiles(srv, rec, AF_INET) ||
			    !compiles(srv, rec, AF_INET6))
				bad++;
		}
	}
	strlcpy(rec, "v=spf1 exists:%{d}", sizeof(rec));
	for (i = 0; i < 254; i++)
		strlcat(rec, "7", sizeof(rec));
	strlcat(rec, "%{d} -all", sizeof(rec));
	is_int(spf_record_screen(rec, why, sizeof(why)), -1,
	    "a 254-byte literal run is refused");
	is_int(spf_record_screen("v=spf1 exists:%{d77777777777777}.x.example "
	    "-all", why, sizeof(why)), -1, "a long digit run is refused, "
	    "without overflow");
	is_int(bad, 0, "libspf2 compiles every accepted generated record");
}

int
main(void)
{
	SPF_server_t	*srv;

	spf_dns_log_init();
	srv = SPF_server_new(SPF_DNS_ZONE, 0);
	test_screen_ok(srv);
	test_screen_bad();
	test_select();
	test_rewrite();
	test_exp();
	test_domain();
	test_sizes(srv);
	SPF_server_free(srv);
	return tap_done();
}
