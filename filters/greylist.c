/* SPDX-License-Identifier: ISC */
/*
 * greylist.c - the greylist filter (RFC 6647), decided for each recipient
 * at RCPT on the triplet of the client's network (greylist.prefix4/6),
 * the envelope sender and the recipient.  A triplet seen for the first
 * time gets 451 4.7.1 and is kept for greylist.window; a retry before
 * greylist.delay gets 451 again (with the wait); one after it passes, and
 * the triplet then passes at once for greylist.pass_ttl.  A network whose
 * triplets passed greylist.auto_allow times is not greylisted any more
 * (for pass_ttl).  Not greylisted: authenticated clients, greylist.allow
 * networks, and with greylist.skip_spf_pass the senders SPF passed (the
 * spf filter must come before this one in the chain).
 *
 * The triplets and the networks' passes live in the shared store
 * (lib/store.h: Redis, so that a triplet seen by one postern passes on
 * another, or this process's own), each recipient's step one atomic
 * operation (lib/store_math.h).  A reload keeps the store.  A store that
 * does not answer: redis.failure_action (accept, or 451 4.3.0).
 *
 * Public: flt_greylist_ops.
 *
 * DIAGNOSTICS
 *	At run time (log_limited): "SID greylist: store failed (REASON):
 *	accepted|tempfailed".
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

struct flt_gl {
	struct clientkey	 k;		/* first: clientkey.h */
	uint64_t		 delay_ms, window_ms, pass_ttl_ms;
	unsigned		 auto_allow;	/* 0: never */
	int			 skip_spf_pass;
};

struct flt_gl_conn {
	struct clientkey_conn	 c;		/* first: clientkey.h */
	char			 sender[320];
};

static int	flt_gl_init(const struct conf *, struct dns *, void **,
		    char *, size_t);
static void	flt_gl_fini(void *);
static enum fv	flt_gl_connect(struct fctx *, const char *,
		    const struct sockaddr *);
static enum fv	flt_gl_envfrom(struct fctx *, const char *, char *const *);
static enum fv	flt_gl_envrcpt(struct fctx *, const char *, char *const *);
static void	flt_gl_done(struct fctx *, void *, const struct store_reply *);
static enum fv	flt_gl_failed(struct fctx *, const char *);
static int	flt_gl_spf_pass(struct fctx *);
static void	flt_gl_lower(char *);

const struct filter_ops flt_greylist_ops = {
	.name = "greylist",
	.needs = FILTER_NEEDS_STORE,
	.init = flt_gl_init,
	.fini = flt_gl_fini,
	.connect = flt_gl_connect,
	.envfrom = flt_gl_envfrom,
	.envrcpt = flt_gl_envrcpt,
	.close = clientkey_close,
};

static struct log_limit flt_gl_log_failed =
	    LOG_LIMIT("greylist: store failures");

static int
flt_gl_init(const struct conf *c, struct dns *dns, void **gpriv, char *err,
    size_t errsz)
{
	struct flt_gl	*g = xcalloc(1, sizeof(*g));
	char		 l[400];

	(void)dns;
	g->delay_ms = (uint64_t)c->greylist_delay * 1000;
	g->window_ms = (uint64_t)c->greylist_window * 1000;
	g->pass_ttl_ms = (uint64_t)c->greylist_pass_ttl * 1000;
	g->auto_allow = c->greylist_auto_allow;
	g->skip_spf_pass = c->greylist_skip_spf_pass;
	if (clientkey_init(&g->k, c, "greylist", c->greylist_allow,
	    c->greylist_prefix4, c->greylist_prefix6, err, errsz) == -1) {
		flt_gl_fini(g);
		return -1;
	}
	if (g->delay_ms >= g->window_ms) {
		util_err_append(err, errsz, "%s: must be shorter than "
		    "greylist.window", conf_label(c, "greylist", "delay", l,
		    sizeof(l)));
		flt_gl_fini(g);
		return -1;
	}
	*gpriv = g;
	return 0;
}

static void
flt_gl_fini(void *gpriv)
{
	struct flt_gl	*g = gpriv;

	if (g == NULL)
		return;
	clientkey_fini(&g->k);
	free(g);
}

static enum fv
flt_gl_connect(struct fctx *fx, const char *host, const struct sockaddr *sa)
{
	struct flt_gl		*g = fctx_gpriv(fx);

	(void)host;
	(void)clientkey_connect(fx, &g->k, sa, sizeof(struct flt_gl_conn));
	return FV_CONTINUE;
}

static enum fv
flt_gl_envfrom(struct fctx *fx, const char *addr, char *const *params)
{
	struct flt_gl_conn	*c = fctx_priv(fx);

	(void)params;
	if (c != NULL) {
		strlcpy(c->sender, addr[0] != '\0' ? addr : "<>",
		    sizeof(c->sender));
		flt_gl_lower(c->sender);
	}
	return FV_CONTINUE;
}

/* The triplet and its network in one store operation. */
static enum fv
flt_gl_envrcpt(struct fctx *fx, const char *addr, char *const *params)
{
	struct flt_gl		*g = fctx_gpriv(fx);
	struct flt_gl_conn	*c = fctx_priv(fx);
	struct store_req	*q;
	int			 n;

	(void)params;
	if (c == NULL || c->c.exempt)
		return FV_CONTINUE;
	if (fctx_authenticated(fx) != NULL || (g->skip_spf_pass &&
	    flt_gl_spf_pass(fx))) {
		metric_add(M_GREYLIST, 1, "skipped");
		return FV_CONTINUE;
	}
	q = xcalloc(1, sizeof(*q));
	q->kind = STORE_GREY;
	q->n = 2;
	n = snprintf(q->key[0], sizeof(q->key[0]), "gl:t:%s %s %s",
	    c->c.net, c->sender, addr);
	snprintf(q->key[1], sizeof(q->key[1]), "gl:n:%s", c->c.net);
	flt_gl_lower(q->key[0]);
	q->delay_ms = g->delay_ms;
	q->retry_ms = g->window_ms;
	q->expire_ms = g->pass_ttl_ms;
	q->auto_allow = g->auto_allow;
	/* a key cut short would merge triplets: such a long one passes */
	if (n < 0 || (size_t)n >= sizeof(q->key[0]) ||
	    fctx_store(fx, q, flt_gl_done, NULL) == -1) {
		free(q);
		return FV_CONTINUE;
	}
	free(q);
	return FV_PENDING;
}

static void
flt_gl_done(struct fctx *fx, void *arg, const struct store_reply *r)
{
	enum fv		 v = FV_CONTINUE;

	(void)arg;
	if (fx == NULL)
		return;
	if (r->failed)
		v = flt_gl_failed(fx, r->reason);
	else if (r->what == STORE_GREY_AUTO) {
		metric_add(M_GREYLIST, 1, "auto_allowed");
		fctx_result(fx, "auto-allowed");
	} else if (r->what == STORE_GREY_PASS) {
		metric_add(M_GREYLIST, 1, "passed");
		fctx_result(fx, "passed");
	} else {
		metric_add(M_GREYLIST, 1, "greylisted");
		fctx_result(fx, "greylisted");
		fctx_reply(fx, "451", "4.7.1", "Greylisted: please try again "
		    "in %llu seconds (RFC 6647)", (unsigned long long)
		    (r->wait_ms + 999) / 1000);
		v = FV_TEMPFAIL;
	}
	fctx_resume(fx, v);
}

/* redis.failure_action for a store without an answer. */
static enum fv
flt_gl_failed(struct fctx *fx, const char *reason)
{
	struct flt_gl	*g = fctx_gpriv(fx);

	metric_add(M_GREYLIST, 1, "failed");
	return clientkey_failed(fx, &g->k, &flt_gl_log_failed, reason, "451",
	    "Greylisting unavailable, try again later");
}

/* Whether the chain's SPF check of MAIL FROM passed. */
static int
flt_gl_spf_pass(struct fctx *fx)
{
	const struct fctx_auth	*a;
	size_t			 n, i;

	n = fctx_auth_results(fx, &a);
	for (i = 0; i < n; i++)
		if (strcmp(a[i].method, "spf") == 0 && a[i].nprops > 0 &&
		    strcmp(a[i].props[0].name, "smtp.mailfrom") == 0)
			return strcmp(a[i].result, "pass") == 0;
	return 0;
}

static void
flt_gl_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}
