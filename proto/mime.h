/* SPDX-License-Identifier: ISC */
/*
 * mime.h - decoding for content checks, so spam cannot hide behind an
 * encoding: RFC 2047 encoded-words in header values, and a streaming walk
 * over a message body (RFC 2045/2046) that yields the decoded text of its
 * text parts (quoted-printable and base64 undone).  Bytes are not
 * converted between charsets.  Pure and bounded: fuzzed.
 */
#ifndef POSTERN_MIME_H
#define POSTERN_MIME_H

#include <stddef.h>

/*
 * mime_header_decode - a raw header value (as after the colon: leading
 * blanks and folding CRLFs allowed) into out (size outsz, NUL-terminated,
 * truncated): unfolded (CRLF before a blank removed), leading blanks cut,
 * =?charset?B|Q?...?= words decoded (Q: '_' is a space), blanks between two
 * adjacent encoded-words dropped (RFC 2047 6.2); a malformed encoded-word is
 * kept as it is.  Returns the length written.
 */
size_t	mime_header_decode(const char *value, size_t len, char *out,
	    size_t outsz);

typedef void	(*mime_text_cb)(void *arg, const unsigned char *, size_t);

struct mime;

/* mime_new - a body walker.  Nesting deeper than max_depth or more than
 * max_parts parts: the rest is treated as an opaque (skipped) part. */
struct mime	*mime_new(size_t max_depth, size_t max_parts);
void		 mime_free(struct mime *);

/* mime_header - one top-level header field of the message (name without
 * the colon, raw value of valuelen bytes), before any mime_body call:
 * Content-Type (type, boundary) and Content-Transfer-Encoding are used,
 * others ignored. */
void		 mime_header(struct mime *, const char *name, const char *value,
		    size_t valuelen);

/*
 * mime_body - body bytes (CRLF lines, any chunking).  The decoded text of
 * every text/ part (or of the whole body when it is not multipart and its
 * type is text/ or absent), message/rfc822 parts walked into, is given to
 * cb in order, CRLF line ends kept; between two parts cb gets "\r\n".
 * Other parts (attachments) are skipped.
 */
void		 mime_body(struct mime *, const unsigned char *, size_t,
		    mime_text_cb, void *arg);
/* mime_finish - end of body: flush what is held (partial base64, a part
 * not closed by its boundary). */
void		 mime_finish(struct mime *, mime_text_cb, void *arg);

#endif
