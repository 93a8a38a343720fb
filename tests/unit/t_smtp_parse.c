/* SPDX-License-Identifier: ISC */
/*
 * t_smtp_parse.c - unit tests for proto/smtp_parse.c: command lines, MAIL and
 * RCPT paths with ESMTP parameters, reply lines, EHLO capabilities, xtext
 * and the error strings.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/smtp_parse.h"
#include "tap.h"

static void	 test_verbs(void);
static void	 test_cmd_line(void);
static enum smtp_perr path(const char *, const char *, int, int,
		    struct smtp_path *);
static void	 test_path_ok(void);
static void	 test_path_bad(void);
static void	 test_path_long(void);
static void	 test_params(void);
static void	 test_reply(void);
static void	 ehlo(struct smtp_ehlo *, const char *);
static void	 test_ehlo(void);
static void	 test_xtext(void);
static void	 test_strerror(void);

static const struct {
	const char	*line;
	enum smtp_verb	 verb;
} verb_cases[] = {
	{ "HELO", SMTP_HELO },		{ "ehlo", SMTP_EHLO },
	{ "Mail", SMTP_MAIL },		{ "rCpT", SMTP_RCPT },
	{ "data", SMTP_DATA },		{ "bdat", SMTP_BDAT },
	{ "rset", SMTP_RSET },		{ "NoOp", SMTP_NOOP },
	{ "quit", SMTP_QUIT },		{ "vrfy", SMTP_VRFY },
	{ "expn", SMTP_EXPN },		{ "help", SMTP_HELP },
	{ "starttls", SMTP_STARTTLS },	{ "auth", SMTP_AUTH },
	{ "etrn", SMTP_ETRN },		{ "xclient", SMTP_XCLIENT },
	{ "XForward", SMTP_XFORWARD },	{ "FOO", SMTP_UNKNOWN },
	{ "MAILX", SMTP_UNKNOWN },	{ "MAI", SMTP_UNKNOWN },
	{ "", SMTP_UNKNOWN },		{ "STARTTLSX", SMTP_UNKNOWN },
};

static void
test_verbs(void)
{
	struct smtp_cmd	 cmd;
	char		 buf[64];
	size_t		 i;

	for (i = 0; i < sizeof(verb_cases) / sizeof(verb_cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", verb_cases[i].line);
		is_int(smtp_cmd_parse(buf, strlen(buf), &cmd), SMTP_P_OK,
		    "verb \"%s\" parses", verb_cases[i].line);
		is_int(cmd.verb, verb_cases[i].verb, "verb \"%s\"",
		    verb_cases[i].line);
		is_str(cmd.arg, "", "verb \"%s\" has no arg",
		    verb_cases[i].line);
	}
}

static void
test_cmd_line(void)
{
	struct smtp_cmd	 cmd;
	char		 buf[64];

	snprintf(buf, sizeof(buf), "MAIL FROM:<a@b> SIZE=1\r");
	is_int(smtp_cmd_parse(buf, strlen(buf), &cmd), SMTP_P_OK, "CR cut");
	is_int(cmd.verb, SMTP_MAIL, "MAIL");
	is_str(cmd.arg, "FROM:<a@b> SIZE=1", "arg without CR");
	is_str(buf, "MAIL", "verb NUL-terminated in place");

	snprintf(buf, sizeof(buf), "helo   host.example  \t \r");
	is_int(smtp_cmd_parse(buf, strlen(buf), &cmd), SMTP_P_OK, "spaces");
	is_int(cmd.verb, SMTP_HELO, "helo");
	is_str(cmd.arg, "host.example", "arg trimmed both sides");

	snprintf(buf, sizeof(buf), "QUIT   \r");
	is_int(smtp_cmd_parse(buf, strlen(buf), &cmd), SMTP_P_OK, "QUIT sp");
	is_int(cmd.verb, SMTP_QUIT, "QUIT with trailing spaces");
	is_str(cmd.arg, "", "QUIT arg empty");

	snprintf(buf, sizeof(buf), "NOOP\tx y");
	is_int(smtp_cmd_parse(buf, strlen(buf), &cmd), SMTP_P_OK, "tab");
	is_int(cmd.verb, SMTP_NOOP, "tab separates verb");
	is_str(cmd.arg, "x y", "inner space kept");

	snprintf(buf, sizeof(buf), "\r");
	is_int(smtp_cmd_parse(buf, strlen(buf), &cmd), SMTP_P_OK, "CR only");
	is_int(cmd.verb, SMTP_UNKNOWN, "empty line unknown");

	snprintf(buf, sizeof(buf), "XYZZY plugh");
	is_int(smtp_cmd_parse(buf, strlen(buf), &cmd), SMTP_P_OK, "unknown");
	is_int(cmd.verb, SMTP_UNKNOWN, "XYZZY unknown");
	is_str(cmd.arg, "plugh", "unknown verb keeps arg");

	snprintf(buf, sizeof(buf), "RCPT TO:<a@b>\r\r");
	is_int(smtp_cmd_parse(buf, strlen(buf), &cmd), SMTP_P_BARE_CR,
	    "only one trailing CR removed");
	snprintf(buf, sizeof(buf), "DATA\rQUIT");
	is_int(smtp_cmd_parse(buf, strlen(buf), &cmd), SMTP_P_BARE_CR,
	    "bare CR inside");
	snprintf(buf, sizeof(buf), "\rQUIT\r");
	is_int(smtp_cmd_parse(buf, strlen(buf), &cmd), SMTP_P_BARE_CR,
	    "bare CR first");

	memcpy(buf, "HELO a\0b\r", 10);
	is_int(smtp_cmd_parse(buf, 9, &cmd), SMTP_P_NUL, "NUL inside");
	memcpy(buf, "\0", 2);
	is_int(smtp_cmd_parse(buf, 1, &cmd), SMTP_P_NUL, "lone NUL");
}

/* An AUTH response line: no verb, the same checks. */
static void
test_line_check(void)
{
	char	 buf[64];
	size_t	 len;

	snprintf(buf, sizeof(buf), "QUJD\r");
	len = strlen(buf);
	is_int(smtp_line_check(buf, &len), SMTP_P_OK, "response CR cut");
	is_int((int)len, 4, "response length");
	is_str(buf, "QUJD", "response text");
	snprintf(buf, sizeof(buf), "QUJD\rWFla\r");
	len = strlen(buf);
	is_int(smtp_line_check(buf, &len), SMTP_P_BARE_CR, "response bare CR");
	memcpy(buf, "QUJD\0WFla\r", 11);
	len = 10;
	is_int(smtp_line_check(buf, &len), SMTP_P_NUL, "response NUL");
	buf[0] = '\0';
	len = 0;
	is_int(smtp_line_check(buf, &len), SMTP_P_OK, "empty response");
}

static enum smtp_perr
path(const char *arg, const char *kw, int allow_null, int utf8,
    struct smtp_path *out)
{
	static char	 buf[2048];

	snprintf(buf, sizeof(buf), "%s", arg);
	return smtp_path_parse(buf, kw, allow_null, utf8, out);
}

static const struct {
	const char	*arg;
	const char	*kw;
	const char	*addr;
} path_good[] = {
	{ "FROM:<a@b>", "FROM", "a@b" },
	{ "from:<a@b>", "FROM", "a@b" },
	{ "FROM: <a@b>", "FROM", "a@b" },
	{ "TO:<u@example.com>", "TO", "u@example.com" },
	{ "To:<u@example.com>", "to", "u@example.com" },
	{ "FROM:<first.last+tag@sub.example.org>", "FROM",
	    "first.last+tag@sub.example.org" },
	{ "FROM:<!#$%&'*+-/=?^_`{|}~@x>", "FROM", "!#$%&'*+-/=?^_`{|}~@x" },
	{ "TO:<@r1,@r2:u@d>", "TO", "u@d" },
	{ "TO:<@relay.example:u@d.example>", "TO", "u@d.example" },
	{ "FROM:<\"a b\"@d>", "FROM", "\"a b\"@d" },
	{ "FROM:<\"a>b\"@d>", "FROM", "\"a>b\"@d" },
	{ "FROM:<\"a\\\"b\"@d>", "FROM", "\"a\\\"b\"@d" },
	{ "FROM:<\"\"@d>", "FROM", "\"\"@d" },
	{ "FROM:<u@[192.0.2.1]>", "FROM", "u@[192.0.2.1]" },
	{ "FROM:<u@[IPv6:2001:db8::1]>", "FROM", "u@[IPv6:2001:db8::1]" },
	{ "FROM:<u@[ipv6:::ffff:192.0.2.1]>", "FROM",
	    "u@[ipv6:::ffff:192.0.2.1]" },
	{ "TO:<postmaster>", "TO", "postmaster" },
	{ "TO:<PostMaster>", "TO", "PostMaster" },
	{ "FROM:<a@x-y.z9>", "FROM", "a@x-y.z9" },
	{ "FROM:<a@localhost>", "FROM", "a@localhost" },
	{ "FROM:<a@b>   ", "FROM", "a@b" },
};

static const struct {
	const char	*arg;
	const char	*kw;
	enum smtp_perr	 err;
} path_bad[] = {
	{ "FROM:a@b", "FROM", SMTP_P_PATH },
	{ "FROM:<a@b", "FROM", SMTP_P_PATH },
	{ "FROM:a@b>", "FROM", SMTP_P_PATH },
	{ "FROM:", "FROM", SMTP_P_PATH },
	{ "FROM:  <a@b>", "FROM", SMTP_P_PATH },
	{ "FROM :<a@b>", "FROM", SMTP_P_SYNTAX },
	{ "FROM<a@b>", "FROM", SMTP_P_SYNTAX },
	{ "TO:<a@b>", "FROM", SMTP_P_SYNTAX },
	{ "FRO:<a@b>", "FROM", SMTP_P_SYNTAX },
	{ "", "TO", SMTP_P_SYNTAX },
	{ "FROM:<a@b>x", "FROM", SMTP_P_SYNTAX },
	{ "FROM:<a@b>>", "FROM", SMTP_P_SYNTAX },
	{ "FROM:<a@b>\tSIZE=1", "FROM", SMTP_P_SYNTAX },
	{ "FROM:<postmaster>", "FROM", SMTP_P_PATH },
	{ "TO:<postmaster2>", "TO", SMTP_P_PATH },
	{ "TO:<\"postmaster\">", "TO", SMTP_P_PATH },
	{ "TO:<user>", "TO", SMTP_P_PATH },
	{ "FROM:<a@>", "FROM", SMTP_P_PATH },
	{ "FROM:<@b>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@@b>", "FROM", SMTP_P_PATH },
	{ "FROM:<a b@c>", "FROM", SMTP_P_PATH },
	{ "FROM:< a@b>", "FROM", SMTP_P_PATH },
	{ "FROM:<.a@b>", "FROM", SMTP_P_PATH },
	{ "FROM:<a.@b>", "FROM", SMTP_P_PATH },
	{ "FROM:<a..b@c>", "FROM", SMTP_P_PATH },
	{ "FROM:<a(b)@c>", "FROM", SMTP_P_PATH },
	{ "FROM:<\"a@b>", "FROM", SMTP_P_PATH },
	{ "FROM:<\"a\"b@c>", "FROM", SMTP_P_PATH },
	{ "FROM:<\"a\tb\"@c>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@b..c>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@.b>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@b.>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@-b.c>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@b-.c>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@b_c.d>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@[192.0.2.256]>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@[192.0.2]>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@[2001:db8::1]>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@[IPv6:192.0.2.1]>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@[IPv6:]>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@[]>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@[192.0.2.1>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@[192.0.2.1]x>", "FROM", SMTP_P_PATH },
	{ "FROM:<a@x:[192.0.2.1]>", "FROM", SMTP_P_PATH },
	{ "TO:<@r1,u@d>", "TO", SMTP_P_PATH },
	{ "TO:<@r1:>", "TO", SMTP_P_PATH },
	{ "TO:<@:u@d>", "TO", SMTP_P_PATH },
	{ "TO:<@r1,r2:u@d>", "TO", SMTP_P_PATH },
	{ "FROM:<a\x01@b>", "FROM", SMTP_P_PATH },
	{ "FROM:<a\x7f@b>", "FROM", SMTP_P_PATH },
};

static void
test_path_ok(void)
{
	struct smtp_path	 p;
	size_t			 i;

	for (i = 0; i < sizeof(path_good) / sizeof(path_good[0]); i++) {
		is_int(path(path_good[i].arg, path_good[i].kw, 0, 0, &p),
		    SMTP_P_OK, "good path %s", path_good[i].arg);
		is_str(p.addr, path_good[i].addr, "addr of %s",
		    path_good[i].arg);
		is_int(p.nparams, 0, "no params in %s", path_good[i].arg);
	}

	is_int(path("FROM:<>", "FROM", 1, 0, &p), SMTP_P_OK, "null path ok");
	is_str(p.addr, "", "null path addr empty");
	is_int(path("FROM: <>", "FROM", 1, 0, &p), SMTP_P_OK,
	    "null path after space");
	is_int(path("FROM:<>", "FROM", 0, 0, &p), SMTP_P_PATH,
	    "null path refused");
	is_int(path("TO:<>", "TO", 0, 0, &p), SMTP_P_PATH, "RCPT TO:<>");

	/* 8-bit only with SMTPUTF8 */
	is_int(path("FROM:<j\xc3\xb6rg@b>", "FROM", 0, 0, &p), SMTP_P_8BIT,
	    "8-bit local part without utf8");
	is_int(path("FROM:<a@b\xc3\xa4r.de>", "FROM", 0, 0, &p), SMTP_P_8BIT,
	    "8-bit domain without utf8");
	is_int(path("FROM:<j\xc3\xb6rg@b\xc3\xa4r.de>", "FROM", 0, 1, &p),
	    SMTP_P_OK, "8-bit address with utf8");
	is_str(p.addr, "j\xc3\xb6rg@b\xc3\xa4r.de", "8-bit addr copied");
	is_int(path("FROM:<\"j\xc3\xb6 x\"@b>", "FROM", 0, 1, &p), SMTP_P_OK,
	    "8-bit quoted local part with utf8");
	is_int(path("FROM:<a\x01@b\xc3\xa4r>", "FROM", 0, 1, &p), SMTP_P_PATH,
	    "control char refused with utf8");
	is_int(path("FROM:<a@[\xc3\xa4]>", "FROM", 0, 1, &p), SMTP_P_PATH,
	    "8-bit literal refused with utf8");
}

static void
test_path_bad(void)
{
	struct smtp_path	 p;
	size_t			 i;

	for (i = 0; i < sizeof(path_bad) / sizeof(path_bad[0]); i++)
		is_int(path(path_bad[i].arg, path_bad[i].kw, 1, 1, &p),
		    path_bad[i].err, "bad path \"%s\"", path_bad[i].arg);
}

static void
test_path_long(void)
{
	struct smtp_path	 p;
	char			 arg[600], label[64];
	size_t			 n;

	/* "<" + local + "@" + "d.example" + ">" = 256 exactly. */
	n = SMTP_PATH_MAX - 2 - 1 - strlen("d.example");
	snprintf(arg, sizeof(arg), "FROM:<%.*s@d.example>", (int)n,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	is_int(path(arg, "FROM", 0, 0, &p), SMTP_P_OK, "256-octet path ok");
	is_int(strlen(p.addr), SMTP_PATH_MAX - 2, "254-octet addr");
	snprintf(arg, sizeof(arg), "FROM:<a%.*s@d.example>", (int)n,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	is_int(path(arg, "FROM", 0, 0, &p), SMTP_P_PATH_TOO_LONG,
	    "257-octet path too long");

	memset(label, 'x', 63);
	label[63] = '\0';
	snprintf(arg, sizeof(arg), "TO:<u@%s.example>", label);
	is_int(path(arg, "TO", 0, 0, &p), SMTP_P_OK, "63-octet label ok");
	snprintf(arg, sizeof(arg), "TO:<u@%sx.example>", label);
	is_int(path(arg, "TO", 0, 0, &p), SMTP_P_PATH, "64-octet label bad");
}

static void
test_params(void)
{
	struct smtp_path	 p;
	char			 arg[512];
	size_t			 i;

	is_int(path("FROM:<a@b> SIZE=100 BODY=8BITMIME SMTPUTF8", "FROM", 0,
	    0, &p), SMTP_P_OK, "MAIL params");
	is_int(p.nparams, 3, "three params");
	is_str(p.params[0].key, "SIZE", "key 0");
	is_str(p.params[0].value, "100", "value 0");
	is_str(p.params[1].key, "BODY", "key 1");
	is_str(p.params[1].value, "8BITMIME", "value 1");
	is_str(p.params[2].key, "SMTPUTF8", "key 2");
	ok(p.params[2].value == NULL, "SMTPUTF8 without value");
	is_str(smtp_path_param(&p, "size"), "100", "lookup size");
	is_str(smtp_path_param(&p, "Body"), "8BITMIME", "lookup Body");
	is_str(smtp_path_param(&p, "smtputf8"), "", "valueless is \"\"");
	ok(smtp_path_param(&p, "RET") == NULL, "absent is NULL");
	ok(smtp_path_param(&p, "SIZ") == NULL, "no prefix match");

	is_int(path("TO:<a@b>  NOTIFY=SUCCESS,FAILURE   ORCPT=rfc822;a+2Bb@c",
	    "TO", 0, 0, &p), SMTP_P_OK, "RCPT DSN params, extra spaces");
	is_int(p.nparams, 2, "two params");
	is_str(smtp_path_param(&p, "NOTIFY"), "SUCCESS,FAILURE", "NOTIFY");
	is_str(smtp_path_param(&p, "orcpt"), "rfc822;a+2Bb@c", "ORCPT");
	is_str(p.addr, "a@b", "addr before params");

	is_int(path("FROM:<> SIZE=1", "FROM", 1, 0, &p), SMTP_P_OK,
	    "null path with param");
	is_str(smtp_path_param(&p, "SIZE"), "1", "null path param");
	is_int(path("FROM:<a@b> X-FOO-1=bar", "FROM", 0, 0, &p), SMTP_P_OK,
	    "hyphen in keyword");

	is_int(path("FROM:<a@b> SIZE=1 size=2", "FROM", 0, 0, &p),
	    SMTP_P_DUP_PARAM, "duplicate param, case-insensitive");
	is_int(path("FROM:<a@b> SMTPUTF8 SMTPUTF8", "FROM", 0, 0, &p),
	    SMTP_P_DUP_PARAM, "duplicate valueless param");
	is_int(path("FROM:<a@b> -SIZE=1", "FROM", 0, 0, &p), SMTP_P_PARAM,
	    "keyword starting with hyphen");
	is_int(path("FROM:<a@b> SI_ZE=1", "FROM", 0, 0, &p), SMTP_P_PARAM,
	    "underscore in keyword");
	is_int(path("FROM:<a@b> =1", "FROM", 0, 0, &p), SMTP_P_PARAM,
	    "empty keyword");
	is_int(path("FROM:<a@b> SIZE=", "FROM", 0, 0, &p), SMTP_P_PARAM,
	    "empty value");
	is_int(path("FROM:<a@b> A=b=c", "FROM", 0, 0, &p), SMTP_P_PARAM,
	    "'=' in value");
	is_int(path("FROM:<a@b> A=b\x01", "FROM", 0, 0, &p), SMTP_P_PARAM,
	    "control char in value");
	is_int(path("FROM:<a@b> A=\xc3\xa4", "FROM", 0, 0, &p), SMTP_P_8BIT,
	    "8-bit value without utf8");
	is_int(path("FROM:<a@b> A=\xc3\xa4", "FROM", 0, 1, &p), SMTP_P_OK,
	    "8-bit value with utf8");
	is_int(path("FROM:<a@b> \xc3\xa4=1", "FROM", 0, 1, &p), SMTP_P_PARAM,
	    "8-bit keyword");

	snprintf(arg, sizeof(arg), "FROM:<a@b>");
	for (i = 0; i < SMTP_PARAMS_MAX; i++)
		snprintf(arg + strlen(arg), sizeof(arg) - strlen(arg),
		    " P%zu=%zu", i, i);
	is_int(path(arg, "FROM", 0, 0, &p), SMTP_P_OK, "%d params ok",
	    SMTP_PARAMS_MAX);
	is_int(p.nparams, SMTP_PARAMS_MAX, "all params kept");
	is_str(smtp_path_param(&p, "p15"), "15", "last param");
	snprintf(arg + strlen(arg), sizeof(arg) - strlen(arg), " EXTRA");
	is_int(path(arg, "FROM", 0, 0, &p), SMTP_P_TOO_MANY_PARAMS,
	    "%d params too many", SMTP_PARAMS_MAX + 1);
}

static const struct {
	const char	*line;
	int		 rv, code, last;
	const char	*text;
} reply_cases[] = {
	{ "250-x", 0, 250, 0, "x" },
	{ "250 x", 0, 250, 1, "x" },
	{ "250", 0, 250, 1, "" },
	{ "250 ", 0, 250, 1, "" },
	{ "354 End data with <CR><LF>.<CR><LF>", 0, 354, 1,
	    "End data with <CR><LF>.<CR><LF>" },
	{ "421-4.3.2 bye", 0, 421, 0, "4.3.2 bye" },
	{ "200 ok", 0, 200, 1, "ok" },
	{ "599 z", 0, 599, 1, "z" },
	{ "2500", -1, 0, 0, NULL },
	{ "25x", -1, 0, 0, NULL },
	{ "25", -1, 0, 0, NULL },
	{ "", -1, 0, 0, NULL },
	{ "099 x", -1, 0, 0, NULL },
	{ "199 x", -1, 0, 0, NULL },
	{ "600 x", -1, 0, 0, NULL },
	{ "250_x", -1, 0, 0, NULL },
	{ " 250 x", -1, 0, 0, NULL },
	{ "abc", -1, 0, 0, NULL },
	{ "550 5.1.1 <a\nb@x> unknown", -1, 0, 0, NULL },
	{ "550 5.1.1 <a\rb@x> unknown", -1, 0, 0, NULL },
	{ "250 ok\r", -1, 0, 0, NULL },
	{ "250-\n", -1, 0, 0, NULL },
};

static void
test_reply(void)
{
	const char	*text;
	size_t		 i, tlen;
	int		 code, last;

	for (i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		const char *l = reply_cases[i].line;

		is_int(smtp_reply_line(l, strlen(l), &code, &last, &text,
		    &tlen), reply_cases[i].rv, "reply \"%s\"", l);
		if (reply_cases[i].rv != 0)
			continue;
		is_int(code, reply_cases[i].code, "code of \"%s\"", l);
		is_int(last, reply_cases[i].last, "last of \"%s\"", l);
		is_mem(text, tlen, reply_cases[i].text,
		    strlen(reply_cases[i].text), "text of \"%s\"", l);
	}
	is_int(smtp_reply_line("250-abc", 3, &code, &last, &text, &tlen), 0,
	    "len bounds the line");
	is_int(last, 1, "truncated to bare code");
	is_int(smtp_reply_line("550 a\0b", 7, &code, &last, &text, &tlen), -1,
	    "NUL inside");
}

static void
ehlo(struct smtp_ehlo *e, const char *text)
{
	smtp_ehlo_line(e, text, strlen(text));
}

static void
test_ehlo(void)
{
	struct smtp_ehlo	 e;
	char			 buf[600];
	size_t			 i;

	memset(&e, 0, sizeof(e));
	ehlo(&e, "PIPELINING");
	is_int(e.ext, SMTP_EXT_PIPELINING, "PIPELINING");
	ehlo(&e, "SIZE 1000");
	ok(e.ext & SMTP_EXT_SIZE, "SIZE bit");
	is_int(e.size, 1000, "SIZE 1000");
	ehlo(&e, "8BITMIME");
	ehlo(&e, "smtputf8");
	ehlo(&e, "EnhancedStatusCodes");
	ehlo(&e, "CHUNKING");
	ehlo(&e, "DSN");
	ehlo(&e, "STARTTLS");
	ehlo(&e, "BINARYMIME");
	ehlo(&e, "VRFY");
	ehlo(&e, "ETRN");
	ehlo(&e, "X-UNKNOWN-EXT foo");
	ehlo(&e, "PIPELININGX");
	ehlo(&e, "SIZEX 5");
	is_int(e.ext, SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | SMTP_EXT_8BITMIME |
	    SMTP_EXT_SMTPUTF8 | SMTP_EXT_ENHANCED | SMTP_EXT_CHUNKING |
	    SMTP_EXT_DSN | SMTP_EXT_STARTTLS | SMTP_EXT_BINARYMIME,
	    "bits, unknown keywords ignored");
	is_int(e.size, 1000, "SIZEX did not change size");

	ehlo(&e, "XCLIENT NAME ADDR PROTO HELO");
	ok(e.ext & SMTP_EXT_XCLIENT, "XCLIENT bit");
	is_str(e.xclient, "NAME ADDR PROTO HELO", "XCLIENT attributes");
	ehlo(&e, "XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT");
	ok(e.ext & SMTP_EXT_XFORWARD, "XFORWARD bit");
	is_str(e.xforward, "NAME ADDR PROTO HELO SOURCE PORT IDENT",
	    "XFORWARD attributes");
	ehlo(&e, "AUTH PLAIN LOGIN");
	ok(e.ext & SMTP_EXT_AUTH, "AUTH bit");
	is_str(e.auth, "PLAIN LOGIN", "AUTH mechanisms");
	ehlo(&e, "AUTH=PLAIN LOGIN CRAM-MD5");
	is_str(e.auth, "PLAIN LOGIN CRAM-MD5", "old AUTH= merged, no dups");

	memset(&e, 0, sizeof(e));
	ehlo(&e, "auth=login");
	is_int(e.ext, SMTP_EXT_AUTH, "AUTH= alone sets bit");
	is_str(e.auth, "login", "AUTH= mechanism");
	ehlo(&e, "AUTH  LOGIN\tPLAIN  ");
	is_str(e.auth, "login PLAIN", "whitespace runs, case-insensitive dup");
	ehlo(&e, "AUTH BAD\x01MECH OK");
	is_str(e.auth, "login PLAIN OK", "control bytes dropped");

	memset(&e, 0, sizeof(e));
	ehlo(&e, "SIZE");
	is_int(e.ext, SMTP_EXT_SIZE, "SIZE without value sets bit");
	is_int(e.size, 0, "SIZE without value is 0");
	ehlo(&e, "size 52428800");
	is_int(e.size, 52428800, "lower-case size");
	ehlo(&e, "SIZE 12x");
	is_int(e.size, 0, "bad SIZE value is 0");
	ehlo(&e, "SIZE 18446744073709551615");
	ok(e.size == UINT64_MAX, "SIZE UINT64_MAX");
	ehlo(&e, "SIZE 18446744073709551616");
	is_int(e.size, 0, "SIZE overflow is 0");
	ehlo(&e, "SIZE 99999999999999999999999");
	is_int(e.size, 0, "SIZE big overflow is 0");
	ehlo(&e, "SIZE -1");
	is_int(e.size, 0, "negative SIZE is 0");
	ehlo(&e, "SIZE  2048");
	is_int(e.size, 2048, "SIZE after two spaces");
	is_int(e.ext, SMTP_EXT_SIZE, "only SIZE");

	smtp_ehlo_line(&e, "DSNX", 3);
	ok(e.ext & SMTP_EXT_DSN, "len bounds the keyword");

	memset(&e, 0, sizeof(e));
	snprintf(buf, sizeof(buf), "XCLIENT");
	for (i = 0; i < 60; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    " ATTR%02zu", i);
	ehlo(&e, buf);
	ok(strlen(e.xclient) < sizeof(e.xclient), "xclient fits");
	ok(strstr(e.xclient, "ATTR00 ATTR01") == e.xclient,
	    "xclient keeps the first words");
	is_int(strlen(e.xclient) % 7, 6, "only whole words kept");
}

static void
test_ehlo_reply(void)
{
	struct smtp_ehlo	 e;

	memset(&e, 0xff, sizeof(e));
	smtp_ehlo_reply(&e, "250-mx.test\r\n250-PIPELINING\r\n"
	    "250-STARTTLS\r\n250 SIZE 1000\r\n");
	is_int(e.ext, SMTP_EXT_PIPELINING | SMTP_EXT_STARTTLS | SMTP_EXT_SIZE,
	    "reply: every line but the first, e reset");
	is_int(e.size, 1000, "reply: SIZE");
	smtp_ehlo_reply(&e, "250 STARTTLS\r\n");
	is_int(e.ext, 0, "reply: a lone line is the name");
	smtp_ehlo_reply(&e, "250-mx.test\r\n250 STARTTLS");
	is_int(e.ext, 0, "reply: a line without CRLF is not taken");
	smtp_ehlo_reply(&e, "250-mx.test\r\nbogus\r\n250 DSN\r\n");
	is_int(e.ext, SMTP_EXT_DSN, "reply: a line not a reply is skipped");
	smtp_ehlo_reply(&e, "");
	is_int(e.ext, 0, "reply: empty");
}

static void
test_xtext(void)
{
	char	 dst[64];

	is_int(smtp_xtext(dst, sizeof(dst), "abc"), 3, "plain");
	is_str(dst, "abc", "plain text");
	is_int(smtp_xtext(dst, sizeof(dst), ""), 0, "empty");
	is_str(dst, "", "empty text");
	is_int(smtp_xtext(dst, sizeof(dst), "a+b=c d"), 13, "specials");
	is_str(dst, "a+2Bb+3Dc+20d", "'+', '=', space encoded");
	is_int(smtp_xtext(dst, sizeof(dst), "\x01\x1f\x7f\xff"), 12, "ctl");
	is_str(dst, "+01+1F+7F+FF", "control and 8-bit, upper-case hex");
	is_int(smtp_xtext(dst, sizeof(dst), "[192.0.2.1]"), 11, "literal");
	is_str(dst, "[192.0.2.1]", "brackets not encoded");
	is_int(smtp_xtext(dst, sizeof(dst), "!~"), 2, "range ends");
	is_str(dst, "!~", "'!' and '~' plain");

	is_int(smtp_xtext(dst, 4, "abc"), 3, "exact fit");
	is_str(dst, "abc", "exact fit text");
	is_int(smtp_xtext(dst, 3, "abc"), -1, "no room for NUL");
	is_str(dst, "", "overflow leaves empty string");
	is_int(smtp_xtext(dst, 4, "ab+"), -1, "escape overflows");
	is_int(smtp_xtext(dst, 6, "ab+"), 5, "escape fits");
	is_int(smtp_xtext(dst, 1, ""), 0, "empty into 1");
	is_int(smtp_xtext(dst, 0, ""), -1, "dstsz 0");
}

static void
test_strerror(void)
{
	int	 e;

	for (e = SMTP_P_OK; e <= SMTP_P_DUP_PARAM; e++) {
		const char *s = smtp_parse_strerror((enum smtp_perr)e);

		ok(s != NULL && *s != '\0', "strerror(%d) = \"%s\"", e,
		    s ? s : "(null)");
	}
	ok(smtp_parse_strerror((enum smtp_perr)99) != NULL,
	    "strerror of unknown value");
}

int
main(void)
{
	test_verbs();
	test_cmd_line();
	test_line_check();
	test_path_ok();
	test_path_bad();
	test_path_long();
	test_params();
	test_reply();
	test_ehlo();
	test_ehlo_reply();
	test_xtext();
	test_strerror();
	return tap_done();
}
