/* SPDX-License-Identifier: ISC */
/*
 * data.c - message content on the wire.  Owns the DATA/BDAT intake reader
 * (end of data, dot-unstuffing, bare CR/LF detection and normalisation) and
 * the dot-stuffer for the replay to the backend.  Pure byte transforms.
 *
 * The reader is a byte-level state machine whose state survives between
 * calls, so chunk boundaries may fall anywhere (even between the CR and the
 * LF of the terminator).  A line starts only at the very beginning and after
 * a real CRLF: a bare LF or a bare CR is written as CRLF but does not start a
 * line, so no look-alike of <CRLF>.<CRLF> ends the data or loses a dot.  The
 * content therefore has CRLF line ends only, and data_stuff() of it can never
 * produce an end of data the client did not send.  For speed, the bytes
 * inside a line and a CRLF ending it are handled in bulk (memchr, memcpy),
 * with exactly the effect the state machine would have on them one by one.
 *
 * A NUL is dropped from the content.  In DATA_DOT mode it still begins the
 * line it is on: "<CRLF><NUL>.<CRLF>" is content (a line ".", which the
 * stuffer doubles), never an end of data, whatever a backend would make of
 * the NUL.  Each call's content is then measured by rfc5322_count().
 *
 * Public:
 *	data_reader_init	start a message in DATA_DOT or DATA_RAW mode.
 *	data_reader_feed	input bytes -> content; reports the end of DATA.
 *	data_reader_finish	end of a DATA_RAW message: flush, end with CRLF.
 *	data_stuff		content -> dot-stuffed bytes for the backend.
 *
 * DIAGNOSTICS
 *	None logged.  Bare CR, bare LF and NUL are reported in r->flags
 *	(DATA_F_BARE_CR, DATA_F_BARE_LF, DATA_F_NUL), the header section's
 *	size in r->hdr; the session decides what to do.
 */
#include <string.h>

#include "proto/data.h"

enum data_state {
	DATA_S_BOL,	/* at a line start (DOT) / after a line end (RAW) */
	DATA_S_MID,	/* inside a line */
	DATA_S_CR,	/* a CR held: the next byte says if it is bare */
	DATA_S_DOT,	/* a '.' at a line start held */
	DATA_S_DOTCR,	/* ".<CR>" at a line start held */
	DATA_S_DONE,	/* <CRLF>.<CRLF> seen: nothing more is read */
};

/*
 * Where the next CR, LF and NUL of one data_reader_feed() input are.  Each
 * is found once with memchr() and kept until the reader has passed it, so
 * the scan stays linear even if one of them never occurs.
 */
struct data_scan {
	const unsigned char	*cr;	/* next CR; end: none, NULL: unknown */
	const unsigned char	*lf;	/* next LF; end: none, NULL: unknown */
	const unsigned char	*nul;	/* next NUL; the same */
};

static const unsigned char *data_find(const unsigned char *,
		    const unsigned char *, int);
static size_t	data_span(struct data_scan *, const unsigned char *,
		    const unsigned char *);
static int	data_in_line(const struct data_reader *, unsigned char);
static void	data_crlf(unsigned char *, size_t *);
static void	data_bare(struct data_reader *, unsigned, unsigned char *,
		    size_t *);
static void	data_mid(struct data_reader *, unsigned char, unsigned char *,
		    size_t *);
static int	data_step(struct data_reader *, unsigned char, unsigned char *,
		    size_t *);

/*
 * data_reader_init - reset r for a new message.  DATA_DOT reads a DATA body
 * up to its <CRLF>.<CRLF>; DATA_RAW reads BDAT chunks, ended by the caller
 * with data_reader_finish().
 */
void
data_reader_init(struct data_reader *r, enum data_mode mode)
{
	memset(r, 0, sizeof(*r));
	r->mode = mode;
	r->state = DATA_S_BOL;
	rfc5322_count_init(&r->hdr);
}

/*
 * data_reader_feed - see data.h.  Inside a line, the run up to the next CR
 * or LF is copied in one go, and a CRLF that ends it with both bytes in
 * this input is a line end (the same as data_step() on the CR, then on the
 * LF).  Everything else (a dot first on a line, a bare or split CR or LF,
 * the terminator) goes through data_step() one byte at a time.  Once the end
 * of data has been seen, further calls consume nothing and set *done again.
 */
size_t
data_reader_feed(struct data_reader *r, const unsigned char *in, size_t len,
    unsigned char *out, size_t *outlen, int *done)
{
	struct data_scan sc = { NULL, NULL, NULL };
	size_t	 i = 0, o = 0, n;
	int	 end = (r->state == DATA_S_DONE);

	while (!end && i < len) {
		if (data_in_line(r, in[i])) {
			n = data_span(&sc, in + i, in + len);
			if (n > 0) {
				memcpy(out + o, in + i, n);
				i += n;
				o += n;
				r->state = DATA_S_MID;
				if (i == len)
					break;
			}
		}
		if (r->state == DATA_S_MID && in[i] == '\r' && i + 1 < len &&
		    in[i + 1] == '\n') {
			data_crlf(out, &o);
			r->state = DATA_S_BOL;
			i += 2;
			continue;
		}
		end = data_step(r, in[i++], out, &o);
	}
	r->size += o;
	rfc5322_count(&r->hdr, out, o);
	*outlen = o;
	if (done != NULL)
		*done = end;
	return i;
}

/*
 * data_reader_finish - see data.h.  An empty message stays empty.  After it
 * r is at a line end again, so a second call writes nothing.
 */
void
data_reader_finish(struct data_reader *r, unsigned char *out, size_t *outlen)
{
	size_t	 o = 0;

	if (r->state == DATA_S_CR) {
		r->flags |= DATA_F_BARE_CR;
		data_crlf(out, &o);
	} else if (r->state == DATA_S_MID && r->size > 0)
		data_crlf(out, &o);
	r->state = DATA_S_BOL;
	r->size += o;
	rfc5322_count(&r->hdr, out, o);
	*outlen = o;
}

/*
 * data_stuff - see data.h.  A '.' is doubled at the start of the content
 * and after every LF.  For CRLF content that is "after every CRLF"; should a
 * bare LF ever get here, stuffing after it too keeps a lenient backend from
 * reading an end of data in it.  Only an LF followed by a '.' ends a run:
 * everything between two such places is copied in one go.
 */
size_t
data_stuff(struct data_stuffer *st, const unsigned char *in, size_t len,
    unsigned char *out)
{
	const unsigned char	*run, *p, *end, *lf;
	size_t			 o = 0;

	if (len == 0)
		return 0;
	run = p = in;
	end = in + len;
	if (st->bol && *in == '.')
		out[o++] = '.';
	while ((lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p = lf + 1;
		if (p == end)
			break;
		if (*p == '.') {
			memcpy(out + o, run, (size_t)(p - run));
			o += (size_t)(p - run);
			out[o++] = '.';
			run = p;
		}
	}
	memcpy(out + o, run, (size_t)(end - run));
	o += (size_t)(end - run);
	st->bol = (end[-1] == '\n');
	return o;
}

/* The first c in [p, end), or end if there is none. */
static const unsigned char *
data_find(const unsigned char *p, const unsigned char *end, int c)
{
	const unsigned char	*q;

	q = memchr(p, c, (size_t)(end - p));
	return q != NULL ? q : end;
}

/*
 * Length of the run from p holding no CR, LF or NUL; end is the end of the
 * input sc was started on (zeroed) and p only moves forward.
 */
static size_t
data_span(struct data_scan *sc, const unsigned char *p,
    const unsigned char *end)
{
	const unsigned char	*q;

	if (sc->cr == NULL || sc->cr < p)
		sc->cr = data_find(p, end, '\r');
	if (sc->lf == NULL || sc->lf < p)
		sc->lf = data_find(p, end, '\n');
	if (sc->nul == NULL || sc->nul < p)
		sc->nul = data_find(p, end, '\0');
	q = sc->cr < sc->lf ? sc->cr : sc->lf;
	return (size_t)((q < sc->nul ? q : sc->nul) - p);
}

/*
 * Whether byte c, read in r's state, is plain line content as long as it is
 * no CR, LF or NUL: inside a line, or first on a line unless it is a dot
 * that DATA_DOT mode must look at.
 */
static int
data_in_line(const struct data_reader *r, unsigned char c)
{
	if (r->state == DATA_S_MID)
		return 1;
	return r->state == DATA_S_BOL && (r->mode == DATA_RAW || c != '.');
}

static void
data_crlf(unsigned char *out, size_t *o)
{
	out[(*o)++] = '\r';
	out[(*o)++] = '\n';
}

/*
 * A bare CR or LF: flag it and write CRLF.  In DATA_DOT mode this is no
 * line start (a '.' after it is content, kept); in DATA_RAW mode there are
 * no dots, and the state only remembers that the content ends with CRLF.
 */
static void
data_bare(struct data_reader *r, unsigned flag, unsigned char *out,
    size_t *o)
{
	r->flags |= flag;
	data_crlf(out, o);
	r->state = (r->mode == DATA_RAW) ? DATA_S_BOL : DATA_S_MID;
}

/*
 * One byte inside a line (no dot handling).  A NUL is dropped; in DATA_DOT
 * mode the line has begun all the same (a '.' after it is content).
 */
static void
data_mid(struct data_reader *r, unsigned char c, unsigned char *out,
    size_t *o)
{
	if (c == '\r')
		r->state = DATA_S_CR;
	else if (c == '\n')
		data_bare(r, DATA_F_BARE_LF, out, o);
	else if (c == '\0') {
		r->flags |= DATA_F_NUL;
		if (r->mode == DATA_DOT)
			r->state = DATA_S_MID;
	} else {
		out[(*o)++] = c;
		r->state = DATA_S_MID;
	}
}

/*
 * data_step - one input byte in the current state; returns 1 when it was
 * the LF of the terminating ".<CRLF>".  Writes at most 3 bytes (a held bare
 * CR as CRLF, then c), and at most 2 unless something was held, which keeps
 * the output of n bytes within DATA_OUT_MAX(n).
 */
static int
data_step(struct data_reader *r, unsigned char c, unsigned char *out,
    size_t *o)
{
	switch (r->state) {
	case DATA_S_BOL:
		if (r->mode == DATA_DOT && c == '.')
			r->state = DATA_S_DOT;
		else
			data_mid(r, c, out, o);
		return 0;
	case DATA_S_CR:
		if (c == '\n') {
			data_crlf(out, o);
			r->state = DATA_S_BOL;
			return 0;
		}
		data_bare(r, DATA_F_BARE_CR, out, o);
		return data_step(r, c, out, o);
	case DATA_S_DOT:
		/* A stuffed dot: drop it, c goes on as line content. */
		if (c == '\r')
			r->state = DATA_S_DOTCR;
		else
			data_mid(r, c, out, o);
		return 0;
	case DATA_S_DOTCR:
		if (c == '\n') {
			r->state = DATA_S_DONE;
			return 1;
		}
		/* ".<CR>x": the dot was stuffing, the CR is bare. */
		data_bare(r, DATA_F_BARE_CR, out, o);
		return data_step(r, c, out, o);
	case DATA_S_DONE:
		return 1;
	default:
		data_mid(r, c, out, o);
		return 0;
	}
}
