#!/usr/bin/env bash
# The README's walkthrough, with the example configurations of etc/ (only
# their paths and ports moved into a temporary directory): start logind and
# bootstrapd, add a user, get a certificate with curl and an openssl CSR,
# verify it, revoke it and find it in the CRL that bootstrapd serves.
. "$(dirname "$0")/../lib.sh"

LD_PORT=$(free_port)
BS_PORT=$(free_port)
LD_STATUS=$(free_port)
BS_STATUS=$(free_port)
LIB=$T/lib
mkdir -p "$LIB"
CA=$LIB/ca.crt
ADMIN_SOCK=$T/run/logind.sock
for f in logind bootstrapd; do
	sed -e "s|/var/lib/p2psip|$LIB|g" -e "s|/run/p2psip|$T/run|g" \
		-e "s|127.0.0.1:7444|127.0.0.1:$LD_PORT|g" -e "s|127.0.0.1:7443|127.0.0.1:$BS_PORT|g" \
		-e "s|127.0.0.1:7454|127.0.0.1:$LD_STATUS|g" -e "s|127.0.0.1:7453|127.0.0.1:$BS_STATUS|g" \
		-e "s|^scrypt_n = 131072|scrypt_n = 16384|" "$TOP/etc/$f.conf" >"$T/$f.conf"
done
# Everything else is the example as shipped (scrypt is made cheaper to keep
# the test quick).
other=$(diff "$TOP/etc/logind.conf" "$T/logind.conf" | grep '^>' | grep -v -e "$T" -e "$LD_PORT" -e "$LD_STATUS" -e scrypt_n)
[ -z "$other" ] || fail "unexpected changes to the example: $other"

note "logind --init, then logind"
"$BIN/logind" -c "$T/logind.conf" --init >"$T/init.out" || fail "--init"
start_bg logind "$BIN/logind" -c "$T/logind.conf"
wait_port "$LD_PORT" 30
wait_file "$ADMIN_SOCK"

note "p2psip-admin user add"
echo "alice's password" | "$BIN/p2psip-admin" -s "$ADMIN_SOCK" user add alice --password-stdin ||
	fail "user add"

note "bootstrapd's certificate from logind, then bootstrapd"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$LIB/bootstrapd.key" \
	-subj /CN=bootstrap -out "$T/bootstrapd.csr" 2>/dev/null
"$BIN/p2psip-admin" -s "$ADMIN_SOCK" cert issue-server --csr "$T/bootstrapd.csr" --dns localhost \
	--ip 127.0.0.1 --out "$LIB/bootstrapd.crt" || fail "issue-server"
start_bg bootstrapd "$BIN/bootstrapd" -c "$T/bootstrapd.conf"
BS_PID=$LAST_PID
wait_port "$BS_PORT" 30

note "a certificate for alice with openssl and curl"
cd "$T" || fail "cd"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout alice.key \
	-subj /CN=alice -out alice.csr 2>/dev/null
jq -n --arg u alice --arg p "alice's password" --rawfile c alice.csr \
	'{user: $u, password: $p, csr: $c}' |
	curl -s --cacert "$CA" "https://127.0.0.1:$LD_PORT/v1/login" --data-binary @- >login.json
jq -j .certificate login.json >alice.crt
openssl verify -CAfile "$CA" alice.crt | grep -q "alice.crt: OK" || fail "verify: $(cat login.json)"

note "revoke it and see it in bootstrapd's CRL"
serial=$(openssl x509 -in alice.crt -noout -serial | cut -d= -f2)
"$BIN/p2psip-admin" -s "$ADMIN_SOCK" cert revoke "$serial" || fail "revoke"
kill -HUP "$BS_PID"
crl_lists() { # SERIAL: bootstrapd's CRL, fetched into crl.pem, lists it
	curl -s --cacert "$CA" "https://127.0.0.1:$BS_PORT/v1/crl.pem" >crl.pem
	openssl crl -in crl.pem -noout -text 2>/dev/null | grep -q "Serial Number: $1"
}
wait_until 5 "revoked serial not in bootstrapd's CRL" crl_lists "$serial"
openssl verify -crl_check -CAfile "$CA" -CRLfile crl.pem alice.crt 2>&1 | grep -q "certificate revoked" ||
	fail "openssl does not reject the revoked certificate"
echo ok
