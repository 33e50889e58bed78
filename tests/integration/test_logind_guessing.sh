#!/usr/bin/env bash
# An attacker guessing alice's password from one address (127.0.0.2) is
# slowed, then refused, and does not lock alice out: with the default
# slow_after and lockout_after, after 20 wrong passwords alice still logs in
# from her own address, while the attacker's address is refused even with
# the right password. The administrator sees one address lockout and one
# slowed user, no user lockout.
. "$(dirname "$0")/../lib.sh"

logind_init "[ratelimit]" "max_delay = 1s"
vg_on
logind_start
add_user alice "alice password"
make_csr thief
make_csr alice

note "20 wrong passwords from 127.0.0.2: 401 at once, 401 slowed, then 429"
codes=()
s=$(date +%s%N)
for i in $(seq 1 20); do codes+=("$(login alice "guess $i" thief --interface 127.0.0.2)"); done
ms=$((($(date +%s%N) - s) / 1000000))
assert_eq "401 401 401 401 401 401 401 401 401 401" "${codes[*]:0:10}" "first ten guesses"
assert_eq "429 429 429 429 429 429 429 429 429 429" "${codes[*]:10:10}" "last ten guesses"
[ "$ms" -ge 6000 ] || fail "the guesses were not slowed (${ms} ms for 20)"
grep -q "address 127.0.0.2 locked out" "$T/logind.log" || fail "lockout of the address not logged"
[ -e "$T/thief.crt" ] && fail "the thief got a certificate"

note "alice, from an address that has not failed, still gets in"
assert_eq 200 "$(login alice "alice password" alice)" "alice from 127.0.0.1"
openssl x509 -in "$T/alice.crt" -noout -subject | grep -q "CN = alice" || fail "alice's certificate"

note "the attacking address stays refused, even with the right password"
assert_eq 429 "$(login alice "alice password" thief --interface 127.0.0.2)" "thief with the password"
assert_contains "$(cat "$T/resp")" "from this address" "429 says why"

note "the administrator's view"
curl -s "http://127.0.0.1:$LD_STATUS/status" >"$T/status.json"
assert_eq '{"address":1}' "$(jq -c .lockouts "$T/status.json")" "lockouts"
assert_eq 1 "$(jq .users_slowed "$T/status.json")" "users_slowed"
[ "$(jq .logins_refused "$T/status.json")" -ge 11 ] || fail "logins_refused: $(jq .logins_refused "$T/status.json")"
grep -q "user alice locked" "$T/logind.log" && fail "the user was locked"
stop_pid "$LD_PID" || fail "logind did not stop cleanly"
vg_check
echo ok
