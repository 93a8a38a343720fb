/* SPDX-License-Identifier: ISC */
/*
 * mime.c - owns the decoding that content checks run on: RFC 2047
 * encoded-words in header values, and a streaming walk over a message body
 * (RFC 2045/2046) that hands out the decoded text of its text parts.
 *
 * The body walker takes its input in any chunking and cuts it into pieces
 * that depend on the bytes only: a line through its LF, or MIME_LINE_MAX
 * bytes of a longer line.  Every decision is taken per piece, so the text
 * given out does not depend on the chunking (only how it is split between
 * callback calls does).  A piece is first checked against the stack of
 * open boundaries (innermost first; a match on an outer one closes the
 * inner parts), then goes to the mode of the current entity: HEADERS (a
 * part's header block, its fields unfolded into m->field), TEXT (decoded
 * and given out) or SKIP (preambles, epilogues, attachments, parts over
 * the limits).  In a text part the line end of each line is held back
 * until the next line shows it is not a boundary, since the CRLF before a
 * boundary belongs to the boundary (RFC 2046 5.1.1).  Memory is bounded by
 * one line buffer, one header field (MIME_HDR_MAX) and the boundary stack
 * (max_depth, capped at MIME_DEPTH_MAX).
 *
 * Public:
 *	mime_header_decode	RFC 2047 decoding and unfolding of a value.
 *	mime_new		a body walker with depth and part limits.
 *	mime_free		free it.
 *	mime_header		a top-level header field (Content-Type, CTE).
 *	mime_body		body bytes in; decoded text to the callback.
 *	mime_finish		end of body: flush what is held.
 *
 * DIAGNOSTICS
 *	None logged.  Malformed input never fails: a malformed encoded-word
 *	is kept as it is, invalid quoted-printable is kept literally, invalid
 *	base64 characters are skipped, a part header block over MIME_HDR_MAX
 *	bytes or parts beyond the limits are skipped as opaque.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util.h"
#include "proto/mime.h"

#define MIME_LINE_MAX		65536	/* longer lines go on in pieces */
#define MIME_HDR_MAX		65536	/* larger part header block: opaque */
#define MIME_BOUNDARY_MAX	256	/* RFC 2046 allows 70 */
#define MIME_DEPTH_MAX		64	/* hard cap on max_depth */
#define MIME_OUT_MAX		4096	/* decoded bytes held for the cb */

enum mime_mode {
	MIME_HEADERS,		/* reading a header block */
	MIME_TEXT,		/* in a text part: decode and give out */
	MIME_SKIP,		/* preamble, epilogue, opaque part */
	MIME_DONE,		/* mime_finish was called */
};

enum mime_kind {
	MIME_K_TEXT,		/* text/ or no usable type */
	MIME_K_MULTI,		/* multipart/ */
	MIME_K_MESSAGE,		/* message/rfc822 */
	MIME_K_OTHER,		/* anything else: skipped */
};

enum mime_cte {
	MIME_CTE_IDENT,		/* 7bit, 8bit, binary, unknown */
	MIME_CTE_QP,		/* quoted-printable */
	MIME_CTE_B64,		/* base64 */
};

enum mime_qp {
	MIME_QP_TEXT,		/* plain bytes */
	MIME_QP_EQ,		/* after '=' */
	MIME_QP_HEX1,		/* after '=' and one hex digit */
	MIME_QP_WS,		/* after '=' and blanks: soft break padding? */
	MIME_QP_CR,		/* after '=' [blanks] CR */
};

/* What the header block of the current entity said. */
struct mime_info {
	enum mime_kind	 kind;
	enum mime_cte	 cte;
	int		 digest;	/* multipart/digest */
	char		 boundary[MIME_BOUNDARY_MAX + 1];
	size_t		 blen;		/* 0: none (or too long) */
};

/* One open multipart. */
struct mime_level {
	char		 b[MIME_BOUNDARY_MAX + 1];	/* boundary */
	size_t		 blen;
	size_t		 depth;		/* depth of its parts */
	int		 digest;	/* parts default to message/rfc822 */
};

struct mime {
	size_t		 max_depth, max_parts;
	size_t		 depth;		/* of the current entity */
	size_t		 nparts;	/* body parts started */
	size_t		 ntext;		/* text parts started */
	int		 started;	/* top-level body begun */
	enum mime_mode	 mode;
	struct mime_info info;		/* of the header block being read */
	struct mime_level *lev;		/* boundary stack, owned */
	size_t		 nlev, levcap;
	unsigned char	*line;		/* MIME_LINE_MAX, owned */
	size_t		 llen;
	int		 bol;		/* the next piece starts a line */
	char		*field;		/* one unfolded header field, owned */
	size_t		 flen, fcap;
	size_t		 hlen;		/* bytes of this header block */
	enum mime_cte	 cte;		/* of the text part */
	enum mime_qp	 qp;
	unsigned char	 qbuf[20];	/* '=' sequence not yet decided */
	size_t		 qlen;
	unsigned char	 quad[4];	/* pending base64 sextets */
	size_t		 qn;
	int		 b64done;	/* '=' seen: rest of part ignored */
	unsigned char	 held[2];	/* held line end of the text part */
	size_t		 heldlen;
	unsigned char	 out[MIME_OUT_MAX];
	size_t		 olen;
	mime_text_cb	 cb;		/* of the current call, not owned */
	void		*arg;
};

/* Bounded output of mime_header_decode. */
struct mime_hout {
	char		*buf;
	size_t		 size;		/* > 0 */
	size_t		 len;		/* < size */
};

/* A parsed encoded-word. */
struct mime_ew {
	const char	*text;		/* encoded text, not duplicated */
	size_t		 tlen;
	int		 enc;		/* 'B' or 'Q' */
};

static int	mime_blank(int);
static int	mime_hex(int);
static int	mime_b64val(int);
static int	mime_tokenchar(int);
static size_t	mime_unfold(const char *, size_t, char *);
static void	mime_hput(struct mime_hout *, int);
static int	mime_b64_valid(const char *, size_t);
static size_t	mime_ew_parse(const char *, size_t, struct mime_ew *);
static void	mime_ew_decode(struct mime_hout *, const struct mime_ew *);
static size_t	mime_skipws(const char *, size_t, size_t);
static size_t	mime_param_value(const char *, size_t, size_t, char *,
		    size_t, size_t *);
static void	mime_params(struct mime_info *, const char *, size_t, size_t);
static void	mime_ctype(struct mime_info *, const char *, size_t);
static enum mime_cte mime_cte_parse(const char *, size_t);
static void	mime_info_init(struct mime_info *, int);
static void	mime_field_apply(struct mime *, const char *, size_t,
		    const char *, size_t);
static void	mime_field_add(struct mime *, const unsigned char *, size_t);
static void	mime_field_end(struct mime *);
static int	mime_is_field(const unsigned char *, size_t);
static void	mime_flush(struct mime *);
static void	mime_emit(struct mime *, const unsigned char *, size_t);
static void	mime_emit1(struct mime *, int);
static void	mime_qp_byte(struct mime *, int);
static void	mime_b64_end(struct mime *);
static void	mime_b64(struct mime *, const unsigned char *, size_t);
static void	mime_decode(struct mime *, const unsigned char *, size_t);
static void	mime_decode_finish(struct mime *);
static void	mime_held_flush(struct mime *);
static void	mime_text_begin(struct mime *);
static void	mime_push(struct mime *);
static void	mime_begin(struct mime *);
static void	mime_part_end(struct mime *);
static int	mime_boundary(struct mime *, const unsigned char *, size_t,
		    int *);
static void	mime_delim(struct mime *, size_t, int);
static int	mime_hdr_line(struct mime *, const unsigned char *, size_t,
		    size_t, int);
static void	mime_text_line(struct mime *, const unsigned char *, size_t,
		    size_t, int);
static void	mime_piece(struct mime *, const unsigned char *, size_t, int,
		    int);
static void	mime_start(struct mime *);
static void	mime_feed(struct mime *, const unsigned char *, size_t);

static int
mime_blank(int c)
{
	return c == ' ' || c == '\t';
}

static int
mime_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
mime_b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* RFC 2045 token: printable ASCII but tspecials. */
static int
mime_tokenchar(int c)
{
	return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Copies v to u (room for len) without the CRLF (or LF) of folds. */
static size_t
mime_unfold(const char *v, size_t len, char *u)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++) {
		if (v[i] == '\r' && len - i > 2 && v[i + 1] == '\n' &&
		    mime_blank(v[i + 2])) {
			i++;
			continue;
		}
		if (v[i] == '\n' && len - i > 1 && mime_blank(v[i + 1]))
			continue;
		u[n++] = v[i];
	}
	return n;
}

static void
mime_hput(struct mime_hout *o, int c)
{
	if (o->len < o->size - 1)
		o->buf[o->len++] = (char)c;
}

/* Strict enough to tell base64 from junk: alphabet, then at most 2 '='. */
static int
mime_b64_valid(const char *s, size_t len)
{
	size_t	 i, n = 0, pad = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '=')
			pad++;
		else if (pad > 0 || mime_b64val((unsigned char)s[i]) < 0)
			return 0;
		else
			n++;
	}
	return pad <= 2 && n % 4 != 1;
}

/*
 * The length of the encoded-word "=?charset[*lang]?B|Q?text?=" at s, 0
 * when there is none (or its base64 is bad).
 */
static size_t
mime_ew_parse(const char *s, size_t len, struct mime_ew *ew)
{
	size_t	 i = 2, start;

	if (len < 2 || s[0] != '=' || s[1] != '?')
		return 0;
	while (i < len && s[i] > ' ' && s[i] < 127 && s[i] != '?')
		i++;
	if (i == 2 || len - i < 3 || s[i + 2] != '?')
		return 0;
	ew->enc = s[i + 1] & ~0x20;
	if (ew->enc != 'B' && ew->enc != 'Q')
		return 0;
	start = i += 3;
	while (i < len && s[i] > ' ' && s[i] < 127 && s[i] != '?')
		i++;
	if (len - i < 2 || s[i] != '?' || s[i + 1] != '=')
		return 0;
	ew->text = s + start;
	ew->tlen = i - start;
	if (ew->enc == 'B' && !mime_b64_valid(ew->text, ew->tlen))
		return 0;
	return i + 2;
}

static void
mime_ew_decode(struct mime_hout *o, const struct mime_ew *ew)
{
	const unsigned char *t = (const unsigned char *)ew->text;
	size_t	 i, n = 0;
	unsigned v = 0;

	for (i = 0; i < ew->tlen; i++) {
		if (ew->enc == 'B') {
			if (t[i] == '=')
				break;
			v = v << 6 | (unsigned)mime_b64val(t[i]);
			if (++n % 4 != 1)
				mime_hput(o, (v >> (6 - 2 * ((n - 1) % 4))) &
				    0xff);
		} else if (t[i] == '_')
			mime_hput(o, ' ');
		else if (t[i] == '=' && ew->tlen - i > 2 &&
		    mime_hex(t[i + 1]) >= 0 && mime_hex(t[i + 2]) >= 0) {
			mime_hput(o, mime_hex(t[i + 1]) << 4 |
			    mime_hex(t[i + 2]));
			i += 2;
		} else
			mime_hput(o, t[i]);
	}
}

size_t
mime_header_decode(const char *value, size_t len, char *out, size_t outsz)
{
	struct mime_hout o;
	struct mime_ew	 ew;
	char		*u;
	size_t		 ul, i = 0, n, k;

	if (outsz == 0)
		return 0;
	o.buf = out;
	o.size = outsz;
	o.len = 0;
	u = xmalloc(len + 1);
	ul = mime_unfold(value, len, u);
	while (i < ul && mime_blank(u[i]))
		i++;
	while (i < ul && o.len < o.size - 1) {
		if ((n = mime_ew_parse(u + i, ul - i, &ew)) == 0) {
			mime_hput(&o, u[i++]);
			continue;
		}
		mime_ew_decode(&o, &ew);
		i += n;
		/* RFC 2047 6.2: blanks between two encoded-words go. */
		for (k = i; k < ul && mime_blank(u[k]); k++)
			;
		if (k > i && mime_ew_parse(u + k, ul - k, &ew) > 0)
			i = k;
	}
	out[o.len] = '\0';
	free(u);
	return o.len;
}

static size_t
mime_skipws(const char *v, size_t len, size_t i)
{
	while (i < len && (mime_blank(v[i]) || v[i] == '\r' || v[i] == '\n'))
		i++;
	return i;
}

/*
 * A parameter value at v[i], quoted or not (unquoted: up to ';' or a
 * blank, more lenient than a token), into buf when not NULL.  *n gets its
 * length, or SIZE_MAX when it did not fit.  Returns where it ends.
 */
static size_t
mime_param_value(const char *v, size_t len, size_t i, char *buf,
    size_t bufsz, size_t *n)
{
	int	 quoted = (i < len && v[i] == '"');

	*n = 0;
	for (i += quoted; i < len; i++) {
		if (quoted && v[i] == '"') {
			i++;
			break;
		}
		if (!quoted && (v[i] == ';' || mime_blank(v[i]) ||
		    v[i] == '\r' || v[i] == '\n'))
			break;
		if (quoted && v[i] == '\\' && len - i > 1)
			i++;
		if (buf != NULL && *n != SIZE_MAX && *n < bufsz - 1)
			buf[(*n)++] = v[i];
		else
			*n = SIZE_MAX;
	}
	if (buf != NULL && *n != SIZE_MAX)
		buf[*n] = '\0';
	return i;
}

/* The parameters of a Content-Type from v[i]: only boundary is kept. */
static void
mime_params(struct mime_info *in, const char *v, size_t len, size_t i)
{
	size_t	 ns, nl, n;
	int	 isb;

	for (;;) {
		while (i < len && v[i] != ';')
			i++;
		if (i >= len)
			return;
		i = mime_skipws(v, len, i + 1);
		for (ns = i; i < len && mime_tokenchar(v[i]); i++)
			;
		nl = i - ns;
		i = mime_skipws(v, len, i);
		if (i >= len || v[i] != '=')
			continue;
		i = mime_skipws(v, len, i + 1);
		isb = (nl == 8 && strncasecmp(v + ns, "boundary", 8) == 0);
		i = mime_param_value(v, len, i, isb ? in->boundary : NULL,
		    sizeof(in->boundary), &n);
		if (isb)
			in->blen = (n == SIZE_MAX) ? 0 : n;
	}
}

/* Content-Type: type/subtype and boundary; unparsable is text/plain. */
static void
mime_ctype(struct mime_info *in, const char *v, size_t len)
{
	size_t	 i, ts, tl, ss, sl;

	in->kind = MIME_K_TEXT;
	in->digest = 0;
	in->blen = 0;
	i = mime_skipws(v, len, 0);
	for (ts = i; i < len && mime_tokenchar(v[i]); i++)
		;
	tl = i - ts;
	i = mime_skipws(v, len, i);
	if (tl == 0 || i >= len || v[i] != '/')
		return;
	i = mime_skipws(v, len, i + 1);
	for (ss = i; i < len && mime_tokenchar(v[i]); i++)
		;
	sl = i - ss;
	if (sl == 0)
		return;
	if (tl == 4 && strncasecmp(v + ts, "text", 4) == 0)
		in->kind = MIME_K_TEXT;
	else if (tl == 9 && strncasecmp(v + ts, "multipart", 9) == 0) {
		in->kind = MIME_K_MULTI;
		in->digest = (sl == 6 && strncasecmp(v + ss, "digest", 6) == 0);
	} else if (tl == 7 && strncasecmp(v + ts, "message", 7) == 0 &&
	    sl == 6 && strncasecmp(v + ss, "rfc822", 6) == 0)
		in->kind = MIME_K_MESSAGE;
	else
		in->kind = MIME_K_OTHER;
	mime_params(in, v, len, i);
}

static enum mime_cte
mime_cte_parse(const char *v, size_t len)
{
	size_t	 i, s;

	i = mime_skipws(v, len, 0);
	for (s = i; i < len && mime_tokenchar(v[i]); i++)
		;
	if (i - s == 16 && strncasecmp(v + s, "quoted-printable", 16) == 0)
		return MIME_CTE_QP;
	if (i - s == 6 && strncasecmp(v + s, "base64", 6) == 0)
		return MIME_CTE_B64;
	return MIME_CTE_IDENT;
}

/* Defaults of an entity: text/plain, or message/rfc822 in a digest. */
static void
mime_info_init(struct mime_info *in, int digest)
{
	in->kind = digest ? MIME_K_MESSAGE : MIME_K_TEXT;
	in->cte = MIME_CTE_IDENT;
	in->digest = 0;
	in->blen = 0;
	in->boundary[0] = '\0';
}

static void
mime_field_apply(struct mime *m, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	if (nlen == 12 && strncasecmp(name, "content-type", 12) == 0)
		mime_ctype(&m->info, value, vlen);
	else if (nlen == 25 &&
	    strncasecmp(name, "content-transfer-encoding", 25) == 0)
		m->info.cte = mime_cte_parse(value, vlen);
}

/* Appends to the field; bounded by MIME_HDR_MAX through m->hlen. */
static void
mime_field_add(struct mime *m, const unsigned char *p, size_t n)
{
	if (m->fcap - m->flen < n) {
		m->fcap = m->flen + n + 256;
		m->field = xrealloc(m->field, m->fcap);
	}
	memcpy(m->field + m->flen, p, n);
	m->flen += n;
}

/* The field collected is complete: use it, then forget it. */
static void
mime_field_end(struct mime *m)
{
	const char	*colon;
	size_t		 nl;

	if (m->flen == 0)
		return;
	if ((colon = memchr(m->field, ':', m->flen)) != NULL) {
		nl = (size_t)(colon - m->field);
		while (nl > 0 && mime_blank(m->field[nl - 1]))
			nl--;
		mime_field_apply(m, m->field, nl, colon + 1,
		    m->flen - (size_t)(colon - m->field) - 1);
	}
	m->flen = 0;
}

/* A field line: name (printable, no ':'), optional blanks, ':'. */
static int
mime_is_field(const unsigned char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n && p[i] > 32 && p[i] < 127 && p[i] != ':'; i++)
		;
	if (i == 0)
		return 0;
	while (i < n && mime_blank(p[i]))
		i++;
	return i < n && p[i] == ':';
}

static void
mime_flush(struct mime *m)
{
	if (m->olen > 0 && m->cb != NULL)
		m->cb(m->arg, m->out, m->olen);
	m->olen = 0;
}

static void
mime_emit(struct mime *m, const unsigned char *p, size_t n)
{
	if (n > sizeof(m->out) - m->olen) {
		mime_flush(m);
		if (n >= sizeof(m->out)) {
			if (m->cb != NULL)
				m->cb(m->arg, p, n);
			return;
		}
	}
	memcpy(m->out + m->olen, p, n);
	m->olen += n;
}

static void
mime_emit1(struct mime *m, int c)
{
	if (m->olen == sizeof(m->out))
		mime_flush(m);
	m->out[m->olen++] = (unsigned char)c;
}

/*
 * Quoted-printable, one byte at a time so that a sequence may span
 * pieces: "=XX" decoded, "=" [blanks] CRLF (or LF) removed, any other '='
 * sequence given out as it is.
 */
static void
mime_qp_byte(struct mime *m, int c)
{
	switch (m->qp) {
	case MIME_QP_TEXT:
		if (c != '=') {
			mime_emit1(m, c);
			return;
		}
		m->qbuf[0] = '=';
		m->qlen = 1;
		m->qp = MIME_QP_EQ;
		return;
	case MIME_QP_EQ:
		if (mime_hex(c) >= 0) {
			m->qbuf[m->qlen++] = (unsigned char)c;
			m->qp = MIME_QP_HEX1;
			return;
		}
		/* FALLTHROUGH */
	case MIME_QP_WS:
		if (mime_blank(c) && m->qlen < sizeof(m->qbuf) - 1) {
			m->qbuf[m->qlen++] = (unsigned char)c;
			m->qp = MIME_QP_WS;
			return;
		}
		if (c == '\r') {
			m->qbuf[m->qlen++] = (unsigned char)c;
			m->qp = MIME_QP_CR;
			return;
		}
		if (c == '\n') {
			m->qlen = 0;
			m->qp = MIME_QP_TEXT;
			return;
		}
		break;
	case MIME_QP_HEX1:
		if (mime_hex(c) >= 0) {
			mime_emit1(m, mime_hex(m->qbuf[1]) << 4 | mime_hex(c));
			m->qlen = 0;
			m->qp = MIME_QP_TEXT;
			return;
		}
		break;
	case MIME_QP_CR:
		if (c == '\n') {
			m->qlen = 0;
			m->qp = MIME_QP_TEXT;
			return;
		}
		break;
	}
	mime_emit(m, m->qbuf, m->qlen);
	m->qlen = 0;
	m->qp = MIME_QP_TEXT;
	mime_qp_byte(m, c);
}

/* '=' or the end of the part: the last 2 or 3 sextets give 1 or 2 bytes. */
static void
mime_b64_end(struct mime *m)
{
	if (m->qn >= 2)
		mime_emit1(m, (m->quad[0] << 2 | m->quad[1] >> 4) & 0xff);
	if (m->qn == 3)
		mime_emit1(m, (m->quad[1] << 4 | m->quad[2] >> 2) & 0xff);
	m->qn = 0;
	m->b64done = 1;
}

static void
mime_b64(struct mime *m, const unsigned char *p, size_t n)
{
	size_t	 i;
	int	 v;

	for (i = 0; i < n && !m->b64done; i++) {
		if (p[i] == '=') {
			mime_b64_end(m);
			break;
		}
		if ((v = mime_b64val(p[i])) < 0)
			continue;
		m->quad[m->qn++] = (unsigned char)v;
		if (m->qn < 4)
			continue;
		mime_emit1(m, (m->quad[0] << 2 | m->quad[1] >> 4) & 0xff);
		mime_emit1(m, (m->quad[1] << 4 | m->quad[2] >> 2) & 0xff);
		mime_emit1(m, (m->quad[2] << 6 | m->quad[3]) & 0xff);
		m->qn = 0;
	}
}

static void
mime_decode(struct mime *m, const unsigned char *p, size_t n)
{
	size_t	 i;

	switch (m->cte) {
	case MIME_CTE_IDENT:
		mime_emit(m, p, n);
		break;
	case MIME_CTE_QP:
		for (i = 0; i < n; i++)
			mime_qp_byte(m, p[i]);
		break;
	case MIME_CTE_B64:
		mime_b64(m, p, n);
		break;
	}
}

/* End of the text part: "=X" is literal, a last "=" a soft break. */
static void
mime_decode_finish(struct mime *m)
{
	if (m->cte == MIME_CTE_QP && m->qp == MIME_QP_HEX1)
		mime_emit(m, m->qbuf, m->qlen);
	else if (m->cte == MIME_CTE_B64 && !m->b64done)
		mime_b64_end(m);
	m->qlen = 0;
	m->qp = MIME_QP_TEXT;
}

static void
mime_held_flush(struct mime *m)
{
	if (m->heldlen > 0)
		mime_decode(m, m->held, m->heldlen);
	m->heldlen = 0;
}

static void
mime_text_begin(struct mime *m)
{
	if (m->ntext++ > 0)
		mime_emit(m, (const unsigned char *)"\r\n", 2);
	m->cte = m->info.cte;
	m->qp = MIME_QP_TEXT;
	m->qlen = 0;
	m->qn = 0;
	m->b64done = 0;
	m->heldlen = 0;
	m->mode = MIME_TEXT;
}

static void
mime_push(struct mime *m)
{
	struct mime_level *l;

	if (m->nlev == m->levcap) {
		m->levcap = m->levcap ? m->levcap * 2 : 4;
		m->lev = xrealloc(m->lev, m->levcap * sizeof(*m->lev));
	}
	l = &m->lev[m->nlev++];
	memcpy(l->b, m->info.boundary, m->info.blen);
	l->blen = m->info.blen;
	l->depth = m->depth + 1;
	l->digest = m->info.digest;
}

/* The header block (m->info) is over: start the entity's body. */
static void
mime_begin(struct mime *m)
{
	switch (m->info.kind) {
	case MIME_K_MULTI:
		if (m->info.blen == 0) {
			/* No usable boundary: scanned as it is. */
			mime_text_begin(m);
			break;
		}
		m->mode = MIME_SKIP;		/* opaque, or the preamble */
		if (m->depth < m->max_depth)
			mime_push(m);
		break;
	case MIME_K_MESSAGE:
		m->mode = MIME_SKIP;
		if (m->depth >= m->max_depth)
			break;
		m->depth++;
		mime_info_init(&m->info, 0);
		m->hlen = 0;
		m->flen = 0;
		m->mode = MIME_HEADERS;
		break;
	case MIME_K_TEXT:
		mime_text_begin(m);
		break;
	case MIME_K_OTHER:
		m->mode = MIME_SKIP;
		break;
	}
}

/* A boundary ends the current part; its held line end is dropped. */
static void
mime_part_end(struct mime *m)
{
	if (m->mode == MIME_TEXT)
		mime_decode_finish(m);
	m->heldlen = 0;
	m->flen = 0;
}

/*
 * The innermost open boundary that the line p (n bytes, without its line
 * end) is: "--" boundary ["--"] [blanks].  *close is set for "--".
 * Returns its level, or -1.
 */
static int
mime_boundary(struct mime *m, const unsigned char *p, size_t n, int *close)
{
	const unsigned char *r;
	size_t	 i, k, rl;

	if (n < 2 || p[0] != '-' || p[1] != '-')
		return -1;
	for (k = m->nlev; k-- > 0;) {
		if (n - 2 < m->lev[k].blen ||
		    memcmp(p + 2, m->lev[k].b, m->lev[k].blen) != 0)
			continue;
		r = p + 2 + m->lev[k].blen;
		rl = n - 2 - m->lev[k].blen;
		*close = (rl >= 2 && r[0] == '-' && r[1] == '-');
		for (i = *close ? 2 : 0; i < rl && mime_blank(r[i]); i++)
			;
		if (i == rl)
			return (int)k;
	}
	return -1;
}

/* A boundary of level k: close what is inside, maybe start a part. */
static void
mime_delim(struct mime *m, size_t k, int close)
{
	mime_part_end(m);
	m->nlev = k + 1;
	m->depth = m->lev[k].depth;
	m->mode = MIME_SKIP;
	if (close) {
		m->nlev = k;		/* the epilogue follows */
		return;
	}
	if (++m->nparts > m->max_parts)
		return;
	mime_info_init(&m->info, m->lev[k].digest);
	m->hlen = 0;
	m->mode = MIME_HEADERS;
}

/*
 * A header block line (n bytes, cl without the line end).  Returns 1
 * when it is no header line but the first body line, to be taken again.
 */
static int
mime_hdr_line(struct mime *m, const unsigned char *p, size_t n, size_t cl,
    int eol)
{
	m->hlen += n;
	if (!eol || m->hlen > MIME_HDR_MAX) {
		m->flen = 0;
		m->mode = MIME_SKIP;
		return 0;
	}
	if (cl == 0) {
		mime_field_end(m);
		mime_begin(m);
		return 0;
	}
	if (mime_blank(p[0])) {
		if (m->flen > 0)
			mime_field_add(m, p, cl);
		return 0;
	}
	mime_field_end(m);
	if (!mime_is_field(p, cl)) {
		mime_begin(m);
		return 1;
	}
	mime_field_add(m, p, cl);
	return 0;
}

/* A text part line: the line end held before goes out first. */
static void
mime_text_line(struct mime *m, const unsigned char *p, size_t n, size_t cl,
    int eol)
{
	mime_held_flush(m);
	mime_decode(m, p, cl);
	if (eol) {
		memcpy(m->held, p + cl, n - cl);
		m->heldlen = n - cl;
	}
}

/*
 * One piece: a line through its LF (eol), the last line of the body
 * (last), or MIME_LINE_MAX bytes of a longer line.
 */
static void
mime_piece(struct mime *m, const unsigned char *p, size_t n, int eol,
    int last)
{
	size_t	 cl = n;
	int	 bol = m->bol, close, k;

	m->bol = eol;
	if (eol && --cl > 0 && p[cl - 1] == '\r')
		cl--;
	for (;;) {
		if (bol && (eol || last) && m->nlev > 0 &&
		    (k = mime_boundary(m, p, cl, &close)) >= 0) {
			mime_delim(m, (size_t)k, close);
			return;
		}
		if (m->mode == MIME_HEADERS) {
			if (mime_hdr_line(m, p, n, cl, eol))
				continue;
		} else if (m->mode == MIME_TEXT)
			mime_text_line(m, p, n, cl, eol);
		return;
	}
}

static void
mime_start(struct mime *m)
{
	if (m->started)
		return;
	m->started = 1;
	mime_begin(m);
}

/* Cuts the input into pieces that do not depend on its chunking. */
static void
mime_feed(struct mime *m, const unsigned char *p, size_t len)
{
	const unsigned char *lf;
	size_t		 n, room;

	while (len > 0) {
		if (m->mode == MIME_DONE ||
		    (m->mode == MIME_SKIP && m->nlev == 0))
			return;		/* nothing can change any more */
		room = MIME_LINE_MAX - m->llen;
		n = len < room ? len : room;
		if ((lf = memchr(p, '\n', n)) != NULL)
			n = (size_t)(lf - p) + 1;
		if (m->llen == 0 && (lf != NULL || n == room))
			mime_piece(m, p, n, lf != NULL, 0);
		else {
			memcpy(m->line + m->llen, p, n);
			m->llen += n;
			if (lf != NULL || m->llen == MIME_LINE_MAX) {
				room = m->llen;
				m->llen = 0;
				mime_piece(m, m->line, room, lf != NULL, 0);
			}
		}
		p += n;
		len -= n;
	}
}

struct mime *
mime_new(size_t max_depth, size_t max_parts)
{
	struct mime	*m;

	m = xcalloc(1, sizeof(*m));
	m->max_depth = max_depth < MIME_DEPTH_MAX ? max_depth : MIME_DEPTH_MAX;
	m->max_parts = max_parts;
	m->line = xmalloc(MIME_LINE_MAX);
	m->bol = 1;
	m->mode = MIME_SKIP;
	mime_info_init(&m->info, 0);
	return m;
}

void
mime_free(struct mime *m)
{
	if (m == NULL)
		return;
	free(m->line);
	free(m->field);
	free(m->lev);
	free(m);
}

void
mime_header(struct mime *m, const char *name, const char *value,
    size_t valuelen)
{
	if (m->started)
		return;
	mime_field_apply(m, name, strlen(name), value, valuelen);
}

void
mime_body(struct mime *m, const unsigned char *p, size_t len,
    mime_text_cb cb, void *arg)
{
	m->cb = cb;
	m->arg = arg;
	mime_start(m);
	mime_feed(m, p, len);
	mime_flush(m);
}

void
mime_finish(struct mime *m, mime_text_cb cb, void *arg)
{
	m->cb = cb;
	m->arg = arg;
	mime_start(m);
	if (m->mode != MIME_DONE && m->llen > 0)
		mime_piece(m, m->line, m->llen, 0, 1);
	m->llen = 0;
	if (m->mode == MIME_TEXT) {
		mime_held_flush(m);
		mime_decode_finish(m);
	}
	m->mode = MIME_DONE;
	mime_flush(m);
}
