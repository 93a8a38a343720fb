/* SPDX-License-Identifier: ISC */
/*
 * fuzz_smtp_parse.c - libFuzzer target for proto/smtp_parse.c.  Each input is
 * copied into a fresh NUL-terminated buffer per parser (the command and path
 * parsers write into their input) and fed to every entry point; the
 * invariants the callers rely on are checked with abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/smtp_parse.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	*dup_input(const uint8_t *, size_t);
static void	 fuzz_cmd(const uint8_t *, size_t);
static void	 fuzz_path(const uint8_t *, size_t, const char *, int, int);
static void	 fuzz_reply(const char *, size_t);
static void	 fuzz_ehlo_check(const struct smtp_ehlo *);
static void	 fuzz_ehlo(const char *, size_t);
static void	 fuzz_xtext(const char *);

static char *
dup_input(const uint8_t *data, size_t size)
{
	char	*buf;

	if ((buf = malloc(size + 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	return buf;
}

static void
fuzz_cmd(const uint8_t *data, size_t size)
{
	struct smtp_cmd	 cmd;
	struct smtp_path path;
	enum smtp_perr	 e;
	char		*buf;

	buf = dup_input(data, size);
	e = smtp_cmd_parse(buf, size, &cmd);
	if (smtp_parse_strerror(e) == NULL || cmd.arg < buf ||
	    cmd.arg > buf + size || strlen(cmd.arg) > size)
		abort();
	if (e == SMTP_P_OK && cmd.verb == SMTP_MAIL)
		(void)smtp_path_parse(cmd.arg, "FROM", 1, 0, &path);
	else if (e == SMTP_P_OK && cmd.verb == SMTP_RCPT)
		(void)smtp_path_parse(cmd.arg, "TO", 0, 1, &path);
	free(buf);
}

static void
fuzz_path(const uint8_t *data, size_t size, const char *kw, int allow_null,
    int utf8)
{
	struct smtp_path	 p;
	enum smtp_perr		 e;
	size_t			 i;
	char			*buf;

	buf = dup_input(data, size);
	e = smtp_path_parse(buf, kw, allow_null, utf8, &p);
	if (smtp_parse_strerror(e) == NULL || p.nparams > SMTP_PARAMS_MAX ||
	    strlen(p.addr) > SMTP_PATH_MAX - 2)
		abort();
	if (e == SMTP_P_OK) {
		if (p.addr[0] == '\0' && !allow_null)
			abort();
		for (i = 0; i < p.nparams; i++)
			if (p.params[i].key == NULL ||
			    smtp_path_param(&p, p.params[i].key) == NULL)
				abort();
		(void)smtp_path_param(&p, "SIZE");
	}
	free(buf);
}

static void
fuzz_reply(const char *buf, size_t size)
{
	const char	*text;
	size_t		 tlen;
	int		 code, last;

	if (smtp_reply_line(buf, size, &code, &last, &text, &tlen) == 0 &&
	    (code < 200 || code > 599 || (last != 0 && last != 1) ||
	    text < buf || text + tlen != buf + size ||
	    memchr(buf, '\r', size) != NULL ||
	    memchr(buf, '\n', size) != NULL ||
	    memchr(buf, '\0', size) != NULL))
		abort();
}

static void
fuzz_ehlo_check(const struct smtp_ehlo *e)
{
	if (strlen(e->xclient) >= sizeof(e->xclient) ||
	    strlen(e->xforward) >= sizeof(e->xforward) ||
	    strlen(e->auth) >= sizeof(e->auth))
		abort();
}

static void
fuzz_ehlo(const char *buf, size_t size)
{
	struct smtp_ehlo	 e;

	memset(&e, 0, sizeof(e));
	smtp_ehlo_line(&e, buf, size);
	smtp_ehlo_line(&e, buf, size);
	fuzz_ehlo_check(&e);
	smtp_ehlo_reply(&e, buf);	/* (buf is NUL-terminated) */
	fuzz_ehlo_check(&e);
}

static void
fuzz_xtext(const char *buf)
{
	char	 dst[128];
	int	 n;

	n = smtp_xtext(dst, sizeof(dst), buf);
	if (n >= (int)sizeof(dst) || (n >= 0 && strlen(dst) != (size_t)n))
		abort();
	n = smtp_xtext(dst, 8, buf);
	if (n >= 8 || (n >= 0 && strlen(dst) != (size_t)n))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*buf;

	fuzz_cmd(data, size);
	fuzz_path(data, size, "FROM", 1, 0);
	fuzz_path(data, size, "FROM", 0, 1);
	fuzz_path(data, size, "TO", 0, 0);
	fuzz_path(data, size, "TO", 1, 1);
	buf = dup_input(data, size);
	fuzz_reply(buf, size);
	fuzz_ehlo(buf, size);
	fuzz_xtext(buf);
	free(buf);
	return 0;
}
