/* SPDX-License-Identifier: ISC */
/*
 * hdrbuild.h - the text of every header field postern writes
 * (Authentication-Results, Received-SPF, Received, the fields filters
 * add), built piece by piece so that no text from a client, a message or
 * another program can end a piece early: a value is written as a token,
 * an address, a dot-atom or a quoted-string, whichever its grammar allows
 * and it is; a comment is written with its delimiters escaped; bytes
 * outside printable ASCII become '?'.  Pure: unit-tested and fuzzed.
 */
#ifndef POSTERN_HDRBUILD_H
#define POSTERN_HDRBUILD_H

#include <stddef.h>

/* A field value being built: s is NUL-terminated (or NULL while empty),
 * grows as needed (xrealloc), and is owned by the builder. */
struct hdrbuild {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

void	 hdrbuild_init(struct hdrbuild *);
void	 hdrbuild_fini(struct hdrbuild *);
/* hdrbuild_resume - go on with s, a text an earlier hdrbuild_take gave
 * (now the builder's again). */
void	 hdrbuild_resume(struct hdrbuild *, char *s);
/* hdrbuild_take - the text built (never NULL), now the caller's to free;
 * the builder is empty again. */
char	*hdrbuild_take(struct hdrbuild *);

/* hdrbuild_text - our own syntax ("spf=", "; ", "by "): printable ASCII
 * only, anything else '?'. */
void	 hdrbuild_text(struct hdrbuild *, const char *);
/* hdrbuild_fold - a fold: CRLF and a tab. */
void	 hdrbuild_fold(struct hdrbuild *);
/* hdrbuild_value - an RFC 2045 value (RFC 8601 authserv-id, reason,
 * result property values): a token when it is one, else a quoted-string
 * ('"' and '\' escaped). */
void	 hdrbuild_value(struct hdrbuild *, const char *);
/* hdrbuild_pvalue - an RFC 8601 pvalue: local-part@domain as it is when
 * the part after the last '@' is a domain name and the local part is
 * empty, a dot-atom without '=' or a well-formed quoted-string; else as
 * hdrbuild_value (a token, or a quoted-string of the whole). */
void	 hdrbuild_pvalue(struct hdrbuild *, const char *);
/* hdrbuild_kv - an RFC 7208 9.1 key-value pair, " key=value;": a
 * dot-atom when the value is one without '=', else a quoted-string. */
void	 hdrbuild_kv(struct hdrbuild *, const char *key, const char *value);
/* hdrbuild_comment - "(text)": '(', ')' and '\' escaped as quoted pairs,
 * so the comment ends where we end it. */
void	 hdrbuild_comment(struct hdrbuild *, const char *);

/* hdrbuild_is_token - an RFC 2045 token (printable ASCII, no tspecials). */
int	 hdrbuild_is_token(const char *);
/* hdrbuild_is_domain - dot-separated labels of letters, digits, '-' and
 * '_', each 1 to 63 bytes, 253 in all. */
int	 hdrbuild_is_domain(const char *);
/*
 * hdrbuild_field - a field value from elsewhere (a rule's tag, an
 * external milter) made safe to write as one field: every line break
 * (CRLF, a bare CR or LF) becomes a fold, CRLF and the blank that follows
 * it, or a tab when none does, so no line can start a new field; a line
 * of blanks only is dropped (some readers take it for the end of the
 * header); other control bytes become '?'.  A new string (xmalloc).
 */
char	*hdrbuild_field(const char *value);

#endif
