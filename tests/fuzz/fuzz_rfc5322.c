/* SPDX-License-Identifier: ISC */
/*
 * fuzz_rfc5322.c - libFuzzer target for proto/rfc5322.c.  Byte 0 picks
 * max_header, byte 1 how many of the following bytes are chunk sizes (0: one
 * chunk); the rest is the message, fed in those chunks, each call restarting
 * from *consumed.  Checked, abort() on failure:
 *	- consumed never overruns, NEED_MORE only with the input used up, and
 *	  the field buffer never outgrows max_header + 2;
 *	- the events rebuild the input: each header field is found at the
 *	  cursor as name, optional WSP, ':', value, then CRLF, LF or the end;
 *	  after EOH an empty line may be skipped; the body events joined are
 *	  exactly the rest of the input;
 *	- the event stream does not depend on the chunking;
 *	- rfc5322_count() over the same chunks agrees with the events: as
 *	  many fields as HEADER events, and the header section's bytes end
 *	  where EOH was given (before the empty line it may skip).
 * Leaks are left to the fuzzer's LeakSanitizer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/rfc5322.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

struct trace {
	unsigned char	*buf;		/* events written out */
	size_t		 len, cap;
	int		 inbody;
	const uint8_t	*in;		/* the message */
	size_t		 inlen;
	size_t		 cur;		/* where the next event must match */
	int		 eoh, end, err;
	size_t		 nfields;	/* HEADER events */
	size_t		 hdr_end;	/* the cursor at EOH */
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	put(struct trace *, const void *, size_t);
static void	header(struct trace *, const struct rfc5322_event *);
static void	body(struct trace *, const struct rfc5322_event *);
static void	record(struct trace *, const struct rfc5322_event *);
static void	run(const uint8_t *, size_t, size_t, const uint8_t *, size_t,
		    struct trace *);

static void
put(struct trace *t, const void *p, size_t n)
{
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2 + 64;
		t->buf = realloc(t->buf, t->cap);
		CHECK(t->buf != NULL);
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

/* A field must sit at the cursor: name, WSP, ':', value, line end. */
static void
header(struct trace *t, const struct rfc5322_event *ev)
{
	size_t	 nl = strlen(ev->name), i, c = t->cur;

	CHECK(!t->eoh && nl > 0 && ev->value[ev->valuelen] == '\0');
	for (i = 0; i < nl; i++)
		CHECK(ev->name[i] > 32 && ev->name[i] < 127 &&
		    ev->name[i] != ':');
	CHECK(t->inlen - c >= nl && memcmp(t->in + c, ev->name, nl) == 0);
	for (c += nl; c < t->inlen && (t->in[c] == ' ' || t->in[c] == '\t');)
		c++;
	CHECK(c < t->inlen && t->in[c] == ':');
	c++;
	CHECK(t->inlen - c >= ev->valuelen &&
	    memcmp(t->in + c, ev->value, ev->valuelen) == 0);
	c += ev->valuelen;
	if (t->inlen - c >= 2 && t->in[c] == '\r' && t->in[c + 1] == '\n')
		c += 2;
	else if (c < t->inlen && t->in[c] == '\n')
		c++;
	else
		CHECK(c == t->inlen);
	t->cur = c;
	put(t, "H", 1);
	put(t, ev->name, nl + 1);
	put(t, ev->value, ev->valuelen);
	put(t, "\0", 1);
}

/* Body bytes must be the input at the cursor. */
static void
body(struct trace *t, const struct rfc5322_event *ev)
{
	CHECK(t->eoh && ev->len > 0 && t->inlen - t->cur >= ev->len);
	CHECK(memcmp(t->in + t->cur, ev->data, ev->len) == 0);
	t->cur += ev->len;
	if (!t->inbody)
		put(t, "B", 1);
	t->inbody = 1;
	put(t, ev->data, ev->len);
}

static void
record(struct trace *t, const struct rfc5322_event *ev)
{
	if (ev->type != RFC5322_BODY && ev->type != RFC5322_NEED_MORE)
		t->inbody = 0;
	switch (ev->type) {
	case RFC5322_NEED_MORE:
		break;
	case RFC5322_HEADER:
		header(t, ev);
		t->nfields++;
		break;
	case RFC5322_EOH:
		CHECK(!t->eoh);
		t->eoh = 1;
		t->hdr_end = t->cur;
		if (t->inlen - t->cur >= 2 && t->in[t->cur] == '\r' &&
		    t->in[t->cur + 1] == '\n')
			t->cur += 2;
		put(t, "E", 1);
		break;
	case RFC5322_BODY:
		body(t, ev);
		break;
	case RFC5322_END:
		CHECK(t->eoh && t->cur == t->inlen);
		t->end = 1;
		put(t, ".", 1);
		break;
	case RFC5322_ERR_TOO_LONG:
		t->err = 1;
		put(t, "!", 1);
		break;
	}
}

static void
run(const uint8_t *in, size_t len, size_t max, const uint8_t *sizes,
    size_t nsizes, struct trace *t)
{
	struct rfc5322	 p;
	struct rfc5322_count hc;
	struct rfc5322_event ev;
	size_t		 off = 0, i = 0, n, pos, c;
	int		 final = 0;

	memset(t, 0, sizeof(*t));
	t->in = in;
	t->inlen = len;
	rfc5322_init(&p, max);
	rfc5322_count_init(&hc);
	while (!final) {
		n = (nsizes == 0) ? len - off : (size_t)sizes[i++ % nsizes] + 1;
		if (n > len - off)
			n = len - off;
		final = (off + n == len);
		rfc5322_count(&hc, in + off, n);
		for (pos = 0; !t->end && !t->err; pos += c) {
			rfc5322_next(&p, in + off + pos, n - pos, final, &ev,
			    &c);
			CHECK(c <= n - pos && p.hcap <= max + 2);
			record(t, &ev);
			if (ev.type == RFC5322_NEED_MORE) {
				CHECK(!final && pos + c == n);
				break;
			}
		}
		off += n;
		if (t->end || t->err)
			break;
	}
	if (t->end)
		CHECK(hc.fields == t->nfields && hc.bytes == t->hdr_end);
	rfc5322_fini(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace	 a, b;
	const uint8_t	*sizes, *in;
	size_t		 nsizes, len, max;

	if (size < 2)
		return 0;
	max = (data[0] & 0x80) ? 65536 : (size_t)data[0] + 1;
	nsizes = data[1] % 8;
	if (nsizes > size - 2)
		nsizes = size - 2;
	sizes = data + 2;
	in = data + 2 + nsizes;
	len = size - 2 - nsizes;

	run(in, len, max, sizes, nsizes, &a);
	run(in, len, max, NULL, 0, &b);
	CHECK(a.end || a.err);
	CHECK(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0);
	free(a.buf);
	free(b.buf);
	return 0;
}
