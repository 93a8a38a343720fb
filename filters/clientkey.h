/* SPDX-License-Identifier: ISC */
/*
 * clientkey.h - what the filters that keep state per client network
 * (ratelimit, greylist) share: the store a reload hands on, the allow
 * list, and the client's network found at connect.  Each filter's gpriv
 * begins with a struct clientkey, its connection priv with a struct
 * clientkey_conn.
 */
#ifndef POSTERN_CLIENTKEY_H
#define POSTERN_CLIENTKEY_H

#include <sys/socket.h>

#include <stddef.h>

#include "policy/netprefix.h"

struct conf;
struct fctx;
struct iptable;
struct ttlcache;

struct clientkey {
	struct ttlcache		*store;		/* shared with the next
						   generation */
	struct iptable		*allow;		/* NULL: none */
	unsigned		 prefix4, prefix6;
};

struct clientkey_conn {
	char			 net[NETPREFIX_MAX];	/* "192.0.2.0/24" */
	int			 exempt;	/* on the allow list */
};

/* clientkey_init - the store (name, slots of valsz bytes, kept at most
 * max_ttl seconds), the allow list from section.allow; -1 with err. */
int	clientkey_init(struct clientkey *, const struct conf *,
	    const char *section, const char *allow, unsigned prefix4,
	    unsigned prefix6, size_t slots, size_t valsz, unsigned max_ttl,
	    char *err, size_t errsz);
void	clientkey_fini(struct clientkey *);
/* clientkey_inherit - a filter's inherit op: the previous generation's
 * store goes on (gpriv and prev begin with a struct clientkey). */
void	clientkey_inherit(void *gpriv, void *prev);
/* clientkey_connect - the connection's priv (size bytes, beginning with a
 * struct clientkey_conn) set up: its network, and exempt (the filter's
 * result "allowed") when on the allow list. */
struct clientkey_conn *clientkey_connect(struct fctx *,
	    const struct clientkey *, const struct sockaddr *, size_t size);
/* clientkey_close - a filter's close op: the priv freed. */
void	clientkey_close(struct fctx *);

#endif
