#!/usr/bin/env bash
# SIP benchmark through the overlay, with Kamailio (the registrar and proxy
# of ../shared/anchors/kamailio, or $KAM_ANCHOR) measured in the same run
# with the same sipp scenarios (bench/sipp/) and the same load steps.
#
# Ours: logind, bootstrapd, two super nodes, ordinary node A (account
# "caller") and ordinary node B (accounts user1..user$USERS), all pinned to
# CPU $SRV_CPU; sipp and tcpdump on CPU $GEN_CPU. Kamailio: one worker
# (-n 1) pinned the same way.
#   * INVITE->180 and INVITE->200 p50/p99 at $LAT_RATE calls/s for
#     $LAT_DUR s (see the calls below), from a tcpdump capture of the
#     caller's proxy port (bench/sip_lat.py): sipp's own timer is too
#     coarse. First, on the fresh system: an overloaded step leaves
#     transactions and retransmissions behind for half a minute.
#   * REGISTER/s: refreshes of the $USERS accounts at node B (Kamailio: the
#     same AoRs), rising steps of $DUR s; the best step with every
#     REGISTER answered 200, none failed, and sipp reaching 90% of the rate
#     (the anchor's rule; retransmissions are printed, not judged).
#   * calls/s: caller at node A calls user1, whose phone (one sipp, where
#     user2..user$USERS are registered too) registered at node B: INVITE,
#     407, ACK, INVITE with credentials, 100, 180, 200, ACK, 100 ms, BYE,
#     200 (Kamailio: no 407); through the overlay A -> super node -> super
#     node -> B. The same pass rule. Digest costs our side one more round
#     trip per call and per REGISTER; the latencies are timed from the
#     request with credentials (bench/sip_lat.py).
#     Then $SETTLE s of rest before the calls.
# Prints one table: ours, Kamailio's, and the ratio.
#
# Then ours again with plain_sip = yes at both ordinary nodes (PLAIN=0:
# not): the latency and calls/s of the same calls unsealed, beside the
# sealed figures, and each one's server CPU time per call.
#
#   bench/sip.sh                     everything (needs root for tcpdump)
#   PEER=0 DUR=3 bench/sip.sh        ours only, shorter steps
set -u
cd "$(dirname "$0")/.."
TOP=$(pwd)
USERS=${USERS:-20}
DUR=${DUR:-5}
REG_RATES=${REG_RATES:-"1000 2000 5000 10000 15000 20000 30000"}
CALL_RATES=${CALL_RATES:-"100 200 500 1000 1500 2000 3000"}
LAT_RATE=${LAT_RATE:-100}
LAT_DUR=${LAT_DUR:-10}
SETTLE=${SETTLE:-35} # after the overloaded REGISTER step: its transactions end
PEER=${PEER:-1}
PLAIN=${PLAIN:-1} # also measure ours with plain_sip = yes (the cost of sealing)
SRV_CPU=${SRV_CPU:-1}
GEN_CPU=${GEN_CPU:-0}
KAM_ANCHOR=${KAM_ANCHOR:-$TOP/../shared/anchors/kamailio}
SIPP_BUF=4194304
B=$TOP/bench/sipp

if [ "$(id -u)" = 0 ]; then
	missing=""
	for p in sip-tester tcpdump python3 $([ "$PEER" = 1 ] && echo kamailio); do
		dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -q installed || missing="$missing $p"
	done
	[ -z "$missing" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
fi
. "$TOP/tests/lib.sh"
. "$TOP/bench/sip_lib.sh"
need sipp tcpdump python3 taskset
[ "$PEER" = 1 ] && ! command -v kamailio >/dev/null && { echo "kamailio missing: PEER=0"; PEER=0; }

# Our node challenges its phones (digest): each callee's REGISTER answers
# with field 1; the caller authenticates as "caller" (-au/-ap, the digest
# uri being the one Request-URI all calls go to: sip:user1@overlay.example,
# as sipp 3.6 takes the uri from -auth_uri). Kamailio does not challenge.
{
	echo SEQUENTIAL
	for i in $(seq 1 "$USERS"); do
		echo "user$i;[authentication username=user$i password=$(sip_pw "user$i")]"
	done
} >"$T/users.csv"
printf 'SEQUENTIAL\nuser1;\n' >"$T/callees.csv"
CALLER_AUTH=(-au caller -ap "$(sip_pw caller)" -auth_uri user1@overlay.example)
UAS_PORT=$(free_port)
declare -A R
echo "# $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p')); servers on CPU $SRV_CPU, sipp and tcpdump on CPU $GEN_CPU"

# ---- ours ----
echo "== ours: 2 super nodes, ordinary nodes A (caller) and B (user1..user$USERS)"
bench_overlay
bench_accounts "$USERS"
on_init A caller
on_init B "${accts[@]}"
# SIP alone, as Kamailio is measured here (no rtpengine): the nodes do not
# take relay streams for every call ([media] hide_addresses, on by default).
for n in A B; do printf '\n[media]\nhide_addresses = no\n' >>"$T/$n/ordinarynode.conf"; done
on_start A
on_start B
SRV_PIDS="${SN_PID[sn1]} ${SN_PID[sn2]} ${ON_PID[A]} ${ON_PID[B]}"
for p in $SRV_PIDS; do taskset -a -p -c "$SRV_CPU" "$p" >/dev/null; done
run_sipp reg_once "127.0.0.1:${ON_SIP[B]}" "$B/register.xml" 100 "$USERS" -key contact_port "$UAS_PORT" -auth_uri overlay.example
[ "$OK" = "$USERS" ] || fail "registering the callees: $OK of $USERS"
sleep 1.5 # their records
uas_start ours
latency ours_lat "127.0.0.1:${ON_SIP[A]}" "${ON_SIP[A]}" "$B/uac.xml" "${CALLER_AUTH[@]}"
R[ours_180]=$LAT180 R[ours_200]=$LAT200 R[ours_lat_fail]=$LAT_FAIL R[ours_lat_cpu]=$SCPU
sweep reg "127.0.0.1:${ON_SIP[B]}" "$B/register.xml" "$REG_RATES" -key contact_port "$UAS_PORT" -auth_uri overlay.example
R[ours_reg]=$BEST R[ours_reg_cpu]=$BEST_CPU R[ours_reg_retr]=$BEST_RETR
sleep "$SETTLE"
INF=$T/callees.csv sweep call "127.0.0.1:${ON_SIP[A]}" "$B/uac.xml" "$CALL_RATES" "${CALLER_AUTH[@]}"
R[ours_call]=$BEST R[ours_call_cpu]=$BEST_CPU R[ours_call_retr]=$BEST_RETR
kill "$UAS_PID" 2>/dev/null
wait "$UAS_PID" 2>/dev/null

# ---- ours again, unsealed: what sealing costs ----
if [ "$PLAIN" = 1 ]; then
	echo "== ours with plain_sip = yes at nodes A and B (SIP between them unsealed)"
	stop_pid "${ON_PID[A]}" >/dev/null 2>&1
	stop_pid "${ON_PID[B]}" >/dev/null 2>&1
	ON_EXTRA="plain_sip = yes" on_init Ap caller
	ON_EXTRA="plain_sip = yes" on_init Bp "${accts[@]}"
	for n in Ap Bp; do printf '\n[media]\nhide_addresses = no\n' >>"$T/$n/ordinarynode.conf"; done
	on_start Ap
	on_start Bp
	SRV_PIDS="${SN_PID[sn1]} ${SN_PID[sn2]} ${ON_PID[Ap]} ${ON_PID[Bp]}"
	for p in $SRV_PIDS; do taskset -a -p -c "$SRV_CPU" "$p" >/dev/null; done
	run_sipp preg_once "127.0.0.1:${ON_SIP[Bp]}" "$B/register.xml" 100 "$USERS" -key contact_port "$UAS_PORT" -auth_uri overlay.example
	[ "$OK" = "$USERS" ] || fail "registering the callees at Bp: $OK of $USERS"
	sleep "$SETTLE" # the sealed sweep's last, overloaded step is over; the records are in
	uas_start plain
	latency plain_lat "127.0.0.1:${ON_SIP[Ap]}" "${ON_SIP[Ap]}" "$B/uac.xml" "${CALLER_AUTH[@]}"
	R[plain_180]=$LAT180 R[plain_200]=$LAT200 R[plain_lat_fail]=$LAT_FAIL R[plain_lat_cpu]=$SCPU
	INF=$T/callees.csv sweep pcall "127.0.0.1:${ON_SIP[Ap]}" "$B/uac.xml" "$CALL_RATES" "${CALLER_AUTH[@]}"
	R[plain_call]=$BEST R[plain_call_cpu]=$BEST_CPU R[plain_call_retr]=$BEST_RETR
	kill "$UAS_PID" 2>/dev/null
	wait "$UAS_PID" 2>/dev/null
fi
for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}" >/dev/null 2>&1; done
PIDS=()

# ---- Kamailio ----
if [ "$PEER" = 1 ]; then
	echo "== Kamailio ($(kamailio -v | head -1 | cut -d' ' -f2-3)), -n 1, $KAM_ANCHOR/kamailio.cfg"
	mkdir -p /tmp/anchor/kamailio
	taskset -c "$SRV_CPU" kamailio -f "$KAM_ANCHOR/kamailio.cfg" -DD -E -n 1 -m 1024 >"$T/kamailio.log" 2>&1 &
	KPID=$!
	PIDS+=("$KPID")
	sleep 2
	kill -0 "$KPID" 2>/dev/null || fail "kamailio did not start: $(tail -n 5 "$T/kamailio.log")"
	SRV_PIDS="$KPID $(pgrep -P "$KPID" | tr '\n' ' ')"
	run_sipp kreg_once 127.0.0.1:5070 "$B/register.xml" 100 "$USERS" -key contact_port "$UAS_PORT" -auth_uri overlay.example
	uas_start kam
	latency kam_lat 127.0.0.1:5070 5070 "$B/uac.xml" "${CALLER_AUTH[@]}"
	R[kam_180]=$LAT180 R[kam_200]=$LAT200 R[kam_lat_fail]=$LAT_FAIL R[kam_lat_cpu]=$SCPU
	sweep kreg 127.0.0.1:5070 "$B/register.xml" "$REG_RATES" -key contact_port "$UAS_PORT" -auth_uri overlay.example
	R[kam_reg]=$BEST R[kam_reg_cpu]=$BEST_CPU R[kam_reg_retr]=$BEST_RETR
	sleep "$SETTLE"
	INF=$T/callees.csv sweep kcall 127.0.0.1:5070 "$B/uac.xml" "$CALL_RATES" "${CALLER_AUTH[@]}"
	R[kam_call]=$BEST R[kam_call_cpu]=$BEST_CPU R[kam_call_retr]=$BEST_RETR
	kill "$UAS_PID" 2>/dev/null
	wait "$UAS_PID" 2>/dev/null
fi

echo
echo "| figure (steps of ${DUR}s, 0 failed) | ours | Kamailio | ours/Kamailio |"
echo "|---|---|---|---|"
echo "| REGISTER/s sustained | $(f ours_reg) (server CPU $(f ours_reg_cpu)%, $(f ours_reg_retr) retransmissions) | $(f kam_reg) ($(f kam_reg_cpu)%, $(f kam_reg_retr)) | $(ratio "$(f ours_reg)" "$(f kam_reg)") |"
echo "| calls/s sustained | $(f ours_call) (server CPU $(f ours_call_cpu)%, $(f ours_call_retr) retransmissions) | $(f kam_call) ($(f kam_call_cpu)%, $(f kam_call_retr)) | $(ratio "$(f ours_call)" "$(f kam_call)") |"
echo "| INVITE->180 p50 ms at $LAT_RATE cps | $(p50 ours_180) | $(p50 kam_180) | $(ratio "$(p50 ours_180)" "$(p50 kam_180)") |"
echo "| INVITE->180 p99 ms | $(p99 ours_180) | $(p99 kam_180) | $(ratio "$(p99 ours_180)" "$(p99 kam_180)") |"
echo "| INVITE->200 p50 ms | $(p50 ours_200) | $(p50 kam_200) | $(ratio "$(p50 ours_200)" "$(p50 kam_200)") |"
echo "| INVITE->200 p99 ms | $(p99 ours_200) | $(p99 kam_200) | $(ratio "$(p99 ours_200)" "$(p99 kam_200)") |"
echo "| failed calls in the latency runs | $(f ours_lat_fail) | $(f kam_lat_fail) | |"
echo "| server CPU ms per call at $LAT_RATE cps | $(cpu_ms ours_lat_cpu) | $(cpu_ms kam_lat_cpu) | $(ratio "$(cpu_ms ours_lat_cpu)" "$(cpu_ms kam_lat_cpu)") |"
if [ "$PLAIN" = 1 ]; then
	echo
	echo "What sealing SIP between the ordinary nodes costs (same run, same super nodes):"
	echo
	echo "| figure | sealed (default) | plain_sip = yes | sealed/plain |"
	echo "|---|---|---|---|"
	echo "| calls/s sustained | $(f ours_call) (CPU $(f ours_call_cpu)%) | $(f plain_call) (CPU $(f plain_call_cpu)%) | $(ratio "$(f ours_call)" "$(f plain_call)") |"
	echo "| INVITE->180 p50 ms at $LAT_RATE cps | $(p50 ours_180) | $(p50 plain_180) | $(ratio "$(p50 ours_180)" "$(p50 plain_180)") |"
	echo "| INVITE->180 p99 ms | $(p99 ours_180) | $(p99 plain_180) | $(ratio "$(p99 ours_180)" "$(p99 plain_180)") |"
	echo "| INVITE->200 p50 ms | $(p50 ours_200) | $(p50 plain_200) | $(ratio "$(p50 ours_200)" "$(p50 plain_200)") |"
	echo "| INVITE->200 p99 ms | $(p99 ours_200) | $(p99 plain_200) | $(ratio "$(p99 ours_200)" "$(p99 plain_200)") |"
	echo "| server CPU ms per call at $LAT_RATE cps | $(cpu_ms ours_lat_cpu) | $(cpu_ms plain_lat_cpu) | $(ratio "$(cpu_ms ours_lat_cpu)" "$(cpu_ms plain_lat_cpu)") |"
fi
