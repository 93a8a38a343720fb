/*
 * main.c - the command line: options, the configuration (file or embedded
 * default, with -o overrides), then the mode: the proxy (in the
 * foreground, logging to stderr or syslog), or "check", which loads the
 * configuration and everything it names (lists) and reports the first error.
 *
 *	postern [-nv] [-T smtp,io,filter] [-c FILE] [-o section.key=value]...
 *	postern check [-c FILE] [-o section.key=value]...
 *	postern test [-c FILE] [-o ...] [--client IP] [--helo NAME]
 *	    [--from ADDR] [--rcpt ADDR]... MESSAGE-FILE
 *
 * DIAGNOSTICS
 *	A bad configuration exits 1 with "file:line: what is wrong" or
 *	"-o ARG: what is wrong" on stderr.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "conf.h"
#include "dryrun.h"
#include "log.h"
#include "server.h"
#include "util.h"

#define MAIN_OVERRIDES_MAX	128

static void	usage(void) __attribute__((noreturn));
static int	main_trace(const char *);

static void
usage(void)
{
	fprintf(stderr, "usage: postern [-nv] [-T smtp,io,filter] "
	    "[-c file] [-o section.key=value]...\n"
	    "       postern check [-c file] [-o section.key=value]...\n"
	    "       postern test [-c file] [-o k=v]... [--client IP] "
	    "[--helo NAME]\n"
	    "           [--from ADDR] [--rcpt ADDR]... MESSAGE-FILE\n"
	    "  -c file  configuration file (default: the embedded one)\n"
	    "  -o k=v   override one key, e.g. -o proxy.listen=[::1]:2525\n"
	    "  -n       print the effective configuration and exit\n"
	    "  -v       log at debug level\n"
	    "  -T list  trace smtp, io and/or filter activity\n"
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

int
main(int argc, char *argv[])
{
	static char	*overrides[MAIN_OVERRIDES_MAX];
	static const struct option longopts[] = {
		{ "client", required_argument, NULL, 'C' },
		{ "helo", required_argument, NULL, 'H' },
		{ "from", required_argument, NULL, 'F' },
		{ "rcpt", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	static struct dryrun_env env = { .client = "127.0.0.1",
		.helo = "localhost", .from = "" };
	struct conf	*conf;
	struct chain	*chain;
	const char	*path = NULL;
	static char	 err[65536];	/* every error, for check */
	size_t		 nov = 0;
	int		 ch, dump = 0, verbose = 0, trace = 0, check = 0;
	int		 test = 0;

	if (argc > 1 && strcmp(argv[1], "check") == 0)
		check = 1;
	if (argc > 1 && strcmp(argv[1], "test") == 0)
		test = 1;
	if (check || test) {
		argv++;
		argc--;
	}
	while ((ch = getopt_long(argc, argv, "c:no:T:v", test ? longopts :
	    NULL, NULL)) != -1) {
		switch (ch) {
		case 'C':
			env.client = optarg;
			break;
		case 'H':
			env.helo = optarg;
			break;
		case 'F':
			env.from = optarg;
			break;
		case 'R':
			if (env.nrcpts == (int)nitems(env.rcpts))
				usage();
			env.rcpts[env.nrcpts++] = optarg;
			break;
		case 'c':
			path = optarg;
			break;
		case 'n':
			dump = 1;
			break;
		case 'o':
			if (nov == MAIN_OVERRIDES_MAX) {
				fprintf(stderr, "postern: too many -o\n");
				return 1;
			}
			overrides[nov++] = optarg;
			break;
		case 'T':
			trace = main_trace(optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (test && optind + 1 == argc)
		env.file = argv[optind++];
	if (optind != argc || (test && env.file == NULL))
		usage();
	if (test && env.nrcpts == 0)
		env.rcpts[env.nrcpts++] = "postmaster";
	if ((conf = conf_load(path, overrides, nov, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "postern: %s\n", err);
		return 1;
	}
	if (dump) {
		conf_dump(conf, stdout);
		conf_unref(conf);
		return 0;
	}
	log_init("postern", conf->log_syslog, verbose ? LOG_LEVEL_DEBUG :
	    conf->log_level);
	log_set_trace(trace);
	if ((chain = chain_new(conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "postern: %s\n", err);
		conf_unref(conf);
		return 1;
	}
	if (test) {
		ch = dryrun_run(conf, chain, &env);
		chain_unref(chain);
		conf_unref(conf);
		return ch;
	}
	if (check) {
		printf("postern: %s: configuration OK, %zu filter%s\n",
		    conf->source, chain_length(chain),
		    chain_length(chain) == 1 ? "" : "s");
		chain_unref(chain);
		conf_unref(conf);
		return 0;
	}
	return server_run(conf, chain, path, overrides, nov);
}
