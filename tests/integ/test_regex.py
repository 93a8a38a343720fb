# SPDX-License-Identifier: ISC
"""The regex filter through the running proxy: each field and action, MIME
and RFC 2047 decoding, scores, tags, the match limit, rule errors, and the
shipped default rule set on ordinary and spammy mail."""
import base64
import os
import subprocess

import pytest

import peers
from peers import SmtpClient, make_message

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RULES = os.path.join(HERE, "..", "..", "rules", "default.rules")

RULES = r"""
# test rules
CONN_9		connect		/^127\.0\.0\.9$/		reject
HELO_BAD	helo		/^bad\.example$/		tempfail
MAIL_SPAM	mail		/@spam\.example$/i		reject 553 5.7.1 "go away"
RCPT_TRAP	rcpt		/^trap@/			discard
MAIL_VIP	mail		/^vip@/				accept
SUBJ_CASINO	header:Subject	/\bcasino\b/i			reject
ANY_BULK	header:*	/^X-Mailer: .*EvilBulk/i	tag "X-Postern-Rule: ANY_BULK"
BODY_PILLS	body		/\bviagra\b/i			score 6
BODY_HINT	body		/\bcheap\b/i			score 2
CATASTROPHE	body		/^(a+)+$/m			reject 554 5.7.1 "never"
RAW_EXE		raw		/^Content-Type: application\/x-msdownload/mi	reject 554 5.7.1 "no executables"
"""


@pytest.fixture
def rules_file(workdir):
    path = os.path.join(workdir, "test.rules")
    with open(path, "w") as fp:
        fp.write(RULES)
    return path


def regex_proxy(proxy, rules, **opts):
    o = {"filters.chain": "regex", "regex.rules": rules}
    o.update(opts)
    return proxy(**o)


def send(p, content, sender="alice@example.org", rcpts=("bob@example.com",),
         source=None):
    with SmtpClient(p.port, source=source) as c:
        c.ehlo()
        return c.send_message(sender, list(rcpts), content)


def test_connect_and_helo_rules(proxy, rules_file):
    p, f = regex_proxy(proxy, rules_file)
    with SmtpClient(p.port, source="127.0.0.9") as c:
        assert c.greeting.code == 554, c.greeting
        assert "CONN_9" in c.greeting.text
    with SmtpClient(p.port) as c:
        r = c.cmd("EHLO bad.example")
        assert r.code == 451 and "4.7.1" in r.text and "HELO_BAD" in r.text
        assert c.cmd("EHLO good.example").code == 250


def test_mail_rule_with_its_own_reply(proxy, rules_file):
    p, f = regex_proxy(proxy, rules_file)
    with SmtpClient(p.port) as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<x@SPAM.example>")
        assert (r.code, r.text) == (553, "5.7.1 go away"), r


def test_rcpt_discard_accepts_and_drops(proxy, rules_file):
    p, f = regex_proxy(proxy, rules_file)
    r = send(p, make_message("to the trap", ["hello"]),
             rcpts=("trap@example.com",))
    assert r.code == 250, r
    p.wait_log(r"action=discarded")
    assert f.count() == 0


def test_encoded_subject_is_decoded(proxy, rules_file):
    p, f = regex_proxy(proxy, rules_file)
    subj = "=?utf-8?B?%s?=" % base64.b64encode(b"Best CASINO deals").decode()
    r = send(p, make_message(subj, ["hi"]))
    assert r.code == 550 and "SUBJ_CASINO" in r.text, r
    assert f.count() == 0


def test_quoted_printable_body_is_decoded_and_scored(proxy, rules_file):
    p, f = regex_proxy(proxy, rules_file)
    content = (b"From: a@example.org\r\nTo: b@example.com\r\n"
               b"Subject: hello\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: text/plain; charset=us-ascii\r\n"
               b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
               b"buy vi=61gra=\r\n today\r\n")
    r = send(p, content)
    assert r.code == 554 and "score 6.0" in r.text, r
    assert "BODY_PILLS" in r.text
    assert f.count() == 0


def test_base64_part_in_multipart(proxy, rules_file):
    p, f = regex_proxy(proxy, rules_file, **{"regex.score_action": "tag"})
    text = base64.b64encode(b"cheap viagra here\r\n").decode()
    content = ("From: a@example.org\r\nTo: b@example.com\r\n"
               "Subject: hello\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/alternative; boundary=\"XX\"\r\n\r\n"
               "--XX\r\nContent-Type: text/plain\r\n"
               "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
               "--XX--\r\n" % text).encode()
    r = send(p, content)
    assert r.code == 250, r
    (m,) = f.wait_count(1)
    assert m.content == (b"X-Spam-Status: Yes, score=8.0 required=5.0 "
                         b"tests=BODY_PILLS,BODY_HINT\r\n"
                         b"X-Spam-Flag: YES\r\n" + content), m.content[:200]
    p.wait_log(r"regex=score=8\.0\(BODY_PILLS,BODY_HINT\)")


def test_tag_rule_adds_a_header_on_top(proxy, rules_file):
    p, f = regex_proxy(proxy, rules_file)
    content = (b"X-Mailer: EvilBulk 2.0\r\nFrom: a@example.org\r\n"
               b"Subject: news\r\n\r\nnothing to see\r\n")
    r = send(p, content)
    assert r.code == 250, r
    (m,) = f.wait_count(1)
    assert m.content == (b"X-Spam-Status: No, score=0.0 required=5.0 "
                         b"tests=none\r\n"
                         b"X-Postern-Rule: ANY_BULK\r\n" + content)


def test_accept_skips_the_rest_of_the_message(proxy, rules_file):
    p, f = regex_proxy(proxy, rules_file)
    r = send(p, make_message("casino night", ["viagra"]),
             sender="vip@example.org")
    assert r.code == 250, r
    f.wait_count(1)


def test_raw_rule(proxy, rules_file):
    p, f = regex_proxy(proxy, rules_file)
    content = (b"From: a@example.org\r\nSubject: file\r\n"
               b"Content-Type: application/x-msdownload\r\n\r\nMZ\r\n")
    r = send(p, content)
    assert (r.code, r.text) == (554, "5.7.1 no executables"), r


def test_catastrophic_pattern_is_bounded(proxy, rules_file):
    p, f = regex_proxy(proxy, rules_file)
    r = send(p, make_message("aaa", ["a" * 5000 + "b"]))
    assert r.code == 250, r
    f.wait_count(1)
    p.wait_log(r"rule CATASTROPHE: .*limit.*counted as no match")


def _check(postern_bin, rules):
    r = subprocess.run([postern_bin, "check", "-o", "filters.chain=regex",
                        "-o", "regex.rules=" + rules],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def test_rule_errors_name_file_and_line(postern_bin, workdir):
    bad = os.path.join(workdir, "bad.rules")
    with open(bad, "w") as fp:
        fp.write("# ok\nGOOD body /x/ score 1\nBROKEN body /(unclosed/ "
                 "score 1\n")
    rc, out = _check(postern_bin, bad)
    assert rc == 1, out
    assert "%s:3: rule BROKEN: bad pattern at offset" % bad in out, out
    with open(bad, "w") as fp:
        fp.write("GOOD body /x/ scor 1\n")
    rc, out = _check(postern_bin, bad)
    assert rc == 1 and "%s:1: " % bad in out, out


def test_default_rules_pass_ordinary_mail(proxy):
    p, f = regex_proxy(proxy, DEFAULT_RULES)
    ordinary = make_message("Minutes of Tuesday's meeting", [
        "Hi all,", "", "attached are the minutes. Please verify your",
        "figures before Friday; the budget review is next week.", "",
        "Thanks, Alice"])
    r = send(p, ordinary)
    assert r.code == 250, r
    f.wait_count(1)
    p.wait_log(r'filters="regex=score=0\.0"')


def test_default_rules_refuse_spam_and_eicar(proxy):
    p, f = regex_proxy(proxy, DEFAULT_RULES)
    spam = make_message("Cheap Viagra and Cialis", [
        "Buy viagra online, no prescription."])
    r = send(p, spam)
    assert r.code == 554 and "SUBJ_PHARMA" in r.text, r
    eicar = make_message("test", [
        r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"])
    r = send(p, eicar)
    assert r.code == 554 and "EICAR" in r.text, r
    assert f.count() == 0


def test_allow_listed_client_skips_the_rules(proxy, rules_file):
    """iplist before regex: an allow-listed client's message is not
    matched at all; the same message from another client is refused."""
    p, f = proxy(**{"filters.chain": "iplist regex",
                    "iplist.allow": "127.0.0.5", "regex.rules": rules_file})
    spam = make_message("casino", ["cheap viagra"])
    r = send(p, spam, source="127.0.0.5")
    assert r.code == 250, r
    f.wait_count(1)
    p.wait_log(r'client=127\.0\.0\.5 .*filters="iplist=allow\(iplist\.allow\)"')
    r = send(p, spam, source="127.0.0.1")
    assert r.code == 550 and "SUBJ_CASINO" in r.text, r


def _ham_corpus():
    """Ordinary messages that ship with the test dependencies: dkimpy's
    test messages and the RFC 8463 example."""
    import dkim
    data = os.path.join(os.path.dirname(dkim.__file__), "tests", "data")
    files = sorted(os.path.join(data, n) for n in os.listdir(data)
                   if n.endswith((".msg", ".message")))
    files.append(os.path.join(HERE, "..", "..", "..", "shared", "testdata",
                              "rfc8463", "rfc8463-signed.eml"))
    return [f for f in files if os.path.exists(f)]


def test_default_rules_leave_ham_alone(postern_bin):
    corpus = _ham_corpus()
    assert len(corpus) >= 5, corpus
    for path in corpus:
        r = subprocess.run([postern_bin, "test", "-o", "filters.chain=regex",
                            "-o", "regex.rules=" + DEFAULT_RULES,
                            "--client", "192.0.2.25", "--helo",
                            "mail.example.com", "--from", "a@example.com",
                            "--rcpt", "b@example.org", path],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, (path, r.stderr)
        assert "action                       relay to the backend" in \
            r.stdout, (path, r.stdout)
        assert "regex=score=0.0" in r.stdout, (path, r.stdout)


def test_header_field_over_max_header_size(proxy, rules_file):
    """proxy.max_header_size bounds the header parser content filters
    read through: a longer field refuses the message with 552 5.3.4."""
    p, f = regex_proxy(proxy, rules_file, max_header_size="1k")
    long_subject = "x" * 2000
    r = send(p, make_message(long_subject, ["body"]))
    assert r.code == 552 and r.text.startswith("5.3.4"), r
    r = send(p, make_message("short enough", ["body"]))
    assert r.code == 250, r
    f.wait_count(1)


def test_body_scan_max(proxy, rules_file):
    """Only the first regex.body_scan_max bytes of the body are matched."""
    p, f = regex_proxy(proxy, rules_file, **{"regex.body_scan_max": "1k"})
    filler = ["filler line number %04d" % i for i in range(200)]
    late = send(p, make_message("late", filler + ["viagra"]))
    assert late.code == 250, late
    early = send(p, make_message("early", ["viagra"] + filler))
    assert early.code == 554 and "BODY_PILLS" in early.text, early
    assert f.count() == 1


def test_score_header_under_the_threshold(proxy, rules_file):
    p, f = regex_proxy(proxy, rules_file)
    content = make_message("deal", ["a cheap offer"])
    assert send(p, content).code == 250
    (m,) = f.wait_count(1)
    assert m.content == (b"X-Spam-Status: No, score=2.0 required=5.0 "
                         b"tests=BODY_HINT\r\n" + content), m.content[:200]


def test_senders_own_verdict_is_removed(proxy, rules_file):
    """A spammer's own X-Spam-Status: No and X-Spam-Flag: NO go; ours is
    the only verdict the backend and the reader see."""
    p, f = regex_proxy(proxy, rules_file, **{"regex.score_action": "tag"})
    body = (b"From: a@example.org\r\nX-Spam-Status: No, score=-100.0 "
            b"required=5.0 tests=NONE\r\nSubject: pills\r\n"
            b"x-spam-flag: NO\r\nX-Spam-Status: No\r\n\r\n"
            b"cheap viagra\r\n")
    assert send(p, body).code == 250
    (m,) = f.wait_count(1)
    assert m.content == (b"X-Spam-Status: Yes, score=8.0 required=5.0 "
                         b"tests=BODY_PILLS,BODY_HINT\r\n"
                         b"X-Spam-Flag: YES\r\n"
                         b"From: a@example.org\r\nSubject: pills\r\n\r\n"
                         b"cheap viagra\r\n"), m.content


def test_score_header_off(proxy, rules_file):
    p, f = regex_proxy(proxy, rules_file, **{"regex.score_header": ""})
    content = make_message("deal", ["a cheap offer"])
    assert send(p, content).code == 250
    (m,) = f.wait_count(1)
    assert m.content == content
