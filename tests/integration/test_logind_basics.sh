#!/usr/bin/env bash
# logind from scratch: --init, flags, a user added with p2psip-admin, a
# certificate obtained with curl and an openssl CSR, verified with openssl,
# renewed with the certificate, revoked and seen in the CRL.
. "$(dirname "$0")/../lib.sh"

note "flags"
"$BIN/logind" --version | grep -q "^logind " || fail "--version"
"$BIN/logind" --help | grep -q -- "--init" || fail "--help"
"$BIN/logind" --bogus >/dev/null 2>&1
assert_eq 2 $? "exit status of a bad flag"

note "configuration errors name the line"
printf '[logind]\noverlay = o.example\nlisten = 127.0.0.1:1\nbogus = 1\n' >"$T/bad.conf"
out=$("$BIN/logind" -c "$T/bad.conf" -n 2>&1) && fail "bad config accepted"
assert_contains "$out" "line 4: unknown key 'bogus'" "config error"
printf '[logind]\nlisten = x\n' >"$T/bad2.conf"
out=$("$BIN/logind" -c "$T/bad2.conf" -n 2>&1) && fail "config without overlay accepted"
assert_contains "$out" "overlay is required" "missing key"

logind_init
note "-n prints the normalised configuration, defaults included"
"$BIN/logind" -c "$T/logind.conf" -n >"$T/norm.conf" || fail "-n"
grep -q "^user_lifetime = 1d$" "$T/norm.conf" || fail "default user_lifetime missing from -n"
grep -q "^scrypt_n = 1024$" "$T/norm.conf" || fail "scrypt_n not echoed"
"$BIN/logind" -c "$T/norm.conf" -n | cmp -s - "$T/norm.conf" || fail "-n output does not re-read to itself"

note "--init made the CA with a private key of mode 0600, and refuses to run twice"
assert_eq 600 "$(stat -c %a "$T/data/ca.key")" "CA key mode"
openssl x509 -in "$CA" -noout -ext basicConstraints | grep -q "CA:TRUE" || fail "CA not a CA"
before=$(sha256sum "$T/data/ca.key")
"$BIN/logind" -c "$T/logind.conf" --init >"$T/init2.out" 2>&1 && fail "second --init succeeded"
grep -q "refusing to overwrite" "$T/init2.out" || fail "second --init: no clear reason"
assert_eq "$before" "$(sha256sum "$T/data/ca.key")" "CA key after refused --init"
openssl verify -CAfile "$CA" "$T/data/logind.crt" >/dev/null || fail "logind cert does not verify"

logind_start
note "admin: add users"
add_user alice "correct horse"
add_user sn1 "super node pw" supernode
admin user list --json | jq -e '.[] | select(.name=="alice" and .role=="user")' >/dev/null ||
	fail "alice not listed"
admin user list | grep -q "^sn1 .*supernode" || fail "table lacks sn1"

note "login with an openssl CSR; the server decides the subject"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/alice.key" \
	-subj "/CN=root/O=Evil Corp/OU=supernode" -out "$T/alice.csr" 2>/dev/null
assert_eq 200 "$(login alice "correct horse" alice)" "login status"
openssl verify -CAfile "$CA" "$T/alice.crt" >/dev/null || fail "certificate does not verify"
subj=$(openssl x509 -in "$T/alice.crt" -noout -subject -nameopt RFC2253)
assert_eq "subject=CN=alice,OU=user,O=overlay.example" "$subj" "subject"
openssl x509 -in "$T/alice.crt" -noout -ext subjectAltName | grep -q "URI:sip:alice@overlay.example" ||
	fail "SAN URI"
jq -e '.ca_certificate and .serial and .node_id and .not_after' "$T/resp" >/dev/null || fail "reply fields"
cmp -s <(jq -j .ca_certificate "$T/resp") "$CA" || fail "CA certificate in reply differs"
serial=$(serial_of "$T/alice.crt")
[ ${#serial} = 32 ] || fail "serial is not 128 bits: $serial"
nb=$(date -d "$(openssl x509 -in "$T/alice.crt" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in "$T/alice.crt" -noout -enddate | cut -d= -f2)" +%s)
life=$((na - nb))
[ "$life" -ge 86400 ] && [ "$life" -le 87000 ] || fail "user lifetime $life s, want 24 h (+skew)"
# The Node-ID is the first 128 bits of SHA-256 over the public key.
nid=$(openssl x509 -in "$T/alice.crt" -noout -pubkey | openssl pkey -pubin -outform DER |
	sha256sum | cut -c1-32 | tr a-f A-F)
assert_eq "$nid" "$(jq -r .node_id "$T/resp")" "Node-ID"

note "a super node account gets the supernode role and a 7-day certificate"
make_csr sn1
assert_eq 200 "$(login sn1 "super node pw" sn1)" "supernode login"
openssl x509 -in "$T/sn1.crt" -noout -subject -nameopt RFC2253 | grep -q "OU=supernode" || fail "role"
nb=$(date -d "$(openssl x509 -in "$T/sn1.crt" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in "$T/sn1.crt" -noout -enddate | cut -d= -f2)" +%s)
[ $((na - nb)) -ge $((7 * 86400)) ] && [ $((na - nb)) -le $((7 * 86400 + 600)) ] || fail "supernode lifetime"

note "Ed25519 CSRs are accepted too"
make_csr aliced ed25519
assert_eq 200 "$(login alice "correct horse" aliced)" "Ed25519 login"

note "wrong password and unknown user look the same"
assert_eq 401 "$(login alice "wrong" alice)" "wrong password"
cp "$T/resp" "$T/resp.wrong"
assert_eq 401 "$(login nobody "wrong" alice)" "unknown user"
cmp -s "$T/resp" "$T/resp.wrong" || fail "bodies differ: $(cat "$T/resp") vs $(cat "$T/resp.wrong")"

note "renewal with the current certificate instead of the password"
make_csr alice2
jq -n --rawfile c "$T/alice2.csr" '{csr: $c}' >"$T/renew.json"
code=$(https POST "$LD_URL/v1/renew" "$T/renew.json" --cert "$T/alice.crt" --key "$T/alice.key")
assert_eq 200 "$code" "renew: $(cat "$T/resp")"
jq -r .certificate "$T/resp" >"$T/alice2.crt"
openssl verify -CAfile "$CA" "$T/alice2.crt" >/dev/null || fail "renewed cert does not verify"
openssl x509 -in "$T/alice2.crt" -noout -subject | grep -q "CN = alice" || fail "renewed subject"
[ "$(serial_of "$T/alice2.crt")" != "$serial" ] || fail "renewal reused the serial"
code=$(https POST "$LD_URL/v1/renew" "$T/renew.json")
assert_eq 401 "$code" "renew without certificate"
assert_contains "$(cat "$T/resp")" "no client certificate" "renew without certificate"

note "revoke; the CRL lists the serial and renewal with it is refused"
admin cert revoke "$serial" --reason keyCompromise >/dev/null || fail "revoke"
https GET "$LD_URL/v1/crl" >/dev/null
openssl crl -inform DER -in "$T/resp" -noout -text >"$T/crl.txt" || fail "CRL not DER"
grep -q "Serial Number: $serial" "$T/crl.txt" || fail "serial not in CRL"
grep -q "Key Compromise" "$T/crl.txt" || fail "reason not in CRL"
openssl crl -inform DER -in "$T/resp" -CAfile "$CA" -noout 2>&1 | grep -q "verify OK" || fail "CRL signature"
https GET "$LD_URL/v1/crl.pem" >/dev/null
grep -q "BEGIN X509 CRL" "$T/resp" || fail "PEM CRL"
openssl verify -crl_check -CAfile "$CA" -CRLfile "$T/resp" "$T/alice.crt" 2>&1 | grep -q revoked ||
	fail "openssl does not see the revocation"
code=$(https POST "$LD_URL/v1/renew" "$T/renew.json" --cert "$T/alice.crt" --key "$T/alice.key")
assert_eq 401 "$code" "renew with revoked certificate"
assert_contains "$(cat "$T/resp")" "revoked" "renew with revoked certificate"
admin cert list --user alice --json | jq -e --arg s "$serial" \
	'.[] | select(.serial==$s and .revoked and .reason=="keyCompromise")' >/dev/null || fail "cert list"

note "the CA certificate is served"
https GET "$LD_URL/v1/ca" >/dev/null
cmp -s "$T/resp" "$CA" || fail "/v1/ca differs from the CA file"

note "SIGTERM stops logind cleanly and removes the admin socket"
stop_pid "$LD_PID" || fail "logind exit status $?"
[ -e "$ADMIN_SOCK" ] && fail "admin socket left behind"
echo ok
