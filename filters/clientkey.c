/* SPDX-License-Identifier: ISC */
/*
 * clientkey.c - the state-per-client-network part of the ratelimit and
 * greylist filters (see clientkey.h).
 *
 * Public: clientkey_init, clientkey_fini, clientkey_connect,
 * clientkey_failed, clientkey_close.
 *
 * DIAGNOSTICS
 *	clientkey_failed (log_limited): "SID FILTER: store failed (REASON):
 *	accepted|tempfailed".
 */
#include <sys/socket.h>

#include <stdlib.h>

#include "filters/clientkey.h"
#include "filters/filter.h"
#include "lib/log.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "policy/table.h"

int
clientkey_init(struct clientkey *k, const struct conf *c, const char *section,
    const char *allow, unsigned prefix4, unsigned prefix6, char *err,
    size_t errsz)
{
	char	 l[400];

	k->name = section;
	k->failure_accept = c->redis_failure_action == CONF_ACTION_ACCEPT;
	k->prefix4 = prefix4;
	k->prefix6 = prefix6;
	return iptable_from(&k->allow, allow, "", conf_label(c, section,
	    "allow", l, sizeof(l)), err, errsz);
}

void
clientkey_fini(struct clientkey *k)
{
	iptable_free(k->allow);
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

enum fv
clientkey_failed(struct fctx *fx, const struct clientkey *k,
    struct log_limit *ll, const char *reason, const char *code,
    const char *text)
{
	log_limited(ll, LOG_LEVEL_WARN, "%s %s: store failed (%s): %s",
	    fctx_session_id(fx), k->name, reason, k->failure_accept ?
	    "accepted" : "tempfailed");
	fctx_result(fx, "failed(%s)", reason);
	if (k->failure_accept)
		return FV_CONTINUE;
	fctx_reply(fx, code, "4.3.0", "%s", text);
	return FV_TEMPFAIL;
}

void
clientkey_close(struct fctx *fx)
{
	free(fctx_priv(fx));
	fctx_set_priv(fx, NULL);
}
