# SPDX-License-Identifier: ISC
"""The dnsbl filter (issue 15) against a real unbound on loopback serving
DNS list zones: a listed client refused at connect with Postfix's words
and the list's TXT, a clean one relayed, a reply filter, weights summed
against the threshold, an allow list that wins, the IPv6 nibble name,
right-hand-side lists on the sender domain and the HELO name, a zone whose
server never answers (never a refusal), and the same filter in
'postern test'.  Clients are presented by a PROXY header."""
import os
import re
import subprocess

import pytest

import conftest
import peers
from peers import make_message
from test_milter import miltertest
from test_proxyproto import pp_client, v1

ZONE = [
    # bl.example: 192.0.2.10 listed, with a TXT; 192.0.2.11 listed with
    # 127.0.0.4 only; 192.0.2.12 with 127.0.0.2 and a TXT holding a
    # control byte
    "10.2.0.192.bl.example. 300 IN A 127.0.0.2",
    '10.2.0.192.bl.example. 300 IN TXT "Listed, see http://bl.example/?192.0.2.10"',
    "11.2.0.192.bl.example. 300 IN A 127.0.0.4",
    "12.2.0.192.bl.example. 300 IN A 127.0.0.2",
    '12.2.0.192.bl.example. 300 IN TXT "bad\\007byte"',
    # two weak lists, each alone under the threshold
    "20.2.0.192.weak1.example. 300 IN A 127.0.0.2",
    "20.2.0.192.weak2.example. 300 IN A 127.0.0.2",
    "21.2.0.192.weak1.example. 300 IN A 127.0.0.2",
    # an allow list for 192.0.2.30, which bl.example lists too
    "30.2.0.192.bl.example. 300 IN A 127.0.0.2",
    "30.2.0.192.wl.example. 300 IN A 127.0.0.5",
    # IPv6 2001:db8::5 in nibbles
    "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
    "bl.example. 300 IN A 127.0.0.2",
    # right-hand-side list: a sender domain and a HELO name
    "spammer.example.rhs.example. 300 IN A 127.0.0.2",
    "bad-helo.example.rhs.example. 300 IN A 127.0.0.2",
    # the client tests/milter/stages.lua's "deny" case connects from
    "1.2.0.192.bl.example. 300 IN A 127.0.0.2",
    "localhost. 300 IN A 127.0.0.1",
]
SITES = "bl.example=127.0.0.[2..3]*2, wl.example*-5, weak1.example, " \
        "weak2.example"


@pytest.fixture(scope="module")
def bl_dns(workroot):
    """unbound serving the zones; slow.example goes to a server that never
    answers."""
    yield from conftest.zone_dns(workroot, "dnsbl-dns-", ZONE,
                                 "slow.example.")


def dnsbl_proxy(proxy, dns, **more):
    o = {"proxy.proxy_protocol": "yes", "proxy.reverse_dns": "no",
         "dns.nameserver": dns.addr, "filters.chain": "dnsbl",
         "dnsbl.sites": SITES, "dnsbl.threshold": "2",
         "dnsbl.timeout": "1s"}
    o.update(more)
    return proxy(**o)


def greet(p, addr):
    c = pp_client(p.port, v1(addr))
    return c, c.greeting


def relayed(p, f, addr, sender="a@example.org", helo="client.example"):
    with pp_client(p.port, v1(addr)) as c:
        assert c.greeting.code == 220, c.greeting
        assert c.ehlo(helo).code == 250
        r = c.send_message(sender, ["b@example.com"],
                           make_message("dnsbl " + addr, ["x"]))
        c.cmd("QUIT")
    return r


def test_listed_refused_with_txt(proxy, bl_dns):
    p, f = dnsbl_proxy(proxy, bl_dns)
    c, g = greet(p, "192.0.2.10")
    c.close()
    assert g.code == 554 and g.text.startswith(
        "5.7.1 Service unavailable; client [192.0.2.10] blocked using "
        "bl.example; Listed, see http://bl.example/?192.0.2.10"), g
    assert f.sessions() == 0
    p.wait_log(r"connect from 192\.0\.2\.10 refused: 554 .* filters=\""
               r"dnsbl=listed\(bl\.example=127\.0\.0\.2\*2\) score=2\"")


def test_not_listed_relayed(proxy, bl_dns):
    p, f = dnsbl_proxy(proxy, bl_dns)
    assert relayed(p, f, "192.0.2.99").code == 250
    f.wait_count(1)
    assert b"X-Postern-DNSBL" not in f.messages()[0].content
    p.wait_log(r"dnsbl=none")


def test_reply_filter(proxy, bl_dns):
    """127.0.0.4 is not in bl.example's filter: not listed."""
    p, f = dnsbl_proxy(proxy, bl_dns)
    assert relayed(p, f, "192.0.2.11").code == 250


def test_txt_is_made_printable(proxy, bl_dns):
    p, f = dnsbl_proxy(proxy, bl_dns)
    c, g = greet(p, "192.0.2.12")
    c.close()
    assert g.code == 554 and g.text.endswith("bl.example; bad?byte"), g


def test_weights_sum_over_the_threshold(proxy, bl_dns):
    """weak1 + weak2 (1 each) reach 2; weak1 alone is 1: relayed, and
    the listing is in the log and in a header."""
    p, f = dnsbl_proxy(proxy, bl_dns)
    c, g = greet(p, "192.0.2.20")
    c.close()
    assert g.code == 554 and "blocked using weak1.example" in g.text, g
    assert relayed(p, f, "192.0.2.21").code == 250
    f.wait_count(1)
    m = f.messages()[0].content
    assert re.search(rb"X-Postern-DNSBL: weak1\.example=127\.0\.0\.2\*1\r\n",
                     m), m[:500]
    p.wait_log(r"dnsbl=below-threshold\(weak1\.example=127\.0\.0\.2\*1\) "
               r"score=1")


def test_allow_list_wins(proxy, bl_dns):
    """bl.example (2) and wl.example (-5): under the threshold, allowed,
    and the right-hand-side lists are not asked."""
    p, f = dnsbl_proxy(proxy, bl_dns, **{"dnsbl.rhs_sites": "rhs.example"})
    assert relayed(p, f, "192.0.2.30", sender="x@spammer.example").code \
        == 250
    p.wait_log(r"dnsbl=allowed\(bl\.example=127\.0\.0\.2\*2 "
               r"wl\.example=127\.0\.0\.5\*-5\)")


def test_ipv6_nibbles(proxy, bl_dns):
    p, f = dnsbl_proxy(proxy, bl_dns)
    c, g = greet(p, "2001:db8::5")
    c.close()
    assert g.code == 554 and "client [2001:db8::5] blocked using " \
        "bl.example" in g.text, g


def test_rhs_sender_and_helo(proxy, bl_dns):
    p, f = dnsbl_proxy(proxy, bl_dns, **{"dnsbl.rhs_sites": "rhs.example",
                                         "dnsbl.threshold": "1"})
    with pp_client(p.port, v1("192.0.2.99")) as c:
        assert c.ehlo("client.example").code == 250
        r = c.cmd("MAIL FROM:<boss@spammer.example>")
        assert r.code == 554 and r.text == (
            "5.7.1 Service unavailable; Sender address "
            "[boss@spammer.example] blocked using rhs.example"), r
        assert c.ehlo("bad-helo.example").code == 250
        r = c.cmd("MAIL FROM:<a@example.org>")
        assert r.code == 554 and "Helo command [bad-helo.example] " \
            "blocked using rhs.example" in r.text, r
        assert c.ehlo("client.example").code == 250
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
    assert f.sessions() >= 1


def test_reply_names(proxy, bl_dns):
    p, f = dnsbl_proxy(proxy, bl_dns,
                       **{"dnsbl.reply_names": "bl.example=our-list.test"})
    c, g = greet(p, "192.0.2.10")
    c.close()
    assert g.code == 554 and "blocked using our-list.test;" in g.text, g


def test_zone_without_answer_is_not_a_refusal(proxy, bl_dns):
    """slow.example's server never answers: after dnsbl.timeout the client
    goes on, logged; the other zones still count."""
    p, f = dnsbl_proxy(proxy, bl_dns, **{"dnsbl.sites": "slow.example"})
    assert relayed(p, f, "192.0.2.99").code == 250
    p.wait_log(r"dnsbl: 99\.2\.0\.192\.slow\.example: no answer \(a "
               r"server failure, or none within dnsbl\.timeout\): not listed")
    p2, _ = dnsbl_proxy(proxy, bl_dns, **{
        "dnsbl.sites": "slow.example, bl.example*2"})
    c, g = greet(p2, "192.0.2.10")
    c.close()
    assert g.code == 554, g


def test_check_refuses_bad_sites(postern_bin):
    r = subprocess.run([postern_bin, "check", "-o", "filters.chain=dnsbl",
                        "-o", "dnsbl.sites=bl.example=127.0.0.[9..2], "
                        "-x-.example*abc"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "dnsbl.sites: 'bl.example=127.0.0.[9..2]': bad reply filter" \
        in r.stderr, r.stderr
    assert "'-x-.example*abc': bad weight" in r.stderr, r.stderr
    r = subprocess.run([postern_bin, "check", "-o", "filters.chain=dnsbl"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "dnsbl: no zone to ask" in r.stderr, r


def test_dry_run_shows_the_result(postern_bin, bl_dns, workdir):
    msg = os.path.join(workdir, "m.eml")
    with open(msg, "wb") as fh:
        fh.write(make_message("dry", ["x"]))
    r = subprocess.run([postern_bin, "test", "-o", "filters.chain=dnsbl",
                        "-o", "dnsbl.sites=" + SITES, "-o",
                        "dns.nameserver=" + bl_dns.addr, "--client",
                        "192.0.2.10", msg], capture_output=True, text=True,
                       timeout=30)
    assert "554 5.7.1 Service unavailable; client [192.0.2.10] blocked " \
        "using bl.example" in r.stdout, r.stdout + r.stderr


def test_milter_refuses_at_connect(procs, workdir, postern_bin, bl_dns):
    m = procs.add(peers.PosternMilter(postern_bin, workdir, {
        "filters.chain": "dnsbl", "dnsbl.sites": SITES,
        "dnsbl.threshold": "2", "dns.nameserver": bl_dns.addr}))
    miltertest(m, "deny")
    m.wait_log(r"connect from 192\.0\.2\.1 refused: 554 5\.7\.1 Service "
               r"unavailable; client \[192\.0\.2\.1\] blocked using "
               r"bl\.example filters=\"dnsbl=listed")
