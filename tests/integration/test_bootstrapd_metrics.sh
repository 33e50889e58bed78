#!/usr/bin/env bash
# bootstrapd's local status port (bootstrapd under valgrind): GET /metrics
# parses as Prometheus text, and each figure moves by what was done:
# announcements accepted and refused for each reason, the reachability
# checks behind them, heartbeats accepted and refused, a withdrawal, a super
# node dropped for silence and one for a revocation made with p2psip-admin,
# the CRL number and age, logind going away, an open connection. GET
# /status agrees with it; /v1/status keeps its fields. Hostile requests to
# the port get clear errors; the port can be turned off, and a port in use
# stops bootstrapd at start-up.
. "$(dirname "$0")/../lib.sh"
need nc

logind_init
logind_start
bootstrapd_init "heartbeat_timeout = 3s" "crl_refresh = 1s" "[timers]" "heartbeat_interval = 1s"
"$BIN/bootstrapd" -c "$T/bootstrapd.conf" -n | grep -qx "status_listen = 127.0.0.1:$BS_STATUS" ||
	fail "-n does not show status_listen"
vg_on
bootstrapd_start
VG_DAEMONS=0
wait_port "$BS_STATUS"
P=p2psip_bootstrapd_

note "the first scrape: Prometheus text, every metric with HELP and TYPE"
scrape_until "$BS_STATUS" $P "${P}logind_reachable" = 1 10
cp "$T/metrics" "$T/m0"
for m in supernodes announces_accepted_total 'announces_refused_total{why="unreachable"}' \
	'announces_refused_total{why="bad_request"}' 'announces_refused_total{why="certificate"}' \
	'announces_refused_total{why="error"}' heartbeats_accepted_total \
	'heartbeats_refused_total{why="not_listed"}' 'heartbeats_refused_total{why="bad_request"}' \
	'heartbeats_refused_total{why="certificate"}' 'heartbeats_refused_total{why="error"}' \
	withdrawals_total checks_total checks_failed_total 'supernodes_dropped_total{why="expired"}' \
	'supernodes_dropped_total{why="revoked"}' crl_number crl_age_seconds crl_fetch_failures_total \
	logind_reachable connections; do
	[ -n "$(mval "$T/m0" "$P$m")" ] || fail "$P$m missing: $(cat "$T/m0")"
done
assert_eq 0 "$(mval "$T/m0" "${P}supernodes")" "listed at start"
assert_eq 1 "$(mval "$T/m0" "${P}logind_reachable")" "logind reachable"
assert_eq 1 "$(mval "$T/m0" "${P}crl_number")" "CRL number from logind"
age=$(mval "$T/m0" "${P}crl_age_seconds")
[ "$age" -ge 295 ] && [ "$age" -le 400 ] || fail "crl_age_seconds $age, want about 300"

note "announcements: accepted, refused for each reason, and the checks behind them"
sn_make sn1
sn_make sn2
sn_make sn3
add_user alice "alice password"
make_csr alice
login alice "alice password" alice >/dev/null
P1=$(free_port) P3=$(free_port) PX=$(free_port)
sn_serve sn1 "$P1"
sn_serve sn3 "$P3"
addr() { echo "{\"host\":\"127.0.0.1\",\"port\":$1}"; }
assert_eq 200 "$(sn_post sn1 "{\"addresses\":[$(addr "$P1")]}")" "announce sn1"
assert_eq 422 "$(sn_post sn2 "{\"addresses\":[$(addr "$PX")]}")" "sn2 where nothing listens"
assert_eq 422 "$(sn_post sn2 "{\"addresses\":[$(addr "$P1"),$(addr "$PX")]}")" "sn2 at sn1's address"
assert_eq 400 "$(sn_post sn2 '{"addresses":[{"host":"example.org","port":1}]}')" "host name"
assert_eq 400 "$(sn_post sn2 'not json')" "not JSON"
assert_eq 403 "$(sn_post alice "{\"addresses\":[$(addr "$P1")]}")" "a user's certificate"
printf '{}' >"$T/empty.json"
assert_eq 401 "$(https POST "$BS_URL/v1/announce" "$T/empty.json")" "no certificate"
scrape "$BS_STATUS" $P
assert_delta "$T/m0" "${P}announces_accepted_total" 1
assert_delta "$T/m0" "${P}announces_refused_total{why=\"unreachable\"}" 2
assert_delta "$T/m0" "${P}announces_refused_total{why=\"bad_request\"}" 2
assert_delta "$T/m0" "${P}announces_refused_total{why=\"certificate\"}" 2
assert_delta "$T/m0" "${P}announces_refused_total{why=\"error\"}" 0
assert_delta "$T/m0" "${P}checks_total" 4
assert_delta "$T/m0" "${P}checks_failed_total" 3
assert_eq 1 "$(mval "$T/metrics" "${P}supernodes")" "listed after one announcement"

note "heartbeats: accepted, and refused for each reason; a withdrawal"
cp "$T/metrics" "$T/m1"
for i in 1 2 3; do assert_eq 200 "$(sn_post sn1 '{"load":1}' v1/heartbeat)" "heartbeat $i"; done
assert_eq 404 "$(sn_post sn2 '{}' v1/heartbeat)" "heartbeat of a node not listed"
assert_eq 400 "$(sn_post sn1 '{"load":-5}' v1/heartbeat)" "heartbeat with a bad load"
assert_eq 401 "$(https POST "$BS_URL/v1/heartbeat" "$T/empty.json")" "heartbeat without certificate"
assert_eq 403 "$(sn_post alice '{}' v1/heartbeat)" "heartbeat with a user's certificate"
assert_eq 200 "$(sn_post sn3 "{\"addresses\":[$(addr "$P3")]}")" "announce sn3"
scrape "$BS_STATUS" $P
assert_eq 2 "$(mval "$T/metrics" "${P}supernodes")" "listed: sn1 and sn3"
assert_eq 200 "$(sn_post sn3 '{}' v1/withdraw)" "withdraw sn3"
scrape "$BS_STATUS" $P
assert_delta "$T/m1" "${P}heartbeats_accepted_total" 3
assert_delta "$T/m1" "${P}heartbeats_refused_total{why=\"not_listed\"}" 1
assert_delta "$T/m1" "${P}heartbeats_refused_total{why=\"bad_request\"}" 1
assert_delta "$T/m1" "${P}heartbeats_refused_total{why=\"certificate\"}" 2
assert_delta "$T/m1" "${P}withdrawals_total" 1
assert_delta "$T/m1" "${P}announces_accepted_total" 1
assert_eq 1 "$(mval "$T/metrics" "${P}supernodes")" "listed after the withdrawal"

note "a silent super node is dropped"
cp "$T/metrics" "$T/m2"
scrape_until "$BS_STATUS" $P "${P}supernodes" = 0 10
assert_eq 0 "$(mval "$T/metrics" "${P}supernodes")" "listed after the silence"
assert_delta "$T/m2" "${P}supernodes_dropped_total{why=\"expired\"}" 1
assert_delta "$T/m2" "${P}supernodes_dropped_total{why=\"revoked\"}" 0

note "a revoked super node is dropped when the new CRL arrives"
assert_eq 200 "$(sn_post sn1 "{\"addresses\":[$(addr "$P1")]}")" "announce sn1 again"
scrape "$BS_STATUS" $P
cp "$T/metrics" "$T/m3"
admin cert revoke "$(serial_of "$T/sn1.crt")" >/dev/null || fail "revoke sn1"
kill -HUP "$BS_PID"
scrape_until "$BS_STATUS" $P "${P}crl_number" = 2 10
assert_delta "$T/m3" "${P}crl_number" 1
assert_delta "$T/m3" "${P}supernodes_dropped_total{why=\"revoked\"}" 1
assert_delta "$T/m3" "${P}supernodes_dropped_total{why=\"expired\"}" 0
assert_eq 0 "$(mval "$T/metrics" "${P}supernodes")" "listed after the revocation"
assert_eq 401 "$(sn_post sn1 '{}' v1/heartbeat)" "heartbeat with a revoked certificate"

note "an open connection is counted"
conn_counted "$BS_PORT" "$BS_STATUS" $P

note "/status: the /v1/status fields and the new figures, in agreement with /metrics"
scrape "$BS_STATUS" $P
curl -s --max-time 5 "http://127.0.0.1:$BS_STATUS/status" >"$T/status.json"
jq -e . "$T/status.json" >/dev/null || fail "/status is not JSON"
assert_eq 200 "$(https GET "$BS_URL/v1/status")" "/v1/status"
assert_eq '["announces_failed","announces_ok","connections","crl_fetched","crl_number","logind_reachable","overlay","service","supernodes"]' \
	"$(jq -c 'keys' "$T/resp")" "/v1/status fields"
jq -e --slurpfile v "$T/resp" '. as $s | $v[0] | to_entries |
	all(.key == "connections" or .key == "crl_fetched" or .value == $s[.key])' \
	"$T/status.json" >/dev/null ||
	fail "/status lacks or differs in /v1/status fields: $(cat "$T/status.json") vs $(cat "$T/resp")"
st() { jq -c "$1" "$T/status.json"; }
assert_eq 3 "$(st .announces_ok)" "announces_ok"
assert_eq 2 "$(st .announces_failed)" "announces_failed (reachability)"
assert_eq '{"unreachable":2,"bad_request":2,"certificate":2,"error":0}' "$(st .announces_refused)" \
	"announces_refused"
assert_eq '{"accepted":3,"refused":{"not_listed":1,"bad_request":1,"certificate":3,"error":0}}' \
	"$(st .heartbeats)" "heartbeats"
assert_eq 1 "$(st .withdrawals)" "withdrawals"
assert_eq '{"done":6,"failed":3}' "$(st .checks)" "checks"
assert_eq '{"expired":1,"revoked":1}' "$(st .dropped)" "dropped"
assert_eq 2 "$(st .crl_number)" "crl_number"
[ "$(st .crl_age)" -ge 295 ] || fail "crl_age $(st .crl_age)"

note "logind gone: not reachable, fetch failures counted"
cp "$T/metrics" "$T/m4"
stop_pid "$LD_PID"
scrape_until "$BS_STATUS" $P "${P}logind_reachable" = 0 10
assert_eq 0 "$(mval "$T/metrics" "${P}logind_reachable")" "logind reachable after its end"
[ "$(mval "$T/metrics" "${P}crl_fetch_failures_total")" -gt "$(mval "$T/m4" "${P}crl_fetch_failures_total")" ] ||
	fail "failed CRL fetches not counted"
assert_eq 2 "$(mval "$T/metrics" "${P}crl_number")" "the held CRL's number"

note "hostile requests to the status port"
status_hostile "$BS_STATUS"
assert_eq 200 "$(https GET "$BS_URL/v1/config")" "the HTTPS API after the hostile requests"

note "status_listen empty: no status port; in use: bootstrapd does not start"
stop_pid "$BS_PID" || fail "bootstrapd exit status"
vg_check
sed -i "s|^status_listen = .*|status_listen =|" "$T/bootstrapd.conf"
bootstrapd_start
port_ready "$BS_STATUS" 1 && fail "status port open although turned off"
assert_eq 200 "$(https GET "$BS_URL/v1/status")" "/v1/status with the status port off"
stop_pid "$BS_PID" || fail "bootstrapd exit status"
sed -i "s|^status_listen =.*|status_listen = 127.0.0.1:$BS_PORT|" "$T/bootstrapd.conf"
out=$(timeout 20 "$BIN/bootstrapd" -c "$T/bootstrapd.conf" 2>&1) &&
	fail "bootstrapd started on a busy status port"
assert_contains "$out" "status_listen: cannot listen on 127.0.0.1:$BS_PORT" "busy status port"
echo ok
