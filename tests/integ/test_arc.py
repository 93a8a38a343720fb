# SPDX-License-Identifier: ISC
"""The arc filter (RFC 8617, issue 19) through the running proxy: ARC sets
sealed by dkimpy (the independent sealer, RSA only; RSA-2048 keys made
here, served by unbound on loopback), one hop and three,
validated by postern and by dkimpy's arc_verify alike; a body changed
after sealing, a header or an ARC-Authentication-Results changed, a seal
missing, an unknown key, and mail with no chain; the result in the
Authentication-Results the backend receives; postern milter under Postfix
and 'postern test' give the same.  postern's own seal (arc_seal), judged
by dkimpy and by a second postern; dmarc.arc_trusted."""
import re
import subprocess

import pytest

import conftest
import peers
from dkimmsg import (AUTHSERV, KeyRecords, delivered, header_values,
                     key_dns, mark, method_results, send_timed)
from peers import SmtpClient
from test_dkim_sign import DOMAIN as SIGN
from test_dkim_sign import skeys  # noqa: F401
from test_dkim_verify import DOMAIN, OTHER, dkim_dns, keys  # noqa: F401
from test_dmarc import psl  # noqa: F401

dkim = pytest.importorskip("dkim")
def message(marker, body=b"Hello.\r\nSecond line.\r\n"):
    return (b"From: Alice <alice@example.org>\r\n"
            b"To: <rcpt@example.com>\r\n"
            b"Subject: arc " + marker.encode() + b"\r\n"
            b"Message-ID: <" + marker.encode() + b"@example.org>\r\n"
            b"\r\n" + body)


def seal(keys, msg, domain):
    """One hop: its Authentication-Results (with the arc= result it found,
    as an intermediary writes it), then dkimpy's ARC set on top."""
    cv = dkim.arc_verify(msg, dnsfunc=keys.dnsfunc)[0]
    srv = ("mx." + domain).encode()
    ar = b"Authentication-Results: " + srv + b"; spf=pass " \
        b"smtp.mailfrom=example.org"
    if cv != dkim.CV_None:
        ar += b"; arc=" + cv
    msg = ar + b"\r\n" + msg
    hdrs = dkim.arc_sign(msg, b"rsa", domain.encode(), keys.rsa_pem, srv)
    assert hdrs, "dkimpy made no ARC set"
    return b"".join(hdrs) + msg


def arc_results(content):
    return method_results(content, "arc")


@pytest.fixture
def arc_proxy(proxy, dkim_dns):
    def make(**more):
        o = {"filters.chain": "arc", "dns.nameserver": dkim_dns.addr}
        o.update(more)
        return proxy(**o)
    return make


def through(p, f, msg, marker):
    r, _ = send_timed(p.port, msg, "a@example.org")
    assert r.code == 250, r
    return arc_results(delivered(f, marker).content)


def test_three_hops_pass(arc_proxy, keys):
    marker = mark()
    msg = message(marker)
    msg = seal(keys, msg, OTHER)
    msg = seal(keys, msg, DOMAIN)
    msg = seal(keys, msg, OTHER)
    assert dkim.arc_verify(msg, dnsfunc=keys.dnsfunc)[0] == dkim.CV_Pass
    p, f = arc_proxy()
    got = through(p, f, msg, marker)
    assert len(got) == 1, got
    res, comment, props = got[0]
    assert res == "pass", got
    assert comment == "sealed by %s, 3 sets" % OTHER, got
    assert props == {"header.oldest-pass": "0",
                     "smtp.remote-ip": "127.0.0.1"}, got
    p.wait_log(r"filters=\"arc=pass\(%s i=3\)\"" % re.escape(OTHER))


def test_one_hop_pass(arc_proxy, keys):
    marker = mark()
    msg = seal(keys, message(marker), DOMAIN)
    p, f = arc_proxy()
    assert through(p, f, msg, marker)[0][:2] == \
        ("pass", "sealed by %s, 1 set" % DOMAIN)


def test_body_changed_after_sealing_fails(arc_proxy, keys):
    marker = mark()
    msg = seal(keys, message(marker), OTHER)
    msg = seal(keys, msg, DOMAIN)
    msg = msg.replace(b"Second line.", b"Second line, changed.")
    assert dkim.arc_verify(msg, dnsfunc=keys.dnsfunc)[0] == dkim.CV_Fail
    p, f = arc_proxy()
    res, comment, _ = through(p, f, msg, marker)[0]
    assert res == "fail", comment
    assert comment == "ARC-Message-Signature i=2: body hash mismatch"


def test_header_changed_after_sealing_fails(arc_proxy, keys):
    marker = mark()
    msg = seal(keys, message(marker), DOMAIN)
    msg = msg.replace(b"Subject: arc", b"Subject: ARC")
    assert dkim.arc_verify(msg, dnsfunc=keys.dnsfunc)[0] == dkim.CV_Fail
    p, f = arc_proxy()
    res, comment, _ = through(p, f, msg, marker)[0]
    assert (res, comment) == ("fail", "ARC-Message-Signature i=1: "
                              "signature does not verify")


def test_seal_missing_fails(arc_proxy, keys):
    marker = mark()
    msg = seal(keys, message(marker), OTHER)
    msg = seal(keys, msg, DOMAIN)
    head, body = msg.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    # the ARC-Seal of set 1 (and its folded lines) taken out
    out, skip = [], False
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if not skip:
                out.append(line)
            continue
        skip = line.lower().startswith(b"arc-seal:") and b"i=1;" in line
        if not skip:
            out.append(line)
    msg = b"\r\n".join(out) + b"\r\n\r\n" + body
    assert dkim.arc_verify(msg, dnsfunc=keys.dnsfunc)[0] == dkim.CV_Fail
    p, f = arc_proxy()
    assert through(p, f, msg, marker)[0][:2] == \
        ("fail", "an ARC set is missing a field")


def test_seal_over_a_changed_set_fails(arc_proxy, keys):
    """An ARC-Authentication-Results rewritten after sealing: the AMS
    still verifies (it does not sign it), the ARC-Seal does not."""
    marker = mark()
    msg = seal(keys, message(marker), DOMAIN)
    msg = msg.replace(b"spf=pass", b"spf=fail", 1)
    assert dkim.arc_verify(msg, dnsfunc=keys.dnsfunc)[0] == dkim.CV_Fail
    p, f = arc_proxy()
    assert through(p, f, msg, marker)[0][:2] == \
        ("fail", "ARC-Seal i=1: signature does not verify")


def test_no_chain_is_none(arc_proxy):
    marker = mark()
    p, f = arc_proxy()
    res, comment, props = through(p, f, message(marker), marker)[0]
    assert (res, comment, props) == ("none", None,
                                     {"smtp.remote-ip": "127.0.0.1"})


def test_unknown_key_fails(arc_proxy, keys):
    marker = mark()
    msg = seal(keys, message(marker), DOMAIN)
    msg = msg.replace(b"d=" + DOMAIN.encode(), b"d=nokey.example")
    p, f = arc_proxy()
    res, comment, _ = through(p, f, msg, marker)[0]
    assert res == "fail" and "key rsa._domainkey.nokey.example: no " \
        "record" in comment, comment


def test_postern_test_gives_the_same(postern_bin, keys, dkim_dns, workdir):
    marker = mark()
    msg = seal(keys, message(marker), OTHER)
    msg = seal(keys, msg, DOMAIN)
    path = workdir + "/arc.eml"
    with open(path, "wb") as fp:
        fp.write(msg)
    out = subprocess.run([postern_bin, "test", "-o", "filters.chain=arc",
                          "-o", "dns.nameserver=" + dkim_dns.addr, path],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert re.search(r"arc=pass \(sealed by %s, 2 sets\) "
                     r"header\.oldest-pass=0" % re.escape(DOMAIN),
                     out.stdout), out.stdout


def test_milter_under_postfix(procs, workdir, workroot, postern_bin, keys,
                              dkim_dns):
    """postern milter in Postfix's smtpd_milters: the message Postfix
    delivers carries the same arc= result."""
    m = procs.add(peers.PosternMilter(postern_bin, workdir, {
        "filters.chain": "arc", "dns.nameserver": dkim_dns.addr}))
    gen = conftest._postfix(workroot, {
        "smtpd_milters": "inet:%s:%d" % (peers.LOOP_HOST, m.port),
        "milter_protocol": "6", "milter_default_action": "tempfail"})
    pf, snk = next(gen)
    try:
        marker = mark()
        msg = seal(keys, seal(keys, message(marker), OTHER), DOMAIN)
        with SmtpClient(pf.port) as c:
            assert c.ehlo().code == 250
            r = c.send_message("a@example.org", ["rcpt@example.com"], msg)
        assert r.code == 250, (r, m.log()[-3000:])
        got = peers.wait_for(lambda: [x for x in snk.messages()
                                      if marker.encode() in x.content], 20,
                             what="message %s at the sink" % marker)[0]
        assert arc_results(got.content)[0][:2] == \
            ("pass", "sealed by %s, 2 sets" % DOMAIN), got.content
    finally:
        gen.close()


# ---------------------------------------------------------------- sealing
#
# postern's own ARC set (the arc_seal filter), with keys made by
# postern-keygen (test_dkim_sign's SignKeys, d=sign.example); dkimpy's
# arc_verify judges it, and a second postern validates what the first
# sealed.

class AllKeys(KeyRecords):
    def __init__(self, *sets):
        self.records = {}
        for s in sets:
            self.records.update(s.records)


@pytest.fixture(scope="module")
def all_keys(keys, skeys):
    return AllKeys(keys, skeys)


@pytest.fixture(scope="module")
def seal_dns(workroot, all_keys):
    yield from key_dns(workroot, all_keys, "rsa._domainkey.%s." % SIGN,
                       "arc-seal-dns-")


@pytest.fixture
def sealer(proxy, skeys, seal_dns):
    def make(key="rsa", chain="arc arc_seal", **more):
        o = {"filters.chain": chain, "dns.nameserver": seal_dns.addr,
             "arc.seal": "all", "arc.key_table": skeys.key_table(),
             "arc.signing_table": "refile:" + skeys.table(
                 "ArcSigningTable", "*@%s %s\n" % (SIGN, key))}
        o.update(more)
        return proxy(**o)
    return make


def sealed_msg(marker, frm="alice@" + SIGN, extra=b""):
    return (b"From: Alice <" + frm.encode() + b">\r\n"
            b"To: <rcpt@example.com>\r\n" + extra +
            b"Subject: seal " + marker.encode() + b"\r\n"
            b"Message-ID: <" + marker.encode() + b"@example.org>\r\n"
            b"\r\nSealed here.\r\n")


def relay(p, f, msg, marker):
    r, _ = send_timed(p.port, msg, "a@" + SIGN)
    assert r.code == 250, r
    return delivered(f, marker).content


def test_sealed_first_hop_verifies_in_dkimpy(sealer, all_keys):
    marker = mark()
    p, f = sealer()
    got = relay(p, f, sealed_msg(marker), marker)
    cv, res, why = dkim.arc_verify(got, dnsfunc=all_keys.dnsfunc)
    assert cv == dkim.CV_Pass, (why, got)
    assert len(res) == 1 and res[0]["as-domain"] == SIGN.encode(), res
    aar = header_values(got, "ARC-Authentication-Results")
    assert aar == ["i=1; %s; arc=none smtp.remote-ip=127.0.0.1" %
                   AUTHSERV], aar
    assert re.search(r"cv=none", header_values(got, "ARC-Seal")[0])
    p.wait_log(r"arc_seal=sealed\(i=1 cv=none\)")


def test_ed25519_seal(sealer, proxy, seal_dns):
    """dkimpy's ARC code knows RSA only: postern's own validation (RSA
    tested against dkimpy above) judges an Ed25519 seal."""
    marker = mark()
    p, f = sealer(key="ed")
    got = relay(p, f, sealed_msg(marker), marker)
    assert "a=ed25519-sha256" in header_values(got, "ARC-Seal")[0], got
    q, g = proxy(**{"filters.chain": "arc",
                    "dns.nameserver": seal_dns.addr})
    assert arc_results(relay(q, g, got, marker))[0][:2] == \
        ("pass", "sealed by %s, 1 set" % SIGN)


def test_sealed_onto_a_chain_and_judged_again(sealer, proxy, keys,
                                             all_keys, seal_dns):
    """dkimpy seals hop 1, postern validates and seals hop 2; dkimpy and a
    second postern both find the two sets good."""
    marker = mark()
    msg = seal(keys, sealed_msg(marker), OTHER)
    p, f = sealer()
    got = relay(p, f, msg, marker)
    cv, res, why = dkim.arc_verify(got, dnsfunc=all_keys.dnsfunc)
    assert cv == dkim.CV_Pass, (why, got)
    assert [r["instance"] for r in res] == [2, 1], res
    assert "arc=pass (sealed by %s, 1 set)" % OTHER in \
        header_values(got, "ARC-Authentication-Results")[0]
    q, g = proxy(**{"filters.chain": "arc",
                    "dns.nameserver": seal_dns.addr})
    (res2,) = arc_results(relay(q, g, got, marker))
    assert res2 == ("pass", "sealed by %s, 2 sets" % SIGN,
                    {"header.oldest-pass": "0",
                     "smtp.remote-ip": "127.0.0.1"}), res2


def test_a_failed_chain_is_sealed_cv_fail(sealer, keys, all_keys):
    marker = mark()
    msg = seal(keys, sealed_msg(marker), OTHER)
    msg = msg.replace(b"Sealed here.", b"Changed here.")
    p, f = sealer()
    got = relay(p, f, msg, marker)
    assert re.search(r"cv=fail", header_values(got, "ARC-Seal")[0]), got
    cv, res, why = dkim.arc_verify(got, dnsfunc=all_keys.dnsfunc)
    # dkimpy: our set is sound, and it ends the chain
    assert cv is None and why == "ARC-Seal[2] reported failure, the " \
        "chain is terminated", (cv, why)
    p.wait_log(r"arc_seal=sealed\(i=2 cv=fail\)")


def test_seal_modified_only(sealer):
    p, f = sealer(chain="regex arc arc_seal", **{"arc.seal": "modified"})
    marker = mark()
    got = relay(p, f, sealed_msg(marker), marker)
    assert header_values(got, "ARC-Seal") == [], got
    p.wait_log(r"arc_seal=skip\(unmodified\)")
    # the sender's own X-Spam-Status is removed: modified, sealed
    marker = mark()
    got = relay(p, f, sealed_msg(marker, extra=b"X-Spam-Status: No\r\n"),
                marker)
    assert len(header_values(got, "ARC-Seal")) == 1, got


def test_no_key_for_the_from_domain(sealer):
    p, f = sealer()
    marker = mark()
    got = relay(p, f, sealed_msg(marker, frm="bob@elsewhere.example"),
                marker)
    assert header_values(got, "ARC-Seal") == [], got
    p.wait_log(r"arc_seal=skip\(no key for the From domain\)")


def test_seal_none_refuses_the_filter(postern, fakemta):
    f = fakemta()
    p = postern(f.port, wait=False, **{"filters.chain": "arc arc_seal"})
    assert p.wait_exit(10) not in (None, 0)
    assert "arc_seal: set arc.seal to modified or all" in p.log()


# ------------------------------------------------- DMARC and trusted ARC
#
# A list (here dkimpy sealing as OTHER) breaks the author's SPF and DKIM:
# DMARC fails for a p=reject domain.  dmarc.arc_trusted lets a passing
# chain from a trusted sealer through (marked), and only that.

STRICT = "strict.arc.example"


class DmarcKeys(KeyRecords):
    def __init__(self, keys):
        self.records = dict(keys.records)
        self.records["_dmarc." + STRICT] = "v=DMARC1; p=reject"


@pytest.fixture(scope="module")
def dmarc_arc_dns(workroot, keys):
    yield from key_dns(workroot, DmarcKeys(keys), "_dmarc.%s." % STRICT,
                       "arc-dmarc-dns-")


@pytest.mark.parametrize("sealer, trusted, broken, code", [
    (OTHER, OTHER, False, 250),
    (OTHER, "." + OTHER.split(".", 1)[1], False, 250),   # a parent
    (DOMAIN, OTHER, False, 550),        # sealed by someone else
    (OTHER, OTHER, True, 550),          # the chain does not pass
    (OTHER, "", False, 550),            # nobody trusted
])
def test_dmarc_honours_trusted_sealers(proxy, keys, dmarc_arc_dns, psl,
                                       sealer, trusted, broken, code):
    marker = mark()
    msg = seal(keys, sealed_msg(marker, frm="alice@" + STRICT), sealer)
    if broken:
        msg = msg.replace(b"Sealed here.", b"Changed here.")
    p, f = proxy(**{"filters.chain": "arc dmarc",
                    "dns.nameserver": dmarc_arc_dns.addr,
                    "dmarc.public_suffix_list": psl,
                    "dmarc.arc_trusted": trusted})
    r, _ = send_timed(p.port, msg, "list@lists.example")
    assert r.code == code, r
    if code == 250:
        got = delivered(f, marker).content
        assert "dmarc=fail (p=reject dis=none allowed: ARC sealed by %s) "\
            "header.from=%s" % (sealer, STRICT) in \
            " ".join(header_values(got, "Authentication-Results")), got
    else:
        assert "DMARC policy of %s: reject" % STRICT in r.text, r


def test_seal_in_the_other_front_ends(procs, workdir, workroot, postern_bin,
                                      skeys, seal_dns, all_keys):
    """postern milter under Postfix and postern test seal as the proxy
    does: dkimpy finds the set good."""
    opts = {"filters.chain": "arc arc_seal", "dns.nameserver": seal_dns.addr,
            "arc.seal": "all", "arc.key_table": skeys.key_table(),
            "arc.signing_table": "refile:" + skeys.table(
                "ArcSigningTable", "*@%s rsa\n" % SIGN)}
    marker = mark()
    path = workdir + "/seal.eml"
    with open(path, "wb") as fp:
        fp.write(sealed_msg(marker))
    out = subprocess.run([postern_bin, "test"] + [
        a for k, v in opts.items() for a in ("-o", "%s=%s" % (k, v))] +
        [path], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "arc_seal=sealed(i=1 cv=none)" in out.stdout, out.stdout
    m = procs.add(peers.PosternMilter(postern_bin, workdir, opts))
    gen = conftest._postfix(workroot, {
        "smtpd_milters": "inet:%s:%d" % (peers.LOOP_HOST, m.port),
        "milter_protocol": "6", "milter_default_action": "tempfail"})
    pf, snk = next(gen)
    try:
        with SmtpClient(pf.port) as c:
            assert c.ehlo().code == 250
            r = c.send_message("a@" + SIGN, ["rcpt@example.com"],
                               sealed_msg(marker))
        assert r.code == 250, (r, m.log()[-3000:])
        got = peers.wait_for(lambda: [x for x in snk.messages()
                                      if marker.encode() in x.content], 20,
                             what="message %s at the sink" % marker)[0]
        cv, res, why = dkim.arc_verify(got.content,
                                       dnsfunc=all_keys.dnsfunc)
        assert cv == dkim.CV_Pass, (why, got.content)
    finally:
        gen.close()
