/* SPDX-License-Identifier: ISC */
/*
 * session.h - one client connection: the client-side SMTP state machine,
 * driving the filter chain and the backend connection.
 */
#ifndef POSTERN_SESSION_H
#define POSTERN_SESSION_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdint.h>

struct event_base;
struct rdns_cache;
struct server_gen;
struct worker_pool;

/*
 * What a session needs of the server that runs it, given to session_new,
 * so session code calls nothing of the server's or the listeners': the
 * event loop, the worker pool, the cache of clients' names, whether a
 * shutdown is under way, and what to do when a session ends (release its
 * peer's connection count and its generation, let a shutdown complete).
 */
struct session;

/* One event loop's: what its sessions get of the server, and the list of
 * them. */
struct session_server {
	struct event_base	*base;
	struct worker_pool	*workers;	/* this loop's handle */
	struct rdns_cache	*rdns;		/* shared */
	int			(*draining)(void);
	void			(*gone)(struct session_server *,
				    const struct sockaddr *peer,
				    struct server_gen *);
	TAILQ_HEAD(, session)	 sessions;	/* session.c's */
	unsigned		 nsessions;
};

/* session_new - take over the accepted socket fd from peer sa and a
 * reference to gen, the configuration generation it runs under; tls: on
 * an implicit-TLS listener (the handshake comes first).  On srv's loop. */
void		 session_new(int fd, const struct sockaddr *sa, socklen_t len,
		    int tls, struct server_gen *gen, struct session_server *);
/* session_count - sessions alive on every loop. */
unsigned	 session_count(void);
/* session_drain_all - SIGTERM: close every session of srv's loop that is
 * not in the middle of a transaction (421); the others close after it.
 * On that loop. */
void		 session_drain_all(struct session_server *);
/* session_free_all - final exit: drop whatever is left of srv's. */
void		 session_free_all(struct session_server *);

struct conf;
/* session_memory_max - the most memory one client connection can hold
 * under conf, in bytes (postern check). */
uint64_t	 session_memory_max(const struct conf *);

#endif
