/* SPDX-License-Identifier: ISC */
/*
 * dns.c - the shared caching resolver (see dns.h), on libunbound.
 *
 * libunbound resolves on a thread of its own (ub_ctx_async threads, never a
 * fork: we are multi-threaded).  A lookup is started with ub_resolve_async
 * by the worker thread that wants it; one poller thread of ours waits on
 * ub_fd() and runs ub_process(), which delivers each answer to its callback;
 * the callback hands it to the waiting worker through a condition variable.
 * A worker that reaches dns.timeout first abandons the lookup: ub_cancel
 * makes sure the callback will not run, or, when the answer is already on
 * its way, the callback sees the flag and frees the answer itself.  Exactly
 * one of the two frees the lookup.
 *
 * The cache is unbound's: every answer is kept for its TTL, within
 * dns.cache_size.  We are a stub: every name goes to the upstream servers,
 * so unbound's built-in answers for private and documentation reverse
 * zones (RFC 6303) and special-use names are switched off; only the
 * localhost names stay local.
 *
 * Public: dns_new, dns_ref, dns_unref, dns_serves, dns_local_zone,
 * dns_local_data, dns_query, dns_query_all, dns_answer_free,
 * dns_txt_from_wire,
 * dns_name_from_wire.
 *
 * DIAGNOSTICS
 *	dns_new: "dns.nameserver: 'x' is not an address[@port]" and
 *	libunbound's own errors, as "dns: <what>: <ub_strerror>".
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <unbound.h>

#include "lib/dns.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"

#define DNS_CLASS_IN	1
#define DNS_RCODE_NXDOMAIN 3

struct dns {
	int		 refcnt;
	struct ub_ctx	*ctx;
	struct dns_settings set;		/* as given */
	unsigned	 timeout_ms;
	pthread_mutex_t	 lock;		/* lookups' done/abandoned/result */
	pthread_cond_t	 answered;	/* broadcast on each answer */
	pthread_t	 poller;
	int		 stop[2];	/* pipe: wakes the poller to exit */
};

/* An answer's private part: libunbound's result, and its lengths as
 * size_t (libunbound has int). */
struct dns_held {
	struct ub_result *res;
	size_t		 len[];
};

/* One lookup in flight: owned by the waiter, or by the callback once the
 * waiter abandoned it. */
struct dns_lookup {
	struct dns	*dns;
	int		 done;
	int		 abandoned;
	int		 err;		/* libunbound's */
	struct ub_result *res;
	double		 started;	/* util_now_s */
	double		 took;		/* seconds, once done */
};

/* unbound's default local zones that the upstream should answer instead
 * (the RFC 1918 and RFC 6598 ones go with unblock-lan-zones). */
static const char *const dns_upstream_zones[] = {
	"test.", "invalid.", "onion.", "home.arpa.", "0.in-addr.arpa.",
	"254.169.in-addr.arpa.", "2.0.192.in-addr.arpa.",
	"100.51.198.in-addr.arpa.", "113.0.203.in-addr.arpa.",
	"8.b.d.0.1.0.0.2.ip6.arpa.",
};

static int	dns_configure(struct dns *, char *,
		    size_t);
static int	dns_set_upstream(struct dns *, const char *, char *, size_t);
static void	*dns_poll(void *);
static void	dns_answered(void *, int, struct ub_result *);
static void	dns_fill(struct dns_answer *, int, struct ub_result *);
static void	dns_deadline(struct timespec *, unsigned);
static void	dns_count(const struct dns_answer *, double);
static int	dns_wire_join(const unsigned char *, size_t, int, char *,
		    size_t);

struct dns *
dns_new(const struct dns_settings *set, char *err, size_t errsz)
{
	struct dns		*d;
	pthread_condattr_t	 ca;

	d = xcalloc(1, sizeof(*d));
	d->refcnt = 1;
	d->set = *set;
	d->timeout_ms = set->timeout * 1000;
	d->stop[0] = d->stop[1] = -1;
	if ((d->ctx = ub_ctx_create()) == NULL) {
		util_err_append(err, errsz, "dns: cannot create a resolver");
		free(d);
		return NULL;
	}
	if (dns_configure(d, err, errsz) == -1) {
		dns_unref(d);
		return NULL;
	}
	if (pipe2(d->stop, O_CLOEXEC) == -1)
		fatal("dns: pipe");
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->answered, &ca);
	pthread_condattr_destroy(&ca);
	if ((errno = pthread_create(&d->poller, NULL, dns_poll, d)) != 0)
		fatal("dns: pthread_create");
	return d;
}

/* Options, upstream servers and the hosts file, before the first lookup
 * (libunbound freezes its configuration then). */
static int
dns_configure(struct dns *d, char *err, size_t errsz)
{
	char	 num[32], zone[64];
	size_t	 i;
	int	 rc;

	snprintf(num, sizeof(num), "%u", d->set.retries);
	if ((rc = ub_ctx_async(d->ctx, 1)) != 0 ||
	    (rc = ub_ctx_set_option(d->ctx, "outbound-msg-retry:", num)) != 0)
		goto fail;
	snprintf(num, sizeof(num), "%zu", d->set.cache_size / 2);
	if ((rc = ub_ctx_set_option(d->ctx, "msg-cache-size:", num)) != 0 ||
	    (rc = ub_ctx_set_option(d->ctx, "rrset-cache-size:", num)) != 0 ||
	    (rc = ub_ctx_set_option(d->ctx, "unblock-lan-zones:", "yes")) != 0 ||
	    (rc = ub_ctx_set_option(d->ctx, "insecure-lan-zones:", "yes")) != 0)
		goto fail;
	/* As options: ub_ctx_zone_add would freeze the configuration. */
	for (i = 0; i < nitems(dns_upstream_zones); i++) {
		snprintf(zone, sizeof(zone), "%s nodefault",
		    dns_upstream_zones[i]);
		if ((rc = ub_ctx_set_option(d->ctx, "local-zone:", zone)) != 0)
			goto fail;
	}
	if (d->set.nameserver[0] != '\0')
		return dns_set_upstream(d, d->set.nameserver, err, errsz);
	if ((rc = ub_ctx_resolvconf(d->ctx, NULL)) != 0) {
		util_err_append(err, errsz, "dns: /etc/resolv.conf: %s (or "
		    "set dns.nameserver)", ub_strerror(rc));
		return -1;
	}
	if ((rc = ub_ctx_hosts(d->ctx, NULL)) != 0) {
		util_err_append(err, errsz, "dns: /etc/hosts: %s",
		    ub_strerror(rc));
		return -1;
	}
	return 0;
 fail:
	util_err_append(err, errsz, "dns: configuring libunbound: %s",
	    ub_strerror(rc));
	return -1;
}

/* dns.nameserver: "ip[@port]" items, blank- or comma-separated. */
static int
dns_set_upstream(struct dns *d, const char *list, char *err, size_t errsz)
{
	char		 item[128], host[128], *at;
	unsigned char	 bin[16];
	size_t		 n;
	int		 rc, bad = 0;

	ub_ctx_set_option(d->ctx, "do-not-query-localhost:", "no");
	for (list += strspn(list, " \t,"); *list != '\0';
	    list += strspn(list, " \t,")) {
		n = strcspn(list, " \t,");
		snprintf(item, sizeof(item), "%.*s", (int)n, list);
		list += n;
		strlcpy(host, item, sizeof(host));
		if ((at = strchr(host, '@')) != NULL)
			*at = '\0';
		if (n >= sizeof(item) || (inet_pton(AF_INET, host, bin) != 1 &&
		    inet_pton(AF_INET6, host, bin) != 1) || (at != NULL &&
		    (at[1] == '\0' || strspn(at + 1, "0123456789") !=
		    strlen(at + 1) || atol(at + 1) > 65535))) {
			util_err_append(err, errsz, "dns.nameserver: '%s' is "
			    "not an address[@port]", item);
			bad = 1;
		} else if ((rc = ub_ctx_set_fwd(d->ctx, item)) != 0) {
			util_err_append(err, errsz, "dns.nameserver: %s: %s",
			    item, ub_strerror(rc));
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

struct dns *
dns_ref(struct dns *d)
{
	__atomic_add_fetch(&d->refcnt, 1, __ATOMIC_RELAXED);
	return d;
}

int
dns_serves(const struct dns *d, const struct dns_settings *set)
{
	return strcmp(d->set.nameserver, set->nameserver) == 0 &&
	    d->set.timeout == set->timeout &&
	    d->set.retries == set->retries &&
	    d->set.cache_size == set->cache_size;
}

void
dns_unref(struct dns *d)
{
	if (d == NULL ||
	    __atomic_sub_fetch(&d->refcnt, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	if (d->stop[1] != -1) {
		if (write(d->stop[1], "x", 1) == 1)
			pthread_join(d->poller, NULL);
		close(d->stop[0]);
		close(d->stop[1]);
		pthread_cond_destroy(&d->answered);
		pthread_mutex_destroy(&d->lock);
	}
	ub_ctx_delete(d->ctx);
	free(d);
}

int
dns_local_zone(struct dns *d, const char *zone, const char *type, char *err,
    size_t errsz)
{
	int	 rc;

	if ((rc = ub_ctx_zone_add(d->ctx, zone, type)) != 0) {
		snprintf(err, errsz, "local zone %s %s: %s", zone, type,
		    ub_strerror(rc));
		return -1;
	}
	return 0;
}

int
dns_local_data(struct dns *d, const char *rr, char *err, size_t errsz)
{
	int	 rc;

	if ((rc = ub_ctx_data_add(d->ctx, rr)) != 0) {
		snprintf(err, errsz, "local data '%s': %s", rr,
		    ub_strerror(rc));
		return -1;
	}
	return 0;
}

/* The poller thread: every answer libunbound has is delivered here. */
static void *
dns_poll(void *arg)
{
	struct dns	*d = arg;
	struct pollfd	 pfd[2];

	pfd[0].fd = ub_fd(d->ctx);
	pfd[0].events = POLLIN;
	pfd[1].fd = d->stop[0];
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("dns: poll");
		}
		if (pfd[1].revents != 0)
			return NULL;
		if (pfd[0].revents != 0)
			ub_process(d->ctx);
	}
}

/* libunbound's callback, on the poller thread. */
static void
dns_answered(void *arg, int err, struct ub_result *res)
{
	struct dns_lookup	*l = arg;
	struct dns		*d = l->dns;

	pthread_mutex_lock(&d->lock);
	if (l->abandoned) {
		pthread_mutex_unlock(&d->lock);
		if (res != NULL)
			ub_resolve_free(res);
		free(l);
		return;
	}
	l->done = 1;
	l->err = err;
	l->res = res;
	l->took = util_now_s() - l->started;
	pthread_cond_broadcast(&d->answered);
	pthread_mutex_unlock(&d->lock);
}

void
dns_query(struct dns *d, const char *name, int type, uint64_t until_ms,
    struct dns_answer *ans)
{
	struct dns_question	 q = { name, type };

	dns_query_all(d, &q, 1, until_ms, ans);
}

void
dns_query_all(struct dns *d, const struct dns_question *q, size_t n,
    uint64_t until_ms, struct dns_answer *ans)
{
	struct dns_lookup	**l = xcalloc(n, sizeof(*l));
	int			*id = xcalloc(n, sizeof(*id));
	struct timespec		 until;
	uint64_t		 now = util_now_ms();
	unsigned		 wait_ms = d->timeout_ms;
	size_t			 i, left = 0;
	int			 rc, timedout = 0;

	for (i = 0; i < n; i++) {
		memset(&ans[i], 0, sizeof(ans[i]));
		ans[i].status = DNS_TEMPFAIL;
	}
	if (until_ms != 0 && until_ms <= now)
		wait_ms = 0;			/* no lookup at all */
	else if (until_ms != 0 && until_ms - now < wait_ms)
		wait_ms = (unsigned)(until_ms - now);
	for (i = 0; i < n && wait_ms > 0; i++) {
		l[i] = xcalloc(1, sizeof(*l[i]));
		l[i]->dns = d;
		l[i]->started = util_now_s();
		if ((rc = ub_resolve_async(d->ctx, q[i].name, q[i].type,
		    DNS_CLASS_IN, l[i], dns_answered, &id[i])) != 0) {
			log_debug("dns: %s: %s", q[i].name, ub_strerror(rc));
			free(l[i]);
			l[i] = NULL;
		} else
			left++;
	}
	dns_deadline(&until, wait_ms);
	pthread_mutex_lock(&d->lock);
	/* count before waiting: an answer may have come (and its broadcast
	 * gone) before the lock was ours */
	for (;;) {
		for (i = 0, left = 0; i < n; i++)
			left += l[i] != NULL && !l[i]->done;
		if (left == 0 || timedout)
			break;
		timedout = pthread_cond_timedwait(&d->answered, &d->lock,
		    &until) == ETIMEDOUT;
	}
	for (i = 0; i < n; i++)
		if (l[i] != NULL && !l[i]->done)
			l[i]->abandoned = 1;
	pthread_mutex_unlock(&d->lock);
	for (i = 0; i < n; i++) {
		if (l[i] == NULL)
			continue;
		if (!l[i]->abandoned) {
			dns_fill(&ans[i], l[i]->err, l[i]->res);
			dns_count(&ans[i], l[i]->took);
			free(l[i]);
			continue;
		}
		dns_count(NULL, util_now_s() - l[i]->started);
		/* Cancelled: no callback will come, the lookup is ours.
		 * Otherwise the callback is on its way and frees it. */
		if (ub_cancel(d->ctx, id[i]) == 0)
			free(l[i]);
		log_debug("dns: %s: no answer within %ums", q[i].name, wait_ms);
	}
	free(l);
	free(id);
}

/* A lookup in the metrics: its result (ans NULL: no answer in time)
 * and how long it took. */
static void
dns_count(const struct dns_answer *ans, double took)
{
	static const char *const results[] = {
		[DNS_OK] = "answer", [DNS_NXDOMAIN] = "nxdomain",
		[DNS_NODATA] = "nodata", [DNS_TEMPFAIL] = "error"
	};

	metric_add(M_DNS_LOOKUPS, 1, ans != NULL ? results[ans->status] :
	    "timeout");
	metric_observe(M_DNS_LOOKUP_SECONDS, took);
}

/* *until: wait_ms from now, on the monotonic clock of d->answered. */
static void
dns_deadline(struct timespec *until, unsigned wait_ms)
{
	clock_gettime(CLOCK_MONOTONIC, until);
	until->tv_sec += wait_ms / 1000;
	until->tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}

/* ans from libunbound's outcome; takes res over. */
static void
dns_fill(struct dns_answer *ans, int err, struct ub_result *res)
{
	struct dns_held	*h;
	size_t		 n, i;

	if (err != 0 || res == NULL) {
		if (res != NULL)
			ub_resolve_free(res);
		return;
	}
	for (n = 0; res->havedata && res->data[n] != NULL; n++)
		;
	h = xcalloc(1, sizeof(*h) + n * sizeof(h->len[0]));
	h->res = res;
	for (i = 0; i < n; i++)
		h->len[i] = res->len[i] < 0 ? 0 : (size_t)res->len[i];
	ans->priv = h;
	ans->ttl = res->ttl < 0 ? 0 : (unsigned)res->ttl;
	if (res->rcode == DNS_RCODE_NXDOMAIN || res->nxdomain)
		ans->status = DNS_NXDOMAIN;
	else if (res->rcode != 0)
		ans->status = DNS_TEMPFAIL;
	else if (!res->havedata)
		ans->status = DNS_NODATA;
	else {
		ans->status = DNS_OK;
		ans->n = n;
		ans->data = (const unsigned char *const *)res->data;
		ans->len = h->len;
	}
}

void
dns_answer_free(struct dns_answer *ans)
{
	struct dns_held	*h = ans->priv;

	if (h != NULL) {
		ub_resolve_free(h->res);
		free(h);
	}
	memset(ans, 0, sizeof(*ans));
}

/*
 * The <len><bytes> strings at data[0..len) into buf: a TXT's strings
 * joined with nothing between, or (name) a name's labels joined with dots,
 * ending at the root label, each of 1 to 63 bytes without a dot.  No NUL
 * inside.  Returns the bytes of data used, or -1.
 */
static int
dns_wire_join(const unsigned char *data, size_t len, int name, char *buf,
    size_t bufsz)
{
	size_t	 i = 0, o = 0, l, dot;

	if (bufsz == 0)
		return -1;
	while (i < len) {
		if ((l = data[i++]) == 0 && name) {
			buf[o] = '\0';
			return (int)i;
		}
		dot = name && o > 0;
		if (l > len - i || o + dot + l >= bufsz ||
		    memchr(data + i, '\0', l) != NULL || (name && (l > 63 ||
		    memchr(data + i, '.', l) != NULL)))
			return -1;
		if (dot)
			buf[o++] = '.';
		memcpy(buf + o, data + i, l);
		o += l;
		i += l;
	}
	if (name)
		return -1;	/* no root label */
	buf[o] = '\0';
	return (int)i;
}

int
dns_txt_from_wire(const unsigned char *data, size_t len, char *buf,
    size_t bufsz)
{
	return dns_wire_join(data, len, 0, buf, bufsz) == -1 ? -1 : 0;
}

int
dns_name_from_wire(const unsigned char *data, size_t len, char *buf,
    size_t bufsz)
{
	return dns_wire_join(data, len, 1, buf, bufsz);
}
