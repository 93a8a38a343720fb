/* SPDX-License-Identifier: ISC */
/*
 * fuzz_spf_record.c - libFuzzer target for filters/spf_record.c and what
 * it guards: every input is screened as an SPF record (as it is and behind
 * "v=spf1 ") and as an explanation; whatever the screen lets through is
 * rewritten for IPv4 and IPv6 clients and compiled by libspf2
 * (SPF_record_compile / SPF_record_compile_macro) under ASan, so a record
 * a DNS server could send never reaches a libspf2 bug.  Invariants, with
 * abort(): an accepted record rewrites into the buffer and libspf2
 * compiles it; a refused one has a reason.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <spf2/spf.h>

#include "filters/spf_dns.h"
#include "filters/spf_record.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static SPF_server_t	*fuzz_srv;

static void	 fuzz_compile(const char *, int);
static void	 fuzz_record(const char *);
static void	 fuzz_exp(const char *);
static void	 fuzz_select(char *);

static void
fuzz_compile(const char *rec, int family)
{
	char		 rw[SPF_RECORD_REWRITE_MAX];
	SPF_response_t	*resp;
	SPF_record_t	*r = NULL;

	if (spf_record_rewrite(rec, family, rw, sizeof(rw)) == -1 ||
	    strlen(rw) >= sizeof(rw))
		abort();
	if ((resp = SPF_response_new(NULL)) == NULL)
		abort();
	if (SPF_record_compile(fuzz_srv, resp, &r, rw) != SPF_E_SUCCESS)
		abort();
	SPF_record_free(r);
	SPF_response_free(resp);
}

static void
fuzz_record(const char *rec)
{
	char	 why[256];

	why[0] = '\0';
	if (spf_record_screen(rec, why, sizeof(why)) == -1) {
		if (why[0] == '\0' || strlen(why) >= sizeof(why))
			abort();
		return;
	}
	fuzz_compile(rec, AF_INET);
	fuzz_compile(rec, AF_INET6);
}

static void
fuzz_exp(const char *text)
{
	char		 why[256], buf[1100];
	SPF_response_t	*resp;
	SPF_macro_t	*m = NULL;

	if (spf_record_screen_exp(text, why, sizeof(why)) == -1)
		return;
	if (spf_record_exp_escape(text, buf, sizeof(buf)) == -1)
		abort();
	if ((resp = SPF_response_new(NULL)) == NULL)
		abort();
	if (SPF_record_compile_macro(fuzz_srv, resp, &m, buf) != SPF_E_SUCCESS)
		abort();
	SPF_macro_free(m);
	SPF_response_free(resp);
}

/* The input's lines as one name's TXT strings. */
static void
fuzz_select(char *buf)
{
	const char	*txt[16];
	char		*p = buf;
	size_t		 n = 0, idx = 0;
	int		 rc;

	while (n < 16 && p != NULL) {
		txt[n++] = p;
		if ((p = strchr(p, '\n')) != NULL)
			*p++ = '\0';
	}
	rc = spf_record_select(txt, n, &idx);
	if (rc < -1 || rc > 1 || (rc == 1 && idx >= n))
		abort();
	(void)spf_record_domain_ok(txt[0]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*buf;

	if (fuzz_srv == NULL) {
		spf_dns_log_init();
		if ((fuzz_srv = SPF_server_new(SPF_DNS_ZONE, 0)) == NULL)
			abort();
	}
	if ((buf = malloc(size + 8)) == NULL)
		abort();
	memcpy(buf, "v=spf1 ", 7);
	memcpy(buf + 7, data, size);
	buf[size + 7] = '\0';
	fuzz_record(buf + 7);
	fuzz_record(buf);
	fuzz_exp(buf + 7);
	fuzz_select(buf + 7);
	free(buf);
	return 0;
}
