/* SPDX-License-Identifier: ISC */
/*
 * fuzz_mime.c - libFuzzer target for proto/mime.c.  The first line of the
 * input (up to LF) is a Content-Type value, the rest the body; the input
 * size picks the Content-Transfer-Encoding and the limits.  Checked,
 * abort() on failure:
 *	- the body walked in chunks whose sizes come from the data gives the
 *	  same text as the whole body in one call, and as one byte a call
 *	  (short inputs);
 *	- mime_header_decode on the whole input, into a small exact-size
 *	  buffer (so ASan sees an overrun), returns less than outsz, puts the
 *	  NUL there, and gives a prefix of the untruncated result, which is
 *	  no longer than the input.
 * Leaks are left to the fuzzer's LeakSanitizer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mime.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

struct out {
	unsigned char	*buf;
	size_t		 len, cap;
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	collect(void *, const unsigned char *, size_t);
static void	walk(const char *, const char *, const uint8_t *, size_t,
		    const uint8_t *, size_t, size_t, struct out *);
static void	header(const uint8_t *, size_t);

static void
collect(void *arg, const unsigned char *p, size_t n)
{
	struct out	*o = arg;

	CHECK(n > 0 || p != NULL);
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2 + 64;
		o->buf = realloc(o->buf, o->cap);
		CHECK(o->buf != NULL);
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* sizes NULL: one call; nsizes 0 with sizes set: a byte a call. */
static void
walk(const char *ct, const char *cte, const uint8_t *body, size_t len,
    const uint8_t *sizes, size_t nsizes, size_t seed, struct out *o)
{
	struct mime	*m;
	size_t		 off = 0, n, i = 0;

	o->len = 0;
	m = mime_new(1 + seed % 6, 1 + seed % 40);
	mime_header(m, "Content-Type", ct, strlen(ct));
	if (cte != NULL)
		mime_header(m, "content-transfer-encoding", cte,
		    strlen(cte));
	while (off < len) {
		if (sizes == NULL)
			n = len;
		else if (nsizes == 0)
			n = 1;
		else
			n = (size_t)sizes[i++ % nsizes] * 3 + 1;
		if (n > len - off)
			n = len - off;
		mime_body(m, body + off, n, collect, o);
		off += n;
	}
	mime_finish(m, collect, o);
	mime_free(m);
}

static void
header(const uint8_t *data, size_t size)
{
	char	*small, *big;
	size_t	 outsz = 1 + size % 23, n, nb;

	small = malloc(outsz);
	big = malloc(size + 1);
	CHECK(small != NULL && big != NULL);
	n = mime_header_decode((const char *)data, size, small, outsz);
	CHECK(n < outsz && small[n] == '\0');
	nb = mime_header_decode((const char *)data, size, big, size + 1);
	CHECK(nb <= size && big[nb] == '\0');
	CHECK(n <= nb && memcmp(small, big, n) == 0);
	CHECK(n == nb || n == outsz - 1);
	free(small);
	free(big);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *ctes[] = { NULL, "quoted-printable", "base64",
	    "7bit" };
	struct out	 a = { NULL, 0, 0 }, b = { NULL, 0, 0 };
	const uint8_t	*nl, *body;
	char		*ct;
	size_t		 ctlen, len;

	header(data, size);
	nl = memchr(data, '\n', size);
	ctlen = (nl == NULL) ? size : (size_t)(nl - data);
	body = (nl == NULL) ? data + size : nl + 1;
	len = size - (size_t)(body - data);
	ct = malloc(ctlen + 1);
	CHECK(ct != NULL);
	memcpy(ct, data, ctlen);
	ct[ctlen] = '\0';

	walk(ct, ctes[size % 4], body, len, NULL, 0, size, &a);
	walk(ct, ctes[size % 4], body, len, data, size < 16 ? size : 16,
	    size, &b);
	CHECK(a.len == b.len && (a.len == 0 || memcmp(a.buf, b.buf,
	    a.len) == 0));
	if (len <= 4096) {
		walk(ct, ctes[size % 4], body, len, data, 0, size, &b);
		CHECK(a.len == b.len && (a.len == 0 || memcmp(a.buf, b.buf,
		    a.len) == 0));
	}
	free(a.buf);
	free(b.buf);
	free(ct);
	return 0;
}
