/* SPDX-License-Identifier: ISC */
/*
 * store_mem.c - the in-process store (see store.h): the default when
 * redis.server is empty, so that one instance needs no Redis.  Its state
 * is this process's only: instances do not share it, and a restart
 * forgets it.
 *
 * A hash table of keys to one number and an expiry, behind one mutex (the
 * loops of one process share it); an operation takes the lock once, so
 * it is atomic as Redis's scripts are.  Expired entries go as they are
 * met and by a sweep of a few buckets on every insertion (of the whole
 * table, at most once a second, when it is full); at most
 * redis.memory_keys entries are kept, and an operation that needs more,
 * with nothing expired to drop, fails ("full"): redis.failure_action
 * applies.
 *
 * Public: store_mem_new, store_mem_ops (store_int.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/store_int.h"
#include "lib/store_math.h"
#include "lib/util.h"

#define STORE_MEM_BUCKETS	(1 << 16)
#define STORE_MEM_SWEEP		4		/* buckets an insertion */

struct store_mem_entry {
	struct store_mem_entry	*next;
	uint64_t		 expires;	/* util_now_ms */
	double			 value;
	char			 key[];
};

struct store_mem {
	pthread_mutex_t		 lock;
	struct store_mem_entry	*bucket[STORE_MEM_BUCKETS];
	size_t			 n;
	size_t			 max;		/* entries at most */
	size_t			 sweep;		/* next bucket to sweep */
	uint64_t		 swept_all;	/* the last whole sweep */
};

static void	store_mem_start(void *, struct store_call *);
static void	store_mem_free(void *);
static int	store_mem_rate(struct store_mem *, const struct store_req *,
		    uint64_t, struct store_reply *);
static int	store_mem_grey(struct store_mem *, const struct store_req *,
		    uint64_t, struct store_reply *);
static struct store_mem_entry **store_mem_find(struct store_mem *,
		    const char *, uint64_t);
static int	store_mem_set(struct store_mem *, const char *, double,
		    uint64_t, uint64_t);
static void	store_mem_sweep(struct store_mem *, uint64_t, size_t);

const struct store_impl_ops store_mem_ops = {
	.name = "memory",
	.start = store_mem_start,
	.free = store_mem_free,
};

void *
store_mem_new(const struct store_settings *set)
{
	struct store_mem	*m = xcalloc(1, sizeof(*m));

	m->max = set->memory_keys;

	pthread_mutex_init(&m->lock, NULL);
	return m;
}

static void
store_mem_free(void *impl)
{
	struct store_mem	*m = impl;
	struct store_mem_entry	*e, *next;
	size_t			 i;

	for (i = 0; i < STORE_MEM_BUCKETS; i++)
		for (e = m->bucket[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* The whole operation under the lock, answered at once. */
static void
store_mem_start(void *impl, struct store_call *c)
{
	struct store_mem	*m = impl;
	struct store_reply	 r;
	uint64_t		 now = util_now_ms();
	int			 full = 0;

	memset(&r, 0, sizeof(r));
	pthread_mutex_lock(&m->lock);
	if (c->req.kind == STORE_RATE)
		full = store_mem_rate(m, &c->req, now, &r);
	else
		full = store_mem_grey(m, &c->req, now, &r);
	pthread_mutex_unlock(&m->lock);
	if (full)
		store_call_fail(c, "full");
	else
		store_call_answer(c, &r);
}

/* Every key checked first; counted only when all have room.  -1 when a
 * key cannot be kept (the table full): the check has failed. */
static int
store_mem_rate(struct store_mem *m, const struct store_req *q, uint64_t now,
    struct store_reply *r)
{
	struct store_mem_entry	**ep;
	double			 next[STORE_KEYS_MAX];
	size_t			 i;

	for (i = 0; i < q->n; i++) {
		ep = store_mem_find(m, q->key[i], now);
		if (!store_math_gcra(*ep != NULL ? (*ep)->value : 0,
		    (double)now, q->count[i], q->window_ms[i], &next[i],
		    &r->wait_ms)) {
			r->what = i + 1;
			return 0;
		}
	}
	for (i = 0; i < q->n; i++)
		if (store_mem_set(m, q->key[i], next[i], now,
		    (uint64_t)(next[i] - (double)now) + 1) == -1)
			return -1;
	return 0;
}

static int
store_mem_grey(struct store_mem *m, const struct store_req *q, uint64_t now,
    struct store_reply *r)
{
	struct store_mem_entry	*e;
	unsigned		 passes;
	double			 value = 0;
	int			 exists;

	/* values read at once: a lookup may drop entries of its bucket */
	e = *store_mem_find(m, q->key[0], now);
	if ((exists = e != NULL))
		value = e->value;
	e = *store_mem_find(m, q->key[1], now);
	passes = e != NULL ? (unsigned)e->value : 0;
	r->what = store_math_grey(exists, value, (double)now, passes,
	    q->delay_ms, q->auto_allow, &r->wait_ms);
	if (r->what == STORE_GREY_NEW)
		return store_mem_set(m, q->key[0], (double)now, now,
		    q->retry_ms);
	if (r->what != STORE_GREY_PASS)
		return 0;
	if (store_mem_set(m, q->key[0], STORE_MATH_PASSED, now,
	    q->expire_ms) == -1)
		return -1;
	return store_mem_set(m, q->key[1], passes + 1, now, q->expire_ms);
}

static unsigned
store_mem_hash(const char *key)
{
	uint32_t	 h = 2166136261u;	/* FNV-1a */

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h % STORE_MEM_BUCKETS;
}

/* Where key's entry is linked (*result NULL: none live); an expired
 * one met on the way is dropped. */
static struct store_mem_entry **
store_mem_find(struct store_mem *m, const char *key, uint64_t now)
{
	struct store_mem_entry	**ep = &m->bucket[store_mem_hash(key)], *e;

	while ((e = *ep) != NULL) {
		if (e->expires <= now) {
			*ep = e->next;
			free(e);
			m->n--;
			continue;
		}
		if (strcmp(e->key, key) == 0)
			break;
		ep = &e->next;
	}
	return ep;
}

/* key = value for ttl_ms; -1 when the table is full. */
static int
store_mem_set(struct store_mem *m, const char *key, double value,
    uint64_t now, uint64_t ttl_ms)
{
	struct store_mem_entry	**ep = store_mem_find(m, key, now), *e;
	size_t			 len;

	if ((e = *ep) == NULL) {
		store_mem_sweep(m, now, STORE_MEM_SWEEP);
		if (m->n >= m->max && now >= m->swept_all + 1000) {
			/* the whole table, at most once a second */
			store_mem_sweep(m, now, STORE_MEM_BUCKETS);
			m->swept_all = now;
		}
		if (m->n >= m->max)
			return -1;
		len = strlen(key);
		e = xmalloc(sizeof(*e) + len + 1);
		memcpy(e->key, key, len + 1);
		e->next = NULL;
		*store_mem_find(m, key, now) = e;
		m->n++;
	}
	e->value = value;
	e->expires = now + ttl_ms;
	return 0;
}

/* The expired entries of nbuckets buckets, round the table. */
static void
store_mem_sweep(struct store_mem *m, uint64_t now, size_t nbuckets)
{
	struct store_mem_entry	**ep, *e;
	size_t			 i;

	for (i = 0; i < nbuckets; i++) {
		ep = &m->bucket[m->sweep];
		m->sweep = (m->sweep + 1) % STORE_MEM_BUCKETS;
		while ((e = *ep) != NULL) {
			if (e->expires <= now) {
				*ep = e->next;
				free(e);
				m->n--;
			} else
				ep = &e->next;
		}
	}
}
