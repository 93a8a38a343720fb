# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# spf.sh - filters.chain = spf against no filters, warm and cold.
# Sourced by bench.sh after lib.sh; its globals are bench.sh's.

# ---------------------------------------------------------------- spf
# Two more postern in front of the same sink, with the same options but
# filters.chain: "spf" (its resolver pointed at an unbound on loopback that
# serves the bench zone from memory) and "plain" (no filters).
#  warm: every message from the same sender domain (answers cached in
#        postern's resolver): smtp-source against both proxies;
#  cold: every message from a new sender domain (rN-K.bench.example, one
#        lookup to unbound each): a small Python client against both, since
#        smtp-source cannot vary the sender.
# Both alternate plain/spf per repetition, like the throughput cases; the
# ratio is spf/plain per repetition, median of them.
# The clients must not come from loopback: postern does not SPF-check
# loopback clients (libspf2 would pass them all unevaluated).  So
# these two proxies listen on this host's first global IPv4 address, which
# the clients then connect from (the traffic stays inside the host, and
# the backend is the discarding sink).  The zone is under .example, not
# .test: libunbound answers test. itself (NXDOMAIN) and never forwards it.
SPF_N=${BENCH_SPF_MSGS:-10000}
SPF_COLD_N=${BENCH_SPF_COLD_MSGS:-6000}
SPF_SESS=20
SPF_TARGET=0.8		# warm; cold has no target (it measures the resolver)
SPF_BUDGET=${BENCH_SPF_BUDGET:-60}	# seconds; then remaining repetitions are skipped
SPF_PID=""
PLAIN_PID=""
UNBOUND_PID=""
echo
echo "== spf: postern with filters.chain = spf vs the same postern with no filters, $SPF_SESS sessions, 1 KiB messages"

spf_start() {	# unbound + the spf and plain postern; 0 when all run
	local dport sport pport
	SPF_HOST=$(ip -o -4 addr show scope global 2>/dev/null |
	    awk '{ sub(/\/.*/, "", $4); print $4; exit }')
	[ -n "$SPF_HOST" ] ||
	    { SPF_WHY="no global IPv4 address to send from (loopback clients are not SPF-checked)"; return 1; }
	read -r dport sport pport <<<"$(pick_ports 3)"
	[ -n "$pport" ] || { SPF_WHY="no free ports"; return 1; }
	unbound_start spf "$dport" \
	    'local-zone: "bench.example." redirect' \
	    "local-data: 'bench.example. 300 IN TXT \"v=spf1 ip4:$SPF_HOST -all\"'" \
	    "local-data: 'fail.example. 300 IN TXT \"v=spf1 -all\"'" ||
	    { SPF_WHY=$WHY; return 1; }
	UNBOUND_PID=$LAST_PID
	postern_start spf "$SPF_HOST" "$sport" spf -o "dns.nameserver=127.0.0.1@$dport" ||
	    { SPF_WHY=$WHY; return 1; }
	SPF_PID=$LAST_PID
	postern_start plain "$SPF_HOST" "$pport" "" || { SPF_WHY=$WHY; return 1; }
	PLAIN_PID=$LAST_PID
	SPF_PORT=$sport
	PLAIN_PORT=$pport
	return 0
}

# spf_client PORT MODE COUNT TAG -> msg/s or ERR:why.  MODE cold: sender
# u@TAG-K.bench.example, K = 1..COUNT; probe: one message from fail.example and
# one from bench.example, prints the two reply codes of MAIL.
spf_client() {
	timeout "$RUN_TIMEOUT" "$PY" "$HERE/spf_client.py" "$SPF_HOST" "$@"
}

# spf_cold PORT COUNT TAG: like run_one, but with spf_client
spf_cold() {
	local b a r
	b=$(sink_mesg)
	r=$(spf_client "$1" cold "$2" "$3")
	a=$(sink_mesg)
	case $r in ERR:*) echo "$r"; return ;; esac
	[ -n "$r" ] || { echo "ERR:client-timeout"; return; }
	if [ $((a - b)) -ne "$2" ]; then echo "ERR:sink-got-$((a - b))-of-$2"; return; fi
	echo "$r"
}

# shellcheck disable=SC2317  # (run by pair_run)
spf_warm() {	# spf_warm PORT SIDE: a pair_run runner
	RUN_HOST=$SPF_HOST run_one "$1" "$SPF_SESS" 1024 "$SPF_N"
}
# shellcheck disable=SC2317
spf_cold_run() {	# spf_cold_run PORT SIDE: a pair_run runner, new domains each time
	spf_cold "$1" "$SPF_COLD_N" "r$rep$2$$"
}

SPF_NOTE=""
if spf_start; then
	SPF_WHY=""
	# The spf postern must really check: fail.example (-all) is refused,
	# bench.example passes; the plain one accepts both.
	PROBE_SPF=$(spf_client "$SPF_PORT" probe 0 x)
	PROBE_PLAIN=$(spf_client "$PLAIN_PORT" probe 0 x)
	echo "  probe (MAIL replies for u@bench.example, u@fail.example): spf: $PROBE_SPF, no filters: $PROBE_PLAIN"
	if [ "$PROBE_SPF" != "250 550" ] || [ "$PROBE_PLAIN" != "250 250" ]; then
		SPF_WHY="probe failed (spf: $PROBE_SPF, plain: $PROBE_PLAIN)"
	fi
fi
if [ -z "$SPF_WHY" ]; then
	# warm-up, not counted
	SRC_OPTS="-d -M bench.client -f bench@bench.example -t sink@example.com"
	RUN_HOST=$SPF_HOST run_one "$SPF_PORT" 10 1024 500 >/dev/null
	RUN_HOST=$SPF_HOST run_one "$PLAIN_PORT" 10 1024 500 >/dev/null
	spf_cold "$SPF_PORT" 300 w0 >/dev/null
	spf_cold "$PLAIN_PORT" 300 w1 >/dev/null
	SPF_START_S=$(elapsed_s)
	for rep in $(seq 1 "$REPS"); do
		if [ "$rep" -gt 1 ] && [ $(($(elapsed_s) - SPF_START_S)) -ge "$SPF_BUDGET" ]; then
			SPF_NOTE="note: spf time budget (${SPF_BUDGET}s) reached, skipped repetitions $rep to $REPS"
			break
		fi
		pair_run "$rep" spf-warm "$SPF_N" spf_warm spf "$PLAIN_PID" "$PLAIN_PORT" "$SPF_PID" "$SPF_PORT"
		pair_run "$rep" spf-cold "$SPF_COLD_N" spf_cold_run spf "$PLAIN_PID" "$PLAIN_PORT" "$SPF_PID" "$SPF_PORT"
	done
	echo
	ratio_head spf
	ratio_row spf-warm "spf warm (1 domain)" "$SPF_SESS" "$SPF_N" "$SPF_TARGET"
	ratio_row spf-cold "spf cold (new domains)" "$SPF_SESS" "$SPF_COLD_N" -
	raw_runs spf spf-warm spf-cold
	echo "  (warm: smtp-source; cold: a Python asyncio client, one transaction at a time per session)"
	# shellcheck disable=SC2086
	if awk -v c="$(median ${RATE[spf-cold-plain]:-})" -v w="$(median ${RATE[spf-warm-plain]:-})" \
	    'BEGIN { exit !(c != "-" && w != "-" && c < 0.7 * w) }'; then
		echo "  note: cold plain runs well below warm plain: the Python client, not postern, sets the cold pace"
	fi
	[ -n "$SPF_NOTE" ] && echo "$SPF_NOTE"
	warn_tail "$WORK/postern-spf.log" 3 spf
else
	echo "  not measured: $SPF_WHY"
	add_summary "FAIL (not measured: $SPF_WHY)" "spf warm (1 domain)" "-"
fi
# stop them now (and again, harmlessly, at exit)
[ -n "$SPF_PID" ] && stop_pid "$SPF_PID"
[ -n "$PLAIN_PID" ] && stop_pid "$PLAIN_PID"
[ -n "$UNBOUND_PID" ] && stop_pid "$UNBOUND_PID"
