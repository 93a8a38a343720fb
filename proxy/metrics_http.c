/* SPDX-License-Identifier: ISC */
/*
 * metrics_http.c - the metrics endpoint ([metrics] listen): libevent's
 * evhttp on the front end's event loop.  GET /metrics is every family in
 * the Prometheus text format (lib/metrics.c); GET /stats is the short
 * summary `postern stats` prints, with rates over the last minute from a
 * ring of one-second samples this file keeps.  Also what every front end
 * counts at start and reload (build info, configuration generation).
 *
 * A scrape renders a few hundred lines in memory, tens of microseconds
 * on the loop; requests are bounded in header size and time.
 *
 * Public: metrics_http_open, metrics_http_close, metrics_started,
 * metrics_reloaded.
 *
 * DIAGNOSTICS
 *	"metrics.listen HOST:PORT: cannot listen" at start;
 *	"metrics.listen changed: restart to apply" at a reload.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "lib/version.h"
#include "policy/conf.h"
#include "proxy/metrics_http.h"

#define METRICS_RING		61	/* one-second samples: a minute */
#define METRICS_TIMEOUT		10	/* seconds, one request */
#define METRICS_HEADERS_MAX	8192	/* bytes of a request's header */
#define METRICS_TOP		5	/* refusal reasons shown */

static const char *const metrics_actions[] = {
	"relayed", "rejected", "tempfailed", "discarded", "aborted"
};
#define METRICS_NACTIONS	(sizeof(metrics_actions) / \
				    sizeof(metrics_actions[0]))

struct metrics_sample {
	double		 connections;
	double		 actions[METRICS_NACTIONS];
};

struct metrics_http {
	struct evhttp		*http;
	struct event		*tick;
	time_t			 started;
	struct metrics_sample	 ring[METRICS_RING];
	size_t			 next;		/* ring slot to write */
	size_t			 nsamples;
};

struct metrics_reason {
	char		 name[64];
	double		 n;
};

struct metrics_top {
	struct metrics_reason	 r[METRICS_TOP];
	size_t			 n;
};

static void	metrics_http_request(struct evhttp_request *, void *);
static void	metrics_http_sample(evutil_socket_t, short, void *);
static void	metrics_sample_now(struct metrics_sample *);
static void	metrics_stats(struct metrics_http *, struct evbuffer *);
static void	metrics_top_add(void *, const char *const *, double);

struct metrics_http *
metrics_http_open(struct event_base *base, const struct conf *conf,
    char *err, size_t errsz)
{
	struct metrics_http	*m;
	struct timeval		 one = { 1, 0 };
	const struct conf_addr	*a = &conf->metrics_listen[0];
	char			*end;
	unsigned long		 port;

	if (conf->nmetrics_listen == 0)
		return NULL;
	port = strtoul(a->port, &end, 10);
	if (a->port[0] == '\0' || *end != '\0' || port == 0 || port > 65535) {
		snprintf(err, errsz, "metrics.listen %s: a host:port is "
		    "needed", a->host);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->started = time(NULL);
	if ((m->http = evhttp_new(base)) == NULL ||
	    evhttp_bind_socket(m->http, a->host, (ev_uint16_t)port) != 0) {
		snprintf(err, errsz, "metrics.listen %s:%s: cannot listen",
		    a->host, a->port);
		if (m->http != NULL)
			evhttp_free(m->http);
		free(m);
		return NULL;
	}
	evhttp_set_timeout(m->http, METRICS_TIMEOUT);
	evhttp_set_max_headers_size(m->http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(m->http, metrics_http_request, m);
	m->tick = event_new(base, -1, EV_PERSIST, metrics_http_sample, m);
	evtimer_add(m->tick, &one);
	metrics_http_sample(-1, 0, m);
	log_info("metrics on http://%s%s%s:%s/metrics",
	    strchr(a->host, ':') != NULL ? "[" : "", a->host,
	    strchr(a->host, ':') != NULL ? "]" : "", a->port);
	return m;
}

void
metrics_http_close(struct metrics_http *m)
{
	if (m == NULL)
		return;
	event_free(m->tick);
	evhttp_free(m->http);
	free(m);
}

void
metrics_started(void)
{
	metric_set(M_BUILD_INFO, 1, POSTERN_VERSION);
	metric_set(M_CONFIG_GENERATION, 1);
	metric_set(M_CONFIG_LAST_RELOAD, (double)time(NULL));
}

void
metrics_reloaded(const struct conf *old, const struct conf *conf)
{
	if (conf == NULL) {
		metric_add(M_CONFIG_RELOADS, 1, "failure");
		return;
	}
	metric_add(M_CONFIG_RELOADS, 1, "success");
	metric_add(M_CONFIG_GENERATION, 1);
	metric_set(M_CONFIG_LAST_RELOAD, (double)time(NULL));
	if (conf->nmetrics_listen != old->nmetrics_listen ||
	    (conf->nmetrics_listen > 0 &&
	    (strcmp(conf->metrics_listen[0].host,
	    old->metrics_listen[0].host) != 0 ||
	    strcmp(conf->metrics_listen[0].port,
	    old->metrics_listen[0].port) != 0)))
		log_warnx("metrics.listen changed: restart to apply");
}

static void
metrics_http_request(struct evhttp_request *req, void *arg)
{
	struct metrics_http	*m = arg;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri != NULL ?
				    evhttp_uri_get_path(uri) : NULL;
	struct evbuffer		*out = evhttp_request_get_output_buffer(req);
	struct evkeyvalq	*hdrs = evhttp_request_get_output_headers(req);
	char			*text;
	size_t			 len;

	if (path == NULL)
		path = "";
	if (strcmp(path, "/metrics") == 0) {
		text = metric_render(&len);
		evbuffer_add(out, text, len);
		free(text);
		evhttp_add_header(hdrs, "Content-Type",
		    "text/plain; version=0.0.4; charset=utf-8");
	} else if (strcmp(path, "/stats") == 0) {
		metrics_stats(m, out);
		evhttp_add_header(hdrs, "Content-Type",
		    "text/plain; charset=utf-8");
	} else {
		evhttp_send_error(req, HTTP_NOTFOUND, "/metrics or /stats");
		return;
	}
	evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

/* Every second: the counters the summary's rates come from. */
static void
metrics_http_sample(evutil_socket_t fd, short ev, void *arg)
{
	struct metrics_http	*m = arg;

	(void)fd;
	(void)ev;
	metrics_sample_now(&m->ring[m->next]);
	m->next = (m->next + 1) % METRICS_RING;
	if (m->nsamples < METRICS_RING)
		m->nsamples++;
}

static void
metrics_sample_now(struct metrics_sample *s)
{
	size_t	 i;

	s->connections = metric_value(M_CONNECTIONS_TOTAL);
	for (i = 0; i < METRICS_NACTIONS; i++)
		s->actions[i] = metric_label_sum(M_TRANSACTIONS, 0,
		    metrics_actions[i]);
}

/* The summary: rates over the last minute (or since start when younger),
 * connections now, the most frequent refusal reasons. */
static void
metrics_stats(struct metrics_http *m, struct evbuffer *out)
{
	struct metrics_sample	 now, *then;
	struct metrics_top	 top;
	double			 secs;
	time_t			 up = time(NULL) - m->started;
	size_t			 i;

	metrics_sample_now(&now);
	then = &m->ring[(m->next + METRICS_RING - m->nsamples) % METRICS_RING];
	secs = m->nsamples > 1 ? (double)(m->nsamples - 1) : 1;
	evbuffer_add_printf(out, "postern %s, up %lldh%02lldm%02llds, "
	    "configuration generation %.0f\n", POSTERN_VERSION,
	    (long long)up / 3600, (long long)up / 60 % 60,
	    (long long)up % 60, metric_value(M_CONFIG_GENERATION));
	evbuffer_add_printf(out, "connections: %.0f open, %.0f since start, "
	    "%.2f/s over the last %.0f s\n", metric_value(M_CONNECTIONS),
	    now.connections, (now.connections - then->connections) / secs,
	    secs);
	evbuffer_add_printf(out, "transactions over the last %.0f s:", secs);
	for (i = 0; i < METRICS_NACTIONS; i++)
		evbuffer_add_printf(out, "%s %.2f/s %s", i > 0 ? "," : "",
		    (now.actions[i] - then->actions[i]) / secs,
		    metrics_actions[i]);
	evbuffer_add_printf(out, "\ntransactions since start:");
	for (i = 0; i < METRICS_NACTIONS; i++)
		evbuffer_add_printf(out, "%s %.0f %s", i > 0 ? "," : "",
		    now.actions[i], metrics_actions[i]);
	memset(&top, 0, sizeof(top));
	metric_each(M_REFUSALS, metrics_top_add, &top);
	evbuffer_add_printf(out, "\ntop refusal reasons since start:%s\n",
	    top.n == 0 ? " none" : "");
	for (i = 0; i < top.n; i++)
		evbuffer_add_printf(out, "  %10.0f  %s\n", top.r[i].n,
		    top.r[i].name);
	evbuffer_add_printf(out, "workers: %.0f busy, %.0f queued, %.0f "
	    "refused (queue full)\n", metric_value(M_WORKERS_BUSY),
	    metric_value(M_WORKER_QUEUE), metric_value(M_WORKER_REFUSED));
}

/* Keep the METRICS_TOP largest, largest first. */
static void
metrics_top_add(void *arg, const char *const *labels, double n)
{
	struct metrics_top	*t = arg;
	size_t			 i;

	for (i = t->n; i > 0 && t->r[i - 1].n < n; i--)
		if (i < METRICS_TOP)
			t->r[i] = t->r[i - 1];
	if (i >= METRICS_TOP)
		return;
	strlcpy(t->r[i].name, labels[0], sizeof(t->r[i].name));
	t->r[i].n = n;
	if (t->n < METRICS_TOP)
		t->n++;
}
