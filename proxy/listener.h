/* SPDX-License-Identifier: ISC */
/*
 * listener.h - the listening sockets and the connection limits: in all
 * (proxy.max_connections) and per client address
 * (proxy.max_connections_per_ip), refused with 421 before a session exists.
 */
#ifndef POSTERN_LISTENER_H
#define POSTERN_LISTENER_H

#include <sys/socket.h>

struct conf;
struct event_base;

/* listener_open - bind and listen on every proxy.listen address; -1 with a
 * message in err on the first failure. */
int	listener_open(struct event_base *, const struct conf *, char *err,
	    size_t errsz);
/* listener_close - stop accepting (shutdown). */
void	listener_close(void);
/* listener_release - a session from sa ended. */
void	listener_release(const struct sockaddr *sa);

#endif
