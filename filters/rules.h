/* SPDX-License-Identifier: ISC */
/*
 * rules.h - the regex rule language: a rules file parsed into rules, one
 * rule a line.  Pure (no PCRE2 here: the regex filter compiles the
 * patterns and reports their errors with the rule's file:line); fuzzed.
 *
 *	# comment
 *	NAME  FIELD  /PATTERN/FLAGS  ACTION [ARGUMENTS]   [# comment]
 *
 * NAME	   [A-Za-z0-9_]{1,63}, unique in the set.
 * FIELD   connect (the client address), client_name (its verified host
 *	   name, or [UNAVAILABLE] or [TEMPUNAVAIL]), reverse_name (a PTR
 *	   name of its address, verified or not, or the same tokens), helo,
 *	   mail, rcpt (the address without <>), header:NAME (that header's
 *	   decoded value; NAME case-insensitive), header:* (every header as
 *	   "Name: value"), body (the decoded text of the message), raw (the
 *	   message as received).
 * PATTERN PCRE2 syntax between slashes; "\/" stands for "/", every other
 *	   backslash sequence is PCRE2's.  FLAGS: i (caseless), m
 *	   (multiline), s (dotall), x (extended), each at most once.
 * ACTION  reject [CODE [ESC]] ["TEXT"]	 CODE 5xx, ESC 5.x.y
 *	   tempfail [CODE [ESC]] ["TEXT"]	 CODE 4xx, ESC 4.x.y
 *	   accept | discard
 *	   score NUMBER				 e.g. 2.5, -1, +0.5
 *	   tag "Name: value"			 a header field to add
 *	   Strings are double-quoted with \" and \\ escapes.
 */
#ifndef POSTERN_RULES_H
#define POSTERN_RULES_H

#include <stddef.h>
#include <stdint.h>

enum rule_field {
	RULE_CONNECT,
	RULE_CLIENT_NAME,
	RULE_REVERSE_NAME,
	RULE_HELO,
	RULE_MAIL,
	RULE_RCPT,
	RULE_HEADER,		/* header[] names it, "*" = any */
	RULE_BODY,
	RULE_RAW,
	RULE_NFIELDS
};

enum rule_action {
	RULE_REJECT,
	RULE_TEMPFAIL,
	RULE_ACCEPT,
	RULE_DISCARD,
	RULE_SCORE,
	RULE_TAG,
	RULE_NACTIONS
};

/* The words for each field ("header:" for RULE_HEADER) and action. */
extern const char *const rules_field_names[RULE_NFIELDS];
extern const char *const rules_action_names[RULE_NACTIONS];

#define RULE_F_CASELESS	0x01	/* i */
#define RULE_F_MULTILINE 0x02	/* m */
#define RULE_F_DOTALL	0x04	/* s */
#define RULE_F_EXTENDED	0x08	/* x */

struct rule {
	char		 name[64];
	enum rule_field	 field;
	char		 header[80];	/* RULE_HEADER: field name, or "*" */
	char		*pattern;	/* owned; "\/" already turned into "/" */
	size_t		 patlen;
	unsigned	 flags;		/* RULE_F_* */
	enum rule_action action;
	double		 score;		/* RULE_SCORE */
	char		 code[4];	/* REJECT/TEMPFAIL, "" = default */
	char		 esc[16];	/* REJECT/TEMPFAIL, "" = default */
	char		*text;		/* owned: reply text (REJECT/TEMPFAIL,
					   NULL = default) or "Name: value"
					   (TAG) */
	char		*file;		/* owned: where it was defined */
	unsigned	 line;
};

struct ruleset {
	struct rule	*rules;		/* owned */
	size_t		 n;
};

/*
 * rules_parse - parse text[0..len) named name (for messages and rule.file)
 * and append its rules to *set.  Returns 0, or -1 with one "name:line: what
 * is wrong" line in err for every bad line (appended: err must start as
 * ""); the good rules stay in *set.
 */
int	rules_parse(const char *name, const char *text, size_t len,
	    struct ruleset *set, char *err, size_t errsz);
/* rules_load - rules_parse on a file; "path: strerror" if unreadable. */
int	rules_load(const char *path, struct ruleset *set, char *err,
	    size_t errsz);
void	rules_free(struct ruleset *);

#endif
