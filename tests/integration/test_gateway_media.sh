#!/usr/bin/env bash
# Media of gateway calls through a relay (docs/gateway.md), in a network
# namespace with a DNS server and Kamailio as example.net (tests/foreign.sh).
# Two baresip phones: carol registered at Kamailio (127.0.0.42), alice at
# her ordinary node (127.0.0.1). The gateway attaches to sn1, whose relay
# is 127.0.0.51; alice's node to sn2, relay 127.0.0.52. carol calls
# alice@overlay.example and alice calls carol@example.net; in each call:
#   * RTP both ways, counted at both phones (>= 100 packets each way);
#   * the SDP carol's phone received names only the relay of the gateway's
#     super node (the gateway's side of the SIP world is relayed like a
#     phone's), never alice's address nor her node's relay; the SDP alice's
#     phone received names only her node's relay, never carol's address;
#   * both relays forwarded the call's packets.
# When carol answers, her SDP names a private address (a phone behind a NAT
# that her domain does not fix, as Kamailio here): the gateway's relay
# takes her media from where it comes and answers there.
# The gateway runs under valgrind. GW_MEDIA=never (test of the test): the
# gateway does not relay, and the check of carol's SDP fails.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/baresip.sh"
. "$TOP/tests/foreign.sh"
netns_enter "$@"
need baresip
KAM=127.0.0.40
GW=127.0.0.31
CAROL=127.0.0.42
RELAY1=127.0.0.51 # sn1's relay: the gateway's
RELAY2=127.0.0.52 # sn2's relay: alice's node's

note "DNS: example.net at Kamailio, overlay.example at the gateway"
dns_naptr example.net 10 10 s SIP+D2U _sip._udp.example.net
dns_naptr example.net 20 10 s SIP+D2T _sip._tcp.example.net
dns_srv _sip._udp.example.net sip.example.net 5060 10 10
dns_srv _sip._tcp.example.net sip.example.net 5060 10 10 # (alice's phone dials ;transport=tcp)
dns_a sip.example.net $KAM
dns_naptr overlay.example 10 10 s SIP+D2U _sip._udp.overlay.example
dns_srv _sip._udp.overlay.example gw1.overlay.example 5060 10 10
dns_a gw1.overlay.example $GW
dns_start
# carol's phone behind a NAT when she answers: Kamailio, like such a NAT
# without help, lets her SDP name her private address (10.0.0.42) while
# her packets come from 127.0.0.42.
kam_start example.net $KAM 5060 'onreply_route {' \
	'	if ($tU == "carol" && has_body("application/sdp")) {' \
	'		subst_body("/127[.]0[.]0[.]42/10.0.0.42/g"); xlog("L_INFO", "NAT: carol answers as 10.0.0.42\n");' \
	'	}' '}'
# carol's host sends to the gateway's relay from her own address: baresip
# binds its RTP to no address, and on loopback the kernel would pick
# 127.0.0.1, the address every node's link comes from.
ip route add local $RELAY1/32 dev lo src $CAROL table local || fail "no route to $RELAY1 from $CAROL"

overlay_start 0
add_user alice "password of alice"
add_user gw1 "password of gw1" gateway
# sn_relay NAME IP: a super node whose relay is on IP, announced as IP.
sn_relay() {
	local r=$(($(free_port) / 2 * 2))
	seq "$((r - 2))" "$((r + 39))" >>"$PORTS_FILE"
	snode_up "$1" "[relay]" "listen = $2" "public = $2" "ports = $r-$((r + 39))"
}
sn_relay sn1 $RELAY1
# The gateway, while sn1 is the only super node: it attaches there.
on_init gw1 gw1
sed -i "s/^sip_listen = .*/sip_listen = $GW:5060/" "$T/gw1/ordinarynode.conf"
printf 'role = gateway\n\n[gateway]\nenable = yes\ndomains = *\n' >>"$T/gw1/ordinarynode.conf"
[ -z "${GW_MEDIA:-}" ] || printf '\n[media]\nrelay = %s\n' "$GW_MEDIA" >>"$T/gw1/ordinarynode.conf"
vg_on # the gateway (its media and the Vias of the far side's responses)
on_start gw1
VG_DAEMONS=0
sn_relay sn2 $RELAY2
# alice's node on sn2 (bootstrapd's list is shuffled): tried anew until it is.
on_sn() { on_status "$1" | jq -r .supernode.port; }
for try in 1 2 3 4 5 6 7 8 9 10; do
	ON_DIGEST=MD5 on_init on1 alice
	on_start on1
	[ "$(on_sn on1)" = "${SN_PORT[sn2]}" ] && break
	stop_pid "${ON_PID[on1]}"
	rm -rf "$T/on1/state"
done
assert_eq "${SN_PORT[sn2]}" "$(on_sn on1)" "on1's super node"
assert_eq "${SN_PORT[sn1]}" "$(on_sn gw1)" "gw1's super node"
poll 10 on_has on1 '.media.pool >= 1' || fail "on1 has no relay streams: $(on_status on1 | jq -c .media)"
[ -n "${GW_MEDIA:-}" ] || poll 10 on_has gw1 '.media.pool >= 1' ||
	fail "gw1 has no relay streams: $(on_status gw1 | jq -c .media)"
cli_user dave # an overlay user for the p2psip client
proxies() { CLI_USER=dave p2p_has_values 'proxy:*' 1; }
wait_until 20 "the gateway's proxy-location record is not in the DHT" proxies

note "phones: carol at Kamailio, alice at her node"
BS_IP=$CAROL bs_start carol \
	"<sip:carol@example.net>;outbound=\"sip:$KAM:5060\";auth_pass=pw-carol;answermode=auto;audio_codecs=pcmu;ptime=20;regint=600"
bs_start alice "$(printf '<sip:alice@overlay.example;transport=tcp>;outbound="sip:127.0.0.1:%s;transport=tcp";auth_pass=%s;answermode=auto;audio_codecs=pcmu;ptime=20;regint=600' \
	"${ON_SIP[on1]}" "$(sip_pw alice)")"
bs_wait carol "200 OK" 10
bs_wait alice "200 OK" 10
sleep 1.2 # alice's record (at most one store a second per account)

relayed() { snode_status "$1" | jq .relay.packets; } # SUPERNODE
ended() { [ "$(grep -ac '^packets:' "$T/bs_$1.log")" -ge "$2" ]; } # PHONE N
# addrs PHONE: the connection addresses of every SDP in the phone's SIP
# trace (those it sent and those it received), sorted, on one line.
addrs() { grep -ao '^c=IN IP4 [0-9.]*' "$T/bs_$1.log" | cut -d' ' -f3 | sort -u | tr '\n' ' '; }

# media_call CALLER CALLEE URI K: CALLER calls URI, 3 s of media, hangs up
# (K: the number of this call at each phone).
media_call() {
	local from=$1 to=$2 uri=$3 k=$4 a1 a2 n
	a1=$(relayed sn1)
	a2=$(relayed sn2)
	note "$from calls $uri"
	bs_cmd "$from" dial "$uri" >/dev/null
	bs_wait "$to" "Call answered|answering call" 15
	sleep 3
	bs_cmd "$from" hangup >/dev/null
	poll 10 ended "$from" "$k" || fail "$from: no end of call"
	poll 10 ended "$to" "$k" || fail "$to: no end of call"
	assert_eq "$CAROL $RELAY1 " "$(addrs carol)" "addresses in carol's SDP (hers, the gateway's relay)"
	assert_eq "127.0.0.1 $RELAY2 " "$(addrs alice)" "addresses in alice's SDP (hers, her node's relay)"
	for n in "$from" "$to"; do
		grep -a '^packets:' "$T/bs_$n.log" | tail -n 1 | {
			read -r _ tx rx
			[ "$tx" -ge 100 ] && [ "$rx" -ge 100 ]
		} || fail "$from -> $uri: $n's RTP: $(grep -a '^packets:' "$T/bs_$n.log" | tail -n 1)"
	done
	a1=$(($(relayed sn1) - a1))
	a2=$(($(relayed sn2) - a2))
	[ "$a1" -ge 200 ] && [ "$a2" -ge 200 ] || fail "$from -> $uri: relayed by sn1 $a1, by sn2 $a2"
	note "$from -> $uri: $from $(grep -a '^packets:' "$T/bs_$from.log" | tail -n 1)," \
		"$to $(grep -a '^packets:' "$T/bs_$to.log" | tail -n 1) (TX RX); relayed: sn1 $a1, sn2 $a2"
}
media_call carol alice sip:alice@overlay.example 1
media_call alice carol sip:carol@example.net 2
grep -q "NAT: carol answers as 10.0.0.42" "$T/kam_example.net-$KAM.log" || fail "carol's answer did not name her private address"
on_has gw1 '.gateway.in_requests >= 1 and .gateway.out_calls >= 1 and .media.calls == 0' ||
	fail "gw1: $(on_status gw1 | jq -c '{gateway, media}')"
# Stopped while Kamailio and alice's node still answer the un-REGISTER.
kill -TERM "${BS_PID[carol]}" "${BS_PID[alice]}"
pid_gone "${BS_PID[carol]}" 10
pid_gone "${BS_PID[alice]}" 10
stop_pid "${ON_PID[gw1]}" || fail "gw1 exit status $?"
vg_check
note "ok"
