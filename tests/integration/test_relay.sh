#!/usr/bin/env bash
# The super node's media relay, driven over a client link (p2psip raw) with
# udpx as the two phones: streams are allocated from [relay] ports, RTP and
# RTCP go both ways through a stream and each side hears the relay's own
# port (symmetric RTP); a stranger who sprays both ports first takes
# nothing over (the near side latches only onto the node's own address, the
# far side only onto the address relay_use names); a flood at a stream does
# not stop another stream; limits per node and per super node hold; bad
# requests are refused; freed, idle and abandoned streams give their ports
# back; counters in /status and /metrics; service:relay in the DHT. The
# super node runs under valgrind.
. "$(dirname "$0")/../lib.sh"
UDPX=$TOP/build/tests/udpx
[ -x "$UDPX" ] || fail "build first: $UDPX missing"

base=$(free_port)
lo=$(((base / 2) * 2 + 2))
seq "$lo" "$((lo + 39))" >>"$PORTS_FILE" # not handed out to the phones
overlay_start 0
vg_on
snode_up sn1 "[relay]" "ports = $lo-$((lo + 39))" "idle_timeout = 8s" "max_streams = 8" \
	"max_streams_per_node = 4"
VG_DAEMONS=0
cli_user alice
cli_user bob
export SN_ATTACH=sn1
relay() { snode_status sn1 | jq -c .relay; }
streams_are() { snode_has sn1 '.relay.streams == $n' --argjson n "$1"; } # N

lines_at_least() { [ "$(wc -l <"$1")" -ge "$2" ]; } # FILE N
declare -A HOLDS
# hold USER NAME REQUEST...: a link of USER that sends the requests, then
# stays attached; replies in $T/NAME.out.
hold() {
	local who=$1 name=$2
	shift 2
	printf '%s\n' "$@" >"$T/$name.in"
	"$BIN/p2psip" -a "$CA" -k "$T/$who.key" -c "$T/$who.crt" -s "127.0.0.1:${SN_PORT[sn1]}" \
		raw --hold 120 <"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" &
	HOLD_PID=$!
	PIDS+=("$HOLD_PID")
	HOLDS[$who]="${HOLDS[$who]:-} $HOLD_PID"
	poll 10 lines_at_least "$T/$name.out" $# || fail "no replies for $name: $(cat "$T/$name.err")"
}
rtp() { "$UDPX" "$@"; }
recv_of() { sed -n 's/.*recv=\([0-9]*\).*/\1/p' <<<"$1"; }

note "two streams for alice; phones at both ends of stream 1 talk through it"
hold alice a1 '{"t":"relay_alloc","n":2}'
a1=$(head -n 1 "$T/a1.out")
jq -e '.ok and .host == "127.0.0.1" and (.streams | length == 2)' <<<"$a1" >/dev/null || fail "alloc: $a1"
near=$(jq '.streams[0].near' <<<"$a1")
far=$(jq '.streams[0].far' <<<"$a1")
id1=$(jq '.streams[0].id' <<<"$a1")
[ "$near" -ge "$lo" ] && [ "$far" -le $((lo + 39)) ] && [ $((near % 2)) = 0 ] || fail "ports $near $far outside $lo-$((lo + 39)) or odd"
pa=$(free_port)
pb=$(free_port)
rtp --bind "127.0.0.1:$pa" --to "127.0.0.1:$near" --count 150 --rate 100 --wait 1 >"$T/pa" &
ra=$!
rtp --bind "127.0.0.1:$pb" --to "127.0.0.1:$far" --count 150 --rate 100 --wait 1 >"$T/pb"
wait $ra
out_a=$(cat "$T/pa")
out_b=$(cat "$T/pb")
[ "$(recv_of "$out_a")" -ge 130 ] || fail "phone A heard too little: $out_a"
[ "$(recv_of "$out_b")" -ge 130 ] || fail "phone B heard too little: $out_b"
assert_contains "$out_a" "sources=127.0.0.1:$near " "phone A hears the near port only"
assert_contains "$out_b" "sources=127.0.0.1:$far " "phone B hears the far port only"
note "RTCP on the next ports"
rtp --bind "127.0.0.1:$((pa + 1))" --to "127.0.0.1:$((near + 1))" --count 5 --rate 20 --wait 0.5 >/dev/null &
ra=$!
rtp --bind "127.0.0.1:$((pb + 1))" --to "127.0.0.1:$((far + 1))" --count 5 --rate 20 --wait 0.5 >"$T/rtcp_b"
wait $ra
[ "$(recv_of "$(cat "$T/rtcp_b")")" -ge 3 ] || fail "RTCP: $(cat "$T/rtcp_b")"
r=$(relay)
jq -e '.streams == 2 and .active == 1 and .packets >= 260 and .bytes >= 260 * 172' <<<"$r" >/dev/null ||
	fail "counters: $r"

note "hijack: a stranger (127.0.0.2) sprays both ports of stream 2 before the phones speak"
near2=$(jq '.streams[1].near' <<<"$a1")
far2=$(jq '.streams[1].far' <<<"$a1")
id2=$(jq '.streams[1].id' <<<"$a1")
hold alice use2 "{\"t\":\"relay_use\",\"id\":$id2,\"far\":\"127.0.0.1:$pb\"}"
jq -e .ok "$T/use2.out" >/dev/null || fail "relay_use: $(cat "$T/use2.out")"
h0=$(relay | jq .dropped.hijack)
rtp --bind 127.0.0.2:0 --to "127.0.0.1:$near2" --count 200 --rate 1000 --wait 0 >/dev/null
rtp --bind 127.0.0.2:0 --to "127.0.0.1:$far2" --count 200 --rate 1000 --wait 0 >/dev/null
rtp --bind 127.0.0.2:0 --to "127.0.0.1:$near2" --count 100 --rate 100 --wait 2 >"$T/thief" &
th=$!
sleep 0.2
rtp --bind "127.0.0.1:$pa" --to "127.0.0.1:$near2" --count 100 --rate 100 --wait 1 >"$T/pa" &
ra=$!
rtp --bind "127.0.0.1:$pb" --to "127.0.0.1:$far2" --count 100 --rate 100 --wait 1 >"$T/pb"
wait $ra $th
[ "$(recv_of "$(cat "$T/pa")")" -ge 85 ] || fail "phone A after the spray: $(cat "$T/pa")"
[ "$(recv_of "$(cat "$T/pb")")" -ge 85 ] || fail "phone B after the spray: $(cat "$T/pb")"
assert_contains "$(cat "$T/thief")" "recv=0 " "the stranger got nothing"
[ "$(relay | jq .dropped.hijack)" -ge $((h0 + 400)) ] || fail "hijack drops: $(relay)"

note "a flood at stream 1 does not stop stream 2"
rtp --bind 127.0.0.2:0 --to "127.0.0.1:$near" --count 20000 --rate 20000 --size 1000 --wait 0 >/dev/null &
fl=$!
rtp --bind "127.0.0.1:$pa" --to "127.0.0.1:$near2" --count 100 --rate 100 --wait 1 >"$T/pa" &
ra=$!
rtp --bind "127.0.0.1:$pb" --to "127.0.0.1:$far2" --count 100 --rate 100 --wait 1 >"$T/pb"
wait $ra $fl
[ "$(recv_of "$(cat "$T/pa")")" -ge 85 ] || fail "phone A during the flood: $(cat "$T/pa")"
[ "$(recv_of "$(cat "$T/pb")")" -ge 85 ] || fail "phone B during the flood: $(cat "$T/pb")"
head -c 3000 /dev/zero >"/dev/udp/127.0.0.1/$near2" # oversized: counted, dropped
sleep 0.2
[ "$(relay | jq .dropped.too_big)" -ge 1 ] || fail "oversized datagram not counted: $(relay)"

note "limits: 4 streams per node, 8 per super node; bad requests refused"
hold alice free12 "{\"t\":\"relay_free\",\"ids\":[$id1,$id2]}"
[ "$(relay | jq .streams)" = 0 ] || fail "streams left after relay_free: $(relay)"
cli_user carol
hold carol c1 '{"t":"relay_alloc","n":3}' '{"t":"relay_alloc","n":2}' '{"t":"relay_alloc","n":0}' \
	'{"t":"relay_alloc","n":"x"}' '{"t":"relay_use","id":999999,"far":"127.0.0.1:9"}' \
	"{\"t\":\"relay_use\",\"id\":$id1,\"far\":\"127.0.0.1:9\"}" '{"t":"relay_free","ids":"x"}' \
	'{"t":"relay_bogus"}'
carol_pid=$HOLD_PID
jq -s -e '(.[0].ok and (.[0].streams | length == 3)) and (.[1].err == "busy") and
	(.[2].err == "bad_request") and (.[3].err == "bad_request") and (.[4].err == "not_found") and
	(.[5].err == "not_found") and (.[6].ok) and (.[7].err == "bad_request")' "$T/c1.out" >/dev/null ||
	fail "limits and bad requests: $(cat "$T/c1.out")"
c_ids=$(jq -s -c '[.[0].streams[].id]' "$T/c1.out")
hold bob b1 '{"t":"relay_alloc","n":4}' '{"t":"relay_alloc","n":1}'
bob_pid=$HOLD_PID
jq -s -e '(.[0].ok) and (.[1].err == "busy")' "$T/b1.out" >/dev/null || fail "per node limit (bob): $(cat "$T/b1.out")"
hold carol c2 '{"t":"relay_alloc","n":1}' '{"t":"relay_alloc","n":1}'
jq -s -e '(.[0].ok) and (.[1].err == "busy")' "$T/c2.out" >/dev/null ||
	fail "per super node limit: $(cat "$T/c2.out")"
[ "$(relay | jq .streams)" = 8 ] || fail "streams: $(relay)"
b_id=$(jq -s '.[0].streams[0].id' "$T/b1.out")
hold carol cuse "{\"t\":\"relay_use\",\"id\":$b_id,\"far\":\"127.0.0.1:9\"}" "{\"t\":\"relay_free\",\"ids\":[$b_id]}"
jq -s -e '.[0].err == "not_found" and .[1].freed == 0' "$T/cuse.out" >/dev/null ||
	fail "carol used bob's stream: $(cat "$T/cuse.out")"

note "ports come back: freed at once, unused ones with the link, used ones after 8 s idle"
c_first=$(jq '.[0]' <<<"$c_ids")
c_second=$(jq '.[1]' <<<"$c_ids")
hold carol free "{\"t\":\"relay_free\",\"ids\":[$c_first]}"
jq -e '.freed == 1' "$T/free.out" >/dev/null || fail "relay_free: $(cat "$T/free.out")"
[ "$(relay | jq .streams)" = 7 ] || fail "after relay_free: $(relay)"
kill "$bob_pid"
poll 5 streams_are 3 || fail "bob's unused streams stay after his link closed: $(relay)"
hold carol use3 "{\"t\":\"relay_use\",\"id\":$c_second,\"far\":\"127.0.0.1:9\"}"
jq -e '.ok' "$T/use3.out" >/dev/null || fail "relay_use: $(cat "$T/use3.out")"
kill "$carol_pid"
sleep 1
[ "$(relay | jq .streams)" = 3 ] || fail "carol's streams went with one of her two links: $(relay)"
kill ${HOLDS[carol]} 2>/dev/null
poll 5 streams_are 1 || fail "carol's used stream should stay until idle: $(relay)"
poll 10 streams_are 0
r=$(relay)
# alice's two streams are freed by her relay_free, or expire first when the
# steps between took more than 8 s (a loaded machine): count both ways out.
jq -e '.streams == 0 and .expired >= 1 and .expired + .freed >= 4' <<<"$r" >/dev/null ||
	fail "idle stream not released: $r"
scrape "${SN_STATUS[sn1]}"
metrics=$(cat "$T/metrics")
assert_contains "$metrics" "p2psip_sn_relay_packets_total " "relay packets in /metrics"
assert_contains "$metrics" 'p2psip_sn_relay_dropped_total{why="hijack"}' "hijack drops in /metrics"
hold bob b2 '{"t":"relay_alloc","n":4}'
jq -e '.ok and (.streams | length == 4)' "$T/b2.out" >/dev/null || fail "ports not reusable: $(cat "$T/b2.out")"

note "hostile one-way frames (media, relay messages) change nothing"
b_any=$(jq '.streams[0].id' "$T/b2.out")
big=$(head -c 3000 /dev/zero | base64 -w0)
printf '%s\n' '{"t":"media"}' '{"t":"media","id":"x","c":0,"p":"AAAA"}' \
	"{\"t\":\"media\",\"id\":$b_any,\"c\":0,\"p\":\"AAAA\"}" '{"t":"media","id":1,"c":7,"p":"AAAA"}' \
	'{"t":"media","id":1,"c":0,"p":"!!not base64"}' "{\"t\":\"media\",\"id\":1,\"c\":0,\"p\":\"$big\"}" \
	'{"t":"relay_free"}' "{\"t\":\"relay_free\",\"ids\":[$b_any,\"x\",null,-5,1e30]}" '{"t":"relay_use","id":1}' \
	"{\"t\":\"relay_use\",\"id\":$b_any,\"far\":\"1.2.3.4:5\"}" '{"t":"relay_gone","ids":[1]}' \
	'{"t":"relay_alloc","n":3}' '{"t":"relay_nonsense","x":[]}' >"$T/hostile.in"
n0=$(relay | jq .streams)
out=$(CLI_USER=alice p2p raw --oneway <"$T/hostile.in") || fail "raw --oneway: $out"
jq -e '.ok' <<<"$out" >/dev/null || fail "the link did not survive hostile frames: $out"
[ "$(relay | jq .streams)" = "$n0" ] || fail "hostile frames changed the streams: $(relay)"

note "service:relay in the DHT"
poll 10 p2p_has_values service:relay 1
v=$(cat "$T/got.json")
jq -e --arg r "$lo-$((lo + 39))" '.values[0].signer == "sn1" and (.values[0].data | fromjson | .host == "127.0.0.1" and .ports == $r)' \
	<<<"$v" >/dev/null || fail "service:relay: $v"

snode_has sn1 '.state == "joined"' || fail "super node not well"
kill -TERM "${SN_PID[sn1]}"
pid_gone "${SN_PID[sn1]}" 30 || fail "super node did not stop"
vg_check
echo PASS
