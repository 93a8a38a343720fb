# SPDX-License-Identifier: ISC
"""STARTTLS from postern to the backend (tls.backend): a private Postfix
with certificates made here by openssl (a private CA; a good leaf, an
expired one, one for another name) as the backend.  required: mail goes
through TLS (Postfix's own Received field says ESMTPS and the cipher), and
any failure (no STARTTLS, expired certificate, wrong name) is 421 4.7.0 to
the client with the reason logged and nothing relayed.  opportunistic: no
STARTTLS or a broken handshake is a warning, and the mail goes in
plaintext.  off: plaintext, and a backend that insists on TLS gets the
client 451 4.7.0, never its 530.  postern check reports a missing CA
file."""
import re
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import _postfix
from peers import SmtpClient, make_message, wait_for
from test_postfix import find, first_received
from test_tls import Certs

NAME = "mx.test"


@pytest.fixture(scope="module")
def certs(workroot):
    c = Certs(tempfile.mkdtemp(prefix="btls-", dir=workroot))
    c.mx = c.leaf(NAME)
    c.other = c.leaf("other.test")
    c.expired = c.leaf("expired." + NAME, NAME, days=0)
    c.ca = c.dir + "/ca.pem"
    time.sleep(1.1)     # -days 0: valid until now, so expired from here
    return c


def tls_postfix(workroot, cert, level="may"):
    return _postfix(workroot, {
        "smtpd_tls_cert_file": cert[0], "smtpd_tls_key_file": cert[1],
        "smtpd_tls_security_level": level,
        "smtpd_tls_received_header": "yes"})


@pytest.fixture(scope="module")
def pf_tls(workroot, certs):
    yield from tls_postfix(workroot, certs.mx)


@pytest.fixture(scope="module")
def pf_encrypt(workroot, certs):
    yield from tls_postfix(workroot, certs.mx, "encrypt")


@pytest.fixture(scope="module")
def pf_expired(workroot, certs):
    yield from tls_postfix(workroot, certs.expired)


@pytest.fixture(scope="module")
def pf_other(workroot, certs):
    yield from tls_postfix(workroot, certs.other)


def required(certs, **more):
    o = {"tls.backend": "required", "tls.backend_ca_file": certs.ca,
         "tls.backend_name": NAME, "log.level": "debug"}
    o.update(more)
    return o


def deliver(p, tag, source=None):
    """One message through postern; the final reply."""
    content = make_message("btls " + tag, ["via postern " + tag])
    with SmtpClient(p.port, source=source) as c:
        assert c.greeting.code == 220, c.greeting
        assert c.ehlo("helo-%s.client.test" % tag).code == 250
        r = c.send_message("s-%s@example.org" % tag, ["b@example.com"],
                           content)
        c.cmd("QUIT")
    return r


def refused(p):
    """A client's whole session: 421 4.7.0 instead of the greeting, then
    the connection closed."""
    with SmtpClient(p.port) as c:
        assert c.greeting.code == 421, c.greeting
        assert "4.7.0 TLS to the backend failed" in c.greeting.text, \
            c.greeting
        c.wait_closed(timeout=10)


def uniq():
    return uuid.uuid4().hex[:12]


def test_required_delivers_over_tls(pf_tls, postern, certs):
    pf, snk = pf_tls
    p = postern(pf.port, **required(certs))
    tag = uniq()
    assert deliver(p, tag, source="127.0.0.5").code == 250
    (m,) = find(snk, tag.encode())
    rec = first_received(m.content)
    assert "with ESMTPS" in rec, rec
    assert re.search(r"\(using TLSv1\.[23] with cipher \S+", rec), rec
    # XCLIENT went through TLS too: Postfix names the real client
    assert "helo-%s.client.test" % tag in rec and "[127.0.0.5]" in rec, rec
    p.wait_log(r"TLS to backend 127\.0\.0\.1:\d+: TLSv1\.[23] \S+ \d+/\d+, "
               r"verified")


def test_required_large_message(pf_tls, postern, certs):
    """8 MB through TLS, by BDAT, arrives whole (the encrypted copy is
    streamed, not built in memory)."""
    pf, snk = pf_tls
    p = postern(pf.port, **required(certs))
    tag = uniq()
    lines = ["%08d %s %s" % (i, tag, "x" * 60) for i in range(100000)]
    content = make_message("big " + tag, lines)
    with SmtpClient(p.port) as c:
        c.ehlo()
        r = c.send_message("big@example.org", ["b@example.com"], content)
        assert r.code == 250, r
    (m,) = find(snk, ("%08d %s" % (99999, tag)).encode(), timeout=60)
    assert m.content.endswith(content.partition(b"\r\n\r\n")[2]), \
        len(m.content)


def test_off_is_plaintext(pf_tls, postern):
    pf, snk = pf_tls
    p = postern(pf.port)
    tag = uniq()
    assert deliver(p, tag).code == 250
    (m,) = find(snk, tag.encode())
    rec = first_received(m.content)
    assert "with ESMTP id" in rec and "using TLS" not in rec, rec


def test_backend_530_is_451_to_the_client(pf_encrypt, postern):
    pf, snk = pf_encrypt
    p = postern(pf.port)
    with p.client() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<x@example.org>")
        assert r.code == 451 and "4.7.0" in r.text, r
        assert c.cmd("QUIT").code == 221
    p.wait_log(r"backend requires TLS: 530 ")


def test_required_with_encrypt_backend(pf_encrypt, postern, certs):
    pf, snk = pf_encrypt
    p = postern(pf.port, **required(certs))
    tag = uniq()
    assert deliver(p, tag).code == 250
    (m,) = find(snk, tag.encode())
    assert "with ESMTPS" in first_received(m.content)


@pytest.mark.parametrize("backend,reason", [
    ("pf_expired", r"certificate verify failed: certificate has expired"),
    ("pf_other", r"certificate verify failed: hostname mismatch"),
], ids=["expired", "wrong-name"])
def test_required_bad_certificate(request, backend, reason, postern, certs):
    pf, snk = request.getfixturevalue(backend)
    p = postern(pf.port, **required(certs))
    before = snk.count()
    refused(p)
    p.wait_log(r"TLS to backend 127\.0\.0\.1:\d+ failed: " + reason)
    time.sleep(0.5)
    assert snk.count() == before


def test_required_untrusted_ca(pf_tls, postern, certs, workdir):
    pf, snk = pf_tls
    other = Certs(workdir)      # a CA that did not sign the backend's
    p = postern(pf.port, **required(certs, **{
        "tls.backend_ca_file": other.dir + "/ca.pem"}))
    refused(p)
    p.wait_log(r"failed: certificate verify failed: unable to get local "
               r"issuer certificate")


def test_required_without_starttls(proxy, certs):
    """The backend offers no STARTTLS and refuses it: 421, and the backend
    heard EHLO and STARTTLS, nothing else (not even QUIT)."""
    p, f = proxy(**required(certs))
    refused(p)
    p.wait_log(r"TLS to backend 127\.0\.0\.1:\d+ failed: STARTTLS refused: ")
    wait_for(lambda: len(f.commands()) >= 2, 10, what="EHLO, STARTTLS")
    time.sleep(0.3)
    assert [c.split(" ")[0] for _, c in f.commands()] == ["EHLO",
                                                           "STARTTLS"]


def test_required_postfix_tls_off(postfix_backend, postern, certs):
    pf, snk = postfix_backend
    p = postern(pf.port, **required(certs))
    refused(p)
    p.wait_log(r"failed: STARTTLS refused: 502 ")


def test_opportunistic_without_starttls(proxy):
    p, f = proxy(**{"tls.backend": "opportunistic"})
    tag = uniq()
    assert deliver(p, tag).code == 250
    f.wait_count(1)
    p.wait_log(r"TLS to backend 127\.0\.0\.1:\d+ failed: no STARTTLS offered; "
               r"going on in plaintext")
    cmds = [c.split(" ")[0] for _, c in f.commands()]
    assert "STARTTLS" not in cmds and cmds[:2] == ["EHLO", "EHLO"], cmds


def test_opportunistic_broken_handshake_reconnects(proxy):
    """STARTTLS offered and accepted, then no TLS (the fake answers the
    ClientHello with a reply line): a new connection, in plaintext."""
    p, f = proxy(mta_cfg={
        "ehlo": ["PIPELINING", "STARTTLS", "8BITMIME"],
        "rules": [{"verb": "STARTTLS", "reply": "220 2.0.0 go ahead"}]},
        **{"tls.backend": "opportunistic", "tls.handshake_timeout": "3s"})
    tag = uniq()
    assert deliver(p, tag).code == 250
    f.wait_count(1)
    p.wait_log(r"TLS to backend 127\.0\.0\.1:\d+ failed: .*; going on in "
               r"plaintext")
    assert f.sessions() == 2, f.transcript()[:300]


def test_opportunistic_unverified_is_tls(pf_other, postern):
    """No CA given and a certificate for another name: opportunistic
    still encrypts, and logs that it did not verify."""
    pf, snk = pf_other
    p = postern(pf.port, **{"tls.backend": "opportunistic",
                            "log.level": "debug"})
    tag = uniq()
    assert deliver(p, tag).code == 250
    (m,) = find(snk, tag.encode())
    assert "with ESMTPS" in first_received(m.content)
    p.wait_log(r"TLS to backend 127\.0\.0\.1:\d+: TLSv1\.[23] .*, not "
               r"verified: ")


def test_check_missing_ca_file(postern_bin, workdir):
    r = subprocess.run([postern_bin, "check", "-o", "tls.backend=required",
                        "-o", "tls.backend_ca_file=%s/nope.pem" % workdir],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r
    assert "%s/nope.pem: No such file or directory" % workdir in r.stderr, \
        r.stderr
