#!/usr/bin/env bash
# Media relay benchmark: the super node's relay against rtpengine (the peer
# in ../shared/anchors/rtpengine, run in the same benchmark run), both
# driven by the anchor's generator rtpgen on the same machine the same way:
# the relay pinned to one core (RELAY_CPU), the generator to the other.
#
# Ours: logind, bootstrapd and one super node ([relay] ports 40000-59999);
# a client link (p2psip raw --hold) allocates MAX_CALLS streams and stays
# attached; each call is one stream: A sends to its near port, B to its far
# port, and the relay latches onto both (symmetric RTP). The same sweep as
# the anchor: CALLS steps of DUR seconds (after WARM), a step passes with
# loss < 0.1 % and p99 latency < 20 ms; then bisection, then a half-load run
# for latency, then the same load sent directly (the floor) to get the
# latency the relay adds. Figures: packets/s forwarded on one core at the
# best passing step, calls (G.711, 50 packets/s each way) at that step,
# added latency p50/p99 at half that load, CPU per packet.
#
#   bench/relay.sh                 ours, then rtpengine, then the table
#   PEER=0 bench/relay.sh          ours only
set -u
cd "$(dirname "$0")/.."
TOP=$(pwd)
ANCHOR=${RTPENGINE_ANCHOR:-$TOP/../shared/anchors/rtpengine}
PEER=${PEER:-1}
RELAY_CPU=${RELAY_CPU:-1}
GEN_CPU=${GEN_CPU:-0}
MAX_CALLS=${MAX_CALLS:-3000}
CALLS=${CALLS:-"100 200 300 400 500 600 700 800 900 1000 1200 1500 2000 2500 3000"}
DUR=${DUR:-10}
WARM=${WARM:-2}
LOSS_MAX=${LOSS_MAX:-0.1}
P99_MAX_US=${P99_MAX_US:-20000}
REFINE=${REFINE:-3}
LAT_DUR=${LAT_DUR:-20}
RATE=${RATE:-50}
TICK_US=${TICK_US:-100}
WORK=${WORK:-/tmp/p2psip-relay-bench}

. "$TOP/tests/lib.sh"
mkdir -p "$WORK"
command -v gcc >/dev/null && command -v taskset >/dev/null || fail "needs gcc and taskset"
[ -f "$ANCHOR/rtpgen.c" ] || fail "no rtpgen.c in $ANCHOR (set RTPENGINE_ANCHOR)"
gcc -O2 -Wall -Wextra -o "$WORK/rtpgen" "$ANCHOR/rtpgen.c" || fail "cannot build rtpgen"
ulimit -n "$(ulimit -Hn)"

logind_init
logind_start
bootstrapd_init
bootstrapd_start
snode_init sn1 "[limits]" "client_rate = 100000" "[relay]" "ports = 40000-59999" \
	"idle_timeout = 600s" "max_streams = $((MAX_CALLS + 16))" "max_streams_per_node = $((MAX_CALLS + 16))"
start_bg sn_sn1 taskset -c "$RELAY_CPU" "$BIN/supernode" -c "$T/sn1/supernode.conf"
SN_PID[sn1]=$LAST_PID
snode_wait sn1 60
cli_user bench
for _ in $(seq 1 $(((MAX_CALLS + 15) / 16))); do echo '{"t":"relay_alloc","n":16}'; done >"$T/alloc.in"
taskset -c "$GEN_CPU" "$BIN/p2psip" -a "$CA" -k "$T/bench.key" -c "$T/bench.crt" \
	-s "127.0.0.1:${SN_PORT[sn1]}" --timeout 60 raw --hold 100000 <"$T/alloc.in" >"$T/alloc.out" 2>"$T/alloc.err" &
HOLD=$!
PIDS+=("$HOLD")
for _ in $(seq 1 300); do
	[ "$(wc -l <"$T/alloc.out")" -ge $(((MAX_CALLS + 15) / 16)) ] && break
	sleep 0.1
done
jq -s -e 'all(.ok)' "$T/alloc.out" >/dev/null || fail "allocation failed: $(grep -v '"ok":true' "$T/alloc.out" | head -3)"
# rtpgen's input: A_PORT RELAY_FOR_A_IP RELAY_FOR_A_PORT B_PORT RELAY_FOR_B_IP RELAY_FOR_B_PORT
jq -r -s '[.[].streams[]] | to_entries[] |
	"\(20000 + 4 * .key) \(.value | "127.0.0.1 \(.near)") \(20002 + 4 * .key) 127.0.0.1 \(.value.far)"' \
	"$T/alloc.out" | head -n "$MAX_CALLS" >"$WORK/ours.txt"
awk '{print $1, "127.0.0.1", $4, $4, "127.0.0.1", $1}' "$WORK/ours.txt" >"$WORK/direct.txt"
echo "our relay: super node pid ${SN_PID[sn1]} on cpu $RELAY_CPU, $(wc -l <"$WORK/ours.txt") streams"

HZ=$(getconf CLK_TCK)
proc_ticks() { awk '{print $14+$15}' "/proc/${SN_PID[sn1]}/stat"; }
cpu_busy() { awk -v c="cpu$RELAY_CPU" '$1==c {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
run_gen() { # FILE N TAG DURATION: the RESULT line with the relay's CPU, in RES
	local t0 b0 w0 r t1 b1 w1
	t0=$(proc_ticks)
	read -r b0 w0 < <(cpu_busy)
	r=$(taskset -c "$GEN_CPU" "$WORK/rtpgen" -f "$1" -n "$2" -t "$3" -d "$4" -w "$WARM" -r "$RATE" -T "$TICK_US")
	t1=$(proc_ticks)
	read -r b1 w1 < <(cpu_busy)
	RES="$r relay_proc_cpu_pct=$(awk -v a="$t0" -v b="$t1" -v d="$4" -v w="$WARM" -v hz="$HZ" \
		'BEGIN{printf "%.1f", 100*(b-a)/hz/(d+w+0.55)}') relay_core_busy_pct=$(awk -v a="$b0" -v b="$b1" \
		-v x="$w0" -v y="$w1" 'BEGIN{printf "%.1f", 100*(b-a)/(y-x)}')"
	echo "$RES" | tee -a "$WORK/steps.log"
}
passes() {
	awk -v l="$(field loss_pct "$1")" -v p="$(field lat_p99_us "$1")" -v lm="$LOSS_MAX" -v pm="$P99_MAX_US" \
		'BEGIN{exit !(l < lm && p < pm)}'
}

: >"$WORK/steps.log"
best=0
fail=0
BEST_RES=
for n in $CALLS; do
	[ "$n" -le "$MAX_CALLS" ] || break
	run_gen "$WORK/ours.txt" "$n" sweep "$DUR"
	if passes "$RES"; then best=$n; BEST_RES=$RES; else fail=$n; break; fi
	sleep 1
done
for _ in $(seq "$REFINE"); do
	[ "$fail" -gt 0 ] && [ $((fail - best)) -gt 25 ] || break
	sleep 2 # the queues of the failed step drain
	n=$(((best + fail) / 2 / 25 * 25))
	run_gen "$WORK/ours.txt" "$n" refine "$DUR"
	if passes "$RES"; then best=$n; BEST_RES=$RES; else fail=$n; fi
done
[ "$best" -gt 0 ] || fail "no passing step"
sleep 2
half=$((best / 2))
run_gen "$WORK/ours.txt" "$half" half "$LAT_DUR"
HALF=$RES
run_gen "$WORK/direct.txt" "$half" direct "$DUR"
DIRECT=$RES
rl=$(snode_status sn1 | jq -c '.relay | {packets, dropped}')
echo "relay counters: $rl"

declare -A O
O[max_fwd_pps]=$(field fwd_pps "$BEST_RES")
O[max_calls]=$best
O[first_fail_calls]=$fail
O[at_max_p99_us]=$(field lat_p99_us "$BEST_RES")
O[at_max_core_busy_pct]=$(field relay_core_busy_pct "$BEST_RES")
O[half_calls]=$half
O[half_p50_us]=$(field lat_p50_us "$HALF")
O[half_p99_us]=$(field lat_p99_us "$HALF")
O[cpu_us_per_pkt_at_half]=$(awk -v c="$(field relay_proc_cpu_pct "$HALF")" -v p="$(field fwd_pps "$HALF")" 'BEGIN{printf "%.1f", c*1e4/p}')
O[added_p50_us]=$(($(field lat_p50_us "$HALF") - $(field lat_p50_us "$DIRECT")))
O[added_p99_us]=$(($(field lat_p99_us "$HALF") - $(field lat_p99_us "$DIRECT")))
for k in "${!O[@]}"; do echo "OURS $k ${O[$k]}"; done | sort >"$WORK/ours.summary"
cat "$WORK/ours.summary"
kill "$HOLD" 2>/dev/null
stop_pid "${SN_PID[sn1]}"

[ "$PEER" = 1 ] || exit 0
echo "== rtpengine (the anchor's run.sh, same machine, same generator and criteria)"
CALLS_PEER=${CALLS_PEER:-"100 200 300 400 500 600 700 800 900 1000 1200 1500 2000"}
WORK=$WORK/rtpengine CALLS=$CALLS_PEER DUR=$DUR WARM=$WARM REFINE=$REFINE LAT_DUR=$LAT_DUR \
	RELAY_CPU=$RELAY_CPU GEN_CPU=$GEN_CPU bash "$ANCHOR/run.sh" | tee "$WORK/rtpengine.out" | grep SUMMARY
declare -A R
peer() { awk -v k="$1" '$1 == "SUMMARY" && $2 == k {print $3}' "$WORK/rtpengine.out"; }
R[max_fwd_pps]=$(peer rtpengine_max_fwd_pps_1core)
R[max_calls]=$(peer rtpengine_max_calls_g711_1core)
R[at_max_p99_us]=$(peer rtpengine_at_max_lat_p99_us)
R[half_p50_us]=$(peer rtpengine_half_lat_p50_us)
R[half_p99_us]=$(peer rtpengine_half_lat_p99_us)
R[added_p50_us]=$(peer rtpengine_added_lat_p50_us)
R[added_p99_us]=$(peer rtpengine_added_lat_p99_us)
R[cpu_us_per_pkt_at_half]=$(peer rtpengine_cpu_us_per_pkt_at_half)
echo
printf '%-34s %14s %14s %8s\n' figure ours rtpengine ratio
for k in max_fwd_pps max_calls at_max_p99_us half_p50_us half_p99_us added_p50_us added_p99_us cpu_us_per_pkt_at_half; do
	printf '%-34s %14s %14s %8s\n' "$k" "${O[$k]}" "${R[$k]:-?}" \
		"$(awk -v a="${O[$k]}" -v b="${R[$k]:-0}" 'BEGIN{if (b == 0) print "-"; else printf "%.2f", a/b}')"
done
echo "(ratio = ours / rtpengine; packets and calls: higher is better; latency and CPU: lower is better;"
echo " calls at half load: ours ${O[half_calls]}, rtpengine $(peer rtpengine_half_calls))"
