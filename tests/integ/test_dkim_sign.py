# SPDX-License-Identifier: ISC
"""The dkim_sign filter through the running proxy.  Keys are made by
scripts/postern-keygen (RSA-2048 and Ed25519) and their records served by
unbound on loopback; the tables are OpenDKIM KeyTable/SigningTable files.
What the backend receives is verified by both independent verifiers:
dkimpy, and libopendkim in a second postern (dkim_verify) between the
signer and the backend, which must say dkim=pass for every signature.

Also: dual signatures, OpenDKIM's plain-table lookup order, '%' keys,
signature_ttl (x=), i=, oversigned From, signing after an iplist accept,
inbound clients left unsigned, a forged Authentication-Results removed
before signing (our own A-R stays outside the signature), big and
dot-stuffed bodies, the key file checks at start and at reload, and
'postern test' showing the signature."""
import os
import re
import signal
import subprocess
import tempfile
import time

import pytest

from dkimmsg import (AUTHSERV, KeyRecords, delivered, dkim_results,
                     header_values, key_dns, mark, send_message)

dkim = pytest.importorskip("dkim")

DOMAIN = "sign.example"
SUB = "mail.sign.example"
OTHER = "unsigned.example"
KEYGEN = os.path.join(os.path.dirname(__file__), "..", "..", "scripts",
                      "postern-keygen")


# ------------------------------------------------------------- keys, DNS

class SignKeys(KeyRecords):
    """Keys made by postern-keygen in d, their records, and table
    files."""

    def __init__(self, d):
        self.dir = d
        self.records = {}
        self.files = {}
        for sel, kind in (("rsa", "rsa"), ("ed", "ed25519")):
            r = subprocess.run(["sh", KEYGEN, "-d", DOMAIN, "-s", sel, "-k",
                                kind, "-D", d], capture_output=True,
                               text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            with open(os.path.join(d, sel + ".txt")) as f:
                txt = f.read()
            m = re.match(r'(\S+)\. IN TXT \(((?: "[^"]*")+) \)', txt)
            assert m, txt
            self.records[m.group(1)] = "".join(
                re.findall(r'"([^"]*)"', m.group(2)))
            self.files[sel] = os.path.join(d, "%s.private" % sel)
            assert os.path.exists(self.files[sel]), os.listdir(d)

    def table(self, name, text, mode=0o644):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def key_table(self, name="KeyTable"):
        return self.table(name,
                          "# OpenDKIM KeyTable\n"
                          "rsa  %s:rsa:%s\n"
                          "ed   %s:ed:%s\n"
                          "pct  %%:rsa:%s\n" % (
                              DOMAIN, self.files["rsa"], DOMAIN,
                              self.files["ed"], self.files["rsa"]))


@pytest.fixture(scope="module")
def skeys(workroot):
    return SignKeys(tempfile.mkdtemp(prefix="dkim-sign-", dir=workroot))


@pytest.fixture(scope="module")
def sign_dns(workroot, skeys):
    yield from key_dns(workroot, skeys, "rsa._domainkey.%s." % DOMAIN,
                       "dkim-sign-dns-")


# ------------------------------------------------------------- the path

def message(marker, frm="Alice <alice@%s>" % DOMAIN, body=None,
            extra=b""):
    body = body if body is not None else b"Hello.\r\nSecond line.\r\n"
    return (b"From: " + frm.encode() + b"\r\n"
            b"To: <rcpt@example.com>\r\n"
            b"Subject: sign " + marker.encode() + b"\r\n"
            b"Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
            b"Message-ID: <" + marker.encode() + b"@example.org>\r\n" +
            extra + b"\r\n" + body)


@pytest.fixture
def path(fakemta, postern, sign_dns, skeys):
    """path(rules, refile=True, verify=True, **signer_opts) ->
    (signer, fakemta): client -> signer -> verifier (libopendkim, dns on
    our unbound) -> fakemta; without verify, signer -> fakemta."""
    def make(rules, refile=True, verify=True, chain="dkim_sign", **more):
        f = fakemta()
        nxt = f.port
        if verify:
            v = postern(f.port, **{"filters.chain": "dkim_verify",
                                   "dns.nameserver": sign_dns.addr,
                                   "dns.timeout": "2s"})
            nxt = v.port
        st = skeys.table("SigningTable-%d" % time.monotonic_ns(), rules)
        o = {"filters.chain": chain,
             "dkim.key_table": skeys.key_table(),
             "dkim.signing_table": ("refile:" if refile else "") + st,
             "log.level": "debug"}
        o.update(more)
        return postern(nxt, **o), f
    return make


def relay(pair, msg, marker, sender="alice@%s" % DOMAIN):
    p, f = pair
    r = send_message(p.port, msg, sender)
    assert r.code == 250, (r, p.log()[-3000:])
    return delivered(f, marker).content


def dkimpy_results(skeys, content):
    """[(d, s, a, ok)] of every DKIM-Signature, checked by dkimpy."""
    d = dkim.DKIM(content)
    out = []
    for i, v in enumerate(header_values(content, "DKIM-Signature")):
        tags = dict(t.strip().split("=", 1) for t in v.split(";")
                    if "=" in t)
        try:
            good = d.verify(idx=i, dnsfunc=skeys.dnsfunc)
        except dkim.ValidationError:
            good = False
        out.append((tags["d"], tags["s"], tags["a"], good))
    return out


def sig_tags(content, idx=0):
    v = header_values(content, "DKIM-Signature")[idx]
    return {k.strip(): re.sub(r"\s+", "", val) for k, val in
            (t.split("=", 1) for t in v.split(";") if "=" in t)}


# ------------------------------------------------------------- signatures

@pytest.mark.parametrize("key,alg", [("rsa", "rsa-sha256"),
                                     ("ed", "ed25519-sha256")])
def test_signature_verifies_with_dkimpy_and_libopendkim(path, skeys, key,
                                                         alg):
    m = mark()
    content = relay(path("*@%s %s\n" % (DOMAIN, key)), message(m), m)
    assert dkimpy_results(skeys, content) == [(DOMAIN, key, alg, True)]
    assert [r[0] for r in dkim_results(content)] == ["pass"]
    (res,) = dkim_results(content)
    assert res[2] == {"header.d": DOMAIN, "header.s": key,
                      "header.a": alg}, res
    tags = sig_tags(content)
    assert tags["c"] == "relaxed/relaxed"
    hs = tags["h"].lower().split(":")
    assert hs.count("from") == 2, "From oversigned: %s" % tags["h"]
    assert "message-id" not in hs, "OpenDKIM's default list: %s" % hs


def test_dual_signature_both_verify(path, skeys):
    m = mark()
    p = path("*@%s rsa\n*@%s ed\n" % (DOMAIN, DOMAIN),
             **{"dkim.multiple_signatures": "yes"})
    content = relay(p, message(m), m)
    assert sorted(dkimpy_results(skeys, content)) == [
        (DOMAIN, "ed", "ed25519-sha256", True),
        (DOMAIN, "rsa", "rsa-sha256", True)]
    assert sorted(r[0] for r in dkim_results(content)) == ["pass", "pass"]
    assert re.search(r"dkim_sign=signed %s/rsa,%s/ed" % (DOMAIN, DOMAIN),
                     p[0].log()), p[0].log()[-2000:]


def test_first_match_only_without_multiple_signatures(path, skeys):
    m = mark()
    content = relay(path("*@%s ed\n*@%s rsa\n" % (DOMAIN, DOMAIN)),
                    message(m), m)
    assert dkimpy_results(skeys, content) == [
        (DOMAIN, "ed", "ed25519-sha256", True)]


def test_plain_table_lookup_order(path, skeys):
    """OpenDKIM's order for a plain table: user@host before host before
    .parent before *, whatever the file order."""
    rules = "* ed\n.%s ed\n%s rsa\nbob@%s ed\n" % (DOMAIN, SUB, SUB)
    p = path(rules, refile=False)
    m1, m2, m3 = mark(), mark(), mark()
    c1 = relay(p, message(m1, frm="bob@" + SUB), m1)
    c2 = relay(p, message(m2, frm="eve@" + SUB), m2)
    c3 = relay(p, message(m3, frm="eve@" + OTHER), m3)
    assert [r[1] for r in dkimpy_results(skeys, c1)] == ["ed"]
    assert [r[1] for r in dkimpy_results(skeys, c2)] == ["rsa"]
    assert [r[1] for r in dkimpy_results(skeys, c3)] == ["ed"], \
        "'*' matches any domain (d= stays the key's)"
    assert all(r[3] for c in (c1, c2, c3) for r in dkimpy_results(skeys, c))


def test_percent_key_signs_for_the_from_domain(path, skeys):
    """KeyTable domain '%': d= is the From domain (here a subdomain whose
    key record is the parent's, so only d= is checked)."""
    m = mark()
    content = relay(path("*@%s pct:postmaster@%%\n" % SUB, verify=False),
                    message(m, frm="x@" + SUB), m)
    tags = sig_tags(content)
    assert tags["d"] == SUB and tags["s"] == "rsa", tags
    assert tags["i"] == "postmaster@" + SUB, tags


def test_unknown_sender_domain_is_relayed_unsigned(path):
    m = mark()
    p = path("*@%s rsa\n" % DOMAIN, verify=False)
    content = relay(p, message(m, frm="x@" + OTHER), m)
    assert header_values(content, "DKIM-Signature") == []
    assert "dkim_sign=none(%s not in the signing table)" % OTHER in \
        p[0].log()


def test_missing_from_is_relayed_unsigned(path):
    m = mark()
    p = path("* rsa\n", verify=False)
    msg = re.sub(rb"^From: [^\r]*\r\n", b"", message(m))
    content = relay(p, msg, m)
    assert header_values(content, "DKIM-Signature") == []
    assert "dkim_sign=none(no From address)" in p[0].log()


def test_signature_ttl_and_signer(path, skeys):
    m = mark()
    p = path("*@%s rsa:alice@%s\n" % (DOMAIN, DOMAIN),
             **{"dkim.signature_ttl": "1h"})
    content = relay(p, message(m), m)
    tags = sig_tags(content)
    assert int(tags["x"]) - int(tags["t"]) == 3600, tags
    assert tags["i"] == "alice@" + DOMAIN
    assert dkimpy_results(skeys, content)[0][3]
    assert [r[0] for r in dkim_results(content)] == ["pass"]


def test_simple_canonicalization(path, skeys):
    m = mark()
    p = path("*@%s rsa\n" % DOMAIN,
             **{"dkim.canonicalization": "simple/simple"})
    content = relay(p, message(m), m)
    assert sig_tags(content)["c"] == "simple/simple"
    assert dkimpy_results(skeys, content)[0][3]


def test_big_dot_stuffed_body_spooled_to_disk(path, skeys):
    """2 MiB with dot-leading lines, over spool_memory_max: the signer sees
    the body as relayed."""
    m = mark()
    line = b".leading dot and some text to fill the line up nicely 0123\r\n"
    body = line * (2 * 1024 * 1024 // len(line))
    p = path("*@%s rsa\n" % DOMAIN, **{"proxy.spool_memory_max": "64k"})
    content = relay(p, message(m, body=body), m)
    assert dkimpy_results(skeys, content) == [
        (DOMAIN, "rsa", "rsa-sha256", True)]
    assert [r[0] for r in dkim_results(content)] == ["pass"]


# Bodies postern's own signer must get right (canonicalization edge
# cases), each sent through one signer -> libopendkim verifier path.
EDGE_BODIES = [
    ("empty", b""),
    ("one line", b"One line.\r\n"),
    ("trailing blank lines", b"Text.\r\n\r\n\r\n \r\n\t\r\n\r\n"),
    ("whitespace runs", b"  runs \t of\t\t space   \r\nend \t \r\n"),
    ("bare 8-bit", b"caf\xe9 \xff\x80\xfe\r\n\xc3\xa9t\xc3\xa9\r\n"),
    ("2 MiB", (b"0123456789 abcdef  \t ghij.klmnopqrstuvwxyz"
               b" ABCDEFGHIJKLMNOPQRSTUVWXYZ  \r\n") * 28000),
]


@pytest.mark.parametrize("canon", ["simple/simple", "relaxed/relaxed",
                                   "relaxed/simple"])
@pytest.mark.parametrize("keys", ["rsa", "ed", "dual"])
def test_edge_bodies_verify_with_dkimpy_and_libopendkim(path, skeys, keys,
                                                        canon):
    """postern's own signer (issue 19): RSA, Ed25519 and both, every
    canonicalization, over empty, one-line, trailing-blank-line,
    whitespace-run, bare 8-bit and 2 MiB bodies: every signature verifies
    with dkimpy and with libopendkim (the verifying postern's dkim=)."""
    rules = {"rsa": "*@%s rsa\n", "ed": "*@%s ed\n",
             "dual": "*@%s rsa\n*@%s ed\n"}[keys].replace("%s", DOMAIN)
    want = {"rsa": [("rsa", "rsa-sha256")],
            "ed": [("ed", "ed25519-sha256")],
            "dual": [("ed", "ed25519-sha256"), ("rsa", "rsa-sha256")]}[keys]
    p = path(rules, **{"dkim.multiple_signatures": "yes",
                       "dkim.canonicalization": canon,
                       "proxy.spool_memory_max": "256k"})
    for what, body in EDGE_BODIES:
        m = mark()
        content = relay(p, message(m, body=body), m)
        assert sig_tags(content)["c"] == canon, what
        assert "l" not in sig_tags(content), what
        assert sorted(dkimpy_results(skeys, content)) == [
            (DOMAIN, s, a, True) for s, a in want], what
        assert [r[0] for r in dkim_results(content)] == \
            ["pass"] * len(want), (what, dkim_results(content))


def test_rfc8463_keys_sign_the_rfc8463_message(postern, fakemta, skeys):
    """The RFC 8463 example message signed with its own keys (Ed25519 and
    RSA): the body hash is the RFC's, and both signatures verify with
    dkimpy against the RFC's published records."""
    data = os.path.join(os.path.dirname(__file__), "..", "data", "rfc8463")
    keys = {}
    for sel, name in (("brisbane", "rfc8463-ed25519.key"),
                      ("test", "rfc8463-rsa.key")):
        with open(os.path.join(data, name)) as f:
            keys[sel] = skeys.table("rfc8463-" + name, f.read(), 0o600)
    records = {}
    with open(os.path.join(data, "rfc8463-keys.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                n, r = line.rstrip("\n").split(None, 1)
                records[n.lower() + "."] = r.encode()
    kt = skeys.table("KeyTable-rfc8463", "".join(
        "%s football.example.com:%s:%s\n" % (sel, sel, path)
        for sel, path in sorted(keys.items())))
    st = skeys.table("SigningTable-rfc8463",
                     "*@football.example.com brisbane\n"
                     "*@football.example.com test\n")
    with open(os.path.join(data, "rfc8463-signed.eml"), "rb") as f:
        signed = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    msg = signed[signed.index(b"From: "):]
    f = fakemta()
    p = postern(f.port, **{"filters.chain": "dkim_sign",
                           "dkim.key_table": kt,
                           "dkim.signing_table": "refile:" + st,
                           "dkim.multiple_signatures": "yes"})
    r = send_message(p.port, msg, "joe@football.example.com")
    assert r.code == 250, r
    content = delivered(f, "20030712040037.46341.5F8J").content
    d = dkim.DKIM(content)
    sigs = header_values(content, "DKIM-Signature")
    assert len(sigs) == 2, sigs
    for i in range(2):
        assert sig_tags(content, i)["bh"] == \
            "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=", sigs[i]
        assert d.verify(idx=i, dnsfunc=lambda n, timeout=5:
                        records.get(n.decode().lower())), sigs[i]


# ------------------------------------------------------------- who is signed

def test_inbound_client_is_not_signed(path):
    m = mark()
    p = path("*@%s rsa\n" % DOMAIN, verify=False,
             **{"dkim.internal_hosts": "192.0.2.0/24"})
    content = relay(p, message(m), m)
    assert header_values(content, "DKIM-Signature") == []
    assert "dkim_sign=skip(inbound)" in p[0].log()


def test_internal_hosts_from_a_file(path, skeys):
    hosts = skeys.table("TrustedHosts", "# OpenDKIM InternalHosts\n"
                        "192.0.2.0/24\n127.0.0.1\n")
    m = mark()
    content = relay(path("*@%s rsa\n" % DOMAIN, verify=False,
                         **{"dkim.internal_hosts": "refile:" + hosts}),
                    message(m), m)
    assert len(header_values(content, "DKIM-Signature")) == 1


def test_outbound_any_signs_every_client(path):
    m = mark()
    content = relay(path("*@%s rsa\n" % DOMAIN, verify=False,
                         **{"dkim.internal_hosts": "192.0.2.1",
                            "dkim.outbound": "any"}), message(m), m)
    assert len(header_values(content, "DKIM-Signature")) == 1


def test_allow_listed_client_is_still_signed(path, skeys):
    """iplist.allow accepts the connection (every later check skipped),
    but signing is not a check: dkim_sign runs after the accept."""
    m = mark()
    p = path("*@%s rsa\n" % DOMAIN, chain="iplist dkim_sign",
             **{"iplist.allow": "127.0.0.1"})
    content = relay(p, message(m), m)
    assert dkimpy_results(skeys, content)[0][3]


def test_forged_authres_removed_and_none_on_signed_mail(path, skeys):
    """A client's Authentication-Results claiming our authserv-id is
    removed before it is signed (even when sign_headers names the field,
    the signer never sees it); signed mail is outbound, so our own A-R
    (from dkim_verify in the same chain) is not added to it.  A message the
    signing table does not name is not outbound: it keeps our A-R."""
    m = mark()
    forged = ("Authentication-Results: %s; dkim=pass header.d=bank.example"
              "\r\n" % AUTHSERV).encode()
    p = path("*@%s rsa\n" % DOMAIN, verify=False,
             chain="dkim_verify dkim_sign",
             **{"dns.nameserver": "127.0.0.1@9",
                "dkim.sign_headers": "From To Subject Authentication-Results"})
    content = relay(p, message(m, extra=forged), m)
    assert header_values(content, "Authentication-Results") == [], content
    assert "authentication-results" not in sig_tags(content)["h"].lower()
    assert dkimpy_results(skeys, content) == [
        (DOMAIN, "rsa", "rsa-sha256", True)]
    m = mark()
    content = relay(p, message(m, frm="<bob@unsigned.example>",
                               extra=forged), m)
    ars = header_values(content, "Authentication-Results")
    assert len(ars) == 1 and "bank.example" not in ars[0], ars
    assert "dkim=none" in ars[0] and b"DKIM-Signature" not in content


# ------------------------------------------------------------- key checks

def check(postern_bin, skeys, key_table, signing_table):
    return subprocess.run(
        [postern_bin, "check", "-o", "filters.chain=dkim_sign",
         "-o", "dkim.key_table=" + key_table,
         "-o", "dkim.signing_table=" + signing_table],
        capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("case,why", [
    ("missing", "No such file or directory"),
    ("loose", r"group/world-accessible \(mode 0644\): chmod 600 it"),
    ("notkey", r"not a private key"),
])
def test_bad_key_file_refused_at_start(postern_bin, skeys, case, why):
    bad = os.path.join(skeys.dir, "bad-%s.key" % case)
    if case == "loose":
        with open(skeys.files["rsa"], "rb") as f, open(bad, "wb") as g:
            g.write(f.read())
        os.chmod(bad, 0o644)
    elif case == "notkey":
        with open(bad, "w") as g:
            g.write("v=DKIM1; k=rsa; p=this is a record, not a key\n")
        os.chmod(bad, 0o600)
    kt = skeys.table("KeyTable-" + case, "k %s:sel:%s\n" % (DOMAIN, bad))
    st = skeys.table("SigningTable-" + case, "%s k\n" % DOMAIN)
    r = check(postern_bin, skeys, kt, st)
    assert r.returncode != 0, r.stdout
    assert re.search(re.escape(bad) + ": " + why, r.stderr), r.stderr


def test_tables_must_be_set(postern_bin, skeys):
    r = check(postern_bin, skeys, "", "")
    assert r.returncode != 0
    assert "dkim.key_table and dkim.signing_table must be set" in r.stderr


def test_unknown_key_name_refused(postern_bin, skeys):
    st = skeys.table("SigningTable-unknown", "*@%s nosuch\n" % DOMAIN)
    r = check(postern_bin, skeys, skeys.key_table(), "refile:" + st)
    assert r.returncode != 0
    assert "%s:1: key name 'nosuch' is not in the key table" % st in \
        r.stderr, r.stderr


def test_reload_with_a_bad_key_keeps_signing(path, skeys):
    """SIGHUP with a key that went world-readable: the reload is refused
    with 'file: what is wrong' and the old keys keep signing."""
    kt = skeys.table("KeyTable-reload", "rsa %s:rsa:%s\n" % (
        DOMAIN, skeys.files["rsa"]))
    p = path("*@%s rsa\n" % DOMAIN, verify=False,
             **{"dkim.key_table": kt})
    copy = os.path.join(skeys.dir, "reload-copy.key")
    with open(skeys.files["rsa"], "rb") as f, open(copy, "wb") as g:
        g.write(f.read())
    os.chmod(copy, 0o666)
    skeys.table("KeyTable-reload", "rsa %s:rsa:%s\n" % (DOMAIN, copy))
    start = len(p[0].log())
    os.kill(p[0].pid, signal.SIGHUP)
    p[0].wait_log(re.escape(copy) + r": group/world-accessible \(mode "
                  r"0666\)", start=start)
    m = mark()
    content = relay(p, message(m), m)
    assert dkimpy_results(skeys, content) == [
        (DOMAIN, "rsa", "rsa-sha256", True)]


# ------------------------------------------------------------- postern test

def test_postern_test_shows_the_signature(postern_bin, skeys, workdir):
    msgpath = os.path.join(workdir, "out.eml")
    with open(msgpath, "wb") as f:
        f.write(message(mark()).replace(b"\r\n", b"\n"))
    st = skeys.table("SigningTable-dry", "*@%s ed\n" % DOMAIN)
    r = subprocess.run([postern_bin, "test", "-o", "filters.chain=dkim_sign",
                        "-o", "dkim.key_table=" + skeys.key_table(),
                        "-o", "dkim.signing_table=refile:" + st, msgpath],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert re.search(r"^filter results\s+dkim_sign=signed %s/ed$" %
                     re.escape(DOMAIN), r.stdout, re.M), r.stdout
    assert re.search(r"^added header\s+DKIM-Signature: v=1; "
                     r"a=ed25519-sha256; c=relaxed/relaxed; d=%s;" %
                     re.escape(DOMAIN), r.stdout, re.M), r.stdout
