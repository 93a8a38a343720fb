/* SPDX-License-Identifier: ISC */
/*
 * rdns.c - the client's verified and reverse host names (see rdns.h).
 *
 * One PTR lookup for the address; of its answer the first RDNS_NAMES_MAX
 * names that are valid host names are kept (a malformed or invalid one is
 * skipped, as Postfix treats it as no name), in answer order, and each is
 * looked up forward until one lists the address.  The outcome, as Postfix
 * sets NAME and REVERSE_NAME:
 *
 *	the PTR lookup failed for now	both [TEMPUNAVAIL]
 *	no PTR, or no valid name in it	both [UNAVAILABLE]
 *	a name lists the address	both that name
 *	none does, a lookup failed	[TEMPUNAVAIL], the first name
 *	none does			[UNAVAILABLE], the first name
 *
 * Every lookup is bounded by dns.timeout and by the caller's deadline, so
 * the whole is at most one PTR and RDNS_NAMES_MAX forward lookups, within
 * the deadline.  Answers come from libunbound's cache while their TTL
 * lasts; whole results from struct rdns_cache, shared by the event loops
 * (a mutex).
 *
 * Public: rdns_lookup, rdns_set, rdns_verified, rdns_ptr_name,
 * rdns_ptr_from_wire, rdns_hostname_ok, rdns_cache_new, rdns_cache_free,
 * rdns_cache_clear, rdns_cache_get, rdns_cache_put.
 */
#include <sys/socket.h>

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dns.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "proxy/rdns.h"

/* A kept result: names copied (xstrdup), NULL in a free slot. */
struct rdns_slot {
	int		 family;
	unsigned char	 addr[16];
	uint64_t	 expires;	/* ms */
	char		*name;
	char		*reverse;
};

struct rdns_cache {
	pthread_mutex_t	 lock;		/* every event loop's */
	uint32_t	 seed;		/* of the slot hash: random */
	struct rdns_slot slot[RDNS_CACHE_SLOTS];
};

static int	rdns_confirm(struct dns *, const char *,
		    const struct sockaddr *, uint64_t, unsigned *);
static void	rdns_ttl(unsigned *, const struct dns_answer *);
static struct rdns_slot *rdns_cache_slot(struct rdns_cache *,
		    const struct sockaddr *, const unsigned char **, size_t *);
static const unsigned char *rdns_addr(const struct sockaddr *, size_t *,
		    int *);

void
rdns_lookup(struct dns *d, const struct sockaddr *sa, uint64_t until_ms,
    struct rdns_result *r)
{
	char			 ptr[RDNS_PTR_MAX + 1];
	char			 names[RDNS_NAMES_MAX][RDNS_NAME_MAX + 1];
	struct dns_answer	 ans;
	size_t			 n = 0, i;
	int			 temp = 0, rc;

	rdns_set(r, RDNS_UNAVAILABLE);
	if (rdns_ptr_name(sa, ptr, sizeof(ptr)) == -1)
		return;
	dns_query(d, ptr, ns_t_ptr, until_ms, &ans);
	if (ans.status == DNS_TEMPFAIL)
		rdns_set(r, RDNS_TEMPUNAVAIL);
	r->ttl = RDNS_CACHE_TTL_MAX;
	rdns_ttl(&r->ttl, &ans);
	for (i = 0; i < ans.n && n < RDNS_NAMES_MAX; i++)
		if (rdns_ptr_from_wire(ans.data[i], ans.len[i], names[n],
		    sizeof(names[n])) == 0)
			n++;
	dns_answer_free(&ans);
	if (n == 0)
		return;
	strlcpy(r->reverse, names[0], sizeof(r->reverse));
	for (i = 0; i < n; i++) {
		if ((rc = rdns_confirm(d, names[i], sa, until_ms,
		    &r->ttl)) == 1) {
			strlcpy(r->name, names[i], sizeof(r->name));
			strlcpy(r->reverse, names[i], sizeof(r->reverse));
			return;
		}
		if (rc == -1)
			temp = 1;
	}
	if (temp) {
		strlcpy(r->name, RDNS_TEMPUNAVAIL, sizeof(r->name));
		r->ttl = 0;
	}
}

/* The smallest TTL so far, with ans's; a temporary failure is not kept,
 * an answer of unknown TTL not at all either. */
static void
rdns_ttl(unsigned *ttl, const struct dns_answer *ans)
{
	if (ans->status == DNS_TEMPFAIL || ans->ttl == 0)
		*ttl = 0;
	else if (ans->ttl < *ttl)
		*ttl = ans->ttl;
}

/* Whether name's A (AAAA) records hold sa's address: 1, 0, or -1 when the
 * lookup failed for the time being; the answer's TTL into *ttl. */
static int
rdns_confirm(struct dns *d, const char *name, const struct sockaddr *sa,
    uint64_t until_ms, unsigned *ttl)
{
	const unsigned char	*addr;
	struct dns_answer	 ans;
	size_t			 alen, i;
	int			 type, rc;

	if ((addr = rdns_addr(sa, &alen, &type)) == NULL)
		return 0;
	dns_query(d, name, type, until_ms, &ans);
	rdns_ttl(ttl, &ans);
	rc = ans.status == DNS_TEMPFAIL ? -1 : 0;
	for (i = 0; i < ans.n && rc == 0; i++)
		if (ans.len[i] == alen && memcmp(ans.data[i], addr, alen) == 0)
			rc = 1;
	dns_answer_free(&ans);
	return rc;
}

/* sa's address bytes, their count and the record type that holds them;
 * NULL for a family without one. */
static const unsigned char *
rdns_addr(const struct sockaddr *sa, size_t *len, int *type)
{
	if (sa->sa_family == AF_INET) {
		*len = 4;
		*type = ns_t_a;
		return (const unsigned char *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
	}
	if (sa->sa_family == AF_INET6) {
		*len = 16;
		*type = ns_t_aaaa;
		return ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	}
	return NULL;
}

void
rdns_set(struct rdns_result *r, const char *both)
{
	strlcpy(r->name, both, sizeof(r->name));
	strlcpy(r->reverse, both, sizeof(r->reverse));
	r->ttl = 0;
}

struct rdns_cache *
rdns_cache_new(void)
{
	struct rdns_cache	*c;

	c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->seed = arc4random();
	return c;
}

void
rdns_cache_free(struct rdns_cache *c)
{
	if (c == NULL)
		return;
	rdns_cache_clear(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void
rdns_cache_clear(struct rdns_cache *c)
{
	size_t	 i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < RDNS_CACHE_SLOTS; i++) {
		free(c->slot[i].name);
		free(c->slot[i].reverse);
		memset(&c->slot[i], 0, sizeof(c->slot[i]));
	}
	pthread_mutex_unlock(&c->lock);
}

/* sa's slot (FNV-1a over the family and address, from a random seed),
 * and its address bytes; NULL for a family without an address. */
static struct rdns_slot *
rdns_cache_slot(struct rdns_cache *c, const struct sockaddr *sa,
    const unsigned char **addr, size_t *len)
{
	uint32_t	 h = 2166136261u ^ c->seed;
	size_t		 i;
	int		 type;

	if ((*addr = rdns_addr(sa, len, &type)) == NULL)
		return NULL;
	h = (h ^ (uint32_t)sa->sa_family) * 16777619u;
	for (i = 0; i < *len; i++)
		h = (h ^ (*addr)[i]) * 16777619u;
	return &c->slot[(h ^ (h >> 16)) % RDNS_CACHE_SLOTS];
}

int
rdns_cache_get(struct rdns_cache *c, const struct sockaddr *sa,
    uint64_t now_ms, struct rdns_result *r)
{
	const unsigned char	*addr;
	struct rdns_slot	*s;
	size_t			 len;
	int			 hit;

	pthread_mutex_lock(&c->lock);
	if ((hit = (s = rdns_cache_slot(c, sa, &addr, &len)) != NULL &&
	    s->name != NULL && s->family == sa->sa_family &&
	    memcmp(s->addr, addr, len) == 0 && s->expires > now_ms)) {
		strlcpy(r->name, s->name, sizeof(r->name));
		strlcpy(r->reverse, s->reverse, sizeof(r->reverse));
		r->ttl = (unsigned)((s->expires - now_ms + 999) / 1000);
	}
	pthread_mutex_unlock(&c->lock);
	metric_add(M_CACHE_LOOKUPS, 1, "rdns", hit ? "hit" : "miss");
	return hit;
}

void
rdns_cache_put(struct rdns_cache *c, const struct sockaddr *sa,
    uint64_t now_ms, const struct rdns_result *r)
{
	const unsigned char	*addr;
	struct rdns_slot	*s;
	size_t			 len;

	if (r->ttl == 0)
		return;
	pthread_mutex_lock(&c->lock);
	if ((s = rdns_cache_slot(c, sa, &addr, &len)) == NULL) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	free(s->name);
	free(s->reverse);
	s->family = sa->sa_family;
	memset(s->addr, 0, sizeof(s->addr));
	memcpy(s->addr, addr, len);
	s->expires = now_ms + (uint64_t)(r->ttl < RDNS_CACHE_TTL_MAX ?
	    r->ttl : RDNS_CACHE_TTL_MAX) * 1000;
	s->name = xstrdup(r->name);
	s->reverse = xstrdup(r->reverse);
	pthread_mutex_unlock(&c->lock);
}

int
rdns_verified(const struct rdns_result *r)
{
	return r->name[0] != '[' && r->name[0] != '\0';
}

int
rdns_ptr_name(const struct sockaddr *sa, char *buf, size_t bufsz)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*a;
	size_t			 len, i, o = 0;
	int			 type;

	if ((a = rdns_addr(sa, &len, &type)) == NULL || bufsz <= RDNS_PTR_MAX)
		return -1;
	if (len == 4) {
		snprintf(buf, bufsz, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
		    a[1], a[0]);
		return 0;
	}
	for (i = len; i-- > 0;) {
		buf[o++] = hex[a[i] & 0x0f];
		buf[o++] = '.';
		buf[o++] = hex[a[i] >> 4];
		buf[o++] = '.';
	}
	strlcpy(buf + o, "ip6.arpa", bufsz - o);
	return 0;
}

int
rdns_ptr_from_wire(const unsigned char *data, size_t len, char *buf,
    size_t bufsz)
{
	int	 n;

	n = dns_name_from_wire(data, len, buf, bufsz);
	if (n < 0 || (size_t)n != len || !rdns_hostname_ok(buf)) {
		if (bufsz > 0)
			buf[0] = '\0';
		return -1;
	}
	return 0;
}

int
rdns_hostname_ok(const char *name)
{
	size_t	 label = 0, i;
	int	 numeric = 1;
	char	 c;

	for (i = 0; (c = name[i]) != '\0'; i++) {
		if (c == '.') {
			if (label == 0 || name[i + 1] == '\0' ||
			    name[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (c < '0' || c > '9')
			numeric = 0;
		if (++label > 63)
			return 0;
	}
	return i > 0 && i <= RDNS_NAME_MAX && !numeric && name[i - 1] != '-';
}
