/* SPDX-License-Identifier: ISC */
/*
 * netprefix.h - a client's network as text: its address with the host
 * bits cleared, for the keys of per-network limits (ratelimit, greylist).
 */
#ifndef POSTERN_NETPREFIX_H
#define POSTERN_NETPREFIX_H

#include <sys/socket.h>

#include <stddef.h>

#define NETPREFIX_MAX	56	/* "ffff:...:ffff/128" and the NUL */

/* netprefix - "192.0.2.0/24" (bits4 of an IPv4 address, bits6 of an
 * IPv6 one); the whole address without "/" when all its bits are kept. */
void	netprefix(const struct sockaddr *, unsigned bits4, unsigned bits6,
	    char *buf, size_t bufsz);

#endif
