/* SPDX-License-Identifier: ISC */
/*
 * peerlist.c - OpenDKIM-style host sets (see peerlist.h): addresses and
 * networks in one prefix tree (policy/table.c), the "!" entries added
 * first so that, of two as specific, the excluding one is found; host
 * names in a list, looked up from the whole name up through its parent
 * domains, as OpenDKIM's dkimf_checkhost walks them.
 *
 * Public: peerlist_from, peerlist_free, peerlist_match.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util.h"
#include "policy/peerlist.h"
#include "policy/table.h"

#define PEERLIST_IN	1	/* the tag of a plain address entry */
#define PEERLIST_OUT	2	/* of a "!" one */

struct peerlist_name {
	char		*name;		/* lower case; ".domain", or a '*'
					   pattern from a refile: set */
	int		 out;		/* a "!" entry */
};

struct peerlist {
	struct iptable		*ip;
	struct peerlist_name	*names;
	size_t			 nnames;
};

static int	peerlist_entries(struct peerlist *, char *, int, int,
		    const char *, unsigned, char *, size_t);
static int	peerlist_entry(struct peerlist *, const char *, int, int,
		    const char *, char *, size_t);
static int	peerlist_name_is(const struct peerlist *, const char *, int);

struct peerlist *
peerlist_from(const char *spec, const char *label, char *err, size_t errsz)
{
	struct peerlist	*pl = xcalloc(1, sizeof(*pl));
	const char	*path = NULL;
	char		*text, *line, *save;
	size_t		 len;
	unsigned	 n = 0;
	int		 re = 0, bad = 0, pass;

	pl->ip = iptable_new();
	if (strncmp(spec, "csl:", 4) == 0)
		spec += 4;
	else if (strncmp(spec, "file:", 5) == 0)
		path = spec + 5;
	else if (strncmp(spec, "refile:", 7) == 0) {
		path = spec + 7;
		re = 1;
	} else if (spec[0] == '/')
		path = spec;
	if (path == NULL)
		text = xstrdup(spec);
	else if ((text = util_read_file(path, &len)) == NULL) {
		util_err_append(err, errsz, "%s: %s: cannot read it", label,
		    path);
		peerlist_free(pl);
		return NULL;
	}
	/* "!" entries first: of two as specific, the excluding one wins */
	for (pass = 1; pass >= 0; pass--) {
		char	*copy = xstrdup(text);

		n = 0;
		for (line = strtok_r(copy, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			n++;
			if (path != NULL)
				line[strcspn(line, "#")] = '\0';
			if (peerlist_entries(pl, line, pass, re, path != NULL ?
			    path : label, path != NULL ? n : 0, err,
			    errsz) == -1)
				bad = 1;
		}
		free(copy);
	}
	free(text);
	if (bad) {
		peerlist_free(pl);
		return NULL;
	}
	return pl;
}

/* The entries of one line (blanks or commas apart) whose "!" is as
 * excluding says. */
static int
peerlist_entries(struct peerlist *pl, char *line, int excluding, int re,
    const char *where, unsigned lineno, char *err, size_t errsz)
{
	char		 at[300];
	char		*w, *save;
	int		 rc = 0;

	if (lineno > 0)
		snprintf(at, sizeof(at), "%s:%u", where, lineno);
	else
		snprintf(at, sizeof(at), "%s", where);
	for (w = strtok_r(line, ", \t\r", &save); w != NULL;
	    w = strtok_r(NULL, ", \t\r", &save))
		if ((w[0] == '!') == excluding &&
		    peerlist_entry(pl, w + excluding, excluding, re, at, err,
		    errsz) == -1)
			rc = -1;
	return rc;
}

static int
peerlist_entry(struct peerlist *pl, const char *e, int out, int re,
    const char *at, char *err, size_t errsz)
{
	struct peerlist_name	*n;
	char			 why[256] = "";
	size_t			 i;

	if (iptable_add(pl->ip, e, out ? PEERLIST_OUT : PEERLIST_IN, why,
	    sizeof(why)) == 0)
		return 0;
	/* not an address: a host name, ".domain", or a refile pattern */
	for (i = 0; e[i] != '\0'; i++)
		if (!isalnum((unsigned char)e[i]) && strchr("-._", e[i]) ==
		    NULL && !(re && e[i] == '*'))
			break;
	if (e[i] != '\0' || e[0] == '\0' || (isdigit((unsigned char)e[0]) &&
	    strspn(e, "0123456789./:") == strlen(e))) {
		/* a network's own reason says more ("prefix length 33 ...") */
		util_err_append(err, errsz, "%s: '%.64s': %s", at, e,
		    strchr(e, '/') != NULL && why[0] != '\0' ? why :
		    "not an address, network or host name");
		return -1;
	}
	pl->names = xrealloc(pl->names, (pl->nnames + 1) *
	    sizeof(*pl->names));
	n = &pl->names[pl->nnames++];
	n->name = xstrdup(e);
	for (i = 0; n->name[i] != '\0'; i++)
		n->name[i] = (char)tolower((unsigned char)n->name[i]);
	n->out = out;
	return 0;
}

/* 1 when an entry of kind out is exactly name (or a pattern matching it). */
static int
peerlist_name_is(const struct peerlist *pl, const char *name, int out)
{
	size_t	 i;

	for (i = 0; i < pl->nnames; i++)
		if (pl->names[i].out == out &&
		    (strcasecmp(pl->names[i].name, name) == 0 ||
		    (strchr(pl->names[i].name, '*') != NULL &&
		    fnmatch(pl->names[i].name, name, FNM_CASEFOLD) == 0)))
			return 1;
	return 0;
}

int
peerlist_match(const struct peerlist *pl, const struct sockaddr *sa,
    const char *host)
{
	const char	*s;
	uint32_t	 tag;

	/* the name, then ".parent" for each parent, most specific first */
	for (s = host; s != NULL && s[0] != '\0' && s[0] != '[';
	    s = strchr(s + 1, '.')) {
		if (peerlist_name_is(pl, s, 1))
			break;
		if (peerlist_name_is(pl, s, 0))
			return 1;
	}
	return sa != NULL && iptable_lookup(pl->ip, sa, &tag) &&
	    tag == PEERLIST_IN;
}

void
peerlist_free(struct peerlist *pl)
{
	size_t	 i;

	if (pl == NULL)
		return;
	iptable_free(pl->ip);
	for (i = 0; i < pl->nnames; i++)
		free(pl->names[i].name);
	free(pl->names);
	free(pl);
}
