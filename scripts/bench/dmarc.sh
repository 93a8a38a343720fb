# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# dmarc.sh - filters.chain = spf dkim_verify dmarc against no filters, warm.
# Sourced by bench.sh after lib.sh; its globals are bench.sh's.

# ---------------------------------------------------------------- dmarc
# Two more postern in front of the same sink: "dmarc" with filters.chain =
# spf dkim_verify dmarc (its resolver on an unbound started here serving
# dmarc.bench.example's SPF record, DKIM key and DMARC policy, p=reject)
# and "plain" with no filter.  smtp-source sends one 1 KiB message file,
# signed by dkimpy with RFC 8463's Ed25519 key (dmarc_msg.py), from
# bench@dmarc.bench.example, at DMARC_SESS sessions to both, alternating;
# warm: every answer cached in postern's resolver after the first
# message.  Like the spf section, the clients connect from this host's
# first global IPv4 address (loopback clients are not SPF-checked).
# Target >= 0.8.
DMARC_ON=${BENCH_DMARC:-1}
DMARC_BUDGET=${BENCH_DMARC_BUDGET:-60}
DMARC_N=${BENCH_DMARC_MSGS:-5000}
DMARC_SESS=100
DMARC_TARGET=0.8
DMARC_PID=""
DMARC_PLAIN_PID=""
DMARC_DNS_PID=""
DMARC_WHY=""
DMARC_DIR=$WORK/dmarc
DMARC_DATA=$HERE/../../tests/data/rfc8463

dmarc_start() {	# unbound, the message, the dmarc and plain postern
	local dport fport pport key
	DMARC_HOST=$(ip -o -4 addr show scope global 2>/dev/null |
	    awk '{ sub(/\/.*/, "", $4); print $4; exit }')
	[ -n "$DMARC_HOST" ] ||
	    { DMARC_WHY="no global IPv4 address to send from (loopback clients are not SPF-checked)"; return 1; }
	mkdir -p "$DMARC_DIR"
	"$PY" "$HERE/dmarc_msg.py" "$DMARC_DATA/rfc8463-ed25519.seed.b64" \
	    "$DMARC_DIR/msg.eml" ||
	    { DMARC_WHY="dmarc_msg.py failed (python3-dkim?)"; return 1; }
	key=$(sed -n 's/^brisbane\._domainkey\.[^ ]* //p' "$DMARC_DATA/rfc8463-keys.txt")
	read -r dport fport pport <<<"$(pick_ports 3)"
	[ -n "$pport" ] || { DMARC_WHY="no free ports"; return 1; }
	unbound_start dmarc "$dport" \
	    "local-data: 'dmarc.bench.example. 300 IN A 192.0.2.1'" \
	    "local-data: 'dmarc.bench.example. 300 IN TXT \"v=spf1 ip4:$DMARC_HOST -all\"'" \
	    "local-data: '_dmarc.dmarc.bench.example. 300 IN TXT \"v=DMARC1; p=reject\"'" \
	    "local-data: 'ed._domainkey.dmarc.bench.example. 300 IN TXT \"$key\"'" ||
	    { DMARC_WHY=$WHY; return 1; }
	DMARC_DNS_PID=$LAST_PID
	DMARC_OPTS=(-o "dns.nameserver=127.0.0.1@$dport")
	postern_start dmarc "$DMARC_HOST" "$fport" "spf dkim_verify dmarc" \
	    "${DMARC_OPTS[@]}" || { DMARC_WHY=$WHY; return 1; }
	DMARC_PID=$LAST_PID
	postern_start dmarc-plain "$DMARC_HOST" "$pport" "" ||
	    { DMARC_WHY=$WHY; return 1; }
	DMARC_PLAIN_PID=$LAST_PID
	DMARC_PORT=$fport
	DMARC_PLAIN_PORT=$pport
	return 0
}

# shellcheck disable=SC2317  # (run by pair_run)
dmarc_run() {	# dmarc_run PORT SIDE: a pair_run runner
	RUN_HOST=$DMARC_HOST run_one "$1" "$DMARC_SESS" "$DMARC_DIR/msg.eml" "$DMARC_N"
}

echo
if [ "$DMARC_ON" = 0 ]; then
	echo "== dmarc: skipped (BENCH_DMARC=0)"
else
	echo "== dmarc: postern with filters.chain = spf dkim_verify dmarc vs the same postern with no filters, $DMARC_SESS sessions, 1 KiB signed messages"
	DMARC_START_S=$(elapsed_s)
	if dmarc_start; then
		# The chain must really judge: 'postern test' on the message,
		# from this host's address, passes SPF, DKIM and DMARC.
		PROBE=$(timeout 30 "$POSTERN" test -o "filters.chain=spf dkim_verify dmarc" \
		    "${DMARC_OPTS[@]}" --client "$DMARC_HOST" --from bench@dmarc.bench.example \
		    --rcpt sink@example.com "$DMARC_DIR/msg.eml" 2>&1 |
		    grep -o 'spf=pass dkim_verify=pass dmarc=pass([^)]*)')
		echo "  probe (postern test): ${PROBE:-no pass}"
		[ -n "$PROBE" ] || DMARC_WHY="probe failed: the message does not pass SPF, DKIM and DMARC"
	fi
	if [ -z "$DMARC_WHY" ]; then
		SRC_OPTS="-d -M bench.client -f bench@dmarc.bench.example -t sink@example.com"
		RUN_HOST=$DMARC_HOST run_one "$DMARC_PORT" 10 "$DMARC_DIR/msg.eml" 200 >/dev/null
		RUN_HOST=$DMARC_HOST run_one "$DMARC_PLAIN_PORT" 10 "$DMARC_DIR/msg.eml" 200 >/dev/null
		DMARC_NOTE=""
		for rep in $(seq 1 "$REPS"); do
			if [ "$rep" -gt 1 ] && [ $(($(elapsed_s) - DMARC_START_S)) -ge "$DMARC_BUDGET" ]; then
				DMARC_NOTE="note: dmarc time budget (${DMARC_BUDGET}s) reached, skipped repetitions $rep to $REPS"
				break
			fi
			pair_run "$rep" dmarc-warm "$DMARC_N" dmarc_run dmarc "$DMARC_PLAIN_PID" \
			    "$DMARC_PLAIN_PORT" "$DMARC_PID" "$DMARC_PORT"
		done
		echo
		ratio_head dmarc
		ratio_row dmarc-warm "dmarc chain warm" "$DMARC_SESS" "$DMARC_N" "$DMARC_TARGET"
		raw_runs dmarc dmarc-warm
		[ -n "$DMARC_NOTE" ] && echo "$DMARC_NOTE"
		warn_tail "$WORK/postern-dmarc.log" 3 dmarc
	else
		echo "  not measured: $DMARC_WHY"
		add_summary "FAIL (not measured: $DMARC_WHY)" "dmarc chain warm" "-"
	fi
	for pid in $DMARC_PID $DMARC_PLAIN_PID $DMARC_DNS_PID; do stop_pid "$pid"; done
	echo "  (dmarc section took $(($(elapsed_s) - DMARC_START_S))s)"
fi
