# SPDX-License-Identifier: ISC
"""The dkim_verify filter through the running proxy: messages signed by
dkimpy (the independent signer: RSA-2048 keys made here, the RFC 8463
Ed25519 key), key records served by unbound on loopback, and the
Authentication-Results header the backend receives.  Also tampered bodies
and headers, revoked and bad keys, expired and future signatures, l= that
leaves text unsigned (policy) or runs past the body (fail), unsigned mail,
dkim.require (550 5.7.20; 451 4.7.5 when the key server never answers),
the RFC 8463 example message, and 'postern test'."""
import base64
import os
import re
import subprocess
import time

import pytest

import peers
from dkimmsg import (AUTHSERV, KeyRecords, delivered, dkim_results, key_dns,
                     mark, send_timed)
from peers import SmtpClient

dkim = pytest.importorskip("dkim")

TESTDATA = os.path.join(os.path.dirname(__file__), "..", "data", "rfc8463")
DOMAIN = "good.dkim.example"
OTHER = "other.dkim.example"        # signs, never required
HEADERS = [b"from", b"to", b"subject", b"message-id"]


# ------------------------------------------------------------- keys, zone

def _rsa_key(d):
    path = os.path.join(d, "rsa.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", path], check=True,
                   capture_output=True, timeout=60)
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout",
                          "-outform", "DER"], check=True,
                         capture_output=True, timeout=60).stdout
    with open(path, "rb") as f:
        return f.read(), base64.b64encode(der).decode()


def _rfc8463_keys():
    out = {}
    with open(os.path.join(TESTDATA, "rfc8463-keys.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, rec = line.rstrip("\n").split(None, 1)
                out[name.lower()] = rec
    return out


class Keys(KeyRecords):
    def __init__(self, d):
        self.rsa_pem, rsa_pub = _rsa_key(d)
        with open(os.path.join(TESTDATA, "rfc8463-ed25519.seed.b64")) as f:
            self.ed_seed = f.read().strip().encode()
        rfc = _rfc8463_keys()
        ed_rec = rfc["brisbane._domainkey.football.example.com"]
        rsa_rec = "v=DKIM1; k=rsa; p=" + rsa_pub
        self.records = {
            "rsa._domainkey." + DOMAIN: rsa_rec,
            "ed._domainkey." + DOMAIN: ed_rec,
            "rsa._domainkey." + OTHER: rsa_rec,
            "revoked._domainkey." + DOMAIN: "v=DKIM1; k=rsa; p=",
            "bad._domainkey." + DOMAIN: "v=DKIM1; k=rsa; p=bm90IGEga2V5",
            "badb64._domainkey." + DOMAIN: "v=DKIM1; k=rsa; p=!not*base64",
            "wrongk._domainkey." + DOMAIN: "v=DKIM1; k=dsa; p=" + rsa_pub,
        }
        self.records.update(rfc)


@pytest.fixture(scope="module")
def keys(workroot):
    import tempfile
    d = tempfile.mkdtemp(prefix="dkim-keys-", dir=workroot)
    return Keys(d)


@pytest.fixture(scope="module")
def dkim_dns(workroot, keys):
    yield from key_dns(workroot, keys, "rsa._domainkey.%s." % DOMAIN,
                       "dkim-dns-")


# ------------------------------------------------------------- messages

def message(marker, sender_domain=DOMAIN, body=b"Hello.\r\nSecond line.\r\n"):
    return (b"From: Alice <alice@" + sender_domain.encode() + b">\r\n"
            b"To: <rcpt@example.com>\r\n"
            b"Subject: dkim " + marker.encode() + b"\r\n"
            b"Message-ID: <" + marker.encode() + b"@example.org>\r\n"
            b"\r\n" + body)


def sign(keys, msg, selector="rsa", domain=DOMAIN, ed=False,
         canon=b"relaxed", length=False):
    if ed:
        sig = dkim.sign(msg, selector.encode(), domain.encode(),
                        keys.ed_seed, canonicalize=(canon, canon),
                        include_headers=HEADERS, length=length,
                        signature_algorithm=b"ed25519-sha256")
    else:
        sig = dkim.sign(msg, selector.encode(), domain.encode(),
                        keys.rsa_pem, canonicalize=(canon, canon),
                        include_headers=HEADERS, length=length)
    return sig + msg


def sign_times(keys, msg, t, x=None):
    """Signed with t= (and x=) as given (dkimpy has no such options: its
    header fields are changed on the way to gen_header)."""
    orig = dkim.DKIM.gen_header

    def gen(self, fields, *a, **kw):
        fields = list(fields)
        tags = [k for k, _ in fields]
        fields[tags.index(b"t")] = (b"t", b"%d" % t)
        if x is not None:
            fields.insert(tags.index(b"h"), (b"x", b"%d" % x))
        return orig(self, fields, *a, **kw)
    dkim.DKIM.gen_header = gen
    try:
        return sign(keys, msg)
    finally:
        dkim.DKIM.gen_header = orig


def sign_expired(keys, msg):
    return sign_times(keys, msg, 1500000000, 1500000600)


def dkimpy_verifies(keys, msg):
    return dkim.verify(msg, dnsfunc=keys.dnsfunc)


# ------------------------------------------------------------- helpers

def opts(dns, **more):
    o = {"filters.chain": "dkim_verify", "dns.nameserver": dns.addr,
         "dns.timeout": "2s", "log.level": "debug"}
    o.update(more)
    return o


def send(p, msg, sender="alice@%s" % DOMAIN):
    return send_timed(p.port, msg, sender)


def through(proxy_pair, msg, marker):
    p, f = proxy_pair
    r, _ = send(p, msg)
    assert r.code == 250, (r, p.log()[-3000:])
    return dkim_results(delivered(f, marker).content)


@pytest.fixture
def plain(proxy, dkim_dns):
    return proxy(**opts(dkim_dns))


# ------------------------------------------------------------- results

def test_zone_serves_the_keys(keys, dkim_dns):
    rcode, data = dkim_dns.query("rsa._domainkey." + DOMAIN, "TXT")
    got = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', " ".join(data)))
    assert rcode == "NOERROR" and got == keys.records[
        "rsa._domainkey." + DOMAIN]


def test_rsa_signature_passes(plain, keys):
    m = mark()
    msg = sign(keys, message(m))
    assert dkimpy_verifies(keys, msg)
    (res,) = through(plain, msg, m)
    assert res[0] == "pass", res
    assert res[2] == {"header.d": DOMAIN, "header.s": "rsa",
                      "header.a": "rsa-sha256"}, res


def test_ed25519_signature_passes(plain, keys):
    m = mark()
    msg = sign(keys, message(m), selector="ed", ed=True)
    assert dkimpy_verifies(keys, msg)
    (res,) = through(plain, msg, m)
    assert res[0] == "pass", res
    assert res[2]["header.a"] == "ed25519-sha256", res


def test_dual_signature_both_reported(plain, keys):
    m = mark()
    msg = sign(keys, sign(keys, message(m)), selector="ed", ed=True)
    res = through(plain, msg, m)
    assert sorted((r[0], r[2]["header.s"]) for r in res) == [
        ("pass", "ed"), ("pass", "rsa")], res


def test_tampered_body_fails_on_the_body_hash(plain, keys):
    m = mark()
    msg = sign(keys, message(m)).replace(b"Hello.", b"Hallo.")
    assert not dkimpy_verifies(keys, msg)
    (res,) = through(plain, msg, m)
    assert res[0] == "fail" and res[1] == "body hash did not verify", res
    assert res[2]["header.d"] == DOMAIN


def test_tampered_signed_header_fails(plain, keys):
    m = mark()
    msg = sign(keys, message(m)).replace(b"Subject: dkim",
                                         b"Subject: DKIM!")
    assert not dkimpy_verifies(keys, msg)
    (res,) = through(plain, msg, m)
    assert res[0] == "fail" and "signature" in res[1], res


# selector -> (result, reason); "unknown key type" is libopendkim's text
KEY_CASES = {
    "revoked": ("fail", "key revoked"),                     # p= empty
    "bad": ("permerror", "p= is not a public key"),         # base64 text
    "badb64": ("permerror", "key record syntax error"),     # p= not base64
    "wrongk": ("permerror", "unknown key type"),            # k=dsa
    "nosuch": ("permerror", "no key"),                      # NXDOMAIN
}


@pytest.mark.parametrize("selector", sorted(KEY_CASES))
def test_key_record_cases(plain, keys, selector):
    result, reason = KEY_CASES[selector]
    m = mark()
    msg = sign(keys, message(m), selector=selector)
    assert not dkimpy_verifies(keys, msg)
    (res,) = through(plain, msg, m)
    assert res[:2] == (result, reason), res
    assert res[2]["header.s"] == selector, res


def test_expired_signature_is_neutral(plain, keys):
    m = mark()
    msg = sign_expired(keys, message(m))
    assert b"x=1500000600" in msg
    (res,) = through(plain, msg, m)
    assert res == ("neutral", "signature expired", {
        "header.d": DOMAIN, "header.s": "rsa",
        "header.a": "rsa-sha256"}), res


def test_future_signature_is_neutral(plain, keys):
    """t= an hour ahead: past libopendkim's 300 s of allowed clock drift."""
    m = mark()
    msg = sign_times(keys, message(m), int(time.time()) + 3600)
    assert dkimpy_verifies(keys, msg)        # dkimpy does not check t=
    (res,) = through(plain, msg, m)
    assert res[:2] == ("neutral", "signature timestamp in the future"), res


def test_recent_signature_passes(plain, keys):
    """t= a minute ahead is within the clock drift: the check above is
    about the time, not about the patched signer."""
    m = mark()
    (res,) = through(plain, sign_times(keys, message(m),
                                       int(time.time()) + 60), m)
    assert res[0] == "pass", res


# ------------------------------------------------------------- l=

APPENDED = b"Click http://evil.example/ now.\r\n"   # no runs of spaces


@pytest.mark.parametrize("canon", [b"relaxed", b"simple"])
def test_length_tag_covering_the_body_passes(plain, keys, canon):
    """l= the whole body, which ends in whitespace and empty lines that
    canonicalization removes: still all of it."""
    m = mark()
    msg = sign(keys, message(m, body=b"Hello.  \r\nBye.\t\r\n\r\n\r\n"),
               canon=canon, length=True)
    assert re.search(rb"l=\d+", msg)
    (res,) = through(plain, msg, m)
    assert res[0] == "pass", res


@pytest.mark.parametrize("canon", [b"relaxed", b"simple"])
def test_length_tag_with_text_appended_is_policy(plain, keys, canon):
    """The l= attack: text added after the signed part.  dkimpy calls the
    message valid; postern must not call it a pass."""
    m = mark()
    msg = sign(keys, message(m), canon=canon, length=True) + APPENDED
    assert dkimpy_verifies(keys, msg)
    (res,) = through(plain, msg, m)
    assert res[:2] == ("policy", "%d bytes of the body not signed"
                       % len(APPENDED)), res
    assert res[2]["header.d"] == DOMAIN, res


def test_length_tag_past_the_body_fails(plain, keys):
    """l= counts a line the message no longer has."""
    m = mark()
    msg = sign(keys, message(m) + APPENDED, length=True)
    assert msg.endswith(APPENDED)
    msg = msg[:-len(APPENDED)]
    (res,) = through(plain, msg, m)
    assert res[:2] == ("fail", "l= longer than the body"), res


def test_length_attack_does_not_satisfy_require(proxy, dkim_dns, keys):
    p, f = proxy(**opts(dkim_dns, **{"dkim.require": DOMAIN}))
    msg = sign(keys, message(mark()), length=True) + APPENDED
    r, _ = send(p, msg)
    assert (r.code, r.enhanced) == (550, "5.7.20"), r
    assert f.count() == 0


def test_length_tag_beside_a_full_signature(proxy, dkim_dns, keys):
    """A list adds a footer after an l= signature and signs the result:
    policy for the first does not hide the second's pass, which meets
    dkim.require."""
    p, f = proxy(**opts(dkim_dns, **{"dkim.require": DOMAIN}))
    m = mark()
    msg = sign(keys, sign(keys, message(m), length=True) + APPENDED,
               selector="ed", ed=True)
    res = through((p, f), msg, m)
    assert sorted((r[0], r[2]["header.s"]) for r in res) == [
        ("pass", "ed"), ("policy", "rsa")], res


def test_unsigned_is_none(plain):
    m = mark()
    assert through(plain, message(m), m) == [("none", None, {})]


def test_forged_authres_of_ours_is_removed(plain, keys):
    m = mark()
    msg = (b"Authentication-Results: " + AUTHSERV.encode() +
           b"; dkim=pass header.d=paypal.com\r\n") + sign(keys, message(m))
    p, f = plain
    r, _ = send(p, msg)
    assert r.code == 250, r
    content = delivered(f, m).content
    assert b"paypal.com" not in content
    (res,) = dkim_results(content)
    assert res[0] == "pass", res


def test_rfc8463_example_verifies(plain):
    with open(os.path.join(TESTDATA, "rfc8463-signed.eml"), "rb") as f:
        msg = f.read()
    m = "example.net"        # the example's Message-ID
    p, f = plain
    r, _ = send(p, msg, sender="joe@football.example.com")
    assert r.code == 250, r
    got = None
    for one in f.messages():
        if one.content and b"football.example.com" in one.content:
            got = one
    assert got is not None, m
    res = dkim_results(got.content)
    assert sorted((r[0], r[2]["header.a"], r[2]["header.s"]) for r in res) \
        == [("pass", "ed25519-sha256", "brisbane"),
            ("pass", "rsa-sha256", "test")], res


# ------------------------------------------------------------- dkim.require

def test_required_domain_unsigned_is_refused(proxy, dkim_dns):
    p, f = proxy(**opts(dkim_dns, **{"dkim.require": "paypal.com, " +
                                     DOMAIN}))
    r, _ = send(p, message(mark()))
    assert (r.code, r.enhanced) == (550, "5.7.20"), r
    assert DOMAIN in r.text
    assert f.count() == 0


def test_required_domain_failed_signature_is_refused(proxy, dkim_dns, keys):
    p, f = proxy(**opts(dkim_dns, **{"dkim.require": DOMAIN}))
    msg = sign(keys, message(mark())).replace(b"Hello.", b"Hallo.")
    r, _ = send(p, msg)
    assert (r.code, r.enhanced) == (550, "5.7.20"), r


def test_required_domain_signed_by_another_is_refused(proxy, dkim_dns, keys,
                                                      workdir):
    lst = os.path.join(workdir, "require.txt")
    with open(lst, "w") as fp:
        fp.write("# must be signed\n%s\n" % DOMAIN)
    p, f = proxy(**opts(dkim_dns, **{"dkim.require_file": lst}))
    r, _ = send(p, sign(keys, message(mark()), domain=OTHER))
    assert (r.code, r.enhanced) == (550, "5.7.20"), r


def test_required_domain_signed_passes(proxy, dkim_dns, keys):
    p, f = proxy(**opts(dkim_dns, **{"dkim.require": DOMAIN}))
    m = mark()
    (res,) = through((p, f), sign(keys, message(m)), m)
    assert res[0] == "pass", res


def test_other_domain_failing_is_only_marked(proxy, dkim_dns, keys):
    p, f = proxy(**opts(dkim_dns, **{"dkim.require": "paypal.com"}))
    m = mark()
    msg = sign(keys, message(m)).replace(b"Hello.", b"Hallo.")
    (res,) = through((p, f), msg, m)
    assert res[0] == "fail", res


def test_key_server_black_hole(proxy, blackhole_dns, keys):
    """A key server that never answers: 451 4.7.5 for a required domain,
    after dkim.timeout (2s, shorter than dns.timeout) and not later; the
    lookup waits on a worker, so meanwhile another session is served at
    once.  For a domain that is not required: temperror, delivered."""
    bh = blackhole_dns()
    o = {"filters.chain": "dkim_verify", "dns.nameserver": bh.addr,
         "dns.timeout": "8s", "dkim.timeout": "2s"}
    p, f = proxy(**dict(o, **{"dkim.require": DOMAIN}))
    with SmtpClient(p.port) as c1:
        assert c1.ehlo().code == 250
        assert c1.cmd("MAIL FROM:<alice@%s>" % DOMAIN).code == 250
        assert c1.cmd("RCPT TO:<rcpt@example.com>").code == 250
        assert c1.cmd("DATA").code == 354
        t0 = time.monotonic()
        c1.send(peers.stuff(sign(keys, message(mark()))) + b".\r\n")
        time.sleep(0.3)
        with SmtpClient(p.port) as c2:
            assert c2.ehlo().code == 250
            assert c2.cmd("QUIT").code == 221
        other = time.monotonic() - t0
        r = c1.reply(timeout=15)
        took = time.monotonic() - t0
    assert (r.code, r.enhanced) == (451, "4.7.5"), r
    assert other < 1.2, "another session waited %.2fs" % other
    assert 1.5 <= took <= 3.5, "451 after %.2fs, dkim.timeout 2s" % took
    assert bh.queries() > 0, "the configured server was never asked"
    p2, f2 = proxy(**o)
    m = mark()
    (res,) = through((p2, f2), sign(keys, message(m)), m)
    assert res[0] == "temperror", res


# ------------------------------------------------------------- postern test

def test_postern_test_shows_the_result(postern_bin, dkim_dns, keys, workdir):
    path = os.path.join(workdir, "signed.eml")
    with open(path, "wb") as fp:
        fp.write(sign(keys, message(mark())).replace(b"\r\n", b"\n"))
    r = subprocess.run([postern_bin, "test", "-o",
                        "filters.chain=dkim_verify", "-o",
                        "dns.nameserver=" + dkim_dns.addr, "-o",
                        "proxy.hostname=" + AUTHSERV, path],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert re.search(r"^filter results\s+.*\bdkim_verify=pass\b", r.stdout,
                     re.M), r.stdout
    assert re.search(r"dkim=pass header\.d=%s header\.s=rsa "
                     r"header\.a=rsa-sha256" % re.escape(DOMAIN),
                     r.stdout), r.stdout


def test_many_signed_names_over_many_fields_do_not_stall_the_loop(
        sink, postern, dkim_dns):
    """A signature whose h= names 30,000 fields over a header of 300,000:
    libopendkim's end of header pairs them up (names x fields of work,
    over a second), which runs on the pool for a signed message, so a
    second client is greeted within a second all the while."""
    s = sink()
    p = postern(s.port, **opts(dkim_dns, **{
        "log.level": "info", "proxy.max_header_fields": "400000",
        "proxy.max_header_total": "64M"}))
    m = mark()
    sig = (b"DKIM-Signature: v=1; a=rsa-sha256; d=%s; s=rsa; "
           b"c=relaxed/relaxed; h=from:%s; bh=AAAA; b=AAAA\r\n"
           % (DOMAIN.encode(), b":".join([b"x"] * 30000)))
    msg = (sig + b"".join(b"X: %d\r\n" % i for i in range(300000)) +
           b"From: <alice@%s>\r\nSubject: %s\r\n\r\nbody\r\n"
           % (DOMAIN.encode(), m.encode()))
    with peers.greeting_watch(p.port) as waits:
        with SmtpClient(p.port, timeout=60) as c:
            assert c.ehlo().code == 250
            r = c.send_message("alice@%s" % DOMAIN, ["rcpt@example.com"],
                               msg)
    assert r.code == 250, r
    assert waits and max(waits) < 1.0, (
        "a second client waited %.2f s for its greeting" % max(waits))
    got = delivered(s, m).content
    assert dkim_results(got), got[:2000]
