/* SPDX-License-Identifier: ISC */
/*
 * t_dns.c - lib/dns.c: answers served from libunbound local data (every
 * status, TXT strings, TTL), dns_name_from_wire on good and malformed
 * names, a bad dns.nameserver, and the deadline: a real UDP socket on
 * loopback that never answers makes a lookup a DNS_TEMPFAIL within
 * dns.timeout (or the caller's earlier deadline), and later lookups still
 * work.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/dns.h"
#include "lib/util.h"
#include "policy/conf.h"
#include "tap.h"

static void	test_quick(struct dns *);

static struct conf *
conf_with(const char *o1, const char *o2)
{
	char		 err[1024] = "";
	char		*ov[2] = { (char *)o1, (char *)o2 };
	struct conf	*c;

	c = conf_load(NULL, ov, o2 != NULL ? 2 : o1 != NULL ? 1 : 0, err,
	    sizeof(err));
	if (c == NULL)
		printf("# %s\n", err);
	return c;
}

static void
test_local(void)
{
	struct conf		*c = conf_with("dns.nameserver=127.0.0.1@9",
				    NULL);
	char			 err[512] = "";
	struct dns		*d = dns_new(&c->dns, err, sizeof(err));
	struct dns_answer	 a;

	ok(d != NULL, "resolver built (%s)", err);
	ok(dns_local_zone(d, "test.", "static", err, sizeof(err)) == 0,
	    "local zone");
	ok(dns_local_data(d, "t.test. 300 IN TXT \"v=spf1 \" \"-all\"", err,
	    sizeof(err)) == 0, "local TXT");
	ok(dns_local_data(d, "a.test. 60 IN A 192.0.2.7", err,
	    sizeof(err)) == 0, "local A");
	ok(dns_local_data(d, "bad record", err, sizeof(err)) == -1,
	    "a bad record is refused: %s", err);

	dns_query(d, "t.test", ns_t_txt, 0, &a);
	is_int(a.status, DNS_OK, "TXT found");
	is_int(a.n, 1, "one TXT RR");
	ok(a.n == 1 && a.len[0] == 13 && memcmp(a.data[0],
	    "\x07v=spf1 \x04-all", 13) == 0, "TXT strings kept apart");
	is_int(a.ttl, 300, "TTL");
	dns_answer_free(&a);
	dns_query(d, "a.test", ns_t_a, 0, &a);
	ok(a.status == DNS_OK && a.n == 1 && a.len[0] == 4 &&
	    memcmp(a.data[0], "\xc0\x00\x02\x07", 4) == 0, "A 192.0.2.7");
	dns_answer_free(&a);
	dns_query(d, "a.test", ns_t_mx, 0, &a);
	is_int(a.status, DNS_NODATA, "no MX at a name that exists");
	dns_answer_free(&a);
	dns_query(d, "none.test", ns_t_txt, 0, &a);
	is_int(a.status, DNS_NXDOMAIN, "no such name");
	dns_answer_free(&a);
	test_quick(d);
	dns_unref(d);
	conf_unref(c);
}

/*
 * Answers from memory, many times, each at once: an answer that comes
 * before the asking thread waits for it must not be missed (the thread
 * then slept until dns.timeout, or until another answer woke it).
 */
static void
test_quick(struct dns *d)
{
	struct dns_answer	 a;
	uint64_t		 t0, ms, worst = 0;
	int			 i, bad = 0;

	for (i = 0; i < 2000; i++) {
		t0 = util_now_ms();
		dns_query(d, "a.test", ns_t_a, 0, &a);
		ms = util_now_ms() - t0;
		bad += a.status != DNS_OK;
		worst = ms > worst ? ms : worst;
		dns_answer_free(&a);
	}
	ok(bad == 0 && worst < 1000, "2000 answers from memory, the slowest "
	    "in %llu ms (%d not found)", (unsigned long long)worst, bad);
}

/* A UDP socket that takes queries and never answers. */
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

/* Several lookups at once (d: a black hole upstream, dns.timeout 1s,
 * x.local.test served locally): the wait is the slowest one's. */
static void
test_query_all(struct dns *d)
{
	struct dns_question	 q[] = {
		{ "a.example.org", ns_t_a }, { "x.local.test", ns_t_a },
		{ "b.example.org", ns_t_txt }, { "nx.local.test", ns_t_a },
	};
	struct dns_answer	 a[4];
	uint64_t		 t0 = util_now_ms(), ms;
	size_t			 i;

	dns_query_all(d, q, 4, 0, a);
	ms = util_now_ms() - t0;
	ok(ms >= 900 && ms < 1900, "two lookups without an answer take one "
	    "dns.timeout, not two (%llu ms)", (unsigned long long)ms);
	ok(a[0].status == DNS_TEMPFAIL && a[2].status == DNS_TEMPFAIL,
	    "each of them a temporary failure");
	ok(a[1].status == DNS_OK && a[1].n == 1 && a[1].len[0] == 4 &&
	    memcmp(a[1].data[0], "\xc0\x00\x02\x01", 4) == 0,
	    "the answered one answered, in its place");
	is_int(a[3].status, DNS_NXDOMAIN, "and the missing name NXDOMAIN");
	for (i = 0; i < 4; i++)
		dns_answer_free(&a[i]);
	dns_query_all(d, q, 4, util_now_ms() - 1, a);
	ok(a[1].status == DNS_TEMPFAIL, "a deadline already past: none");
	for (i = 0; i < 4; i++)
		dns_answer_free(&a[i]);
}

static void
test_deadline(void)
{
	char			 ns[64], err[512] = "";
	int			 fd = black_hole(ns, sizeof(ns));
	struct conf		*c = conf_with(ns, "dns.timeout=1s");
	struct dns		*d = c ? dns_new(&c->dns, err, sizeof(err)) : NULL;
	struct dns_answer	 a;
	uint64_t		 t0, ms;

	ok(fd != -1 && d != NULL, "resolver on a black hole (%s)", err);
	if (d == NULL)
		return;
	dns_local_zone(d, "local.test.", "static", err, sizeof(err));
	dns_local_data(d, "x.local.test. 60 IN A 192.0.2.1", err,
	    sizeof(err));
	t0 = util_now_ms();
	dns_query(d, "example.com", ns_t_txt, 0, &a);
	ms = util_now_ms() - t0;
	is_int(a.status, DNS_TEMPFAIL, "no answer is a temporary failure");
	ok(ms >= 900 && ms < 2500, "after dns.timeout (%llu ms)",
	    (unsigned long long)ms);
	dns_answer_free(&a);
	t0 = util_now_ms();
	dns_query(d, "example.net", ns_t_txt, t0 + 300, &a);
	ms = util_now_ms() - t0;
	ok(a.status == DNS_TEMPFAIL && ms >= 250 && ms < 900,
	    "the caller's own deadline cuts the wait short (%llu ms)",
	    (unsigned long long)ms);
	dns_answer_free(&a);
	dns_query(d, "7.2.0.192.in-addr.arpa", ns_t_ptr, util_now_ms() + 300,
	    &a);
	is_int(a.status, DNS_TEMPFAIL, "documentation and private reverse "
	    "zones go upstream (no built-in NXDOMAIN)");
	dns_answer_free(&a);
	dns_query(d, "x.local.test", ns_t_a, t0, &a);
	is_int(a.status, DNS_TEMPFAIL, "a deadline already past: no lookup");
	dns_answer_free(&a);
	dns_query(d, "x.local.test", ns_t_a, 0, &a);
	is_int(a.status, DNS_OK, "the resolver still answers afterwards");
	dns_answer_free(&a);
	test_query_all(d);
	dns_unref(d);
	conf_unref(c);
	close(fd);
}

static void
test_nameserver(void)
{
	char		 err[512] = "";
	struct conf	*c = conf_with("dns.nameserver=127.0.0.1@53, nothere, "
			    "::1@99999", NULL);

	ok(c != NULL && dns_new(&c->dns, err, sizeof(err)) == NULL,
	    "bad nameservers refused");
	ok(strstr(err, "dns.nameserver: 'nothere' is not an address[@port]")
	    != NULL && strstr(err, "'::1@99999'") != NULL,
	    "each one named: %s", err);
	conf_unref(c);
}

static void
test_wire_names(void)
{
	char	 buf[256];

	is_int(dns_txt_from_wire((const unsigned char *)"\x07v=spf1 \x04-all",
	    13, buf, sizeof(buf)), 0, "TXT strings");
	is_str(buf, "v=spf1 -all", "joined with nothing between");
	is_int(dns_txt_from_wire((const unsigned char *)"", 0, buf,
	    sizeof(buf)), 0, "no string at all");
	is_str(buf, "", "is empty");
	is_int(dns_txt_from_wire((const unsigned char *)"\x05" "ab", 3, buf,
	    sizeof(buf)), -1, "TXT string past the end");
	is_int(dns_txt_from_wire((const unsigned char *)"\x03" "a\0b", 4, buf,
	    sizeof(buf)), -1, "a NUL inside a TXT string");
	is_int(dns_txt_from_wire((const unsigned char *)"\x04" "abcd", 5, buf,
	    4), -1, "too long for the buffer");

	is_int(dns_name_from_wire((const unsigned char *)"\x02mx\x07" "example"
	    "\x03" "com\x00", 16, buf, sizeof(buf)), 16, "name length");
	is_str(buf, "mx.example.com", "dotted");
	is_int(dns_name_from_wire((const unsigned char *)"\x00", 1, buf,
	    sizeof(buf)), 1, "root");
	is_str(buf, "", "root is empty");
	is_int(dns_name_from_wire((const unsigned char *)"\x05" "ab", 3, buf,
	    sizeof(buf)), -1, "label past the end");
	is_int(dns_name_from_wire((const unsigned char *)"\x02" "ab", 3, buf,
	    sizeof(buf)), -1, "no terminating root label");
	is_int(dns_name_from_wire((const unsigned char *)"\x03" "a.b\x00", 5,
	    buf, sizeof(buf)), -1, "a dot inside a label");
	is_int(dns_name_from_wire((const unsigned char *)"\x03" "a\0b\x00", 5,
	    buf, sizeof(buf)), -1, "a NUL inside a label");
	is_int(dns_name_from_wire((const unsigned char *)"\x04" "abcd\x00", 6,
	    buf, 4), -1, "too long for the buffer");
	is_int(dns_name_from_wire((const unsigned char *)"\x40", 1, buf,
	    sizeof(buf)), -1, "label over 63");
}

int
main(void)
{
	test_wire_names();
	test_local();
	test_nameserver();
	test_deadline();
	return tap_done();
}
