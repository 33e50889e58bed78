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

logind_init
logind_start
bootstrapd_init "heartbeat_timeout = 4s" "[timers]" "heartbeat_interval = 1s" \
	"stabilize_interval = 1s"
bootstrapd_start
snodes_start 3
add_user alice "password of alice"
add_user bob "password of bob"
cli_user carol

ON_STATUS=$(free_port)
SIP=$(free_port)
cat >"$T/ordinarynode.conf" <<CONF
[ordinarynode]
overlay = overlay.example
bootstrap_url = $BS_URL
ca_cert = $CA
state_dir = $T/on
status_listen = 127.0.0.1:$ON_STATUS
sip_listen = 127.0.0.1:$SIP

[account alice]
password = password of alice

[account bob]
password = password of bob
CONF
on_status() { curl -s --max-time 3 "http://127.0.0.1:$ON_STATUS/status"; }
vg_on
# shellcheck disable=SC2046
start_bg on $(vg_prefix on) "$BIN/ordinarynode" -c "$T/ordinarynode.conf"
ON_PID=$LAST_PID
for _ in $(seq 1 100); do
	[ "$(on_status | jq -r .state 2>/dev/null)" = attached ] && break
	sleep 0.1
done
[ "$(on_status | jq -r .state)" = attached ] || fail "ordinarynode not attached: $(on_status)"

# register USER EXPIRES TRANSPORT(u1|t1) EXPECTED-STATUS [LOCAL-PORT]: the
# contact is sip:USER@127.0.0.1:LOCAL-PORT, so one phone keeps one port.
register() {
	local sf=$T/register_$4.xml
	sed "s|<recv response=\"200\"/>|<recv response=\"$4\"/>|" "$TOP/tests/sipp/register.xml" >"$sf"
	(cd "$T" && timeout 20 sipp "127.0.0.1:$SIP" -sf "$sf" -s "$1" -key domain overlay.example \
		-key expires "$2" -t "$3" -i 127.0.0.1 -p "${5:-$(free_port)}" -m 1 -timeout 10s \
		-timeout_error -nostdin >"$T/sipp.out" 2>&1)
}
# The data of NAME's record as seen by carol through sn3 ("" if none).
record() {
	CLI_USER=carol SN_ATTACH=sn3 p2p --json get "user:$1@overlay.example" 2>/dev/null |
		jq -r '.values[0].data // ""'
}
wait_record() { # USER: waits until the record exists, prints its data
	local d=""
	for _ in $(seq 1 50); do
		d=$(record "$1")
		[ -n "$d" ] && break
		sleep 0.1
	done
	echo "$d"
}

note "REGISTER over UDP: 200, and alice's record in the overlay"
register alice 120 u1 200 || fail "REGISTER alice: $(tail -n 5 "$T/sipp.out")"
d=$(wait_record alice)
[ -n "$d" ] || fail "no record for alice"
alice_id=$(on_status | jq -r '.accounts[0].node_id')
sn_id=$(on_status | jq -r .supernode.node_id)
jq -e --arg n "$alice_id" --arg s "$sn_id" '.node == $n and .sn == $s and .contacts == 1' \
	<<<"$d" >/dev/null || fail "alice's record: $d (node $alice_id, sn $sn_id)"

note "REGISTER for bob, then a second phone of alice over TCP"
BOB_PORT=$(free_port)
register bob 300 u1 200 "$BOB_PORT" || fail "REGISTER bob over TCP: $(tail -n 5 "$T/sipp.out")"
[ -n "$(wait_record bob)" ] || fail "no record for bob"
register alice 300 t1 200 || fail "REGISTER alice over TCP: $(tail -n 5 "$T/sipp.out")"
for _ in $(seq 1 50); do [ "$(record alice | jq .contacts)" = 2 ] && break; sleep 0.1; done
[ "$(record alice | jq .contacts)" = 2 ] || fail "alice's second phone not in her record: $(record alice)"

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
(cd "$T" && timeout 60 sipp "127.0.0.1:$SIP" -sf "$T/register_200.xml" -s alice \
	-key domain overlay.example -key expires 120 -t u1 -i 127.0.0.1 -p "$(free_port)" \
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
kill -0 "$ON_PID" || fail "ordinarynode died"

note "un-REGISTER removes the binding and the record"
register bob 0 u1 200 "$BOB_PORT" || fail "un-REGISTER bob: $(tail -n 5 "$T/sipp.out")"
for _ in $(seq 1 50); do [ -z "$(record bob)" ] && break; sleep 0.1; done
[ -z "$(record bob)" ] || fail "bob's record is still there: $(record bob)"

note "kill -9 of the node's super node: alice's record is published again"
victim=""
for n in sn1 sn2 sn3; do
	[ "$(snode_status "$n" | jq -r .node_id)" = "$sn_id" ] && victim=$n
done
[ -n "$victim" ] || fail "the node's super node is not one of ours"
[ "$victim" = sn3 ] && RECORD_VIA=sn2 || RECORD_VIA=sn3
stop_pid "${SN_PID[$victim]}" KILL
new=""
for _ in $(seq 1 100); do
	d=$(CLI_USER=carol SN_ATTACH=$RECORD_VIA p2p --json get "user:alice@overlay.example" \
		2>/dev/null | jq -r '.values[0].data // ""')
	new=$(jq -r '.sn // ""' <<<"${d:-{\}}" 2>/dev/null)
	[ -n "$new" ] && [ "$new" != "$sn_id" ] && break
	sleep 0.1
done
[ -n "$new" ] && [ "$new" != "$sn_id" ] || fail "alice's record still points at the dead super node: $d"

stop_pid "$ON_PID" TERM || fail "ordinarynode did not stop cleanly"
vg_check
echo ok
