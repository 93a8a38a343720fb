#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""header_fields.py - relay messages with many header fields, half of them
cut by postern, and time them.

Used by the bench (scripts/bench/).  For each --fields N, sends one message through
postern at --host:--port whose header holds N fields: N/2 forged
Authentication-Results claiming --authserv-id (postern removes them when
a FILTER_AUTHRES filter such as spf is in its chain), each followed by a
field that stays.  That is N/2 cuts in the spool, interleaved with kept
bytes, which is what a filter that removes fields makes postern walk.
The time runs from the first byte of content to the reply after the final
dot (intake, filter feed, replay to the backend and its reply).  All the
while a second client connects again and again and times its greeting:
the longest wait shows how long postern's loop was held.

Each size runs --reps times (the first always, the rest while --budget
seconds are not used up); one line per size, with the fastest of the runs
(the least disturbed by other load on the machine):

  fields=10000 cut=5000 bytes=502345 runs=3 seconds=0.052
  us_per_field=5.21 max_greeting_ms=12.3 probes=4

and, last, "ratio=R" with R the per-field time of the largest size over
that of the smallest (flat, about 1, when the cost is linear).  Every
wait is bounded (socket operations by --timeout).

Exit status: 0 every message got 250, 2 one did not (error= on its
line), 1 bad usage.
"""

import argparse
import socket
import sys
import threading
import time

from benchlib import SmtpError, reply


def content(n, authserv_id):
    """The message: n header fields, every other one a forged result."""
    aid = authserv_id.encode()
    head = b"".join(
        b"Authentication-Results: %s; spf=pass smtp.mailfrom=forged%d@"
        b"example.org\r\nX-Kept: %d\r\n" % (aid, i, i)
        for i in range(n // 2))
    return head + b"Subject: header fields\r\n\r\nbody\r\n.\r\n"


def probes(args, stop, waits):
    """Time greetings until stop is set; failures count as the timeout."""
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            with socket.create_connection((args.host, args.port),
                                          timeout=args.timeout) as s:
                reply(s.makefile("rb"), b"220")
        except (OSError, SmtpError):
            waits.append(args.timeout)
            return
        waits.append(time.monotonic() - t0)
        stop.wait(0.02)


def relay(args, msg):
    """One transaction carrying msg; (seconds, greeting waits)."""
    stop = threading.Event()
    waits = []
    with socket.create_connection((args.host, args.port),
                                  timeout=args.timeout) as s:
        f = s.makefile("rb")
        reply(f, b"220")
        for cmd, want in ((b"EHLO bench.client", b"250"),
                          (b"MAIL FROM:<bench@example.org>", b"250"),
                          (b"RCPT TO:<sink@example.com>", b"250"),
                          (b"DATA", b"354")):
            s.sendall(cmd + b"\r\n")
            reply(f, want)
        t = threading.Thread(target=probes, args=(args, stop, waits))
        t.start()
        try:
            t0 = time.monotonic()
            s.sendall(msg)
            reply(f, b"250")
            took = time.monotonic() - t0
        finally:
            stop.set()
            t.join(args.timeout + 5)
        s.sendall(b"QUIT\r\n")
    return took, waits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--fields", type=int, action="append", required=True)
    ap.add_argument("--authserv-id", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--budget", type=float, default=60)
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    start = time.monotonic()
    per_field = []
    for n in args.fields:
        msg = content(n, args.authserv_id)
        secs, worst, nprobes = [], 0.0, 0
        for rep in range(args.reps):
            if rep > 0 and time.monotonic() - start > args.budget:
                break
            try:
                took, waits = relay(args, msg)
            except (OSError, SmtpError) as e:
                print("fields=%d error=%s" % (n, str(e).replace(" ", "_")))
                return 2
            secs.append(took)
            worst = max([worst] + waits)
            nprobes += len(waits)
        sec = min(secs)
        per_field.append(sec * 1e6 / n)
        print("fields=%d cut=%d bytes=%d runs=%d seconds=%.3f "
              "us_per_field=%.2f max_greeting_ms=%.1f probes=%d"
              % (n, n // 2, len(msg), len(secs), sec, per_field[-1],
                 worst * 1e3, nprobes))
        sys.stdout.flush()
    print("ratio=%.2f" % (per_field[-1] / per_field[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
