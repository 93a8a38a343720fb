/* SPDX-License-Identifier: ISC */
/*
 * session.h - one client connection: the client-side SMTP state machine,
 * driving the filter chain and the backend connection.
 */
#ifndef POSTERN_SESSION_H
#define POSTERN_SESSION_H

#include <sys/socket.h>

#include <stdint.h>

/* session_new - take over the accepted socket fd from peer sa; tls: on an
 * implicit-TLS listener (the handshake comes first). */
void		 session_new(int fd, const struct sockaddr *sa, socklen_t len,
		    int tls);
/* session_count - sessions alive. */
unsigned	 session_count(void);
/* session_drain_all - SIGTERM: close every session that is not in the
 * middle of a transaction (421); the others close after it. */
void		 session_drain_all(void);
/* session_free_all - final exit: drop whatever is left. */
void		 session_free_all(void);

struct conf;
/* session_memory_max - the most memory one client connection can hold
 * under conf, in bytes (postern check). */
uint64_t	 session_memory_max(const struct conf *);

#endif
