/* SPDX-License-Identifier: ISC */
/*
 * data.h - message content on the wire: the DATA/BDAT intake reader
 * (dot-unstuffing, end-of-data detection, bare CR/LF detection and
 * normalisation) and the outgoing dot-stuffer used to replay a spooled
 * message to the backend.  Pure byte transforms, no I/O: fuzzed.
 *
 * The reader's output ("content") always has CRLF line ends only, so the
 * stuffer's replay is exact: the backend can see no end of data but ours.
 * Only <CRLF>.<CRLF> ends a DATA message; every look-alike (<LF>.<LF>,
 * <CR>.<CR>, <CRLF>.<LF>, <LF>.<CRLF>, <CRLF>.<CR><CRLF>, ...) is content,
 * and the bare CR/LF in it is flagged so the session can reject.
 *
 * NUL bytes (which RFC 5321/5322 forbid in mail) are left out of the content
 * and flagged, so no filter and no backend ever sees one: the session
 * refuses the message or relays it without them (proxy.nul_bytes).  A NUL
 * first on a line starts the line, so "<CRLF><NUL>.<CRLF>" is content too.
 * The content's header section is measured as it goes (rfc5322_count), for
 * the limits every message is held to.
 */
#ifndef POSTERN_DATA_H
#define POSTERN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "proto/rfc5322.h"

enum data_mode {
	DATA_DOT,	/* DATA: dot-stuffed, ends at <CRLF>.<CRLF> */
	DATA_RAW,	/* BDAT chunks: raw bytes, the session counts them */
};

#define DATA_F_BARE_LF	0x01	/* LF not preceded by CR */
#define DATA_F_BARE_CR	0x02	/* CR not followed by LF */
#define DATA_F_NUL	0x04	/* a NUL byte, left out of the content */

struct data_reader {
	enum data_mode	 mode;
	int		 state;		/* private */
	unsigned	 flags;		/* DATA_F_* seen so far */
	uint64_t	 size;		/* content bytes produced so far */
	struct rfc5322_count hdr;	/* the content's header section */
};

/* Worst-case output for n input bytes: every byte a bare CR or LF. */
#define DATA_OUT_MAX(n)	(2 * (n) + 2)

void	data_reader_init(struct data_reader *, enum data_mode);

/*
 * data_reader_feed - consume input in[0..len), write content to out (room for
 * DATA_OUT_MAX(len) bytes), set *outlen.  Bare CR and bare LF are flagged and
 * written as CRLF; NUL bytes are flagged and dropped.  In DATA_DOT mode,
 * stops right after the terminating ".<CRLF>" and sets *done; the return
 * value is the number of input bytes consumed (== len unless *done).  In
 * DATA_RAW mode consumes all of in.
 */
size_t	data_reader_feed(struct data_reader *, const unsigned char *in,
	    size_t len, unsigned char *out, size_t *outlen, int *done);

/*
 * data_reader_finish - end of a DATA_RAW message (BDAT LAST): flush a held
 * CR (flagged as bare) and end the content with CRLF if it does not already.
 * Writes at most 2 bytes to out.
 */
void	data_reader_finish(struct data_reader *, unsigned char *out,
	    size_t *outlen);

/* Dot-stuffer state for the replay; start with bol = 1. */
struct data_stuffer {
	int		 bol;	/* at the beginning of a line */
};

/*
 * data_stuff - dot-stuff content in[0..len) (CRLF lines) into out (room for
 * DATA_OUT_MAX(len) bytes); returns the output length.  Chunk boundaries may
 * fall anywhere.  The caller sends ".\r\n" after the last chunk.
 */
size_t	data_stuff(struct data_stuffer *, const unsigned char *in, size_t len,
	    unsigned char *out);

#endif
