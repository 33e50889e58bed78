# The ring scenario shared by test_ring8 and test_ring16: N super nodes, R
# records. Sourced after lib.sh with N, R and FULL (1: also restart, leave
# and join) set.
. "$TOP/tests/ring_lib.sh"

overlay_start "$N" "heartbeat_timeout = 4s" "crl_refresh = 1s" "[timers]" "heartbeat_interval = 1s" \
	"stabilize_interval = 1s" "[limits]" "records_per_user = 1000"
cli_user alice

note "the ring forms, in Node-ID order"
SN_ATTACH=sn1 ring_wait sn1 $N 60
ring_exact sn1 || fail "ring walk is not the $N nodes in Node-ID order: $(jq -c '[.nodes[].id]' "$T/ring.json")"

note "$R records put through sn1"
for i in $(seq 1 $R); do
	SN_ATTACH=sn1 p2p put "user:alice@overlay.example/rec$i" "value $i" >/dev/null ||
		fail "put rec$i"
done

check_all "after the puts"

note "every record is kept on at least three nodes (primary and two replicas)"
wait_until 10 "some record is held by fewer than three nodes" copies_ok

note "status and metrics"
snode_has sn3 '.state == "joined" and (.successors | length) >= 2 and .predecessor != null' ||
	fail "status of sn3"
scrape "${SN_STATUS[sn3]}"
[ -n "$(mval "$T/metrics" p2psip_sn_values)" ] || fail "metrics: $(cat "$T/metrics")"

note "routes: on average at most log2(N)/2 + 1 hops, none over log2(N) + 1"
sleep 2 # a few stabilisation rounds for the fingers
lg=$(awk -v n="$N" 'BEGIN { l = 0; while (2 ^ l < n) l++; print l }')
for n in sn3 sn5; do
	for i in $(seq 1 $R); do
		SN_ATTACH=$n p2p --json route "user:alice@overlay.example/rec$i" | jq .hops
	done
done >"$T/hops"
awk -v lg="$lg" '{ s += $1; if ($1 > m) m = $1 } END {
	printf "average %.2f hops, max %d (N %d)\n", s / NR, m, 2 ^ lg
	exit !(s / NR <= lg / 2 + 1 && m <= lg + 1) }' "$T/hops" || fail "too many hops: $(sort -n "$T/hops" | uniq -c | tr '\n' ' ')"

# The ring's neighbours of a super node, as names.
neighbours_of() { # NAME: prints its predecessor's and successor's names
	local st p s n
	st=$(snode_status "$1")
	p=$(echo "$st" | jq .predecessor.port)
	s=$(echo "$st" | jq '.successors[0].port')
	for n in "${!SN_PORT[@]}"; do
		[ "${SN_PORT[$n]}" = "$p" ] || [ "${SN_PORT[$n]}" = "$s" ] && echo "$n"
	done
}

note "kill -9 of one super node: nothing is lost"
stop_pid "${SN_PID[sn4]}" KILL
SN_ATTACH=sn1 ring_wait sn1 $((N - 1)) 30
check_all "after kill -9 of sn4"

note "kill -9 of two super nodes that are not neighbours"
nb=$(neighbours_of sn2)
victim=""
for n in $(alive); do
	case " sn1 sn2 $nb " in *" $n "*) continue ;; esac
	victim=$n
	break
done
[ -n "$victim" ] || fail "no non-neighbour of sn2 found"
stop_pid "${SN_PID[sn2]}" KILL
stop_pid "${SN_PID[$victim]}" KILL
SN_ATTACH=sn1 ring_wait sn1 $((N - 3)) 30
check_all "after kill -9 of sn2 and $victim"

if [ "$FULL" = 1 ]; then
	note "a killed node restarts with its key and records and rejoins"
	held=$(sqlite3 "$T/sn4/records.db" "SELECT count(*) FROM vals")
	[ "$held" -gt 0 ] || fail "sn4 had nothing on disk"
	snode_start sn4
	snode_wait sn4 30
	grep -q "$held values loaded" "$T/sn_sn4.log" || fail "sn4 did not load its $held values"
	# Its successor answers the sync of sn4's own range (and no other).
	wait_until 30 "sn4 did not reconcile with its successor" \
		grep -q "reconciled with the successor" "$T/sn_sn4.log"
	SN_ATTACH=sn1 ring_wait sn1 $((N - 2)) 30
	check_all "after sn4 came back"

	note "graceful leave (SIGTERM) hands the records over"
	stop_pid "${SN_PID[sn6]}" TERM || fail "sn6 did not exit cleanly"
	grep -q "handover to the successor done" "$T/sn_sn6.log" || fail "sn6 did not hand over"
	grep -q "left the ring" "$T/sn_sn6.log" || fail "sn6 did not leave"
	SN_ATTACH=sn1 ring_wait sn1 $((N - 3)) 30
	check_all "after sn6 left"

	note "a new node joins the loaded ring and receives its share"
	snode_up sn9
	SN_ATTACH=sn1 ring_wait sn1 $((N - 2)) 30
	wait_until 10 "sn9 received no records" snode_has sn9 '.values > 0'
	check_all "after sn9 joined"
fi
echo ok
