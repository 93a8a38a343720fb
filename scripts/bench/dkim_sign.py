#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""dkim_sign.py KEY OUT - a 1 KiB message signed by dkimpy (rsa selector of
dkim.example), written with LF line ends for smtp-source -F."""
import email.utils, sys
import dkim
key, out = sys.argv[1], sys.argv[2]
body = b"".join(b"%04d %s\r\n" % (i, b"x" * 57) for i in range(16))    # 1 KiB
msg = (b"From: <bench@rsa.dkim.example>\r\nTo: <sink@example.com>\r\n"
       b"Subject: dkim bench\r\nDate: " + email.utils.formatdate().encode() +
       b"\r\nMessage-ID: <verify@rsa.dkim.example>\r\n\r\n" + body)
with open(key, "rb") as f:
    sig = dkim.sign(msg, b"rsa", b"dkim.example", f.read(),
                    canonicalize=(b"relaxed", b"relaxed"),
                    include_headers=[b"from", b"to", b"subject", b"date",
                                     b"message-id"])
with open(out, "wb") as f:      # LF line ends: smtp-source -F adds CRLF
    f.write((sig + msg).replace(b"\r\n", b"\n"))
