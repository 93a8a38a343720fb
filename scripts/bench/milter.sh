# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2004,SC2034,SC2153,SC2154
# (globals and associative arrays are shared by the sourced files)
# milter.sh - postern milter behind Postfix, the milter filter in front of OpenDKIM.
# Sourced by bench.sh after lib.sh; its globals are bench.sh's.

# ---------------------------------------------------------------- milter
# The two milter jobs, each against the same path without the milter:
#  postfix: a private Postfix on loopback (its own config directory under
#     $WORK, no chroot, relaying everything to the sink) with two smtpd
#     listeners, one plain and one with smtpd_milters pointing at a
#     'postern milter' that runs filters.chain = regex with the shipped
#     rules/default.rules (header and body rules on every message, no
#     DNS); milter_default_action = tempfail, so a failing milter shows as
#     errors.  smtp-source gets its 250 once Postfix has queued the
#     message: the rate is Postfix's intake, and each run waits, untimed
#     and bounded, until the sink has all its messages, so that no queue
#     is left for the next run.  Ratio milter/alone.
#  proxy: postern with filters.chain = milter calling an OpenDKIM that
#     signs (RSA-2048, Mode s, as tests/integ/test_dkim_interop.py runs
#     it), and calling the same 'postern milter' as above (a C milter
#     that is cheap next to an RSA signature, so what the milter protocol
#     itself costs the proxy shows), against a postern with no filters.
#     The OpenDKIM cases send one message per session (smtp-source
#     without -d), the others persistent sessions: through the milter
#     filter OpenDKIM signed only one message of a session (the probe
#     counts them), so persistent sessions would mostly measure messages
#     it does not sign.
# A probe first: a message with the EICAR test string is refused (554,
# from a default.rules rule) through Postfix + postern milter and through
# the proxy calling postern milter, and accepted by Postfix alone; and
# three messages in one session through a probe postern calling OpenDKIM
# reach an smtp-sink -d, at least one with its DKIM-Signature.  CPU us/msg: the column holds postern's
# (the proxy) or, for Postfix, the milter's only (Postfix's processes
# come and go); the milter's own CPU time per message follows the table.
MILTER_ON=${BENCH_MILTER:-1}
MILTER_BUDGET=${BENCH_MILTER_BUDGET:-60}	# seconds; then remaining repetitions are skipped
MILTER_DIR=$WORK/milter
# case id | kind | sessions | messages | label
MILTER_CASES="
pf1|postfix|1|150|Postfix+postern milter
pf50|postfix|50|2000|Postfix+postern milter
odk1|opendkim|1|100|proxy+OpenDKIM (1/sess)
odk50|opendkim|50|1000|proxy+OpenDKIM (1/sess)
pm1|pmilter|1|1500|proxy+postern milter
pm50|pmilter|50|4000|proxy+postern milter
"
MILTER_WHY=""
PF_ETC="" PF_MASTER="" MFRONT_PID="" ODK_PID="" MPLAIN_PID="" MODK_PID="" MPM_PID=""

# milter_probe PORT FILE: the reply code a message (FILE, LF line ends)
# from bench@dkim.example gets at PORT, with ":EICAR" when the reply's
# text names it (the default.rules rule), or ERR:why
milter_probe() {
	timeout 30 "$PY" "$HERE/milter_probe.py" "$1" "$2"
}

# pf_start PORT MPORT MILTER: a private Postfix in $MILTER_DIR/postfix
# relaying to the sink, smtpd on 127.0.0.1:PORT and, with smtpd_milters =
# MILTER (inet:host:port), on 127.0.0.1:MPORT.  Sets PF_ETC and PF_MASTER
# (in PIDS); MILTER_WHY when it does not start.
pf_start() {
	local d=$MILTER_DIR/postfix
	if ! (mkdir -p "$d/etc" "$d/queue" "$d/data" && chown postfix "$d/data" &&
	    cp /etc/postfix/master.cf "$d/etc/" && : >"$d/etc/main.cf"); then
		MILTER_WHY="cannot make $d"
		return 1
	fi
	PF_ETC=$d/etc
	{
		postconf -c "$PF_ETC" -e compatibility_level=3.6 \
		    "queue_directory=$d/queue" "data_directory=$d/data" \
		    inet_interfaces=127.0.0.1 inet_protocols=ipv4 \
		    myhostname=mx.bench.example mydestination= alias_maps= \
		    alias_database= mynetworks=127.0.0.0/8 \
		    "maillog_file=$d/maillog" "maillog_file_prefixes=$d" \
		    "relayhost=[127.0.0.1]:$SINK_PORT" smtp_dns_support_level=disabled \
		    smtpd_peername_lookup=no milter_protocol=6 \
		    milter_default_action=tempfail &&
		postconf -c "$PF_ETC" -F '*/*/chroot = n' &&
		postconf -c "$PF_ETC" -MX smtp/inet &&
		postconf -c "$PF_ETC" -Me "127.0.0.1:$1/inet = 127.0.0.1:$1 inet n - n - - smtpd" &&
		postconf -c "$PF_ETC" -Me "127.0.0.1:$2/inet = 127.0.0.1:$2 inet n - n - - smtpd -o smtpd_milters=$3" &&
		timeout 60 postfix -c "$PF_ETC" start
	} </dev/null >"$d/start.log" 2>&1 ||
	    { MILTER_WHY="postfix: $(tail -n 1 "$d/start.log")"; return 1; }
	PF_MASTER=$(tr -dc 0-9 <"$d/queue/pid/master.pid" 2>/dev/null)
	[ -n "$PF_MASTER" ] || { MILTER_WHY="postfix: no master.pid"; return 1; }
	PIDS="$PF_MASTER $PIDS"	# stopped (and its children with it) before the sink
	wait_listen "$1" "$PF_MASTER" && wait_listen "$2" "$PF_MASTER" && return 0
	MILTER_WHY="postfix does not listen on $1 and $2: $(tail -n 2 "$d/maillog" 2>/dev/null | tr '\n' ' ')"
	return 1
}

pf_stop() {	# 'postfix stop', then the master and any daemon left of this instance, by PID
	local pid _
	[ -n "$PF_ETC" ] || return 0
	timeout 20 postfix -c "$PF_ETC" stop </dev/null >/dev/null 2>&1
	[ -n "$PF_MASTER" ] && stop_pid "$PF_MASTER"
	while IFS=/ read -r _ _ pid _; do
		stop_pid "$pid"
	done < <(grep -lzax "MAIL_CONFIG=$PF_ETC" /proc/[0-9]*/environ 2>/dev/null)
}

# odk_start PORT: an OpenDKIM signing as a milter on inet:PORT@127.0.0.1
# (RSA-2048 key for d=dkim.example, selector rsa); ODK_PID, MILTER_WHY
odk_start() {
	local d=$MILTER_DIR/opendkim
	command -v opendkim >/dev/null 2>&1 || { MILTER_WHY="opendkim not found"; return 1; }
	mkdir -m 700 "$d" || { MILTER_WHY="mkdir $d failed"; return 1; }
	"$HERE/../postern-keygen" -d dkim.example -s rsa -D "$d" >/dev/null \
	    2>"$d/keygen.err" ||
	    { MILTER_WHY="postern-keygen: $(tail -n 1 "$d/keygen.err")"; return 1; }
	# No UserID: it stays root.  RequireSafeKeys no: opendkim checks
	# every directory above the key, and /tmp is world-writable.
	printf '%s\n' "Mode s" "Canonicalization relaxed/relaxed" "Background no" \
	    "Syslog no" "RequireSafeKeys no" "Domain dkim.example" "Selector rsa" \
	    "KeyFile $d/rsa.private" >"$d/opendkim.conf"
	opendkim -f -x "$d/opendkim.conf" -p "inet:$1@127.0.0.1" \
	    </dev/null >"$d/opendkim.log" 2>&1 &
	ODK_PID=$!
	PIDS="$ODK_PID $PIDS"
	wait_listen "$1" "$ODK_PID" && return 0
	MILTER_WHY="opendkim did not start: $(tail -n 2 "$d/opendkim.log" | tr '\n' ' ')"
	return 1
}

# odk_probe: three messages in one session through a probe postern
# calling OpenDKIM into a probe smtp-sink that keeps them (-d); prints the
# a= and d= of a DKIM-Signature and how many were signed ("a=rsa-sha256
# d=dkim.example, 3 of 3 signed"), or what went wrong
odk_probe() {
	local sport pport spid dump=$MILTER_DIR/dump r f n
	read -r sport pport <<<"$(pick_ports 2)"
	[ -n "$pport" ] || { echo "no free ports"; return; }
	mkdir -p "$dump" && chown nobody "$dump"
	# shellcheck disable=SC2086
	smtp-sink $SINK_USER -d "$dump/%M." "127.0.0.1:$sport" 100 \
	    </dev/null >/dev/null 2>"$MILTER_DIR/probe-sink.err" &
	spid=$!
	PIDS="$PIDS $spid"
	if ! wait_listen "$sport" "$spid"; then
		echo "probe smtp-sink did not start"
	elif ! SINK_PORT=$sport postern_start milter-probe 127.0.0.1 "$pport" milter \
	    -o "milter.milters=inet:127.0.0.1:$ODK_PORT"; then
		echo "$WHY"
	else
		timeout 30 smtp-source -d -M bench.client -f bench@dkim.example -t sink@example.com \
		    -s 1 -l 100 -m 3 "127.0.0.1:$pport" >"$MILTER_DIR/probe-source.out" 2>&1
		r=$?
		stop_pid "$LAST_PID"
		n=$(find "$dump" -type f | wc -l)
		f=$(grep -l '^DKIM-Signature:' -r "$dump" | head -n 1)
		if [ "$r" -ne 0 ] || [ "$n" -ne 3 ]; then
			echo "smtp-source exit $r, $n of 3 messages at the probe sink"
		elif [ -z "$f" ]; then
			echo "no DKIM-Signature at the probe sink"
		else
			echo "$(tr -d '\r' <"$f" | sed -n '/^DKIM-Signature:/,/^[^ \t]/p' | tr -d ' \t\n' |
			    grep -o '[;:]d=[^;]*;\|[;:]a=[^;]*;' | tr -d ':;' | sort | paste -sd' ' -),"\
			    "$(grep -l '^DKIM-Signature:' -r "$dump" | wc -l) of 3 signed"
		fi
	fi
	stop_pid "$spid"
}

# milter_start: the milter front end, Postfix, OpenDKIM and the three
# proxies (plain, calling OpenDKIM, calling postern milter); the probes.
# MILTER_WHY when the comparison cannot run as described.
milter_start() {
	local mport pport pmport oport p1 p2 p3 got
	command -v postfix >/dev/null 2>&1 || { MILTER_WHY="postfix not found"; return 1; }
	read -r mport pport pmport oport p1 p2 p3 <<<"$(pick_ports 7)"
	[ -n "$p3" ] || { MILTER_WHY="no free ports"; return 1; }
	# Postfix's daemons (user postfix) and smtp-sink -d (nobody) must
	# reach their directories under $WORK.
	if ! chmod 711 "$WORK" || ! mkdir -m 755 "$MILTER_DIR"; then
		MILTER_WHY="mkdir $MILTER_DIR failed"
		return 1
	fi
	# shellcheck disable=SC2016  # (the EICAR test string, as it is)
	printf 'From: <bench@dkim.example>\nTo: <sink@example.com>\nSubject: probe\n\n%s\n' \
	    'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$MILTER_DIR/eicar.eml"
	"$POSTERN" milter -o "milter.socket=inet:$mport@127.0.0.1" -o filters.chain=regex \
	    -o "regex.rules=$HERE/../../rules/default.rules" -o log.level=warning \
	    </dev/null >/dev/null 2>"$WORK/postern-milter.log" &
	MFRONT_PID=$!
	PIDS="$MFRONT_PID $PIDS"
	wait_listen "$mport" "$MFRONT_PID" ||
	    { MILTER_WHY="postern milter did not start: $(tail -n 2 "$WORK/postern-milter.log" | tr '\n' ' ')"; return 1; }
	pf_start "$pport" "$pmport" "inet:127.0.0.1:$mport" || return 1
	PF_PORT=$pport PF_MPORT=$pmport
	postern_start milter-plain 127.0.0.1 "$p1" "" || { MILTER_WHY=$WHY; return 1; }
	MPLAIN_PID=$LAST_PID MPLAIN_PORT=$p1
	postern_start milter-pm 127.0.0.1 "$p2" milter -o "milter.milters=inet:127.0.0.1:$mport" ||
	    { MILTER_WHY=$WHY; return 1; }
	MPM_PID=$LAST_PID MPM_PORT=$p2
	got="$(milter_probe "$PF_PORT" "$MILTER_DIR/eicar.eml") $(milter_probe "$PF_MPORT" "$MILTER_DIR/eicar.eml") $(milter_probe "$MPM_PORT" "$MILTER_DIR/eicar.eml")"
	echo "  probe: a message with the EICAR string through Postfix alone, Postfix + postern milter, the proxy + postern milter: $got"
	[ "$got" = "250 554:EICAR 554:EICAR" ] ||
	    { MILTER_WHY="probe: got '$got', not '250 554:EICAR 554:EICAR'"; return 1; }
	odk_start "$oport" || return 1
	ODK_PORT=$oport
	postern_start milter-odk 127.0.0.1 "$p3" milter -o "milter.milters=inet:127.0.0.1:$oport" ||
	    { MILTER_WHY=$WHY; return 1; }
	MODK_PID=$LAST_PID MODK_PORT=$p3
	got=$(odk_probe)
	echo "  probe: 3 messages in one session through a postern calling OpenDKIM, at an smtp-sink -d: DKIM-Signature $got"
	case $got in
	"a=rsa-sha256 d=dkim.example, 3 of 3 signed") ;;
	"a=rsa-sha256 d=dkim.example, "*)
		echo "  note: not every message of the session was signed: the OpenDKIM cases send one message per session" ;;
	*) MILTER_WHY="probe: OpenDKIM's signature: got '$got'"; return 1 ;;
	esac
	return 0
}

# milter_case KIND: pid, port (the milter side), ppid, pport (the side
# without it) and xpid (the milter process) of KIND, and SRC_OPTS
milter_case() {
	local d=-d
	case $1 in
	postfix) ppid=$PF_MASTER pport=$PF_PORT pid=$MFRONT_PID port=$PF_MPORT xpid=$MFRONT_PID ;;
	opendkim) ppid=$MPLAIN_PID pport=$MPLAIN_PORT pid=$MODK_PID port=$MODK_PORT xpid=$ODK_PID d="" ;;
	pmilter) ppid=$MPLAIN_PID pport=$MPLAIN_PORT pid=$MPM_PID port=$MPM_PORT xpid=$MFRONT_PID ;;
	esac
	SRC_OPTS="$d -M bench.client -f bench@dkim.example -t sink@example.com"
}

# shellcheck disable=SC2317  # (run by pair_run)
milter_run() {	# milter_run PORT SIDE: a pair_run runner for the current case
	SINK_WAIT=60 run_one "$1" "$MILTER_SESS" 1024 "$MILTER_N"
}

echo
if [ "$MILTER_ON" = 0 ]; then
	echo "== milter: skipped (BENCH_MILTER=0)"
else
	echo "== milter: Postfix + 'postern milter' (regex, default.rules) vs Postfix alone; the proxy calling a milter (OpenDKIM signing; postern milter) vs the proxy alone; 1 KiB messages"
	MILTER_START_S=$(elapsed_s)
	if milter_start; then
		# warm-up, not counted
		for kind in postfix opendkim pmilter; do
			milter_case "$kind"
			SINK_WAIT=30 run_one "$port" 10 1024 200 >/dev/null
			SINK_WAIT=30 run_one "$pport" 10 1024 200 >/dev/null
		done
		MILTER_SKIPPED=0
		for rep in $(seq 1 "$REPS"); do
			while IFS='|' read -r id kind sess n label; do
				[ -n "$id" ] || continue
				if [ "$rep" -gt 1 ] && [ $(($(elapsed_s) - MILTER_START_S)) -ge "$MILTER_BUDGET" ]; then
					MILTER_SKIPPED=$((MILTER_SKIPPED + 1))
					continue
				fi
				milter_case "$kind"
				MILTER_SESS=$sess MILTER_N=$n
				c0=$(cpu_ticks "$xpid")
				pair_run "$rep" "milter-$id" "$n" milter_run milter "$ppid" "$pport" "$pid" "$port"
				c1=$(cpu_ticks "$xpid")
				if isnum "$c0" && isnum "$c1"; then
					CPU[milter-$id-x]=$(( ${CPU[milter-$id-x]:-0} + c1 - c0 ))
					CNT[milter-$id-x]=$(( ${CNT[milter-$id-x]:-0} + n ))
				fi
			done <<<"$MILTER_CASES"
		done
		# Postfix's CPU time is spread over daemons that come and go: none shown.
		for id in pf1 pf50; do unset "CPU[milter-$id-plain]"; done
		# Everything measured: the milters may start stopping (libmilter
		# notices a stop request only every 5 s or so) while the rest stops.
		kill -TERM "$ODK_PID" "$MFRONT_PID" 2>/dev/null
		for pid in $MODK_PID $MPM_PID $MPLAIN_PID; do stop_pid "$pid"; done
		pf_stop
		echo
		ratio_head milter
		KEYS=""
		while IFS='|' read -r id kind sess n label; do
			[ -n "$id" ] || continue
			ratio_row "milter-$id" "$label" "$sess" "$n" -
			KEYS="$KEYS milter-$id"
		done <<<"$MILTER_CASES"
		# shellcheck disable=SC2086
		raw_runs milter $KEYS
		echo "  plain: Postfix alone, or the proxy with no filters; Postfix rates are its intake (250 once queued)"
		echo "  sessions: persistent (smtp-source -d), but one message per session to OpenDKIM"
		printf '  CPU us per message of the milter itself (postern milter, OpenDKIM):'
		while IFS='|' read -r id kind sess n label; do
			[ -n "$id" ] || continue
			printf ' %s %s' "$id" "$(cpu_us "milter-$id-x")"
		done <<<"$MILTER_CASES"
		echo
		echo "  ($(nproc) cores, shared by the MTA or proxy, the milter, smtp-source and the sink)"
		budget_note milter "$MILTER_BUDGET" "$MILTER_SKIPPED"
		for k in milter milter-odk milter-pm; do
			warn_tail "$WORK/postern-$k.log" 3 "$k"
		done
	else
		echo "  not measured: $MILTER_WHY"
		add_summary "FAIL (not measured: $MILTER_WHY)" "milter" "-"
	fi
	for pid in $MODK_PID $MPM_PID $MPLAIN_PID; do stop_pid "$pid"; done
	pf_stop
	for pid in $ODK_PID $MFRONT_PID; do stop_pid "$pid"; done
	echo "  (milter section took $(($(elapsed_s) - MILTER_START_S))s)"
fi
