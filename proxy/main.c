/* SPDX-License-Identifier: ISC */
/*
 * main.c - the command line: options, the configuration (-c FILE, else
 * MAIN_CONF_PATH when it exists, else the embedded default; with -o
 * overrides), then the mode: the proxy (in the foreground, logging to
 * stderr or syslog), "milter" (the same filters as a libmilter milter,
 * proxy/milter_front.c), "check", which loads the configuration and
 * everything it names (lists) and reports the first error, and what would
 * go wrong at run time (server_check) as warnings, "test" (a dry run of
 * one message), "config" (the configuration, as Postfix's postconf) or
 * "stats" (a running postern's summary, from its metrics.listen).
 *
 *	postern [-nv] [-T smtp,io,filter] [-c FILE] [-o section.key=value]...
 *	postern milter [-v] [-T filter] [-c FILE] [-o section.key=value]...
 *	postern check [-c FILE] [-o section.key=value]...
 *	postern test [-c FILE] [-o ...] [--client IP] [--helo NAME]
 *	    [--from ADDR] [--rcpt ADDR]... MESSAGE-FILE
 *	postern config [-c FILE] [-o ...] [-n | -d] [section.key]...
 *	postern stats [-c FILE] [-o ...]
 *	postern -V | --version; any of them with -h or --help
 *
 * DIAGNOSTICS
 *	A bad configuration exits 1 with "file:line: what is wrong" or
 *	"-o ARG: what is wrong" on stderr.  check's warnings are
 *	"postern: warning: ..." on stderr; it still exits 0.
 */
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filters/chain.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/version.h"
#include "policy/conf.h"
#include "proxy/backend_list.h"
#include "proxy/dryrun.h"
#include "proxy/milter_front.h"
#include "proxy/milter_super.h"
#include "proxy/server.h"
#include "proxy/session.h"
#include "proxy/spool.h"
#include "proxy/stats.h"
#include "proxy/tls.h"

#define MAIN_OVERRIDES_MAX	128
#define MAIN_KEYS_MAX		64
#ifndef MAIN_CONF_PATH
#define MAIN_CONF_PATH		"/etc/postern/postern.conf"
#endif

struct main_opts {
	enum { MAIN_PROXY, MAIN_CHECK, MAIN_TEST, MAIN_MILTER,
	    MAIN_CONFIG, MAIN_STATS } mode;
	const char	*path;		/* -c */
	char		*overrides[MAIN_OVERRIDES_MAX + 1];	/* -o, and
					   one of postern test's own */
	size_t		 nov;
	int		 dump;		/* -n: the proxy's (all keys), config's
					   (what differs from the defaults) */
	int		 defaults;	/* config -d */
	char		*keys[MAIN_KEYS_MAX];	/* config KEY... */
	size_t		 nkeys;
	int		 verbose;	/* -v */
	int		 trace;		/* -T */
	struct dryrun_env env;		/* postern test */
};

static void	usage(FILE *, int) __attribute__((noreturn));
static int	main_config(const struct main_opts *, const struct conf *);
static int	main_trace(const char *);
static void	main_errors(const char *, char *);
static int	main_check_tls(const struct conf *, char *, size_t);
static void	main_check_memory(const struct conf *, char *, size_t);
static int	main_check_unused(const struct conf *, char *, size_t);
static int	main_check_as_user(const struct main_opts *,
		    const struct conf *, char *, size_t);
static void	main_check_child(const struct main_opts *,
		    const struct conf *, int) __attribute__((noreturn));
static void	main_options(int, char *[], struct main_opts *);

/* The usage on fp, then exit with status (0 for --help, 2 for a bad
 * command line). */
static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: postern [-nv] [-T smtp,io,filter] "
	    "[-c file] [-o section.key=value]...\n"
	    "       postern milter [-v] [-T filter] [-c file] "
	    "[-o section.key=value]...\n"
	    "       postern check [-c file] [-o section.key=value]...\n"
	    "       postern test [-c file] [-o k=v]... [--client IP] "
	    "[--helo NAME]\n"
	    "           [--from ADDR] [--rcpt ADDR]... MESSAGE-FILE\n"
	    "       postern config [-c file] [-o k=v]... [-n | -d] "
	    "[section.key]...\n"
	    "       postern stats [-c file] [-o k=v]...\n"
	    "       postern -V | --version      (-h or --help: this text)\n"
	    "  -c file  configuration file (default: " MAIN_CONF_PATH
	    " if it\n"
	    "           exists, else the embedded one)\n"
	    "  -o k=v   override one key, e.g. -o proxy.listen=[::1]:2525\n"
	    "  -n       print the effective configuration and exit (config:\n"
	    "           only what differs from the defaults)\n"
	    "  -d       config: the defaults\n"
	    "  -v       log at debug level\n"
	    "  -T list  trace smtp, io and/or filter activity\n"
	    "  milter   run the filters as a milter on milter.socket\n"
	    "  check    validate the configuration and its lists, then exit\n"
	    "  test     run one message through the filters, print what "
	    "they decide\n"
	    "  config   print the configuration, or the keys named\n"
	    "  stats    a summary from the running postern (metrics.listen)"
	    "\n");
	exit(status);
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
			usage(stderr, 2);
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

/*
 * check: the filters that settings outside the chain belong to are set up
 * all the same, so their files are checked (a missing list is an error
 * even before the filter is added), and the backends resolve.  -1 with
 * the errors in err.
 */
static int
main_check_unused(const struct conf *conf, char *err, size_t errsz)
{
	const struct filter_ops	*ops[CONF_FILTERS_MAX];
	const char		*names[CONF_FILTERS_MAX];
	struct backend_list	*bl;
	struct conf		*def;
	struct chain		*ch;
	char			 e[8192];
	size_t			 i, n = 0;
	int			 rc = 0;

	if ((def = conf_load(NULL, NULL, 0, NULL, 0)) != NULL) {
		n = conf_unused_filters(conf, def, names, nitems(names));
		conf_unref(def);
	}
	for (i = 0; i < n; i++)
		ops[i] = chain_filter_lookup(names[i]);
	if (n > 0 && (ch = chain_new_ops(ops, n, conf, NULL, e,
	    sizeof(e))) == NULL) {
		util_err_append(err, errsz, "%s", e);
		rc = -1;
	} else if (n > 0)
		chain_unref(ch);
	if ((bl = backend_list_new(conf, NULL, e, sizeof(e))) == NULL) {
		util_err_append(err, errsz, "%s", e);
		rc = -1;
	} else
		backend_list_free(bl);
	return rc;
}

/*
 * check: what the daemon reads at a reload, read as proxy.user, the user
 * it runs as by then: a child drops to the user and does the reload's
 * work (the configuration, every list, rule, key and certificate), then
 * makes a spool file.  Errors into err, each "as proxy.user USER: ...".
 * Not root, or no proxy.user: the spool directory as this user.
 */
static int
main_check_as_user(const struct main_opts *o, const struct conf *conf,
    char *err, size_t errsz)
{
	size_t	 len = strlen(err);
	ssize_t	 n;
	pid_t	 pid;
	int	 fds[2], status;

	if (conf->user[0] != '\0' && getpwnam(conf->user) == NULL) {
		util_err_append(err, errsz, "proxy.user %s: no such user",
		    conf->user);
		return -1;
	}
	if (conf->user[0] == '\0' || geteuid() != 0) {
		if (spool_dir_ok(conf->spool_dir) == 0)
			return 0;
		util_err_append(err, errsz, "proxy.spool_dir %s: %s",
		    conf->spool_dir, strerror(errno));
		return -1;
	}
	if (pipe(fds) == -1 || (pid = fork()) == -1)
		fatal("check: pipe/fork");
	if (pid == 0) {
		close(fds[0]);
		main_check_child(o, conf, fds[1]);
	}
	close(fds[1]);
	while (len + 1 < errsz && (n = read(fds[0], err + len,
	    errsz - len - 1)) > 0)
		len += (size_t)n;
	err[len] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (len == 0)
		util_err_append(err, errsz, "as proxy.user %s: the check did "
		    "not finish", conf->user);
	return -1;
}

/* The child of main_check_as_user: its errors down fd, exit 1 if any. */
static void
main_check_child(const struct main_opts *o, const struct conf *conf, int fd)
{
	static char	 e[16384], out[20000];
	struct conf	*c = NULL;
	struct chain	*ch = NULL;
	char		*line, *save;
	size_t		 len;

	log_set_level(LOG_LEVEL_WARN);	/* not "running as ..." */
	if (server_drop_privileges(conf, e, sizeof(e)) == 0 &&
	    (c = conf_load(o->path, o->overrides, o->nov, e,
	    sizeof(e))) != NULL &&
	    (ch = chain_new(c, NULL, e, sizeof(e))) != NULL &&
	    main_check_tls(c, e, sizeof(e)) == 0 &&
	    spool_dir_ok(c->spool_dir) == -1)
		snprintf(e, sizeof(e), "proxy.spool_dir %s: %s", c->spool_dir,
		    strerror(errno));
	for (line = strtok_r(e, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		util_err_append(out, sizeof(out), "as proxy.user %s: %s",
		    conf->user, line);
	len = strlen(out);
	if (write(fd, out, len) != (ssize_t)len)
		_exit(2);	/* the parent says the check did not finish */
	_exit(out[0] != '\0');
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
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const modes[] = {
		[MAIN_CHECK] = "check", [MAIN_TEST] = "test",
		[MAIN_MILTER] = "milter", [MAIN_CONFIG] = "config",
		[MAIN_STATS] = "stats",
	};
	size_t	 i;
	int	 ch;

	for (i = 0; argc > 1 && i < nitems(modes); i++)
		if (modes[i] != NULL && strcmp(argv[1], modes[i]) == 0) {
			o->mode = i;
			argv++;
			argc--;
			break;
		}
	while ((ch = getopt_long(argc, argv, "c:dhno:T:vV", longopts,
	    NULL)) != -1) {
		if (o->mode != MAIN_TEST && strchr("CHFR", ch) != NULL)
			usage(stderr, 2);
		if (o->mode != MAIN_CONFIG && ch == 'd')
			usage(stderr, 2);
		switch (ch) {
		case 'h':
			usage(stdout, 0);
		case 'V':
			printf("postern %s\n", POSTERN_VERSION);
			exit(0);
		case 'd':
			o->defaults = 1;
			break;
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
				usage(stderr, 2);
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
				usage(stderr, 2);
			o->overrides[o->nov++] = optarg;
			break;
		case 'T':
			o->trace = main_trace(optarg);
			break;
		case 'v':
			o->verbose = 1;
			break;
		default:
			usage(stderr, 2);
		}
	}
	if (o->mode == MAIN_TEST && optind + 1 == argc)
		o->env.file = argv[optind++];
	while (o->mode == MAIN_CONFIG && optind < argc) {
		if (o->nkeys == MAIN_KEYS_MAX)
			usage(stderr, 2);
		o->keys[o->nkeys++] = argv[optind++];
	}
	if (optind != argc || (o->mode == MAIN_TEST && o->env.file == NULL) ||
	    (o->dump && o->defaults))
		usage(stderr, 2);
	if (o->path == NULL && access(MAIN_CONF_PATH, F_OK) == 0)
		o->path = MAIN_CONF_PATH;
	if (o->mode == MAIN_TEST && o->env.nrcpts == 0)
		o->env.rcpts[o->env.nrcpts++] = "postmaster";
}

/*
 * postern config (and the proxy's -n): every key, what differs from the
 * defaults (config -n), the defaults (-d), or the keys named.
 */
static int
main_config(const struct main_opts *o, const struct conf *conf)
{
	struct conf	*def = NULL;
	char		 err[4096] = "";
	int		 rc;

	if (o->mode == MAIN_CONFIG && (o->dump || o->defaults) &&
	    (def = conf_load(NULL, NULL, 0, err, sizeof(err))) == NULL)
		fatalx("the embedded configuration: %s", err);
	rc = conf_print(o->defaults ? def : conf, o->mode == MAIN_CONFIG &&
	    o->dump ? def : NULL, o->keys, o->nkeys, stdout, err,
	    sizeof(err));
	if (rc == -1)
		main_errors("", err);
	if (def != NULL)
		conf_unref(def);
	return rc == -1 ? 1 : 0;
}

static char	 main_test_store[] = "redis.server=";

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
	/* postern test judges a message as if it were the first: rate limits
	 * and greylisting on a store of its own, the shared one untouched */
	if (o.mode == MAIN_TEST)
		o.overrides[o.nov++] = main_test_store;
	if ((conf = conf_load(o.path, o.overrides, o.nov, err,
	    sizeof(err))) == NULL) {
		main_errors("", err);
		return 1;
	}
	if (o.mode == MAIN_CONFIG || o.dump) {
		rc = main_config(&o, conf);
		conf_unref(conf);
		return rc;
	}
	if (o.mode == MAIN_STATS) {
		rc = stats_run(conf);
		conf_unref(conf);
		return rc;
	}
	log_init("postern", conf->log_syslog, o.verbose ? LOG_LEVEL_DEBUG :
	    conf->log_level);
	log_set_trace(o.trace);
	log_set_repeat(conf->log_repeat_interval);
	log_set_json(conf->log_format == CONF_LOG_JSON);
	if (o.mode == MAIN_MILTER) {
		milter_super_fork();	/* SIGHUP: see milter_super.h */
		milter_front_init();	/* before the resolver's threads */
	}
	if (o.mode == MAIN_CHECK &&	/* before any thread */
	    main_check_as_user(&o, conf, err, sizeof(err)) == -1) {
		main_errors("", err);
		conf_unref(conf);
		return 1;
	}
	if ((chain = chain_new(conf, NULL, err, sizeof(err))) == NULL) {
		main_errors("", err);
		conf_unref(conf);
		return 1;
	}
	if (o.mode == MAIN_PROXY)
		return server_run(conf, chain, o.path, o.overrides, o.nov);
	if (o.mode == MAIN_MILTER)
		return milter_front_run(conf, chain, o.path, o.overrides,
		    o.nov);
	if (o.mode == MAIN_TEST)
		rc = dryrun_run(conf, chain, &o.env);
	else if (main_check_tls(conf, err, sizeof(err)) == -1 ||
	    main_check_unused(conf, err, sizeof(err)) == -1) {
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
