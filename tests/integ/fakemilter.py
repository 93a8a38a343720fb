#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""fakemilter - a scripted milter (the milter side of the protocol, spoken
directly) for the tests of postern's milter filter.

Run as its own process: /usr/bin/python3 fakemilter.py CONFIG.json.  It
listens on config["port"] (127.0.0.1) and logs every command it gets to
config["dir"]/commands.log as JSON lines {"s": session, "cmd": "C", ...}.

Config keys (all optional but port and dir):
  protocol   the SMFIP_* flags of its OPTNEG reply (default 0: every step,
             every reply)
  replies    {"R": "r", ...}: the reply to a command instead of continue:
             "c" continue, "a" accept, "r" reject, "t" tempfail, "d"
             discard, "y:550 5.7.1 text" a reply code, "hang" none at all,
             "close" close the connection
  when       {"R": "bad@"}: only when the command's data contain this
  eom_headers  [["X-Name", "value"], ...] added at end of message ('h'),
             or inserted at the top with a third item true ('i', index 0)
  eom_changes  [["Subject", 1, "new"], ["X-Old", 1, ""]]: 'm' (change the
             n-th field of that name; "" deletes it)
  eom_body   a new body, sent as 'b' in chunks of eom_body_chunk bytes
"""
import json
import os
import socketserver
import struct
import sys
import threading
import time

CFG = {}
LOCK = threading.Lock()
COUNT = {"s": 0}
MAX_PACKETS = 10 ** 6


def packet(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd.encode() + data


def log(sid, cmd, data):
    rec = json.dumps({"s": sid, "cmd": cmd,
                      "data": data.decode("latin-1")})
    with LOCK:
        with open(os.path.join(CFG["dir"], "commands.log"), "a") as f:
            f.write(rec + "\n")


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def reply_for(cmd, data):
    r = CFG.get("replies", {}).get(cmd)
    want = CFG.get("when", {}).get(cmd)
    if r is None or (want is not None and want.encode() not in data):
        return "c"
    return r


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        with LOCK:
            COUNT["s"] += 1
            sid = COUNT["s"]
        s = self.request
        s.settimeout(120)
        try:
            for _ in range(MAX_PACKETS):
                (n,) = struct.unpack("!I", recv_exact(s, 4))
                body = recv_exact(s, n)
                cmd, data = chr(body[0]), body[1:]
                log(sid, cmd, data)
                if cmd == "O":
                    s.sendall(packet("O", struct.pack(
                        "!III", 6, 0x1ff, CFG.get("protocol", 0))))
                    continue
                if cmd in ("D", "A"):
                    continue            # macros, abort: no reply
                if cmd == "Q":
                    return
                if cmd == "E":
                    for h in CFG.get("eom_headers", []):
                        nv = h[0].encode() + b"\0" + h[1].encode() + b"\0"
                        if len(h) > 2 and h[2]:
                            s.sendall(packet("i", struct.pack("!I", 0) +
                                             nv))
                        else:
                            s.sendall(packet("h", nv))
                for name, idx, val in CFG.get("eom_changes", []) \
                        if cmd == "E" else []:
                    s.sendall(packet("m", struct.pack("!I", idx) +
                                     name.encode() + b"\0" +
                                     val.encode() + b"\0"))
                body = CFG.get("eom_body") if cmd == "E" else None
                step = CFG.get("eom_body_chunk", 65535)
                for i in range(0, len(body or ""), step):
                    s.sendall(packet("b", body[i:i + step].encode()))
                r = reply_for(cmd, data)
                if r == "hang":
                    time.sleep(3600)
                if r == "close":
                    return
                if r.startswith("y:"):
                    s.sendall(packet("y", r[2:].encode() + b"\0"))
                else:
                    s.sendall(packet(r))
        except (EOFError, OSError):
            return


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    with open(sys.argv[1]) as f:
        CFG.update(json.load(f))
    srv = Server(("127.0.0.1", CFG["port"]), Handler)
    srv.serve_forever()


if __name__ == "__main__":
    main()
