# SPDX-License-Identifier: ISC
"""postern test: one message through the filter chain, offline."""
import os
import subprocess

MESSAGE = (b"From: Alice <alice@example.org>\n"
           b"To: bob@example.com\n"
           b"Subject: dry run\n"
           b" folded\n"
           b"\n"
           b"Hello.\n"
           b".a line with a dot\n")


def run(postern_bin, workdir, *args):
    path = os.path.join(workdir, "msg.eml")
    with open(path, "wb") as fp:
        fp.write(MESSAGE)
    r = subprocess.run([postern_bin, "test"] + list(args) + [path],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def line(out, start):
    found = [l for l in out.splitlines() if l.startswith(start)]
    assert found, "no line starting %r in:\n%s" % (start, out)
    return " ".join(found[0].split())


def test_no_filters_relays_and_counts_content(postern_bin, workdir):
    rc, out, err = run(postern_bin, workdir, "--from", "alice@example.org",
                       "--rcpt", "bob@example.com")
    assert rc == 0, err
    assert line(out, "connect 127.0.0.1") == "connect 127.0.0.1 continue"
    assert line(out, "mail from:") == "mail from:<alice@example.org> continue"
    # three header fields (one folded); LF line ends counted as CRLF
    size = len(MESSAGE) + MESSAGE.count(b"\n")
    assert line(out, "content") == "content 3 header fields, %d bytes" % size
    assert line(out, "action") == "action relay to the backend"


def test_denied_client(postern_bin, workdir):
    rc, out, err = run(postern_bin, workdir, "-o", "filters.chain=iplist",
                       "-o", "iplist.deny=192.0.2.0/24",
                       "--client", "192.0.2.7")
    assert rc == 0, err
    assert line(out, "connect") == ("connect 192.0.2.7 reject: 554 5.7.1 "
                                    "Client 192.0.2.7 is on the deny list")
    assert "mail from" not in out
    assert line(out, "filter results") == ("filter results "
                                           "iplist=deny(iplist.deny)")
    assert line(out, "action") == "action refused"


def test_allowed_client_and_denied_sender(postern_bin, workdir):
    opts = ["-o", "filters.chain=iplist", "-o", "iplist.allow=2001:db8::/32",
            "-o", "iplist.sender_deny=.bad.example"]
    rc, out, err = run(postern_bin, workdir, *opts, "--client",
                       "2001:db8::25", "--from", "x@mx.bad.example")
    assert rc == 0, err
    assert line(out, "connect") == "connect 2001:db8::25 accept"
    assert line(out, "mail from") == "mail from:<x@mx.bad.example> continue"
    assert line(out, "action") == "action relay to the backend"
    rc, out, err = run(postern_bin, workdir, *opts, "--client",
                       "198.51.100.1", "--from", "x@mx.bad.example")
    assert line(out, "mail from") == (
        "mail from:<x@mx.bad.example> reject: 550 5.7.1 "
        "Sender <x@mx.bad.example> is on the deny list")
    assert line(out, "action") == "action refused"


def test_bad_client_address_and_missing_file(postern_bin, workdir):
    rc, out, err = run(postern_bin, workdir, "--client", "not-an-ip")
    assert rc == 1 and "not-an-ip: not an IP address" in err
    r = subprocess.run([postern_bin, "test", "/nonexistent/msg.eml"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "/nonexistent/msg.eml: No such file or directory" in r.stderr
