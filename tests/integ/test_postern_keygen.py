# SPDX-License-Identifier: ISC
"""scripts/postern-keygen (opendkim-genkey's way): the key it writes
(SELECTOR.private, mode 0600, PEM, owned by -u USER) and the record in
SELECTOR.txt agree: dkimpy signs with the key and verifies with the
record, for RSA (2048 bits, or -b) and Ed25519; a tampered message does
not verify; the KeyTable line on stdout names the key; bad arguments and
existing files are refused with a message and leave no file behind."""
import base64
import os
import pwd
import re
import stat
import subprocess

import pytest

dkim = pytest.importorskip("dkim")

KEYGEN = os.path.join(os.path.dirname(__file__), "..", "..", "scripts",
                      "postern-keygen")
MSG = (b"From: a@keys.example\r\nTo: b@example.net\r\nSubject: key test\r\n"
       b"Message-ID: <k1@keys.example>\r\n\r\nHello.\r\n")


def keygen(*args, cwd=None):
    return subprocess.run(["sh", KEYGEN] + list(args), capture_output=True,
                          text=True, timeout=60, cwd=cwd)


def record(text):
    """(owner name, joined tag text, the strings) of a record file."""
    m = re.fullmatch(r'(\S+)\. IN TXT \(((?: "[^"]*")+) \) ; DKIM key \S+ '
                     r'for \S+\n', text)
    assert m, text
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


def rsa_bits(pem_path):
    out = subprocess.run(["openssl", "pkey", "-in", pem_path, "-noout",
                          "-text"], capture_output=True, check=True,
                         text=True, timeout=30).stdout
    return int(re.search(r"\((\d+) bit", out).group(1))


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_key_and_record_verify_with_dkimpy(workdir, kind):
    r = keygen("-d", "keys.example", "-s", "s2026", "-k", kind, "-D",
               workdir)
    assert r.returncode == 0, r.stderr
    path = os.path.join(workdir, "s2026.private")
    assert r.stdout == "s2026\tkeys.example:s2026:%s\n" % path, r.stdout
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(workdir)) == ["s2026.private", "s2026.txt"]
    with open(os.path.join(workdir, "s2026.txt")) as f:
        name, tags, strings = record(f.read())
    assert name == "s2026._domainkey.keys.example"
    assert all(len(s) <= 255 for s in strings), [len(s) for s in strings]
    assert re.fullmatch(r"v=DKIM1; k=%s; p=[A-Za-z0-9+/=]+" % kind, tags), tags
    if kind == "rsa":
        assert len(strings) >= 2        # 2048 bits do not fit in one
        assert rsa_bits(path) == 2048
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


def test_defaults_bits_and_owner(workdir):
    """Selector "default" as opendkim-genkey; -b sets the RSA size; -u
    gives the key to the service user (root only: chown)."""
    r = keygen("-d", "keys.example", "-b", "3072", cwd=workdir)
    assert r.returncode == 0, r.stderr
    assert rsa_bits(os.path.join(workdir, "default.private")) == 3072
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    r = keygen("-d", "keys.example", "-s", "mine", "-k", "ed25519", "-u",
               "nobody", "-D", workdir)
    assert r.returncode == 0, r.stderr
    st = os.stat(os.path.join(workdir, "mine.private"))
    assert st.st_uid == pwd.getpwnam("nobody").pw_uid
    assert stat.S_IMODE(st.st_mode) == 0o600


def test_two_keys_differ(workdir):
    for sel in ("a", "b"):
        assert keygen("-d", "keys.example", "-s", sel, "-k", "ed25519",
                      "-D", workdir).returncode == 0
    a, b = (open(os.path.join(workdir, s + ".txt")).read() for s in "ab")
    assert record(a)[1] != record(b)[1]


@pytest.mark.parametrize("args,why", [
    ([], "usage"),
    (["-d", "keys.example", "extra"], "usage"),
    (["-d", "not a domain"], "is not a domain name"),
    (["-d", "keys.example", "-s", "bad/selector"], "is not a selector"),
    (["-d", "keys.example", "-k", "dsa"], "use rsa or ed25519"),
    (["-d", "keys.example", "-b", "512"], "1024 to 8192"),
    (["-d", "keys.example", "-b", "lots"], "a number of bits"),
    (["-d", "keys.example", "-u", "no-such-user-here"], "no such user"),
    (["-d", "keys.example", "-D", "/nonexistent-dir"], "not a directory"),
])
def test_bad_arguments(workdir, args, why):
    r = keygen(*args, cwd=workdir)
    assert r.returncode == 1 and why in r.stderr, (r.returncode, r.stderr)
    assert r.stdout == ""
    assert os.listdir(workdir) == [], os.listdir(workdir)


@pytest.mark.parametrize("existing", ["s1.private", "s1.txt"])
def test_existing_files_are_not_overwritten(workdir, existing):
    path = os.path.join(workdir, existing)
    with open(path, "w") as f:
        f.write("keep me\n")
    r = keygen("-d", "keys.example", "-s", "s1", "-D", workdir)
    assert r.returncode == 1 and "exists" in r.stderr, r.stderr
    assert open(path).read() == "keep me\n"
    assert os.listdir(workdir) == [existing]
