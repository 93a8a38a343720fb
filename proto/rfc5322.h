/* SPDX-License-Identifier: ISC */
/*
 * rfc5322.h - a streaming, pull-style splitter of message content (CRLF
 * lines, already dot-unstuffed) into header fields, end of header and body
 * chunks.  The caller owns the bytes; the parser returns one event per call
 * and says how many input bytes it consumed, so the caller can stop after any
 * event (a filter went asynchronous) and go on later from that offset.  Pure:
 * fuzzed.
 *
 * Header name is without the colon; the value is raw, as after the colon:
 * leading space and folding CRLFs kept, final CRLF removed (the milter rule
 * with SMFIP_HDR_LEADSPC, which DKIM needs).  A line that is neither a header
 * field nor a continuation ends the header section and starts the body (as
 * Postfix cleanup does); so does the empty line, which is not part of the
 * body.
 */
#ifndef POSTERN_RFC5322_H
#define POSTERN_RFC5322_H

#include <stddef.h>
#include <stdint.h>

enum rfc5322_ev {
	RFC5322_NEED_MORE,	/* all input consumed, no event yet */
	RFC5322_HEADER,		/* name/value valid until the next call */
	RFC5322_EOH,		/* once, before the first body chunk */
	RFC5322_BODY,		/* data/len: a slice of the caller's input */
	RFC5322_END,		/* after final: everything delivered */
	RFC5322_ERR_TOO_LONG,	/* one header field exceeds max_header */
};

struct rfc5322 {
	size_t		 max_header;	/* largest header field, bytes */
	int		 state;		/* private */
	char		*hbuf;		/* private: field being collected */
	size_t		 hlen, hcap;
	size_t		 namelen;
};

struct rfc5322_event {
	enum rfc5322_ev	 type;
	const char	*name;		/* HEADER: NUL-terminated */
	const char	*value;		/* HEADER: NUL-terminated, raw */
	size_t		 valuelen;
	const unsigned char *data;	/* BODY */
	size_t		 len;		/* BODY */
};

void	rfc5322_init(struct rfc5322 *, size_t max_header);
void	rfc5322_fini(struct rfc5322 *);

/*
 * rfc5322_next - parse from in[0..len); set *ev and *consumed (bytes of in
 * used up to and including this event).  When final is set, in holds the last
 * of the message: pending header/EOH events are flushed, then RFC5322_END.
 * Headers of a message that ends without a body still give EOH.
 */
void	rfc5322_next(struct rfc5322 *, const unsigned char *in, size_t len,
	    int final, struct rfc5322_event *ev, size_t *consumed);

/*
 * The header section measured without being kept: the same rules as
 * rfc5322_next() decide where fields start and where the section ends, but
 * nothing is copied, so it costs next to nothing and runs on every message
 * (the DATA reader feeds it), filters or not.
 */
struct rfc5322_count {
	int		 state;		/* private */
	size_t		 line;		/* private: a line start that may
					   still become a field name */
	size_t		 fields;	/* header fields (a name and a colon) */
	uint64_t	 bytes;		/* the fields' bytes, their line ends
					   included (not the empty line) */
};

void	rfc5322_count_init(struct rfc5322_count *);
/*
 * rfc5322_count - account for the next len bytes of content; returns 1 once
 * the header section is over (the rest is body: later calls do nothing).
 */
int	rfc5322_count(struct rfc5322_count *, const unsigned char *, size_t);

/* rfc5322_name_ok - s[0..len) is a field name (RFC 5322 2.2): printable
 * ASCII but ':', at least one byte. */
int	rfc5322_name_ok(const char *s, size_t len);

#endif
