/* SPDX-License-Identifier: ISC */
/*
 * t_data.c - unit tests for proto/data.c: the DATA/BDAT intake reader and
 * the dot-stuffer.  Every reader case is run three ways (whole, one byte at
 * a time, split in two at every offset) and must give the same content,
 * consumed count, end flag, bare CR/LF flags and size.  The smuggling cases
 * are the <CRLF>.<CRLF> look-alikes: none may end the data, and the real end
 * after them must still be found.
 *
 * test_nul() and test_header_count() cover NUL bytes (left out of the
 * content) and the header section the reader measures on its way.
 *
 * test_differential() runs the reader and the stuffer next to a reference
 * model, the plain byte-by-byte implementation they replaced (ref_*, below),
 * on pseudo-random inputs rich in CR, LF and '.' with random chunking: every
 * call must give the same output, consumed count, done, flags and size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/data.h"
#include "data_ref.h"
#include "tap.h"

#define S(x)	(const unsigned char *)(x), sizeof(x) - 1
#define ALL	((size_t)-1)	/* consumed: all of the input */

struct result {
	unsigned char	*out;
	size_t		 outlen;
	size_t		 consumed;
	int		 done;
	unsigned	 flags;
	uint64_t	 size;
};

static void	feed(struct data_reader *, const unsigned char *, size_t,
		    struct result *);
static void	run_split(enum data_mode, const unsigned char *, size_t,
		    size_t, size_t, struct result *);
static int	same(const struct result *, const struct result *);
static int	crlf_only(const unsigned char *, size_t);
static void	check(const char *, enum data_mode, const unsigned char *,
		    size_t, const unsigned char *, size_t, size_t, int,
		    unsigned);
static void	check_stuff(const char *, const unsigned char *, size_t);

static uint32_t	rnd(void);
static size_t	gen_input(unsigned char *, size_t);
static size_t	gen_chunk(size_t);
static int	diff_reader(enum data_mode, const unsigned char *, size_t,
		    int *);
static int	diff_feed(struct data_reader *, struct data_reader *,
		    const unsigned char *, size_t, int *);
static int	diff_stuff(const unsigned char *, size_t, int);
static void	test_differential(void);

/* Feed one piece unless the end was already seen; append to res. */
static void
feed(struct data_reader *r, const unsigned char *in, size_t len,
    struct result *res)
{
	size_t	 n, outlen;
	int	 done;

	if (res->done)
		return;
	n = data_reader_feed(r, in, len, res->out + res->outlen, &outlen,
	    &done);
	if (!done && n != len)
		printf("# feed consumed %zu of %zu without done\n", n, len);
	res->consumed += n;
	res->outlen += outlen;
	res->done = done;
}

/*
 * Run the reader over in[0..len): pieces of at most step bytes (0: all at
 * once) after a first piece of first bytes.  DATA_RAW ends with finish.
 */
static void
run_split(enum data_mode mode, const unsigned char *in, size_t len,
    size_t first, size_t step, struct result *res)
{
	struct data_reader r;
	size_t		 off, n, outlen;

	memset(res, 0, sizeof(*res));
	res->out = malloc(DATA_OUT_MAX(len) + 2);
	data_reader_init(&r, mode);
	off = first < len ? first : len;
	feed(&r, in, off, res);
	while (off < len) {
		n = (step == 0 || step > len - off) ? len - off : step;
		feed(&r, in + off, n, res);
		off += n;
	}
	if (mode == DATA_RAW) {
		data_reader_finish(&r, res->out + res->outlen, &outlen);
		res->outlen += outlen;
	}
	res->flags = r.flags;
	res->size = r.size;
}

static int
same(const struct result *a, const struct result *b)
{
	return a->outlen == b->outlen &&
	    memcmp(a->out, b->out, a->outlen) == 0 &&
	    a->consumed == b->consumed && a->done == b->done &&
	    a->flags == b->flags && a->size == b->size;
}

/* Every CR is followed by LF and every LF preceded by CR. */
static int
crlf_only(const unsigned char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\r' && (i + 1 == len || p[i + 1] != '\n'))
			return 0;
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return 0;
	}
	return 1;
}

/* One reader case, fed whole, byte by byte and split at every offset. */
static void
check(const char *name, enum data_mode mode, const unsigned char *in,
    size_t len, const unsigned char *want, size_t wantlen, size_t consumed,
    int done, unsigned flags)
{
	struct result	 whole, other;
	size_t		 k;
	int		 split_ok = 1;

	if (consumed == ALL)
		consumed = len;
	run_split(mode, in, len, 0, 0, &whole);
	is_mem(whole.out, whole.outlen, want, wantlen, "%s: content", name);
	is_int(whole.consumed, consumed, "%s: consumed", name);
	is_int(whole.done, done, "%s: done", name);
	is_int(whole.flags, flags, "%s: flags", name);
	is_int(whole.size, whole.outlen, "%s: size", name);
	ok(crlf_only(whole.out, whole.outlen), "%s: CRLF only", name);
	run_split(mode, in, len, 0, 1, &other);
	ok(same(&whole, &other), "%s: byte by byte = whole", name);
	free(other.out);
	for (k = 1; k < len; k++) {
		run_split(mode, in, len, k, 0, &other);
		split_ok &= same(&whole, &other);
		free(other.out);
	}
	ok(split_ok, "%s: split anywhere = whole", name);
	free(whole.out);
	if (mode == DATA_DOT && done)
		check_stuff(name, want, wantlen);
}

/*
 * Stuff content (whole and byte by byte), add the ".\r\n" and read it back
 * in DATA_DOT mode: the same content, clean, ended exactly at the end.
 */
static void
check_stuff(const char *name, const unsigned char *c, size_t len)
{
	struct data_stuffer st = { 1 };
	struct result	 back;
	unsigned char	*wire, *wire2;
	size_t		 n, n2 = 0, i;

	wire = malloc(DATA_OUT_MAX(len) + 3);
	wire2 = malloc(DATA_OUT_MAX(len) + 3);
	n = data_stuff(&st, c, len, wire);
	st.bol = 1;
	for (i = 0; i < len; i++)
		n2 += data_stuff(&st, c + i, 1, wire2 + n2);
	ok(n == n2 && memcmp(wire, wire2, n) == 0,
	    "%s: stuff byte by byte = whole", name);
	memcpy(wire + n, ".\r\n", 3);
	run_split(DATA_DOT, wire, n + 3, 0, 0, &back);
	ok(back.done && back.consumed == n + 3 && back.flags == 0 &&
	    back.outlen == len && memcmp(back.out, c, len) == 0,
	    "%s: stuff, read back = content", name);
	free(back.out);
	free(wire);
	free(wire2);
}

#define DIFF_RUNS	20000	/* random inputs, each in both modes */
#define DIFF_MAXLEN	4096	/* longest random input */

static uint32_t	rnd_state = 0x9e3779b9;

static uint32_t
rnd(void)
{
	return tap_random(&rnd_state);
}

/*
 * Up to max bytes made of pieces that matter here (CR, LF, dots, the
 * terminator and its look-alikes) between runs of ordinary bytes, so that
 * runs start and end on every kind of boundary.
 */
static size_t
gen_input(unsigned char *buf, size_t max)
{
	static const char *const pieces[] = {
		"\r", "\n", ".", "\r\n", "\r\n.", ".\r\n", "\r\n.\r\n",
		"..", "\n.\n", "\r.\r", ".\r", "\r\r\n", "\n\r", "\xff",
		"",	/* a NUL */
	};
	size_t	 len = 0, want, n, k;

	want = (rnd() % 8 == 0) ? rnd() % max : rnd() % 200;
	while (len < want) {
		if (rnd() % 3 == 0) {
			n = rnd() % ((rnd() % 4 == 0) ? 300 : 12);
			for (k = 0; k < n && len < want; k++)
				buf[len++] = 'a' + rnd() % 26;
			continue;
		}
		k = rnd() % (sizeof(pieces) / sizeof(pieces[0]));
		if ((n = strlen(pieces[k])) == 0)
			n = 1;
		if (n > want - len)
			n = want - len;
		memcpy(buf + len, pieces[k], n);
		len += n;
	}
	return len;
}

/* A chunk size for the rest of left bytes: often small, sometimes 0. */
static size_t
gen_chunk(size_t left)
{
	size_t	 n;

	switch (rnd() % 4) {
	case 0:
		n = rnd() % 4;
		break;
	case 1:
		n = rnd() % 64;
		break;
	case 2:
		n = left;
		break;
	default:
		n = rnd() % (left + 1);
		break;
	}
	return n < left ? n : left;
}

/*
 * Feed in[0..len) to a (data.c) and b (the reference); 1 if both give the
 * same consumed count, output, done, flags and size.  *done gets done.
 */
static int
diff_feed(struct data_reader *a, struct data_reader *b,
    const unsigned char *in, size_t len, int *done)
{
	unsigned char	*oa, *ob;
	size_t		 ga, gb, la, lb;
	int		 da, db, same;

	oa = malloc(DATA_OUT_MAX(len));
	ob = malloc(DATA_OUT_MAX(len));
	ga = data_reader_feed(a, in, len, oa, &la, &da);
	gb = ref_reader_feed(b, in, len, ob, &lb, &db);
	same = ga == gb && la == lb && memcmp(oa, ob, la) == 0 && da == db &&
	    a->flags == b->flags && a->size == b->size;
	if (!same)
		printf("# feed of %zu: consumed %zu/%zu, out %zu/%zu, done "
		    "%d/%d, flags %u/%u\n", len, ga, gb, la, lb, da, db,
		    a->flags, b->flags);
	free(oa);
	free(ob);
	*done = da;
	return same;
}

/*
 * One input through data.c and the reference in the same random chunks;
 * DATA_RAW ends with two finish calls.  Returns 1 if all calls agreed.
 */
static int
diff_reader(enum data_mode mode, const unsigned char *in, size_t len,
    int *ended)
{
	struct data_reader a, b;
	unsigned char	 oa[2], ob[2];
	size_t		 off = 0, n, la, lb;
	int		 done = 0, k;

	data_reader_init(&a, mode);
	ref_reader_init(&b, mode);
	while (off < len) {
		n = done ? len - off : gen_chunk(len - off);
		if (!diff_feed(&a, &b, in + off, n, &done))
			return 0;
		off += n;
	}
	*ended = done;
	for (k = 0; mode == DATA_RAW && k < 2; k++) {
		data_reader_finish(&a, oa, &la);
		ref_reader_finish(&b, ob, &lb);
		if (la != lb || memcmp(oa, ob, la) != 0 ||
		    a.flags != b.flags || a.size != b.size) {
			printf("# finish: out %zu/%zu\n", la, lb);
			return 0;
		}
	}
	return 1;
}

/* in[0..len) through both stuffers in the same random chunks. */
static int
diff_stuff(const unsigned char *in, size_t len, int bol)
{
	struct data_stuffer a = { bol }, b = { bol };
	unsigned char	*oa, *ob;
	size_t		 off = 0, n, la, lb;
	int		 same = 1;

	do {
		n = gen_chunk(len - off);
		oa = malloc(DATA_OUT_MAX(n));
		ob = malloc(DATA_OUT_MAX(n));
		la = data_stuff(&a, in + off, n, oa);
		lb = ref_stuff(&b, in + off, n, ob);
		same = la == lb && memcmp(oa, ob, la) == 0 && a.bol == b.bol;
		if (!same)
			printf("# stuff of %zu at %zu: out %zu/%zu, bol %d/%d\n",
			    n, off, la, lb, a.bol, b.bol);
		free(oa);
		free(ob);
		off += n;
	} while (same && off < len);
	return same;
}

/*
 * data.c against the reference model on DIFF_RUNS random inputs, each read
 * in both modes and stuffed, each in its own random chunks.
 */
static void
test_differential(void)
{
	unsigned char	*buf;
	size_t		 len;
	int		 i, end, ends = 0, dot = 1, raw = 1, stuff = 1;

	buf = malloc(DIFF_MAXLEN);
	for (i = 0; i < DIFF_RUNS && dot && raw && stuff; i++) {
		len = gen_input(buf, DIFF_MAXLEN);
		dot = diff_reader(DATA_DOT, buf, len, &end);
		ends += end;
		raw = diff_reader(DATA_RAW, buf, len, &end);
		stuff = diff_stuff(buf, len, rnd() % 2);
		if (!dot || !raw || !stuff)
			printf("# input %d, %zu bytes\n", i, len);
	}
	ok(dot, "differential: DATA_DOT reader = reference, %d inputs", i);
	ok(raw, "differential: DATA_RAW reader = reference, %d inputs", i);
	ok(stuff, "differential: stuffer = reference, %d inputs", i);
	ok(ends > DIFF_RUNS / 20 && ends < DIFF_RUNS - DIFF_RUNS / 20,
	    "differential: %d of the DATA_DOT inputs ended", ends);
	free(buf);
}

static void
test_plain(void)
{
	check("plain", DATA_DOT,
	    S("Subject: hi\r\n\r\nbody\r\nline 2\r\n.\r\n"),
	    S("Subject: hi\r\n\r\nbody\r\nline 2\r\n"), ALL, 1, 0);
	check("unstuff", DATA_DOT,
	    S("..foo\r\n.bar\r\n...\r\n. \r\nx.y\r\n.\r\n"),
	    S(".foo\r\nbar\r\n..\r\n \r\nx.y\r\n"), ALL, 1, 0);
	check("empty message", DATA_DOT, S(".\r\n"), S(""), ALL, 1, 0);
	check("one empty line", DATA_DOT, S("\r\n.\r\n"), S("\r\n"), ALL, 1, 0);
	check("binary", DATA_DOT, S("a\x01b\x80\xff\r\n.\r\n"),
	    S("a\x01b\x80\xff\r\n"), ALL, 1, 0);
	check("not ended", DATA_DOT, S("abc\r\ndef\r\n"),
	    S("abc\r\ndef\r\n"), ALL, 0, 0);
	check("not ended, dot held", DATA_DOT, S("abc\r\n."),
	    S("abc\r\n"), ALL, 0, 0);
	check("not ended, dot CR held", DATA_DOT, S("abc\r\n.\r"),
	    S("abc\r\n"), ALL, 0, 0);
	check("input after the end", DATA_DOT,
	    S("a\r\n.\r\nMAIL FROM:<x@y>\r\n"), S("a\r\n"), 6, 1, 0);
	check("dot line then more", DATA_DOT, S("a\r\n..\r\n.\r\n"),
	    S("a\r\n.\r\n"), ALL, 1, 0);
}

static void
test_smuggling(void)
{
	check("<LF>.<LF>", DATA_DOT, S("a\n.\nb\r\n.\r\n"),
	    S("a\r\n.\r\nb\r\n"), ALL, 1, DATA_F_BARE_LF);
	check("<CR>.<CR>", DATA_DOT, S("a\r.\rb\r\n.\r\n"),
	    S("a\r\n.\r\nb\r\n"), ALL, 1, DATA_F_BARE_CR);
	check("<CRLF>.<LF>", DATA_DOT, S("a\r\n.\nb\r\n.\r\n"),
	    S("a\r\n\r\nb\r\n"), ALL, 1, DATA_F_BARE_LF);
	check("<LF>.<CRLF>", DATA_DOT, S("a\n.\r\nb\r\n.\r\n"),
	    S("a\r\n.\r\nb\r\n"), ALL, 1, DATA_F_BARE_LF);
	check("<CRLF>.<CR><CRLF>", DATA_DOT, S("a\r\n.\r\r\nb\r\n.\r\n"),
	    S("a\r\n\r\n\r\nb\r\n"), ALL, 1, DATA_F_BARE_CR);
	check("<CRLF>.<CR><CR><CRLF>", DATA_DOT,
	    S("a\r\n.\r\r\r\nb\r\n.\r\n"),
	    S("a\r\n\r\n\r\n\r\nb\r\n"), ALL, 1, DATA_F_BARE_CR);
	check("<CRLF>.<CR>x", DATA_DOT, S("a\r\n.\rb\r\n.\r\n"),
	    S("a\r\n\r\nb\r\n"), ALL, 1, DATA_F_BARE_CR);
	check("<CR><CRLF>.<LF>", DATA_DOT, S("a\r\r\n.\nb\r\n.\r\n"),
	    S("a\r\n\r\n\r\nb\r\n"), ALL, 1,
	    DATA_F_BARE_CR | DATA_F_BARE_LF);
	check("<LF><LF>.<LF><LF>", DATA_DOT, S("a\n\n.\n\nb\r\n.\r\n"),
	    S("a\r\n\r\n.\r\n\r\nb\r\n"), ALL, 1, DATA_F_BARE_LF);
	check("<CRLF>.<LF><CRLF>", DATA_DOT, S("a\r\n.\n\r\n.\r\n"),
	    S("a\r\n\r\n\r\n"), ALL, 1, DATA_F_BARE_LF);
	check(".<LF> at the start", DATA_DOT, S(".\nSMTP\r\n.\r\n"),
	    S("\r\nSMTP\r\n"), ALL, 1, DATA_F_BARE_LF);
	check("<CR><CR><LF>", DATA_DOT, S("a\r\r\nb\r\n.\r\n"),
	    S("a\r\n\r\nb\r\n"), ALL, 1, DATA_F_BARE_CR);
	check("MAIL after <LF>.<LF>", DATA_DOT,
	    S("x\n.\nMAIL FROM:<e@vil>\r\n.\r\n"),
	    S("x\r\n.\r\nMAIL FROM:<e@vil>\r\n"), ALL, 1, DATA_F_BARE_LF);
	check("bare CR at the very end", DATA_DOT, S("a\r"), S("a"), 2,
	    0, 0);
	check("bare CR then CR", DATA_DOT, S("a\r\rb\r\n.\r\n"),
	    S("a\r\n\r\nb\r\n"), ALL, 1, DATA_F_BARE_CR);
}

/*
 * NUL bytes: flagged and left out, and a NUL first on a line begins it, so
 * no "<CRLF><NUL>.<CRLF>" ends the data (a backend that drops NULs would
 * see the end there).
 */
static void
test_nul(void)
{
	check("NUL in a header", DATA_DOT,
	    S("Subject: \0 viagra\r\n\r\nb\r\n.\r\n"),
	    S("Subject:  viagra\r\n\r\nb\r\n"), ALL, 1, DATA_F_NUL);
	check("<CRLF><NUL>.<CRLF>", DATA_DOT,
	    S("a\r\n\0.\r\nMAIL FROM:<e@vil>\r\n.\r\n"),
	    S("a\r\n.\r\nMAIL FROM:<e@vil>\r\n"), ALL, 1, DATA_F_NUL);
	check("<NUL>.<CRLF> first", DATA_DOT, S("\0.\r\nx\r\n.\r\n"),
	    S(".\r\nx\r\n"), ALL, 1, DATA_F_NUL);
	check("<CRLF>.<NUL><CRLF>", DATA_DOT, S("a\r\n.\0\r\n.\r\n"),
	    S("a\r\n\r\n"), ALL, 1, DATA_F_NUL);
	check("<CRLF>.<CR><NUL><LF>", DATA_DOT,
	    S("a\r\n.\r\0\n.\r\n.\r\n"), S("a\r\n\r\n\r\n.\r\n"),
	    ALL, 1, DATA_F_NUL | DATA_F_BARE_CR | DATA_F_BARE_LF);
	check("NUL run", DATA_DOT, S("\0\0\0\r\n.\r\n"), S("\r\n"), ALL,
	    1, DATA_F_NUL);
	check("raw NUL", DATA_RAW, S("a\0b\r\n\0"), S("ab\r\n"), ALL, 0,
	    DATA_F_NUL);
	check("raw NUL at the end of a line", DATA_RAW, S("ab\0"),
	    S("ab\r\n"), ALL, 0, DATA_F_NUL);
}

/* The header section of the content, as the reader measures it. */
static void
test_header_count(void)
{
	static const char msg[] = "From: a\r\nSubject: x\r\n folded\r\n"
	    "X-A : 1\r\n\r\nNot: a field\r\n.\r\n";
	struct data_reader r;
	unsigned char	 out[256];
	size_t		 outlen, i;
	int		 done;

	data_reader_init(&r, DATA_DOT);
	for (i = 0; i < sizeof(msg) - 1; i++)
		data_reader_feed(&r, (const unsigned char *)msg + i, 1, out,
		    &outlen, &done);
	ok(done, "count: message read byte by byte");
	is_int(r.hdr.fields, 3, "count: 3 fields, the body's not");
	is_int(r.hdr.bytes, 39, "count: header section bytes");
	data_reader_init(&r, DATA_DOT);
	data_reader_feed(&r, S("a:\r\nb:\nc\r\n"), out, &outlen, &done);
	is_int(r.hdr.fields, 2, "count: on the content (bare LF as CRLF)");
	is_int(r.hdr.bytes, 8, "count: a line without a colon is body");
	data_reader_init(&r, DATA_RAW);
	data_reader_feed(&r, S("a: \0x\r\n"), out, &outlen, &done);
	ok(r.hdr.fields == 1 && r.hdr.bytes == 6, "count: NUL not counted");
}

static void
test_raw(void)
{
	check("raw plain", DATA_RAW, S("abc\r\ndef\r\n"),
	    S("abc\r\ndef\r\n"), ALL, 0, 0);
	check("raw no final CRLF", DATA_RAW, S("abc\r\ndef"),
	    S("abc\r\ndef\r\n"), ALL, 0, 0);
	check("raw held CR", DATA_RAW, S("abc\r"), S("abc\r\n"), ALL, 0,
	    DATA_F_BARE_CR);
	check("raw empty", DATA_RAW, S(""), S(""), ALL, 0, 0);
	check("raw bare LF at end", DATA_RAW, S("a\nb\n"), S("a\r\nb\r\n"),
	    4, 0, DATA_F_BARE_LF);
	check("raw bare CR inside", DATA_RAW, S("a\rb"), S("a\r\nb\r\n"), 3,
	    0, DATA_F_BARE_CR);
	check("raw no dot handling", DATA_RAW, S(".\r\n..\r\n.\r\n"),
	    S(".\r\n..\r\n.\r\n"), ALL, 0, 0);
	check("raw just CRLF", DATA_RAW, S("\r\n"), S("\r\n"), ALL, 0, 0);
}

static void
test_api(void)
{
	struct data_reader r;
	struct data_stuffer st = { 1 };
	unsigned char	 out[64];
	size_t		 outlen, n;
	int		 done;

	data_reader_init(&r, DATA_DOT);
	n = data_reader_feed(&r, S("ab\r\n.\r\nQUIT\r\n"), out, &outlen,
	    &done);
	is_int(n, 7, "consumed stops after the terminator");
	n = data_reader_feed(&r, S("more\r\n"), out, &outlen, &done);
	ok(n == 0 && outlen == 0 && done, "after the end: nothing read");
	is_int(r.size, 4, "size counts content only");

	data_reader_init(&r, DATA_RAW);
	data_reader_feed(&r, S("x"), out, &outlen, &done);
	ok(!done, "raw never done");
	data_reader_finish(&r, out, &outlen);
	is_mem(out, outlen, "\r\n", 2, "raw finish adds CRLF");
	data_reader_finish(&r, out, &outlen);
	is_int(outlen, 0, "second finish adds nothing");
	is_int(r.size, 3, "raw size includes the added CRLF");

	n = data_stuff(&st, S(".a\r\n..\r\nb.\r\n.\r\n"), out);
	is_mem(out, n, "..a\r\n...\r\nb.\r\n..\r\n", 18, "stuff");
	st.bol = 1;
	n = data_stuff(&st, S("x\r"), out);
	n += data_stuff(&st, S("\n."), out + n);
	is_mem(out, n, "x\r\n..", 5, "stuff across chunks");
}

int
main(void)
{
	test_plain();
	test_smuggling();
	test_raw();
	test_nul();
	test_header_count();
	test_api();
	test_differential();
	return tap_done();
}
