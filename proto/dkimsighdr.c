/* SPDX-License-Identifier: ISC */
/*
 * dkimsighdr.c - builds the DKIM-Signature header field's value, folded
 * the way libopendkim 2.11 folds the fields it makes (dkim_getsighdr_d
 * with its default margin of 75 columns), so that the header fields
 * postern's own signer writes look the same as before it replaced
 * libopendkim.  The folding is part of what is signed (simple header
 * canonicalization keeps it), so the text made before b= is exactly the
 * text that goes out.
 *
 * Layout: a tag that fits goes on the line after one space; one that
 * does not starts a new line (CRLF TAB); there h= is broken at colons
 * (continuation lines "CRLF TAB SP") and bh= and b= at the margin.
 * b= always starts a line (libopendkim forces it for every RSA key, and
 * an Ed25519 signature never fits).
 *
 * Public: dkimsighdr_init, dkimsighdr_tag, dkimsighdr_b,
 * dkimsighdr_b_value, dkimsighdr_free (contracts in dkimsighdr.h).
 *
 * DIAGNOSTICS
 *	None.
 */
#include <string.h>

#include "lib/util.h"
#include "proto/dkimsighdr.h"

static void	dkimsighdr_add(struct dkimsighdr *, const char *, size_t);
static void	dkimsighdr_colons(struct dkimsighdr *, const char *,
		    size_t);
static void	dkimsighdr_margin(struct dkimsighdr *, const char *,
		    size_t);

void
dkimsighdr_init(struct dkimsighdr *h, size_t col)
{
	memset(h, 0, sizeof(*h));
	h->col = col;
}

void
dkimsighdr_free(struct dkimsighdr *h)
{
	util_buf_free(&h->text);
}

static void
dkimsighdr_add(struct dkimsighdr *h, const char *p, size_t len)
{
	util_buf_add(&h->text, p, len);
	h->col += len;
}

/* h= on a line of its own: the names, a new line before one that would
 * pass the margin. */
static void
dkimsighdr_colons(struct dkimsighdr *h, const char *pv, size_t len)
{
	const char	*p = pv, *end = pv + len, *c;
	size_t		 n;

	for (; p < end; p = c + 1) {
		if ((c = memchr(p, ':', (size_t)(end - p))) == NULL)
			c = end;
		n = (size_t)(c - p);
		if (p == pv)
			dkimsighdr_add(h, p, n);
		else if (h->col + n + 1 > DKIMSIGHDR_MARGIN) {
			util_buf_add(&h->text, ":\r\n\t ", 5);
			h->col = 9;
			dkimsighdr_add(h, p, n);
		} else {
			dkimsighdr_add(h, ":", 1);
			dkimsighdr_add(h, p, n);
		}
	}
}

/* Base64 (after its first byte) cut at the margin. */
static void
dkimsighdr_margin(struct dkimsighdr *h, const char *p, size_t len)
{
	size_t	 n;

	if (len == 0)
		return;
	dkimsighdr_add(h, p, 1);
	for (p++, len--; len > 0; p += n, len -= n) {
		if (h->col >= DKIMSIGHDR_MARGIN) {
			util_buf_add(&h->text, "\r\n\t ", 4);
			h->col = 9;
		}
		n = DKIMSIGHDR_MARGIN - h->col;
		if (n > len)
			n = len;
		dkimsighdr_add(h, p, n);
	}
}

void
dkimsighdr_tag(struct dkimsighdr *h, const char *tag, const char *value,
    size_t vlen)
{
	struct util_buf	 pv = { NULL, 0, 0 };
	size_t		 tlen = strlen(tag);

	util_buf_add(&pv, tag, tlen);
	util_buf_add(&pv, "=", 1);
	util_buf_add(&pv, value, vlen);
	util_buf_add(&pv, ";", 1);
	if (!h->any)
		dkimsighdr_add(h, (char *)pv.p, pv.len);
	else if (h->col + pv.len <= DKIMSIGHDR_MARGIN) {
		dkimsighdr_add(h, " ", 1);
		dkimsighdr_add(h, (char *)pv.p, pv.len);
	} else {
		util_buf_add(&h->text, "\r\n\t", 3);
		h->col = 8;
		if (strcmp(tag, "h") == 0)
			dkimsighdr_colons(h, (char *)pv.p, pv.len);
		else if (strcmp(tag, "bh") == 0) {
			dkimsighdr_add(h, (char *)pv.p, tlen + 1);
			dkimsighdr_margin(h, (char *)pv.p + tlen + 1,
			    pv.len - tlen - 1);
		} else
			dkimsighdr_add(h, (char *)pv.p, pv.len);
	}
	h->any = 1;
	util_buf_free(&pv);
}

void
dkimsighdr_b(struct dkimsighdr *h)
{
	util_buf_add(&h->text, "\r\n\tb=", 5);
	h->col = 10;
}

void
dkimsighdr_b_value(struct dkimsighdr *h, const char *b64, size_t len)
{
	dkimsighdr_margin(h, b64, len);
}
