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
 * The state lives in the process's own store (lib/ttlcache.c,
 * greylist.store_size keys), shared by every event loop and handed from
 * one configuration generation to the next, so a reload keeps it.
 *
 * Public: flt_greylist_ops.
 */
#include <sys/socket.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/clientkey.h"
#include "filters/filter.h"
#include "lib/metrics.h"
#include "lib/ttlcache.h"
#include "lib/util.h"
#include "policy/conf.h"

/* What the store keeps for a triplet, and for a network ("n" keys). */
struct flt_gl_entry {
	uint64_t		 first_ms;	/* first seen */
	uint32_t		 passed;	/* triplet: it passed; network:
						   its triplets that passed */
};

struct flt_gl {
	struct clientkey	 k;		/* first: clientkey.h */
	uint64_t		 delay_ms, window_ms;
	unsigned		 pass_ttl;	/* seconds */
	unsigned		 auto_allow;	/* 0: never */
	int			 skip_spf_pass;
};

struct flt_gl_conn {
	struct clientkey_conn	 c;		/* first: clientkey.h */
	char			 sender[320];
};

/* One step on a triplet (or a network) inside the store's lock. */
struct flt_gl_step {
	const struct flt_gl	*g;
	uint64_t		 now;
	int			 verdict;	/* triplet: 1 passes */
	uint64_t		 wait_ms;	/* triplet: until it would */
	int			 first_pass;	/* it passed just now */
};

static int	flt_gl_init(const struct conf *, struct dns *, void **,
		    char *, size_t);
static void	flt_gl_fini(void *);
static enum fv	flt_gl_connect(struct fctx *, const char *,
		    const struct sockaddr *);
static enum fv	flt_gl_envfrom(struct fctx *, const char *, char *const *);
static enum fv	flt_gl_envrcpt(struct fctx *, const char *, char *const *);
static int	flt_gl_spf_pass(struct fctx *);
static unsigned	flt_gl_triplet(void *, void *, int);
static unsigned	flt_gl_network(void *, void *, int);
static void	flt_gl_lower(char *);

const struct filter_ops flt_greylist_ops = {
	.name = "greylist",
	.init = flt_gl_init,
	.inherit = clientkey_inherit,
	.fini = flt_gl_fini,
	.connect = flt_gl_connect,
	.envfrom = flt_gl_envfrom,
	.envrcpt = flt_gl_envrcpt,
	.close = clientkey_close,
};

static int
flt_gl_init(const struct conf *c, struct dns *dns, void **gpriv, char *err,
    size_t errsz)
{
	struct flt_gl	*g = xcalloc(1, sizeof(*g));
	char		 l[400];

	(void)dns;
	g->delay_ms = (uint64_t)c->greylist_delay * 1000;
	g->window_ms = (uint64_t)c->greylist_window * 1000;
	g->pass_ttl = c->greylist_pass_ttl;
	g->auto_allow = c->greylist_auto_allow;
	g->skip_spf_pass = c->greylist_skip_spf_pass;
	if (clientkey_init(&g->k, c, "greylist", c->greylist_allow,
	    c->greylist_prefix4, c->greylist_prefix6, c->greylist_store_size,
	    sizeof(struct flt_gl_entry), g->pass_ttl > c->greylist_window ?
	    g->pass_ttl : c->greylist_window, err, errsz) == -1) {
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
	struct clientkey_conn	*c;
	struct flt_gl_entry	 e;
	char			 key[NETPREFIX_MAX + 4];

	(void)host;
	c = clientkey_connect(fx, &g->k, sa, sizeof(struct flt_gl_conn));
	if (c->exempt)
		return FV_CONTINUE;
	/* a network whose triplets passed often enough */
	snprintf(key, sizeof(key), "n %s", c->net);
	if (g->auto_allow > 0 && ttlcache_get(g->k.store, key, util_now_ms(),
	    &e) && e.passed >= g->auto_allow) {
		c->exempt = 1;
		fctx_result(fx, "auto-allowed");
		metric_add(M_GREYLIST, 1, "auto_allowed");
	}
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

static enum fv
flt_gl_envrcpt(struct fctx *fx, const char *addr, char *const *params)
{
	struct flt_gl		*g = fctx_gpriv(fx);
	struct flt_gl_conn	*c = fctx_priv(fx);
	struct flt_gl_step	 st = { g, util_now_ms(), 0, 0, 0 };
	char			 key[TTLCACHE_KEY_MAX];

	(void)params;
	if (c == NULL || c->c.exempt)
		return FV_CONTINUE;
	if (fctx_authenticated(fx) != NULL || (g->skip_spf_pass &&
	    flt_gl_spf_pass(fx))) {
		metric_add(M_GREYLIST, 1, "skipped");
		return FV_CONTINUE;
	}
	snprintf(key, sizeof(key), "t %s %s %s", c->c.net, c->sender, addr);
	flt_gl_lower(key);
	(void)ttlcache_update(g->k.store, key, st.now, flt_gl_triplet, &st);
	if (st.verdict) {
		metric_add(M_GREYLIST, 1, "passed");
		if (st.first_pass && g->auto_allow > 0) {
			snprintf(key, sizeof(key), "n %s", c->c.net);
			(void)ttlcache_update(g->k.store, key, st.now,
			    flt_gl_network, &st);
		}
		fctx_result(fx, "passed");
		return FV_CONTINUE;
	}
	metric_add(M_GREYLIST, 1, "greylisted");
	fctx_result(fx, "greylisted");
	fctx_reply(fx, "451", "4.7.1", "Greylisted: please try again in %llu "
	    "seconds (RFC 6647)", (unsigned long long)(st.wait_ms + 999) /
	    1000);
	return FV_TEMPFAIL;
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

/* The triplet's step: new (451, kept for the window), early (451 with
 * the wait), due or passed before (passes, kept for pass_ttl). */
static unsigned
flt_gl_triplet(void *arg, void *val, int had)
{
	struct flt_gl_step	*st = arg;
	struct flt_gl_entry	 e;
	uint64_t		 left;

	memcpy(&e, val, sizeof(e));
	if (!had) {
		e.first_ms = st->now;
		e.passed = 0;
	}
	if (e.passed || st->now - e.first_ms >= st->g->delay_ms) {
		st->first_pass = !e.passed;
		e.passed = 1;
		st->verdict = 1;
		memcpy(val, &e, sizeof(e));
		return st->g->pass_ttl;
	}
	st->wait_ms = st->g->delay_ms - (st->now - e.first_ms);
	memcpy(val, &e, sizeof(e));
	/* kept until the window, counted from the first attempt, ends */
	left = e.first_ms + st->g->window_ms - st->now;
	return (unsigned)(left / 1000) + 1;
}

/* A network's step: one more of its triplets passed. */
static unsigned
flt_gl_network(void *arg, void *val, int had)
{
	struct flt_gl_step	*st = arg;
	struct flt_gl_entry	 e;

	(void)had;
	memcpy(&e, val, sizeof(e));
	e.passed++;
	memcpy(val, &e, sizeof(e));
	return st->g->pass_ttl;
}

static void
flt_gl_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}
