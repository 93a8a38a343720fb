/* SPDX-License-Identifier: ISC */
/*
 * listener.c - listening sockets (libevent evconnlistener, SO_REUSEADDR,
 * close-on-exec), one set for each event loop (with SO_REUSEPORT when
 * there are several: the kernel spreads the connections), and admission:
 * a connection over proxy.max_connections (as the descriptor limit clamps
 * it, server_check), or over proxy.max_connections_per_ip from one
 * address, gets "421 4.7.0" and is closed before any session or backend
 * connection exists.  The counts are every loop's, exact: the total and a
 * small chained hash of counts per address keyed by the address bytes
 * (IPv4-mapped IPv6 counted as IPv4), under one mutex.  Behind a balancer
 * (proxy.proxy_protocol) the address is the client's, from the PROXY
 * header: the session asks for it then (listener_admit_client), and a
 * client over its limit gets the same 421.
 *
 * Out of descriptors (or kernel memory), accept fails until something is
 * closed, and the listening socket stays readable: every listener then
 * pauses for LISTENER_PAUSE_MS, as nginx does, instead of spinning, and
 * sessions in progress go on.  Pending connections wait in the backlog.
 *
 * Public: listener_open, listener_close, listener_admit_client,
 * listener_release.
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
#include <pthread.h>
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

struct listener {
	struct evconnlistener	*l;
	struct listener_set	*set;
	int			 tls;		/* implicit TLS */
};

/* One event loop's listening sockets. */
struct listener_set {
	struct listener		 ls[2 * CONF_LISTEN_MAX];
	size_t			 n;
	struct event		*paused;	/* the pause's timer */
	struct session_server	*srv;		/* the loop's sessions */
	char			 loop[16];	/* its number, for metrics */
	int			 reuseport;
};

static pthread_mutex_t		 listener_lock = PTHREAD_MUTEX_INITIALIZER;
static struct listener_count	*counts[LISTENER_BUCKETS];
static unsigned			 listener_admitted;	/* sessions alive */
static struct log_limit listener_log_full =
	    LOG_LIMIT("connection refused (limit)");
static struct log_limit listener_log_ip =
	    LOG_LIMIT("connection refused (per address)");
static struct log_limit listener_log_accept = LOG_LIMIT("accept");

static int	listener_open_list(struct listener_set *, struct event_base *,
		    const struct conf_addr *, size_t, int, char *, size_t);
static int	listener_admit(const struct sockaddr *, unsigned, unsigned);
static void	listener_refused_per_ip(unsigned);
static void	listener_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	listener_error(struct evconnlistener *, void *);
static void	listener_resume(evutil_socket_t, short, void *);
static struct listener_count **listener_find(const struct sockaddr *,
		    unsigned char *);
static void	listener_refuse(evutil_socket_t, int, const char *);
static void	listener_count_refused(const char *);

struct listener_set *
listener_open(struct event_base *base, const struct conf *conf,
    struct session_server *srv, unsigned loop, int reuseport, char *err,
    size_t errsz)
{
	struct listener_set	*set = xcalloc(1, sizeof(*set));

	set->srv = srv;
	set->reuseport = reuseport;
	snprintf(set->loop, sizeof(set->loop), "%u", loop);
	set->paused = evtimer_new(base, listener_resume, set);
	if (listener_open_list(set, base, conf->listen, conf->nlisten, 0,
	    err, errsz) == -1 || listener_open_list(set, base,
	    conf->listen_tls, conf->nlisten_tls, 1, err, errsz) == -1) {
		listener_close(set);
		return NULL;
	}
	return set;
}

/* The addresses of one list into set; tls: implicit TLS. */
static int
listener_open_list(struct listener_set *set, struct event_base *base,
    const struct conf_addr *addrs, size_t n, int tls, char *err,
    size_t errsz)
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
			if (set->n == nitems(set->ls))
				break;
			set->ls[set->n].set = set;
			set->ls[set->n].tls = tls;
			l = evconnlistener_new_bind(base, listener_accept,
			    &set->ls[set->n], LEV_OPT_CLOSE_ON_FREE |
			    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC |
			    (set->reuseport ? LEV_OPT_REUSEABLE_PORT : 0) |
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
			set->ls[set->n++].l = l;
		}
		freeaddrinfo(res);
		if (strcmp(set->loop, "0") == 0)
			log_info("listening on %s:%s%s", addrs[i].host,
			    addrs[i].port, tls ? " (TLS)" : "");
	}
	return 0;
}

void
listener_close(struct listener_set *set)
{
	size_t	 i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		evconnlistener_free(set->ls[i].l);
	event_free(set->paused);
	free(set);
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
	struct listener		*li = arg;
	struct server_gen	*gen = server_gen();
	const struct conf	*conf = gen->conf;

	(void)l;
	metric_add(M_CONNECTIONS_TOTAL, 1);
	/* behind a balancer (PROXY) the client's address comes later */
	switch (listener_admit(conf->proxy_protocol ? NULL : sa,
	    gen->max_connections, conf->max_connections_per_ip)) {
	case 0:
		metric_add(M_CONNECTIONS, 1);
		metric_add(M_LOOP_CONNECTIONS, 1, li->set->loop);
		evutil_make_socket_nonblocking(fd);
		session_new(fd, sa, (socklen_t)len, li->tls, gen,
		    li->set->srv);
		return;
	case 1:
		listener_count_refused("max_connections");
		log_limited(&listener_log_full, LOG_LEVEL_WARN, "connection "
		    "refused: %u connections, the limit",
		    gen->max_connections);
		listener_refuse(fd, li->tls, "Error: too many connections");
		break;
	default:
		listener_refused_per_ip(conf->max_connections_per_ip);
		listener_refuse(fd, li->tls, LISTENER_PER_IP_TEXT);
		break;
	}
	server_gen_unref(gen);
}

/*
 * Counted in, under the lock every loop takes: a connection (unless max
 * is 0) and, when sa is not NULL, one more from sa's address.  0 admitted,
 * 1 over max in all, 2 over per_ip (0: no limit) from sa's address;
 * nothing is counted unless admitted.
 */
static int
listener_admit(const struct sockaddr *sa, unsigned max, unsigned per_ip)
{
	struct listener_count	**pp = NULL, *c;
	unsigned char		 key[17];
	int			 rc = 0;

	pthread_mutex_lock(&listener_lock);
	if (sa != NULL)
		pp = listener_find(sa, key);
	if (max != 0 && listener_admitted >= max)
		rc = 1;
	else if (pp != NULL && per_ip != 0 && *pp != NULL &&
	    (*pp)->n >= per_ip)
		rc = 2;
	else {
		if (pp != NULL) {
			if ((c = *pp) == NULL) {
				c = *pp = xcalloc(1, sizeof(*c));
				memcpy(c->key, key, sizeof(c->key));
			}
			c->n++;
		}
		listener_admitted += max != 0;
	}
	pthread_mutex_unlock(&listener_lock);
	return rc;
}

int
listener_admit_client(const struct sockaddr *sa, unsigned per_ip)
{
	if (listener_admit(sa, 0, per_ip) == 0)
		return 0;
	listener_refused_per_ip(per_ip);
	return -1;
}

/* A connection over a limit, in the metrics. */
static void
listener_count_refused(const char *limit)
{
	metric_add(M_CONNECTIONS_REFUSED, 1, limit);
	metric_add(M_REFUSALS, 1, limit);
}

static void
listener_refused_per_ip(unsigned per_ip)
{
	listener_count_refused("max_connections_per_ip");
	log_limited(&listener_log_ip, LOG_LEVEL_WARN, "connection refused: "
	    "%u connections from one address, the limit", per_ip);
}

void
listener_release(const struct sockaddr *counted)
{
	struct listener_count	**pp, *c;
	unsigned char		 key[17];

	metric_add(M_CONNECTIONS, -1);
	pthread_mutex_lock(&listener_lock);
	listener_admitted--;
	if (counted != NULL && (c = *(pp = listener_find(counted, key))) !=
	    NULL && --c->n == 0) {
		*pp = c->next;
		free(c);
	}
	pthread_mutex_unlock(&listener_lock);
}

/* Out of descriptors or memory: pause every listener of the loop (the
 * others would fail alike).  Other errors belong to one pending
 * connection. */
static void
listener_error(struct evconnlistener *l, void *arg)
{
	struct listener_set	*set = ((struct listener *)arg)->set;
	struct timeval		 tv = { 0, LISTENER_PAUSE_MS * 1000 };
	int			 err = EVUTIL_SOCKET_ERROR();
	size_t			 i;

	(void)l;
	if (err != EMFILE && err != ENFILE && err != ENOBUFS &&
	    err != ENOMEM) {
		log_limited(&listener_log_accept, LOG_LEVEL_WARN, "accept: %s",
		    strerror(err));
		return;
	}
	log_limited(&listener_log_accept, LOG_LEVEL_WARN, "accept: %s: not "
	    "accepting for %d ms", strerror(err), LISTENER_PAUSE_MS);
	for (i = 0; i < set->n; i++)
		evconnlistener_disable(set->ls[i].l);
	evtimer_add(set->paused, &tv);
}

/* (A draining loop has closed its set, and the timer with it.) */
static void
listener_resume(evutil_socket_t fd, short ev, void *arg)
{
	struct listener_set	*set = arg;
	size_t			 i;

	(void)fd;
	(void)ev;
	for (i = 0; i < set->n; i++)
		evconnlistener_enable(set->ls[i].l);
}
