/* SPDX-License-Identifier: ISC */
/*
 * backend_list.c - the backends a client connection may be relayed to (see
 * backend_list.h).
 *
 * Each entry of proxy.backend is resolved once a generation.  An entry
 * that refused the connection, timed out or greeted with other than 2xx is
 * marked with the time; for proxy.backend_retry it comes after every entry
 * that is not marked, and the marked ones come in the order they failed,
 * so a connection still tries them all before the client hears 421.
 *
 * Each entry also keeps what it announced to EHLO (in clear and inside
 * TLS), so that the next session can send XCLIENT right after the
 * greeting, without an EHLO that only asks what is already known.  An
 * entry that refuses such an XCLIENT is asked with EHLO first from then on.
 * And whether it took XFORWARD last time, after which sessions pipeline
 * XFORWARD with MAIL.
 *
 * The marks and the extensions live in the list, so a reload carries them
 * over to the new list for every entry whose "host:port" it keeps.
 *
 * Public: backend_list_new, backend_list_free, backend_list_start,
 * backend_list_next, backend_list_failed, backend_list_name,
 * backend_list_host, backend_list_caps, backend_list_learn,
 * backend_list_unlearn, backend_list_xforward, backend_list_set_xforward.
 *
 * DIAGNOSTICS
 *	"proxy.backend <entry>: <why>" when an entry does not resolve (or a
 *	unix: path does not fit).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/metrics.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "proxy/backend_list.h"

struct backend_entry {
	char			 name[300];	/* as configured */
	const char		*host;		/* conf's, not duplicated */
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	uint64_t		 failed;	/* ms; 0 = not lately */
	struct smtp_ehlo	 caps[2];	/* EHLO's answer: in clear, in
						   TLS */
	int			 known[2];	/* caps[i] is set */
	int			 ehlo_first;	/* refused XCLIENT without EHLO */
	int			 xforward;	/* took XFORWARD (last time) */
};

struct backend_list {
	pthread_mutex_t		 lock;		/* the marks: every loop's */
	const struct conf	*conf;		/* not duplicated */
	struct backend_entry	 e[CONF_BACKEND_MAX];
	size_t			 n;
};

static int	backend_list_resolve(struct backend_entry *,
		    const struct conf_addr *, char *, size_t);
static int	backend_list_down(const struct backend_list *, size_t,
		    uint64_t);
static void	backend_list_keep(struct backend_entry *,
		    const struct backend_entry *);

struct backend_list *
backend_list_new(const struct conf *conf, struct backend_list *old,
    char *err, size_t errsz)
{
	struct backend_list	*l;
	size_t			 i, j;

	l = xcalloc(1, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	l->conf = conf;
	for (i = 0; i < conf->nbackend; i++, l->n++) {
		if (backend_list_resolve(&l->e[i], &conf->backend[i], err,
		    errsz) == -1) {
			backend_list_free(l);
			return NULL;
		}
		if (old != NULL)
			pthread_mutex_lock(&old->lock);
		for (j = 0; old != NULL && j < old->n; j++)
			if (strcmp(old->e[j].name, l->e[i].name) == 0)
				backend_list_keep(&l->e[i], &old->e[j]);
		if (old != NULL)
			pthread_mutex_unlock(&old->lock);
	}
	return l;
}

void
backend_list_free(struct backend_list *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* What old learnt of the same backend, for e (resolved anew). */
static void
backend_list_keep(struct backend_entry *e, const struct backend_entry *old)
{
	e->failed = old->failed;
	memcpy(e->caps, old->caps, sizeof(e->caps));
	memcpy(e->known, old->known, sizeof(e->known));
	e->ehlo_first = old->ehlo_first;
	e->xforward = old->xforward;
}

static int
backend_list_resolve(struct backend_entry *e, const struct conf_addr *a,
    char *err, size_t errsz)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)&e->sa;
	struct addrinfo		 hints, *res;
	int			 rc;

	e->host = a->host;
	if (a->port[0] == '\0') {
		snprintf(e->name, sizeof(e->name), "unix:%s", a->host);
		sun->sun_family = AF_UNIX;
		if (strlcpy(sun->sun_path, a->host, sizeof(sun->sun_path)) >=
		    sizeof(sun->sun_path)) {
			snprintf(err, errsz, "proxy.backend %s: path too long",
			    e->name);
			return -1;
		}
		e->salen = sizeof(*sun);
		e->host = "";
		return 0;
	}
	snprintf(e->name, sizeof(e->name), strchr(a->host, ':') != NULL ?
	    "[%s]:%s" : "%s:%s", a->host, a->port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(a->host, a->port, &hints, &res)) != 0) {
		snprintf(err, errsz, "proxy.backend %s: %s", e->name,
		    gai_strerror(rc));
		return -1;
	}
	memcpy(&e->sa, res->ai_addr, res->ai_addrlen);
	e->salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Whether entry i failed within proxy.backend_retry of now. */
static int
backend_list_down(const struct backend_list *l, size_t i, uint64_t now)
{
	return l->e[i].failed != 0 &&
	    now - l->e[i].failed < (uint64_t)l->conf->backend_retry * 1000;
}

void
backend_list_start(struct backend_list *l, struct backend_try *t,
    uint64_t now)
{
	size_t	 i, j, up = 0, tmp;

	pthread_mutex_lock(&l->lock);
	memset(t, 0, sizeof(*t));
	t->deadline = now + (uint64_t)l->conf->connect_timeout * 1000;
	for (i = 0; i < l->n; i++)
		if (!backend_list_down(l, i, now))
			t->order[up++] = i;
	if (l->conf->backend_order == CONF_BACKEND_ORDER_RANDOM)
		for (i = up; i > 1; i--) {
			j = arc4random_uniform((uint32_t)i);
			tmp = t->order[i - 1];
			t->order[i - 1] = t->order[j];
			t->order[j] = tmp;
		}
	t->n = up;
	/* The failed ones, longest-failed first (insertion: n <= 8). */
	for (i = 0; i < l->n; i++) {
		if (!backend_list_down(l, i, now))
			continue;
		for (j = t->n; j > up &&
		    l->e[t->order[j - 1]].failed > l->e[i].failed; j--)
			t->order[j] = t->order[j - 1];
		t->order[j] = i;
		t->n++;
	}
	pthread_mutex_unlock(&l->lock);
}

int
backend_list_next(const struct backend_list *l, struct backend_try *t,
    uint64_t now, const struct sockaddr **sa, socklen_t *salen,
    uint64_t *ms)
{
	const struct backend_entry	*e;

	if (t->next == t->n || now >= t->deadline)
		return -1;
	/* An equal share of what is left for each entry still to try, so a
	 * backend that never greets leaves time for the next. */
	*ms = (t->deadline - now) / (t->n - t->next);
	t->cur = t->order[t->next++];
	e = &l->e[t->cur];
	*sa = (const struct sockaddr *)&e->sa;
	*salen = e->salen;
	return 0;
}

void
backend_list_failed(struct backend_list *l, const struct backend_try *t,
    uint64_t now)
{
	pthread_mutex_lock(&l->lock);
	l->e[t->cur].failed = now != 0 ? now : 1;
	pthread_mutex_unlock(&l->lock);
	metric_add(M_BACKEND_CONNECT_FAILURES, 1, l->e[t->cur].name);
}

const char *
backend_list_name(const struct backend_list *l, const struct backend_try *t)
{
	return l->e[t->cur].name;
}

const char *
backend_list_host(const struct backend_list *l, const struct backend_try *t)
{
	return l->e[t->cur].host;
}

int
backend_list_caps(struct backend_list *l, const struct backend_try *t,
    int tls, struct smtp_ehlo *caps)
{
	const struct backend_entry *e = &l->e[t->cur];
	int			 known;

	pthread_mutex_lock(&l->lock);
	if ((known = e->known[tls != 0] && !e->ehlo_first))
		*caps = e->caps[tls != 0];
	pthread_mutex_unlock(&l->lock);
	return known;
}

void
backend_list_learn(struct backend_list *l, const struct backend_try *t,
    int tls, const struct smtp_ehlo *caps)
{
	struct backend_entry	*e = &l->e[t->cur];

	pthread_mutex_lock(&l->lock);
	e->caps[tls != 0] = *caps;
	e->known[tls != 0] = 1;
	pthread_mutex_unlock(&l->lock);
}

void
backend_list_unlearn(struct backend_list *l, const struct backend_try *t)
{
	pthread_mutex_lock(&l->lock);
	l->e[t->cur].ehlo_first = 1;
	pthread_mutex_unlock(&l->lock);
}

int
backend_list_xforward(struct backend_list *l, const struct backend_try *t)
{
	int	 ok;

	pthread_mutex_lock(&l->lock);
	ok = l->e[t->cur].xforward;
	pthread_mutex_unlock(&l->lock);
	return ok;
}

void
backend_list_set_xforward(struct backend_list *l, const struct backend_try *t,
    int ok)
{
	pthread_mutex_lock(&l->lock);
	l->e[t->cur].xforward = ok;
	pthread_mutex_unlock(&l->lock);
}
