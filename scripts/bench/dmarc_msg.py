#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""dmarc_msg.py SEED OUT - a 1 KiB message From bench@dmarc.bench.example,
signed by dkimpy with RFC 8463's Ed25519 key (SEED: its base64 seed file;
d=dmarc.bench.example, s=ed), written with LF line ends for smtp-source
-F."""
import email.utils, sys
import dkim
seed, out = sys.argv[1], sys.argv[2]
body = b"".join(b"%04d %s\r\n" % (i, b"x" * 57) for i in range(16))    # 1 KiB
msg = (b"From: <bench@dmarc.bench.example>\r\nTo: <sink@example.com>\r\n"
       b"Subject: dmarc bench\r\nDate: " + email.utils.formatdate().encode() +
       b"\r\nMessage-ID: <dmarc@dmarc.bench.example>\r\n\r\n" + body)
with open(seed, "rb") as f:
    sig = dkim.sign(msg, b"ed", b"dmarc.bench.example", f.read().strip(),
                    signature_algorithm=b"ed25519-sha256",
                    include_headers=[b"from", b"to", b"subject", b"date",
                                     b"message-id"])
with open(out, "wb") as f:      # LF line ends: smtp-source -F adds CRLF
    f.write((sig + msg).replace(b"\r\n", b"\n"))
