/* SPDX-License-Identifier: ISC */
/*
 * fuzz_data.c - libFuzzer target for proto/data.c.  The first input byte
 * says how many of the following bytes are chunk sizes (0: one chunk); the
 * rest is fed to a DATA_DOT reader in those chunks.  Checked, abort() on
 * failure:
 *	- the content has CRLF line ends only and no NUL byte (a NUL is
 *	  flagged instead), and each call stays within
 *	  DATA_OUT_MAX; the input is consumed whole unless the end was seen;
 *	- the result (content, consumed, done, flags, size) does not depend
 *	  on the chunking, and the reader's header count (r->hdr) is what
 *	  rfc5322_count() gives for the whole content at once;
 *	- ended content is empty or ends with CRLF;
 *	- no smuggling: the content (completed with CRLF if the input ran out
 *	  mid-line) dot-stuffed, ended with ".\r\n" and read again in
 *	  DATA_DOT mode gives the same content, clean, with the end found
 *	  exactly at the end of the stuffed bytes;
 *	- DATA_RAW over the same bytes consumes everything and finish() ends a
 *	  non-empty content with CRLF;
 *	- every reader and stuffer call gives exactly what the reference model
 *	  (ref_*, the byte-by-byte implementation data.c had before it scanned
 *	  with memchr()) gives: output, consumed, done, flags, size, bol.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/data_ref.h"
#include "proto/data.h"

struct run {
	unsigned char	*out;
	size_t		 outlen, consumed;
	int		 done;
	unsigned	 flags;
	uint64_t	 size;
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	run(enum data_mode, const uint8_t *, size_t, const uint8_t *,
		    size_t, struct run *);
static void	crlf_only(const unsigned char *, size_t);
static void	restuff(const struct run *, const uint8_t *, size_t);
static size_t	feed(struct data_reader *, struct data_reader *,
		    const uint8_t *, size_t, unsigned char *, size_t *, int *);
static size_t	stuff(struct data_stuffer *, struct data_stuffer *,
		    const unsigned char *, size_t, unsigned char *);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

/*
 * One data_reader_feed() on rd and the same call on the reference reader
 * ref, which must agree in everything.
 */
static size_t
feed(struct data_reader *rd, struct data_reader *ref, const uint8_t *in,
    size_t n, unsigned char *out, size_t *outlen, int *done)
{
	unsigned char	*rout;
	size_t		 got, rgot, routlen;
	int		 rdone;

	rout = malloc(DATA_OUT_MAX(n));
	got = data_reader_feed(rd, in, n, out, outlen, done);
	rgot = ref_reader_feed(ref, in, n, rout, &routlen, &rdone);
	CHECK(got == rgot && *outlen == routlen && *done == rdone);
	CHECK(memcmp(out, rout, routlen) == 0);
	CHECK(rd->flags == ref->flags && rd->size == ref->size);
	free(rout);
	return got;
}

/* data_stuff() on st and ref_stuff() on ref must agree. */
static size_t
stuff(struct data_stuffer *st, struct data_stuffer *ref,
    const unsigned char *in, size_t n, unsigned char *out)
{
	unsigned char	*rout;
	size_t		 o, ro;

	rout = malloc(DATA_OUT_MAX(n));
	o = data_stuff(st, in, n, out);
	ro = ref_stuff(ref, in, n, rout);
	CHECK(o == ro && memcmp(out, rout, o) == 0 && st->bol == ref->bol);
	free(rout);
	return o;
}

/* Feed in[0..len) in chunks cycling through sizes[0..nsizes). */
static void
run(enum data_mode mode, const uint8_t *in, size_t len, const uint8_t *sizes,
    size_t nsizes, struct run *r)
{
	struct data_reader rd, ref;
	struct rfc5322_count hc;
	unsigned char	 rout[2];
	size_t		 off = 0, i = 0, n, got, outlen, routlen;
	int		 done = 0;

	memset(r, 0, sizeof(*r));
	r->out = malloc(DATA_OUT_MAX(len) + 4);
	data_reader_init(&rd, mode);
	ref_reader_init(&ref, mode);
	while (off < len && !done) {
		n = (nsizes == 0) ? len - off : (size_t)sizes[i++ % nsizes] + 1;
		if (n > len - off)
			n = len - off;
		got = feed(&rd, &ref, in + off, n, r->out + r->outlen,
		    &outlen, &done);
		CHECK(got <= n && outlen <= DATA_OUT_MAX(n));
		CHECK(done || got == n);
		CHECK(mode == DATA_DOT || !done);
		off += got;
		r->outlen += outlen;
	}
	if (mode == DATA_RAW) {
		data_reader_finish(&rd, r->out + r->outlen, &outlen);
		ref_reader_finish(&ref, rout, &routlen);
		CHECK(outlen <= 2 && outlen == routlen &&
		    memcmp(r->out + r->outlen, rout, outlen) == 0);
		CHECK(rd.flags == ref.flags && rd.size == ref.size);
		r->outlen += outlen;
	}
	r->consumed = off;
	r->done = done;
	r->flags = rd.flags;
	r->size = rd.size;
	CHECK(r->size == r->outlen);
	rfc5322_count_init(&hc);
	rfc5322_count(&hc, r->out, r->outlen);
	CHECK(hc.fields == rd.hdr.fields && hc.bytes == rd.hdr.bytes &&
	    hc.state == rd.hdr.state);
	CHECK(memchr(in, '\0', off) == NULL || (rd.flags & DATA_F_NUL));
}

/* Every CR is followed by LF, every LF preceded by CR; no NUL. */
static void
crlf_only(const unsigned char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		CHECK(p[i] != '\0');
		if (p[i] == '\r')
			CHECK(i + 1 < len && p[i + 1] == '\n');
		if (p[i] == '\n')
			CHECK(i > 0 && p[i - 1] == '\r');
	}
}

/* Stuff the content in the same chunks, end it, read it back. */
static void
restuff(const struct run *r, const uint8_t *sizes, size_t nsizes)
{
	struct data_stuffer st = { 1 }, ref = { 1 };
	struct run	 back;
	unsigned char	*wire;
	size_t		 off = 0, i = 0, n, wlen = 0;

	wire = malloc(DATA_OUT_MAX(r->outlen) + 3);
	while (off < r->outlen) {
		n = (nsizes == 0) ? r->outlen - off :
		    (size_t)sizes[i++ % nsizes] + 1;
		if (n > r->outlen - off)
			n = r->outlen - off;
		wlen += stuff(&st, &ref, r->out + off, n, wire + wlen);
		off += n;
	}
	memcpy(wire + wlen, ".\r\n", 3);
	wlen += 3;
	run(DATA_DOT, wire, wlen, NULL, 0, &back);
	CHECK(back.done && back.consumed == wlen && back.flags == 0);
	CHECK(back.outlen == r->outlen &&
	    memcmp(back.out, r->out, r->outlen) == 0);
	free(back.out);
	free(wire);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run	 a, b, raw;
	const uint8_t	*sizes, *in;
	size_t		 nsizes, len;

	if (size == 0)
		return 0;
	nsizes = data[0] % 8;
	if (nsizes > size - 1)
		nsizes = size - 1;
	sizes = data + 1;
	in = data + 1 + nsizes;
	len = size - 1 - nsizes;

	run(DATA_DOT, in, len, sizes, nsizes, &a);
	crlf_only(a.out, a.outlen);
	run(DATA_DOT, in, len, NULL, 0, &b);
	CHECK(a.outlen == b.outlen && memcmp(a.out, b.out, a.outlen) == 0);
	CHECK(a.consumed == b.consumed && a.done == b.done &&
	    a.flags == b.flags);
	if (a.outlen > 0 && a.out[a.outlen - 1] != '\n') {
		CHECK(!a.done);
		memcpy(a.out + a.outlen, "\r\n", 2);
		a.outlen += 2;
	}
	restuff(&a, sizes, nsizes);

	run(DATA_RAW, in, len, sizes, nsizes, &raw);
	crlf_only(raw.out, raw.outlen);
	CHECK(raw.consumed == len);
	CHECK(raw.outlen == 0 || (raw.outlen >= 2 &&
	    memcmp(raw.out + raw.outlen - 2, "\r\n", 2) == 0));
	free(a.out);
	free(b.out);
	free(raw.out);
	return 0;
}

