/* SPDX-License-Identifier: ISC */
/*
 * clientkey.c - the state-per-client-network part of the ratelimit and
 * greylist filters (see clientkey.h).
 *
 * Public: clientkey_init, clientkey_fini, clientkey_inherit,
 * clientkey_connect, clientkey_close.
 */
#include <sys/socket.h>

#include <stdlib.h>

#include "filters/clientkey.h"
#include "filters/filter.h"
#include "lib/ttlcache.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "policy/table.h"

int
clientkey_init(struct clientkey *k, const struct conf *c, const char *section,
    const char *allow, unsigned prefix4, unsigned prefix6, size_t slots,
    size_t valsz, unsigned max_ttl, char *err, size_t errsz)
{
	char	 l[400];

	k->prefix4 = prefix4;
	k->prefix6 = prefix6;
	k->store = ttlcache_new(section, slots, valsz, max_ttl);
	return iptable_from(&k->allow, allow, "", conf_label(c, section,
	    "allow", l, sizeof(l)), err, errsz);
}

void
clientkey_fini(struct clientkey *k)
{
	ttlcache_free(k->store);
	iptable_free(k->allow);
}

void
clientkey_inherit(void *gpriv, void *prev)
{
	ttlcache_adopt(&((struct clientkey *)gpriv)->store,
	    ((struct clientkey *)prev)->store);
}

struct clientkey_conn *
clientkey_connect(struct fctx *fx, const struct clientkey *k,
    const struct sockaddr *sa, size_t size)
{
	struct clientkey_conn	*c = xcalloc(1, size);
	uint32_t		 tag;

	fctx_set_priv(fx, c);
	if (sa == NULL) {
		c->exempt = 1;
		return c;
	}
	netprefix(sa, k->prefix4, k->prefix6, c->net, sizeof(c->net));
	if (k->allow != NULL && iptable_lookup(k->allow, sa, &tag)) {
		c->exempt = 1;
		fctx_result(fx, "allowed");
	}
	return c;
}

void
clientkey_close(struct fctx *fx)
{
	free(fctx_priv(fx));
	fctx_set_priv(fx, NULL);
}
