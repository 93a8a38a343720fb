/* SPDX-License-Identifier: ISC */
/*
 * spf_eval.c - run SPF checks (filters/spf_check.c) through the real
 * resolver (lib/dns.c) on an in-memory zone, for the RFC 7208 suite
 * (tests/spf/rfc7208.py writes the input and reads the output).
 *
 * Input, one directive per line, fields separated by tabs:
 *	zone	NAME	TYPE		dns_local_zone (static, refuse, ...)
 *	data	RR			dns_local_data ("n. 300 IN TXT \"...\"")
 *	exp	TEXT			the default explanation
 *	test	ID	IP	HELO	MAILFROM	(MAILFROM "" = empty sender;
 *					 "-" = the HELO identity)
 * Output, one line per test: ID, result, explanation, Received-SPF value,
 * tab-separated.  Nothing leaves the machine: the caller makes "." a
 * static zone.
 *
 * DIAGNOSTICS
 *	"spf_eval: line N: ..." on stderr and exit 2 for bad input or a
 *	resolver that cannot be built.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/spf_check.h"
#include "lib/dns.h"
#include "lib/log.h"
#include "policy/conf.h"

#define EVAL_FIELDS	6

static int	 eval_split(char *, char **);
static int	 eval_setup(struct dns *, char **, int, char *, size_t);
static void	 eval_test(struct spf_check *, char **, int);
static struct dns *eval_dns(void);

static int
eval_split(char *line, char **f)
{
	int	 n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	f[n++] = line;
	while (n < EVAL_FIELDS && (line = strchr(line, '\t')) != NULL) {
		*line++ = '\0';
		f[n++] = line;
	}
	return n;
}

static struct dns *
eval_dns(void)
{
	struct conf	*conf;
	struct dns	*dns;
	char		 err[1024] = "";

	if ((conf = conf_load(NULL, NULL, 0, err, sizeof(err))) == NULL ||
	    (dns = dns_new(&conf->dns, err, sizeof(err))) == NULL) {
		fprintf(stderr, "spf_eval: %s\n", err);
		exit(2);
	}
	conf_unref(conf);
	return dns;
}

static int
eval_setup(struct dns *dns, char **f, int n, char *err, size_t errsz)
{
	if (strcmp(f[0], "zone") == 0 && n == 3)
		return dns_local_zone(dns, f[1], f[2], err, errsz);
	if (strcmp(f[0], "data") == 0 && n == 2)
		return dns_local_data(dns, f[1], err, errsz);
	snprintf(err, errsz, "bad directive '%s'", f[0]);
	return -1;
}

static void
eval_test(struct spf_check *chk, char **f, int n)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct spf_check_outcome out;
	char			*rspf;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, f[2], &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, f[2], &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	spf_check_run(chk, (struct sockaddr *)&ss, f[3],
	    n < 5 || strcmp(f[4], "-") == 0 ? NULL : f[4], 20000, &out);
	rspf = spf_check_received(chk, &out, f[3]);
	printf("%s\t%s\t%s\t%s\n", f[1], spf_check_result_name(out.result),
	    out.explanation, rspf);
	fflush(stdout);
	free(rspf);
}

int
main(int argc, char **argv)
{
	struct spf_check	*chk = NULL;
	struct dns		*dns;
	char			 line[8192], err[1024] = "", *f[EVAL_FIELDS];
	int			 n, lineno = 0;

	(void)argv;
	log_init("spf_eval", 0, argc > 1 ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
	dns = eval_dns();
	while (fgets(line, sizeof(line), stdin) != NULL) {
		lineno++;
		if ((n = eval_split(line, f)) == 1 && f[0][0] == '\0')
			continue;
		if (chk == NULL && strcmp(f[0], "test") != 0 &&
		    strcmp(f[0], "exp") != 0) {
			if (eval_setup(dns, f, n, err, sizeof(err)) == -1)
				goto bad;
			continue;
		}
		if (chk == NULL && (chk = spf_check_new(dns,
		    "receiver.example.org", err, sizeof(err))) == NULL)
			goto bad;
		if (strcmp(f[0], "exp") == 0 && n == 2) {
			if (spf_check_set_explanation(chk, f[1], err,
			    sizeof(err)) == -1)
				goto bad;
		} else if (strcmp(f[0], "test") == 0 && n >= 4)
			eval_test(chk, f, n);
		else {
			snprintf(err, sizeof(err), "bad directive '%s'", f[0]);
			goto bad;
		}
	}
	spf_check_free(chk);
	dns_unref(dns);
	return 0;
 bad:
	fprintf(stderr, "spf_eval: line %d: %s\n", lineno, err);
	return 2;
}
