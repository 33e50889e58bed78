#!/usr/bin/env bash
# Churn soak of the super node ring (issue 16), with OpenDHT's recovery
# figures from the same run as the peer (../shared/anchors/opendht).
#
# N super nodes on loopback; a writer stores records continuously (one
# p2psip put at a time through the live super nodes in turn) while REPLACE of
# them are replaced, one every PERIOD seconds: a new node joins, then an old
# one is stopped (SIGTERM and kill -9 in turn). After each replacement it
# times how long until the ring is settled (the ring walk lists exactly the
# live nodes in Node-ID order and every acknowledged record is on three of
# them). At the end every acknowledged record is fetched through every live
# node. Prints records stored, lost, failed puts, put latency, the settle
# times and the final ring.
#
#   bench/churn.sh                               8 nodes, 4 replaced, 10 minutes
#   N=6 REPLACE=3 PERIOD=20 PEER=0 bench/churn.sh   a quick look
set -u
cd "$(dirname "$0")/.."
TOP=$(pwd)

N=${N:-8}
REPLACE=${REPLACE:-4}
PERIOD=${PERIOD:-150} # seconds between two replacements
GAP=${GAP:-0.2}       # seconds between two puts of the writer
PEER=${PEER:-1}
OPENDHT_ANCHOR=${OPENDHT_ANCHOR:-$TOP/../shared/anchors/opendht/run.sh}

# ---- our ring: prints "FIG name value" lines ----
if [ "${1:-}" = --ring ]; then
	. "$TOP/tests/lib.sh"
	. "$TOP/tests/ring_lib.sh"
	fig() { echo "FIG $1 $2"; }
	overlay_start "$N" "heartbeat_timeout = 4s" "crl_refresh = 1s" "[timers]" \
		"heartbeat_interval = 1s" "stabilize_interval = 1s" "[limits]" "records_per_user = 1000000"
	cli_user alice
	SN_ATTACH=sn1 ring_wait sn1 "$N" 120
	t0=$(date +%s)
	writer_start "$GAP"
	sigs=(TERM KILL)
	worst=0
	for i in $(seq 1 "$REPLACE"); do
		# replacement i half way through its period
		while [ $(($(date +%s) - t0)) -lt $(((2 * i - 1) * PERIOD / 2)) ]; do sleep 1; done
		old=sn$i new=sn$((N + i)) sig=${sigs[$((i % 2))]}
		if replace "$old" "$new" "$sig" 120; then
			s=$SETTLE_MS
		else
			s=-1
		fi
		echo "$(date -u +%T) $old -> $new ($sig): ring whole after $RING_MS ms, settled after $s ms," \
			"$(grep -c . "$RECS") stored" >&2
		fig "ring_ms_$i" "$RING_MS"
		fig "settle_ms_$i" "$s"
		fig "settle_how_$i" "$old-$sig"
	done
	while [ $(($(date +%s) - t0)) -lt $((REPLACE * PERIOD)) ]; do sleep 1; done
	writer_stop
	fig minutes "$(awk -v s=$(($(date +%s) - t0)) 'BEGIN { printf "%.1f", s / 60 }')"
	fig stored "$(grep -c . "$RECS")"
	fig failed "$(grep -c . "$T/put_failed")"
	fig put_p50_ms "$(sort -n "$T/put_ms" | awk '{a[NR] = $1} END {print a[int(NR * 0.50 + 0.5)]}')"
	fig put_p99_ms "$(sort -n "$T/put_ms" | awk '{a[NR] = $1} END {print a[int(NR * 0.99 + 0.5)]}')"
	poll 60 settled
	lost=0
	for n in $(alive); do
		l=$(lost_through "$n")
		[ "$l" -gt "$lost" ] && lost=$l
		[ "$l" = 0 ] || echo "through $n: $l records not fetched right" >&2
	done
	fig lost "$lost"
	if ring_exact "$(alive | head -n 1)"; then
		fig ring "whole,$(jq .size "$T/ring.json")-nodes"
	else
		fig ring "NOT-whole"
	fi
	exit 0
fi

# ---- driver ----
RES=$(mktemp -d "${TMPDIR:-/tmp}/p2psip-churnbench.XXXXXX")
trap 'rm -rf "$RES"' EXIT
declare -A OURS PEERV
echo "== super node ring: N=$N, $REPLACE replaced, one every $PERIOD s, a put every $GAP s"
if ! bash "$0" --ring >"$RES/ours" 2>"$RES/ours.err"; then
	tail -n 40 "$RES/ours.err" >&2
	echo "churn.sh: our run failed" >&2
	exit 1
fi
grep -E 'settled after|through' "$RES/ours.err"
while read -r _ k v; do OURS[$k]=$v; done < <(grep '^FIG ' "$RES/ours")

if [ "$PEER" = 1 ]; then
	if [ -f "$OPENDHT_ANCHOR" ]; then
		echo "== OpenDHT, N=$N ($OPENDHT_ANCHOR): put latency without churn, recovery after kill -9"
		NS="$N" OPS=500 TPUT=3000 CONC=64 RECOVER_TIMEOUT=60 \
			bash "$OPENDHT_ANCHOR" >"$RES/peer" 2>"$RES/peer.err" || echo "(OpenDHT anchor exited $?)"
		while read -r _ k v; do PEERV[$k]=$v; done < <(grep '^SUMMARY ' "$RES/peer")
	else
		echo "== OpenDHT anchor not found at $OPENDHT_ANCHOR: our figures only"
	fi
fi

P=N${N}_
row() { # LABEL OURS PEER
	printf '%-44s %14s %12s\n' "$1" "${2:--}" "${3:--}"
}
echo
row "figure" "p2psip" "OpenDHT"
row "minutes of writes" "${OURS[minutes]:-}" ""
row "records stored (acknowledged)" "${OURS[stored]:-}" ""
row "records lost" "${OURS[lost]:-}" ""
row "failed puts" "${OURS[failed]:-}" ""
row "put p50 ms (ours: during churn)" "${OURS[put_p50_ms]:-}" "${PEERV[${P}put_lat_p50_ms]:-}"
row "put p99 ms (ours: during churn)" "${OURS[put_p99_ms]:-}" "${PEERV[${P}put_lat_p99_ms]:-}"
for i in $(seq 1 "$REPLACE"); do
	row "replacement $i (${OURS[settle_how_$i]:-?}): ring whole, ms" "${OURS[ring_ms_$i]:-}" ""
	row "replacement $i: settled (3 copies), ms" "${OURS[settle_ms_$i]:-}" ""
done
row "fetchable again ms, kill -9 of 1 holder" "" "${PEERV[${P}kill1_recover_time_ms]:-}"
row "fetchable again ms, kill -9 of $((N / 4)) holders" "" "${PEERV[${P}kill25pct_recover_time_ms]:-}"
row "final ring" "${OURS[ring]:-}" ""
