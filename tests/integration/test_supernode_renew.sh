#!/usr/bin/env bash
# A super node keeps its certificate fresh: started with a certificate on
# disk that is near its end (here: cert_renew_before longer than the
# lifetime), it renews with that certificate and no password (its password
# is wrong by then), gets a new serial, joins and serves; with no usable
# certificate and a wrong password it says why, naming its configuration
# file, and keeps retrying (less and less often: test_login_backoff.sh).
. "$(dirname "$0")/../lib.sh"

overlay_start 1 "[timers]" "heartbeat_interval = 1s" "stabilize_interval = 1s" "cert_renew_before = 30d"
grep -q "logging in to .* as sn1" "$T/sn_sn1.log" || fail "first start did not log in"
serial1=$(serial_of "$T/sn1/node.crt")

note "restart with a certificate near its end and a wrong password: renewal"
stop_pid "${SN_PID[sn1]}" TERM || fail "sn1 did not stop"
sed -i 's/^password = .*/password = not the password/' "$T/sn1/supernode.conf"
: >"$T/sn_sn1.log"
snode_start sn1
snode_wait sn1 30
grep -q "certificate near its end: renewing" "$T/sn_sn1.log" || fail "no renewal"
grep -q "logging in" "$T/sn_sn1.log" && fail "logged in with the password instead of renewing"
serial2=$(serial_of "$T/sn1/node.crt")
[ "$serial2" != "$serial1" ] || fail "the certificate was not replaced"
cli_user alice
SN_ATTACH=sn1 p2p ping >/dev/null || fail "renewed super node does not serve"

note "no usable certificate and a wrong password: refused, retried, explained"
stop_pid "${SN_PID[sn1]}" TERM || fail "sn1 did not stop"
rm -f "$T/sn1/node.crt"
: >"$T/sn_sn1.log"
snode_start sn1
poll 5 grep -q "sn1: logind refused the password" "$T/sn_sn1.log"
grep -q "sn1: logind refused the password (logind answered 401.*\[supernode\] in $T/sn1/supernode.conf" \
	"$T/sn_sn1.log" || fail "the refused login was not logged with the configuration file"
snode_has sn1 '.login.state == "refused" and .login.next_try_in > 0' ||
	fail "the status does not say the login is refused: $(snode_status sn1 | jq -c .login)"
[ "$(snode_status sn1 | jq -r .state 2>/dev/null)" != joined ] || fail "joined without a certificate"
kill -0 "${SN_PID[sn1]}" || fail "sn1 gave up instead of retrying"
echo ok
