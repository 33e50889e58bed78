#!/usr/bin/env bash
# make demo: starts a whole overlay on loopback in a temporary directory
# (logind, bootstrapd, three super nodes, two ordinary nodes, users made
# with p2psip-admin), walks through what each part does, and places a real
# call between two sipp phones through the overlay, then calls between the
# overlay and a phone at example.net (Kamailio) through a gateway, both
# ways, saying what happened.
set -u
cd "$(dirname "$0")/.."
BIN=$(pwd)/build/bin
SC=$(pwd)/tests/sipp
D=$(mktemp -d "${TMPDIR:-/tmp}/p2psip-demo.XXXXXX")
PORTS_FILE=$D/ports
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	if [ "${KEEP:-0}" = 1 ]; then echo "(files kept in $D)"; else rm -rf "$D"; fi
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }
die() {
	printf '\nDEMO FAILED: %s\n' "$*"
	for f in "$D"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 5 "$f"; }; done
	exit 1
}
. "$(pwd)/scripts/ports.sh"
port() { free_port || die "no free port"; }
wait_port() { port_ready "$1" 10 || die "nothing listens on port $1"; }
for c in curl openssl jq ss sipp; do command -v "$c" >/dev/null || die "$c missing (run scripts/install-deps.sh as root)"; done
[ -x "$BIN/logind" ] || die "not built (run make)"

LP=$(port) BP=$(port)
declare -A SNP SNS SNPID
CA=$D/ca.crt
SOCK=$D/logind.sock
admin() { "$BIN/p2psip-admin" -s "$SOCK" "$@"; }

say "logind: creating the overlay CA for overlay.example"
cat >"$D/logind.conf" <<CONF
[logind]
overlay = overlay.example
listen = 127.0.0.1:$LP
status_listen = 127.0.0.1:$(port)
admin_socket = $SOCK
database = $D/logind.db
ca_key = $D/ca.key
ca_cert = $CA
tls_key = $D/logind.key
tls_cert = $D/logind.crt
[passwords]
# cheaper than the production default, to keep the demo quick
scrypt_n = 16384
CONF
"$BIN/logind" -c "$D/logind.conf" --init | sed 's/^/   /' || die "logind --init"
"$BIN/logind" -c "$D/logind.conf" >"$D/logind.log" 2>&1 &
PIDS+=($!)
wait_port "$LP"
echo "   logind serves https://127.0.0.1:$LP"

say "p2psip-admin: adding users alice and bob and super node accounts sn1, sn2, sn3"
echo "alice-secret" | admin user add alice --password-stdin >/dev/null || die "user add alice"
echo "bob-secret" | admin user add bob --password-stdin >/dev/null || die "user add bob"
for n in sn1 sn2 sn3; do
	echo "$n-secret" | admin user add $n --role supernode --password-stdin >/dev/null || die "user add $n"
done
admin user list | sed 's/^/   /'

say "bootstrapd: its TLS certificate from the overlay CA, then bootstrapd itself"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/bootstrapd.key" \
	-subj /CN=bootstrap -out "$D/bootstrapd.csr" 2>/dev/null
admin cert issue-server --csr "$D/bootstrapd.csr" --dns localhost --ip 127.0.0.1 \
	--out "$D/bootstrapd.crt" 2>/dev/null || die "issue-server"
cat >"$D/bootstrapd.conf" <<CONF
[bootstrapd]
overlay = overlay.example
listen = 127.0.0.1:$BP
status_listen = 127.0.0.1:$(port)
ca_cert = $CA
tls_cert = $D/bootstrapd.crt
tls_key = $D/bootstrapd.key
database = $D/bootstrapd.db
logind_url = https://127.0.0.1:$LP
allow_private = yes
heartbeat_timeout = 6s
[timers]
heartbeat_interval = 2s
stabilize_interval = 1s
CONF
"$BIN/bootstrapd" -c "$D/bootstrapd.conf" >"$D/bootstrapd.log" 2>&1 &
BSPID=$!
PIDS+=($BSPID)
wait_port "$BP"
echo "   bootstrapd serves https://127.0.0.1:$BP"

login() { # USER PASSWORD NAME
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/$3.key" \
		-subj "/CN=$3" -out "$D/$3.csr" 2>/dev/null
	jq -n --arg u "$1" --arg p "$2" --rawfile c "$D/$3.csr" '{user: $u, password: $p, csr: $c}' |
		curl -s --cacert "$CA" "https://127.0.0.1:$LP/v1/login" --data-binary @- >"$D/$3.json"
	jq -e -j .certificate "$D/$3.json" >"$D/$3.crt" 2>/dev/null || die "login $1: $(cat "$D/$3.json")"
}

say "alice logs in with curl and an openssl CSR"
login alice alice-secret alice
openssl verify -CAfile "$CA" "$D/alice.crt" | sed 's/^/   openssl verify: /'
ALICE_SERIAL=$(openssl x509 -in "$D/alice.crt" -noout -serial | cut -d= -f2)
echo "   subject $(openssl x509 -in "$D/alice.crt" -noout -subject -nameopt RFC2253 | cut -d= -f2-)," \
	"serial $ALICE_SERIAL, Node-ID $(jq -r .node_id "$D/alice.json")"
code=$(jq -n --arg c "$(cat "$D/alice.csr")" '{user:"alice",password:"wrong",csr:$c}' |
	curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "https://127.0.0.1:$LP/v1/login" --data-binary @-)
echo "   the same with a wrong password: HTTP $code"

say "three super nodes log in with their accounts, are checked by bootstrapd and form a Chord ring"
for n in sn1 sn2 sn3; do
	SNP[$n]=$(port)
	SNS[$n]=$(port)
	mkdir -p "$D/$n"
	cat >"$D/$n/supernode.conf" <<CONF
[supernode]
overlay = overlay.example
bootstrap_url = https://127.0.0.1:$BP
ca_cert = $CA
account = $n
password = $n-secret
key = $D/$n/node.key
cert = $D/$n/node.crt
database = $D/$n/records.db
listen = 127.0.0.1:${SNP[$n]}
status_listen = 127.0.0.1:${SNS[$n]}
crl_refresh = 1s
[relay]
# the phones are on loopback, which a relay on the Internet never sends to
allow_networks = 127.0.0.0/8
CONF
done
start_sn() {
	"$BIN/supernode" -c "$D/$1/supernode.conf" >>"$D/$1.log" 2>&1 &
	SNPID[$1]=$!
	PIDS+=($!)
}
sn_joined() {
	[ "$(curl -s --max-time 2 "http://127.0.0.1:${SNS[$1]}/status" | jq -r .state 2>/dev/null)" = joined ]
}
start_sn sn1
for _ in $(seq 1 100); do sn_joined sn1 && break; sleep 0.1; done
sn_joined sn1 || die "sn1 did not start"
start_sn sn2
start_sn sn3
p2p() { # USER SUPERNODE ARGS...
	local u=$1 s=$2
	shift 2
	"$BIN/p2psip" -b "https://127.0.0.1:$BP" -a "$CA" -k "$D/$u.key" -c "$D/$u.crt" \
		-s "127.0.0.1:${SNP[$s]}" "$@"
}
for _ in $(seq 1 150); do
	[ "$(p2p alice sn1 ring --json 2>/dev/null | jq .size 2>/dev/null)" = 3 ] && break
	sleep 0.2
done
[ "$(p2p alice sn1 ring --json 2>/dev/null | jq .size)" = 3 ] || die "the ring did not form"
p2p alice sn1 ring | sed 's/^/   /'
curl -s --cacert "$CA" "https://127.0.0.1:$BP/v1/supernodes" >"$D/list.json"
echo "   bootstrapd connected back to each one and lists $(jq '.supernodes | length' "$D/list.json") super nodes"

sn_of() { # NODE-ID: the demo's name of that super node
	local n
	for n in sn1 sn2 sn3; do
		[ "$(curl -s "http://127.0.0.1:${SNS[$n]}/status" | jq -r .node_id)" = "$1" ] && echo "$n"
	done
}
# A record name whose responsible super node is not sn1, where alice attaches.
for i in $(seq 1 40); do
	NAME=user:alice@overlay.example/status$i
	RESP=$(p2p alice sn1 route --json "$NAME" | jq -r '.path[-1]')
	VICTIM=$(sn_of "$RESP")
	[ -n "$VICTIM" ] && [ "$VICTIM" != sn1 ] && break
done
[ -n "$VICTIM" ] && [ "$VICTIM" != sn1 ] || die "no record name outside sn1's range"

say "alice stores a signed record through sn1 and fetches it through sn3"
p2p alice sn1 put "$NAME" "available, in the office" | sed 's/^/   /' || die "put"
p2p alice sn3 get "$NAME" | sed 's/^/   /' || die "get through sn3"
p2p alice sn1 route "$NAME" | sed 's/^/   /'
code=0
p2p alice sn1 put user:bob@overlay.example/status "forged by alice" >"$D/forge.out" 2>&1 || code=$?
[ "$code" != 0 ] || die "alice could write bob's record"
echo "   alice writing under bob's name is refused: $(head -n 1 "$D/forge.out")"

say "kill -9 of the super node responsible for the record"
{
	kill -KILL "${SNPID[$VICTIM]}"
	wait "${SNPID[$VICTIM]}"
} 2>/dev/null
echo "   killed $VICTIM (pid ${SNPID[$VICTIM]}), responsible for $NAME; fetching it through sn1"
ok=0
for _ in $(seq 1 50); do
	if p2p alice sn1 get "$NAME" >"$D/after_kill.out" 2>/dev/null; then ok=1; break; fi
	sleep 0.1
done
[ "$ok" = 1 ] || die "the record was lost with $VICTIM"
sed 's/^/   /' "$D/after_kill.out"
echo "   still there: a replica on the next super node answered"

say "two ordinary nodes: on-a holds account alice, on-b holds bob"
declare -A ONS ONSIP ONPID
for o in a b; do
	ONS[$o]=$(port)
	ONSIP[$o]=$(port)
	acct=$([ $o = a ] && echo alice || echo bob)
	cat >"$D/on-$o.conf" <<CONF
[ordinarynode]
overlay = overlay.example
bootstrap_url = https://127.0.0.1:$BP
ca_cert = $CA
state_dir = $D/on-$o
status_listen = 127.0.0.1:${ONS[$o]}
sip_listen = 127.0.0.1:${ONSIP[$o]}
# The phones here are sipp 3.6.1, which answers only an MD5 challenge and
# reads the first one; the default offers SHA-256 first.
digest_algorithms = MD5 SHA-256

[account $acct]
password = $acct-secret
sip_password = $acct-phone-secret
CONF
	"$BIN/ordinarynode" -c "$D/on-$o.conf" >"$D/on-$o.log" 2>&1 &
	ONPID[$o]=$!
	PIDS+=($!)
done
on_status() { curl -s --max-time 2 "http://127.0.0.1:${ONS[$1]}/status"; }
for o in a b; do
	for _ in $(seq 1 100); do
		[ "$(on_status $o | jq -r .state 2>/dev/null)" = attached ] && break
		sleep 0.1
	done
	st=$(on_status $o)
	[ "$(jq -r .state <<<"$st")" = attached ] || die "on-$o did not attach: $st"
	echo "   on-$o: logged in as $(jq -r '.accounts[0].name' <<<"$st"), attached to super node" \
		"$(jq -r .supernode.name <<<"$st"), SIP for phones on 127.0.0.1:${ONSIP[$o]}"
done

say "a sipp phone registers as bob at on-b, which publishes bob's record into the overlay"
BOBP=$(port)
ALICEP=$(port)
(cd "$D" && timeout 20 sipp "127.0.0.1:${ONSIP[b]}" -sf "$SC/register.xml" -s bob \
	-au bob -ap bob-phone-secret -auth_uri overlay.example -key domain overlay.example -key expires 300 -i 127.0.0.1 -p "$BOBP" -m 1 -nostdin \
	-timeout 10s -timeout_error >"$D/sipp_register.out" 2>&1) || die "REGISTER bob: $(tail -n 5 "$D/sipp_register.out")"
echo "   REGISTER sip:bob@overlay.example from 127.0.0.1:$BOBP: 401 (digest challenge), again with bob's SIP password: 200 OK"
for _ in $(seq 1 50); do
	p2p alice sn1 get user:bob@overlay.example >"$D/bob_rec.out" 2>/dev/null && break
	sleep 0.1
done
[ -s "$D/bob_rec.out" ] || die "bob's record did not appear"
echo "   seen through sn1, signature checked:"
sed 's/^/     /' "$D/bob_rec.out"

say "a sipp phone as alice at on-a calls bob"
(cd "$D" && exec timeout 40 sipp -sf "$SC/uas.xml" -s bob -key domain overlay.example \
	-i 127.0.0.1 -p "$BOBP" -m 1 -nostdin -timeout 20s -timeout_error \
	-trace_msg -message_file "$D/bob_phone.msg" >"$D/sipp_bob.out" 2>&1) &
UAS=$!
sleep 0.5
(cd "$D" && timeout 40 sipp "127.0.0.1:${ONSIP[a]}" -sf "$SC/uac.xml" -s bob \
	-au alice -ap alice-phone-secret -auth_uri bob@overlay.example -key caller alice -key domain overlay.example -i 127.0.0.1 -p "$ALICEP" -m 1 -nostdin \
	-timeout 20s -timeout_error -trace_msg -message_file "$D/alice_phone.msg" \
	>"$D/sipp_alice.out" 2>&1) || die "alice's call failed: $(tail -n 15 "$D/sipp_alice.out")"
wait "$UAS" || die "bob's phone did not take the call: $(tail -n 15 "$D/sipp_bob.out")"
seen=$(grep -E '^(SIP/2.0 [0-9]+|INVITE|ACK|BYE) ' "$D/alice_phone.msg" | cut -c1-40 | awk '{print $1 == "SIP/2.0" ? $2 : $1}' | uniq | paste -sd' ')
echo "   alice's phone sent and received, in order: $seen"
echo "   bob's phone was reached at 127.0.0.1:$BOBP; the INVITE it got had passed:"
grep -m2 '^Record-Route:' "$D/bob_phone.msg" | sed 's/;sn=.*//; s/^/     /'
pai=$(grep -m1 '^P-Asserted-Identity:' "$D/bob_phone.msg" | tr -d '\r') && [ -n "$pai" ] ||
	die "bob's phone was not told who called (no P-Asserted-Identity)"
echo "   and it named the caller as bob's node verified it, from the certificate"
echo "   that sealed the INVITE end to end: $pai"
echo "   the call was answered by bob and hung up by alice"

say "a gateway joins the overlay; Kamailio serves example.net, another SIP domain"
echo "gw1-secret" | admin user add gw1 --role gateway --password-stdin >/dev/null || die "user add gw1"
KAMP=$(port) GWP=$(port) GWS=$(port) CAROLP=$(port)
# Kamailio as the registrar and proxy of example.net (tests/kamailio/
# foreign.cfg); there is no DNS here, so both sides name each other by a
# static route: Kamailio sends overlay.example to the gateway, the gateway
# sends example.net to Kamailio.
mkdir -p "$D/kam"
sed -e "s/@DOMAIN@/example.net/g" -e "s/@ADDR@/127.0.0.1/g" -e "s/@PORT@/$KAMP/g" \
	-e "/^# @EXTRA@/a #!define OVERLAY_HOP \"sip:127.0.0.1:$GWP\"" \
	"$(pwd)/tests/kamailio/foreign.cfg" >"$D/kam/kamailio.cfg"
command -v kamailio >/dev/null || die "kamailio missing (run scripts/install-deps.sh as root)"
kamailio -c -f "$D/kam/kamailio.cfg" >"$D/kam/check.log" 2>&1 || die "kamailio -c: $(tail -n 3 "$D/kam/check.log")"
kamailio -DD -E -m 32 -M 4 -Y "$D/kam" -f "$D/kam/kamailio.cfg" >"$D/kamailio.log" 2>&1 &
PIDS+=($!)
wait_port "$KAMP"
echo "   Kamailio: registrar and proxy of example.net on 127.0.0.1:$KAMP"
cat >"$D/on-gw.conf" <<CONF
[ordinarynode]
overlay = overlay.example
bootstrap_url = https://127.0.0.1:$BP
ca_cert = $CA
state_dir = $D/on-gw
status_listen = 127.0.0.1:$GWS
sip_listen = 127.0.0.1:$GWP

[account gw1]
password = gw1-secret
sip_password = gw1-phone-secret
role = gateway

[gateway]
enable = yes
domains = example.net
# the demo has no DNS; a public gateway resolves example.net (NAPTR, SRV, A)
routes = example.net=127.0.0.1:$KAMP
CONF
"$BIN/ordinarynode" -c "$D/on-gw.conf" >"$D/on-gw.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
	p2p alice sn1 get proxy:example.net >"$D/proxy_rec.out" 2>/dev/null && break
	sleep 0.1
done
[ -s "$D/proxy_rec.out" ] || die "the gateway's proxy-location record did not appear: $(tail -n 3 "$D/on-gw.log")"
echo "   gw1 (certificate role gateway) on 127.0.0.1:$GWP; its record for example.net, seen through sn1:"
sed 's/^/     /' "$D/proxy_rec.out"

say "carol registers at example.net (Kamailio), and calls bob@overlay.example"
(cd "$D" && timeout 20 sipp "127.0.0.1:$KAMP" -sf "$SC/register.xml" -s carol -au carol -ap pw-carol \
	-auth_uri example.net -key domain example.net -key expires 300 -i 127.0.0.1 -p "$CAROLP" -m 1 \
	-nostdin -timeout 10s -timeout_error >"$D/sipp_reg_carol.out" 2>&1) ||
	die "REGISTER carol at Kamailio: $(tail -n 5 "$D/sipp_reg_carol.out")"
echo "   REGISTER sip:carol@example.net at Kamailio from 127.0.0.1:$CAROLP: 401, then 200 OK"
# carol's phone: the overlay's INVITE less the 407 (Kamailio does not challenge calls)
awk '!started && /<send/ { skipping = 1; started = 1 }
	skipping && /response="407"/ { seen = 1 }
	skipping && seen && /<send retrans/ { skipping = 0 }
	skipping || /^ *\[authentication\] *$/ { next }
	{ print }' "$SC/uac.xml" | sed 's/sip:\[caller\]@\[domain\]/sip:[caller]@example.net/g' >"$D/uac_carol.xml"
sed 's/sip:\[service\]@\[domain\]/sip:[service]@example.net/g' "$SC/uac.xml" >"$D/uac_to_carol.xml"
(cd "$D" && exec timeout 40 sipp -sf "$SC/uas.xml" -s bob -key domain overlay.example \
	-i 127.0.0.1 -p "$BOBP" -m 1 -nostdin -timeout 20s -timeout_error \
	-trace_msg -message_file "$D/bob_phone_in.msg" >"$D/sipp_bob_in.out" 2>&1) &
UAS=$!
sleep 0.5
(cd "$D" && timeout 40 sipp "127.0.0.1:$KAMP" -sf "$D/uac_carol.xml" -s bob -key caller carol \
	-key domain overlay.example -i 127.0.0.1 -p "$(port)" -m 1 -nostdin -timeout 20s -timeout_error \
	-trace_msg -message_file "$D/carol_phone_out.msg" >"$D/sipp_carol_out.out" 2>&1) ||
	die "carol's call failed: $(tail -n 15 "$D/sipp_carol_out.out")"
wait "$UAS" || die "bob's phone did not take carol's call: $(tail -n 15 "$D/sipp_bob_in.out")"
seen=$(grep -E '^(SIP/2.0 [0-9]+|INVITE|ACK|BYE) ' "$D/carol_phone_out.msg" | cut -c1-40 | awk '{print $1 == "SIP/2.0" ? $2 : $1}' | uniq | paste -sd' ')
echo "   carol's phone sent and received, in order: $seen"
echo "   bob's phone got it $(grep -m1 '^From:' "$D/bob_phone_in.msg" | sed 's/;tag=.*//' | tr -d '\r')"
! grep -qi '^P-Asserted-Identity' "$D/bob_phone_in.msg" ||
	die "bob's phone was given an overlay identity for a caller from outside"
echo "   and with no P-Asserted-Identity: a caller from outside is not vouched for"
echo "   Kamailio sent it to the gateway, the gateway found bob in the DHT; bob answered, carol hung up"

say "alice's phone in the overlay calls carol@example.net"
(cd "$D" && exec timeout 40 sipp -sf "$SC/uas.xml" -s carol -key domain example.net \
	-i 127.0.0.1 -p "$CAROLP" -m 1 -nostdin -timeout 20s -timeout_error \
	-trace_msg -message_file "$D/carol_phone_in.msg" >"$D/sipp_carol_in.out" 2>&1) &
UAS=$!
sleep 0.5
(cd "$D" && timeout 40 sipp "127.0.0.1:${ONSIP[a]}" -sf "$D/uac_to_carol.xml" -s carol \
	-au alice -ap alice-phone-secret -auth_uri carol@example.net -key caller alice -key domain overlay.example \
	-i 127.0.0.1 -p "$ALICEP" -m 1 -nostdin -timeout 20s -timeout_error \
	-trace_msg -message_file "$D/alice_phone_out.msg" >"$D/sipp_alice_out.out" 2>&1) ||
	die "alice's call to carol failed: $(tail -n 15 "$D/sipp_alice_out.out")"
wait "$UAS" || die "carol's phone did not take alice's call: $(tail -n 15 "$D/sipp_carol_in.out")"
seen=$(grep -E '^(SIP/2.0 [0-9]+|INVITE|ACK|BYE) ' "$D/alice_phone_out.msg" | cut -c1-40 | awk '{print $1 == "SIP/2.0" ? $2 : $1}' | uniq | paste -sd' ')
echo "   alice's phone sent and received, in order: $seen"
pai=$(grep -m1 '^P-Asserted-Identity:' "$D/carol_phone_in.msg" | tr -d '\r') && [ -n "$pai" ] ||
	die "carol's phone was not told who called (no P-Asserted-Identity)"
echo "   alice's node found gw1 by its record, the gateway sent the call to Kamailio;"
echo "   carol's phone was told who called, as the gateway verified it: $pai"
echo "   the call was answered by carol and hung up by alice"
curl -s "http://127.0.0.1:$GWS/status" | jq -c '.gateway' | sed 's/^/   gw1 status: /'

say "the administrator revokes alice's certificate"
admin cert revoke "$ALICE_SERIAL" | sed 's/^/   /'
kill -HUP "$BSPID"
for _ in $(seq 1 50); do
	curl -s --cacert "$CA" "https://127.0.0.1:$BP/v1/crl.pem" >"$D/crl.pem"
	openssl crl -in "$D/crl.pem" -noout -text 2>/dev/null | grep -q "$ALICE_SERIAL" && break
	sleep 0.1
done
openssl crl -in "$D/crl.pem" -noout -text | grep -q "$ALICE_SERIAL" || die "serial not in bootstrapd's CRL"
echo "   bootstrapd's CRL lists $ALICE_SERIAL;" \
	"$(openssl verify -crl_check -CAfile "$CA" -CRLfile "$D/crl.pem" "$D/alice.crt" 2>&1 | grep -o 'certificate revoked' | head -1)"
refused=0
for _ in $(seq 1 100); do
	if ! p2p alice sn1 put "$NAME" "after the revocation" >/dev/null 2>"$D/revoked.err"; then
		refused=1
		break
	fi
	sleep 0.1
done
[ "$refused" = 1 ] || die "sn1 still serves alice after the revocation"
echo "   sn1 fetched the new CRL and refuses alice: $(head -n 1 "$D/revoked.err")"

say "what happened"
cat <<TXT
   logind created the overlay CA, added six accounts, and issued certificates
   whose subject it chose itself (sip:alice@overlay.example, role user). A
   wrong password was refused. Three super nodes logged in, were checked and
   listed by bootstrapd, and formed a Chord ring. alice stored a signed
   record that every super node can check; writing under another user's
   name was refused. The record survived kill -9 of the super node
   responsible for it. After the revocation, bootstrapd and the super nodes
   refuse alice's certificate.

   Two ordinary nodes logged in for alice and bob and attached to super
   nodes. A sipp phone registered as bob at one of them, which published
   bob's signed record in the DHT. A sipp phone as alice called
   sip:bob@overlay.example at the other: its node found bob's node through
   the DHT, the INVITE crossed the overlay (node, super node, super node,
   node) sealed from alice's certificate to bob's, so that the super nodes
   could neither read nor change it; bob's node told his phone who called
   (P-Asserted-Identity), bob's phone answered, and alice hung up. No
   central proxy or registrar was on the way.

   A gateway (an ordinary node whose certificate has the role gateway)
   published that it carries calls for example.net, a SIP domain served by
   Kamailio. carol, registered at Kamailio, called bob@overlay.example:
   Kamailio sent the call to the gateway, which found bob in the DHT and
   delivered it through the overlay to his phone, without vouching for an
   outside caller. alice's phone called carol@example.net: alice's node
   found the gateway by its record, the gateway checked alice's sealed
   identity, sent the call to Kamailio, and told carol's phone who called.
TXT
echo
echo "DEMO OK"
