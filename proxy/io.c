/* SPDX-License-Identifier: ISC */
/*
 * io.c - socket options and direct flushing for bufferevents (see io.h).
 *
 * Public: io_tune, io_flush.
 *
 * DIAGNOSTICS
 *	None: a write error is left for the bufferevent's own write event
 *	to report to its owner.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "proxy/io.h"

#define IO_READ_MAX	65536

void
io_tune(struct bufferevent *bev)
{
	evutil_socket_t	 fd = bufferevent_getfd(bev);
	int		 one = 1;

	if (fd != -1)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	bufferevent_set_max_single_read(bev, IO_READ_MAX);
}

int
io_flush(struct bufferevent *bev)
{
	struct evbuffer	*out = bufferevent_get_output(bev);
	evutil_socket_t	 fd = bufferevent_getfd(bev);

	if (evbuffer_get_length(out) == 0)
		return 0;
	/* (a filter, TLS, writes through its underlying bufferevent) */
	if (fd != -1 && bufferevent_get_underlying(bev) == NULL) {
		/* A socket bufferevent keeps its output's start frozen so
		 * that only its own write callback drains it; do as it does. */
		evbuffer_unfreeze(out, 1);
		(void)evbuffer_write(out, fd);
		evbuffer_freeze(out, 1);
	}
	if (evbuffer_get_length(out) == 0)
		return 0;
	bufferevent_enable(bev, EV_WRITE);
	return 1;
}
