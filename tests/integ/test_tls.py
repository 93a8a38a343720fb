# SPDX-License-Identifier: ISC
"""TLS on the client side: STARTTLS (RFC 3207) and implicit TLS (RFC 8314)
with certificates made here by openssl (a private CA, SAN names), driven
by Python's ssl, swaks --tls/--tlsc and openssl s_client; the Received
trace with the TLS version and cipher; the injection case (commands sent
after STARTTLS, before the handshake, are never run); stalled and broken
handshakes dropped within tls.handshake_timeout; SNI; protocol limits;
certificate errors at start; a renewed certificate taken at reload while
an older session goes on."""
import os
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

import peers
from peers import SmtpClient


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   capture_output=True, timeout=60)


class Certs:
    """A CA and leaf certificates signed by it, in d."""

    def __init__(self, d):
        self.dir = d
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                "ca.key", "-out", "ca.pem", "-days", "30", "-subj",
                "/CN=postern test CA", cwd=d)

    def leaf(self, name, *sans, days=30):
        """(cert path, key path) for CN name with DNS SANs."""
        d = self.dir
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=" + ",".join(
                "DNS:" + n for n in (name,) + sans) + "\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name,
                cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
                "-CAkey", "ca.key", "-CAcreateserial", "-days", str(days),
                "-extfile", ext, "-out", name + ".pem", cwd=d)
        os.chmod(os.path.join(d, name + ".key"), 0o600)
        return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")

    def context(self, hostname_check=True):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(os.path.join(self.dir, "ca.pem"))
        ctx.check_hostname = hostname_check
        return ctx


@pytest.fixture(scope="module")
def certs(workroot):
    c = Certs(tempfile.mkdtemp(prefix="tls-", dir=workroot))
    c.mx = c.leaf("mx.test", "localhost")
    c.other = c.leaf("other.test")
    return c


@pytest.fixture
def tls_proxy(proxy, certs):
    """tls_proxy(**opts) -> (postern, fakemta) with mx.test's certificate,
    STARTTLS on p.port and implicit TLS on p.tls_port."""
    def make(**more):
        tls_port = peers.free_port()
        o = {"tls.cert": certs.mx[0], "tls.key": certs.mx[1],
             "proxy.listen_tls": "127.0.0.1:%d" % tls_port,
             "tls.handshake_timeout": "2s", "log.level": "debug"}
        o.update(more)
        tls_port = int(o["proxy.listen_tls"].rsplit(":", 1)[1])
        p, f = proxy(**o)
        p.tls_port = tls_port
        peers.wait_for(lambda: peers.listening(tls_port), 10,
                       what="the TLS listener")
        return p, f
    return make


def message(marker):
    return ("From: a@example.org\r\nTo: b@example.com\r\nSubject: %s\r\n"
            "\r\nover TLS\r\n" % marker).encode()


def starttls(c, ctx=None, name="mx.test"):
    r = c.cmd("STARTTLS")
    assert (r.code, r.enhanced) == (220, "2.0.0"), r
    return c.starttls(ctx, server_hostname=name)


# ------------------------------------------------------------- STARTTLS

def test_starttls_delivers_with_tls_in_the_trace(tls_proxy, certs):
    p, f = tls_proxy()
    with SmtpClient(p.port) as c:
        r = c.ehlo()
        assert "STARTTLS" in r.text, r
        version = starttls(c, certs.context()).version()
        assert version in ("TLSv1.2", "TLSv1.3")
        r = c.ehlo()
        assert r.code == 250 and "STARTTLS" not in r.text, \
            "STARTTLS is not offered again: %s" % r
        r = c.send_message("a@example.org", ["b@example.com"],
                           message("tls1"))
        assert r.code == 250, r
        assert c.cmd("QUIT").code == 221
    (m,) = f.wait_count(1)
    head = m.content.split(b"\r\n\r\n", 1)[0].decode()
    rx = (r"^Received: from client\.example\.org \(\[127\.0\.0\.1\]\)\r\n"
          r"\tby postern\.test \(postern\) with ESMTPS\r\n"
          r"\t\(%s \S+ \d+/\d+\) id [0-9a-f]{16};\r\n\t" % version)
    assert re.match(rx, head), head
    assert "TLS established from 127.0.0.1: %s" % version in p.log()


def test_smtplib_starttls(tls_proxy, certs):
    import smtplib
    p, f = tls_proxy()
    with smtplib.SMTP("127.0.0.1", p.port, timeout=15) as s:
        s.ehlo("client.example.org")
        s.starttls(context=certs.context(hostname_check=False))
        s.ehlo("client.example.org")
        s.sendmail("a@example.org", ["b@example.com"], message("tls2"))
    (m,) = f.wait_count(1)
    assert b"with ESMTPS" in m.content


def test_swaks_tls_and_tlsc(tls_proxy):
    p, f = tls_proxy()
    for flag, port in (("--tls", p.port), ("--tlsc", p.tls_port)):
        r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % port,
                            flag, "--from", "a@example.org", "--to",
                            "b@example.com", "--helo", "swaks.example"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "TLS started with cipher" in r.stdout, r.stdout
        assert "<~  250 2.0.0" in r.stdout and "<~  221" in r.stdout, \
            r.stdout
    f.wait_count(2)


def test_openssl_s_client_starttls_and_sni(tls_proxy, certs):
    p, _ = tls_proxy(**{"tls.sni": "%s:%s" % certs.other})

    def subject(name):
        r = subprocess.run(
            ["openssl", "s_client", "-starttls", "smtp", "-connect",
             "127.0.0.1:%d" % p.port, "-servername", name, "-CAfile",
             os.path.join(certs.dir, "ca.pem"), "-verify_return_error",
             "-crlf", "-ign_eof"],
            input="QUIT\n", capture_output=True, text=True, timeout=30)
        assert "Verify return code: 0 (ok)" in r.stdout, r.stdout[-2000:]
        assert "\n221 " in r.stdout, r.stdout[-2000:]
        return re.search(r"subject=/?CN ?= ?(\S+)", r.stdout).group(1)
    assert subject("other.test") == "other.test"
    assert subject("mx.test") == "mx.test"
    assert subject("unknown.test") == "mx.test", "the default otherwise"


def test_implicit_tls_greets_after_the_handshake(tls_proxy, certs):
    p, f = tls_proxy()
    with SmtpClient(p.tls_port, read_greeting=False) as c:
        c.starttls(certs.context(), server_hostname="mx.test")
        assert c.reply().code == 220
        r = c.ehlo()
        assert "STARTTLS" not in r.text
        assert c.send_message("a@example.org", ["b@example.com"],
                              message("tls3")).code == 250
    (m,) = f.wait_count(1)
    assert b"with ESMTPS" in m.content


# ------------------------------------------------------------- safety

def test_commands_after_starttls_are_never_run(tls_proxy):
    """CVE-2011-0411: MAIL pipelined behind STARTTLS in clear must not be
    executed inside TLS: after the handshake there is no transaction."""
    p, f = tls_proxy()
    with SmtpClient(p.port) as c:
        assert c.ehlo().code == 250
        c.send("STARTTLS\r\nMAIL FROM:<evil@example.net>\r\n")
        assert c.reply().code == 220
        c.starttls()
        assert c.ehlo().code == 250
        r = c.cmd("RCPT TO:<b@example.com>")
        assert r.code == 503, "a MAIL from before TLS was run: %s" % r
    assert re.search(r"\d+ bytes sent after STARTTLS discarded", p.log())
    assert "evil@example.net" not in "".join(
        m.meta.get("mail") or "" for m in f.messages())


def test_starttls_sequence_errors(tls_proxy, proxy):
    p, _ = tls_proxy()
    with SmtpClient(p.port) as c:
        assert c.cmd("STARTTLS").code == 503, "before EHLO"
        assert c.ehlo().code == 250
        assert c.cmd("STARTTLS now").code == 501
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        assert c.cmd("STARTTLS").code == 503, "inside a transaction"
        assert c.cmd("RSET").code == 250
        starttls(c)
        assert c.ehlo().code == 250
        r = c.cmd("STARTTLS")
        assert (r.code, r.enhanced) == (554, "5.5.1"), r
    plain, _ = proxy()
    with SmtpClient(plain.port) as c:
        assert "STARTTLS" not in c.ehlo().text
        assert c.cmd("STARTTLS").code == 502, "no certificate, no TLS"


@pytest.mark.parametrize("how", ["starttls", "implicit"])
def test_stalled_handshake_is_dropped(tls_proxy, how):
    p, _ = tls_proxy()
    t0 = time.monotonic()
    if how == "starttls":
        c = SmtpClient(p.port)
        assert c.ehlo().code == 250
        assert c.cmd("STARTTLS").code == 220
    else:
        c = SmtpClient(p.tls_port, read_greeting=False)
    with c:
        c.send(b"\x16\x03\x01")     # the start of a ClientHello, no more
        c.wait_closed(timeout=10)
    took = time.monotonic() - t0
    assert 1.5 <= took <= 5, "dropped after %.1fs (timeout 2s)" % took
    p.wait_log(r"TLS handshake from 127\.0\.0\.1 failed: timeout")


def test_garbage_instead_of_a_handshake_is_dropped(tls_proxy):
    p, f = tls_proxy()
    with SmtpClient(p.tls_port, read_greeting=False) as c:
        c.send(b"EHLO plain.example\r\nMAIL FROM:<x@example.org>\r\n")
        c.wait_closed(timeout=10)
    p.wait_log(r"TLS handshake from 127\.0\.0\.1 failed: ")
    assert f.messages() == []


def test_protocol_floor(tls_proxy, certs):
    p, _ = tls_proxy(**{"tls.protocols": "TLSv1.3"})
    ctx = certs.context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with SmtpClient(p.tls_port, read_greeting=False) as c:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            c.starttls(ctx, server_hostname="mx.test")
    ctx = certs.context()
    with SmtpClient(p.tls_port, read_greeting=False) as c:
        assert c.starttls(ctx, server_hostname="mx.test").version() == \
            "TLSv1.3"


# TLS 1.2 by default: forward-secret AEAD only (ECDHE with AES-GCM or
# ChaCha20-Poly1305, Mozilla's "intermediate" profile without DHE); no
# static RSA key exchange, no CBC/SHA1, no CCM8.
TLS12_REFUSED = ["AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA",
                 "ECDHE-RSA-AES256-SHA384", "DHE-RSA-AES128-GCM-SHA256",
                 "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES128-CCM8"]
TLS12_TAKEN = {"rsa": ["ECDHE-RSA-AES128-GCM-SHA256",
                       "ECDHE-RSA-AES256-GCM-SHA384",
                       "ECDHE-RSA-CHACHA20-POLY1305"],
               "ec": ["ECDHE-ECDSA-AES128-GCM-SHA256",
                      "ECDHE-ECDSA-AES256-GCM-SHA384",
                      "ECDHE-ECDSA-CHACHA20-POLY1305"]}


def tls12_cipher(port, cipher):
    """The cipher an openssl s_client TLS 1.2 handshake offering only
    cipher got (implicit TLS), or None when it failed."""
    r = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
         "-tls1_2", "-cipher", cipher + ":@SECLEVEL=0", "-brief"],
        input="", capture_output=True, text=True, timeout=30)
    m = re.search(r"^Ciphersuite: (\S+)", r.stderr + r.stdout, re.M)
    return m.group(1) if m else None


@pytest.mark.parametrize("key", ["rsa", "ec"])
def test_tls12_default_ciphers_are_forward_secret_aead(tls_proxy, certs,
                                                        workdir, key):
    opts = {}
    if key == "ec":
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ec.key",
                "-out", "ec.pem", "-days", "30", "-subj", "/CN=mx.test",
                cwd=workdir)
        opts = {"tls.cert": os.path.join(workdir, "ec.pem"),
                "tls.key": os.path.join(workdir, "ec.key")}
    p, _ = tls_proxy(**opts)
    for c in TLS12_TAKEN[key]:
        assert tls12_cipher(p.tls_port, c) == c, c
    for c in TLS12_REFUSED:
        assert tls12_cipher(p.tls_port, c) is None, c


# ------------------------------------------------------------- certificates

def check(postern_bin, **opts):
    argv = [postern_bin, "check"]
    for k, v in opts.items():
        argv += ["-o", "%s=%s" % (k, v)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def test_certificate_errors_at_start(postern_bin, certs):
    missing = os.path.join(certs.dir, "missing.pem")
    r = check(postern_bin, **{"tls.cert": missing})
    assert r.returncode != 0 and "%s: no certificate" % missing in r.stderr
    r = check(postern_bin, **{"tls.cert": certs.mx[0],
                              "tls.key": certs.other[1]})
    assert r.returncode != 0
    assert "%s: the key does not match the certificate %s" % (
        certs.other[1], certs.mx[0]) in r.stderr, r.stderr
    r = check(postern_bin, **{"tls.cert": certs.mx[0],
                              "tls.key": certs.mx[1],
                              "tls.protocols": "SSLv3"})
    assert r.returncode != 0 and "tls.protocols: 'SSLv3'" in r.stderr
    r = check(postern_bin, **{"proxy.listen_tls": "127.0.0.1:1465"})
    assert r.returncode != 0
    assert "proxy.listen_tls needs a certificate" in r.stderr
    r = check(postern_bin, **{"tls.cert": certs.mx[0],
                              "tls.key": certs.mx[1]})
    assert r.returncode == 0, r.stderr


def test_renewed_certificate_taken_at_reload(tls_proxy, certs, workdir):
    """The files are replaced and SIGHUP sent: new sessions get the new
    certificate, a session started before goes on with its own."""
    import shutil
    cert = os.path.join(workdir, "live.pem")
    key = os.path.join(workdir, "live.key")
    shutil.copy(certs.mx[0], cert)
    shutil.copy(certs.mx[1], key)
    p, f = tls_proxy(**{"tls.cert": cert, "tls.key": key})
    old = SmtpClient(p.tls_port, read_greeting=False)
    with old:
        s = old.starttls(certs.context(), server_hostname="mx.test")
        assert old.reply().code == 220
        first = s.getpeercert()["serialNumber"]
        renewed = certs.leaf("mx.test", "localhost")
        shutil.copy(renewed[0], cert)
        shutil.copy(renewed[1], key)
        start = len(p.log())
        os.kill(p.pid, signal.SIGHUP)
        p.wait_log(r"reload", start=start)
        with SmtpClient(p.tls_port, read_greeting=False) as new:
            s2 = new.starttls(certs.context(), server_hostname="mx.test")
            assert new.reply().code == 220
            assert s2.getpeercert()["serialNumber"] != first
        assert old.ehlo().code == 250
        assert old.send_message("a@example.org", ["b@example.com"],
                                message("tls4")).code == 250
    f.wait_count(1)


def test_proxy_header_then_implicit_tls(tls_proxy):
    """Behind a balancer: the PROXY header and the ClientHello arrive in
    one segment; the handshake starts from the bytes already read, and the
    header's address is the client's."""
    p, f = tls_proxy(**{"proxy.proxy_protocol": "yes"})
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname="mx.test")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    with socket.create_connection(("127.0.0.1", p.tls_port), 10) as s:
        s.sendall(b"PROXY TCP4 192.0.2.9 192.0.2.1 4444 465\r\n" +
                  out.read())
        greeting = b""
        for _ in range(100):
            data = s.recv(65536)
            assert data, "closed during the handshake"
            inc.write(data)
            try:
                if tls.version() is None:
                    tls.do_handshake()
                greeting += tls.read(4096)
            except ssl.SSLWantReadError:
                pass
            s.sendall(out.read())
            if greeting.endswith(b"\r\n"):
                break
    assert greeting.startswith(b"220 "), greeting
    p.wait_log(r"TLS established from 192\.0\.2\.9: TLSv1\.3")


def test_listener_has_its_own_certificate(tls_proxy, certs):
    """tls.listener_certs: the implicit-TLS listener presents other.test,
    the STARTTLS one the default mx.test."""
    port = peers.free_port()
    p, _ = tls_proxy(**{"proxy.listen_tls": "127.0.0.1:%d" % port,
                        "tls.listener_certs": "127.0.0.1:%d=%s:%s" % (
                            port, certs.other[0], certs.other[1])})
    with SmtpClient(port, read_greeting=False) as c:
        s = c.starttls(certs.context(), server_hostname="other.test")
        assert dict(x[0] for x in s.getpeercert()["subject"])[
            "commonName"] == "other.test"
        assert c.reply().code == 220
    with SmtpClient(p.port) as c:
        assert c.ehlo().code == 250
        s = starttls(c, certs.context())
        assert dict(x[0] for x in s.getpeercert()["subject"])[
            "commonName"] == "mx.test"


def test_listener_certs_errors(postern_bin, certs):
    r = check(postern_bin, **{"tls.cert": certs.mx[0],
                              "tls.key": certs.mx[1],
                              "tls.listener_certs": "465=%s" % certs.other[0]})
    assert r.returncode != 0
    assert "tls.listener_certs: '465': host:port=cert[:key] expected" in \
        r.stderr, r.stderr
    r = check(postern_bin, **{"tls.cert": certs.mx[0],
                              "tls.key": certs.mx[1],
                              "tls.listener_certs": "127.0.0.1:465=/nope"})
    assert r.returncode != 0 and "/nope" in r.stderr, r.stderr
