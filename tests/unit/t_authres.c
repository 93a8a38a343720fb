/*
 * t_authres.c - policy/authres.c: which incoming Authentication-Results
 * values claim our authserv-id (case, comments, folding, versions,
 * quoted ids, look-alikes), and how results are appended.
 */
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "tap.h"

#define ID	"mx.example.net"

static int
ours(const char *v)
{
	return authres_is_ours(v, strlen(v), ID);
}

int
main(void)
{
	char	*v, *w;

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

	v = authres_append(ID, "spf=pass smtp.mailfrom=a@example.com");
	w = authres_append(v, "spf=none smtp.helo=h.example");
	is_str(w, ID ";\r\n\tspf=pass smtp.mailfrom=a@example.com;\r\n\t"
	    "spf=none smtp.helo=h.example", "two results, one a line");
	ok(authres_is_ours(w, strlen(w), ID), "our own header reads as ours");
	free(v);
	free(w);
	return tap_done();
}
