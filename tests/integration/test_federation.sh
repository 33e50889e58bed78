#!/usr/bin/env bash
# Two federated overlays (docs/federation.md), each with its own CA,
# logind, bootstrapd, super node and gateway, in a network namespace with
# a DNS server (tests/foreign.sh):
#   * alice@overlay.example calls bob@other.example: gw A finds other.example
#     by NAPTR/SRV _sips._tcp, calls gw B over TLS; bob's phone is told
#     P-Asserted-Identity alice@overlay.example; then bob calls alice back
#     (gw B has a static route to gw A) and alice is told bob@other.example;
#     the gateways talk TLS to each other, and each looks up only its own
#     overlay's users in its own DHT;
#   * attacks: a TLS client whose certificate comes from a CA that is no
#     peer gets no connection; a peer's gateway asserting a user of OUR
#     overlay has that identity stripped; so has a user of the peer overlay
#     (not one of the gateways its [peer] section lists) asserting another;
#     plain UDP from outside with a PAI of the peer overlay has it stripped.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/foreign.sh"
netns_enter "$@"
need sipp python3 openssl
SC=$TOP/tests/sipp
GWA=127.0.0.31 # overlay.example's gateway
GWB=127.0.0.32 # other.example's gateway
TLSPORT=5061

# use_overlay a|b: lib.sh's variables (directory, name, CA, daemons) of
# that overlay; node names (ona, gwa, onb, gwb) stay unique across both.
OVL_VARS=(T OVERLAY CA BS_URL BS_PORT BS_STATUS LD_PORT LD_STATUS LD_URL LD_PID BS_PID ADMIN_SOCK)
declare -A OVL_SAVED
CUR=a
use_overlay() {
	local v
	for v in "${OVL_VARS[@]}"; do OVL_SAVED[$CUR.$v]=${!v-}; done
	CUR=$1
	for v in "${OVL_VARS[@]}"; do
		[ -z "${OVL_SAVED[$CUR.$v]+x}" ] || printf -v "$v" '%s' "${OVL_SAVED[$CUR.$v]}"
	done
	export P2PSIP_ADMIN_SOCKET=${ADMIN_SOCK-} LD_STATUS=${LD_STATUS-} BS_STATUS=${BS_STATUS-}
}

# gw_start NAME ADDR PEER PEER-CA [ROUTE [PEER-GATEWAYS]]: a gateway of the
# current overlay on ADDR:5060, TLS for its peer on ADDR:5061.
gw_start() {
	on_init "$1" "$1"
	sed -i "s/^sip_listen = .*/sip_listen = $2:5060/" "$T/$1/ordinarynode.conf"
	printf 'role = gateway\n\n[gateway]\nenable = yes\ndomains = *\ntls_listen = %s:%s\n' \
		"$2" $TLSPORT >>"$T/$1/ordinarynode.conf"
	printf '\n[peer %s]\nca_cert = %s\nroute = %s\ngateways = %s\n' "$3" "$4" "${5-}" "${6-}" \
		>>"$T/$1/ordinarynode.conf"
	on_start "$1"
	poll 20 tls_listens "$2" || fail "$1: no federation TLS listener: $(tail -n 5 "$T/on_$1.log")"
}
tls_listens() { ss -Hltn "src $1:$TLSPORT" | grep -q .; }
has_proxy() { CLI_USER=$1 p2p_has_values "proxy:$2" 1; } # CLI-USER DOMAIN
lookups() { on_status "$1" | jq .sip.counters.lookups; }

note "DNS: other.example's gateways by NAPTR and SRV for SIP over TLS"
dns_naptr other.example 10 10 s SIPS+D2T _sips._tcp.other.example
dns_srv _sips._tcp.other.example gw.other.example $TLSPORT 10 10
dns_a gw.other.example $GWB
dns_start

note "overlay A, overlay.example: alice, anna, gateway gwa"
overlay_start 1
for u in alice anna; do add_user $u "password of $u"; done
add_user gwa "password of gwa" gateway
cli_user carl
on_init ona alice anna
on_start ona
CA_A=$CA

note "overlay B, other.example: bob, bert, gateway gwb"
use_overlay b
T=$T_TOP/b OVERLAY=other.example
mkdir -p "$T"
overlay_start 0
snode_up bsn1
for u in bob bert; do add_user $u "password of $u"; done
add_user gwb "password of gwb" gateway
cli_user bill
on_init onb bob bert
on_start onb
CA_B=$CA
vg_on # the gateways under valgrind (checked when they stop, at the end)
VG_SUPP=$TOP/tests/valgrind/sofia-tls.supp
gw_start gwb $GWB overlay.example "$CA_A" "$GWA:$TLSPORT" gwa
use_overlay a
gw_start gwa $GWA other.example "$CA_B" # by DNS
VG_DAEMONS=0
wait_until 20 "gwa's proxy:other.example not in A's DHT" has_proxy carl other.example
use_overlay b
wait_until 20 "gwb's proxy:overlay.example not in B's DHT" has_proxy bill overlay.example

sed 's/sip:\[service\]@\[domain\]/sip:[service]@[to_domain]/g' "$SC/uac.xml" >"$T_TOP/uac_out.xml"

note "alice@overlay.example calls bob@other.example"
BOB=$(free_port)
phone_register onb bob "$BOB"
phone bob1 "$SC/uas.xml" bob "$BOB" -trace_msg -message_file "$T_TOP/bob1.msgs"
bobp=$PHONE
use_overlay a
ALICE=$(free_port)
phone_register ona alice "$ALICE"
call out1 ona "$T_TOP/uac_out.xml" alice bob -key to_domain other.example \
	-au alice -ap "$(sip_pw alice)" -auth_uri bob@other.example \
	-trace_msg -message_file "$T_TOP/alice_out1.msgs"
phone_ok bob1 "$bobp"
invite=$(sed -n '/INVITE sip:bob/,/^$/p' "$T_TOP/bob1.msgs")
assert_contains "$invite" "P-Asserted-Identity: <sip:alice@overlay.example>" "bob's INVITE"
ok=$(sed -n '/^SIP\/2.0 200 OK/,/^$/p' "$T_TOP/alice_out1.msgs" | head -n 20)
assert_contains "$ok" "P-Asserted-Identity: <sip:bob@other.example>" "the 200 alice got"
grep -q "query\[SRV\] _sips._tcp.other.example" "$T_TOP/dns.log" ||
	fail "other.example not resolved by SRV for sips"
ss -Htn state established "( sport = :$TLSPORT or dport = :$TLSPORT )" | grep -q "$GWA" ||
	fail "no TLS connection between the gateways: $(ss -Htn)"
assert_eq 0 "$(lookups gwa)" "gwa's DHT lookups after a call out"
assert_eq 1 "$(lookups gwb)" "gwb's DHT lookups after a call in"

note "bob@other.example calls alice@overlay.example"
phone alice1 "$SC/uas.xml" alice "$ALICE" -trace_msg -message_file "$T_TOP/alice1.msgs"
alicep=$PHONE
use_overlay b
call in1 onb "$T_TOP/uac_out.xml" bob alice -key to_domain overlay.example \
	-au bob -ap "$(sip_pw bob)" -auth_uri alice@overlay.example
phone_ok alice1 "$alicep"
invite=$(sed -n '/INVITE sip:alice/,/^$/p' "$T_TOP/alice1.msgs")
assert_contains "$invite" "P-Asserted-Identity: <sip:bob@other.example>" "alice's INVITE"
assert_eq 1 "$(lookups gwa)" "gwa's DHT lookups (alice, in A's DHT)"
assert_eq 1 "$(lookups gwb)" "gwb's DHT lookups after a call out"
on_has gwa '.gateway.out_calls == 1 and .gateway.in_requests == 1' ||
	fail "gwa: $(on_status gwa | jq -c .gateway)"

# Phones that record what reaches them: bert in B, anna in A.
BERT=$(free_port)
phone_register onb bert "$BERT"
start_bg sink_bert python3 "$TOP/tests/tools/sipsink.py" "$BERT" "$T_TOP/bert.msgs"
use_overlay a
ANNA=$(free_port)
phone_register ona anna "$ANNA"
start_bg sink_anna python3 "$TOP/tests/tools/sipsink.py" "$ANNA" "$T_TOP/anna.msgs"

# tls_invite NAME CERT KEY FROM PAI: an INVITE for bert@other.example sent
# over TLS to gwb by whoever holds CERT; siptls.py's output in $T_TOP/NAME.out.
tls_invite() {
	cat >"$T_TOP/$1.req" <<REQ
INVITE sip:bert@other.example SIP/2.0
Via: SIP/2.0/TLS 127.0.0.50:5061;branch=z9hG4bK$1;rport
From: <sip:$4>;tag=$1
To: <sip:bert@other.example>
Call-ID: $1@127.0.0.50
CSeq: 1 INVITE
Contact: <sip:x@127.0.0.50:5061;transport=tls>
Max-Forwards: 70
P-Asserted-Identity: <sip:$5>
REQ
	timeout 20 python3 "$TOP/tests/tools/siptls.py" $GWB $TLSPORT "$2" "$3" "$CA_B" \
		"$T_TOP/$1.req" >"$T_TOP/$1.out" 2>&1
}
# sink_invite FILE TAG: the INVITE a sink phone recorded whose From tag is TAG
# (the Call-ID is the overlay's own by then).
sink_invite() { awk -v RS='----' -v t=";tag=$2" '/^\n?INVITE / && index($0, t)' "$1"; }
got_invite() { [ -n "$(sink_invite "$1" "$2")" ]; }
GWA_KEY=$T_TOP/gwa/state/gwa.key
GWA_CRT=$T_TOP/gwa/state/gwa.crt

note "control: gwa's certificate over TLS, for its own user: bert is told alice"
tls_invite ctl "$GWA_CRT" "$GWA_KEY" mallory@overlay.example alice@overlay.example ||
	fail "gwa's own certificate refused: $(cat "$T_TOP/ctl.out")"
poll 5 got_invite "$T_TOP/bert.msgs" ctl || fail "bert's phone got no INVITE (control)"
sink_invite "$T_TOP/bert.msgs" ctl | grep -q "P-Asserted-Identity: <sip:alice@overlay.example>" ||
	fail "the peer's assertion was not carried: $(cat "$T_TOP/bert.msgs")"

note "attack: a certificate of a CA that is no peer (third.example)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/O=third.example/CN=third CA" -keyout "$T_TOP/ca3.key" -out "$T_TOP/ca3.crt" \
	2>/dev/null || fail "openssl CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj "/O=third.example/OU=gateway/CN=gw3" -keyout "$T_TOP/gw3.key" -out "$T_TOP/gw3.csr" \
	2>/dev/null || fail "openssl csr"
openssl x509 -req -in "$T_TOP/gw3.csr" -CA "$T_TOP/ca3.crt" -CAkey "$T_TOP/ca3.key" \
	-CAcreateserial -days 2 -out "$T_TOP/gw3.crt" 2>/dev/null || fail "openssl sign"
if tls_invite third "$T_TOP/gw3.crt" "$T_TOP/gw3.key" mallory@third.example alice@overlay.example; then
	fail "a certificate of no peer got an answer: $(cat "$T_TOP/third.out")"
fi
sleep 0.5
got_invite "$T_TOP/bert.msgs" third && fail "bert's phone was called by a stranger"

note "attack: the peer's gateway asserts a user of other.example (ours, at gwb)"
tls_invite own "$GWA_CRT" "$GWA_KEY" mallory@overlay.example bob@other.example ||
	fail "no answer: $(cat "$T_TOP/own.out")"
poll 5 got_invite "$T_TOP/bert.msgs" own || fail "bert's phone got no INVITE"
sink_invite "$T_TOP/bert.msgs" own | grep -qi "P-Asserted-Identity" &&
	fail "bert's phone was told a user of its own overlay called from outside"

note "attack: a user of the peer overlay (not its gateway) asserts another of its users"
tls_invite user "$T_TOP/ona/state/alice.crt" "$T_TOP/ona/state/alice.key" alice@overlay.example \
	anna@overlay.example || fail "no answer: $(cat "$T_TOP/user.out")"
poll 5 got_invite "$T_TOP/bert.msgs" user || fail "bert's phone got no INVITE"
sink_invite "$T_TOP/bert.msgs" user | grep -qi "P-Asserted-Identity" &&
	fail "bert's phone was told anna by alice's certificate"

note "attack: plain UDP from outside with a PAI of the peer overlay, to anna"
sed 's/sip:\[caller\]@\[domain\]/sip:[caller]@[from_domain]/g; s|^\( *\)Max-Forwards: 70$|&\n\1P-Asserted-Identity: <sip:bob@other.example>|' \
	"$(sipp_open uac_fail.xml)" >"$T_TOP/uac_pai.xml"
fsipp_ok pai "$GWA:5060" 127.0.0.45 "$T_TOP/uac_pai.xml" -s anna -key domain overlay.example \
	-key from_domain other.example -key caller bob
poll 5 grep -q "INVITE sip:anna" "$T_TOP/anna.msgs" || fail "anna's phone got no INVITE"
grep -qi "P-Asserted-Identity" "$T_TOP/anna.msgs" &&
	fail "anna's phone was told a peer's user over plain UDP: $(cat "$T_TOP/anna.msgs")"
on_has gwa '.state == "attached"' && on_has gwb '.state == "attached"' || fail "a gateway went"
stop_pid "${ON_PID[gwa]}" || fail "gwa: exit status $?"
stop_pid "${ON_PID[gwb]}" || fail "gwb: exit status $?"
vg_check
T=$T_TOP/b vg_check
note "ok"
