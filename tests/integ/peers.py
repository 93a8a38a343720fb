# SPDX-License-Identifier: ISC
"""peers.py - real peers for postern's integration tests.

Every peer is a real process on a loopback address, started and stopped by
PID: postern itself, Postfix's smtp-sink, a private Postfix instance, and
fakemta.py (a scripted backend that records every byte).  SmtpClient speaks
SMTP on a raw socket so tests can send exact bytes.

All waits are bounded in time and in count.
"""
import contextlib
import glob
import hashlib
import json
import os
import pwd
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
LOOP_HOST = "127.0.0.1"

_used_ports = set()


def free_port(host=LOOP_HOST):
    """A TCP port that was free a moment ago (never one handed out before)."""
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((host, 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise RuntimeError("no free port after 50 tries")


def listening(port, host=LOOP_HOST):
    """True if a socket is in LISTEN state on host:port (no connection made,
    so postern's per-IP counters and logs are not disturbed)."""
    want = "%s:%04X" % ("".join("%02X" % int(b) for b in
                                reversed(host.split("."))), port)
    try:
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1] == want and fields[3] == "0A":
                    return True
    except OSError:
        pass
    return False


def wait_for(pred, timeout, interval=0.05, what="condition"):
    """Poll pred() until it is true; bounded in time and count."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / interval) + 2):
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s" %
                         (timeout, what))


def stop_pid_proc(proc, timeout=10):
    """terminate, wait, kill: for a subprocess.Popen we started."""
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else None
    proc.terminate()
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=10)


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def stop_pid(pid, timeout=10):
    """terminate, wait, kill for a process that is not our child."""
    if not pid_alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.05) + 2):
        if not pid_alive(pid) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if pid_alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def mkdir_for(path, owner=None, mode=0o755):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    if owner:
        shutil.chown(path, user=owner)
    return path


# ---------------------------------------------------------------- messages

class Message:
    """One message as a backend received it."""

    def __init__(self, mail, rcpts, content, helo=None, meta=None):
        self.mail = mail            # "FROM:" argument text, e.g. "<a@b> SIZE=3"
        self.rcpts = rcpts          # list of "TO:" argument texts
        self.content = content      # bytes, CRLF lines, dot-unstuffed
        self.helo = helo
        self.meta = meta or {}

    def __repr__(self):
        return "Message(mail=%r, rcpts=%r, %d bytes)" % (
            self.mail, self.rcpts, len(self.content))


def stuff(content):
    """Dot-stuff CRLF content for DATA (RFC 5321 4.5.2)."""
    if content.startswith(b"."):
        content = b"." + content
    return content.replace(b"\r\n.", b"\r\n..")


def make_message(subject, body_lines=(), extra_headers=()):
    hdr = [b"From: <sender@example.org>", b"To: <rcpt@example.com>",
           b"Subject: " + subject.encode(),
           b"Message-ID: <" + subject.encode().replace(b" ", b".") +
           b"@example.org>"] + [h.encode() for h in extra_headers]
    body = [l.encode() if isinstance(l, str) else l for l in body_lines]
    return b"\r\n".join(hdr) + b"\r\n\r\n" + b"".join(l + b"\r\n"
                                                      for l in body)


# ------------------------------------------------------------- SMTP client

class ConnectionClosed(Exception):
    pass


class Reply:
    def __init__(self, lines):
        self.lines = lines                      # text lines without CRLF
        self.code = int(lines[0][:3])
        m = re.match(r"\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b", lines[0])
        self.enhanced = m.group(1) if m else None
        self.text = "\n".join(l[4:] for l in lines)

    def keywords(self):
        """EHLO keywords (upper case) -> their argument strings."""
        kw = {}
        for l in self.lines[1:]:
            parts = l[4:].split(None, 1)
            if parts:
                kw[parts[0].upper()] = parts[1] if len(parts) > 1 else ""
        return kw

    def __repr__(self):
        return "Reply(%r)" % ("\\r\\n".join(self.lines),)

    __str__ = __repr__


class SmtpClient:
    """SMTP on a raw socket: exact bytes out, parsed replies in; over IPv6
    when host is an IPv6 address."""

    def __init__(self, port, host=LOOP_HOST, source=None, timeout=15,
                 read_greeting=True):
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else
                                  socket.AF_INET, socket.SOCK_STREAM)
        if source:
            self.sock.bind((source, 0))
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = b""
        self.eof = False
        self.greeting = self.reply() if read_greeting else None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def starttls(self, context=None, server_hostname=None):
        """The TLS handshake on this connection (after a 220 to STARTTLS,
        or first thing on an implicit-TLS port); returns the SSLSocket.
        Without a context, any certificate is taken."""
        assert self.buf == b"", "bytes before the handshake: %r" % self.buf
        if context is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        self.sock = context.wrap_socket(self.sock,
                                        server_hostname=server_hostname)
        return self.sock

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("reply timeout")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            raise ConnectionClosed("connection closed by peer; buffered %r"
                                   % self.buf)
        self.buf += data

    def _line(self, deadline):
        for _ in range(100000):
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line.decode("utf-8", "replace")
            self._recv(deadline)
        raise AssertionError("reply line too long")

    def reply(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        lines = []
        for _ in range(1000):
            line = self._line(deadline)
            if not re.match(r"^\d{3}([ -]|$)", line):
                raise AssertionError("malformed reply line %r" % line)
            lines.append(line)
            if len(line) == 3 or line[3] == " ":
                return Reply(lines)
        raise AssertionError("reply with more than 1000 lines")

    def replies(self, n, timeout=None):
        return [self.reply(timeout) for _ in range(n)]

    def cmd(self, line, timeout=None):
        self.send(line + "\r\n")
        return self.reply(timeout)

    def ehlo(self, name="client.example.org"):
        return self.cmd("EHLO " + name)

    def wait_closed(self, timeout=10):
        """Read until EOF; returns the bytes seen.  Fails if no EOF."""
        deadline = time.monotonic() + timeout
        got = b""
        for _ in range(10000):
            if self.eof:
                return got
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            except socket.timeout:
                break
            if not data:
                self.eof = True
                return got
            got += data
        raise AssertionError("connection not closed within %ss (got %r)"
                             % (timeout, got))

    def send_message(self, mail_from, rcpts, content, mail_params=""):
        """A whole transaction, one command at a time.  Returns the final
        reply; fails (with the replies seen) if any step is refused."""
        r = self.cmd("MAIL FROM:<%s>%s" % (mail_from, mail_params))
        assert r.code == 250, "MAIL refused: %s" % r
        for rc in rcpts:
            r = self.cmd("RCPT TO:<%s>" % rc)
            assert r.code == 250, "RCPT %s refused: %s" % (rc, r)
        r = self.cmd("DATA")
        assert r.code == 354, "DATA refused: %s" % r
        self.send(stuff(content) + b".\r\n")
        return self.reply()


# ------------------------------------------------------------------ procs

@contextlib.contextmanager
def greeting_watch(port):
    """While the block runs (60 s at most): connect to port again and
    again and time each 220; yields the list of those times, which the
    caller checks afterwards.  A probe that fails fails the block."""
    stop, waits, errors = threading.Event(), [], []

    def probe():
        t_end = time.monotonic() + 60
        try:
            while not stop.is_set() and time.monotonic() < t_end:
                t0 = time.monotonic()
                with SmtpClient(port, timeout=20) as c:
                    assert c.greeting.code == 220, c.greeting
                    waits.append(time.monotonic() - t0)
                stop.wait(0.02)
        except Exception as e:      # reported by the caller's thread
            errors.append(e)
    t = threading.Thread(target=probe)
    t.start()
    try:
        yield waits
    finally:
        stop.set()
        t.join(timeout=30)
    assert not errors, errors


class Proc:
    """A background process we started; stop() by PID."""

    def __init__(self, argv, log_prefix, cwd=None, env=None, nofile=None):
        """nofile: the descriptor limit (soft and hard) to start with."""
        self.argv = argv
        self.out_path = log_prefix + ".out"
        self.err_path = log_prefix + ".err"
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._out, stderr=self._err,
                                     stdin=subprocess.DEVNULL, cwd=cwd,
                                     env=env, preexec_fn=None if nofile is
                                     None else lambda: resource.setrlimit(
                                         resource.RLIMIT_NOFILE,
                                         (nofile, nofile)))
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=10):
        rc = stop_pid_proc(self.proc, timeout)
        self._out.close()
        self._err.close()
        return rc

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


# proxy.client_identity for the backends started here, by port, where the
# default (xclient) cannot work: smtp-sink offers XCLIENT without ADDR but
# XFORWARD with it; a fakemta offers neither unless its ehlo says so; a
# postern (as the backend of another) offers neither.  A Postern started
# without client_identity in its opts takes its backend's; a port not
# here (Postfix, anything else) keeps the default.
BACKEND_IDENTITY = {}


def fakemta_identity(ehlo):
    offers = {w[0]: w[1:] for w in (k.upper().split() for k in ehlo) if w}
    if "ADDR" in offers.get("XCLIENT", ()):
        return None
    if "ADDR" in offers.get("XFORWARD", ()):
        return "xforward"
    return "none"


def backend_is(port, identity):
    """Record what a backend on port can be told (None: the default)."""
    BACKEND_IDENTITY.pop(port, None)
    if identity is not None:
        BACKEND_IDENTITY[port] = identity


class SmtpSink:
    """Postfix's smtp-sink, dumping each message to its own file."""

    def __init__(self, workdir, args=(), name="sink", backlog=1000,
                 unix=False):
        """unix: listen on the socket self.path (unix:PATH) instead."""
        self.port = free_port()
        base = mkdir_for(os.path.join(workdir, "%s-%d" % (name, self.port)))
        self.dumpdir = mkdir_for(os.path.join(base, "dump"), owner="nobody")
        self.path = os.path.join(base, "smtp.sock") if unix else None
        argv = ["smtp-sink", "-u", "nobody", "-d",
                os.path.join(self.dumpdir, "%Y%m%d%H%M%S."), *args,
                "unix:" + self.path if unix else
                "%s:%d" % (LOOP_HOST, self.port), str(backlog)]
        self.proc = Proc(argv, os.path.join(base, "smtp-sink"))
        backend_is(self.port, "xforward")
        wait_for(lambda: (os.path.exists(self.path) if unix else
                          listening(self.port)) or not self.proc.alive(),
                 10, what="smtp-sink to listen")
        assert self.proc.alive(), "smtp-sink died: %s" % self.proc.stderr()

    def stop(self):
        self.proc.stop()

    def files(self):
        return sorted(glob.glob(os.path.join(self.dumpdir, "*")))

    def count(self):
        return len(self.files())

    @staticmethod
    def parse(path):
        with open(path, "rb") as f:
            data = f.read()
        hdr = {"X-Rcpt-Args": []}
        lines = data.split(b"\n")
        i = 0
        for i, l in enumerate(lines):
            if l.startswith(b"Received: "):
                break
            k, _, v = l.decode("latin-1").partition(": ")
            if k == "X-Rcpt-Args":
                hdr[k].append(v)
            else:
                hdr[k] = v
        # The Received header is three lines (two continuations).
        j = i + 1
        for _ in range(10):
            if j < len(lines) and lines[j].startswith(b"\t"):
                j += 1
            else:
                break
        if j >= len(lines):
            return None             # still being written
        body = b"\n".join(lines[j:])
        # the dump ends with an extra empty line; lines end in LF
        if not body.endswith(b"\n"):
            return None
        content = body[:-1].replace(b"\n", b"\r\n")
        return Message(hdr.get("X-Mail-Args"), hdr["X-Rcpt-Args"], content,
                       helo=hdr.get("X-Helo-Args"), meta=hdr)

    def messages(self):
        """Complete dumps.  (smtp-sink opens a dump at MAIL and removes it
        when the transaction is aborted, so a file may come and go.)"""
        out = []
        for p in self.files():
            try:
                m = self.parse(p)
            except OSError:
                continue
            if m is not None:
                out.append(m)
        return out

    def wait_count(self, n, timeout=10):
        wait_for(lambda: self.count() >= n, timeout,
                 what="%d messages at smtp-sink" % n)
        return self.messages()


FULL_EHLO = ["PIPELINING", "SIZE 209715200", "8BITMIME",
             "ENHANCEDSTATUSCODES", "CHUNKING", "DSN", "SMTPUTF8"]
# the same without CHUNKING: postern must then use DATA (and dot-stuff)
DATA_EHLO = [k for k in FULL_EHLO if k != "CHUNKING"]


class FakeMta:
    """fakemta.py as a separate process (see its docstring for config)."""

    def __init__(self, workdir, name="fakemta", port=None, **cfg):
        self.port = port or free_port()
        self.dir = mkdir_for(os.path.join(workdir, "%s-%d" % (name,
                                                              self.port)))
        self.cfg = {"host": LOOP_HOST, "port": self.port, "dir": self.dir,
                    "ehlo": list(FULL_EHLO)}
        self.cfg.update(cfg)
        backend_is(self.port, fakemta_identity(self.cfg.get("ehlo", [])))
        cfgpath = os.path.join(self.dir, "config.json")
        with open(cfgpath, "w") as f:
            json.dump(self.cfg, f)
        self.proc = Proc([PYTHON, os.path.join(HERE, "fakemta.py"), cfgpath],
                         os.path.join(self.dir, "fakemta"))
        wait_for(lambda: listening(self.port) or not self.proc.alive(), 10,
                 what="fakemta to listen")
        assert self.proc.alive(), "fakemta died: %s" % self.proc.stderr()

    def stop(self):
        self.proc.stop()

    def kill(self):
        self.proc.proc.kill()
        self.proc.proc.wait(timeout=10)

    def count(self):
        return len(glob.glob(os.path.join(self.dir, "msg-*.json")))

    def messages(self):
        out = []
        for p in sorted(glob.glob(os.path.join(self.dir, "msg-*.json"))):
            with open(p) as f:
                meta = json.load(f)
            content = None
            eml = p[:-5] + ".eml"
            if os.path.exists(eml):
                with open(eml, "rb") as f:
                    content = f.read()
            mail = meta["mail"]
            if mail and mail.upper().startswith("FROM:"):
                mail = mail[5:]
            rcpts = [r[3:] if r.upper().startswith("TO:") else r
                     for r in meta["rcpts"]]
            out.append(Message(mail, rcpts, content, helo=meta["helo"],
                               meta=meta))
        return out

    def wait_count(self, n, timeout=10):
        wait_for(lambda: self.count() >= n, timeout,
                 what="%d messages at fakemta" % n)
        return self.messages()

    def eods(self):
        """How many messages have fully arrived (replied to or not)."""
        p = os.path.join(self.dir, "eod.log")
        if not os.path.exists(p):
            return 0
        with open(p) as f:
            return len(f.readlines())

    def commands(self):
        """[(session, command line)] for everything seen outside content."""
        return [(s, l) for s, l, _ in self.command_reads()]

    def command_reads(self):
        """[(session, command line, read)]: lines with the same session
        and read number came in one read (pipelined)."""
        p = os.path.join(self.dir, "commands.log")
        if not os.path.exists(p):
            return []
        with open(p) as f:
            return [(r["s"], r["line"], r["read"])
                    for r in map(json.loads, f)]

    def sessions(self):
        return len(glob.glob(os.path.join(self.dir, "session-*.raw")))

    def transcript(self):
        """All bytes received on every session, concatenated."""
        data = b""
        for p in sorted(glob.glob(os.path.join(self.dir, "session-*.raw"))):
            with open(p, "rb") as f:
                data += f.read()
        return data


class PosternProc:
    """What every running postern offers: its log, signals, stop by PID."""

    def log(self):
        return self.proc.stderr()

    def wait_log(self, pattern, timeout=10, start=0):
        """Wait until the log (from offset start) matches; returns the match."""
        rx = re.compile(pattern, re.M)

        def f():
            return rx.search(self.log()[start:])
        try:
            return wait_for(f, timeout, what="log line /%s/" % pattern)
        except AssertionError:
            raise AssertionError("no log line /%s/ in:\n%s" %
                                 (pattern, self.log()[-4000:]))

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait_exit(self, timeout):
        try:
            return self.proc.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=15):
        return self.proc.stop(timeout)

    def _start(self, argv, opts, workdir, name, nofile=None):
        for k, v in opts.items():
            if v is not None:
                argv += ["-o", "%s=%s" % (k, v)]
        self.argv = argv
        self.dir = mkdir_for(os.path.join(workdir, "%s-%d" % (name,
                                                              self.port)))
        self.proc = Proc(argv, os.path.join(self.dir, "postern"),
                         nofile=nofile)
        self.pid = self.proc.pid

    def wait_listening(self, timeout=10):
        wait_for(lambda: listening(self.port) or not self.proc.alive(),
                 timeout, what="postern to listen on %d" % self.port)
        assert self.proc.alive(), "postern exited %s: %s" % (
            self.proc.proc.returncode, self.log())


class Postern(PosternProc):
    """postern itself: $POSTERN -o proxy.listen=... -o proxy.backend=..."""

    def __init__(self, binary, workdir, backend_port, opts=None, config=None,
                 name="postern", wait=True, listen_port=None, args=(),
                 nofile=None):
        self.port = listen_port or free_port()
        self.spool = mkdir_for(os.path.join(workdir, "%s-%d" % (
            name, self.port), "spool"))
        # reverse_dns off unless a test asks (test_rdns.py): a client's
        # name would come from the host's resolver otherwise
        o = {"proxy.listen": "%s:%d" % (LOOP_HOST, self.port),
             "proxy.backend": "%s:%d" % (LOOP_HOST, backend_port),
             "proxy.spool_dir": self.spool,
             "proxy.hostname": "postern.test",
             "proxy.reverse_dns": "no"}
        if config is None:
            # not the embedded default filters: tests name theirs
            o["filters.chain"] = ""
        # make integ-threads: the same tests with several event loops
        if os.environ.get("POSTERN_THREADS"):
            o["proxy.threads"] = os.environ["POSTERN_THREADS"]
        for k, v in (opts or {}).items():
            o[k if "." in k else "proxy." + k] = v
        if "proxy.client_identity" not in o and \
                backend_port in BACKEND_IDENTITY:
            o["proxy.client_identity"] = BACKEND_IDENTITY[backend_port]
        self.opts = o
        argv = [binary] + list(args)
        if config:
            argv += ["-c", config]
        self._start(argv, o, workdir, name, nofile)
        backend_is(self.port, "none")
        if wait:
            self.wait_listening()

    def client(self, **kw):
        return SmtpClient(self.port, **kw)


class PosternMilter(PosternProc):
    """postern milter on a loopback port (inet:PORT@127.0.0.1), with
    proxy.hostname (our authserv-id) postern.test like Postern."""

    def __init__(self, binary, workdir, opts=None, name="milter",
                 config=None):
        self.port = free_port()
        self.socket = "inet:%d@%s" % (self.port, LOOP_HOST)
        o = {"milter.socket": self.socket, "proxy.hostname": "postern.test"}
        if config is None:
            o["filters.chain"] = ""
        o.update(opts or {})
        self._start([binary, "milter"] + (["-c", config] if config else []),
                    o, workdir, name)
        self.wait_listening()


class Postfix:
    """A private Postfix instance (LIBRARIES.md section 9) on a loopback
    port, relaying everything to relay_port."""

    def __init__(self, workdir, relay_port, main=None, name="postfix"):
        self.port = free_port()
        self.dir = mkdir_for(os.path.join(workdir, "%s-%d" % (name,
                                                              self.port)))
        self.etc = mkdir_for(os.path.join(self.dir, "etc"))
        self.queue = mkdir_for(os.path.join(self.dir, "queue"))
        self.data = mkdir_for(os.path.join(self.dir, "data"), owner="postfix")
        self.maillog = os.path.join(self.dir, "maillog")
        backend_is(self.port, None)
        self.master_pid = None
        shutil.copy("/etc/postfix/master.cf", self.etc)
        open(os.path.join(self.etc, "main.cf"), "w").close()
        conf = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "inet_interfaces": LOOP_HOST,
            "inet_protocols": "ipv4",
            "myhostname": "backend.test",
            "mydestination": "",
            "alias_maps": "",
            "alias_database": "",
            "mynetworks": "127.0.0.0/8",
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.dir,
            "relayhost": "[%s]:%d" % (LOOP_HOST, relay_port),
            "smtpd_authorized_xclient_hosts": "127.0.0.0/8",
            "smtp_dns_support_level": "disabled",
            "smtpd_peername_lookup": "no",
        }
        conf.update(main or {})
        self.postconf("-e", *["%s = %s" % kv for kv in conf.items()])
        self.postconf("-F", "*/*/chroot = n")
        self.postconf("-MX", "smtp/inet")
        self.postconf("-Me", "%s:%d/inet = %s:%d inet n - n - - smtpd" %
                      (LOOP_HOST, self.port, LOOP_HOST, self.port))
        r = subprocess.run(["script", "-qec", "postfix -c %s start" %
                            self.etc, "/dev/null"], capture_output=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        pidfile = os.path.join(self.queue, "pid", "master.pid")
        if os.path.exists(pidfile):
            with open(pidfile) as f:
                self.master_pid = int(f.read().strip())
        assert r.returncode == 0, "postfix start failed: %s %s" % (
            r.stdout, self.read_maillog())
        wait_for(lambda: listening(self.port), 15, what="postfix smtpd")

    def postconf(self, *args):
        subprocess.run(["postconf", "-c", self.etc, *args], check=True,
                       timeout=30, capture_output=True)

    def read_maillog(self):
        try:
            with open(self.maillog, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_maillog(self, pattern, timeout=15):
        rx = re.compile(pattern, re.M)
        try:
            return wait_for(lambda: rx.search(self.read_maillog()), timeout,
                            what="maillog /%s/" % pattern)
        except AssertionError:
            raise AssertionError("no maillog line /%s/ in:\n%s" %
                                 (pattern, self.read_maillog()[-4000:]))

    def _children(self):
        """PIDs of this instance's daemons (MAIL_CONFIG names our etc)."""
        want = b"MAIL_CONFIG=" + self.etc.encode()
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/environ" % d, "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if want in env:
                pids.append(int(d))
        return pids

    def stop(self):
        if self.master_pid:
            stop_pid(self.master_pid, timeout=15)
        for pid in self._children():
            stop_pid(pid, timeout=5)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def good_session(postern_port, backend, marker, source=None):
    """Prove the daemon still serves: one message end to end."""
    content = make_message("good " + marker, ["still serving " + marker])
    with SmtpClient(postern_port, source=source) as c:
        assert c.greeting.code == 220, c.greeting
        assert c.ehlo().code == 250
        r = c.send_message("ok@example.org", ["rcpt@example.com"], content)
        assert r.code == 250, "good message after %s: %s" % (marker, r)
        assert c.cmd("QUIT").code == 221
        c.wait_closed(timeout=5)
    wait_for(lambda: any(m.content == content for m in backend.messages()),
             10, what="good message %s at the backend" % marker)


def wait_slots(port, n, timeout=10, source=None):
    """Wait until n connections at once are greeted with 220 (postern may
    notice closed sessions a moment late).  Each probe ends with QUIT and
    waits for postern to close, so the probes themselves hold no slot."""
    def probe():
        held = []
        try:
            for _ in range(n):
                c = SmtpClient(port, source=source, timeout=5)
                held.append(c)
                if c.greeting.code != 220:
                    return False
            for c in held:
                if c.cmd("QUIT").code != 221:
                    return False
                c.wait_closed(timeout=5)
            return True
        except (ConnectionClosed, OSError, AssertionError):
            return False
        finally:
            for c in held:
                c.close()
    wait_for(probe, timeout, interval=0.1,
             what="%d free connection slots" % n)


# ------------------------------------------------------------------- DNS

def free_udp_tcp_port(host=LOOP_HOST):
    """A port free for both TCP and UDP on host (a DNS server takes both)."""
    for _ in range(50):
        port = free_port(host)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            u.close()
    raise RuntimeError("no port free for TCP and UDP after 50 tries")


def dns_query(port, name, qtype="TXT", host=LOOP_HOST, timeout=2.0):
    """(rcode text, [rdata text]) from the server at host:port, over UDP
    (dnspython); raises dns.exception.Timeout when nothing answers."""
    import dns.message
    import dns.query
    import dns.rcode
    q = dns.message.make_query(name, qtype)
    r = dns.query.udp(q, host, port=port, timeout=timeout)
    out = []
    for rrset in r.answer:
        out += [rd.to_text() for rd in rrset]
    return dns.rcode.to_text(r.rcode()), out


class Unbound:
    """unbound serving a test zone from local-data on a loopback port.

    local_data: unbound local-data RR strings ("name. 300 IN TXT \"...\"").
    local_zones: (zone, type) pairs; the default makes the whole name space
    a static local zone, so a name not in local_data is NXDOMAIN (or NODATA
    when the name has other types) and the server never goes to the
    Internet.  Answers are checked (bounded) before the constructor returns:
    probe = (name, qtype) that must answer NOERROR with data."""

    def __init__(self, workdir, local_data, local_zones=((".", "static"),),
                 probe=None, name="unbound", extra=""):
        self.port = free_udp_tcp_port()
        self.addr = "%s@%d" % (LOOP_HOST, self.port)
        self.dir = mkdir_for(os.path.join(workdir, "%s-%d" % (name,
                                                              self.port)))
        self.conf = os.path.join(self.dir, "unbound.conf")
        lines = [
            "server:",
            "    interface: %s" % LOOP_HOST,
            "    port: %d" % self.port,
            "    do-ip4: yes",
            "    do-ip6: no",
            "    do-udp: yes",
            "    do-tcp: yes",
            "    do-daemonize: no",
            "    chroot: \"\"",
            "    username: \"\"",
            "    directory: \"%s\"" % self.dir,
            "    pidfile: \"\"",
            "    use-syslog: no",
            "    logfile: \"\"",
            "    log-time-ascii: yes",
            "    verbosity: 1",
            "    num-threads: 1",
            "    so-reuseport: no",
            "    outgoing-range: 64",
            "    access-control: 127.0.0.0/8 allow",
            "    do-not-query-localhost: no",
            "    module-config: \"iterator\"",
            "    minimal-responses: yes",
        ]
        for zone, typ in local_zones:
            lines.append("    local-zone: \"%s\" %s" % (zone, typ))
        for rr in local_data:
            # single quotes around the RR: TXT data carries double quotes
            assert "'" not in rr, "no single quote in local-data: %r" % rr
            lines.append("    local-data: '%s'" % rr)
        lines += ["remote-control:", "    control-enable: no", extra]
        with open(self.conf, "w") as f:
            f.write("\n".join(l for l in lines if l) + "\n")
        chk = subprocess.run(["unbound-checkconf", self.conf],
                             capture_output=True, text=True, timeout=30)
        assert chk.returncode == 0, "unbound config: %s%s" % (chk.stdout,
                                                               chk.stderr)
        self.proc = Proc(["unbound", "-d", "-c", self.conf],
                         os.path.join(self.dir, "unbound"))
        self.pid = self.proc.pid
        probe = probe or ("localhost.", "A")

        def up():
            if not self.proc.alive():
                return True
            try:
                rcode, data = dns_query(self.port, probe[0], probe[1],
                                        timeout=0.5)
                return rcode == "NOERROR" and data
            except Exception:
                return False
        wait_for(up, 15, interval=0.1, what="unbound to answer on %s"
                 % self.addr)
        assert self.proc.alive(), "unbound died: %s" % self.proc.stderr()

    def query(self, name, qtype="TXT"):
        return dns_query(self.port, name, qtype)

    def stop(self):
        self.proc.stop()


BLACKHOLE_SCRIPT = r"""
import socket, sys, time
# A DNS server that never answers: UDP datagrams are read and dropped, TCP
# connections are accepted and left silent.  One line per datagram on
# stdout.  Exits by itself after sys.argv[2] seconds at the latest.
port, life = int(sys.argv[1]), float(sys.argv[2])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", port))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", port))
t.listen(64)
t.setblocking(False)
u.settimeout(0.2)
held = []
print("ready", flush=True)
end = time.monotonic() + life
while time.monotonic() < end:
    try:
        data, addr = u.recvfrom(4096)
        print("udp %d bytes from %s:%d" % (len(data), addr[0], addr[1]),
              flush=True)
    except socket.timeout:
        pass
    try:
        held.append(t.accept()[0])
        print("tcp connection", flush=True)
    except BlockingIOError:
        pass
"""


class BlackHoleDns:
    """A 'DNS server' on loopback that receives queries and never answers
    (UDP and TCP on the same port), for timeout tests.  queries() counts
    the datagrams it swallowed."""

    def __init__(self, workdir, name="blackhole", life=600):
        self.port = free_udp_tcp_port()
        self.addr = "%s@%d" % (LOOP_HOST, self.port)
        self.dir = mkdir_for(os.path.join(workdir, "%s-%d" % (name,
                                                              self.port)))
        self.proc = Proc([PYTHON, "-c", BLACKHOLE_SCRIPT, str(self.port),
                          str(life)], os.path.join(self.dir, "blackhole"))
        self.pid = self.proc.pid
        wait_for(lambda: "ready" in self.proc.stdout() or
                 not self.proc.alive(), 10, what="black hole DNS to bind")
        assert self.proc.alive(), "black hole died: %s" % self.proc.stderr()

    def queries(self):
        return self.proc.stdout().count("udp ")

    def stop(self):
        self.proc.stop()



class MariaDb:
    """A private MariaDB (Debian mariadb-server) of the test's own: a data
    directory made by mariadb-install-db under workdir, mariadbd as the
    test's user listening only on a unix socket there (no network);
    env() points MySQL clients (DBD::mysql, the mariadb tool) at it with
    MYSQL_UNIX_PORT.  Stopped by PID."""

    def __init__(self, workdir, name="mariadb"):
        self.dir = mkdir_for(os.path.join(workdir, name))
        self.socket = os.path.join(self.dir, "sock")
        self.user = pwd.getpwuid(os.getuid()).pw_name
        data = os.path.join(self.dir, "data")
        r = subprocess.run(["mariadb-install-db", "--no-defaults",
                            "--datadir=" + data, "--user=" + self.user,
                            "--auth-root-authentication-method=socket",
                            "--skip-test-db"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, "mariadb-install-db: %s%s" % (r.stdout,
                                                               r.stderr)
        self.proc = Proc(["mariadbd", "--no-defaults", "--datadir=" + data,
                          "--socket=" + self.socket, "--skip-networking",
                          "--user=" + self.user, "--skip-log-bin",
                          "--innodb-buffer-pool-size=16M"],
                         os.path.join(self.dir, "mariadbd"))
        self.pid = self.proc.pid
        wait_for(lambda: not self.proc.alive() or self._answers(), 60,
                 interval=0.2, what="mariadbd to answer on its socket")
        assert self.proc.alive(), "mariadbd died: %s" % self.proc.stderr()

    def env(self):
        return dict(os.environ, MYSQL_UNIX_PORT=self.socket)

    def _answers(self):
        return os.path.exists(self.socket) and subprocess.run(
            ["mariadb", "--no-defaults", "-u", self.user, "-e", "SELECT 1"],
            env=self.env(), capture_output=True, timeout=10).returncode == 0

    def sql(self, text, db=None):
        """Run SQL as the administrator; stdout (tab-separated rows)."""
        r = subprocess.run(["mariadb", "--no-defaults", "-u", self.user,
                            "--batch", "--skip-column-names"] +
                           ([db] if db else []), input=text, env=self.env(),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, "mariadb: %s" % r.stderr
        return r.stdout

    def stop(self):
        self.proc.stop()


OPENDMARC_NS_SCRIPT = r"""
set -e
d=$1
ip link set lo up
mount --bind "$d/resolv.conf" /etc/resolv.conf
unbound -d -c "$d/unbound.conf" >"$d/unbound.log" 2>&1 &
echo $! >"$d/unbound.pid"
"$2" -c '
import sys, time
import dns.message, dns.query
end = time.monotonic() + 15
while time.monotonic() < end:
    try:
        dns.query.udp(dns.message.make_query(sys.argv[1], "TXT"),
                      "127.0.0.1", port=53, timeout=0.5)
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit("unbound did not answer")' "$3"
opendmarc -f -c "$d/opendmarc.conf" >"$d/opendmarc.log" 2>&1 &
echo $! >"$d/opendmarc.pid"
wait
"""


class OpenDmarc:
    """The opendmarc milter (Debian opendmarc 1.4.2), which looks its
    policies up through /etc/resolv.conf: run in a private mount and
    network namespace (unshare -m -n, so root only) with a resolv.conf
    bind-mounted over the system's, pointing at an unbound on that
    namespace's 127.0.0.1:53 serving unbound_conf's zone (its port line
    changed to 53).  The milter listens on the unix socket self.socket,
    which the host's namespace reaches.  opts: opendmarc.conf lines.
    Every process stopped by PID."""

    def __init__(self, workdir, unbound_conf, probe, opts, name="opendmarc"):
        self.dir = mkdir_for(os.path.join(workdir, name))
        self.socket = os.path.join(self.dir, "opendmarc.sock")
        with open(os.path.join(self.dir, "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
        with open(unbound_conf) as f:
            conf = re.sub(r"(?m)^(\s*port:) \d+$", r"\1 53", f.read())
        with open(os.path.join(self.dir, "unbound.conf"), "w") as f:
            f.write(conf)
        lines = ["Socket local:%s" % self.socket, "Syslog false",
                 "Background false"] + list(opts)
        with open(os.path.join(self.dir, "opendmarc.conf"), "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = Proc(["unshare", "-m", "-n", "sh", "-c",
                          OPENDMARC_NS_SCRIPT, "sh", self.dir, PYTHON,
                          probe], os.path.join(self.dir, "ns"))
        self.pid = self.proc.pid
        wait_for(lambda: os.path.exists(self.socket) or
                 not self.proc.alive(), 30, what="opendmarc's socket")
        assert self.proc.alive(), "opendmarc namespace: %s %s" % (
            self.proc.stderr(), self.log())

    def log(self):
        path = os.path.join(self.dir, "opendmarc.log")
        if not os.path.exists(path):
            return ""
        with open(path, errors="replace") as f:
            return f.read()

    def _pid(self, what):
        try:
            with open(os.path.join(self.dir, what + ".pid")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def stop(self):
        for what in ("opendmarc", "unbound"):
            pid = self._pid(what)
            if pid is not None:
                stop_pid(pid)
        self.proc.stop()


class Redis:
    """redis-server on a loopback port (and a unix socket) in its own
    directory, nothing saved; kill() and start() again on the same port
    and socket, stop() by PID."""

    def __init__(self, workdir, name="redis", password=None):
        self.port = free_port()
        self.dir = mkdir_for(os.path.join(workdir, "%s-%d" % (name,
                                                              self.port)))
        # sun_path holds 108 bytes: test directories' names are longer
        self.sockdir = tempfile.mkdtemp(prefix="redis-", dir="/tmp")
        self.socket = os.path.join(self.sockdir, "redis.sock")
        self.password = password
        self.addr = "%s:%d" % (LOOP_HOST, self.port)
        self.proc = None
        self.start()

    def start(self):
        argv = ["redis-server", "--port", str(self.port), "--bind",
                LOOP_HOST, "--unixsocket", self.socket,
                "--unixsocketperm", "700", "--save", "", "--appendonly",
                "no", "--dir", self.dir, "--daemonize", "no",
                "--logfile", ""]
        if self.password:
            argv += ["--requirepass", self.password]
        self.proc = Proc(argv, os.path.join(self.dir, "redis"))
        self.pid = self.proc.pid
        wait_for(lambda: listening(self.port) or not self.proc.alive(), 10,
                 what="redis-server on %d" % self.port)
        assert self.proc.alive(), self.proc.stdout()

    def cli(self, *args):
        argv = ["redis-cli", "-p", str(self.port), "-h", LOOP_HOST]
        if self.password:
            argv += ["--no-auth-warning", "-a", self.password]
        return subprocess.run(argv + list(args), capture_output=True,
                              text=True, timeout=10).stdout.strip()

    def kill(self):
        """SIGKILL: Redis gone at once, as in a crash."""
        os.kill(self.pid, signal.SIGKILL)
        self.proc.proc.wait(timeout=10)
        self.proc.stop()

    def stop(self):
        if self.proc is not None and self.proc.alive():
            self.proc.stop()
        shutil.rmtree(self.sockdir, ignore_errors=True)
