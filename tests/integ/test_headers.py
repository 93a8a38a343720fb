# SPDX-License-Identifier: ISC
"""Header fields postern writes, read back by independent parsers: no text a
client controls (HELO, MAIL FROM local part and domain, a DKIM signature's
d= and s=) can add a result, a property or a field.

postern runs with filters.chain = spf dkim_verify behind a PROXY header
whose source is a documentation address (spf_zone.H4, so SPF is checked:
loopback clients are not), against unbound on loopback serving the SPF
test zone.  Every field postern adds above the message is parsed:
Authentication-Results with python3-authres (RFC 8601), Received-SPF with
an RFC 7208 9.1 reader below, the header section with the email package;
each must hold exactly the results postern meant: one spf result for the
MAIL FROM identity, at most one for the HELO identity, one dkim result a
signature (dkim=none without one), never a pass for what was not checked.
The exact payloads of issue 12 come first, then 200 seeded random cases.

Also: a forged Authentication-Results claiming our authserv-id is removed
from a message a filter accepted early (an allow-listed client, an
allow-listed sender, a regex accept rule), not only from checked ones."""
import email
import email.policy
import os
import random
import re
import subprocess
import tempfile

import pytest

import peers
import spf_zone
from test_spf import H4, PP_OPTS, connect

authres = pytest.importorskip("authres")

AUTHSERV = "postern.test"        # proxy.hostname in peers.Postern
FIRST = b"From: <sender@example.org>\r\n"   # make_message's first field

# the issue's payloads: a quoted local part that carries a result, and a
# HELO that does
PAYLOAD_FROM = '"\\";dkim=pass header.d=bank.test reason="@attacker.test'
PAYLOAD_HELO = "x;dkim=pass"

# what a hostile string is made of: printable ASCII, the specials of every
# grammar involved weighted up
SPECIALS = ';=()"\\@.<>[]:,/?{}\'`'
ALPHABET = ("abcdefghijklmnopqrstuvwxyz0123456789-_." + SPECIALS * 3 +
            "".join(chr(c) for c in range(0x21, 0x7f)))


# ------------------------------------------------------------- readers

def added_fields(content):
    """[(name, value)] of the fields postern put above the message, read
    by the email package (values unfolded)."""
    i = content.find(FIRST)
    assert i >= 0, content[:600]
    msg = email.message_from_bytes(content[:i] + b"\r\n",
                                   policy=email.policy.compat32)
    assert not msg.defects, (msg.defects, content[:i])
    out = [(n, re.sub(r"\r?\n[ \t]", " ", v)) for n, v in msg.items()]
    # the email package sees exactly the fields a line count sees
    starts = [l for l in content[:i].split(b"\r\n")
              if l and l[:1] not in (b" ", b"\t")]
    assert len(starts) == len(out), (starts, out)
    return out


def unquote(s):
    """The content of an RFC 5322 quoted-string (quoted pairs undone)."""
    assert s[:1] == '"' and s[-1:] == '"', s
    return re.sub(r'\\(.)', r'\1', s[1:-1])


def addr_parts(addr):
    """(local part, domain) of an address as text, a quoted local part
    unquoted: the same address written two ways gives the same parts."""
    local, _, domain = addr.rpartition("@")
    if re.fullmatch(r'"(?:[^"\\]|\\.)*"', local):
        local = unquote(local)
    return local, domain


def pvalue_text(v):
    """An authres property value as the text it stands for: authres gives
    "local"@domain as it was written, and a quoted-string's content with
    its quoted pairs (a token has no backslash: undoing them is safe)."""
    if re.fullmatch(r'"(?:[^"\\]|\\.)*"@.*', v):
        return v
    return re.sub(r'\\(.)', r'\1', v)


def printable(s):
    return "".join(c if " " <= c <= "~" else "?" for c in s)


def our_results(value):
    """authres' reading of one A-R value: must be ours."""
    h = authres.AuthenticationResultsHeader.parse(
        "Authentication-Results: " + value)
    assert h.authserv_id == AUTHSERV, value
    return h.results


QS = r'"(?:[^"\\\r\n]|\\[\x20-\x7e])*"'
DOT_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"


def skip_comment(v, i):
    """The index after the comment at v[i] ("(" ... ")", nested, quoted
    pairs); fails on an unclosed one."""
    assert v[i] == "("
    depth = 0
    while i < len(v):
        c = v[i]
        if c == "\\":
            i += 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise AssertionError("unclosed comment in %r" % v)


def cfws(v, i):
    while i < len(v):
        if v[i] in " \t":
            i += 1
        elif v[i] == "(":
            i = skip_comment(v, i)
        else:
            break
    return i


def parse_received_spf(v):
    """RFC 7208 9.1, strictly: (result, [(key, value)]); the whole value
    must be read."""
    i = cfws(v, 0)
    m = re.compile(r"[A-Za-z]+").match(v, i)
    assert m, v
    result, i = m.group().lower(), cfws(v, m.end())
    pairs = []
    while i < len(v):
        m = re.compile(r"([A-Za-z0-9-]+)[ \t]*=[ \t]*(%s|%s)" %
                       (QS, DOT_ATOM)).match(v, i)
        assert m, "bad key-value at %r in %r" % (v[i:], v)
        val = m.group(2)
        pairs.append((m.group(1).lower(),
                      unquote(val) if val[:1] == '"' else val))
        i = cfws(v, m.end())
        if i < len(v):
            assert v[i] == ";", "expected ';' at %r in %r" % (v[i:], v)
            i = cfws(v, i + 1)
    return result, pairs


# ------------------------------------------------------------- the proxy

def header_opts(dns, **more):
    o = {"filters.chain": "spf dkim_verify", "dns.nameserver": dns.addr,
         "dns.timeout": "3s", "log.level": "info",
         "spf.fail": "accept", "spf.softfail": "accept",
         "spf.neutral": "accept", "spf.permerror": "accept",
         "spf.temperror": "accept", "spf.none": "accept"}
    o.update(PP_OPTS)
    o.update(more)
    return o


@pytest.fixture(scope="module")
def hdr_proxy(spf_dns, postern_bin, workroot):
    import conftest
    reg = conftest.Registry()
    d = tempfile.mkdtemp(prefix="headers-", dir=workroot)
    os.chmod(d, 0o755)
    try:
        f = reg.add(peers.FakeMta(d))
        p = reg.add(peers.Postern(postern_bin, d, f.port,
                                  opts=header_opts(spf_dns)))
        yield p, f
    finally:
        reg.stop_all()


def find(f, marker, timeout=10):
    def got():
        for m in f.messages():
            if m.content and marker.encode() in m.content:
                return m
        return None
    return peers.wait_for(got, timeout, what="message %s" % marker)


def send(p, f, helo, sender, marker, extra=(), client=H4):
    """One message; its content at the backend, or None when postern
    refused the HELO or MAIL (a syntax error: nothing to write then)."""
    content = peers.make_message(marker, ["body " + marker], extra)
    with connect(p, client) as c:
        assert c.greeting.code == 220, c.greeting
        r = c.cmd("EHLO " + helo)
        if r.code != 250:
            assert r.code // 100 == 5, r
            return None
        r = c.cmd("MAIL FROM:<%s>" % sender)
        if r.code != 250:
            assert r.code // 100 == 5 and r.code != 550, (sender, r)
            return None
        assert c.cmd("RCPT TO:<rcpt@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(peers.stuff(content) + b".\r\n")
        r = c.reply()
        assert r.code == 250, r
        c.cmd("QUIT")
    return find(f, marker).content


def check(content, helo, sender, nsigs=0, received=False):
    """Every field postern added reads back as exactly what it meant."""
    fields = added_fields(content)
    names = sorted(n.lower() for n, _ in fields)
    assert names == ["authentication-results"] + (["received"] if received
                                                   else []) + \
        ["received-spf"], fields
    (ar,) = [v for n, v in fields if n.lower() == "authentication-results"]
    (rspf,) = [v for n, v in fields if n.lower() == "received-spf"]
    results = our_results(ar)
    spf = [r for r in results if r.method == "spf"]
    dkim = [r for r in results if r.method == "dkim"]
    assert len(spf) + len(dkim) == len(results), ar
    mailfrom = [r for r in spf if [(q.type, q.name) for q in r.properties]
                == [("smtp", "mailfrom")]]
    helos = [r for r in spf if [(q.type, q.name) for q in r.properties]
             == [("smtp", "helo")]]
    assert len(mailfrom) == 1 and len(helos) <= 1 and \
        len(mailfrom) + len(helos) == len(spf), ar
    assert addr_parts(pvalue_text(mailfrom[0].properties[0].value)) == \
        addr_parts(printable(sender)), (ar, sender)
    for r in helos:
        assert pvalue_text(r.properties[0].value) == printable(helo), \
            (ar, helo)
    # one dkim result a signature; none passes (nothing here is signed
    # by a key that exists)
    assert len(dkim) == max(nsigs, 1), ar
    assert all(r.result != "pass" for r in results if r.method == "dkim"), ar
    for r in dkim:
        props = [(q.type, q.name) for q in r.properties]
        assert len(props) == len(set(props)), ar
        assert set(props) <= {("header", "d"), ("header", "s"),
                              ("header", "a")}, ar
    result, pairs = parse_received_spf(rspf)
    assert result == mailfrom[0].result, (rspf, ar)
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), rspf
    assert set(keys) - {"problem"} == {"client-ip", "envelope-from", "helo",
                                       "receiver", "identity"}, rspf
    kv = dict(pairs)
    assert kv["client-ip"] == H4 and kv["receiver"] == AUTHSERV, rspf
    assert kv["identity"] == "mailfrom", rspf
    assert addr_parts(kv["envelope-from"]) == addr_parts(printable(sender)), \
        (rspf, sender)
    assert kv["helo"] == printable(helo), (rspf, helo)


# ------------------------------------------------------------- cases

def test_issue_payloads(hdr_proxy):
    """The two payloads of the issue, and both at once."""
    p, f = hdr_proxy
    for i, (helo, sender) in enumerate([
            ("client.spf.example", PAYLOAD_FROM),
            (PAYLOAD_HELO, "alice@pass-ip4.spf.example"),
            (PAYLOAD_HELO, PAYLOAD_FROM),
            ('a"b;dkim=pass', '"x(y\\\\@a;b"@b.example'),
            ("h)(;dkim=pass(", '"a\\"\\\\;dkim=pass"@c.example')]):
        content = send(p, f, helo, sender, "payload-%d" % i)
        assert content is not None, (helo, sender)
        check(content, helo, sender)
        for r in our_results(dict(added_fields(content))[
                "Authentication-Results"]):
            assert (r.method, r.result) != ("dkim", "pass"), r


def test_hostile_dkim_signature(hdr_proxy):
    """A signature whose d= and s= carry results: one dkim result, not a
    pass, its properties only header.d, header.s, header.a."""
    p, f = hdr_proxy
    sig = ("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
           "d=bank.test\"(x)dkim=pass; s=sel\\\"; h=from:subject; "
           "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA")
    content = send(p, f, "client.spf.example", "alice@pass-ip4.spf.example",
                   "hostile-dkim", extra=[sig])
    check(content, "client.spf.example", "alice@pass-ip4.spf.example",
          nsigs=1)


def _random_text(rng, n, alphabet=ALPHABET):
    return "".join(rng.choice(alphabet) for _ in range(n))


ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" \
    "!#$%&'*+-/=?^_`{|}~"
LDH = "abcdefghijklmnopqrstuvwxyz0123456789-"


def _random_sender(rng):
    """A MAIL FROM address postern's parser takes (RFC 5321 4.1.2): a
    quoted local part of any printable text, or a dot-atom; a domain of
    LDH labels, ours or random, or an address literal."""
    if rng.random() < 0.7:
        text = _random_text(rng, rng.randint(0, 24), ALPHABET + " ")
        local = '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')
    else:
        local = ".".join(_random_text(rng, rng.randint(1, 6), ATEXT)
                         for _ in range(rng.randint(1, 3)))
    domain = rng.choice([
        ".".join("a" + _random_text(rng, rng.randint(0, 8), LDH) + "z"
                 for _ in range(rng.randint(1, 3))),
        "pass-ip4.spf.example", "fail.spf.example", "nx.spf.example",
        "[192.0.2.%d]" % rng.randint(1, 254)])
    return "%s@%s" % (local, domain)


def test_random_client_strings(hdr_proxy):
    """200 seeded cases of random HELO names and MAIL FROM local parts and
    domains: every message that gets through carries headers that parse
    back to exactly our results."""
    p, f = hdr_proxy
    rng = random.Random(12)
    relayed = 0
    for i in range(200):
        helo = _random_text(rng, rng.randint(1, 30))
        sender = _random_sender(rng)
        content = send(p, f, helo, sender, "random-%d-x" % i)
        if content is None:
            continue
        relayed += 1
        check(content, helo, sender)
    # most of them reach the backend, or the test would prove little
    assert relayed >= 150, relayed


# ------------------------------------------------------------- forged A-R

FORGED = "Authentication-Results: %s; dkim=pass header.d=bank.test" % AUTHSERV


def _forged_removed(p, f, marker, sender="alice@pass-ip4.spf.example"):
    content = send(p, f, "client.spf.example", sender, marker,
                   extra=[FORGED])
    assert content is not None
    assert b"header.d=bank.test" not in content, content.decode()
    for n, v in email.message_from_bytes(
            content, policy=email.policy.compat32).items():
        if n.lower() == "authentication-results":
            for r in our_results(re.sub(r"\r?\n[ \t]", " ", v)):
                assert (r.method, r.result) != ("dkim", "pass"), v


def test_forged_ar_removed_for_allow_listed_client(proxy, spf_dns):
    p, f = proxy(**header_opts(spf_dns, **{
        "filters.chain": "iplist spf dkim_verify", "iplist.allow": H4}))
    _forged_removed(p, f, "allowed-client-forged")


def test_forged_ar_removed_for_allow_listed_sender(proxy, spf_dns):
    p, f = proxy(**header_opts(spf_dns, **{
        "filters.chain": "iplist spf dkim_verify",
        "iplist.sender_allow": "ceo@bank.test"}))
    _forged_removed(p, f, "allowed-sender-forged", sender="ceo@bank.test")


def test_forged_ar_removed_after_regex_accept(proxy, spf_dns, workdir):
    rules = os.path.join(workdir, "accept.rules")
    with open(rules, "w") as fp:
        fp.write("VIP mail /^vip@/ accept\n"
                 "SUBJ header:Subject /vip-subject/ accept\n")
    for chain in ("regex spf dkim_verify", "spf dkim_verify regex"):
        p, f = proxy(**header_opts(spf_dns, **{
            "filters.chain": chain, "regex.rules": rules}))
        _forged_removed(p, f, "regex-mail-forged",
                        sender="vip@pass-ip4.spf.example")
        # accepted by a header rule before the forged field comes
        _forged_removed(p, f, "regex-header-vip-subject-forged")


# ------------------------------------------------------------- Received

def received_parts(v):
    """RFC 5322 3.6.7 Received: (the text outside comments, [comment
    contents unescaped], date-time): exactly one ';' outside comments."""
    outside, comments, i = "", [], 0
    while i < len(v):
        if v[i] == "(":
            j = skip_comment(v, i)
            comments.append(re.sub(r"\\(.)", r"\1", v[i + 1:j - 1]))
            outside += " "
            i = j
        else:
            outside += v[i]
            i += 1
    assert outside.count(";") == 1, v
    tokens, date = outside.split(";")
    return tokens.split(), comments, date.strip()


def tls_send(p, helo, sender, marker):
    content = peers.make_message(marker, ["over TLS " + marker])
    with connect(p) as c:
        assert c.ehlo("pre.tls.example").code == 250
        assert c.cmd("STARTTLS").code == 220
        c.starttls()
        r = c.cmd("EHLO " + helo)
        if r.code != 250:
            return None
        assert c.send_message(sender, ["rcpt@example.com"],
                              content).code == 250
        c.cmd("QUIT")
    return find(p.backend, marker).content


def test_received_of_tls_sessions(proxy, spf_dns, workdir):
    """The Received field of a TLS session: a HELO that is a domain name
    is the from domain; any other stays inside the TCP-info comment, and
    the field keeps one ';' before its date."""
    import email.utils
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-days",
                    "2", "-subj", "/CN=postern.test"], cwd=workdir,
                   check=True, capture_output=True, timeout=60)
    p, f = proxy(**header_opts(spf_dns, **{
        "tls.cert": os.path.join(workdir, "c.pem"),
        "tls.key": os.path.join(workdir, "k.pem")}))
    p.backend = f
    rng = random.Random(1212)
    helos = [PAYLOAD_HELO, "good.example", "[192.0.2.1]", "a)b(c;d\\e",
             "x;by=evil;Fri,1-Jan-2038"] + \
        [_random_text(rng, rng.randint(1, 30)) for _ in range(25)]
    for i, helo in enumerate(helos):
        content = tls_send(p, helo, "alice@pass-ip4.spf.example",
                           "tls-received-%d-x" % i)
        if content is None:
            continue
        fields = added_fields(content)
        (rcvd,) = [v for n, v in fields if n.lower() == "received"]
        tokens, comments, date = received_parts(rcvd)
        assert email.utils.parsedate_to_datetime(date), rcvd
        named = re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*", helo)
        assert tokens[:2] == ["from", helo if named else "unknown"], rcvd
        assert tokens[2:4] == ["by", AUTHSERV], rcvd
        if not named:
            assert comments[0] == "[%s] helo=%s" % (H4, helo), rcvd
        check(content, helo, "alice@pass-ip4.spf.example", received=True)


# ------------------------------------------------------------- milters

def test_milter_values_cannot_add_fields(proxy, procs, workdir):
    """An external milter's header edit with a line break that is no fold
    (or a name that is not a field name) is a malformed reply
    (proto/milter_proto.c): the milter counts as failed, and
    milter.default_action decides; with accept, the message goes on
    without its edits.  No field the milter did not name ever reaches the
    backend."""
    from test_milter_host import FakeMilter
    edits = [
        {"eom_headers": [["X-Tag", "yes\r\nX-Evil: 1"]]},
        {"eom_headers": [["X Bad", "x"]]},
        {"eom_headers": [["X-Lf", "a\nBcc: x@example.com"]]},
        {"eom_headers": [["X-Top", "\r\nX-Evil: 1", True]]},
        {"eom_changes": [["Subject", 1, "new\r\nX-Evil: 1"]]},
    ]
    for i, cfg in enumerate(edits):
        fm = procs.add(FakeMilter(workdir, **cfg))
        for action, code in (("tempfail", 451), ("accept", 250)):
            p, f = proxy(**{"filters.chain": "milter",
                            "milter.milters": fm.spec,
                            "milter.command_timeout": "2s",
                            "milter.default_action": action})
            content = peers.make_message("milter-%d-%s" % (i, action),
                                         ["text"])
            with peers.SmtpClient(p.port) as c:
                assert c.ehlo().code == 250
                r = c.cmd("MAIL FROM:<a@example.org>")
                assert r.code == 250, r
                assert c.cmd("RCPT TO:<b@example.com>").code == 250
                assert c.cmd("DATA").code == 354
                c.send(peers.stuff(content) + b".\r\n")
                r = c.reply()
                assert r.code == code, (cfg, action, r)
            if code != 250:
                assert f.count() == 0
                continue
            (m,) = f.wait_count(1)
            assert m.content == content, (cfg, m.content)
