# SPDX-License-Identifier: ISC
"""The SPF filter through the running proxy, against a real DNS server
(unbound on loopback serving spf_zone.ZONE) and with pyspf as the
independent oracle: for every case of the zone, pyspf evaluates the same
data and postern must agree with it, in the reply when it refuses and in
the Received-SPF and Authentication-Results headers the backend receives
when it accepts.  Also: forged Authentication-Results headers, allow-listed
clients, spf.reject_softfail, a DNS server that never answers (451 4.7.24
in bounded time while other sessions go on), a full worker queue, and
'postern test'.

Every socket is on loopback (127.0.0.1 and ::1): each client connection
starts with a PROXY protocol v1 header (postern runs with
proxy.proxy_protocol) whose source is the case's client, a documentation
address (spf_zone), so nothing depends on this host's own addresses.  One
test connects without a header, to a postern without proxy_protocol: a
client really on loopback."""
import ipaddress
import os
import re
import socket
import subprocess
import time

import pytest

import peers
import spf_zone
from peers import SmtpClient, make_message
from spf_zone import CASES, REJECT_SOFTFAIL

AUTHSERV = "postern.test"        # proxy.hostname in peers.Postern


# ------------------------------------------------------------- helpers

def header_fields(content):
    """[(name, unfolded value)] of the header section of CRLF content."""
    head = content.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    fields = []
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and fields:
            n, v = fields[-1]
            fields[-1] = (n, v + " " + line.strip())
        elif ":" in line:
            n, v = line.split(":", 1)
            fields.append((n, v.strip()))
    return fields


def headers_named(content, name):
    return [v for n, v in header_fields(content) if n.lower() == name.lower()]


def parse_received_spf(value):
    """(result, comment, {key: value}) of a Received-SPF field value."""
    m = re.match(r"(\w+)\s*(?:\((.*)\))?\s*(.*)$", value)
    assert m, "unparsable Received-SPF: %r" % value
    result, comment = m.group(1).lower(), m.group(2)
    # the key=value pairs after the comment (RFC 7208 9.1)
    i = value.find("client-ip=")
    kv = {}
    if i >= 0:
        for k, v in re.findall(r'([\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)',
                               value[i:]):
            kv[k.lower()] = v[1:-1] if v.startswith('"') else v
    return result, comment, kv


def parse_auth_results(value):
    """(authserv-id, [(method, result, {ptype.property: value})])."""
    parts = [p.strip() for p in value.split(";")]
    authserv = parts[0].split()[0] if parts[0] else ""
    out = []
    for p in parts[1:]:
        p = re.sub(r"\([^)]*\)", " ", p)        # comments
        m = re.match(r"([\w-]+)\s*=\s*([\w-]+)(.*)$", p)
        if not m:
            continue
        props = dict((k.lower(), v) for k, v in
                     re.findall(r"([\w-]+\.[\w-]+)\s*=\s*(\S+)", m.group(3)))
        out.append((m.group(1).lower(), m.group(2).lower(), props))
    return authserv, out


def our_spf_results(content, authserv=AUTHSERV):
    """{'smtp.mailfrom': (result, value), 'smtp.helo': ...} from the A-R
    headers that carry authserv."""
    got = {}
    for v in headers_named(content, "Authentication-Results"):
        a, results = parse_auth_results(v)
        if a.lower() != authserv.lower():
            continue
        for method, result, props in results:
            if method != "spf":
                continue
            for k, val in props.items():
                got[k] = (result, val)
    return got


def domain_of(addr):
    return addr.rsplit("@", 1)[-1].lower()


def softfail_rejected(domain):
    for entry in (e.strip().lower() for e in REJECT_SOFTFAIL.split(",")):
        if entry.startswith("."):
            if domain.endswith(entry):
                return True
        elif domain == entry:
            return True
    return False


def expected_mail_reply(helo_result, result, sender_domain, helo=True):
    """(code, enhanced) postern's MAIL FROM reply should be under the
    default actions of spf.* for these results."""
    if helo and helo_result == "fail":
        return 550, "5.7.23"
    if result == "fail":
        return 550, "5.7.23"
    if result == "softfail" and softfail_rejected(sender_domain):
        return 550, "5.7.23"
    if result == "permerror":
        return 550, "5.7.24"
    if result == "temperror":
        return 451, "4.7.24"
    return 250, None


def oracle(case):
    """pyspf on the same zone: (mailfrom result, explanation, helo result)."""
    return spf_zone.pyspf_check(case.client, case.helo, case.sender)


# Every postern here reads a PROXY header first, from loopback peers only.
PP_OPTS = {"proxy.proxy_protocol": "yes",
           "proxy.proxy_protocol_from": "127.0.0.1, ::1"}
# ... and none at all: a client that really is on loopback
NO_PP_OPTS = {"proxy.proxy_protocol": "no",
              "proxy.proxy_protocol_from": None}


def spf_opts(dns, **more):
    # permerror rejected, as the cases expect (the default marks it)
    o = {"filters.chain": "spf", "dns.nameserver": dns.addr,
         "dns.timeout": "3s", "spf.reject_softfail": REJECT_SOFTFAIL,
         "spf.permerror": "reject", "log.level": "info"}
    o.update(PP_OPTS)
    o.update(more)
    return o


def pp_opts(**more):
    o = dict(PP_OPTS)
    o.update(more)
    return o


def find_message(backend, marker, timeout=10):
    def f():
        for m in backend.messages():
            if m.content and marker.encode() in m.content:
                return m
        return None
    return peers.wait_for(f, timeout, what="message %s at the backend"
                          % marker)


def tx_log_line(p, sender, timeout=10, start=0):
    """postern's transaction log line for sender (the last one, in the log
    from offset start)."""
    rx = r'^.* tx .*from="%s".*$' % re.escape(sender)
    p.wait_log(rx, timeout=timeout, start=start)
    return re.findall(rx, p.log()[start:], re.M)[-1]


def unmapped(addr):
    """addr as postern names it: an IPv4-mapped IPv6 address as IPv4."""
    a = ipaddress.ip_address(addr)
    if a.version == 6 and a.ipv4_mapped is not None:
        return str(a.ipv4_mapped)
    return str(a)


# ------------------------------------------------ clients behind PROXY

# a client on the iplist.allow list of some tests, and one for sessions
# that only need to be served (no MAIL): neither is H4
ALLOWED = "198.51.100.9"
BYSTANDER = "198.51.100.77"


def proxy_v1(client, sport, dport):
    """The PROXY v1 header that presents client: TCP6 (to ::1) for an IPv6
    client, IPv4-mapped ones included, TCP4 (to 127.0.0.1) otherwise."""
    if ":" in client:
        return "PROXY TCP6 %s ::1 %d %d\r\n" % (client, sport, dport)
    return "PROXY TCP4 %s 127.0.0.1 %d %d\r\n" % (client, sport, dport)


def connect(p, client=spf_zone.H4, timeout=15):
    """A session with postern p (proxy.proxy_protocol) as client: connect
    on loopback (::1 for an IPv6 client, which needs p.port6), send the
    PROXY header, read the greeting."""
    if ":" in client:
        c = SmtpClient(p.port6, host="::1", timeout=timeout,
                       read_greeting=False)
    else:
        c = SmtpClient(p.port, timeout=timeout, read_greeting=False)
    try:
        local, port = c.sock.getsockname()[:2]
        assert ipaddress.ip_address(local).is_loopback, local
        c.send(proxy_v1(client, port, c.sock.getpeername()[1]))
        c.greeting = c.reply()
    except BaseException:
        c.close()
        raise
    return c


def good_session(p, backend, marker, client=ALLOWED):
    """peers.good_session, behind a PROXY header from client."""
    content = make_message("good " + marker, ["still serving " + marker])
    with connect(p, client) as c:
        assert c.greeting.code == 220, c.greeting
        assert c.ehlo().code == 250
        r = c.send_message("ok@example.org", ["rcpt@example.com"], content)
        assert r.code == 250, "good message after %s: %s" % (marker, r)
        assert c.cmd("QUIT").code == 221
        c.wait_closed(timeout=5)
    peers.wait_for(lambda: any(m.content == content
                               for m in backend.messages()),
                   10, what="good message %s at the backend" % marker)


# ------------------------------------------- the zone and the oracle

@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_pyspf_agrees_with_the_zone_cases(case):
    """The zone says what the cases expect (else the cases would test the
    wrong thing): pyspf's results are the expected ones."""
    res, expl, hres = oracle(case)
    assert (res, hres) == (case.result, case.helo_result), (case, expl)


def _rdata_text(typ, value):
    if typ == "TXT":
        strings = (value,) if isinstance(value, str) else value
        return "".join(strings)
    if typ == "MX":
        return "%d %s." % value
    if typ == "PTR":
        return value + "."
    return value


def test_unbound_serves_what_pyspf_sees(spf_dns):
    """Every name and type of the zone: unbound's answer (what postern
    gets) is the data pyspf evaluates."""
    checked = 0
    for name, rrs in sorted(spf_zone.ZONE.items()):
        qname = name.replace("*", "x%d" % checked)
        for typ in sorted({t for t, _ in rrs}):
            rcode, data = spf_dns.query(qname, typ)
            if typ == "TXT":
                data = ["".join(re.findall(r'"((?:[^"\\]|\\.)*)"', d))
                        .replace('\\"', '"') for d in data]
            want = [_rdata_text(t, v)
                    for t, v in spf_zone.lookup(qname, typ)]
            assert rcode == "NOERROR" and sorted(data) == sorted(want), (
                qname, typ, rcode, data, want)
            checked += 1
    assert checked >= len(spf_zone.ZONE)
    assert spf_dns.query("nx.spf.example", "TXT") == ("NXDOMAIN", [])
    assert spf_dns.query("none.spf.example", "TXT") == ("NOERROR", [])
    assert spf_dns.query("www.example.com", "A")[0] == "NXDOMAIN"


# ------------------------------------------------ every case, through the proxy

@pytest.fixture(scope="module")
def spf_proxy(spf_dns, postern_bin, workroot):
    """One fakemta and one postern (chain = spf, on 127.0.0.1 and ::1) for
    the per-case tests."""
    import conftest
    import tempfile
    reg = conftest.Registry()
    d = tempfile.mkdtemp(prefix="spf-cases-", dir=workroot)
    os.chmod(d, 0o755)
    try:
        f = reg.add(peers.FakeMta(d))
        port, port6 = peers.free_port(), peers.free_port()
        p = reg.add(peers.Postern(
            postern_bin, d, f.port, listen_port=port,
            opts=spf_opts(spf_dns, **{
                "proxy.listen": "127.0.0.1:%d, [::1]:%d" % (port, port6)})))
        assert p.opts["proxy.proxy_protocol"] == "yes"
        p.port6 = port6
        yield p, f
    finally:
        reg.stop_all()


H4 = spf_zone.H4


def test_the_cases_are_not_this_hosts_addresses():
    """Every case's client is a documentation (or otherwise fixed)
    address, not loopback: postern checks it (it skips loopback clients)
    and the result cannot depend on this host."""
    for c in CASES:
        a = ipaddress.ip_address(unmapped(c.client))
        assert not a.is_loopback and not a.is_unspecified, c
    assert {":" in c.client for c in CASES} == {True, False}
    assert any(ipaddress.ip_address(c.client).version == 6 and
               ipaddress.ip_address(c.client).ipv4_mapped for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_through_the_proxy(spf_proxy, case, request):
    p, f = spf_proxy
    res, expl, hres = oracle(case)
    ident = spf_zone.mailfrom_identity(case)
    code, enh = expected_mail_reply(hres, res, domain_of(ident))
    marker = "spf-case-%s-%d" % (case.id, time.monotonic_ns())
    start = len(p.log())
    with connect(p, case.client) as c:
        assert c.greeting.code == 220, c.greeting
        assert c.ehlo(case.helo).code == 250
        t0 = time.monotonic()
        r = c.cmd("MAIL FROM:<%s>" % case.sender)
        took = time.monotonic() - t0
        assert (r.code, r.enhanced if code != 250 else None) == (code, enh), (
            "%s: pyspf says helo=%s mailfrom=%s; postern replied %s"
            % (case.id, hres, res, r))
        assert took < 5, "MAIL took %.1fs" % took
        if code != 250:
            if case.id == "exp":
                assert expl in r.text, (expl, r)
            # the reply and the log name the result that caused it
            if hres == "fail":
                rx, lrx = r"\bSPF HELO fail\b", r"spf=helo:fail\b"
            else:
                rx, lrx = r"\bSPF %s\b" % res, r"spf=%s\b" % res
            assert re.search(rx, r.text, re.I), r
            assert c.cmd("QUIT").code == 221
            log = tx_log_line(p, case.sender, start=start)
            assert re.search(lrx, log), log
            check_log_client(log, case)
            return
        assert c.cmd("RCPT TO:<rcpt@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(peers.stuff(make_message(marker, ["case " + case.note])) +
               b".\r\n")
        r = c.reply()
        assert r.code == 250, r
        assert c.cmd("QUIT").code == 221
    m = find_message(f, marker)
    check_log_client(tx_log_line(p, case.sender, start=start), case)
    fields = header_fields(m.content)
    names = [n.lower() for n, _ in fields]
    # postern's headers come first, before the message's own
    assert names.index("received-spf") < names.index("from"), names
    assert names.index("authentication-results") < names.index("from"), names
    check_headers(m.content, case, res, hres)


def check_log_client(log, case):
    """The transaction's log line names the PROXY header's source as the
    client (IPv4-mapped as IPv4), not the loopback peer."""
    assert re.search(r" tx client=%s " % re.escape(unmapped(case.client)),
                     log), (case.client, log)


def check_headers(content, case, res, hres, authserv=AUTHSERV):
    """Received-SPF as pyspf writes it for the same check (result, client,
    envelope-from, helo, receiver, identity), and our A-R results."""
    ident = spf_zone.mailfrom_identity(case)
    (rspf,) = headers_named(content, "Received-SPF")
    result, comment, kv = parse_received_spf(rspf)
    want = spf_zone.pyspf_received_spf(case.client, case.helo, case.sender,
                                       authserv)
    wresult, _, wkv = parse_received_spf(want)
    assert result == wresult == res, (rspf, want)
    assert comment, rspf
    for k in ("client-ip", "helo", "receiver", "identity"):
        if k == "identity" and not case.sender:
            # RFC 7208 9.1 leaves it open for <>: pyspf says helo
            assert kv.get(k) in ("helo", "mailfrom"), rspf
            continue
        assert kv.get(k) == wkv.get(k), (k, rspf, want)
    if "envelope-from" in wkv:
        assert kv.get("envelope-from", "").lower() == \
            wkv["envelope-from"].lower() == ident.lower(), (rspf, want)
    else:       # the null sender: none, or the identity checked
        assert kv.get("envelope-from", "") in ("", "<>", ident), rspf
    ar = our_spf_results(content, authserv)
    assert ar.get("smtp.mailfrom") == (res, ident), (
        headers_named(content, "Authentication-Results"), res, ident)
    assert ar.get("smtp.helo") == (hres, case.helo), (
        headers_named(content, "Authentication-Results"), hres)


# ------------------------------------------------ headers and policy

def send_one(p, sender, marker, helo="client.spf.example", client=H4,
             extra_headers=()):
    """One message from client (H4 by default, see spf_zone; behind a
    PROXY header); returns the MAIL reply, or the end-of-data reply."""
    with connect(p, client) as c:
        assert c.greeting.code == 220, c.greeting
        assert c.ehlo(helo).code == 250
        r = c.cmd("MAIL FROM:<%s>" % sender)
        if r.code != 250:
            return r
        assert c.cmd("RCPT TO:<rcpt@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(peers.stuff(make_message(marker, ["body of " + marker],
                                        extra_headers)) + b".\r\n")
        r = c.reply()
        c.cmd("QUIT")
        return r


def test_forged_authentication_results_are_removed(proxy, spf_dns):
    """Incoming A-R headers that claim our authserv-id (any case, folded)
    are removed; those of other authserv-ids stay (RFC 8601 5)."""
    p, f = proxy(**spf_opts(spf_dns, **{"proxy.authserv_id": "mx.spf.example"}))
    forged = [
        "Authentication-Results: mx.spf.example; spf=pass "
        "smtp.mailfrom=forged1@fail.spf.example",
        "Authentication-Results: MX.SPF.Example; dkim=pass "
        "header.d=forged2.fail.spf.example",
        "Authentication-Results:\r\n\tmx.spf.example;\r\n\tspf=pass "
        "smtp.mailfrom=forged3@fail.spf.example",
    ]
    kept = [
        "Authentication-Results: other.example; spf=pass "
        "smtp.mailfrom=kept1@elsewhere.example",
        "Authentication-Results: mx.spf.example.example; spf=pass "
        "smtp.mailfrom=kept2@elsewhere.example",
    ]
    r = send_one(p, "alice@pass-ip4.spf.example", "forged-ar",
                 extra_headers=forged + kept)
    assert r.code == 250, r
    m = find_message(f, "forged-ar")
    for n in (1, 2, 3):
        assert b"forged%d" % n not in m.content, (n, m.content.decode())
    for n in (1, 2):
        assert b"kept%d@elsewhere.example" % n in m.content
    ours = [v for v in headers_named(m.content, "Authentication-Results")
            if parse_auth_results(v)[0].lower() == "mx.spf.example"]
    assert len(ours) >= 1, headers_named(m.content, "Authentication-Results")
    assert our_spf_results(m.content, "mx.spf.example")["smtp.mailfrom"] == (
        "pass", "alice@pass-ip4.spf.example"), ours
    # and nothing claims the hostname's id either: authserv_id replaced it
    assert our_spf_results(m.content, AUTHSERV) == {}
    (rspf,) = headers_named(m.content, "Received-SPF")
    assert parse_received_spf(rspf)[2].get("receiver") in (
        "mx.spf.example", AUTHSERV), rspf


def test_allow_listed_client_skips_spf(proxy, spf_dns):
    """iplist.allow before spf: a failing sender from an allow-listed
    client is accepted, without SPF headers; the same client and sender
    are refused when the client is not on the list."""
    p, f = proxy(**spf_opts(spf_dns, **{"filters.chain": "iplist spf",
                                        "iplist.allow": H4}))
    r = send_one(p, "mallory@fail.spf.example", "allowed-client")
    assert r.code == 250, r
    m = find_message(f, "allowed-client")
    assert headers_named(m.content, "Received-SPF") == [], m.content[:800]
    assert our_spf_results(m.content) == {}, m.content[:800]
    p2, f2 = proxy(**spf_opts(spf_dns, **{"filters.chain": "iplist spf",
                                          "iplist.allow": "192.0.2.254"}))
    r = send_one(p2, "mallory@fail.spf.example", "not-allowed")
    assert (r.code, r.enhanced) == (550, "5.7.23"), r
    assert f2.count() == 0


def test_loopback_client_gets_no_free_pass(proxy, spf_dns):
    """A client on loopback (a local relay, webmail, a health check) is
    checked like any other, or not checked at all; what it must not get is
    spf=pass for a domain whose record does not list it (libspf2 passes
    every loopback client: "localhost is always allowed"), because the
    headers would then vouch for forged mail downstream (DMARC).

    Such a client connects directly, without a balancer: this postern has
    no proxy_protocol and the client sends no PROXY header (a header
    naming 127.0.0.1 would be a balancer on this host relaying a local
    client, the same client address by a longer way)."""
    p, f = proxy(**spf_opts(spf_dns, **NO_PP_OPTS))
    res, _, _ = spf_zone.pyspf_check("127.0.0.1", "client.spf.example",
                                     "mallory@fail.spf.example")
    assert res == "fail"
    with SmtpClient(p.port) as c:
        assert c.sock.getsockname()[0] == "127.0.0.1"
        assert c.greeting.code == 220, c.greeting
        assert c.ehlo("client.spf.example").code == 250
        r = c.cmd("MAIL FROM:<mallory@fail.spf.example>")
        if r.code == 250:
            assert c.cmd("RCPT TO:<rcpt@example.com>").code == 250
            assert c.cmd("DATA").code == 354
            c.send(peers.stuff(make_message("loopback-client", ["x"])) +
                   b".\r\n")
            r = c.reply()
            assert r.code == 250, r
        assert c.cmd("QUIT").code == 221
    log = tx_log_line(p, "mallory@fail.spf.example")
    assert " client=127.0.0.1 " in log, log
    if r.code != 250:
        assert (r.code, r.enhanced) == (550, "5.7.23"), r
        return
    m = find_message(f, "loopback-client")
    got = our_spf_results(m.content)
    rspf = headers_named(m.content, "Received-SPF")
    assert got.get("smtp.mailfrom", ("none",))[0] != "pass" and not any(
        parse_received_spf(v)[0] == "pass" for v in rspf), (
        "loopback client accepted as SPF pass for a -all domain: %s %s"
        % (rspf, headers_named(m.content, "Authentication-Results")))


def test_reject_softfail_file(proxy, spf_dns, workdir):
    """spf.reject_softfail_file: one domain a line, .domain for the ones
    below it, comments; softfail for the others is still accepted."""
    path = os.path.join(workdir, "softfail.txt")
    with open(path, "w") as fp:
        fp.write("# strict senders\nsoftfail.spf.example\n\n.nothing.example\n")
    p, f = proxy(**spf_opts(spf_dns, **{"spf.reject_softfail": "",
                                        "spf.reject_softfail_file": path}))
    r = send_one(p, "s@softfail.spf.example", "sf-file")
    assert (r.code, r.enhanced) == (550, "5.7.23"), r
    assert re.search(r"\bsoftfail\b", r.text, re.I), r
    for sender in ("s@softfail-reject.spf.example", "s@a.strict.spf.example"):
        r = send_one(p, sender, "sf-ok-" + sender)
        assert r.code == 250, (sender, r)
        m = find_message(f, "sf-ok-" + sender)
        (rspf,) = headers_named(m.content, "Received-SPF")
        assert parse_received_spf(rspf)[0] == "softfail", rspf


def test_actions_per_result(proxy, spf_dns):
    """spf.fail = accept lets a fail through (recorded in the headers);
    spf.permerror = tempfail answers 451; spf.neutral = reject 550."""
    p, f = proxy(**spf_opts(spf_dns, **{"spf.fail": "accept",
                                        "spf.permerror": "tempfail",
                                        "spf.neutral": "reject"}))
    r = send_one(p, "mallory@fail.spf.example", "fail-accepted")
    assert r.code == 250, r
    m = find_message(f, "fail-accepted")
    (rspf,) = headers_named(m.content, "Received-SPF")
    assert parse_received_spf(rspf)[0] == "fail", rspf
    assert our_spf_results(m.content)["smtp.mailfrom"][0] == "fail"
    r = send_one(p, "x@two.spf.example", "permerror-tempfail")
    assert r.code == 451 and r.enhanced.startswith("4.7."), r
    r = send_one(p, "n@neutral.spf.example", "neutral-rejected")
    assert r.code == 550 and r.enhanced.startswith("5.7."), r


def test_helo_check_off(proxy, spf_dns):
    """spf.helo = no: a failing HELO name no longer refuses the mail."""
    p, f = proxy(**spf_opts(spf_dns, **{"spf.helo": "no"}))
    r = send_one(p, "alice@pass-ip4.spf.example", "helo-off",
                 helo="helo-fail.spf.example")
    assert r.code == 250, r
    m = find_message(f, "helo-off")
    got = our_spf_results(m.content)
    assert got["smtp.mailfrom"] == ("pass", "alice@pass-ip4.spf.example"), got
    assert "smtp.helo" not in got, got


# ------------------------------------------------ a silent DNS server

def _no_reply_yet(c):
    """True if nothing has arrived on c's socket (non-blocking peek)."""
    c.sock.setblocking(False)
    try:
        c.sock.recv(1, socket.MSG_PEEK)      # data, or b"" at EOF
        return False
    except BlockingIOError:
        return True
    finally:
        c.sock.settimeout(c.timeout)


def _prompt_session(p, client=BYSTANDER, limit=1.0):
    """Greeting, EHLO, NOOP, QUIT; each reply within limit seconds."""
    with connect(p, client, timeout=limit) as c:
        assert c.greeting.code == 220, c.greeting
        for line, want in (("EHLO other.example", 250), ("NOOP", 250),
                           ("QUIT", 221)):
            t0 = time.monotonic()
            r = c.cmd(line, timeout=limit)
            assert r.code == want, (line, r)
            assert time.monotonic() - t0 < limit


def test_silent_dns_server_gives_451_in_time(proxy, blackhole_dns):
    """A DNS server that never answers: 451 4.7.24 after dns.timeout, not
    later; meanwhile other sessions are served at once (the check waits
    on a worker thread, not on the event loop), and an allow-listed
    client's message goes through."""
    bh = blackhole_dns()
    timeout = 2.0
    p, f = proxy(**pp_opts(**{
        "filters.chain": "iplist spf", "iplist.allow": ALLOWED,
        "dns.nameserver": bh.addr, "dns.timeout": "2s", "spf.helo": "no",
        "log.level": "info"}))
    with connect(p, H4, timeout=15) as c1:
        assert c1.ehlo("client.spf.example").code == 250
        t0 = time.monotonic()
        c1.send("MAIL FROM:<alice@pass-ip4.spf.example>\r\n")
        for i in range(3):
            _prompt_session(p)
        r = send_one(p, "mallory@fail.spf.example", "while-waiting",
                     client=ALLOWED)
        assert r.code == 250, r
        served = time.monotonic() - t0
        assert served < timeout * 0.75, "other sessions took %.2fs" % served
        assert _no_reply_yet(c1), "the MAIL reply came too early"
        r = c1.reply(timeout=15)
        took = time.monotonic() - t0
        assert (r.code, r.enhanced) == (451, "4.7.24"), r
        assert timeout * 0.8 <= took <= timeout + 1.5, (
            "451 after %.2fs with dns.timeout %.1fs" % (took, timeout))
        assert re.search(r"\btemperror\b", r.text, re.I) or \
            "DNS" in r.text, r
        # the session goes on: the client may try another sender
        assert c1.cmd("RSET").code == 250
    assert bh.queries() >= 1, "postern never asked the configured server"
    f.wait_count(1)


def test_whole_check_bounded_by_spf_timeout(proxy, blackhole_dns):
    """spf.timeout shorter than one lookup: the check ends at spf.timeout."""
    bh = blackhole_dns()
    p, f = proxy(**pp_opts(**{"filters.chain": "spf",
                              "dns.nameserver": bh.addr,
                              "dns.timeout": "4s", "spf.timeout": "1s"}))
    with connect(p, H4, timeout=15) as c:
        assert c.ehlo("client.spf.example").code == 250
        t0 = time.monotonic()
        r = c.cmd("MAIL FROM:<alice@pass-ip4.spf.example>", timeout=15)
        took = time.monotonic() - t0
    assert (r.code, r.enhanced) == (451, "4.7.24"), r
    assert 0.8 <= took <= 2.5, "451 after %.2fs with spf.timeout 1s" % took


def test_full_worker_queue_tempfails_at_once(proxy, blackhole_dns):
    """workers.threads = 1, workers.queue = 1: with one check running and
    one waiting, a third fails at once with 451 4.7.24."""
    bh = blackhole_dns()
    p, f = proxy(**pp_opts(**{"filters.chain": "spf",
                              "dns.nameserver": bh.addr,
                              "dns.timeout": "3s", "spf.helo": "no",
                              "workers.threads": "1", "workers.queue": "1"}))
    held = []
    try:
        for i in range(2):
            c = connect(p, H4, timeout=20)
            held.append(c)
            assert c.ehlo("client.spf.example").code == 250
            c.send("MAIL FROM:<w%d@pass-ip4.spf.example>\r\n" % i)
            time.sleep(0.3)      # let the job reach the pool
        with connect(p, H4, timeout=10) as c3:
            assert c3.ehlo("client.spf.example").code == 250
            t0 = time.monotonic()
            r = c3.cmd("MAIL FROM:<third@pass-ip4.spf.example>")
            took = time.monotonic() - t0
        assert (r.code, r.enhanced) == (451, "4.7.24"), r
        assert took < 1.0, "the third check waited %.2fs" % took
        # the two others end with their own (timeout) temperror
        for c in held:
            r = c.reply(timeout=20)
            assert (r.code, r.enhanced) == (451, "4.7.24"), r
    finally:
        for c in held:
            c.close()


# ------------------------------------------------ postern test

def postern_test(postern_bin, dns, workdir, case, *opts):
    path = os.path.join(workdir, "msg-%s.eml" % case.id)
    with open(path, "wb") as fp:
        fp.write(make_message("postern test " + case.id, ["hello"]))
    argv = [postern_bin, "test", "-o", "filters.chain=spf",
            "-o", "dns.nameserver=" + dns.addr,
            "-o", "spf.reject_softfail=" + REJECT_SOFTFAIL,
            "-o", "spf.permerror=reject",
            "-o", "proxy.hostname=" + AUTHSERV]
    for o in opts:
        argv += ["-o", o]
    argv += ["--client", case.client, "--helo", case.helo,
             "--from", case.sender, "--rcpt", "rcpt@example.com", path]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return r


def added_headers(out):
    """The 'added header' fields of postern test's output, each with its
    continuation lines (folded with CRLF)."""
    fields = []
    cont = False
    for line in out.split("\n"):
        m = re.match(r"^added header\s+(.*)$", line)
        if m:
            fields.append(m.group(1))
            cont = True
        elif cont and line[:1] in (" ", "\t") and line.strip():
            fields[-1] += "\r\n" + line
        else:
            cont = False
    return fields


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_postern_test_agrees_with_pyspf(postern_bin, spf_dns, workdir, case):
    """'postern test' on every case (IPv6 clients too): the SPF result it
    prints and the header it would add agree with pyspf."""
    res, expl, hres = oracle(case)
    ident = spf_zone.mailfrom_identity(case)
    code, enh = expected_mail_reply(hres, res, domain_of(ident))
    r = postern_test(postern_bin, spf_dns, workdir, case)
    out = r.stdout
    assert r.returncode == 0, (r.returncode, out, r.stderr)
    want = "helo:fail" if hres == "fail" else res
    m = re.search(r"^filter results\s+(.*)$", out, re.M)
    assert m and re.search(r"\bspf=%s(?![\w:])" % want, m.group(1)), out
    m = re.search(r"^action\s+(.*)$", out, re.M)
    assert m, out
    if code == 250:
        assert "relay to the backend" in m.group(1), out
        added = added_headers(out)
        assert added, out
        check_headers(("\r\n".join(added) + "\r\n\r\n").encode(), case,
                      res, hres)
    else:
        assert "refused" in m.group(1), out
        assert re.search(r"\b%d %s\b" % (code, re.escape(enh)), out), out


# ------------------------------------------------ state within a session

def test_helo_result_follows_the_helo_name(proxy, spf_dns):
    """The HELO result is kept per name: a new EHLO with another name is
    checked again, not answered from the previous one."""
    p, f = proxy(**spf_opts(spf_dns))
    with connect(p, H4) as c:
        assert c.ehlo("helo-fail.spf.example").code == 250
        r = c.cmd("MAIL FROM:<n@neutral.spf.example>")
        assert (r.code, r.enhanced) == (550, "5.7.23"), r
        assert "HELO fail" in r.text, r
        assert c.ehlo("helo-pass.spf.example").code == 250
        r = c.send_message("n@neutral.spf.example", ["rcpt@example.com"],
                           make_message("helo-changed", ["x"]))
        assert r.code == 250, r
        assert c.ehlo("helo-fail.spf.example").code == 250
        r = c.cmd("MAIL FROM:<n@neutral.spf.example>")
        assert (r.code, r.enhanced) == (550, "5.7.23"), r
    m = find_message(f, "helo-changed")
    got = our_spf_results(m.content)
    assert got["smtp.helo"] == ("pass", "helo-pass.spf.example"), got
    assert got["smtp.mailfrom"] == ("neutral", "n@neutral.spf.example"), got


def test_each_transaction_gets_its_own_headers(proxy, spf_dns):
    """Several transactions on one connection: each message carries the
    headers of its own sender's check, once, and nothing of the ones
    before it (a refused one included)."""
    p, f = proxy(**spf_opts(spf_dns))
    senders = [("alice@pass-ip4.spf.example", "pass"),
               ("mallory@fail.spf.example", None),
               ("s@softfail.spf.example", "softfail"),
               ("x@none.spf.example", "none"),
               ("n@neutral.spf.example", "neutral")]
    with connect(p, H4) as c:
        assert c.ehlo("client.spf.example").code == 250
        for i, (sender, want) in enumerate(senders):
            if want is None:
                r = c.cmd("MAIL FROM:<%s>" % sender)
                assert (r.code, r.enhanced) == (550, "5.7.23"), r
                continue
            r = c.send_message(sender, ["rcpt@example.com"],
                               make_message("tx-%d" % i, ["x"]))
            assert r.code == 250, (sender, r)
    for i, (sender, want) in enumerate(senders):
        if want is None:
            continue
        m = find_message(f, "tx-%d@" % i)
        rspf = headers_named(m.content, "Received-SPF")
        assert len(rspf) == 1, (sender, rspf)
        result, _, kv = parse_received_spf(rspf[0])
        assert (result, kv.get("envelope-from")) == (want, sender), rspf
        ars = [v for v in headers_named(m.content, "Authentication-Results")
               if parse_auth_results(v)[0] == AUTHSERV]
        assert len(ars) == 1, ars
        assert our_spf_results(m.content)["smtp.mailfrom"] == (want, sender)
    assert f.count() == 4


def test_client_address_from_the_proxy_protocol(proxy, spf_dns):
    """Behind a balancer (proxy.proxy_protocol), SPF checks the address
    the PROXY header gives, not the balancer's."""
    p, f = proxy(**spf_opts(spf_dns, **{"proxy.proxy_protocol": "yes"}))
    other = str(spf_zone.ipaddress.ip_network(spf_zone.OTHER4)[9])
    res, _, _ = spf_zone.pyspf_check(other, "client.spf.example",
                                     "mallory@fail.spf.example")
    assert res == "pass"        # OTHER4 is the one fail.spf.example allows
    with SmtpClient(p.port, read_greeting=False) as c:
        c.send("PROXY TCP4 %s 127.0.0.1 40000 25\r\n" % other)
        assert c.reply().code == 220
        assert c.ehlo("client.spf.example").code == 250
        r = c.send_message("mallory@fail.spf.example", ["rcpt@example.com"],
                           make_message("via-proxy-protocol", ["x"]))
        assert r.code == 250, r
    m = find_message(f, "via-proxy-protocol")
    (rspf,) = headers_named(m.content, "Received-SPF")
    result, _, kv = parse_received_spf(rspf)
    assert (result, kv.get("client-ip")) == ("pass", other), rspf


def test_pipelined_commands_wait_for_the_check(proxy, spf_dns):
    """PIPELINING (RFC 2920): MAIL, RCPT and DATA sent in one go while the
    SPF check runs on a worker.  Replies come back in order; a refused
    sender makes RCPT and DATA fail and nothing reaches the backend; an
    accepted one goes through with its headers."""
    p, f = proxy(**spf_opts(spf_dns))
    with connect(p, H4) as c:
        assert "PIPELINING" in c.ehlo("client.spf.example").keywords()
        c.send("MAIL FROM:<mallory@fail.spf.example>\r\n"
               "RCPT TO:<rcpt@example.com>\r\nDATA\r\n")
        r1, r2, r3 = c.replies(3)
        assert (r1.code, r1.enhanced) == (550, "5.7.23"), r1
        assert r2.code // 100 == 5 and r3.code // 100 == 5, (r2, r3)
        assert c.cmd("NOOP").code == 250
        c.send("MAIL FROM:<alice@pass-ip4.spf.example>\r\n"
               "RCPT TO:<rcpt@example.com>\r\nDATA\r\n")
        r1, r2, r3 = c.replies(3)
        assert (r1.code, r2.code, r3.code) == (250, 250, 354), (r1, r2, r3)
        c.send(peers.stuff(make_message("pipelined", ["x"])) + b".\r\n")
        assert c.reply().code == 250
        assert c.cmd("QUIT").code == 221
    (m,) = f.wait_count(1)
    assert b"pipelined" in m.content and m.mail.startswith("<alice@")
    got = our_spf_results(m.content)
    assert got["smtp.mailfrom"] == ("pass", "alice@pass-ip4.spf.example")


def test_clients_that_leave_during_the_check(proxy, blackhole_dns):
    """Clients that disconnect while their check waits on a silent DNS
    server: postern stays up, frees their slots, and serves the next
    client (the late results are dropped, not delivered to a dead
    session)."""
    bh = blackhole_dns()
    p, f = proxy(**pp_opts(**{
        "filters.chain": "iplist spf", "iplist.allow": ALLOWED,
        "dns.nameserver": bh.addr, "dns.timeout": "1s", "spf.helo": "no",
        "workers.threads": "2"}))
    for i in range(10):
        c = connect(p, H4)
        assert c.ehlo("client.spf.example").code == 250
        c.send("MAIL FROM:<gone%d@pass-ip4.spf.example>\r\n" % i)
        c.close()
    # meanwhile, and after all the lookups have timed out
    good_session(p, f, "during")
    time.sleep(1.5)
    peers.wait_for(lambda: bh.queries() >= 1, 5, what="queries at the hole")
    time.sleep(4)       # ten 1 s lookups on two workers
    assert p.proc.alive(), p.log()[-3000:]
    good_session(p, f, "after")
    with connect(p, H4, timeout=15) as c:
        assert c.ehlo("client.spf.example").code == 250
        r = c.cmd("MAIL FROM:<late@pass-ip4.spf.example>", timeout=15)
        assert (r.code, r.enhanced) == (451, "4.7.24"), r
