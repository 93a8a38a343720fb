# SPDX-License-Identifier: ISC
"""NUL bytes and header limits in message content (issue 12).

NUL: RFC 5321/5322 forbid it in mail.  With proxy.nul_bytes = reject (the
default) a message holding one gets 554 5.6.0 and the backend gets nothing;
with strip the NULs are removed before any filter or the backend sees the
content, so `Subject: \\x00 viagra` cannot hide from a header rule and
`\\r\\n\\x00.\\r\\n` cannot end the data at a backend that drops NULs.

Header limits: proxy.max_header_fields (1000) and proxy.max_header_total
(1M) hold for every message, with or without content filters: one field or
one byte more gets 552 5.3.4, the whole message is still read, nothing is
relayed, and the session goes on."""
import os
import re
import subprocess

import pytest

import peers
from peers import SmtpClient, good_session, make_message

RULES = r"""
SUBJ_PILLS	header:Subject	/viagra/i	reject 550 5.7.1 "no pills"
ANY_PILLS	header:*	/^X-Pills: .*viagra/i	reject 550 5.7.1 "no pills anywhere"
RAW_PILLS	raw	/^X-Raw: .*viagra/mi	reject 550 5.7.1 "no raw pills"
"""

SMUGGLED = (b"MAIL FROM:<smuggler@evil.test>\r\n"
            b"RCPT TO:<victim@example.com>\r\n"
            b"DATA\r\n"
            b"From: <ceo@example.com>\r\nSubject: smuggled\r\n\r\n"
            b"smuggled body\r\n")

# what a backend that drops NUL bytes would read as an end of data
NUL_DOT = (b"From: <sender@example.org>\r\nSubject: innocent\r\n\r\n"
           b"hello\r\n\x00.\r\n" + SMUGGLED)


@pytest.fixture
def rules_file(workdir):
    path = os.path.join(workdir, "pills.rules")
    with open(path, "w") as fp:
        fp.write(RULES)
    return path


def open_data(c, sender="sender@example.org"):
    assert c.cmd("MAIL FROM:<%s>" % sender).code == 250
    assert c.cmd("RCPT TO:<rcpt@example.com>").code == 250
    assert c.cmd("DATA").code == 354


def data(c, content):
    """DATA with content (CRLF lines, not yet stuffed); the final reply."""
    open_data(c)
    c.send(peers.stuff(content) + b".\r\n")
    return c.reply(timeout=60)


def bdat(c, content, chunk=4096):
    """BDAT in chunks of chunk bytes, the last with LAST; the last reply
    (every earlier chunk must get 250 or the refusal)."""
    assert c.cmd("MAIL FROM:<sender@example.org>").code == 250
    assert c.cmd("RCPT TO:<rcpt@example.com>").code == 250
    pieces = [content[i:i + chunk] for i in range(0, len(content), chunk)]
    for i, p in enumerate(pieces):
        last = " LAST" if i == len(pieces) - 1 else ""
        c.send(b"BDAT %d%s\r\n" % (len(p), last.encode()) + p)
        r = c.reply(timeout=60)
        if last:
            return r
        assert r.code in (250, 552, 554), r


def assert_reply(r, code, esc):
    assert (r.code, r.enhanced) == (code, esc), r


def still_serving(c, f, marker):
    """The same session relays a good message after a refusal."""
    good = make_message("after " + marker, ["fine"])
    r = c.send_message("again@example.org", ["rcpt@example.com"], good)
    assert r.code == 250, r
    wait = peers.wait_for
    # (a chain with regex writes its score on top)
    wait(lambda: any(re.sub(rb"^X-Spam-Status: [^\r]*\r\n", b"",
                            m.content) == good for m in f.messages()), 10,
         what="the good message")
    return good


# ------------------------------------------------------------------ NUL

@pytest.mark.parametrize("how", ["data", "bdat"])
def test_nul_rejected_by_default(proxy, how):
    p, f = proxy()
    msg = make_message("nul", ["a NUL: \x00 here"])
    with p.client() as c:
        c.ehlo()
        r = data(c, msg) if how == "data" else bdat(c, msg)
        assert_reply(r, 554, "5.6.0")
        assert "NUL" in r.text, r
        good = still_serving(c, f, "nul-" + how)
    assert [m.content for m in f.messages()] == [good]
    assert b"\x00" not in f.transcript()


@pytest.mark.parametrize("how", ["data", "bdat"])
def test_nul_dot_is_no_end_of_data(proxy, how):
    """\\r\\n\\x00.\\r\\n: postern reads on (it is no end of data), refuses
    the message, and the smuggled transaction never reaches the backend."""
    p, f = proxy()
    with p.client() as c:
        c.ehlo()
        if how == "data":
            open_data(c)
            c.send(NUL_DOT + b".\r\n")
            r = c.reply()
        else:
            r = bdat(c, NUL_DOT)
        assert_reply(r, 554, "5.6.0")
        still_serving(c, f, "nul-dot-" + how)
    assert f.count() == 1
    assert b"smuggl" not in f.transcript()
    assert not any("smuggler" in l for _, l in f.commands())


@pytest.mark.parametrize("ehlo", [peers.FULL_EHLO, peers.DATA_EHLO],
                         ids=["backend-bdat", "backend-data"])
@pytest.mark.parametrize("how", ["data", "bdat"])
def test_nul_stripped(proxy, how, ehlo):
    """nul_bytes = strip: one message, no NUL, the would-be smuggled
    commands only as body text."""
    p, f = proxy({"ehlo": ehlo}, nul_bytes="strip")
    with p.client() as c:
        c.ehlo()
        if how == "data":
            open_data(c)
            c.send(NUL_DOT + b".\r\n")
            r = c.reply()
        else:
            r = bdat(c, NUL_DOT)
        assert r.code == 250, r
        still_serving(c, f, "strip-" + how)
    m, _ = f.messages()
    assert m.mail == "<sender@example.org>"
    assert m.content == NUL_DOT.replace(b"\x00", b"")
    assert b"\x00" not in f.transcript()
    assert not any("smuggler" in l for _, l in f.commands())


@pytest.mark.parametrize("field", [b"Subject: \x00 viagra",
                                   b"Subject: viagra\x00",
                                   b"X-Pills: \x00viagra",
                                   b"X-Raw: \x00\x00 viagra"],
                         ids=["subject", "subject-end", "any", "raw"])
def test_nul_cannot_hide_a_header_from_rules(proxy, rules_file, field):
    clean = make_message("x", ["body"]).replace(
        b"Subject: x", field.replace(b"\x00", b""))
    hidden = make_message("x", ["body"]).replace(b"Subject: x", field)
    # reject (default): refused for the NUL before any rule
    p, f = proxy(**{"filters.chain": "regex", "regex.rules": rules_file})
    with p.client() as c:
        c.ehlo()
        assert_reply(data(c, clean), 550, "5.7.1")
        assert_reply(data(c, hidden), 554, "5.6.0")
        still_serving(c, f, "rules-reject")
    # strip: the rule sees the value without the NUL
    p, f = proxy(**{"filters.chain": "regex", "regex.rules": rules_file,
                    "proxy.nul_bytes": "strip"})
    with p.client() as c:
        c.ehlo()
        r = data(c, hidden)
        assert_reply(r, 550, "5.7.1")
        assert "pills" in r.text, r
        still_serving(c, f, "rules-strip")
    assert f.count() == 1


def test_nul_in_dry_run(postern_bin, workdir):
    path = os.path.join(workdir, "nul.eml")
    with open(path, "wb") as fp:
        fp.write(b"From: <a@example.org>\nSubject: \x00 viagra\n\nhi\n")
    r = subprocess.run([postern_bin, "test", "-o", "filters.chain=", path],
                       capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "554 5.6.0" in r.stdout, r.stdout
    assert "action" in r.stdout and "refused" in r.stdout, r.stdout
    r = subprocess.run([postern_bin, "test", "-o", "filters.chain=", "-o",
                        "proxy.nul_bytes=strip",
                        path], capture_output=True, text=True, timeout=30)
    assert "relay to the backend" in r.stdout, r.stdout


# --------------------------------------------------------- header limits

def fields_message(n, size=None):
    """A message with n header fields in all; with size, the header
    section (every field with its CRLF) is exactly size bytes."""
    head = [b"From: <sender@example.org>", b"Subject: many fields"]
    rest = n - len(head)
    if size is None:
        head += [b"X-F%d: v" % i for i in range(rest)]
    else:
        used = sum(len(h) + 2 for h in head)
        each, extra = divmod(size - used, rest)
        for i in range(rest):
            name = b"X-F%05d: " % i
            fill = each + (1 if i < extra else 0) - len(name) - 2
            head.append(name + b"v" * fill)
    content = b"\r\n".join(head) + b"\r\n\r\nbody\r\n"
    if size is not None:
        assert content.index(b"\r\n\r\n") + 2 == size
    assert content.count(b"\r\n") - 2 == n
    return content


@pytest.mark.parametrize("how", ["data", "bdat"])
def test_max_header_fields(proxy, how):
    """No filter at all (empty chain): the limit still holds."""
    p, f = proxy()
    send = data if how == "data" else bdat
    exact = fields_message(1000)
    with p.client() as c:
        c.ehlo()
        assert send(c, exact).code == 250
        r = send(c, fields_message(1001))
        assert_reply(r, 552, "5.3.4")
        assert "header fields" in r.text and "1000" in r.text, r
        # far more than the limit: still read to its end
        r = send(c, fields_message(200000))
        assert_reply(r, 552, "5.3.4")
        good = still_serving(c, f, "fields-" + how)
    assert [m.content for m in f.messages()] == [exact, good]


@pytest.mark.parametrize("how", ["data", "bdat"])
def test_max_header_total(proxy, how):
    p, f = proxy()
    send = data if how == "data" else bdat
    mib = 1024 * 1024
    exact = fields_message(1000, mib)
    with p.client() as c:
        c.ehlo()
        assert send(c, exact).code == 250
        r = send(c, fields_message(1000, mib + 1))
        assert_reply(r, 552, "5.3.4")
        assert "header section" in r.text, r
        good = still_serving(c, f, "total-" + how)
    assert [m.content for m in f.messages()] == [exact, good]


def test_header_limits_configured_with_filters(proxy, rules_file):
    """Configured limits, with a content filter running."""
    p, f = proxy(**{"filters.chain": "regex", "regex.rules": rules_file,
                    "proxy.max_header_fields": "10",
                    "proxy.max_header_total": "2k"})
    with p.client() as c:
        c.ehlo()
        assert data(c, fields_message(10)).code == 250
        assert_reply(data(c, fields_message(11)), 552, "5.3.4")
        assert data(c, fields_message(10, 2048)).code == 250
        assert_reply(data(c, fields_message(10, 2049)), 552, "5.3.4")
        still_serving(c, f, "configured")
    assert f.count() == 3


def test_header_limits_in_dry_run(postern_bin, workdir):
    path = os.path.join(workdir, "fields.eml")
    with open(path, "wb") as fp:
        fp.write(fields_message(1001).replace(b"\r\n", b"\n"))
    r = subprocess.run([postern_bin, "test", path], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "552 5.3.4" in r.stdout and "refused" in r.stdout, r.stdout


@pytest.mark.parametrize("field", [b"X-Pills: =?utf-8?q?=00?= viagra",
                                   b"X-Pills: =?utf-8?b?AA==?= viagra"],
                         ids=["q", "b"])
def test_encoded_nul_cannot_hide_a_header_from_rules(proxy, rules_file,
                                                     field):
    """An RFC 2047 encoded NUL is no NUL on the wire: the decoded value
    carries its length to every rule (header:* included)."""
    msg = make_message("x", ["body"], [field.decode()])
    p, f = proxy(**{"filters.chain": "regex", "regex.rules": rules_file})
    with p.client() as c:
        c.ehlo()
        r = data(c, msg)
        assert_reply(r, 550, "5.7.1")
        assert "anywhere" in r.text, r
        still_serving(c, f, "encoded-nul")
    assert f.count() == 1


# ------------------------------------------------- postern check memory

def check(postern_bin, *opts):
    argv = [postern_bin, "check"]
    for o in opts:
        argv += ["-o", o]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r


def per_conn_mib(out):
    line = [l for l in out.splitlines() if "per connection" in l]
    assert line, out
    return float(line[0].split("at most ")[1].split(" MiB")[0])


def test_check_prints_memory_per_connection(postern_bin):
    r = check(postern_bin, "proxy.max_connections=10", "filters.chain=")
    assert "for proxy.max_connections = 10" in r.stdout, r.stdout
    assert "physical memory" not in r.stderr, r.stderr
    plain = per_conn_mib(r.stdout)
    # the limits move it: a bigger header section, a filter keeping it
    more = per_conn_mib(check(postern_bin, "proxy.max_connections=10",
                              "proxy.max_header_total=16M",
                              "filters.chain=dkim_verify").stdout)
    assert more >= plain + 32, (plain, more)


def test_check_warns_over_physical_memory(postern_bin):
    r = check(postern_bin, "proxy.max_connections=1000000",
              "proxy.max_header_total=64M", "filters.chain=dkim_verify")
    assert "warning: that is more than the physical memory" in r.stderr, \
        r.stderr
    assert "configuration OK" in r.stdout


# ------------------------------------------------ a forged A-R with a NUL

def test_nul_cannot_hide_a_forged_authentication_results(proxy, spf_dns):
    """'Authentication-Results: \\x00ours; spf=pass' was kept (the NUL cut
    the value short of the authserv-id): refused by default, and with
    strip removed like any forged A-R claiming our id."""
    from test_spf import find_message, send_one, spf_opts
    forged = ["Authentication-Results: \x00mx.spf.example; spf=pass "
              "smtp.mailfrom=forged9@fail.spf.example"]
    opts = spf_opts(spf_dns, **{"proxy.authserv_id": "mx.spf.example"})
    p, f = proxy(**opts)
    r = send_one(p, "alice@pass-ip4.spf.example", "nul-ar",
                 extra_headers=forged)
    assert_reply(r, 554, "5.6.0")
    p, f = proxy(**dict(opts, **{"proxy.nul_bytes": "strip"}))
    r = send_one(p, "alice@pass-ip4.spf.example", "nul-ar-strip",
                 extra_headers=forged)
    assert r.code == 250, r
    m = find_message(f, "nul-ar-strip")
    assert b"forged9" not in m.content, m.content.decode()
    assert b"\x00" not in m.content
