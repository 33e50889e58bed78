#!/usr/bin/env bash
# Hostile and broken input to bootstrapd, under valgrind: bad bodies,
# foreign, expired and revoked certificates, bytes that are not TLS, a
# "super node" that accepts and never speaks. Clear errors, no change to the
# table, bootstrapd keeps serving, valgrind finds nothing.
. "$(dirname "$0")/../lib.sh"
need nc

logind_init "[certs]" "user_lifetime = 4s"
logind_start
vg_on
bootstrapd_init "check_timeout = 2s" "crl_refresh = 1s" "[http]" "max_body = 8192"
bootstrapd_start

sn_make sn1
sn_make rev
admin cert revoke "$(serial_of "$T/rev.crt")" >/dev/null || fail "revoke"
# An expired certificate: user certificates here live 4 seconds. The
# expiry is found before the role is looked at.
add_user old "password of old"
make_csr old
assert_eq 200 "$(login old "password of old" old)" "login old"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/evil-ca.key" \
	-subj "/O=overlay.example/CN=overlay CA" -days 2 -out "$T/evil-ca.crt" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/evil.key" \
	-subj "/O=overlay.example/OU=supernode/CN=sn1" -out "$T/evil.csr" 2>/dev/null
openssl x509 -req -in "$T/evil.csr" -CA "$T/evil-ca.crt" -CAkey "$T/evil-ca.key" -CAcreateserial \
	-days 1 -out "$T/evil.crt" 2>/dev/null || fail "foreign certificate"
# bootstrapd must have the CRL with "rev" in it before the checks below.
poll 20 bs_crl_lists "$(serial_of "$T/rev.crt")"
sleep 4 # "old" expires
db=$T/data/bootstrapd.db
digest=$(db_digest "$db")
P=$(free_port)

expect() { # STATUS MESSAGE-PART ACTUAL WHAT
	assert_eq "$1" "$3" "$4 (status; body $(head -c 200 "$T/resp"))"
	assert_contains "$(cat "$T/resp")" "$2" "$4 (message)"
}
addr() { echo "{\"addresses\":[{\"host\":\"$1\",\"port\":$2}]}"; }

note "bad announcement bodies"
head -c 9000 /dev/zero | tr '\0' ' ' >"$T/huge"
assert_eq 413 "$(https POST "$BS_URL/v1/announce" "$T/huge" --cert "$T/sn1.crt" --key "$T/sn1.key")" \
	"oversized body"
assert_eq 400 "$(https GET "$BS_URL/v1/config" "" -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' b)")" \
	"oversized headers"
expect 400 "bad JSON" "$(sn_post sn1 '{"addresses":[{"host":')" "truncated JSON"
expect 400 "bad JSON" "$(sn_post sn1 '"hello"')" "JSON string"
expect 400 "not a JSON object" "$(sn_post sn1 '[1]')" "JSON array"
expect 400 "empty body" "$(sn_post sn1 '')" "empty announce"
expect 400 "unknown field" "$(sn_post sn1 '{"addresses":[],"node_id":"00"}')" "unknown field"
expect 400 "1 to 8 addresses" "$(sn_post sn1 '{"addresses":[]}')" "no addresses"
expect 400 "must be an IP address" "$(sn_post sn1 "$(addr evil.example 5000)")" "host name"
expect 400 "port: must be 1..65535" "$(sn_post sn1 "$(addr 127.0.0.1 0)")" "port 0"
expect 400 "port: must be 1..65535" "$(sn_post sn1 "$(addr 127.0.0.1 70000)")" "port 70000"
expect 400 "expected an integer" "$(sn_post sn1 '{"addresses":[{"host":"127.0.0.1","port":"80"}]}')" "port as string"
nine=$(for i in $(seq 1 9); do printf '{"host":"127.0.0.1","port":%d},' $((1000 + i)); done)
expect 400 "1 to 8 addresses" "$(sn_post sn1 "{\"addresses\":[${nine%,}]}")" "nine addresses"
expect 400 "listed twice" "$(sn_post sn1 '{"addresses":[{"host":"127.0.0.1","port":5},{"host":"127.0.0.1","port":5}]}')" "duplicate"
expect 400 "load" "$(sn_post sn1 "{\"addresses\":[{\"host\":\"127.0.0.1\",\"port\":5}],\"load\":-1}")" "negative load"
expect 400 "bad JSON" "$(sn_post sn1 '{"load":1,"load":2}' v1/heartbeat)" "duplicate keys in heartbeat"

note "certificates: foreign CA, expired, revoked, none, wrong role"
post_as() { # KEY-BASE BODY
	printf '%s' "$2" >"$T/sn_body"
	https POST "$BS_URL/v1/announce" "$T/sn_body" --cert "$T/$1.crt" --key "$T/$1.key"
}
expect 401 "not issued by the overlay CA" "$(post_as evil "$(addr 127.0.0.1 "$P")")" "foreign CA"
expect 401 "certificate expired" "$(post_as old "$(addr 127.0.0.1 "$P")")" "expired"
expect 401 "certificate revoked" "$(post_as rev "$(addr 127.0.0.1 "$P")")" "revoked"
expect 401 "no client certificate" "$(https POST "$BS_URL/v1/heartbeat" "$T/sn_body")" "none"
expect 403 "only super node" "$(post_as bootstrapd "$(addr 127.0.0.1 "$P")")" "server role"

note "a listener that accepts and never speaks: the check times out, others are served"
start_bg silent nc -lk 127.0.0.1 "$P"
wait_port "$P"
printf '%s' "$(addr 127.0.0.1 "$P")" >"$T/slow_body"
curl -s -o "$T/slow_resp" -w '%{http_code}' --cacert "$CA" --cert "$T/sn1.crt" --key "$T/sn1.key" \
	--data-binary "@$T/slow_body" "$BS_URL/v1/announce" >"$T/slow_code" &
slow=$!
sleep 0.3
assert_eq 200 "$(https GET "$BS_URL/v1/config")" "config while a check hangs"
wait "$slow"
assert_eq 422 "$(cat "$T/slow_code")" "silent listener"
assert_contains "$(cat "$T/slow_resp")" "timed out" "silent listener reason"

note "bytes that are not TLS, idle connections, unknown paths"
head -c 3000 /dev/urandom | nc -w 2 127.0.0.1 "$BS_PORT" >/dev/null 2>&1
idle=()
for i in $(seq 1 20); do
	nc 127.0.0.1 "$BS_PORT" </dev/null >/dev/null 2>&1 &
	idle+=($!)
done
sleep 0.5
assert_eq 200 "$(https GET "$BS_URL/v1/supernodes")" "list while 20 idle connections are open"
for p in "${idle[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
expect 404 "no such resource" "$(https GET "$BS_URL/v1/../../etc/passwd")" "path traversal"
expect 405 "method not allowed" "$(https GET "$BS_URL/v1/announce")" "GET announce"

note "nothing changed; bootstrapd still serves and exits cleanly"
assert_eq "$digest" "$(db_digest "$db")" "database digest after hostile input"
assert_eq 200 "$(https GET "$BS_URL/v1/crl")" "CRL still served"
stop_pid "$BS_PID" || fail "bootstrapd exit status $? (valgrind error?)"
vg_check
echo ok
