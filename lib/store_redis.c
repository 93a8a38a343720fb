/* SPDX-License-Identifier: ISC */
/*
 * store_redis.c - the shared store on Redis (see store.h), through
 * hiredis's asynchronous API on libevent.
 *
 * Each event loop that calls gets a connection of its own, made on its
 * first call and kept (a list under a mutex maps loops to connections;
 * a connection is only ever used on its loop, and freed there: a store
 * freed on another loop's thread, at a reload that changed [redis], hands
 * the connection to its own loop to free).  A connection authenticates
 * (AUTH [user] password, redis.user being an ACL user) and SELECTs
 * redis.database before the first operation, queued ahead of it.  When it
 * fails or is lost, calls on that loop fail at once ("down") until a
 * reconnection, tried after 200 ms, then twice as long each time up to
 * 5 s.  Replies come through hiredis's reader (RESP), and are still
 * untrusted: an operation's reply must be an array of two integers in
 * range, or the call fails ("bad reply").  hiredis 0.14 allocates an
 * array for as many elements as a reply announces, before they come:
 * the reader is given object functions that refuse an array of more
 * than STORE_REDIS_ELEMENTS_MAX (the connection then fails, "out of
 * memory"), so a reply cannot make postern allocate more than it sent.  A server's error reply fails
 * the call ("error") and is logged.
 *
 * Each operation is one EVAL of a Lua script, so that checking and
 * counting are one atomic step in Redis whatever the number of instances;
 * the scripts follow lib/store_math.c step by step, with Redis's clock
 * (TIME) as now, so instances with skewed clocks still agree.  Keys are
 * the callers', under the prefix "postern:".
 *
 * Public: store_redis_new, store_redis_ops, store_redis_bound,
 * store_redis_check (store_int.h).
 *
 * DIAGNOSTICS
 *	"redis.server: 'SPEC': ..." for an address it cannot use; at run
 *	time (log_limited) "redis HOST: connection failed|lost: ERROR",
 *	"redis HOST: reply error: TEXT", and "redis HOST: connected".
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "lib/log.h"
#include "lib/store_int.h"
#include "lib/util.h"

#define STORE_REDIS_PREFIX	"postern:"
#define STORE_REDIS_BACKOFF_MIN	200	/* ms */
#define STORE_REDIS_BACKOFF_MAX	5000
#define STORE_REDIS_ARGS	(3 + 3 * STORE_KEYS_MAX)
#define STORE_REDIS_PATH_MAX	108	/* sizeof(sun_path) on Linux */
#define STORE_REDIS_ELEMENTS_MAX 64	/* an array in a reply; ours has 2 */

struct store_redis;

/* One loop's connection. */
struct store_redis_conn {
	struct store_redis	*r;		/* NULL once it is freed */
	struct event_base	*base;		/* the loop: not owned */
	pthread_t		 thread;	/* the loop's */
	redisAsyncContext	*ac;		/* NULL: down */
	struct event		*retry;		/* the next connection try */
	unsigned		 backoff_ms;
	int			 was_up;	/* for the log */
	struct store_redis_conn	*next;
};

struct store_redis {
	pthread_mutex_t		 lock;		/* conns */
	struct store_redis_conn	*conns;
	char			 host[256];	/* or the socket's path */
	int			 port;		/* 0: a unix socket */
	char			 user[64];
	char			 password[256];
	unsigned		 database;
};

/* KEYS: n rate keys; ARGV: window_ms, count per key.  -> {0, 0} counted
 * everywhere, or {i, wait_ms} key i is over (nothing counted). */
static const char store_redis_rate_lua[] =
"local t = redis.call('TIME')\n"
"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
"local nx = {}\n"
"for i = 1, #KEYS do\n"
"  local w = tonumber(ARGV[2 * i - 1])\n"
"  local iv = w / tonumber(ARGV[2 * i])\n"
"  local tat = tonumber(redis.call('GET', KEYS[i])) or 0\n"
"  if tat < now then tat = now end\n"
"  local slack = math.min(iv / 2, 0.5)\n"
"  local n = tat + iv\n"
"  if n - now > w + slack then\n"
"    return {i, math.ceil(n - w - slack - now)}\n"
"  end\n"
"  nx[i] = n\n"
"end\n"
"for i = 1, #KEYS do\n"
"  redis.call('SET', KEYS[i], string.format('%.3f', nx[i]), 'PX',\n"
"      math.floor(nx[i] - now) + 1)\n"
"end\n"
"return {0, 0}\n";

/* KEYS: triplet, network; ARGV: delay_ms, retry_ms, expire_ms,
 * auto_allow.  -> {enum store_grey, wait_ms}. */
static const char store_redis_grey_lua[] =
"local t = redis.call('TIME')\n"
"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
"local delay = tonumber(ARGV[1])\n"
"local auto = tonumber(ARGV[4])\n"
"local passes = tonumber(redis.call('GET', KEYS[2])) or 0\n"
"if auto > 0 and passes >= auto then return {4, 0} end\n"
"local v = tonumber(redis.call('GET', KEYS[1]))\n"
"if v == nil or v < 0 then\n"
"  redis.call('SET', KEYS[1], now, 'PX', ARGV[2])\n"
"  return {1, delay}\n"
"end\n"
"if v ~= 0 and now - v < delay then\n"
"  return {2, math.ceil(delay - (now - v))}\n"
"end\n"
"redis.call('SET', KEYS[1], 0, 'PX', ARGV[3])\n"
"redis.call('SET', KEYS[2], passes + 1, 'PX', ARGV[3])\n"
"return {3, 0}\n";

static void	store_redis_fns_init(void);
static void	*store_redis_array(const redisReadTask *, int);
static void	store_redis_start(void *, struct store_call *);
static void	store_redis_free(void *);
static void	store_redis_conn_free(evutil_socket_t, short, void *);
static int	store_redis_addr(struct store_redis *, const char *);
static struct store_redis_conn *store_redis_conn(struct store_redis *,
		    struct event_base *);
static void	store_redis_connect(struct store_redis_conn *);
static void	store_redis_retry_later(struct store_redis_conn *);
static void	store_redis_retry(evutil_socket_t, short, void *);
static void	store_redis_connected(const redisAsyncContext *, int);
static void	store_redis_disconnected(const redisAsyncContext *, int);
static void	store_redis_setup_reply(redisAsyncContext *, void *, void *);
static void	store_redis_reply(redisAsyncContext *, void *, void *);

const struct store_impl_ops store_redis_ops = {
	.name = "redis",
	.start = store_redis_start,
	.free = store_redis_free,
};

/* hiredis's reply object functions, but for arrays (set up once). */
static redisReplyObjectFunctions store_redis_fns;
static void	*(*store_redis_default_array)(const redisReadTask *, int);
static pthread_once_t store_redis_fns_once = PTHREAD_ONCE_INIT;

static struct log_limit store_redis_log_conn =
	    LOG_LIMIT("redis connection failures");
static struct log_limit store_redis_log_reply =
	    LOG_LIMIT("redis error replies");

void *
store_redis_new(const struct store_settings *set, char *err, size_t errsz)
{
	struct store_redis	*r = xcalloc(1, sizeof(*r));

	if (store_redis_addr(r, set->server) == -1) {
		util_err_append(err, errsz, "redis.server: '%.200s': want "
		    "HOST:PORT, [IPV6]:PORT, HOST (port 6379) or "
		    "unix:/PATH", set->server);
		free(r);
		return NULL;
	}
	if (set->user[0] != '\0' && set->password[0] == '\0') {
		util_err_append(err, errsz, "redis.user: an ACL user needs "
		    "redis.password");
		free(r);
		return NULL;
	}
	strlcpy(r->user, set->user, sizeof(r->user));
	strlcpy(r->password, set->password, sizeof(r->password));
	r->database = set->database;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

/* "unix:/path", "host:port", "[v6]:port", "host". */
static int
store_redis_addr(struct store_redis *r, const char *spec)
{
	const char	*colon, *end;
	char		*e;
	long		 port = 6379;
	size_t		 len;

	if (strncmp(spec, "unix:", 5) == 0) {
		if (spec[5] != '/' || strlcpy(r->host, spec + 5,
		    sizeof(r->host)) >= STORE_REDIS_PATH_MAX)
			return -1;
		return 0;
	}
	if (spec[0] == '[') {
		if ((end = strchr(spec, ']')) == NULL)
			return -1;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return -1;
		spec++;
	} else {
		colon = strrchr(spec, ':');
		end = colon != NULL ? colon : spec + strlen(spec);
	}
	len = (size_t)(end - spec);
	if (len == 0 || len >= sizeof(r->host))
		return -1;
	memcpy(r->host, spec, len);
	r->host[len] = '\0';
	if (colon != NULL) {
		port = strtol(colon + 1, &e, 10);
		if (colon[1] == '\0' || *e != '\0' || port < 1 || port > 65535)
			return -1;
	}
	r->port = (int)port;
	return 0;
}

static void
store_redis_free(void *impl)
{
	struct store_redis	*r = impl;
	struct store_redis_conn	*c, *next;
	struct timeval		 now = { 0, 0 };

	for (c = r->conns; c != NULL; c = next) {
		next = c->next;
		c->r = NULL;
		if (pthread_equal(c->thread, pthread_self()) ||
		    event_base_once(c->base, -1, EV_TIMEOUT,
		    store_redis_conn_free, c, &now) == -1)
			store_redis_conn_free(-1, 0, c);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* On the connection's loop (or with every loop stopped). */
static void
store_redis_conn_free(evutil_socket_t fd, short what, void *arg)
{
	struct store_redis_conn	*c = arg;

	(void)fd;
	(void)what;
	if (c->ac != NULL)
		redisAsyncFree(c->ac);	/* fails what is in flight */
	if (c->retry != NULL)
		event_free(c->retry);
	free(c);
}

static void
store_redis_start(void *impl, struct store_call *call)
{
	struct store_redis_conn	*c;
	const struct store_req	*q = &call->req;
	const char		*argv[STORE_REDIS_ARGS];
	size_t			 argvlen[STORE_REDIS_ARGS];
	char			 keys[STORE_KEYS_MAX][STORE_KEY_MAX + 8];
	char			 nums[2 * STORE_KEYS_MAX + 4][24];
	size_t			 i, argc = 0, nn = 0;

	c = store_redis_conn(impl, call->base);
	if (c->ac == NULL) {
		store_call_fail(call, "down");
		return;
	}
	argv[argc++] = "EVAL";
	argv[argc++] = q->kind == STORE_RATE ? store_redis_rate_lua :
	    store_redis_grey_lua;
	snprintf(nums[nn], sizeof(nums[0]), "%zu", q->n);
	argv[argc++] = nums[nn++];
	for (i = 0; i < q->n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "%s%s", STORE_REDIS_PREFIX,
		    q->key[i]);
		argv[argc++] = keys[i];
	}
	if (q->kind == STORE_RATE)
		for (i = 0; i < q->n; i++) {
			snprintf(nums[nn], sizeof(nums[0]), "%llu",
			    (unsigned long long)q->window_ms[i]);
			argv[argc++] = nums[nn++];
			snprintf(nums[nn], sizeof(nums[0]), "%u", q->count[i]);
			argv[argc++] = nums[nn++];
		}
	else {
		snprintf(nums[nn], sizeof(nums[0]), "%llu",
		    (unsigned long long)q->delay_ms);
		argv[argc++] = nums[nn++];
		snprintf(nums[nn], sizeof(nums[0]), "%llu",
		    (unsigned long long)q->retry_ms);
		argv[argc++] = nums[nn++];
		snprintf(nums[nn], sizeof(nums[0]), "%llu",
		    (unsigned long long)q->expire_ms);
		argv[argc++] = nums[nn++];
		snprintf(nums[nn], sizeof(nums[0]), "%u", q->auto_allow);
		argv[argc++] = nums[nn++];
	}
	for (i = 0; i < argc; i++)
		argvlen[i] = strlen(argv[i]);
	if (redisAsyncCommandArgv(c->ac, store_redis_reply, call, (int)argc,
	    argv, argvlen) != REDIS_OK)
		store_call_fail(call, "down");
}

/* This loop's connection, made (or being made) when there is none and
 * no retry is waiting. */
static struct store_redis_conn *
store_redis_conn(struct store_redis *r, struct event_base *base)
{
	struct store_redis_conn	*c;

	pthread_mutex_lock(&r->lock);
	for (c = r->conns; c != NULL && c->base != base; c = c->next)
		;
	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		c->r = r;
		c->base = base;
		c->thread = pthread_self();
		c->backoff_ms = STORE_REDIS_BACKOFF_MIN;
		c->next = r->conns;
		r->conns = c;
	}
	pthread_mutex_unlock(&r->lock);
	if (c->ac == NULL && (c->retry == NULL ||
	    !event_pending(c->retry, EV_TIMEOUT, NULL)))
		store_redis_connect(c);
	return c;
}

static void
store_redis_connect(struct store_redis_conn *c)
{
	struct store_redis	*r = c->r;
	redisAsyncContext	*ac;
	const char		*argv[3];
	int			 argc = 0;

	ac = r->port == 0 ? redisAsyncConnectUnix(r->host) :
	    redisAsyncConnect(r->host, r->port);
	if (ac == NULL || ac->err != 0) {
		log_limited(&store_redis_log_conn, LOG_LEVEL_WARN, "redis "
		    "%s: connection failed: %s", r->host, ac != NULL ?
		    ac->errstr : "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		store_redis_retry_later(c);
		return;
	}
	ac->data = c;
	store_redis_bound(ac->c.reader);
	redisLibeventAttach(ac, c->base);
	redisAsyncSetConnectCallback(ac, store_redis_connected);
	redisAsyncSetDisconnectCallback(ac, store_redis_disconnected);
	c->ac = ac;
	if (r->password[0] != '\0') {
		argv[argc++] = "AUTH";
		if (r->user[0] != '\0')
			argv[argc++] = r->user;
		argv[argc++] = r->password;
		redisAsyncCommandArgv(ac, store_redis_setup_reply, "AUTH",
		    argc, argv, NULL);
	}
	if (r->database != 0)
		redisAsyncCommand(ac, store_redis_setup_reply, "SELECT",
		    "SELECT %u", r->database);
}

static void
store_redis_retry_later(struct store_redis_conn *c)
{
	struct timeval	 tv;

	if (c->r == NULL)
		return;
	if (c->retry == NULL && (c->retry = event_new(c->base, -1, 0,
	    store_redis_retry, c)) == NULL)
		fatalx("store_redis: event_new");
	tv.tv_sec = c->backoff_ms / 1000;
	tv.tv_usec = (c->backoff_ms % 1000) * 1000;
	event_add(c->retry, &tv);
	c->backoff_ms *= 2;
	if (c->backoff_ms > STORE_REDIS_BACKOFF_MAX)
		c->backoff_ms = STORE_REDIS_BACKOFF_MAX;
}

static void
store_redis_retry(evutil_socket_t fd, short what, void *arg)
{
	struct store_redis_conn	*c = arg;

	(void)fd;
	(void)what;
	if (c->ac == NULL)
		store_redis_connect(c);
}

static void
store_redis_connected(const redisAsyncContext *ac, int status)
{
	struct store_redis_conn	*c = ac->data;

	if (c->r == NULL) {
		if (status != REDIS_OK)
			c->ac = NULL;
		return;
	}
	if (status != REDIS_OK) {
		/* hiredis frees ac after this */
		log_limited(&store_redis_log_conn, LOG_LEVEL_WARN, "redis "
		    "%s: connection failed: %s", c->r->host, ac->errstr);
		c->ac = NULL;
		store_redis_retry_later(c);
		return;
	}
	if (c->was_up)
		log_info("redis %s: connected again", c->r->host);
	c->was_up = 1;
	c->backoff_ms = STORE_REDIS_BACKOFF_MIN;
}

static void
store_redis_disconnected(const redisAsyncContext *ac, int status)
{
	struct store_redis_conn	*c = ac->data;

	c->ac = NULL;
	if (c->r == NULL)
		return;
	if (status != REDIS_OK)
		log_limited(&store_redis_log_conn, LOG_LEVEL_WARN, "redis "
		    "%s: connection lost: %s", c->r->host, ac->errstr);
	store_redis_retry_later(c);
}

/* AUTH and SELECT: anything but +OK drops the connection. */
static void
store_redis_setup_reply(redisAsyncContext *ac, void *reply, void *what)
{
	struct store_redis_conn	*c = ac->data;
	const redisReply	*rr = reply;

	if (rr == NULL || (rr->type == REDIS_REPLY_STATUS && rr->len == 2 &&
	    memcmp(rr->str, "OK", 2) == 0))
		return;
	log_limited(&store_redis_log_conn, LOG_LEVEL_WARN, "redis %s: %s "
	    "refused: %.*s", c->r->host, (const char *)what,
	    rr->type == REDIS_REPLY_ERROR ? (int)(rr->len > 200 ? 200 :
	    rr->len) : 0, rr->type == REDIS_REPLY_ERROR ? rr->str : "");
	redisAsyncDisconnect(ac);
}

static void
store_redis_reply(redisAsyncContext *ac, void *reply, void *arg)
{
	struct store_redis_conn	*c = ac->data;
	struct store_call	*call = arg;
	const redisReply	*rr = reply;
	struct store_reply	 r;
	char			 text[201];
	size_t			 i;

	if (rr == NULL || c->r == NULL) {
		store_call_fail(call, "down");
		return;
	}
	if (rr->type == REDIS_REPLY_ERROR) {
		snprintf(text, sizeof(text), "%.*s", (int)(rr->len > 200 ?
		    200 : rr->len), rr->str);
		for (i = 0; text[i] != '\0'; i++)
			if (!isprint((unsigned char)text[i]))
				text[i] = '?';
		log_limited(&store_redis_log_reply, LOG_LEVEL_WARN, "redis %s: "
		    "reply error: %s", c->r->host, text);
		store_call_fail(call, "error");
		return;
	}
	if (store_redis_check(&call->req, rr, &r) == -1) {
		store_call_fail(call, "bad reply");
		return;
	}
	store_call_answer(call, &r);
}

void
store_redis_bound(redisReader *r)
{
	pthread_once(&store_redis_fns_once, store_redis_fns_init);
	r->fn = &store_redis_fns;
}

/* hiredis's own functions (a reader made to read them), arrays
 * bounded. */
static void
store_redis_fns_init(void)
{
	redisReader	*r;

	if ((r = redisReaderCreate()) == NULL)
		fatalx("store_redis: redisReaderCreate");
	store_redis_fns = *r->fn;
	redisReaderFree(r);
	store_redis_default_array = store_redis_fns.createArray;
	store_redis_fns.createArray = store_redis_array;
}

/* NULL (hiredis: out of memory, the reply is refused) for an array
 * larger than any reply of ours. */
static void *
store_redis_array(const redisReadTask *t, int elements)
{
	if (elements > STORE_REDIS_ELEMENTS_MAX)
		return NULL;
	return store_redis_default_array(t, elements);
}

int
store_redis_check(const struct store_req *q, const redisReply *rr,
    struct store_reply *r)
{
	long long	 what, wait;

	if (rr->type != REDIS_REPLY_ARRAY || rr->elements != 2 ||
	    rr->element[0]->type != REDIS_REPLY_INTEGER ||
	    rr->element[1]->type != REDIS_REPLY_INTEGER)
		return -1;
	what = rr->element[0]->integer;
	wait = rr->element[1]->integer;
	if (wait < 0 || (q->kind == STORE_RATE && (what < 0 ||
	    what > (long long)q->n)) || (q->kind == STORE_GREY &&
	    (what < STORE_GREY_NEW || what > STORE_GREY_AUTO)))
		return -1;
	memset(r, 0, sizeof(*r));
	r->what = (unsigned)what;
	r->wait_ms = (uint64_t)wait;
	return 0;
}
