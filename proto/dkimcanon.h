/* SPDX-License-Identifier: ISC */
/*
 * dkimcanon.h - DKIM canonicalization (RFC 6376 3.4): header fields,
 * simple and relaxed, and a body given in chunks of any size, streamed
 * to a sink (a hash) with its canonicalized length counted.  Pure: bytes
 * in, bytes out.  (The prefix is dkimcanon_: libopendkim owns dkim_.)
 */
#ifndef POSTERN_DKIMCANON_H
#define POSTERN_DKIMCANON_H

#include <stddef.h>

struct util_buf;

/* Where the canonicalized body goes, in runs of any size. */
typedef void	(*dkimcanon_sink_fn)(void *arg, const unsigned char *,
		    size_t);

#define DKIMCANON_RUN	512 	/* bytes handed to the sink at a time */

/*
 * A body canonicalizer; its fields are private.  Empty lines are held
 * back until a line with text follows (RFC 6376 3.4.3, 3.4.4: empty lines
 * at the end are not part of the body), a relaxed space run until a byte
 * that is not a space or the line's end.
 */
struct dkimcanon_body {
	dkimcanon_sink_fn sink;		/* or NULL: count only */
	void		*arg;
	size_t		 len;		/* bytes given to the sink */
	size_t		 line;		/* bytes of the line in progress */
	size_t		 empty;		/* empty lines held back */
	size_t		 nrun;		/* bytes in run */
	int		 ws;		/* relaxed: a space held back */
	int		 cr;		/* a CR held back */
	int		 relaxed;	/* else simple */
	unsigned char	 run[DKIMCANON_RUN];
};

/*
 * dkimcanon_header - append one header field, canonicalized, to out:
 * name (nlen bytes, without the colon) and value (vlen bytes, as after
 * the colon, folds included, no final CRLF).  Simple keeps the bytes;
 * relaxed lowercases the name, unfolds (every CR and LF goes), makes each
 * run of spaces and tabs one space and drops those at the start and end
 * of the value (RFC 6376 3.4.2).  With crlf, a CRLF ends the field (the
 * DKIM-Signature being made is hashed without one).
 */
void	 dkimcanon_header(struct util_buf *out, int relaxed, const char *name,
	    size_t nlen, const char *value, size_t vlen, int crlf);

/*
 * dkimcanon_body_init, _add, _end - canonicalize a body given as chunks;
 * sink(arg, bytes, len) receives it (sink NULL: only counted).  A CR
 * not before a LF and a LF not after a CR are text; a last line without
 * CRLF gets one; a simple empty body is one CRLF (RFC 6376 3.4.3 and its
 * erratum 1384).  _end flushes and returns the canonicalized length; the
 * canonicalizer is then spent.
 */
void	 dkimcanon_body_init(struct dkimcanon_body *, int relaxed,
	    dkimcanon_sink_fn sink, void *arg);
void	 dkimcanon_body_add(struct dkimcanon_body *, const unsigned char *,
	    size_t);
size_t	 dkimcanon_body_end(struct dkimcanon_body *);

#endif
