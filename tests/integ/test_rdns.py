# SPDX-License-Identifier: ISC
"""The client's host names (proxy.reverse_dns): at connect postern looks up
the PTR names of the client's address and forward-confirms them, on the
shared resolver (here an unbound on loopback serving RDNS_ZONE), and tells
the backend as Postfix's XCLIENT NAME and REVERSE_NAME.  Clients are
documentation addresses given in PROXY headers.

Against a real Postfix (smtpd_authorized_xclient_hosts = 127.0.0.0/8) its
reject_unknown_client_hostname and reject_unknown_reverse_client_hostname
must answer as for a direct client: the forward-confirmed name passes
both, a PTR name without the address passes only the reverse check, no
PTR fails both (550 here: unknown_client_reject_code), and a DNS server
that never answers gives 450.  Against fakemta the exact XCLIENT and
XFORWARD attributes; regex rules on client_name and reverse_name; the
name in our Received field (TLS) and in the transaction log; a client
seen again named from the cache, until a reload changes the resolver; the
external milter's connect hostname (the name, or "[address]"); a PTR
name that is not a host name (CR, LF, parentheses) is no name and reaches
no header or log; a slow lookup does not hold the event loop, and a
lookup stuck behind a busy worker pool ends within
proxy.reverse_dns_timeout and a second."""
import os
import re
import subprocess
import tempfile
import time

import pytest

import conftest
import peers
from peers import make_message
from test_milter_host import FakeMilter
from test_proxyproto import closed_silently, pp_client, v1

UNAV = "[UNAVAILABLE]"
TEMP = "[TEMPUNAVAIL]"
V6_10 = ("0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
         "ip6.arpa.")

RDNS_ZONE = [
    "10.2.0.192.in-addr.arpa. 300 IN PTR mail.rdns.example.",
    "mail.rdns.example. 300 IN A 192.0.2.10",
    "11.2.0.192.in-addr.arpa. 300 IN PTR forged.rdns.example.",
    "forged.rdns.example. 300 IN A 192.0.2.99",
    # CR, LF and a "(" inside a label: not a host name
    "13.2.0.192.in-addr.arpa. 300 IN PTR "
    "a\\013\\010Received:\\040x.rdns.example.",
    V6_10 + " 300 IN PTR mail6.rdns.example.",
    "mail6.rdns.example. 300 IN AAAA 2001:db8::10",
]

# case: (client address, NAME, REVERSE_NAME)
CASES = {
    "verified": ("192.0.2.10", "mail.rdns.example", "mail.rdns.example"),
    "forged": ("192.0.2.11", UNAV, "forged.rdns.example"),
    "no-ptr": ("192.0.2.12", UNAV, UNAV),
    "not-a-hostname": ("192.0.2.13", UNAV, UNAV),
    "ipv6": ("2001:db8::10", "mail6.rdns.example", "mail6.rdns.example"),
}
XCLIENT_EHLO = ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES",
                "XCLIENT NAME REVERSE_NAME ADDR PORT HELO PROTO"]


@pytest.fixture(scope="module")
def rdns_dns(workroot):
    reg = conftest.Registry()
    d = tempfile.mkdtemp(prefix="rdns-dns-", dir=workroot)
    os.chmod(d, 0o755)
    try:
        yield reg.add(peers.Unbound(d, RDNS_ZONE, probe=(
            "10.2.0.192.in-addr.arpa.", "PTR")))
    finally:
        reg.stop_all()


def rdns_opts(dns_addr, **more):
    o = {"proxy.proxy_protocol": "yes", "proxy.reverse_dns": "yes",
         "dns.nameserver": dns_addr, "log.level": "debug"}
    o.update(more)
    return o


def header(addr, sport=41000):
    return v1(addr, sport)


def attrs(f, verb):
    """{NAME: value} of each XCLIENT/XFORWARD line the backend got."""
    out = []
    for _, line in f.commands():
        w = line.split()
        if w and w[0].upper() == verb:
            out.append(dict(a.split("=", 1) for a in w[1:]))
    return out


def one_message(p, addr, tag, helo="helo.rdns.example"):
    with pp_client(p.port, header(addr)) as c:
        assert c.greeting.code == 220, c.greeting
        assert c.ehlo(helo).code == 250
        r = c.send_message("s-%s@example.org" % tag, ["r@example.com"],
                           make_message("rdns " + tag, ["x " + tag]))
        assert r.code == 250, r
        c.cmd("QUIT")


# ------------------------------------------------------------- fakemta

@pytest.mark.parametrize("case", sorted(CASES))
def test_xclient_names(proxy, rdns_dns, case):
    addr, name, reverse = CASES[case]
    p, f = proxy({"ehlo": XCLIENT_EHLO}, **rdns_opts(rdns_dns.addr))
    one_message(p, addr, case)
    f.wait_count(1)
    (a,) = attrs(f, "XCLIENT")
    assert a["ADDR"] == ("IPV6:" + addr if ":" in addr else addr), a
    assert (a.get("NAME"), a.get("REVERSE_NAME")) == (name, reverse), a
    # looked up (not merely off), and the transaction log line names it
    p.wait_log(r"client %s: name %s, reverse name %s \(" % (
        re.escape(addr), re.escape(name), re.escape(reverse)))
    p.wait_log(r' tx client=%s client_name="%s" ' % (re.escape(addr),
                                                    re.escape(name)))
    assert "Received:" not in p.log() and "\r" not in p.log()


def test_xforward_name(proxy, rdns_dns):
    p, f = proxy({"ehlo": ["PIPELINING", "XFORWARD NAME ADDR PROTO HELO "
                           "SOURCE"]}, **rdns_opts(rdns_dns.addr))
    one_message(p, "192.0.2.10", "xforward")
    f.wait_count(1)
    (a,) = attrs(f, "XFORWARD")
    assert a["NAME"] == "mail.rdns.example" and a["ADDR"] == "192.0.2.10", a


def test_cached_then_forgotten_on_resolver_change(fakemta, postern,
                                                  rdns_dns, blackhole_dns,
                                                  workdir):
    """A client seen again is named from the cache; a reload that changes
    the resolver forgets what the old one said."""
    import signal
    hole = blackhole_dns()
    f = fakemta(ehlo=XCLIENT_EHLO)
    conf = os.path.join(workdir, "postern.conf")
    with open(conf, "w") as fh:
        fh.write("[dns]\nnameserver = %s\n[filters]\nchain =\n" %
                 rdns_dns.addr)
    o = rdns_opts(None, **{"proxy.reverse_dns_timeout": "1s"})
    del o["dns.nameserver"]
    p = postern(f.port, config=conf, **o)
    for i in range(2):
        one_message(p, "192.0.2.10", "cache%d" % i)
    p.wait_log(r"client 192\.0\.2\.10: name mail\.rdns\.example, reverse "
               r"name mail\.rdns\.example \(cached\)")
    assert hole.queries() == 0
    with open(conf, "w") as fh:
        fh.write("[dns]\nnameserver = %s\ntimeout = 1s\n[filters]\nchain =\n"
                 % hole.addr)
    mark = len(p.log())
    p.signal(signal.SIGHUP)
    p.wait_log(r"configuration reloaded", start=mark)
    one_message(p, "192.0.2.10", "after-reload")
    f.wait_count(3)
    names = [(a["NAME"], a["REVERSE_NAME"]) for a in attrs(f, "XCLIENT")]
    assert names == [("mail.rdns.example",) * 2] * 2 + [(TEMP, TEMP)], names


def test_off_looks_nothing_up(proxy, blackhole_dns):
    """proxy.reverse_dns = no: no query at all, both [UNAVAILABLE]."""
    hole = blackhole_dns()
    p, f = proxy({"ehlo": XCLIENT_EHLO}, **rdns_opts(
        hole.addr, **{"proxy.reverse_dns": "no"}))
    t0 = time.monotonic()
    one_message(p, "192.0.2.10", "off")
    assert time.monotonic() - t0 < 3
    f.wait_count(1)
    (a,) = attrs(f, "XCLIENT")
    assert (a["NAME"], a["REVERSE_NAME"]) == (UNAV, UNAV), a
    assert hole.queries() == 0


def test_dns_timeout_is_tempunavail(proxy, blackhole_dns):
    """A resolver that never answers: [TEMPUNAVAIL] for both, after
    proxy.reverse_dns_timeout (shorter than dns.timeout here)."""
    hole = blackhole_dns()
    p, f = proxy({"ehlo": XCLIENT_EHLO}, **rdns_opts(
        hole.addr, **{"dns.timeout": "20s",
                      "proxy.reverse_dns_timeout": "2s"}))
    t0 = time.monotonic()
    one_message(p, "192.0.2.10", "timeout")
    took = time.monotonic() - t0
    assert 1.5 < took < 6, took
    f.wait_count(1)
    (a,) = attrs(f, "XCLIENT")
    assert (a["NAME"], a["REVERSE_NAME"]) == (TEMP, TEMP), a
    assert hole.queries() >= 1


def test_lookup_does_not_hold_the_loop(proxy, blackhole_dns):
    """While one client's lookup waits on a silent DNS server, postern
    still serves others: a bad PROXY header is closed at once."""
    hole = blackhole_dns()
    p, f = proxy({"ehlo": XCLIENT_EHLO}, **rdns_opts(
        hole.addr, **{"proxy.reverse_dns_timeout": "4s"}))
    slow = peers.SmtpClient(p.port, read_greeting=False)
    try:
        slow.send(header("192.0.2.10"))
        peers.wait_for(lambda: hole.queries() >= 1, 5,
                       what="the lookup to start")
        t0 = time.monotonic()
        assert closed_silently(p.port, b"PROXY NONSENSE\r\n") == b""
        assert time.monotonic() - t0 < 1.5
        slow.greeting = slow.reply(timeout=10)
        assert slow.greeting.code == 220, slow.greeting
    finally:
        slow.close()


def test_lookup_behind_a_busy_pool_ends_in_time(proxy, blackhole_dns):
    """One worker thread, held by an SPF check on a silent DNS server: a
    new client's lookup waits in the queue, and the session goes on with
    [TEMPUNAVAIL] once proxy.reverse_dns_timeout and a second have
    passed."""
    hole = blackhole_dns()
    p, f = proxy({"ehlo": XCLIENT_EHLO}, **rdns_opts(
        hole.addr, **{"proxy.reverse_dns_timeout": "1s",
                      "workers.threads": "1", "filters.chain": "spf",
                      "dns.timeout": "6s", "spf.timeout": "6s"}))
    busy = pp_client(p.port, header("192.0.2.10"))
    try:
        assert busy.greeting.code == 220
        assert busy.ehlo("busy.example").code == 250
        busy.send("MAIL FROM:<a@spf-slow.example>\r\n")
        time.sleep(0.5)         # the SPF check holds the one worker
        t0 = time.monotonic()
        with pp_client(p.port, header("192.0.2.11"), timeout=10) as c:
            took = time.monotonic() - t0
            assert c.greeting.code == 220, c.greeting
        assert 1.5 < took < 4, took
        p.wait_log(r"reverse lookup of 192\.0\.2\.11: no answer within 1s")
    finally:
        busy.close()


# ------------------------------------------------------------- filters

def test_regex_client_name_and_reverse_name(proxy, rdns_dns, workdir):
    rules = os.path.join(workdir, "rdns.rules")
    with open(rules, "w") as fh:
        fh.write('KNOWN client_name /^mail\\.rdns\\.example$/ reject '
                 '554 5.7.1 "known name refused"\n'
                 'REV reverse_name /^forged\\.rdns\\.example$/ reject '
                 '554 5.7.1 "forged reverse refused"\n'
                 'NOTNAME client_name /^forged/ reject\n'
                 'ADDR connect /^192\\.0\\.2\\.12$/ reject '
                 '554 5.7.1 "address refused"\n')
    p, f = proxy({"ehlo": XCLIENT_EHLO}, **rdns_opts(
        rdns_dns.addr, **{"filters.chain": "regex", "regex.rules": rules}))
    want = {"192.0.2.10": "554 5.7.1 known name refused",
            "192.0.2.11": "554 5.7.1 forged reverse refused",
            "192.0.2.12": "554 5.7.1 address refused",
            "192.0.2.13": None}
    for addr, reply in sorted(want.items()):
        with pp_client(p.port, header(addr)) as c:
            if reply is None:
                assert c.greeting.code == 220, c.greeting
            else:
                assert "%d %s" % (c.greeting.code, c.greeting.text) == \
                    reply, (addr, c.greeting)


def test_milter_gets_name_or_bracketed_address(proxy, rdns_dns, procs,
                                               workdir):
    """libmilter's xxfi_connect hostname: the verified name, else the
    address in brackets."""
    fm = procs.add(FakeMilter(workdir))
    p, f = proxy({"ehlo": XCLIENT_EHLO}, **rdns_opts(
        rdns_dns.addr, **{"filters.chain": "milter",
                          "milter.milters": fm.spec}))
    for addr in ("192.0.2.10", "192.0.2.11", "192.0.2.13"):
        one_message(p, addr, "milter-" + addr)
    hosts = [c["data"].split("\0")[0] for c in fm.commands()
             if c["cmd"] == "C"]
    assert hosts == ["mail.rdns.example", "[192.0.2.11]", "[192.0.2.13]"], \
        hosts


# ------------------------------------------------------------- Received

@pytest.fixture
def tls_files(workdir):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-days",
                    "2", "-subj", "/CN=postern.test"], cwd=workdir,
                   check=True, capture_output=True, timeout=60)
    return {"tls.cert": os.path.join(workdir, "c.pem"),
            "tls.key": os.path.join(workdir, "k.pem")}


def received_of(f, tag):
    for m in f.messages():
        if m.content and tag.encode() in m.content:
            head = m.content.split(b"\r\n\r\n", 1)[0].decode("latin-1")
            return re.sub(r"\r\n[ \t]+", " ",
                          re.search(r"^Received: .*?(?=\r\n[^ \t]|\Z)",
                                    head, re.M | re.S).group(0))
    return None


def test_received_names_the_client(proxy, rdns_dns, tls_files):
    p, f = proxy({"ehlo": XCLIENT_EHLO}, **rdns_opts(rdns_dns.addr,
                                                     **tls_files))
    for addr, tag in (("192.0.2.10", "tls-verified"),
                      ("192.0.2.13", "tls-hostile")):
        with pp_client(p.port, header(addr)) as c:
            assert c.ehlo("pre.tls.example").code == 250
            assert c.cmd("STARTTLS").code == 220
            c.starttls()
            assert c.ehlo("helo.rdns.example").code == 250
            assert c.send_message("a@example.org", ["b@example.com"],
                                  make_message(tag, ["x"])).code == 250
            c.cmd("QUIT")
    f.wait_count(2)
    rcvd = peers.wait_for(lambda: received_of(f, "tls-verified"), 10)
    assert rcvd.startswith("Received: from helo.rdns.example "
                           "(mail.rdns.example [192.0.2.10]) by "), rcvd
    rcvd = received_of(f, "tls-hostile")
    assert rcvd.startswith("Received: from helo.rdns.example "
                           "([192.0.2.13]) by "), rcvd
    (m,) = [m for m in f.messages() if b"tls-hostile" in m.content]
    assert m.content.count(b"Received:") == 1, m.content[:800]


# ------------------------------------------------------------- Postfix

@pytest.fixture(scope="module")
def rdns_postfix(workroot):
    """Postfix whose recipient decides the check: name@ needs
    reject_unknown_client_hostname, reverse@ only the reverse one."""
    yield from conftest._postfix(workroot, {
        "smtpd_restriction_classes": "need_name, need_reverse",
        "need_name": "reject_unknown_client_hostname",
        "need_reverse": "reject_unknown_reverse_client_hostname",
        "smtpd_recipient_restrictions":
            "check_recipient_access inline:{ { name@example.com = "
            "need_name }, { reverse@example.com = need_reverse } }, permit",
        "relay_domains": "example.com",
        "smtpd_relay_restrictions": "reject_unauth_destination",
        "unknown_client_reject_code": "550",
        # Postfix takes XCLIENT ADDR=IPV6:... only with IPv6 on
        "inet_protocols": "all",
    })


def rcpt_codes(p, addr, timeout=15):
    """{rcpt: (code, text)} for name@ and reverse@ from client addr."""
    out = {}
    with pp_client(p.port, header(addr), timeout=timeout) as c:
        assert c.greeting.code == 220, c.greeting
        assert c.ehlo("helo.rdns.example").code == 250
        for rcpt in ("name", "reverse"):
            assert c.cmd("MAIL FROM:<s@example.org>").code == 250
            r = c.cmd("RCPT TO:<%s@example.com>" % rcpt)
            out[rcpt] = (r.code, r.text)
            assert c.cmd("RSET").code == 250
        c.cmd("QUIT")
    return out


def test_postfix_hostname_restrictions(rdns_postfix, rdns_dns, postern):
    pf, snk = rdns_postfix
    p = postern(pf.port, **rdns_opts(rdns_dns.addr))
    ok, name, rev = (250, None), "cannot find your hostname", \
        "cannot find your reverse hostname"
    want = {"192.0.2.10": {"name": ok, "reverse": ok},
            "192.0.2.11": {"name": (550, name), "reverse": ok},
            "192.0.2.12": {"name": (550, name), "reverse": (550, rev)},
            "2001:db8::10": {"name": ok, "reverse": ok}}
    for addr, rcpts in sorted(want.items()):
        got = rcpt_codes(p, addr)
        for rcpt, (code, text) in rcpts.items():
            assert got[rcpt][0] == code, (addr, rcpt, got)
            if text:
                assert text in got[rcpt][1], (addr, rcpt, got)
    # a message from the verified client, as Postfix logs it
    with pp_client(p.port, header("192.0.2.10")) as c:
        assert c.ehlo("helo.rdns.example").code == 250
        assert c.send_message("s@example.org", ["name@example.com"],
                              make_message("pf-rdns", ["x"])).code == 250
    pf.wait_maillog(r"client=mail\.rdns\.example\[192\.0\.2\.10\]")


def test_postfix_tempunavail_is_450(rdns_postfix, blackhole_dns, postern):
    pf, snk = rdns_postfix
    hole = blackhole_dns()
    p = postern(pf.port, **rdns_opts(hole.addr, **{
        "dns.timeout": "1s", "proxy.reverse_dns_timeout": "2s"}))
    got = rcpt_codes(p, "192.0.2.10")
    assert got["name"][0] == 450 and "cannot find your hostname" in \
        got["name"][1], got
    assert got["reverse"][0] == 450 and "cannot find your reverse " \
        "hostname" in got["reverse"][1], got
