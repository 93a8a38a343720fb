/* SPDX-License-Identifier: ISC */
/*
 * clientkey.h - what the filters that keep state per client network in
 * the shared store (ratelimit, greylist) share: the allow list, and the
 * client's network found at connect.  Each filter's gpriv begins with a
 * struct clientkey, its connection priv with a struct clientkey_conn.
 */
#ifndef POSTERN_CLIENTKEY_H
#define POSTERN_CLIENTKEY_H

#include <sys/socket.h>

#include <stddef.h>

#include "policy/netprefix.h"

struct conf;
struct fctx;
struct iptable;

struct clientkey {
	const char		*name;		/* the filter's (static) */
	int			 failure_accept;	/* redis.failure_action */
	struct iptable		*allow;		/* NULL: none */
	unsigned		 prefix4, prefix6;
};

struct clientkey_conn {
	char			 net[NETPREFIX_MAX];	/* "192.0.2.0/24" */
	int			 exempt;	/* on the allow list */
};

/* clientkey_init - the prefixes, the allow list from section.allow (the
 * filter's name, a static string); -1 with err. */
int	clientkey_init(struct clientkey *, const struct conf *,
	    const char *section, const char *allow, unsigned prefix4,
	    unsigned prefix6, char *err, size_t errsz);
void	clientkey_fini(struct clientkey *);
/* clientkey_connect - the connection's priv (size bytes, beginning with a
 * struct clientkey_conn) set up: its network, and exempt (the filter's
 * result "allowed") when on the allow list. */
struct clientkey_conn *clientkey_connect(struct fctx *,
	    const struct clientkey *, const struct sockaddr *, size_t size);
/* clientkey_failed - redis.failure_action for a store without an answer
 * (reason, static): logged (ll) and in the filter's result; accept:
 * FV_CONTINUE, tempfail: FV_TEMPFAIL with code 4.3.0 and text. */
struct log_limit;
enum fv	clientkey_failed(struct fctx *, const struct clientkey *,
	    struct log_limit *ll, const char *reason, const char *code,
	    const char *text);
/* clientkey_close - a filter's close op: the priv freed. */
void	clientkey_close(struct fctx *);

#endif
