#!/usr/bin/env bash
# make demo: starts the overlay's stable-host services on loopback in a
# temporary directory and walks through what they do, saying what happened.
# Today that is logind and bootstrapd; the super node, the ordinary node and
# the SIP call between two sipp phones come with the next issues.
set -u
cd "$(dirname "$0")/.."
BIN=$(pwd)/build/bin
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
for c in curl openssl jq ss; do command -v "$c" >/dev/null || die "$c missing (run scripts/install-deps.sh as root)"; done
[ -x "$BIN/logind" ] || die "not built (run make)"

LP=$(port) BP=$(port) SP=$(port)
CA=$D/ca.crt
SOCK=$D/logind.sock
admin() { "$BIN/p2psip-admin" -s "$SOCK" "$@"; }

say "logind: creating the overlay CA for overlay.example"
cat >"$D/logind.conf" <<CONF
[logind]
overlay = overlay.example
listen = 127.0.0.1:$LP
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

say "p2psip-admin: adding user alice and super node account sn1"
echo "alice-secret" | admin user add alice --password-stdin >/dev/null || die "user add alice"
echo "sn1-secret" | admin user add sn1 --role supernode --password-stdin >/dev/null || die "user add sn1"
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
ca_cert = $CA
tls_cert = $D/bootstrapd.crt
tls_key = $D/bootstrapd.key
database = $D/bootstrapd.db
logind_url = https://127.0.0.1:$LP
allow_private = yes
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

say "sn1 logs in and announces itself to bootstrapd (openssl s_server plays the super node)"
login sn1 sn1-secret sn1
openssl s_server -quiet -accept "127.0.0.1:$SP" -cert "$D/sn1.crt" -key "$D/sn1.key" \
	-CAfile "$CA" -Verify 1 </dev/null >"$D/s_server.log" 2>&1 &
PIDS+=($!)
wait_port "$SP"
curl -s --cacert "$CA" --cert "$D/sn1.crt" --key "$D/sn1.key" "https://127.0.0.1:$BP/v1/announce" \
	--data-binary "{\"addresses\":[{\"host\":\"127.0.0.1\",\"port\":$SP}],\"load\":0}" >"$D/announce.json"
jq -e .node_id "$D/announce.json" >/dev/null || die "announce: $(cat "$D/announce.json")"
curl -s --cacert "$CA" "https://127.0.0.1:$BP/v1/supernodes" >"$D/list.json"
echo "   bootstrapd connected back, found the same Node-ID, and now lists:"
jq -r '.supernodes[] | "     \(.name)  \(.node_id)  \(.addresses[0].host):\(.addresses[0].port)"' "$D/list.json"

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

say "what happened"
cat <<TXT
   logind created the overlay CA, added two accounts, and issued certificates
   whose subject it chose itself (sip:alice@overlay.example, role user). A
   wrong password was refused. bootstrapd verified super node sn1 by
   connecting back to it before listing it, fetched the CRL from logind, and
   serves the revocation of alice's certificate.

   Not yet in this demo: super nodes, ordinary nodes and a SIP call between
   two sipp phones; they come with the supernode and ordinarynode work.
TXT
echo
echo "DEMO OK"
