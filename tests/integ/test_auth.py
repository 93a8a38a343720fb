# SPDX-License-Identifier: ISC
"""SMTP AUTH relayed to the backend (fakemta checking PLAIN and LOGIN
credentials): offered only over TLS by default (538 in clear), the
backend's mechanisms offered, PLAIN with and without an initial response,
LOGIN, a failure, the session closed after auth.max_failures, the 235
marking the session authenticated (dkim_sign signs for it, spf skips it,
the Received field says ESMTPSA), and no credential in the log even with
-T smtp tracing."""
import base64
import os
import re
import tempfile

import pytest

import peers
from peers import SmtpClient
from test_tls import Certs

USER, PASSWORD = "alice@example.org", "s3cret-Pa55"
MTA = {"ehlo": ["AUTH PLAIN LOGIN", "8BITMIME"], "auth": {USER: PASSWORD}}


def b64(s):
    return base64.b64encode(s.encode()).decode()


PLAIN = b64("\0%s\0%s" % (USER, PASSWORD))


@pytest.fixture(scope="module")
def mx_cert(workroot):
    c = Certs(tempfile.mkdtemp(prefix="auth-tls-", dir=workroot))
    return c.leaf("mx.test")


@pytest.fixture
def auth_proxy(proxy, mx_cert):
    def make(mta=None, args=(), **more):
        o = {"tls.cert": mx_cert[0], "tls.key": mx_cert[1],
             "log.level": "debug"}
        o.update(more)
        return proxy(mta_cfg=dict(MTA, **(mta or {})), args=args, **o)
    return make


def tls_session(p):
    c = SmtpClient(p.port)
    assert c.ehlo().code == 250
    assert c.cmd("STARTTLS").code == 220
    c.starttls()
    return c


def test_auth_offered_only_over_tls(auth_proxy):
    p, f = auth_proxy()
    with SmtpClient(p.port) as c:
        assert "AUTH" not in c.ehlo().text
        r = c.cmd("AUTH PLAIN " + PLAIN)
        assert (r.code, r.enhanced) == (538, "5.7.11"), r
    with tls_session(p) as c:
        r = c.ehlo()
        assert "AUTH PLAIN LOGIN" in r.text.split("\n"), r
    assert not [l for _, l in f.commands() if l.upper().startswith("AUTH")], \
        "the refused AUTH reached the backend"


def test_plain_with_initial_response(auth_proxy):
    p, f = auth_proxy()
    with tls_session(p) as c:
        assert c.ehlo().code == 250
        r = c.cmd("AUTH PLAIN " + PLAIN)
        assert (r.code, r.enhanced) == (235, "2.7.0"), r
        r = c.cmd("AUTH PLAIN " + PLAIN)
        assert r.code == 503, "a second AUTH: %s" % r
        assert "AUTH" not in c.ehlo().text, "not offered once done"
        assert c.send_message(USER, ["b@example.com"],
                              b"Subject: a\r\n\r\nx\r\n").code == 250
    (m,) = f.wait_count(1)
    assert m.meta["auth"] == USER
    assert b"with ESMTPSA" in m.content
    assert re.search(r"authenticated as %s \(PLAIN\)" % re.escape(USER),
                     p.log())


def test_plain_challenge_and_login(auth_proxy):
    p, f = auth_proxy()
    with tls_session(p) as c:
        assert c.ehlo().code == 250
        assert c.cmd("AUTH PLAIN").code == 334
        assert c.cmd(PLAIN).code == 235
    with tls_session(p) as c:
        assert c.ehlo().code == 250
        r = c.cmd("AUTH LOGIN")
        assert r.code == 334 and r.text.endswith("VXNlcm5hbWU6"), r
        assert c.cmd(b64(USER)).code == 334
        assert c.cmd(b64(PASSWORD)).code == 235
    assert len(re.findall(r"authenticated as %s" % re.escape(USER),
                          p.log())) == 2


def test_failures_close_the_session(auth_proxy):
    p, f = auth_proxy(**{"auth.max_failures": "2"})
    bad = b64("\0%s\0wrong" % USER)
    with tls_session(p) as c:
        assert c.ehlo().code == 250
        assert c.cmd("AUTH PLAIN " + bad).code == 535
        r = c.cmd("AUTH PLAIN " + bad)
        assert r.code == 535, r
        r = c.reply()
        assert (r.code, r.enhanced) == (421, "4.7.0"), r
        c.wait_closed()
    with tls_session(p) as c:
        assert c.ehlo().code == 250
        assert c.cmd("AUTH CRAM-MD5").code == 504, "not the backend's"
        assert c.cmd("AUTH").code == 501
        assert c.cmd("AUTH PLAIN").code == 334
        assert c.cmd("*").code == 501, "cancelled"
        assert c.cmd("AUTH PLAIN " + PLAIN).code == 235


def test_plaintext_auth_when_allowed(auth_proxy):
    p, _ = auth_proxy(**{"auth.require_tls": "no"})
    with SmtpClient(p.port) as c:
        assert "AUTH PLAIN LOGIN" in c.ehlo().text
        assert c.cmd("AUTH PLAIN " + PLAIN).code == 235


def test_backend_without_auth(proxy, mx_cert):
    p, _ = proxy(**{"tls.cert": mx_cert[0], "tls.key": mx_cert[1]})
    with tls_session(p) as c:
        assert "AUTH" not in c.ehlo().text
        assert c.cmd("AUTH PLAIN " + PLAIN).code == 502


def test_no_credentials_in_the_log(auth_proxy):
    """Even the SMTP trace (-T smtp), which logs every line both ways,
    shows AUTH lines up to the mechanism and responses as ***."""
    p, f = auth_proxy(args=("-T", "smtp"), **{"auth.require_tls": "no"})
    with SmtpClient(p.port) as c:
        c.ehlo()
        assert c.cmd("AUTH LOGIN " + b64(USER)).code == 334
        assert c.cmd(b64(PASSWORD)).code == 235
        assert c.cmd("QUIT").code == 221
    with SmtpClient(p.port) as c:
        c.ehlo()
        assert c.cmd("AUTH PLAIN " + PLAIN).code == 235
        assert c.cmd("QUIT").code == 221
    log = p.log()
    assert re.search(r"<< AUTH LOGIN\n", log) and "> ***" in log, log
    for secret in (PASSWORD, b64(PASSWORD), PLAIN):
        assert secret not in log


@pytest.mark.parametrize("bad", ["\r", "\0"], ids=["bare-cr", "nul"])
@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_bad_continuation_line_is_refused(auth_proxy, mech, bad):
    """A response line with a bare CR or a NUL gets what such a command
    gets (501 5.5.2 here: RFC 4954 answers a bad response with 501), and is
    never relayed: the backend's exchange is cancelled with "*", so the
    two stay in step and a good AUTH works next."""
    p, f = auth_proxy(**{"auth.require_tls": "no"})
    with SmtpClient(p.port) as c:
        c.ehlo()
        if mech == "PLAIN":
            assert c.cmd("AUTH PLAIN").code == 334
        else:
            assert c.cmd("AUTH LOGIN " + b64(USER)).code == 334
        c.send(("QUJD" + bad + "WFla\r\n").encode())
        r = c.reply()
        assert (r.code, r.enhanced) == (501, "5.5.2"), r
        assert c.cmd("AUTH PLAIN " + PLAIN).code == 235
        assert c.cmd("QUIT").code == 221
    raw = f.transcript()
    assert b"QUJD" not in raw and b"WFla" not in raw, raw


def test_authenticated_mail_is_signed_and_skips_spf(auth_proxy, workdir):
    """dkim_sign signs for an authenticated client that is not on
    internal_hosts; spf is skipped for it."""
    kdir = os.path.join(workdir, "keys")
    os.mkdir(kdir, 0o700)
    import subprocess
    keygen = os.path.join(os.path.dirname(__file__), "..", "..", "scripts",
                          "postern-keygen")
    subprocess.run(["sh", keygen, "-d", "example.org", "-s", "sel", "-k",
                    "ed25519", "-D", kdir],
                   check=True, capture_output=True, timeout=60)
    kt = os.path.join(workdir, "KeyTable")
    st = os.path.join(workdir, "SigningTable")
    with open(kt, "w") as fp:
        fp.write("k example.org:sel:%s/sel.private\n" % kdir)
    with open(st, "w") as fp:
        fp.write("*@example.org k\n")
    p, f = auth_proxy(**{"filters.chain": "spf dkim_sign",
                         "dkim.key_table": kt,
                         "dkim.signing_table": "refile:" + st,
                         "dkim.internal_hosts": "192.0.2.1",
                         "dns.nameserver": "127.0.0.1@9"})
    msg = b"From: <alice@example.org>\r\nSubject: signed\r\n\r\nhi\r\n"
    with tls_session(p) as c:
        assert c.ehlo().code == 250
        assert c.send_message(USER, ["b@example.com"], msg).code == 250
        assert c.cmd("AUTH PLAIN " + PLAIN).code == 235
        assert c.send_message(USER, ["b@example.com"], msg).code == 250
    first, second = f.wait_count(2)
    assert b"DKIM-Signature" not in first.content, "not yet authenticated"
    assert b"DKIM-Signature: v=1; a=ed25519-sha256" in second.content
    assert "spf=skip(authenticated)" in p.log()
