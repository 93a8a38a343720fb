#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""fakemta - a scripted SMTP backend for postern's integration tests.

Run as its own process: /usr/bin/python3 fakemta.py CONFIG.json.  It listens
on config["host"]:config["port"] and records, under config["dir"]:

  commands.log     one JSON object a line: {"s": session, "line": command,
                   "read": n} for every command line received outside
                   message content; n counts the session's reads, so
                   commands with the same n came in one (pipelined)
  session-N.raw    every byte received on session N (when "transcript")
  msg-N.eml        the content of message N exactly as received (DATA:
                   dot-unstuffed, line ends untouched; BDAT: the chunks)
  eod.log          "session via size" when a message's end has arrived
                   (before the end-of-data delay and reply)
  msg-N.json       its envelope: session, helo, mail, rcpts, xclient, via,
                   size, sha256 (written last, so its presence means done)

Like a default Postfix 3.7 it is lenient on purpose: a bare LF ends a line,
so "\\n.\\n" ends DATA here.  That makes it a good detector of smuggling: any
second transaction hidden in a body shows up in commands.log.

Config keys (all optional except host, port, dir):
  greeting        "220 fake.test ESMTP fakemta"; "CLOSE" = close at once
  greeting_delay  seconds before the greeting
  ehlo            list of EHLO keywords to offer
  rules           [{"verb": "RCPT", "contains": "nouser@", "reply": "550 ...",
                    "delay": 0}]; reply "CLOSE" closes without replying;
                   a multi-line reply is given with "\\n" between lines;
                   with "raw": true the reply is sent as it is, byte for
                   byte (latin-1), no CRLF added: bare CR/LF, NUL ...
  eod_reply       reply to end of data, "%d" is replaced by the message no.
  eod_delay       seconds to wait before that reply
  eod_action      "close": close the connection instead of replying
  data_close_after  close after this many content bytes (no reply)
  xclient_after_ehlo  XCLIENT before any EHLO/HELO of the session gets 503
  auth            {"user": "password"}: AUTH PLAIN and LOGIN check these
                  (offer them with "AUTH PLAIN LOGIN" in ehlo); 235 or 535
  transcript      write session-N.raw (default true)
  store_content   write msg-N.eml (default true; sha256 is always kept)
"""
import base64
import hashlib
import json
import os
import signal
import socketserver
import sys
import threading
import time

CFG = {}
LOCK = threading.Lock()
COUNTERS = {"session": 0, "msg": 0}
# Every loop is bounded: by this count, and in time by the socket timeout.
MAX_LOOPS = 10 ** 7


class Closed(Exception):
    pass


class Conn:
    """A socket with an input buffer; records what it reads."""

    def __init__(self, sock, raw):
        self.sock = sock
        self.buf = bytearray()
        self.pos = 0
        self.raw = raw
        self.reads = 0      # recv calls so far

    def _fill(self):
        data = self.sock.recv(262144)
        self.reads += 1
        if not data:
            raise Closed()
        if self.raw is not None:
            self.raw.write(data)
            self.raw.flush()
        if self.pos > 1048576:
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += data

    def readline(self):
        for _ in range(MAX_LOOPS):
            i = self.buf.find(b"\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos:i + 1])
                self.pos = i + 1
                return line
            if len(self.buf) - self.pos > 4 * 1048576:
                line = bytes(self.buf[self.pos:])
                self.pos = len(self.buf)
                return line
            self._fill()
        raise Closed()

    def read(self, n):
        for _ in range(MAX_LOOPS):
            if len(self.buf) - self.pos >= n:
                break
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return data

    def send(self, text):
        lines = text.split("\n")
        out = "".join(l + "\r\n" for l in lines)
        self.sock.sendall(out.encode("utf-8", "surrogateescape"))


def log_command(sid, line, reads=0):
    rec = json.dumps({"s": sid, "line": line.decode("latin-1"),
                      "read": reads})
    with LOCK:
        with open(os.path.join(CFG["dir"], "commands.log"), "a") as f:
            f.write(rec + "\n")


def find_rule(verb, line):
    low = line.decode("latin-1").lower()
    for r in CFG.get("rules", []):
        if r.get("verb", "").upper() != verb:
            continue
        c = r.get("contains")
        if c is not None and c.lower() not in low:
            continue
        return r
    return None


def b64(data):
    try:
        return base64.b64decode(data, validate=True)
    except ValueError:
        return None


def auth(conn, sid, st, cmd):
    """AUTH PLAIN/LOGIN against CFG["auth"]; the user into st["auth"]."""
    words = cmd.split()
    mech = words[1].upper() if len(words) > 1 else b""
    if mech == b"PLAIN":
        if len(words) > 2:
            resp = words[2]
        else:
            conn.send("334 ")
            resp = conn.readline().rstrip(b"\r\n")
            log_command(sid, b"(response)")
        if resp == b"*":
            conn.send("501 5.7.0 Authentication aborted")
            return
        parts = (b64(resp) or b"").split(b"\0")
        user, pw = (parts[1], parts[2]) if len(parts) == 3 else (b"", b"")
    elif mech == b"LOGIN":
        if len(words) > 2:
            resp = words[2]
        else:
            conn.send("334 VXNlcm5hbWU6")
            resp = conn.readline().rstrip(b"\r\n")
        pw = b""
        if resp != b"*":
            conn.send("334 UGFzc3dvcmQ6")
            pw = conn.readline().rstrip(b"\r\n")
            log_command(sid, b"(response)")
        if b"*" in (resp, pw):
            conn.send("501 5.7.0 Authentication aborted")
            return
        user, pw = b64(resp) or b"", b64(pw) or b""
    else:
        conn.send("504 5.5.4 Unrecognized authentication type")
        return
    users = CFG.get("auth", {})
    if users.get(user.decode("latin-1")) == pw.decode("latin-1"):
        st["auth"] = user.decode("latin-1")
        conn.send("235 2.7.0 Authentication successful")
    else:
        conn.send("535 5.7.8 Error: authentication failed")


def store(sid, st, content, via):
    with LOCK:
        COUNTERS["msg"] += 1
        n = COUNTERS["msg"]
    base = os.path.join(CFG["dir"], "msg-%04d" % n)
    if CFG.get("store_content", True):
        with open(base + ".eml.tmp", "wb") as f:
            f.write(content)
        os.rename(base + ".eml.tmp", base + ".eml")
    meta = {
        "n": n, "session": sid, "helo": st["helo"], "mail": st["mail"],
        "rcpts": st["rcpts"], "xclient": st["xclient"], "via": via,
        "auth": st["auth"],
        "size": len(content), "sha256": hashlib.sha256(content).hexdigest(),
    }
    with open(base + ".json.tmp", "w") as f:
        json.dump(meta, f)
    os.rename(base + ".json.tmp", base + ".json")
    return n


def end_of_data(conn, sid, st, content, via):
    """Returns False when the connection must close."""
    with LOCK:
        with open(os.path.join(CFG["dir"], "eod.log"), "a") as f:
            f.write("%d %s %d\n" % (sid, via, len(content)))
    time.sleep(CFG.get("eod_delay", 0))
    if CFG.get("eod_action") == "close":
        return False
    reply = CFG.get("eod_reply", "250 2.0.0 Ok: queued as FAKE%d")
    n = None
    if reply.startswith("2"):
        n = store(sid, st, content, via)
    if "%d" in reply:
        reply = reply.replace("%d", str(n if n is not None else 0))
    conn.send(reply)
    return True


def session(sock, sid):
    raw = None
    if CFG.get("transcript", True):
        raw = open(os.path.join(CFG["dir"], "session-%d.raw" % sid), "wb")
    conn = Conn(sock, raw)
    st = {"helo": None, "mail": None, "rcpts": [], "xclient": [],
          "auth": None}
    chunks = []
    try:
        time.sleep(CFG.get("greeting_delay", 0))
        greeting = CFG.get("greeting", "220 fake.test ESMTP fakemta")
        if greeting == "CLOSE":
            return
        conn.send(greeting)
        if not greeting.startswith("2"):
            # like Postfix: a refusing server still answers QUIT, then ends
            line = conn.readline()
            log_command(sid, line.rstrip(b"\r\n"))
            conn.send("221 2.0.0 Bye")
            return
        for _ in range(MAX_LOOPS):
            line = conn.readline()
            cmd = line.rstrip(b"\r\n")
            log_command(sid, cmd, conn.reads)
            verb = cmd.split(b" ", 1)[0].split(b":", 1)[0].upper().decode(
                "latin-1")
            rule = find_rule(verb, cmd)
            if rule is not None:
                time.sleep(rule.get("delay", 0))
                if rule.get("reply") == "CLOSE":
                    return
                if rule.get("raw"):
                    conn.sock.sendall(rule["reply"].encode("latin-1"))
                    continue
                if rule.get("reply"):
                    conn.send(rule["reply"])
                    continue
            if verb == "EHLO":
                st["helo"] = cmd[5:].decode("latin-1")
                ext = CFG.get("ehlo", [])
                lines = ["fake.test"] + list(ext)
                conn.send("\n".join(
                    "250%s%s" % ("-" if i < len(lines) - 1 else " ", l)
                    for i, l in enumerate(lines)))
            elif verb == "HELO":
                st["helo"] = cmd[5:].decode("latin-1")
                conn.send("250 fake.test")
            elif verb == "XCLIENT" and CFG.get("xclient_after_ehlo") and \
                    st["helo"] is None:
                conn.send("503 5.5.1 Error: send HELO/EHLO first")
            elif verb == "XCLIENT":
                st["xclient"].append(cmd[8:].decode("latin-1"))
                st["mail"], st["rcpts"], chunks = None, [], []
                conn.send("220 fake.test ESMTP fakemta")
            elif verb == "AUTH" and CFG.get("auth"):
                auth(conn, sid, st, cmd)
            elif verb == "XFORWARD":
                conn.send("250 2.0.0 Ok")
            elif verb == "MAIL":
                if st["mail"] is not None:
                    conn.send("503 5.5.1 Error: nested MAIL command")
                    continue
                st["mail"] = cmd[5:].decode("latin-1")
                st["rcpts"], chunks = [], []
                conn.send("250 2.1.0 Ok")
            elif verb == "RCPT":
                if st["mail"] is None:
                    conn.send("503 5.5.1 Error: need MAIL command")
                    continue
                st["rcpts"].append(cmd[5:].decode("latin-1"))
                conn.send("250 2.1.5 Ok")
            elif verb == "DATA":
                if not st["rcpts"]:
                    conn.send("503 5.5.1 Error: need RCPT command")
                    continue
                conn.send("354 End data with <CR><LF>.<CR><LF>")
                parts = []
                got = 0
                limit = CFG.get("data_close_after")
                for _ in range(MAX_LOOPS):
                    l = conn.readline()
                    if l in (b".\r\n", b".\n"):
                        break
                    if l.startswith(b"."):
                        l = l[1:]
                    parts.append(l)
                    got += len(l)
                    if limit is not None and got >= limit:
                        return
                if not end_of_data(conn, sid, st, b"".join(parts), "DATA"):
                    return
                st["mail"], st["rcpts"] = None, []
            elif verb == "BDAT":
                args = cmd.split()
                try:
                    n = int(args[1])
                except (IndexError, ValueError):
                    conn.send("501 5.5.4 Syntax: BDAT count [LAST]")
                    continue
                limit = CFG.get("data_close_after")
                if limit is not None and sum(map(len, chunks)) + n >= limit:
                    conn.read(max(0, min(n, limit - sum(map(len, chunks)))))
                    return
                data = conn.read(n)
                chunks.append(data)
                last = len(args) > 2 and args[2].upper() == b"LAST"
                if not st["rcpts"]:
                    conn.send("503 5.5.1 Error: need RCPT command")
                    chunks = []
                    continue
                if not last:
                    conn.send("250 2.0.0 %d bytes received" % n)
                    continue
                if not end_of_data(conn, sid, st, b"".join(chunks), "BDAT"):
                    return
                st["mail"], st["rcpts"], chunks = None, [], []
            elif verb == "RSET":
                st["mail"], st["rcpts"], chunks = None, [], []
                conn.send("250 2.0.0 Ok")
            elif verb == "NOOP":
                conn.send("250 2.0.0 Ok")
            elif verb in ("VRFY", "EXPN"):
                conn.send("252 2.0.0 fake")
            elif verb == "QUIT":
                conn.send("221 2.0.0 Bye")
                return
            else:
                conn.send("502 5.5.2 Error: command not recognized")
    except (Closed, OSError):
        return
    finally:
        if raw is not None:
            raw.close()


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        with LOCK:
            COUNTERS["session"] += 1
            sid = COUNTERS["session"]
        self.request.settimeout(CFG.get("timeout", 120))
        session(self.request, sid)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 512


def main():
    with open(sys.argv[1]) as f:
        CFG.update(json.load(f))
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    srv = Server((CFG["host"], CFG["port"]), Handler)
    srv.serve_forever()


if __name__ == "__main__":
    main()
