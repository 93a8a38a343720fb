/* SPDX-License-Identifier: ISC */
/*
 * spf_check.h - one SPF evaluation (RFC 7208) on libspf2, synchronous:
 * the DNS lookups go through lib/dns.c, counted and limited per check
 * (RFC 7208 4.6.4: 10 DNS-querying terms, 2 void lookups), and every SPF
 * record is screened before libspf2 compiles it, so hostile or oversized
 * records become permerror without reaching libspf2's parser.
 * spf_check_run blocks: call it from a worker thread.  A struct spf_check
 * is shared read-only by every thread once built.
 */
#ifndef POSTERN_SPF_CHECK_H
#define POSTERN_SPF_CHECK_H

#include <stddef.h>
#include <sys/socket.h>
#include <netinet/in.h>

struct dns;
struct spf_check;

enum spf_check_result {
	SPF_CHECK_NONE,
	SPF_CHECK_NEUTRAL,
	SPF_CHECK_PASS,
	SPF_CHECK_FAIL,
	SPF_CHECK_SOFTFAIL,
	SPF_CHECK_TEMPERROR,
	SPF_CHECK_PERMERROR,
};

struct spf_check_outcome {
	enum spf_check_result result;
	char		 identity[512];	/* the checked identity:
					   localpart@domain or the HELO name,
					   bytes outside printable ASCII '?' */
	char		 comment[512];	/* why, for the Received-SPF comment and
					   logs: "domain of x designates y as
					   permitted sender" / what was wrong */
	char		 explanation[512]; /* on fail: the domain's exp= text,
					   or a default; for the 550 reply */
	char		 ip[INET6_ADDRSTRLEN]; /* the client address
					   checked, or "unknown" */
	char		 problem[256];	/* what went wrong, for the
					   Received-SPF problem= key, or "" */
	int		 is_helo;	/* the HELO identity was checked */
	unsigned	 ttl;		/* seconds the DNS answers it rests on
					   hold: how long the outcome may be
					   reused; UINT_MAX when none told */
};

/*
 * spf_check_new - an evaluator on resolver dns (not owned); receiver is
 * our host name, used in comments and macros (%{r}).  NULL with err.
 */
struct spf_check *spf_check_new(struct dns *, const char *receiver,
		    char *err, size_t errsz);
void		 spf_check_free(struct spf_check *);

/*
 * spf_check_set_explanation - the default explanation (an RFC 7208
 * explain-string with macros, e.g. "%{o} does not designate %{i}") used
 * on fail when the domain gives none.  Before the checks start (not
 * thread-safe with spf_check_run).  0, or -1 with err.
 */
int		 spf_check_set_explanation(struct spf_check *, const char *,
		    char *err, size_t errsz);

/*
 * spf_check_run - evaluate client (IPv4 or IPv6; an IPv4-mapped IPv6
 * address is checked as IPv4) against:
 *   sender != NULL: the MAIL FROM identity (an empty sender is checked as
 *     postmaster@helo, RFC 7208 2.4);
 *   sender == NULL: the HELO identity (RFC 7208 2.3).
 * helo may be "" (unknown).  The whole check ends within timeout_ms (then
 * temperror).  Fills out; never fails otherwise.
 */
void		 spf_check_run(struct spf_check *, const struct sockaddr *client,
		    const char *helo, const char *sender, unsigned timeout_ms,
		    struct spf_check_outcome *out);

const char	*spf_check_result_name(enum spf_check_result);

/*
 * spf_check_received - the Received-SPF field value (RFC 7208 9.1) of
 * outcome o, helo the HELO name of the check: result (comment)
 * client-ip=; envelope-from=; helo=; receiver=; identity=; and problem=
 * for the error results, each value a dot-atom or a quoted-string.  A new
 * string (xmalloc).
 */
char		*spf_check_received(const struct spf_check *,
		    const struct spf_check_outcome *o, const char *helo);

#endif
