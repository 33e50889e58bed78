#!/usr/bin/env bash
# Media through the relays, on loopback: sipp phones set up the calls and
# start udpx as their RTP (from the port in their SDP to the address and
# port in the far end's SDP, 50 packets/s both ways). Nodes whose [media]
# relay is "always" (as if behind a NAT) put their super node's relay in the
# SDP; "never" leaves SDP alone; "tunnel" carries the packets over the
# node's TLS link. Checked: RTP arrives at both ends in every combination,
# each phone sees only relay addresses and ports of the super node the far
# end's node is attached to, the relays count the packets, streams go back
# at BYE and when a call fails, malformed SDP passes unchanged and breaks
# nothing, a re-INVITE with an offer from another port moves the media (the
# relay latches anew), and after the caller's super node is killed the next
# call has media through the new super node's relay.
# on1 runs under valgrind.
. "$(dirname "$0")/../lib.sh"
need sipp
UDPX=$TOP/build/tests/udpx
[ -x "$UDPX" ] || fail "build first: $UDPX missing"

overlay_start 0
r1=$(($(free_port) / 2 * 2))
r2=$(($(free_port) / 2 * 2))
# the relays' ports are not handed out to phones (sipp binds -mp and -mp + 2)
seq "$((r1 - 2))" "$((r1 + 99))" >>"$PORTS_FILE"
seq "$((r2 - 2))" "$((r2 + 99))" >>"$PORTS_FILE"
snode_up sn1 "[relay]" "ports = $r1-$((r1 + 99))"
snode_up sn2 "[relay]" "ports = $r2-$((r2 + 99))"
for u in alice bob carol dave erin; do add_user $u "password of $u"; done
# on_media NAME MODE ACCOUNT SUPERNODE: an ordinary node attached to that
# super node (its bootstrap list is bypassed through the reserve order).
on_media() {
	on_init "$1" "$3"
	printf '\n[media]\nrelay = %s\n' "$2" >>"$T/$1/ordinarynode.conf"
}
on_media on1 always alice
on_media on2 always bob
on_media on3 never carol
on_media on4 never dave
on_media on5 tunnel erin
vg_on
on_start on1
VG_DAEMONS=0
for n in on2 on3 on4 on5; do on_start $n; done
SC=$TOP/tests/sipp

declare -A PH
for u in alice bob carol dave erin; do PH[$u]=$(free_port); done
phone_register on1 alice "${PH[alice]}"
phone_register on2 bob "${PH[bob]}"
phone_register on3 carol "${PH[carol]}"
phone_register on4 dave "${PH[dave]}"
phone_register on5 erin "${PH[erin]}"
sn_of() { on_status "$1" | jq -r .supernode.port; }
relay_range() { # ON: the relay port range of its super node
	local p
	p=$(sn_of "$1")
	for s in sn1 sn2; do
		[ "${SN_PORT[$s]}" = "$p" ] && snode_status $s | jq -r .relay.ports
	done
}
for n in on1 on2 on5; do
	poll 5 on_has $n '.media.pool >= 1' || fail "$n has no relay streams ready: $(on_status $n | jq -c .media)"
done

# media_call NAME CALLER CALLEE ON_CALLER ON_CALLEE: a 5 s call with RTP both ways.
media_call() {
	local name=$1 from=$2 to=$3 onf=$4 ont=$5 pa pb ph
	pa=$(free_port)
	pb=$(free_port)
	(cd "$T" && P2P_UDPX=$UDPX P2P_RTP_IP=127.0.0.1 P2P_RTP_PORT=$pb P2P_RTP_COUNT=150 \
		P2P_RTP_OUT=$T/rtp_${name}_callee exec timeout 60 sipp -sf "$SC/uas_media.xml" -s "$to" \
		-key domain overlay.example -key rtpport "$pb" -i 127.0.0.1 -p "${PH[$to]}" -m 1 \
		-mp "$(free_port)" -nostdin -timeout 40s -timeout_error -trace_err -trace_msg \
		-message_file "$T/sipp_${name}_callee.msg" -error_file "$T/sipp_${name}_callee.err" \
		>"$T/sipp_${name}_callee.out" 2>&1) &
	ph=$!
	sleep 0.3
	P2P_UDPX=$UDPX P2P_RTP_IP=127.0.0.1 P2P_RTP_PORT=$pa P2P_RTP_COUNT=150 \
		P2P_RTP_OUT=$T/rtp_${name}_caller sipp_run "${name}_caller" "$onf" "$SC/uac_media.xml" \
		-s "$to" -key caller "$from" -key rtpport "$pa" -p "$(free_port)" -m 1 \
		-mp "$(free_port)" -trace_msg -message_file "$T/sipp_${name}_caller.msg" ||
		fail "call $name: $(grep -i -m 5 -E 'error|unable|bind|fail' "$T/sipp_${name}_caller.out"; tail -n 20 "$T/sipp_${name}_caller.out")"
	wait "$ph" || fail "callee of $name: $(tail -n 20 "$T/sipp_${name}_callee.out")"
	sleep 1.5 # udpx drains
	for side in caller callee; do
		out=$(cat "$T/rtp_${name}_$side" 2>/dev/null)
		recv=$(sed -n 's/.*recv=\([0-9]*\).*/\1/p' <<<"$out")
		[ "${recv:-0}" -ge 120 ] || fail "$name: the $side heard ${recv:-nothing} of 150 packets: $out"
	done
	note "$name: caller $(cat "$T/rtp_${name}_caller"); callee $(cat "$T/rtp_${name}_callee")"
}
# sdp_seen NAME SIDE: the c= and m= the phone got (from its message trace)
sdp_seen() {
	grep -E '^(c=IN|m=audio)' "$T/sipp_$1_$2.msg" | tr -d '\r' | sort -u | tr '\n' ' '
}
in_range() { # PORT LOW-HIGH
	[ "$1" -ge "${2%-*}" ] && [ "$1" -le "${2#*-}" ]
}

note "alice (relay always) -> bob (relay always): two relays"
media_call rr alice bob on1 on2
seen_a=$(sdp_seen rr caller)
seen_b=$(sdp_seen rr callee)
pa_m=$(grep -o 'm=audio [0-9]*' "$T/sipp_rr_caller.msg" | tail -n 1 | cut -d' ' -f2)
pb_m=$(grep -o 'm=audio [0-9]*' "$T/sipp_rr_callee.msg" | head -n 1 | cut -d' ' -f2)
in_range "$pa_m" "$(relay_range on1)" || fail "alice was told port $pa_m, not her relay's ($(relay_range on1)): $seen_a"
in_range "$pb_m" "$(relay_range on2)" || fail "bob was told port $pb_m, not his relay's ($(relay_range on2)): $seen_b"
# two relays, each forwarding both directions: about 4 x 150 packets
total=$(($(snode_status sn1 | jq .relay.packets) + $(snode_status sn2 | jq .relay.packets)))
[ "$total" -ge 500 ] || fail "the relays forwarded $total packets (expected about 600)"
for n in on1 on2; do
	poll 3 on_has $n '.media.calls == 0' || fail "$n keeps the call's media after BYE: $(on_status $n | jq -c .media)"
done

note "carol (never) -> dave (never): SDP untouched, media direct"
p0=$(($(snode_status sn1 | jq .relay.packets) + $(snode_status sn2 | jq .relay.packets)))
media_call nn carol dave on3 on4
[ "$(on_status on3 | jq .media.relayed)" = 0 ] && [ "$(on_status on4 | jq .media.relayed)" = 0 ] ||
	fail "a node with relay = never relayed"
p1=$(($(snode_status sn1 | jq .relay.packets) + $(snode_status sn2 | jq .relay.packets)))
[ $((p1 - p0)) -lt 10 ] || fail "direct call went through a relay ($((p1 - p0)) packets)"

note "alice (always) -> dave (never): one relay, dave sends to alice's relay"
media_call rn alice dave on1 on4
pd_m=$(grep -o 'm=audio [0-9]*' "$T/sipp_rn_callee.msg" | head -n 1 | cut -d' ' -f2)
in_range "$pd_m" "$(relay_range on1)" || fail "dave was told port $pd_m, not alice's relay ($(relay_range on1))"

note "erin (tunnel: no UDP out) -> bob (always): erin's media over her TLS link"
media_call tr erin bob on5 on2
m=$(on_status on5 | jq -c .media)
jq -e '.tunnelled_in >= 100 and .tunnelled_out >= 100' <<<"$m" >/dev/null || fail "tunnel counters: $m"
pe_m=$(grep -o 'm=audio [0-9]*' "$T/sipp_tr_caller.msg" | tail -n 1 | cut -d' ' -f2)
in_range "$pe_m" "$(relay_range on5)" && fail "erin was told a relay port ($pe_m) although she tunnels"

# phone NAME SCENARIO USER: a phone of USER waiting for one call; pid in PHONE.
phone() {
	(cd "$T" && exec timeout 60 sipp -sf "$2" -s "$3" -key domain overlay.example -i 127.0.0.1 \
		-p "${PH[$3]}" -m 1 -mp "$(free_port)" -nostdin -timeout 40s -timeout_error \
		>"$T/sipp_$1.out" 2>&1) &
	PHONE=$!
	sleep 0.3
}

note "a call that fails (486) gives its streams back"
before=$(on_status on1 | jq .media.relayed)
phone rej "$SC/uas_reject.xml" bob
# the failing INVITE (both: the challenged one and the authenticated one) with an offer
awk '/INVITE sip:/ {inv=1} /Content-Length: 0/ && inv {print "      Content-Type: application/sdp"; print "      Content-Length: [len]"; print ""; print "      v=0"; print "      o=u 1 1 IN IP4 [media_ip]"; print "      s=-"; print "      c=IN IP4 [media_ip]"; print "      t=0 0"; print "      m=audio 20000 RTP/AVP 0"; inv=0; next} {print}' \
	"$SC/uac_fail.xml" >"$T/uac_fail_sdp.xml"
sipp_run rej_caller on1 "$T/uac_fail_sdp.xml" -s bob -key caller alice -p "$(free_port)" -m 1 ||
	fail "486 call: $(tail -n 20 "$T/sipp_rej_caller.out")"
wait "$PHONE" || fail "rejecting phone: $(tail -n 20 "$T/sipp_rej.out")"
[ "$(on_status on1 | jq .media.relayed)" -gt "$before" ] || fail "the failed call took no stream"
poll 3 on_has on1 '.media.calls == 0' || fail "failed call keeps its media: $(on_status on1 | jq -c .media)"

note "malformed SDP passes unchanged; the next call works"
sed 's|m=audio \[media_port\] RTP/AVP 0|m=audio sixty RTP/AVP 0|' "$SC/uac.xml" >"$T/uac_badsdp.xml"
grep -q 'm=audio sixty' "$T/uac_badsdp.xml" || fail "test bug: no bad SDP"
phone badsdp_callee "$SC/uas.xml" bob
bad0=$(on_status on1 | jq .media.sdp_bad)
sipp_run badsdp on1 "$T/uac_badsdp.xml" -s bob -key caller alice -p "$(free_port)" -m 1 -mp "$(free_port)" ||
	fail "call with malformed SDP: $(tail -n 20 "$T/sipp_badsdp.out")"
wait "$PHONE" || fail "callee of the malformed SDP call: $(tail -n 20 "$T/sipp_badsdp_callee.out")"
[ "$(on_status on1 | jq .media.sdp_bad)" -gt "$bad0" ] || fail "malformed SDP not counted: $(on_status on1 | jq -c .media)"
media_call rr2 alice bob on1 on2

note "re-INVITE: alice's phone offers again from another port; media follows"
pa=$(free_port)
pa2=$(free_port)
pb=$(free_port)
(cd "$T" && P2P_UDPX=$UDPX P2P_RTP_IP=127.0.0.1 P2P_RTP_PORT=$pb P2P_RTP_COUNT=350 \
	P2P_RTP_OUT=$T/rtp_re_callee exec timeout 60 sipp -sf "$SC/uas_media_reinvite.xml" -s bob \
	-key domain overlay.example -key rtpport "$pb" -i 127.0.0.1 -p "${PH[bob]}" -m 1 \
	-mp "$(free_port)" -nostdin -timeout 40s -timeout_error >"$T/sipp_re_callee.out" 2>&1) &
ph=$!
sleep 0.3
P2P_UDPX=$UDPX P2P_RTP_IP=127.0.0.1 P2P_RTP_PORT=$pa P2P_RTP_COUNT=100 P2P_RTP_OUT=$T/rtp_re_caller \
	P2P_RTP_PORT2=$pa2 P2P_RTP_COUNT2=150 P2P_RTP_OUT2=$T/rtp_re_caller2 \
	sipp_run re_caller on1 "$SC/uac_media_reinvite.xml" -s bob -key caller alice -key rtpport "$pa" \
	-key rtpport2 "$pa2" -p "$(free_port)" -m 1 -mp "$(free_port)" ||
	fail "re-INVITE call: $(tail -n 20 "$T/sipp_re_caller.out")"
wait "$ph" || fail "callee of the re-INVITE call: $(tail -n 20 "$T/sipp_re_callee.out")"
sleep 1.5
r2=$(sed -n 's/.*recv=\([0-9]*\).*/\1/p' "$T/rtp_re_caller2")
rb=$(sed -n 's/.*recv=\([0-9]*\).*/\1/p' "$T/rtp_re_callee")
[ "${r2:-0}" -ge 110 ] || fail "after the re-INVITE alice's new port heard ${r2:-nothing}: $(cat "$T/rtp_re_caller2")"
[ "${rb:-0}" -ge 200 ] || fail "bob heard ${rb:-nothing} of alice's 250 packets: $(cat "$T/rtp_re_callee")"
note "re-INVITE: alice's second port heard $r2 packets in its 4 s, bob heard $rb of 250"

note "the super node of alice's node is killed: she moves, and the next call has media"
old=$(sn_of on1)
for s in sn1 sn2; do [ "${SN_PORT[$s]}" = "$old" ] && victim=$s; done
kill -9 "${SN_PID[$victim]}"
poll 30 on_has on1 '.state == "attached" and .supernode.port != $old and .media.pool >= 1' --argjson old "$old"
[ "$(on_status on1 | jq .media.pool)" -ge 1 ] || fail "alice's node has no relay after the move: $(on_status on1 | jq -c '{state, supernode, media}')"
poll 30 on_has on2 '.state == "attached" and .media.pool >= 1'
sleep 1 # the records name the new super node
media_call moved alice bob on1 on2

on_has on1 '.state == "attached"' || fail "on1 not well"
kill -TERM "${ON_PID[on1]}"
pid_gone "${ON_PID[on1]}" 30 || fail "on1 did not stop"
vg_check
echo PASS
