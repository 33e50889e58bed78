#!/usr/bin/env bash
# An ordinary node is no open relay and holds against one noisy sender.
# The attacker is carol, an overlay user with the p2psip client, and a
# program on the node's LAN (python on loopback):
#  - over the overlay, INVITE, MESSAGE, OPTIONS and ACK with a Route naming the
#    victim node (ovl=its Node-ID) and a Request-URI naming a host
#    (sip:x@127.0.0.1:PORT over UDP and TCP): a python listener there hears
#    nothing, the node counts them refused;
#  - a REGISTER over the overlay, to the node's SIP address (the bounce
#    into its own registrar) and plain: refused, the bindings unchanged;
#  - from the phone side, a preloaded Route naming the node and a
#    Request-URI naming a host: 403, the listener hears nothing;
#  - 150 INVITEs from carol's node to an account whose phone never
#    answers: past 100 in progress she gets 503, while bob's node's call to
#    alice goes through (its BYE along the record-routed dialog too);
#  - alice's phone answers with a Contact naming another host: the ACK and
#    BYE still reach her phone (where her 2xx came from), not that host;
#  - during the next call (alice's node tunnels her media over its link), a
#    program at another address sends to the tunnel ports: dropped and
#    counted, and the call's media still flows both ways.
# The victim's node runs under valgrind and must exit cleanly.
. "$(dirname "$0")/../lib.sh"
need sipp python3
UDPX=$TOP/build/tests/udpx
[ -x "$UDPX" ] || fail "build first: $UDPX missing"

overlay_start 0
r1=$(($(free_port) / 2 * 2))
seq "$((r1 - 2))" "$((r1 + 99))" >>"$PORTS_FILE"
# deliver_rate well above the flood below, so that it is the ordinary
# node's own cap that holds here (the super node's is test_supernode_limits').
snode_up sn1 "[relay]" "ports = $r1-$((r1 + 99))" "[limits]" "deliver_rate = 1000"
for u in alice erin bob; do add_user $u "password of $u"; done
cli_user carol
on_init on1 alice erin
printf '\n[media]\nrelay = tunnel\n' >>"$T/on1/ordinarynode.conf"
on_init on2 bob
printf '\n[media]\nrelay = never\n' >>"$T/on2/ordinarynode.conf"
vg_on
on_start on1
VG_DAEMONS=0
on_start on2
SC=$TOP/tests/sipp
ALICE=$(free_port)
BOB=$(free_port)
phone_register on1 alice "$ALICE"
phone_register on2 bob "$BOB"
poll 5 on_has on1 '.media.pool >= 1' || fail "on1 has no tunnel streams ready: $(on_status on1 | jq -c .media)"

# listen IP PORT: a UDP and a TCP socket there; whatever reaches them is
# written to $T/heard.
listen() {
	python3 "$TOP/tests/tools/listener.py" "$1" "$2" "$T/heard" &
	PIDS+=($!)
}
LPORT=$(free_port)
listen 127.0.0.1 "$LPORT"
wait_port "$LPORT"
sleep 0.2
rm -f "$T/heard" # wait_port's own connection
heard() { [ -s "$T/heard" ]; }

on1_id=$(on_status on1 | jq -r '.accounts[0].node_id')
on1_sn=$(on_status on1 | jq -r '.supernode.node_id')
carol_id=$(CLI_USER=carol p2p --json whoami | jq -r .node_id)
[ ${#carol_id} = 32 ] || fail "carol's Node-ID: $carol_id"
n=0
# sip METHOD RURI [EXTRA-HEADERS with \r\n escapes]: request number n as carol's node would
# send it, with a Route naming on1.
sip() {
	printf '%s %s SIP/2.0\r\nVia: SIP/2.0/TLS %s.invalid;branch=z9hG4bKp2p%x.0.a%d\r\nRoute: <sip:127.0.0.1:%s;lr;ovl=%s>\r\nMax-Forwards: 70\r\nFrom: <sip:carol@overlay.example>;tag=c%d\r\nTo: <%s>\r\nCall-ID: relay-%d@carol\r\nCSeq: 1 %s\r\n%bContent-Type: text/plain\r\nContent-Length: 24\r\n\r\nGET / HTTP/1.0\r\nX: y\r\n\r\n' \
		"$1" "$2" "$carol_id" "$n" "$n" "${ON_SIP[on1]}" "$on1_id" "$n" "$2" "$n" "$1" "${3:-}"
}
# seal TEXT: sealed by carol for alice's certificate at on1, as carol's node would
seal() { CLI_USER=carol p2p seal "$T/on1/state/alice.crt" "$on1_id" "$1" || fail "p2p seal: $1"; }
send() { CLI_USER=carol p2p send --via "$on1_sn" "$on1_id" "$(seal "$1")" >/dev/null || fail "p2p send: $1"; }
relay() { # METHOD RURI [EXTRA-HEADERS]: sip ..., sent to on1
	n=$((n + 1))
	send "$(sip "$@")"
}
counter() { on_status "$1" | jq ".sip.counters.$2"; }

note "overlay: Route naming on1, Request-URI naming a host on its loopback"
ref0=$(counter on1 refused)
for m in INVITE MESSAGE OPTIONS ACK; do
	for tp in udp tcp; do relay "$m" "sip:x@127.0.0.1:$LPORT;transport=$tp"; done
done
poll 2 heard && fail "relayed to the listener: $(cat "$T/heard")"
poll 5 on_has on1 ".sip.counters.refused >= $((ref0 + 6))" ||
	fail "on1 did not refuse the relays: $(on_status on1 | jq -c .sip.counters)"

note "overlay: REGISTER to on1's own SIP address (the bounce into its registrar) and plain"
phones0=$(on_status on1 | jq -c '[.sip.phones[] | {account, contact}] | sort')
ref0=$(counter on1 refused)
ct="Contact: <sip:alice@127.0.0.1:$LPORT>\r\nExpires: 3600\r\n"
relay REGISTER "sip:alice@127.0.0.1:${ON_SIP[on1]}" "$ct"
relay REGISTER "sip:127.0.0.1:${ON_SIP[on1]}" "$ct"
relay REGISTER "sip:overlay.example" "$ct"
poll 2 heard && fail "something reached the listener: $(cat "$T/heard")"
phones1=$(on_status on1 | jq -c '[.sip.phones[] | {account, contact}] | sort')
assert_eq "$phones0" "$phones1" "on1's bindings after REGISTER over the overlay"
poll 5 on_has on1 ".sip.counters.refused >= $((ref0 + 3))" ||
	fail "REGISTER over the overlay not refused: $(on_status on1 | jq -c .sip.counters)"

note "phone side: a preloaded Route naming on1, a Request-URI naming a host: not relayed"
answers=$(python3 - "${ON_SIP[on1]}" "$LPORT" "$TOP/tests/tools" "$(sip_pw alice)" <<'PY'
import socket, sys
node, lport, pw = int(sys.argv[1]), int(sys.argv[2]), sys.argv[4]
sys.path.insert(0, sys.argv[3])
import sipdigest
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
me = s.getsockname()[1]
s.settimeout(3)
def message(i, route, tp, auth=""):
    ruri = "sip:x@127.0.0.1:%d;transport=%s" % (lport, tp)
    msg = ("MESSAGE %s SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;rport;branch=z9hG4bKph%d%s\r\n"
           "Route: %s\r\nMax-Forwards: 70\r\n"
           "From: <sip:alice@overlay.example>;tag=p%d\r\nTo: <sip:x@127.0.0.1:%d>\r\n"
           "Call-ID: phone-relay-%d\r\nCSeq: %d MESSAGE\r\n%sContent-Type: text/plain\r\n"
           "Content-Length: 5\r\n\r\nhello" % (ruri, me, i, "a" if auth else "", route, i,
                                                lport, i, 2 if auth else 1, auth))
    s.sendto(msg.encode(), ("127.0.0.1", node))
    try:
        return s.recv(65535).decode(errors="replace")
    except socket.timeout:
        return "no answer"
# alice's own phone, with her password: authenticated, still no relay.
for i, (route, tp) in enumerate([("<sip:127.0.0.1:%d;lr>" % node, "tcp"),
                                 ("<sip:127.0.0.1:%d;lr>" % node, "udp"),
                                 ("<sip:127.0.0.1:%d;lr;ovl=x>" % node, "tcp")]):
    r = message(i, route, tp)
    if r.startswith("SIP/2.0 407"):
        ruri = "sip:x@127.0.0.1:%d;transport=%s" % (lport, tp)
        r = message(i, route, tp, sipdigest.authorization(r, "MESSAGE", ruri, "alice", pw, 1))
    print(r.split("\r\n")[0])
PY
)
poll 2 heard && fail "a phone's request reached the listener: $(cat "$T/heard")"
# our Route is no passport (the ovl=x one: 403); the others are calls to
# another domain, a gateway's business, and this overlay has none (404)
[ "$(grep -c '^SIP/2.0 40[34]' <<<"$answers")" = 3 ] || fail "phone-side relays not refused: $answers"

note "a flood of INVITEs from carol's node to erin, whose phone never answers: capped at 100"
ERIN=$(free_port)
phone_register on1 erin "$ERIN"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    s.recv(65535) # takes the INVITEs, answers nothing
' "$ERIN" &
PIDS+=($!)
busy0=$(counter on1 busy)
for i in $(seq 1 150); do
	body=$(printf 'INVITE sip:erin@overlay.example SIP/2.0\r\nVia: SIP/2.0/TLS %s.invalid;branch=z9hG4bKflood%d\r\nMax-Forwards: 70\r\nFrom: <sip:carol@overlay.example>;tag=f%d\r\nTo: <sip:erin@overlay.example>\r\nCall-ID: flood-%d@carol\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n' \
		"$carol_id" "$i" "$i" "$i")
	jq -nc --arg to "$on1_id" --arg sn "$on1_sn" --arg b "$(seal "$body")" '{t: "send", to: $to, sn: $sn, body: $b}'
done >"$T/flood.json"
CLI_USER=carol p2p raw <"$T/flood.json" >"$T/flood.out" 2>&1 || fail "p2p raw: $(tail -n 3 "$T/flood.out")"
poll 5 on_has on1 ".sip.counters.busy >= $((busy0 + 50))" ||
	fail "the flood was not capped: $(on_status on1 | jq -c .sip)"
on_has on1 '.sip.calls_setting_up <= 100' || fail "more than 100 in progress: $(on_status on1 | jq -c .sip)"
on_has on1 '.state == "attached"' || fail "on1 after the flood: $(on_status on1 | jq -c .state)"

# on1's tunnel ports: the UDP sockets it opened for the call
udp_ports() {
	ss -Hnaup 2>/dev/null | grep "pid=${ON_PID[on1]}," | awk '{print $4}' |
		sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' | sort
}
tunnel_ports() {
	TP=$(comm -13 "$T/udp_before" <(udp_ports) | tr '\n' ' ')
	[ "$(wc -w <<<"$TP")" -ge 2 ] # RTP and RTCP
}
note "a phone-side flood from 127.0.0.3 to erin: capped at 100; 127.0.0.1 still served"
# invites SRC N: N INVITEs for erin from SRC; the first line of each
# answer, sorted and counted (final answers keep coming: read 3 s).
invites() {
	python3 - "$1" "$2" "${ON_SIP[on1]}" "$TOP/tests/tools" "$(sip_pw alice)" <<'PY'
import collections, socket, sys, time
src, n, node, pw = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[5]
sys.path.insert(0, sys.argv[4])
import sipdigest
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
me = s.getsockname()[1]
ruri = "sip:erin@overlay.example"
def invite(i, auth=""):
    s.sendto(("INVITE %s SIP/2.0\r\n"
              "Via: SIP/2.0/UDP %s:%d;rport;branch=z9hG4bKpf%s%d\r\nMax-Forwards: 70\r\n"
              "From: <sip:alice@overlay.example>;tag=pf%d\r\nTo: <sip:erin@overlay.example>\r\n"
              "Call-ID: pflood-%s-%d\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@%s:%d>\r\n"
              "%sContent-Length: 0\r\n\r\n" % (ruri, src, me, src, i, i, src, i, src, me,
                                                 auth)).encode(), ("127.0.0.1", node))
# alice's phone, authenticated: one challenge, then one nonce with a
# growing nonce-count for the whole flood.
s.settimeout(3)
invite(0)
chal = s.recv(65535).decode(errors="replace")
if not chal.startswith("SIP/2.0 407"):
    sys.exit("no challenge: " + chal.split("\r\n")[0])
for i in range(1, n + 1):
    invite(i, sipdigest.authorization(chal, "INVITE", ruri, "alice", pw, i))
seen, branches = collections.Counter(), set()
s.settimeout(0.2)
end = time.time() + 3
while time.time() < end:
    try:
        d = s.recv(65535).decode(errors="replace")
    except socket.timeout:
        continue
    key = (d.split("\r\n")[0], d.split("branch=")[1].split(";")[0].split("\r")[0])
    if key not in branches: # nta sends a 503 again until an ACK
        branches.add(key)
        seen[key[0] + (" Retry-After" if "\nRetry-After: 10" in d else "")] += 1
for k, v in sorted(seen.items()):
    print("%d %s" % (v, k))
PY
}
busy0=$(counter on1 busy)
got=$(invites 127.0.0.3 150)
note "127.0.0.3: $(tr '\n' ';' <<<"$got")"
grep -qx '50 SIP/2.0 503 Too Many Transactions Retry-After' <<<"$got" ||
	fail "the phone-side flood was not capped at 100: $got"
got=$(invites 127.0.0.1 1)
grep -qx '1 SIP/2.0 100 Trying' <<<"$got" || fail "another phone address was refused: $got"
[ $(($(counter on1 busy) - busy0)) = 50 ] || fail "busy: $(on_status on1 | jq -c .sip.counters)"

note "alice's phone answers bob's call with a Contact naming another host: in-dialog requests still reach only her phone"
LPORT2=$(free_port)
listen 127.0.0.2 "$LPORT2"
sed "s|Contact: <sip:\[service\]@\[local_ip\]:\[local_port\];transport=\[transport\]>|Contact: <sip:alice@127.0.0.2:$LPORT2>|" \
	"$SC/uas.xml" >"$T/uas_elsewhere.xml"
grep -q "127.0.0.2:$LPORT2" "$T/uas_elsewhere.xml" || fail "test bug: Contact not changed"
(cd "$T" && exec timeout 30 sipp -sf "$T/uas_elsewhere.xml" -s alice -key domain overlay.example \
	-i 127.0.0.1 -p "$ALICE" -m 1 -nostdin -timeout 15s -timeout_error >"$T/sipp_elsewhere.out" 2>&1) &
ph=$!
sleep 0.3
call elsewhere on2 "$SC/uac.xml" bob alice
wait "$ph" || fail "alice's phone did not get the ACK and BYE: $(tail -n 20 "$T/sipp_elsewhere.out")"
poll 1 heard && fail "in-dialog requests went to the Contact's host: $(cat "$T/heard")"

note "meanwhile bob's node calls alice (media tunnelled at on1); a stranger sprays its tunnel ports"
out0=$(on_status on1 | jq .media.tunnelled_out)
udp_ports >"$T/udp_before"
pa=$(free_port)
pb=$(free_port)
(cd "$T" && P2P_UDPX=$UDPX P2P_RTP_IP=127.0.0.1 P2P_RTP_PORT=$pa P2P_RTP_COUNT=200 \
	P2P_RTP_OUT=$T/rtp_alice exec timeout 60 sipp -sf "$SC/uas_media.xml" -s alice \
	-key domain overlay.example -key rtpport "$pa" -i 127.0.0.1 -p "$ALICE" -m 1 \
	-mp "$(free_port)" -nostdin -timeout 40s -timeout_error >"$T/sipp_alice.out" 2>&1) &
ph=$!
sleep 0.3
P2P_UDPX=$UDPX P2P_RTP_IP=127.0.0.1 P2P_RTP_PORT=$pb P2P_RTP_COUNT=200 P2P_RTP_OUT=$T/rtp_bob \
	sipp_run bob on2 "$SC/uac_media.xml" -s alice -key caller bob -key rtpport "$pb" \
	-p "$(free_port)" -m 1 -mp "$(free_port)" &
caller=$!
poll 10 tunnel_ports || fail "on1 opened no tunnel port: $(ss -Hnaup | grep "pid=${ON_PID[on1]},")"
note "tunnel ports: $TP"
drop0=$(on_status on1 | jq .media.tunnel_foreign_dropped)
# shellcheck disable=SC2086 # one argument per port
python3 - $TP <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.2", 0)) # another host on the node's LAN
for i in range(100):
    for p in sys.argv[1:]:
        s.sendto(b"\x80\x00" + bytes(170), ("127.0.0.1", int(p)))
    time.sleep(0.01)
PY
wait "$caller" || fail "bob's call to alice: $(tail -n 20 "$T/sipp_bob.out")"
wait "$ph" || fail "alice's phone: $(tail -n 20 "$T/sipp_alice.out")"
sleep 1.5 # udpx drains
for side in alice bob; do
	recv=$(sed -n 's/.*recv=\([0-9]*\).*/\1/p' "$T/rtp_$side")
	[ "${recv:-0}" -ge 160 ] || fail "$side heard ${recv:-nothing} of 200 packets: $(cat "$T/rtp_$side")"
done
m=$(on_status on1 | jq -c .media)
# alice's 200 packets went over the link, none of the stranger's
[ $(($(jq .tunnelled_out <<<"$m") - out0)) -le 210 ] || fail "stranger's packets went over the link: $m"
[ "$(jq .tunnel_foreign_dropped <<<"$m")" -ge $((drop0 + 100)) ] || fail "stranger's packets not counted: $m"
note "media: alice $(cat "$T/rtp_alice"); bob $(cat "$T/rtp_bob"); on1 $m"

heard && fail "something reached the listener: $(cat "$T/heard")"
on_has on1 '.state == "attached"' || fail "on1 not well"
stop_pid "${ON_PID[on1]}" || fail "on1 exit status $?"
vg_check
echo "on hostile: all passed"
