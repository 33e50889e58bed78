#!/usr/bin/env bash
# bootstrapd with logind: configuration, announcements checked by connecting
# back (super nodes played by openssl s_server), heartbeats and their
# timeout, persistence across a restart, and the CRL fetched from logind and
# still served while logind is down.
. "$(dirname "$0")/../lib.sh"

logind_init
logind_start
bootstrapd_init "heartbeat_timeout = 6s" "crl_refresh = 1s" "list_default = 2" "list_max = 3" \
	"[timers]" "heartbeat_interval = 1s"

note "flags and configuration"
"$BIN/bootstrapd" --version | grep -q "^bootstrapd " || fail "--version"
"$BIN/bootstrapd" -c "$T/bootstrapd.conf" -n | grep -q "^heartbeat_interval = 1s$" || fail "-n"
printf '[bootstrapd]\noverlay = o\n' >"$T/bad.conf"
out=$("$BIN/bootstrapd" -c "$T/bad.conf" -n 2>&1) && fail "config without logind_url accepted"
assert_contains "$out" "logind_url is required" "missing key"

bootstrapd_start
note "the overlay configuration"
assert_eq 200 "$(https GET "$BS_URL/v1/config")" "GET config"
assert_eq overlay.example "$(jq -r .overlay "$T/resp")" "overlay"
assert_eq "$LD_URL" "$(jq -r .logind_url "$T/resp")" "logind_url"
cmp -s <(jq -j .ca_certificate "$T/resp") "$CA" || fail "CA certificate differs"
assert_eq 1 "$(jq .timers.heartbeat_interval "$T/resp")" "timers"
assert_eq 4096 "$(jq .limits.record_value_max "$T/resp")" "limits"

note "the CRL comes from logind"
crl_served() { [ "$(https GET "$BS_URL/v1/crl")" = 200 ]; }
poll 4 crl_served
openssl crl -inform DER -in "$T/resp" -CAfile "$CA" -noout 2>&1 | grep -q "verify OK" || fail "CRL"

note "announce: listed only after the return reachability test"
sn_make sn1
sn_make sn2
sn_make sn3
P1=$(free_port) P2=$(free_port) P3=$(free_port) PX=$(free_port)
sn_serve sn1 "$P1"
sn_serve sn2 "$P2"
code=$(sn_post sn1 "{\"addresses\":[{\"host\":\"127.0.0.1\",\"port\":$P1}],\"load\":0}")
assert_eq 200 "$code" "announce sn1: $(cat "$T/resp")"
nid1=$(openssl x509 -in "$T/sn1.crt" -noout -pubkey | openssl pkey -pubin -outform DER |
	sha256sum | cut -c1-32 | tr a-f A-F)
assert_eq "$nid1" "$(jq -r .node_id "$T/resp")" "Node-ID from the announcement"

note "a different node at the address, nothing there, a non-super-node there"
code=$(sn_post sn3 "{\"addresses\":[{\"host\":\"127.0.0.1\",\"port\":$P2}]}")
assert_eq 422 "$code" "sn3 announcing sn2's address"
assert_contains "$(cat "$T/resp")" "Node-ID mismatch" "mismatch reason"
code=$(sn_post sn3 "{\"addresses\":[{\"host\":\"127.0.0.1\",\"port\":$PX}]}")
assert_eq 422 "$code" "nothing listening"
assert_contains "$(cat "$T/resp")" "Connection refused" "refused reason"
code=$(sn_post sn3 "{\"addresses\":[{\"host\":\"127.0.0.1\",\"port\":$LD_PORT}]}")
assert_eq 422 "$code" "logind at the address"
assert_contains "$(cat "$T/resp")" "not a super node" "role reason"
code=$(sn_post sn2 "{\"addresses\":[{\"host\":\"127.0.0.1\",\"port\":$P2},{\"host\":\"127.0.0.1\",\"port\":$PX}]}")
assert_eq 422 "$code" "one of two addresses unreachable"
add_user alice "alice password"
make_csr alice
login alice "alice password" alice >/dev/null
code=$(sn_post alice "{\"addresses\":[{\"host\":\"127.0.0.1\",\"port\":$P1}]}")
assert_eq 403 "$code" "user certificate announcing"
code=$(https POST "$BS_URL/v1/announce" "$T/sn_body")
assert_eq 401 "$code" "announce without certificate"

note "the list: live, verified, at most count, a uniform sample whatever the load claimed"
sn_post sn2 "{\"addresses\":[{\"host\":\"127.0.0.1\",\"port\":$P2}],\"load\":1000}" >/dev/null
sn_serve sn3 "$P3"
assert_eq 200 "$(sn_post sn3 "{\"addresses\":[{\"host\":\"127.0.0.1\",\"port\":$P3}],\"load\":0}")" "sn3"
assert_eq 200 "$(sn_post sn1 "{\"addresses\":[{\"host\":\"127.0.0.1\",\"port\":$P1}],\"load\":1000}")" "sn1 again"
https GET "$BS_URL/v1/supernodes?count=10" >/dev/null
assert_eq 3 "$(jq '.supernodes | length' "$T/resp")" "count capped by list_max"
https GET "$BS_URL/v1/supernodes" >/dev/null
assert_eq 2 "$(jq '.supernodes | length' "$T/resp")" "list_default"
# sn3 plays the attacker: its heartbeats claim load 0 against 1000 for the
# others, to be handed to every newcomer (the old weighting 1/(1+load) gave
# it about 999 of 1000). Over 60 lists of one, each should come first about
# 20 times; the bounds are more than 3 standard deviations out.
assert_eq 200 "$(sn_post sn3 '{"load":0}' v1/heartbeat)" "sn3 claims no load"
assert_eq 200 "$(sn_post sn2 '{"load":1000}' v1/heartbeat)" "sn2 busy"
declare -A first=([sn1]=0 [sn2]=0 [sn3]=0)
for i in $(seq 1 60); do
	https GET "$BS_URL/v1/supernodes?count=1" >/dev/null
	n=$(jq -r '.supernodes[0].name' "$T/resp")
	first[$n]=$((${first[$n]:-0} + 1))
done
note "first in 60 lists: sn1 ${first[sn1]}, sn2 ${first[sn2]}, sn3 (claims load 0) ${first[sn3]}"
[ "${first[sn3]}" -le 35 ] || fail "the node claiming no load came first ${first[sn3]} times of 60"
[ "${first[sn1]}" -ge 8 ] && [ "${first[sn2]}" -ge 8 ] || fail "honest nodes starved: ${first[*]}"
assert_eq 400 "$(https GET "$BS_URL/v1/supernodes?count=abc")" "bad count"

note "heartbeats keep a node listed; silence drops it"
assert_eq 200 "$(sn_post sn1 "{\"addresses\":[{\"host\":\"127.0.0.1\",\"port\":$P1}]}")" "re-announce sn1"
stop_deadline=$(($(date +%s) + 8))
while [ "$(date +%s)" -lt "$stop_deadline" ]; do
	assert_eq 200 "$(sn_post sn1 '{"load":3}' v1/heartbeat)" "heartbeat sn1"
	sleep 0.5
done
https GET "$BS_URL/v1/supernodes?count=3" >/dev/null
assert_eq '["sn1"]' "$(jq -c '[.supernodes[].name]' "$T/resp")" "only the node that kept beating"
assert_eq 3 "$(jq '.supernodes[0].load' "$T/resp")" "load from the heartbeat"
assert_eq 404 "$(sn_post sn2 '{}' v1/heartbeat)" "heartbeat after being dropped"
assert_contains "$(cat "$T/resp")" "announce again" "dropped node told to announce"

note "the table survives a restart"
assert_eq 200 "$(sn_post sn3 "{\"addresses\":[{\"host\":\"127.0.0.1\",\"port\":$P3}]}")" "re-announce sn3"
stop_pid "$BS_PID" || fail "bootstrapd exit status"
bootstrapd_start
https GET "$BS_URL/v1/supernodes?count=3" >/dev/null
jq -e '[.supernodes[].name] | index("sn3")' "$T/resp" >/dev/null || fail "sn3 lost in restart"

note "withdraw"
assert_eq 200 "$(sn_post sn3 '{}' v1/withdraw)" "withdraw"
https GET "$BS_URL/v1/supernodes?count=3" >/dev/null
jq -e '[.supernodes[].name] | index("sn3") | not' "$T/resp" >/dev/null || fail "sn3 still listed"

note "revocation reaches bootstrapd: the CRL, the list, the super node's requests"
assert_eq 200 "$(sn_post sn1 "{\"addresses\":[{\"host\":\"127.0.0.1\",\"port\":$P1}]}")" "re-announce sn1"
serial=$(serial_of "$T/sn1.crt")
admin cert revoke "$serial" >/dev/null || fail "revoke sn1"
wait_until 5 "CRL not refreshed" bs_crl_lists "$serial"
https GET "$BS_URL/v1/supernodes?count=3" >/dev/null
jq -e '[.supernodes[].name] | index("sn1") | not' "$T/resp" >/dev/null || fail "revoked sn1 listed"
assert_eq 401 "$(sn_post sn1 '{}' v1/heartbeat)" "heartbeat with a revoked certificate"
assert_contains "$(cat "$T/resp")" "revoked" "revoked reason"
cp "$T/resp" "$T/crl.before"

note "logind down: the cached CRL is still served, also after a restart"
https GET "$BS_URL/v1/crl" >/dev/null
cp "$T/resp" "$T/crl.cached"
stop_pid "$LD_PID"
sleep 1.5
assert_eq 200 "$(https GET "$BS_URL/v1/crl")" "CRL with logind down"
cmp -s "$T/resp" "$T/crl.cached" || fail "CRL changed with logind down"
stop_pid "$BS_PID" || fail "bootstrapd exit status"
bootstrapd_start
assert_eq 200 "$(https GET "$BS_URL/v1/crl")" "CRL after restart with logind down"
cmp -s "$T/resp" "$T/crl.cached" || fail "CRL after restart differs"
assert_eq 200 "$(https GET "$BS_URL/v1/status")" "status"
assert_eq false "$(jq .logind_reachable "$T/resp")" "status shows logind unreachable"
echo ok
