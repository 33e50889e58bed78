#!/usr/bin/env bash
# Bad SIP towards the proxy of the ordinary node, from phones and from the
# overlay: Max-Forwards 0 (483), a loop (482), a Route pointing outside the
# overlay (403), a From that is not an account of the node (403), a foreign
# domain (403), garbage and requests without mandatory headers (no crash),
# SIP text sent by an overlay user that is not SIP, a response nobody asked
# for, a request without the sender's Via (dropped and counted), a
# caller that never ACKs the 200, and a callee's phone that never answers
# (408 at Timer B). A normal call works afterwards, and the
# caller's node (under valgrind) exits cleanly.
. "$(dirname "$0")/../lib.sh"
need sipp

overlay_start 2 "[timers]" "stabilize_interval = 1s"
for u in alice bob dave; do add_user $u "password of $u"; done
cli_user carol
on_init on1 alice
on_init on2 bob dave
vg_on
on_start on1
VG_DAEMONS=0
on_start on2
SC=$TOP/tests/sipp
BOB=$(free_port)
phone_register on2 bob "$BOB"

call() { # NAME ON SCENARIO CALLER CALLEE
	sipp_run "$1" "$2" "$3" -s "$5" -key caller "$4" -p "$(free_port)" -m 1 ||
		fail "$1: $(tail -n 20 "$T/sipp_$1.out"; cat "$T/sipp_$1.err" 2>/dev/null)"
}
# expect NAME CODE SED-EXPR [CALLER CALLEE ON]: uac_fail.xml changed by
# SED-EXPR must get CODE from ON.
expect() {
	sed "s/response=\"486\"/response=\"$2\"/; $3" "$SC/uac_fail.xml" >"$T/$1.xml"
	call "$1" "${6:-on1}" "$T/$1.xml" "${4:-alice}" "${5:-bob}"
}
on1_id=$(on_status on1 | jq -r '.accounts[0].node_id')

note "Max-Forwards 0: 483"
expect mf0 483 's/Max-Forwards: 70/Max-Forwards: 0/'
note "a request that already passed this node: 482"
expect loop 482 "s|^\(      Via: .*\)$|\1\n      Via: SIP/2.0/TLS $on1_id.invalid;branch=z9hG4bKp2p1.0.abcd|"
note "a Route to a host outside the overlay: 403"
expect route 403 's|^      Max-Forwards: 70|      Route: <sip:192.0.2.1;lr>\n      Max-Forwards: 70|'
note "a From that is not an account of this node: 403"
expect from 403 '' bob alice on1
note "a foreign domain: 403"
expect foreign 403 's|INVITE sip:\[service\]@\[domain\]|INVITE sip:[service]@example.org|'

note "garbage and requests without mandatory headers"
sip=${ON_SIP[on1]}
printf 'INVITE sip:bob@overlay.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\nFrom: <sip:alice@overlay.example>;tag=1\r\nTo: <sip:bob@overlay.example>\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n' >"/dev/udp/127.0.0.1/$sip"
printf 'BYE sip:bob@127.0.0.1 SIP/2.0\r\nVia: garbage\r\n\r\n' >"/dev/udp/127.0.0.1/$sip"
head -c 3000 /dev/urandom >"/dev/udp/127.0.0.1/$sip"
printf 'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKp2p77.0.x\r\n\r\n' >"/dev/udp/127.0.0.1/$sip"
{ head -c 5000 /dev/urandom >"/dev/tcp/127.0.0.1/$sip"; } 2>/dev/null
sleep 0.3
[ "$(on_status on1 | jq -r .state)" = attached ] || fail "on1 after garbage: $(on_status on1)"

note "from the overlay: not SIP, a response nobody asked for, no sender Via, unsealed"
on2_id=$(on_status on2 | jq -r '.accounts[0].node_id')
on2_sn=$(on_status on2 | jq -r '.supernode.node_id')
bad0=$(on_status on2 | jq .sip.counters.bad)
stray0=$(on_status on2 | jq .sip.counters.stray)
unsealed0=$(on_status on2 | jq .sip.counters.unsealed)
# sealed by carol for bob's certificate at on2, as carol's node would
send_sealed() {
	CLI_USER=carol p2p send --via "$on2_sn" "$on2_id" \
		"$(CLI_USER=carol p2p seal "$T/on2/state/bob.crt" "$on2_id" "$1")" >/dev/null || fail "send: $1"
}
send_sealed "hello, not SIP"
send_sealed "$(printf 'SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS x.invalid;branch=z9hG4bKp2p1.0.ffff\r\nFrom: <sip:a@overlay.example>;tag=1\r\nTo: <sip:b@overlay.example>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n')"
send_sealed "$(printf 'INVITE sip:bob@overlay.example SIP/2.0\r\nVia: SIP/2.0/TLS someone.else.invalid;branch=z9hG4bKzz\r\nFrom: <sip:carol@overlay.example>;tag=1\r\nTo: <sip:bob@overlay.example>\r\nCall-ID: y\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n')"
# SIP in clear text, as nodes sent it before sealing: refused, however good
CLI_USER=carol p2p send --via "$on2_sn" "$on2_id" "$(printf 'MESSAGE sip:bob@overlay.example SIP/2.0\r\nVia: SIP/2.0/TLS %s.invalid;branch=z9hG4bKp2p9.0.a\r\nFrom: <sip:carol@overlay.example>;tag=1\r\nTo: <sip:bob@overlay.example>\r\nCall-ID: z\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n' "$(CLI_USER=carol p2p --json whoami | jq -r .node_id)")" >/dev/null || fail "send 4"
CLI_USER=carol p2p send --via "$on2_sn" "$on2_id" '{"v":1,"not":"an envelope"}' >/dev/null || fail "send 5"
poll 5 on_has on2 ".sip.counters.unsealed >= $((unsealed0 + 2))" ||
	fail "unsealed SIP not refused: $(on_status on2 | jq -c .sip.counters)"
st=$(on_status on2)
[ "$(jq .sip.counters.bad <<<"$st")" -ge $((bad0 + 2)) ] || fail "bad SIP not counted: $(jq -c .sip.counters <<<"$st")"
[ "$(jq .sip.counters.stray <<<"$st")" -ge $((stray0 + 1)) ] || fail "stray response not counted: $(jq -c .sip.counters <<<"$st")"

note "a caller that never ACKs the 200"
(cd "$T" && exec timeout 30 sipp -sf "$SC/uas.xml" -s bob -key domain overlay.example -i 127.0.0.1 \
	-p "$BOB" -m 1 -nostdin -timeout 8s >"$T/sipp_noack_uas.out" 2>&1) &
uas=$!
sleep 0.3
{ sed -n '1,/<recv response="200"/p' "$SC/uac.xml"; echo '</scenario>'; } >"$T/uac_noack.xml"
sipp_run noack on1 "$T/uac_noack.xml" -s bob -key caller alice -p "$(free_port)" -m 1 ||
	fail "no 200 for the caller that does not ACK: $(tail -n 20 "$T/sipp_noack.out")"
wait "$uas" 2>/dev/null # the callee's phone gives up waiting for the ACK: expected

note "a phone that never answers: 408 after Timer B (32 s)"
DAVE=$(free_port)
phone_register on2 dave "$DAVE"
nc -u -l 127.0.0.1 "$DAVE" >/dev/null 2>&1 & # takes the INVITEs, answers nothing
nc_pid=$!
sleep 1.2
sed 's/response="486"/response="408"/' "$SC/uac_fail.xml" >"$T/uac_408.xml"
t0=$(date +%s)
# shellcheck disable=SC2046
(cd "$T" && timeout 90 sipp "127.0.0.1:${ON_SIP[on1]}" -sf "$T/uac_408.xml" -s dave -key caller alice \
	$(sipp_auth uac.xml -s dave -key caller alice) -key domain overlay.example -i 127.0.0.1 -p "$(free_port)" -m 1 -nostdin -timeout 60s \
	-timeout_error -trace_err -error_file "$T/sipp_408.err" >"$T/sipp_408.out" 2>&1) ||
	fail "no 408 for the silent phone: $(tail -n 20 "$T/sipp_408.out"; cat "$T/sipp_408.err" 2>/dev/null)"
took=$(($(date +%s) - t0))
[ "$took" -ge 30 ] && [ "$took" -le 40 ] || fail "408 after ${took}s, not at Timer B"
{ kill "$nc_pid" && wait "$nc_pid"; } 2>/dev/null

note "a normal call still works"
phone_pid() {
	(cd "$T" && exec timeout 60 sipp -sf "$SC/uas.xml" -s bob -key domain overlay.example \
		-i 127.0.0.1 -p "$BOB" -m 1 -nostdin -timeout 30s -timeout_error >"$T/sipp_final_uas.out" 2>&1) &
	PHONE=$!
	sleep 0.3
}
phone_pid
call final on1 "$SC/uac.xml" alice bob
wait "$PHONE" || fail "callee phone of the final call: $(tail -n 20 "$T/sipp_final_uas.out")"
stop_pid "${ON_PID[on1]}" || fail "on1 exit status $?"
vg_check
echo "calls hostile: all passed"
