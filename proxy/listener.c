/* SPDX-License-Identifier: ISC */
/*
 * listener.c - listening sockets (libevent evconnlistener, SO_REUSEADDR,
 * close-on-exec) and admission: a connection over proxy.max_connections
 * (as the descriptor limit clamps it, server_check), or over
 * proxy.max_connections_per_ip from one address, gets "421 4.7.0" and is
 * closed before any session or backend connection exists.  Counts per
 * address live in a small chained hash keyed by the address bytes
 * (IPv4-mapped IPv6 counted as IPv4).
 *
 * Out of descriptors (or kernel memory), accept fails until something is
 * closed, and the listening socket stays readable: every listener then
 * pauses for LISTENER_PAUSE_MS, as nginx does, instead of spinning, and
 * sessions in progress go on.  Pending connections wait in the backlog.
 *
 * Public: listener_open, listener_close, listener_release.
 *
 * DIAGNOSTICS
 *	listener_open reports "address: strerror".  Refused connections and
 *	accept errors are logged through log_limited: "connection refused:
 *	...", "accept: strerror: not accepting for 500 ms", each followed by
 *	its count ("... N more like this in the last Ts").
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "proxy/listener.h"
#include "proxy/server.h"
#include "proxy/session.h"

#define LISTENER_BUCKETS	4096
/* Accept paused this long when descriptors run out: long enough not to
 * spin, short enough that a freed descriptor is soon used (nginx waits
 * its accept_mutex_delay, 500 ms). */
#define LISTENER_PAUSE_MS	500

struct listener_count {
	struct listener_count	*next;
	unsigned char		 key[17];	/* family byte + address */
	unsigned		 n;
};

static struct evconnlistener	*listeners[2 * CONF_LISTEN_MAX];
static int			 listener_tls;	/* its address marks TLS
						   listeners */
static size_t			 nlisteners;
static struct listener_count	*counts[LISTENER_BUCKETS];
static struct event		*listener_paused;	/* the pause's timer */
static struct log_limit listener_log_full =
	    LOG_LIMIT("connection refused (limit)");
static struct log_limit listener_log_ip =
	    LOG_LIMIT("connection refused (per address)");
static struct log_limit listener_log_accept = LOG_LIMIT("accept");

static int	listener_open_list(struct event_base *,
		    const struct conf_addr *, size_t, int, char *, size_t);
static void	listener_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	listener_error(struct evconnlistener *, void *);
static void	listener_resume(evutil_socket_t, short, void *);
static struct listener_count **listener_find(const struct sockaddr *,
		    unsigned char *);
static void	listener_refuse(evutil_socket_t, int, const char *);
static void	listener_count_refused(const char *);

int
listener_open(struct event_base *base, const struct conf *conf, char *err,
    size_t errsz)
{
	if (listener_paused == NULL)
		listener_paused = evtimer_new(base, listener_resume, NULL);
	if (listener_open_list(base, conf->listen, conf->nlisten, 0, err,
	    errsz) == -1)
		return -1;
	return listener_open_list(base, conf->listen_tls, conf->nlisten_tls,
	    1, err, errsz);
}

/* The addresses of one list; tls: implicit TLS (the listener's arg). */
static int
listener_open_list(struct event_base *base, const struct conf_addr *addrs,
    size_t n, int tls, char *err, size_t errsz)
{
	struct addrinfo		 hints, *res, *ai;
	struct evconnlistener	*l;
	size_t			 i;
	int			 rc;

	for (i = 0; i < n; i++) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
		rc = getaddrinfo(addrs[i].host, addrs[i].port, &hints, &res);
		if (rc != 0) {
			snprintf(err, errsz, "listen %s:%s: %s",
			    addrs[i].host, addrs[i].port, gai_strerror(rc));
			return -1;
		}
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			if (nlisteners == nitems(listeners))
				break;
			l = evconnlistener_new_bind(base, listener_accept,
			    tls ? &listener_tls : NULL, LEV_OPT_CLOSE_ON_FREE |
			    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC |
			    (ai->ai_family == AF_INET6 ?
			    LEV_OPT_BIND_IPV6ONLY : 0), 1024, ai->ai_addr,
			    (int)ai->ai_addrlen);
			if (l == NULL) {
				snprintf(err, errsz, "listen %s:%s: %s",
				    addrs[i].host, addrs[i].port,
				    strerror(errno));
				freeaddrinfo(res);
				return -1;
			}
			evconnlistener_set_error_cb(l, listener_error);
			listeners[nlisteners++] = l;
		}
		freeaddrinfo(res);
		log_info("listening on %s:%s%s", addrs[i].host, addrs[i].port,
		    tls ? " (TLS)" : "");
	}
	return 0;
}

void
listener_close(void)
{
	size_t	 i;

	for (i = 0; i < nlisteners; i++)
		evconnlistener_free(listeners[i]);
	nlisteners = 0;
	if (listener_paused != NULL)
		event_free(listener_paused);
	listener_paused = NULL;
}

/* The bucket slot for sa's address (key filled in). */
static struct listener_count **
listener_find(const struct sockaddr *sa, unsigned char *key)
{
	const struct sockaddr_in6	*sin6 = (const void *)sa;
	const struct sockaddr_in	*sin = (const void *)sa;
	struct listener_count		**pp;
	unsigned			 h = 2166136261u;
	size_t				 i;

	memset(key, 0, 17);
	if (sa->sa_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		key[0] = 6;
		memcpy(key + 1, &sin6->sin6_addr, 16);
	} else {
		key[0] = 4;
		memcpy(key + 1, sa->sa_family == AF_INET ?
		    (const void *)&sin->sin_addr :
		    (const void *)&sin6->sin6_addr.s6_addr[12], 4);
	}
	for (i = 0; i < 17; i++)
		h = (h ^ key[i]) * 16777619u;
	for (pp = &counts[h % LISTENER_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->next)
		if (memcmp((*pp)->key, key, 17) == 0)
			break;
	return pp;
}

/* (On a TLS listener no plain text reply: the client expects TLS.) */
static void
listener_refuse(evutil_socket_t fd, int tls, const char *why)
{
	char	 reply[512];
	int	 n;

	n = snprintf(reply, sizeof(reply), "421 4.7.0 %s\r\n", why);
	if (!tls)
		(void)send(fd, reply, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void
listener_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	struct server_gen	*gen = server_gen();
	const struct conf	*conf = gen->conf;
	struct listener_count	**pp, *c;
	unsigned char		 key[17];
	int			 tls = arg == &listener_tls;

	(void)l;
	pp = listener_find(sa, key);
	metric_add(M_CONNECTIONS_TOTAL, 1);
	if (session_count() >= gen->max_connections) {
		listener_count_refused("max_connections");
		log_limited(&listener_log_full, LOG_LEVEL_WARN, "connection "
		    "refused: %u connections, the limit", session_count());
		listener_refuse(fd, tls, "Error: too many connections");
	} else if (conf->max_connections_per_ip != 0 && *pp != NULL &&
	    (*pp)->n >= conf->max_connections_per_ip) {
		listener_count_refused("max_connections_per_ip");
		log_limited(&listener_log_ip, LOG_LEVEL_WARN, "connection "
		    "refused: %u connections from one address, the limit",
		    (*pp)->n);
		listener_refuse(fd, tls, "Error: too many connections from "
		    "your address");
	} else {
		if ((c = *pp) == NULL) {
			c = *pp = xcalloc(1, sizeof(*c));
			memcpy(c->key, key, sizeof(c->key));
		}
		c->n++;
		metric_add(M_CONNECTIONS, 1);
		evutil_make_socket_nonblocking(fd);
		session_new(fd, sa, (socklen_t)len, tls, server_gen(),
		    server_sessions());
	}
	server_gen_unref(gen);
}

/* A connection over a limit, in the metrics. */
static void
listener_count_refused(const char *limit)
{
	metric_add(M_CONNECTIONS_REFUSED, 1, limit);
	metric_add(M_REFUSALS, 1, limit);
}

void
listener_release(const struct sockaddr *sa)
{
	struct listener_count	**pp, *c;
	unsigned char		 key[17];

	metric_add(M_CONNECTIONS, -1);
	pp = listener_find(sa, key);
	if ((c = *pp) == NULL)
		return;
	if (--c->n == 0) {
		*pp = c->next;
		free(c);
	}
}

/* Out of descriptors or memory: pause every listener (the others would
 * fail alike).  Other errors belong to one pending connection. */
static void
listener_error(struct evconnlistener *l, void *arg)
{
	struct timeval	 tv = { 0, LISTENER_PAUSE_MS * 1000 };
	int		 err = EVUTIL_SOCKET_ERROR();
	size_t		 i;

	(void)l;
	(void)arg;
	if (err != EMFILE && err != ENFILE && err != ENOBUFS &&
	    err != ENOMEM) {
		log_limited(&listener_log_accept, LOG_LEVEL_WARN, "accept: %s",
		    strerror(err));
		return;
	}
	log_limited(&listener_log_accept, LOG_LEVEL_WARN, "accept: %s: not "
	    "accepting for %d ms", strerror(err), LISTENER_PAUSE_MS);
	for (i = 0; i < nlisteners; i++)
		evconnlistener_disable(listeners[i]);
	evtimer_add(listener_paused, &tv);
}

/* (A draining server has closed its listeners: nothing to resume.) */
static void
listener_resume(evutil_socket_t fd, short ev, void *arg)
{
	size_t	 i;

	(void)fd;
	(void)ev;
	(void)arg;
	if (server_draining())
		return;
	for (i = 0; i < nlisteners; i++)
		evconnlistener_enable(listeners[i]);
}
