#!/usr/bin/env bash
# SIP benchmark through a gateway (docs/gateway.md) beside Kamailio alone,
# in the same run, with the same sipp scenarios (bench/sipp/, the callee's
# and the caller's domain set per figure) and the same load steps:
#   (1) out: an overlay phone at node A -> A -> super nodes -> gateway G ->
#       Kamailio (example.net) -> sipp UAS, with digest at A (a 407 and an
#       ACK per call, as bench/sip.sh);
#   (2) in: sipp UAC at example.net -> Kamailio -> G -> super nodes ->
#       node B -> sipp UAS (the phone of user1..user$USERS);
#   (3) Kamailio alone: sipp UAC -> Kamailio -> sipp UAS, the anchor's
#       figure (../shared/anchors/kamailio).
# Kamailio is the anchor's kamailio.cfg (one worker) with one line more: a
# request for overlay.example goes to the gateway. No DNS: the gateway has a
# static route for example.net ([gateway] routes). The gateway's limits per
# user and per source are raised, and the super nodes' per-sender limits as
# in bench/sip.sh; every daemon is pinned to CPU $SRV_CPU, sipp and tcpdump
# to $GEN_CPU. For each figure: INVITE->200 p50/p99 at $LAT_RATE calls/s for
# $LAT_DUR s from a capture of the caller's first proxy (bench/sip_lat.py;
# timed from the INVITE with credentials), then calls/s in rising steps of
# $DUR s, passed with every call answered, none failed, and sipp reaching
# 90% of the rate; $SETTLE s of rest between the sweeps (an overloaded step
# leaves transactions behind). Prints one table, with the ratios to (3).
#
#   bench/gateway.sh                                  (needs root for tcpdump)
#   DUR=3 CALL_RATES="50 100 200" bench/gateway.sh    a quicker look
set -u
cd "$(dirname "$0")/.."
TOP=$(pwd)
USERS=${USERS:-20}
DUR=${DUR:-5}
CALL_RATES=${CALL_RATES:-"50 100 150 200 300 500 1000 2000 3000"}
LAT_RATE=${LAT_RATE:-50}
LAT_DUR=${LAT_DUR:-5}
SETTLE=${SETTLE:-35}
SRV_CPU=${SRV_CPU:-1}
GEN_CPU=${GEN_CPU:-0}
KAM_ANCHOR=${KAM_ANCHOR:-$TOP/../shared/anchors/kamailio}
SIPP_BUF=4194304
B=$TOP/bench/sipp

. "$TOP/tests/lib.sh"
. "$TOP/bench/sip_lib.sh"
need sipp tcpdump python3 taskset kamailio
[ -f "$KAM_ANCHOR/kamailio.cfg" ] || fail "no Kamailio anchor at $KAM_ANCHOR (KAM_ANCHOR=...)"

{
	echo SEQUENTIAL
	for i in $(seq 1 "$USERS"); do
		echo "user$i;[authentication username=user$i password=$(sip_pw "user$i")]"
	done
} >"$T/users.csv"
printf 'SEQUENTIAL\nuser1;\n' >"$T/callees.csv"
UAS_PORT=$(free_port)
KAMP=$(free_port)
# The benchmark's caller with the domains as keys: [to_domain] of the
# callee, [from_domain] of the caller (a gateway refuses a From of the
# overlay from outside).
sed -e 's/sip:\[field0\]@overlay.example/sip:[field0]@[to_domain]/g' \
	-e 's/sip:caller@overlay.example/sip:caller@[from_domain]/g' "$B/uac.xml" >"$T/uac.xml"
OUT=(-key to_domain example.net -key from_domain overlay.example
	-au caller -ap "$(sip_pw caller)" -auth_uri user1@example.net)
IN=(-key to_domain overlay.example -key from_domain example.net)
KAM=(-key to_domain example.net -key from_domain example.net)
declare -A R
echo "# $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p')); servers on CPU $SRV_CPU, sipp and tcpdump on CPU $GEN_CPU"

echo "== the overlay: 2 super nodes, node A (caller), node B (user1..user$USERS), gateway G"
bench_overlay
bench_accounts "$USERS"
add_user gw1 "password of gw1" gateway
on_init A caller
on_init B "${accts[@]}"
on_init G gw1
GWP=${ON_SIP[G]}
printf 'role = gateway\n\n[gateway]\nenable = yes\ndomains = example.net\nroutes = example.net=127.0.0.1:%s\n%s\n' \
	"$KAMP" "user_requests_per_minute = 100000
source_rate = 1000000
source_burst = 1000000" >>"$T/G/ordinarynode.conf"
# SIP alone, as Kamailio is measured here (no rtpengine): no relay streams.
for n in A B G; do printf '\n[media]\nhide_addresses = no\n' >>"$T/$n/ordinarynode.conf"; done
for n in A B G; do on_start $n; done

echo "== Kamailio ($(kamailio -v | head -1 | cut -d' ' -f2-3)), -n 1, $KAM_ANCHOR/kamailio.cfg on 127.0.0.1:$KAMP, overlay.example to G"
printf '\tif ($rd == "overlay.example") {\n\t\t$du = "sip:127.0.0.1:%s";\n\t\tif (!t_relay()) sl_reply_error();\n\t\texit;\n\t}\n' \
	"$GWP" >"$T/kam_overlay.cfg"
sed -e "s/127.0.0.1:5070/127.0.0.1:$KAMP/g" -e "s|unix:/tmp/anchor/kamailio/kamailio_ctl|unix:$T/kamailio_ctl|" \
	-e "/if (is_method(\"INVITE\")) record_route();/r $T/kam_overlay.cfg" \
	"$KAM_ANCHOR/kamailio.cfg" >"$T/kamailio.cfg"
grep -q 'overlay.example' "$T/kamailio.cfg" || fail "the anchor's kamailio.cfg changed: no place for the gateway's route"
kamailio -c -f "$T/kamailio.cfg" >"$T/kamailio_check.log" 2>&1 || fail "kamailio -c: $(tail -n 5 "$T/kamailio_check.log")"
taskset -c "$SRV_CPU" kamailio -f "$T/kamailio.cfg" -DD -E -n 1 -m 1024 >"$T/kamailio.log" 2>&1 &
KPID=$!
PIDS+=("$KPID")
sleep 2
kill -0 "$KPID" 2>/dev/null || fail "kamailio did not start: $(tail -n 5 "$T/kamailio.log")"
KAM_PIDS="$KPID $(pgrep -P "$KPID" | tr '\n' ' ')"
OURS_PIDS="${SN_PID[sn1]} ${SN_PID[sn2]} ${ON_PID[A]} ${ON_PID[B]} ${ON_PID[G]}"
for p in $OURS_PIDS; do taskset -a -p -c "$SRV_CPU" "$p" >/dev/null; done

# The callees: at node B for (2), at Kamailio for (1) and (3); one UAS.
SRV_PIDS=$OURS_PIDS
run_sipp reg_b "127.0.0.1:${ON_SIP[B]}" "$B/register.xml" 100 "$USERS" -key contact_port "$UAS_PORT" -auth_uri overlay.example
[ "$OK" = "$USERS" ] || fail "registering the callees at B: $OK of $USERS"
run_sipp reg_k "127.0.0.1:$KAMP" "$B/register.xml" 100 "$USERS" -key contact_port "$UAS_PORT" -auth_uri overlay.example
[ "$OK" = "$USERS" ] || fail "registering the callees at Kamailio: $OK of $USERS"
cli_user probe
gw_found() { CLI_USER=probe p2p_has_values proxy:example.net 1; }
wait_until 20 "the gateway's proxy-location record is not in the DHT" gw_found
uas_start all

# measure NAME TARGET PORT "SERVER PIDS" [sipp args]: latency, then the sweep.
measure() {
	local name=$1 target=$2 port=$3
	SRV_PIDS=$4
	shift 4
	latency "${name}_lat" "$target" "$port" "$T/uac.xml" "$@"
	R[${name}_200]=$LAT200 R[${name}_lat_fail]=$LAT_FAIL R[${name}_lat_cpu]=$SCPU
}
sweep_of() { # NAME TARGET "SERVER PIDS" [sipp args]
	local name=$1 target=$2
	SRV_PIDS=$3
	shift 3
	INF=$T/callees.csv sweep "$name" "$target" "$T/uac.xml" "$CALL_RATES" "$@"
	R[${name}_call]=$BEST R[${name}_cpu]=$BEST_CPU R[${name}_retr]=$BEST_RETR
}
echo "== latency at $LAT_RATE calls/s (out, in, Kamailio alone)"
measure out "127.0.0.1:${ON_SIP[A]}" "${ON_SIP[A]}" "$OURS_PIDS $KAM_PIDS" "${OUT[@]}"
measure in "127.0.0.1:$KAMP" "$KAMP" "$OURS_PIDS $KAM_PIDS" "${IN[@]}"
measure kam "127.0.0.1:$KAMP" "$KAMP" "$KAM_PIDS" "${KAM[@]}"
echo "== calls/s: (1) out through the gateway"
sweep_of out "127.0.0.1:${ON_SIP[A]}" "$OURS_PIDS $KAM_PIDS" "${OUT[@]}"
sleep "$SETTLE"
echo "== calls/s: (2) in through the gateway"
sweep_of in "127.0.0.1:$KAMP" "$OURS_PIDS $KAM_PIDS" "${IN[@]}"
sleep "$SETTLE"
echo "== calls/s: (3) Kamailio alone"
sweep_of kam "127.0.0.1:$KAMP" "$KAM_PIDS" "${KAM[@]}"
on_status G | jq -c .gateway | sed 's/^/# gateway status: /'
kill "$UAS_PID" 2>/dev/null
wait "$UAS_PID" 2>/dev/null

row() { # LABEL OUT IN KAM
	echo "| $1 | $2 | $3 | $4 | $(ratio "${2%% *}" "${4%% *}") | $(ratio "${3%% *}" "${4%% *}") |"
}
echo
echo "| figure (steps of ${DUR}s, 0 failed) | (1) overlay -> gateway -> Kamailio | (2) Kamailio -> gateway -> overlay | (3) Kamailio alone | (1)/(3) | (2)/(3) |"
echo "|---|---|---|---|---|---|"
row "calls/s sustained" "$(f out_call) (server CPU $(f out_cpu)%)" "$(f in_call) ($(f in_cpu)%)" "$(f kam_call) ($(f kam_cpu)%)"
row "INVITE->200 p50 ms at $LAT_RATE cps" "$(p50 out_200)" "$(p50 in_200)" "$(p50 kam_200)"
row "INVITE->200 p99 ms" "$(p99 out_200)" "$(p99 in_200)" "$(p99 kam_200)"
row "server CPU ms per call at $LAT_RATE cps" "$(cpu_ms out_lat_cpu)" "$(cpu_ms in_lat_cpu)" "$(cpu_ms kam_lat_cpu)"
echo "| failed calls in the latency runs | $(f out_lat_fail) | $(f in_lat_fail) | $(f kam_lat_fail) | | |"
