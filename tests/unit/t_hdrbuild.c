/* SPDX-License-Identifier: ISC */
/*
 * t_hdrbuild.c - policy/hdrbuild.c: the word classes (token, domain,
 * field name), each writer on ordinary and hostile text, Received-SPF
 * key-value pairs read back with the reference reader (ar_ref.h), and
 * foreign field values made one field: a line break never starts a new
 * field, a blank line never ends the header.
 */
#include <stdlib.h>
#include <string.h>

#include "ar_ref.h"
#include "policy/hdrbuild.h"
#include "proto/rfc5322.h"
#include "tap.h"

static char	*out;

/* What one writer makes of s. */
static const char *
w(void (*fn)(struct hdrbuild *, const char *), const char *s)
{
	struct hdrbuild	 b;

	free(out);
	hdrbuild_init(&b);
	fn(&b, s);
	out = hdrbuild_take(&b);
	return out;
}

static const char *
field(const char *s)
{
	free(out);
	return out = hdrbuild_field(s);
}

static int
name_ok(const char *s)
{
	return rfc5322_name_ok(s, strlen(s));
}

static void
test_classes(void)
{
	ok(hdrbuild_is_token("example.com") && hdrbuild_is_token("a-b_c!"),
	    "tokens");
	ok(!hdrbuild_is_token("") && !hdrbuild_is_token("a b") &&
	    !hdrbuild_is_token("a;b") && !hdrbuild_is_token("a=b") &&
	    !hdrbuild_is_token("a@b") && !hdrbuild_is_token("\"a\"") &&
	    !hdrbuild_is_token("a\x80"), "not tokens");
	ok(hdrbuild_is_domain("mx.example.com") && hdrbuild_is_domain("a") &&
	    hdrbuild_is_domain("_dmarc.x-y.example"), "domains");
	ok(!hdrbuild_is_domain("") && !hdrbuild_is_domain(".a") &&
	    !hdrbuild_is_domain("a.") && !hdrbuild_is_domain("a..b") &&
	    !hdrbuild_is_domain("[192.0.2.1]") && !hdrbuild_is_domain("a;b"),
	    "not domains");
	ok(!hdrbuild_is_domain("a.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaa.b"), "a label longer than 63");
	ok(name_ok("X-Spam-Flag") && name_ok("a"), "field names");
	ok(!name_ok("") && !name_ok("X Y") && !name_ok("X:Y") &&
	    !name_ok("X\r\nY") && !name_ok("X\x7f"), "not field names");
	ok(rfc5322_name_ok("X-Tag: v", 5) && !rfc5322_name_ok("X-Tag: v", 6),
	    "a name as a part of a longer text");
}

static void
test_writers(void)
{
	is_str(w(hdrbuild_text, "spf=\r\n\x01" "ok"), "spf=???ok",
	    "text: printable only");
	is_str(w(hdrbuild_value, "pass"), "pass", "value: a token");
	is_str(w(hdrbuild_value, "x;dkim=pass"), "\"x;dkim=pass\"",
	    "value: quoted");
	is_str(w(hdrbuild_value, "a\"b\\c"), "\"a\\\"b\\\\c\"",
	    "value: quotes and backslashes escaped");
	is_str(w(hdrbuild_value, ""), "\"\"", "value: empty");
	is_str(w(hdrbuild_pvalue, "a.b@example.com"), "a.b@example.com",
	    "pvalue: an address");
	is_str(w(hdrbuild_pvalue, "\"a b\"@example.com"),
	    "\"a b\"@example.com", "pvalue: a quoted local part as it is");
	is_str(w(hdrbuild_pvalue,
	    "\"\\\";dkim=pass header.d=bank.test reason=\"@attacker.test"),
	    "\"\\\";dkim=pass header.d=bank.test reason=\"@attacker.test",
	    "pvalue: the issue's payload is one well-formed address");
	is_str(w(hdrbuild_pvalue, "\"a\"b\"@example.com"),
	    "\"\\\"a\\\"b\\\"@example.com\"",
	    "pvalue: a broken quoted local part: the whole quoted");
	is_str(w(hdrbuild_pvalue, "a=b@example.com"), "\"a=b@example.com\"",
	    "pvalue: '=' is never left bare");
	is_str(w(hdrbuild_pvalue, "a@[192.0.2.1]"), "\"a@[192.0.2.1]\"",
	    "pvalue: no domain name after '@': quoted");
	is_str(w(hdrbuild_pvalue, "h.example"), "h.example",
	    "pvalue: a token");
	is_str(w(hdrbuild_comment, "a (b) \\ \"c\"\r\n"),
	    "(a \\(b\\) \\\\ \"c\"?" "?)", "comment: delimiters escaped");
}

static void
kv_helo(struct hdrbuild *b, const char *s)
{
	hdrbuild_kv(b, "helo", s);
}

static void
test_kv(void)
{
	struct hdrbuild	 b;
	struct ar_ref	 ar;
	const char	*hostile = "\"x\"; identity=helo; (y";

	is_str(w(kv_helo, "mx.example"), " helo=mx.example;", "kv: a dot-atom");
	is_str(w(kv_helo, "a=b"), " helo=\"a=b\";", "kv: '=' is quoted");
	is_str(w(kv_helo, "a..b"), " helo=\"a..b\";", "kv: no dot-atom");
	hdrbuild_init(&b);
	hdrbuild_text(&b, "pass ");
	hdrbuild_comment(&b, "c) identity=helo (");
	hdrbuild_kv(&b, "client-ip", "192.0.2.1");
	hdrbuild_kv(&b, "client-ip6", "2001:db8::1");
	hdrbuild_kv(&b, "envelope-from", hostile);
	hdrbuild_kv(&b, "helo", "x;identity=helo");
	hdrbuild_kv(&b, "identity", "mailfrom");
	free(out);
	out = hdrbuild_take(&b);
	ok(strncmp(out, "pass (c\\) identity=helo \\() client-ip=192.0.2.1; "
	    "client-ip6=\"2001:db8::1\";", 56) == 0, "dot-atom or quoted");
	ok(ar_ref_read_spf(out, &ar) == 0 && ar.npairs == 5 &&
	    strcmp(ar.spf_result, "pass") == 0 &&
	    strcmp(ar.pairs[2].value, hostile) == 0 &&
	    strcmp(ar.pairs[3].value, "x;identity=helo") == 0 &&
	    strcmp(ar.pairs[4].name, "identity") == 0 &&
	    strcmp(ar.pairs[4].value, "mailfrom") == 0,
	    "read back: five pairs, the values unchanged");
}

static void
test_field(void)
{
	is_str(field("v=1; a=rsa-sha256;\r\n\tb=abc"),
	    "v=1; a=rsa-sha256;\r\n\tb=abc", "a folded value stays");
	is_str(field("YES\r\nX-Evil: 1"), "YES\r\n\tX-Evil: 1",
	    "CRLF and a field: folded into this one");
	is_str(field("a\nb\rc"), "a\r\n\tb\r\n\tc", "bare LF, bare CR");
	is_str(field("a\n b"), "a\r\n b", "an LF fold becomes CRLF");
	is_str(field("a\r\n \t\r\n\r\nb"), "a\r\n\tb",
	    "blank lines dropped");
	is_str(field("a\r\n"), "a", "a final line break dropped");
	is_str(field("a\r\n  "), "a", "and blanks after it");
	is_str(field("\r\nX-Evil: 1"), "\r\n\tX-Evil: 1",
	    "a value that starts with a break");
	is_str(field("a\x01\x7f\tb\xc3\xa9"), "a??\tb\xc3\xa9",
	    "control bytes '?'; tab and UTF-8 stay");
	is_str(field(""), "", "empty");
}

int
main(void)
{
	test_classes();
	test_writers();
	test_kv();
	test_field();
	free(out);
	return tap_done();
}
