#!/usr/bin/env bash
# The overlay meets the SIP world through two gateways (docs/gateway.md),
# in a network namespace of its own with a DNS server and Kamailio as the
# registrar and proxy of example.net (tests/foreign.sh):
#   * alice, a phone in the overlay, calls carol@example.net: her node finds
#     a gateway by its proxy-location record, the gateway resolves
#     example.net (NAPTR, SRV, A) and record-routes; carol's phone is told
#     who calls (P-Asserted-Identity alice); the BYE goes back the same way;
#   * carol calls alice@overlay.example: Kamailio finds the gateways by the
#     overlay's NAPTR and SRV records, the gateway finds alice in the DHT;
#     carol's phone hangs up through Kamailio's Record-Route; 404 for a
#     user with no phone, as inside the overlay;
#   * attacks: a call out through a gateway from outside the overlay (403,
#     nobody rings at example.net); a request from outside with an overlay
#     user in From (403, alice's phone hears nothing); a flood from one
#     address (503 over its rate) while Kamailio's calls still get in;
#   * alice's phone registers her public address alice@example.net through
#     her node and a gateway (digest answered to example.net, the gateway's
#     Path kept there); carol's call to alice@example.net reaches it through
#     that Path; an overlay user who binds a Contact not his own is refused;
#   * an overlay user is held to his requests out per minute;
#   * the gateway that DNS prefers is killed during the set-up of the next
#     call: the other one carries it, and the calls after, in and out.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/foreign.sh"
netns_enter "$@"
need sipp python3
SC=$TOP/tests/sipp
KAM=127.0.0.40:5060 # example.net
GW1=127.0.0.31
GW2=127.0.0.32

note "DNS: example.net at Kamailio; overlay.example at gw1, then gw2"
dns_naptr example.net 10 10 s SIP+D2U _sip._udp.example.net
dns_srv _sip._udp.example.net sip.example.net 5060 10 10
dns_a sip.example.net 127.0.0.40
dns_naptr overlay.example 10 10 s SIP+D2U _sip._udp.overlay.example
dns_srv _sip._udp.overlay.example gw1.overlay.example 5060 10 10
dns_srv _sip._udp.overlay.example gw2.overlay.example 5060 20 10
dns_a gw1.overlay.example $GW1
dns_a gw2.overlay.example $GW2
dns_start
kam_start example.net 127.0.0.40 5060

overlay_start 2
for u in alice bob; do add_user $u "password of $u"; done
for g in gw1 gw2; do add_user $g "password of $g" gateway; done
on_init on1 alice
echo "public_aors = alice@example.net" >>"$T/on1/ordinarynode.conf"
on_start on1
ALICE=$(free_port)
phone_register on1 alice "$ALICE"

# gw_start NAME ADDR: a gateway on ADDR:5060 serving any domain.
gw_start() {
	on_init "$1" "$1"
	sed -i "s/^sip_listen = .*/sip_listen = $2:5060/" "$T/$1/ordinarynode.conf"
	printf 'role = gateway\n\n[gateway]\nenable = yes\ndomains = *\nsource_rate = 20\nsource_burst = 40\nuser_requests_per_minute = 20\n' \
		>>"$T/$1/ordinarynode.conf"
	on_start "$1"
}
gw_start gw1 $GW1
gw_start gw2 $GW2
cli_user dave # an overlay user for the p2psip client
proxies() { CLI_USER=dave p2p_has_values 'proxy:*' 2; }
wait_until 20 "the gateways' proxy-location records are not in the DHT" proxies
CLI_USER=dave p2p --json get service:gateway >"$T/svc.json"
assert_eq 2 "$(jq '.values | length' "$T/svc.json")" "service:gateway records"

# Scenarios: from an overlay phone to [to_domain]; from example.net in.
sed 's/sip:\[service\]@\[domain\]/sip:[service]@[to_domain]/g' "$SC/uac.xml" >"$T/uac_out.xml"
sed 's/sip:\[caller\]@\[domain\]/sip:[caller]@[from_domain]/g' "$(sipp_open uac.xml)" >"$T/uac_in.xml"
sed 's/sip:\[caller\]@\[domain\]/sip:[caller]@[from_domain]/g' "$(sipp_open uac_fail.xml)" |
	sed 's/response="486"/response="403"/' >"$T/uac_in_403.xml"

call_out() { # NAME: alice calls carol@example.net
	kam_register "reg_carol_$1" "$KAM" carol@example.net 127.0.0.42:5099 ||
		fail "REGISTER of carol: $(tail -n 20 "$T/sipp_reg_carol_$1.out")"
	fphone "carol_$1" carol@example.net 127.0.0.42:5099 "$SC/uas.xml" -trace_msg \
		-message_file "$T/carol_$1.msgs"
	local carol=$PHONE
	call "$1" on1 "$T/uac_out.xml" alice carol -key to_domain example.net \
		-au alice -ap "$(sip_pw alice)" -auth_uri carol@example.net
	phone_ok "carol_$1" "$carol"
}
call_in() { # NAME: carol@example.net calls alice through Kamailio
	phone "alice_$1" "$SC/uas.xml" alice "$ALICE" -trace_msg -message_file "$T/alice_$1.msgs"
	local alice=$PHONE
	fsipp_ok "$1" "$KAM" 127.0.0.43 "$T/uac_in.xml" -s alice -key domain overlay.example \
		-key from_domain example.net -key caller carol -trace_msg -message_file "$T/sipp_$1.msgs"
	phone_ok "alice_$1" "$alice"
}

note "alice calls carol@example.net through a gateway"
call_out out1
invite=$(sed -n '/INVITE sip:carol/,/^$/p' "$T/carol_out1.msgs")
assert_contains "$invite" "P-Asserted-Identity: <sip:alice@overlay.example>" "carol's INVITE"
# nothing carol's side gets names alice's node's own address
grep -q "127.0.0.1:${ON_SIP[on1]}" "$T/carol_out1.msgs" && fail "alice's node's address reached example.net"
grep -q "query\[SRV\] _sip._udp.example.net" "$T/dns.log" || fail "example.net not resolved by SRV"

note "carol@example.net calls alice through Kamailio and a gateway"
call_in in1
grep -q "From: <sip:carol@example.net>" "$T/alice_in1.msgs" || fail "alice's phone: no From carol"
grep -q "Record-Route:.*;ovl=" "$T/sipp_in1.msgs" || fail "carol's phone saw no Record-Route"
grep -q "127.0.0.1:${ON_SIP[on1]}" "$T/sipp_in1.msgs" &&
	fail "alice's node's address reached example.net"
if grep -qi "^P-Asserted-Identity" "$T/alice_in1.msgs"; then
	fail "alice's phone was given an identity for a caller from outside"
fi

note "from outside: 404 for a user with no phone in the overlay, as inside"
sed 's/response="403"/response="404"/' "$T/uac_in_403.xml" >"$T/uac_in_404.xml"
fsipp_ok in404 "$KAM" 127.0.0.43 "$T/uac_in_404.xml" -s bob -key domain overlay.example \
	-key from_domain example.net -key caller carol

note "attack: a call out through gw1 from outside the overlay"
kam_register reg_dave "$KAM" dave@example.net 127.0.0.44:5099 || fail "REGISTER of dave"
fphone nobody dave@example.net 127.0.0.44:5099 "$SC/uas.xml"
sleeper=$PHONE
fsipp_ok relay "$GW1:5060" 127.0.0.45 "$T/uac_in_403.xml" -s dave -key domain example.net \
	-key from_domain example.org -key caller mallory
pid_exited "$sleeper" && fail "dave's phone at example.net was called"
on_has gw1 '.gateway.relay_denied == 1' || fail "gw1: $(on_status gw1 | jq -c .gateway)"

note "attack: from outside, as alice of the overlay, to bob"
phone alice_spoof "$SC/uas.xml" alice "$ALICE"
spoofed=$PHONE
fsipp_ok spoof "$GW1:5060" 127.0.0.45 "$T/uac_in_403.xml" -s alice -key domain overlay.example \
	-key from_domain overlay.example -key caller bob
on_has gw1 '.gateway.identity_refused == 1' || fail "gw1: $(on_status gw1 | jq -c .gateway)"
pid_exited "$spoofed" && fail "alice's phone was called by a false bob"
stop_pid "$spoofed" || true

note "attack: a flood from one address; Kamailio's calls still get in"
(cd "$T" && timeout 20 sipp "$GW1:5060" -sf "$T/uac_in.xml" -i 127.0.0.46 -s nobody \
	-key domain overlay.example -key from_domain example.org -key caller flood -r 400 -m 2000 \
	-timeout 15s -nostdin >"$T/sipp_flood.out" 2>&1) &
flood=$!
poll 10 on_has gw1 '.gateway.source_limited > 100' || fail "gw1 limited no flood: $(on_status gw1 | jq .gateway)"
call_in in2
wait "$flood" || true
on_has gw1 '.state == "attached"' || fail "gw1 after the flood: $(on_status gw1)"

note "alice binds alice@example.net to her overlay address; carol calls it"
ALICE2=$(free_port)
sed 's/\[domain\]/[to_domain]/g' "$SC/register.xml" >"$T/register_public.xml"
sipp_run reg_public on1 "$T/register_public.xml" -s alice -key to_domain example.net -key expires 300 \
	-p "$ALICE2" -m 1 -au alice -ap pw-alice -auth_uri example.net ||
	fail "REGISTER of alice@example.net: $(tail -n 20 "$T/sipp_reg_public.out")"
phone alice_pub "$SC/uas.xml" alice "$ALICE2" -trace_msg -message_file "$T/alice_pub.msgs"
pub=$PHONE
fsipp_ok call_pub "$KAM" 127.0.0.43 "$(sipp_open uac.xml)" -s alice -key domain example.net \
	-key caller carol
phone_ok alice_pub "$pub"
grep -q "to user: INVITE sip:alice@overlay.example;ovl=.* via sip:127.0.0.3[12]:5060;lr" \
	"$T/kam_example.net-127.0.0.40.log" || fail "example.net did not route alice's call by the Path"

note "attack: an overlay user binds alice's Contact to his public address"
gw2_id=$(on_status gw2 | jq -r '.accounts[0].node_id')
gw2_sn=$(on_status gw2 | jq -r '.supernode.node_id')
on1_id=$(on_status on1 | jq -r '.accounts[0].node_id')
dave_id=$(CLI_USER=dave p2p whoami | awk '{print $1; exit}')
refused0=$(on_status gw2 | jq .sip.counters.refused)
reg=$(printf 'REGISTER sip:example.net SIP/2.0\r\nVia: SIP/2.0/TLS %s.invalid;branch=z9hG4bKp2pdave\r\nFrom: <sip:dave@example.net>;tag=1\r\nTo: <sip:dave@example.net>\r\nCall-ID: dave-reg\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@overlay.example;ovl=%s;ph=00>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n' "$dave_id" "$on1_id")
CLI_USER=dave p2p send --via "$gw2_sn" "$gw2_id" \
	"$(CLI_USER=dave p2p seal "$T/gw2/state/gw2.crt" "$gw2_id" "$reg")" >/dev/null || fail "send"
poll 5 on_has gw2 ".sip.counters.refused > $refused0" || fail "gw2 took dave's REGISTER"
grep -q "REGISTER example.net from node .* refused 403: Contact Is Not The Sender's" "$T/on_gw2.log" ||
	fail "gw2 did not say why: $(tail -n 3 "$T/on_gw2.log")"

note "attack: an overlay user sends MESSAGEs out through gw2 past his limit"
lim0=$(on_status gw2 | jq .gateway.user_limited)
for i in $(seq 1 26); do
	msg=$(printf 'MESSAGE sip:nobody@example.net SIP/2.0\r\nVia: SIP/2.0/TLS %s.invalid;branch=z9hG4bKp2pm%s\r\nFrom: <sip:dave@overlay.example>;tag=%s\r\nTo: <sip:nobody@example.net>\r\nCall-ID: dave-msg-%s\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi' "$dave_id" "$i" "$i" "$i")
	CLI_USER=dave p2p send --via "$gw2_sn" "$gw2_id" \
		"$(CLI_USER=dave p2p seal "$T/gw2/state/gw2.crt" "$gw2_id" "$msg")" >/dev/null || fail "send $i"
done
poll 5 on_has gw2 ".gateway.user_limited >= $((lim0 + 5))" ||
	fail "gw2 did not hold dave to 20 a minute: $(on_status gw2 | jq -c .gateway)"

note "gw1 killed during the set-up of the next call: gw2 carries it, and the ones after"
# gw1 hangs (stopped), alice's call starts, then gw1 is killed: the call's
# INVITE may already sit in its socket
kill -STOP "${ON_PID[gw1]}"
inv0=$(on_status on1 | jq .sip.counters.invites)
(call_out out2) &
setup=$!
# the INVITE that got past the challenge
poll 10 on_has on1 ".sip.counters.invites >= $((inv0 + 1))" || fail "alice's call did not start"
stop_pid "${ON_PID[gw1]}" KILL || true
wait "$setup" || fail "the call during gw1's death failed"
# alice's node starts each call at the next gateway: of these two calls one
# tries gw1 first (if out2 did not)
call_out out3
grep -q "did not answer: trying the next one" "$T/on_on1.log" ||
	fail "alice's node never moved to the next gateway"
call_in in3
on_has gw2 '.gateway.out_calls >= 2 and .gateway.in_requests >= 1' ||
	fail "gw2: $(on_status gw2 | jq -c .gateway)"
note "ok"
