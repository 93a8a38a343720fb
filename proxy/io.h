/* SPDX-License-Identifier: ISC */
/*
 * io.h - what both sides of a session do to their sockets: low-latency
 * socket options, and writing a bufferevent's output straight away.
 *
 * Both bufferevents of a session keep EV_WRITE disabled while their output
 * is empty; a writer appends, then calls io_flush().  Most replies and
 * commands are small and leave in that one write, which saves the two
 * epoll_ctl calls and the extra loop turn a libevent write event costs.
 * Only what the kernel does not take goes through the write event (with its
 * timeout); the owner's write callback disables EV_WRITE again once drained.
 */
#ifndef POSTERN_IO_H
#define POSTERN_IO_H

struct bufferevent;

/* io_tune - TCP_NODELAY (we batch our own writes) and a 64 KiB read size. */
void	io_tune(struct bufferevent *);
/* io_flush - write the output now; what is left is handed to the write
 * event (EV_WRITE enabled).  Returns 1 if output remains, else 0. */
int	io_flush(struct bufferevent *);

#endif
