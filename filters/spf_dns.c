/* SPDX-License-Identifier: ISC */
/*
 * spf_dns.c - the libspf2 DNS layer (an SPF_dns_server_t) on lib/dns.c.
 *
 * lookup() answers libspf2's A/AAAA/MX/PTR/TXT questions from dns_query(),
 * decoding the wire rdata (TXT strings joined, names through
 * dns_name_from_wire), and never returns NULL (libspf2 would SPF_error()).
 * get_spf() replaces libspf2's record fetch: TXT lookup, the choice of the
 * one "v=spf1" record, the screen (spf_record.c: a bad record is a
 * permerror that libspf2 never sees), the rewrite, SPF_record_compile().
 *
 * Per check (the thread-local struct spf_dns_check of spf_dns_begin) it
 * enforces RFC 7208 4.6.4 across includes and redirects, which libspf2
 * counts per record only: more than 10 DNS-querying terms (a, mx, ptr,
 * exists, include, redirect; the address lookups of an mx or ptr term are
 * part of it), more than 2 void lookups, or an MX set of more than 10
 * names make the check a permerror; PTR names past the tenth are ignored.
 * Past the deadline every lookup is TRY_AGAIN and the check a temperror.
 * Once a limit is hit every further lookup is TRY_AGAIN too, so libspf2
 * stops quickly; spf_check.c then reports the forced result.
 * The exp= TXT lookup is not counted; an explanation that is not exactly
 * one valid explain-string is answered as "no data" (default text).
 *
 * Public: spf_dns_new, spf_dns_free, spf_dns_log_init, spf_dns_begin,
 * spf_dns_end.
 *
 * DIAGNOSTICS
 *	libspf2's own messages go to log_debug ("spf: libspf2: ..."), its
 *	warnings to log_warnx; an SPF_error() is logged with log_warnx and
 *	turns the check into a temperror (outside a check it is fatal).
 *	Problems land in chk->problem: "more than 10 DNS-querying terms",
 *	"more than 2 void lookups", "more than 10 MX names", "lookup
 *	deadline passed", "multiple SPF records", or the screen's reason.
 */
#include <sys/socket.h>
#include <arpa/nameser.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/dns.h"
#include "lib/log.h"

#include "filters/spf_dns.h"
#include "filters/spf_record.h"
#include "lib/util.h"

/* Per-event warnings, one line of a kind an interval (the log's own
 * state, thread-safe; the filter never reads it). */
static struct log_limit spf_dns_log_libspf2 =
	    LOG_LIMIT("libspf2 warning");

static __thread struct spf_dns_check *spf_dns_cur;

static SPF_dns_rr_t *spf_dns_lookup(SPF_dns_server_t *, const char *,
		    ns_type, int);
static SPF_errcode_t spf_dns_get_spf(SPF_server_t *, SPF_request_t *,
		    SPF_response_t *, SPF_record_t **);
static int	 spf_dns_count(struct spf_dns_check *, const char *, int);
static void	 spf_dns_ttl(struct spf_dns_check *, const struct dns_answer *);
static void	 spf_dns_force(struct spf_dns_check *, enum spf_dns_forced,
		    const char *);
static int	 spf_dns_void(struct spf_dns_check *);
static int	 spf_dns_name_ok(const char *);
static SPF_dns_rr_t *spf_dns_rr(SPF_dns_server_t *, const char *, ns_type,
		    int);
static int	 spf_dns_decode(SPF_dns_rr_t *, int, const struct dns_answer *);
static int	 spf_dns_put(SPF_dns_rr_t *, int, const void *, size_t);
static void	 spf_dns_targets(struct spf_dns_check *, SPF_dns_rr_t *, int,
		    int);
static void	 spf_dns_mark(struct spf_dns_check *, SPF_dns_rr_t *, int);
static void	 spf_dns_exp(SPF_dns_rr_t *);
static SPF_errcode_t spf_dns_record(SPF_server_t *, SPF_response_t *,
		    SPF_record_t **, struct dns_answer *,
		    struct spf_dns_check *);
static void	 spf_dns_log_error(const char *, int, const char *)
		    __attribute__((noreturn));
static void	 spf_dns_log_warning(const char *, int, const char *);
static void	 spf_dns_log_debug(const char *, int, const char *);
static void	 spf_dns_log_set(void);

SPF_dns_server_t *
spf_dns_new(struct dns *dns)
{
	SPF_dns_server_t	*s;

	s = xcalloc(1, sizeof(*s));
	/* No destroy: libspf2 then leaves the layer alone (Debian's
	 * SPF_server_free does not free it anyway); spf_dns_free does. */
	s->destroy = NULL;
	s->lookup = spf_dns_lookup;
	s->get_spf = spf_dns_get_spf;
	s->name = "postern";
	s->hook = dns;
	return s;
}

void
spf_dns_free(SPF_dns_server_t *s)
{
	free(s);
}

void
spf_dns_begin(struct spf_dns_check *chk, int family, const void *addr,
    unsigned timeout_ms)
{
	memset(chk->addr, 0, sizeof(chk->addr));
	chk->family = family;
	memcpy(chk->addr, addr, family == AF_INET ? 4 : 16);
	chk->deadline_ms = util_now_ms() + timeout_ms;
	chk->terms = chk->voids = 0;
	chk->min_ttl = UINT_MAX;
	chk->toplevel = 0;
	chk->forced = SPF_DNS_FREE;
	chk->record_none = 0;
	chk->problem[0] = '\0';
	chk->nqueue = chk->qpos = 0;
	spf_dns_cur = chk;
}

/* How long the check's result may be reused: its answers' smallest TTL
 * (an answer of unknown TTL does not count). */
static void
spf_dns_ttl(struct spf_dns_check *chk, const struct dns_answer *ans)
{
	if (chk != NULL && ans->ttl > 0 && ans->ttl < chk->min_ttl)
		chk->min_ttl = ans->ttl;
}

void
spf_dns_end(void)
{
	spf_dns_cur = NULL;
}

static void
spf_dns_force(struct spf_dns_check *chk, enum spf_dns_forced how,
    const char *why)
{
	if (chk->forced != SPF_DNS_FREE)
		return;
	chk->forced = how;
	strlcpy(chk->problem, why, sizeof(chk->problem));
}

/*
 * spf_dns_count - account one lookup of name (type) before it is made:
 * 0 to go ahead, -1 when the check is over (deadline, limit).  Address
 * lookups of the names an mx or ptr term found are part of that term.
 */
static int
spf_dns_count(struct spf_dns_check *chk, const char *name, int type)
{
	if (chk->forced != SPF_DNS_FREE)
		return -1;
	if (util_now_ms() >= chk->deadline_ms) {
		spf_dns_force(chk, SPF_DNS_TEMPERROR,
		    "lookup deadline passed");
		return -1;
	}
	if (type == ns_t_txt)
		return 0;
	if ((type == ns_t_a || type == ns_t_aaaa) && chk->qpos < chk->nqueue &&
	    strcasecmp(chk->queue[chk->qpos], name) == 0) {
		chk->qpos++;
		return 0;
	}
	chk->nqueue = chk->qpos = 0;
	if (++chk->terms > SPF_DNS_MAX_TERMS) {
		spf_dns_force(chk, SPF_DNS_PERMERROR,
		    "more than 10 DNS-querying terms");
		return -1;
	}
	return 0;
}

/* One more lookup without an answer; -1 past the limit. */
static int
spf_dns_void(struct spf_dns_check *chk)
{
	if (++chk->voids > SPF_DNS_MAX_VOID) {
		spf_dns_force(chk, SPF_DNS_PERMERROR,
		    "more than 2 void lookups");
		return -1;
	}
	return 0;
}

/* A name a query may be sent for: labels 1..63 bytes, 253 bytes in all. */
static int
spf_dns_name_ok(const char *name)
{
	size_t	 run = 0, len = strlen(name);

	if (len == 0 || len > 254)
		return 0;
	for (; *name != '\0'; name++) {
		if (*name != '.') {
			if (++run > 63)
				return 0;
		} else if (run == 0)
			return 0;
		else
			run = 0;
	}
	return 1;
}

static SPF_dns_rr_t *
spf_dns_rr(SPF_dns_server_t *s, const char *domain, ns_type type,
    int herrno)
{
	SPF_dns_rr_t	*rr;

	if ((rr = SPF_dns_rr_new_init(s, domain, type, 0, herrno)) == NULL)
		fatalx("spf: out of memory");
	return rr;
}

static SPF_dns_rr_t *
spf_dns_lookup(SPF_dns_server_t *s, const char *domain, ns_type type,
    int should_cache)
{
	struct spf_dns_check	*chk = spf_dns_cur;
	struct dns_answer	 ans;
	SPF_dns_rr_t		*rr;
	char			 name[1024], *p;
	size_t			 len;
	int			 marked = 0, herrno;

	(void)should_cache;
	if ((len = strlcpy(name, domain, sizeof(name))) >= sizeof(name))
		return spf_dns_rr(s, domain, type, HOST_NOT_FOUND);
	if (len > 0 && name[len - 1] == SPF_RECORD_MARKER) {
		name[--len] = '\0';
		marked = 1;
	}
	if (len > 0 && name[len - 1] == '.')
		name[--len] = '\0';
	/* RFC 7208 7.3: an expanded name over 253 bytes loses labels on
	 * the left until it fits. */
	while (len > 253 && (p = strchr(name, '.')) != NULL) {
		len -= (size_t)(p + 1 - name);
		memmove(name, p + 1, len + 1);
	}
	if (chk != NULL && spf_dns_count(chk, name, type) == -1)
		return spf_dns_rr(s, domain, type, TRY_AGAIN);
	if (!spf_dns_name_ok(name)) {
		if (chk != NULL && type != ns_t_txt && spf_dns_void(chk) == -1)
			return spf_dns_rr(s, domain, type, TRY_AGAIN);
		return spf_dns_rr(s, domain, type, HOST_NOT_FOUND);
	}
	dns_query(s->hook, name, type, chk != NULL ? chk->deadline_ms : 0,
	    &ans);
	spf_dns_ttl(chk, &ans);
	herrno = ans.status == DNS_OK ? NETDB_SUCCESS :
	    ans.status == DNS_NXDOMAIN ? HOST_NOT_FOUND :
	    ans.status == DNS_NODATA ? NO_DATA : TRY_AGAIN;
	rr = spf_dns_rr(s, domain, type, herrno);
	if (herrno == NETDB_SUCCESS)
		rr->num_rr = spf_dns_decode(rr, type, &ans);
	dns_answer_free(&ans);
	if (type == ns_t_txt) {
		spf_dns_exp(rr);
		return rr;
	}
	if (chk == NULL)
		return rr;
	if (herrno != TRY_AGAIN && rr->num_rr == 0 && spf_dns_void(chk) == -1)
		rr->herrno = TRY_AGAIN;
	else if (type == ns_t_mx || type == ns_t_ptr)
		spf_dns_targets(chk, rr, type, marked);
	else if (marked)
		spf_dns_mark(chk, rr, type);
	return rr;
}

/* An exp= text: exactly one valid explain-string (its spaces escaped
 * for libspf2), or no data at all. */
static void
spf_dns_exp(SPF_dns_rr_t *rr)
{
	char	 why[128], buf[1100];

	if (rr->herrno != NETDB_SUCCESS)
		return;
	if (rr->num_rr != 1 || spf_record_screen_exp(rr->rr[0]->txt, why,
	    sizeof(why)) == -1 || spf_record_exp_escape(rr->rr[0]->txt, buf,
	    sizeof(buf)) == -1) {
		rr->num_rr = 0;
		rr->herrno = NO_DATA;
		return;
	}
	spf_dns_put(rr, 0, buf, strlen(buf) + 1);
}

/*
 * spf_dns_targets - after an MX or PTR answer: more than 10 MX names is a
 * permerror, PTR names past the tenth are dropped; the names are queued
 * so their address lookups count as part of this term (marked: they
 * carry the /0 marker on to those lookups).
 */
static void
spf_dns_targets(struct spf_dns_check *chk, SPF_dns_rr_t *rr, int type,
    int marked)
{
	char	 mark[2] = { SPF_RECORD_MARKER, '\0' };
	int	 i;

	if (rr->num_rr > SPF_DNS_MAX_NAMES) {
		if (type == ns_t_mx) {
			spf_dns_force(chk, SPF_DNS_PERMERROR,
			    "more than 10 MX names");
			rr->herrno = TRY_AGAIN;
			return;
		}
		rr->num_rr = SPF_DNS_MAX_NAMES;
	}
	for (i = 0; i < rr->num_rr; i++) {
		strlcpy(chk->queue[i], rr->rr[i]->mx, sizeof(chk->queue[i]));
		if (marked && type == ns_t_mx &&
		    spf_dns_put(rr, i, NULL, strlen(rr->rr[i]->mx) + 2) == 0)
			strlcat(rr->rr[i]->mx, mark, rr->rr_buf_len[i]);
	}
	chk->nqueue = (unsigned)rr->num_rr;
	chk->qpos = 0;
}

/* A /0 lookup that found addresses matches any client of that family:
 * answer with the client's own address. */
static void
spf_dns_mark(struct spf_dns_check *chk, SPF_dns_rr_t *rr, int type)
{
	if (rr->num_rr == 0 || (type == ns_t_a) != (chk->family == AF_INET))
		return;
	if (spf_dns_put(rr, 0, chk->addr, type == ns_t_a ? 4 : 16) == 0)
		rr->num_rr = 1;
}

/* Make room for len bytes in RR idx and copy data (when not NULL) in;
 * the existing text is kept when data is NULL. */
static int
spf_dns_put(SPF_dns_rr_t *rr, int idx, const void *data, size_t len)
{
	if (SPF_dns_rr_buf_realloc(rr, idx, len) != SPF_E_SUCCESS)
		fatalx("spf: out of memory");
	if (data != NULL)
		memcpy(rr->rr[idx], data, len);
	return 0;
}

/* Decode the answer's rdata into rr; the number of RRs kept. */
static int
spf_dns_decode(SPF_dns_rr_t *rr, int type, const struct dns_answer *ans)
{
	char		 buf[4096];
	size_t		 i, len;
	const unsigned char *d;
	int		 n = 0;

	for (i = 0; i < ans->n && n < 64; i++) {
		d = ans->data[i];
		len = ans->len[i];
		if ((type == ns_t_a && len != 4) ||
		    (type == ns_t_aaaa && len != 16))
			continue;
		if (type == ns_t_a || type == ns_t_aaaa) {
			spf_dns_put(rr, n++, d, len);
			continue;
		}
		if (type == ns_t_txt) {
			if (dns_txt_from_wire(d, len, buf, sizeof(buf)) == -1)
				continue;
		} else if (type == ns_t_mx) {
			if (len < 3 || dns_name_from_wire(d + 2, len - 2, buf,
			    sizeof(buf)) <= 0 || buf[0] == '\0')
				continue;
		} else if (type == ns_t_ptr) {
			if (dns_name_from_wire(d, len, buf, sizeof(buf)) <= 0 ||
			    buf[0] == '\0')
				continue;
		} else
			continue;
		spf_dns_put(rr, n++, buf, strlen(buf) + 1);
	}
	return n;
}

/*
 * spf_dns_get_spf - libspf2's record fetch for the checked domain and for
 * every include/redirect target (cur_dom): SPF_E_SUCCESS with *recp, or
 * SPF_E_DNS_ERROR (temperror), SPF_E_NOT_SPF with result none (no record;
 * a permerror for include/redirect), another code for a permerror.
 */
static SPF_errcode_t
spf_dns_get_spf(SPF_server_t *srv, SPF_request_t *req, SPF_response_t *resp,
    SPF_record_t **recp)
{
	struct spf_dns_check	*chk = spf_dns_cur;
	struct dns_answer	 ans;
	const char		*domain = req->cur_dom;
	SPF_errcode_t		 err;

	*recp = NULL;
	if (chk != NULL && chk->toplevel && spf_dns_count(chk, domain,
	    ns_t_spf) == -1)
		return SPF_response_add_error(resp, SPF_E_DNS_ERROR,
		    "check over: %s", chk->problem);
	if (!spf_dns_name_ok(domain)) {
		ans.status = DNS_NXDOMAIN;
		ans.n = 0;
		ans.priv = NULL;
	} else
		dns_query(srv->resolver->hook, domain, ns_t_txt,
		    chk != NULL ? chk->deadline_ms : 0, &ans);
	spf_dns_ttl(chk, &ans);
	err = spf_dns_record(srv, resp, recp, &ans, chk);
	if (ans.priv != NULL)
		dns_answer_free(&ans);
	if (chk != NULL) {
		if (!chk->toplevel && err == SPF_E_NOT_SPF &&
		    resp->result == SPF_RESULT_NONE)
			chk->record_none = 1;
		chk->toplevel = 1;
	}
	return err;
}

/* The record of answer ans: choose, screen, rewrite, compile. */
static SPF_errcode_t
spf_dns_record(SPF_server_t *srv, SPF_response_t *resp, SPF_record_t **recp,
    struct dns_answer *ans, struct spf_dns_check *chk)
{
	const char	*recs[64];
	char		 why[256], *rw;
	size_t		 i, n = 0, idx;
	SPF_errcode_t	 err;
	int		 rc;

	if (ans->status == DNS_TEMPFAIL)
		return SPF_response_add_error(resp, SPF_E_DNS_ERROR,
		    "temporary DNS failure");
	if (ans->status != DNS_OK && chk != NULL && spf_dns_void(chk) == -1)
		return SPF_response_add_error(resp, SPF_E_DNS_ERROR,
		    "%s", chk->problem);
	for (i = 0; ans->status == DNS_OK && i < ans->n && n < 64; i++) {
		recs[n] = xmalloc(SPF_RECORD_MAXLEN + 1);
		/* Too long or holding a NUL: a record the screen refuses if
		 * it is an SPF record at all. */
		if (dns_txt_from_wire(ans->data[i], ans->len[i], (char *)recs[n],
		    SPF_RECORD_MAXLEN + 1) == -1)
			snprintf((char *)recs[n], SPF_RECORD_MAXLEN + 1, "%s",
			    ans->len[i] > 7 && strncasecmp((const char *)
			    ans->data[i] + 1, "v=spf1", 6) == 0 ?
			    "v=spf1 \001" : "");
		n++;
	}
	rc = spf_record_select(recs, n, &idx);
	rw = NULL;
	err = SPF_E_SUCCESS;
	if (rc == 0) {
		resp->result = SPF_RESULT_NONE;
		resp->reason = SPF_REASON_FAILURE;
		err = SPF_response_add_error(resp, SPF_E_NOT_SPF,
		    "no SPF record");
	} else if (rc == -1)
		snprintf(why, sizeof(why), "multiple SPF records");
	else if (spf_record_screen(recs[idx], why, sizeof(why)) == 0) {
		rw = xmalloc(SPF_RECORD_REWRITE_MAX);
		if (spf_record_rewrite(recs[idx], chk != NULL ? chk->family :
		    AF_INET, rw, SPF_RECORD_REWRITE_MAX) == -1)
			snprintf(why, sizeof(why), "record too long");
		else if ((err = SPF_record_compile(srv, resp, recp, rw)) !=
		    SPF_E_SUCCESS)
			snprintf(why, sizeof(why), "libspf2: %s",
			    SPF_strerror(err));
	}
	if (rc == -1 || (rc == 1 && (rw == NULL || err != SPF_E_SUCCESS ||
	    *recp == NULL))) {
		if (*recp != NULL)
			SPF_record_free(*recp);
		*recp = NULL;
		if (chk != NULL && chk->problem[0] == '\0')
			strlcpy(chk->problem, why, sizeof(chk->problem));
		err = SPF_response_add_error(resp, SPF_E_SYNTAX, "%s", why);
	}
	free(rw);
	for (i = 0; i < n; i++)
		free((void *)recs[i]);
	return err;
}

static void
spf_dns_log_error(const char *file, int line, const char *msg)
{
	struct spf_dns_check	*chk = spf_dns_cur;

	log_warnx("spf: libspf2 error at %s:%d: %s", file != NULL ? file : "?",
	    line, msg != NULL ? msg : "?");
	if (chk == NULL)
		fatalx("spf: libspf2 error outside a check");
	spf_dns_force(chk, SPF_DNS_TEMPERROR, "internal error in libspf2");
	siglongjmp(chk->jmp, 1);
}

static void
spf_dns_log_warning(const char *file, int line, const char *msg)
{
	log_limited(&spf_dns_log_libspf2, LOG_LEVEL_WARN,
	    "spf: libspf2 warning at %s:%d: %s",
	    file != NULL ? file : "?", line, msg != NULL ? msg : "?");
}

static void
spf_dns_log_debug(const char *file, int line, const char *msg)
{
	log_debug("spf: libspf2: %s:%d: %s", file != NULL ? file : "?", line,
	    msg != NULL ? msg : "?");
}

static void
spf_dns_log_set(void)
{
	SPF_error_handler = spf_dns_log_error;
	SPF_warning_handler = spf_dns_log_warning;
	SPF_info_handler = spf_dns_log_debug;
	SPF_debug_handler = spf_dns_log_debug;
}

void
spf_dns_log_init(void)
{
	static pthread_once_t	 once = PTHREAD_ONCE_INIT;

	pthread_once(&once, spf_dns_log_set);
}
