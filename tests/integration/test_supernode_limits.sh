#!/usr/bin/env bash
# The super node's limits against hostile overlay members: a client's
# sn_addr never makes it connect to a host the ring does not know; a rogue
# super node's copies pass the store limits and its sync of a range that is
# not its own is refused; connections that never start TLS do not lock real
# nodes out; a flood of messages from one node is capped while the
# recipient stays attached and gets everyone else's.
. "$(dirname "$0")/../lib.sh"
need python3

overlay_start 0 "[timers]" "heartbeat_interval = 1s" "stabilize_interval = 1s" \
	"[limits]" "record_value_max = 256" "values_per_resource = 2" "records_per_user = 2" \
	"record_lifetime_max = 1h"
vg_on
snode_up sn1 "log_level = debug" "[limits]" "max_links = 16" "max_links_per_addr = 8" \
	"send_rate = 5" "deliver_rate = 5" "deliver_bytes = 131072"
VG_DAEMONS=0
snode_up sn2
cli_user alice
cli_user bob
cli_user carol
SN_ATTACH=sn1 ring_wait sn1 2 30
sn_id() { snode_status "$1" | jq -r .node_id; }
node_id() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum |
	cut -c1-32 | tr a-f A-F; }
SN1=$(sn_id sn1)
SN2=$(sn_id sn2)
BOB=$(node_id "$T/bob.crt")

# A TCP listener on loopback that writes a line to $T/heard for each
# connection it gets: where nothing may connect.
lport=$(free_port)
start_bg listener python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
while True:
    c, a = s.accept()
    open(sys.argv[2], "a").write("connection from %s:%d\n" % a); c.close()
' "$lport" "$T/heard"
wait_port "$lport"
: >"$T/heard"
silent() { assert_eq 0 "$(wc -l <"$T/heard")" "connections to the listener ($(cat "$T/heard"))"; }

note "sn_addr naming any HOST:PORT: the super node does not connect there"
send_at() { # SN-ID ADDR: a message to bob through SN-ID, "reached" at ADDR
	jq -nc --arg to "$BOB" --arg sn "$1" --arg a "$2" \
		'{t: "send", to: $to, sn: $sn, sn_addr: $a, body: "x"}' | CLI_USER=alice SN_ATTACH=sn1 p2p raw
}
send_at 00000000000000000000000000000001 "127.0.0.1:$lport" >"$T/r"
assert_contains "$(cat "$T/r")" "no super node with that Node-ID" "unknown super node"
send_at "$SN2" "127.0.0.1:$lport" >"$T/r"
assert_contains "$(cat "$T/r")" "not_attached" "through sn2, named at the listener"
closed=$(free_port)
send_at "$SN2" "127.0.0.1:$closed" >"$T/r"
assert_contains "$(cat "$T/r")" "not_attached" "through sn2, named at a closed port"
sleep 0.5
silent
! grep -q "a neighbour failed" "$T/sn_sn1.log" || fail "a failed direct hop marked sn2 failed"
snode_has sn1 '[.predecessor.id, .successors[].id] | index($s) != null' --arg s "$SN2" ||
	fail "sn2 left sn1's ring: $(snode_status sn1)"

note "a rogue super node's copies pass the limits of a store"
sn_make rogue
rogue_id=$(jq -r .node_id "$T/resp")
[ ${#rogue_id} = 32 ] || fail "no Node-ID for rogue: $(cat "$T/resp")"
# Its hello names the listener as its address: a push to it would show.
hello="{\"t\":\"hello\",\"v\":1,\"node\":{\"id\":\"$rogue_id\",\"host\":\"127.0.0.1\",\"port\":$lport}}"
frame() { # JSON: with its 4-byte length in front
	python3 -c 'import sys, struct; b = sys.argv[1].encode(); sys.stdout.buffer.write(struct.pack(">I", len(b)) + b)' "$1"
}
rogue() { # FRAME-JSON: sent to sn1 as the rogue super node; prints the reply (tid 7)
	(frame "$hello"; frame "$1"; sleep 1) |
		timeout 8 openssl s_client -connect "127.0.0.1:${SN_PORT[sn1]}" -quiet -cert "$T/rogue.crt" \
			-key "$T/rogue.key" -CAfile "$CA" 2>/dev/null | tr -d '\000' | grep -ao '{[^{}]*"tid":7[^{}]*}'
}
for dev in 2 3; do
	echo "password of alice" | "$BIN/p2psip" -b "$BS_URL" -a "$CA" -u alice -k "$T/alice$dev.key" \
		-c "$T/alice$dev.crt" --password-stdin login >/dev/null || fail "login alice device $dev"
done
A=user:alice@overlay.example
p2p sign "$A/big" "$(head -c 300 /dev/zero | tr '\0' x)" >"$T/big.json" || fail "sign"
p2p sign "$A/long" "x" --lifetime 7200 >"$T/long.json" || fail "sign"
for dev in "" 2 3; do CLI_USER=alice$dev p2p sign "$A/multi" "device $dev" >"$T/multi$dev.json"; done
for i in $(seq 1 8); do CLI_USER=carol p2p sign "user:carol@overlay.example/q$i" x >"$T/q$i.json"; done
vals0=$(snode_status sn1 | jq .values)
refused0=$(snode_status sn1 | jq .stats.replicas_refused)
rep=$(jq -c -s '{t: "rep", tid: 7, why: "transfer", vals: .}' "$T/big.json" "$T/long.json" \
	"$T/multi.json" "$T/multi2.json" "$T/multi3.json" "$T"/q?.json)
out=$(rogue "$rep")
# kept: 2 of the 3 values under /multi (values_per_resource), 6 of carol's 8
# (records_per_user 2 times the 3 ranges a node holds with 2 replicas)
jq -e '.kept == 8 and .refused == 5' <<<"$out" >/dev/null || fail "copies: $out"
assert_eq 5 $(($(snode_status sn1 | jq .stats.replicas_refused) - refused0)) "copies refused"
assert_eq 8 $(($(snode_status sn1 | jq .values) - vals0)) "values kept"
for n in big long; do
	[ "$(p2p --json get "$A/$n" | jq '.values | length')" = 0 ] || fail "$n stored by a copy"
done
grep -q "copies refused" "$T/sn_sn1.log" || fail "refused copies not logged"

note "a sync of a range that is not the rogue's own is refused"
out=$(rogue "{\"t\":\"sync\",\"tid\":7,\"from\":\"$SN1\",\"to\":\"$rogue_id\"}")
jq -e '.ok == false and .err == "not_allowed"' <<<"$out" >/dev/null || fail "sync answered: $out"
out=$(rogue "{\"t\":\"sync\",\"tid\":7,\"from\":\"$SN2\",\"to\":\"$SN1\"}")
jq -e '.ok == false and .err == "not_allowed"' <<<"$out" >/dev/null || fail "sync answered: $out"
sleep 0.5
silent
snode_has sn1 '.stats.syncs_refused == 2' || fail "syncs refused: $(snode_status sn1 | jq .stats)"

note "connections that never start TLS do not lock real nodes out"
start_bg silent_tcp python3 -c '
import socket, sys, time
held = []
for i in range(60):
    try:
        held.append(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
    except OSError:
        pass
time.sleep(30)
' "${SN_PORT[sn1]}"
silent_pid=$LAST_PID
sleep 1
CLI_USER=bob SN_ATTACH=sn1 p2p --timeout 5 ping >/dev/null || fail "not served while 60 connections stay silent"
kill "$silent_pid" 2>/dev/null
wait "$silent_pid" 2>/dev/null

note "a flood of messages from one node: capped, the recipient stays attached"
CLI_USER=bob SN_ATTACH=sn1 p2p --json listen >"$T/bob.out" 2>"$T/bob.err" &
bob_pid=$!
poll 5 snode_has sn1 '.clients >= 1' || fail "bob not attached"
flood() { # SN: 60 messages of 60 kB from alice attached to SN, replies counted by error
	jq -nc --arg to "$BOB" --arg sn "$SN1" --arg b "$(head -c 60000 /dev/zero | tr '\0' m)" \
		'{t: "send", to: $to, sn: $sn, body: $b}' |
		CLI_USER=alice SN_ATTACH=$1 p2p raw --repeat 60 --timeout 30 >"$T/flood_$1"
}
flood sn2
busy=$(grep -c '"err":"busy"' "$T/flood_sn2")
[ "$busy" -ge 30 ] || fail "recipient's super node: only $busy of 60 answered busy"
assert_contains "$(cat "$T/flood_sn2")" "too many messages from that node" "limit at the recipient's"
flood sn1
assert_contains "$(cat "$T/flood_sn1")" "too many messages: at most 5 a second" "limit at the sender's"
CLI_USER=carol SN_ATTACH=sn2 p2p send "$BOB" "from carol" --via "$SN1" >/dev/null ||
	fail "carol's message refused during the flood"
wait_until 10 "bob did not get carol's message" grep -q '"body":"from carol"' "$T/bob.out"
kill -0 "$bob_pid" 2>/dev/null || fail "bob's link closed: $(cat "$T/bob.err")"
got=$(grep -c '"body":"mmm' "$T/bob.out")
[ "$got" -le 30 ] || fail "bob got $got of the 120 flooded messages"
snode_has sn1 '.stats.delivers_refused >= 60' || fail "delivers refused: $(snode_status sn1 | jq .stats)"
kill "$bob_pid" 2>/dev/null
wait "$bob_pid" 2>/dev/null
silent

note "the super node under valgrind is clean and still serves"
CLI_USER=carol SN_ATTACH=sn1 p2p ping >/dev/null || fail "sn1 no longer serves"
stop_pid "${SN_PID[sn1]}" TERM || fail "sn1 exit status $? (valgrind error?)"
vg_check
echo ok
