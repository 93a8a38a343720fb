# SPDX-License-Identifier: ISC
"""proxy.client_identity: the backend always learns the real client, or the
client is refused with 4.3.0; never relayed under postern's own address
(a backend that trusts postern's address would be an open relay).

Against fakemta (every way XCLIENT/XFORWARD can be missing or refused,
every attribute, the new greeting) and against real Postfix instances:
without XCLIENT rights (421, nothing relayed), with them (Postfix judges
the real client 192.0.2.25 and refuses to relay for it), XFORWARD (the
real client logged as orig_client), and
smtpd_upstream_proxy_protocol = haproxy behind proxy_v1 and proxy_v2.
The client is presented as 192.0.2.25 by a PROXY header to postern."""
import re
import subprocess

import pytest

import peers
from peers import SmtpClient, make_message
from test_postfix import find, first_received, uniq
from test_proxyproto import pp_client, v1

FOREIGN = "192.0.2.25"
FULL_XCLIENT = ("XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT "
                "REVERSE_NAME")
XFORWARD = "XFORWARD NAME ADDR PROTO HELO SOURCE PORT"


def backend_mail(f):
    return [l for _, l in f.commands() if l.upper().startswith("MAIL")]


def attrs(f, verb):
    """The attributes of every verb line the fakemta received, as dicts."""
    out = []
    for _, line in f.commands():
        if line.upper().startswith(verb + " "):
            out.append(dict(kv.partition("=")[::2]
                            for kv in line.split()[1:]))
    return out


def assert_refused_421(p, f, hint):
    with p.client() as c:
        assert c.greeting.code == 220, c.greeting
        r = c.ehlo()
        assert r.code == 421 and "4.3.0" in r.text, r
        c.wait_closed()
    assert backend_mail(f) == []
    p.wait_log(r"\[error\]: \S+ backend .*%s" % hint)


# ------------------------------------------------------------- fakemta

@pytest.mark.parametrize("ehlo", [[], ["XCLIENT NAME HELO"],
                                  [XFORWARD]],
                         ids=["none", "xclient-without-addr",
                              "only-xforward"])
def test_xclient_not_offered_is_421(proxy, ehlo):
    p, f = proxy({"ehlo": ["PIPELINING"] + ehlo},
                 client_identity="xclient")
    assert_refused_421(p, f, "smtpd_authorized_xclient_hosts")


def test_xclient_refused_is_421(proxy):
    p, f = proxy({"ehlo": ["PIPELINING", FULL_XCLIENT],
                  "rules": [{"verb": "XCLIENT", "reply":
                             "550 5.7.0 Error: insufficient authorization"}]})
    assert_refused_421(p, f, "refused XCLIENT: 550 5.7.0")


def test_xforward_not_offered_is_421(proxy):
    p, f = proxy({"ehlo": ["PIPELINING", "XFORWARD NAME HELO"]},
                 client_identity="xforward")
    assert_refused_421(p, f, "smtpd_authorized_xforward_hosts")


def test_xforward_refused_is_451_in_the_transaction(proxy):
    p, f = proxy({"ehlo": ["PIPELINING", XFORWARD],
                  "rules": [{"verb": "XFORWARD", "reply":
                             "550 5.7.0 Error: insufficient authorization"}]},
                 client_identity="xforward")
    with p.client() as c:
        assert c.ehlo().code == 250
        r = c.cmd("MAIL FROM:<a@example.org>")
        assert r.code == 451 and "4.3.0" in r.text, r
        assert c.cmd("RCPT TO:<b@example.com>").code == 503
        assert c.cmd("QUIT").code == 221
    assert backend_mail(f) == []
    p.wait_log(r"\[error\]: .*refused XFORWARD: 550")


def test_xforward_before_every_mail(proxy):
    p, f = proxy({"ehlo": ["PIPELINING", XFORWARD]},
                 client_identity="xforward")
    with p.client(source="127.0.0.6") as c:
        assert c.ehlo("helo.xforward.test").code == 250
        for i in range(2):
            r = c.send_message("a@example.org", ["b@example.com"],
                               make_message("xf%d" % i, ["x"]))
            assert r.code == 250, r
    with p.client(source="127.0.0.6") as c:     # a new backend session
        assert c.ehlo("helo.xforward.test").code == 250
        r = c.send_message("a@example.org", ["b@example.com"],
                           make_message("xf2", ["x"]))
        assert r.code == 250, r
    f.wait_count(3)
    xf = attrs(f, "XFORWARD")
    assert len(xf) == 3, f.commands()
    for a in xf:
        assert a["ADDR"] == "127.0.0.6" and a["HELO"] == \
            "helo.xforward.test" and a["PROTO"] == "ESMTP" and \
            a["SOURCE"] == "REMOTE" and a["NAME"] == "[UNAVAILABLE]", a
        assert a["PORT"].isdigit(), a
    # The first XFORWARD waits for its reply; once the backend took one,
    # XFORWARD and MAIL go in one write (the backend offers PIPELINING),
    # in that session and the next.
    reads = [(l.split()[0].split(":")[0].upper(), n)
             for _, l, n in f.command_reads()]
    xf_mail = [a[1] == b[1] for a, b in zip(reads, reads[1:])
               if a[0] == "XFORWARD" and b[0] == "MAIL"]
    assert xf_mail == [False, True, True], reads


def test_xforward_not_pipelined_without_pipelining(proxy):
    p, f = proxy({"ehlo": [XFORWARD]}, client_identity="xforward")
    with p.client() as c:
        assert c.ehlo().code == 250
        for i in range(2):
            r = c.send_message("a@example.org", ["b@example.com"],
                               make_message("np%d" % i, ["x"]))
            assert r.code == 250, r
    f.wait_count(2)
    reads = [n for _, l, n in f.command_reads()
             if l.split()[0].split(":")[0].upper() in ("XFORWARD", "MAIL")]
    assert len(reads) == 4 and len(set(reads)) == 4, f.command_reads()


def test_xforward_refused_when_pipelined(proxy):
    """A backend that took XFORWARD once and refuses it later: the MAIL
    that went with it is reset, the client gets 451 and nothing more of
    that transaction reaches the backend."""
    p, f = proxy({"ehlo": ["PIPELINING", XFORWARD],
                  "rules": [{"verb": "XFORWARD", "contains": "HELO=second",
                             "reply": "550 5.7.0 Error: not now"}]},
                 client_identity="xforward")
    with p.client() as c:
        assert c.ehlo("first.test").code == 250
        r = c.send_message("a@example.org", ["b@example.com"],
                           make_message("first", ["x"]))
        assert r.code == 250, r
        assert c.ehlo("second.test").code == 250
        r = c.cmd("MAIL FROM:<c@example.org>")
        assert r.code == 451 and "4.3.0" in r.text, r
        assert c.cmd("RCPT TO:<b@example.com>").code == 503
        assert c.cmd("NOOP").code == 250
    f.wait_count(1)
    verbs = [l.split()[0].split(":")[0].upper() for _, l in f.commands()]
    last = len(verbs) - 1 - verbs[::-1].index("XFORWARD")
    assert verbs[last:last + 3] == ["XFORWARD", "MAIL", "RSET"], verbs
    assert "RCPT" not in verbs[last:] and "DATA" not in verbs[last:], verbs
    p.wait_log(r"\[error\]: .*refused XFORWARD: 550 5.7.0 Error: not now")


def three_sessions(p, f, tag):
    """One message in each of three client sessions, one after the other
    (HELO TAG0.test ...); the verbs each backend session received."""
    for i in range(3):
        with p.client() as c:
            assert c.ehlo("%s%d.test" % (tag, i)).code == 250
            r = c.send_message("a@example.org", ["b@example.com"],
                               make_message("%s%d" % (tag, i), ["x"]))
            assert r.code == 250, r
    f.wait_count(3)
    out = {}
    for sid, line in f.commands():
        out.setdefault(sid, []).append(line.split()[0].split(":")[0].upper())
    return [out[k] for k in sorted(out)]


def test_xclient_right_after_greeting_once_known(proxy):
    """The first session learns the backend's EHLO answer; the next ones
    send XCLIENT without it: one EHLO per backend connection."""
    p, f = proxy({"ehlo": ["PIPELINING", FULL_XCLIENT]})
    s = three_sessions(p, f, "early")
    assert s[0][:4] == ["EHLO", "XCLIENT", "EHLO", "MAIL"], s
    for v in s[1:]:
        assert v[:3] == ["XCLIENT", "EHLO", "MAIL"], s
    helos = [a["HELO"] for a in attrs(f, "XCLIENT")]
    assert helos == ["early0.test", "early1.test", "early2.test"], helos


def test_xclient_early_refused_falls_back(proxy):
    """A backend that wants EHLO before XCLIENT: the early XCLIENT's
    refusal is taken back (EHLO, XCLIENT, EHLO) and later sessions say
    EHLO first; the client sees nothing of it."""
    p, f = proxy({"ehlo": ["PIPELINING", FULL_XCLIENT],
                  "xclient_after_ehlo": True})
    s = three_sessions(p, f, "late")
    assert s[0][:4] == ["EHLO", "XCLIENT", "EHLO", "MAIL"], s
    assert s[1][:5] == ["XCLIENT", "EHLO", "XCLIENT", "EHLO", "MAIL"], s
    assert s[2][:4] == ["EHLO", "XCLIENT", "EHLO", "MAIL"], s


@pytest.mark.parametrize("greeting", [
    "220 fake.test ESMTP again",
    "220-fake.test ESMTP\n220 again",
    "250 2.0.0 Ok"], ids=["220", "220-multiline", "250"])
def test_xclient_every_attribute_and_new_greeting(proxy, greeting):
    """Every attribute the backend announced that postern knows; the new
    greeting (whatever 2xx) is followed by EHLO again, then the mail."""
    p, f = proxy({"ehlo": ["PIPELINING", FULL_XCLIENT],
                  "rules": [{"verb": "XCLIENT", "reply": greeting}]},
                 proxy_protocol="yes")
    with pp_client(p.port, v1(FOREIGN, 41025, "198.51.100.7", 25)) as c:
        assert c.ehlo("helo.attrs.test").code == 250
        r = c.send_message("a@example.org", ["b@example.com"],
                           make_message("attrs", ["x"]))
        assert r.code == 250, r
    f.wait_count(1)
    (a,) = attrs(f, "XCLIENT")
    assert a == {"NAME": "[UNAVAILABLE]", "REVERSE_NAME": "[UNAVAILABLE]",
                 "ADDR": FOREIGN, "PORT": "41025",
                 "HELO": "helo.attrs.test", "PROTO": "ESMTP",
                 "DESTADDR": "198.51.100.7", "DESTPORT": "25"}, a
    verbs = [l.split()[0].upper() for _, l in f.commands()]
    assert verbs[:4] == ["EHLO", "XCLIENT", "EHLO", "MAIL"], verbs


def test_check_warns_on_none(postern_bin):
    r = subprocess.run([postern_bin, "check", "-o",
                        "proxy.client_identity=none"], capture_output=True,
                       timeout=30, text=True)
    assert "client_identity = none" in r.stderr, r.stderr
    r = subprocess.run([postern_bin, "check"], capture_output=True,
                       timeout=30, text=True)
    assert "client_identity" not in r.stderr, r.stderr


# ------------------------------------------------------------- Postfix

RELAY = {"smtpd_relay_restrictions":
         "permit_mynetworks, reject_unauth_destination",
         "smtpd_recipient_restrictions":
         "permit_mynetworks, reject_unauth_destination"}


@pytest.fixture(scope="module")
def postfix_no_xclient(workroot):
    """Postfix trusting 127.0.0.0/8 (postern's address) for relaying, with
    postern missing from smtpd_authorized_xclient_hosts; XFORWARD
    allowed."""
    from conftest import _postfix
    yield from _postfix(workroot, dict(
        RELAY, smtpd_authorized_xclient_hosts="",
        smtpd_authorized_xforward_hosts="127.0.0.0/8"))


@pytest.fixture(scope="module")
def postfix_xclient(workroot):
    from conftest import _postfix
    yield from _postfix(workroot, RELAY)


@pytest.fixture(scope="module")
def postfix_haproxy(workroot):
    from conftest import _postfix
    yield from _postfix(workroot, dict(
        RELAY, smtpd_authorized_xclient_hosts="",
        smtpd_upstream_proxy_protocol="haproxy"))


def foreign_relay(p, tag, src=FOREIGN):
    """A client at src (PROXY header to postern) relays to a foreign
    domain: the replies to EHLO, MAIL, RCPT (None once refused)."""
    with pp_client(p.port, v1(src, 41025, "::1" if ":" in src else
                              "127.0.0.1", p.port)) as c:
        assert c.greeting.code == 220, c.greeting
        e = c.ehlo("helo-%s.client.test" % tag)
        if e.code != 250:
            return e, None, None
        m = c.cmd("MAIL FROM:<%s@example.org>" % tag)
        r = c.cmd("RCPT TO:<victim-%s@foreign.example>" % tag)
        if r.code == 250:
            assert c.cmd("DATA").code == 354
            c.send(peers.stuff(make_message(tag, [tag])) + b".\r\n")
            assert c.reply().code == 250
        c.cmd("QUIT")
        return e, m, r


def test_postfix_without_xclient_rights_relays_nothing(postfix_no_xclient,
                                                       postern):
    pf, snk = postfix_no_xclient
    p = postern(pf.port, proxy_protocol="yes")
    tag = uniq()
    e, m, r = foreign_relay(p, tag)
    assert e.code == 421 and "4.3.0" in e.text, e
    assert m is None and r is None
    assert not [x for x in snk.messages() if tag.encode() in x.content]
    p.wait_log(r"\[error\]: .*does not offer XCLIENT.*"
               r"smtpd_authorized_xclient_hosts")


def test_postfix_none_is_an_open_relay(postfix_no_xclient, postern):
    """What the fail-safe prevents: with client_identity = none the same
    Postfix relays the foreign client's mail (it sees 127.0.0.1)."""
    pf, snk = postfix_no_xclient
    p = postern(pf.port, proxy_protocol="yes", client_identity="none")
    tag = uniq()
    e, m, r = foreign_relay(p, tag)
    assert r.code == 250, r
    find(snk, tag.encode())


def test_postfix_with_xclient_judges_the_real_client(postfix_xclient,
                                                     postern):
    pf, snk = postfix_xclient
    p = postern(pf.port, proxy_protocol="yes")
    tag = uniq()
    e, m, r = foreign_relay(p, tag)
    assert e.code == 250 and m.code == 250, (e, m)
    assert r.code == 554 and "Relay access denied" in r.text, r
    pf.wait_maillog(r"reject: RCPT from \S*\[192\.0\.2\.25\]: 554 5\.7\.1 "
                    r"<victim-%s@foreign\.example>" % tag)


def test_postfix_ipv4_only_refuses_ipv6_client(postfix_xclient, postern):
    """A Postfix with inet_protocols = ipv4 answers XCLIENT ADDR=IPV6:...
    with 501: the IPv6 client gets 421 4.3.0, and the error says what to
    change on the Postfix side (not XCLIENT rights, which it has)."""
    pf, snk = postfix_xclient
    p = postern(pf.port, proxy_protocol="yes")
    tag = uniq()
    e, m, r = foreign_relay(p, tag, src="2001:db8::25")
    assert e.code == 421 and "4.3.0" in e.text, e
    assert m is None and r is None
    p.wait_log(r"\[error\]: .*refused XCLIENT: 501.*IPV6:.*the backend takes "
               r"no IPv6 client address: set inet_protocols = all")


def test_postfix_xforward_logs_the_real_client(postfix_no_xclient, postern):
    """XFORWARD: Postfix logs the real client as orig_client of the
    message (for what comes after it: logs, content filters); its own
    decisions and Received header still name postern (see README)."""
    pf, snk = postfix_no_xclient
    p = postern(pf.port, proxy_protocol="yes", client_identity="xforward")
    tag = uniq()
    e, m, r = foreign_relay(p, tag)
    assert r.code == 250, r
    (msg,) = find(snk, tag.encode())
    rec = first_received(msg.content)
    qid = re.search(r"\bid ([0-9A-F]{6,})", rec).group(1)
    pf.wait_maillog(r"%s: client=\S*\[127\.0\.0\.1\], "
                    r"orig_client=\S*\[192\.0\.2\.25\]" % qid)


@pytest.mark.parametrize("mode", ["proxy_v1", "proxy_v2"])
def test_postfix_upstream_proxy(postfix_haproxy, postern, mode):
    """smtpd_upstream_proxy_protocol = haproxy: the foreign client is
    refused relaying by Postfix itself, and a client in mynetworks (by
    the PROXY header, 127.0.0.9) is relayed and named in Received."""
    pf, snk = postfix_haproxy
    p = postern(pf.port, proxy_protocol="yes", client_identity=mode)
    tag = uniq()
    e, m, r = foreign_relay(p, tag)
    assert r.code == 554 and "Relay access denied" in r.text, r
    pf.wait_maillog(r"connect from \S*\[192\.0\.2\.25\]")
    pf.wait_maillog(r"reject: RCPT from \S*\[192\.0\.2\.25\]: 554 5\.7\.1 "
                    r"<victim-%s@foreign\.example>" % tag)
    tag = uniq()
    e, m, r = foreign_relay(p, tag, src="127.0.0.9")
    assert r.code == 250, r
    (msg,) = find(snk, tag.encode())
    assert "[127.0.0.9]" in first_received(msg.content), msg.content[:600]
