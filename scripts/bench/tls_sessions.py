#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""tls_sessions.py - open many short SMTP sessions, with or without TLS.

Used by the bench (scripts/bench/).  Runs --count sessions against --host:--port,
--sessions of them at a time, and prints one line of key=value pairs:

  sessions=2000 seconds=1.234 rate=1620.7 client_cpu_s=0.81 reused=0
  messages=0 errors=0 first_error=-

Each session is, by --mode:
  plain     greeting, EHLO, QUIT
  starttls  greeting, EHLO, STARTTLS, handshake, EHLO, QUIT (RFC 3207)
  implicit  handshake, greeting, EHLO, QUIT (RFC 8314)
and with --message BYTES, one message of that many bytes (MAIL, RCPT,
DATA) before QUIT.  With --proxy ADDR every connection starts with a PROXY
protocol v1 header naming ADDR (IPv4) as the client, or with --proxy-vary
ADDR plus the session's number (0, 1, ... across all processes): a new
client address each time.  Every handshake is a full one: no session is offered
for resumption (reused= counts any the server resumed anyway).  The
certificate is not checked: the server's cost is the same, and the client
stays cheaper.

Concurrency: min(--sessions, cores) processes, with threads that
share the sessions between them (blocking sockets; OpenSSL and socket
calls release the GIL).  client_cpu_s is the CPU time of those processes,
to compare with the server's: a client that spends about as much as the
server may be what limits the rate.  Every wait is bounded: each socket
operation by 10 s, the whole run by --timeout.

Exit status: 0 every session completed, 2 some failed (errors=, first
error), 1 bad usage.
"""

import argparse
import ipaddress
import multiprocessing
import os
import resource
import socket
import ssl
import sys
import threading
import time

from benchlib import SmtpError, reply

IO_TIMEOUT = 10


def command(sock, f, line, want):
    sock.sendall(line)
    reply(f, want)


def message(sock, f, body):
    command(sock, f, b"MAIL FROM:<bench@example.com>\r\n", b"250")
    command(sock, f, b"RCPT TO:<sink@example.com>\r\n", b"250")
    command(sock, f, b"DATA\r\n", b"354")
    command(sock, f, body + b".\r\n", b"250")


def session(args, ctx, body, k):
    """Session number k; True if the server resumed a TLS session."""
    sock = socket.create_connection((args.host, args.port), IO_TIMEOUT)
    try:
        if args.proxy is not None:
            src = args.proxy + (k if args.proxy_vary else 0)
            sock.sendall(b"PROXY TCP4 %s 127.0.0.1 40000 25\r\n" %
                         str(src).encode())
        if args.mode == "implicit":
            sock = ctx.wrap_socket(sock)
        f = sock.makefile("rb")
        reply(f, b"220")
        command(sock, f, b"EHLO bench.client\r\n", b"250")
        if args.mode == "starttls":
            command(sock, f, b"STARTTLS\r\n", b"220")
            sock = ctx.wrap_socket(sock)
            f = sock.makefile("rb")
            command(sock, f, b"EHLO bench.client\r\n", b"250")
        if body is not None:
            message(sock, f, body)
        command(sock, f, b"QUIT\r\n", b"221")
        return args.mode != "plain" and sock.session_reused
    finally:
        sock.close()


def worker(args, first, count, start, conn):
    """One process: count sessions numbered from first, args.threads at
    a time; sends (done, messages, reused, errors, first error, end time)
    to conn."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    body = None
    if args.message is not None:
        line = b"x" * 62 + b"\r\n"
        body = (b"From: <bench@example.com>\r\nTo: <sink@example.com>\r\n"
                b"Subject: tls bench\r\n\r\n")
        body += line * max(0, (args.message - len(body)) // len(line))
    jobs = iter(range(first, first + count))
    lock = threading.Lock()
    st = {"done": 0, "reused": 0, "errors": 0, "first": "-"}
    deadline = start + args.timeout

    def run():
        while time.monotonic() < deadline:
            with lock:
                k = next(jobs, None)
            if k is None:
                return
            try:
                r = session(args, ctx, body, k)
            except (OSError, SmtpError) as e:
                with lock:
                    st["errors"] += 1
                    if st["first"] == "-":
                        st["first"] = ("%s:%s" % (type(e).__name__, e))
                continue
            with lock:
                st["done"] += 1
                st["reused"] += bool(r)

    threads = [threading.Thread(target=run, daemon=True)
               for _ in range(args.threads)]
    time.sleep(max(0.0, start - time.monotonic()))
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.1, deadline + IO_TIMEOUT - time.monotonic()))
    msgs = st["done"] if body is not None else 0
    conn.send((st["done"], msgs, st["reused"], st["errors"], st["first"],
               time.monotonic()))
    conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=("plain", "starttls", "implicit"),
                    required=True)
    ap.add_argument("--message", type=int, help="bytes; no message if unset")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=50)
    ap.add_argument("--proxy", type=ipaddress.IPv4Address,
                    help="a PROXY v1 header with this client address")
    ap.add_argument("--proxy-vary", action="store_true",
                    help="the address plus the session's number")
    args = ap.parse_args()
    if args.count < 1 or args.sessions < 1:
        ap.error("--count and --sessions must be at least 1")

    nproc = min(args.sessions, os.cpu_count() or 1, args.count)
    # threads per process: sessions spread as evenly as the processes allow
    start = time.monotonic() + 0.2       # after every process has started
    procs = []
    base = 0
    for i in range(nproc):
        args.threads = args.sessions // nproc + (i < args.sessions % nproc)
        count = args.count // nproc + (i < args.count % nproc)
        rd, wr = multiprocessing.Pipe(duplex=False)
        p = multiprocessing.Process(target=worker,
                                    args=(args, base, count, start, wr))
        base += count
        p.start()
        wr.close()
        procs.append((p, rd))
    done = msgs = reused = errors = 0
    first = "-"
    end = start
    for p, rd in procs:
        left = start + args.timeout + IO_TIMEOUT + 5 - time.monotonic()
        if rd.poll(max(0.1, left)):
            d, m, r, e, fe, t = rd.recv()
        else:
            d, m, r, e, fe, t = 0, 0, 0, 1, "client-process-timeout", end
        done, msgs, reused, errors = done + d, msgs + m, reused + r, errors + e
        if first == "-":
            first = fe
        end = max(end, t)
    for p, _ in procs:
        p.join(5)
        if p.is_alive():
            p.kill()
            p.join(5)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    secs = end - start
    print("sessions=%d seconds=%.3f rate=%.1f client_cpu_s=%.2f reused=%d "
          "messages=%d errors=%d first_error=%s" % (
              done, secs, done / secs if secs > 0 else 0,
              ru.ru_utime + ru.ru_stime, reused, msgs, errors,
              first.replace(" ", "_")[:100]))
    return 0 if errors == 0 and done == args.count else 2


if __name__ == "__main__":
    sys.exit(main())
