/* SPDX-License-Identifier: ISC */
/*
 * fuzz_milter.c - libFuzzer target for proto/milter_proto.c, both
 * directions of the milter protocol.
 *
 * Milter to MTA: the input is read as a stream of replies until one is
 * MORE or INVALID.  Every OK reply is checked: it lies inside the input,
 * its strings end inside its packet, header names have no blank, colon or
 * control byte, reply texts start with 4 or 5.
 *
 * MTA to milter: strings cut from the input are encoded as the commands
 * postern sends (CONNECT, MACRO, MAIL, HEADER, BODY) and each encoding is
 * framed back with milter_proto_frame: one packet of the right command
 * whose data are exactly what was put in.  Any violation aborts.
 */
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfdef.h>

#include "lib/util.h"
#include "proto/milter_proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_in(const uint8_t *start, const uint8_t *end, const char *s)
{
	if (s != NULL && ((const uint8_t *)s < start ||
	    (const uint8_t *)s + strlen(s) >= end))
		abort();
}

static void
fuzz_replies(const uint8_t *data, size_t size)
{
	struct milter_reply	 r;
	size_t			 off = 0, used, i;

	while (off < size && milter_proto_reply(data + off, size - off,
	    &used, &r) == MILTER_PROTO_OK) {
		if (used < 5 || used > size - off)
			abort();
		fuzz_in(data + off, data + off + used, r.text);
		fuzz_in(data + off, data + off + used, r.args);
		fuzz_in(data + off, data + off + used, r.name);
		fuzz_in(data + off, data + off + used, r.value);
		if (r.name != NULL)
			for (i = 0; r.name[i] != '\0'; i++)
				if ((unsigned char)r.name[i] <= ' ' ||
				    r.name[i] == ':')
					abort();
		if (r.cmd == SMFIR_REPLYCODE && r.text[0] != '4' &&
		    r.text[0] != '5')
			abort();
		if (r.data != NULL && (r.data < data + off ||
		    r.data + r.len > data + off + used))
			abort();
		off += used;
	}
}

/* out holds exactly one packet: command cmd, data want (wlen). */
static void
fuzz_frame(struct util_buf *out, char cmd, const void *want, size_t wlen)
{
	const unsigned char	*p, *d;
	size_t			 len = out->len, dlen, used;
	char			 got, why[96];

	p = out->p;
	if (milter_proto_frame(p, len, &got, &d, &dlen, &used, why,
	    sizeof(why)) != MILTER_PROTO_OK || got != cmd || used != len ||
	    (want != NULL && (dlen != wlen || memcmp(d, want, wlen) != 0)))
		abort();
	out->len = 0;
}

static void
fuzz_commands(const uint8_t *data, size_t size)
{
	struct util_buf		 ob = { NULL, 0, 0 }, *out = &ob;
	struct sockaddr_in6	 sin6;
	char			*a, *b;
	const char		*pair[2], *names[1], *values[1];
	size_t			 half = size / 2;

	a = strndup((const char *)data, half);
	b = strndup((const char *)data + half, size - half);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	memcpy(&sin6.sin6_addr, data, size < 16 ? size : 16);
	milter_proto_connect(out, a, (struct sockaddr *)&sin6);
	fuzz_frame(out, SMFIC_CONNECT, NULL, 0);
	names[0] = a;
	values[0] = b;
	milter_proto_macros(out, SMFIC_MAIL, names, values, 1);
	fuzz_frame(out, SMFIC_MACRO, NULL, 0);
	pair[0] = a;
	pair[1] = b;
	milter_proto_strings(out, SMFIC_HEADER, pair, 2);
	fuzz_frame(out, SMFIC_HEADER, NULL, 0);
	milter_proto_command(out, SMFIC_BODY, data, size);
	fuzz_frame(out, SMFIC_BODY, data, size);
	free(a);
	free(b);
	util_buf_free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_replies(data, size);
	fuzz_commands(data, size);
	return 0;
}
