# SPDX-License-Identifier: ISC
"""Backend replies are framed by CRLF only (RFC 5321 2.3.8, 4.2).  A bare
LF or CR inside a reply, a NUL, lines of one reply with different codes, a
reply nobody asked for or an over-long line is a backend protocol error:
the client gets 421 4.4.2 and the backend connection is closed.  It must
never shift the replies by one (a refused recipient answered 250), whether
the client pipelines or not."""
import pytest

import peers
from peers import ConnectionClosed, good_session, make_message

BAD = {
    # an echoed address with a bare LF: "250 ..." would become a reply
    "bare-lf": "550 5.1.1 <bad1\n250 2.1.5 x> unknown\r\n",
    "bare-cr": "550 5.1.1 <bad1\r250 2.1.5 x> unknown\r\n",
    "nul": "550 5.1.1 <bad1\x00250 2.1.5 x> unknown\r\n",
    "lf-ended": "550 5.1.1 <bad1> unknown\n",
    "codes-differ": "250-2.1.5 first line\r\n550 5.1.1 <bad1> unknown\r\n",
    # two replies to one command, in one write
    "extra-reply": "550 5.1.1 <bad1> unknown\r\n250 2.1.5 Ok\r\n",
    "long-line": "550 5.1.1 " + "x" * 5000 + "\r\n",
}

REFUSED = ("bad1", "bad2")
# where the client gets 421: at the bad reply, or (a well-formed reply
# followed by one nobody asked for) at the next command
FAILS_AT = {"extra-reply": "bad2"}


def _mta(bad):
    return {"rules": [
        {"verb": "RCPT", "contains": "bad1@", "reply": BAD[bad],
         "raw": True},
        {"verb": "RCPT", "contains": "bad2@",
         "reply": "550 5.1.1 <bad2@example.com> unknown"},
    ]}


def _check(replies, f, bad):
    """replies: [(what, Reply)] in the order the client got them."""
    for what, r in replies:
        for line in r.lines:
            assert not any(ch in line for ch in "\r\n\0"), (what, r)
        if what in REFUSED:
            assert r.code // 100 != 2, "refused %s answered %s" % (what, r)
    at = FAILS_AT.get(bad, "bad1")
    r = dict(replies).get(at)
    assert r is not None and (r.code, r.enhanced) == (421, "4.4.2"), replies
    assert [w for w, _ in replies][-1] == at, replies
    assert f.count() == 0, f.messages()


@pytest.mark.parametrize("bad", sorted(BAD))
def test_bad_backend_reply_one_by_one(proxy, bad):
    p, f = proxy(_mta(bad))
    replies = []
    with p.client() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@example.org>").code == 250
        for rc in ("bad1", "bad2", "good"):
            try:
                r = c.cmd("RCPT TO:<%s@example.com>" % rc)
            except (ConnectionClosed, OSError):
                break
            replies.append((rc, r))
            if r.code == 421:
                c.wait_closed(timeout=5)
                break
    _check(replies, f, bad)
    assert p.wait_log(r"backend protocol error")
    good_session(p.port, f, bad)


@pytest.mark.parametrize("bad", sorted(BAD))
def test_bad_backend_reply_pipelined(proxy, bad):
    p, f = proxy(_mta(bad))
    order = ["mail", "bad1", "bad2", "good", "data"]
    replies = []
    with p.client() as c:
        c.ehlo()
        c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<bad1@example.com>\r\n"
               "RCPT TO:<bad2@example.com>\r\nRCPT TO:<good@example.com>\r\n"
               "DATA\r\n")
        for what in order:
            try:
                r = c.reply(timeout=10)
            except (ConnectionClosed, OSError):
                break
            replies.append((what, r))
            if r.code == 421:
                c.wait_closed(timeout=5)
                break
            if r.code == 354:
                c.send(peers.stuff(make_message("shifted", ["x"])) +
                       b".\r\n")
                replies.append(("eom", c.reply(timeout=10)))
    assert replies and replies[0][0] == "mail" and replies[0][1].code == 250
    _check(replies[1:], f, bad)
    good_session(p.port, f, "pipelined-" + bad)


def test_backend_2xx_before_the_end_of_the_message(proxy):
    """A backend that says 250 to BDAT while postern is still sending the
    chunk has not got the message: the client gets 451, not that 250."""
    p, f = proxy({"rules": [{"verb": "BDAT", "raw": True,
                             "reply": "250 2.0.0 Ok: queued early\r\n"}]})
    # more than the socket buffers between postern and the backend hold
    content = make_message("early", ["%07d %s" % (i, "y" * 90)
                                     for i in range(250000)])
    assert len(content) > 23 * 1024 * 1024
    with p.client(timeout=60) as c:
        c.ehlo()
        r = c.send_message("a@example.org", ["b@example.com"], content)
        assert (r.code, r.enhanced) == (451, "4.4.2"), r
    assert p.wait_log(r"backend protocol error .*before the end")
