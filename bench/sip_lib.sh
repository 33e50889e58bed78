# The parts of the SIP benchmarks that bench/sip.sh and bench/gateway.sh
# share: sipp runs pinned to a CPU with the servers' CPU time, sweeps of
# rising call rates, INVITE latency from a capture, the overlay they start.
# Source it after tests/lib.sh, with DUR GEN_CPU SIPP_BUF LAT_RATE LAT_DUR
# UAS_PORT B (bench/sipp) set; SRV_PIDS names the servers being measured.

HZ=$(getconf CLK_TCK)
ticks() { local s=0 p t; for p in "$@"; do t=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null) && s=$((s + t)); done; echo $s; }

# run_sipp TAG TARGET SCENARIO RATE COUNT [sipp args]: sets OK FAIL RETR
# CRATE (sipp's call-creation rate) WALL and SCPU (server CPU %, $SRV_PIDS).
run_sipp() {
	local tag=$1 target=$2 sf=$3 rate=$4 m=$5 k0 k1 us sy
	shift 5
	k0=$(ticks $SRV_PIDS)
	TIMEFORMAT='%R %U %S'
	{ time (cd "$T" && timeout $((DUR * 3 + 60)) taskset -c "$GEN_CPU" sipp "$target" -sf "$sf" \
		-i 127.0.0.1 -p "$(free_port)" -r "$rate" -m "$m" -nostdin -timeout $((DUR * 2 + 30))s \
		-trace_stat -stf "$T/$tag.stat.csv" -fd 1 -buff_size $SIPP_BUF -inf "${INF:-$T/users.csv}" "$@" \
		>/dev/null 2>"$T/$tag.err"); } 2>"$T/$tag.time"
	k1=$(ticks $SRV_PIDS)
	read -r WALL us sy <"$T/$tag.time"
	read -r OK FAIL RETR CRATE < <(awk -F';' 'NR==1{for(i=1;i<=NF;i++)c[$i]=i;next} {l=$0}
		END{n=split(l,a,";"); printf "%d %d %d %.0f\n", a[c["SuccessfulCall(C)"]], a[c["FailedCall(C)"]],
		a[c["Retransmissions(C)"]], a[c["CallRate(C)"]]}' "$T/$tag.stat.csv" 2>/dev/null || echo "0 0 0 0")
	SCPU=$(awk -v d=$((k1 - k0)) -v w="$WALL" -v hz="$HZ" 'BEGIN{printf "%.0f", 100*d/hz/w}')
}

# sweep KIND TARGET SCENARIO "RATES" [sipp args]: sets BEST (0: none passed)
# and BEST_CPU; one line per step.
sweep() {
	local kind=$1 target=$2 sf=$3 rates=$4 r
	shift 4
	BEST=0
	BEST_CPU=na
	BEST_RETR=na
	for r in $rates; do
		sleep 1
		run_sipp "${kind}_$r" "$target" "$sf" "$r" $((r * DUR)) "$@"
		echo "  $kind rate=$r ok=$OK fail=$FAIL retrans=$RETR sipp_rate=$CRATE/s wall=${WALL}s server_cpu=$SCPU%"
		if [ "$OK" -eq $((r * DUR)) ] && [ "$FAIL" -eq 0 ] && [ "$CRATE" -ge $((r * 90 / 100)) ]; then
			BEST=$r
			BEST_CPU=$SCPU
			BEST_RETR=$RETR
		else
			break
		fi
	done
}

# latency TAG TARGET PORT SCENARIO [sipp args]: a capture of the calls at
# $LAT_RATE at PORT, the caller's first proxy; sets LAT180 and LAT200
# ("p50 p99" in ms) and LAT_FAIL.
latency() {
	local tag=$1 target=$2 port=$3 sf=$4 td
	shift 4
	taskset -c "$GEN_CPU" tcpdump -i lo -s 0 -B 65536 -U -w "$T/$tag.pcap" udp and port "$port" \
		2>"$T/$tag.tcpdump" &
	td=$!
	sleep 1
	INF=$T/callees.csv run_sipp "$tag" "$target" "$sf" "$LAT_RATE" $((LAT_RATE * LAT_DUR)) "$@"
	LAT_FAIL=$FAIL
	sleep 0.5
	kill -INT $td
	wait $td 2>/dev/null
	python3 "$TOP/bench/sip_lat.py" "$T/$tag.pcap" "$port" >"$T/$tag.lat"
	LAT180=$(awk '$1=="INVITE->180" {print $3, $4}' "$T/$tag.lat")
	LAT200=$(awk '$1=="INVITE->200" {print $3, $4}' "$T/$tag.lat")
	echo "  latency at $LAT_RATE cps ($OK calls, $FAIL failed): INVITE->180 p50/p99 ${LAT180/ //} ms, INVITE->200 ${LAT200/ //} ms"
}

uas_start() { # TARGET-NAME
	(cd "$T" && exec taskset -c "$GEN_CPU" sipp -sf "$B/uas.xml" -i 127.0.0.1 -p "$UAS_PORT" -nostdin \
		-buff_size $SIPP_BUF >/dev/null 2>"$T/uas_$1.err") &
	UAS_PID=$!
	sleep 0.5
}

# bench_overlay: logind, bootstrapd and two super nodes whose per-sender
# limits (made for a node with a few phones) are lifted: one ordinary node
# sends every call of the run.
bench_overlay() {
	logind_init
	logind_start
	bootstrapd_init "[limits]" "records_per_user = 100000"
	bootstrapd_start
	snodes_start 2 "[limits]" "client_rate = 1000000" "deliver_rate = 1000000" \
		"deliver_bytes = 1000000000" "send_rate = 1000000" "send_bytes = 1000000000"
}

# ratio A B: A/B, or - when either is missing.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (b+0 > 0 && a != "na") printf "%.2f", a/b; else print "-"}'; }

# bench_accounts N: the accounts caller and user1..userN in logind; the
# callees' names in the array accts.
bench_accounts() {
	local i
	add_user caller "password of caller"
	accts=()
	for i in $(seq 1 "$1"); do
		add_user "user$i" "password of user$i"
		accts+=("user$i")
	done
}

# The figures of the result table, from the array R (name -> "value" or
# "p50 p99"); "na" for one not measured.
f() { echo "${R[$1]:-na}"; }
p50() { echo "${R[$1]:-na na}" | cut -d' ' -f1; }
p99() { echo "${R[$1]:-na na}" | cut -d' ' -f2; }
# the servers' CPU time per call: their CPU share over the run at LAT_RATE
cpu_ms() { awk -v c="${R[$1]:-na}" -v r="$LAT_RATE" 'BEGIN{if (c != "na") printf "%.2f", c * 10 / r; else print "na"}'; }
