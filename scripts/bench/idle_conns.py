#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""idle_conns.py - hold N idle SMTP connections open and measure a server's RSS.

Used by the bench (scripts/bench/).  Opens --count TCP connections to --host:--port
with non-blocking sockets (at most --pending connects in flight at a time),
waits until every one of them has received a complete 220 greeting (for a
proxy such as postern that means its backend connection exists too), lets
the server settle, and reads VmRSS of --pid from /proc before and after.
Then it closes every connection and prints one line of key=value pairs:

  count=5000 greeted=5000 failed=0 rss_before_kib=... rss_after_kib=...
  per_conn_kib=... elapsed_s=...

Exit status: 0 all greeted, 2 some connections failed or timed out,
1 bad usage or the process to measure is gone.  Every wait is bounded by
--timeout seconds.
"""

import argparse
import errno
import resource
import selectors
import socket
import sys
import time

from benchlib import vm_kib


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--pid", type=int, required=True,
                    help="process whose VmRSS is measured")
    ap.add_argument("--pending", type=int, default=256,
                    help="max connects/greetings in flight at once")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds to wait before the second RSS reading")
    a = ap.parse_args()

    if vm_kib(a.pid, "VmRSS") is None:
        print(f"idle_conns: no process {a.pid}", file=sys.stderr)
        return 1
    limit = raise_nofile(a.count + 64)
    if limit < a.count + 16:
        print(f"idle_conns: RLIMIT_NOFILE {limit} too low for {a.count}",
              file=sys.stderr)
        return 1

    time.sleep(a.settle)
    before = vm_kib(a.pid, "VmRSS")
    start = time.monotonic()
    deadline = start + a.timeout

    sel = selectors.DefaultSelector()
    bufs = {}          # socket -> bytes received so far (greeting pending)
    greeted = []       # sockets that have a complete 220 greeting
    failed = 0
    opened = 0
    reasons = {}

    def fail(s, why):
        nonlocal failed
        failed += 1
        reasons[why] = reasons.get(why, 0) + 1
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass
        bufs.pop(s, None)
        s.close()

    while (opened < a.count or bufs) and time.monotonic() < deadline:
        while opened < a.count and len(bufs) < a.pending:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            opened += 1
            rc = s.connect_ex((a.host, a.port))
            if rc not in (0, errno.EINPROGRESS):
                fail(s, errno.errorcode.get(rc, str(rc)))
                continue
            bufs[s] = b""
            sel.register(s, selectors.EVENT_READ)
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError as e:
                fail(s, errno.errorcode.get(e.errno, str(e.errno)))
                continue
            if not data:
                fail(s, "closed-before-greeting")
                continue
            buf = bufs[s] + data
            # A greeting is complete at a line "NNN<SP>..." (not "NNN-").
            done = None
            for line in buf.split(b"\r\n")[:-1]:
                if len(line) >= 4 and line[3:4] != b"-":
                    done = line[:3]
                    break
            if done is None:
                if len(buf) > 8192:
                    fail(s, "greeting-too-long")
                else:
                    bufs[s] = buf
                continue
            if done != b"220":
                fail(s, "greeting-" + done.decode("ascii", "replace"))
                continue
            sel.unregister(s)
            del bufs[s]
            greeted.append(s)

    for s in list(bufs):
        fail(s, "timeout")
    elapsed = time.monotonic() - start

    # Let the server finish whatever it does after the greeting, then read.
    time.sleep(a.settle)
    after = vm_kib(a.pid, "VmRSS")
    # Still open?  A peer close shows up as a readable socket with EOF.
    dropped = 0
    for s in greeted:
        s.setblocking(False)
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                dropped += 1
        except BlockingIOError:
            pass
        except OSError:
            dropped += 1
    for s in greeted:
        s.close()
    sel.close()

    held = len(greeted) - dropped
    per = ((after - before) / held) if (after is not None and held) else None
    fields = [
        f"count={a.count}", f"greeted={len(greeted)}", f"dropped={dropped}",
        f"failed={failed}",
        f"rss_before_kib={before}", f"rss_after_kib={after}",
        "per_conn_kib=" + (f"{per:.2f}" if per is not None else "none"),
        f"elapsed_s={elapsed:.2f}",
    ]
    if reasons:
        fields.append("reasons=" + ",".join(f"{k}:{v}"
                                            for k, v in sorted(reasons.items())))
    print(" ".join(fields), flush=True)
    if after is None:
        return 1
    return 0 if (len(greeted) == a.count and dropped == 0) else 2


if __name__ == "__main__":
    sys.exit(main())
