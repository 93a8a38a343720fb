/* SPDX-License-Identifier: ISC */
/*
 * t_rfc5322.c - unit tests for proto/rfc5322.c.  The events of a run are
 * written out as text: "[name][value]" per header field, "E" for end of
 * header, "{...}" for the body (consecutive BODY events joined, since their
 * boundaries follow the input's), "." for END and "!" for a too long field.
 * Every case is run whole, one byte at a time and split in two at every
 * offset, restarting from *consumed after each event; all must agree.
 * test_count() measures header sections with rfc5322_count(), whole and one
 * byte at a time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/rfc5322.h"
#include "tap.h"

#define S(x)	(const unsigned char *)(x), sizeof(x) - 1

struct trace {
	char	 buf[4096];
	size_t	 len;
	int	 inbody;	/* the last thing written was body */
};

static void	put(struct trace *, const void *, size_t);
static int	record(struct trace *, const struct rfc5322_event *);
static void	run(const unsigned char *, size_t, size_t, size_t, size_t,
		    struct trace *);
static void	check(const char *, const unsigned char *, size_t, size_t,
		    const char *);

static void
put(struct trace *t, const void *p, size_t n)
{
	if (n > sizeof(t->buf) - t->len)
		n = sizeof(t->buf) - t->len;
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

/* Write ev to t; returns 1 when the run is over. */
static int
record(struct trace *t, const struct rfc5322_event *ev)
{
	if (ev->type != RFC5322_BODY && ev->type != RFC5322_NEED_MORE &&
	    t->inbody) {
		put(t, "}", 1);
		t->inbody = 0;
	}
	switch (ev->type) {
	case RFC5322_NEED_MORE:
		return 0;
	case RFC5322_HEADER:
		put(t, "[", 1);
		put(t, ev->name, strlen(ev->name));
		put(t, "][", 2);
		put(t, ev->value, ev->valuelen);
		put(t, "]", 1);
		if (ev->value[ev->valuelen] != '\0')
			put(t, "(no NUL)", 8);
		return 0;
	case RFC5322_EOH:
		put(t, "E", 1);
		return 0;
	case RFC5322_BODY:
		if (!t->inbody)
			put(t, "{", 1);
		t->inbody = 1;
		put(t, ev->data, ev->len);
		return 0;
	case RFC5322_END:
		put(t, ".", 1);
		return 1;
	default:
		put(t, "!", 1);
		return 1;
	}
}

/*
 * Parse in[0..len) given as a first piece of first bytes, then pieces of
 * step bytes (0: the rest at once); final is set with the last piece.
 */
static void
run(const unsigned char *in, size_t len, size_t max, size_t first,
    size_t step, struct trace *t)
{
	struct rfc5322	 p;
	struct rfc5322_event ev;
	size_t		 off = 0, n, c, pos;
	int		 final, over = 0;

	memset(t, 0, sizeof(*t));
	rfc5322_init(&p, max);
	while (!over) {
		n = (off == 0 && first > 0) ? first : step;
		if (n == 0 || n > len - off)
			n = len - off;
		final = (off + n == len);
		for (pos = 0; !over; pos += c) {
			rfc5322_next(&p, in + off + pos, n - pos, final, &ev,
			    &c);
			if (c > n - pos) {
				put(t, "<overrun>", 9);
				over = 1;
			}
			over |= record(t, &ev);
			if (ev.type == RFC5322_NEED_MORE) {
				if (pos + c != n)
					put(t, "<left>", 6);
				break;
			}
		}
		off += n;
	}
	rfc5322_fini(&p);
}

static void
check(const char *name, const unsigned char *in, size_t len, size_t max,
    const char *want)
{
	struct trace	 whole, other;
	size_t		 k;
	int		 split_ok = 1;

	run(in, len, max, 0, 0, &whole);
	is_mem(whole.buf, whole.len, want, strlen(want), "%s", name);
	run(in, len, max, 0, 1, &other);
	is_mem(other.buf, other.len, whole.buf, whole.len,
	    "%s: byte by byte = whole", name);
	for (k = 1; k < len; k++) {
		run(in, len, max, k, 0, &other);
		if (other.len != whole.len ||
		    memcmp(other.buf, whole.buf, whole.len) != 0) {
			printf("# split at %zu: %.*s\n", k, (int)other.len,
			    other.buf);
			split_ok = 0;
		}
	}
	ok(split_ok, "%s: split anywhere = whole", name);
}

static void
test_headers(void)
{
	check("simple", S("From: a@b\r\nTo: c@d\r\n\r\nbody\r\n"), 1000,
	    "[From][ a@b][To][ c@d]E{body\r\n}.");
	check("folded", S("Subject: one\r\n two\r\n\tthree\r\nX: y\r\n\r\nb"),
	    1000, "[Subject][ one\r\n two\r\n\tthree][X][ y]E{b}.");
	check("leading space kept", S("A:   spaced  \r\n\r\n"), 1000,
	    "[A][   spaced  ]E.");
	check("no space after colon", S("A:b\r\nB:c\r\n\r\nx"), 1000,
	    "[A][b][B][c]E{x}.");
	check("empty value", S("A:\r\nB:\r\n \r\n\r\n"), 1000,
	    "[A][][B][\r\n ]E.");
	check("WSP before colon", S("Name \t: v\r\n\r\n"), 1000,
	    "[Name][ v]E.");
	check("colon in value", S("Date: 12:34:56\r\n\r\n"), 1000,
	    "[Date][ 12:34:56]E.");
	check("no body", S("A: b\r\n"), 1000, "[A][ b]E.");
	check("no body, empty line", S("A: b\r\n\r\n"), 1000, "[A][ b]E.");
	check("final without CRLF", S("A: b"), 1000, "[A][ b]E.");
	check("final folded without CRLF", S("A: b\r\n c"), 1000,
	    "[A][ b\r\n c]E.");
	check("final name only", S("A"), 1000, "E{A}.");
	check("empty message", S(""), 1000, "E.");
	check("only the empty line", S("\r\n"), 1000, "E.");
	check("bare LF line end", S("A: b\nC: d\n\r\nx"), 1000,
	    "[A][ b][C][ d]E{x}.");
}

static void
test_body_start(void)
{
	check("no headers", S("hello world\r\nmore\r\n"), 1000,
	    "E{hello world\r\nmore\r\n}.");
	check("no headers, no colon", S("Hello\r\n"), 1000, "E{Hello\r\n}.");
	check("first line folded", S(" folded\r\nA: b\r\n"), 1000,
	    "E{ folded\r\nA: b\r\n}.");
	check("line starting with colon", S(":x\r\n"), 1000, "E{:x\r\n}.");
	check("empty line first", S("\r\nA: b\r\n"), 1000, "E{A: b\r\n}.");
	check("non-field after headers",
	    S("A: b\r\nnot a header\r\nC: d\r\n"), 1000,
	    "[A][ b]E{not a header\r\nC: d\r\n}.");
	check("name, WSP, no colon", S("A: b\r\nName \tx: y\r\n"), 1000,
	    "[A][ b]E{Name \tx: y\r\n}.");
	check("8-bit in name", S("A\xc3\xa9: b\r\n"), 1000,
	    "E{A\xc3\xa9: b\r\n}.");
	check("empty line kept in body", S("A: b\r\n\r\n\r\nx\r\n"), 1000,
	    "[A][ b]E{\r\nx\r\n}.");
	check("CR not CRLF at line start", S("A: b\r\n\rx\r\n"), 1000,
	    "[A][ b]E{\rx\r\n}.");
}

static void
test_limits(void)
{
	check("too long", S("A: b\r\nSubject: xxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
	    "\r\n"), 20, "[A][ b]!");
	check("too long folded", S("Subject: xxxxxxx\r\n xxxxxxxxxx\r\n"),
	    20, "!");
	check("too long name", S("Xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), 20, "!");
	check("at the limit", S("Subject: xxxxxxxxx\r\n"), 20,
	    "[Subject][ xxxxxxxxx]E.");
	check("one over the limit", S("Subject: xxxxxxxxxx\r\n"), 20, "!");
}

/* Consumed counts are exact, and the caller may stop after any event. */
static void
test_consumed(void)
{
	struct rfc5322	 p;
	struct rfc5322_event ev;
	const unsigned char *in = (const unsigned char *)
	    "A: b\r\nC: d\r\n\r\nbody";
	size_t		 c, off = 0;

	rfc5322_init(&p, 100);
	rfc5322_next(&p, in, 18, 0, &ev, &c);
	ok(ev.type == RFC5322_HEADER && c == 6, "A consumed through CRLF");
	off += c;
	rfc5322_next(&p, in + off, 18 - off, 0, &ev, &c);
	ok(ev.type == RFC5322_HEADER && c == 6, "C consumed through CRLF");
	off += c;
	rfc5322_next(&p, in + off, 18 - off, 0, &ev, &c);
	ok(ev.type == RFC5322_EOH && c == 2, "EOH takes the empty line");
	off += c;
	rfc5322_next(&p, in + off, 18 - off, 0, &ev, &c);
	ok(ev.type == RFC5322_BODY && c == 4 && ev.data == in + off &&
	    ev.len == 4, "body is a slice of the input");
	rfc5322_next(&p, in + 18, 0, 0, &ev, &c);
	ok(ev.type == RFC5322_NEED_MORE && c == 0, "need more");
	rfc5322_next(&p, in + 18, 0, 1, &ev, &c);
	ok(ev.type == RFC5322_END, "end");
	rfc5322_next(&p, in + 18, 0, 1, &ev, &c);
	ok(ev.type == RFC5322_END, "end again");
	rfc5322_fini(&p);

	rfc5322_init(&p, 100);
	rfc5322_next(&p, S("Subject: a\r\n"), 0, &ev, &c);
	ok(ev.type == RFC5322_NEED_MORE && c == 12, "field held");
	rfc5322_next(&p, S(" b\r\n\r\n"), 0, &ev, &c);
	ok(ev.type == RFC5322_HEADER && c == 4 &&
	    ev.valuelen == 6 && memcmp(ev.value, " a\r\n b", 6) == 0,
	    "continuation across chunks");
	rfc5322_fini(&p);
}

/* rfc5322_count() on in, whole and byte by byte: fields, bytes, ended. */
static void
count(const char *name, const unsigned char *in, size_t len, size_t fields,
    uint64_t bytes, int ended)
{
	struct rfc5322_count	 a, b;
	size_t			 i;
	int			 ea, eb = 0;

	rfc5322_count_init(&a);
	ea = rfc5322_count(&a, in, len);
	rfc5322_count_init(&b);
	for (i = 0; i < len; i++)
		eb = rfc5322_count(&b, in + i, 1);
	ok(a.fields == fields && a.bytes == bytes && ea == ended,
	    "count %s: %zu fields, %llu bytes, ended %d", name, a.fields,
	    (unsigned long long)a.bytes, ea);
	ok(b.fields == a.fields && b.bytes == a.bytes && eb == ea,
	    "count %s: byte by byte = whole", name);
}

static void
test_count(void)
{
	count("plain", S("A: 1\r\nB: 2\r\n\r\nbody: x\r\n"), 2, 12, 1);
	count("folded", S("A: 1\r\n 2\r\n\t3\r\n\r\n"), 1, 14, 1);
	count("WSP before the colon", S("A \t: 1\r\n\r\n"), 1, 8, 1);
	count("body line ends it", S("A: 1\r\nno field\r\nB: 2\r\n"), 1, 6,
	    1);
	count("fold first is body", S(" A: 1\r\n"), 0, 0, 1);
	count("not ended yet", S("A: 1\r\nLong-Name-So-Far"), 1, 6, 0);
	count("many", S("a:\r\na:\r\na:\r\na:\r\n\r\n"), 4, 16, 1);
	count("empty", S(""), 0, 0, 0);
	count("empty header", S("\r\nA: 1\r\n"), 0, 0, 1);
}

int
main(void)
{
	test_headers();
	test_body_start();
	test_limits();
	test_consumed();
	test_count();
	return tap_done();
}
