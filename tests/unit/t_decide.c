/* SPDX-License-Identifier: ISC */
/*
 * t_decide.c - unit tests for decide_content() (policy/decide.c): what the
 * DATA reader found (NUL, bare CR/LF) and the header section's size,
 * against the limits: the reply, the boundaries (at the limit passes, one
 * more does not) and which finding wins when there are several.
 */
#include <string.h>

#include "policy/conf.h"
#include "policy/decide.h"
#include "proto/data.h"
#include "tap.h"

static struct conf	 conf;

static const char	*content(unsigned, size_t, uint64_t);
static void		 test_nul(void);
static void		 test_bare(void);
static void		 test_header_limits(void);

/* decide_content() under conf: the reply, or "" when it lets it pass. */
static const char *
content(unsigned flags, size_t fields, uint64_t bytes)
{
	static char	 reply[600];

	if (!decide_content(&conf, flags, fields, bytes, reply,
	    sizeof(reply)))
		return "";
	return reply;
}

static void
test_nul(void)
{
	conf.nul_bytes = CONF_NUL_REJECT;
	is_str(content(DATA_F_NUL, 1, 10), "554 5.6.0 Error: NUL byte in "
	    "message content (RFC 5322 3.5)", "NUL refused");
	conf.nul_bytes = CONF_NUL_STRIP;
	is_str(content(DATA_F_NUL, 1, 10), "", "NUL stripped: no refusal");
	conf.nul_bytes = CONF_NUL_REJECT;
}

static void
test_bare(void)
{
	is_str(content(DATA_F_BARE_LF | DATA_F_BARE_CR, 0, 0), "554 5.6.0 "
	    "Error: bare <LF> in message content (RFC 5321 2.3.8)", "bare LF");
	is_str(content(DATA_F_BARE_CR, 0, 0), "554 5.6.0 Error: bare <CR> in "
	    "message content (RFC 5321 2.3.8)", "bare CR");
	conf.bare_newline = CONF_BARE_NORMALISE;
	is_str(content(DATA_F_BARE_LF, 0, 0), "", "normalised: no refusal");
	conf.bare_newline = CONF_BARE_REJECT;
	ok(strstr(content(DATA_F_NUL | DATA_F_BARE_LF, 5000, 1 << 30),
	    "NUL") != NULL, "a NUL wins over everything else");
}

static void
test_header_limits(void)
{
	is_str(content(0, 1000, 1024 * 1024), "", "both at the limit: fine");
	is_str(content(0, 1001, 10), "552 5.3.4 Error: too many header fields "
	    "(limit 1000)", "one field more");
	is_str(content(0, 10, 1024 * 1024 + 1), "552 5.3.4 Error: header "
	    "section too large (limit 1048576 bytes)", "one byte more");
	ok(strstr(content(DATA_F_BARE_CR, 1001, 0), "bare") != NULL,
	    "bare CR before the header limits");
}

int
main(void)
{
	conf.max_header_fields = 1000;
	conf.max_header_total = 1024 * 1024;
	conf.bare_newline = CONF_BARE_REJECT;
	conf.nul_bytes = CONF_NUL_REJECT;
	test_nul();
	test_bare();
	test_header_limits();
	return tap_done();
}
