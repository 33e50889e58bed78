#!/usr/bin/env bash
# Hostile and broken input to every logind listener, with logind under
# valgrind: each request gets a clear error, logind keeps serving, the
# database does not change, and valgrind finds nothing.
. "$(dirname "$0")/../lib.sh"
need nc
vg_on

logind_init "[certs]" "user_lifetime = 4s" "[limits]" "max_body = 16384" "max_headers = 8192"
logind_start
add_user alice "alice password"

note "fixtures: a revoked, an expired and a foreign certificate"
make_csr rev
assert_eq 200 "$(login alice "alice password" rev)" "login for the revoked certificate"
admin cert revoke "$(serial_of "$T/rev.crt")" >/dev/null || fail "revoke"
make_csr old
assert_eq 200 "$(login alice "alice password" old)" "login for the expired certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/evil-ca.key" \
	-subj "/O=overlay.example/CN=overlay CA" -days 2 -out "$T/evil-ca.crt" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/evil.key" \
	-subj "/O=overlay.example/OU=user/CN=alice" -out "$T/evil.csr" 2>/dev/null
openssl x509 -req -in "$T/evil.csr" -CA "$T/evil-ca.crt" -CAkey "$T/evil-ca.key" -CAcreateserial \
	-days 1 -out "$T/evil.crt" 2>/dev/null || fail "foreign certificate"
make_csr good
make_csr rsa rsa
# A CSR whose signature no longer matches: flip a bit near the end of the DER.
openssl req -in "$T/good.csr" -outform DER -out "$T/bad.der"
size=$(stat -c %s "$T/bad.der")
byte=$(od -An -tu1 -j $((size - 3)) -N1 "$T/bad.der" | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$T/bad.der" bs=1 seek=$((size - 3)) conv=notrunc 2>/dev/null
openssl req -inform DER -in "$T/bad.der" -out "$T/badsig.csr" 2>/dev/null || fail "bad CSR"
sleep 4 # the "old" certificate expires
db=$T/data/logind.db
digest=$(db_digest "$db")

post() { # BODY-TEXT [curl options]: prints status
	local body=$1
	shift
	printf '%s' "$body" >"$T/body"
	https POST "$LD_URL/v1/login" "$T/body" "$@"
}
expect() { # STATUS MESSAGE-PART ACTUAL-STATUS WHAT
	assert_eq "$1" "$3" "$4 (status; body $(head -c 200 "$T/resp"))"
	assert_contains "$(cat "$T/resp")" "$2" "$4 (message)"
}
body() { # USER PASSWORD CSRFILE
	jq -n --arg u "$1" --arg p "$2" --rawfile c "$3" '{user: $u, password: $p, csr: $c}'
}

note "oversized, truncated and malformed bodies"
head -c 20000 /dev/zero | tr '\0' 'a' >"$T/huge"
assert_eq 413 "$(https POST "$LD_URL/v1/login" "$T/huge")" "oversized body"
echo '{}' >"$T/body"
assert_eq 400 "$(https POST "$LD_URL/v1/login" "$T/body" -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' b)")" \
	"oversized headers"
expect 400 "bad JSON" "$(post '{"user":"alice","pass')" "truncated JSON"
expect 400 "bad JSON" "$(post 'not json at all')" "not JSON"
expect 400 "not a JSON object" "$(post '[1,2,3]')" "JSON array"
expect 400 "empty body" "$(post '')" "empty body"
expect 400 "bad JSON" "$(post '{"user":"alice","user":"bob","password":"x","csr":"y"}')" "duplicate keys"
expect 400 "unknown field" "$(post '{"user":"alice","password":"x","csr":"y","admin":true}')" "unknown field"
expect 400 "user: expected a string" "$(post '{"user":42,"password":"x","csr":"y"}')" "wrong type"
expect 400 "password: length" "$(post "$(body alice "$(head -c 2000 /dev/zero | tr '\0' p)" "$T/good.csr")")" "huge password"
expect 400 "is not allowed" "$(post '{"user":"alice","password":"a\u0000b","csr":"y"}')" "NUL in password"

note "CSRs of another key type, with a bogus signature, or not CSRs"
expect 400 "RSA keys are not accepted" "$(post "$(body alice "alice password" "$T/rsa.csr")")" "RSA CSR"
expect 400 "signature does not verify" "$(post "$(body alice "alice password" "$T/badsig.csr")")" "bogus CSR signature"
echo "-----BEGIN CERTIFICATE REQUEST-----garbage" >"$T/junk.csr"
expect 400 "not a PEM certificate request" "$(post "$(body alice "alice password" "$T/junk.csr")")" "junk CSR"

note "names with quotes, SQL and control characters"
for name in "alice'--" "\"; DROP TABLE users; --" "$(printf 'al\001ice')" "ALICE" "../etc/passwd" \
	"$(head -c 65 /dev/zero | tr '\0' a)"; do
	expect 400 "user:" "$(post "$(body "$name" "alice password" "$T/good.csr")")" "user name '$name'"
done

note "client certificates: foreign CA, expired, revoked, none"
jq -n --rawfile c "$T/good.csr" '{csr: $c}' >"$T/renew.json"
renew() { https POST "$LD_URL/v1/renew" "$T/renew.json" "$@"; }
expect 401 "not issued by the overlay CA" "$(renew --cert "$T/evil.crt" --key "$T/evil.key")" "foreign CA"
expect 401 "certificate expired" "$(renew --cert "$T/old.crt" --key "$T/old.key")" "expired"
expect 401 "certificate revoked" "$(renew --cert "$T/rev.crt" --key "$T/rev.key")" "revoked"
expect 401 "no client certificate" "$(renew)" "no certificate"

note "wrong method, unknown path"
expect 405 "method not allowed" "$(https GET "$LD_URL/v1/login")" "GET on login"
expect 404 "no such resource" "$(https GET "$LD_URL/admin")" "unknown path"

note "bytes that are not TLS, and connections that say nothing"
head -c 3000 /dev/urandom | nc -w 2 127.0.0.1 "$LD_PORT" >/dev/null 2>&1
printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 127.0.0.1 "$LD_PORT" >/dev/null 2>&1
idle=()
for i in $(seq 1 20); do
	nc 127.0.0.1 "$LD_PORT" </dev/null >/dev/null 2>&1 &
	idle+=($!)
done
sleep 0.5
assert_eq 200 "$(https GET "$LD_URL/v1/ca")" "service while 20 idle connections are open"
for p in "${idle[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done

note "admin socket: garbage, oversized frame, bad JSON, unknown operation"
reply=$(head -c 100 /dev/urandom | nc -U -w 2 "$ADMIN_SOCK" | tail -c +5)
printf '\x7f\xff\xff\xff' | nc -U -w 2 "$ADMIN_SOCK" | tail -c +5 | grep -q "out of range" ||
	fail "oversized admin frame: no clear error"
printf '\x00\x00\x00\x05{"op"' | nc -U -w 2 "$ADMIN_SOCK" | tail -c +5 | grep -q "bad JSON" ||
	fail "bad JSON admin frame"
frame() { # JSON-TEXT: the text with its 4-byte length in front
	local n=${#1}
	printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((n >> 24)) $((n >> 16 & 255)) \
		$((n >> 8 & 255)) $((n & 255)))%s" "$1"
}
frame '{"op":"drop_table"}' | nc -U -w 2 "$ADMIN_SOCK" | tail -c +5 |
	grep -q "unknown operation" || fail "unknown admin operation"
frame '{"op":"user_del","name":"a\u0001b"}' | nc -U -w 2 "$ADMIN_SOCK" | tail -c +5 |
	grep -q "invalid user name" || fail "control character in admin name"
frame '{"op":"user_add","name":"eve","password":"longenough","role":"root"}' |
	nc -U -w 2 "$ADMIN_SOCK" | tail -c +5 | grep -q "role" || fail "bad role over the socket"

note "nothing changed, and logind still serves"
assert_eq "$digest" "$(db_digest "$db")" "database digest after hostile input"
admin user list --json | jq -e 'length == 1' >/dev/null || fail "admin no longer answers"
assert_eq 200 "$(login alice "alice password" good)" "login after hostile input"
stop_pid "$LD_PID" || fail "logind exit status $? (valgrind error?)"
vg_check
echo ok
