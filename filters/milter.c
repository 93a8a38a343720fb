/* SPDX-License-Identifier: ISC */
/*
 * milter.c - the milter filter: external milters (milter.milters, in
 * order, as Postfix's smtpd_milters) called at every stage of the chain,
 * so OpenDKIM, OpenDMARC, rspamd or clamav-milter work in front of a
 * backend that has no milter support, and inside `postern milter` too.
 *
 * Each stage is one job on the worker pool, like SPF's DNS: it writes the
 * stage's command to each milter in turn (proto/milter_proto.c encodes
 * it) and reads the replies through lib/milter_client.c (the sockets
 * are there) within the stage's timeout (milter.command_timeout,
 * milter.content_timeout for body and end of message).  The event loop never waits.  Steps a milter asked to skip
 * (SMFIP_NO*) are not sent, replies it said it will not send (SMFIP_NR_*)
 * not awaited; a milter that accepted the message (or the connection) is
 * not asked again about it.
 *
 * Replies: continue, accept, reject (550 5.7.1), tempfail (451 4.7.1),
 * discard, a reply code of the milter's own (4xx tempfail, 5xx reject),
 * add/insert header (queued with fctx_add_header: at the top of the
 * message), change and delete header (fctx_change_header: a changed field
 * moves to the top), replace body (fctx_replace_body), quarantine
 * (logged).  Envelope changes are logged as not applied (not yet
 * supported).  A
 * milter that cannot be reached, times out or breaks the protocol follows
 * milter.default_action for the rest of the connection.
 *
 * Public: flt_milter_ops.
 *
 * DIAGNOSTICS
 *	init: "milter.milters: 'x': inet:host:port or unix:/path expected".
 *	warn: a milter down or broken ("milter inet:...: timeout", ...) and
 *	the action taken; info: quarantine; warn: modifications not applied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfdef.h>

#include "filters/filter.h"
#include "lib/log.h"
#include "lib/milter_client.h"
#include "policy/conf.h"

#include "lib/util.h"
#include "proto/milter_proto.h"

/* Per-event warnings, one line of a kind an interval (the log's own
 * state, thread-safe; the filter never reads it). */
static struct log_limit flt_milter_log_failed = LOG_LIMIT("milter failed");

#define FLT_MILTER_MAX		8	/* milters called */
#define FLT_MILTER_MODS_MAX	64	/* header additions per message */

/* Actions we offer: all of libmilter 8.14's; what we cannot apply yet is
 * logged.  Steps we can leave out and replies we can do without. */
#define FLT_MILTER_ACTIONS	0x1ff
#define FLT_MILTER_PROTOCOL	(SMFIP_NOCONNECT | SMFIP_NOHELO | \
	SMFIP_NOMAIL | SMFIP_NORCPT | SMFIP_NOBODY | SMFIP_NOHDRS | \
	SMFIP_NOEOH | SMFIP_NR_HDR | SMFIP_NOUNKNOWN | SMFIP_NODATA | \
	SMFIP_SKIP | SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | \
	SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_EOH | \
	SMFIP_NR_BODY)

/* Global: the milters configured. */
struct flt_milter {
	char		 spec[FLT_MILTER_MAX][256];	/* as configured */
	size_t		 n;
};

/* One milter, for one connection. */
struct flt_milter_peer {
	struct milter_client *cl;	/* NULL: not connected */
	int		 failed;	/* default_action taken for good */
	int		 accepted;	/* 1: this message, 2: connection */
	int		 skip_body;	/* SKIP said: no more body */
	uint32_t	 protocol;	/* its SMFIP_* */
	size_t		 used;		/* input bytes of the last reply */
};

/*
 * The filter's priv: every milter of the connection.  While a job runs it
 * uses this on a pool thread; the loop then leaves it alone (busy), and a
 * connection that ends meanwhile leaves it to the job's done (orphan).
 */
struct flt_milter_conn {
	struct flt_milter_peer peer[FLT_MILTER_MAX];
	size_t		 n;
	int		 busy;		/* a job is out */
	int		 orphan;	/* the connection ended: done frees */
};

/* One stage's job: what to send, and what came back. */
struct flt_milter_job {
	const struct flt_milter	*g;
	struct flt_milter_conn	*c;		/* the priv; not owned */
	const struct conf	*conf;
	char			 sid[32];
	char			 stage;		/* SMFIC_* */
	struct util_buf		 cmd;		/* the command's packet(s) */
	struct util_buf		 body;		/* REPLBODY chunks */
	int			 replbody;	/* one came (maybe empty) */
	uint32_t		 skip_if;	/* SMFIP_NO* for this stage */
	uint32_t		 noreply_if;	/* SMFIP_NR_* for this stage */
	int			 npkts;		/* commands awaiting a reply */
	unsigned		 timeout;	/* seconds */
	enum fv			 v;
	char			 reply[512];	/* the milter's REPLYCODE */
	struct flt_milter_mod {
		char		 cmd;		/* SMFIR_ADD/INS/CHGHEADER */
		uint32_t	 index;		/* CHGHEADER's */
		char		*name;
		char		*value;		/* "" deletes (CHGHEADER) */
	}			 mods[FLT_MILTER_MODS_MAX];
	size_t			 nmods;
	const char		*failed;	/* spec of a milter gone bad */
	char			 why[128];
};

static int	flt_milter_init(const struct conf *, struct dns *, void **,
		    char *, size_t);
static void	flt_milter_fini(void *);
static unsigned	flt_milter_session_fds(void *);
static enum fv	flt_milter_connect(struct fctx *, const char *,
		    const struct sockaddr *);
static enum fv	flt_milter_helo(struct fctx *, const char *);
static enum fv	flt_milter_envelope(struct fctx *, char, const char *,
		    char *const *);
static enum fv	flt_milter_envfrom(struct fctx *, const char *,
		    char *const *);
static enum fv	flt_milter_envrcpt(struct fctx *, const char *,
		    char *const *);
static enum fv	flt_milter_bare(struct fctx *, char, uint32_t, uint32_t);
static enum fv	flt_milter_data(struct fctx *);
static int	flt_milter_unwanted(struct fctx *, char, uint32_t);
static enum fv	flt_milter_header(struct fctx *, const char *, const char *,
		    size_t);
static enum fv	flt_milter_eoh(struct fctx *);
static enum fv	flt_milter_body(struct fctx *, const unsigned char *, size_t);
static enum fv	flt_milter_eom(struct fctx *);
static void	flt_milter_abort(struct fctx *);
static void	flt_milter_close(struct fctx *);
static enum fv	flt_milter_run(struct fctx *, struct flt_milter_job *);
static struct flt_milter_job *flt_milter_job(struct fctx *, char, uint32_t,
		    uint32_t, unsigned);
static void	flt_milter_job_free(struct flt_milter_job *);
static void	flt_milter_work(void *);
static void	flt_milter_done(struct fctx *, void *);
static enum fv	flt_milter_verdict(struct fctx *, struct flt_milter_job *);
static int	flt_milter_open(const struct flt_milter_job *, const char *,
		    struct flt_milter_peer *, char *, size_t);
static int	flt_milter_ask(struct flt_milter_job *, struct flt_milter_peer *);
static int	flt_milter_recv(struct flt_milter_peer *, struct milter_reply *,
		    uint64_t, char *, size_t);
static void	flt_milter_peer_close(struct flt_milter_peer *);
static void	flt_milter_say(struct flt_milter_conn *, char);
static void	flt_milter_new_message(struct flt_milter_conn *);
static void	flt_milter_conn_free(struct flt_milter_conn *);

const struct filter_ops flt_milter_ops = {
	.name = "milter",
	.needs = FILTER_AFTER_ACCEPT,
	.init = flt_milter_init,
	.fini = flt_milter_fini,
	.connect = flt_milter_connect,
	.helo = flt_milter_helo,
	.envfrom = flt_milter_envfrom,
	.envrcpt = flt_milter_envrcpt,
	.data = flt_milter_data,
	.header = flt_milter_header,
	.eoh = flt_milter_eoh,
	.body = flt_milter_body,
	.eom = flt_milter_eom,
	.abort = flt_milter_abort,
	.close = flt_milter_close,
	.session_fds = flt_milter_session_fds,
};

static int
flt_milter_init(const struct conf *c, struct dns *dns, void **gpriv,
    char *err, size_t errsz)
{
	struct flt_milter	*g = xcalloc(1, sizeof(*g));
	char			*list = xstrdup(c->milters), *p = list, *w;
	int			 bad = 0;

	(void)dns;
	while ((w = strsep(&p, ", \t")) != NULL) {
		if (*w == '\0')
			continue;
		if (g->n == FLT_MILTER_MAX) {
			util_err_append(err, errsz, "milter.milters: more "
			    "than %d", FLT_MILTER_MAX);
			bad = 1;
			break;
		}
		if (strlen(w) >= sizeof(g->spec[0]) ||
		    !milter_client_spec_ok(w)) {
			util_err_append(err, errsz, "milter.milters: '%.64s': "
			    "inet:host:port or unix:/path expected", w);
			bad = 1;
			continue;
		}
		strlcpy(g->spec[g->n++], w, sizeof(g->spec[0]));
	}
	free(list);
	if (!bad && g->n == 0) {
		util_err_append(err, errsz, "milter: milter.milters is empty");
		bad = 1;
	}
	if (bad) {
		free(g);
		return -1;
	}
	*gpriv = g;
	return 0;
}

static void
flt_milter_fini(void *gpriv)
{
	free(gpriv);
}

/* A connection to each milter, for the whole session. */
static unsigned
flt_milter_session_fds(void *gpriv)
{
	const struct flt_milter	*g = gpriv;

	return (unsigned)g->n;
}

/* The stages: each encodes its command and runs it on every milter. */

static enum fv
flt_milter_connect(struct fctx *fx, const char *host, const struct sockaddr *sa)
{
	struct flt_milter_job	*j;
	const char		*names[] = { "j", "{daemon_name}", "{i}" };
	const char		*vals[] = { fctx_conf(fx)->hostname, "postern",
				    fctx_session_id(fx) };

	j = flt_milter_job(fx, SMFIC_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN,
	    fctx_conf(fx)->milter_command_timeout);
	milter_proto_macros(&j->cmd, SMFIC_CONNECT, names, vals,
	    nitems(names));
	milter_proto_connect(&j->cmd, host, sa);
	return flt_milter_run(fx, j);
}

static enum fv
flt_milter_helo(struct fctx *fx, const char *name)
{
	struct flt_milter_job	*j;

	j = flt_milter_job(fx, SMFIC_HELO, SMFIP_NOHELO, SMFIP_NR_HELO,
	    fctx_conf(fx)->milter_command_timeout);
	milter_proto_strings(&j->cmd, SMFIC_HELO, &name, 1);
	return flt_milter_run(fx, j);
}

/* MAIL and RCPT: "<addr>" and the ESMTP parameters. */
static enum fv
flt_milter_envelope(struct fctx *fx, char stage, const char *addr,
    char *const *params)
{
	struct flt_milter_job	*j;
	const char		*argv[34];
	const char		*name = "{auth_authen}", *who;
	char			 path[600];
	size_t			 n = 0;

	j = flt_milter_job(fx, stage, stage == SMFIC_MAIL ? SMFIP_NOMAIL :
	    SMFIP_NORCPT, stage == SMFIC_MAIL ? SMFIP_NR_MAIL : SMFIP_NR_RCPT,
	    fctx_conf(fx)->milter_command_timeout);
	if (stage == SMFIC_MAIL)
		flt_milter_new_message(j->c);
	if (stage == SMFIC_MAIL && (who = fctx_authenticated(fx)) != NULL)
		milter_proto_macros(&j->cmd, stage, &name, &who, 1);
	snprintf(path, sizeof(path), "<%s>", addr);
	argv[n++] = path;
	for (; params != NULL && *params != NULL && n < nitems(argv); params++)
		argv[n++] = *params;
	milter_proto_strings(&j->cmd, stage, argv, n);
	return flt_milter_run(fx, j);
}

static enum fv
flt_milter_envfrom(struct fctx *fx, const char *addr, char *const *params)
{
	return flt_milter_envelope(fx, SMFIC_MAIL, addr, params);
}

static enum fv
flt_milter_envrcpt(struct fctx *fx, const char *addr, char *const *params)
{
	return flt_milter_envelope(fx, SMFIC_RCPT, addr, params);
}

/*
 * Whether no milter takes this stage: each has failed, accepted, or (once
 * connected) negotiated it away, or said SKIP for the body.  The stage is
 * then answered here, without a job: a header of 100,000 fields would
 * otherwise make 100,000 trips through the pool for nothing.  (The loop
 * reads the peers only between jobs.)
 */
static int
flt_milter_unwanted(struct fctx *fx, char stage, uint32_t skip_if)
{
	const struct flt_milter_conn	*c = fctx_priv(fx);
	const struct flt_milter_peer	*p;
	size_t				 i;

	if (c == NULL || c->busy)
		return 0;
	for (i = 0; i < c->n; i++) {
		p = &c->peer[i];
		if (p->failed || p->accepted ||
		    (stage == SMFIC_BODY && p->skip_body))
			continue;
		if (p->cl == NULL || (p->protocol & skip_if) == 0)
			return 0;
	}
	return 1;
}

/* A command without data (DATA, EOH). */
static enum fv
flt_milter_bare(struct fctx *fx, char stage, uint32_t skip_if,
    uint32_t noreply_if)
{
	struct flt_milter_job	*j;

	if (flt_milter_unwanted(fx, stage, skip_if))
		return FV_CONTINUE;
	j = flt_milter_job(fx, stage, skip_if, noreply_if,
	    fctx_conf(fx)->milter_command_timeout);
	milter_proto_command(&j->cmd, stage, NULL, 0);
	return flt_milter_run(fx, j);
}

static enum fv
flt_milter_data(struct fctx *fx)
{
	return flt_milter_bare(fx, SMFIC_DATA, SMFIP_NODATA, SMFIP_NR_DATA);
}

/* The milter protocol carries the value as a C string: it holds no NUL
 * (filter.h), so valuelen says nothing more. */
static enum fv
flt_milter_header(struct fctx *fx, const char *name, const char *value,
    size_t valuelen)
{
	struct flt_milter_job	*j;
	const char		*nv[2];

	(void)valuelen;
	if (fctx_header_deleted(fx) ||
	    flt_milter_unwanted(fx, SMFIC_HEADER, SMFIP_NOHDRS))
		return FV_CONTINUE;
	/* (we do not offer SMFIP_HDR_LEADSPC: no leading blank) */
	nv[0] = name;
	nv[1] = value + strspn(value, " \t");
	j = flt_milter_job(fx, SMFIC_HEADER, SMFIP_NOHDRS, SMFIP_NR_HDR,
	    fctx_conf(fx)->milter_command_timeout);
	milter_proto_strings(&j->cmd, SMFIC_HEADER, nv, 2);
	return flt_milter_run(fx, j);
}

static enum fv
flt_milter_eoh(struct fctx *fx)
{
	return flt_milter_bare(fx, SMFIC_EOH, SMFIP_NOEOH, SMFIP_NR_EOH);
}

static enum fv
flt_milter_body(struct fctx *fx, const unsigned char *data, size_t len)
{
	struct flt_milter_job	*j;
	size_t			 off, n;

	if (flt_milter_unwanted(fx, SMFIC_BODY, SMFIP_NOBODY))
		return FV_CONTINUE;
	j = flt_milter_job(fx, SMFIC_BODY, SMFIP_NOBODY, SMFIP_NR_BODY,
	    fctx_conf(fx)->milter_content_timeout);
	for (off = 0; off < len; off += n) {
		n = len - off < MILTER_CHUNK_SIZE ? len - off :
		    MILTER_CHUNK_SIZE;
		milter_proto_command(&j->cmd, SMFIC_BODY, data + off, n);
		j->npkts++;
	}
	return flt_milter_run(fx, j);
}

static enum fv
flt_milter_eom(struct fctx *fx)
{
	struct flt_milter_job	*j;
	const char		*name = "{i}", *sid = fctx_session_id(fx);

	j = flt_milter_job(fx, SMFIC_BODYEOB, 0, 0,
	    fctx_conf(fx)->milter_content_timeout);
	milter_proto_macros(&j->cmd, SMFIC_BODYEOB, &name, &sid, 1);
	milter_proto_command(&j->cmd, SMFIC_BODYEOB, NULL, 0);
	return flt_milter_run(fx, j);
}

/* A new message: a milter that accepted the last one (many answer
 * accept at its end) or skipped its body is asked again. */
static void
flt_milter_new_message(struct flt_milter_conn *c)
{
	size_t	 i;

	for (i = 0; i < c->n; i++) {
		if (c->peer[i].accepted == 1)
			c->peer[i].accepted = 0;
		c->peer[i].skip_body = 0;
	}
}

/* RSET or a message refused: ABORT (no reply); the message's accepts and
 * skips end.  (A job cancelled in the middle of its exchange leaves its
 * milters out of step: flt_milter_done drops them.) */
static void
flt_milter_abort(struct fctx *fx)
{
	struct flt_milter_conn	*c = fctx_priv(fx);

	if (c == NULL || c->busy)
		return;
	flt_milter_say(c, SMFIC_ABORT);
	flt_milter_new_message(c);
}

static void
flt_milter_close(struct fctx *fx)
{
	struct flt_milter_conn	*c = fctx_priv(fx);

	if (c == NULL)
		return;
	fctx_set_priv(fx, NULL);
	if (c->busy) {
		c->orphan = 1;		/* the job's done frees it */
		return;
	}
	flt_milter_say(c, SMFIC_QUIT);
	flt_milter_conn_free(c);
}

/* A command without data and without a reply (ABORT, QUIT) to every
 * milter still there, on the loop: one non-blocking write, and a milter
 * that cannot take five bytes is dropped. */
static void
flt_milter_say(struct flt_milter_conn *c, char cmd)
{
	char	 pkt[5] = { 0, 0, 0, 1, cmd };
	size_t	 i;

	for (i = 0; i < c->n; i++)
		if (c->peer[i].cl != NULL && !c->peer[i].failed &&
		    milter_client_say(c->peer[i].cl, pkt, sizeof(pkt)) == -1)
			flt_milter_peer_close(&c->peer[i]);
}

static void
flt_milter_conn_free(struct flt_milter_conn *c)
{
	size_t	 i;

	for (i = 0; i < c->n; i++)
		flt_milter_peer_close(&c->peer[i]);
	free(c);
}

/* A stage's job, with the connection's state made on first use. */
static struct flt_milter_job *
flt_milter_job(struct fctx *fx, char stage, uint32_t skip_if,
    uint32_t noreply_if, unsigned timeout)
{
	struct flt_milter	*g = fctx_gpriv(fx);
	struct flt_milter_conn	*c = fctx_priv(fx);
	struct flt_milter_job	*j = xcalloc(1, sizeof(*j));

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		c->n = g->n;
		fctx_set_priv(fx, c);
	}
	j->g = g;
	j->c = c;
	j->conf = fctx_conf(fx);
	strlcpy(j->sid, fctx_session_id(fx), sizeof(j->sid));
	j->stage = stage;
	j->skip_if = skip_if;
	j->noreply_if = noreply_if;
	j->timeout = timeout;
	j->npkts = stage == SMFIC_BODY ? 0 : 1;
	return j;
}

static void
flt_milter_job_free(struct flt_milter_job *j)
{
	size_t	 i;

	for (i = 0; i < j->nmods; i++) {
		free(j->mods[i].name);
		free(j->mods[i].value);
	}
	util_buf_free(&j->cmd);
	util_buf_free(&j->body);
	free(j);
}

static enum fv
flt_milter_run(struct fctx *fx, struct flt_milter_job *j)
{
	if (fctx_defer(fx, flt_milter_work, flt_milter_done, j) == 0) {
		j->c->busy = 1;
		return FV_PENDING;
	}
	strlcpy(j->why, "no worker free", sizeof(j->why));
	j->failed = "(all)";
	j->v = FV_CONTINUE;
	return flt_milter_verdict(fx, j);
}

/* On a pool thread: the command to each milter in turn, until one
 * decides. */
static void
flt_milter_work(void *arg)
{
	struct flt_milter_job	*j = arg;
	struct flt_milter_peer	*p;
	size_t			 i;

	j->v = FV_CONTINUE;
	for (i = 0; i < j->c->n && j->v == FV_CONTINUE; i++) {
		p = &j->c->peer[i];
		if (p->failed || p->accepted ||
		    (j->stage == SMFIC_BODY && p->skip_body))
			continue;
		if (p->cl == NULL && flt_milter_open(j, j->g->spec[i], p,
		    j->why, sizeof(j->why)) == -1) {
			p->failed = 1;
			j->failed = j->g->spec[i];
			break;
		}
		if ((p->protocol & j->skip_if) != 0 && j->skip_if != 0)
			continue;
		if (flt_milter_ask(j, p) == -1) {
			flt_milter_peer_close(p);
			p->failed = 1;
			j->failed = j->g->spec[i];
			break;
		}
	}
}

/* Connect and negotiate; why set on failure. */
static int
flt_milter_open(const struct flt_milter_job *j, const char *spec,
    struct flt_milter_peer *p, char *why, size_t whysz)
{
	struct util_buf		 out = { NULL, 0, 0 };
	struct milter_reply	 r;
	struct milter_client	*cl;
	uint64_t		 until;

	if ((cl = milter_client_open(spec, util_now_ms() +
	    (uint64_t)j->conf->milter_connect_timeout * 1000, why,
	    whysz)) == NULL)
		return -1;
	p->cl = cl;
	p->used = 0;
	milter_proto_optneg(&out, MILTER_PROTO_VERSION, FLT_MILTER_ACTIONS,
	    FLT_MILTER_PROTOCOL);
	until = util_now_ms() + (uint64_t)j->conf->milter_command_timeout *
	    1000;
	if (milter_client_send(cl, out.p, out.len, until, why, whysz) == -1 ||
	    flt_milter_recv(p, &r, until, why, whysz) == -1)
		goto fail;
	if (r.cmd != SMFIC_OPTNEG || r.version < 2) {
		snprintf(why, whysz, "option negotiation refused");
		goto fail;
	}
	p->protocol = r.protocol & FLT_MILTER_PROTOCOL;
	util_buf_free(&out);
	return 0;
fail:
	flt_milter_peer_close(p);
	util_buf_free(&out);
	return -1;
}

/*
 * The stage's command to one milter, and its reply (unless it said it
 * sends none): the verdict into j; at the end of the message also the
 * modifications.  -1 when the milter fails (why set).
 */
static int
flt_milter_ask(struct flt_milter_job *j, struct flt_milter_peer *p)
{
	struct milter_reply	 r;
	uint64_t		 until = util_now_ms() + (uint64_t)j->timeout *
				    1000;
	int			 n;

	p->used = 0;	/* a new command: the input starts anew */
	if (milter_client_send(p->cl, j->cmd.p, j->cmd.len, until, j->why,
	    sizeof(j->why)) == -1)
		return -1;
	if (j->noreply_if != 0 && (p->protocol & j->noreply_if) != 0)
		return 0;
	/* Every body chunk gets a reply: one per packet sent. */
	for (n = j->npkts; n > 0;) {
		if (flt_milter_recv(p, &r, until, j->why,
		    sizeof(j->why)) == -1)
			return -1;
		switch (r.cmd) {
		case SMFIR_CONTINUE:
			n--;
			break;
		case SMFIR_PROGRESS:
			until = util_now_ms() + (uint64_t)j->timeout * 1000;
			break;
		case SMFIR_SKIP:
			p->skip_body = 1;
			n = 0;
			break;
		case SMFIR_ACCEPT:
			p->accepted = j->stage == SMFIC_CONNECT ||
			    j->stage == SMFIC_HELO ? 2 : 1;
			n = 0;
			break;
		case SMFIR_REJECT:
		case SMFIR_TEMPFAIL:
		case SMFIR_DISCARD:
		case SMFIR_REPLYCODE:
		case SMFIR_SHUTDOWN:
		case SMFIR_CONN_FAIL:
			j->v = r.cmd == SMFIR_DISCARD ? FV_DISCARD :
			    r.cmd == SMFIR_REJECT || (r.cmd ==
			    SMFIR_REPLYCODE && r.text[0] == '5') ?
			    FV_REJECT : FV_TEMPFAIL;
			if (r.cmd == SMFIR_REPLYCODE)
				strlcpy(j->reply, r.text, sizeof(j->reply));
			n = 0;
			break;
		case SMFIR_ADDHEADER:
		case SMFIR_INSHEADER:
		case SMFIR_CHGHEADER:
			if (j->stage == SMFIC_BODYEOB &&
			    j->nmods < FLT_MILTER_MODS_MAX) {
				j->mods[j->nmods].cmd = r.cmd;
				j->mods[j->nmods].index = r.index;
				j->mods[j->nmods].name = xstrdup(r.name);
				j->mods[j->nmods].value = xstrdup(r.value);
				j->nmods++;
			}
			break;
		case SMFIR_REPLBODY:
			if (j->stage == SMFIC_BODYEOB) {
				util_buf_add(&j->body, r.data, r.len);
				j->replbody = 1;
			}
			break;
		case SMFIR_QUARANTINE:
			log_info("%s milter: quarantine asked: %.200s",
			    j->sid, r.text);
			break;
		default:	/* envelope changes */
			log_warnx("%s milter: modification '%c' not applied",
			    j->sid, r.cmd);
			break;
		}
	}
	return 0;
}

/*
 * The milter's next reply into r; its strings live in the client's input
 * until the next call, which first consumes this one.  -1 with why on a
 * timeout, a closed connection or a bad reply.
 */
static int
flt_milter_recv(struct flt_milter_peer *p, struct milter_reply *r,
    uint64_t until, char *why, size_t whysz)
{
	const unsigned char	*in;
	size_t			 len;

	milter_client_consume(p->cl, p->used);
	p->used = 0;
	for (;;) {
		in = milter_client_input(p->cl, &len);
		switch (milter_proto_reply(in, len, &p->used, r)) {
		case MILTER_PROTO_OK:
			return 0;
		case MILTER_PROTO_INVALID:
			snprintf(why, whysz, "%s", r->why);
			p->used = 0;
			return -1;
		case MILTER_PROTO_MORE:
			break;
		}
		if (milter_client_read(p->cl, until, why, whysz) == -1)
			return -1;
	}
}

static void
flt_milter_peer_close(struct flt_milter_peer *p)
{
	milter_client_close(p->cl);
	p->cl = NULL;
}

/* Back on the loop. */
static void
flt_milter_done(struct fctx *fx, void *arg)
{
	struct flt_milter_job	*j = arg;
	struct flt_milter_conn	*c = j->c;
	size_t			 i;

	c->busy = 0;
	if (fx == NULL) {
		/* cancelled: replies may still be on their way, so these
		 * milters are out of step for good */
		for (i = 0; i < c->n; i++) {
			flt_milter_peer_close(&c->peer[i]);
			c->peer[i].failed = 1;
		}
		if (c->orphan)
			flt_milter_conn_free(c);
		flt_milter_job_free(j);
		return;
	}
	fctx_resume(fx, flt_milter_verdict(fx, j));
}

/* The milters' verdict, or default_action for a milter gone bad; the
 * header additions of the end of the message; frees j. */
static enum fv
flt_milter_verdict(struct fctx *fx, struct flt_milter_job *j)
{
	const struct conf	*c = fctx_conf(fx);
	const struct flt_milter_mod *m;
	char			 code[4] = "", esc[16] = "";
	const char		*text, *value;
	enum fv			 v = j->v;
	size_t			 i;

	if (j->failed != NULL) {
		log_limited(&flt_milter_log_failed, LOG_LEVEL_WARN,
		    "%s milter %s: %s: %s", fctx_session_id(fx),
		    j->failed, j->why, c->milter_default_action ==
		    CONF_ACTION_ACCEPT ? "going on without it" :
		    c->milter_default_action == CONF_ACTION_REJECT ?
		    "rejecting" : "temporary failure");
		if (c->milter_default_action == CONF_ACTION_REJECT)
			v = FV_REJECT;
		else if (c->milter_default_action == CONF_ACTION_TEMPFAIL) {
			v = FV_TEMPFAIL;
			fctx_reply(fx, "451", "4.7.1", "Service unavailable, "
			    "try again later");
		}
		fctx_result(fx, "error");
	} else if (j->reply[0] != '\0') {
		/* "550 5.7.1 text": the first line, split */
		memcpy(code, j->reply, 3);
		text = j->reply + 3 + (j->reply[3] != '\0');
		if (sscanf(text, "%15[0-9.]", esc) == 1 && esc[0] == code[0] &&
		    text[strlen(esc)] == ' ')
			text += strlen(esc) + 1;
		else
			strlcpy(esc, code[0] == '5' ? "5.7.1" : "4.7.1",
			    sizeof(esc));
		fctx_reply(fx, code, esc, "%.*s", (int)strcspn(text, "\r"),
		    text);
	}
	for (i = 0; v == FV_CONTINUE && i < j->nmods; i++) {
		m = &j->mods[i];
		value = m->value + strspn(m->value, " \t");
		if (m->cmd != SMFIR_CHGHEADER)
			fctx_add_header(fx, m->name, value);
		else if (m->index > 0)	/* (index 0 names no field) */
			fctx_change_header(fx, m->name, m->index,
			    m->value[0] != '\0' ? value : NULL);
	}
	if (v == FV_CONTINUE && j->replbody)
		fctx_replace_body(fx, j->body.len > 0 ? j->body.p :
		    (const void *)"", j->body.len);
	if (v == FV_CONTINUE && j->stage == SMFIC_BODYEOB)
		fctx_result(fx, "continue(%zu headers%s)", j->nmods,
		    j->replbody ? ", new body" : "");
	flt_milter_job_free(j);
	return v;
}
