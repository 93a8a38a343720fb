/* SPDX-License-Identifier: ISC */
/*
 * t_authres.c - policy/authres.c: which incoming Authentication-Results
 * values claim our authserv-id (case, comments, folding, versions,
 * quoted ids, look-alikes), and how results are added: read back with
 * the reference reader (ar_ref.h), hostile values, comments and ids
 * (issue 12's payloads among them) give exactly the results meant.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/authres.h"
#include "ar_ref.h"
#include "tap.h"

#define ID	"mx.example.net"
#define nitems_t(a)	(sizeof(a) / sizeof((a)[0]))

static int
ours(const char *v)
{
	return authres_is_ours(v, strlen(v), ID);
}

/* One result with one property of value val, read back. */
static int
one(const char *method, const char *comment, const char *prop,
    const char *val, struct ar_ref *ar, char **out)
{
	struct authres_prop	 p = { prop, val };

	*out = NULL;
	authres_add(out, ID, method, "none", comment, &p, 1);
	return ar_ref_read(*out, ar) == 0 && ar->nres == 1 &&
	    strcmp(ar->id, ID) == 0 && ar->res[0].nprops == 1 &&
	    strcmp(ar->res[0].method, method) == 0 &&
	    strcmp(ar->res[0].props[0].name, prop) == 0 &&
	    authres_is_ours(*out, strlen(*out), ID);
}

static void
test_add(void)
{
	struct authres_prop	 d[3] = { { "header.d", "example.com" },
	    { "header.s", "sel" }, { "header.a", "rsa-sha256" } };
	struct authres_prop	 m = { "smtp.mailfrom", "a@example.com" };
	struct ar_ref		 ar;
	char			*v = NULL;

	authres_add(&v, ID, "spf", "pass", NULL, &m, 1);
	is_str(v, ID ";\r\n\tspf=pass smtp.mailfrom=a@example.com",
	    "the first result starts the value");
	m.name = "smtp.helo";
	m.value = "h.example";
	authres_add(&v, ID, "spf", "none", "", &m, 1);
	authres_add(&v, ID, "dkim", "fail", "bad (sig)", d, 3);
	is_str(v, ID ";\r\n\tspf=pass smtp.mailfrom=a@example.com;\r\n\t"
	    "spf=none smtp.helo=h.example;\r\n\tdkim=fail (bad \\(sig\\)) "
	    "header.d=example.com header.s=sel header.a=rsa-sha256",
	    "one result a line, a comment escaped");
	ok(authres_is_ours(v, strlen(v), ID), "our own header reads as ours");
	ok(ar_ref_read(v, &ar) == 0 && ar.nres == 3 &&
	    ar.res[2].nprops == 3 && strcmp(ar.res[2].result, "fail") == 0,
	    "read back: three results, three properties in the last");
	free(v);
	v = NULL;
	authres_add(&v, "id with space", "dkim", "none", NULL, NULL, 0);
	ok(ar_ref_read(v, &ar) == 0 && strcmp(ar.id, "id with space") == 0 &&
	    authres_is_ours(v, strlen(v), "id with space"),
	    "an id that is no token is quoted, and still ours");
	free(v);
}

static void
test_hostile(void)
{
	static const char *const vals[] = {
		"\"\\\";dkim=pass header.d=bank.test reason=\"@attacker.test",
		"x;dkim=pass",
		"\"a\"\"@b.example",
		"a b@example.com",
		"@example.com",
		"a=b@example.com",
		"\"\\\"\"",
		"\\",
		"",
		"(x) dkim=pass (",
		"a@b@c.example",
		"a@example.com; dkim=pass",
		"[192.0.2.1]",
		"user@[192.0.2.1]",
	};
	struct authres_prop	 d[2] = { { "header.d", "bank.test; x=y" },
	    { "header.s", "sel" } };
	struct ar_ref		 ar;
	char			*v;
	size_t			 i;

	for (i = 0; i < nitems_t(vals); i++) {
		ok(one("spf", NULL, "smtp.mailfrom", vals[i], &ar, &v) &&
		    strcmp(ar.res[0].props[0].value, vals[i]) == 0,
		    "value '%s': one result, read back unchanged", vals[i]);
		free(v);
	}
	ok(one("spf", NULL, "smtp.helo", "a\r\n\tX: b\x01\xff", &ar, &v) &&
	    strcmp(ar.res[0].props[0].value, "a???X: b??") == 0,
	    "bytes outside printable ASCII: '?'");
	free(v);
	ok(one("dkim", ") dkim=pass (", "header.d", "x", &ar, &v) &&
	    strstr(v, "(\\) dkim=pass \\()") != NULL,
	    "a comment cannot end early");
	free(v);
	ok(one("dkim", "\\", "header.d", "x", &ar, &v),
	    "a comment cannot escape its end");
	free(v);
	v = NULL;
	authres_add(&v, ID, "dkim", "neutral", NULL, d, 2);
	ok(ar_ref_read(v, &ar) == 0 && ar.nres == 1 &&
	    ar.res[0].nprops == 2 &&
	    strcmp(ar.res[0].props[0].name, "header.s") == 0 &&
	    strcmp(ar.res[0].props[1].value, "bank.test; x=y") == 0,
	    "a quoted value is written last");
	free(v);
}

int
main(void)
{
	ok(ours(" mx.example.net; spf=pass smtp.mailfrom=a@b"), "plain");
	ok(ours(" MX.Example.NET; spf=pass"), "case-insensitive");
	ok(ours("\r\n\tmx.example.net;\r\n\tspf=pass"), "folded");
	ok(ours(" (forged) mx.example.net (really) 1; dkim=pass"),
	    "comments and a version");
	ok(ours(" (a (nested) one) \"mx.example.net\"; none"), "quoted id");
	ok(ours(" mx.example.net"), "an id with nothing after it");
	ok(!ours(" mx.example.net.evil; spf=pass"), "a longer id");
	ok(!ours(" evil.mx.example.net; spf=pass"), "a subdomain");
	ok(!ours(" other.example; spf=pass smtp.mailfrom=mx.example.net"),
	    "our name elsewhere in the value");
	ok(!ours(" mx.example.net x; spf=pass"), "junk after the id");
	ok(!ours(" (unclosed mx.example.net; spf=pass"), "unclosed comment");
	ok(!ours(" \"mx.example.net; spf=pass"), "unclosed quote");
	ok(!ours(""), "empty");
	ok(!ours(" ; spf=pass"), "no id");

	test_add();
	test_hostile();
	return tap_done();
}
