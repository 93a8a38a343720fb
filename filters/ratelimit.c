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
 * The counts live in the shared store (lib/store.h: Redis, so that every
 * postern naming it enforces one limit, or this process's own), one GCRA
 * time a key (lib/store_math.h), checked and counted in one atomic step.
 * A stage's limits go in one operation: the event is counted against all
 * of them when every one has room, against none otherwise, so a refused
 * attempt costs the sender nothing.  A reload keeps the store.  A store
 * that does not answer: redis.failure_action (accept, or 451 4.3.0; 421
 * at connect).
 *
 * Public: flt_ratelimit_ops.
 *
 * DIAGNOSTICS
 *	At run time (log_limited): "SID ratelimit: store failed (REASON):
 *	accepted|tempfailed"; a refusal is in the transaction log
 *	(ratelimit=over(sender_domain example.com: 100 per 60s)).
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
#include "lib/store.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "policy/ratelimit_spec.h"

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

/* One stage's store operation: a key per limit, and which it was. */
struct flt_rl_job {
	struct store_req	 req;
	enum flt_rl_key		 key[STORE_KEYS_MAX];
	const struct ratelimit_spec *spec[STORE_KEYS_MAX];	/* g's */
	const char		*value[STORE_KEYS_MAX];	/* in text */
	char			 text[FLT_RL_NKEYS][STORE_KEY_MAX / 2];
	int			 connect;	/* the connect stage's */
};

static int	flt_rl_init(const struct conf *, struct dns *, void **,
		    char *, size_t);
static void	flt_rl_fini(void *);
static enum fv	flt_rl_connect(struct fctx *, const char *,
		    const struct sockaddr *);
static enum fv	flt_rl_envfrom(struct fctx *, const char *, char *const *);
static enum fv	flt_rl_envrcpt(struct fctx *, const char *, char *const *);
static void	flt_rl_add(struct flt_rl_job *, const struct flt_rl *,
		    enum flt_rl_key, const char *);
static enum fv	flt_rl_start(struct fctx *, struct flt_rl_job *);
static void	flt_rl_done(struct fctx *, void *, const struct store_reply *);
static enum fv	flt_rl_over(struct fctx *, const struct flt_rl_job *,
		    size_t, uint64_t);
static enum fv	flt_rl_failed(struct fctx *, const struct flt_rl_job *,
		    const char *);
static const char *flt_rl_domain(const char *);

const struct filter_ops flt_ratelimit_ops = {
	.name = "ratelimit",
	.needs = FILTER_NEEDS_STORE,
	.init = flt_rl_init,
	.fini = flt_rl_fini,
	.connect = flt_rl_connect,
	.envfrom = flt_rl_envfrom,
	.envrcpt = flt_rl_envrcpt,
	.close = clientkey_close,
};

static struct log_limit flt_rl_log_failed =
	    LOG_LIMIT("ratelimit: store failures");

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
	    c->ratelimit_prefix4, c->ratelimit_prefix6, err, errsz) == -1)
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
	struct flt_rl_job	*j;

	(void)host;
	c = clientkey_connect(fx, &g->k, sa, sizeof(*c));
	if (c->exempt)
		return FV_CONTINUE;
	j = xcalloc(1, sizeof(*j));
	j->connect = 1;
	flt_rl_add(j, g, FLT_RL_CONNECTIONS, c->net);
	return flt_rl_start(fx, j);
}

static enum fv
flt_rl_envfrom(struct fctx *fx, const char *addr, char *const *params)
{
	struct flt_rl		*g = fctx_gpriv(fx);
	struct clientkey_conn	*c = fctx_priv(fx);
	const char		*user = fctx_authenticated(fx);
	struct flt_rl_job	*j;

	(void)params;
	if (c == NULL || c->exempt)
		return FV_CONTINUE;
	j = xcalloc(1, sizeof(*j));
	flt_rl_add(j, g, FLT_RL_CLIENT, c->net);
	if (addr[0] != '\0') {
		flt_rl_add(j, g, FLT_RL_SENDER, addr);
		flt_rl_add(j, g, FLT_RL_SENDER_DOMAIN, flt_rl_domain(addr));
	}
	if (user != NULL)
		flt_rl_add(j, g, FLT_RL_USER, user);
	return flt_rl_start(fx, j);
}

static enum fv
flt_rl_envrcpt(struct fctx *fx, const char *addr, char *const *params)
{
	struct flt_rl		*g = fctx_gpriv(fx);
	struct clientkey_conn	*c = fctx_priv(fx);
	struct flt_rl_job	*j;

	(void)params;
	if (c == NULL || c->exempt)
		return FV_CONTINUE;
	j = xcalloc(1, sizeof(*j));
	flt_rl_add(j, g, FLT_RL_RCPT_DOMAIN, flt_rl_domain(addr));
	return flt_rl_start(fx, j);
}

/* A store key for each limit of key k on value: one key whatever the
 * case a sender writes it in.  A value too long for a key is not
 * counted (a mailbox is at most 254 octets, RFC 5321 4.5.3.1.3). */
static void
flt_rl_add(struct flt_rl_job *j, const struct flt_rl *g, enum flt_rl_key k,
    const char *value)
{
	struct store_req	*q = &j->req;
	char			 lower[sizeof(j->text[0])];
	size_t			 i, len;
	int			 n;

	if (g->nspec[k] == 0 || (len = strlcpy(lower, value,
	    sizeof(lower))) >= sizeof(lower))
		return;
	for (i = 0; i < len; i++)
		lower[i] = (char)tolower((unsigned char)lower[i]);
	strlcpy(j->text[k], lower, sizeof(j->text[k]));
	for (i = 0; i < (size_t)g->nspec[k] && q->n < STORE_KEYS_MAX; i++) {
		n = snprintf(q->key[q->n], sizeof(q->key[0]), "rl:%s:%zu:%s",
		    flt_rl_names[k], i, lower);
		if (n < 0 || (size_t)n >= sizeof(q->key[0]))
			continue;
		q->count[q->n] = (unsigned)g->spec[k][i].n;
		q->window_ms[q->n] = g->spec[k][i].window_ms;
		j->key[q->n] = k;
		j->spec[q->n] = &g->spec[k][i];
		j->value[q->n] = j->text[k];
		q->n++;
	}
}

/* The stage's keys in one store operation: counted against all of them
 * when every one has room, against none otherwise. */
static enum fv
flt_rl_start(struct fctx *fx, struct flt_rl_job *j)
{
	j->req.kind = STORE_RATE;
	if (j->req.n > 0 && fctx_store(fx, &j->req, flt_rl_done, j) == 0)
		return FV_PENDING;
	free(j);
	return FV_CONTINUE;
}

static void
flt_rl_done(struct fctx *fx, void *arg, const struct store_reply *r)
{
	struct flt_rl_job	*j = arg;
	enum fv			 v = FV_CONTINUE;
	size_t			 i;

	if (fx == NULL) {
		free(j);
		return;
	}
	if (r->failed)
		v = flt_rl_failed(fx, j, r->reason);
	else if (r->what > 0)
		v = flt_rl_over(fx, j, r->what - 1, r->wait_ms);
	else
		for (i = 0; i < j->req.n; i++)
			if (i == 0 || j->key[i] != j->key[i - 1])
				metric_add(M_RATELIMIT, 1,
				    flt_rl_names[j->key[i]], "under");
	free(j);
	fctx_resume(fx, v);
}

/* Limit i of the job is reached: 450, or 421 and close. */
static enum fv
flt_rl_over(struct fctx *fx, const struct flt_rl_job *j, size_t i,
    uint64_t wait_ms)
{
	const struct ratelimit_spec	*spec = j->spec[i];
	const char			*name = flt_rl_names[j->key[i]];
	char				 lim[32];
	int				 close = j->connect || spec->close;

	metric_add(M_RATELIMIT, 1, name, "over");
	snprintf(lim, sizeof(lim), "%llu per %llus", (unsigned long long)
	    spec->n, (unsigned long long)spec->window_ms / 1000);
	fctx_result(fx, "over(%s %s: %s)", name, j->value[i], lim);
	fctx_reply(fx, close ? "421" : "450", close ? "4.7.0" : "4.7.1",
	    "Rate limit reached for %s %s (%s), try again in %llus", name,
	    j->value[i], lim, (unsigned long long)(wait_ms + 999) / 1000);
	return FV_TEMPFAIL;
}

/* redis.failure_action for a store without an answer. */
static enum fv
flt_rl_failed(struct fctx *fx, const struct flt_rl_job *j,
    const char *reason)
{
	struct flt_rl	*g = fctx_gpriv(fx);

	metric_add(M_RATELIMIT, 1, flt_rl_names[j->key[0]], "failed");
	return clientkey_failed(fx, &g->k, &flt_rl_log_failed, reason,
	    j->connect ? "421" : "451", "Rate limit check unavailable, try "
	    "again later");
}

/* The part of addr after its last '@' (addr itself when none). */
static const char *
flt_rl_domain(const char *addr)
{
	const char	*at = strrchr(addr, '@');

	return at != NULL ? at + 1 : addr;
}
