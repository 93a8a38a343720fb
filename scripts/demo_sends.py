#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""demo_sends.py - the three example sends of scripts/demo.sh.

    demo_sends.py LISTEN_PORT PROXIED_PORT MAIL_DIR

Sends to postern on 127.0.0.1:LISTEN_PORT, from 127.0.0.1: a clean message
from good.demo (relayed and signed: the file smtp-sink wrote under
MAIL_DIR is named and the header fields postern added are shown) and spam
(refused by the shipped rules, 554); and to 127.0.0.1:PROXIED_PORT, behind
a PROXY header that says the client is 192.0.2.99, one from spoofed.demo
(refused: SPF fail, 550 5.7.23).  Exit 0 when all three turned out so, 1
otherwise."""
import glob
import os
import smtplib
import sys
import time

ADDED = ("DKIM-Signature", "Authentication-Results", "Received-SPF")


class ProxiedSMTP(smtplib.SMTP):
    """SMTP behind a PROXY protocol v1 header: the client is 192.0.2.99."""

    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, timeout)
        sock.sendall(b"PROXY TCP4 192.0.2.99 127.0.0.1 40025 25\r\n")
        return sock


def send(port, sender, subject, body, smtp=smtplib.SMTP):
    """(code, text) of the end of data, or of the command refused first."""
    msg = ("From: <%s>\r\nTo: <you@example.com>\r\nSubject: %s\r\n"
           "Message-ID: <%d.%s>\r\n\r\n%s\r\n" %
           (sender, subject, time.time_ns(), sender, body))
    with smtp("127.0.0.1", port, timeout=30) as s:
        s.ehlo("client.good.demo")
        try:
            s.sendmail(sender, ["you@example.com"], msg)
        except smtplib.SMTPRecipientsRefused as e:
            code, text = list(e.recipients.values())[0]
            return code, text.decode()
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as e:
            return e.smtp_code, e.smtp_error.decode()
        return 250, "queued"


def delivered(mail_dir, marker, wait=5.0):
    """The file smtp-sink wrote for the message with marker in it."""
    end = time.monotonic() + wait
    while time.monotonic() < end:
        for path in sorted(glob.glob(os.path.join(mail_dir, "*"))):
            with open(path, "rb") as f:
                if marker.encode() in f.read():
                    return path
        time.sleep(0.1)
    return None


def fields(path, names):
    """The header fields called names, unfolded, as "Name: value"."""
    with open(path, "rb") as f:
        data = f.read().replace(b"\r\n", b"\n")
    head = data.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    out, cur = [], None
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and cur is not None:
            out[-1] += " " + line.strip()
            continue
        name = line.split(":", 1)[0]
        cur = name if name in names else None
        if cur is not None:
            out.append(line)
    return out


def report(n, title, want, code, text):
    ok = str(code).startswith(want)
    print("\n  %d. %s\n     -> %d %s  [%s]" % (n, title, code, text,
                                              "as expected" if ok else
                                              "NOT AS EXPECTED"))
    return ok


def main():
    port, proxied, mail_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    marker = "demo-clean-%d" % time.time_ns()
    code, text = send(port, "alice@good.demo", "Lunch on Friday?",
                      "Shall we meet at noon? " + marker)
    ok = report(1, "clean mail from alice@good.demo, a local client (signed)",
                "250", code, text)
    path = delivered(mail_dir, marker) if ok else None
    if path is None:
        ok = False
        print("     the backend has no file for it")
    else:
        print("     delivered: %s\n     header fields postern added "
              "(smtp-sink adds X-* fields and a Received of its own):" % path)
        got = fields(path, ADDED)
        for f in got:
            print("       " + (f if len(f) < 200 else f[:197] + "..."))
        ok = ok and any(f.startswith("DKIM-Signature:") and "d=good.demo"
                        in f for f in got)
    code, text = send(proxied, "ceo@spoofed.demo", "Urgent wire transfer",
                      "Please pay the attached invoice today.", ProxiedSMTP)
    ok = report(2, "forged mail from ceo@spoofed.demo, client 192.0.2.99 "
                "(SPF fail)", "550", code, text) and "5.7.23" in text and ok
    code, text = send(port, "alice@good.demo", "Cheap viagra",
                      "Buy cheap viagra and cialis now.")
    ok = report(3, "spam from alice@good.demo (the shipped rules)", "554",
                code, text) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
