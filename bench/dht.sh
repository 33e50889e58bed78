#!/usr/bin/env bash
# DHT benchmark of the super node ring, with OpenDHT measured in the same run
# as the peer (../shared/anchors/opendht, or $OPENDHT_ANCHOR).
#
# For each ring size N it starts logind, bootstrapd and N super nodes on
# loopback, then with build/bench/dht_bench (a client that signs every store
# and checks every fetched signature, as an ordinary node does):
#   * OPS sequential stores through one super node, then TPUT with CONC in
#     flight (128-byte values): ops/s, p50/p99 latency, hops avg/max;
#   * the same names fetched through another super node, sequential and
#     with CONC in flight;
#   * memory per stored value: growth of the super nodes' VmRSS over the
#     number of values they hold (primary copies and replicas);
#   * on the 4-node ring, a saturation run (MAX_OPS stores, MAX_CONC in
#     flight): the most signed stores per second we reach;
#   * TRIALS recovery trials: store a value, find its responsible super node
#     with `p2psip route`, kill -9 it (never the attach point), and time how
#     long until the value can be fetched again; the node is then restarted.
# Then it runs the OpenDHT anchor with the same N, OPS, TPUT and CONC and
# prints one table: ours, OpenDHT's, and the ratio.
#
#   bench/dht.sh                          N = 4 16 32, OpenDHT too
#   NS="4" PEER=0 TRIALS=3 bench/dht.sh   quick run without the peer
set -u
cd "$(dirname "$0")/.."
TOP=$(pwd)

NS=${NS:-"4 16 32"}
OPS=${OPS:-500}
TPUT=${TPUT:-3000}
CONC=${CONC:-64}
TRIALS=${TRIALS:-5}
MAX_OPS=${MAX_OPS:-20000}
MAX_CONC=${MAX_CONC:-256}
PEER=${PEER:-1}
OPENDHT_ANCHOR=${OPENDHT_ANCHOR:-$TOP/../shared/anchors/opendht/run.sh}

# ---- one ring: prints "FIG name value" lines ----
if [ "${1:-}" = --ring ]; then
	N=$2
	. "$TOP/tests/lib.sh"
	DB=$TOP/build/bench/dht_bench
	[ -x "$DB" ] || fail "build first: $DB missing"
	fig() { echo "FIG $1 $2"; }
	result() { # PHASE-LINE KEY: the value of KEY= in a RESULT line
		sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
	}
	logind_init
	logind_start
	bootstrapd_init "heartbeat_timeout = 4s" "[timers]" "heartbeat_interval = 1s" \
		"stabilize_interval = 1s" "[limits]" "records_per_user = 100000000"
	bootstrapd_start
	for i in $(seq 1 "$N"); do snode_init "sn$i" "[limits]" "client_rate = 1000000"; done
	snode_start sn1
	snode_wait sn1
	for i in $(seq 2 "$N"); do snode_start "sn$i"; done
	for i in $(seq 2 "$N"); do snode_wait "sn$i" 120; done
	cli_user bench
	CLI_USER=bench SN_ATTACH=sn1 ring_wait sn1 "$N" 120
	sleep 3 # a few stabilisation rounds: fingers settle
	bench() { # MODE SN ARGS...
		local mode=$1 sn=$2
		shift 2
		"$DB" "$mode" --sn "127.0.0.1:${SN_PORT[$sn]}" --ca "$CA" --key "$T/bench.key" \
			--cert "$T/bench.crt" "$@"
	}
	rss_total() {
		local n s=0
		for n in "${!SN_PID[@]}"; do
			s=$((s + $(awk '/^VmRSS/{print $2}' "/proc/${SN_PID[$n]}/status")))
		done
		echo "$s"
	}
	values_total() {
		local n s=0 v
		for n in "${!SN_PID[@]}"; do
			v=$(snode_status "$n" | jq .values)
			s=$((s + ${v:-0}))
		done
		echo "$s"
	}
	rss0=$(rss_total)
	out=$(bench put sn1 --seq "$OPS" --tput "$TPUT" --conc "$CONC" --keys "$T/keys") ||
		fail "put phase: $out"
	echo "$out" >&2
	seq_l=$(grep phase=put_seq <<<"$out")
	tput_l=$(grep phase=put_tput <<<"$out")
	fig put_p50_ms "$(result "$seq_l" p50_ms)"
	fig put_p99_ms "$(result "$seq_l" p99_ms)"
	fig put_ops_s "$(result "$tput_l" ops_s)"
	fig put_hops_avg "$(result "$seq_l" hops_avg)"
	fig put_hops_max "$(result "$seq_l" hops_max)"
	# Replication is asynchronous: wait until the count of held values stops growing.
	prev=-1
	for _ in $(seq 1 50); do
		v=$(values_total)
		[ "$v" = "$prev" ] && break
		prev=$v
		sleep 0.5
	done
	rss1=$(rss_total)
	fig values_held "$v"
	fig values_per_node $((v / N))
	fig rss_idle_kib_per_node $((rss0 / N))
	fig rss_loaded_kib_per_node $((rss1 / N))
	[ "$v" -gt 0 ] && fig rss_bytes_per_value $(((rss1 - rss0) * 1024 / v))

	out=$(bench get "sn$N" --seq "$OPS" --tput "$TPUT" --conc "$CONC" --keys "$T/keys") ||
		fail "get phase: $out"
	echo "$out" >&2
	seq_l=$(grep phase=get_seq <<<"$out")
	tput_l=$(grep phase=get_tput <<<"$out")
	fig get_p50_ms "$(result "$seq_l" p50_ms)"
	fig get_p99_ms "$(result "$seq_l" p99_ms)"
	fig get_ops_s "$(result "$tput_l" ops_s)"
	fig get_errors "$(result "$tput_l" errors)"
	fig hops_avg "$(result "$seq_l" hops_avg)"
	fig hops_max "$(result "$seq_l" hops_max)"
	sb=0
	for n in "${!SN_PID[@]}"; do
		sb=$((sb + $(snode_status "$n" | jq '.stats.stepped_back // 0')))
	done
	fig stepped_back "$sb"

	if [ "$N" = 4 ] && [ "$MAX_OPS" -gt 0 ]; then
		out=$(bench put sn1 --seq 1 --tput "$MAX_OPS" --conc "$MAX_CONC") ||
			fail "saturation phase: $out"
		echo "$out" >&2
		fig put_max_ops_s "$(result "$(grep phase=put_tput <<<"$out")" ops_s)"
	fi

	# Recovery trials.
	declare -A NAME_OF
	for n in "${!SN_PID[@]}"; do
		NAME_OF[$(snode_status "$n" | jq -r .node_id)]=$n
	done
	worst=0
	failed=0
	for t in $(seq 1 "$TRIALS"); do
		victim=""
		for k in $(seq 1 50); do
			name="user:bench@overlay.example/recover-$t-$k"
			CLI_USER=bench SN_ATTACH=sn1 p2p --json route "$name" >"$T/route" 2>/dev/null || continue
			id=$(jq -r '.path[-1]' "$T/route")
			victim=${NAME_OF[$id]:-}
			[ -n "$victim" ] && [ "$victim" != sn1 ] && break
			victim=""
		done
		[ -n "$victim" ] || fail "trial $t: no name whose responsible node is not sn1"
		CLI_USER=bench SN_ATTACH=sn1 p2p put "$name" "trial $t" >/dev/null || fail "trial $t: put"
		sleep 1 # the replicas are written
		others=""
		for n in sn1 $(printf 'sn%s\n' $(seq 2 "$N") | shuf | head -n 8); do
			[ "$n" = "$victim" ] || others="$others,127.0.0.1:${SN_PORT[$n]}"
		done
		kill -KILL "${SN_PID[$victim]}"
		out=$("$DB" wait --sn "${others#,}" --ca "$CA" --key "$T/bench.key" --cert "$T/bench.crt" \
			--name "$name" --timeout-ms 30000)
		wait "${SN_PID[$victim]}" 2>/dev/null
		ms=$(result " $out" ms)
		echo "recovery trial $t: killed $victim, fetchable again after $ms ms" >&2
		if [ "$ms" = -1 ]; then
			failed=$((failed + 1))
		elif awk -v a="$ms" -v b="$worst" 'BEGIN { exit !(a > b) }'; then
			worst=$ms
		fi
		# The node comes back with its key and records, as an operator restarts it.
		snode_start "$victim"
		snode_wait "$victim" 60
		CLI_USER=bench SN_ATTACH=sn1 ring_wait sn1 "$N" 60
		sleep 2
	done
	fig recover_worst_ms "$worst"
	fig recover_failed "$failed"
	fig recover_trials "$TRIALS"
	exit 0
fi

# ---- driver ----
[ -x build/bench/dht_bench ] || { echo "dht.sh: run make bench (or make build/bench/dht_bench) first" >&2; exit 1; }
RES=$(mktemp -d "${TMPDIR:-/tmp}/p2psip-dhtbench.XXXXXX")
trap 'rm -rf "$RES"' EXIT
declare -A OURS PEERV

for N in $NS; do
	echo "== super node ring, N=$N"
	if ! bash "$0" --ring "$N" >"$RES/ours_$N" 2>"$RES/ours_$N.err"; then
		tail -n 40 "$RES/ours_$N.err" >&2
		echo "dht.sh: ring N=$N failed" >&2
		exit 1
	fi
	grep -E '^(RESULT|recovery)' "$RES/ours_$N.err"
	while read -r _ k v; do OURS[$N.$k]=$v; done < <(grep '^FIG ' "$RES/ours_$N")
done

if [ "$PEER" = 1 ]; then
	if [ -x "$OPENDHT_ANCHOR" ] || [ -f "$OPENDHT_ANCHOR" ]; then
		echo "== OpenDHT, same N, OPS, TPUT and CONC ($OPENDHT_ANCHOR)"
		NS="$NS" OPS="$OPS" TPUT="$TPUT" CONC="$CONC" RECOVER_TIMEOUT=30 \
			bash "$OPENDHT_ANCHOR" >"$RES/peer" 2>"$RES/peer.err" || echo "(OpenDHT anchor exited $?)"
		while read -r _ k v; do PEERV[$k]=$v; done < <(grep '^SUMMARY ' "$RES/peer")
	else
		echo "== OpenDHT anchor not found at $OPENDHT_ANCHOR: our figures only"
	fi
fi

ratio() { # OURS PEER
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 <= 0 || a + 0 < 0) print "-"; else printf "%.2f", a / b }'
}
row() { # LABEL OURS PEER
	printf '%-34s %12s %12s %8s\n' "$1" "${2:--}" "${3:--}" "$(ratio "${2:-}" "${3:-}")"
}
echo
printf '%-34s %12s %12s %8s\n' "figure" "p2psip" "OpenDHT" "ratio"
for N in $NS; do
	P=N${N}_
	echo "-- N=$N (values of 128 B, $CONC in flight for ops/s)"
	row "store ops/s (signed)" "${OURS[$N.put_ops_s]:-}" "${PEERV[${P}put_tput_ops_s]:-}"
	row "store p50 ms" "${OURS[$N.put_p50_ms]:-}" "${PEERV[${P}put_lat_p50_ms]:-}"
	row "store p99 ms" "${OURS[$N.put_p99_ms]:-}" "${PEERV[${P}put_lat_p99_ms]:-}"
	row "fetch ops/s (verified)" "${OURS[$N.get_ops_s]:-}" "${PEERV[${P}get_tput_ops_s]:-}"
	row "fetch p50 ms (OpenDHT: first)" "${OURS[$N.get_p50_ms]:-}" "${PEERV[${P}get_first_p50_ms]:-}"
	row "fetch p99 ms (OpenDHT: first)" "${OURS[$N.get_p99_ms]:-}" "${PEERV[${P}get_first_p99_ms]:-}"
	row "fetch hops avg" "${OURS[$N.hops_avg]:-}" ""
	row "fetch hops max" "${OURS[$N.hops_max]:-}" ""
	row "routing step-backs (whole run)" "${OURS[$N.stepped_back]:-}" ""
	row "values held per node" "${OURS[$N.values_per_node]:-}" "${PEERV[${P}node_values_est]:-}"
	row "RSS idle KiB per node" "${OURS[$N.rss_idle_kib_per_node]:-}" "${PEERV[${P}node_rss_idle_kib]:-}"
	row "RSS bytes per stored value" "${OURS[$N.rss_bytes_per_value]:-}" "${PEERV[${P}node_rss_bytes_per_value]:-}"
	[ -n "${OURS[$N.put_max_ops_s]:-}" ] &&
		row "store ops/s, $MAX_CONC in flight" "${OURS[$N.put_max_ops_s]}" ""
	row "recovery after kill -9, worst ms" "${OURS[$N.recover_worst_ms]:-}" "${PEERV[${P}kill1_recover_time_ms]:-}"
	row "recovery trials failed (of ${OURS[$N.recover_trials]:-?})" "${OURS[$N.recover_failed]:-}" ""
done

echo
echo "targets (issue 3):"
verdict() { if awk "BEGIN { exit !($1) }"; then echo met; else echo "NOT met"; fi; }
for N in $NS; do
	h=${OURS[$N.hops_avg]:-99}
	echo "  N=$N avg hops $h <= log2(N)/2 + 1: $(verdict "$h <= log($N)/log(2)/2 + 1")"
	p=${PEERV[N${N}_get_first_p50_ms]:-}
	[ -n "$p" ] && echo "  N=$N fetch p50 ${OURS[$N.get_p50_ms]} ms <= half of OpenDHT's $p ms: $(verdict "${OURS[$N.get_p50_ms]} <= $p / 2")"
	echo "  N=$N every recovery within 5 s (worst ${OURS[$N.recover_worst_ms]} ms, ${OURS[$N.recover_failed]} failed): $(verdict "${OURS[$N.recover_failed]} == 0 && ${OURS[$N.recover_worst_ms]} <= 5000")"
done
m=${OURS[4.put_max_ops_s]:-${OURS[4.put_ops_s]:-}}
[ -n "$m" ] && echo "  >= 10000 signed stores/s into a 4-node ring ($m): $(verdict "$m >= 10000")"
exit 0
