#!/usr/bin/env bash
# Phones register at the ordinary node (sipp, UDP and TCP): a REGISTER for
# one of its accounts gets 200 with the binding, and the account's record
# appears in the overlay, signed by the account and pointing at this node
# and its super node (checked with p2psip, which verifies the signature);
# an unknown user gets 403, a too short expiry 423; un-REGISTER (Expires 0)
# removes the binding and the record; after the node's super node is
# killed, the node attaches elsewhere and publishes the record again.
. "$(dirname "$0")/../lib.sh"
need sipp

overlay_start 3 "heartbeat_timeout = 4s" "[timers]" "heartbeat_interval = 1s" "stabilize_interval = 1s"
add_user alice "password of alice"
add_user bob "password of bob"
cli_user carol
on_init on alice bob
SIP=${ON_SIP[on]}
vg_on
on_start on

# register USER EXPIRES TRANSPORT(u1|t1) EXPECTED-STATUS [LOCAL-PORT]: the
# contact is sip:USER@127.0.0.1:LOCAL-PORT, so one phone keeps one port.
register() {
	local sf=$T/register_$4.xml
	sed "s|<recv response=\"200\"/>|<recv response=\"$4\"/>|" "$TOP/tests/sipp/register.xml" >"$sf"
	# shellcheck disable=SC2046
	(cd "$T" && timeout 20 sipp "127.0.0.1:$SIP" -sf "$sf" -s "$1" $(sipp_auth "$sf" -s "$1") \
		-key domain overlay.example -key expires "$2" -t "$3" -i 127.0.0.1 -p "${5:-$(free_port)}" -m 1 -timeout 10s \
		-timeout_error -nostdin >"$T/sipp.out" 2>&1)
}
# record USER [SN]: the data of USER's record as seen by carol through SN
# (default sn3); "" if none.
record() {
	CLI_USER=carol SN_ATTACH=${2:-sn3} p2p --json get "user:$1@overlay.example" 2>/dev/null |
		jq -r '.values[0].data // ""'
}
has_record() { d=$(record "$1"); [ -n "$d" ]; } # USER: true if it has one; its data left in $d
no_record() { [ -z "$(record "$1")" ]; }

note "REGISTER over UDP: 200, and alice's record in the overlay"
register alice 120 u1 200 || fail "REGISTER alice: $(tail -n 5 "$T/sipp.out")"
poll 5 has_record alice || fail "no record for alice"
alice_id=$(on_status on | jq -r '.accounts[0].node_id')
sn_id=$(on_status on | jq -r .supernode.node_id)
jq -e --arg n "$alice_id" --arg s "$sn_id" '.node == $n and .sn == $s and .contacts == 1' \
	<<<"$d" >/dev/null || fail "alice's record: $d (node $alice_id, sn $sn_id)"

note "REGISTER for bob, then a second phone of alice over TCP"
BOB_PORT=$(free_port)
register bob 300 u1 200 "$BOB_PORT" || fail "REGISTER bob over TCP: $(tail -n 5 "$T/sipp.out")"
poll 5 has_record bob || fail "no record for bob"
register alice 300 t1 200 || fail "REGISTER alice over TCP: $(tail -n 5 "$T/sipp.out")"
two_phones() { [ "$(record alice | jq .contacts)" = 2 ]; }
poll 5 two_phones || fail "alice's second phone not in her record: $(record alice)"

note "unknown user: 403; too short an expiry: 423; nothing published"
register mallory 120 u1 403 || fail "REGISTER mallory not refused with 403: $(tail -n 5 "$T/sipp.out")"
[ -z "$(record mallory)" ] || fail "a record for mallory"
register alice 10 u1 423 || fail "Expires 10 not answered 423: $(tail -n 5 "$T/sipp.out")"

note "a REGISTER flood: every one answered, the record stored about once a second"
stores() {
	local n s=0 v
	for n in sn1 sn2 sn3; do
		v=$(snode_status "$n" | jq '.stats.stores')
		s=$((s + ${v:-0}))
	done
	echo "$s"
}
s0=$(stores)
t0=$(date +%s)
# shellcheck disable=SC2046
(cd "$T" && timeout 60 sipp "127.0.0.1:$SIP" -sf "$T/register_200.xml" -s alice \
	$(sipp_auth register.xml -s alice) -key domain overlay.example -key expires 120 -t u1 -i 127.0.0.1 -p "$(free_port)" \
	-m 300 -r 150 -timeout 30s -timeout_error -nostdin >"$T/sipp.out" 2>&1) ||
	fail "REGISTER flood: $(tail -n 8 "$T/sipp.out")"
sleep 1.5
secs=$(($(date +%s) - t0))
s1=$(stores)
echo "300 REGISTERs in about ${secs} s: $((s1 - s0)) stores"
[ $((s1 - s0)) -le $((secs + 3)) ] || fail "the flood caused $((s1 - s0)) stores in ${secs} s"
[ $((s1 - s0)) -ge 1 ] || fail "the flood stored nothing"

note "garbage, truncated and oversized messages (UDP and TCP) are dropped; the registrar goes on"
printf '\x00\x01garbage\r\n\r\n' >"/dev/udp/127.0.0.1/$SIP"
printf 'REGISTER sip:overlay.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n\r\n' \
	>"/dev/udp/127.0.0.1/$SIP"
head -c 60000 /dev/zero | tr '\0' 'A' | sed '1s/^/REGISTER sip:x SIP\/2.0\r\nTo: /' \
	>"/dev/udp/127.0.0.1/$SIP" 2>/dev/null
{ printf 'REGISTER sip:overlay.example SIP/2.0\r\nContent-Length: 200000\r\n\r\n'
	head -c 200000 /dev/zero | tr '\0' 'B'; } >"/dev/tcp/127.0.0.1/$SIP" 2>/dev/null
register alice 120 u1 200 || fail "registrar stopped answering after garbage"
kill -0 "${ON_PID[on]}" || fail "ordinarynode died"

note "un-REGISTER removes the binding and the record"
register bob 0 u1 200 "$BOB_PORT" || fail "un-REGISTER bob: $(tail -n 5 "$T/sipp.out")"
poll 5 no_record bob || fail "bob's record is still there: $(record bob)"

note "kill -9 of the node's super node: alice's record is published again"
victim=""
for n in sn1 sn2 sn3; do
	[ "$(snode_status "$n" | jq -r .node_id)" = "$sn_id" ] && victim=$n
done
[ -n "$victim" ] || fail "the node's super node is not one of ours"
[ "$victim" = sn3 ] && RECORD_VIA=sn2 || RECORD_VIA=sn3
stop_pid "${SN_PID[$victim]}" KILL
# True once alice's record, read through $RECORD_VIA (left in $d), names another super node.
record_moved() {
	local new
	d=$(record alice "$RECORD_VIA")
	new=$(jq -r '.sn // ""' <<<"${d:-{\}}" 2>/dev/null)
	[ -n "$new" ] && [ "$new" != "$sn_id" ]
}
poll 10 record_moved || fail "alice's record still points at the dead super node: $d"

stop_pid "${ON_PID[on]}" TERM || fail "ordinarynode did not stop cleanly"
vg_check
echo ok
