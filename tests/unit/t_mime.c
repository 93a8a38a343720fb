/* SPDX-License-Identifier: ISC */
/*
 * t_mime.c - unit tests for proto/mime.c: RFC 2047 header decoding (the
 * examples of RFC 2047 section 8, Q and B, malformed words, truncation)
 * and the body walker.  Every body case is run whole, one byte at a time,
 * split in two at every offset (short cases) and in pseudo-random chunks;
 * the text given to the callback, joined, must be the same every time.
 * test_random() builds MIME-ish bodies from fragments rich in boundaries,
 * '=' and base64 and checks the same invariance.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mime.h"
#include "tap.h"

#define WHOLE	0
#define BYTES	1
#define RANDOM	2
#define SPLIT	3		/* at offset seed */

struct buf {
	unsigned char	*p;
	size_t		 len, cap;
};

static uint32_t	rnd_state = 12345;

static uint32_t	rnd(void);
static void	collect(void *, const unsigned char *, size_t);
static int	equal(const struct buf *, const struct buf *);
static void	run(const char *, const char *, const unsigned char *,
		    size_t, int, uint32_t, size_t, size_t, struct buf *);
static int	invariant(const char *, const char *, const unsigned char *,
		    size_t, size_t, size_t, struct buf *);
static void	body_case(const char *, const char *, const char *,
		    const char *, size_t, size_t, const char *);
static void	hdr(const char *, const char *, const char *);
static void	test_header(void);
static void	test_header_trunc(void);
static void	test_bodies(void);
static void	test_multipart(void);
static void	test_nested(void);
static void	test_limits(void);
static void	test_long(void);
static void	test_random(void);

static uint32_t
rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

static void
collect(void *arg, const unsigned char *p, size_t n)
{
	struct buf	*b = arg;

	if (n == 0)
		return;
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static int
equal(const struct buf *a, const struct buf *b)
{
	return a->len == b->len &&
	    (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* One walk over body; ct and cte may be NULL (no such header). */
static void
run(const char *ct, const char *cte, const unsigned char *body, size_t len,
    int mode, uint32_t seed, size_t depth, size_t parts, struct buf *out)
{
	struct mime	*m;
	size_t		 off = 0, n;

	out->len = 0;
	m = mime_new(depth, parts);
	mime_header(m, "Subject", "ignored", 7);
	if (ct != NULL)
		mime_header(m, "Content-Type", ct, strlen(ct));
	if (cte != NULL)
		mime_header(m, "Content-Transfer-Encoding", cte,
		    strlen(cte));
	rnd_state = seed;
	while (off < len) {
		if (mode == WHOLE)
			n = len;
		else if (mode == BYTES)
			n = 1;
		else if (mode == SPLIT)
			n = (off == 0 && seed > 0) ? seed : len - off;
		else
			n = 1 + rnd() % ((rnd() & 1) ? 7 : 300);
		if (n > len - off)
			n = len - off;
		mime_body(m, body + off, n, collect, out);
		off += n;
	}
	mime_finish(m, collect, out);
	mime_free(m);
}

/* Whole run into out; 1 if every other chunking gave the same. */
static int
invariant(const char *ct, const char *cte, const unsigned char *body,
    size_t len, size_t depth, size_t parts, struct buf *out)
{
	struct buf	 b = { NULL, 0, 0 };
	uint32_t	 s;
	int		 same = 1;

	run(ct, cte, body, len, WHOLE, 0, depth, parts, out);
	run(ct, cte, body, len, BYTES, 0, depth, parts, &b);
	same &= equal(&b, out);
	for (s = 1; s < 20; s++) {
		run(ct, cte, body, len, RANDOM, s * 7919, depth, parts, &b);
		same &= equal(&b, out);
	}
	for (s = 1; len < 2000 && s < len; s++) {
		run(ct, cte, body, len, SPLIT, s, depth, parts, &b);
		same &= equal(&b, out);
	}
	free(b.p);
	return same;
}

static void
body_case(const char *name, const char *ct, const char *cte,
    const char *body, size_t depth, size_t parts, const char *want)
{
	struct buf	 out = { NULL, 0, 0 };

	/* Never NULL, even for no text: is_mem() hands it to memcmp(). */
	if ((out.p = malloc(16)) == NULL)
		abort();
	out.cap = 16;
	ok(invariant(ct, cte, (const unsigned char *)body, strlen(body),
	    depth, parts, &out), "%s: same text in every chunking", name);
	is_mem(out.p, out.len, want, strlen(want), "%s: text", name);
	free(out.p);
}

static void
hdr(const char *name, const char *in, const char *want)
{
	char	 out[256];
	size_t	 n;

	n = mime_header_decode(in, strlen(in), out, sizeof(out));
	is_mem(out, n, want, strlen(want), "header %s", name);
	ok(out[n] == '\0', "header %s: NUL-terminated", name);
}

static void
test_header(void)
{
	/* RFC 2047 section 8. */
	hdr("rfc2047 from", "=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>",
	    "Keith Moore <moore@cs.utk.edu>");
	hdr("rfc2047 to", "=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= "
	    "<keld@dkuug.dk>", "Keld J\xf8rn Simonsen <keld@dkuug.dk>");
	hdr("rfc2047 cc", "=?ISO-8859-1?Q?Andr=E9?= Pirard "
	    "<PIRARD@vm1.ulg.ac.be>", "Andr\xe9 Pirard <PIRARD@vm1.ulg.ac.be>");
	hdr("rfc2047 subject",
	    "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
	    "    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
	    "If you can read this you understand the example.");
	hdr("rfc2047 (a)", "(=?ISO-8859-1?Q?a?=)", "(a)");
	hdr("rfc2047 (a b)", "(=?ISO-8859-1?Q?a?= b)", "(a b)");
	hdr("rfc2047 (ab)", "(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)");
	hdr("rfc2047 (ab) 2 sp", "(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)",
	    "(ab)");
	hdr("rfc2047 (ab) folded",
	    "(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)");
	hdr("rfc2047 (a b) _", "(=?ISO-8859-1?Q?a_b?=)", "(a b)");
	hdr("rfc2047 (a b) 2 charsets",
	    "(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)");
	/* Others. */
	hdr("leading blanks, fold", " \r\n\tplain  text", "plain  text");
	hdr("Q underscores", "=?utf-8?q?Buy_cheap__pills?=",
	    "Buy cheap  pills");
	hdr("Q hex either case", "=?utf-8?Q?=3d=3D=e9?=", "==\xe9");
	hdr("Q invalid =", "=?utf-8?Q?a=Z1b=?=", "a=Z1b=");
	hdr("B lower case b", "=?utf-8?b?QnV5IGNoZWFwIHBpbGxzIG5vdw==?=",
	    "Buy cheap pills now");
	hdr("B no padding", "=?utf-8?B?SGk?=", "Hi");
	hdr("language", "=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore");
	hdr("mixed", "Re: =?utf-8?B?SGk=?= and =?utf-8?Q?more_text?=!",
	    "Re: Hi and more text!");
	hdr("text between words", "=?a?Q?x?= y =?a?Q?z?=", "x y z");
	hdr("word inside text", "free=?utf-8?Q?V=69agra?=now",
	    "freeViagranow");
	hdr("bad base64", "=?utf-8?B?SGk!?= x", "=?utf-8?B?SGk!?= x");
	hdr("bad base64 len", "=?utf-8?B?SGVsb?=", "=?utf-8?B?SGVsb?=");
	hdr("unknown encoding", "=?utf-8?X?abc?=", "=?utf-8?X?abc?=");
	hdr("missing ?=", "=?utf-8?Q?abc def", "=?utf-8?Q?abc def");
	hdr("empty charset", "=??Q?abc?=", "=??Q?abc?=");
	hdr("space in word", "=?utf-8?Q?a b?=", "=?utf-8?Q?a b?=");
	hdr("malformed then good", "=?x?Q?a =?x?Q?b?=", "=?x?Q?a b");
	hdr("bad word, blank, good word", "=?x?Z?a?= =?x?Q?b?=",
	    "=?x?Z?a?= b");
	hdr("empty", "", "");
	hdr("lone =?", "=?", "=?");
}

static void
test_header_trunc(void)
{
	char	 out[8];
	size_t	 n;
	const char *v = "=?utf-8?Q?Buy_cheap_pills?=";

	memset(out, 'X', sizeof(out));
	n = mime_header_decode(v, strlen(v), out, 5);
	is_mem(out, n, "Buy ", 4, "truncated to outsz - 1");
	ok(out[4] == '\0' && out[5] == 'X', "NUL at 4, nothing past outsz");
	n = mime_header_decode(v, strlen(v), out, 1);
	ok(n == 0 && out[0] == '\0', "outsz 1: empty string");
	out[0] = 'X';
	n = mime_header_decode(v, strlen(v), out, 0);
	ok(n == 0 && out[0] == 'X', "outsz 0: nothing written");
	n = mime_header_decode("abcdefghij", 10, out, sizeof(out));
	is_mem(out, n, "abcdefg", 7, "plain text truncated");
	n = mime_header_decode("=?a?B?SGVsbG8gd29y?=", 20, out, 4);
	is_mem(out, n, "Hel", 3, "B truncated");
	n = mime_header_decode("=?a?Q?x?=\0tail", 14, out, sizeof(out));
	is_mem(out, n, "x\0tail", 6, "length-bounded, NUL inside kept");
}

static void
test_bodies(void)
{
	body_case("plain, no Content-Type", NULL, NULL,
	    "Hello\r\nWorld\r\n", 8, 100, "Hello\r\nWorld\r\n");
	body_case("plain, no final CRLF", "text/plain", "7bit",
	    "Hello\r\nWorld", 8, 100, "Hello\r\nWorld");
	body_case("empty body", "text/plain", NULL, "", 8, 100, "");
	body_case("bare LF kept", NULL, NULL, "a\nb\n", 8, 100, "a\nb\n");
	body_case("QP soft breaks", "text/plain; charset=utf-8",
	    "quoted-printable",
	    "Fr=C3=a9e V=\r\niagra =3d cheap=\r\n\r\npad=  \r\nding\r\n"
	    "bad =ZZ =4 =\rx end=\r\n", 8, 100,
	    "Fr\xc3\xa9" "e Viagra = cheap\r\npadding\r\nbad =ZZ =4 =\rx end");
	body_case("QP LF soft break", NULL, "Quoted-Printable",
	    "a=\nb=3D\n", 8, 100, "ab=\n");
	body_case("base64 text", "text/plain", "base64",
	    "SGVsbG8gV29y\r\nbGQhDQpTZWNv\r\nbmQgbGluZQ0K\r\n", 8, 100,
	    "Hello World!\r\nSecond line\r\n");
	body_case("base64 junk and stop at =", "TEXT/PLAIN", "BASE64",
	    "Qn V5!IGNo\tZWFw*IHBp\r\nbGxzIG5vdw==\r\nSGk=\r\n", 8, 100,
	    "Buy cheap pills now");
	body_case("base64 partial at end", NULL, "base64", "SGVsbG8gd29", 8,
	    100, "Hello wo");
	body_case("not text: skipped", "application/octet-stream", "base64",
	    "JVBERi0xLjQgYmluYXJ5\r\n", 8, 100, "");
	body_case("unparsable type is text", "garbage", NULL, "x\r\n", 8,
	    100, "x\r\n");
	body_case("multipart without boundary: as text", "multipart/mixed",
	    NULL, "--x\r\nhi\r\n", 8, 100, "--x\r\nhi\r\n");
}

static void
test_multipart(void)
{
	body_case("multipart/alternative",
	    "multipart/alternative; boundary=\"b1\"", NULL,
	    "preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\n"
	    "Buy now\r\n\r\n--b1  \r\nContent-Type: text/html\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "<b>Buy=\r\n now</b>\r\n--b1--\r\nepilogue\r\n", 8, 100,
	    "Buy now\r\n\r\n<b>Buy now</b>");
	body_case("multipart/mixed, base64 attachment skipped",
	    "Multipart/Mixed;\r\n\tBOUNDARY=frontier ; x=y", NULL,
	    "--frontier\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	    "YXR0YWNoZWQgdGV4dA==\r\n--frontier\r\n"
	    "Content-Type: application/pdf; name=\"a.pdf\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "JVBERi0xLjQgYmluYXJ5\r\n--frontier\r\n"
	    "Content-Type: image/png\r\n\r\nBuy now\r\n--frontier--\r\n",
	    8, 100, "attached text");
	body_case("folded part headers, quoted boundary with blank",
	    "multipart/mixed; boundary=\"a b\"", NULL,
	    "--a b\r\nContent-Type:\r\n multipart/alternative;\r\n"
	    "\tboundary=\"in\\\"ner\"\r\n\r\n--in\"ner\r\n\r\nx\r\n"
	    "--in\"ner--\r\n--a b--\r\n", 8, 100, "x");
	body_case("part without headers, first line not a field",
	    "multipart/mixed; boundary=b", NULL,
	    "--b\r\n\r\none\r\n--b\r\ntwo: is a field\r\nthree\r\n--b--",
	    8, 100, "one\r\nthree");
	body_case("boundary look-alikes",
	    "multipart/mixed; boundary=\"BB\"", NULL,
	    "--BB\r\n\r\nline\r\n--BBX\r\n---BB\r\n --BB\r\n"
	    "text --BB\r\n--BB-- x\r\n--BB--x\r\n--B\r\n-- BB\r\n"
	    "--BB\rx\r\nend\r\n--BB--\r\nafter\r\n", 8, 100,
	    "line\r\n--BBX\r\n---BB\r\n --BB\r\ntext --BB\r\n--BB-- x\r\n"
	    "--BB--x\r\n--B\r\n-- BB\r\n--BB\rx\r\nend");
	body_case("missing closing boundary: finish flushes",
	    "multipart/mixed; boundary=b", NULL,
	    "--b\r\nContent-Type: text/plain\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8gd29\r\n",
	    8, 100, "Hello wo");
	body_case("missing closing boundary, QP, held CRLF given",
	    "multipart/mixed; boundary=b", NULL,
	    "--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "a=41\r\n", 8, 100, "aA\r\n");
	body_case("closing boundary at end without CRLF",
	    "multipart/mixed; boundary=b", NULL,
	    "--b\r\n\r\nx\r\n--b--", 8, 100, "x");
	body_case("empty text parts still separated",
	    "multipart/mixed; boundary=b", NULL,
	    "--b\r\n\r\n--b\r\n\r\n--b--\r\n", 8, 100, "\r\n");
	body_case("multipart/digest defaults to message/rfc822",
	    "multipart/digest; boundary=d", NULL,
	    "--d\r\n\r\nSubject: m1\r\n\r\nfirst\r\n--d\r\n"
	    "Content-Type: text/plain\r\n\r\nsecond\r\n--d--\r\n", 8, 100,
	    "first\r\nsecond");
}

static void
test_nested(void)
{
	body_case("nested multipart",
	    "multipart/mixed; boundary=outer", NULL,
	    "--outer\r\nContent-Type: multipart/alternative; boundary=inner"
	    "\r\n\r\ninner preamble\r\n--inner\r\n\r\nplain\r\n--inner\r\n"
	    "Content-Type: text/html\r\n\r\n<p>html</p>\r\n--inner--\r\n"
	    "inner epilogue\r\n--outer\r\nContent-Type: application/zip\r\n"
	    "\r\nPK\r\n--outer\r\n\r\nlast\r\n--outer--\r\n", 8, 100,
	    "plain\r\n<p>html</p>\r\nlast");
	body_case("outer boundary closes inner parts",
	    "multipart/mixed; boundary=outer", NULL,
	    "--outer\r\nContent-Type: multipart/alternative; boundary=inner"
	    "\r\n\r\n--inner\r\n\r\nunclosed\r\n--outer\r\n\r\nnext\r\n"
	    "--inner\r\n--outer--\r\n", 8, 100,
	    "unclosed\r\nnext\r\n--inner");
	body_case("message/rfc822 part",
	    "multipart/mixed; boundary=m", NULL,
	    "--m\r\n\r\nouter text\r\n--m\r\nContent-Type: message/rfc822\r\n"
	    "\r\nFrom: a@b\r\nSubject: fwd\r\nContent-Type: multipart/mixed;"
	    " boundary=x\r\n\r\n--x\r\nContent-Transfer-Encoding: "
	    "quoted-printable\r\n\r\nV=69agra\r\n--x--\r\n--m--\r\n", 8, 100,
	    "outer text\r\nViagra");
	body_case("top-level message/rfc822", "message/rfc822", NULL,
	    "Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\nSGk=\r\n",
	    8, 100, "Hi");
	body_case("message/rfc822 without header end", "message/rfc822",
	    NULL, "Subject: x\r\nbody starts\r\n", 8, 100, "body starts\r\n");
}

static void
test_limits(void)
{
	const char *nest = "--o\r\nContent-Type: multipart/mixed; "
	    "boundary=i\r\n\r\n--i\r\n\r\ninner\r\n--i--\r\n--o\r\n\r\n"
	    "outer\r\n--o--\r\n";
	const char *many = "--p\r\n\r\n1\r\n--p\r\n\r\n2\r\n--p\r\n\r\n3\r\n"
	    "--p--\r\n";

	body_case("max_depth 2", "multipart/mixed; boundary=o", NULL, nest,
	    2, 100, "inner\r\nouter");
	body_case("max_depth 1: inner multipart opaque",
	    "multipart/mixed; boundary=o", NULL, nest, 1, 100, "outer");
	body_case("max_depth 0: all opaque", "multipart/mixed; boundary=o",
	    NULL, nest, 0, 100, "");
	body_case("max_depth 0: plain text still given", NULL, NULL, "t\r\n",
	    0, 100, "t\r\n");
	body_case("max_depth 0: message/rfc822 opaque", "message/rfc822",
	    NULL, "\r\nx\r\n", 0, 100, "");
	body_case("max_parts 3", "multipart/mixed; boundary=p", NULL, many,
	    8, 3, "1\r\n2\r\n3");
	body_case("max_parts 2", "multipart/mixed; boundary=p", NULL, many,
	    8, 2, "1\r\n2");
	body_case("max_parts 0", "multipart/mixed; boundary=p", NULL, many,
	    8, 0, "");
}

/* Lines over the line buffer, a header block over 64 KiB. */
static void
test_long(void)
{
	struct buf	 out = { NULL, 0, 0 };
	char		*b, *w;
	size_t		 n = 200000, i, len;

	b = malloc(n + 1000);
	w = malloc(n + 1000);
	if (b == NULL || w == NULL)
		abort();
	len = (size_t)snprintf(b, 1000, "--b\r\n\r\n");
	for (i = 0; i < n; i++)
		b[len + i] = (char)('a' + i % 26);
	memcpy(w, b + len, n);
	memcpy(w + n, "\r\nnext", 6);
	len += n;
	len += (size_t)snprintf(b + len, 1000,
	    "\r\n--b\r\n\r\nnext\r\n--b--\r\n");
	ok(invariant("multipart/mixed; boundary=b", NULL,
	    (unsigned char *)b, len, 8, 100, &out), "long line: invariant");
	is_mem(out.p, out.len, w, n + 6, "long line passed in pieces");

	len = (size_t)snprintf(b, 1000, "--b\r\n");
	for (i = 0; len < 70000; i++)
		len += (size_t)snprintf(b + len, 1000, "X-Pad-%zu: %050zu\r\n",
		    i, i);
	len += (size_t)snprintf(b + len, 1000,
	    "\r\nhidden\r\n--b\r\n\r\nseen\r\n--b--\r\n");
	ok(invariant("multipart/mixed; boundary=b", NULL,
	    (unsigned char *)b, len, 8, 100, &out), "big header: invariant");
	is_mem(out.p, out.len, "seen", 4, "header block > 64 KiB: opaque");
	free(out.p);
	free(b);
	free(w);
}

/* Random bodies from fragments: chunking must not matter. */
static void
test_random(void)
{
	static const char *frag[] = {
		"--a\r\n", "--a--\r\n", "--b\r\n", "--b--\r\n", "\r\n",
		"Content-Type: multipart/mixed; boundary=b\r\n",
		"Content-Type: message/rfc822\r\n",
		"Content-Type: text/html\r\n",
		"Content-Transfer-Encoding: base64\r\n",
		"Content-Transfer-Encoding: quoted-printable\r\n",
		"Content-Type: image/gif\r\n", " continued\r\n",
		"SGVsbG8gd29y", "=3D", "=", "=\r\n", "= \r\n", "\r", "\n",
		"text ", "=4", "--a", "--b", "x: y\r\n", "abc",
	};
	struct buf	 out = { NULL, 0, 0 };
	unsigned char	 body[2048];
	size_t		 len, i;
	int		 all = 1, k;
	uint32_t	 seed = 4242;

	for (k = 0; k < 300; k++) {
		rnd_state = seed;
		for (len = 0; len < sizeof(body) - 64 && rnd() % 60 != 0;) {
			i = rnd() % (sizeof(frag) / sizeof(frag[0]));
			memcpy(body + len, frag[i], strlen(frag[i]));
			len += strlen(frag[i]);
		}
		seed = rnd_state;
		all &= invariant(k % 2 ? "multipart/mixed; boundary=a" :
		    "message/rfc822", k % 3 ? NULL : "quoted-printable", body,
		    len, 1 + k % 4, 1 + k % 9, &out);
		rnd_state = seed;
	}
	ok(all, "300 random bodies: same text in every chunking");
	free(out.p);
}

int
main(void)
{
	test_header();
	test_header_trunc();
	test_bodies();
	test_multipart();
	test_nested();
	test_limits();
	test_long();
	test_random();
	return tap_done();
}
