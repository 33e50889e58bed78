#!/usr/bin/env bash
# A node whose account password is wrong does not lock its own account out:
# on a 401 the ordinary node and the super node log one line naming the
# account and the configuration file, wait 30 s (then longer) before trying
# again, and try at once when the password_file is mended. Another device of
# the same user logs in meanwhile. A locked account (429) waits as long as
# logind says.
. "$(dirname "$0")/../lib.sh"

# No response delays, so that the lock at the end is quick to reach.
logind_init "[ratelimit]" "max_delay = 0s"
logind_start
bootstrapd_init
bootstrapd_start
add_user alice "password of alice"
add_user carol "password of carol"

# sn1 and on1 take their passwords from files that hold wrong ones.
snode_init sn1
sed -i "s|^password = .*|password_file = $T/sn1.pw|" "$T/sn1/supernode.conf"
echo "not the password" >"$T/sn1.pw"
on_init on1 alice
sed -i "s|^password = .*|password_file = $T/alice.pw|" "$T/on1/ordinarynode.conf"
echo "not the password either" >"$T/alice.pw"
chmod 600 "$T/sn1.pw" "$T/alice.pw"

refusals() { grep -c "login: $1 from .* refused" "$T/logind.log"; }

note "wrong passwords: one clear line each, naming the account and the file"
snode_start sn1
vg_on
on_launch on1
VG_DAEMONS=0
both_refused() { grep -q "refused the password" "$T/sn_sn1.log" && grep -q "refused the password" "$T/on_on1.log"; }
poll 15 both_refused
t0=$(date +%s)
line=$(grep "refused the password" "$T/on_on1.log") || fail "no refusal line from on1"
assert_contains "$line" "alice: logind refused the password" "on1's line"
assert_contains "$line" "[account alice] in $T/on1/ordinarynode.conf" "on1's line"
assert_contains "$line" "$T/alice.pw" "on1's line"
line=$(grep "refused the password" "$T/sn_sn1.log") || fail "no refusal line from sn1"
assert_contains "$line" "sn1: logind refused the password" "sn1's line"
assert_contains "$line" "[supernode] in $T/sn1/supernode.conf" "sn1's line"
on_has on1 '.accounts[0] | (.cert | not) and .login.state == "refused"
	and .login.failures == 1 and .login.next_try_in > 15' ||
	fail "on1 status: $(on_status on1 | jq -c .accounts)"
snode_has sn1 '.login.state == "refused" and .login.next_try_in > 15' ||
	fail "sn1 status: $(snode_status sn1 | jq -c .login)"
curl -s "http://127.0.0.1:${ON_STATUS[on1]}/metrics" | grep -qx 'p2psip_on_login_failures{account="alice"} 1' ||
	fail "on1 metrics: $(curl -s "http://127.0.0.1:${ON_STATUS[on1]}/metrics" | grep login)"
curl -s "http://127.0.0.1:${SN_STATUS[sn1]}/metrics" | grep -qx 'p2psip_sn_login_failures 1' ||
	fail "sn1 metrics: $(curl -s "http://127.0.0.1:${SN_STATUS[sn1]}/metrics" | grep login)"

note "no second try within 12 s (the old retry every 2 s made six and locked at ten)"
sleep 12
assert_eq 1 "$(refusals alice)" "logins of alice refused"
assert_eq 1 "$(refusals sn1)" "logins of sn1 refused"
assert_eq 1 "$(grep -c "refused the password" "$T/on_on1.log")" "refusal lines of on1"

note "another device of alice logs in meanwhile"
make_csr phone
assert_eq 200 "$(login alice "password of alice" phone)" "alice's other device"

note "mended password files are used within 10 s, without a restart"
echo "password of sn1" >"$T/sn1.pw"
snode_wait sn1 20
echo "password of alice" >"$T/alice.pw"
poll 20 on_has on1 '.state == "attached"'
on_has on1 '.state == "attached" and .accounts[0].cert and .accounts[0].login.state == "ok"' ||
	fail "on1 after the mended password: $(on_status on1)"
[ $(($(date +%s) - t0)) -lt 30 ] || fail "the mended passwords waited for the 30 s retry"
grep -q "alice: $T/alice.pw changed: logging in again" "$T/on_on1.log" || fail "on1 did not see the change"
grep -q "certificate obtained after 1 failed attempt" "$T/on_on1.log" || fail "on1 logged no recovery"
assert_eq 1 "$(refusals alice)" "logins of alice refused in all"
snode_has sn1 '.login.state == "ok"' || fail "sn1 login state"
curl -s "http://127.0.0.1:${ON_STATUS[on1]}/metrics" | grep -qx 'p2psip_on_login_failures{account="alice"} 0' ||
	fail "on1 metrics after the login"

note "a locked account waits as long as logind says"
make_csr thief
for _ in $(seq 1 10); do login carol "guess" thief >/dev/null; done
assert_eq 429 "$(login carol "password of carol" thief)" "carol after ten failures"
locked() { grep -c "login: carol from .* refused: too many failures" "$T/logind.log"; }
before=$(locked)
on_init on2 carol
on_launch on2
poll 10 grep -q "locked this address out" "$T/on_on2.log"
grep -q "carol: logind locked this address out" "$T/on_on2.log" || fail "no lock line from on2"
on_has on2 '.accounts[0].login | .state == "locked" and .next_try_in > 600' ||
	fail "on2 status: $(on_status on2 | jq -c .accounts)"
sleep 3
assert_eq $((before + 1)) "$(locked)" "tries while locked (1 by on2)"

stop_pid "${ON_PID[on1]}" || fail "on1 did not stop cleanly"
vg_check
exit 0
