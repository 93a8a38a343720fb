/* SPDX-License-Identifier: ISC */
/*
 * milter_client.c - the socket side of calling an external milter (see
 * milter_client.h): resolving "inet:"/"unix:" specs, a non-blocking
 * connect awaited with poll(), writes and reads bounded by a deadline,
 * and a buffer of what came in for the caller to decode.
 *
 * Public: milter_client_spec_ok, milter_client_open, milter_client_send,
 * milter_client_read, milter_client_input, milter_client_consume,
 * milter_client_say, milter_client_close.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "lib/milter_client.h"
#include "lib/util.h"

struct milter_client {
	int		 fd;
	struct evbuffer	*in;		/* read, not yet consumed */
};

static int	milter_client_addr(const char *, struct sockaddr_storage *,
		    socklen_t *);
static int	milter_client_wait(int, short, uint64_t);

/* "inet:host:port" (host a literal or a name) or "unix:/path". */
static int
milter_client_addr(const char *spec, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)ss;
	struct addrinfo		 hints, *res;
	char			 host[256], *port;

	memset(ss, 0, sizeof(*ss));
	if (strncmp(spec, "unix:", 5) == 0) {
		if (spec[5] != '/' || strlen(spec + 5) >= sizeof(sun->sun_path))
			return -1;
		sun->sun_family = AF_UNIX;
		strlcpy(sun->sun_path, spec + 5, sizeof(sun->sun_path));
		*len = sizeof(*sun);
		return 0;
	}
	if (strncmp(spec, "inet:", 5) != 0 ||
	    strlcpy(host, spec + 5, sizeof(host)) >= sizeof(host) ||
	    (port = strrchr(host, ':')) == NULL)
		return -1;
	*port++ = '\0';
	if (host[0] == '[' && port[-2] == ']') {	/* [ipv6]:port */
		port[-2] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
milter_client_spec_ok(const char *spec)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;

	return milter_client_addr(spec, &ss, &len) == 0;
}

/* fd ready for events before until: 1, 0 on timeout, -1 with errno. */
static int
milter_client_wait(int fd, short events, uint64_t until)
{
	struct pollfd	 pfd = { .fd = fd, .events = events };
	uint64_t	 now;
	int		 n;

	do {
		if ((now = util_now_ms()) >= until)
			return 0;
		n = poll(&pfd, 1, (int)(until - now));
	} while (n == -1 && errno == EINTR);
	return n;
}

struct milter_client *
milter_client_open(const char *spec, uint64_t until, char *why,
    size_t whysz)
{
	struct milter_client	*c;
	struct sockaddr_storage	 ss;
	socklen_t		 len, elen = sizeof(int);
	int			 fd, e = 0, one = 1;

	if (milter_client_addr(spec, &ss, &len) == -1) {
		snprintf(why, whysz, "cannot resolve");
		return NULL;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		snprintf(why, whysz, "%s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == -1 &&
	    (errno != EINPROGRESS ||
	    milter_client_wait(fd, POLLOUT, until) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1 ||
	    e != 0)) {
		snprintf(why, whysz, "connect: %s", e != 0 ? strerror(e) :
		    "timeout");
		close(fd);
		return NULL;
	}
	/* small packets both ways, each awaited: no Nagle delay */
	if (ss.ss_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->in = evbuffer_new();
	return c;
}

int
milter_client_send(struct milter_client *c, const void *buf, size_t len,
    uint64_t until, char *why, size_t whysz)
{
	const char	*p = buf;
	ssize_t		 n;

	evbuffer_drain(c->in, evbuffer_get_length(c->in));
	while (len > 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			snprintf(why, whysz, "write: %s", strerror(errno));
			return -1;
		}
		if (milter_client_wait(c->fd, POLLOUT, until) != 1) {
			snprintf(why, whysz, "write: %s", strerror(ETIMEDOUT));
			return -1;
		}
	}
	return 0;
}

int
milter_client_read(struct milter_client *c, uint64_t until, char *why,
    size_t whysz)
{
	int	 n, one = 1;

	if ((n = milter_client_wait(c->fd, POLLIN, until)) != 1) {
		snprintf(why, whysz, "%s", n == 0 ? "timeout" :
		    strerror(errno));
		return -1;
	}
	do
		n = evbuffer_read(c->in, c->fd, 65536);
	while (n == -1 && errno == EINTR);
	/* A reply may come as several small packets (a header, then
	 * continue): ACK at once, or the milter's Nagle waits for our
	 * delayed ACK (~40 ms).  Linux clears it after each read. */
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	if (n == 0 || (n == -1 && errno != EAGAIN)) {
		snprintf(why, whysz, "%s", n == 0 ? "connection closed" :
		    strerror(errno));
		return -1;
	}
	return 0;
}

const unsigned char *
milter_client_input(struct milter_client *c, size_t *len)
{
	*len = evbuffer_get_length(c->in);
	return evbuffer_pullup(c->in, -1);
}

void
milter_client_consume(struct milter_client *c, size_t n)
{
	evbuffer_drain(c->in, n);
}

int
milter_client_say(struct milter_client *c, const void *buf, size_t len)
{
	return send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) ==
	    (ssize_t)len ? 0 : -1;
}

void
milter_client_close(struct milter_client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	evbuffer_free(c->in);
	free(c);
}
