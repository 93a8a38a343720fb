/* SPDX-License-Identifier: ISC */
/*
 * data_ref.h - the REFERENCE MODEL of proto/data.c: the byte-by-byte DATA
 * reader and stuffer as they were before data.c learnt to scan with memchr()
 * and copy runs: slow and obviously right.  tests/unit/t_data.c and
 * tests/fuzz/fuzz_data.c require data.c to give exactly what these give, call
 * by call.  Keep them as they are (the one later rule, NUL bytes left out of
 * the content, is in ref_mid(), byte by byte).  The state lives in the same
 * struct data_reader, numbered by enum ref_state.  Static functions: include
 * once per program.
 */
#ifndef POSTERN_DATA_REF_H
#define POSTERN_DATA_REF_H

#include <stddef.h>
#include <string.h>

#include "proto/data.h"

enum ref_state {
	REF_S_BOL,	/* at a line start (DOT) / after a line end (RAW) */
	REF_S_MID,	/* inside a line */
	REF_S_CR,	/* a CR held: the next byte says if it is bare */
	REF_S_DOT,	/* a '.' at a line start held */
	REF_S_DOTCR,	/* ".<CR>" at a line start held */
	REF_S_DONE,	/* <CRLF>.<CRLF> seen: nothing more is read */
};

static void	ref_reader_init(struct data_reader *, enum data_mode);
static size_t	ref_reader_feed(struct data_reader *, const unsigned char *,
		    size_t, unsigned char *, size_t *, int *);
static void	ref_reader_finish(struct data_reader *, unsigned char *,
		    size_t *);
static size_t	ref_stuff(struct data_stuffer *, const unsigned char *,
		    size_t, unsigned char *);
static size_t	ref_span(const unsigned char *, size_t);
static void	ref_crlf(unsigned char *, size_t *);
static void	ref_bare(struct data_reader *, unsigned, unsigned char *,
		    size_t *);
static void	ref_mid(struct data_reader *, unsigned char, unsigned char *,
		    size_t *);
static int	ref_step(struct data_reader *, unsigned char, unsigned char *,
		    size_t *);

static void
ref_reader_init(struct data_reader *r, enum data_mode mode)
{
	memset(r, 0, sizeof(*r));
	r->mode = mode;
	r->state = REF_S_BOL;
}

static size_t
ref_reader_feed(struct data_reader *r, const unsigned char *in, size_t len,
    unsigned char *out, size_t *outlen, int *done)
{
	size_t	 i = 0, o = 0, n;
	int	 end = (r->state == REF_S_DONE);

	while (!end && i < len) {
		if (r->state == REF_S_MID) {
			n = ref_span(in + i, len - i);
			memcpy(out + o, in + i, n);
			i += n;
			o += n;
			if (i == len)
				break;
		}
		end = ref_step(r, in[i++], out, &o);
	}
	r->size += o;
	*outlen = o;
	if (done != NULL)
		*done = end;
	return i;
}

static void
ref_reader_finish(struct data_reader *r, unsigned char *out, size_t *outlen)
{
	size_t	 o = 0;

	if (r->state == REF_S_CR) {
		r->flags |= DATA_F_BARE_CR;
		ref_crlf(out, &o);
	} else if (r->state == REF_S_MID && r->size > 0)
		ref_crlf(out, &o);
	r->state = REF_S_BOL;
	r->size += o;
	*outlen = o;
}

static size_t
ref_stuff(struct data_stuffer *st, const unsigned char *in, size_t len,
    unsigned char *out)
{
	size_t	 i, o = 0;

	for (i = 0; i < len; i++) {
		if (st->bol && in[i] == '.')
			out[o++] = '.';
		out[o++] = in[i];
		st->bol = (in[i] == '\n');
	}
	return o;
}

static size_t
ref_span(const unsigned char *in, size_t len)
{
	size_t	 n;

	for (n = 0; n < len; n++)
		if (in[n] == '\r' || in[n] == '\n' || in[n] == '\0')
			break;
	return n;
}

static void
ref_crlf(unsigned char *out, size_t *o)
{
	out[(*o)++] = '\r';
	out[(*o)++] = '\n';
}

static void
ref_bare(struct data_reader *r, unsigned flag, unsigned char *out,
    size_t *o)
{
	r->flags |= flag;
	ref_crlf(out, o);
	r->state = (r->mode == DATA_RAW) ? REF_S_BOL : REF_S_MID;
}

static void
ref_mid(struct data_reader *r, unsigned char c, unsigned char *out,
    size_t *o)
{
	if (c == '\r')
		r->state = REF_S_CR;
	else if (c == '\n')
		ref_bare(r, DATA_F_BARE_LF, out, o);
	else if (c == '\0') {
		r->flags |= DATA_F_NUL;
		if (r->mode == DATA_DOT)
			r->state = REF_S_MID;
	} else {
		out[(*o)++] = c;
		r->state = REF_S_MID;
	}
}

static int
ref_step(struct data_reader *r, unsigned char c, unsigned char *out,
    size_t *o)
{
	switch (r->state) {
	case REF_S_BOL:
		if (r->mode == DATA_DOT && c == '.')
			r->state = REF_S_DOT;
		else
			ref_mid(r, c, out, o);
		return 0;
	case REF_S_CR:
		if (c == '\n') {
			ref_crlf(out, o);
			r->state = REF_S_BOL;
			return 0;
		}
		ref_bare(r, DATA_F_BARE_CR, out, o);
		return ref_step(r, c, out, o);
	case REF_S_DOT:
		if (c == '\r')
			r->state = REF_S_DOTCR;
		else
			ref_mid(r, c, out, o);
		return 0;
	case REF_S_DOTCR:
		if (c == '\n') {
			r->state = REF_S_DONE;
			return 1;
		}
		ref_bare(r, DATA_F_BARE_CR, out, o);
		return ref_step(r, c, out, o);
	case REF_S_DONE:
		return 1;
	default:
		ref_mid(r, c, out, o);
		return 0;
	}
}

#endif
