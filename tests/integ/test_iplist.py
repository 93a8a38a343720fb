# SPDX-License-Identifier: ISC
"""The iplist filter through the running proxy: client allow/deny/only
lists (inline and from files, IPv4 and IPv6), sender allow/deny lists, and
list errors at start.  Clients connect from distinct loopback addresses
(127.0.0.1, 127.0.0.5, ...) to one postern on 127.0.0.1."""
import os
import re
import socket
import subprocess
import time

import pytest

import peers
from peers import SmtpClient, good_session


def iplist(proxy, **lists):
    opts = {"filters.chain": "iplist"}
    opts.update({"iplist." + k: v for k, v in lists.items()})
    return proxy(**opts)


def greeting_from(p, source):
    with SmtpClient(p.port, source=source) as c:
        g = c.greeting
        if g.code != 220:
            c.wait_closed(timeout=5)
        return g


def test_deny_refuses_at_connect(proxy):
    p, f = iplist(proxy, deny="127.0.0.5, 192.0.2.0/24")
    g = greeting_from(p, "127.0.0.5")
    assert g.code == 554 and "5.7.1" in g.text, g
    assert "127.0.0.5" in g.text, g
    assert f.sessions() == 0, "a denied client must not reach the backend"
    good_session(p.port, f, "after-deny", source="127.0.0.1")
    p.wait_log(r"127\.0\.0\.5 refused: 554 5\.7\.1")


def test_deny_file_names_the_line(proxy, workdir):
    path = os.path.join(workdir, "deny.txt")
    with open(path, "w") as fp:
        fp.write("# networks we refuse\n\n192.0.2.0/24   # test net\n"
                 "127.0.0.4/30\r\n")
    p, f = iplist(proxy, deny_file=path)
    assert greeting_from(p, "127.0.0.6").code == 554
    assert greeting_from(p, "127.0.0.8").code == 220
    good_session(p.port, f, "outside-the-/30", source="127.0.0.8")
    # no transaction: the refusal's own line names the entry
    p.wait_log(r"refused: 554 5\.7\.1 Client 127\.0\.0\.6 is on the deny "
               r"list filters=\"iplist=deny\(%s:4\)\"" % re.escape(path))


def test_only_refuses_everyone_else(proxy):
    p, f = iplist(proxy, only="127.0.0.0/30")
    assert greeting_from(p, "127.0.0.5").code == 554
    assert greeting_from(p, "127.0.0.2").code == 220
    good_session(p.port, f, "inside-only", source="127.0.0.2")


def test_allow_beats_deny(proxy):
    p, f = iplist(proxy, deny="127.0.0.0/8", allow="127.0.0.5")
    assert greeting_from(p, "127.0.0.1").code == 554
    good_session(p.port, f, "allowed-inside-denied-net", source="127.0.0.5")
    p.wait_log(r'filters="iplist=allow\(iplist\.allow\)"')


def test_allowed_client_skips_sender_checks(proxy):
    p, f = iplist(proxy, allow="127.0.0.5",
                  sender_deny="spam@example.net")
    for source, want in (("127.0.0.5", 250), ("127.0.0.1", 550)):
        with SmtpClient(p.port, source=source) as c:
            c.ehlo()
            r = c.cmd("MAIL FROM:<spam@example.net>")
            assert r.code == want, (source, r)
            if want == 550:
                assert "5.7.1" in r.text and "spam@example.net" in r.text


def test_sender_lists(proxy, workdir):
    path = os.path.join(workdir, "senders.txt")
    with open(path, "w") as fp:
        fp.write("bad@example.org\n.spam.example\n<>\n")
    p, f = iplist(proxy, sender_deny_file=path,
                  sender_allow="boss@spam.example")
    cases = [("bad@example.org", 550), ("BAD@Example.ORG", 550),
             ("good@example.org", 250), ("a@x.spam.example", 550),
             ("a@spam.example", 250), ("", 550),
             ("boss@sub.spam.example", 550), ("boss@spam.example", 250)]
    with SmtpClient(p.port) as c:
        c.ehlo()
        for sender, want in cases:
            r = c.cmd("MAIL FROM:<%s>" % sender)
            assert r.code == want, (sender, r)
            if r.code == 250:
                assert c.cmd("RSET").code == 250
    p.wait_log(r'from="a@x\.spam\.example".*'
               r'filters="iplist=sender-deny\(%s:2\)"' % path.replace(".", r"\."))


@pytest.mark.parametrize("key,value,message", [
    ("deny", "127.0.0.1, nonsense", "iplist.deny: 'nonsense': "),
    ("allow", "192.0.2.1/24", "iplist.allow: '192.0.2.1/24': "),
    ("sender_deny", "a b@", "iplist.sender_deny: "),
])
def test_bad_inline_entry_stops_postern(fakemta, postern, key, value,
                                        message):
    f = fakemta()
    p = postern(f.port, wait=False, **{"filters.chain": "iplist",
                                       "iplist." + key: value})
    assert p.proc.proc.wait(10) == 1
    assert message in p.log(), p.log()


def test_bad_file_entry_names_file_and_line(fakemta, postern, workdir):
    path = os.path.join(workdir, "allow.txt")
    with open(path, "w") as fp:
        fp.write("192.0.2.0/24\n# fine so far\n300.1.2.3\n")
    f = fakemta()
    p = postern(f.port, wait=False, **{"filters.chain": "iplist",
                                       "iplist.allow_file": path})
    assert p.proc.proc.wait(10) == 1
    assert "%s:3: " % path in p.log(), p.log()


def test_missing_file_stops_postern(fakemta, postern, workdir):
    path = os.path.join(workdir, "nope.txt")
    f = fakemta()
    p = postern(f.port, wait=False, **{"filters.chain": "iplist",
                                       "iplist.deny_file": path})
    assert p.proc.proc.wait(10) == 1
    assert "%s: No such file or directory" % path in p.log(), p.log()


def _ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def _connect_v6(port, timeout=10):
    """The first connection to [::1]:port that succeeds (bounded)."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.05) + 1):
        try:
            return socket.create_connection(("::1", port), timeout=10)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    raise AssertionError("no listener on [::1]:%d" % port)


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6_deny_and_allow(fakemta, postern):
    f = fakemta()
    port = peers.free_port()
    p = postern(f.port, wait=False, **{
        "proxy.listen": "[::1]:%d" % port, "filters.chain": "iplist",
        "iplist.deny": "::/0", "iplist.allow": "::2"})
    s = _connect_v6(port)
    data = s.recv(1024)
    s.close()
    assert data.startswith(b"554 5.7.1 Client ::1 is on the deny list"), data
    assert p.proc.alive()


def _check(postern_bin, *opts):
    argv = [postern_bin, "check"]
    for o in opts:
        argv += ["-o", o]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def test_check_command(postern_bin, workdir):
    rc, out = _check(postern_bin, "filters.chain=iplist",
                     "iplist.deny=192.0.2.0/24, 2001:db8::/32")
    assert rc == 0 and "configuration OK, 1 filter" in out, out
    rc, out = _check(postern_bin, "filters.chain=iplist",
                     "iplist.only=10.0.0.0/33")
    assert rc == 1 and "iplist.only: '10.0.0.0/33': " in out, out
    rc, out = _check(postern_bin, "filters.chain=nosuch")
    assert rc == 1 and "unknown filter 'nosuch'" in out, out
    path = os.path.join(workdir, "senders.txt")
    with open(path, "w") as fp:
        fp.write("ok@example.org\nnot an address\n")
    rc, out = _check(postern_bin, "filters.chain=iplist",
                     "iplist.sender_allow_file=" + path)
    assert rc == 1 and "%s:2: " % path in out, out


def test_check_reports_every_error(postern_bin, workdir):
    """postern check goes on after an error: every bad list entry, rule
    and pattern is reported with its file and line, and it exits 1."""
    deny = os.path.join(workdir, "deny.txt")
    rules = os.path.join(workdir, "bad.rules")
    with open(deny, "w") as fp:
        fp.write("192.0.2.0/24\nbogus\n10.0.0.1/8\n")
    with open(rules, "w") as fp:
        fp.write("A body /ok/ score 1\nB body /(/ score 1\nC helo /x/\n")
    rc, out = _check(postern_bin, "filters.chain=iplist regex",
                     "iplist.deny_file=" + deny,
                     "iplist.sender_deny=ok@example.org, bad@",
                     "regex.rules=" + rules)
    assert rc == 1, out
    for want in ("%s:2: not an IP address or network: 'bogus'" % deny,
                 "%s:3: host bits set below the /8 prefix" % deny,
                 "iplist.sender_deny: 'bad@': ",
                 "%s:3: expected an action" % rules,
                 "%s:2: rule B: bad pattern at offset" % rules):
        assert want in out, (want, out)


def test_tempfail_actions(proxy):
    """deny_action/sender_deny_action = tempfail: 4xx instead of 5xx."""
    p, f = iplist(proxy, deny="127.0.0.5", deny_action="tempfail",
                  sender_deny="later@example.net",
                  sender_deny_action="tempfail")
    g = greeting_from(p, "127.0.0.5")
    assert g.code == 421 and g.text.startswith("4.7.1 Client 127.0.0.5 "
                                               "is on the deny list"), g
    with SmtpClient(p.port) as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<later@example.net>")
        assert r.code == 451 and r.text.startswith("4.7.1 Sender"), r
        assert "try again later" in r.text
