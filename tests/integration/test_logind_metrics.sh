#!/usr/bin/env bash
# logind's local status port (logind under valgrind): GET /metrics parses as
# Prometheus text, and each figure moves by what was done: accounts added
# and deleted, logins right and wrong, an unknown and a disabled user, a
# lockout, renewals, a server certificate, revocations with p2psip-admin, an
# open connection. GET /status agrees with it; /v1/status keeps its fields.
# Hostile requests to the port get clear errors and change nothing. The
# port can be turned off, and a port in use stops logind at start-up.
. "$(dirname "$0")/../lib.sh"
need nc

logind_init "[ratelimit]" "slow_after = 2" "lockout_after = 4" "window = 60s" "lockout = 60s" \
	"max_delay = 1s"
"$BIN/logind" -c "$T/logind.conf" -n | grep -qx "status_listen = 127.0.0.1:$LD_STATUS" ||
	fail "-n does not show status_listen"
vg_on
logind_start
wait_port "$LD_STATUS"
P=p2psip_logind_

note "the first scrape: Prometheus text, every metric with HELP and TYPE"
scrape "$LD_STATUS" $P
cp "$T/metrics" "$T/m0"
for m in logins_ok_total 'logins_failed_total{why="wrong_password"}' \
	'logins_failed_total{why="unknown_user"}' 'logins_failed_total{why="disabled"}' \
	logins_refused_total logins_delayed_total logins_busy_total \
	users_slowed_total 'lockouts_total{key="address"}' ratelimit_keys renewals_total \
	renewals_refused_total 'certs_issued_total{role="user"}' 'certs_issued_total{role="supernode"}' \
	'certs_issued_total{role="server"}' 'certs_issued_total{role="gateway"}' certs_revoked_total crl_number crl_age_seconds crl_entries \
	'users{role="user"}' 'users{role="supernode"}' 'users{role="gateway"}' hash_queue connections; do
	[ -n "$(mval "$T/m0" "$P$m")" ] || fail "$P$m missing: $(cat "$T/m0")"
done
assert_eq 0 "$(mval "$T/m0" "${P}logins_ok_total")" "logins at start"
assert_eq 0 "$(mval "$T/m0" "${P}users{role=\"user\"}")" "users at start"
assert_eq 1 "$(mval "$T/m0" "${P}crl_number")" "CRL number at start"
grep -q '^content-type: text/plain; version=0.0.4' \
	<(curl -s -D - -o /dev/null "http://127.0.0.1:$LD_STATUS/metrics" | tr A-Z a-z) ||
	fail "content type of /metrics"

note "accounts: the count follows additions and deletions"
add_user alice "alice password"
add_user bob "bob password"
add_user dora "dora password"
add_user sn1 "sn1 password" supernode
add_user gw1 "gw1 password" gateway
scrape "$LD_STATUS" $P
assert_delta "$T/m0" "${P}users{role=\"user\"}" 3
assert_delta "$T/m0" "${P}users{role=\"supernode\"}" 1
assert_delta "$T/m0" "${P}users{role=\"gateway\"}" 1
admin user del dora >/dev/null || fail "user del"
scrape "$LD_STATUS" $P
assert_delta "$T/m0" "${P}users{role=\"user\"}" 2

note "logins: right, wrong, unknown, disabled"
# Each failure from its own loopback address, so that only the user names count.
make_csr alice
make_csr sn1
make_csr gw1
make_csr x
cp "$T/metrics" "$T/m1"
assert_eq 200 "$(login alice "alice password" alice)" "alice"
assert_eq 200 "$(login sn1 "sn1 password" sn1)" "sn1"
assert_eq 200 "$(login gw1 "gw1 password" gw1)" "gw1"
assert_eq 401 "$(login alice wrong x --interface 127.0.0.2)" "alice, wrong password"
assert_eq 401 "$(login nobody wrong x --interface 127.0.0.3)" "unknown user"
admin user disable bob >/dev/null || fail "disable bob"
assert_eq 401 "$(login bob "bob password" x --interface 127.0.0.4)" "disabled bob"
scrape "$LD_STATUS" $P
assert_delta "$T/m1" "${P}logins_ok_total" 3
assert_delta "$T/m1" "${P}logins_failed_total{why=\"wrong_password\"}" 1
assert_delta "$T/m1" "${P}logins_failed_total{why=\"unknown_user\"}" 1
assert_delta "$T/m1" "${P}logins_failed_total{why=\"disabled\"}" 1
assert_delta "$T/m1" "${P}certs_issued_total{role=\"user\"}" 1
assert_delta "$T/m1" "${P}certs_issued_total{role=\"supernode\"}" 1
assert_delta "$T/m1" "${P}certs_issued_total{role=\"server\"}" 0
assert_delta "$T/m1" "${P}certs_issued_total{role=\"gateway\"}" 1
assert_delta "$T/m1" "${P}logins_delayed_total" 0
assert_delta "$T/m1" "${P}certs_revoked_total" 0

note "a lockout: two failures at once, two delayed, then the lock and a 429"
cp "$T/metrics" "$T/m2"
for i in 1 2 3 4; do
	assert_eq 401 "$(login carol "guess$i" x --interface 127.0.0.5)" "carol guess $i"
done
assert_eq 429 "$(login carol guess5 x --interface 127.0.0.5)" "carol while locked"
scrape "$LD_STATUS" $P
assert_delta "$T/m2" "${P}logins_failed_total{why=\"unknown_user\"}" 4
assert_delta "$T/m2" "${P}logins_delayed_total" 2
assert_delta "$T/m2" "${P}users_slowed_total" 1
assert_delta "$T/m2" "${P}lockouts_total{key=\"address\"}" 1
assert_delta "$T/m2" "${P}logins_refused_total" 1
assert_delta "$T/m2" "${P}logins_ok_total" 0
# 127.0.0.5 locked, carol slowed; alice, nobody, bob and 127.0.0.2-4 still counted.
[ "$(mval "$T/metrics" "${P}ratelimit_keys")" -ge 2 ] || fail "ratelimit_keys"

note "renewals, and a server certificate through the admin socket"
cp "$T/metrics" "$T/m3"
make_csr alice2
jq -n --rawfile c "$T/alice2.csr" '{csr: $c}' >"$T/renew.json"
assert_eq 200 "$(https POST "$LD_URL/v1/renew" "$T/renew.json" --cert "$T/alice.crt" \
	--key "$T/alice.key")" "renew"
assert_eq 401 "$(https POST "$LD_URL/v1/renew" "$T/renew.json")" "renew without certificate"
echo '{"csr": 1}' >"$T/badrenew.json"
assert_eq 400 "$(https POST "$LD_URL/v1/renew" "$T/badrenew.json" --cert "$T/alice.crt" \
	--key "$T/alice.key")" "renew with a bad body"
make_csr srv
admin cert issue-server --csr "$T/srv.csr" --dns srv.example --out "$T/srv.crt" >/dev/null ||
	fail "issue-server"
scrape "$LD_STATUS" $P
assert_delta "$T/m3" "${P}renewals_total" 1
assert_delta "$T/m3" "${P}renewals_refused_total" 2
assert_delta "$T/m3" "${P}certs_issued_total{role=\"user\"}" 1
assert_delta "$T/m3" "${P}certs_issued_total{role=\"server\"}" 1
assert_delta "$T/m3" "${P}logins_ok_total" 0

note "revocations: cert revoke, and user disable with a live certificate"
cp "$T/metrics" "$T/m4"
admin cert revoke "$(serial_of "$T/alice.crt")" >/dev/null || fail "revoke"
scrape "$LD_STATUS" $P
assert_delta "$T/m4" "${P}certs_revoked_total" 1
assert_delta "$T/m4" "${P}crl_number" 1
assert_delta "$T/m4" "${P}crl_entries" 1
admin user disable sn1 >/dev/null || fail "disable sn1"
scrape "$LD_STATUS" $P
assert_delta "$T/m4" "${P}certs_revoked_total" 2
assert_delta "$T/m4" "${P}crl_number" 2
assert_delta "$T/m4" "${P}crl_entries" 2
# thisUpdate is set 5 minutes back for clock skew; the CRL was signed just now.
age=$(mval "$T/metrics" "${P}crl_age_seconds")
[ "$age" -ge 295 ] && [ "$age" -le 400 ] || fail "crl_age_seconds $age, want about 300"
assert_eq 0 "$(mval "$T/metrics" "${P}hash_queue")" "hash queue at rest"

note "an open connection is counted"
conn_counted "$LD_PORT" "$LD_STATUS" $P

note "/status: the /v1/status fields and the new figures, in agreement with /metrics"
scrape "$LD_STATUS" $P
curl -s --max-time 5 "http://127.0.0.1:$LD_STATUS/status" >"$T/status.json"
jq -e . "$T/status.json" >/dev/null || fail "/status is not JSON"
assert_eq 200 "$(https GET "$LD_URL/v1/status")" "/v1/status"
assert_eq '["connections","crl_number","hash_queue","logins_failed","logins_ok","logins_refused","overlay","service"]' \
	"$(jq -c 'keys' "$T/resp")" "/v1/status fields"
jq -e --slurpfile v "$T/resp" '. as $s | $v[0] | to_entries |
	all(.key == "connections" or .value == $s[.key])' "$T/status.json" >/dev/null ||
	fail "/status lacks or differs in /v1/status fields: $(cat "$T/status.json") vs $(cat "$T/resp")"
st() { jq -r "$1" "$T/status.json"; }
assert_eq "$(mval "$T/metrics" "${P}logins_ok_total")" "$(st .logins_ok)" "logins_ok"
assert_eq 7 "$(st .logins_failed)" "logins_failed"
assert_eq 1 "$(st .logins_failed_by.wrong_password)" "failed: wrong password"
assert_eq 5 "$(st .logins_failed_by.unknown_user)" "failed: unknown user"
assert_eq 1 "$(st .logins_failed_by.disabled)" "failed: disabled"
assert_eq 1 "$(st .logins_refused)" "logins_refused"
assert_eq 2 "$(st .logins_delayed)" "logins_delayed"
assert_eq '{"address":1}' "$(jq -c .lockouts "$T/status.json")" "lockouts (users are never locked)"
assert_eq 1 "$(st .users_slowed)" "users_slowed"
assert_eq 1 "$(st .renewals)" "renewals"
assert_eq 2 "$(st .renewals_refused)" "renewals_refused"
assert_eq '{"user":2,"supernode":1,"server":1,"gateway":1}' "$(jq -c .certs_issued "$T/status.json")" \
	"certs_issued"
assert_eq 2 "$(st .certs_revoked)" "certs_revoked"
assert_eq 3 "$(st .crl_number)" "crl_number"
assert_eq 2 "$(st .crl_entries)" "crl_entries"
assert_eq '{"user":2,"supernode":1,"gateway":1}' "$(jq -c .users "$T/status.json")" "users"
[ "$(st .crl_age)" -ge 295 ] || fail "crl_age $(st .crl_age)"

note "hostile requests to the status port"
status_hostile "$LD_STATUS"
assert_eq 200 "$(login alice "alice password" alice)" "logins after the hostile requests"

note "status_listen empty: no status port; in use: logind does not start"
stop_pid "$LD_PID" || fail "logind exit status"
vg_check
sed -i "s|^status_listen = .*|status_listen =|" "$T/logind.conf"
"$BIN/logind" -c "$T/logind.conf" -n | grep -qx 'status_listen = ""' || fail "-n of an empty value"
VG_DAEMONS=0
logind_start
port_ready "$LD_STATUS" 1 && fail "status port open although turned off"
assert_eq 200 "$(https GET "$LD_URL/v1/status")" "/v1/status with the status port off"
stop_pid "$LD_PID" || fail "logind exit status"
# The HTTPS API takes its port first.
sed -i "s|^status_listen =.*|status_listen = 127.0.0.1:$LD_PORT|" "$T/logind.conf"
out=$(timeout 20 "$BIN/logind" -c "$T/logind.conf" 2>&1) && fail "logind started on a busy status port"
assert_contains "$out" "status_listen: cannot listen on 127.0.0.1:$LD_PORT" "busy status port"
echo ok
