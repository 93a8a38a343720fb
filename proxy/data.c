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
 * produce an end of data the client did not send.
 *
 * Public:
 *	data_reader_init	start a message in DATA_DOT or DATA_RAW mode.
 *	data_reader_feed	input bytes -> content; reports the end of DATA.
 *	data_reader_finish	end of a DATA_RAW message: flush, end with CRLF.
 *	data_stuff		content -> dot-stuffed bytes for the backend.
 *
 * DIAGNOSTICS
 *	None logged.  Bare CR and bare LF are reported in r->flags
 *	(DATA_F_BARE_CR, DATA_F_BARE_LF); the session decides what to do.
 */
#include <string.h>

#include "data.h"

enum data_state {
	DATA_S_BOL,	/* at a line start (DOT) / after a line end (RAW) */
	DATA_S_MID,	/* inside a line */
	DATA_S_CR,	/* a CR held: the next byte says if it is bare */
	DATA_S_DOT,	/* a '.' at a line start held */
	DATA_S_DOTCR,	/* ".<CR>" at a line start held */
	DATA_S_DONE,	/* <CRLF>.<CRLF> seen: nothing more is read */
};

static size_t	data_span(const unsigned char *, size_t);
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
}

/*
 * data_reader_feed - see data.h.  The run of ordinary bytes inside a line is
 * copied in one go; everything else goes through data_step() one byte at a
 * time.  Once the end of data has been seen, further calls consume nothing
 * and set *done again.
 */
size_t
data_reader_feed(struct data_reader *r, const unsigned char *in, size_t len,
    unsigned char *out, size_t *outlen, int *done)
{
	size_t	 i = 0, o = 0, n;
	int	 end = (r->state == DATA_S_DONE);

	while (!end && i < len) {
		if (r->state == DATA_S_MID) {
			n = data_span(in + i, len - i);
			memcpy(out + o, in + i, n);
			i += n;
			o += n;
			if (i == len)
				break;
		}
		end = data_step(r, in[i++], out, &o);
	}
	r->size += o;
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
	*outlen = o;
}

/*
 * data_stuff - see data.h.  A '.' is doubled at the start of the content
 * and after every LF.  For CRLF content that is "after every CRLF"; should a
 * bare LF ever get here, stuffing after it too keeps a lenient backend from
 * reading an end of data in it.
 */
size_t
data_stuff(struct data_stuffer *st, const unsigned char *in, size_t len,
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

/* Length of the leading run of in[0..len) holding neither CR nor LF. */
static size_t
data_span(const unsigned char *in, size_t len)
{
	size_t	 n;

	for (n = 0; n < len; n++)
		if (in[n] == '\r' || in[n] == '\n')
			break;
	return n;
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

/* One byte inside a line (no dot handling). */
static void
data_mid(struct data_reader *r, unsigned char c, unsigned char *out,
    size_t *o)
{
	if (c == '\r')
		r->state = DATA_S_CR;
	else if (c == '\n')
		data_bare(r, DATA_F_BARE_LF, out, o);
	else {
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
