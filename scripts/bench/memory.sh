# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# memory.sh - RSS per idle connection and the worst case per connection.
# Sourced by bench.sh after lib.sh; its globals are bench.sh's.

# ---------------------------------------------------------------- memory
IDLE_LINE=""
IDLE_RC=""
if postern_alive; then
	echo "opening $IDLE_N idle connections to postern ..."
	IDLE_LINE=$(timeout $((IDLE_TIMEOUT + 30)) "$PY" "$HERE/idle_conns.py" \
	    --port "$PROXY_PORT" --count "$IDLE_N" --pid "$POSTERN_PID" \
	    --timeout "$IDLE_TIMEOUT" 2>"$WORK/idle.err")
	IDLE_RC=$?
	echo "  $IDLE_LINE"
	[ -s "$WORK/idle.err" ] && sed 's/^/  /' "$WORK/idle.err"
	sleep 1		# let postern notice the closes before reading VmRSS/VmHWM
else
	POSTERN_DIED=1
fi
HWM_FINAL=$(vm_kib "$POSTERN_PID" VmHWM)
RSS_FINAL=$(vm_kib "$POSTERN_PID" VmRSS)

# The worst case per connection: sessions holding the biggest header
# section the limits let through, on a postern whose filters keep it, and
# the bound 'postern check' gives for the same configuration.
HDR_N=${BENCH_HEADER_CONNS:-20}
HDR_OPTS=(-o "regex.rules=$HERE/../../rules/default.rules" -o dns.nameserver=127.0.0.1@9)
HDR_LINE=""
HDR_BOUND=$("$POSTERN" check -o "filters.chain=regex dkim_verify" "${HDR_OPTS[@]}" 2>/dev/null |
    sed -n 's/.*at most \([0-9.]*\) MiB per connection.*/\1/p')
if ! HDR_PORT=$(pick_ports 1); then
	HDR_LINE="no free port"
elif postern_start header 127.0.0.1 "$HDR_PORT" "regex dkim_verify" "${HDR_OPTS[@]}"; then
	echo "opening $HDR_N sessions each holding a full header section ..."
	HDR_LINE=$(timeout 90 "$PY" "$HERE/header_conns.py" --port "$HDR_PORT" \
	    --pid "$LAST_PID" --count "$HDR_N" 2>"$WORK/header.err")
	echo "  $HDR_LINE"
	[ -s "$WORK/header.err" ] && sed 's/^/  /' "$WORK/header.err"
	stop_pid "$LAST_PID"
else
	HDR_LINE=$WHY
fi

echo
echo "== memory"
printf 'postern peak RSS (VmHWM): after throughput %s KiB, after idle test %s KiB; VmRSS now %s KiB\n' \
    "${HWM_TP:-?}" "${HWM_FINAL:-?}" "${RSS_FINAL:-?}"
PER=$(field per_conn_kib)
GREETED=$(field greeted)
DROPPED=$(field dropped)
if [ -n "$PER" ] && [ "$PER" != none ]; then
	printf 'idle connections: %s of %s greeted (%s dropped), VmRSS %s -> %s KiB, %s KiB per connection (target <= %s KiB)\n' \
	    "$GREETED" "$IDLE_N" "${DROPPED:-?}" "$(field rss_before_kib)" "$(field rss_after_kib)" "$PER" "$IDLE_TARGET_KIB"
	if [ "$IDLE_RC" -ne 0 ]; then
		res="FAIL (only $((GREETED - DROPPED)) of $IDLE_N connections held: $(field reasons))"
	elif awk -v p="$PER" -v t="$IDLE_TARGET_KIB" 'BEGIN { exit !(p <= t) }'; then
		res=PASS
	else
		res=FAIL
	fi
else
	echo "idle connections: not measured (${IDLE_LINE:-postern not running})"
	res="FAIL (not measured)"
	PER=-
fi
add_summary "$res" "RSS per idle connection" "$PER KiB (target <= $IDLE_TARGET_KIB KiB)"

HPER=$(field per_conn_kib "$HDR_LINE")
if isnum "$HPER" && isnum "$HDR_BOUND"; then
	printf 'worst case (regex dkim_verify, %s sessions of %s header fields, %s header bytes): %s held, VmRSS %s -> %s KiB, %s KiB per connection (postern check bound %s MiB)\n' \
	    "$HDR_N" "$(field fields "$HDR_LINE")" "$(field total "$HDR_LINE")" "$(field held "$HDR_LINE")" \
	    "$(field rss_before_kib "$HDR_LINE")" "$(field rss_after_kib "$HDR_LINE")" "$HPER" "$HDR_BOUND"
	if awk -v p="$HPER" -v b="$HDR_BOUND" 'BEGIN { exit !(p <= b * 1024) }'; then
		res=PASS
	else
		res="FAIL (over the bound postern check prints)"
	fi
else
	echo "worst case per connection: not measured (${HDR_LINE:-?})"
	res="FAIL (not measured)"
	HPER=-
fi
add_summary "$res" "RSS worst case per conn" "$HPER KiB (bound ${HDR_BOUND:-?} MiB)"
