/* SPDX-License-Identifier: ISC */
/*
 * dmarc_history.c - OpenDMARC's history file format (see dmarc_history.h).
 *
 * The lines and their order are opendmarc 1.4.2's (opendmarc/opendmarc.c,
 * mlfi_eom): job, reporter, received, ipaddr, from, mfrom, spf, one dkim
 * line a signature, pdomain, policy, rua (one a URI, or "-"), pct, adkim,
 * aspf, p, sp, align_dkim, align_spf, arc, arc_policy, action.  The
 * numbers are OpenDMARC's own: SPF and DKIM results its ARES_RESULT_*
 * (opendmarc-ar.h), policy libopendmarc's DMARC_POLICY_* and p, sp,
 * adkim, aspf its DMARC_RECORD_* letters (dmarc.h), alignment
 * DMARC_POLICY_*_ALIGNMENT_*, action opendmarc.h's DMARC_RESULT_*; they
 * are written out here rather than taken from <opendmarc/dmarc.h>, whose
 * DMARC_POLICY_NONE macro and ours (proto/dmarc_record.h) cannot meet in
 * one file.  tests/integ/test_dmarc.py feeds the result to the real
 * opendmarc-import and opendmarc-reports.  No ARC: "arc" is fail and
 * "arc_policy" fail with no seals, as opendmarc writes without ARC.
 *
 * Public: dmarc_history_format, dmarc_history_append.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "filters/dmarc_history.h"
#include "lib/util.h"

#define DMARC_HISTORY_ARES_UNDEFINED	(-1)
#define DMARC_HISTORY_ARES_FAIL		7
#define DMARC_HISTORY_ALIGN_PASS	4
#define DMARC_HISTORY_ALIGN_FAIL	5
#define DMARC_HISTORY_ARC_POLICY_FAIL	2
#define DMARC_HISTORY_LOCK_TRIES	5	/* 10 ms apart */

/* The text being built: -1 in len once it did not fit. */
struct dmarc_history_buf {
	char		*p;
	size_t		 size;
	long		 len;
};

static void	dmarc_history_line(struct dmarc_history_buf *, const char *,
		    ...) __attribute__((format(printf, 2, 3)));
static const char *dmarc_history_word(const char *);
static int	dmarc_history_ares(const char *);
static int	dmarc_history_policy(const struct dmarc_eval_out *);
static void	dmarc_history_rua(struct dmarc_history_buf *, const char *);

int
dmarc_history_format(const struct dmarc_history *h, char *buf, size_t bufsz)
{
	/* DMARC_RESULT_* by enum dmarc_history_action */
	static const int	 actions[] = { 0, 2, 3, 4 };
	static const char	 pol[] = { 'n', 'q', 'r' };
	struct dmarc_history_buf b = { buf, bufsz, 0 };
	const struct dmarc_record *r = h->rec;
	size_t			 i;

	dmarc_history_line(&b, "job %s", dmarc_history_word(h->job));
	dmarc_history_line(&b, "reporter %s",
	    dmarc_history_word(h->reporter));
	dmarc_history_line(&b, "received %lld", (long long)h->received);
	dmarc_history_line(&b, "ipaddr %s", dmarc_history_word(h->ipaddr));
	dmarc_history_line(&b, "from %s", dmarc_history_word(h->from));
	/* an empty one as opendmarc writes it: a domain without a name */
	dmarc_history_line(&b, "mfrom %s", h->mfrom == NULL ||
	    h->mfrom[0] == '\0' ? "" : dmarc_history_word(h->mfrom));
	dmarc_history_line(&b, "spf %d", dmarc_history_ares(h->spf));
	for (i = 0; i < h->nsigs; i++)
		dmarc_history_line(&b, "dkim %s %s %d",
		    dmarc_history_word(h->sigs[i].d),
		    dmarc_history_word(h->sigs[i].s),
		    dmarc_history_ares(h->sigs[i].result));
	dmarc_history_line(&b, "pdomain %s", dmarc_history_word(h->pdomain));
	dmarc_history_line(&b, "policy %d", dmarc_history_policy(h->out));
	dmarc_history_rua(&b, r->rua);
	dmarc_history_line(&b, "pct %u", r->pct);
	dmarc_history_line(&b, "adkim %d", r->adkim_strict ? 's' : 'r');
	dmarc_history_line(&b, "aspf %d", r->aspf_strict ? 's' : 'r');
	dmarc_history_line(&b, "p %d", pol[r->p]);
	dmarc_history_line(&b, "sp %d", pol[r->sp]);
	dmarc_history_line(&b, "align_dkim %d", h->out->dkim_aligned ?
	    DMARC_HISTORY_ALIGN_PASS : DMARC_HISTORY_ALIGN_FAIL);
	dmarc_history_line(&b, "align_spf %d", h->out->spf_aligned ?
	    DMARC_HISTORY_ALIGN_PASS : DMARC_HISTORY_ALIGN_FAIL);
	dmarc_history_line(&b, "arc %d", DMARC_HISTORY_ARES_FAIL);
	dmarc_history_line(&b, "arc_policy %d json:[]",
	    DMARC_HISTORY_ARC_POLICY_FAIL);
	dmarc_history_line(&b, "action %d", actions[h->action]);
	return (int)b.len;
}

/* One line, with its newline. */
static void
dmarc_history_line(struct dmarc_history_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (b->len < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->size - (size_t)b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 1 >= b->size - (size_t)b->len) {
		b->len = -1;
		return;
	}
	b->len += n;
	b->p[b->len++] = '\n';
	b->p[b->len] = '\0';
}

/* s when it is a word (printable ASCII, no blank), else "-". */
static const char *
dmarc_history_word(const char *s)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0')
		return "-";
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return "-";
	return s;
}

/* An Authentication-Results result word as ARES_RESULT_*. */
static int
dmarc_history_ares(const char *word)
{
	static const struct {
		const char	*word;
		int		 code;
	} ares[] = {
		{ "pass", 0 }, { "softfail", 2 }, { "neutral", 3 },
		{ "temperror", 4 }, { "permerror", 5 }, { "none", 6 },
		{ "fail", DMARC_HISTORY_ARES_FAIL }, { "policy", 8 },
	};
	size_t	 i;

	for (i = 0; word != NULL && i < nitems(ares); i++)
		if (strcmp(word, ares[i].word) == 0)
			return ares[i].code;
	return DMARC_HISTORY_ARES_UNDEFINED;
}

/* DMARC_POLICY_*: PASS, or the policy a failing message met. */
static int
dmarc_history_policy(const struct dmarc_eval_out *out)
{
	/* by enum dmarc_policy: DMARC_POLICY_NONE, _QUARANTINE, _REJECT */
	static const int	 fail[] = { 18, 17, 16 };

	if (out->result == DMARC_RESULT_PASS)
		return 15;
	if (out->result == DMARC_RESULT_FAIL)
		return fail[out->policy];
	return 14;	/* ABSENT */
}

/* "rua URI" a URI of the comma list, or "rua -". */
static void
dmarc_history_rua(struct dmarc_history_buf *b, const char *rua)
{
	const char	*p = rua, *c;

	if (rua[0] == '\0') {
		dmarc_history_line(b, "rua -");
		return;
	}
	for (;;) {
		c = strchr(p, ',');
		dmarc_history_line(b, "rua %.*s", c != NULL ? (int)(c - p) :
		    (int)strlen(p), p);
		if (c == NULL)
			break;
		p = c + 1;
	}
}

int
dmarc_history_append(const char *path, const char *buf, size_t len)
{
	ssize_t	 n;
	int	 fd, i, saved;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0640)) == -1)
		return -1;
	for (i = 0; i < DMARC_HISTORY_LOCK_TRIES; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
			break;
		usleep(10000);
	}
	n = write(fd, buf, len);
	saved = errno;
	close(fd);		/* and the lock with it */
	if (n >= 0 && (size_t)n != len)
		saved = ENOSPC;
	if (n < 0 || (size_t)n != len) {
		errno = saved;
		return -1;
	}
	return 0;
}
