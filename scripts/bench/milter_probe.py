#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""milter_probe.py PORT FILE - send FILE from bench@dkim.example and print
the reply code (with :EICAR when the refusal names it), or ERR:why."""
import smtplib, sys
port, path = int(sys.argv[1]), sys.argv[2]
try:
    with open(path, "rb") as f:
        msg = f.read().replace(b"\n", b"\r\n")     # smtplib sends bytes as they are
    with smtplib.SMTP("127.0.0.1", port, "bench.client", timeout=20) as s:
        s.sendmail("bench@dkim.example", ["sink@example.com"], msg)
    print(250)
except smtplib.SMTPResponseException as e:
    print("%d%s" % (e.smtp_code, ":EICAR" if b"EICAR" in e.smtp_error else ""))
except smtplib.SMTPRecipientsRefused as e:
    print(list(e.recipients.values())[0][0])
except Exception as e:
    print("ERR:%s" % type(e).__name__)
