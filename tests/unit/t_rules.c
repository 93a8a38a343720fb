/* SPDX-License-Identifier: ISC */
/*
 * t_rules.c - unit tests for filters/rules.c: every field, every action
 * with and without its optional arguments, escapes in patterns and
 * strings, flags, comments, blank lines and CRLF, duplicate names across
 * calls, rules_load (under a mkdtemp directory, a file larger than the
 * read buffer) and every error message, checked word for word.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filters/rules.h"
#include "lib/util.h"
#include "tap.h"

/* Errors are appended to err: every call starts it afresh. */
#define PARSE(set, lit)	(err[0] = '\0', rules_parse("t.rules", (lit), \
			    sizeof(lit) - 1, (set), err, sizeof(err)))

static char	 err[512];

/* One line in a fresh set; the rule (copied) if it parsed, else NULL. */
static const struct rule *
one(const char *text)
{
	static struct ruleset	 set;
	static struct rule	 r;

	rules_free(&set);
	err[0] = '\0';
	if (rules_parse("t.rules", text, strlen(text), &set, err,
	    sizeof(err)) == -1 || set.n != 1)
		return NULL;
	r = set.rules[0];
	return &r;
}

/* The message a text fails with, or "(parsed)". */
static const char *
fails(const char *text, size_t len)
{
	struct ruleset	 set = { NULL, 0 };
	int		 rc;

	err[0] = '\0';
	rc = rules_parse("rules.conf", text, len, &set, err, sizeof(err));
	rules_free(&set);
	return rc == -1 ? err : "(parsed)";
}

static void
t_fields(void)
{
	static const struct {
		const char	*text;
		enum rule_field	 field;
		const char	*header;
	} f[] = {
		{ "a connect /x/ accept", RULE_CONNECT, "" },
		{ "a client_name /x/ accept", RULE_CLIENT_NAME, "" },
		{ "a Reverse_Name /x/ accept", RULE_REVERSE_NAME, "" },
		{ "a helo /x/ accept", RULE_HELO, "" },
		{ "a mail /x/ accept", RULE_MAIL, "" },
		{ "a rcpt /x/ accept", RULE_RCPT, "" },
		{ "a body /x/ accept", RULE_BODY, "" },
		{ "a raw /x/ accept", RULE_RAW, "" },
		{ "a CONNECT /x/ accept", RULE_CONNECT, "" },
		{ "a Helo /x/ accept", RULE_HELO, "" },
		{ "a header:Subject /x/ accept", RULE_HEADER, "Subject" },
		{ "a HEADER:x-Spam-Flag /x/ accept", RULE_HEADER,
		    "x-Spam-Flag" },
		{ "a header:* /x/ accept", RULE_HEADER, "*" },
		{ "a header:X* /x/ accept", RULE_HEADER, "X*" },
	};
	const struct rule	*r;
	char			 h[128];
	size_t			 i;

	for (i = 0; i < nitems(f); i++) {
		r = one(f[i].text);
		if (!ok(r != NULL, "field: %s", f[i].text)) {
			printf("#   %s\n", err);
			continue;
		}
		is_int(r->field, f[i].field, "field value: %s", f[i].text);
		is_str(r->header, f[i].header, "header name: %s", f[i].text);
	}
	memset(h, 'H', 79);
	snprintf(h + 79, sizeof(h) - 79, " /x/ accept");
	memmove(h + 9, h, strlen(h) + 1);
	memcpy(h, "a header:", 9);
	r = one(h);
	ok(r != NULL && strlen(r->header) == 79, "79-character header name");
}

static void
t_basic(void)
{
	const struct rule	*r;

	r = one("spam_1  body\t/buy now/  reject");
	if (!ok(r != NULL, "basic rule parses"))
		return;
	is_str(r->name, "spam_1", "name");
	is_int(r->field, RULE_BODY, "field");
	is_mem(r->pattern, r->patlen, "buy now", 7, "pattern with a blank");
	is_int(r->patlen, strlen(r->pattern), "patlen is strlen");
	is_int(r->flags, 0, "no flags");
	is_int(r->action, RULE_REJECT, "reject");
	is_str(r->code, "", "default code");
	is_str(r->esc, "", "default esc");
	ok(r->text == NULL, "default text");
	is_str(r->file, "t.rules", "file");
	is_int(r->line, 1, "line");

	r = one("\n# comment\n  \t# indented comment\n\n\t \nr body /x/ "
	    "accept\n\n");
	ok(r != NULL && r->line == 6, "comments and blank lines skipped");
	r = one("r body /x/ accept\r\n");
	ok(r != NULL && r->action == RULE_ACCEPT, "CRLF");
	r = one("r body /x/ accept # trailing\tcomment \"x\" ###");
	ok(r != NULL, "comment after the action");
	r = one("r body /x/ accept\t#");
	ok(r != NULL, "bare '#' after a tab");
	r = one("r body /a#b/ accept");
	ok(r != NULL && strcmp(r->pattern, "a#b") == 0, "'#' in a pattern");
	r = one("r body /x/i accept # c");
	ok(r != NULL && r->flags == RULE_F_CASELESS, "flag then comment");
	r = one("r body /x/ score 1 # c");
	ok(r != NULL && r->score == 1, "score then comment");
	r = one(" \t r body /x/ accept \t ");
	ok(r != NULL, "leading and trailing blanks");
	r = one("r body /x/ accept");
	ok(r != NULL, "no newline at the end");
	r = one("R_9 body /x/ accept");
	ok(r != NULL && strcmp(r->name, "R_9") == 0, "name letters digits _");
	r = one("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaa body /x/ accept");
	ok(r != NULL && strlen(r->name) == 63, "63-character name");
}

static void
t_patterns(void)
{
	static const struct {
		const char	*text;
		const char	*want;
	} p[] = {
		{ "r body /a\\/b/ accept", "a/b" },
		{ "r body /\\// accept", "/" },
		{ "r body /a\\.b/ accept", "a\\.b" },
		{ "r body /a\\\\/ accept", "a\\\\" },
		{ "r body /a\\\\\\/b/ accept", "a\\\\/b" },
		{ "r body /\\d+ \\s\\x41/ accept", "\\d+ \\s\\x41" },
		{ "r body /[^/]/ accept", "[^" },
		{ "r body /a b\tc/ accept", "a b\tc" },
		{ "r body /\"q\"/ accept", "\"q\"" },
		{ "r body /\xc3\xa9/ accept", "\xc3\xa9" },
	};
	static const struct {
		const char	*text;
		unsigned	 flags;
	} f[] = {
		{ "r body /x/i accept", RULE_F_CASELESS },
		{ "r body /x/m accept", RULE_F_MULTILINE },
		{ "r body /x/s accept", RULE_F_DOTALL },
		{ "r body /x/x accept", RULE_F_EXTENDED },
		{ "r body /x/xsmi accept", 0x0f },
		{ "r body /x/is\taccept", RULE_F_CASELESS | RULE_F_DOTALL },
	};
	const struct rule	*r;
	size_t			 i;

	for (i = 0; i < nitems(p); i++) {
		r = one(p[i].text);
		if (i == 6) {
			/* "[^/" closes early: the rest is flags. */
			is_str(err, "t.rules:1: unknown flag ']' (i, m, s, x)",
			    "unescaped '/' closes the pattern");
			continue;
		}
		if (!ok(r != NULL, "pattern: %s", p[i].text)) {
			printf("#   %s\n", err);
			continue;
		}
		is_str(r->pattern, p[i].want, "pattern bytes: %s", p[i].text);
		is_int(r->patlen, strlen(p[i].want), "patlen: %s", p[i].text);
	}
	for (i = 0; i < nitems(f); i++) {
		r = one(f[i].text);
		ok(r != NULL && r->flags == f[i].flags, "flags: %s", f[i].text);
	}
}

static void
t_reply(void)
{
	const struct rule	*r;

	r = one("r body /x/ reject 554");
	ok(r != NULL && strcmp(r->code, "554") == 0 && r->esc[0] == '\0' &&
	    r->text == NULL, "reject CODE");
	r = one("r body /x/ REJECT 550 5.7.1");
	ok(r != NULL && strcmp(r->code, "550") == 0 &&
	    strcmp(r->esc, "5.7.1") == 0 && r->text == NULL,
	    "reject CODE ESC");
	r = one("r body /x/ reject 550 5.123.456 "
	    "\"no \\\"spam\\\" \\\\ here\"");
	ok(r != NULL && strcmp(r->esc, "5.123.456") == 0 &&
	    r->text != NULL && strcmp(r->text, "no \"spam\" \\ here") == 0,
	    "reject CODE ESC TEXT with escapes");
	r = one("r body /x/ reject 551 \"go\taway\"");
	ok(r != NULL && strcmp(r->code, "551") == 0 && r->esc[0] == '\0' &&
	    strcmp(r->text, "go\taway") == 0, "reject CODE TEXT");
	r = one("r body /x/ reject \"# not a comment\" # a comment");
	ok(r != NULL && r->code[0] == '\0' &&
	    strcmp(r->text, "# not a comment") == 0, "reject TEXT");
	r = one("r body /x/ tempfail");
	ok(r != NULL && r->action == RULE_TEMPFAIL && r->code[0] == '\0' &&
	    r->text == NULL, "tempfail");
	r = one("r body /x/ Tempfail 451");
	ok(r != NULL && strcmp(r->code, "451") == 0, "tempfail CODE");
	r = one("r body /x/ tempfail 421 4.4.5");
	ok(r != NULL && strcmp(r->esc, "4.4.5") == 0, "tempfail CODE ESC");
	r = one("r body /x/ tempfail 450 4.7.1 \"later\"");
	ok(r != NULL && strcmp(r->text, "later") == 0,
	    "tempfail CODE ESC TEXT");
	r = one("r body /x/ tempfail \"later\"");
	ok(r != NULL && strcmp(r->text, "later") == 0, "tempfail TEXT");
}

static void
t_others(void)
{
	static const struct {
		const char	*arg;
		double		 want;
	} s[] = {
		{ "2", 2 }, { "2.5", 2.5 }, { "-1", -1 }, { "+0.5", 0.5 },
		{ "1000", 1000 }, { "-1000", -1000 }, { "0", 0 },
		{ "1e2", 100 },
	};
	const struct rule	*r;
	char			 line[128];
	size_t			 i;

	r = one("r body /x/ accept");
	ok(r != NULL && r->action == RULE_ACCEPT && r->text == NULL,
	    "accept");
	r = one("r body /x/ DISCARD");
	ok(r != NULL && r->action == RULE_DISCARD, "discard");
	for (i = 0; i < nitems(s); i++) {
		snprintf(line, sizeof(line), "r body /x/ score %s", s[i].arg);
		r = one(line);
		ok(r != NULL && r->action == RULE_SCORE &&
		    r->score == s[i].want, "score %s", s[i].arg);
	}
	r = one("r body /x/ tag \"X-Spam: yes\"");
	ok(r != NULL && r->action == RULE_TAG &&
	    strcmp(r->text, "X-Spam: yes") == 0, "tag");
	r = one("r body /x/ Tag \"X-Q:\\\"a\\\\b\\\"\"");
	ok(r != NULL && strcmp(r->text, "X-Q:\"a\\b\"") == 0,
	    "tag with escapes, no blank after ':'");
	r = one("r body /x/ tag \"X-Empty:\"");
	ok(r != NULL && strcmp(r->text, "X-Empty:") == 0, "tag empty value");
}

/* Several lines, several calls, the duplicate check across them. */
static void
t_sets(void)
{
	struct ruleset	 set = { NULL, 0 };
	char		 name[32];
	size_t		 i;
	int		 good = 1;

	is_int(PARSE(&set, "a body /1/ accept\nb body /2/ discard\n"), 0,
	    "two rules");
	is_int(set.n, 2, "two in the set");
	is_int(PARSE(&set, "\nc body /3/ accept\na helo /4/ accept\n"
	    "d body /5/ accept\n"), -1, "duplicate across calls");
	is_str(err, "t.rules:3: rule a already defined at t.rules:1",
	    "duplicate message");
	is_int(set.n, 4, "the good rules around the bad line stay");
	is_str(set.rules[2].name, "c", "the rule before the error");
	is_int(set.rules[2].line, 2, "its line");
	is_str(set.rules[3].name, "d", "the rule after the error");
	err[0] = '\0';
	is_int(rules_parse("other.rules", "x raw /y/ accept\nb mail /z/ "
	    "accept", 31, &set, err, sizeof(err)), -1, "duplicate, other file");
	is_str(err, "other.rules:2: rule b already defined at t.rules:2",
	    "duplicate names the first file");
	is_str(set.rules[4].file, "other.rules", "file of the later rule");
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%zu body /x/ accept", i);
		if (rules_parse("many", name, strlen(name), &set, err,
		    sizeof(err)) == -1)
			good = 0;
	}
	ok(good && set.n == 1005, "1000 more rules, one call each");
	is_str(set.rules[1004].name, "n999", "the last of them");
	err[0] = '\0';
	is_int(PARSE(&set, "e body /1/ accept\nbad1 body x\nf body /2/ accept\n"
	    "bad2 helo /3/ score\n"), -1, "two bad lines");
	is_str(err, "t.rules:2: expected a /pattern/ after the field, not 'x'\n"
	    "t.rules:4: missing number after score (e.g. 2.5, -1, +0.5)",
	    "every bad line reported");
	rules_free(&set);
	ok(set.rules == NULL && set.n == 0, "rules_free zeroes the set");
	rules_free(&set);
	ok(1, "rules_free twice");
	is_int(rules_parse("t", "", 0, &set, err, sizeof(err)), 0,
	    "empty text");
	is_int(set.n, 0, "no rules");
	is_int(rules_parse("t", "a body /x/ accept\nb", 17, &set, NULL, 0), 0,
	    "len is honoured");
	is_int(rules_parse("t", "b body /x/ x", 12, &set, NULL, 0), -1,
	    "NULL err buffer");
	rules_free(&set);
}

/* Every error message, word for word. */
static const struct {
	const char	*text;
	const char	*want;
} errors[] = {
	{ "r hdr /x/ accept", "rules.conf:1: unknown field 'hdr' "
	    "(connect, client_name, reverse_name, helo, mail, rcpt, "
	    "header:NAME, header:*, body, raw)" },
	{ "r", "rules.conf:1: expected a field after rule r (connect, "
	    "client_name, reverse_name, helo, mail, rcpt, header:NAME, "
	    "header:*, body, raw)" },
	{ "r # body /x/ accept", "rules.conf:1: expected a field "
	    "after rule r (connect, client_name, reverse_name, helo, mail, "
	    "rcpt, header:NAME, header:*, body, raw)" },
	{ "r client_names /x/ accept", "rules.conf:1: unknown field "
	    "'client_names' (connect, client_name, reverse_name, helo, "
	    "mail, rcpt, header:NAME, header:*, body, raw)" },
	{ "r header: /x/ accept", "rules.conf:1: missing header name "
	    "after 'header:' (header:NAME or header:*)" },
	{ "r header:a:b /x/ accept", "rules.conf:1: invalid header "
	    "name 'a:b': printable ASCII except ':' only" },
	{ "r header:a\x01 /x/ accept", "rules.conf:1: invalid header "
	    "name 'a?': printable ASCII except ':' only" },
	{ "r header:HHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHH"
	    "HHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHH /x/ accept",
	    "rules.conf:1: header name 'HHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHH"
	    "HHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHH...' too long (at most 79 "
	    "characters)" },
	{ "r-1 body /x/ accept", "rules.conf:1: invalid rule name "
	    "'r-1': letters, digits and '_' only" },
	{ "r\x7f body /x/ accept", "rules.conf:1: invalid rule name "
	    "'r?': letters, digits and '_' only" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaa body /x/ accept", "rules.conf:1: rule name 'aaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' "
	    "too long (at most 63 characters)" },
	{ "a body /x/ accept\na body /y/ accept", "rules.conf:2: rule "
	    "a already defined at rules.conf:1" },
	{ "r body", "rules.conf:1: expected a /pattern/ after the "
	    "field" },
	{ "r body x/ accept", "rules.conf:1: expected a /pattern/ "
	    "after the field, not 'x/'" },
	{ "r body /abc accept", "rules.conf:1: pattern not closed: "
	    "missing '/'" },
	{ "r body /abc\\/", "rules.conf:1: pattern not closed: "
	    "missing '/'" },
	{ "r body /abc\\", "rules.conf:1: pattern not closed: "
	    "missing '/'" },
	{ "r body / accept\nx body /y/ accept", "rules.conf:1: pattern "
	    "not closed: missing '/'" },
	{ "r body // accept", "rules.conf:1: empty pattern" },
	{ "r body /x/q accept", "rules.conf:2: unknown flag 'q' "
	    "(i, m, s, x)" },
	{ "r body /x/I accept", "rules.conf:1: unknown flag 'I' "
	    "(i, m, s, x)" },
	{ "r body /x/i# accept", "rules.conf:1: unknown flag '#' "
	    "(i, m, s, x)" },
	{ "r body /x/\x01 accept", "rules.conf:1: unknown flag '?' "
	    "(i, m, s, x)" },
	{ "r body /x/imi accept", "rules.conf:1: flag 'i' given "
	    "twice" },
	{ "r body /x/", "rules.conf:1: expected an action (reject, "
	    "tempfail, accept, discard, score, tag)" },
	{ "r body /x/  # no action", "rules.conf:1: expected an "
	    "action (reject, tempfail, accept, discard, score, tag)" },
	{ "r body /x/ deny", "rules.conf:1: unknown action 'deny' "
	    "(reject, tempfail, accept, discard, score, tag)" },
	{ "r body /x/ reject 450", "rules.conf:1: reject code must be "
	    "5xx, not '450'" },
	{ "r body /x/ tempfail 550", "rules.conf:1: tempfail code "
	    "must be 4xx, not '550'" },
	{ "r body /x/ reject 55", "rules.conf:1: invalid reply code "
	    "'55': 3 digits expected" },
	{ "r body /x/ reject 5500", "rules.conf:1: invalid reply code "
	    "'5500': 3 digits expected" },
	{ "r body /x/ reject 55x", "rules.conf:1: invalid reply code "
	    "'55x': 3 digits expected" },
	{ "r body /x/ reject 5.7.1", "rules.conf:1: enhanced status "
	    "code '5.7.1' needs a reply code before it (e.g. 550 "
	    "5.7.1)" },
	{ "r body /x/ tempfail 4.7.1", "rules.conf:1: enhanced status "
	    "code '4.7.1' needs a reply code before it (e.g. 450 "
	    "4.7.1)" },
	{ "r body /x/ reject 550 5.7", "rules.conf:1: invalid "
	    "enhanced status code '5.7': CLASS.SUBJECT.DETAIL expected "
	    "(e.g. 5.7.1)" },
	{ "r body /x/ reject 550 5.7.1234", "rules.conf:1: invalid "
	    "enhanced status code '5.7.1234': CLASS.SUBJECT.DETAIL "
	    "expected (e.g. 5.7.1)" },
	{ "r body /x/ reject 550 5..1", "rules.conf:1: invalid "
	    "enhanced status code '5..1': CLASS.SUBJECT.DETAIL "
	    "expected (e.g. 5.7.1)" },
	{ "r body /x/ reject 550 5.7.1.", "rules.conf:1: invalid "
	    "enhanced status code '5.7.1.': CLASS.SUBJECT.DETAIL "
	    "expected (e.g. 5.7.1)" },
	{ "r body /x/ reject 550 55.7.1", "rules.conf:1: invalid "
	    "enhanced status code '55.7.1': CLASS.SUBJECT.DETAIL "
	    "expected (e.g. 5.7.1)" },
	{ "r body /x/ tempfail 451 4.7.x", "rules.conf:1: invalid "
	    "enhanced status code '4.7.x': CLASS.SUBJECT.DETAIL "
	    "expected (e.g. 4.7.1)" },
	{ "r body /x/ reject 550 4.7.1", "rules.conf:1: enhanced "
	    "status code '4.7.1' does not match reply code '550'" },
	{ "r body /x/ reject 550 \"a", "rules.conf:1: string not "
	    "closed: missing '\"'" },
	{ "r body /x/ reject \"a\\\"", "rules.conf:1: string not "
	    "closed: missing '\"'" },
	{ "r body /x/ reject \"a\\", "rules.conf:1: string not "
	    "closed: missing '\"'" },
	{ "r body /x/ reject \"a\\n\"", "rules.conf:1: invalid escape "
	    "'\\n' in string: only \\\" and \\\\" },
	{ "r body /x/ reject \"a\rb\"", "rules.conf:1: character 0x0d "
	    "not allowed in a string (printable ASCII only)" },
	{ "r body /x/ reject \"\xc3\xa9\"", "rules.conf:1: character "
	    "0xc3 not allowed in a string (printable ASCII only)" },
	{ "r body /x/ reject \"\"", "rules.conf:1: empty reply text" },
	{ "r body /x/ reject \"a\"b", "rules.conf:1: expected a blank "
	    "after the closing '\"'" },
	{ "r body /x/ reject \"a\"#c", "rules.conf:1: expected a blank "
	    "after the closing '\"'" },
	{ "r body /x/ reject 550 no spam", "rules.conf:1: unexpected "
	    "'no spam' after reject (reply text must be in double "
	    "quotes)" },
	{ "r body /x/ tempfail \"a\" 451", "rules.conf:1: unexpected "
	    "'451' after tempfail (reply text must be in double "
	    "quotes)" },
	{ "r body /x/ reject 550 5.7.1 \"a\" \"b\"", "rules.conf:1: "
	    "unexpected '\"b\"' after reject (reply text must be in "
	    "double quotes)" },
	{ "r body /x/ accept now", "rules.conf:1: accept takes no "
	    "arguments: 'now'" },
	{ "r body /x/ discard 1 # c", "rules.conf:1: discard takes no "
	    "arguments: '1 # c'" },
	{ "r body /x/ score", "rules.conf:1: missing number after "
	    "score (e.g. 2.5, -1, +0.5)" },
	{ "r body /x/ score # 1", "rules.conf:1: missing number after "
	    "score (e.g. 2.5, -1, +0.5)" },
	{ "r body /x/ score abc", "rules.conf:1: invalid score 'abc': "
	    "a number expected (e.g. 2.5, -1, +0.5)" },
	{ "r body /x/ score 2x", "rules.conf:1: invalid score '2x': "
	    "a number expected (e.g. 2.5, -1, +0.5)" },
	{ "r body /x/ score nan", "rules.conf:1: invalid score 'nan': "
	    "a number expected (e.g. 2.5, -1, +0.5)" },
	{ "r body /x/ score 1000.5", "rules.conf:1: score '1000.5' "
	    "out of range -1000..1000" },
	{ "r body /x/ score -1e999", "rules.conf:1: score '-1e999' "
	    "out of range -1000..1000" },
	{ "r body /x/ score inf", "rules.conf:1: score 'inf' out of "
	    "range -1000..1000" },
	{ "r body /x/ score 1 2", "rules.conf:1: unexpected '2' after "
	    "score" },
	{ "r body /x/ tag", "rules.conf:1: tag needs a quoted "
	    "\"Name: value\"" },
	{ "r body /x/ tag X-Spam: yes", "rules.conf:1: tag needs a "
	    "quoted \"Name: value\"" },
	{ "r body /x/ tag \"X-Spam yes\"", "rules.conf:1: tag "
	    "'X-Spam yes' is not \"Name: value\": missing ':'" },
	{ "r body /x/ tag \"X Spam: yes\"", "rules.conf:1: tag "
	    "'X Spam: yes' is not \"Name: value\": invalid header "
	    "field name" },
	{ "r body /x/ tag \": yes\"", "rules.conf:1: tag ': yes' is "
	    "not \"Name: value\": invalid header field name" },
	{ "r body /x/ tag \"\"", "rules.conf:1: tag '' is not "
	    "\"Name: value\": missing ':'" },
	{ "r body /x/ tag \"X: a\" \"Y: b\"", "rules.conf:1: "
	    "unexpected '\"Y: b\"' after tag" },
	{ "r body /x/ accept\r\r\n", "rules.conf:1: unknown action "
	    "'accept?' (reject, tempfail, accept, discard, score, "
	    "tag)" },
	{ "r body /x/ accept \r\r\n", "rules.conf:1: accept takes no "
	    "arguments: '?'" },
};

static void
t_errors(void)
{
	const char	*text, *want;
	char		 two[256];
	size_t		 i;

	for (i = 0; i < nitems(errors); i++) {
		text = errors[i].text;
		want = errors[i].want;
		if (strncmp(want, "rules.conf:2:", 13) == 0 &&
		    strchr(text, '\n') == NULL) {
			/* A second line, so the line number is checked. */
			snprintf(two, sizeof(two), "# first\n%s", text);
			text = two;
		}
		is_str(fails(text, strlen(text)), want, "%s", want);
	}
	is_str(fails("# a\0b\n", 6), "rules.conf:1: NUL byte in line",
	    "NUL in a comment line");
	is_str(fails("\nr body /a\0b/ accept", 20), "rules.conf:2: NUL byte "
	    "in line", "NUL in a pattern");
}

/* Length limits and message quoting. */
static void
t_limits(void)
{
	char	 big[1100], q[80];
	size_t	 n;

	/* Reply text: 400 bytes pass, 401 fail; escapes count once. */
	n = (size_t)snprintf(big, sizeof(big), "r body /x/ reject \"");
	memset(big + n, 'a', 398);
	snprintf(big + n + 398, sizeof(big) - n - 398, "\\\"\\\\\"");
	ok(one(big) != NULL && strlen(one(big)->text) == 400,
	    "reply text of 400 bytes");
	snprintf(big + n + 398, sizeof(big) - n - 398, "aaa\"");
	is_str(fails(big, strlen(big)), "rules.conf:1: reply text too long: "
	    "401 bytes, at most 400", "reply text of 401 bytes");

	/* Tag: 900 bytes pass, 901 fail. */
	n = (size_t)snprintf(big, sizeof(big), "r body /x/ tag \"X: ");
	memset(big + n, 'v', 897);
	snprintf(big + n + 897, sizeof(big) - n - 897, "\"");
	ok(one(big) != NULL && strlen(one(big)->text) == 900,
	    "tag of 900 bytes");
	snprintf(big + n + 897, sizeof(big) - n - 897, "v\"");
	is_str(fails(big, strlen(big)), "rules.conf:1: tag too long: 901 "
	    "bytes, at most 900", "tag of 901 bytes");

	/* A long unexpected tail is cut at 64 bytes. */
	n = (size_t)snprintf(big, sizeof(big), "r body /x/ score 1 ");
	memset(big + n, 'z', 100);
	big[n + 100] = '\0';
	memset(q, 'z', 64);
	snprintf(q + 64, sizeof(q) - 64, "...");
	snprintf(big + 200, sizeof(big) - 200, "rules.conf:1: unexpected "
	    "'%s' after score", q);
	is_str(fails(big, strlen(big)), big + 200, "long tail quoted");

	/* A small err buffer is cut, NUL-terminated. */
	q[0] = '\0';
	ok(rules_parse("rules.conf", "r x", 3, &(struct ruleset){ NULL, 0 },
	    q, 12) == -1 && strcmp(q, "rules.conf:") == 0, "short errsz");
}

static void	 t_load_big(const char *);
static void	 t_load_errors(const char *);

static void
mkfile(const char *path, const char *text, size_t len)
{
	FILE	*fp;

	if ((fp = fopen(path, "w")) == NULL || fwrite(text, 1, len, fp) !=
	    len || fclose(fp) != 0)
		abort();
}

static void
t_load(void)
{
	static char	 tdir[] = "/tmp/t_rules.XXXXXX";
	struct ruleset	 set = { NULL, 0 };
	char		 path[128], want[1024];
	const char	*rf = "# test\r\nspam body /viagra/i score 2.5 "
			    "# x\r\n\r\nbad header:Subject /^\\[SPAM\\]/ "
			    "reject 550 5.7.1 \"Spam\"\r\n";

	if (mkdtemp(tdir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/a.rules", tdir);
	mkfile(path, rf, strlen(rf));
	err[0] = '\0';
	is_int(rules_load(path, &set, err, sizeof(err)), 0, "load a file");
	is_int(set.n, 2, "two rules");
	if (set.n == 2) {
		is_str(set.rules[1].file, path, "file is the path");
		is_int(set.rules[1].line, 4, "line in the file");
		is_str(set.rules[1].pattern, "^\\[SPAM\\]", "pattern loaded");
		is_str(set.rules[1].text, "Spam", "text loaded");
	}
	err[0] = '\0';
	is_int(rules_load(path, &set, err, sizeof(err)), -1, "load again");
	snprintf(want, sizeof(want), "%s:2: rule spam already defined at "
	    "%s:2\n%s:4: rule bad already defined at %s:4", path, path, path,
	    path);
	is_str(err, want, "duplicates across files, each reported");
	rules_free(&set);

	t_load_big(tdir);
	snprintf(path, sizeof(path), "%s/a.rules", tdir);
	unlink(path);

	t_load_errors(tdir);
	rmdir(tdir);
}

/* Bigger than any read buffer, error on the last line. */
static void
t_load_big(const char *tdir)
{
	struct ruleset	 set = { NULL, 0 };
	char		 path[128], want[512], *text;
	size_t		 i, len = 0, cap = 20000 * 80;

	text = xmalloc(cap);
	for (i = 0; i < 20000; i++)
		len += (size_t)snprintf(text + len, cap - len, "r%zu body "
		    "/x%zu/ accept # padding padding padding\n", i, i);
	len += (size_t)snprintf(text + len, cap - len, "last body /x/ x\n");
	snprintf(path, sizeof(path), "%s/big.rules", tdir);
	mkfile(path, text, len);
	err[0] = '\0';
	is_int(rules_load(path, &set, err, sizeof(err)), -1, "big file");
	is_int(set.n, 20000, "20000 rules before the error");
	snprintf(want, sizeof(want), "%s:20001: unknown action 'x' (reject, "
	    "tempfail, accept, discard, score, tag)", path);
	is_str(err, want, "error on the last line of a big file");
	rules_free(&set);
	free(text);
	unlink(path);
}

static void
t_load_errors(const char *tdir)
{
	struct ruleset	 set = { NULL, 0 };
	char		 path[128], want[512];

	snprintf(path, sizeof(path), "%s/missing.rules", tdir);
	err[0] = '\0';
	is_int(rules_load(path, &set, err, sizeof(err)), -1, "missing file");
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	is_str(err, want, "missing file message");
	err[0] = '\0';
	is_int(rules_load(tdir, &set, err, sizeof(err)), -1, "a directory");
	snprintf(want, sizeof(want), "%s: %s", tdir, strerror(EISDIR));
	is_str(err, want, "directory message");
	is_int(set.n, 0, "set untouched");
	snprintf(path, sizeof(path), "%s/empty.rules", tdir);
	mkfile(path, "", 0);
	err[0] = '\0';
	is_int(rules_load(path, &set, err, sizeof(err)), 0, "empty file");
	unlink(path);
}

int
main(void)
{
	t_fields();
	t_basic();
	t_patterns();
	t_reply();
	t_others();
	t_sets();
	t_errors();
	t_limits();
	t_load();
	one("");
	rules_free(&(struct ruleset){ NULL, 0 });
	return tap_done();
}
