/* SPDX-License-Identifier: ISC */
/*
 * stats.c - postern stats: asks the running postern (or postern milter)
 * named by the configuration's metrics.listen for GET /stats and prints
 * the summary (proxy/metrics_http.c makes it), like rspamc stat.  An HTTP
 * client from libevent, the library the endpoint already uses.
 *
 * Public: stats_run.
 *
 * DIAGNOSTICS
 *	"postern stats: metrics.listen is not set ..." or "postern stats:
 *	HOST:PORT: no answer" (refused, timeout, not HTTP) on stderr, exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "policy/conf.h"
#include "proxy/stats.h"

#define STATS_TIMEOUT	10	/* seconds */

struct stats_ask {
	const struct conf_addr	*addr;
	int			 rc;
};

static void	stats_answered(struct evhttp_request *, void *);

int
stats_run(const struct conf *conf)
{
	struct stats_ask		 ask = { &conf->metrics_listen[0], 1 };
	struct event_base		*base;
	struct evhttp_connection	*conn;
	struct evhttp_request		*req;
	char				*end;
	unsigned long			 port;

	if (conf->nmetrics_listen == 0) {
		fprintf(stderr, "postern stats: metrics.listen is not set in "
		    "%s: it is where the running postern answers\n",
		    conf->source);
		return 1;
	}
	port = strtoul(ask.addr->port, &end, 10);
	if ((base = event_base_new()) == NULL ||
	    (conn = evhttp_connection_base_new(base, NULL, ask.addr->host,
	    (ev_uint16_t)port)) == NULL) {
		fprintf(stderr, "postern stats: out of memory\n");
		return 1;
	}
	evhttp_connection_set_timeout(conn, STATS_TIMEOUT);
	evhttp_connection_set_retries(conn, 0);
	req = evhttp_request_new(stats_answered, &ask);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
	    ask.addr->host);
	if (evhttp_make_request(conn, req, EVHTTP_REQ_GET, "/stats") == 0)
		event_base_dispatch(base);
	if (ask.rc != 0)
		fprintf(stderr, "postern stats: %s:%s: no answer (is postern "
		    "running with this metrics.listen?)\n", ask.addr->host,
		    ask.addr->port);
	evhttp_connection_free(conn);
	event_base_free(base);
	return ask.rc;
}

static void
stats_answered(struct evhttp_request *req, void *arg)
{
	struct stats_ask	*ask = arg;
	struct evbuffer		*in;

	if (req == NULL || evhttp_request_get_response_code(req) != HTTP_OK)
		return;
	in = evhttp_request_get_input_buffer(req);
	while (evbuffer_get_length(in) > 0)
		if (evbuffer_write(in, STDOUT_FILENO) <= 0)
			return;
	ask->rc = 0;
}
