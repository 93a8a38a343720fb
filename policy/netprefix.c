/* SPDX-License-Identifier: ISC */
/*
 * netprefix.c - a client's network as text (see netprefix.h).
 *
 * Public: netprefix.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"
#include "policy/netprefix.h"

void
netprefix(const struct sockaddr *sa, unsigned bits4, unsigned bits6,
    char *buf, size_t bufsz)
{
	unsigned char	 a[16];
	unsigned	 bits, len, i;
	int		 af;
	char		 s[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
		af = AF_INET6;
		len = 16;
		bits = bits6;
	} else {
		memcpy(a, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
		af = AF_INET;
		len = 4;
		bits = bits4;
	}
	for (i = 0; i < len; i++)
		if (i * 8 >= bits)
			a[i] = 0;
		else if (i * 8 + 8 > bits)
			a[i] &= (unsigned char)(0xff << (8 - (bits - i * 8)));
	inet_ntop(af, a, s, sizeof(s));
	if (bits < len * 8)
		snprintf(buf, bufsz, "%s/%u", s, bits);
	else
		strlcpy(buf, s, bufsz);
}
