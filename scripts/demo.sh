#!/bin/bash
# SPDX-License-Identifier: ISC
# demo.sh - try postern locally (make run): the main job, filtering.
#
#   scripts/demo.sh /abs/path/to/postern
#
# Starts, on loopback, in $POSTERN_DEMO_DIR (default /tmp/postern-demo):
#   - a demo backend, Postfix's smtp-sink on 127.0.0.1:10025, writing every
#     message it receives to its own file under mail/;
#   - unbound on 127.0.0.1@10053 serving a demo zone (and nothing else):
#     good.demo (SPF: 127.0.0.1 may send; a DKIM key made here with
#     postern-keygen) and spoofed.demo (SPF: only 192.0.2.1 may send);
#   - postern on 127.0.0.1:2525 with the full chain, signing:
#     iplist regex spf dkim_verify dkim_sign; and the same on
#     127.0.0.1:2526 behind a PROXY protocol header (as HAProxy sends it),
#     so that one example can come from outside: SPF does not judge
#     loopback clients (mail this host sends itself).
# Then it sends three example messages and says what happened to each: a
# clean one from good.demo relayed and signed (the delivered file
# and the headers postern added), one from spoofed.demo sent as if from
# 192.0.2.99 refused with 550 5.7.23 (SPF fail), and spam refused with 554
# (the shipped rules).
# Then postern runs on in the foreground for your own sends, logging to
# this terminal; Ctrl-C stops it, and every process started here is
# stopped by its PID on the way out.
#
# POSTERN_DEMO_EXAMPLES_ONLY=1 stops after the examples (exit 1 when one
# did not turn out as said); POSTERN_DEMO_PORTS="LISTEN SINK DNS PROXIED"
# moves the four ports.  Exits 1 if a port is in use or a tool is missing.

set -u

POSTERN=${1:-}
DEMO_DIR=${POSTERN_DEMO_DIR:-/tmp/postern-demo}
MAIL_DIR=$DEMO_DIR/mail
read -r LISTEN_PORT SINK_PORT DNS_PORT PROXIED_PORT \
    <<<"${POSTERN_DEMO_PORTS:-2525 10025 10053 2526}"
HERE=$(cd "$(dirname "$0")" && pwd)
PIDS=""

die() { echo "demo: $*" >&2; exit 1; }

[ -n "$POSTERN" ] || die "usage: $0 /abs/path/to/postern"
[ -x "$POSTERN" ] || die "$POSTERN: not an executable file (run make first)"
for t in smtp-sink unbound openssl python3; do
	command -v "$t" >/dev/null 2>&1 ||
	    die "$t not found: scripts/deps.sh installs it"
done

port_busy() {	# is something listening on 127.0.0.1:PORT (tcp, or udp with u)?
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Hl"${2:-t}"n "( sport = :$1 )" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

for p in "$SINK_PORT" "$LISTEN_PORT" "$PROXIED_PORT"; do
	port_busy "$p" || continue
	echo "demo: port $p is already in use:" >&2
	command -v ss >/dev/null 2>&1 && ss -Hltnp "( sport = :$p )" 2>/dev/null | sed 's/^/  /' >&2
	echo "demo: another demo or postern?  Stop it, or move the demo's ports:" >&2
	echo "      POSTERN_DEMO_PORTS=\"LISTEN SINK DNS PROXIED\" make run" >&2
	exit 1
done
port_busy "$DNS_PORT" u && die "UDP port $DNS_PORT is in use (POSTERN_DEMO_PORTS moves it)"

# shellcheck disable=SC2317  # (reached through the trap)
stop_all() {
	local pid _
	trap - EXIT INT TERM
	for pid in $PIDS; do
		kill -TERM "$pid" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	echo "demo: stopped; delivered messages are in $MAIL_DIR" >&2
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_port() {	# wait_port PORT PID [u]: up to 5 s for PID to listen on PORT
	local _
	for _ in $(seq 1 50); do
		port_busy "$1" "${3:-t}" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# ------------------------------------------------------------ the demo zone
rm -rf "$DEMO_DIR/keys" "$DEMO_DIR/spool"
mkdir -p "$MAIL_DIR" "$DEMO_DIR/keys" "$DEMO_DIR/spool" ||
    die "cannot create $DEMO_DIR"
"$HERE/postern-keygen" -d good.demo -s demo -k ed25519 -D "$DEMO_DIR/keys" \
    >/dev/null 2>&1 || die "postern-keygen failed"
DKIM_TXT=$(sed -n 's/.*"\(v=DKIM1[^"]*\)".*/\1/p' "$DEMO_DIR/keys/demo.txt")
[ -n "$DKIM_TXT" ] || die "no DKIM record in $DEMO_DIR/keys/demo.txt"
cat >"$DEMO_DIR/unbound.conf" <<EOF
server:
    interface: 127.0.0.1
    port: $DNS_PORT
    do-ip6: no
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$DEMO_DIR"
    pidfile: ""
    use-syslog: no
    logfile: ""
    num-threads: 1
    access-control: 127.0.0.0/8 allow
    # the demo zone, and no other name: nothing leaves this machine
    local-zone: "." static
    local-data: 'good.demo. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"'
    local-data: 'good.demo. 300 IN MX 10 mx.good.demo.'
    local-data: 'demo._domainkey.good.demo. 300 IN TXT "$DKIM_TXT"'
    local-data: 'spoofed.demo. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"'
remote-control:
    control-enable: no
EOF
unbound -d -c "$DEMO_DIR/unbound.conf" >"$DEMO_DIR/unbound.log" 2>&1 &
PIDS="$! $PIDS"
wait_port "$DNS_PORT" "$!" u ||
    die "unbound did not start: $(tail -n 3 "$DEMO_DIR/unbound.log")"

# ------------------------------------------------------------ the backend
SINK_USER=""
if [ "$(id -u)" -eq 0 ]; then
	# smtp-sink must drop root; the dump directory must be writable then.
	SINK_USER="-u nobody"
	chown nobody "$MAIL_DIR" || die "cannot chown $MAIL_DIR to nobody"
fi
# -d: one file per message, named after the time plus a random suffix.
# shellcheck disable=SC2086
smtp-sink $SINK_USER -h demo-backend -d "$MAIL_DIR/%Y%m%d-%H%M%S." \
    "127.0.0.1:$SINK_PORT" 100 &
PIDS="$! $PIDS"
wait_port "$SINK_PORT" "$!" || die "smtp-sink did not start on 127.0.0.1:$SINK_PORT"

# ------------------------------------------------------------ postern
printf '%s\n' "demo  good.demo:demo:$DEMO_DIR/keys/demo.private" \
    >"$DEMO_DIR/KeyTable"
printf '%s\n' "*@good.demo  demo" >"$DEMO_DIR/SigningTable"
cat >"$DEMO_DIR/postern.conf" <<EOF
# The demo's configuration (scripts/demo.sh writes it); every other key
# has its default (postern config -d).
[proxy]
listen = 127.0.0.1:$LISTEN_PORT
backend = 127.0.0.1:$SINK_PORT
hostname = postern.demo
spool_dir = $DEMO_DIR/spool
# smtp-sink offers XCLIENT without ADDR, XFORWARD with it
client_identity = xforward
[dns]
nameserver = 127.0.0.1@$DNS_PORT
[filters]
chain = iplist regex spf dkim_verify dkim_sign
[dkim]
key_table = $DEMO_DIR/KeyTable
signing_table = refile:$DEMO_DIR/SigningTable
EOF
"$POSTERN" check -c "$DEMO_DIR/postern.conf" >/dev/null ||
    die "postern check refused $DEMO_DIR/postern.conf (above)"
"$POSTERN" -c "$DEMO_DIR/postern.conf" &
POSTERN_PID=$!
PIDS="$POSTERN_PID $PIDS"
wait_port "$LISTEN_PORT" "$POSTERN_PID" || die "postern did not start (above)"
# The same, as the internet would reach it through a balancer; its log
# goes to a file.
"$POSTERN" -c "$DEMO_DIR/postern.conf" -o "proxy.listen=127.0.0.1:$PROXIED_PORT" \
    -o proxy.proxy_protocol=yes -o proxy.proxy_protocol_from=127.0.0.1 \
    >"$DEMO_DIR/postern-proxied.log" 2>&1 &
PIDS="$! $PIDS"
wait_port "$PROXIED_PORT" "$!" ||
    die "postern (proxied) did not start: $(tail -n 3 "$DEMO_DIR/postern-proxied.log")"
sleep 0.2	# its start-up lines before ours

cat <<EOF

  postern demo ($DEMO_DIR)
  ------------
  dns       unbound on 127.0.0.1@$DNS_PORT: good.demo (SPF allows 127.0.0.1; DKIM key
            demo._domainkey.good.demo), spoofed.demo (SPF allows only 192.0.2.1)
  backend   smtp-sink on 127.0.0.1:$SINK_PORT; each message it gets is a file in
              $MAIL_DIR/
  postern   127.0.0.1:$LISTEN_PORT, chain iplist regex spf dkim_verify dkim_sign,
            signing mail from good.demo ($DEMO_DIR/postern.conf); and
            127.0.0.1:$PROXIED_PORT, the same behind a PROXY header (as from HAProxy),
            log in $DEMO_DIR/postern-proxied.log

  Three example sends:
EOF
python3 "$HERE/demo_sends.py" "$LISTEN_PORT" "$PROXIED_PORT" "$MAIL_DIR"
ok=$?

if [ "${POSTERN_DEMO_EXAMPLES_ONLY:-0}" = 1 ]; then
	exit "$ok"
fi
cat <<EOF

  Now your own, from another terminal (postern's log follows here):

    swaks --server 127.0.0.1:$LISTEN_PORT --from me@good.demo --to you@example.com
    swaks --server 127.0.0.1:$LISTEN_PORT --from me@spoofed.demo --to you@example.com

  Ctrl-C stops postern, unbound and the backend.

EOF
wait "$POSTERN_PID"
