# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# dnsbl.sh - the dnsbl filter with three zones, warm and cold, against none.
# Sourced by bench.sh after lib.sh; its globals are bench.sh's.

# ---------------------------------------------------------------- dnsbl
# Two more postern in front of the same sink, both with
# proxy.proxy_protocol: "dnsbl" with filters.chain = dnsbl and three zones
# in dnsbl.sites, its resolver on an unbound started here that serves the
# three zones (each with an SOA, so that "not listed" is cached for its
# TTL, as with a real list) and lists no client; "plain" with no filter.
# Short sessions as lib.sh's conn_pairs runs them: warm, one address (its
# six lookups, A and TXT in each zone, cached after the first); cold, a
# new address every time (six lookups at once, to unbound).  Target
# >= 0.8 warm.
DNSBL_ON=${BENCH_DNSBL:-1}
DNSBL_BUDGET=${BENCH_DNSBL_BUDGET:-40}
DNSBL_TARGET=0.8
DNSBL_WARM=10.99.0.1
DNSBL_PID=""
DNSBL_PLAIN_PID=""
DNSBL_DNS_PID=""
DNSBL_WHY=""

dnsbl_start() {	# unbound + the dnsbl and plain postern; 0 when all run
	local dport fport pport z
	local -a zone=()
	read -r dport fport pport <<<"$(pick_ports 3)"
	[ -n "$pport" ] || { DNSBL_WHY="no free ports"; return 1; }
	for z in bl1 bl2 bl3; do
		zone+=("local-zone: \"$z.bench.example.\" static"
		    "local-data: \"$z.bench.example. 3600 IN SOA ns.bench.example. hostmaster.bench.example. 1 3600 600 86400 3600\"")
	done
	unbound_start dnsbl "$dport" "${zone[@]}" || { DNSBL_WHY=$WHY; return 1; }
	DNSBL_DNS_PID=$LAST_PID
	postern_start dnsbl 127.0.0.1 "$fport" dnsbl -o proxy.proxy_protocol=yes \
	    -o "dnsbl.sites=bl1.bench.example, bl2.bench.example*2, bl3.bench.example=127.0.0.[2..11]" \
	    -o "dns.nameserver=127.0.0.1@$dport" -o log.level=info ||
	    { DNSBL_WHY=$WHY; return 1; }
	DNSBL_PID=$LAST_PID
	postern_start dnsbl-plain 127.0.0.1 "$pport" "" -o proxy.proxy_protocol=yes \
	    -o log.level=info || { DNSBL_WHY=$WHY; return 1; }
	DNSBL_PLAIN_PID=$LAST_PID
	DNSBL_PORT=$fport
	DNSBL_PLAIN_PORT=$pport
	return 0
}

echo
if [ "$DNSBL_ON" = 0 ]; then
	echo "== dnsbl: skipped (BENCH_DNSBL=0)"
else
	echo "== dnsbl: postern with filters.chain = dnsbl (3 zones) vs none, new connections (greeting, EHLO, QUIT) from PROXY-header clients, $CONN_SESS at a time"
	DNSBL_START_S=$(elapsed_s)
	if dnsbl_start; then
		# The dnsbl postern must really ask the lists: a message from
		# the warm address and one from a cold one, judged "none".
		conn_probe "$DNSBL_PORT" "$DNSBL_WARM"
		PROBE=$(grep -c ' filters="dnsbl=none"' "$WORK/postern-dnsbl.log")
		echo "  probe (transactions with dnsbl=none): $PROBE"
		[ "$PROBE" = 2 ] || DNSBL_WHY="probe failed: $PROBE transactions with dnsbl=none, not 2"
	fi
	if [ -z "$DNSBL_WHY" ]; then
		CONN_N=2000
		conn_pairs dnsbl "$DNSBL_BUDGET" "$DNSBL_START_S" "$DNSBL_WARM" \
		    "$DNSBL_PLAIN_PID" "$DNSBL_PLAIN_PORT" "$DNSBL_PID" "$DNSBL_PORT" \
		    "$DNSBL_TARGET" "dnsbl"
		grep -F 'postern[warning]' "$WORK/postern-dnsbl.log" >"$WORK/dnsbl-warnings.log"
		warn_tail "$WORK/dnsbl-warnings.log" 3 dnsbl
	else
		echo "  not measured: $DNSBL_WHY"
		add_summary "FAIL (not measured: $DNSBL_WHY)" "dnsbl warm (1 address)" "-"
	fi
	for pid in $DNSBL_PID $DNSBL_PLAIN_PID $DNSBL_DNS_PID; do stop_pid "$pid"; done
	echo "  (dnsbl section took $(($(elapsed_s) - DNSBL_START_S))s)"
fi
