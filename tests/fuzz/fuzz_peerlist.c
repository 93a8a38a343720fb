/* SPDX-License-Identifier: ISC */
/*
 * fuzz_peerlist.c - libFuzzer target for policy/peerlist.c.  The input
 * (NUL bytes cut it) is an InternalHosts data set given inline; when it
 * parses, the set must give the same answer for a few clients twice (no
 * state kept between lookups), an exact host name entry must match its own
 * name, and a set that names one address without "!" must match that
 * address.  A parse error must leave a message.  Any difference aborts.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/peerlist.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hosts[] = { NULL, "[192.0.2.1]",
	    "mail.example.com", "a.b.example.org", "x" };
	struct sockaddr_in	 sin;
	struct peerlist		*pl;
	char			*spec, err[2048] = "";
	size_t			 i;
	int			 a, b;

	spec = strndup((const char *)data, size);
	if (spec == NULL || strncmp(spec, "file:", 5) == 0 ||
	    strncmp(spec, "refile:", 7) == 0 || spec[0] == '/') {
		free(spec);	/* files are not the point here */
		return 0;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	if ((pl = peerlist_from(spec, "fuzz", err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();
		free(spec);
		return 0;
	}
	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		a = peerlist_match(pl, (struct sockaddr *)&sin, hosts[i]);
		b = peerlist_match(pl, (struct sockaddr *)&sin, hosts[i]);
		if (a != b)
			abort();
	}
	if (strcmp(spec, "mail.example.com") == 0 &&
	    !peerlist_match(pl, NULL, "mail.example.com"))
		abort();
	if (strcmp(spec, "192.0.2.1") == 0 &&
	    !peerlist_match(pl, (struct sockaddr *)&sin, NULL))
		abort();
	peerlist_free(pl);
	free(spec);
	return 0;
}
