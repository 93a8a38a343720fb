#!/bin/bash
# SPDX-License-Identifier: ISC
# demo.sh - try postern locally (make run).
#
#   scripts/demo.sh /abs/path/to/postern
#
# Starts a demo backend, Postfix's smtp-sink, on 127.0.0.1:10025 (the backend
# of postern's embedded default configuration) that writes every message it
# receives to its own file under $POSTERN_DEMO_DIR/mail (default
# /tmp/postern-demo/mail), prints how to send a test message, then runs
# postern in the foreground with the embedded default configuration (no -c):
# it listens on 127.0.0.1:2525 and logs to this terminal.  Ctrl-C stops
# postern, and the sink is stopped by PID on the way out.
# Exits 1 if port 10025 or 2525 is already in use or smtp-sink is missing.

set -u

POSTERN=${1:-}
DEMO_DIR=${POSTERN_DEMO_DIR:-/tmp/postern-demo}
MAIL_DIR=$DEMO_DIR/mail
LISTEN_PORT=2525	# policy/postern.conf: proxy.listen
SINK_PORT=10025		# policy/postern.conf: proxy.backend

die() { echo "demo: $*" >&2; exit 1; }

[ -n "$POSTERN" ] || die "usage: $0 /abs/path/to/postern"
[ -x "$POSTERN" ] || die "$POSTERN: not an executable file (run make first)"
command -v smtp-sink >/dev/null 2>&1 ||
    die "smtp-sink not found: it comes with Postfix (apt-get install postfix, or scripts/deps.sh)"

port_busy() {	# is something listening on 127.0.0.1:PORT?
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

if port_busy "$SINK_PORT"; then
	echo "demo: port $SINK_PORT is already in use, so the demo backend cannot start there." >&2
	command -v ss >/dev/null 2>&1 && ss -Hltnp "( sport = :$SINK_PORT )" 2>/dev/null | sed 's/^/  /' >&2
	echo "demo: stop whatever listens on 127.0.0.1:$SINK_PORT (another demo? a Postfix" >&2
	echo "      content_filter/after-queue smtpd?), or run postern yourself with" >&2
	echo "      -o proxy.backend=HOST:PORT pointing at your own MTA." >&2
	exit 1
fi
if port_busy "$LISTEN_PORT"; then
	echo "demo: port $LISTEN_PORT (postern's default listen port) is already in use:" >&2
	command -v ss >/dev/null 2>&1 && ss -Hltnp "( sport = :$LISTEN_PORT )" 2>/dev/null | sed 's/^/  /' >&2
	echo "demo: is another postern running?  Stop it and try again." >&2
	exit 1
fi

mkdir -p "$MAIL_DIR" || die "cannot create $MAIL_DIR"
SINK_USER=""
if [ "$(id -u)" -eq 0 ]; then
	# smtp-sink must drop root; the dump directory must be writable then.
	SINK_USER="-u nobody"
	chown nobody "$MAIL_DIR" || die "cannot chown $MAIL_DIR to nobody"
fi

SINK_PID=""
# shellcheck disable=SC2317  # (reached through the trap)
stop_sink() {
	trap - EXIT INT TERM
	[ -n "$SINK_PID" ] || return 0
	if kill -0 "$SINK_PID" 2>/dev/null; then
		kill -TERM "$SINK_PID" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$SINK_PID" 2>/dev/null || break
			sleep 0.2
		done
		kill -0 "$SINK_PID" 2>/dev/null && kill -KILL "$SINK_PID" 2>/dev/null
	fi
	wait "$SINK_PID" 2>/dev/null
	echo "demo: backend stopped; delivered messages are in $MAIL_DIR" >&2
}
trap stop_sink EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# -d: one file per message, named after the time plus a random suffix.
# shellcheck disable=SC2086
smtp-sink $SINK_USER -h demo-backend -d "$MAIL_DIR/%Y%m%d-%H%M%S." \
    "127.0.0.1:$SINK_PORT" 100 &
SINK_PID=$!
for _ in $(seq 1 50); do
	port_busy "$SINK_PORT" && break
	kill -0 "$SINK_PID" 2>/dev/null || die "smtp-sink failed to start (see above)"
	sleep 0.1
done
port_busy "$SINK_PORT" || die "smtp-sink did not start listening on 127.0.0.1:$SINK_PORT"

cat <<EOF

  postern demo
  ------------
  backend   smtp-sink on 127.0.0.1:$SINK_PORT (pid $SINK_PID); it accepts everything and
            writes each message it receives to its own file in
              $MAIL_DIR/
  postern   $POSTERN
            embedded default config: listens on 127.0.0.1:$LISTEN_PORT, relays to
            127.0.0.1:$SINK_PORT, tells it the client with XFORWARD (smtp-sink's
            XCLIENT lacks ADDR), filters with iplist regex spf dkim_verify
            (the shipped rules: a message with the EICAR test string is
            refused with 554); its log follows below.

  Send a test message from another terminal:

    swaks --server 127.0.0.1:$LISTEN_PORT --from me@example.com --to you@example.com

  or, without swaks:

    python3 -c 'import smtplib; smtplib.SMTP("127.0.0.1", $LISTEN_PORT).sendmail("me@example.com", ["you@example.com"], "Subject: test\r\n\r\nHello through postern.\r\n")'

  or type SMTP by hand (EHLO, MAIL FROM:<..>, RCPT TO:<..>, DATA, ., QUIT):

    nc -C 127.0.0.1 $LISTEN_PORT        (or: telnet 127.0.0.1 $LISTEN_PORT)

  Then look at what the backend received (smtp-sink adds X-Client-*, X-Mail-Args,
  X-Rcpt-Args and a Received: line in front of the message as postern relayed it):

    ls -lt $MAIL_DIR/
    cat "\$(ls -t $MAIL_DIR/* | head -n 1)"

  Ctrl-C stops postern and the backend.

EOF

"$POSTERN" -o proxy.client_identity=xforward
rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 130 ] || echo "demo: postern exited with status $rc" >&2
exit "$rc"
