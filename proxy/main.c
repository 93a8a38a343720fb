/* SPDX-License-Identifier: ISC */
/*
 * main.c - the command line: options, the configuration (file or embedded
 * default, with -o overrides), then the mode: the proxy (in the
 * foreground, logging to stderr or syslog), "milter" (the same filters as
 * a libmilter milter, proxy/milter_front.c), or "check", which loads the
 * configuration and everything it names (lists) and reports the first error,
 * and what would go wrong at run time (server_check) as warnings.
 *
 *	postern [-nv] [-T smtp,io,filter] [-c FILE] [-o section.key=value]...
 *	postern milter [-v] [-T filter] [-c FILE] [-o section.key=value]...
 *	postern check [-c FILE] [-o section.key=value]...
 *	postern test [-c FILE] [-o ...] [--client IP] [--helo NAME]
 *	    [--from ADDR] [--rcpt ADDR]... MESSAGE-FILE
 *
 * DIAGNOSTICS
 *	A bad configuration exits 1 with "file:line: what is wrong" or
 *	"-o ARG: what is wrong" on stderr.  check's warnings are
 *	"postern: warning: ..." on stderr; it still exits 0.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filters/chain.h"
#include "lib/log.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "proxy/dryrun.h"
#include "proxy/milter_front.h"
#include "proxy/server.h"
#include "proxy/session.h"
#include "proxy/tls.h"

#define MAIN_OVERRIDES_MAX	128

struct main_opts {
	enum { MAIN_PROXY, MAIN_CHECK, MAIN_TEST, MAIN_MILTER } mode;
	const char	*path;		/* -c */
	char		*overrides[MAIN_OVERRIDES_MAX];	/* -o */
	size_t		 nov;
	int		 dump;		/* -n */
	int		 verbose;	/* -v */
	int		 trace;		/* -T */
	struct dryrun_env env;		/* postern test */
};

static void	usage(void) __attribute__((noreturn));
static int	main_trace(const char *);
static void	main_errors(const char *, char *);
static int	main_check_tls(const struct conf *, char *, size_t);
static void	main_check_memory(const struct conf *, char *, size_t);
static void	main_options(int, char *[], struct main_opts *);

static void
usage(void)
{
	fprintf(stderr, "usage: postern [-nv] [-T smtp,io,filter] "
	    "[-c file] [-o section.key=value]...\n"
	    "       postern milter [-v] [-T filter] [-c file] "
	    "[-o section.key=value]...\n"
	    "       postern check [-c file] [-o section.key=value]...\n"
	    "       postern test [-c file] [-o k=v]... [--client IP] "
	    "[--helo NAME]\n"
	    "           [--from ADDR] [--rcpt ADDR]... MESSAGE-FILE\n"
	    "  -c file  configuration file (default: the embedded one)\n"
	    "  -o k=v   override one key, e.g. -o proxy.listen=[::1]:2525\n"
	    "  -n       print the effective configuration and exit\n"
	    "  -v       log at debug level\n"
	    "  -T list  trace smtp, io and/or filter activity\n"
	    "  milter   run the filters as a milter on milter.socket\n"
	    "  check    validate the configuration and its lists, then exit\n"
	    "  test     run one message through the filters, print what "
	    "they decide\n");
	exit(2);
}

static int
main_trace(const char *arg)
{
	char	 buf[64], *w, *save;
	int	 mask = 0;

	strlcpy(buf, arg, sizeof(buf));
	for (w = strtok_r(buf, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save)) {
		if (strcmp(w, "smtp") == 0)
			mask |= TRACE_SMTP;
		else if (strcmp(w, "io") == 0)
			mask |= TRACE_IO;
		else if (strcmp(w, "filter") == 0)
			mask |= TRACE_FILTER;
		else
			usage();
	}
	return mask;
}

/* Every line of err, each as "postern: KIND..." on stderr. */
static void
main_errors(const char *kind, char *err)
{
	char	*line, *save;

	for (line = strtok_r(err, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		fprintf(stderr, "postern: %s%s\n", kind, line);
}

/* check: the certificates, keys and CA files the TLS contexts (both
 * sides) load; -1 with every error in err. */
static int
main_check_tls(const struct conf *conf, char *err, size_t errsz)
{
	tls_server_free(tls_server_new(conf, err, errsz));
	tls_client_free(tls_client_new(conf, err, errsz));
	return err[0] != '\0' ? -1 : 0;
}

/*
 * check: the worst case of one connection (session_memory_max) times
 * proxy.max_connections, and a warning into warn (size warnsz) when that
 * is more than the machine's physical memory.
 */
static void
main_check_memory(const struct conf *conf, char *warn, size_t warnsz)
{
	uint64_t	 one = session_memory_max(conf), all, phys;
	long		 pages = sysconf(_SC_PHYS_PAGES);
	long		 pagesz = sysconf(_SC_PAGESIZE);

	all = one * conf->max_connections;
	printf("postern: at most %.1f MiB per connection, %.1f GiB for "
	    "proxy.max_connections = %u\n", one / 1048576.0,
	    all / 1073741824.0, conf->max_connections);
	if (pages <= 0 || pagesz <= 0)
		return;
	phys = (uint64_t)pages * (uint64_t)pagesz;
	if (all > phys)
		util_err_append(warn, warnsz, "that is more than the "
		    "physical memory (%.1f GiB): lower proxy.max_connections, "
		    "spool_memory_max or max_header_total",
		    phys / 1073741824.0);
}

/* The mode word, then the options; exits with the usage on a bad one. */
static void
main_options(int argc, char *argv[], struct main_opts *o)
{
	static const struct option longopts[] = {
		{ "client", required_argument, NULL, 'C' },
		{ "helo", required_argument, NULL, 'H' },
		{ "from", required_argument, NULL, 'F' },
		{ "rcpt", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	if (argc > 1 && strcmp(argv[1], "check") == 0)
		o->mode = MAIN_CHECK;
	if (argc > 1 && strcmp(argv[1], "test") == 0)
		o->mode = MAIN_TEST;
	if (argc > 1 && strcmp(argv[1], "milter") == 0)
		o->mode = MAIN_MILTER;
	if (o->mode != MAIN_PROXY) {
		argv++;
		argc--;
	}
	while ((ch = getopt_long(argc, argv, "c:no:T:v", o->mode ==
	    MAIN_TEST ? longopts : NULL, NULL)) != -1) {
		switch (ch) {
		case 'C':
			o->env.client = optarg;
			break;
		case 'H':
			o->env.helo = optarg;
			break;
		case 'F':
			o->env.from = optarg;
			break;
		case 'R':
			if (o->env.nrcpts == (int)nitems(o->env.rcpts))
				usage();
			o->env.rcpts[o->env.nrcpts++] = optarg;
			break;
		case 'c':
			o->path = optarg;
			break;
		case 'n':
			o->dump = 1;
			break;
		case 'o':
			if (o->nov == MAIN_OVERRIDES_MAX)
				usage();
			o->overrides[o->nov++] = optarg;
			break;
		case 'T':
			o->trace = main_trace(optarg);
			break;
		case 'v':
			o->verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (o->mode == MAIN_TEST && optind + 1 == argc)
		o->env.file = argv[optind++];
	if (optind != argc || (o->mode == MAIN_TEST && o->env.file == NULL))
		usage();
	if (o->mode == MAIN_TEST && o->env.nrcpts == 0)
		o->env.rcpts[o->env.nrcpts++] = "postmaster";
}

int
main(int argc, char *argv[])
{
	static struct main_opts	 o = { .env = { .client = "127.0.0.1",
		.helo = "localhost", .from = "" } };
	static char		 err[65536];	/* every error, for check */
	struct conf		*conf;
	struct chain		*chain;
	int			 rc;

	main_options(argc, argv, &o);
	if ((conf = conf_load(o.path, o.overrides, o.nov, err,
	    sizeof(err))) == NULL) {
		main_errors("", err);
		return 1;
	}
	if (o.dump) {
		conf_dump(conf, stdout);
		conf_unref(conf);
		return 0;
	}
	log_init("postern", conf->log_syslog, o.verbose ? LOG_LEVEL_DEBUG :
	    conf->log_level);
	log_set_trace(o.trace);
	log_set_repeat(conf->log_repeat_interval);
	if (o.mode == MAIN_MILTER)
		milter_front_init();	/* before the resolver's threads */
	if ((chain = chain_new(conf, NULL, err, sizeof(err))) == NULL) {
		main_errors("", err);
		conf_unref(conf);
		return 1;
	}
	if (o.mode == MAIN_PROXY)
		return server_run(conf, chain, o.path, o.overrides, o.nov);
	if (o.mode == MAIN_MILTER)
		return milter_front_run(conf, chain);
	if (o.mode == MAIN_TEST)
		rc = dryrun_run(conf, chain, &o.env);
	else if (main_check_tls(conf, err, sizeof(err)) == -1) {
		main_errors("", err);
		rc = 1;
	} else {
		(void)server_check(conf, chain, err, sizeof(err));
		main_check_memory(conf, err, sizeof(err));
		main_errors("warning: ", err);
		printf("postern: %s: configuration OK, %zu filter%s\n",
		    conf->source, chain_length(chain),
		    chain_length(chain) == 1 ? "" : "s");
		rc = 0;
	}
	chain_unref(chain);
	conf_unref(conf);
	return rc;
}
