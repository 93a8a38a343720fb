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
struct listener_set;
struct session_server;

/* listener_open - bind and listen on every proxy.listen and listen_tls
 * address for loop number loop, whose sessions are srv's (reuseport:
 * SO_REUSEPORT, for several loops on the same addresses); NULL with a
 * message in err on the first failure. */
struct listener_set *listener_open(struct event_base *, const struct conf *,
	    struct session_server *srv, unsigned loop, int reuseport,
	    char *err, size_t errsz);
/* listener_close - stop accepting (shutdown), on the set's loop. */
void	listener_close(struct listener_set *);
#define LISTENER_PER_IP_TEXT	"Error: too many connections from your address"

/* listener_admit_client - behind a balancer: the client's address from
 * the PROXY header counted against proxy.max_connections_per_ip (per_ip;
 * 0 no limit); -1, logged and counted, when it is over. */
int	listener_admit_client(const struct sockaddr *, unsigned per_ip);
/* listener_release - a session ended (on any loop); counted: the address
 * it was counted under, or NULL. */
void	listener_release(const struct sockaddr *counted);

#endif
