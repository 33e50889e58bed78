#!/usr/bin/env bash
# No phone address in the SDP the far phone receives, with the default
# configuration on nodes that are not behind a NAT ([media] relay = auto,
# hide_addresses = yes: every call relayed). Two sipp phones call (INVITE,
# re-INVITE with a new SDP version, INFO, UPDATE, BYE) with SDP that names
# their own media address (127.0.0.77, 127.0.0.88: not the SIP address
# 127.0.0.1) in o=, c=, a=rtcp, ICE candidates, and carries SDES and DTLS
# lines. Checked, in every message each phone received: the other phone's
# address nowhere, no ICE line, c=/o=/a=rtcp name the relay, m= its ports,
# the session id and version as the phone sent them (the version grows with
# the phone's), a=crypto, a=fingerprint and a=setup byte for byte.
. "$(dirname "$0")/../lib.sh"
need sipp

overlay_start 0
r1=$(($(free_port) / 2 * 2))
seq "$((r1 - 2))" "$((r1 + 59))" >>"$PORTS_FILE"
snode_up sn1 "[relay]" "ports = $r1-$((r1 + 59))"
for u in alice bob; do add_user $u "password of $u"; done
on_init on1 alice
on_init on2 bob
on_start on1
on_start on2
for n in on1 on2; do
	poll 10 on_has $n '.media.pool >= 1 and .media.needed and .middlebox.result == "none"' ||
		fail "$n: no relay streams without a NAT: $(on_status $n | jq -c '{media, middlebox}')"
done

CRYPTO='a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32'
FPR='a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF'
# sdp_of SCENARIO OUT ADDR SETUP: the scenario with SDP naming ADDR
# everywhere an address goes, ICE lines, and the key lines.
sdp_of() {
	sed -e "s|^\( *\)c=IN IP\[media_ip_type\] \[media_ip\]|\1c=IN IP4 $3|" \
		-e "s|^\( *\)o=user1 \([0-9]*\) \([0-9]*\) IN IP\[local_ip_type\] \[local_ip\]|\1o=user1 \2 \3 IN IP4 $3|" \
		-e "s#^\( *\)a=rtpmap:0 PCMU/8000#&\n\1a=rtcp:20001 IN IP4 $3\n\1a=candidate:1 1 UDP 2130706431 $3 20000 typ host\n\1a=candidate:2 1 UDP 1694498815 203.0.113.9 20000 typ srflx raddr $3 rport 20000\n\1a=remote-candidates:1 $3 20000\n\1a=ice-ufrag:F7gI\n\1a=ice-pwd:x9cml/YzichV2+XlhiMu8g\n\1$CRYPTO\n\1$FPR\n\1a=setup:$4#" \
		"$TOP/tests/sipp/$1" >"$T/$2"
	grep -q "candidate:1 1 UDP 2130706431 $3" "$T/$2" || fail "test bug: no SDP in $2"
}
sdp_of uac_dialog.xml uac.xml 127.0.0.77 actpass
sdp_of uas_dialog.xml uas.xml 127.0.0.88 active

BOB=$(free_port)
phone_register on2 bob "$BOB"
phone callee "$T/uas.xml" bob "$BOB" -trace_msg -message_file "$T/callee.msg"
p=$PHONE
sleep 1.2 # the record
call caller on1 "$T/uac.xml" alice bob -trace_msg -message_file "$T/caller.msg"
phone_ok callee "$p"

# received FILE: the messages a sipp phone received, from its trace.
received() {
	awk '/^-----/ { r = 0 } /message received/ { r = 1 } r' "$1" | tr -d '\r' | sed 's/^ *//'
}
relay_port() { [ "$1" -ge "$r1" ] && [ "$1" -le $((r1 + 59)) ]; }

# check WHO FILE OTHER-ADDR VERSIONS: what phone WHO received from the other.
check() {
	local who=$1 got other=$3 want_v=$4 l
	got=$(received "$T/$2")
	[ -n "$got" ] || fail "$who received nothing"
	grep -q '^v=0' <<<"$got" || fail "$who received no SDP"
	! grep -F "$other" <<<"$got" || fail "$who received the other phone's address $other"
	! grep -E '^a=(candidate|remote-candidates|ice-|end-of-candidates)' <<<"$got" ||
		fail "$who received ICE lines"
	assert_eq "c=IN IP4 127.0.0.1" "$(grep '^c=' <<<"$got" | sort -u)" "$who: connection lines"
	assert_eq "$want_v" "$(grep '^o=' <<<"$got" | cut -d' ' -f2,3,4,5,6 | uniq | tr '\n' ' ')" \
		"$who: origin lines (session id, version, relay address)"
	for l in $(grep -o '^m=audio [0-9]*' <<<"$got" | cut -d' ' -f2) $(sed -n 's/^a=rtcp:\([0-9]*\) .*/\1/p' <<<"$got"); do
		relay_port "$l" || fail "$who was told port $l, not the relay's ($r1-$((r1 + 59)))"
	done
	grep -q '^a=rtcp:[0-9]* IN IP4 127.0.0.1$' <<<"$got" || fail "$who: a=rtcp: $(grep '^a=rtcp' <<<"$got")"
	for l in "$CRYPTO" "$FPR"; do
		[ "$(grep -cxF "$l" <<<"$got")" = 2 ] || fail "$who: '$l' not received byte for byte in both SDPs"
	done
}
note "bob received alice's offers: INVITE and re-INVITE"
check bob callee.msg 127.0.0.77 "53655765 2353687637 IN IP4 127.0.0.1 53655765 2353687638 IN IP4 127.0.0.1 "
[ "$(received "$T/callee.msg" | grep -cx 'a=setup:actpass')" = 2 ] || fail "bob: a=setup:actpass changed"
note "alice received bob's answers"
check alice caller.msg 127.0.0.88 "53655765 2353687637 IN IP4 127.0.0.1 53655765 2353687638 IN IP4 127.0.0.1 "
[ "$(received "$T/caller.msg" | grep -cx 'a=setup:active')" = 2 ] || fail "alice: a=setup:active changed"
for n in on1 on2; do
	on_has $n '.media.relayed >= 1' || fail "$n relayed nothing: $(on_status $n | jq -c .media)"
	poll 3 on_has $n '.media.calls == 0' || fail "$n keeps the call's streams: $(on_status $n | jq -c .media)"
done
echo PASS
