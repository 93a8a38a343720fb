/* SPDX-License-Identifier: ISC */
/*
 * ratelimit.c - the ratelimit filter: events per window for a client
 * network, a sender address, a sender domain, an authenticated user and a
 * recipient domain, and connections per client network, each key with
 * limits in ratelimit_spec's syntax (ratelimit.client = 100/1m, 1000/1h),
 * enforced by GCRA (policy/ratelimit_spec.c).  Messages count at MAIL
 * (client, sender, sender_domain, user), recipients at RCPT
 * (rcpt_domain), connections at connect.  Over a limit: 450 4.7.1 (421
 * 4.7.0 and the session closes for a limit with :close; always for
 * connections), with the key and the limit in the text.  Clients on
 * ratelimit.allow are not counted.
 *
 * The state lives in the process's own store (lib/ttlcache.c, one value a
 * key: its GCRA time; ratelimit.store_size keys), shared by every event
 * loop and handed from one configuration generation to the next, so a
 * reload keeps the counts.  A key that no longer fits (an old one in its
 * slot) starts over.
 *
 * Public: flt_ratelimit_ops.
 */
#include <sys/socket.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/clientkey.h"
#include "filters/filter.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/ttlcache.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "policy/ratelimit_spec.h"

#define FLT_RL_TTL_MAX	(7 * 86400 + 1)	/* seconds: the longest window */

enum flt_rl_key {
	FLT_RL_CONNECTIONS, FLT_RL_CLIENT, FLT_RL_SENDER, FLT_RL_SENDER_DOMAIN,
	FLT_RL_USER, FLT_RL_RCPT_DOMAIN, FLT_RL_NKEYS
};

static const char *const flt_rl_names[FLT_RL_NKEYS] = {
	"connections", "client", "sender", "sender_domain", "user",
	"rcpt_domain"
};

struct flt_rl {
	struct clientkey	 k;		/* first: clientkey.h */
	struct ratelimit_spec	 spec[FLT_RL_NKEYS][RATELIMIT_SPECS_MAX];
	int			 nspec[FLT_RL_NKEYS];
};

/* One GCRA step inside the store's lock. */
struct flt_rl_step {
	const struct ratelimit_spec *spec;
	uint64_t		 now;
	uint64_t		 retry_ms;
	int			 allowed;
};

static int	flt_rl_init(const struct conf *, struct dns *, void **,
		    char *, size_t);
static void	flt_rl_fini(void *);
static enum fv	flt_rl_connect(struct fctx *, const char *,
		    const struct sockaddr *);
static enum fv	flt_rl_envfrom(struct fctx *, const char *, char *const *);
static enum fv	flt_rl_envrcpt(struct fctx *, const char *, char *const *);
static enum fv	flt_rl_check(struct fctx *, enum flt_rl_key, const char *);
static unsigned	flt_rl_gcra(void *, void *, int);
static const char *flt_rl_domain(const char *);

const struct filter_ops flt_ratelimit_ops = {
	.name = "ratelimit",
	.init = flt_rl_init,
	.inherit = clientkey_inherit,
	.fini = flt_rl_fini,
	.connect = flt_rl_connect,
	.envfrom = flt_rl_envfrom,
	.envrcpt = flt_rl_envrcpt,
	.close = clientkey_close,
};

static int
flt_rl_init(const struct conf *c, struct dns *dns, void **gpriv, char *err,
    size_t errsz)
{
	const char	*text[FLT_RL_NKEYS] = { c->ratelimit_connections,
	    c->ratelimit_client, c->ratelimit_sender,
	    c->ratelimit_sender_domain, c->ratelimit_user,
	    c->ratelimit_rcpt_domain };
	struct flt_rl	*g = xcalloc(1, sizeof(*g));
	char		 why[256], l[400];
	int		 i, bad = 0;

	(void)dns;
	for (i = 0; i < FLT_RL_NKEYS; i++)
		if ((g->nspec[i] = ratelimit_spec_parse(text[i], g->spec[i],
		    why, sizeof(why))) == -1) {
			util_err_append(err, errsz, "%s: %s", conf_label(c,
			    "ratelimit", flt_rl_names[i], l, sizeof(l)), why);
			bad = 1;
		}
	if (clientkey_init(&g->k, c, "ratelimit", c->ratelimit_allow,
	    c->ratelimit_prefix4, c->ratelimit_prefix6,
	    c->ratelimit_store_size, sizeof(uint64_t), FLT_RL_TTL_MAX, err,
	    errsz) == -1)
		bad = 1;
	*gpriv = g;
	if (bad) {
		flt_rl_fini(g);
		*gpriv = NULL;
		return -1;
	}
	return 0;
}

static void
flt_rl_fini(void *gpriv)
{
	struct flt_rl	*g = gpriv;

	if (g == NULL)
		return;
	clientkey_fini(&g->k);
	free(g);
}

static enum fv
flt_rl_connect(struct fctx *fx, const char *host, const struct sockaddr *sa)
{
	struct flt_rl		*g = fctx_gpriv(fx);
	struct clientkey_conn	*c;

	(void)host;
	c = clientkey_connect(fx, &g->k, sa, sizeof(*c));
	return c->exempt ? FV_CONTINUE : flt_rl_check(fx, FLT_RL_CONNECTIONS,
	    c->net);
}

static enum fv
flt_rl_envfrom(struct fctx *fx, const char *addr, char *const *params)
{
	struct clientkey_conn	*c = fctx_priv(fx);
	const char		*user = fctx_authenticated(fx);
	enum fv			 v;

	(void)params;
	if (c == NULL || c->exempt)
		return FV_CONTINUE;
	if ((v = flt_rl_check(fx, FLT_RL_CLIENT, c->net)) != FV_CONTINUE)
		return v;
	if (addr[0] != '\0' && ((v = flt_rl_check(fx, FLT_RL_SENDER, addr)) !=
	    FV_CONTINUE || (v = flt_rl_check(fx, FLT_RL_SENDER_DOMAIN,
	    flt_rl_domain(addr))) != FV_CONTINUE))
		return v;
	if (user != NULL)
		return flt_rl_check(fx, FLT_RL_USER, user);
	return FV_CONTINUE;
}

static enum fv
flt_rl_envrcpt(struct fctx *fx, const char *addr, char *const *params)
{
	struct clientkey_conn	*c = fctx_priv(fx);

	(void)params;
	if (c == NULL || c->exempt)
		return FV_CONTINUE;
	return flt_rl_check(fx, FLT_RL_RCPT_DOMAIN, flt_rl_domain(addr));
}

/* Every limit of key for value; the first one over refuses. */
static enum fv
flt_rl_check(struct fctx *fx, enum flt_rl_key k, const char *value)
{
	struct flt_rl		*g = fctx_gpriv(fx);
	struct flt_rl_step	 st;
	char			 key[TTLCACHE_KEY_MAX], lim[32];
	size_t			 j;
	int			 i, close;

	for (i = 0; i < g->nspec[k]; i++) {
		st = (struct flt_rl_step){ &g->spec[k][i], util_now_ms(), 0,
		    0 };
		/* one key whatever the case a sender writes it in */
		snprintf(key, sizeof(key), "%d.%d %s", k, i, value);
		for (j = 0; key[j] != '\0'; j++)
			key[j] = (char)tolower((unsigned char)key[j]);
		(void)ttlcache_update(g->k.store, key, st.now,
		    flt_rl_gcra, &st);
		if (st.allowed)
			continue;
		metric_add(M_RATELIMIT, 1, flt_rl_names[k], "over");
		close = k == FLT_RL_CONNECTIONS || st.spec->close;
		snprintf(lim, sizeof(lim), "%llu per %llus", (unsigned long
		    long)st.spec->n, (unsigned long long)st.spec->window_ms /
		    1000);
		fctx_result(fx, "over(%s %s: %s)", flt_rl_names[k], value,
		    lim);
		fctx_reply(fx, close ? "421" : "450", close ? "4.7.0" : "4.7.1",
		    "Rate limit reached for %s %s (%s), try again in %llus",
		    flt_rl_names[k], value, lim,
		    (unsigned long long)(st.retry_ms + 999) / 1000);
		return FV_TEMPFAIL;
	}
	if (g->nspec[k] > 0)
		metric_add(M_RATELIMIT, 1, flt_rl_names[k], "under");
	return FV_CONTINUE;
}

/* ttlcache_update's step: the key's GCRA time in, advanced when allowed;
 * kept until it no longer matters. */
static unsigned
flt_rl_gcra(void *arg, void *val, int had)
{
	struct flt_rl_step	*st = arg;
	uint64_t		 tat;

	(void)had;
	memcpy(&tat, val, sizeof(tat));
	st->allowed = ratelimit_gcra(st->spec, st->now, &tat, &st->retry_ms);
	memcpy(val, &tat, sizeof(tat));
	return tat > st->now ? (unsigned)((tat - st->now) / 1000) + 1 : 0;
}

/* The part of addr after its last '@' (addr itself when none). */
static const char *
flt_rl_domain(const char *addr)
{
	const char	*at = strrchr(addr, '@');

	return at != NULL ? at + 1 : addr;
}
