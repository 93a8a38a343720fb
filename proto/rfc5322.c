/* SPDX-License-Identifier: ISC */
/*
 * rfc5322.c - owns the streaming split of message content into header
 * fields, end of header and body chunks (see rfc5322.h for the event
 * contract).  Pull style: one event per call, and *consumed tells the caller
 * where to go on from, so it may stop after any event.
 *
 * A header field is collected in p->hbuf as "name\0value", its line ends
 * kept, until the first byte of the next line shows it is not folded (SP or
 * HTAB continues it).  A field name is printable ASCII but ':'; white space
 * between the name and the colon (RFC 5322 obs-optional) is dropped from the
 * name.  The header section ends at the empty line (CRLF, consumed, not
 * body) or at the first line that is neither a field nor a continuation,
 * which is the first body line.  Bytes of that line already taken into hbuf
 * while it still looked like a field name come back as a BODY event that
 * points into hbuf (valid, like every event, until the next call); all other
 * BODY events are slices of the caller's input.
 *
 * rfc5322_count() walks the same header states (enum rfc5322_state) without
 * keeping any bytes: a field is counted at its colon, its bytes as they are
 * known to be part of it; the first byte that would make rfc5322_next()
 * give EOH ends the count.  fuzz_rfc5322 checks that both agree.
 *
 * Public:
 *	rfc5322_init	set up a parser with a limit on one header field.
 *	rfc5322_fini	free what it holds.
 *	rfc5322_next	the next event from the input.
 *	rfc5322_count_init, rfc5322_count	measure the header section.
 *	rfc5322_name_ok	whether a string is a field name.
 *
 * DIAGNOSTICS
 *	None logged.  A header field longer than max_header gives
 *	RFC5322_ERR_TOO_LONG, from then on at every call.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "proto/rfc5322.h"

enum rfc5322_state {
	RS_LINE,	/* header line start; hlen > 0: a field is pending */
	RS_NAME,	/* taking a field name */
	RS_NAME_WSP,	/* white space after the name, before the colon */
	RS_CR0,		/* a CR at a line start: empty line or body? */
	RS_VALUE,	/* taking a field value, up to its LF */
	RS_PREFIX,	/* EOH given; the held line start goes to the body */
	RS_BODY,	/* body: input is passed through */
	RS_END,		/* END given */
	RS_ERR,		/* a field was too long */
};

/* What one header byte did. */
enum rfc5322_step {
	RSTEP_EAT,	/* consumed, no event */
	RSTEP_EV,	/* event set, byte not consumed */
	RSTEP_EV_EAT,	/* event set, byte consumed */
};

static int	rfc5322_namechar(unsigned char);
static void	rfc5322_grow(struct rfc5322 *, size_t);
static int	rfc5322_append(struct rfc5322 *, const unsigned char *, size_t);
static void	rfc5322_header(struct rfc5322 *, struct rfc5322_event *);
static void	rfc5322_eoh(struct rfc5322 *, int, struct rfc5322_event *);
static enum rfc5322_step rfc5322_colon(struct rfc5322 *);
static enum rfc5322_step rfc5322_take(struct rfc5322 *, unsigned char,
		    struct rfc5322_event *);
static enum rfc5322_step rfc5322_line(struct rfc5322 *, unsigned char,
		    struct rfc5322_event *);
static enum rfc5322_step rfc5322_name(struct rfc5322 *, unsigned char,
		    struct rfc5322_event *);
static enum rfc5322_step rfc5322_step(struct rfc5322 *, unsigned char,
		    struct rfc5322_event *);
static size_t	rfc5322_value(struct rfc5322 *, const unsigned char *, size_t);
static void	rfc5322_flush(struct rfc5322 *, struct rfc5322_event *);
static void	rfc5322_headers(struct rfc5322 *, const unsigned char *,
		    size_t, int, struct rfc5322_event *, size_t *);
static void	rfc5322_count_byte(struct rfc5322_count *, unsigned char);

/*
 * rfc5322_init - set up p; a header field (name, colon, value and line ends)
 * may be at most max_header bytes.
 */
void
rfc5322_init(struct rfc5322 *p, size_t max_header)
{
	memset(p, 0, sizeof(*p));
	p->max_header = max_header;
	p->state = RS_LINE;
}

/* rfc5322_fini - free the field buffer; p may be initialised again. */
void
rfc5322_fini(struct rfc5322 *p)
{
	free(p->hbuf);
	p->hbuf = NULL;
	p->hlen = p->hcap = p->namelen = 0;
}

/* rfc5322_next - see rfc5322.h. */
void
rfc5322_next(struct rfc5322 *p, const unsigned char *in, size_t len,
    int final, struct rfc5322_event *ev, size_t *consumed)
{
	memset(ev, 0, sizeof(*ev));
	*consumed = 0;
	switch (p->state) {
	case RS_ERR:
		ev->type = RFC5322_ERR_TOO_LONG;
		return;
	case RS_END:
		ev->type = RFC5322_END;
		return;
	case RS_PREFIX:
		p->state = RS_BODY;
		if (p->hlen > 0) {
			ev->type = RFC5322_BODY;
			ev->data = (const unsigned char *)p->hbuf;
			ev->len = p->hlen;
			p->hlen = 0;
			return;
		}
		/* FALLTHROUGH */
	case RS_BODY:
		if (len > 0) {
			ev->type = RFC5322_BODY;
			ev->data = in;
			ev->len = *consumed = len;
		} else if (final) {
			ev->type = RFC5322_END;
			p->state = RS_END;
		} else
			ev->type = RFC5322_NEED_MORE;
		return;
	default:
		rfc5322_headers(p, in, len, final, ev, consumed);
	}
}

/*
 * The header section: bytes until an event, then the final flush if the
 * input ran out.  A value's run up to its LF is taken in one go.
 */
static void
rfc5322_headers(struct rfc5322 *p, const unsigned char *in, size_t len,
    int final, struct rfc5322_event *ev, size_t *consumed)
{
	enum rfc5322_step st;
	size_t		 i = 0;

	while (i < len) {
		if (p->state == RS_VALUE) {
			i += rfc5322_value(p, in + i, len - i);
			if (p->state == RS_ERR) {
				ev->type = RFC5322_ERR_TOO_LONG;
				*consumed = i;
				return;
			}
			continue;
		}
		st = rfc5322_step(p, in[i], ev);
		if (st != RSTEP_EV)
			i++;
		if (st != RSTEP_EAT) {
			*consumed = i;
			return;
		}
	}
	*consumed = i;
	if (final)
		rfc5322_flush(p, ev);
	else
		ev->type = RFC5322_NEED_MORE;
}

/*
 * Take value bytes up to and including the LF ending the line; returns how
 * many.  At that LF the field is complete but may still be folded.
 */
static size_t
rfc5322_value(struct rfc5322 *p, const unsigned char *in, size_t len)
{
	const unsigned char *lf;
	size_t		 n;

	lf = memchr(in, '\n', len);
	n = (lf == NULL) ? len : (size_t)(lf - in) + 1;
	if (rfc5322_append(p, in, n) == -1)
		return n;
	if (lf != NULL)
		p->state = RS_LINE;
	return n;
}

/* One byte of the header section outside a value. */
static enum rfc5322_step
rfc5322_step(struct rfc5322 *p, unsigned char c, struct rfc5322_event *ev)
{
	switch (p->state) {
	case RS_LINE:
		return rfc5322_line(p, c, ev);
	case RS_NAME:
	case RS_NAME_WSP:
		return rfc5322_name(p, c, ev);
	default:	/* RS_CR0 */
		if (c == '\n') {
			rfc5322_eoh(p, RS_BODY, ev);
			return RSTEP_EV_EAT;
		}
		rfc5322_eoh(p, RS_PREFIX, ev);
		return RSTEP_EV;
	}
}

/*
 * The first byte of a header line: SP/HTAB folds the pending field; any
 * other byte completes it.  With no field pending, a CR may start the empty
 * line, a name character a field, and anything else the body.
 */
static enum rfc5322_step
rfc5322_line(struct rfc5322 *p, unsigned char c, struct rfc5322_event *ev)
{
	if (p->hlen > 0) {
		if (c == ' ' || c == '\t') {
			p->state = RS_VALUE;
			return rfc5322_take(p, c, ev);
		}
		rfc5322_header(p, ev);
		return RSTEP_EV;
	}
	if (c == '\r') {
		p->state = RS_CR0;
		return rfc5322_take(p, c, ev);
	}
	if (rfc5322_namechar(c)) {
		p->state = RS_NAME;
		return rfc5322_take(p, c, ev);
	}
	rfc5322_eoh(p, RS_PREFIX, ev);
	return RSTEP_EV;
}

/* A byte after the start of a field name: more name, WSP, colon or body. */
static enum rfc5322_step
rfc5322_name(struct rfc5322 *p, unsigned char c, struct rfc5322_event *ev)
{
	if (c == ':')
		return rfc5322_colon(p);
	if (c == ' ' || c == '\t') {
		p->state = RS_NAME_WSP;
		return rfc5322_take(p, c, ev);
	}
	if (p->state == RS_NAME && rfc5322_namechar(c))
		return rfc5322_take(p, c, ev);
	rfc5322_eoh(p, RS_PREFIX, ev);
	return RSTEP_EV;
}

/* The colon: the name ends before any WSP; the value follows the NUL. */
static enum rfc5322_step
rfc5322_colon(struct rfc5322 *p)
{
	size_t	 n = p->hlen;

	while (n > 0 && (p->hbuf[n - 1] == ' ' || p->hbuf[n - 1] == '\t'))
		n--;
	rfc5322_grow(p, n + 2);
	p->namelen = n;
	p->hbuf[n] = '\0';
	p->hlen = n + 1;
	p->state = RS_VALUE;
	return RSTEP_EAT;
}

/* Keep one byte of the line in hbuf. */
static enum rfc5322_step
rfc5322_take(struct rfc5322 *p, unsigned char c, struct rfc5322_event *ev)
{
	if (rfc5322_append(p, &c, 1) == -1) {
		ev->type = RFC5322_ERR_TOO_LONG;
		return RSTEP_EV_EAT;
	}
	return RSTEP_EAT;
}

/*
 * Append to hbuf, keeping room for a NUL after it; -1 (and RS_ERR) when the
 * field would exceed max_header.
 */
static int
rfc5322_append(struct rfc5322 *p, const unsigned char *buf, size_t n)
{
	if (n > p->max_header || p->hlen > p->max_header - n) {
		p->state = RS_ERR;
		return -1;
	}
	rfc5322_grow(p, p->hlen + n + 1);
	memcpy(p->hbuf + p->hlen, buf, n);
	p->hlen += n;
	return 0;
}

/*
 * Make hbuf hold at least need bytes.  need never exceeds max_header + 2
 * (a full field, the colon's place, a NUL), so neither does the buffer.
 */
static void
rfc5322_grow(struct rfc5322 *p, size_t need)
{
	size_t	 cap;

	if (need <= p->hcap)
		return;
	cap = (p->hcap == 0) ? 256 : p->hcap;
	while (cap < need)
		cap *= 2;
	if (cap - 2 > p->max_header)
		cap = p->max_header + 2;
	p->hbuf = xrealloc(p->hbuf, cap);
	p->hcap = cap;
}

/*
 * The pending field is complete: strip its final line end (CRLF, or a bare
 * LF), NUL-terminate the value and hand out both.
 */
static void
rfc5322_header(struct rfc5322 *p, struct rfc5322_event *ev)
{
	size_t	 v = p->namelen + 1, n = p->hlen;

	if (n > v && p->hbuf[n - 1] == '\n') {
		n--;
		if (n > v && p->hbuf[n - 1] == '\r')
			n--;
	}
	p->hbuf[n] = '\0';
	ev->type = RFC5322_HEADER;
	ev->name = p->hbuf;
	ev->value = p->hbuf + v;
	ev->valuelen = n - v;
	p->hlen = 0;
	p->state = RS_LINE;
}

/*
 * End of header.  next is RS_BODY after the empty line (dropped) or
 * RS_PREFIX when the line held in hbuf is the start of the body.
 */
static void
rfc5322_eoh(struct rfc5322 *p, int next, struct rfc5322_event *ev)
{
	ev->type = RFC5322_EOH;
	p->state = next;
	if (next == RS_BODY)
		p->hlen = 0;
}

/* Input ended with final set, inside the header section. */
static void
rfc5322_flush(struct rfc5322 *p, struct rfc5322_event *ev)
{
	switch (p->state) {
	case RS_VALUE:
		rfc5322_header(p, ev);
		break;
	case RS_LINE:
		if (p->hlen > 0)
			rfc5322_header(p, ev);
		else
			rfc5322_eoh(p, RS_BODY, ev);
		break;
	default:	/* a started line that is no field */
		rfc5322_eoh(p, RS_PREFIX, ev);
		break;
	}
}

void
rfc5322_count_init(struct rfc5322_count *hc)
{
	memset(hc, 0, sizeof(*hc));
	hc->state = RS_LINE;
}

/* rfc5322_count - see rfc5322.h.  A value's run up to its LF in one go. */
int
rfc5322_count(struct rfc5322_count *hc, const unsigned char *in, size_t len)
{
	const unsigned char	*p = in, *end = in + len, *lf;
	size_t			 n;

	while (p < end && hc->state != RS_END) {
		if (hc->state != RS_VALUE) {
			rfc5322_count_byte(hc, *p++);
			continue;
		}
		lf = memchr(p, '\n', (size_t)(end - p));
		n = (lf == NULL) ? (size_t)(end - p) : (size_t)(lf - p) + 1;
		hc->bytes += n;
		p += n;
		if (lf != NULL)
			hc->state = RS_LINE;
	}
	return hc->state == RS_END;
}

/*
 * One header byte outside a value, as rfc5322_line() and rfc5322_name()
 * take it: a fold continues the last field, a name and a colon start one,
 * anything else (the empty line's CR included) ends the section.
 */
static void
rfc5322_count_byte(struct rfc5322_count *hc, unsigned char c)
{
	switch (hc->state) {
	case RS_LINE:
		if (hc->fields > 0 && (c == ' ' || c == '\t')) {
			hc->bytes++;
			hc->state = RS_VALUE;
		} else if (rfc5322_namechar(c)) {
			hc->line = 1;
			hc->state = RS_NAME;
		} else
			hc->state = RS_END;
		break;
	case RS_NAME:
	case RS_NAME_WSP:
		if (c == ':') {
			hc->fields++;
			hc->bytes += hc->line + 1;
			hc->state = RS_VALUE;
		} else if (c == ' ' || c == '\t') {
			hc->line++;
			hc->state = RS_NAME_WSP;
		} else if (hc->state == RS_NAME && rfc5322_namechar(c))
			hc->line++;
		else
			hc->state = RS_END;
		break;
	}
}

int
rfc5322_name_ok(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (!rfc5322_namechar((unsigned char)s[i]))
			return 0;
	return len > 0;
}

/* Field name characters: printable ASCII but the colon (RFC 5322 ftext). */
static int
rfc5322_namechar(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}
