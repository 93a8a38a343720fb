# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# rdns.sh - reverse DNS warm and cold against none.
# Sourced by bench.sh after lib.sh; its globals are bench.sh's.

# ---------------------------------------------------------------- reverse dns
# Two more postern in front of the same sink, both with
# proxy.proxy_protocol (every connection starts with a PROXY v1 header
# naming its client): "rdns" with proxy.reverse_dns = yes, its resolver on
# an unbound started here that serves a PTR name and its A record for
# every client address used (so each name is forward-confirmed), and
# "plain" with reverse_dns = no; short sessions as lib.sh's conn_pairs
# runs them.
#  warm: every connection from 10.99.0.1: after the first, its PTR and A
#        answers come from the cache of postern's resolver;
#  cold: every connection from a new address (10.(100+rep).x.y), both
#        lookups going to unbound.
# Each pair alternates plain/rdns per repetition; the ratio is rdns/plain
# per repetition, median of them.  Target >= 0.9 warm; cold has none (it
# measures the resolver's round trips).
RDNS_ON=${BENCH_RDNS:-1}
RDNS_BUDGET=${BENCH_RDNS_BUDGET:-40}
RDNS_N=${BENCH_RDNS_CONNS:-2000}	# connections a run, at most 65536
RDNS_TARGET=0.9
RDNS_WARM=10.99.0.1
RDNS_PID=""
RDNS_PLAIN_PID=""
RDNS_DNS_PID=""
RDNS_WHY=""

rdns_zone() {	# unbound local-data lines: the warm address and RDNS_N in each 10.(100+r)/16, r = 0..REPS
	awk -v n="$RDNS_N" -v reps="$REPS" -v warm="$RDNS_WARM" '
	function z(a, h,  o) {
		split(a, o, ".")
		printf "local-data: \"%s.%s.%s.%s.in-addr.arpa. 300 IN PTR %s.rdns.bench.example.\"\n", o[4], o[3], o[2], o[1], h
		printf "local-data: \"%s.rdns.bench.example. 300 IN A %s\"\n", h, a
	}
	BEGIN {
		z(warm, "warm")
		for (r = 0; r <= reps; r++)
			for (k = 0; k < n; k++)
				z(sprintf("10.%d.%d.%d", 100 + r, int(k / 256), k % 256), sprintf("c%d-%d", r, k))
	}'
}

rdns_start() {	# unbound + the rdns and plain postern; 0 when all run
	local dport rport pport
	local -a zone
	[ "$RDNS_N" -le 65536 ] || { RDNS_WHY="BENCH_RDNS_CONNS over 65536"; return 1; }
	read -r dport rport pport <<<"$(pick_ports 3)"
	[ -n "$pport" ] || { RDNS_WHY="no free ports"; return 1; }
	mapfile -t zone < <(rdns_zone)
	unbound_start rdns "$dport" "${zone[@]}" || { RDNS_WHY=$WHY; return 1; }
	RDNS_DNS_PID=$LAST_PID
	postern_start rdns 127.0.0.1 "$rport" "" -o proxy.proxy_protocol=yes \
	    -o proxy.reverse_dns=yes -o "dns.nameserver=127.0.0.1@$dport" \
	    -o log.level=info || { RDNS_WHY=$WHY; return 1; }
	RDNS_PID=$LAST_PID
	postern_start rdns-plain 127.0.0.1 "$pport" "" -o proxy.proxy_protocol=yes \
	    -o log.level=info || { RDNS_WHY=$WHY; return 1; }
	RDNS_PLAIN_PID=$LAST_PID
	RDNS_PORT=$rport
	RDNS_PLAIN_PORT=$pport
	return 0
}

echo
if [ "$RDNS_ON" = 0 ]; then
	echo "== reverse dns: skipped (BENCH_RDNS=0)"
else
	echo "== reverse dns: postern with proxy.reverse_dns = yes vs = no, new connections (greeting, EHLO, QUIT) from PROXY-header clients, $CONN_SESS at a time"
	RDNS_START_S=$(elapsed_s)
	if rdns_start; then
		# The rdns postern must really name its clients: one message
		# from the warm address and one from a cold one, as the
		# transaction log shows them.
		conn_probe "$RDNS_PORT" "$RDNS_WARM"
		PROBE=$(sed -n 's/.* client_name="\([^"]*\)".*/\1/p' "$WORK/postern-rdns.log" | tr '\n' ' ')
		echo "  probe (client_name of a warm and a cold client): $PROBE"
		[ "$PROBE" = "warm.rdns.bench.example c0-0.rdns.bench.example " ] ||
		    RDNS_WHY="probe failed: client_name $PROBE"
	fi
	if [ -z "$RDNS_WHY" ]; then
		CONN_N=$RDNS_N
		conn_pairs rdns "$RDNS_BUDGET" "$RDNS_START_S" "$RDNS_WARM" \
		    "$RDNS_PLAIN_PID" "$RDNS_PLAIN_PORT" "$RDNS_PID" "$RDNS_PORT" \
		    "$RDNS_TARGET" "reverse dns"
		grep -F 'postern[warning]' "$WORK/postern-rdns.log" >"$WORK/rdns-warnings.log"
		warn_tail "$WORK/rdns-warnings.log" 3 rdns
	else
		echo "  not measured: $RDNS_WHY"
		add_summary "FAIL (not measured: $RDNS_WHY)" "rdns warm (1 address)" "-"
	fi
	for pid in $RDNS_PID $RDNS_PLAIN_PID $RDNS_DNS_PID; do stop_pid "$pid"; done
	echo "  (reverse dns section took $(($(elapsed_s) - RDNS_START_S))s)"
fi
