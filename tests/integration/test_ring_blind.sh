#!/usr/bin/env bash
# A store taken "blind" is not lost: super node J joins in front of P, P is
# killed at once, and a store for a name in J's range goes through Z, which
# has not heard of J yet. Z sends it to X (the node after P), which has no
# predecessor since P died and so takes it. Once X learns J is its
# predecessor, the value must reach J, its owner: before, it stayed on X and
# X's successors and every fetch, routed to J, found nothing (the loss seen
# in test_churn). Stabilisation is slow here (10 s) so that Z's view is still
# the old one when the store comes.
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

note "sn5 (J) joins; its successor P is killed at once"
snode_init sn5
snode_start sn5
wait_until 30 "sn5 did not join" snode_has sn5 '.state == "joined" and .predecessor != null'
P=$(name_of '.successors[0].port' sn5)
A=$(name_of '.predecessor.port' sn5)
X=$(name_of '.successors[1].port' sn5)
Z=$(name_of '.predecessor.port' "$A")
[ -n "$P" ] && [ -n "$A" ] && [ -n "$X" ] && [ -n "$Z" ] && [ "$Z" != sn5 ] || fail "ring roles not found"
a_id=$(id_of "$A") j_id=$(id_of sn5)
RECS=$T/recs
while read -r res name; do
	in_half "$res" "$a_id" "$j_id" && echo "$name"
done <"$T/res" | head -n 5 >"$RECS"
[ -s "$RECS" ] || fail "no name falls in J's range"
echo "J sn5 $j_id: predecessor A $A $a_id, successor P $P, then X $X; Z $Z; $(grep -c . "$RECS") names"
stop_pid "${SN_PID[$P]}" KILL

note "stores for J's range through Z, before Z has heard of J"
snode_has "$Z" '[.successors[].port] | index($j | tonumber) == null' --arg j "${SN_PORT[sn5]}" ||
	skip "$Z heard of sn5 too soon: the scenario did not happen"
while read -r name; do
	SN_ATTACH=$Z p2p put "$name" "value ${name##*/rec}" >/dev/null || fail "put $name through $Z"
done <"$RECS"

note "once the ring settles, J holds them and every node finds them"
wait_until 30 "the ring did not settle (X learns its new predecessor at J's stabilisation)" settled
wait_until 10 "sn5 (J) did not receive the values of its range" \
	test "$(sqlite3 "$T/sn5/records.db" "SELECT count(*) FROM vals WHERE name LIKE 'user:%'")" = "$(grep -c . "$RECS")"
check_all "after the blind stores"
echo ok
