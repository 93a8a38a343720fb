/* SPDX-License-Identifier: ISC */
/*
 * dkimsighdr.h - the text of a DKIM-Signature header field, tag by tag,
 * folded as libopendkim folds it (so that signatures look as they did
 * when libopendkim made them): lines of at most DKIMSIGHDR_MARGIN
 * columns where a tag fits, tags separated by "; ", h= broken at colons,
 * bh= and b= at the margin, b= always on a line of its own.
 */
#ifndef POSTERN_DKIMSIGHDR_H
#define POSTERN_DKIMSIGHDR_H

#include <stddef.h>

#include "lib/util.h"

#define DKIMSIGHDR_MARGIN	75

struct dkimsighdr {
	struct util_buf	 text;		/* the value, not NUL-terminated */
	size_t		 col;		/* column where text ends */
	int		 any;		/* a tag was written */
};

/*
 * dkimsighdr_init - start a value whose first byte is at column col
 * (after "DKIM-Signature: ").
 */
void	 dkimsighdr_init(struct dkimsighdr *, size_t col);

/*
 * dkimsighdr_tag - append "tag=value;" (value vlen bytes), on the line or
 * folded onto the next.
 */
void	 dkimsighdr_tag(struct dkimsighdr *, const char *tag,
	    const char *value, size_t vlen);

/*
 * dkimsighdr_b - start the b= tag on a new line; the text is then what
 * the signature covers (RFC 6376 3.7: b= empty).  dkimsighdr_b_value
 * appends the signature's base64, folded.
 */
void	 dkimsighdr_b(struct dkimsighdr *);
void	 dkimsighdr_b_value(struct dkimsighdr *, const char *b64, size_t len);

void	 dkimsighdr_free(struct dkimsighdr *);

#endif
