/* SPDX-License-Identifier: ISC */
/*
 * smtp_parse.h - pure SMTP syntax (RFC 5321, 1869, 6531, 3461, 3030): the
 * command verb, MAIL/RCPT paths and their ESMTP parameters, reply lines,
 * EHLO capabilities, and xtext encoding for XCLIENT/XFORWARD.  No I/O, no
 * allocation, no globals: everything here is fuzzed.
 */
#ifndef POSTERN_SMTP_PARSE_H
#define POSTERN_SMTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define SMTP_PATH_MAX		256	/* RFC 5321 4.5.3.1.3, brackets included */
#define SMTP_PARAMS_MAX		16	/* ESMTP parameters on one MAIL/RCPT */

enum smtp_verb {
	SMTP_UNKNOWN,
	SMTP_HELO,
	SMTP_EHLO,
	SMTP_MAIL,
	SMTP_RCPT,
	SMTP_DATA,
	SMTP_BDAT,
	SMTP_RSET,
	SMTP_NOOP,
	SMTP_QUIT,
	SMTP_VRFY,
	SMTP_EXPN,
	SMTP_HELP,
	SMTP_STARTTLS,
	SMTP_AUTH,
	SMTP_ETRN,
	SMTP_XCLIENT,
	SMTP_XFORWARD,
};

/* Result codes of the parsers; smtp_parse_strerror() gives the text. */
enum smtp_perr {
	SMTP_P_OK,
	SMTP_P_BARE_CR,		/* CR inside a command line */
	SMTP_P_NUL,		/* NUL byte in a command line */
	SMTP_P_8BIT,		/* non-ASCII where only ASCII is allowed */
	SMTP_P_SYNTAX,		/* "Syntax error in parameters" (MAIL/RCPT shape) */
	SMTP_P_PATH,		/* malformed path/address */
	SMTP_P_PATH_TOO_LONG,
	SMTP_P_PARAM,		/* malformed ESMTP parameter */
	SMTP_P_TOO_MANY_PARAMS,
	SMTP_P_DUP_PARAM,	/* same keyword twice */
};

struct smtp_cmd {
	enum smtp_verb	 verb;
	char		*arg;	/* into the line: text after the verb and its
				   separating spaces, trailing spaces cut;
				   "" when none */
};

struct smtp_param {
	char		*key;	/* into the argument; keyword as sent */
	char		*value;	/* into the argument; NULL when no '=' */
};

struct smtp_path {
	char		 addr[SMTP_PATH_MAX + 1];  /* mailbox without <>,
				   source route dropped; "" = null path <> */
	size_t		 nparams;
	struct smtp_param params[SMTP_PARAMS_MAX];
};

/*
 * smtp_cmd_parse - split one command line into verb and argument.
 * line: NUL-terminated, modified in place (the verb is NUL-terminated), its
 * terminating LF already removed; one trailing CR is removed here.  len is
 * strlen(line).  Verbs are case-insensitive; an unknown verb gives
 * SMTP_UNKNOWN with SMTP_P_OK.  Returns SMTP_P_BARE_CR when a CR is left
 * inside the line, SMTP_P_NUL for a NUL byte (len > strlen).
 */
enum smtp_perr	smtp_cmd_parse(char *line, size_t len, struct smtp_cmd *cmd);

/*
 * smtp_line_check - the checks every client line gets (a command, an AUTH
 * response): line as for smtp_cmd_parse, *len its length.  Removes one
 * trailing CR (*len updated); returns SMTP_P_NUL for a NUL byte,
 * SMTP_P_BARE_CR for a CR left inside, else SMTP_P_OK.
 */
enum smtp_perr	smtp_line_check(char *line, size_t *len);

/*
 * smtp_path_parse - parse the argument of MAIL ("FROM:<a@b> P=V ...") or
 * RCPT ("TO:<a@b> ..."); keyword is "FROM" or "TO" (case-insensitive match,
 * one optional space after the colon tolerated as most MTAs do).  arg is
 * modified in place; params point into it.  Checks: <> brackets, dot-atom or
 * quoted-string local part, domain or address literal; "<>" only when
 * allow_null; 8-bit in the address only when utf8 (SMTPUTF8 given); ESMTP
 * keywords are alnum/'-', values printable without '=' and space (8-bit only
 * when utf8); no duplicate keyword.
 */
enum smtp_perr	smtp_path_parse(char *arg, const char *keyword, int allow_null,
		    int utf8, struct smtp_path *out);

/* smtp_path_param - value of the parameter key (case-insensitive): NULL when
 * absent; "" when present without a value. */
const char	*smtp_path_param(const struct smtp_path *, const char *key);

/*
 * smtp_reply_line - parse one reply line (no CRLF).  Sets *code (200-599),
 * *last (1 for "ddd text" or bare "ddd", 0 for "ddd-text"), *text, *textlen
 * (after the separator).  Returns 0, or -1 when the line is not a reply
 * (a CR, LF or NUL anywhere in it included).
 */
int		smtp_reply_line(const char *line, size_t len, int *code,
		    int *last, const char **text, size_t *textlen);

/* EHLO capabilities postern understands, as bits of smtp_ehlo.ext. */
#define SMTP_EXT_PIPELINING	0x0001
#define SMTP_EXT_SIZE		0x0002
#define SMTP_EXT_8BITMIME	0x0004
#define SMTP_EXT_SMTPUTF8	0x0008
#define SMTP_EXT_ENHANCED	0x0010	/* ENHANCEDSTATUSCODES */
#define SMTP_EXT_CHUNKING	0x0020
#define SMTP_EXT_DSN		0x0040
#define SMTP_EXT_XCLIENT	0x0080
#define SMTP_EXT_XFORWARD	0x0100
#define SMTP_EXT_STARTTLS	0x0200
#define SMTP_EXT_AUTH		0x0400
#define SMTP_EXT_BINARYMIME	0x0800

struct smtp_ehlo {
	unsigned	 ext;		/* SMTP_EXT_* */
	uint64_t	 size;		/* SIZE limit, 0 = none given */
	char		 xclient[256];	/* XCLIENT attribute names, as sent */
	char		 xforward[256];	/* XFORWARD attribute names */
	char		 auth[256];	/* AUTH mechanisms */
};

/* smtp_ehlo_line - add one EHLO reply line's text (after "250-"/"250 ", the
 * first line, which is the greeting name, excluded) to *e. */
void		smtp_ehlo_line(struct smtp_ehlo *e, const char *text, size_t len);

/* smtp_ehlo_reply - *e (reset first) from a whole EHLO reply: CRLF-ended
 * lines, NUL-terminated, as backend.c delivers them. */
void		smtp_ehlo_reply(struct smtp_ehlo *e, const char *text);

/*
 * smtp_xtext - encode src as RFC 3461 xtext into dst (size dstsz), NUL
 * terminated.  Returns the encoded length, or -1 if it does not fit.
 */
int		smtp_xtext(char *dst, size_t dstsz, const char *src);

const char	*smtp_parse_strerror(enum smtp_perr);

#endif
