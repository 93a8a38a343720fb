/* SPDX-License-Identifier: ISC */
/*
 * iplist.c - the iplist filter: client addresses and envelope senders on
 * allow, deny and "only" lists ([iplist] in the configuration).
 *
 *	connect	 allow -> FV_ACCEPT: every remaining check of the connection
 *		 is skipped (allow beats deny, so a /32 can be let through a
 *		 denied /16); deny -> 554 5.7.1; only (when set) and not on it
 *		 -> 554 5.7.1.
 *	envfrom	 sender_allow -> FV_ACCEPT for the message; sender_deny ->
 *		 550 5.7.1.
 *
 * The tables are built once per configuration generation (init) and only
 * read afterwards.  Each entry's tag is its line in its file, 0 for entries
 * given inline, so results and replies say which entry decided.
 *
 * Public: flt_iplist_ops.
 *
 * DIAGNOSTICS
 *	init fails with "iplist.deny: 'xyz': not an IP address or network"
 *	for an inline entry, "file:line: ..." for a file entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/filter.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "policy/table.h"

enum flt_iplist_kind {
	IPL_ALLOW,
	IPL_DENY,
	IPL_ONLY,
	IPL_NKINDS,
};

struct flt_iplist {
	struct iptable		*ip[IPL_NKINDS];	/* NULL: not set */
	char			 ipfile[IPL_NKINDS][256];
	struct addrtable	*sender_allow, *sender_deny;
	char			 sallow_file[256], sdeny_file[256];
};

static int	flt_iplist_init(const struct conf *, struct dns *, void **,
		    char *, size_t);
static void	flt_iplist_fini(void *);
static enum fv	flt_iplist_connect(struct fctx *, const char *,
		    const struct sockaddr *);
static enum fv	flt_iplist_envfrom(struct fctx *, const char *,
		    char *const *);

const struct filter_ops flt_iplist_ops = {
	.name = "iplist",
	.init = flt_iplist_init,
	.fini = flt_iplist_fini,
	.connect = flt_iplist_connect,
	.envfrom = flt_iplist_envfrom,
};

static int
flt_iplist_init(const struct conf *c, struct dns *dns, void **gpriv,
    char *err, size_t errsz)
{
	struct flt_iplist	*g = xcalloc(1, sizeof(*g));
	char			 l[400];	/* a list's label */
	int			 rc = 0;

	(void)dns;	/* no lookups */
	*gpriv = g;
	strlcpy(g->ipfile[IPL_ALLOW], c->ip_allow_file, sizeof(g->ipfile[0]));
	strlcpy(g->ipfile[IPL_DENY], c->ip_deny_file, sizeof(g->ipfile[0]));
	strlcpy(g->ipfile[IPL_ONLY], c->ip_only_file, sizeof(g->ipfile[0]));
	strlcpy(g->sallow_file, c->sender_allow_file, sizeof(g->sallow_file));
	strlcpy(g->sdeny_file, c->sender_deny_file, sizeof(g->sdeny_file));
	/* Every list is loaded, so every bad entry is reported. */
	rc |= iptable_from(&g->ip[IPL_ALLOW], c->ip_allow, c->ip_allow_file,
	    conf_label(c, "iplist", "allow", l, sizeof(l)), err, errsz);
	rc |= iptable_from(&g->ip[IPL_DENY], c->ip_deny, c->ip_deny_file,
	    conf_label(c, "iplist", "deny", l, sizeof(l)), err, errsz);
	rc |= iptable_from(&g->ip[IPL_ONLY], c->ip_only, c->ip_only_file,
	    conf_label(c, "iplist", "only", l, sizeof(l)), err, errsz);
	rc |= addrtable_from(&g->sender_allow, c->sender_allow,
	    c->sender_allow_file, conf_label(c, "iplist", "sender_allow", l,
	    sizeof(l)), err, errsz);
	rc |= addrtable_from(&g->sender_deny, c->sender_deny,
	    c->sender_deny_file, conf_label(c, "iplist", "sender_deny", l,
	    sizeof(l)), err, errsz);
	if (rc != 0) {
		flt_iplist_fini(g);
		*gpriv = NULL;
		return -1;
	}
	return 0;
}

static void
flt_iplist_fini(void *gpriv)
{
	struct flt_iplist	*g = gpriv;
	size_t			 i;

	if (g == NULL)
		return;
	for (i = 0; i < IPL_NKINDS; i++)
		iptable_free(g->ip[i]);
	addrtable_free(g->sender_allow);
	addrtable_free(g->sender_deny);
	free(g);
}

/* Where an entry came from, for results and replies: "file:line" or
 * "iplist.key" for an inline entry. */
static void
flt_iplist_where(char *buf, size_t bufsz, const char *file,
    const char *key, uint32_t tag)
{
	if (tag == 0 || file[0] == '\0')
		snprintf(buf, bufsz, "iplist.%s", key);
	else
		snprintf(buf, bufsz, "%s:%u", file, tag);
}

/* Refuse as the list's action says: code5 5.7.1, or code4 4.7.1. */
static enum fv
flt_iplist_refuse(struct fctx *fx, enum conf_action a, const char *code5,
    const char *code4, const char *text)
{
	if (a == CONF_ACTION_TEMPFAIL) {
		fctx_reply(fx, code4, "4.7.1", "%s, try again later", text);
		return FV_TEMPFAIL;
	}
	fctx_reply(fx, code5, "5.7.1", "%s", text);
	return FV_REJECT;
}

static enum fv
flt_iplist_connect(struct fctx *fx, const char *host,
    const struct sockaddr *sa)
{
	struct flt_iplist	*g = fctx_gpriv(fx);
	uint32_t		 tag;
	char			 where[300], text[400];

	(void)host;		/* named by its address: fctx_client_addr */
	if (g->ip[IPL_ALLOW] != NULL &&
	    iptable_lookup(g->ip[IPL_ALLOW], sa, &tag)) {
		flt_iplist_where(where, sizeof(where), g->ipfile[IPL_ALLOW],
		    "allow", tag);
		fctx_result(fx, "allow(%s)", where);
		metric_add(M_IPLIST_HITS, 1, "allow");
		return FV_ACCEPT;
	}
	if (g->ip[IPL_DENY] != NULL &&
	    iptable_lookup(g->ip[IPL_DENY], sa, &tag)) {
		flt_iplist_where(where, sizeof(where), g->ipfile[IPL_DENY],
		    "deny", tag);
		fctx_result(fx, "deny(%s)", where);
		metric_add(M_IPLIST_HITS, 1, "deny");
		snprintf(text, sizeof(text), "Client %s is on the deny list",
		    fctx_client_addr(fx));
		return flt_iplist_refuse(fx, fctx_conf(fx)->ip_deny_action,
		    "554", "421", text);
	}
	if (g->ip[IPL_ONLY] != NULL &&
	    !iptable_lookup(g->ip[IPL_ONLY], sa, &tag)) {
		fctx_result(fx, "not-only");
		metric_add(M_IPLIST_HITS, 1, "not_only");
		snprintf(text, sizeof(text), "Client %s is not allowed to use "
		    "this server", fctx_client_addr(fx));
		return flt_iplist_refuse(fx, fctx_conf(fx)->ip_only_action,
		    "554", "421", text);
	}
	return FV_CONTINUE;
}

static enum fv
flt_iplist_envfrom(struct fctx *fx, const char *addr, char *const *params)
{
	struct flt_iplist	*g = fctx_gpriv(fx);
	uint32_t		 tag;
	char			 where[300], text[400];

	(void)params;
	if (g->sender_allow != NULL &&
	    addrtable_lookup(g->sender_allow, addr, &tag)) {
		flt_iplist_where(where, sizeof(where), g->sallow_file,
		    "sender_allow", tag);
		fctx_result(fx, "sender-allow(%s)", where);
		metric_add(M_IPLIST_HITS, 1, "sender_allow");
		return FV_ACCEPT;
	}
	if (g->sender_deny != NULL &&
	    addrtable_lookup(g->sender_deny, addr, &tag)) {
		flt_iplist_where(where, sizeof(where), g->sdeny_file,
		    "sender_deny", tag);
		fctx_result(fx, "sender-deny(%s)", where);
		metric_add(M_IPLIST_HITS, 1, "sender_deny");
		snprintf(text, sizeof(text), "Sender <%.300s> is on the deny "
		    "list", addr);
		return flt_iplist_refuse(fx, fctx_conf(fx)->sender_deny_action,
		    "550", "451", text);
	}
	return FV_CONTINUE;
}
