#!/usr/bin/env bash
# One password buys at most max_live_user (3) live Node-IDs: a fourth login
# with a fresh key (a Sybil, or a reinstalled phone) gets its certificate,
# and the account's oldest Node-ID is revoked as superseded and listed in the
# CRL. A login or renewal with a key already live keeps its Node-ID and
# revokes nothing; super node accounts are capped the same way.
. "$(dirname "$0")/../lib.sh"

logind_init "[certs]" "max_live_supernode = 2"
vg_on
logind_start
add_user alice "alice password"
add_user sn1 "sn1 password" supernode

live() { # NAME: live serials of NAME, sorted
	admin cert list --user "$1" --json | jq -r '.[] | select(.revoked | not) | .serial' | sort
}
live_ids() { admin cert list --user "$1" --json | jq '[.[] | select(.revoked | not) | .node_id] | unique | length'; }
crl_text() { https GET "$LD_URL/v1/crl" >/dev/null && openssl crl -inform DER -in "$T/resp" -noout -text; }

note "four logins of alice with four keys: each gets a certificate, three stay live"
for k in k1 k2 k3 k4; do
	make_csr "$k"
	assert_eq 200 "$(login alice "alice password" "$k")" "login with $k"
	eval "s_$k=$(serial_of "$T/$k.crt")"
done
assert_eq 3 "$(live alice | wc -l)" "live certificates of alice"
assert_eq 3 "$(live_ids alice)" "live Node-IDs of alice"
live alice | grep -qx "$s_k1" && fail "the oldest certificate is still live"
admin cert list --user alice --json | jq -e --arg s "$s_k1" \
	'.[] | select(.serial == $s) | .reason == "superseded"' >/dev/null || fail "k1 not revoked as superseded"
crl_text >"$T/crl.txt"
grep -q "Serial Number: $s_k1" "$T/crl.txt" || fail "k1 not in the CRL"
grep -q "Superseded" "$T/crl.txt" || fail "reason not in the CRL"
grep -q "alice: over its cap of live Node-IDs: revoked certificate $s_k1" "$T/logind.log" || fail "not logged"
note "the superseded certificate no longer renews"
jq -n --rawfile c "$T/k1.csr" '{csr: $c}' >"$T/renew1.json"
assert_eq 401 "$(https POST "$LD_URL/v1/renew" "$T/renew1.json" --cert "$T/k1.crt" --key "$T/k1.key")" "renew with k1"
assert_contains "$(cat "$T/resp")" "revoked" "renew with k1"

note "a login and a renewal with a live key keep its Node-ID: nothing revoked"
cp "$T/k4.crt" "$T/k4.first.crt"
assert_eq 200 "$(login alice "alice password" k4)" "login again with k4"
jq -n --rawfile c "$T/k2.csr" '{csr: $c}' >"$T/renew2.json"
assert_eq 200 "$(https POST "$LD_URL/v1/renew" "$T/renew2.json" --cert "$T/k2.crt" --key "$T/k2.key")" "renew k2"
assert_eq 3 "$(live_ids alice)" "live Node-IDs after the same-key login and renewal"
live alice | grep -qx "$s_k2" || fail "k2's renewed certificate was revoked"
live alice | grep -qx "$s_k3" || fail "k3 was revoked by another key's renewal"
assert_eq 1 "$(grep -c "alice: over its cap" "$T/logind.log")" "revocations of alice"

note "a renewal to a new key at the cap gives up its own old Node-ID, not k3's"
make_csr k5
jq -n --rawfile c "$T/k5.csr" '{csr: $c}' >"$T/renew5.json"
assert_eq 200 "$(https POST "$LD_URL/v1/renew" "$T/renew5.json" --cert "$T/k4.crt" --key "$T/k4.key")" "renew k4 to k5"
assert_eq 3 "$(live_ids alice)" "live Node-IDs after the rekey"
live alice | grep -qx "$s_k3" || fail "k3 was revoked by k4's rekey"
live alice | grep -qx "$(serial_of "$T/k4.crt")" && fail "k4 stayed live after its rekey"

note "super node accounts: max_live_supernode = 2"
for k in s1 s2 s3; do
	make_csr "$k"
	assert_eq 200 "$(login sn1 "sn1 password" "$k")" "sn1 login with $k"
done
assert_eq 2 "$(live_ids sn1)" "live Node-IDs of sn1"
live sn1 | grep -qx "$(serial_of "$T/s1.crt")" && fail "sn1's oldest is still live"

curl -s "http://127.0.0.1:$LD_STATUS/status" >"$T/status.json"
[ "$(jq .certs_superseded "$T/status.json")" -ge 3 ] || fail "certs_superseded: $(jq .certs_superseded "$T/status.json")"
curl -s "http://127.0.0.1:$LD_STATUS/metrics" | grep -q '^p2psip_logind_certs_superseded_total [1-9]' ||
	fail "metrics: no certs_superseded_total"
stop_pid "$LD_PID" || fail "logind did not stop cleanly"
vg_check
echo ok
