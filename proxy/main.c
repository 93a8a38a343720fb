/*
 * main.c - the command line: options, the configuration (file or embedded
 * default, with -o overrides), then the mode.  Only the proxy mode exists
 * so far; it runs in the foreground, logging to stderr or syslog.
 *
 *	postern [-nv] [-T smtp,io,filter] [-c FILE] [-o section.key=value]...
 *
 * DIAGNOSTICS
 *	A bad configuration exits 1 with "file:line: what is wrong" or
 *	"-o ARG: what is wrong" on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "conf.h"
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
	    "  -c file  configuration file (default: the embedded one)\n"
	    "  -o k=v   override one key, e.g. -o proxy.listen=[::1]:2525\n"
	    "  -n       print the effective configuration and exit\n"
	    "  -v       log at debug level\n"
	    "  -T list  trace smtp, io and/or filter activity\n");
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
	struct conf	*conf;
	struct chain	*chain;
	const char	*path = NULL;
	char		 err[1024];
	size_t		 nov = 0;
	int		 ch, dump = 0, verbose = 0, trace = 0;

	while ((ch = getopt(argc, argv, "c:no:T:v")) != -1) {
		switch (ch) {
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
	if (optind != argc)
		usage();
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
	return server_run(conf, chain, path, overrides, nov);
}
