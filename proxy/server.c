/* SPDX-License-Identifier: ISC */
/*
 * server.c - the running daemon (see server.h): the event loops
 * (proxy/loops.c; this file runs loop 0, which also takes the signals and
 * serves the metrics), the configuration generation sessions start under
 * (swapped under a lock, reference-counted atomically: every loop takes
 * it), SIGHUP reload (a bad new configuration is refused and the old one
 * stays), SIGTERM/SIGINT drain (stop accepting, close idle sessions with
 * 421, let transactions finish within proxy.shutdown_timeout, then exit;
 * a second signal exits at once).  At start the soft descriptor limit is
 * raised to the hard one, and each generation admits only the connections
 * that limit holds (server_check).
 *
 * Public: server_run, server_gen, server_gen_unref, server_draining,
 * server_drop_privileges, server_check, server_reload_refused.
 *
 * DIAGNOSTICS
 *	"reload refused: <why>; keeping the running configuration" on a bad
 *	reload; "proxy.listen changed: restart to apply" (and the same for
 *	proxy.user, proxy.threads and workers.*) when only a restart can
 *	apply it.  At start
 *	"running as root ..." without proxy.user; at start and reload
 *	"proxy.max_connections N does not fit ..." when it does not.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <systemd/sd-daemon.h>

#include "filters/chain.h"
#include "lib/dns.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/version.h"
#include "lib/worker.h"
#include "policy/conf.h"
#include "policy/table.h"
#include "proxy/backend_list.h"
#include "proxy/loops.h"
#include "proxy/metrics_http.h"
#include "proxy/rdns.h"
#include "proxy/server.h"
#include "proxy/session.h"
#include "proxy/tls.h"

/* Descriptors not for sessions: listeners, the resolver's sockets, the
 * worker pool's and libevent's wake-up pipes, the log, the libraries'. */
#define SERVER_FD_RESERVE	32
#define SERVER_ROOT_WARNING \
	"running as root: set proxy.user to a user of its own"
#define SERVER_NOFILTER_WARNING \
	"filters.chain is empty: every message is relayed unfiltered"
#define SERVER_IDENTITY_WARNING \
	"proxy.client_identity = none: the backend sees every client as " \
	"postern's own address; it must not trust that address (no " \
	"mynetworks or relay rights for it), or it becomes an open relay"

static struct event_base	*server_evbase;		/* loop 0's */
static struct loops		*server_loops;
static struct metrics_http	*server_metrics;
static struct worker_pool	*server_pool;
static struct rdns_cache	*server_rdns;
static pthread_mutex_t		 server_lock = PTHREAD_MUTEX_INITIALIZER;
static struct server_gen	*server_current;	/* server_lock; set
							   by loop 0 only */
static int			 server_stopping;	/* atomic */
static const char		*server_conf_path;	/* not duplicated */
static char *const		*server_overrides;	/* not duplicated */
static size_t			 server_noverrides;
static struct event		*server_tick;	/* log_limit_flush */

static struct server_gen *server_gen_new(struct conf *, struct chain *,
		    char *, size_t);
static struct dns *server_dns(const struct conf *, const struct chain *,
		    char *, size_t);
static void	server_signal(evutil_socket_t, short, void *);
static void	server_reload(void);
static void	server_log_lines(const char *, char *);
static void	server_raise_nofile(void);
static unsigned	server_fit(const struct conf *, const struct chain *,
		    char *, size_t);
static void	server_flush(evutil_socket_t, short, void *);
static void	server_drain(void);
static unsigned	server_threads(const struct conf *);

/* A generation from conf and chain (references taken over), with the TLS
 * contexts built and the backend addresses resolved (the current
 * generation's failure marks carried over); NULL with err when one of them
 * fails. */
static struct server_gen *
server_gen_new(struct conf *conf, struct chain *chain, char *err,
    size_t errsz)
{
	struct server_gen	*g;

	g = xcalloc(1, sizeof(*g));
	g->refcnt = 1;
	g->conf = conf;
	g->chain = chain;
	err[0] = '\0';
	g->max_connections = server_fit(conf, chain, err, errsz);
	server_log_lines("", err);
	err[0] = '\0';
	if ((g->tls = tls_server_new(conf, err, errsz)) == NULL &&
	    err[0] != '\0')
		goto fail;
	if ((g->tls_backend = tls_client_new(conf, err, errsz)) == NULL &&
	    err[0] != '\0')
		goto fail;
	if (conf->reverse_dns &&
	    (g->dns = server_dns(conf, chain, err, errsz)) == NULL)
		goto fail;
	if ((g->backends = backend_list_new(conf, server_current != NULL ?
	    server_current->backends : NULL, err, errsz)) == NULL)
		goto fail;
	/* conf_parse checked every entry: this cannot fail. */
	(void)iptable_from(&g->proxy_from, conf->proxy_protocol_from, "",
	    "proxy.proxy_protocol_from", err, errsz);
	return g;
fail:
	server_gen_unref(g);
	return NULL;
}

/* The resolver for the clients' names: the chain's, or the running
 * generation's when it was built from the same [dns] settings (its cache
 * stays), or a new one. */
static struct dns *
server_dns(const struct conf *conf, const struct chain *chain, char *err,
    size_t errsz)
{
	struct dns	*d;

	if ((d = chain_dns(chain)) != NULL)
		return dns_ref(d);
	if (server_current != NULL && server_current->dns != NULL &&
	    dns_serves(server_current->dns, &conf->dns))
		return dns_ref(server_current->dns);
	return dns_new(&conf->dns, err, errsz);
}

/* proxy.user: the listening sockets are open (port 25 needs root); from
 * here on run as that user, with its groups, for good.  Without it, root
 * is warned about. */
int
server_drop_privileges(const struct conf *conf, char *err, size_t errsz)
{
	struct passwd	*pw;

	if (conf->user[0] == '\0') {
		if (geteuid() == 0)
			log_warnx("%s", SERVER_ROOT_WARNING);
		return 0;
	}
	if ((pw = getpwnam(conf->user)) == NULL) {
		snprintf(err, errsz, "proxy.user %s: no such user", conf->user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		snprintf(err, errsz, "proxy.user %s: %s", conf->user,
		    strerror(errno));
		return -1;
	}
	log_info("running as %s (uid %u)", pw->pw_name,
	    (unsigned)pw->pw_uid);
	return 0;
}

unsigned
server_check(const struct conf *conf, const struct chain *chain, char *warn,
    size_t warnsz)
{
	struct conf	*def;

	warn[0] = '\0';
	if (geteuid() == 0 && conf->user[0] == '\0')
		util_err_append(warn, warnsz, "%s", SERVER_ROOT_WARNING);
	if (conf->client_identity == CONF_IDENTITY_NONE)
		util_err_append(warn, warnsz, "%s", SERVER_IDENTITY_WARNING);
	if (conf->nfilters == 0)
		util_err_append(warn, warnsz, "%s", SERVER_NOFILTER_WARNING);
	if ((def = conf_load(NULL, NULL, 0, NULL, 0)) != NULL) {
		conf_unused(conf, def, warn, warnsz);
		conf_unref(def);
	}
	return server_fit(conf, chain, warn, warnsz);
}

/* The connections the hard descriptor limit holds (see server_check); a
 * warning appended to warn when they are fewer than proxy.max_connections. */
static unsigned
server_fit(const struct conf *conf, const struct chain *chain, char *warn,
    size_t warnsz)
{
	struct rlimit	 rl;
	unsigned	 per, fit;
	rlim_t		 room;

	per = 2 + chain_session_fds(chain) + (conf->max_message_size == 0 ||
	    conf->max_message_size > conf->spool_memory_max);
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 ||
	    rl.rlim_max == RLIM_INFINITY)
		return conf->max_connections;
	room = rl.rlim_max > SERVER_FD_RESERVE ?
	    rl.rlim_max - SERVER_FD_RESERVE : 0;
	if (room / per >= conf->max_connections)
		return conf->max_connections;
	fit = room / per > 0 ? (unsigned)(room / per) : 1;
	util_err_append(warn, warnsz, "proxy.max_connections %u does not fit "
	    "in %llu descriptors (%u a connection, %d kept): %u at most; "
	    "raise the limit (ulimit -n, LimitNOFILE=) or lower "
	    "proxy.max_connections", conf->max_connections,
	    (unsigned long long)rl.rlim_max, per, SERVER_FD_RESERVE, fit);
	return fit;
}

/* The soft descriptor limit up to the hard one: server_fit counts on it. */
static void
server_raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("raising the descriptor limit to %llu",
		    (unsigned long long)rl.rlim_max);
}

struct server_gen *
server_gen(void)
{
	struct server_gen	*g;

	pthread_mutex_lock(&server_lock);
	g = server_current;
	__atomic_add_fetch(&g->refcnt, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&server_lock);
	return g;
}

void
server_gen_unref(struct server_gen *g)
{
	if (g == NULL ||
	    __atomic_sub_fetch(&g->refcnt, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	chain_unref(g->chain);
	dns_unref(g->dns);
	conf_unref(g->conf);
	iptable_free(g->proxy_from);
	tls_server_free(g->tls);
	tls_client_free(g->tls_backend);
	backend_list_free(g->backends);
	free(g);
}

int
server_draining(void)
{
	return __atomic_load_n(&server_stopping, __ATOMIC_RELAXED);
}

/* proxy.threads, or one a CPU online for auto. */
static unsigned
server_threads(const struct conf *conf)
{
	long	 n;

	if (conf->threads != 0)
		return conf->threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
}

int
server_run(struct conf *conf, struct chain *chain, const char *conf_path,
    char *const *overrides, size_t noverrides)
{
	static const int	 sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct event		*ev[nitems(sigs)];
	static char		 err[65536];
	struct timeval		 tick = { 1, 0 };
	unsigned		 nloops = server_threads(conf);
	size_t			 i;
	int			 rc = 0;

	server_conf_path = conf_path;
	server_overrides = overrides;
	server_noverrides = noverrides;
	signal(SIGPIPE, SIG_IGN);
	/* several loops: events are activated and loops broken across
	 * threads */
	if (nloops > 1 && evthread_use_pthreads() == -1)
		fatalx("evthread_use_pthreads");
	if ((server_evbase = event_base_new()) == NULL)
		fatalx("event_base_new");
	server_raise_nofile();
	if ((server_pool = worker_pool_new(server_evbase, conf->worker_threads,
	    conf->worker_queue, err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		return 1;
	}
	server_rdns = rdns_cache_new();
	server_loops = loops_new(nloops, server_evbase, server_pool,
	    server_rdns);
	if ((server_current = server_gen_new(conf, chain, err,
	    sizeof(err))) == NULL) {
		log_errx("%s", err);
		return 1;
	}
	metrics_started();
	err[0] = '\0';
	if (loops_listen(server_loops, conf, err, sizeof(err)) == -1 ||
	    ((server_metrics = metrics_http_open(server_evbase, conf, err,
	    sizeof(err))) == NULL && err[0] != '\0') ||
	    server_drop_privileges(conf, err, sizeof(err)) == -1) {
		log_errx("%s", err);
		rc = 1;
		goto out;
	}
	for (i = 0; i < nitems(sigs); i++) {
		ev[i] = evsignal_new(server_evbase, sigs[i], server_signal,
		    NULL);
		evsignal_add(ev[i], NULL);
	}
	server_tick = event_new(server_evbase, -1, EV_PERSIST, server_flush,
	    NULL);
	evtimer_add(server_tick, &tick);
	log_info("postern %s ready: %zu backends, %zu filters, %u event "
	    "loop%s, config %s", POSTERN_VERSION, conf->nbackend,
	    chain_length(chain), nloops, nloops == 1 ? "" : "s",
	    conf->source);
	(void)sd_notifyf(0, "READY=1\nSTATUS=postern %s, config %s",
	    POSTERN_VERSION, conf->source);
	loops_start(server_loops);
	event_base_dispatch(server_evbase);
	loops_join(server_loops);
	log_info("postern stopped");
	for (i = 0; i < nitems(sigs); i++)
		event_free(ev[i]);
	event_free(server_tick);
	log_limit_flush();
out:
	loops_close(server_loops);
	metrics_http_close(server_metrics);
	/* the last generation, and what a session's job still held, before
	 * the bases: the store's Redis connections live on them */
	server_gen_unref(server_current);
	worker_pool_free(server_pool);
	loops_free(server_loops);
	rdns_cache_free(server_rdns);
	event_base_free(server_evbase);
	return rc;
}

/* Every second: the counts of warnings left out (log_limited). */
static void
server_flush(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	log_limit_flush();
}

static void
server_signal(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	if (sig == SIGHUP) {
		/* systemd (Type=notify) sees the reload and its end */
		(void)sd_notify(0, "RELOADING=1");
		server_reload();
		(void)sd_notify(0, "READY=1");
		return;
	}
	if (server_draining()) {
		log_info("second stop signal: exiting now");
		loops_stop(server_loops);
		return;
	}
	server_drain();
}

/* Every loop stops taking connections and ends with its last session;
 * this one (loop 0) then waits for the others (server_run). */
static void
server_drain(void)
{
	log_info("stopping: %u sessions to finish", session_count());
	(void)sd_notify(0, "STOPPING=1");
	__atomic_store_n(&server_stopping, 1, __ATOMIC_RELAXED);
	loops_drain(server_loops, server_current->conf->shutdown_timeout);
}

/* Each line of text as a warning of its own, after prefix. */
static void
server_log_lines(const char *prefix, char *text)
{
	char	*line, *save;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		log_warnx("%s%s", prefix, line);
}

void
server_reload_refused(char *err)
{
	metrics_reloaded(NULL, NULL);
	server_log_lines("reload refused: ", err);
	log_warnx("reload refused: keeping the running configuration");
}

static void
server_reload(void)
{
	struct server_gen	*g, *old_gen;
	struct conf		*conf;
	struct chain		*chain;
	const struct conf	*old = server_current->conf;
	char			 err[1024];
	size_t			 i;

	if ((conf = conf_load(server_conf_path, server_overrides,
	    server_noverrides, err, sizeof(err))) == NULL ||
	    (chain = chain_new(conf, server_current->chain, err,
	    sizeof(err))) == NULL) {
		if (conf != NULL)
			conf_unref(conf);
		server_reload_refused(err);
		return;
	}
	if ((g = server_gen_new(conf, chain, err, sizeof(err))) == NULL) {
		server_reload_refused(err);
		return;
	}
	metrics_reloaded(old, conf);
	if (conf->nlisten != old->nlisten)
		log_warnx("proxy.listen changed: restart to apply");
	else
		for (i = 0; i < conf->nlisten; i++)
			if (strcmp(conf->listen[i].host, old->listen[i].host) ||
			    strcmp(conf->listen[i].port, old->listen[i].port)) {
				log_warnx("proxy.listen changed: restart to "
				    "apply");
				break;
			}
	if (strcmp(conf->user, old->user) != 0)
		log_warnx("proxy.user changed: restart to apply");
	if (conf->threads != old->threads)
		log_warnx("proxy.threads changed: restart to apply");
	if (conf->worker_threads != old->worker_threads ||
	    conf->worker_queue != old->worker_queue)
		log_warnx("workers.threads/queue changed: restart to apply");
	log_set_level(conf->log_level);
	log_set_repeat(conf->log_repeat_interval);
	log_set_json(conf->log_format == CONF_LOG_JSON);
	if (g->dns != server_current->dns)
		rdns_cache_clear(server_rdns);
	pthread_mutex_lock(&server_lock);
	old_gen = server_current;
	server_current = g;
	pthread_mutex_unlock(&server_lock);
	server_gen_unref(old_gen);
	log_info("configuration reloaded from %s", conf->source);
}
