/* SPDX-License-Identifier: ISC */
/*
 * t_milter_proto.c - unit tests for proto/milter_proto.c: the framing of
 * the commands postern sends (OPTNEG, CONNECT for IPv4/IPv6/unknown, MACRO,
 * string commands, an empty command), and the reply decoder on every reply
 * type, split across reads (MORE), and on malformed input: bad lengths,
 * strings not terminated, header names with blanks or colons, values with
 * bare CR/LF, reply codes that are not 4xx/5xx or change between lines,
 * unknown commands.
 */
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfdef.h>

#include "lib/util.h"
#include "proto/milter_proto.h"
#include "tap.h"

/* A reply packet: cmd and len bytes of data, framed, into buf. */
static size_t
pkt(unsigned char *buf, char cmd, const void *data, size_t len)
{
	uint32_t	 n = htonl((uint32_t)len + 1);

	memcpy(buf, &n, 4);
	buf[4] = (unsigned char)cmd;
	memcpy(buf + 5, data, len);
	return len + 5;
}

#define PKT(buf, cmd, lit)	pkt((buf), (cmd), (lit), sizeof(lit) - 1)

static enum milter_proto_status
dec(const unsigned char *buf, size_t len, struct milter_reply *r)
{
	size_t	 used = 0;

	return milter_proto_reply(buf, len, &used, r);
}

static void
t_commands(void)
{
	struct util_buf		 bb = { NULL, 0, 0 }, *b = &bb;
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	const char		*strs[] = { "<a@example.org>", "SIZE=10" };
	const char		*names[] = { "{i}", "j" };
	const char		*vals[] = { "ABC123", "mx.example.net" };
	unsigned char		*p;

	milter_proto_optneg(b, 6, 0x1ff, 0x1fffff);
	p = b->p;
	is_int(b->len, 17, "OPTNEG: 4 + 1 + 12 bytes");
	ok(memcmp(p, "\0\0\0\15O\0\0\0\6\0\0\1\377\0\37\377\377", 17) == 0,
	    "OPTNEG bytes");
	b->len = 0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(2525);
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	milter_proto_connect(b, "client.example", (struct sockaddr *)&sin);
	p = b->p;
	is_mem(p, b->len, "\0\0\0\035Cclient.example\0"
	    "4\011\335" "192.0.2.7\0", 33, "CONNECT IPv4");
	b->len = 0;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(25);
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	milter_proto_connect(b, "[2001:db8::1]", (struct sockaddr *)&sin6);
	p = b->p;
	is_mem(p, b->len, "\0\0\0\036C[2001:db8::1]\0"
	    "6\0\0312001:db8::1\0", 34, "CONNECT IPv6");
	b->len = 0;

	milter_proto_connect(b, "unknown", NULL);
	is_mem(b->p, b->len,
	    "\0\0\0\012Cunknown\0U", 14, "CONNECT unknown: no port, no "
	    "address");
	b->len = 0;

	milter_proto_strings(b, SMFIC_MAIL, strs, 2);
	is_mem(b->p, b->len,
	    "\0\0\0\031M<a@example.org>\0SIZE=10\0", 29, "MAIL with args");
	b->len = 0;

	milter_proto_macros(b, SMFIC_CONNECT, names, vals, 2);
	is_mem(b->p, b->len,
	    "\0\0\0\036DC{i}\0ABC123\0j\0mx.example.net\0", 34, "MACRO");
	b->len = 0;

	milter_proto_command(b, SMFIC_EOH, NULL, 0);
	is_mem(b->p, b->len, "\0\0\0\1N", 5,
	    "EOH: no data");
	util_buf_free(b);
}

static void
t_replies(void)
{
	unsigned char		 b[512];
	struct milter_reply	 r;
	size_t			 n, used;

	n = PKT(b, SMFIR_CONTINUE, "");
	is_int(dec(b, n, &r), MILTER_PROTO_OK, "continue");
	is_int(r.cmd, SMFIR_CONTINUE, "its command");
	for (used = 0; used < n; used++)
		if (milter_proto_reply(b, used, &(size_t){ 0 }, &r) !=
		    MILTER_PROTO_MORE)
			break;
	is_int(used, n, "every prefix is MORE");
	n = PKT(b, SMFIC_OPTNEG, "\0\0\0\6\0\0\0\x1f\0\0\0\x7f");
	ok(dec(b, n, &r) == MILTER_PROTO_OK && r.version == 6 &&
	    r.actions == 0x1f && r.protocol == 0x7f, "optneg");
	n = PKT(b, SMFIR_REPLYCODE, "550 5.7.1 Go away\0");
	ok(dec(b, n, &r) == MILTER_PROTO_OK &&
	    strcmp(r.text, "550 5.7.1 Go away") == 0, "replycode");
	n = PKT(b, SMFIR_REPLYCODE, "451-4.7.1 one\r\n451 4.7.1 two\0");
	is_int(dec(b, n, &r), MILTER_PROTO_OK, "multi-line replycode");
	n = PKT(b, SMFIR_INSHEADER, "\0\0\0\0X-Spam\0 yes\n\tfolded\0");
	ok(dec(b, n, &r) == MILTER_PROTO_OK && r.index == 0 &&
	    strcmp(r.name, "X-Spam") == 0 &&
	    strcmp(r.value, " yes\n\tfolded") == 0, "insheader, LF fold");
	n = PKT(b, SMFIR_CHGHEADER, "\0\0\0\1Subject\0\0");
	ok(dec(b, n, &r) == MILTER_PROTO_OK && r.index == 1 &&
	    r.value[0] == '\0', "chgheader delete");
	n = PKT(b, SMFIR_ADDHEADER, "DKIM-Signature\0v=1\r\n\tb=x\0");
	is_int(dec(b, n, &r), MILTER_PROTO_OK, "addheader, CRLF fold");
	n = PKT(b, SMFIR_REPLBODY, "new\r\nbody\0bytes\r\n");
	ok(dec(b, n, &r) == MILTER_PROTO_OK && r.len == 17, "replbody: any "
	    "bytes");
	n = PKT(b, SMFIR_QUARANTINE, "virus found\0");
	ok(dec(b, n, &r) == MILTER_PROTO_OK &&
	    strcmp(r.text, "virus found") == 0, "quarantine");
	n = PKT(b, SMFIR_CHGFROM, "<b@example.org>\0");
	ok(dec(b, n, &r) == MILTER_PROTO_OK && r.args == NULL, "chgfrom");
	n = PKT(b, SMFIR_ADDRCPT_PAR, "<c@example.org>\0NOTIFY=NEVER\0");
	ok(dec(b, n, &r) == MILTER_PROTO_OK &&
	    strcmp(r.args, "NOTIFY=NEVER") == 0, "addrcpt_par");
}

static void
t_bad(void)
{
	static const struct {
		char		 cmd;
		const char	*data;
		size_t		 len;
		const char	*what;
	} bad[] = {
		{ SMFIR_CONTINUE, "x", 1, "data after continue" },
		{ SMFIC_OPTNEG, "\0\0\0\6\0\0", 6, "short optneg" },
		{ SMFIR_REPLYCODE, "550 x", 5, "unterminated text" },
		{ SMFIR_REPLYCODE, "250 ok\0", 7, "a 2xx code" },
		{ SMFIR_REPLYCODE, "55 x\0", 5, "two digits" },
		{ SMFIR_REPLYCODE, "550-a\r\n451 b\0", 13, "code changes" },
		{ SMFIR_REPLYCODE, "550 a\r\n550 b\0", 13, "' ' then more" },
		{ SMFIR_REPLYCODE, "550 a\nb\0", 8, "bare LF in a reply" },
		{ SMFIR_REPLYCODE, "550 a\0junk", 10, "bytes after it" },
		{ SMFIR_ADDHEADER, "Bad Name\0v\0", 11, "blank in a name" },
		{ SMFIR_ADDHEADER, "X:Y\0v\0", 6, "colon in a name" },
		{ SMFIR_ADDHEADER, "\0v\0", 3, "empty name" },
		{ SMFIR_ADDHEADER, "X\0a\r\nb\0", 7, "CRLF, no fold" },
		{ SMFIR_ADDHEADER, "X\0a\rb\0", 6, "bare CR" },
		{ SMFIR_ADDHEADER, "X\0v", 3, "unterminated value" },
		{ SMFIR_INSHEADER, "\0\0\0", 3, "short index" },
		{ SMFIR_CHGFROM, "<a@b>\0x", 7, "unterminated args" },
		{ 'Z', "", 0, "unknown reply" },
	};
	unsigned char		 b[512];
	struct milter_reply	 r;
	size_t			 i, n;

	for (i = 0; i < nitems(bad); i++) {
		n = pkt(b, bad[i].cmd, bad[i].data, bad[i].len);
		is_int(dec(b, n, &r), MILTER_PROTO_INVALID, "%s", bad[i].what);
	}
	memcpy(b, "\0\0\0\0c", 5);
	is_int(dec(b, 5, &r), MILTER_PROTO_INVALID, "length 0");
	is_str(r.why, "packet of 0 bytes", "its reason");
	memcpy(b, "\0\x20\0\0c", 5);
	is_int(dec(b, 5, &r), MILTER_PROTO_INVALID, "over 1 MiB");
}

int
main(void)
{
	t_commands();
	t_replies();
	t_bad();
	return tap_done();
}
