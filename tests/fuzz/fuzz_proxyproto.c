/* SPDX-License-Identifier: ISC */
/*
 * fuzz_proxyproto.c - libFuzzer target for proto/proxyproto.c.  The input
 * is parsed whole, then again as the session would see it arrive: in
 * pieces whose sizes come from the input's own bytes, re-parsing the
 * growing prefix each time.  Checked with abort(): DONE consumes at least
 * one byte and no more than it was given, MORE's need lies beyond what was
 * given, a DONE or INVALID never turns into anything else (or another
 * reason, length or address) as more bytes arrive, and the whole input's
 * answer is the one reached piece by piece.  A DONE with addresses is
 * built again as v1 and v2 (proxyproto_build) and parsed back: the same
 * source, and the same destination when it is of the source's family.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proxyproto.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 fuzz_check(const struct proxyproto_hdr *,
		    enum proxyproto_status, size_t);
static int	 fuzz_same(const struct proxyproto_hdr *,
		    const struct proxyproto_hdr *, enum proxyproto_status);
static void	 fuzz_roundtrip(const struct proxyproto_hdr *);

static void
fuzz_check(const struct proxyproto_hdr *h, enum proxyproto_status st,
    size_t len)
{
	if (st == PROXYPROTO_DONE && (h->len == 0 || h->len > len ||
	    h->len > PROXYPROTO_MAX || (h->version != 1 && h->version != 2)))
		abort();
	if (st == PROXYPROTO_DONE && h->version == 1 &&
	    h->len > PROXYPROTO_V1_MAX)
		abort();
	if (st == PROXYPROTO_MORE && h->need != 0 && (h->need <= len ||
	    h->need > PROXYPROTO_MAX))
		abort();
	if (st == PROXYPROTO_INVALID && (h->reason == NULL ||
	    h->reason[0] == '\0'))
		abort();
	/* (a mapped address makes src and dst families differ) */
	if (st == PROXYPROTO_DONE && !h->local &&
	    ((h->src.ss_family != AF_INET &&
	    h->src.ss_family != AF_INET6) || h->srclen == 0 ||
	    (h->dst.ss_family != AF_INET && h->dst.ss_family != AF_INET6)))
		abort();
}

static int
fuzz_same(const struct proxyproto_hdr *a, const struct proxyproto_hdr *b,
    enum proxyproto_status st)
{
	if (st == PROXYPROTO_INVALID)
		return a->reason == b->reason;
	return a->version == b->version && a->local == b->local &&
	    a->len == b->len && a->srclen == b->srclen &&
	    memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
	    memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0;
}

static void
fuzz_roundtrip(const struct proxyproto_hdr *h)
{
	struct proxyproto_hdr	 back;
	unsigned char		 out[PROXYPROTO_OUT_MAX];
	int			 v, n;

	for (v = 1; v <= 2; v++) {
		n = proxyproto_build(v, (const struct sockaddr *)&h->src,
		    (const struct sockaddr *)&h->dst, out, sizeof(out));
		if (n <= 0 || (size_t)n > sizeof(out))
			abort();
		if (proxyproto_parse(out, (size_t)n, &back) !=
		    PROXYPROTO_DONE || back.local || back.version != v ||
		    back.len != (size_t)n || back.srclen != h->srclen ||
		    memcmp(&back.src, &h->src, sizeof(h->src)) != 0)
			abort();
		if (h->dst.ss_family == h->src.ss_family &&
		    memcmp(&back.dst, &h->dst, sizeof(h->dst)) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyproto_hdr	 whole, part, first;
	enum proxyproto_status	 st, pst, fst = PROXYPROTO_MORE;
	size_t			 got = 0, step, i = 0;
	uint8_t			*copy;

	/* an exact-size copy, so ASan sees any read past the end */
	if ((copy = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	st = proxyproto_parse(copy, size, &whole);
	fuzz_check(&whole, st, size);
	if (st == PROXYPROTO_DONE && !whole.local)
		fuzz_roundtrip(&whole);
	while (got < size) {
		step = 1 + (data[i++ % size] % 7);
		got = got + step > size ? size : got + step;
		pst = proxyproto_parse(copy, got, &part);
		fuzz_check(&part, pst, got);
		if (fst != PROXYPROTO_MORE && (pst != fst ||
		    !fuzz_same(&part, &first, fst)))
			abort();
		if (fst == PROXYPROTO_MORE && pst != PROXYPROTO_MORE) {
			fst = pst;
			first = part;
		}
	}
	if (size > 0 && (fst != st || (st != PROXYPROTO_MORE &&
	    !fuzz_same(&whole, &first, st))))
		abort();
	free(copy);
	return 0;
}
