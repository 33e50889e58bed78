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

# Re-replication waits 3 s after a change of the ring (200 ms by default):
# the second part needs a node that dies before it sends its replicas.
SLOW_PUSH=("[ring]" "push_delay_ms = 3000")
logind_init
logind_start
bootstrapd_init "heartbeat_timeout = 4s" "[timers]" "heartbeat_interval = 1s" \
	"stabilize_interval = 10s" "[limits]" "records_per_user = 1000"
bootstrapd_start
snodes_start 4 "${SLOW_PUSH[@]}"
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
for i in $(seq 1 400); do
	name=user:alice@overlay.example/rec$i
	echo "$(printf %s "$name" | sha256sum | cut -c1-32 | tr a-f A-F) $name"
done >"$T/res"

# join_stale J: super node J joins and the roles around it are found; true
# if Z has not heard of J yet (else J leaves again, for another try).
join_stale() {
	snode_init "$J" "${SLOW_PUSH[@]}"
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
done < <(head -n 300 "$T/res") | head -n 5 >"$RECS"
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

# The other side: K joins in front of S, and its predecessor A dies before
# it sends K the replicas of its range (push_delay_ms after it hears of K):
# A's range is K's now, and K never got it. S holds copies (it was A's replica
# holder) and must give them to K: before, K stayed without them, every
# fetch routed to K missed them, and only two copies were left. This is how
# test_churn failed in CI, about one run in eight here. K's key is made
# beforehand, so that its place is known.
note "records stored; K joins in front of A, and A dies before sending K anything"
for i in $(seq 301 360); do
	SN_ATTACH=$X p2p put "user:alice@overlay.example/rec$i" "value $i" >/dev/null || fail "put rec$i"
	echo "user:alice@overlay.example/rec$i"
done >>"$RECS"
wait_until 30 "the 60 records lack their copies" settled
for n in $(alive); do echo "$(id_of "$n") $n"; done | sort >"$T/ids"
K=sn8
snode_init "$K" "${SLOW_PUSH[@]}"
for try in $(seq 1 20); do
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/$K/node.key" 2>/dev/null
	k_id=$(openssl pkey -in "$T/$K/node.key" -pubout -outform DER | sha256sum | cut -c1-32 | tr a-f A-F)
	# A: the last node before K's place; its own range is (A's predecessor, A].
	read -r a_id A < <(awk -v k="$k_id" '$1 < k' "$T/ids" | tail -n 1)
	[ -n "$A" ] || read -r a_id A < <(tail -n 1 "$T/ids")
	read -r ap_id _ < <(awk -v a="$a_id" '$1 < a' "$T/ids" | tail -n 1)
	[ -n "$ap_id" ] || read -r ap_id _ < <(tail -n 1 "$T/ids")
	while read -r res name; do
		grep -qxF "$name" "$RECS" && in_half "$res" "$ap_id" "$a_id" && echo "$name"
	done <"$T/res" >"$T/a_names"
	mine=$(grep -c . "$T/a_names")
	[ "$mine" -gt 0 ] && break
done
[ "$mine" -gt 0 ] || fail "no key put K after a node that owns records"
echo "K $K $k_id: predecessor A $A $a_id, which owns $mine of the records"
# How many of A's records K holds in its own SQLite file.
k_holds() {
	sqlite3 "$T/$K/records.db" "SELECT DISTINCT name FROM vals WHERE name LIKE 'user:%'" |
		grep -cxF -f "$T/a_names"
}
# A hears of K at once (K's notify), but sends it replicas of its range
# only 3 s later: killed before, it never does.
snode_start "$K"
wait_until 30 "$K did not join" snode_has "$K" '.state == "joined"'
snode_has "$K" '.predecessor.port == $p' --argjson p "${SN_PORT[$A]}" ||
	fail "$K's predecessor is not $A"
stop_pid "${SN_PID[$A]}" KILL
[ "$(k_holds)" -lt "$mine" ] || echo "(K holds A's records already: the scenario did not happen)"
# shellcheck disable=SC2016
forgotten() { # PORT: no live node has it as predecessor or successor
	local n
	for n in $(alive); do
		snode_has "$n" '.predecessor.port != $p and ([.successors[].port] | index($p) == null)' \
			--argjson p "$1" || return 1
	done
}
wait_until 30 "$A's death was not noticed" forgotten "${SN_PORT[$A]}"
wait_until 60 "the records did not get back their three copies after $A died" settled
wait_until 30 "$K, now their owner, lacks some of the $mine records of the dead $A" \
	test "$(k_holds)" = "$mine"
check_all "after $K joined behind the dead $A"
echo ok
