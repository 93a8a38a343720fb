# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# dkim.sh - signing and verifying, against no filters and openssl speed.
# Sourced by bench.sh after lib.sh; its globals are bench.sh's.

# ---------------------------------------------------------------- dkim
# Five more postern in front of the same sink, on loopback: "sign"
# (filters.chain = dkim_sign), "verify" (dkim_verify), "full" (iplist
# regex spf dkim_verify dkim_sign: the whole chain, RSA-2048 signing, the
# lookups on the key server), "arc" (arc arc_seal: every message sealed,
# two RSA-2048 signatures, the ARC-Message-Signature and the ARC-Seal)
# and "plain" (none).
# Two keys made by scripts/postern-keygen, d=dkim.example: RSA-2048 (selector
# rsa) and Ed25519 (selector ed).  The signing table gives the RSA key to
# From: *@rsa.dkim.example, the Ed25519 key to *@ed.dkim.example and both
# to *@dual.dkim.example (multiple_signatures); the verify postern looks
# the keys up on an unbound on loopback, started like the spf one.
# smtp-source sends to plain and to sign or verify, alternating like the
# spf runs, at 1 and 100 sessions: to sign, 1 KiB messages from
# bench@KIND.dkim.example (smtp-source writes From: from -f); to verify,
# with -F, one message file signed once by dkimpy (RSA-2048, 1 KiB body).
# First 'postern test' with the same options shows that each kind gets its
# signatures and that the file verifies, and 'openssl speed' measures one
# core's sign and verify rates for the same key types (what the crypto
# alone costs).  Signing and verifying are set up apart: when one cannot
# run (no dkim_sign filter, no dkimpy), the other is still measured.
DKIM_ON=${BENCH_DKIM:-1}
DKIM_BUDGET=${BENCH_DKIM_BUDGET:-150}	# seconds; then remaining repetitions are skipped
DKIM_DIR=$WORK/dkim
# case id | kind | sessions | messages | label | target ratio
# Signing targets (issue 19): RSA-2048 at 0.5 of pass-through (one
# RSA-2048 signature per message bounds it near 0.55 on 2 cores), Ed25519
# at 0.85.
DKIM_CASES="
rsa1|rsa|1|2000|dkim sign RSA-2048|-
rsa100|rsa|100|5000|dkim sign RSA-2048|0.5
ed1|ed|1|2000|dkim sign Ed25519|-
ed100|ed|100|5000|dkim sign Ed25519|0.85
dual1|dual|1|2000|dkim sign RSA + Ed25519|-
dual100|dual|100|5000|dkim sign RSA + Ed25519|-
verify1|verify|1|2000|dkim verify RSA-2048|-
verify100|verify|100|5000|dkim verify RSA-2048|0.8
full1|full|1|2000|full chain, RSA-2048 signing|-
full100|full|100|5000|full chain, RSA-2048 signing|-
arc1|arc|1|2000|arc seal RSA-2048|-
arc100|arc|100|5000|arc seal RSA-2048|-
"
DKIM_WHY="" SIGN_WHY="" VERIFY_WHY=""
DKIM_PLAIN_PID="" SIGN_PID="" VERIFY_PID="" DKIM_UNBOUND_PID="" ARC_PID=""
FULL_PID="" ARC_WHY="" FULL_WHY=""

# ossl_rates ALG...: one core's rates from one 'openssl speed' run, one
# line per ALG in the order openssl prints them (rsa, ecdsa, ecdh, eddsa):
# "sign/s verify/s", or "op/s" for a key exchange; "- -" when not measured
ossl_rates() {
	timeout $((30 * $#)) openssl speed -seconds 3 "$@" 2>/dev/null |
	    awk -v n=$# '/sign\/s/ { getline; print $(NF - 1), $NF; k++; next }
		/ op\/s/ { getline; print $NF; k++ }
		END { for (; k < n; k++) print "- -" }'
}

# dkim_test MESSAGE-FILE CHAIN [-o k=v]...: what 'postern test' prints for
# the message with that filter chain, or "ERR:why"
dkim_test() {
	local file=$1 chain=$2
	shift 2
	timeout 30 "$POSTERN" test -o "filters.chain=$chain" "$@" \
	    --from "$(sed -n 's/^From: <\(.*\)>$/\1/p' "$file")" --rcpt sink@example.com \
	    "$file" 2>&1 || echo "ERR:postern test failed"
}

dkim_keys() {	# keys, tables, the signed message; 0 when all are there
	local sel type
	mkdir -m 700 "$DKIM_DIR" || { DKIM_WHY="mkdir $DKIM_DIR failed"; return 1; }
	for sel in rsa ed; do
		type=rsa
		[ "$sel" = ed ] && type=ed25519
		"$HERE/../postern-keygen" -d dkim.example -s "$sel" -k "$type" \
		    -D "$DKIM_DIR" >/dev/null 2>"$DKIM_DIR/keygen.err" ||
		    { DKIM_WHY="postern-keygen: $(tail -n 1 "$DKIM_DIR/keygen.err")"; return 1; }
		cat "$DKIM_DIR/$sel.txt" >>"$DKIM_DIR/records"
	done
	printf '%s\t%s\n' \
	    rsa "dkim.example:rsa:$DKIM_DIR/rsa.private" \
	    ed "dkim.example:ed:$DKIM_DIR/ed.private" >"$DKIM_DIR/KeyTable"
	printf '%s\t%s\n' '*@rsa.dkim.example' rsa '*@ed.dkim.example' ed \
	    '*@dual.dkim.example' rsa '*@dual.dkim.example' ed >"$DKIM_DIR/SigningTable"
	printf '%s\t%s\n' '*@arc.dkim.example' rsa >"$DKIM_DIR/ArcSigningTable"
	for sel in rsa ed dual arc; do
		printf 'From: <bench@%s.dkim.example>\nTo: <sink@example.com>\nSubject: probe\n\nHello.\n' \
		    "$sel" >"$DKIM_DIR/probe-$sel.eml"
	done
	"$PY" -c 'import dkim' 2>/dev/null ||
	    { VERIFY_WHY="dkimpy not found (apt-get install python3-dkim)"; return 0; }
	"$PY" "$HERE/dkim_sign.py" "$DKIM_DIR/rsa.private" "$DKIM_DIR/verify.eml" ||
	    VERIFY_WHY="dkimpy could not sign the message"
	return 0
}

dkim_start_verify() {	# the key server and the verify postern; VERIFY_WHY if not
	local uport=$1 vport=$2 got
	local -a zone
	mapfile -t zone < <(sed -n "s/^\([^ ]*\) IN TXT ( \(.*\) ) ;.*\$/local-data: '\1 300 IN TXT \2'/p" \
	    "$DKIM_DIR/records")
	unbound_start dkim "$uport" 'local-zone: "dkim.example." static' "${zone[@]}" ||
	    { VERIFY_WHY=$WHY; return; }
	DKIM_UNBOUND_PID=$LAST_PID
	VERIFY_OPTS=(-o "dns.nameserver=127.0.0.1@$uport")
	postern_start dkim-verify 127.0.0.1 "$vport" dkim_verify "${VERIFY_OPTS[@]}" ||
	    { VERIFY_WHY=$WHY; return; }
	VERIFY_PID=$LAST_PID VERIFY_PORT=$vport
	got=$(dkim_test "$DKIM_DIR/verify.eml" dkim_verify "${VERIFY_OPTS[@]}" |
	    sed -n 's/^filter results *//p')
	echo "  probe: the message sent to verify, through postern test: ${got:-no result}"
	[ "$got" = dkim_verify=pass ] ||
	    VERIFY_WHY="probe: the signed message does not verify (${got:-no result})"
}

# dkim_probe KIND: signs the probe message from KIND.dkim.example with
# 'postern test' and the sign postern's options, then, when the verify side
# runs, verifies the result the same way; prints "ALGORITHMS RESULTS", such
# as "ed25519-sha256,rsa-sha256 pass,pass" ("-": not verified).
dkim_probe() {
	local f=$DKIM_DIR/probe-$1.eml out algs res=-
	out=$(dkim_test "$f" dkim_sign "${SIGN_OPTS[@]}")
	algs=$(printf '%s\n' "$out" | grep -o 'a=[a-z0-9]*-sha256' | cut -c3- | sort | paste -sd, -)
	if [ -n "$VERIFY_PID" ] && [ -z "$VERIFY_WHY" ]; then
		{
			printf '%s\n' "$out" | sed -n '/^added header/,/^action/p' |
			    sed -e '$d' -e 's/^added header *//'
			cat "$f"
		} >"$f.signed"
		res=$(dkim_test "$f.signed" dkim_verify "${VERIFY_OPTS[@]}" |
		    sed -n 's/^filter results *dkim_verify=//p')
	fi
	echo "${algs:-none} ${res:-none}"
}

# dkim_start: the plain, sign and verify postern and the key server; sets
# DKIM_WHY when nothing can be measured, SIGN_WHY or VERIFY_WHY for a side.
dkim_start() {
	local uport pport sport vport aport fport k got want
	read -r uport pport sport vport aport fport <<<"$(pick_ports 6)"
	[ -n "$fport" ] || { DKIM_WHY="no free ports"; return 1; }
	dkim_keys || return 1
	postern_start dkim-plain 127.0.0.1 "$pport" "" || { DKIM_WHY=$WHY; return 1; }
	DKIM_PLAIN_PID=$LAST_PID DKIM_PLAIN_PORT=$pport
	[ -z "$VERIFY_WHY" ] && dkim_start_verify "$uport" "$vport"
	dkim_start_arc "$aport"
	SIGN_OPTS=(-o "dkim.key_table=$DKIM_DIR/KeyTable"
	    -o "dkim.signing_table=refile:$DKIM_DIR/SigningTable"
	    -o dkim.multiple_signatures=yes -o dkim.outbound=any)
	postern_start dkim-sign 127.0.0.1 "$sport" dkim_sign "${SIGN_OPTS[@]}" ||
	    { SIGN_WHY=$WHY; return 0; }
	SIGN_PID=$LAST_PID SIGN_PORT=$sport
	if [ -n "$VERIFY_WHY" ]; then
		FULL_WHY="no key server ($VERIFY_WHY)"
	elif postern_start dkim-full 127.0.0.1 "$fport" \
	    "iplist regex spf dkim_verify dkim_sign" "${SIGN_OPTS[@]}" \
	    "${VERIFY_OPTS[@]}"; then
		FULL_PID=$LAST_PID FULL_PORT=$fport
	else
		FULL_WHY=$WHY
	fi
	# Each kind must get its signatures (a= of each), and they must verify.
	for k in rsa:rsa-sha256:pass ed:ed25519-sha256:pass \
	    dual:ed25519-sha256,rsa-sha256:pass,pass; do
		got=$(dkim_probe "${k%%:*}")
		want=${k#*:}
		echo "  probe: a message from ${k%%:*}.dkim.example, through postern test: signed with ${got% *}, verifies: ${got#* }"
		case "${got% *}:${got#* }" in
		"$want"|"${want%:*}:-") ;;
		*) SIGN_WHY="probe: ${k%%:*} got '$got', not '${want/:/ }'" ;;
		esac
	done
	return 0
}

dkim_start_arc() {	# the sealing postern; ARC_WHY if not
	local aport=$1 got
	ARC_OPTS=(-o "arc.key_table=$DKIM_DIR/KeyTable"
	    -o "arc.signing_table=refile:$DKIM_DIR/ArcSigningTable"
	    -o arc.seal=all -o "dns.nameserver=127.0.0.1@9")
	postern_start arc-seal 127.0.0.1 "$aport" "arc arc_seal" \
	    "${ARC_OPTS[@]}" || { ARC_WHY=$WHY; return; }
	ARC_PID=$LAST_PID ARC_PORT=$aport
	got=$(dkim_test "$DKIM_DIR/probe-arc.eml" "arc arc_seal" \
	    "${ARC_OPTS[@]}" | sed -n 's/^filter results *//p')
	echo "  probe: a message from arc.dkim.example, through postern test: $got"
	case "$got" in
	*"arc_seal=sealed(i=1 cv=none)"*) ;;
	*) ARC_WHY="probe: not sealed (${got:-no result})" ;;
	esac
}

# shellcheck disable=SC2317  # (run by pair_run)
dkim_run() {	# dkim_run PORT SIDE: a pair_run runner for the current case
	run_one "$1" "$DKIM_SESS" "$DKIM_MSG" "$DKIM_N"
}

# dkim_case KIND: sets pid, port, why (empty when it can run) for KIND's
# filter side, and what smtp-source sends (DKIM_MSG, SRC_OPTS)
dkim_case() {
	local from=bench@$1.dkim.example
	if [ "$1" = verify ]; then
		pid=$VERIFY_PID port=${VERIFY_PORT:-} why=$VERIFY_WHY
		DKIM_MSG=$DKIM_DIR/verify.eml from=bench@rsa.dkim.example
	elif [ "$1" = arc ]; then
		pid=$ARC_PID port=${ARC_PORT:-} why=$ARC_WHY DKIM_MSG=1024
	elif [ "$1" = full ]; then
		pid=$FULL_PID port=${FULL_PORT:-} why=$FULL_WHY DKIM_MSG=1024
		from=bench@rsa.dkim.example
	else
		pid=$SIGN_PID port=${SIGN_PORT:-} why=$SIGN_WHY DKIM_MSG=1024
	fi
	SRC_OPTS="-d -M bench.client -f $from -t sink@example.com"
}

echo
if [ "$DKIM_ON" = 0 ]; then
	echo "== dkim: skipped (BENCH_DKIM=0)"
else
	echo "== dkim: postern with filters.chain = dkim_sign or dkim_verify vs the same postern with no filters, 1 KiB messages"
	DKIM_START_S=$(elapsed_s)
	if dkim_start; then
		[ -n "$SIGN_WHY" ] && echo "  signing not measured: $SIGN_WHY"
		[ -n "$VERIFY_WHY" ] && echo "  verifying not measured: $VERIFY_WHY"
		[ -n "$ARC_WHY" ] && echo "  ARC sealing not measured: $ARC_WHY"
		[ -n "$FULL_WHY" ] && echo "  the full chain not measured: $FULL_WHY"
		read -r RSA_SIGN RSA_VERIFY <<<"$(ossl_rates rsa2048)"
		read -r ED_SIGN ED_VERIFY <<<"$(ossl_rates ed25519)"
		echo "  openssl speed, one core: RSA-2048 sign $RSA_SIGN/s verify $RSA_VERIFY/s; Ed25519 sign $ED_SIGN/s verify $ED_VERIFY/s"
		# warm-up, not counted
		for kind in rsa verify; do
			dkim_case "$kind"
			[ -z "$why" ] && run_one "$port" 10 "$DKIM_MSG" 200 >/dev/null
			run_one "$DKIM_PLAIN_PORT" 10 "$DKIM_MSG" 200 >/dev/null
		done
		DKIM_SKIPPED=0
		for rep in $(seq 1 "$REPS"); do
			while IFS='|' read -r id kind sess n label tgt; do
				[ -n "$id" ] || continue
				dkim_case "$kind"
				[ -z "$why" ] || continue
				if [ "$rep" -gt 1 ] && [ $(($(elapsed_s) - DKIM_START_S)) -ge "$DKIM_BUDGET" ]; then
					DKIM_SKIPPED=$((DKIM_SKIPPED + 1))
					continue
				fi
				DKIM_SESS=$sess DKIM_N=$n
				pair_run "$rep" "dkim-$id" "$n" dkim_run dkim "$DKIM_PLAIN_PID" \
				    "$DKIM_PLAIN_PORT" "$pid" "$port"
			done <<<"$DKIM_CASES"
		done
		echo
		ratio_head dkim
		KEYS=""
		while IFS='|' read -r id kind sess n label tgt; do
			[ -n "$id" ] || continue
			ratio_row "dkim-$id" "$label" "$sess" "$n" "$tgt"
			KEYS="$KEYS dkim-$id"
		done <<<"$DKIM_CASES"
		# shellcheck disable=SC2086
		raw_runs dkim $KEYS
		# What the filter adds to postern's CPU time per message, at 100
		# sessions, next to what the crypto alone takes on one core.
		printf '  postern CPU per message added by the filter (100 sessions) vs openssl alone:'
		for k in rsa:"$RSA_SIGN" ed:"$ED_SIGN" dual:"$RSA_SIGN":"$ED_SIGN" \
		    verify:"$RSA_VERIFY" arc:"$RSA_SIGN":"$RSA_SIGN"; do
			awk -v k="${k%%:*}" -v p="$(cpu_us "dkim-${k%%:*}100-plain")" \
			    -v f="$(cpu_us "dkim-${k%%:*}100-filter")" -v r="${k#*:}" 'BEGIN {
				n = split(r, v, ":"); c = 0
				for (i = 1; i <= n; i++) c = (v[i] > 0 && c >= 0) ? c + 1e6 / v[i] : -1
				printf "\n    %-7s %s us (openssl %s us)", k,
				    (p == "-" || f == "-") ? "-" : sprintf("%.0f", f - p),
				    c < 0 ? "-" : sprintf("%.0f", c) }'
		done
		echo
		echo "  ($(nproc) cores, shared by postern, smtp-source and the sink; one core signs at most $RSA_SIGN RSA-2048 messages/s)"
		budget_note dkim "$DKIM_BUDGET" "$DKIM_SKIPPED"
		for k in dkim-sign dkim-verify dkim-full arc-seal; do
			warn_tail "$WORK/postern-$k.log" 3 "$k"
		done
	else
		echo "  not measured: $DKIM_WHY"
		add_summary "FAIL (not measured: $DKIM_WHY)" "dkim" "-"
	fi
	echo "  (dkim section took $(($(elapsed_s) - DKIM_START_S))s)"
	for pid in $SIGN_PID $VERIFY_PID $ARC_PID $FULL_PID $DKIM_PLAIN_PID \
	    $DKIM_UNBOUND_PID; do stop_pid "$pid"; done
fi
