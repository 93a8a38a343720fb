/* SPDX-License-Identifier: ISC */
/*
 * backend_list.h - the backends of proxy.backend, resolved, and which of
 * them failed lately: the choice of the backend a client connection is
 * relayed to, and what each announced to EHLO.  One list per
 * configuration generation (server_gen), shared by its sessions on the one
 * event loop.
 */
#ifndef POSTERN_BACKEND_LIST_H
#define POSTERN_BACKEND_LIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "policy/conf.h"
#include "proto/smtp_parse.h"

struct backend_list;

/* One client connection's walk over the list. */
struct backend_try {
	size_t		 order[CONF_BACKEND_MAX];	/* entries to try */
	size_t		 n;		/* of order */
	size_t		 next;		/* in order */
	size_t		 cur;		/* the entry tried last */
	uint64_t	 deadline;	/* ms: proxy.connect_timeout */
};

/* backend_list_new - conf's backends resolved (conf is not duplicated: the
 * owner holds it); an entry that old (may be NULL) also has keeps its
 * failure time.  NULL with err when a name does not resolve.  The marks
 * (failures, what each backend answered) are shared by every event loop:
 * each call takes the list's lock. */
struct backend_list *backend_list_new(const struct conf *,
		    struct backend_list *old, char *err, size_t errsz);
void		 backend_list_free(struct backend_list *);

/* backend_list_start - begin a walk at now (ms): the entries that have not
 * failed within proxy.backend_retry in proxy.backend_order, then the
 * others, the longest-failed first, so every one is tried. */
void		 backend_list_start(struct backend_list *,
		    struct backend_try *, uint64_t now);
/* backend_list_next - the next entry's address and the ms it may take:
 * what remains of connect_timeout shared equally among the entries still
 * to try (the last one gets all that is left); -1 when none is left or
 * the time is over. */
int		 backend_list_next(const struct backend_list *,
		    struct backend_try *, uint64_t now,
		    const struct sockaddr **, socklen_t *, uint64_t *ms);
/* backend_list_failed - the entry tried last refused, timed out or greeted
 * with other than 2xx at now: tried last for proxy.backend_retry. */
void		 backend_list_failed(struct backend_list *,
		    const struct backend_try *, uint64_t now);
/* backend_list_name - the entry tried last as configured: "host:port",
 * "[ipv6]:port" or "unix:/path"; backend_list_host - its host ("" for
 * unix:), the default name its TLS certificate must carry. */
const char	*backend_list_name(const struct backend_list *,
		    const struct backend_try *);
const char	*backend_list_host(const struct backend_list *,
		    const struct backend_try *);

/*
 * backend_list_caps - what the entry tried last announced to an EHLO
 * before XCLIENT (tls: inside TLS), as backend_list_learn kept it, copied
 * to caps: 1; 0 when not known, or when it refused an XCLIENT sent
 * without that EHLO (backend_list_unlearn).
 */
int		 backend_list_caps(struct backend_list *,
		    const struct backend_try *, int tls, struct smtp_ehlo *caps);
/* backend_list_learn - keep e (copied) as the entry's answer to EHLO. */
void		 backend_list_learn(struct backend_list *,
		    const struct backend_try *, int tls,
		    const struct smtp_ehlo *e);
/* backend_list_unlearn - the entry refused XCLIENT without EHLO: its
 * sessions say EHLO first from now on. */
void		 backend_list_unlearn(struct backend_list *,
		    const struct backend_try *);
/* backend_list_xforward - whether the entry tried last has taken an
 * XFORWARD; backend_list_set_xforward - it has (ok 1), or refused one. */
int		 backend_list_xforward(struct backend_list *,
		    const struct backend_try *);
void		 backend_list_set_xforward(struct backend_list *,
		    const struct backend_try *, int ok);

#endif
