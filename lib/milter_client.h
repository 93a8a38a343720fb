/* SPDX-License-Identifier: ISC */
/*
 * milter_client.h - a blocking connection to one external milter, for the
 * worker pool's threads (filters/milter.c): connect, send a command's
 * packets, read what comes back into a buffer the caller decodes
 * (proto/milter_proto.c), each by a deadline; and the one-shot
 * non-blocking write of ABORT/QUIT the event loop may do.  The filter
 * itself opens no socket.
 */
#ifndef POSTERN_MILTER_CLIENT_H
#define POSTERN_MILTER_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct milter_client;

/* milter_client_spec_ok - whether spec is "inet:host:port" (host a literal,
 * [ipv6] or a name that resolves) or "unix:/path". */
int	milter_client_spec_ok(const char *spec);
/* milter_client_open - connected to spec by until (ms, util_now_ms), with
 * no Nagle delay on TCP; NULL with why. */
struct milter_client *milter_client_open(const char *spec, uint64_t until,
	    char *why, size_t whysz);
/* milter_client_send - all of buf out by until; a new command, so bytes
 * the milter sent beyond its last reply are dropped.  -1 with why. */
int	milter_client_send(struct milter_client *, const void *buf,
	    size_t len, uint64_t until, char *why, size_t whysz);
/* milter_client_read - wait (until) for more bytes and add them to the
 * input; -1 with why on a timeout or a closed connection. */
int	milter_client_read(struct milter_client *, uint64_t until, char *why,
	    size_t whysz);
/* milter_client_input - the bytes read and not yet consumed (valid until
 * the next call on the client); milter_client_consume - drop the first
 * n of them. */
const unsigned char *milter_client_input(struct milter_client *,
	    size_t *len);
void	milter_client_consume(struct milter_client *, size_t n);
/* milter_client_say - buf in one non-blocking write (a command without a
 * reply, from the event loop); -1 when it did not all go. */
int	milter_client_say(struct milter_client *, const void *buf,
	    size_t len);
void	milter_client_close(struct milter_client *);

#endif
