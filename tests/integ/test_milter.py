# SPDX-License-Identifier: ISC
"""postern milter: the filter chain behind libmilter.

miltertest (tests/milter/stages.lua) drives each stage: an iplist deny
refused at connect, a regex body rule, dkim_sign's DKIM-Signature and our
Authentication-Results inserted at the top with a forged A-R deleted, and
{auth_authen} making a client outbound.  Then a real Postfix with
smtpd_milters on the same milter: it refuses what the proxy refuses, with
the same reply, and what it relays carries a signature dkimpy verifies.

The milter signs with simple/simple canonicalization, so a signature only
verifies when the header bytes filters got are the message's own (leading
space, folds)."""
import os
import re
import signal
import subprocess
import tempfile

import pytest

import conftest
import peers
from dkimmsg import AUTHSERV, header_values, mark
from peers import SmtpClient
from test_dkim_sign import DOMAIN, SignKeys

dkim = pytest.importorskip("dkim")

HERE = os.path.dirname(os.path.abspath(__file__))
STAGES = os.path.join(HERE, "..", "milter", "stages.lua")
RULES = "BODY_CASINO\tbody\t/\\bcasino\\b/i\treject\n"


@pytest.fixture(scope="module")
def mkeys(workroot):
    return SignKeys(tempfile.mkdtemp(prefix="milter-keys-", dir=workroot))


@pytest.fixture(scope="module")
def chain_opts(workroot, mkeys):
    """The configuration the milter and the comparison proxy share."""
    d = tempfile.mkdtemp(prefix="milter-conf-", dir=workroot)
    rules = os.path.join(d, "milter.rules")
    with open(rules, "w") as f:
        f.write(RULES)
    return {"filters.chain": "iplist regex dkim_verify dkim_sign",
            "iplist.deny": "192.0.2.0/24",
            "regex.rules": rules,
            # no signature is looked up: a resolver that never answers
            "dns.nameserver": "127.0.0.1@9",
            "dkim.key_table": mkeys.key_table(),
            "dkim.signing_table": "refile:" + mkeys.table(
                "SigningTable", "*@%s rsa\n" % DOMAIN),
            "dkim.canonicalization": "simple/simple"}


@pytest.fixture(scope="module")
def milter(workroot, postern_bin, chain_opts):
    reg = conftest.Registry()
    d = tempfile.mkdtemp(prefix="milter-", dir=workroot)
    os.chmod(d, 0o755)
    try:
        yield reg.add(peers.PosternMilter(postern_bin, d, dict(
            chain_opts, **{"log.level": "debug"})))
    finally:
        reg.stop_all()


@pytest.fixture(scope="module")
def postfix_milter(workroot, milter):
    """(postfix, sink): Postfix with smtpd_milters = our milter."""
    sock = "inet:%s:%d" % (peers.LOOP_HOST, milter.port)
    yield from conftest._postfix(workroot, {
        "smtpd_milters": sock,
        "non_smtpd_milters": sock,
        "milter_protocol": "6",
        "milter_default_action": "tempfail"})


def miltertest(milter, case):
    """Run one case of stages.lua: its RESULT lines as [(name, value)]."""
    r = subprocess.run(["miltertest", "-D", "sock=" + milter.socket,
                        "-D", "case=" + case, "-s", STAGES],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "ALL OK" in r.stdout, (
        r.stdout, r.stderr, milter.log()[-3000:])
    return [tuple(l[len("RESULT "):].split("=", 1))
            for l in r.stdout.splitlines() if l.startswith("RESULT ")]


def unescape(v):
    return v.replace("\\r", "\r").replace("\\n", "\n")


def test_iplist_deny_refuses_at_connect(milter):
    start = len(milter.log())
    miltertest(milter, "deny")
    milter.wait_log(r"connect from 192\.0\.2\.1 refused: 554 5\.7\.1 ",
                    start=start)


def test_regex_rejects_body(milter):
    start = len(milter.log())
    miltertest(milter, "regex")
    milter.wait_log(r'tx client=127\.0\.0\.1 .* action=rejected '
                    r'reply="5\d\d 5\.7\.1 [^"]*BODY_CASINO', start=start)


def test_sign_inserts_and_deletes(milter, mkeys):
    start = len(milter.log())
    res = miltertest(milter, "sign")
    got = dict(res)
    # The message as the MTA delivers it: the signature on top, the forged
    # A-R gone (it is not signed either way), CRLF line ends.
    sent = [unescape(v) for n, v in res if n == "hdr"]
    msg = ("DKIM-Signature:" + unescape(got["sig"]) + "\n" +
           "".join(h + "\n" for h in sent) + "\n").replace("\n", "\r\n")
    msg = msg.encode() + unescape(got["body"]).encode()
    assert dkim.verify(msg, dnsfunc=mkeys.dnsfunc), msg
    line = milter.wait_log(r"tx client=127\.0\.0\.1 .*", start=start).group(0)
    assert 'from="alice@%s"' % DOMAIN in line, line
    assert "action=accepted" in line and 'qid="QID4711"' in line, line
    assert "dkim_sign=signed" in line, line


@pytest.mark.parametrize("case,signed", [("auth", "true"),
                                         ("noauth", "false")])
def test_auth_authen_makes_outbound(milter, case, signed):
    assert dict(miltertest(milter, case))["signed"] == signed


def casino(marker):
    return ("From: <bob@example.org>\r\nTo: <rcpt@example.com>\r\n"
            "Subject: %s\r\n\r\nPlay at our casino tonight.\r\n" %
            marker).encode()


def send(port, content, sender):
    with SmtpClient(port) as c:
        assert c.ehlo().code == 250
        return c.send_message(sender, ["rcpt@example.com"], content)


def test_postfix_rejects_as_the_proxy_does(postfix_milter, proxy,
                                           chain_opts):
    pf, snk = postfix_milter
    p, f = proxy(**chain_opts)
    want = send(p.port, casino(mark()), "bob@example.org")
    got = send(pf.port, casino(mark()), "bob@example.org")
    assert want.code == 550 or want.code == 554, want
    assert (got.code, got.text) == (want.code, want.text), (got, want)


def test_postfix_message_signed_by_milter(postfix_milter, milter, mkeys):
    pf, snk = postfix_milter
    m = mark()
    msg = ("From: Alice <alice@%s>\r\n"
           "To: <rcpt@example.com>\r\n"
           "Subject: %s folded\r\n\tacross two lines\r\n"
           "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
           "Authentication-Results: %s; dkim=pass header.d=forged\r\n"
           "\r\nHello from Postfix.\r\n" % (DOMAIN, m, AUTHSERV)).encode()
    r = send(pf.port, msg, "alice@" + DOMAIN)
    assert r.code == 250, (r, milter.log()[-3000:])
    got = peers.wait_for(lambda: [x for x in snk.messages()
                                  if m.encode() in x.content], 20,
                         what="message %s at the sink" % m)[0].content
    assert dkim.verify(got, dnsfunc=mkeys.dnsfunc), got
    # outbound: the forged A-R removed and none of ours added
    assert header_values(got, "Authentication-Results") == [], got
    milter.wait_log(r'tx client=127\.0\.0\.1 .*from="alice@%s".*'
                    r'action=accepted .*qid="[0-9A-Za-z]+"' %
                    re.escape(DOMAIN))


def test_postfix_many_forged_results_removed_by_index(postfix_milter,
                                                    milter):
    """300 forged Authentication-Results (our id, the name in any case)
    between 300 of other ids: the milter deletes each forged one by its
    index among the fields of that name (numbered once at eom, not by a
    walk over all fields per deletion), so exactly the others stay, in
    order."""
    pf, snk = postfix_milter
    m = mark()
    names = ("Authentication-Results", "authentication-results",
             "AUTHENTICATION-RESULTS")
    head = "".join(
        "%s: %s; spf=pass smtp.mailfrom=forged%d@example.org\r\n"
        "Authentication-Results: other%d.example; spf=pass\r\n"
        % (names[i % 3], AUTHSERV, i, i) for i in range(300))
    msg = ("From: <bob@example.org>\r\nTo: <rcpt@example.com>\r\n"
           "Subject: %s\r\n%s\r\nmany results\r\n" % (m, head)).encode()
    r = send(pf.port, msg, "bob@example.org")
    assert r.code == 250, (r, milter.log()[-3000:])
    got = peers.wait_for(lambda: [x for x in snk.messages()
                                  if m.encode() in x.content], 30,
                         what="message %s at the sink" % m)[0].content
    assert b"forged" not in got, got[:3000]
    others = [v.split(";")[0].strip() for v in
              header_values(got, "Authentication-Results")
              if not v.startswith(AUTHSERV + ";")]
    assert others == ["other%d.example" % i for i in range(300)], others


def uids(pid):
    with open("/proc/%d/status" % pid) as f:
        return set([line.split()[1:] for line in f
                    if line.startswith("Uid:")][0])


def test_runs_as_proxy_user(procs, workdir, postern_bin):
    """With proxy.user, postern milter opens its socket, then runs as that
    user for good (the keys were read before).  The process started, which
    only forwards signals to it (milter_super.c), stays root to signal it
    before its drop; killed, it takes the milter with it."""
    m = procs.add(peers.PosternMilter(postern_bin, workdir, {
        "proxy.user": "nobody", "filters.chain": "regex"}))
    # the socket listens before the ids change: wait for the log line
    m.wait_log(r"running as nobody")
    with open("/proc/%d/task/%d/children" % (m.pid, m.pid)) as f:
        (child,) = [int(x) for x in f.read().split()]
    import pwd
    assert uids(child) == {str(pwd.getpwnam("nobody").pw_uid)}
    assert uids(m.pid) == {"0"}
    os.kill(m.pid, signal.SIGKILL)
    peers.wait_for(lambda: not os.path.exists("/proc/%d" % child) or
                   open("/proc/%d/stat" % child).read().split()[2] == "Z",
                   15, what="the milter to stop with its parent")


def test_postfix_header_limits_as_the_proxy(postfix_milter, proxy,
                                            chain_opts):
    """max_header_fields holds in milter mode too: what the chain would
    keep per field is bounded whatever the MTA accepts (issue 12)."""
    pf, snk = postfix_milter
    p, f = proxy(**chain_opts)
    many = ("From: <bob@example.org>\r\nSubject: %s\r\n" % mark() +
            "".join("X-F%d: v\r\n" % i for i in range(1000)) +
            "\r\nbody\r\n").encode()
    want = send(p.port, many, "bob@example.org")
    got = send(pf.port, many, "bob@example.org")
    assert (want.code, want.enhanced) == (552, "5.3.4"), want
    assert (got.code, got.text) == (want.code, want.text), (got, want)
