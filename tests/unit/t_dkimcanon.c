/* SPDX-License-Identifier: ISC */
/*
 * t_dkimcanon.c - unit tests for proto/dkimcanon.c: RFC 6376 3.4.5's
 * example (both canonicalizations, header and body), header fields with
 * folds, tabs, colons and spaces at either end, the body cases (empty
 * lines at the end, whitespace runs, an empty body, a last line without
 * CRLF, a CR or LF alone, 8-bit bytes) whole and in chunks of every
 * size up to 7 (their lengths are those libopendkim reports for them,
 * and fuzz_dkim_verify compares the two), and a body larger than the
 * sink's run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "proto/dkimcanon.h"
#include "tap.h"

static void
sink(void *arg, const unsigned char *p, size_t len)
{
	util_buf_add(arg, p, len);
}

/* The canonicalized body (NUL-terminated in out) and its length, the
 * body given in chunks of chunk bytes. */
static size_t
body(struct util_buf *out, int relaxed, const char *in, size_t len,
    size_t chunk)
{
	struct dkimcanon_body	 b;
	size_t			 i, n, total;

	out->len = 0;
	dkimcanon_body_init(&b, relaxed, sink, out);
	for (i = 0; i < len; i += n) {
		n = len - i < chunk ? len - i : chunk;
		dkimcanon_body_add(&b, (const unsigned char *)in + i, n);
	}
	total = dkimcanon_body_end(&b);
	util_buf_add(out, "", 1);
	out->len--;
	return total;
}

static const char *
header(struct util_buf *out, int relaxed, const char *name,
    const char *value, int crlf)
{
	out->len = 0;
	dkimcanon_header(out, relaxed, name, strlen(name), value,
	    strlen(value), crlf);
	util_buf_add(out, "", 1);
	return (const char *)out->p;
}

/* RFC 6376 3.4.5: "A: X", "B : Y<TAB><CRLF><TAB>Z  " and the body
 * " C <CRLF>D <TAB> E<CRLF><CRLF><CRLF>". */
static void
test_rfc6376_example(void)
{
	static const char	 b[] = " C \r\nD \t E\r\n\r\n\r\n";
	struct util_buf		 out = { NULL, 0, 0 };

	is_str(header(&out, 1, "A", " X", 1), "a:X\r\n", "relaxed A");
	is_str(header(&out, 1, "B ", " Y\t\r\n\tZ  ", 1), "b:Y Z\r\n",
	    "relaxed B: the fold and the runs are one space");
	is_str(header(&out, 0, "A", " X", 1), "A: X\r\n", "simple A");
	is_str(header(&out, 0, "B ", " Y\t\r\n\tZ  ", 1),
	    "B : Y\t\r\n\tZ  \r\n", "simple B: unchanged");
	is_int(body(&out, 1, b, sizeof(b) - 1, 1 << 20), 9,
	    "relaxed body length");
	is_str((char *)out.p, " C\r\nD E\r\n", "relaxed body");
	is_int(body(&out, 0, b, sizeof(b) - 1, 1 << 20), 12,
	    "simple body length");
	is_str((char *)out.p, " C \r\nD \t E\r\n", "simple body");
	util_buf_free(&out);
}

static void
test_headers(void)
{
	struct util_buf	 out = { NULL, 0, 0 };

	is_str(header(&out, 1, "Subject", " a: b\t c ", 1), "subject:a: b c\r\n",
	    "a colon in the value stays, its space too");
	is_str(header(&out, 1, "X-Empty", "", 1), "x-empty:\r\n",
	    "empty value");
	is_str(header(&out, 1, "X-Blank", " \t \r\n ", 1), "x-blank:\r\n",
	    "only blanks and a fold");
	is_str(header(&out, 1, "To", " a,\r\n b,\r\n\tc", 1), "to:a, b, c\r\n",
	    "folds");
	is_str(header(&out, 1, "X-8bit", " \xc3\xa9t\xc3\xa9", 1),
	    "x-8bit:\xc3\xa9t\xc3\xa9\r\n", "8-bit bytes unchanged");
	is_str(header(&out, 1, "DKIM-Signature", " v=1; b=", 0),
	    "dkim-signature:v=1; b=", "without the final CRLF");
	is_str(header(&out, 0, "DKIM-Signature", " v=1;\r\n\tb=", 0),
	    "DKIM-Signature: v=1;\r\n\tb=", "simple, without CRLF");
	util_buf_free(&out);
}

static void
test_bodies(void)
{
	static const struct {
		const char	*in;
		const char	*simple, *relaxed;
		const char	*what;
	} t[] = {
		{ "Hello.\r\nSecond line.\r\n", "Hello.\r\nSecond line.\r\n",
		    "Hello.\r\nSecond line.\r\n", "plain lines" },
		{ "Hello.   \r\nSecond  line.\t\r\n\r\n\r\n",
		    "Hello.   \r\nSecond  line.\t\r\n",
		    "Hello.\r\nSecond line.\r\n",
		    "whitespace and empty lines at the end" },
		{ "", "\r\n", "", "empty body" },
		{ "\r\n\r\n", "\r\n", "", "only empty lines" },
		{ "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n",
		    "an empty line inside" },
		{ "  a  b \r\n", "  a  b \r\n", " a b\r\n",
		    "leading whitespace: one SP" },
		{ " \t \r\nx\r\n", " \t \r\nx\r\n", "\r\nx\r\n",
		    "a blank line is empty in relaxed" },
		{ "a\r\n \r\n\t\r\n", "a\r\n \r\n\t\r\n", "a\r\n",
		    "blank lines at the end: gone in relaxed" },
		{ "abc", "abc\r\n", "abc\r\n", "no CRLF at the end" },
		{ "abc  ", "abc  \r\n", "abc\r\n",
		    "trailing whitespace without CRLF" },
		{ "a\r\n\r\nb", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n",
		    "empty line before a last line" },
		{ "a\rb\nc\r\n", "a\rb\nc\r\n", "a\rb\nc\r\n",
		    "a CR or LF alone is text" },
		{ "a \r\r\n", "a \r\r\n", "a \r\r\n",
		    "CR CR LF: the first CR is text" },
		{ "\xff\x80 \xfe\r\n", "\xff\x80 \xfe\r\n", "\xff\x80 \xfe\r\n",
		    "bare 8-bit" },
	};
	struct util_buf	 out = { NULL, 0, 0 };
	size_t		 i, c, n;
	int		 same;

	for (i = 0; i < nitems(t); i++) {
		n = strlen(t[i].in);
		is_int(body(&out, 0, t[i].in, n, 1 << 20),
		    strlen(t[i].simple), "simple length: %s", t[i].what);
		is_str((char *)out.p, t[i].simple, "simple: %s", t[i].what);
		is_int(body(&out, 1, t[i].in, n, 1 << 20),
		    strlen(t[i].relaxed), "relaxed length: %s", t[i].what);
		is_str((char *)out.p, t[i].relaxed, "relaxed: %s",
		    t[i].what);
		same = 1;
		for (c = 1; c < 8; c++) {
			body(&out, 0, t[i].in, n, c);
			same &= strcmp((char *)out.p, t[i].simple) == 0;
			body(&out, 1, t[i].in, n, c);
			same &= strcmp((char *)out.p, t[i].relaxed) == 0;
		}
		ok(same, "the same in chunks of 1 to 7: %s", t[i].what);
	}
	util_buf_free(&out);
}

/* More than one run of the sink, and the count without a sink. */
static void
test_long(void)
{
	struct util_buf		 in = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct dkimcanon_body	 b;
	size_t			 i;

	for (i = 0; i < 3000; i++)
		util_buf_add(&in, "line   with  runs \r\n", 20);
	is_int(body(&out, 1, (char *)in.p, in.len, 4093), 3000 * 16,
	    "relaxed: 3000 lines");
	ok(out.len == 3000 * 16 && memcmp(out.p + 16 * 2999,
	    "line with runs\r\n", 16) == 0, "the last line");
	dkimcanon_body_init(&b, 0, NULL, NULL);
	dkimcanon_body_add(&b, in.p, in.len);
	is_int(dkimcanon_body_end(&b), in.len, "counted without a sink");
	util_buf_free(&in);
	util_buf_free(&out);
}

int
main(void)
{
	test_rfc6376_example();
	test_headers();
	test_bodies();
	test_long();
	return tap_done();
}
