/* SPDX-License-Identifier: ISC */
/*
 * server.h - the running daemon: the event loops, the configuration
 * generation in force (config + filter chain + resolved backend address,
 * swapped whole by a reload), and the signals that reload (SIGHUP) and stop
 * (SIGTERM/SIGINT: stop accepting, let transactions finish, exit).
 */
#ifndef POSTERN_SERVER_H
#define POSTERN_SERVER_H

#include <sys/socket.h>

struct conf;
struct chain;
struct tls_client;
struct backend_list;
struct tls_server;
struct iptable;
struct event_base;
struct worker_pool;
struct dns;
struct rdns_cache;

/* What a session started under; reference counted, immutable. */
struct server_gen {
	int			 refcnt;
	struct conf		*conf;		/* reference held */
	struct chain		*chain;		/* reference held */
	struct backend_list	*backends;	/* proxy.backend resolved, and
						   which failed lately */
	struct dns		*dns;		/* proxy.reverse_dns: the
						   resolver (the chain's when
						   it has one; reference
						   held), else NULL */
	struct iptable		*proxy_from;	/* proxy.proxy_protocol_from;
						   NULL = anyone may send PROXY */
	struct tls_server	*tls;		/* NULL: no tls.cert */
	struct tls_client	*tls_backend;	/* NULL: tls.backend off */
	unsigned		 max_connections;	/* proxy.max_connections
						   or fewer: what the
						   descriptor limit holds */
};

/*
 * server_run - listen as conf says and serve until stopped.  conf_path and
 * the overrides are kept to re-read the configuration on SIGHUP.  Takes
 * over the references to conf and chain.  Returns the exit status.
 */
int		 server_run(struct conf *, struct chain *, const char *conf_path,
		    char *const *overrides, size_t noverrides);

/* server_reload_refused - log a reload's errors (err: lines, cut up
 * here), each as "reload refused: ...", and that the running configuration
 * stays.  The proxy's and the milter's reload. */
void		 server_reload_refused(char *err);

/* server_drop_privileges - become proxy.user (and its groups) for good,
 * once the sockets are open; 0 (also when it is empty: then a warning when
 * running as root), or -1 with err. */
int		 server_drop_privileges(const struct conf *, char *err,
		    size_t errsz);

/*
 * server_check - what conf and chain will meet at run time, one warning a
 * line in warn ("" none): running as root without proxy.user;
 * client_identity none; an empty filters.chain; settings that differ from
 * the defaults while no filter in the chain reads them (conf_unused); more
 * connections than the descriptor limit holds (its hard value: the soft one
 * is raised to it at start), 2 a session (client, backend), 1 more for a
 * spool file, 1 for each milter, and SERVER_FD_RESERVE kept for listeners,
 * the resolver and logs.  Returns the connections to admit:
 * proxy.max_connections, or fewer when they do not fit.
 */
unsigned	 server_check(const struct conf *, const struct chain *,
		    char *warn, size_t warnsz);

/* server_gen - the current generation, with a reference for the caller. */
struct server_gen *server_gen(void);
void		 server_gen_unref(struct server_gen *);
/* server_draining - 1 after SIGTERM: finish transactions, take no more. */
int		 server_draining(void);

#endif
