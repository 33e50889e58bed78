#!/usr/bin/env bash
# A store sent by a node with a stale view is not lost: super node J joins
# in front of P, P is killed at once, and stores for names in J's range go
# through Z, which has not heard of J yet. Z sends them to X (the node after
# P), whose predecessor is now the one before P as it last heard (not J), so
# X takes them as their owner. Once J's notify makes J X's predecessor, the
# values must reach J: before, they stayed on X and X's successors and every
# fetch, routed to J, found nothing (the loss seen in test_churn).
# Stabilisation is slow here (10 s) so that Z's view is still the old one
# when the stores come; if Z heard of J all the same, J leaves and another
# node tries, up to three times.
#
# At the end of issue 16 this failed in about half the runs: when P had
# joined in front of X less than a stabilisation before it died, X had not
# yet learned P's predecessor, so it had no predecessor at all after P's
# death and no lower bound for what to send J on J's notify. X now asks J
# where J's range starts and sends what it holds there.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/ring_lib.sh"
need sqlite3

overlay_start 4 "heartbeat_timeout = 4s" "[timers]" "heartbeat_interval = 1s" \
	"stabilize_interval = 10s" "[limits]" "records_per_user = 1000"
cli_user alice
SN_ATTACH=sn1 ring_wait sn1 4 60
wait_until 30 "the ring of 4 is not in order" ring_exact sn1

# The name of the super node with Node-ID (or port) $1 in /status field $2.
name_of() { # JQ-PATH-OF-PORT NODE
	local p n
	p=$(snode_status "$2" | jq "$1")
	for n in $(alive); do [ "${SN_PORT[$n]}" = "$p" ] && echo "$n"; done
}
id_of() { snode_status "$1" | jq -r .node_id; }
# True if hex ID $1 lies in ($2, $3] on the ring.
in_half() {
	if [[ "$2" < "$3" ]]; then [[ "$1" > "$2" && ! "$1" > "$3" ]]; else [[ "$1" > "$2" || ! "$1" > "$3" ]]; fi
}

# Names and their Resource-IDs, worked out before the clock starts.
for i in $(seq 1 300); do
	name=user:alice@overlay.example/rec$i
	echo "$(printf %s "$name" | sha256sum | cut -c1-32 | tr a-f A-F) $name"
done >"$T/res"

# join_stale J: super node J joins and the roles around it are found; true
# if Z has not heard of J yet (else J leaves again, for another try).
join_stale() {
	snode_init "$J"
	snode_start "$J"
	wait_until 30 "$J did not join" snode_has "$J" '.state == "joined" and .predecessor != null'
	P=$(name_of '.successors[0].port' "$J")
	A=$(name_of '.predecessor.port' "$J")
	X=$(name_of '.successors[1].port' "$J")
	Z=$(name_of '.predecessor.port' "$A")
	[ -n "$P" ] && [ -n "$A" ] && [ -n "$X" ] && [ -n "$Z" ] && [ "$Z" != "$J" ] ||
		fail "ring roles not found"
	snode_has "$Z" '[.successors[].port] | index($j | tonumber) == null' --arg j "${SN_PORT[$J]}" &&
		return 0
	echo "$Z heard of $J too soon (its stabilisation came in between): again"
	stop_pid "${SN_PID[$J]}" TERM
	wait_until 30 "the ring did not settle after $J left" settled
	return 1
}

note "J joins; its successor P is killed at once"
for J in sn5 sn6 sn7 ""; do
	[ -n "$J" ] || skip "Z heard of J too soon three times: the scenario did not happen"
	join_stale && break
done
a_id=$(id_of "$A") j_id=$(id_of "$J")
RECS=$T/recs
while read -r res name; do
	in_half "$res" "$a_id" "$j_id" && echo "$name"
done <"$T/res" | head -n 5 >"$RECS"
[ -s "$RECS" ] || fail "no name falls in J's range"
echo "J $J $j_id: predecessor A $A $a_id, successor P $P, then X $X; Z $Z; $(grep -c . "$RECS") names"
stop_pid "${SN_PID[$P]}" KILL

note "stores for J's range through Z, before Z has heard of J"
while read -r name; do
	SN_ATTACH=$Z p2p put "$name" "value ${name##*/rec}" >/dev/null || fail "put $name through $Z"
done <"$RECS"

note "once the ring settles, J holds them and every node finds them"
wait_until 30 "the ring did not settle (X learns its new predecessor at J's stabilisation)" settled
# (X pushes them once J's notify makes it X's predecessor; under load that
# has been seen to take more than 10 s after the ring looked settled)
wait_until 30 "$J (J) did not receive the values of its range" \
	test "$(sqlite3 "$T/$J/records.db" "SELECT count(*) FROM vals WHERE name LIKE 'user:%'")" = "$(grep -c . "$RECS")"
check_all "after the blind stores"
echo ok
