/* SPDX-License-Identifier: ISC */
/*
 * table.c - the lookup tables behind the allow/deny lists: sets of IPv4
 * and IPv6 networks (struct iptable) and sets of envelope senders (struct
 * addrtable).  Both are built once, from configuration strings and files,
 * and then only read, so any number of threads may look up at once.
 *
 * An iptable holds two path-compressed binary tries, one for IPv4 and one
 * for IPv6.  A node is a prefix (host bits zero) that is an entry, a branch
 * point, or both; its children are indices into one array that doubles as
 * it fills, so a million entries cost a handful of allocations and 20 (v4)
 * or 32 (v6) bytes a node, at most two nodes an entry.  A lookup walks one
 * path from the root (/0), remembering the last entry it passed: that is
 * the most specific match, in O(address bits).  An IPv4-mapped entry
 * (::ffff:0:0/96 or longer) is stored as the IPv4 network it names, and a
 * mapped address is looked up as IPv4; so an IPv6 network shorter than /96
 * ("::/0") never matches an IPv4 client: list 0.0.0.0/0 for that.
 *
 * An addrtable is an open-addressing hash table (linear probing, at most
 * 3/4 full, doubled when it would be fuller) of lowercased entries: the
 * whole address "user@example.com", the domain "example.com", the
 * subdomain suffix ".example.com" and "<>".  The forms cannot collide (only
 * addresses hold '@', only suffixes start with '.'), so one table serves.
 * A lookup hashes the sender's own bytes case-insensitively: it does not
 * allocate.
 *
 * Public:
 *	iptable_new	an empty IP set; never NULL.
 *	iptable_free	frees the set; NULL is ok.
 *	iptable_add	one address or network with its tag; 0 or -1 + err.
 *	iptable_load	every line of a file, tagged with its line number.
 *	iptable_count	entries added, duplicates included.
 *	iptable_lookup	1 + the tag of the most specific match, or 0.
 *	addrtable_*	the same for envelope senders.
 *
 * DIAGNOSTICS
 *	Errors go to the caller's err buffer, never to the log.  An entry is
 *	quoted (its first 64 bytes, control characters as '?'): "not an IP
 *	address or network: 'xyz'", "prefix length 33 out of range 0..32",
 *	"host bits set below the /24 prefix: did you mean 192.0.2.0/24?",
 *	"empty label in domain: 'a..example.com'".  The loaders put
 *	"path:line: " in front, and report a file they cannot read as
 *	"path: strerror".  More than 2^32 trie nodes is fatal (fatalx).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "policy/table.h"

#define TABLE_QUOTE	64		/* bytes of an entry in a message */
#define TABLE_BLANKS	" \t\r\v\f"
#define TABLE_DOMAINMAX	253		/* RFC 1035, without the root dot */
#define TABLE_LABELMAX	63
#define TABLE_NULLSENDER "<>"

/*
 * A trie node, with its key inline so that a step down the trie touches
 * one place in memory.  Node 0 is the root, the /0 prefix, and nobody's
 * child.
 */
struct table_node {
	uint32_t	 child[2];	/* by the next bit; 0: none */
	uint32_t	 tag;		/* of the entry, when used */
	uint8_t		 plen;		/* prefix length in bits */
	uint8_t		 used;		/* an entry, not only a branch point */
	uint32_t	 key[];		/* nwords, bits from plen on zero */
};

struct table_trie {
	unsigned char	*base;		/* owned; cap nodes of stride bytes */
	size_t		 stride;	/* bytes a node, key included */
	size_t		 n;		/* nodes in use */
	size_t		 cap;		/* nodes allocated; doubles */
	unsigned	 nwords;	/* 32-bit words a key: 1 or 4 */
};

#define TRIE_NODE(t, i)	\
	((struct table_node *)((t)->base + (size_t)(i) * (t)->stride))

struct iptable {
	struct table_trie v4;
	struct table_trie v6;
	size_t		 count;		/* entries added, duplicates too */
};

struct addr_slot {
	char		*key;		/* owned, lowercased; NULL: free slot */
	size_t		 len;		/* strlen(key) */
	uint32_t	 hash;		/* addr_hash(key) */
	uint32_t	 tag;		/* of the first entry with this key */
};

struct addrtable {
	struct addr_slot *slots;	/* owned; nslots of them */
	size_t		 nslots;	/* a power of two */
	size_t		 used;		/* distinct keys */
	size_t		 count;		/* entries added, duplicates too */
};

typedef int	(*table_add_fn)(void *, const char *, uint32_t, char *,
		    size_t);

static int	 table_err(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static const char *table_quote(const char *, char *, size_t);
static int	 table_line(char *, size_t, char **, char *, size_t);
static int	 table_load(void *, table_add_fn, const char *, char *,
		    size_t);
static int	 table_fill(void *, table_add_fn, const char *, const char *,
		    const char *, char *, size_t);
static int	 table_ipadd(void *, const char *, uint32_t, char *, size_t);
static int	 table_addradd(void *, const char *, uint32_t, char *,
		    size_t);

static void	 trie_init(struct table_trie *, unsigned);
static void	 trie_fini(struct table_trie *);
static uint32_t	 trie_node(struct table_trie *, const uint32_t *, unsigned,
		    int, uint32_t);
static void	 trie_mask(uint32_t *, unsigned, unsigned);
static unsigned	 trie_bit(const uint32_t *, unsigned);
static unsigned	 trie_common(const uint32_t *, const uint32_t *, unsigned,
		    unsigned);
static int	 trie_match(const uint32_t *, const uint32_t *, unsigned);
static void	 trie_insert(struct table_trie *, const uint32_t *, unsigned,
		    uint32_t);
static int	 trie_lookup(const struct table_trie *, const uint32_t *,
		    uint32_t *);

static int	 ip_parse(const char *, int *, uint32_t *, unsigned *, char *,
		    size_t);
static int	 ip_prefix(const char *, const char *, unsigned, unsigned *,
		    char *, size_t);
static void	 ip_key(int, const void *, uint32_t *);
static int	 ip_hostbits(const char *, int, const uint32_t *, unsigned,
		    char *, size_t);

static unsigned char addr_lower(unsigned char);
static uint32_t	 addr_hash(const char *, size_t);
static size_t	 addr_find(const struct addrtable *, const char *, size_t,
		    uint32_t);
static int	 addr_get(const struct addrtable *, const char *, size_t,
		    uint32_t *);
static void	 addr_grow(struct addrtable *);
static int	 addr_check(const char *, char *, size_t);
static int	 addr_check_local(const char *, size_t, const char *, char *,
		    size_t);
static int	 addr_check_domain(const char *, const char *, char *,
		    size_t);
static int	 addr_check_label(const char *, size_t, const char *, char *,
		    size_t);

/*
 * Shared helpers: messages and the file loader.
 */
static int
table_err(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errsz == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

/* The first TABLE_QUOTE bytes of s in buf, control bytes as '?'. */
static const char *
table_quote(const char *s, char *buf, size_t sz)
{
	size_t	 i;

	for (i = 0; i < TABLE_QUOTE && i + 4 < sz && s[i] != '\0'; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ?
		    '?' : s[i];
	buf[i] = '\0';
	if (s[i] != '\0')
		strlcat(buf, "...", sz);
	return buf;
}

/*
 * The entry of one line (len bytes, NUL-terminated) in *entryp, cut in
 * place; NULL for a blank or comment line.  '#' starts a comment at the
 * start of the line or after a blank, so "a#b@example.com" is an entry.
 */
static int
table_line(char *line, size_t len, char **entryp, char *why, size_t whysz)
{
	char	*s, *h, *rest, *next;
	char	 q1[TABLE_QUOTE + 8], q2[TABLE_QUOTE + 8];

	*entryp = NULL;
	if (memchr(line, '\0', len) != NULL)
		return table_err(why, whysz, "NUL byte in line");
	for (h = line; (h = strchr(h, '#')) != NULL; h++)
		if (h == line || strchr(TABLE_BLANKS, h[-1]) != NULL) {
			*h = '\0';
			break;
		}
	s = line + strspn(line, TABLE_BLANKS "\n");
	if (*s == '\0')
		return 0;
	rest = s + strcspn(s, TABLE_BLANKS "\n");
	if (*rest != '\0') {
		*rest++ = '\0';
		next = rest + strspn(rest, TABLE_BLANKS "\n");
		if (*next != '\0') {
			next[strcspn(next, TABLE_BLANKS "\n")] = '\0';
			return table_err(why, whysz, "one entry a line: '%s' "
			    "is followed by '%s'", table_quote(s, q1,
			    sizeof(q1)), table_quote(next, q2, sizeof(q2)));
		}
	}
	*entryp = s;
	return 0;
}

static int
table_load(void *t, table_add_fn add, const char *path, char *err,
    size_t errsz)
{
	FILE	*fp;
	char	*line = NULL, *entry;
	char	 why[512];
	size_t	 cap = 0, lineno = 0;
	ssize_t	 len;
	int	 rc = 0, saved;

	if ((fp = fopen(path, "r")) == NULL) {
		util_err_append(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* A bad line is reported and skipped, so every one is reported. */
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (table_line(line, (size_t)len, &entry, why,
		    sizeof(why)) == -1 || (entry != NULL &&
		    add(t, entry, (uint32_t)lineno, why, sizeof(why)) == -1)) {
			util_err_append(err, errsz, "%s:%zu: %s", path, lineno,
			    why);
			rc = -1;
		}
	}
	if (ferror(fp)) {
		saved = errno != 0 ? errno : EIO;
		util_err_append(err, errsz, "%s: %s", path, strerror(saved));
		rc = -1;
	}
	free(line);
	fclose(fp);
	return rc;
}

/* Every comma/blank separated entry of list (tag 0); each bad one is
 * reported as "label: 'entry': why". */
static int
table_add_list(void *t, table_add_fn add, const char *list,
    const char *label, char *err, size_t errsz)
{
	char	*copy, *w, *save;
	char	 why[512];
	int	 rc = 0;

	copy = xstrdup(list);
	for (w = strtok_r(copy, ", \t", &save); w != NULL;
	    w = strtok_r(NULL, ", \t", &save))
		if (add(t, w, 0, why, sizeof(why)) == -1) {
			util_err_append(err, errsz, "%s: '%s': %s", label, w,
			    why);
			rc = -1;
		}
	free(copy);
	return rc;
}

/* The inline list, then the file: every bad entry of both reported. */
static int
table_fill(void *t, table_add_fn add, const char *list, const char *path,
    const char *label, char *err, size_t errsz)
{
	int	 rc;

	rc = table_add_list(t, add, list, label, err, errsz);
	if (path[0] != '\0' && table_load(t, add, path, err, errsz) == -1)
		rc = -1;
	return rc;
}

static int
table_ipadd(void *t, const char *entry, uint32_t tag, char *err,
    size_t errsz)
{
	return iptable_add(t, entry, tag, err, errsz);
}

static int
table_addradd(void *t, const char *entry, uint32_t tag, char *err,
    size_t errsz)
{
	return addrtable_add(t, entry, tag, err, errsz);
}

/*
 * The trie.  Keys are arrays of 32-bit words in host order, most
 * significant first, so bit 0 is the top bit of word 0.
 */
static void
trie_init(struct table_trie *t, unsigned nwords)
{
	static const uint32_t	 zero[4];

	memset(t, 0, sizeof(*t));
	t->nwords = nwords;
	t->stride = sizeof(struct table_node) + nwords * sizeof(uint32_t);
	(void)trie_node(t, zero, 0, 0, 0);
}

static void
trie_fini(struct table_trie *t)
{
	free(t->base);
}

/*
 * A new node for key cut to plen; returns its index.  It may move the
 * arrays: pointers into them do not survive a call.
 */
static uint32_t
trie_node(struct table_trie *t, const uint32_t *key, unsigned plen,
    int used, uint32_t tag)
{
	struct table_node	*n;

	if (t->n == t->cap) {
		if (t->cap >= UINT32_MAX / 2)
			fatalx("table: more than 2^32 trie nodes");
		t->cap = t->cap == 0 ? 64 : t->cap * 2;
		t->base = xrealloc(t->base, t->cap * t->stride);
	}
	n = TRIE_NODE(t, t->n);
	memset(n, 0, t->stride);
	n->plen = plen;
	n->used = used;
	n->tag = tag;
	memcpy(n->key, key, t->nwords * sizeof(*key));
	trie_mask(n->key, t->nwords, plen);
	return t->n++;
}

/* Clear the bits of key from bit plen on. */
static void
trie_mask(uint32_t *key, unsigned nwords, unsigned plen)
{
	unsigned	 w;

	for (w = 0; w < nwords; w++) {
		if (plen >= 32) {
			plen -= 32;
			continue;
		}
		key[w] &= plen == 0 ? 0 : ~(UINT32_MAX >> plen);
		plen = 0;
	}
}

static unsigned
trie_bit(const uint32_t *key, unsigned pos)
{
	return (key[pos / 32] >> (31 - pos % 32)) & 1;
}

/* How many leading bits a and b share, at most limit. */
static unsigned
trie_common(const uint32_t *a, const uint32_t *b, unsigned nwords,
    unsigned limit)
{
	unsigned	 w, cl;
	uint32_t	 x;

	for (w = 0; w < nwords && w * 32 < limit; w++) {
		if ((x = a[w] ^ b[w]) != 0) {
			cl = w * 32 + (unsigned)__builtin_clz(x);
			return cl < limit ? cl : limit;
		}
	}
	return limit;
}

/* Is key within the prefix (pkey, plen)? */
static int
trie_match(const uint32_t *key, const uint32_t *pkey, unsigned plen)
{
	unsigned	 w;

	for (w = 0; plen >= 32; w++, plen -= 32)
		if (key[w] != pkey[w])
			return 0;
	if (plen == 0)
		return 1;
	return ((key[w] ^ pkey[w]) & ~(UINT32_MAX >> plen)) == 0;
}

/*
 * Add (key, plen), key with its host bits clear.  Walk down while a node
 * covers the key; then either the key is that node (an equal prefix: the
 * first tag stays), or it hangs in a free child slot, or it sits between
 * the node and the child it diverges from, above it or beside it under a
 * new branch point at the first differing bit.
 */
static void
trie_insert(struct table_trie *t, const uint32_t *key, unsigned plen,
    uint32_t tag)
{
	struct table_node	*n, *cn;
	uint32_t		 i = 0, c, nn, leaf;
	unsigned		 b, cl;

	for (;;) {
		n = TRIE_NODE(t, i);
		if (n->plen == plen) {
			if (!n->used) {
				n->used = 1;
				n->tag = tag;
			}
			return;
		}
		b = trie_bit(key, n->plen);
		if ((c = n->child[b]) == 0) {
			nn = trie_node(t, key, plen, 1, tag);
			TRIE_NODE(t, i)->child[b] = nn;
			return;
		}
		cn = TRIE_NODE(t, c);
		cl = trie_common(key, cn->key, t->nwords,
		    plen < cn->plen ? plen : cn->plen);
		if (cl == cn->plen) {
			i = c;
			continue;
		}
		/* From here on nodes move: only indices stay valid. */
		nn = trie_node(t, key, cl, cl == plen, cl == plen ? tag : 0);
		if (cl != plen) {
			leaf = trie_node(t, key, plen, 1, tag);
			TRIE_NODE(t, nn)->child[trie_bit(key, cl)] = leaf;
		}
		b = trie_bit(TRIE_NODE(t, c)->key, cl);
		TRIE_NODE(t, nn)->child[b] = c;
		b = trie_bit(key, TRIE_NODE(t, i)->plen);
		TRIE_NODE(t, i)->child[b] = nn;
		return;
	}
}

static int
trie_lookup(const struct table_trie *t, const uint32_t *key, uint32_t *tag)
{
	const struct table_node	*n;
	uint32_t		 i = 0;
	int			 found = 0;

	for (;;) {
		n = TRIE_NODE(t, i);
		if (!trie_match(key, n->key, n->plen))
			break;
		if (n->used) {
			found = 1;
			if (tag != NULL)
				*tag = n->tag;
		}
		if (n->plen == t->nwords * 32 ||
		    (i = n->child[trie_bit(key, n->plen)]) == 0)
			break;
	}
	return found;
}

/*
 * IP entries.
 */
struct iptable *
iptable_new(void)
{
	struct iptable	*t = xcalloc(1, sizeof(*t));

	trie_init(&t->v4, 1);
	trie_init(&t->v6, 4);
	return t;
}

void
iptable_free(struct iptable *t)
{
	if (t == NULL)
		return;
	trie_fini(&t->v4);
	trie_fini(&t->v6);
	free(t);
}

/* The address of an AF_INET or AF_INET6 in_addr as key words. */
static void
ip_key(int af, const void *addr, uint32_t *key)
{
	const unsigned char	*p = addr;
	unsigned		 w, nwords = af == AF_INET ? 1 : 4;

	for (w = 0; w < nwords; w++, p += 4)
		key[w] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
}

/* The "/N" part s of entry: digits only, 0..max. */
static int
ip_prefix(const char *entry, const char *s, unsigned max, unsigned *plen,
    char *err, size_t errsz)
{
	char		 q[TABLE_QUOTE + 8];
	unsigned	 v = 0;
	size_t		 i;

	if (*s == '\0')
		return table_err(err, errsz, "missing prefix length after "
		    "'/': '%s'", table_quote(entry, q, sizeof(q)));
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return table_err(err, errsz, "prefix length is not a "
			    "number: '%s'", table_quote(entry, q, sizeof(q)));
		if (v <= max)
			v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return table_err(err, errsz, "prefix length %s out of range "
		    "0..%u", table_quote(s, q, 24), max);
	*plen = v;
	return 0;
}

/* Host bits below plen are an error that suggests the network meant. */
static int
ip_hostbits(const char *entry, int af, const uint32_t *key, unsigned plen,
    char *err, size_t errsz)
{
	uint32_t	 m[4];
	unsigned char	 b[16];
	char		 s[INET6_ADDRSTRLEN], q[TABLE_QUOTE + 8];
	unsigned	 w, nwords = af == AF_INET ? 1 : 4;

	memcpy(m, key, nwords * sizeof(*m));
	trie_mask(m, nwords, plen);
	if (memcmp(m, key, nwords * sizeof(*m)) == 0)
		return 0;
	for (w = 0; w < nwords; w++) {
		b[w * 4] = m[w] >> 24;
		b[w * 4 + 1] = m[w] >> 16;
		b[w * 4 + 2] = m[w] >> 8;
		b[w * 4 + 3] = m[w];
	}
	if (inet_ntop(af, b, s, sizeof(s)) == NULL)
		return table_err(err, errsz, "host bits set below the /%u "
		    "prefix: '%s'", plen, table_quote(entry, q, sizeof(q)));
	return table_err(err, errsz, "host bits set below the /%u prefix: "
	    "did you mean %s/%u?", plen, s, plen);
}

/*
 * "addr" or "addr/N" -> family, key and prefix length; a mapped IPv6
 * network of /96 or longer comes back as the IPv4 network.
 */
static int
ip_parse(const char *entry, int *afp, uint32_t *key, unsigned *plenp,
    char *err, size_t errsz)
{
	char		 a[INET6_ADDRSTRLEN + 1], q[TABLE_QUOTE + 8];
	unsigned char	 bin[16];
	const char	*slash;
	size_t		 alen;
	unsigned	 max;
	int		 af;

	slash = strchr(entry, '/');
	alen = slash != NULL ? (size_t)(slash - entry) : strlen(entry);
	if (alen >= sizeof(a))
		goto bad;
	memcpy(a, entry, alen);
	a[alen] = '\0';
	af = strchr(a, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(af, a, bin) != 1)
		goto bad;
	max = af == AF_INET ? 32 : 128;
	*plenp = max;
	if (slash != NULL && ip_prefix(entry, slash + 1, max, plenp, err,
	    errsz) == -1)
		return -1;
	ip_key(af, bin, key);
	if (ip_hostbits(entry, af, key, *plenp, err, errsz) == -1)
		return -1;
	if (af == AF_INET6 && *plenp >= 96 && key[0] == 0 && key[1] == 0 &&
	    key[2] == 0xffff) {
		af = AF_INET;
		key[0] = key[3];
		*plenp -= 96;
	}
	*afp = af;
	return 0;
 bad:
	(void)table_err(err, errsz, "not an IP address or network: '%s'",
	    table_quote(entry, q, sizeof(q)));
	return -1;
}

int
iptable_add(struct iptable *t, const char *entry, uint32_t tag, char *err,
    size_t errsz)
{
	uint32_t	 key[4];
	unsigned	 plen;
	int		 af;

	if (ip_parse(entry, &af, key, &plen, err, errsz) == -1)
		return -1;
	trie_insert(af == AF_INET ? &t->v4 : &t->v6, key, plen, tag);
	t->count++;
	return 0;
}

int
iptable_load(struct iptable *t, const char *path, char *err, size_t errsz)
{
	return table_load(t, table_ipadd, path, err, errsz);
}

int
iptable_add_list(struct iptable *t, const char *list, const char *label,
    char *err, size_t errsz)
{
	return table_add_list(t, table_ipadd, list, label, err, errsz);
}

int
iptable_from(struct iptable **tp, const char *list, const char *path,
    const char *label, char *err, size_t errsz)
{
	*tp = NULL;
	if (list[0] == '\0' && path[0] == '\0')
		return 0;
	*tp = iptable_new();
	return table_fill(*tp, table_ipadd, list, path, label, err, errsz);
}

size_t
iptable_count(const struct iptable *t)
{
	return t->count;
}

int
iptable_lookup(const struct iptable *t, const struct sockaddr *sa,
    uint32_t *tag)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	uint32_t			 key[4];

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		ip_key(AF_INET, &sin->sin_addr, key);
		return trie_lookup(&t->v4, key, tag);
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		ip_key(AF_INET6, &sin6->sin6_addr, key);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			return trie_lookup(&t->v4, &key[3], tag);
		return trie_lookup(&t->v6, key, tag);
	default:
		return 0;
	}
}

/*
 * Sender entries.  Case folding is ASCII only: 8-bit bytes (raw UTF-8)
 * compare as they are, whatever the locale.
 */
static unsigned char
addr_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* FNV-1a of the lowercased bytes. */
static uint32_t
addr_hash(const char *s, size_t len)
{
	uint32_t	 h = 2166136261u;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= addr_lower((unsigned char)s[i]);
		h *= 16777619u;
	}
	return h;
}

/* The slot holding s (any case), or the free slot where it would go. */
static size_t
addr_find(const struct addrtable *t, const char *s, size_t len,
    uint32_t h)
{
	const struct addr_slot	*sl;
	size_t			 i, j, mask = t->nslots - 1;

	for (i = h & mask;; i = (i + 1) & mask) {
		sl = &t->slots[i];
		if (sl->key == NULL)
			return i;
		if (sl->hash != h || sl->len != len)
			continue;
		for (j = 0; j < len; j++)
			if (addr_lower((unsigned char)s[j]) !=
			    (unsigned char)sl->key[j])
				break;
		if (j == len)
			return i;
	}
}

static int
addr_get(const struct addrtable *t, const char *s, size_t len,
    uint32_t *tag)
{
	const struct addr_slot	*sl;

	sl = &t->slots[addr_find(t, s, len, addr_hash(s, len))];
	if (sl->key == NULL)
		return 0;
	if (tag != NULL)
		*tag = sl->tag;
	return 1;
}

static void
addr_grow(struct addrtable *t)
{
	struct addr_slot	*old = t->slots;
	size_t			 i, n = t->nslots;

	t->nslots *= 2;
	t->slots = xcalloc(t->nslots, sizeof(*t->slots));
	for (i = 0; i < n; i++)
		if (old[i].key != NULL)
			t->slots[addr_find(t, old[i].key, old[i].len,
			    old[i].hash)] = old[i];
	free(old);
}

struct addrtable *
addrtable_new(void)
{
	struct addrtable	*t = xcalloc(1, sizeof(*t));

	t->nslots = 16;
	t->slots = xcalloc(t->nslots, sizeof(*t->slots));
	return t;
}

void
addrtable_free(struct addrtable *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nslots; i++)
		free(t->slots[i].key);
	free(t->slots);
	free(t);
}

/* Local part: non-empty, no space, control character or DEL. */
static int
addr_check_local(const char *s, size_t len, const char *entry, char *err,
    size_t errsz)
{
	char	 q[TABLE_QUOTE + 8];
	size_t	 i;

	if (len == 0)
		return table_err(err, errsz, "empty local part: '%s' (a "
		    "whole domain is listed without '@')",
		    table_quote(entry, q, sizeof(q)));
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return table_err(err, errsz, "space or control "
			    "character in local part: '%s'",
			    table_quote(entry, q, sizeof(q)));
	return 0;
}

/* One label: 1..63 bytes of letters, digits, 8-bit and inner hyphens. */
static int
addr_check_label(const char *s, size_t len, const char *entry, char *err,
    size_t errsz)
{
	char		 q[TABLE_QUOTE + 8];
	unsigned char	 c;
	size_t		 i;

	if (len == 0)
		return table_err(err, errsz, "empty label in domain: '%s'",
		    table_quote(entry, q, sizeof(q)));
	if (len > TABLE_LABELMAX)
		return table_err(err, errsz, "label longer than %d bytes in "
		    "domain: '%s'", TABLE_LABELMAX,
		    table_quote(entry, q, sizeof(q)));
	if (s[0] == '-' || s[len - 1] == '-')
		return table_err(err, errsz, "label starts or ends with '-' "
		    "in domain: '%s'", table_quote(entry, q, sizeof(q)));
	for (i = 0; i < len; i++) {
		c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c >= 0x80)
			continue;
		if (c > ' ' && c < 0x7f)
			return table_err(err, errsz, "character '%c' not "
			    "allowed in domain: '%s'", c,
			    table_quote(entry, q, sizeof(q)));
		return table_err(err, errsz, "character 0x%02x not allowed "
		    "in domain: '%s'", c, table_quote(entry, q, sizeof(q)));
	}
	return 0;
}

static int
addr_check_domain(const char *d, const char *entry, char *err,
    size_t errsz)
{
	char		 q[TABLE_QUOTE + 8];
	const char	*dot;
	size_t		 len;

	if (d[0] == '\0')
		return table_err(err, errsz, "empty domain: '%s'",
		    table_quote(entry, q, sizeof(q)));
	if (strlen(d) > TABLE_DOMAINMAX)
		return table_err(err, errsz, "domain longer than %d bytes: "
		    "'%s'", TABLE_DOMAINMAX, table_quote(entry, q, sizeof(q)));
	for (;;) {
		dot = strchr(d, '.');
		len = dot != NULL ? (size_t)(dot - d) : strlen(d);
		if (addr_check_label(d, len, entry, err, errsz) == -1)
			return -1;
		if (dot == NULL)
			return 0;
		d = dot + 1;
	}
}

/* "<>", "local@domain", "domain" or ".domain". */
static int
addr_check(const char *entry, char *err, size_t errsz)
{
	const char	*at;

	if (entry[0] == '\0')
		return table_err(err, errsz, "empty entry");
	if (strcmp(entry, TABLE_NULLSENDER) == 0)
		return 0;
	if ((at = strrchr(entry, '@')) != NULL) {
		if (addr_check_local(entry, (size_t)(at - entry), entry, err,
		    errsz) == -1)
			return -1;
		return addr_check_domain(at + 1, entry, err, errsz);
	}
	return addr_check_domain(entry[0] == '.' ? entry + 1 : entry, entry,
	    err, errsz);
}

int
addrtable_add(struct addrtable *t, const char *entry, uint32_t tag,
    char *err, size_t errsz)
{
	struct addr_slot	*sl;
	size_t			 i, len;
	uint32_t		 h;

	if (addr_check(entry, err, errsz) == -1)
		return -1;
	t->count++;
	len = strlen(entry);
	h = addr_hash(entry, len);
	if (t->slots[addr_find(t, entry, len, h)].key != NULL)
		return 0;
	if ((t->used + 1) * 4 > t->nslots * 3)
		addr_grow(t);
	sl = &t->slots[addr_find(t, entry, len, h)];
	sl->key = xstrdup(entry);
	for (i = 0; i < len; i++)
		sl->key[i] = addr_lower((unsigned char)sl->key[i]);
	sl->len = len;
	sl->hash = h;
	sl->tag = tag;
	t->used++;
	return 0;
}

int
addrtable_load(struct addrtable *t, const char *path, char *err,
    size_t errsz)
{
	return table_load(t, table_addradd, path, err, errsz);
}

int
addrtable_add_list(struct addrtable *t, const char *list, const char *label,
    char *err, size_t errsz)
{
	return table_add_list(t, table_addradd, list, label, err, errsz);
}

int
addrtable_from(struct addrtable **tp, const char *list, const char *path,
    const char *label, char *err, size_t errsz)
{
	*tp = NULL;
	if (list[0] == '\0' && path[0] == '\0')
		return 0;
	*tp = addrtable_new();
	return table_fill(*tp, table_addradd, list, path, label, err, errsz);
}

size_t
addrtable_count(const struct addrtable *t)
{
	return t->count;
}

/*
 * The whole address, its domain, then each parent for the "." entries:
 * a@x.y.example.com tries ".y.example.com", ".example.com", ".com".  A
 * trailing root dot is ignored; a sender without '@' matches nothing.
 */
int
addrtable_lookup(const struct addrtable *t, const char *addr, uint32_t *tag)
{
	const char	*at, *d, *p, *end;
	size_t		 len;

	if (addr[0] == '\0' || strcmp(addr, TABLE_NULLSENDER) == 0)
		return addr_get(t, TABLE_NULLSENDER, 2, tag);
	if ((at = strrchr(addr, '@')) == NULL)
		return 0;
	len = strlen(addr);
	if (addr[len - 1] == '.')
		len--;
	end = addr + len;
	d = at + 1;
	if (d >= end || *d == '.')
		return 0;
	if (addr_get(t, addr, len, tag) ||
	    addr_get(t, d, (size_t)(end - d), tag))
		return 1;
	for (p = d + 1; p < end; p++)
		if (*p == '.' && addr_get(t, p, (size_t)(end - p), tag))
			return 1;
	return 0;
}
