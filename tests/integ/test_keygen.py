# SPDX-License-Identifier: ISC
"""scripts/keygen.sh: the key it writes (mode 0600, PEM) and the record it
prints agree: dkimpy signs with the key and verifies with the printed
record, for RSA and Ed25519; a tampered message does not verify; bad
arguments and an existing key are refused with a message and leave no
file behind."""
import base64
import os
import re
import stat
import subprocess

import pytest

dkim = pytest.importorskip("dkim")

KEYGEN = os.path.join(os.path.dirname(__file__), "..", "..", "scripts",
                      "keygen.sh")
MSG = (b"From: a@keys.example\r\nTo: b@example.net\r\nSubject: key test\r\n"
       b"Message-ID: <k1@keys.example>\r\n\r\nHello.\r\n")


def keygen(*args, cwd=None):
    return subprocess.run(["sh", KEYGEN] + list(args), capture_output=True,
                          text=True, timeout=60, cwd=cwd)


def record(out):
    """(owner name, joined tag text, the strings) of the printed record."""
    m = re.fullmatch(r'(\S+)\. IN TXT \(((?: "[^"]*")+) \)\n', out)
    assert m, out
    strings = re.findall(r'"([^"]*)"', m.group(2))
    return m.group(1), "".join(strings), strings


def dnsfunc_for(name, tags):
    def dnsfunc(qname, timeout=5):
        return tags.encode() if qname.decode().rstrip(".") == name else None
    return dnsfunc


def raw_seed(pem_path):
    der = subprocess.run(["openssl", "pkey", "-in", pem_path, "-outform",
                          "DER"], capture_output=True, check=True,
                         timeout=30).stdout
    return base64.b64encode(der[-32:])


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_key_and_record_verify_with_dkimpy(workdir, kind):
    r = keygen("keys.example", "s2026", kind, workdir)
    assert r.returncode == 0, r.stderr
    path = os.path.join(workdir, "s2026.keys.example.key")
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert not [f for f in os.listdir(workdir) if f.startswith(".keygen")]
    name, tags, strings = record(r.stdout)
    assert name == "s2026._domainkey.keys.example"
    assert all(len(s) <= 255 for s in strings), [len(s) for s in strings]
    assert re.fullmatch(r"v=DKIM1; k=%s; p=[A-Za-z0-9+/=]+" % kind, tags), tags
    if kind == "rsa":
        assert len(strings) >= 2        # 2048 bits do not fit in one
        secret = open(path, "rb").read()
        alg = b"rsa-sha256"
    else:
        assert len(base64.b64decode(tags.split("p=")[1])) == 32
        secret = raw_seed(path)
        alg = b"ed25519-sha256"
    sig = dkim.sign(MSG, b"s2026", b"keys.example", secret,
                    signature_algorithm=alg,
                    include_headers=[b"from", b"to", b"subject"])
    dnsfunc = dnsfunc_for(name, tags)
    assert dkim.verify(sig + MSG, dnsfunc=dnsfunc)
    assert not dkim.verify(sig + MSG.replace(b"Hello.", b"Hell0."),
                           dnsfunc=dnsfunc)


def test_two_keys_differ(workdir):
    a = keygen("keys.example", "a", "ed25519", workdir)
    b = keygen("keys.example", "b", "ed25519", workdir)
    assert a.returncode == b.returncode == 0
    assert record(a.stdout)[1] != record(b.stdout)[1]


@pytest.mark.parametrize("args,why", [
    (["keys.example"], "usage"),
    (["not a domain", "s1"], "is not a domain name"),
    (["keys.example", "bad/selector"], "is not a selector"),
    (["keys.example", "s1", "dsa"], "use rsa or ed25519"),
    (["keys.example", "s1", "rsa", "/nonexistent-dir"], "not a directory"),
])
def test_bad_arguments(workdir, args, why):
    if len(args) == 3:
        args = args + [workdir]
    r = keygen(*args, cwd=workdir)
    assert r.returncode == 1 and why in r.stderr, (r.returncode, r.stderr)
    assert r.stdout == ""
    assert os.listdir(workdir) == [], os.listdir(workdir)


def test_existing_key_is_not_overwritten(workdir):
    path = os.path.join(workdir, "s1.keys.example.key")
    with open(path, "w") as f:
        f.write("keep me\n")
    r = keygen("keys.example", "s1", "rsa", workdir)
    assert r.returncode == 1 and "exists" in r.stderr, r.stderr
    assert open(path).read() == "keep me\n"
