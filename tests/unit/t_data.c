/*
 * t_data.c - unit tests for proxy/data.c: the DATA/BDAT intake reader and
 * the dot-stuffer.  Every reader case is run three ways (whole, one byte at
 * a time, split in two at every offset) and must give the same content,
 * consumed count, end flag, bare CR/LF flags and size.  The smuggling cases
 * are the <CRLF>.<CRLF> look-alikes: none may end the data, and the real end
 * after them must still be found.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
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
	check("binary", DATA_DOT, S("a\0b\x80\xff\r\n.\r\n"),
	    S("a\0b\x80\xff\r\n"), ALL, 1, 0);
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
	test_api();
	return tap_done();
}
