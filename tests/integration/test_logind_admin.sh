#!/usr/bin/env bash
# Every p2psip-admin command against a running logind, with its errors:
# one-line reasons and a non-zero exit status, human tables and --json.
. "$(dirname "$0")/../lib.sh"

logind_init
logind_start

expect_fail() { # STATUS MESSAGE-PART CMD...
	local want=$1 part=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	assert_eq "$want" "$rc" "exit status of '$*'"
	assert_contains "$out" "$part" "message of '$*'"
	[ "$(printf '%s\n' "$out" | grep -c .)" -le 1 ] || [ "$want" = 2 ] ||
		fail "more than one line from '$*': $out"
}

note "the admin socket is private"
assert_eq 600 "$(stat -c %a "$ADMIN_SOCK")" "admin socket mode"

note "usage errors exit 2, unknown logind exits 1"
expect_fail 2 "no command" "$BIN/p2psip-admin"
expect_fail 2 "unknown command" admin frobnicate
expect_fail 2 "needs a NAME" admin user add
expect_fail 1 "cannot reach logind" "$BIN/p2psip-admin" -s "$T/nothing.sock" user list
"$BIN/p2psip-admin" --help | grep -q "user add NAME" || fail "--help"

note "user add: names, roles, passwords"
add_user alice "alice password"
expect_fail 1 "already exists" sh -c "echo other-password | $BIN/p2psip-admin -s $ADMIN_SOCK user add alice --password-stdin"
expect_fail 1 "invalid user name" sh -c "echo password1 | $BIN/p2psip-admin -s $ADMIN_SOCK user add \"o'brien\" --password-stdin"
expect_fail 1 "invalid user name" sh -c "echo password1 | $BIN/p2psip-admin -s $ADMIN_SOCK user add 'x; DROP TABLE users' --password-stdin"
expect_fail 1 "invalid user name" sh -c "echo password1 | $BIN/p2psip-admin -s $ADMIN_SOCK user add Alice --password-stdin"
expect_fail 1 "role" sh -c "echo password1 | $BIN/p2psip-admin -s $ADMIN_SOCK user add bob --role admin --password-stdin"
expect_fail 1 "too short" sh -c "echo short | $BIN/p2psip-admin -s $ADMIN_SOCK user add bob --password-stdin"
expect_fail 1 "no password" sh -c "$BIN/p2psip-admin -s $ADMIN_SOCK user add bob --password-stdin </dev/null"
expect_fail 1 "no terminal" sh -c "setsid $BIN/p2psip-admin -s $ADMIN_SOCK user add bob </dev/null"
add_user sn1 "supernode password" supernode
add_user bob "bob password"

note "user list: table and JSON"
admin user list >"$T/list.txt" || fail "user list"
head -n 1 "$T/list.txt" | grep -q "^NAME .*ROLE .*STATUS" || fail "table header"
assert_eq 4 "$(wc -l <"$T/list.txt")" "lines in user table"
admin user list --json >"$T/list.json" || fail "user list --json"
assert_eq '["alice","bob","sn1"]' "$(jq -c '[.[].name]' "$T/list.json")" "names"
assert_eq supernode "$(jq -r '.[] | select(.name=="sn1") | .role' "$T/list.json")" "role of sn1"

note "user passwd changes what logs in"
make_csr bob
assert_eq 200 "$(login bob "bob password" bob)" "login before passwd"
echo "bob new password" | admin user passwd bob --password-stdin >/dev/null || fail "passwd"
assert_eq 401 "$(login bob "bob password" bob)" "old password after passwd"
assert_eq 200 "$(login bob "bob new password" bob)" "new password after passwd"
expect_fail 1 "no such user" sh -c "echo password1 | $BIN/p2psip-admin -s $ADMIN_SOCK user passwd nobody --password-stdin"

note "user disable refuses logins and revokes live certificates; enable lets in again"
serial=$(serial_of "$T/bob.crt")
out=$(admin user disable bob) || fail "disable"
assert_contains "$out" "certificates revoked" "disable output"
assert_eq 401 "$(login bob "bob new password" bob)" "login while disabled"
https GET "$LD_URL/v1/crl.pem" >/dev/null
openssl crl -in "$T/resp" -noout -text | grep -q "$serial" || fail "disabled user's cert not in CRL"
admin user list --json | jq -e '.[] | select(.name=="bob" and .disabled and .live_certs==0)' >/dev/null ||
	fail "bob not shown disabled"
admin user enable bob >/dev/null || fail "enable"
assert_eq 200 "$(login bob "bob new password" bob)" "login after enable"
expect_fail 1 "no such user" admin user disable nobody

note "cert list: table, JSON, filter; cert revoke with its errors"
admin cert list >"$T/certs.txt" || fail "cert list"
head -n 1 "$T/certs.txt" | grep -q "^SERIAL .*NAME" || fail "cert table header"
grep -q "revoked" "$T/certs.txt" || fail "revoked cert not shown"
admin cert list --user bob --json >"$T/bob.json" || fail "cert list --user"
[ "$(jq 'length' "$T/bob.json")" -ge 3 ] || fail "bob has fewer than 3 certificates"
jq -e 'all(.[]; .name=="bob")' "$T/bob.json" >/dev/null || fail "filter let others through"
live=$(serial_of "$T/bob.crt")
lower=$(echo "$live" | tr A-F a-f | sed 's/../&:/g; s/:$//')
admin cert revoke "$lower" >/dev/null || fail "revoke by colon-separated lower-case serial"
expect_fail 1 "already revoked" admin cert revoke "$live"
expect_fail 1 "no certificate with serial" admin cert revoke 0123456789ABCDEF
expect_fail 1 "not a hexadecimal serial" admin cert revoke xyz
expect_fail 1 "unknown revocation reason" admin cert revoke 0123 --reason because

note "cert issue-server: a TLS certificate for another server"
make_csr srv
admin cert issue-server --csr "$T/srv.csr" --dns boot.example --ip 192.0.2.7 --out "$T/srv.crt" \
	2>/dev/null || fail "issue-server"
openssl verify -CAfile "$CA" "$T/srv.crt" >/dev/null || fail "server cert does not verify"
openssl x509 -in "$T/srv.crt" -noout -ext subjectAltName | grep -q "DNS:boot.example, IP Address:192.0.2.7" ||
	fail "server SAN"
openssl x509 -in "$T/srv.crt" -noout -subject -nameopt RFC2253 | grep -q "OU=server" || fail "server role"
expect_fail 2 "needs --csr" admin cert issue-server --dns x.example
expect_fail 1 "dns" admin cert issue-server --csr "$T/srv.csr" --dns "bad_name!"
make_csr rsa rsa
expect_fail 1 "RSA keys are not accepted" admin cert issue-server --csr "$T/rsa.csr" --dns x.example

note "user del revokes and removes; certificates stay on record"
serial=$(serial_of "$T/bob.crt")
make_csr bob2
assert_eq 200 "$(login bob "bob new password" bob2)" "login before delete"
out=$(admin user del bob) || fail "del"
assert_contains "$out" "1 certificates revoked" "del output"
assert_eq 401 "$(login bob "bob new password" bob2)" "login after delete"
admin user list --json | jq -e 'all(.[]; .name != "bob")' >/dev/null || fail "bob still listed"
admin cert list --user bob --json | jq -e 'length >= 4 and all(.[]; .revoked)' >/dev/null ||
	fail "bob's certificates not kept as revoked"
expect_fail 1 "no such user" admin user del bob

note "JSON output of a change"
admin --json user disable alice | jq -e '.ok == true' >/dev/null || fail "--json on disable"
echo ok
