# SPDX-License-Identifier: ISC
"""Helpers the DKIM tests share: sending one message through postern,
finding it at the fake backend, reading header fields and our
Authentication-Results dkim= parts, key records (for dkimpy and for an
unbound on loopback that serves them)."""
import os
import re
import tempfile
import time

import peers
from peers import SmtpClient

AUTHSERV = "postern.test"       # peers.Postern's proxy.hostname


def mark():
    """A marker unique to one message of the run."""
    return "m%d" % time.monotonic_ns()


def txt_record_data(rec):
    """rec as the quoted strings of a TXT record (200 bytes each)."""
    chunks = [rec[i:i + 200] for i in range(0, len(rec), 200)] or [""]
    return " ".join('"%s"' % c.replace('"', '\\"') for c in chunks)


class KeyRecords:
    """Key records by owner name ("sel._domainkey.example.com"), in
    self.records: what dkimpy looks up and what unbound serves."""

    def dnsfunc(self, name, timeout=5):
        rec = self.records.get(name.decode().lower().rstrip("."))
        return rec.encode() if rec is not None else None

    def local_data(self):
        return ["%s. 300 IN TXT %s" % (n, txt_record_data(r))
                for n, r in sorted(self.records.items())]


def key_dns(workroot, keys, probe, prefix):
    """For a module-scope fixture (yield from it): an unbound on loopback
    serving keys' records, up once probe (a name) answers, stopped by PID
    after the module."""
    import conftest
    reg = conftest.Registry()
    d = tempfile.mkdtemp(prefix=prefix, dir=workroot)
    os.chmod(d, 0o755)
    try:
        yield reg.add(peers.Unbound(d, keys.local_data(),
                                    probe=(probe, "TXT")))
    finally:
        reg.stop_all()


def header_values(content, name):
    """The values of every header field called name, unfolded."""
    head = content.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    fields = []
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + " " + line.strip())
        elif ":" in line:
            n, v = line.split(":", 1)
            fields.append((n, v.strip()))
    return [v for n, v in fields if n.lower() == name.lower()]


def method_results(content, method):
    """[(result, comment, {prop: value})] of the method= parts (dkim,
    arc ...) of our A-R."""
    out = []
    for v in header_values(content, "Authentication-Results"):
        parts = [p.strip() for p in v.split(";")]
        if parts[0].split()[0].lower() != AUTHSERV:
            continue
        for p in parts[1:]:
            m = re.match(r"%s=(\w+)\s*(?:\(([^)]*)\))?(.*)$" % method, p)
            if m:
                props = dict(re.findall(r"([\w.-]+)=(\S+)", m.group(3)))
                out.append((m.group(1), m.group(2), props))
    return out


def dkim_results(content):
    return method_results(content, "dkim")


def send_timed(port, msg, sender):
    """One transaction on port: (the reply to the end of data, seconds it
    took to come)."""
    with SmtpClient(port) as c:
        assert c.greeting.code == 220, c.greeting
        assert c.ehlo().code == 250
        assert c.cmd("MAIL FROM:<%s>" % sender).code == 250
        assert c.cmd("RCPT TO:<rcpt@example.com>").code == 250
        assert c.cmd("DATA").code == 354
        t0 = time.monotonic()
        c.send(peers.stuff(msg) + b".\r\n")
        r = c.reply()
        took = time.monotonic() - t0
        c.cmd("QUIT")
    return r, took


def send_message(port, msg, sender):
    return send_timed(port, msg, sender)[0]


def delivered(f, marker, timeout=10):
    """The message carrying marker at fake backend f (waits)."""
    def find():
        for m in f.messages():
            if m.content and marker.encode() in m.content:
                return m
        return None
    return peers.wait_for(find, timeout, what="message %s" % marker)
