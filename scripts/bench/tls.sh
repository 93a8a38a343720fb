# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# tls.sh - STARTTLS and implicit TLS sessions per second.
# Sourced by bench.sh after lib.sh; its globals are bench.sh's.

# ---------------------------------------------------------------- tls
# Two more postern in front of the same sink, each with a plain listener
# (STARTTLS offered) and an implicit-TLS one (proxy.listen_tls): "rsa" with
# an RSA-2048 certificate, "ec" with an ECDSA P-256 one, leaves of a
# private P-256 CA made here by openssl (as tests/integ/test_tls.py does).
# Every connection is a new session and every handshake a full one (no
# client offers a session to resume); TLS 1.3 with X25519, the defaults of
# both sides, as the openssl s_client probe shows.
#  STARTTLS: scripts/bench/tls_sessions.py (Python ssl, a process per core with
#     threads) runs sessions of EHLO, STARTTLS, handshake, EHLO, QUIT, and
#     as a second case with one 1 KiB message before QUIT, 1 and 50 at a
#     time, against the same sessions without STARTTLS on the same postern
#     (pair_run, sides "plain" and "tls"): the ratio tls/plain is what TLS
#     costs.
#  implicit TLS: openssl s_time -new (C; handshake only, no SMTP) on the
#     proxy.listen_tls port, 1 and 50 at a time, and for reference the
#     same against 'openssl s_server' with the same certificate: what
#     OpenSSL alone takes per handshake.
# The server's CPU time per connection comes from /proc, as in the filter
# comparisons: steadier than rates on a small host, where the clients need
# about as much CPU as postern does.  The client's CPU time and how busy
# postern was (its CPU time / wall time) show who set the pace.
# 'openssl speed' (one core, before the runs) prices the handshake's
# crypto: the server signs once (RSA-2048 or ECDSA P-256) and does one
# X25519 exchange, so one core can do at most 1 / (sign + X25519)
# handshakes/s; postern's handshakes per CPU second are printed against it.
TLS_ON=${BENCH_TLS:-1}
TLS_BUDGET=${BENCH_TLS_BUDGET:-60}	# seconds; then remaining repetitions are skipped
TLS_DIR=$WORK/tls
TLS_STIME_S=2		# seconds of one s_time run
# case id | key | sessions at a time | message bytes (- none) | connections | label
TLS_CASES="
rsa1|rsa|1|-|500|STARTTLS RSA-2048
rsa50|rsa|50|-|800|STARTTLS RSA-2048
rsam1|rsa|1|1024|300|STARTTLS RSA-2048 + msg
rsam50|rsa|50|1024|700|STARTTLS RSA-2048 + msg
ec1|ec|1|-|500|STARTTLS ECDSA P-256
ec50|ec|50|-|800|STARTTLS ECDSA P-256
ecm1|ec|1|1024|300|STARTTLS P-256 + msg
ecm50|ec|50|1024|700|STARTTLS P-256 + msg
"
TLS_WHY=""
# by key (rsa, ec): postern, its plain and implicit-TLS ports, the
# reference s_server and its port
declare -A TLS_PID TLS_PORT TLS_IPORT REF_PID REF_PORT

tls_certs() {	# a P-256 CA and leaves $TLS_DIR/{rsa,ec}.{pem,key}; TLS_WHY if not
	local k
	local -a newkey
	mkdir -m 700 "$TLS_DIR" || { TLS_WHY="mkdir $TLS_DIR failed"; return 1; }
	printf 'subjectAltName=DNS:mx.bench.example\n' >"$TLS_DIR/leaf.ext"
	{
		timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.pem" -days 2 \
		    -subj "/CN=postern bench CA" || return 1
		for k in rsa ec; do
			newkey=(-newkey rsa:2048)
			[ "$k" = ec ] && newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
			timeout 30 openssl req "${newkey[@]}" -nodes -keyout "$TLS_DIR/$k.key" \
			    -out "$TLS_DIR/$k.csr" -subj /CN=mx.bench.example &&
			timeout 30 openssl x509 -req -in "$TLS_DIR/$k.csr" -CA "$TLS_DIR/ca.pem" \
			    -CAkey "$TLS_DIR/ca.key" -CAcreateserial -days 2 \
			    -extfile "$TLS_DIR/leaf.ext" -out "$TLS_DIR/$k.pem" || return 1
		done
	} >"$TLS_DIR/openssl.log" 2>&1 ||
	    { TLS_WHY="openssl: $(tail -n 1 "$TLS_DIR/openssl.log")"; return 1; }
}

# tls_probe KEY: "PROTOCOL CIPHER SIGNATURE KEY-EXCHANGE VERIFIED" of one
# STARTTLS handshake with the KEY postern (openssl s_client, checking the
# certificate against the bench CA), "-" for what it did not see
tls_probe() {
	echo QUIT | timeout 10 openssl s_client -brief -starttls smtp \
	    -CAfile "$TLS_DIR/ca.pem" -verify_hostname mx.bench.example \
	    -connect "127.0.0.1:${TLS_PORT[$1]}" 2>&1 |
	    awk -F': ' '/^Protocol version:/ { p = $2 } /^Ciphersuite:/ { c = $2 }
		/^Signature type:/ { s = $2 } /^Verification:/ { v = $2 }
		/^Server Temp Key:/ { x = $2; sub(/,.*/, "", x) }
		END { printf "%s %s %s %s %s\n", p ? p : "-", c ? c : "-",
		    s ? s : "-", x ? x : "-", v ? v : "-" }'
}

# tls_start: certificates, the rsa and ec postern and the reference
# s_servers; TLS_WHY when they cannot run as the bench expects
tls_start() {
	local k sig got p1 p2 p3 p4 p5 p6
	command -v openssl >/dev/null 2>&1 || { TLS_WHY="openssl not found"; return 1; }
	[ -r "$HERE/tls_sessions.py" ] || { TLS_WHY="$HERE/tls_sessions.py missing"; return 1; }
	read -r p1 p2 p3 p4 p5 p6 <<<"$(pick_ports 6)"
	[ -n "$p6" ] || { TLS_WHY="no free ports"; return 1; }
	TLS_PORT=([rsa]=$p1 [ec]=$p2) TLS_IPORT=([rsa]=$p3 [ec]=$p4) REF_PORT=([rsa]=$p5 [ec]=$p6)
	tls_certs || return 1
	for k in rsa ec; do
		postern_start "tls-$k" 127.0.0.1 "${TLS_PORT[$k]}" "" \
		    -o "proxy.listen_tls=127.0.0.1:${TLS_IPORT[$k]}" \
		    -o "tls.cert=$TLS_DIR/$k.pem" -o "tls.key=$TLS_DIR/$k.key" ||
		    { TLS_WHY=$WHY; return 1; }
		TLS_PID[$k]=$LAST_PID
		wait_listen "${TLS_IPORT[$k]}" "$LAST_PID" ||
		    { TLS_WHY="postern (tls-$k) does not listen on ${TLS_IPORT[$k]}"; return 1; }
		openssl s_server -accept "127.0.0.1:${REF_PORT[$k]}" -naccept 1000000 -quiet \
		    -cert "$TLS_DIR/$k.pem" -key "$TLS_DIR/$k.key" \
		    </dev/null >"$TLS_DIR/s_server-$k.log" 2>&1 &
		REF_PID[$k]=$!
		PIDS="$PIDS ${REF_PID[$k]}"
		wait_listen "${REF_PORT[$k]}" "${REF_PID[$k]}" ||
		    { TLS_WHY="openssl s_server ($k) did not start: $(tail -n 1 "$TLS_DIR/s_server-$k.log")"; return 1; }
		# The handshake must be the one the ceiling prices.
		sig=RSA-PSS
		[ "$k" = ec ] && sig=ECDSA
		got=$(tls_probe "$k")
		echo "  probe: STARTTLS with the $k postern (openssl s_client): $got"
		case $got in
		"TLSv1.3 "*" $sig X25519 OK") ;;
		*) TLS_WHY="probe: $k got '$got', not 'TLSv1.3 ... $sig X25519 OK'"; return 1 ;;
		esac
	done
	return 0
}

# shellcheck disable=SC2317  # (run by pair_run)
tls_run() {	# tls_run PORT SIDE: a pair_run runner for the current case (TLS_*); SIDE plain: no STARTTLS
	local mode=starttls b a out rc
	local -a msg=()
	[ "$2" = plain ] && mode=plain
	[ "$TLS_MSG" = - ] || msg=(--message "$TLS_MSG")
	b=$(sink_mesg)
	out=$(timeout "$RUN_TIMEOUT" "$PY" "$HERE/tls_sessions.py" --port "$1" --mode "$mode" \
	    --sessions "$TLS_SESS" --count "$TLS_N" --timeout $((RUN_TIMEOUT - 15)) \
	    "${msg[@]}" 2>"$TLS_DIR/client.err")
	rc=$?
	a=$(sink_mesg)
	if [ "$rc" -eq 124 ]; then echo "ERR:timeout"; return; fi
	if [ -z "$out" ]; then
		echo "ERR:rc=$rc:$(tail -n 1 "$TLS_DIR/client.err" | tr -s ' \t' '__' | cut -c1-80)"
		return
	fi
	if [ "$rc" -ne 0 ]; then
		echo "ERR:$(field errors "$out")-errors:$(field first_error "$out")"
		return
	fi
	if [ "$(field reused "$out")" != 0 ]; then echo "ERR:$(field reused "$out")-resumed"; return; fi
	if [ "$TLS_MSG" != - ] && [ $((a - b)) -ne "$TLS_N" ]; then
		echo "ERR:sink-got-$((a - b))-of-$TLS_N"
		return
	fi
	echo "$TLS_KEY-$2 $(field client_cpu_s "$out") $(field seconds "$out")" >>"$TLS_DIR/client.cpu"
	field rate "$out"
}

# tls_stime KEY PORT PID CLIENTS: CLIENTS 'openssl s_time -new' at once,
# TLS_STIME_S seconds each, against the implicit-TLS server PID on PORT;
# records the rate and PID's CPU time per handshake under KEY, as pair_run
# does, and prints the run
tls_stime() {
	local key=$1 port=$2 pid=$3 k c0 c1 t0 t1 n rc=0 pids="" r
	c0=$(cpu_ticks "$pid")
	t0=$(now_ns)
	for k in $(seq 1 "$4"); do
		timeout $((TLS_STIME_S + 20)) openssl s_time -connect "127.0.0.1:$port" \
		    -new -time "$TLS_STIME_S" </dev/null >"$TLS_DIR/stime.$k" 2>&1 &
		pids="$pids $!"
	done
	PIDS="$PIDS$pids"	# stopped at exit if interrupted; dropped once reaped
	for k in $pids; do wait "$k" || rc=$?; done
	PIDS=${PIDS%"$pids"}
	t1=$(now_ns)
	c1=$(cpu_ticks "$pid")
	n=$(cat "$TLS_DIR"/stime.* | awk '/connections in .* real seconds/ { n += $1 } END { print n + 0 }')
	if [ "$rc" -ne 0 ]; then
		r="ERR:s_time-rc=$rc:$(grep -h -m 1 -i error "$TLS_DIR"/stime.* | head -n 1 | tr -s ' \t' '__' | cut -c1-60)"
	elif [ "$n" -eq 0 ] || ! kill -0 "$pid" 2>/dev/null; then
		r="ERR:no-handshakes"
	else
		r=$(awk -v n="$n" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f\n", n * 1e9 / ns }')
		if isnum "$c0" && isnum "$c1"; then
			CPU[$key]=$(( ${CPU[$key]:-0} + c1 - c0 ))
			CNT[$key]=$(( ${CNT[$key]:-0} + n ))
		fi
	fi
	rm -f "$TLS_DIR"/stime.*
	RATE[$key]="${RATE[$key]:-} $r"
	printf '  rep %d  %-14s %-6s %s\n' "$rep" "$key" "$4-cli" "$r"
}

# tls_pace KEY-SIDE: "POSTERN/CLIENT BUSY": postern's and the client's CPU
# us per connection, and postern's CPU time / the runs' wall time
tls_pace() {
	awk -v k="$1" -v t="${CPU[$1]:-}" -v n="${CNT[$1]:-0}" -v hz="$CLK_TCK" \
	    -v p="$(cpu_us "$1")" '$1 == k { c += $2; s += $3 } END {
		printf "%s/%s %s", p, (n > 0 && s > 0) ? sprintf("%.0f", c * 1e6 / n) : "-",
		    (s > 0 && t != "") ? sprintf("%.0f%%", t * 100 / hz / s) : "-" }' \
	    "$TLS_DIR/client.cpu" 2>/dev/null
}

# tls_ceiling LABEL US FLOOR-US...: one line of the ceiling table, for
# postern CPU per handshake US of each key; FLOOR-US the crypto's
tls_ceiling() {
	printf '    %-38s' "$1"
	shift
	awk -v a="$1" -v b="$2" -v fa="$3" -v fb="$4" 'function cell(u, f) {
		if (u == "-" || u <= 0) return sprintf("%-20s", "-")
		return sprintf("%-20s", sprintf("%.0f/s (%.2f)", 1e6 / u, f == "-" ? 0 : f / u)) }
	    BEGIN { print cell(a, fa) cell(b, fb) }'
}

echo
if [ "$TLS_ON" = 0 ]; then
	echo "== tls: skipped (BENCH_TLS=0)"
else
	echo "== tls: new sessions with STARTTLS through postern vs the same sessions without, RSA-2048 and ECDSA P-256 certificates"
	TLS_START_S=$(elapsed_s)
	if tls_start; then
		mapfile -t SPEED < <(ossl_rates rsa2048 ecdsap256 ecdhx25519)
		RSA_SIGN=${SPEED[0]%% *} EC_SIGN=${SPEED[1]%% *} X25519_OPS=${SPEED[2]%% *}
		echo "  openssl speed, one core: RSA-2048 sign $RSA_SIGN/s, ECDSA P-256 sign $EC_SIGN/s, X25519 $X25519_OPS/s"
		# warm-up, not counted
		for k in rsa ec; do
			TLS_KEY=warm TLS_SESS=10 TLS_MSG=- TLS_N=200
			tls_run "${TLS_PORT[$k]}" tls >/dev/null
		done
		TLS_SKIPPED=0
		for rep in $(seq 1 "$REPS"); do
			while IFS='|' read -r id key sess bytes n label; do
				[ -n "$id" ] || continue
				if [ "$rep" -gt 1 ] && [ $(($(elapsed_s) - TLS_START_S)) -ge "$TLS_BUDGET" ]; then
					TLS_SKIPPED=$((TLS_SKIPPED + 1))
					continue
				fi
				TLS_KEY=tls-$id TLS_SESS=$sess TLS_MSG=$bytes TLS_N=$n
				pair_run "$rep" "tls-$id" "$n" tls_run tls "${TLS_PID[$key]}" \
				    "${TLS_PORT[$key]}" "${TLS_PID[$key]}" "${TLS_PORT[$key]}"
			done <<<"$TLS_CASES"
			for key in rsa ec; do
				if [ "$rep" -gt 1 ] && [ $(($(elapsed_s) - TLS_START_S)) -ge "$TLS_BUDGET" ]; then
					TLS_SKIPPED=$((TLS_SKIPPED + 3))
					continue
				fi
				tls_stime "tls-$key-s1" "${TLS_IPORT[$key]}" "${TLS_PID[$key]}" 1
				tls_stime "tls-$key-s50" "${TLS_IPORT[$key]}" "${TLS_PID[$key]}" 50
				tls_stime "tls-$key-ref" "${REF_PORT[$key]}" "${REF_PID[$key]}" 1
			done
		done
		echo
		echo "conn: one connection with one session; + msg: with one 1 KiB message"
		ratio_head tls conn
		KEYS=""
		while IFS='|' read -r id key sess bytes n label; do
			[ -n "$id" ] || continue
			ratio_row "tls-$id" "$label" "$sess" "$n" -
			KEYS="$KEYS tls-$id"
		done <<<"$TLS_CASES"
		# shellcheck disable=SC2086
		UNIT=conn raw_runs tls $KEYS
		echo "who set the pace: CPU us per connection of postern/the Python client, and how busy postern was (its CPU time / wall time):"
		while IFS='|' read -r id key sess bytes n label; do
			[ -n "$id" ] || continue
			printf '  %-24s %4d   plain %-18s tls %s\n' "$label" "$sess" \
			    "$(tls_pace "tls-$id-plain")" "$(tls_pace "tls-$id-filter")"
		done <<<"$TLS_CASES"
		echo "implicit TLS, openssl s_time -new (handshake only, no SMTP): handshakes/s (median) and the server's CPU us per handshake:"
		for key in rsa ec; do
			printf '  %-4s' "$key"
			sep=""
			for k in s1:"postern, 1 client" s50:"postern, 50 clients" ref:"openssl s_server, 1 client"; do
				# shellcheck disable=SC2086
				printf '%s %s: %s/s %s us' "$sep" "${k#*:}" "$(median ${RATE[tls-$key-${k%%:*}]:-})" \
				    "$(cpu_us "tls-$key-${k%%:*}")"
				sep=";"
			done
			echo
		done
		# The crypto of one handshake on one core, in us: one signature
		# and one X25519 exchange.
		FLOOR_RSA=$(awk -v s="$RSA_SIGN" -v x="$X25519_OPS" 'BEGIN { print (s > 0 && x > 0) ? 1e6 / s + 1e6 / x : "-" }')
		FLOOR_EC=$(awk -v s="$EC_SIGN" -v x="$X25519_OPS" 'BEGIN { print (s > 0 && x > 0) ? 1e6 / s + 1e6 / x : "-" }')
		awk -v a="$FLOOR_RSA" -v b="$FLOOR_EC" 'function c(f) { return f == "-" ? "-" : sprintf("%.0f/s (%.0f us)", 1e6 / f, f) }
		    BEGIN { printf "handshake ceiling of one core, 1 / (sign + X25519): RSA-2048 %s, ECDSA P-256 %s\n", c(a), c(b) }'
		echo "handshakes per second of the server's CPU time (ratio to that ceiling):"
		printf '    %-38s%-20s%-20s\n' "" RSA-2048 "ECDSA P-256"
		tls_ceiling "STARTTLS sessions, 50 clients" "$(cpu_us tls-rsa50-filter)" \
		    "$(cpu_us tls-ec50-filter)" "$FLOOR_RSA" "$FLOOR_EC"
		tls_ceiling "  the TLS part (tls - plain CPU)" \
		    "$(awk -v f="$(cpu_us tls-rsa50-filter)" -v p="$(cpu_us tls-rsa50-plain)" 'BEGIN { print (f == "-" || p == "-") ? "-" : f - p }')" \
		    "$(awk -v f="$(cpu_us tls-ec50-filter)" -v p="$(cpu_us tls-ec50-plain)" 'BEGIN { print (f == "-" || p == "-") ? "-" : f - p }')" \
		    "$FLOOR_RSA" "$FLOOR_EC"
		tls_ceiling "implicit TLS (s_time), 50 clients" "$(cpu_us tls-rsa-s50)" \
		    "$(cpu_us tls-ec-s50)" "$FLOOR_RSA" "$FLOOR_EC"
		tls_ceiling "openssl s_server (s_time), 1 client" "$(cpu_us tls-rsa-ref)" \
		    "$(cpu_us tls-ec-ref)" "$FLOOR_RSA" "$FLOOR_EC"
		echo "  ($(nproc) cores, shared by postern, the clients and the sink)"
		budget_note tls "$TLS_BUDGET" "$TLS_SKIPPED"
		for k in rsa ec; do
			warn_tail "$WORK/postern-tls-$k.log" 3 "tls $k"
		done
	else
		echo "  not measured: $TLS_WHY"
	fi
	echo "  (tls section took $(($(elapsed_s) - TLS_START_S))s)"
	for pid in "${TLS_PID[@]}" "${REF_PID[@]}"; do stop_pid "$pid"; done
fi
