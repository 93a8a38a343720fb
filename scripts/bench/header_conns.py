#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""header_conns.py - the worst case per connection: N sessions each in the
middle of a message with the biggest header section postern lets through,
and a server's RSS before and after.

Used by the bench (scripts/bench/).  Opens --count SMTP sessions to --host:--port one
after the other; each sends EHLO, MAIL, RCPT, DATA, then a header section
of --fields fields and --total bytes (every field with its CRLF, the
limits proxy.max_header_fields and max_header_total allow), the empty line
and one body line, and stays there (no end of data), so everything
postern keeps for the message stays held.  When VmRSS of --pid has not
moved for a second, it is read again, every session is closed, and one
line of key=value pairs is printed:

  count=20 held=20 fields=1000 total=1048575 rss_before_kib=...
  rss_after_kib=... per_conn_kib=... elapsed_s=...

Exit status: 0 every session held, 2 some failed, 1 bad usage or the
process to measure is gone.  Every wait is bounded by --timeout seconds.
"""

import argparse
import socket
import sys
import time

from benchlib import vm_kib


def header(fields, total):
    """fields header fields, total bytes in all (CRLFs included)."""
    head = [b"From: <bench@example.org>", b"Subject: header limits"]
    rest = fields - len(head)
    each, extra = divmod(total - sum(len(h) + 2 for h in head), rest)
    for i in range(rest):
        name = b"X-Bench-%05d: " % i
        head.append(name + b"v" * (each + (i < extra) - len(name) - 2))
    data = b"\r\n".join(head) + b"\r\n"
    assert len(data) == total, (len(data), total)
    return data


def reply(s, deadline):
    """One SMTP reply; its code, or None."""
    buf = b""
    while time.monotonic() < deadline:
        for line in buf.split(b"\r\n")[:-1]:
            if len(line) >= 4 and line[3:4] == b" ":
                return int(line[:3])
        s.settimeout(max(0.1, deadline - time.monotonic()))
        data = s.recv(4096)
        if not data:
            return None
        buf += data
    return None


def session(a, content, deadline):
    s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    steps = [(None, 220), (b"EHLO bench.example\r\n", 250),
             (b"MAIL FROM:<bench@example.org>\r\n", 250),
             (b"RCPT TO:<rcpt@example.com>\r\n", 250), (b"DATA\r\n", 354)]
    for cmd, want in steps:
        if cmd is not None:
            s.sendall(cmd)
        if reply(s, deadline) != want:
            s.close()
            return None
    s.sendall(content)
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--fields", type=int, default=1000)
    ap.add_argument("--total", type=int, default=1024 * 1024 - 1)
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()

    if vm_kib(a.pid) is None:
        print("header_conns: no process %d" % a.pid, file=sys.stderr)
        return 1
    content = header(a.fields, a.total) + b"\r\nbody\r\n"
    before = vm_kib(a.pid)
    start = time.monotonic()
    deadline = start + a.timeout
    held = []
    for _ in range(a.count):
        try:
            s = session(a, content, deadline)
        except OSError:
            s = None
        if s is not None:
            held.append(s)
    # settled: VmRSS unchanged for a second (postern has read it all)
    last, still = None, 0
    while still < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
        now = vm_kib(a.pid)
        still = still + 1 if now == last else 0
        last = now
    after = vm_kib(a.pid)
    for s in held:
        s.close()
    if after is None:
        print("header_conns: process %d gone" % a.pid, file=sys.stderr)
        return 1
    per = "%.0f" % ((after - before) / len(held)) if held else "none"
    print("count=%d held=%d fields=%d total=%d rss_before_kib=%d "
          "rss_after_kib=%d per_conn_kib=%s elapsed_s=%.1f" % (
              a.count, len(held), a.fields, a.total, before, after, per,
              time.monotonic() - start))
    return 0 if len(held) == a.count else 2


if __name__ == "__main__":
    sys.exit(main())
