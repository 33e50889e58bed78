#!/usr/bin/env bash
# Churn without loss (issue 16), compressed: 6 super nodes, 3 of them
# replaced one after another (a new node joins, then an old one is stopped,
# kill -9 and SIGTERM in turn) while a writer stores records continuously.
# After each replacement the ring must settle (the walk lists exactly the
# live nodes in Node-ID order, every acknowledged record kept three times);
# at the end every acknowledged record is fetched right through every live
# node: lost must be 0. Then two neighbours are killed at once, and still
# nothing is lost. bench/churn.sh is the ten-minute version.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/ring_lib.sh"
need sqlite3

overlay_start 6 "heartbeat_timeout = 4s" "crl_refresh = 1s" "[timers]" "heartbeat_interval = 1s" \
	"stabilize_interval = 1s" "[limits]" "records_per_user = 100000"
cli_user alice
SN_ATTACH=sn1 ring_wait sn1 6 60
ring_exact sn1 || fail "ring walk is not the 6 nodes in Node-ID order"

note "a writer stores records while sn1, sn2 and sn3 are replaced by sn7, sn8 and sn9"
writer_start 0.2
wait_until 20 "the writer stored nothing" test -s "$RECS"
settles=()
REST=${REST:-4} # seconds of writes between two replacements
for r in "sn1 sn7 KILL" "sn2 sn8 TERM" "sn3 sn9 KILL"; do
	set -- $r
	replace "$1" "$2" "$3" 60 || fail "ring did not settle after $1 ($3) was replaced by $2"
	echo "$1 -> $2 ($3): ring whole after $RING_MS ms, settled after $SETTLE_MS ms," \
		"$(grep -c . "$RECS") records stored so far"
	settles+=("$SETTLE_MS")
	sleep "$REST"
done
writer_stop

stored=$(grep -c . "$RECS")
failed=$(grep -c . "$T/put_failed")
wait_until 30 "records lack their three copies after the writer stopped" settled
lost=0
for n in $(alive); do
	l=$(lost_through "$n")
	[ "$l" -gt "$lost" ] && lost=$l
	[ "$l" = 0 ] || echo "through $n: $l records not fetched right: $(head -n 3 "$T/got.$n.err")"
done
echo "churn: stored $stored, lost $lost, failed puts $failed, settle ms ${settles[*]}"
[ "$stored" -ge 50 ] || fail "only $stored records stored during churn"
[ "$lost" = 0 ] || fail "$lost records lost"
ring_exact "$(alive | head -n 1)" || fail "the ring is not whole at the end"

note "two neighbours killed at once: the third copy remains"
a=$(alive | head -n 1)
b=""
p=$(snode_status "$a" | jq '.successors[0].port')
for n in $(alive); do [ "${SN_PORT[$n]}" = "$p" ] && b=$n; done
[ -n "$b" ] || fail "no successor of $a found"
t0=$(date +%s%N)
kill -KILL "${SN_PID[$a]}" "${SN_PID[$b]}"
wait "${SN_PID[$a]}" "${SN_PID[$b]}" 2>/dev/null
poll 60 settled || fail "ring did not settle after $a and $b were killed"
echo "$a and $b (neighbours) killed: settled after $((($(date +%s%N) - t0) / 1000000)) ms"
check_all "after $a and $b were killed"
echo ok
