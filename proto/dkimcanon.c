/* SPDX-License-Identifier: ISC */
/*
 * dkimcanon.c - DKIM canonicalization of header fields and bodies (RFC
 * 6376 3.4), for postern's own signer (filters/dkimsig.c) and the body
 * length the dkim_verify filter compares l= with.  Written here rather
 * than taken from libopendkim, which keeps its canonicalizers private to
 * its signing and verifying handles (and those handles are what costs).
 *
 * The body is a byte-at-a-time state machine, so chunk boundaries
 * (anywhere, even between CR and LF) change nothing; its output is
 * batched into runs of DKIMCANON_RUN bytes for the sink (a SHA-256).
 *
 * Public: dkimcanon_header, dkimcanon_body_init, dkimcanon_body_add,
 * dkimcanon_body_end (contracts in dkimcanon.h).
 *
 * DIAGNOSTICS
 *	None: every byte string has a canonical form.
 */
#include <stddef.h>
#include <string.h>

#include "lib/util.h"
#include "proto/dkimcanon.h"

static void	dkimcanon_emit(struct dkimcanon_body *, const void *, size_t);
static void	dkimcanon_flush(struct dkimcanon_body *);
static void	dkimcanon_text(struct dkimcanon_body *, unsigned char);
static void	dkimcanon_eol(struct dkimcanon_body *);

#define DKIMCANON_WSP(c)	((c) == ' ' || (c) == '\t')

void
dkimcanon_header(struct util_buf *out, int relaxed, const char *name,
    size_t nlen, const char *value, size_t vlen, int crlf)
{
	const char	*p = value, *end = value + vlen;
	size_t		 i;
	char		 c;
	int		 ws = 0, text = 0;

	if (!relaxed) {
		util_buf_add(out, name, nlen);
		util_buf_add(out, ":", 1);
		util_buf_add(out, value, vlen);
	} else {
		for (i = 0; i < nlen; i++) {
			c = name[i];
			if (DKIMCANON_WSP(c))
				continue;
			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			util_buf_add(out, &c, 1);
		}
		util_buf_add(out, ":", 1);
		for (; p < end; p++) {
			if (*p == '\r' || *p == '\n')
				continue;
			if (DKIMCANON_WSP(*p)) {
				ws = 1;
				continue;
			}
			/* spaces before the value's first byte go too */
			if (ws && text)
				util_buf_add(out, " ", 1);
			ws = 0;
			text = 1;
			util_buf_add(out, p, 1);
		}
	}
	if (crlf)
		util_buf_add(out, "\r\n", 2);
}

void
dkimcanon_body_init(struct dkimcanon_body *b, int relaxed,
    dkimcanon_sink_fn sink, void *arg)
{
	memset(b, 0, offsetof(struct dkimcanon_body, run));
	b->relaxed = relaxed;
	b->sink = sink;
	b->arg = arg;
}

static void
dkimcanon_flush(struct dkimcanon_body *b)
{
	if (b->sink != NULL && b->nrun > 0)
		b->sink(b->arg, b->run, b->nrun);
	b->nrun = 0;
}

static void
dkimcanon_emit(struct dkimcanon_body *b, const void *p, size_t n)
{
	b->len += n;
	if (b->sink == NULL)
		return;
	if (n > sizeof(b->run) - b->nrun)
		dkimcanon_flush(b);
	memcpy(b->run + b->nrun, p, n);
	b->nrun += n;
}

/* A byte of the line in progress, after the empty lines held back before
 * it and the space held back. */
static void
dkimcanon_text(struct dkimcanon_body *b, unsigned char c)
{
	for (; b->line == 0 && b->empty > 0; b->empty--)
		dkimcanon_emit(b, "\r\n", 2);
	if (b->ws)
		dkimcanon_emit(b, " ", 1);
	b->ws = 0;
	dkimcanon_emit(b, &c, 1);
	b->line++;
}

/* A CRLF: ends a line with text, or is held back as an empty line. */
static void
dkimcanon_eol(struct dkimcanon_body *b)
{
	b->ws = 0;
	if (b->line == 0) {
		b->empty++;
		return;
	}
	dkimcanon_emit(b, "\r\n", 2);
	b->line = 0;
}

void
dkimcanon_body_add(struct dkimcanon_body *b, const unsigned char *p,
    size_t len)
{
	size_t		 i;
	unsigned char	 c;

	for (i = 0; i < len; i++) {
		c = p[i];
		if (b->cr) {
			b->cr = 0;
			if (c == '\n') {
				dkimcanon_eol(b);
				continue;
			}
			dkimcanon_text(b, '\r');	/* a CR alone */
		}
		if (c == '\r')
			b->cr = 1;
		else if (b->relaxed && DKIMCANON_WSP(c))
			b->ws = 1;
		else
			dkimcanon_text(b, c);
	}
}

size_t
dkimcanon_body_end(struct dkimcanon_body *b)
{
	if (b->cr)
		dkimcanon_text(b, '\r');
	b->cr = 0;
	if (b->line > 0)
		dkimcanon_eol(b);
	if (b->len == 0 && !b->relaxed)
		dkimcanon_emit(b, "\r\n", 2);
	dkimcanon_flush(b);
	return b->len;
}
