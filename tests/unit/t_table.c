/* SPDX-License-Identifier: ISC */
/*
 * t_table.c - unit tests for policy/table.c: IP sets (/0, /32, /128,
 * overlapping prefixes, IPv4-mapped entries and lookups, IPv6 prefixes on
 * every word boundary, every error message, a randomized comparison with a
 * brute-force scan), file loading (comments, blank lines, CRLF, errors with
 * line numbers, under a mkdtemp directory) and sender sets (case, domain
 * and subdomain semantics, the null sender, validation messages).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "policy/table.h"
#include "tap.h"

#define MKFILE(name, lit)	mkfile((name), (lit), sizeof(lit) - 1)

static char	 tdir[] = "/tmp/t_table.XXXXXX";

/* The tag the most specific entry matching addr has, or -1. */
static long
lk(const struct iptable *t, const char *addr)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	uint32_t		 tag = 0xdeadbeef;

	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			abort();
	} else {
		sin->sin_family = AF_INET;
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			abort();
	}
	if (!iptable_lookup(t, (struct sockaddr *)&ss, &tag))
		return -1;
	return tag;
}

static long
alk(const struct addrtable *t, const char *addr)
{
	uint32_t	 tag = 0xdeadbeef;

	if (!addrtable_lookup(t, addr, &tag))
		return -1;
	return tag;
}

/* Adds entry with tag; the error text, or "" on success. */
static const char *
ipadd(struct iptable *t, const char *entry, uint32_t tag)
{
	static char	 err[512];

	strlcpy(err, "", sizeof(err));
	if (iptable_add(t, entry, tag, err, sizeof(err)) == 0)
		return "";
	return err;
}

static const char *
addradd(struct addrtable *t, const char *entry, uint32_t tag)
{
	static char	 err[512];

	strlcpy(err, "", sizeof(err));
	if (addrtable_add(t, entry, tag, err, sizeof(err)) == 0)
		return "";
	return err;
}

/* A file under tdir holding len bytes of text; its path in a static. */
static const char *
mkfile(const char *name, const char *text, size_t len)
{
	static char	 path[256];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	if ((fp = fopen(path, "w")) == NULL || fwrite(text, 1, len, fp) != len
	    || fclose(fp) != 0)
		abort();
	return path;
}

static void
test_v4_basic(void)
{
	struct iptable	*t = iptable_new();

	is_int(iptable_count(t), 0, "empty table");
	is_int(lk(t, "192.0.2.7"), -1, "empty table matches nothing");
	is_int(lk(t, "::1"), -1, "empty table matches no IPv6");
	is_str(ipadd(t, "192.0.2.7", 1), "", "add host");
	is_str(ipadd(t, "192.0.2.8/32", 2), "", "add /32");
	is_int(lk(t, "192.0.2.7"), 1, "host matches");
	is_int(lk(t, "192.0.2.8"), 2, "/32 matches");
	is_int(lk(t, "192.0.2.9"), -1, "neighbour does not");
	is_int(lk(t, "192.0.2.6"), -1, "neighbour below does not");
	is_int(lk(t, "::ffff:192.0.2.7"), 1, "mapped lookup of host");
	is_int(lk(t, "::192.0.2.7"), -1, "compatible address is IPv6");
	is_str(ipadd(t, "255.255.255.255", 3), "", "add all-ones");
	is_str(ipadd(t, "0.0.0.0", 4), "", "add all-zeros host");
	is_int(lk(t, "255.255.255.255"), 3, "all-ones");
	is_int(lk(t, "0.0.0.0"), 4, "all-zeros");
	is_int(lk(t, "0.0.0.1"), -1, "0.0.0.1 not in");
	is_int(lk(t, "128.0.0.0"), -1, "128.0.0.0 not in");
	ok(iptable_lookup(t, (struct sockaddr *)&(struct sockaddr_in){
	    .sin_family = AF_INET, .sin_addr.s_addr = htonl(0xc0000207) },
	    NULL) == 1, "NULL tag pointer is allowed");
	is_int(iptable_count(t), 4, "count");
	iptable_free(t);
	iptable_free(NULL);
}

static void
test_zero(void)
{
	struct iptable	*t = iptable_new();

	is_str(ipadd(t, "0.0.0.0/0", 5), "", "add 0.0.0.0/0");
	is_int(lk(t, "1.2.3.4"), 5, "/0 matches 1.2.3.4");
	is_int(lk(t, "255.255.255.255"), 5, "/0 matches all-ones");
	is_int(lk(t, "::ffff:10.0.0.1"), 5, "/0 matches mapped");
	is_int(lk(t, "2001:db8::1"), -1, "v4 /0 does not match IPv6");
	is_str(ipadd(t, "::/0", 6), "", "add ::/0");
	is_int(lk(t, "2001:db8::1"), 6, "::/0 matches IPv6");
	is_int(lk(t, "::"), 6, "::/0 matches ::");
	is_int(lk(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 6,
	    "::/0 matches all-ones");
	is_int(lk(t, "::ffff:10.0.0.1"), 5, "mapped goes to v4 /0");
	is_str(ipadd(t, "10.0.0.0/8", 7), "", "add /8 under /0");
	is_int(lk(t, "10.9.9.9"), 7, "/8 beats /0");
	is_int(lk(t, "11.0.0.0"), 5, "/0 elsewhere");
	iptable_free(t);

	t = iptable_new();
	is_str(ipadd(t, "::/0", 1), "", "v6 /0 alone");
	is_int(lk(t, "::ffff:10.0.0.1"), -1, "::/0 does not match mapped");
	is_int(lk(t, "10.0.0.1"), -1, "::/0 does not match IPv4");
	is_str(ipadd(t, "::/80", 2), "", "::/80 covers the mapped range");
	is_int(lk(t, "::ffff:10.0.0.1"), -1, "still IPv4 only");
	is_int(lk(t, "::1"), 2, "::/80 matches ::1");
	iptable_free(t);
}

static void
test_overlap(void)
{
	static const char *const entries[] = {
		"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3",
		"10.1.2.128/25", "10.128.0.0/9",
	};
	struct iptable	*a = iptable_new(), *b = iptable_new();
	size_t		 i, n = sizeof(entries) / sizeof(entries[0]);

	for (i = 0; i < n; i++) {
		is_str(ipadd(a, entries[i], i + 1), "", "add %s", entries[i]);
		is_str(ipadd(b, entries[n - 1 - i], n - i), "",
		    "add %s in reverse", entries[n - 1 - i]);
	}
	for (i = 0; i < 2; i++) {
		struct iptable	*t = i == 0 ? a : b;
		const char	*how = i == 0 ? "forward" : "reverse";

		is_int(lk(t, "10.1.2.3"), 4, "%s: host most specific", how);
		is_int(lk(t, "10.1.2.4"), 3, "%s: /24", how);
		is_int(lk(t, "10.1.2.200"), 5, "%s: /25", how);
		is_int(lk(t, "10.1.3.1"), 2, "%s: /16", how);
		is_int(lk(t, "10.2.0.0"), 1, "%s: /8", how);
		is_int(lk(t, "10.200.0.0"), 6, "%s: /9", how);
		is_int(lk(t, "10.127.255.255"), 1, "%s: /8 below /9", how);
		is_int(lk(t, "11.0.0.0"), -1, "%s: outside", how);
		is_int(lk(t, "9.255.255.255"), -1, "%s: below", how);
	}
	iptable_free(a);
	iptable_free(b);

	a = iptable_new();
	is_str(ipadd(a, "192.0.2.0/24", 1), "", "first of equals");
	is_str(ipadd(a, "192.0.2.0/24", 2), "", "second of equals");
	is_str(ipadd(a, "::ffff:192.0.2.0/120", 3), "", "mapped equal");
	is_int(lk(a, "192.0.2.1"), 1, "equal prefixes: first tag kept");
	is_str(ipadd(a, "192.0.0.0/16", 4), "", "shorter after");
	is_str(ipadd(a, "192.0.0.0/16", 5), "", "shorter again");
	is_int(lk(a, "192.0.3.1"), 4, "branch made entry keeps first tag");
	is_int(lk(a, "192.0.2.1"), 1, "longer still wins");
	is_int(iptable_count(a), 5, "duplicates counted");
	iptable_free(a);

	/* A branch point that later becomes an entry. */
	a = iptable_new();
	is_str(ipadd(a, "10.0.0.0/24", 1), "", "add 10.0.0.0/24");
	is_str(ipadd(a, "10.0.1.0/24", 2), "", "add 10.0.1.0/24");
	is_int(lk(a, "10.0.2.1"), -1, "branch point is no entry");
	is_str(ipadd(a, "10.0.0.0/23", 3), "", "branch point as entry");
	is_int(lk(a, "10.0.0.1"), 1, "under it, left");
	is_int(lk(a, "10.0.1.1"), 2, "under it, right");
	is_int(lk(a, "10.0.2.1"), -1, "beside it");
	iptable_free(a);
}

static void
test_mapped(void)
{
	struct iptable	*t = iptable_new();

	is_str(ipadd(t, "::ffff:192.0.2.0/120", 7), "", "mapped /120");
	is_int(lk(t, "192.0.2.9"), 7, "mapped entry, v4 lookup");
	is_int(lk(t, "::ffff:192.0.2.9"), 7, "mapped entry, mapped lookup");
	is_int(lk(t, "192.0.3.9"), -1, "outside the mapped /120");
	is_str(ipadd(t, "198.51.100.0/24", 8), "", "v4 /24");
	is_int(lk(t, "::ffff:198.51.100.1"), 8, "v4 entry, mapped lookup");
	is_int(lk(t, "::ffff:c633:6401"), 8, "hex mapped lookup");
	is_str(ipadd(t, "::ffff:203.0.113.5", 9), "", "mapped host");
	is_int(lk(t, "203.0.113.5"), 9, "mapped host, v4 lookup");
	is_int(lk(t, "203.0.113.6"), -1, "mapped host is a /32");
	is_str(ipadd(t, "::ffff:0:0/104", 10), "", "mapped /104");
	is_int(lk(t, "0.1.2.3"), 10, "mapped /104 is 0.0.0.0/8");
	is_int(lk(t, "1.1.2.3"), -1, "and no more");
	is_int(lk(t, "::1"), -1, "no IPv6 entry");
	iptable_free(t);

	t = iptable_new();
	is_str(ipadd(t, "::ffff:0:0/96", 1), "", "mapped /96");
	is_int(lk(t, "8.8.8.8"), 1, "mapped /96 is 0.0.0.0/0");
	is_int(lk(t, "::ffff:8.8.8.8"), 1, "mapped /96, mapped lookup");
	is_int(lk(t, "::8.8.8.8"), -1, "compatible address not mapped");
	is_int(lk(t, "2001:db8::"), -1, "mapped /96 is no IPv6 entry");
	iptable_free(t);
}

static void
test_v6(void)
{
	static const struct {
		const char	*entry;
		const char	*in, *out;
	} c[] = {
		{ "2001:db8::/32", "2001:db8:10::1", "2001:db9::" },
		{ "2001:db8:8000::/33", "2001:db8:8000::1", "2001:db8:7fff::" },
		{ "2001:db8:1::/31", NULL, NULL },	/* host bits */
		{ "2001:db8:1:2::/63", "2001:db8:1:3::9", "2001:db8:1:4::" },
		{ "2001:db8:2:0::/64", "2001:db8:2:0:ffff::",
		    "2001:db8:2:1::" },
		{ "2001:db8:3:0:8000::/65", "2001:db8:3:0:8000::1",
		    "2001:db8:3:0:7fff::" },
		{ "2001:db8:4::1:0:0/96", "2001:db8:4::1:ffff:ffff",
		    "2001:db8:4::2:0:0" },
		{ "2001:db8:5::1:8000:0/97", "2001:db8:5::1:8000:1",
		    "2001:db8:5::1:7fff:ffff" },
		{ "2001:db8:6::fffe/127", "2001:db8:6::ffff",
		    "2001:db8:6::fffd" },
		{ "2001:db8:7::7/128", "2001:db8:7::7", "2001:db8:7::6" },
		{ "::1", "::1", "::2" },
		{ "::", "::", "::3" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe" },
		{ "64:ff9b::/96", "64:ff9b::c000:201", "64:ff9b:1::" },
		{ "fe80::/10", "febf::1", "fec0::1" },
	};
	struct iptable	*t = iptable_new();
	size_t		 i, n = sizeof(c) / sizeof(c[0]);

	for (i = 0; i < n; i++) {
		if (c[i].in == NULL) {
			ok(ipadd(t, c[i].entry, i)[0] != '\0', "%s: host bits",
			    c[i].entry);
			continue;
		}
		is_str(ipadd(t, c[i].entry, i), "", "add %s", c[i].entry);
	}
	for (i = 0; i < n; i++) {
		if (c[i].in == NULL)
			continue;
		is_int(lk(t, c[i].in), i, "%s in %s", c[i].in, c[i].entry);
		ok(lk(t, c[i].out) != (long)i, "%s not in %s", c[i].out,
		    c[i].entry);
	}
	is_int(lk(t, "192.0.2.1"), -1, "no IPv4 entry");
	is_int(lk(t, "::ffff:0.0.0.0"), -1, "mapped 0.0.0.0 is IPv4");
	is_str(ipadd(t, "2001:db8::/48", 100), "", "longer under /32");
	is_int(lk(t, "2001:db8:0:1::"), 100, "/48 beats /32");
	is_int(lk(t, "2001:db8:1::"), 0, "/32 outside the /48");
	iptable_free(t);
}

static void
test_errors(void)
{
	static const struct {
		const char	*entry, *err;
	} c[] = {
		{ "xyz", "not an IP address or network: 'xyz'" },
		{ "", "not an IP address or network: ''" },
		{ "/24", "not an IP address or network: '/24'" },
		{ "1.2.3", "not an IP address or network: '1.2.3'" },
		{ "256.1.1.1", "not an IP address or network: '256.1.1.1'" },
		{ " 192.0.2.1", "not an IP address or network: ' 192.0.2.1'" },
		{ "192.0.2.1 ", "not an IP address or network: '192.0.2.1 '" },
		{ "fe80::1%eth0",
		    "not an IP address or network: 'fe80::1%eth0'" },
		{ "2001:db8:::1/64",
		    "not an IP address or network: '2001:db8:::1/64'" },
		{ "a\001b", "not an IP address or network: 'a?b'" },
		{ "192.0.2.0/33", "prefix length 33 out of range 0..32" },
		{ "2001:db8::/129", "prefix length 129 out of range 0..128" },
		{ "::ffff:1.2.3.4/129",
		    "prefix length 129 out of range 0..128" },
		{ "192.0.2.0/000000000000000000000000000033",
		    "prefix length 00000000000000000000... out of range "
		    "0..32" },
		{ "192.0.2.0/00000000000000000000000000000000000000000032",
		    "" },
		{ "192.0.2.0/", "missing prefix length after '/': "
		    "'192.0.2.0/'" },
		{ "192.0.2.0/x", "prefix length is not a number: "
		    "'192.0.2.0/x'" },
		{ "192.0.2.0/-1", "prefix length is not a number: "
		    "'192.0.2.0/-1'" },
		{ "192.0.2.0/+24", "prefix length is not a number: "
		    "'192.0.2.0/+24'" },
		{ "192.0.2.0/24 ", "prefix length is not a number: "
		    "'192.0.2.0/24 '" },
		{ "192.0.2.0/24/1", "prefix length is not a number: "
		    "'192.0.2.0/24/1'" },
		{ "192.0.2.1/24", "host bits set below the /24 prefix: "
		    "did you mean 192.0.2.0/24?" },
		{ "10.0.0.1/0", "host bits set below the /0 prefix: "
		    "did you mean 0.0.0.0/0?" },
		{ "2001:db8::1/32", "host bits set below the /32 prefix: "
		    "did you mean 2001:db8::/32?" },
		{ "2001:db8::1/127", "host bits set below the /127 prefix: "
		    "did you mean 2001:db8::/127?" },
		{ "::ffff:192.0.2.1/120", "host bits set below the /120 "
		    "prefix: did you mean ::ffff:192.0.2.0/120?" },
	};
	struct iptable	*t = iptable_new();
	char		 long_entry[300], want[200];
	size_t		 i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		is_str(ipadd(t, c[i].entry, 1), c[i].err, "error for '%s'",
		    c[i].entry);
	memset(long_entry, 'x', sizeof(long_entry) - 1);
	long_entry[sizeof(long_entry) - 1] = '\0';
	snprintf(want, sizeof(want), "not an IP address or network: "
	    "'%.64s...'", long_entry);
	is_str(ipadd(t, long_entry, 1), want, "long entry quoted, cut");
	is_int(iptable_add(t, "bogus", 1, NULL, 0), -1, "NULL err is fine");
	is_int(iptable_count(t), 1, "only the zero-padded /32 counted");
	is_int(lk(t, "192.0.2.1"), -1, "failed entries not added");
	is_int(lk(t, "0.0.0.0"), -1, "failed /0 not added");
	iptable_free(t);
}

/* Random prefixes near a few bases against a linear scan. */
struct ref {
	int		 v6;
	unsigned char	 a[16];
	unsigned	 plen;
};

static int
ref_covers(const struct ref *r, const unsigned char *a)
{
	unsigned	 full = r->plen / 8, rest = r->plen % 8;

	if (memcmp(r->a, a, full) != 0)
		return 0;
	return rest == 0 || ((r->a[full] ^ a[full]) & (0xff00 >> rest)) == 0;
}

static uint32_t	 rnd_state = 12345;

static uint32_t
rnd(void)
{
	return tap_random(&rnd_state);
}

static void
rnd_addr(int v6, unsigned char *a)
{
	static const unsigned char	 bases[3][16] = {
		{ 0x20, 0x01, 0x0d, 0xb8 }, { 0xc0, 0x00, 0x02, 0x00 },
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	};
	unsigned	 i, keep = rnd() % (v6 ? 17 : 5);

	memcpy(a, bases[rnd() % 3], 16);
	for (i = keep; i < 16; i++)
		a[i] = rnd() % 4 == 0 ? rnd() : a[i] ^ (rnd() % 3);
}

static void
test_random(void)
{
	struct ref	 refs[3000];
	struct iptable	*t = iptable_new();
	struct sockaddr_storage ss;
	unsigned char	 a[16];
	char		 s[INET6_ADDRSTRLEN], e[INET6_ADDRSTRLEN + 8];
	size_t		 i, j, n = sizeof(refs) / sizeof(refs[0]), bad = 0;
	uint32_t	 tag;
	long		 want, got, best;

	for (i = 0; i < n; i++) {
		refs[i].v6 = rnd() % 2;
		rnd_addr(refs[i].v6, refs[i].a);
		refs[i].plen = rnd() % (refs[i].v6 ? 129 : 33);
		for (j = refs[i].plen; j < 128; j++)
			refs[i].a[j / 8] &= ~(0x80 >> (j % 8));
		inet_ntop(refs[i].v6 ? AF_INET6 : AF_INET, refs[i].a, s,
		    sizeof(s));
		snprintf(e, sizeof(e), "%s/%u", s, refs[i].plen);
		if (iptable_add(t, e, i, NULL, 0) == -1)
			bad++;
	}
	is_int(bad, 0, "random prefixes added");
	for (bad = 0, i = 0; i < 50000; i++) {
		int v6 = rnd() % 2;

		if (rnd() % 2)
			memcpy(a, refs[rnd() % n].a, 16);
		else
			rnd_addr(v6, a);
		for (want = -1, best = -1, j = 0; j < n; j++)
			if (refs[j].v6 == v6 && ref_covers(&refs[j], a) &&
			    (long)refs[j].plen > best) {
				best = refs[j].plen;
				want = j;
			}
		memset(&ss, 0, sizeof(ss));
		if (v6) {
			ss.ss_family = AF_INET6;
			memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, a, 16);
		} else {
			ss.ss_family = AF_INET;
			memcpy(&((struct sockaddr_in *)&ss)->sin_addr, a, 4);
		}
		got = iptable_lookup(t, (struct sockaddr *)&ss, &tag) ?
		    (long)tag : -1;
		/* A mapped v6 address is an IPv4 lookup: skip those. */
		if (v6 && IN6_IS_ADDR_V4MAPPED(
		    &((struct sockaddr_in6 *)&ss)->sin6_addr))
			continue;
		if (got != want)
			bad++;
	}
	is_int(bad, 0, "50000 random lookups agree with a linear scan");
	iptable_free(t);
}

/* Inline lists from the configuration. */
static void
test_add_list(void)
{
	struct iptable		*t = iptable_new();
	struct addrtable	*a = addrtable_new();
	char			 e[512];

	e[0] = '\0';
	is_int(iptable_add_list(t, "192.0.2.1, bogus\t10.0.0.0/8,,x/1", "lbl",
	    e, sizeof(e)), -1, "inline list with bad entries");
	is_str(e, "lbl: 'bogus': not an IP address or network: 'bogus'\n"
	    "lbl: 'x/1': not an IP address or network: 'x/1'",
	    "each bad entry reported with the label");
	is_int(iptable_count(t), 2, "the good ones added");
	is_int(lk(t, "10.9.9.9"), 0, "inline entries have tag 0");
	e[0] = '\0';
	is_int(addrtable_add_list(a, "a@example.org .example.net", "s", e,
	    sizeof(e)), 0, "inline sender list");
	is_int(addrtable_count(a), 2, "two senders");
	iptable_free(t);
	addrtable_free(a);
}

static void
test_load(void)
{
	static const char text[] =
	    "# a list\n"			/* 1 */
	    "\n"				/* 2 */
	    "192.0.2.0/24\n"			/* 3 */
	    "   198.51.100.7   # trailing comment\r\n"	/* 4 */
	    "\t2001:db8::/32\t\r\n"		/* 5 */
	    "   \r\n"				/* 6 */
	    "#192.0.2.128/25\n"			/* 7 */
	    "   # indented comment\n"		/* 8 */
	    "::ffff:203.0.113.0/120\n"		/* 9 */
	    "10.0.0.0/8";			/* 10, no newline */
	struct iptable	*t = iptable_new();
	char		 err[512], want[600];
	const char	*p;

	p = mkfile("good", text, sizeof(text) - 1);
	err[0] = '\0';
	is_int(iptable_load(t, p, err, sizeof(err)), 0, "load good file");
	is_int(iptable_count(t), 5, "five entries");
	is_int(lk(t, "192.0.2.5"), 3, "tag is line 3");
	is_int(lk(t, "198.51.100.7"), 4, "CRLF and comment: line 4");
	is_int(lk(t, "2001:db8::5"), 5, "tabs and CRLF: line 5");
	is_int(lk(t, "192.0.2.130"), 3, "commented entry not added");
	is_int(lk(t, "203.0.113.1"), 9, "mapped from a file: line 9");
	is_int(lk(t, "10.1.1.1"), 10, "last line without newline");
	iptable_free(t);

	t = iptable_new();
	p = MKFILE("bad", "192.0.2.1\n\n# c\nbogus # comment\n10.0.0.0/8\n");
	err[0] = '\0';
	is_int(iptable_load(t, p, err, sizeof(err)), -1, "bad entry fails");
	snprintf(want, sizeof(want), "%s:4: not an IP address or network: "
	    "'bogus'", p);
	is_str(err, want, "error has path:line");
	is_int(iptable_count(t), 2, "good entries around the error stay");
	is_int(lk(t, "10.0.0.1"), 5, "an entry after the bad line is loaded");
	iptable_free(t);

	t = iptable_new();
	p = MKFILE("bad2", "nope\n192.0.2.0/24\n192.0.2.1/24\n");
	err[0] = '\0';
	is_int(iptable_load(t, p, err, sizeof(err)), -1, "two bad lines");
	snprintf(want, sizeof(want), "%s:1: not an IP address or network: "
	    "'nope'\n%s:3: host bits set below the /24 prefix: did you mean "
	    "192.0.2.0/24?", p, p);
	is_str(err, want, "every bad line reported, one a line");
	iptable_free(t);

	t = iptable_new();
	p = MKFILE("two", "192.0.2.1\n192.0.2.2 192.0.2.3 # x\n");
	err[0] = '\0';
	is_int(iptable_load(t, p, err, sizeof(err)), -1, "two entries fail");
	snprintf(want, sizeof(want), "%s:2: one entry a line: '192.0.2.2' "
	    "is followed by '192.0.2.3'", p);
	is_str(err, want, "one entry a line");
	iptable_free(t);

	t = iptable_new();
	p = MKFILE("hash", "192.0.2.1#x\n");
	err[0] = '\0';
	is_int(iptable_load(t, p, err, sizeof(err)), -1, "# inside entry");
	snprintf(want, sizeof(want), "%s:1: not an IP address or network: "
	    "'192.0.2.1#x'", p);
	is_str(err, want, "'#' not after a blank is no comment");
	iptable_free(t);

	t = iptable_new();
	p = MKFILE("host", "\r\n192.0.2.1/24\r\n");
	err[0] = '\0';
	is_int(iptable_load(t, p, err, sizeof(err)), -1, "host bits in file");
	snprintf(want, sizeof(want), "%s:2: host bits set below the /24 "
	    "prefix: did you mean 192.0.2.0/24?", p);
	is_str(err, want, "host bits message with line");
	iptable_free(t);

	t = iptable_new();
	p = MKFILE("nul", "192.0.2.1\n19\0002.0.2.2\n");
	err[0] = '\0';
	is_int(iptable_load(t, p, err, sizeof(err)), -1, "NUL byte fails");
	snprintf(want, sizeof(want), "%s:2: NUL byte in line", p);
	is_str(err, want, "NUL byte message");
	iptable_free(t);

}

/* Lines of any length (a long comment, a long bad entry); unreadable files. */
static void
test_load_long(void)
{
	struct iptable	*t;
	char		 err[512], want[600], *big;
	const char	*p;
	size_t		 n;

	n = 200000;
	big = malloc(n + 64);
	memset(big, 'x', n + 64);
	memcpy(big, "# ", 2);
	big[n] = '\n';
	memcpy(big + n + 1, "192.0.2.0/24\n", 13);
	t = iptable_new();
	p = mkfile("long", big, n + 14);
	err[0] = '\0';
	is_int(iptable_load(t, p, err, sizeof(err)), 0, "long comment line");
	is_int(lk(t, "192.0.2.1"), 2, "entry after it");
	iptable_free(t);
	big[0] = 'y';
	big[1] = 'z';
	t = iptable_new();
	p = mkfile("longbad", big, n + 14);
	err[0] = '\0';
	is_int(iptable_load(t, p, err, sizeof(err)), -1, "long bad line");
	ok(strstr(err, ":1: not an IP address or network: 'yzxxx") != NULL,
	    "long line error: %.80s", err);
	ok(strlen(err) < sizeof(err) - 1, "message is short: %zu bytes",
	    strlen(err));
	iptable_free(t);
	free(big);

	t = iptable_new();
	snprintf(want, sizeof(want), "%s/missing", tdir);
	err[0] = '\0';
	is_int(iptable_load(t, want, err, sizeof(err)), -1, "missing file");
	strlcat(want, ": No such file or directory", sizeof(want));
	is_str(err, want, "missing file message");
	err[0] = '\0';
	is_int(iptable_load(t, tdir, err, sizeof(err)), -1, "directory");
	snprintf(want, sizeof(want), "%s: Is a directory", tdir);
	is_str(err, want, "directory message");
	p = MKFILE("empty", "");
	err[0] = '\0';
	is_int(iptable_load(t, p, err, sizeof(err)), 0, "empty file");
	is_int(iptable_count(t), 0, "empty file adds nothing");
	iptable_free(t);
}

static void
test_addr(void)
{
	struct addrtable *t = addrtable_new();

	is_int(alk(t, "a@example.com"), -1, "empty table");
	is_int(alk(t, ""), -1, "empty table, null sender");
	is_str(addradd(t, "User@Example.COM", 1), "", "add address");
	is_int(alk(t, "user@example.com"), 1, "address, lower case");
	is_int(alk(t, "USER@EXAMPLE.COM"), 1, "address, upper case");
	is_int(alk(t, "User@Example.COM."), 1, "trailing root dot");
	is_int(alk(t, "other@example.com"), -1, "other local part");
	is_int(alk(t, "user@sub.example.com"), -1, "address is not domain");
	is_str(addradd(t, "example.org", 2), "", "add domain");
	is_int(alk(t, "a@example.org"), 2, "domain");
	is_int(alk(t, "a@EXAMPLE.Org"), 2, "domain, any case");
	is_int(alk(t, "a@sub.example.org"), -1,
	    "example.org does not match a subdomain");
	is_int(alk(t, "a@xexample.org"), -1, "nor a longer name");
	is_int(alk(t, "example.org"), -1, "no '@': nothing");
	is_str(addradd(t, ".example.net", 3), "", "add subdomain suffix");
	is_int(alk(t, "a@example.net"), -1,
	    ".example.net does not match the domain itself");
	is_int(alk(t, "a@sub.example.net"), 3, "subdomain");
	is_int(alk(t, "a@x.y.Example.NET"), 3, "deeper subdomain");
	is_int(alk(t, "a@xexample.net"), -1, "not a label boundary");
	is_int(alk(t, "a@.example.net"), -1, "bogus leading dot");
	is_int(alk(t, "a@"), -1, "empty domain");
	is_int(alk(t, "@"), -1, "just '@'");
	is_int(alk(t, ""), -1, "null sender not listed");

	is_str(addradd(t, "<>", 4), "", "add null sender");
	is_int(alk(t, ""), 4, "null sender as \"\"");
	is_int(alk(t, "<>"), 4, "null sender as <>");

	is_str(addradd(t, "a@example.com", 10), "", "address");
	is_str(addradd(t, "example.com", 11), "", "its domain");
	is_str(addradd(t, ".com", 12), "", "its top-level suffix");
	is_int(alk(t, "a@example.com"), 10, "address first");
	is_int(alk(t, "b@example.com"), 11, "then the domain");
	is_int(alk(t, "b@x.example.com"), 12, "then the parents");
	is_str(addradd(t, ".example.com", 13), "", "a nearer parent");
	is_int(alk(t, "b@x.example.com"), 13, "nearest parent first");
	is_int(alk(t, "b@example.com"), 11, "domain before its suffix");
	is_str(addradd(t, "A@EXAMPLE.COM", 14), "", "duplicate, other case");
	is_int(alk(t, "a@example.com"), 10, "first tag kept");
	is_str(addradd(t, "a#b@example.com", 15), "", "'#' in local part");
	is_int(alk(t, "a#b@example.com"), 15, "'#' address found");
	is_str(addradd(t, "\"a@b\"@example.com", 16), "", "quoted '@'");
	is_int(alk(t, "\"a@b\"@example.com"), 16, "split at the last '@'");
	is_str(addradd(t, "b\xc3\xbc" "cher.example", 17), "", "UTF-8 domain");
	is_int(alk(t, "x@B\xc3\xbc" "cher.example"), 17, "UTF-8 domain found");
	is_str(addradd(t, "j\xc3\xb6rg@example.de", 18), "", "UTF-8 local");
	is_int(alk(t, "J\xc3\xb6rg@example.de"), 18, "UTF-8 local found");
	is_str(addradd(t, "localhost", 19), "", "one-label domain");
	is_str(addradd(t, "xn--bcher-kva.example", 20), "", "punycode");
	is_int(addrtable_count(t), 15, "count includes duplicates");
	addrtable_free(t);
	addrtable_free(NULL);

}

/* Growth: many entries, each found with its own tag. */
static void
test_addr_grow(void)
{
	struct addrtable *t;
	char		 buf[64];
	int		 i, bad;

	t = addrtable_new();
	for (i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "u%d@d%d.example", i, i % 97);
		addrtable_add(t, buf, i, NULL, 0);
	}
	for (bad = 0, i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "U%d@D%d.EXAMPLE", i, i % 97);
		if (alk(t, buf) != i)
			bad++;
		snprintf(buf, sizeof(buf), "v%d@d%d.example", i, i % 97);
		if (alk(t, buf) != -1)
			bad++;
	}
	is_int(bad, 0, "20000 addresses after growth");
	is_int(addrtable_count(t), 20000, "20000 counted");
	addrtable_free(t);
}

static void
test_addr_errors(void)
{
	static const struct {
		const char	*entry, *err;
	} c[] = {
		{ "", "empty entry" },
		{ "@example.com", "empty local part: '@example.com' (a whole "
		    "domain is listed without '@')" },
		{ "a b@example.com", "space or control character in local "
		    "part: 'a b@example.com'" },
		{ "a\tb@example.com", "space or control character in local "
		    "part: 'a?b@example.com'" },
		{ "a\177@example.com", "space or control character in local "
		    "part: 'a?@example.com'" },
		{ "a@", "empty domain: 'a@'" },
		{ ".", "empty domain: '.'" },
		{ "..com", "empty label in domain: '..com'" },
		{ "a..com", "empty label in domain: 'a..com'" },
		{ "example.com.", "empty label in domain: 'example.com.'" },
		{ "a@b..c", "empty label in domain: 'a@b..c'" },
		{ "a_b.com", "character '_' not allowed in domain: 'a_b.com'" },
		{ "a@[192.0.2.1]", "character '[' not allowed in domain: "
		    "'a@[192.0.2.1]'" },
		{ "a@b>", "character '>' not allowed in domain: 'a@b>'" },
		{ "<a@b>", "character '>' not allowed in domain: '<a@b>'" },
		{ "<", "character '<' not allowed in domain: '<'" },
		{ "exa mple.com", "character 0x20 not allowed in domain: "
		    "'exa mple.com'" },
		{ "a\001.com", "character 0x01 not allowed in domain: "
		    "'a?.com'" },
		{ "-a.com", "label starts or ends with '-' in domain: "
		    "'-a.com'" },
		{ "a-.com", "label starts or ends with '-' in domain: "
		    "'a-.com'" },
		{ ".-a.com", "label starts or ends with '-' in domain: "
		    "'.-a.com'" },
	};
	struct addrtable *t = addrtable_new();
	char		 label[64], dom[400], want[400];
	size_t		 i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		is_str(addradd(t, c[i].entry, 1), c[i].err, "error for '%s'",
		    c[i].entry);

	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(dom, sizeof(dom), "%s.example", label);
	is_str(addradd(t, dom, 2), "", "63-byte label");
	snprintf(dom, sizeof(dom), "a%s.example", label);
	snprintf(want, sizeof(want), "label longer than 63 bytes in domain: "
	    "'%.64s...'", dom);
	is_str(addradd(t, dom, 3), want, "64-byte label");
	snprintf(dom, sizeof(dom), "%s.%s.%s.%.61s", label, label, label,
	    label);
	is_int(strlen(dom), 253, "253-byte domain");
	is_str(addradd(t, dom, 4), "", "253-byte domain accepted");
	strlcat(dom, "a", sizeof(dom));
	snprintf(want, sizeof(want), "domain longer than 253 bytes: "
	    "'%.64s...'", dom);
	is_str(addradd(t, dom, 5), want, "254-byte domain rejected");
	is_int(addrtable_add(t, "a b", 1, NULL, 0), -1, "NULL err is fine");
	is_int(addrtable_count(t), 2, "only the good entries counted");
	addrtable_free(t);
}

static void
test_addr_load(void)
{
	static const char text[] =
	    "# senders\r\n"			/* 1 */
	    "\r\n"				/* 2 */
	    "  Spammer@Example.com  # note\r\n"	/* 3 */
	    ".bad.example\n"			/* 4 */
	    "<>\n"				/* 5 */
	    "a#b@example.net\n"			/* 6 */
	    "example.org";			/* 7 */
	struct addrtable *t = addrtable_new();
	char		 err[512], want[600];
	const char	*p;

	p = mkfile("senders", text, sizeof(text) - 1);
	err[0] = '\0';
	is_int(addrtable_load(t, p, err, sizeof(err)), 0, "load senders");
	is_int(addrtable_count(t), 5, "five senders");
	is_int(alk(t, "spammer@example.com"), 3, "line 3");
	is_int(alk(t, "x@y.bad.example"), 4, "line 4");
	is_int(alk(t, ""), 5, "null sender, line 5");
	is_int(alk(t, "a#b@example.net"), 6, "'#' in local part, line 6");
	is_int(alk(t, "z@example.org"), 7, "line 7");
	addrtable_free(t);

	t = addrtable_new();
	p = MKFILE("senders-bad", "ok.example\n\nbad_domain.example\n");
	err[0] = '\0';
	is_int(addrtable_load(t, p, err, sizeof(err)), -1, "bad sender file");
	snprintf(want, sizeof(want), "%s:3: character '_' not allowed in "
	    "domain: 'bad_domain.example'", p);
	is_str(err, want, "sender error has path:line");
	is_int(addrtable_count(t), 1, "entries before the error stay");
	p = MKFILE("senders-two", "a@b.example c@d.example\n");
	err[0] = '\0';
	is_int(addrtable_load(t, p, err, sizeof(err)), -1, "two senders");
	snprintf(want, sizeof(want), "%s:1: one entry a line: 'a@b.example' "
	    "is followed by 'c@d.example'", p);
	is_str(err, want, "one sender a line");
	snprintf(want, sizeof(want), "%s/none", tdir);
	err[0] = '\0';
	is_int(addrtable_load(t, want, err, sizeof(err)), -1, "missing file");
	strlcat(want, ": No such file or directory", sizeof(want));
	is_str(err, want, "missing sender file message");
	addrtable_free(t);
}

int
main(void)
{
	char	 cmd[64];

	if (mkdtemp(tdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_v4_basic();
	test_zero();
	test_overlap();
	test_mapped();
	test_v6();
	test_errors();
	test_random();
	test_add_list();
	test_load();
	test_load_long();
	test_addr();
	test_addr_grow();
	test_addr_errors();
	test_addr_load();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tdir);
	return tap_done();
}
