/* SPDX-License-Identifier: ISC */
/*
 * t_rdns.c - proxy/rdns.c: the PTR query names, Postfix's host name
 * rules, PTR rdata from the wire, and whole lookups against libunbound
 * local data: a forward-confirmed name, a PTR whose name does not list
 * the address (forged), no PTR, PTR names that are not host names, several
 * PTR names of which a later one confirms, IPv6, and temporary failures
 * (a resolver that never answers, a forward lookup that never answers, a
 * deadline already past), each with the NAME and REVERSE_NAME Postfix
 * would have and the TTL it may be kept for; and the cache of results.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/dns.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "proxy/rdns.h"
#include "tap.h"

static struct sockaddr_storage
addr_of(const char *text)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	return ss;
}

static void
test_ptr_name(void)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	 sun;
	char			 buf[RDNS_PTR_MAX + 1];

	ss = addr_of("192.0.2.10");
	is_int(rdns_ptr_name((struct sockaddr *)&ss, buf, sizeof(buf)), 0,
	    "IPv4 PTR name");
	is_str(buf, "10.2.0.192.in-addr.arpa", "octets reversed");
	ss = addr_of("2001:db8::abc:1");
	is_int(rdns_ptr_name((struct sockaddr *)&ss, buf, sizeof(buf)), 0,
	    "IPv6 PTR name");
	is_str(buf, "1.0.0.0.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0."
	    "1.0.0.2.ip6.arpa", "nibbles reversed");
	is_int(strlen(buf), RDNS_PTR_MAX, "the longest PTR name");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	is_int(rdns_ptr_name((struct sockaddr *)&sun, buf, sizeof(buf)), -1,
	    "no PTR name for a unix socket");
	is_int(rdns_ptr_name((struct sockaddr *)&ss, buf, RDNS_PTR_MAX), -1,
	    "a buffer too small is refused");
}

static void
test_hostname(void)
{
	static const struct {
		const char	*name;
		int		 ok;
	} t[] = {
		{ "mail.example.com", 1 }, { "a", 1 }, { "A-1.b_c.d", 1 },
		{ "_dmarc.example", 1 }, { "123.example", 1 },
		{ "example.123", 1 }, { "0x1.2", 1 },
		{ "", 0 }, { ".", 0 }, { ".a", 0 }, { "a.", 0 }, { "a..b", 0 },
		{ "-a.b", 0 }, { "a-.b", 0 }, { "a.b-", 0 }, { "a.-b", 0 },
		{ "1.2.3.4", 0 }, { "1234", 0 }, { "a b", 0 }, { "a/b", 0 },
		{ "a\\.b", 0 }, { "a\xc3\xa9.b", 0 }, { "a\r\nb", 0 },
		{ "[UNAVAILABLE]", 0 }, { "a(b)", 0 }, { "a;b", 0 },
	};
	char	 name[300];
	size_t	 i;

	for (i = 0; i < nitems(t); i++)
		is_int(rdns_hostname_ok(t[i].name), t[i].ok, "'%.*s' %s",
		    (int)strcspn(t[i].name, "\r\n"), t[i].name, t[i].ok ?
		    "valid" : "invalid");
	memset(name, 'a', 63);
	strlcpy(name + 63, ".b", sizeof(name) - 63);
	ok(rdns_hostname_ok(name), "a 63-byte label");
	memset(name, 'a', 64);
	strlcpy(name + 64, ".b", sizeof(name) - 64);
	ok(!rdns_hostname_ok(name), "a 64-byte label");
	for (i = 0; i < 253; i++)
		name[i] = i % 2 ? '.' : 'a';
	name[253] = '\0';
	ok(rdns_hostname_ok(name), "253 bytes");
	name[253] = 'a';
	name[252] = '.';
	name[254] = '\0';
	ok(!rdns_hostname_ok(name), "254 bytes");
}

static void
test_wire(void)
{
	char	 buf[RDNS_NAME_MAX + 1];

	is_int(rdns_ptr_from_wire((const unsigned char *)"\x02mx\x07" "example"
	    "\x03" "com\x00", 16, buf, sizeof(buf)), 0, "a PTR name");
	is_str(buf, "mx.example.com", "its text");
	is_int(rdns_ptr_from_wire((const unsigned char *)"\x02mx\x00" "x", 5,
	    buf, sizeof(buf)), -1, "bytes after the name");
	is_str(buf, "", "nothing kept");
	is_int(rdns_ptr_from_wire((const unsigned char *)"\x04" "a(b)\x00", 6,
	    buf, sizeof(buf)), -1, "not a host name");
	is_int(rdns_ptr_from_wire((const unsigned char *)"\x01" "1\x01" "2\x00",
	    5, buf, sizeof(buf)), -1, "an address-like name");
	is_int(rdns_ptr_from_wire((const unsigned char *)"\x00", 1, buf,
	    sizeof(buf)), -1, "the root");
	is_int(rdns_ptr_from_wire((const unsigned char *)"\x03" "a\0b\x00", 5,
	    buf, sizeof(buf)), -1, "a NUL in a label");
	is_int(rdns_ptr_from_wire((const unsigned char *)"\x05" "ab", 3, buf,
	    sizeof(buf)), -1, "a label past the end");
}

static struct conf *
conf_with(const char *o1, const char *o2)
{
	char		 err[1024] = "";
	char		*ov[2] = { (char *)o1, (char *)o2 };
	struct conf	*c;

	c = conf_load(NULL, ov, o2 != NULL ? 2 : 1, err, sizeof(err));
	if (c == NULL)
		printf("# %s\n", err);
	return c;
}

/* A UDP socket that takes queries and never answers: "dns.nameserver=". */
static int
black_hole(char *ns, size_t nssz)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		return -1;
	snprintf(ns, nssz, "dns.nameserver=127.0.0.1@%u",
	    (unsigned)ntohs(sin.sin_port));
	return fd;
}

static const char *const zone[] = {
	"10.2.0.192.in-addr.arpa. 300 IN PTR ok.fc.test.",
	"ok.fc.test. 200 IN A 192.0.2.10",
	"11.2.0.192.in-addr.arpa. 300 IN PTR forged.fc.test.",
	"forged.fc.test. 300 IN A 192.0.2.99",
	"13.2.0.192.in-addr.arpa. 300 IN PTR -bad.fc.test.",
	"-bad.fc.test. 300 IN A 192.0.2.13",
	"14.2.0.192.in-addr.arpa. 300 IN PTR a.fc.test.",
	"14.2.0.192.in-addr.arpa. 300 IN PTR b.fc.test.",
	"a.fc.test. 300 IN A 192.0.2.99",
	"b.fc.test. 300 IN A 192.0.2.98",
	"b.fc.test. 300 IN A 192.0.2.14",
	"15.2.0.192.in-addr.arpa. 300 IN PTR nx.fc.test.",
	"16.2.0.192.in-addr.arpa. 300 IN PTR 1.2.3.4.",
	"17.2.0.192.in-addr.arpa. 300 IN PTR slow.example.",
	"0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	    ".ip6.arpa. 300 IN PTR v6.fc.test.",
	"v6.fc.test. 300 IN AAAA 2001:db8::10",
	"v6.fc.test. 300 IN A 192.0.2.10",
	"1.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	    ".ip6.arpa. 300 IN PTR ok.fc.test.",
};

static unsigned
lookup(struct dns *d, const char *addr, uint64_t until, const char *name,
    const char *reverse, const char *what)
{
	struct sockaddr_storage	 ss = addr_of(addr);
	struct rdns_result	 r;

	memset(&r, 'x', sizeof(r));
	rdns_lookup(d, (struct sockaddr *)&ss, until, &r);
	is_str(r.name, name, "%s: name", what);
	is_str(r.reverse, reverse, "%s: reverse name", what);
	return r.ttl;
}

static void
test_lookup(void)
{
	char		 ns[64], err[512] = "";
	int		 fd = black_hole(ns, sizeof(ns));
	struct conf	*c = conf_with(ns, "dns.timeout=1s");
	struct dns	*d = c != NULL ? dns_new(&c->dns, err, sizeof(err)) : NULL;
	uint64_t	 t0, ms;
	size_t		 i;

	ok(fd != -1 && d != NULL, "resolver (%s)", err);
	if (d == NULL)
		return;
	ok(dns_local_zone(d, "2.0.192.in-addr.arpa.", "static", err,
	    sizeof(err)) == 0 && dns_local_zone(d, "fc.test.", "static",
	    err, sizeof(err)) == 0 && dns_local_zone(d,
	    "8.b.d.0.1.0.0.2.ip6.arpa.", "static", err, sizeof(err)) == 0,
	    "local zones (%s)", err);
	for (i = 0; i < nitems(zone); i++)
		if (dns_local_data(d, zone[i], err, sizeof(err)) == -1)
			printf("# %s\n", err);
	is_int(lookup(d, "192.0.2.10", 0, "ok.fc.test", "ok.fc.test",
	    "forward-confirmed"), 200, "kept for the smallest TTL");
	is_int(lookup(d, "192.0.2.11", 0, RDNS_UNAVAILABLE, "forged.fc.test",
	    "PTR name without the address"), 300, "kept for its TTL");
	lookup(d, "192.0.2.12", 0, RDNS_UNAVAILABLE, RDNS_UNAVAILABLE,
	    "no PTR");
	lookup(d, "192.0.2.13", 0, RDNS_UNAVAILABLE, RDNS_UNAVAILABLE,
	    "a PTR name that is not a host name");
	lookup(d, "192.0.2.14", 0, "b.fc.test", "b.fc.test",
	    "the PTR name that confirms, of two");
	lookup(d, "192.0.2.15", 0, RDNS_UNAVAILABLE, "nx.fc.test",
	    "a PTR name that does not exist");
	lookup(d, "192.0.2.16", 0, RDNS_UNAVAILABLE, RDNS_UNAVAILABLE,
	    "a numeric PTR name");
	lookup(d, "2001:db8::10", 0, "v6.fc.test", "v6.fc.test",
	    "IPv6, by AAAA");
	lookup(d, "2001:db8::11", 0, RDNS_UNAVAILABLE, "ok.fc.test",
	    "IPv6 whose name has only an A record");
	t0 = util_now_ms();
	is_int(lookup(d, "192.0.2.17", t0 + 400, RDNS_TEMPUNAVAIL,
	    "slow.example", "a forward lookup without an answer"), 0,
	    "not kept");
	ms = util_now_ms() - t0;
	ok(ms >= 350 && ms < 1500, "within the deadline (%llu ms)",
	    (unsigned long long)ms);
	t0 = util_now_ms();
	is_int(lookup(d, "198.51.100.1", t0 + 400, RDNS_TEMPUNAVAIL,
	    RDNS_TEMPUNAVAIL, "a PTR lookup without an answer"), 0,
	    "not kept");
	ms = util_now_ms() - t0;
	ok(ms >= 350 && ms < 1500, "within the deadline (%llu ms)",
	    (unsigned long long)ms);
	lookup(d, "192.0.2.10", util_now_ms(), RDNS_TEMPUNAVAIL,
	    RDNS_TEMPUNAVAIL, "a deadline already past");
	dns_unref(d);
	conf_unref(c);
	close(fd);
}

/* A resolver answering from local data only (PTR records for
 * 192.0.2.20 and .21, each to the same 40 names, and the A records a
 * gives), frozen by a first lookup. */
static struct dns *
many_resolver(struct conf *c, const char *const *a, size_t na)
{
	char		 rr[128], err[512] = "";
	struct dns	*d = dns_new(&c->dns, err, sizeof(err));
	struct dns_answer ans;
	size_t		 i;
	int		 h;

	if (d == NULL)
		return NULL;
	dns_local_zone(d, "2.0.192.in-addr.arpa.", "static", err, sizeof(err));
	dns_local_zone(d, "many.test.", "static", err, sizeof(err));
	for (h = 20; h <= 21; h++)
		for (i = 0; i < 40; i++) {
			snprintf(rr, sizeof(rr), "%d.2.0.192.in-addr.arpa. 300 "
			    "IN PTR n%02zu.many.test.", h, i);
			dns_local_data(d, rr, err, sizeof(err));
		}
	for (i = 0; i < na; i++)
		dns_local_data(d, a[i], err, sizeof(err));
	dns_query(d, "many.test", ns_t_a, 0, &ans);
	dns_answer_free(&ans);
	return d;
}

/* The PTR names of 192.0.2.h in the order the resolver gives them. */
static size_t
many_order(struct dns *d, int h, char names[][RDNS_NAME_MAX + 1])
{
	char			 q[64];
	struct dns_answer	 ans;
	size_t			 i, n = 0;

	snprintf(q, sizeof(q), "%d.2.0.192.in-addr.arpa", h);
	dns_query(d, q, ns_t_ptr, 0, &ans);
	for (i = 0; i < ans.n && n < 40; i++)
		if (rdns_ptr_from_wire(ans.data[i], ans.len[i], names[n],
		    sizeof(names[0])) == 0)
			n++;
	dns_answer_free(&ans);
	return n;
}

/* Whether two orders of the 40 names are one. */
static int
many_same(char a[][RDNS_NAME_MAX + 1], char b[][RDNS_NAME_MAX + 1])
{
	size_t	 i;

	for (i = 0; i < 40; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

/*
 * More PTR names than are checked: of 40, in the order the answer has
 * them, the 10th is checked and the 11th and later are not.  The order
 * (libunbound's, not the records') is read from the same data first; a
 * second resolver, the one with the A records, now and then orders them
 * otherwise, so its own order is read back before the lookups, and the
 * whole is made again (at most 8 times) until the two agree.
 */
static void
test_many(void)
{
	char		 n20[40][RDNS_NAME_MAX + 1], n21[40][RDNS_NAME_MAX + 1];
	char		 m20[40][RDNS_NAME_MAX + 1], m21[40][RDNS_NAME_MAX + 1];
	char		 a[2][RDNS_NAME_MAX + 32];
	const char	*ap[2] = { a[0], a[1] };
	struct conf	*c = conf_with("dns.nameserver=127.0.0.1@9", NULL);
	struct dns	*d = NULL;
	int		 try, same = 0, each = 1;

	for (try = 0; c != NULL && try < 8 && !same; try++) {
		dns_unref(d);
		if ((d = many_resolver(c, NULL, 0)) == NULL)
			break;
		each &= many_order(d, 20, n20) == 40 &&
		    many_order(d, 21, n21) == 40;
		dns_unref(d);
		snprintf(a[0], sizeof(a[0]), "%s. 300 IN A 192.0.2.20",
		    n20[RDNS_NAMES_MAX]);
		snprintf(a[1], sizeof(a[1]), "%s. 300 IN A 192.0.2.21",
		    n21[RDNS_NAMES_MAX - 1]);
		if ((d = many_resolver(c, ap, 2)) == NULL)
			break;
		same = many_order(d, 20, m20) == 40 &&
		    many_order(d, 21, m21) == 40 && many_same(n20, m20) &&
		    many_same(n21, m21);
	}
	ok(d != NULL && each, "40 PTR names each");
	ok(same, "the same order in both resolvers (try %d)", try);
	if (d == NULL || !same) {
		dns_unref(d);
		conf_unref(c);
		return;
	}
	lookup(d, "192.0.2.20", 0, RDNS_UNAVAILABLE, n20[0],
	    "40 PTR names, the 11th confirms: not checked");
	lookup(d, "192.0.2.21", 0, n21[RDNS_NAMES_MAX - 1],
	    n21[RDNS_NAMES_MAX - 1], "40 PTR names, the 10th confirms");
	dns_unref(d);
	conf_unref(c);
}

static void
test_cache(void)
{
	struct rdns_cache	*c = rdns_cache_new();
	struct sockaddr_storage	 a = addr_of("192.0.2.1");
	struct sockaddr_storage	 b = addr_of("192.0.2.2");
	struct sockaddr_storage	 v6 = addr_of("::c000:201");
	struct rdns_result	 r, got;
	struct sockaddr		*sa = (struct sockaddr *)&a;
	char			 name[32];
	int			 i, kept = 0;

	rdns_set(&r, "a.example");
	r.ttl = 60;
	ok(!rdns_cache_get(c, sa, 1000, &got), "empty");
	rdns_cache_put(c, sa, 1000, &r);
	ok(rdns_cache_get(c, sa, 1000, &got) && strcmp(got.name,
	    "a.example") == 0 && strcmp(got.reverse, "a.example") == 0 &&
	    got.ttl == 60, "kept");
	ok(rdns_cache_get(c, sa, 60999, &got) && got.ttl == 1,
	    "until its TTL ends");
	ok(!rdns_cache_get(c, sa, 61000, &got), "not after");
	ok(!rdns_cache_get(c, (struct sockaddr *)&b, 1000, &got),
	    "another address");
	ok(!rdns_cache_get(c, (struct sockaddr *)&v6, 1000, &got),
	    "the same bytes in IPv6");
	r.ttl = 0;
	rdns_cache_put(c, (struct sockaddr *)&b, 1000, &r);
	ok(!rdns_cache_get(c, (struct sockaddr *)&b, 1000, &got),
	    "a TTL of 0 is not kept");
	r.ttl = 999999;
	rdns_cache_put(c, (struct sockaddr *)&b, 1000, &r);
	ok(rdns_cache_get(c, (struct sockaddr *)&b, 1000, &got) &&
	    got.ttl == RDNS_CACHE_TTL_MAX, "kept %u s at most",
	    RDNS_CACHE_TTL_MAX);
	rdns_cache_clear(c);
	ok(!rdns_cache_get(c, (struct sockaddr *)&b, 1000, &got), "cleared");
	/* more clients than slots: bounded, the latest ones mostly kept */
	r.ttl = 60;
	for (i = 0; i < 3 * RDNS_CACHE_SLOTS; i++) {
		snprintf(name, sizeof(name), "10.%d.%d.%d", i >> 16,
		    (i >> 8) & 255, i & 255);
		a = addr_of(name);
		rdns_cache_put(c, sa, 1000, &r);
	}
	for (i = 2 * RDNS_CACHE_SLOTS; i < 3 * RDNS_CACHE_SLOTS; i++) {
		snprintf(name, sizeof(name), "10.%d.%d.%d", i >> 16,
		    (i >> 8) & 255, i & 255);
		a = addr_of(name);
		kept += rdns_cache_get(c, sa, 1000, &got);
	}
	ok(kept > RDNS_CACHE_SLOTS / 2 && kept <= RDNS_CACHE_SLOTS,
	    "%d of the last %d clients kept", kept, RDNS_CACHE_SLOTS);
	rdns_cache_free(c);
}

int
main(void)
{
	test_ptr_name();
	test_hostname();
	test_wire();
	test_lookup();
	test_many();
	test_cache();
	return tap_done();
}
