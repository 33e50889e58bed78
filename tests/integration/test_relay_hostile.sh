#!/usr/bin/env bash
# The media relay is no open proxy (issue 13). An overlay user plays the
# attacker over its client link (p2psip raw) and with udpx as its "phone":
# * sn1 has no [relay] allow_networks: relay_use aiming a stream (UDP or
#   tunnelled) at 127.0.0.1, ::ffff:127.0.0.1, 0.0.0.0, multicast or the
#   super node's own interface address is refused (not_allowed, counted),
#   one-way too, and python listeners there hear nothing of what the
#   "phone" and the tunnel's media frames then send; the relay's own ports
#   on its own address stay usable (both ends of a call relaying here).
# * per account, not per certificate: a second certificate of the same
#   account cannot go beyond max_streams_per_account; another user can.
# * sn2 allows 127.0.0.0/8 (a lab): towards a far end that never answers,
#   at most 500 packets (RELAY_BLIND_MAX) arrive, the rest are counted as
#   unlatched; likewise towards the node's own phone named by relay_use
#   "near" (the near side's target before the phone speaks, for a DTLS
#   server); once it speaks, media flows. A flood above max_packet_rate
#   (default 500/s) is cut to about that and counted.
# The super nodes stay joined and keep serving. sn1 runs under valgrind.
. "$(dirname "$0")/../lib.sh"
UDPX=$TOP/build/tests/udpx
[ -x "$UDPX" ] || fail "build first: $UDPX missing"

relay_ports() { # the first of 40 relay ports, kept from the phones
	local b
	b=$(free_port)
	b=$(((b / 2) * 2 + 2))
	seq "$b" "$((b + 39))" >>"$PORTS_FILE"
	echo "$b"
}
lo1=$(relay_ports)
lo2=$(relay_ports)
overlay_start 0
vg_on
SN_RELAY_ALLOW='' snode_up sn1 "[relay]" "ports = $lo1-$((lo1 + 39))" "max_streams_per_account = 4"
VG_DAEMONS=0
snode_up sn2 "[relay]" "ports = $lo2-$((lo2 + 39))"
cli_user alice
cli_user bob
# alice's second certificate (a second Node-ID of the same account)
echo "password of alice" | "$BIN/p2psip" -b "$BS_URL" -a "$CA" -u alice -k "$T/alice2.key" \
	-c "$T/alice2.crt" --password-stdin login >/dev/null || fail "second login of alice"
relay() { snode_status "$1" | jq -c .relay; }
lines_at_least() { [ "$(wc -l <"$1")" -ge "$2" ]; }
recv_of() { sed -n 's/.*recv=\([0-9]*\).*/\1/p' <<<"$1"; }

# hold SN CERT NAME REQUEST...: a link of CERT to SN that sends the requests
# and stays attached; replies in $T/NAME.out.
hold() {
	local sn=$1 who=$2 name=$3
	shift 3
	printf '%s\n' "$@" >"$T/$name.in"
	"$BIN/p2psip" -a "$CA" -k "$T/$who.key" -c "$T/$who.crt" -s "127.0.0.1:${SN_PORT[$sn]}" \
		raw --hold 120 <"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" &
	PIDS+=($!)
	poll 10 lines_at_least "$T/$name.out" $# || fail "no replies for $name: $(cat "$T/$name.err")"
}
# oneway SN CERT FRAME...: one-way frames over a link of CERT.
oneway() {
	local sn=$1 who=$2
	shift 2
	printf '%s\n' "$@" | "$BIN/p2psip" -a "$CA" -k "$T/$who.key" -c "$T/$who.crt" \
		-s "127.0.0.1:${SN_PORT[$sn]}" raw --oneway | jq -e .ok >/dev/null || fail "oneway link"
}

# A UDP listener: counts what arrives in $T/NAME.count; its port in
# $T/NAME.port. With "answer", it answers the first datagram (a phone that
# speaks: the relay latches onto it).
cat >"$T/listen.py" <<'PY'
import socket, sys
bind, name = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind((bind, 0))
open(name + ".count", "w").write("0")
open(name + ".port", "w").write(str(s.getsockname()[1]))
n = 0
while True:
    b, src = s.recvfrom(4096)
    if n == 0 and len(sys.argv) > 3:
        s.sendto(b, src)
    n += 1
    open(name + ".count", "w").write(str(n))
PY
listen() { # NAME BIND [answer]
	python3 "$T/listen.py" "$2" "$T/$1" ${3:+"$3"} &
	PIDS+=($!)
	poll 5 test -s "$T/$1.port" || fail "listener $1 did not start"
}
heard() { cat "$T/$1.count"; }

note "sn1 (no allow_networks): relay_use at loopback, multicast, 0.0.0.0, its own address refused"
own=$(ip -4 -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -n 1)
listen lo 127.0.0.1
listen any 0.0.0.0
L=$(cat "$T/lo.port")
A=$(cat "$T/any.port")
hold sn1 alice a1 '{"t":"relay_alloc","n":1}' '{"t":"relay_alloc","n":1,"tunnel":true}'
udp=$(jq -s '.[0].streams[0].id' "$T/a1.out")
near=$(jq -s '.[0].streams[0].near' "$T/a1.out")
tun=$(jq -s '.[1].streams[0].id' "$T/a1.out")
[ "$udp" != null ] && [ "$tun" != null ] || fail "relay_alloc: $(cat "$T/a1.out")"
uses=("{\"t\":\"relay_use\",\"id\":$udp,\"far\":\"127.0.0.1:$L\"}"
	"{\"t\":\"relay_use\",\"id\":$tun,\"far\":\"127.0.0.1:$L\"}"
	"{\"t\":\"relay_use\",\"id\":$udp,\"far\":\"198.51.100.7:9\",\"far_rtcp\":\"127.0.0.1:$L\"}"
	"{\"t\":\"relay_use\",\"id\":$udp,\"far\":\"[::ffff:127.0.0.1]:$L\"}"
	"{\"t\":\"relay_use\",\"id\":$udp,\"far\":\"0.0.0.0:$A\"}"
	"{\"t\":\"relay_use\",\"id\":$udp,\"far\":\"224.0.0.1:$A\"}"
	"{\"t\":\"relay_use\",\"id\":$udp,\"far\":\"169.254.1.1:$A\"}")
[ -n "$own" ] && uses+=("{\"t\":\"relay_use\",\"id\":$udp,\"far\":\"$own:$A\"}")
hold sn1 alice u1 "${uses[@]}"
n=${#uses[@]}
jq -s -e --argjson n "$n" 'length == $n and all(.err == "not_allowed")' "$T/u1.out" >/dev/null ||
	fail "relay_use to forbidden places: $(cat "$T/u1.out")"
assert_contains "$(cat "$T/u1.out")" "loopback" "the refusal says why"
[ -z "$own" ] || assert_contains "$(cat "$T/u1.out")" "own address" "own address refused"
[ -z "$own" ] && echo "   (no global IPv4 address here: own-address case left out)"
jq -e --argjson n "$n" '.forbidden == $n' <<<"$(relay sn1)" >/dev/null || fail "forbidden not counted: $(relay sn1)"
grep -q "relay_use of alice .* refused" "$T/sn_sn1.log" || fail "no log line for the refusal"

note "one-way relay_use, then the phone and the tunnel send: nothing reaches the listeners"
big=$(head -c 160 /dev/zero | base64 -w0)
frames=("{\"t\":\"relay_use\",\"id\":$udp,\"far\":\"127.0.0.1:$L\"}"
	"{\"t\":\"relay_use\",\"id\":$tun,\"far\":\"127.0.0.1:$L\"}")
for _ in $(seq 1 50); do frames+=("{\"t\":\"media\",\"id\":$tun,\"c\":0,\"p\":\"$big\"}"); done
oneway sn1 alice "${frames[@]}"
"$UDPX" --bind "127.0.0.1:$(free_port)" --to "127.0.0.1:$near" --count 100 --rate 200 --wait 0.5 >/dev/null
jq -e --argjson n "$((n + 2))" '.forbidden == $n and .dropped.no_peer >= 140' <<<"$(relay sn1)" \
	>/dev/null || fail "one-way relay_use or drops not counted: $(relay sn1)"
sleep 0.3
assert_eq 0 "$(heard lo)" "datagrams at 127.0.0.1:$L"
assert_eq 0 "$(heard any)" "datagrams at 0.0.0.0:$A"

note "the relay's own ports on its own address stay usable"
if [ -n "$own" ]; then
	hold sn1 alice u2 "{\"t\":\"relay_use\",\"id\":$tun,\"far\":\"$own:$lo1\"}"
	jq -e .ok "$T/u2.out" >/dev/null || fail "relay_use to the relay's own port: $(cat "$T/u2.out")"
fi

note "per account: alice's second certificate cannot go beyond 4 streams; bob can"
hold sn1 alice2 b1 '{"t":"relay_alloc","n":3}' '{"t":"relay_alloc","n":2}' '{"t":"relay_alloc","n":1}'
jq -s -e '(.[0].err == "busy") and (.[0].msg | test("per account")) and (.[1].streams | length == 2)
	and (.[2].err == "busy")' "$T/b1.out" >/dev/null || fail "per-account limit: $(cat "$T/b1.out")"
hold sn1 bob b2 '{"t":"relay_alloc","n":4}'
jq -e '.streams | length == 4' "$T/b2.out" >/dev/null || fail "bob was not served: $(cat "$T/b2.out")"

note "sn2 (allows 127.0.0.0/8): at most 500 packets towards a far end that never spoke"
listen silent 127.0.0.1
S=$(cat "$T/silent.port")
hold sn2 alice c1 '{"t":"relay_alloc","n":2}'
s1=$(jq '.streams[0].id' "$T/c1.out")
n1=$(jq '.streams[0].near' "$T/c1.out")
s2=$(jq '.streams[1].id' "$T/c1.out")
n2=$(jq '.streams[1].near' "$T/c1.out")
hold sn2 alice c2 "{\"t\":\"relay_use\",\"id\":$s1,\"far\":\"127.0.0.1:$S\"}"
jq -e .ok "$T/c2.out" >/dev/null || fail "relay_use in an allowed network: $(cat "$T/c2.out")"
pa=$(free_port)
"$UDPX" --bind "127.0.0.1:$pa" --to "127.0.0.1:$n1" --count 800 --rate 400 --wait 0.5 >/dev/null
got=$(heard silent)
[ "$got" -ge 450 ] && [ "$got" -le 500 ] || fail "a silent far end got $got packets (want 450-500)"
jq -e '.dropped.unlatched >= 250' <<<"$(relay sn2)" >/dev/null || fail "unlatched drops: $(relay sn2)"
echo "   the silent far end got $got of 800"

note "sn2: relay_use near (the node's phone): at most 500 packets towards a phone that never speaks"
listen mute 127.0.0.1
M=$(cat "$T/mute.port")
hold sn2 alice c4 '{"t":"relay_alloc","n":1}'
s4=$(jq '.streams[0].id' "$T/c4.out")
f4=$(jq '.streams[0].far' "$T/c4.out")
hold sn2 alice c5 "{\"t\":\"relay_use\",\"id\":$s4,\"near\":\"127.0.0.1:$M\"}"
jq -e .ok "$T/c5.out" >/dev/null || fail "relay_use near: $(cat "$T/c5.out")"
u0=$(relay sn2 | jq .dropped.unlatched)
"$UDPX" --bind "127.0.0.1:$(free_port)" --to "127.0.0.1:$f4" --count 800 --rate 400 --wait 0.5 >/dev/null
got=$(heard mute)
[ "$got" -ge 450 ] && [ "$got" -le 500 ] || fail "a phone that never spoke got $got packets (want 450-500)"
[ $(($(relay sn2 | jq .dropped.unlatched) - u0)) -ge 250 ] || fail "unlatched drops: $(relay sn2)"
echo "   the silent phone got $got of 800"

note "sn2: a flood above max_packet_rate (500/s) is cut and counted; media flows after a latch"
listen talker 127.0.0.1 answer
T2=$(cat "$T/talker.port")
hold sn2 alice c3 "{\"t\":\"relay_use\",\"id\":$s2,\"far\":\"127.0.0.1:$T2\"}"
r0=$(relay sn2 | jq .dropped.rate)
t0=$(date +%s%N)
"$UDPX" --bind "127.0.0.1:$((pa + 2))" --to "127.0.0.1:$n2" --count 4000 --rate 4000 >/dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
sleep 0.3
got=$(heard talker)
r1=$(relay sn2 | jq .dropped.rate)
echo "   the far end got $got of 4000 sent in $ms ms; $((r1 - r0)) dropped for the rate"
# a second's worth at once, then 500/s (with room for a slow machine)
[ "$got" -ge 400 ] && [ "$got" -le $((550 + 600 * ms / 1000)) ] ||
	fail "the flood: $got packets went through in $ms ms"
[ $((r1 - r0)) -ge $((4000 - got - 500)) ] || fail "rate drops not counted: $(relay sn2)"
"$UDPX" --bind "127.0.0.1:$((pa + 2))" --to "127.0.0.1:$n2" --count 100 --rate 100 >/dev/null
sleep 0.3
[ "$(heard talker)" -ge $((got + 90)) ] || fail "media after the flood: $(heard talker) (was $got)"

snode_has sn1 '.state == "joined"' && snode_has sn2 '.state == "joined"' || fail "a super node is not well"
scrape "${SN_STATUS[sn2]}"
assert_contains "$(cat "$T/metrics")" 'p2psip_sn_relay_dropped_total{why="rate"}' "rate drops in /metrics"
assert_contains "$(cat "$T/metrics")" 'p2psip_sn_relay_forbidden_total' "forbidden in /metrics"
stop_pid "${SN_PID[sn1]}" || fail "sn1 exit status $?"
vg_check
echo PASS
