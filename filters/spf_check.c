/* SPDX-License-Identifier: ISC */
/*
 * spf_check.c - one SPF evaluation (RFC 7208 check_host()) on libspf2 and
 * the DNS layer of spf_dns.c, and its outcome for headers, logs and the
 * reply.
 *
 * libspf2 1.2.10 needs help around the edges, and this file gives it:
 * an IPv4-mapped IPv6 client is checked as IPv4; a malformed domain (RFC
 * 7208 4.3: an IP literal HELO, an empty or too long label) is "none"
 * without a lookup; SPF_RESULT_INVALID becomes temperror (a DNS failure)
 * or permerror (anything else); a result our DNS layer forced (a limit,
 * the deadline, a libspf2 internal error) replaces libspf2's; and the
 * Received-SPF value (RFC 7208 9.1) is built here (with hdrbuild.c), from
 * the final result, so it never holds a NULL and always has the same keys.
 *
 * Public: spf_check_new, spf_check_free, spf_check_set_explanation,
 * spf_check_run, spf_check_result_name, spf_check_received.
 *
 * DIAGNOSTICS
 *	spf_check_new fails with "spf: cannot create the libspf2 server" or
 *	"spf: bad receiver name"; spf_check_set_explanation with "spf:
 *	explanation: <reason>".  spf_check_run never fails: what went wrong
 *	is in the outcome's comment and problem (Received-SPF problem=).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spf2/spf.h>

#include "filters/spf_check.h"
#include "filters/spf_dns.h"
#include "filters/spf_record.h"
#include "lib/log.h"
#include "lib/util.h"
#include "policy/hdrbuild.h"

/* Our default explanation: libspf2's points at a dead web site. */
#define SPF_CHECK_EXPLANATION \
	"%{o} does not designate %{i} as a permitted sender"

struct spf_check {
	SPF_server_t	*srv;
	SPF_dns_server_t *layer;		/* owned; srv uses it */
	char		 receiver[256];		/* our host name, copied */
};

/* One check's inputs, normalized. */
struct spf_check_req {
	int		 family;		/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];
	char		 ip[INET6_ADDRSTRLEN];
	const char	*helo;			/* never NULL */
	char		 from[512];		/* localpart@domain */
	const char	*domain;		/* inside from */
	int		 is_helo;		/* identity=helo */
	char		 problem[256];		/* for problem=, or "" */
};

static int	 spf_check_client(const struct sockaddr *,
		    struct spf_check_req *);
static void	 spf_check_identity(struct spf_check_req *, const char *,
		    const char *, struct spf_check_outcome *);
static void	 spf_check_query(struct spf_check *, struct spf_check_req *,
		    unsigned, struct spf_check_outcome *);
static void	 spf_check_response(SPF_response_t *, SPF_errcode_t,
		    struct spf_dns_check *, struct spf_check_req *,
		    struct spf_check_outcome *);
static enum spf_check_result spf_check_map(SPF_result_t, SPF_errcode_t);
static void	 spf_check_comment(struct spf_check *,
		    const struct spf_check_req *, struct spf_check_outcome *);
static void	 spf_check_clean(char *);
static void	 spf_check_printf(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

struct spf_check *
spf_check_new(struct dns *dns, const char *receiver, char *err, size_t errsz)
{
	struct spf_check	*c;

	spf_dns_log_init();
	if (receiver == NULL || receiver[0] == '\0')
		receiver = "localhost";
	c = xcalloc(1, sizeof(*c));
	if (strlcpy(c->receiver, receiver, sizeof(c->receiver)) >=
	    sizeof(c->receiver)) {
		util_err_append(err, errsz, "spf: bad receiver name");
		free(c);
		return NULL;
	}
	spf_check_clean(c->receiver);
	c->layer = spf_dns_new(dns);
	if ((c->srv = SPF_server_new_dns(c->layer, 0)) == NULL ||
	    SPF_server_set_rec_dom(c->srv, c->receiver) != SPF_E_SUCCESS ||
	    spf_check_set_explanation(c, SPF_CHECK_EXPLANATION, err,
	    errsz) == -1) {
		if (c->srv != NULL)
			SPF_server_free(c->srv);
		util_err_append(err, errsz,
		    "spf: cannot create the libspf2 server");
		spf_dns_free(c->layer);
		free(c);
		return NULL;
	}
	return c;
}

void
spf_check_free(struct spf_check *c)
{
	if (c == NULL)
		return;
	SPF_server_free(c->srv);
	spf_dns_free(c->layer);
	free(c);
}

int
spf_check_set_explanation(struct spf_check *c, const char *text, char *err,
    size_t errsz)
{
	SPF_response_t	*resp = NULL;
	SPF_errcode_t	 e;
	char		 why[128], buf[1100];

	if (spf_record_screen_exp(text, why, sizeof(why)) == -1 ||
	    spf_record_exp_escape(text, buf, sizeof(buf)) == -1) {
		util_err_append(err, errsz, "spf: explanation: %s", why);
		return -1;
	}
	e = SPF_server_set_explanation(c->srv, buf, &resp);
	if (resp != NULL)
		SPF_response_free(resp);
	if (e != SPF_E_SUCCESS) {
		util_err_append(err, errsz, "spf: explanation: %s",
		    SPF_strerror(e));
		return -1;
	}
	return 0;
}

const char *
spf_check_result_name(enum spf_check_result r)
{
	switch (r) {
	case SPF_CHECK_NONE:		return "none";
	case SPF_CHECK_NEUTRAL:		return "neutral";
	case SPF_CHECK_PASS:		return "pass";
	case SPF_CHECK_FAIL:		return "fail";
	case SPF_CHECK_SOFTFAIL:	return "softfail";
	case SPF_CHECK_TEMPERROR:	return "temperror";
	case SPF_CHECK_PERMERROR:	return "permerror";
	}
	return "permerror";
}

/* The client address, IPv4-mapped IPv6 unmapped; -1 for other families. */
static int
spf_check_client(const struct sockaddr *sa, struct spf_check_req *rq)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (sa != NULL && sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		rq->family = AF_INET;
		memcpy(rq->addr, &sin->sin_addr, 4);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			rq->family = AF_INET;
			memcpy(rq->addr, sin6->sin6_addr.s6_addr + 12, 4);
		} else {
			rq->family = AF_INET6;
			memcpy(rq->addr, &sin6->sin6_addr, 16);
		}
	} else
		return -1;
	if (inet_ntop(rq->family, rq->addr, rq->ip, sizeof(rq->ip)) == NULL)
		return -1;
	return 0;
}

/* The identity checked (RFC 7208 2.3, 2.4): the sender, postmaster@ the
 * sender's domain when it has no local part, postmaster@helo for an empty
 * sender or the HELO check. */
static void
spf_check_identity(struct spf_check_req *rq, const char *helo,
    const char *sender, struct spf_check_outcome *out)
{
	const char	*at;

	rq->helo = helo != NULL ? helo : "";
	rq->is_helo = sender == NULL;
	if (sender == NULL || sender[0] == '\0')
		snprintf(rq->from, sizeof(rq->from), "postmaster@%s", rq->helo);
	else if ((at = strrchr(sender, '@')) == NULL || at == sender)
		snprintf(rq->from, sizeof(rq->from), "postmaster@%s",
		    at == NULL ? sender : at + 1);
	else
		snprintf(rq->from, sizeof(rq->from), "%s", sender);
	rq->domain = strrchr(rq->from, '@') + 1;
	strlcpy(out->identity, rq->is_helo ? rq->helo : rq->from,
	    sizeof(out->identity));
	spf_check_clean(out->identity);
}

void
spf_check_run(struct spf_check *c, const struct sockaddr *client,
    const char *helo, const char *sender, unsigned timeout_ms,
    struct spf_check_outcome *out)
{
	struct spf_check_req	 rq;

	memset(out, 0, sizeof(*out));
	out->ttl = UINT_MAX;
	memset(&rq, 0, sizeof(rq));
	spf_check_identity(&rq, helo, sender, out);
	if (spf_check_client(client, &rq) == -1) {
		strlcpy(rq.ip, "unknown", sizeof(rq.ip));
		out->result = SPF_CHECK_NONE;
		strlcpy(rq.problem, "no IP client address",
		    sizeof(rq.problem));
	} else if (!spf_record_domain_ok(rq.domain)) {
		out->result = SPF_CHECK_NONE;
		strlcpy(rq.problem, "not a valid domain name",
		    sizeof(rq.problem));
	} else
		spf_check_query(c, &rq, timeout_ms, out);
	if (out->comment[0] == '\0')
		spf_check_comment(c, &rq, out);
	strlcpy(out->ip, rq.ip, sizeof(out->ip));
	strlcpy(out->problem, rq.problem, sizeof(out->problem));
	spf_check_clean(out->problem);
	out->is_helo = rq.is_helo;
}

/*
 * spf_check_query - run libspf2 for rq.  An SPF_error() inside libspf2
 * jumps back here (see spf_dns.c): the request and response may be half
 * built then, so they are left to leak rather than freed.
 */
static void
spf_check_query(struct spf_check *c, struct spf_check_req *rq,
    unsigned timeout_ms, struct spf_check_outcome *out)
{
	struct spf_dns_check	 chk;
	SPF_request_t		*req;
	SPF_response_t		*resp = NULL;
	SPF_errcode_t		 err;

	spf_dns_begin(&chk, rq->family, rq->addr, timeout_ms);
	if (sigsetjmp(chk.jmp, 0) != 0) {
		spf_dns_end();
		out->result = SPF_CHECK_TEMPERROR;
		strlcpy(rq->problem, chk.problem, sizeof(rq->problem));
		return;
	}
	if ((req = SPF_request_new(c->srv)) == NULL)
		fatalx("spf: out of memory");
	if (rq->family == AF_INET)
		SPF_request_set_ipv4(req, *(struct in_addr *)(void *)rq->addr);
	else
		SPF_request_set_ipv6(req, *(struct in6_addr *)(void *)rq->addr);
	if (rq->helo[0] != '\0')
		SPF_request_set_helo_dom(req, rq->helo);
	SPF_request_set_env_from(req, rq->from);
	err = SPF_request_query_mailfrom(req, &resp);
	spf_dns_end();
	out->ttl = chk.min_ttl;
	spf_check_response(resp, err, &chk, rq, out);
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_request_free(req);
}

/* The final result, and libspf2's texts when its result stands. */
static void
spf_check_response(SPF_response_t *resp, SPF_errcode_t err,
    struct spf_dns_check *chk, struct spf_check_req *rq,
    struct spf_check_outcome *out)
{
	const char	*s;

	if (resp == NULL) {
		out->result = SPF_CHECK_TEMPERROR;
		return;
	}
	if (chk->problem[0] != '\0')
		strlcpy(rq->problem, chk->problem, sizeof(rq->problem));
	else if (SPF_response_errcode(resp) != SPF_E_SUCCESS)
		strlcpy(rq->problem, SPF_strerror(SPF_response_errcode(resp)),
		    sizeof(rq->problem));
	if (chk->forced == SPF_DNS_TEMPERROR)
		out->result = SPF_CHECK_TEMPERROR;
	else if (chk->forced == SPF_DNS_PERMERROR)
		out->result = SPF_CHECK_PERMERROR;
	else
		out->result = spf_check_map(SPF_response_result(resp), err);
	if (chk->forced == SPF_DNS_FREE &&
	    SPF_response_result(resp) != SPF_RESULT_INVALID &&
	    (s = SPF_response_get_header_comment(resp)) != NULL) {
		strlcpy(out->comment, s, sizeof(out->comment));
		spf_check_clean(out->comment);
	}
	if (out->result == SPF_CHECK_FAIL &&
	    (s = SPF_response_get_explanation(resp)) != NULL) {
		strlcpy(out->explanation, s, sizeof(out->explanation));
		spf_check_clean(out->explanation);
	}
}

static enum spf_check_result
spf_check_map(SPF_result_t r, SPF_errcode_t err)
{
	switch (r) {
	case SPF_RESULT_PASS:		return SPF_CHECK_PASS;
	case SPF_RESULT_FAIL:		return SPF_CHECK_FAIL;
	case SPF_RESULT_SOFTFAIL:	return SPF_CHECK_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:	return SPF_CHECK_NEUTRAL;
	case SPF_RESULT_NONE:		return SPF_CHECK_NONE;
	case SPF_RESULT_TEMPERROR:	return SPF_CHECK_TEMPERROR;
	case SPF_RESULT_PERMERROR:	return SPF_CHECK_PERMERROR;
	default:
		break;
	}
	/* SPF_RESULT_INVALID: libspf2 1.2.10 gives up without a result. */
	return err == SPF_E_DNS_ERROR ? SPF_CHECK_TEMPERROR :
	    SPF_CHECK_PERMERROR;
}

/* Our comment when libspf2 has none that fits the final result. */
static void
spf_check_comment(struct spf_check *c, const struct spf_check_req *rq,
    struct spf_check_outcome *out)
{
	const char	*what;

	switch (out->result) {
	case SPF_CHECK_NONE:
		what = rq->problem[0] != '\0' ? rq->problem : "no SPF record";
		break;
	case SPF_CHECK_TEMPERROR:
		what = rq->problem[0] != '\0' ? rq->problem :
		    "temporary error during SPF processing";
		break;
	case SPF_CHECK_PERMERROR:
		what = rq->problem[0] != '\0' ? rq->problem :
		    "permanent error in the SPF record";
		break;
	default:
		what = spf_check_result_name(out->result);
		break;
	}
	spf_check_printf(out->comment, sizeof(out->comment),
	    "%s: domain of %s: %s",
	    c->receiver, rq->is_helo ? rq->helo : rq->from, what);
	spf_check_clean(out->comment);
}

char *
spf_check_received(const struct spf_check *c,
    const struct spf_check_outcome *o, const char *helo)
{
	struct hdrbuild	 b;
	char		*v;
	size_t		 n;

	hdrbuild_init(&b);
	hdrbuild_text(&b, spf_check_result_name(o->result));
	hdrbuild_text(&b, " ");
	hdrbuild_comment(&b, o->comment);
	hdrbuild_kv(&b, "client-ip", o->ip[0] != '\0' ? o->ip : "unknown");
	if (!o->is_helo)
		hdrbuild_kv(&b, "envelope-from", o->identity);
	if (helo != NULL && helo[0] != '\0')
		hdrbuild_kv(&b, "helo", helo);
	hdrbuild_kv(&b, "receiver", c->receiver);
	hdrbuild_kv(&b, "identity", o->is_helo ? "helo" : "mailfrom");
	if ((o->result == SPF_CHECK_PERMERROR ||
	    o->result == SPF_CHECK_TEMPERROR) && o->problem[0] != '\0')
		hdrbuild_kv(&b, "problem", o->problem);
	v = hdrbuild_take(&b);
	if ((n = strlen(v)) > 0 && v[n - 1] == ';')
		v[n - 1] = '\0';
	return v;
}

/* Make s printable ASCII: other bytes become '?' (the identity, comment
 * and explanation go into logs and replies as they are; headers quote
 * them through hdrbuild.c). */
static void
spf_check_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

/* snprintf into a field where truncation is acceptable (texts for
 * humans and headers, bounded by the outcome's sizes). */
static void
spf_check_printf(char *buf, size_t sz, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sz, fmt, ap);
	va_end(ap);
}
