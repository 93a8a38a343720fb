# SPDX-License-Identifier: ISC
"""The dmarc filter (issue 15) on the chain "spf dkim_verify dmarc",
against a real unbound on loopback serving DMARC, SPF and DKIM key
records: aligned SPF only, aligned DKIM only, neither, relaxed against
strict alignment, sp for an existing subdomain, np for one that does not
exist, pct=0, no record, a malformed one, two records, two From
domains, a failed lookup (temperror), reject_policy softening and an
allowed sender.  Clients are presented by a PROXY header, so that SPF
judges them; messages are signed by dkimpy with RFC 8463's Ed25519
key."""
import os
import re
import subprocess

import pytest

import conftest
import peers
from dkimmsg import header_values, mark
from test_proxyproto import pp_client, v1

dkim = pytest.importorskip("dkim")

TESTDATA = os.path.join(os.path.dirname(__file__), "..", "data", "rfc8463")
GOOD_IP = "192.0.2.10"          # SPF allows it for every *.dmarc.example
BAD_IP = "192.0.2.99"


def _ed():
    with open(os.path.join(TESTDATA, "rfc8463-ed25519.seed.b64")) as f:
        seed = f.read().strip().encode()
    with open(os.path.join(TESTDATA, "rfc8463-keys.txt")) as f:
        rec = [l.split(None, 1)[1].strip() for l in f
               if l.startswith("brisbane.")][0]
    return seed, rec


SEED, EDREC = _ed()
SPF = '"v=spf1 ip4:%s -all"' % GOOD_IP
ZONE = []
for dom, dmarc in [
        ("a.dmarc.example", "v=DMARC1; p=reject"),
        ("relaxed.dmarc.example", "v=DMARC1; p=reject"),
        ("strict.dmarc.example", "v=DMARC1; p=reject; adkim=s; aspf=s"),
        ("pct0.dmarc.example", "v=DMARC1; p=reject; pct=0"),
        ("bad.dmarc.example", "v=DMARC1; p=bogus"),
        ("dmarc.example", "v=DMARC1; p=none; sp=reject; np=quarantine"),
        ("nodmarc.example", None)]:
    ZONE += ["%s. 300 IN A 192.0.2.1" % dom,
             "%s. 300 IN TXT %s" % (dom, SPF)]
    if dmarc:
        ZONE.append('_dmarc.%s. 300 IN TXT "%s"' % (dom, dmarc))
ZONE += [
    "sub.dmarc.example. 300 IN A 192.0.2.1",
    "two.dmarc.example. 300 IN A 192.0.2.1",
    '_dmarc.two.dmarc.example. 300 IN TXT "v=DMARC1; p=reject"',
    '_dmarc.two.dmarc.example. 300 IN TXT "v=DMARC1; p=none"',
    "list.example. 300 IN TXT %s" % SPF,
    'ed._domainkey.dmarc.example. 300 IN TXT "%s"' % EDREC,
    'ed._domainkey.a.dmarc.example. 300 IN TXT "%s"' % EDREC,
]


@pytest.fixture(scope="module")
def dmarc_dns(workroot):
    """unbound with the zone; slow.example goes to a server that never
    answers (a failed policy lookup)."""
    yield from conftest.zone_dns(workroot, "dmarc-dns-", ZONE,
                                 "slow.example.",
                                 probe=("_dmarc.a.dmarc.example.", "TXT"))


def dmarc_proxy(proxy, dns, **more):
    o = {"proxy.proxy_protocol": "yes", "proxy.reverse_dns": "no",
         "dns.nameserver": dns.addr, "dns.timeout": "2s",
         "filters.chain": "spf dkim_verify dmarc", "dmarc.timeout": "2s"}
    o.update(more)
    return proxy(**o)


def message(m, frm, signer=None):
    msg = ("From: Alice <%s>\r\nTo: <rcpt@example.com>\r\n"
           "Subject: dmarc %s\r\nMessage-ID: <%s@example.org>\r\n\r\n"
           "Hello.\r\n" % (frm, m, m)).encode()
    if signer is not None:
        msg = dkim.sign(msg, b"ed", signer.encode(), SEED,
                        include_headers=[b"from", b"to", b"subject"],
                        signature_algorithm=b"ed25519-sha256") + msg
    return msg


def send(p, msg, sender, ip):
    with pp_client(p.port, v1(ip)) as c:
        assert c.ehlo("client.example").code == 250
        assert c.cmd("MAIL FROM:<%s>" % sender).code == 250
        assert c.cmd("RCPT TO:<rcpt@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(peers.stuff(msg) + b".\r\n")
        r = c.reply()
        c.cmd("QUIT")
    return r


def got(f, m):
    return peers.wait_for(lambda: [x.content for x in f.messages()
                                   if x.content and m.encode() in x.content],
                          10, what="message %s" % m)[0]


def dmarc_ar(content):
    ars = [v for v in header_values(content, "Authentication-Results")
           if v.startswith("postern.test;")]
    assert len(ars) == 1, ars
    found = re.search(r"dmarc=(\w+)(?: \(([^)]*)\))? header\.from=(\S+)",
                      ars[0])
    assert found, ars[0]
    return found.groups()


def relayed(p, f, frm, sender, ip, signer=None):
    m = mark()
    r = send(p, message(m, frm, signer), sender, ip)
    assert r.code == 250, (r, p.log()[-2000:])
    return got(f, m)


def refused(p, frm, sender, ip, signer=None):
    r = send(p, message(mark(), frm, signer), sender, ip)
    assert r.code in (550, 451), r
    return r


def test_aligned_spf_only(proxy, dmarc_dns):
    p, f = dmarc_proxy(proxy, dmarc_dns)
    c = relayed(p, f, "alice@a.dmarc.example", "bounce@a.dmarc.example",
                GOOD_IP)
    assert dmarc_ar(c) == ("pass", "p=reject dis=none", "a.dmarc.example")


def test_aligned_dkim_only(proxy, dmarc_dns):
    p, f = dmarc_proxy(proxy, dmarc_dns)
    c = relayed(p, f, "alice@a.dmarc.example", "x@nospf.example", BAD_IP,
                signer="a.dmarc.example")
    assert dmarc_ar(c)[0] == "pass"


def test_no_alignment_rejected(proxy, dmarc_dns):
    p, f = dmarc_proxy(proxy, dmarc_dns)
    r = refused(p, "alice@a.dmarc.example", "x@nospf.example", GOOD_IP)
    assert r.code == 550 and r.text == "5.7.1 DMARC policy of " \
        "a.dmarc.example: reject (no aligned SPF or DKIM pass)", r
    p.wait_log(r"dmarc=fail\(p=reject dis=reject\)")


def test_relaxed_and_strict(proxy, dmarc_dns):
    """d=dmarc.example aligns relaxed with relaxed.dmarc.example (the
    same organizational domain), not strict with strict.dmarc.example."""
    p, f = dmarc_proxy(proxy, dmarc_dns)
    c = relayed(p, f, "a@relaxed.dmarc.example", "x@nospf.example",
                BAD_IP, signer="dmarc.example")
    assert dmarc_ar(c)[0] == "pass"
    assert refused(p, "a@strict.dmarc.example", "x@nospf.example",
                   BAD_IP, signer="dmarc.example").code == 550
    # SPF of a subdomain: relaxed passes, strict does not
    assert refused(p, "a@strict.dmarc.example", "b@a.dmarc.example",
                   GOOD_IP).code == 550


def test_subdomain_policies(proxy, dmarc_dns):
    """sub.dmarc.example exists: the org's sp=reject; nx.dmarc.example
    does not: np=quarantine, tagged."""
    p, f = dmarc_proxy(proxy, dmarc_dns)
    assert refused(p, "a@sub.dmarc.example", "x@nospf.example",
                   BAD_IP).code == 550
    c = relayed(p, f, "a@nx.dmarc.example", "x@nospf.example", BAD_IP)
    assert dmarc_ar(c) == ("fail", "p=quarantine dis=quarantine",
                           "nx.dmarc.example")
    assert header_values(c, "X-Postern-DMARC") == ["quarantine"]


def test_pct0_quarantines(proxy, dmarc_dns):
    p, f = dmarc_proxy(proxy, dmarc_dns)
    c = relayed(p, f, "a@pct0.dmarc.example", "x@nospf.example", BAD_IP)
    assert dmarc_ar(c)[:2] == ("fail", "p=reject dis=quarantine")


def test_no_record_malformed_and_two(proxy, dmarc_dns):
    p, f = dmarc_proxy(proxy, dmarc_dns)
    c = relayed(p, f, "a@nodmarc.example", "x@nospf.example", BAD_IP)
    assert dmarc_ar(c) == ("none", None, "nodmarc.example")
    c = relayed(p, f, "a@bad.dmarc.example", "x@nospf.example", BAD_IP)
    assert dmarc_ar(c)[0] == "permerror"
    # two records: discovery ends there (6.6.3 step 5), the org domain's
    # sp=reject is not asked
    c = relayed(p, f, "a@two.dmarc.example", "x@nospf.example", BAD_IP)
    assert dmarc_ar(c)[0] == "none"


def test_two_from_domains(proxy, dmarc_dns):
    p, f = dmarc_proxy(proxy, dmarc_dns)
    r = refused(p, "a@nodmarc.example>, <b@a.dmarc.example",
                "bounce@a.dmarc.example", GOOD_IP)
    assert r.code == 550 and "exactly one author domain" in r.text, r
    p2, f2 = dmarc_proxy(proxy, dmarc_dns, **{"dmarc.multiple_from":
                                              "accept"})
    relayed(p2, f2, "a@nodmarc.example>, <b@a.dmarc.example",
            "bounce@a.dmarc.example", GOOD_IP)


def test_temperror(proxy, dmarc_dns):
    p, f = dmarc_proxy(proxy, dmarc_dns)
    c = relayed(p, f, "a@x.slow.example", "x@nospf.example", BAD_IP)
    assert dmarc_ar(c)[:2] == ("temperror", "the policy lookup failed")
    p2, _ = dmarc_proxy(proxy, dmarc_dns, **{"dmarc.temperror": "tempfail"})
    r = refused(p2, "a@x.slow.example", "x@nospf.example", BAD_IP)
    assert r.code == 451 and r.text.startswith("4.7.1"), r


def test_reject_policy_and_allowed_sender(proxy, dmarc_dns):
    p, f = dmarc_proxy(proxy, dmarc_dns,
                       **{"dmarc.reject_policy": "quarantine",
                          "dmarc.allow_domains": "list.example"})
    c = relayed(p, f, "a@a.dmarc.example", "x@nospf.example", BAD_IP)
    assert dmarc_ar(c)[:2] == ("fail", "p=reject dis=quarantine")
    c = relayed(p, f, "a@a.dmarc.example", "owner@list.example", GOOD_IP)
    assert dmarc_ar(c)[:2] == ("fail", "p=reject dis=none allowed sender")


def test_dry_run_shows_the_result(postern_bin, dmarc_dns, workdir):
    path = os.path.join(workdir, "m.eml")
    with open(path, "wb") as fh:
        fh.write(message(mark(), "a@a.dmarc.example"))
    r = subprocess.run(
        [postern_bin, "test", "-o", "filters.chain=spf dkim_verify dmarc",
         "-o", "dns.nameserver=" + dmarc_dns.addr, "--client", BAD_IP,
         "--from", "x@nospf.example", path],
        capture_output=True, text=True, timeout=30)
    assert "dmarc=fail (p=reject dis=reject) header.from=a.dmarc.example" \
        in r.stdout, r.stdout + r.stderr
    assert "550 5.7.1 DMARC policy of a.dmarc.example" in r.stdout, r.stdout
