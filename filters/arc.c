/* SPDX-License-Identifier: ISC */
/*
 * arc.c - the arc filter: the ARC chain of each message validated (RFC
 * 8617 5.2, filters/arcverify.c) and its result in postern's
 * Authentication-Results, "arc=pass (sealed by example.net, 2 sets)
 * header.oldest-pass=0 smtp.remote-ip=192.0.2.1" (RFC 8617 10.1), for
 * the MTA, the mailbox and the filters after it (dmarc).  It never
 * refuses a message: a broken chain is a fact to report, not a reason.
 * The key lookups and the crypto run on the worker pool, bounded by
 * arc.timeout; a lookup that fails for now makes the result fail with
 * "temporary" in its comment.
 *
 * Public: flt_arc_ops.
 *
 * DIAGNOSTICS
 *	"SID arc: worker pool full" (log_limited), the message then
 *	reported fail (temporary).  The fault of a failed chain is in the
 *	result (arc=fail(body hash mismatch ...)).
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/arcverify.h"
#include "filters/filter.h"
#include "lib/log.h"
#include "lib/util.h"
#include "policy/conf.h"

struct flt_arc_job {
	struct arcverify_msg	*m;
	struct dns		*dns;
	uint64_t		 timeout_ms;
	struct arcverify_result	 res;
};

static enum fv	flt_arc_header(struct fctx *, const char *, const char *,
		    size_t);
static enum fv	flt_arc_eoh(struct fctx *);
static enum fv	flt_arc_body(struct fctx *, const unsigned char *, size_t);
static enum fv	flt_arc_eom(struct fctx *);
static void	flt_arc_work(void *);
static void	flt_arc_done(struct fctx *, void *);
static void	flt_arc_report(struct fctx *, const struct arcverify_result *);
static void	flt_arc_abort(struct fctx *);

const struct filter_ops flt_arc_ops = {
	.name = "arc",
	.needs = FILTER_NEEDS_DNS | FILTER_AUTHRES,
	.header = flt_arc_header,
	.eoh = flt_arc_eoh,
	.body = flt_arc_body,
	.eom = flt_arc_eom,
	.abort = flt_arc_abort,
	.close = flt_arc_abort,
};

static struct log_limit flt_arc_log_full =
	    LOG_LIMIT("arc: worker pool full");

static struct arcverify_msg *
flt_arc_msg(struct fctx *fx)
{
	struct arcverify_msg	*m = fctx_priv(fx);

	if (m == NULL) {
		m = arcverify_new();
		fctx_set_priv(fx, m);
	}
	return m;
}

static enum fv
flt_arc_header(struct fctx *fx, const char *name, const char *value,
    size_t vlen)
{
	arcverify_header(flt_arc_msg(fx), name, value, vlen);
	return FV_CONTINUE;
}

static enum fv
flt_arc_eoh(struct fctx *fx)
{
	arcverify_eoh(flt_arc_msg(fx), 1);
	return FV_CONTINUE;
}

static enum fv
flt_arc_body(struct fctx *fx, const unsigned char *data, size_t len)
{
	arcverify_body(flt_arc_msg(fx), data, len);
	return FV_CONTINUE;
}

static enum fv
flt_arc_eom(struct fctx *fx)
{
	struct flt_arc_job	*j = xcalloc(1, sizeof(*j));

	j->m = flt_arc_msg(fx);
	fctx_set_priv(fx, NULL);
	j->dns = fctx_dns(fx);
	j->timeout_ms = (uint64_t)fctx_conf(fx)->arc_timeout * 1000;
	if (fctx_defer(fx, flt_arc_work, flt_arc_done, j) == 0)
		return FV_PENDING;
	log_limited(&flt_arc_log_full, LOG_LEVEL_WARN, "%s arc: worker pool "
	    "full", fctx_session_id(fx));
	j->res.cv = ARCVERIFY_FAIL;
	j->res.temporary = 1;
	strlcpy(j->res.why, "no worker free for the check",
	    sizeof(j->res.why));
	flt_arc_report(fx, &j->res);
	arcverify_free(j->m);
	free(j);
	return FV_CONTINUE;
}

/* On a pool thread: the key lookups and the crypto. */
static void
flt_arc_work(void *arg)
{
	struct flt_arc_job	*j = arg;

	arcverify_run(j->m, j->dns, util_now_ms() + j->timeout_ms, &j->res);
}

static void
flt_arc_done(struct fctx *fx, void *arg)
{
	struct flt_arc_job	*j = arg;

	if (fx != NULL) {
		flt_arc_report(fx, &j->res);
		fctx_resume(fx, FV_CONTINUE);
	}
	arcverify_free(j->m);
	free(j);
}

static void
flt_arc_report(struct fctx *fx, const struct arcverify_result *r)
{
	struct authres_prop	 props[2];
	const char		*cv = arcverify_cv_name(r->cv);
	char			 comment[300], oldest[16];
	size_t			 n = 0;

	comment[0] = '\0';
	if (r->cv == ARCVERIFY_PASS) {
		snprintf(comment, sizeof(comment), "sealed by %s, %u set%s",
		    r->domain, r->n, r->n == 1 ? "" : "s");
		snprintf(oldest, sizeof(oldest), "%u", r->oldest_pass);
		props[n++] = (struct authres_prop){ "header.oldest-pass",
		    oldest };
	} else if (r->cv == ARCVERIFY_FAIL)
		snprintf(comment, sizeof(comment), "%s%s", r->temporary ?
		    "temporary: " : "", r->why);
	props[n++] = (struct authres_prop){ "smtp.remote-ip",
	    fctx_client_addr(fx) };
	fctx_authres(fx, "arc", cv, comment[0] != '\0' ? comment : NULL,
	    props, n);
	if (r->cv == ARCVERIFY_FAIL)
		fctx_result(fx, "fail(%s)", comment);
	else if (r->cv == ARCVERIFY_PASS)
		fctx_result(fx, "pass(%s i=%u)", r->domain, r->n);
	else
		fctx_result(fx, "none");
}

static void
flt_arc_abort(struct fctx *fx)
{
	arcverify_free(fctx_priv(fx));
	fctx_set_priv(fx, NULL);
}
