"""The SPF filter through the running proxy, against a real DNS server
(unbound on loopback serving spf_zone.ZONE) and with pyspf as the
independent oracle: for every case of the zone, pyspf evaluates the same
data and postern must agree with it, in the reply when it refuses and in
the Received-SPF and Authentication-Results headers the backend receives
when it accepts.  Also: forged Authentication-Results headers, allow-listed
clients, spf.reject_softfail, a DNS server that never answers (451 4.7.24
in bounded time while other sessions go on), a full worker queue, and
'postern test'."""
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


def spf_opts(dns, **more):
    o = {"filters.chain": "spf", "dns.nameserver": dns.addr,
         "dns.timeout": "3s", "spf.reject_softfail": REJECT_SOFTFAIL,
         "log.level": "info"}
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


def tx_log_line(p, sender, timeout=10):
    """postern's transaction log line for sender (the last one)."""
    rx = r'^.* tx .*from="%s".*$' % re.escape(sender)
    p.wait_log(rx, timeout=timeout)
    return re.findall(rx, p.log(), re.M)[-1]


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
        p.port6 = port6
        yield p, f
    finally:
        reg.stop_all()


# Cases whose client is a local non-loopback address run through the proxy
# (the client binds it as its source; see spf_zone); the others only
# through 'postern test'.
LOCAL_CLIENTS = {a for a in (spf_zone.H4_LOCAL, spf_zone.H6_LOCAL) if a}
PROXY_CASES = [c for c in CASES if c.client in LOCAL_CLIENTS]
H4 = spf_zone.H4_LOCAL
need_h4 = pytest.mark.skipif(
    H4 is None, reason="no non-loopback IPv4 address on this host to send "
    "from (loopback clients are not SPF-checked)")


class SmtpClient6(SmtpClient):
    """peers.SmtpClient over IPv6, from source."""

    def __init__(self, port, host="::1", source=None, timeout=15):
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        if source:
            self.sock.bind((source, 0))
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = b""
        self.eof = False
        self.greeting = self.reply()


def _connect(p, case):
    if ":" in case.client:
        return SmtpClient6(p.port6, source=case.client)
    return SmtpClient(p.port, source=case.client)


def test_the_cases_run_through_the_proxy():
    """Most cases can run through the proxy on this host (else only
    'postern test' checks them: say so, as a skip)."""
    if spf_zone.H4_LOCAL is None:
        pytest.skip("no non-loopback IPv4 address to send from: the cases "
                    "run only through 'postern test'")
    assert len(PROXY_CASES) >= len(CASES) - 4, [c.id for c in PROXY_CASES]


@pytest.mark.parametrize("case", PROXY_CASES, ids=[c.id for c in PROXY_CASES])
def test_case_through_the_proxy(spf_proxy, case, request):
    p, f = spf_proxy
    res, expl, hres = oracle(case)
    ident = spf_zone.mailfrom_identity(case)
    code, enh = expected_mail_reply(hres, res, domain_of(ident))
    marker = "spf-case-%s-%d" % (case.id, time.monotonic_ns())
    with _connect(p, case) as c:
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
            log = tx_log_line(p, case.sender)
            assert re.search(lrx, log), log
            return
        assert c.cmd("RCPT TO:<rcpt@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(peers.stuff(make_message(marker, ["case " + case.note])) +
               b".\r\n")
        r = c.reply()
        assert r.code == 250, r
        assert c.cmd("QUIT").code == 221
    m = find_message(f, marker)
    fields = header_fields(m.content)
    names = [n.lower() for n, _ in fields]
    # postern's headers come first, before the message's own
    assert names.index("received-spf") < names.index("from"), names
    assert names.index("authentication-results") < names.index("from"), names
    check_headers(m.content, case, res, hres)


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

def send_one(p, sender, marker, helo="client.spf.example", source=H4,
             extra_headers=()):
    """One message from source (H4 by default, see spf_zone); returns the
    MAIL reply, or the end-of-data reply."""
    with SmtpClient(p.port, source=source) as c:
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


@need_h4
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


@need_h4
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
    headers would then vouch for forged mail downstream (DMARC)."""
    p, f = proxy(**spf_opts(spf_dns))
    res, _, _ = spf_zone.pyspf_check("127.0.0.1", "client.spf.example",
                                     "mallory@fail.spf.example")
    assert res == "fail"
    r = send_one(p, "mallory@fail.spf.example", "loopback-client",
                 source="127.0.0.1")
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


@need_h4
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


@need_h4
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


@need_h4
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


def _prompt_session(p, source=None, limit=1.0):
    """Greeting, EHLO, NOOP, QUIT; each reply within limit seconds."""
    with SmtpClient(p.port, source=source, timeout=limit) as c:
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
    p, f = proxy(**{"filters.chain": "iplist spf", "iplist.allow": "127.0.0.9",
                    "dns.nameserver": bh.addr, "dns.timeout": "2s",
                    "spf.helo": "no", "log.level": "info"})
    with SmtpClient(p.port, source=H4, timeout=15) as c1:
        assert c1.ehlo("client.spf.example").code == 250
        t0 = time.monotonic()
        c1.send("MAIL FROM:<alice@pass-ip4.spf.example>\r\n")
        for i in range(3):
            _prompt_session(p)
        r = send_one(p, "mallory@fail.spf.example", "while-waiting",
                     source="127.0.0.9")
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
    p, f = proxy(**{"filters.chain": "spf", "dns.nameserver": bh.addr,
                    "dns.timeout": "4s", "spf.timeout": "1s"})
    with SmtpClient(p.port, source=H4, timeout=15) as c:
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
    p, f = proxy(**{"filters.chain": "spf", "dns.nameserver": bh.addr,
                    "dns.timeout": "3s", "spf.helo": "no",
                    "workers.threads": "1", "workers.queue": "1"})
    held = []
    try:
        for i in range(2):
            c = SmtpClient(p.port, source=H4, timeout=20)
            held.append(c)
            assert c.ehlo("client.spf.example").code == 250
            c.send("MAIL FROM:<w%d@pass-ip4.spf.example>\r\n" % i)
            time.sleep(0.3)      # let the job reach the pool
        with SmtpClient(p.port, source=H4, timeout=10) as c3:
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

@need_h4
def test_helo_result_follows_the_helo_name(proxy, spf_dns):
    """The HELO result is kept per name: a new EHLO with another name is
    checked again, not answered from the previous one."""
    p, f = proxy(**spf_opts(spf_dns))
    with SmtpClient(p.port, source=H4) as c:
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


@need_h4
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
    with SmtpClient(p.port, source=H4) as c:
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


@need_h4
def test_pipelined_commands_wait_for_the_check(proxy, spf_dns):
    """PIPELINING (RFC 2920): MAIL, RCPT and DATA sent in one go while the
    SPF check runs on a worker.  Replies come back in order; a refused
    sender makes RCPT and DATA fail and nothing reaches the backend; an
    accepted one goes through with its headers."""
    p, f = proxy(**spf_opts(spf_dns))
    with SmtpClient(p.port, source=H4) as c:
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
    p, f = proxy(**{"filters.chain": "iplist spf", "iplist.allow": "127.0.0.9",
                    "dns.nameserver": bh.addr, "dns.timeout": "1s",
                    "spf.helo": "no", "workers.threads": "2"})
    for i in range(10):
        c = SmtpClient(p.port, source=H4)
        assert c.ehlo("client.spf.example").code == 250
        c.send("MAIL FROM:<gone%d@pass-ip4.spf.example>\r\n" % i)
        c.close()
    # meanwhile, and after all the lookups have timed out
    peers.good_session(p.port, f, "during", source="127.0.0.9")
    time.sleep(1.5)
    peers.wait_for(lambda: bh.queries() >= 1, 5, what="queries at the hole")
    time.sleep(4)       # ten 1 s lookups on two workers
    assert p.proc.alive(), p.log()[-3000:]
    peers.good_session(p.port, f, "after", source="127.0.0.9")
    with SmtpClient(p.port, source=H4, timeout=15) as c:
        assert c.ehlo("client.spf.example").code == 250
        r = c.cmd("MAIL FROM:<late@pass-ip4.spf.example>", timeout=15)
        assert (r.code, r.enhanced) == (451, "4.7.24"), r
