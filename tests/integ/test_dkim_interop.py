# SPDX-License-Identifier: ISC
"""Interop: messages signed by a real OpenDKIM verify in postern.

Each test starts the opendkim milter (/usr/sbin/opendkim, Debian's 2.11)
in the foreground on a loopback port with a configuration written here,
drives it with miltertest and a Lua script written here, takes the
DKIM-Signature fields it inserts, puts them on top of the same message and
sends that through postern (dkim_verify, keys served by unbound on
loopback) to the fake backend.  dkimpy checks each signed message on the
side, so a pass in postern is compared with an independent verifier, and a
changed body must fail.

Cases: RSA (KeyFile), Ed25519 (KeyFile with SignatureAlgorithm
ed25519-sha256), a dual signature from one opendkim (KeyTable,
SigningTable, MultipleSignatures), and RSA + Ed25519 from two opendkims
in turn.  opendkim 2.11 has one SignatureAlgorithm for all its keys: a
KeyTable holding an RSA and an Ed25519 key signs both as rsa-sha256, the
Ed25519 one fails and the milter rejects the message (seen), so the mixed
dual signature needs two instances.  Every process started here is stopped
by PID through a registry (conftest.Registry); every wait is bounded."""
import base64
import os
import re
import shutil
import signal
import subprocess

import pytest

import conftest
import peers
from dkimmsg import (KeyRecords, delivered, dkim_results, key_dns, mark,
                     send_message)

dkim = pytest.importorskip("dkim")

OPENDKIM = "/usr/sbin/opendkim"
MILTERTEST = shutil.which("miltertest") or "/usr/bin/miltertest"
TESTDATA = os.path.join(os.path.dirname(__file__), "..", "data", "rfc8463")
DOMAIN = "interop.dkim.example"

pytestmark = pytest.mark.skipif(
    not (os.access(OPENDKIM, os.X_OK) and os.access(MILTERTEST, os.X_OK)),
    reason="needs the opendkim and miltertest packages")


# ------------------------------------------------------------- keys, zone

def _openssl(*args, **kw):
    return subprocess.run(["openssl"] + list(args), check=True,
                          capture_output=True, timeout=60, **kw).stdout


class Keys(KeyRecords):
    """Private keys as opendkim wants them (PEM files, mode 600) and the
    records to publish, per selector."""

    def __init__(self, d):
        self.dir = d
        self.path = {}
        self.records = {}
        for sel in ("rsa1", "rsa2"):
            path = os.path.join(d, sel + ".pem")
            _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt",
                     "rsa_keygen_bits:2048", "-out", path)
            der = _openssl("pkey", "-in", path, "-pubout", "-outform", "DER")
            self._add(sel, path, "k=rsa; p=" + base64.b64encode(der).decode())
        path = os.path.join(d, "ed.pem")
        shutil.copyfile(os.path.join(TESTDATA, "rfc8463-ed25519.key"), path)
        der = _openssl("pkey", "-in", path, "-pubout", "-outform", "DER")
        # RFC 8463: the raw 32-byte key, not the SPKI structure
        self._add("ed", path, "k=ed25519; p=" +
                  base64.b64encode(der[-32:]).decode())

    def _add(self, sel, path, rec):
        os.chmod(path, 0o600)       # opendkim refuses keys others can read
        self.path[sel] = path
        self.records["%s._domainkey.%s" % (sel, DOMAIN)] = "v=DKIM1; " + rec


@pytest.fixture(scope="module")
def keys(workroot):
    import tempfile
    return Keys(tempfile.mkdtemp(prefix="dkim-interop-keys-", dir=workroot))


@pytest.fixture(scope="module")
def interop_dns(workroot, keys):
    yield from key_dns(workroot, keys, "rsa1._domainkey.%s." % DOMAIN,
                       "dkim-interop-dns-")


# ------------------------------------------------------------- opendkim

class OpenDkim:
    """opendkim -f on inet:PORT@127.0.0.1 with the given settings."""

    def __init__(self, workdir, settings, name="opendkim"):
        self.port = peers.free_port()
        self.dir = peers.mkdir_for(os.path.join(workdir, "%s-%d" % (
            name, self.port)))
        self.conf = os.path.join(self.dir, "opendkim.conf")
        # No UserID: it stays root, as the test runs.  RequireSafeKeys:
        # the work directories are under /tmp, which others can write,
        # and opendkim checks every directory above a key file.
        lines = ["Mode s", "Canonicalization relaxed/relaxed",
                 "Background no", "Syslog no", "RequireSafeKeys no"]
        lines += ["%s %s" % kv for kv in settings]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = peers.Proc([OPENDKIM, "-f", "-x", self.conf, "-p",
                                "inet:%d@%s" % (self.port, peers.LOOP_HOST)],
                               os.path.join(self.dir, "opendkim"))
        self.pid = self.proc.pid
        peers.wait_for(lambda: not self.proc.alive() or
                       peers.listening(self.port), 10, what="opendkim up")
        assert self.proc.alive(), "opendkim exited: %s" % self.proc.stderr()

    def stop(self):
        return self.proc.stop(timeout=15)


@pytest.fixture(scope="module")
def odk_dir(workroot):
    import tempfile
    d = tempfile.mkdtemp(prefix="dkim-interop-", dir=workroot)
    os.chmod(d, 0o755)
    return d


@pytest.fixture(scope="module")
def signers(odk_dir, keys):
    """The opendkims, started once for the module.  libmilter notices a
    stop request only every 5 s, so all are signalled at once at the end
    and then each is waited for by its PID."""
    kt = os.path.join(odk_dir, "keytable")
    st = os.path.join(odk_dir, "signingtable")
    with open(kt, "w") as f:
        for sel in ("rsa1", "rsa2"):
            f.write("%s %s:%s:%s\n" % (sel, DOMAIN, sel, keys.path[sel]))
    with open(st, "w") as f:
        f.write("*@%s rsa1\n*@%s rsa2\n" % (DOMAIN, DOMAIN))
    configs = {
        "rsa": [("Domain", DOMAIN), ("Selector", "rsa1"),
                ("KeyFile", keys.path["rsa1"])],
        "ed": [("Domain", DOMAIN), ("Selector", "ed"),
               ("KeyFile", keys.path["ed"]),
               ("SignatureAlgorithm", "ed25519-sha256")],
        # one opendkim, two keys
        "dual": [("KeyTable", "file:" + kt),
                 ("SigningTable", "refile:" + st),
                 ("MultipleSignatures", "yes")],
    }
    reg = conftest.Registry()
    try:
        yield {name: reg.add(OpenDkim(odk_dir, c, name="opendkim-" + name))
               for name, c in configs.items()}
    finally:
        for od in reg.items:
            if od.proc.alive():
                os.kill(od.pid, signal.SIGTERM)
        reg.stop_all()


def _lua_str(b):
    """bytes as a Lua string literal (decimal escapes for anything odd)."""
    return '"' + "".join(chr(c) if 0x20 <= c < 0x7f and c not in b'"\\'
                         else "\\%d" % c for c in b) + '"'


LUA = r"""
local function main()
  local conn = mt.connect("inet:%(port)d@127.0.0.1", 20, 0.1)
  if conn == nil then error("mt.connect() failed") end
  local function step(opt, fn, ...)       -- steps opendkim negotiated away
    if opt and mt.test_option(conn, opt) then return end
    local err = fn(conn, ...); if err ~= nil then error(err) end
  end
  step(nil, mt.conninfo, "localhost", "127.0.0.1")
  step(SMFIP_NOHELO, mt.helo, "localhost")
  step(nil, mt.mailfrom, "<alice@%(domain)s>")
  step(SMFIP_NORCPT, mt.rcptto, "<rcpt@example.com>")
  local headers = { %(headers)s }
  for i = 1, #headers, 2 do
    step(SMFIP_NOHDRS, mt.header, headers[i], headers[i + 1])
  end
  step(SMFIP_NOEOH, mt.eoh)
  step(SMFIP_NOBODY, mt.bodystring, %(body)s)
  step(nil, mt.eom)
  local r = mt.getreply(conn)
  if r ~= SMFIR_ACCEPT and r ~= SMFIR_CONTINUE then
    error("opendkim replied " .. tostring(r))
  end
  if not mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then
    error("no DKIM-Signature inserted")
  end
  for i = 0, 7 do
    local h = mt.getheader(conn, "DKIM-Signature", i)
    if h == nil then break end
    mt.echo("SIG " .. (string.gsub(h, "[\r\n]", { ["\r"] = "\\r",
        ["\n"] = "\\n" })))
  end
  mt.disconnect(conn)
end
local ok, err = xpcall(main, debug.traceback)
if not ok then mt.echo("TEST FAILED: " .. tostring(err)); error(err) end
mt.echo("ALL OK")
"""


def split_message(msg):
    """[(name, raw value)] and the body of a CRLF message."""
    head, body = msg.split(b"\r\n\r\n", 1)
    fields = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
        else:
            name, value = line.split(b":", 1)
            fields.append((name, value))
    return fields, body


def opendkim_sign(od, workdir, msg):
    """msg with the DKIM-Signature fields od inserts put on top."""
    fields, body = split_message(msg)
    script = os.path.join(workdir, "sign-%d.lua" % od.port)
    with open(script, "w") as f:
        f.write(LUA % {
            "port": od.port, "domain": DOMAIN, "body": _lua_str(body),
            "headers": ", ".join("%s, %s" % (_lua_str(n), _lua_str(v))
                                 for n, v in fields)})
    r = subprocess.run([MILTERTEST, "-s", script], capture_output=True,
                       timeout=60, cwd=workdir)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0 and out.rstrip().endswith("ALL OK"), (
        out, r.stderr, od.proc.stderr())
    sigs = [line[4:] for line in out.splitlines() if line.startswith("SIG ")]
    assert sigs, out
    top = b""
    for s in sigs:
        # milter folds with LF: back to CRLF, as on the wire
        v = s.replace("\\r", "").replace("\\n", "\r\n").encode()
        top += b"DKIM-Signature:" + v + b"\r\n"
    return top + msg


# ------------------------------------------------------------- helpers

def message(marker):
    return (b"From: Alice <alice@" + DOMAIN.encode() + b">\r\n"
            b"To: <rcpt@example.com>\r\n"
            b"Subject: interop " + marker.encode() + b"\r\n"
            b"Date: Thu, 03 Dec 2026 12:00:00 +0000\r\n"
            b"Message-ID: <" + marker.encode() + b"@interop.example>\r\n"
            b"\r\n"
            b"Signed by OpenDKIM.  \r\n"
            b"\tIndented, with  two spaces.\r\n\r\n")


@pytest.fixture
def verifier(proxy, interop_dns):
    return proxy(**{"filters.chain": "dkim_verify",
                    "dns.nameserver": interop_dns.addr,
                    "dns.timeout": "2s", "log.level": "debug"})


def results(verifier, msg, marker):
    p, f = verifier
    r = send_message(p.port, msg, "alice@%s" % DOMAIN)
    assert r.code == 250, (r, p.log()[-3000:])
    return sorted((res, cmt, props.get("header.s"), props.get("header.a"),
                   props.get("header.d"))
                  for res, cmt, props in dkim_results(
                      delivered(f, marker).content))


def dkimpy_all(keys, msg):
    """dkimpy's verdict on every signature of msg."""
    d = dkim.DKIM(msg)
    n = len([1 for line in msg.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
             if line.lower().startswith(b"dkim-signature:")])
    out = []
    for i in range(n):
        try:
            out.append(d.verify(idx=i, dnsfunc=keys.dnsfunc))
        except dkim.ValidationError:
            out.append(False)
    return out


def check(verifier, keys, signed, marker, want):
    """want: [(selector, algorithm)], each expected to pass; the same
    message with one body byte changed must fail every one."""
    assert dkimpy_all(keys, signed) == [True] * len(want)
    assert results(verifier, signed, marker) == sorted(
        ("pass", None, s, a, DOMAIN) for s, a in want)
    # the body changed (not the signed Subject): a body hash failure
    tampered = signed.replace(b"OpenDKIM.", b"OpenDKIM!")
    p, f = verifier
    r = send_message(p.port, tampered, "alice@%s" % DOMAIN)
    assert r.code == 250, r
    got = [m for m in f.messages()
           if m.content and b"OpenDKIM!" in m.content]
    assert len(got) == 1, len(got)
    assert sorted((res, cmt, props.get("header.s"))
                  for res, cmt, props in dkim_results(got[0].content)) == \
        sorted(("fail", "body hash did not verify", s) for s, _ in want)


# ------------------------------------------------------------- tests

def test_opendkim_rsa(signers, workdir, verifier, keys):
    m = mark()
    signed = opendkim_sign(signers["rsa"], workdir, message(m))
    assert re.match(rb"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed",
                    signed), signed[:200]
    check(verifier, keys, signed, m, [("rsa1", "rsa-sha256")])


def test_opendkim_ed25519(signers, workdir, verifier, keys):
    m = mark()
    signed = opendkim_sign(signers["ed"], workdir, message(m))
    assert re.match(rb"DKIM-Signature: v=1; a=ed25519-sha256;", signed), \
        signed[:200]
    check(verifier, keys, signed, m, [("ed", "ed25519-sha256")])


def test_opendkim_dual_signature(signers, workdir, verifier, keys):
    """KeyTable + SigningTable with MultipleSignatures: two signatures."""
    m = mark()
    signed = opendkim_sign(signers["dual"], workdir, message(m))
    check(verifier, keys, signed, m, [("rsa1", "rsa-sha256"),
                                      ("rsa2", "rsa-sha256")])


def test_opendkim_rsa_then_ed25519(signers, workdir, verifier, keys):
    """RSA and Ed25519 on one message: two opendkims, the second signing
    what the first signed (one instance cannot: see the module doc)."""
    m = mark()
    signed = opendkim_sign(signers["ed"], workdir, opendkim_sign(
        signers["rsa"], workdir, message(m)))
    check(verifier, keys, signed, m, [("ed", "ed25519-sha256"),
                                      ("rsa1", "rsa-sha256")])
