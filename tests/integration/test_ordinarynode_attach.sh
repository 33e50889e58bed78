#!/usr/bin/env bash
# The ordinary node logs in for each of its accounts (keys and certificates
# in its state directory), attaches to a super node bootstrapd lists, keeps
# the link open with pings, and, when that super node is killed, attaches
# to another one within 5 seconds by itself. A restart reuses the
# certificates on disk instead of logging in again.
. "$(dirname "$0")/../lib.sh"

overlay_start 0 "heartbeat_timeout = 4s" "[timers]" "heartbeat_interval = 1s" \
	"stabilize_interval = 1s" "keepalive_interval = 1s"
# Super nodes close links silent for 5 s: only the pings keep it open.
snodes_start 3 "[limits]" "idle_timeout = 5s"
add_user alice "password of alice"
add_user bob "password of bob"
echo "password of bob" >"$T/bob.pw"
chmod 600 "$T/bob.pw"
on_init on alice bob
sed -i "s|^password = password of bob$|password_file = $T/bob.pw|" "$T/on/ordinarynode.conf"
sip_pw bob >"$T/bob.sip"
sed -i "s|^sip_password = $(sip_pw bob)$|sip_password_file = $T/bob.sip|" "$T/on/ordinarynode.conf"
"$BIN/ordinarynode" -c "$T/on/ordinarynode.conf" -n >"$T/on-n.txt" || fail "ordinarynode -n"
grep -q "^\[account bob\]$" "$T/on-n.txt" || fail "-n does not print the accounts"
grep -q "password of alice" "$T/on-n.txt" && fail "-n prints a password"
grep -q "$(sip_pw alice)" "$T/on-n.txt" && fail "-n prints a SIP password"

note "an account without a SIP password: the node does not start, and says why"
grep -v "^sip_password = $(sip_pw alice)$" "$T/on/ordinarynode.conf" >"$T/nosip.conf"
"$BIN/ordinarynode" -c "$T/nosip.conf" -n >"$T/nosip.out" 2>&1 && fail "started without sip_password"
grep -q "\[account alice\]: give sip_password or sip_password_file" "$T/nosip.out" ||
	fail "no clear error: $(cat "$T/nosip.out")"

on_attached() { # prints the Node-ID of the super node it is attached to
	on_status on | jq -r 'select(.state == "attached") | .supernode.node_id' 2>/dev/null
}

vg_on
note "logs in for both accounts and attaches"
on_start on
sn_id=$(on_attached)
[ -n "$sn_id" ] || fail "not attached: $(on_status on)"
on_status on >"$T/st.json"
jq -e '[.accounts[] | select(.cert and (.node_id | length) == 32)] | length == 2' "$T/st.json" \
	>/dev/null || fail "accounts: $(cat "$T/st.json")"
for a in alice bob; do
	openssl verify -CAfile "$CA" "$T/on/state/$a.crt" >/dev/null || fail "$a's certificate"
	[ "$(stat -c %a "$T/on/state/$a.key")" = 600 ] || fail "$a's key is not 0600"
done

note "the link stays open across pings"
sleep 7
[ "$(on_attached)" = "$sn_id" ] || fail "link changed while idle: $(on_status on)"
[ "$(on_status on | jq .attaches)" = 1 ] || fail "re-attached while idle"

note "kill -9 of its super node: attached to another within 5 s"
victim=""
for n in sn1 sn2 sn3; do
	[ "$(snode_status "$n" | jq -r .node_id)" = "$sn_id" ] && victim=$n
done
[ -n "$victim" ] || fail "attached to no known super node ($sn_id)"
stop_pid "${SN_PID[$victim]}" KILL
t0=$(date +%s%N)
attached_elsewhere() { new=$(on_attached); [ -n "$new" ] && [ "$new" != "$sn_id" ]; }
new=""
poll 5 attached_elsewhere
ms=$((($(date +%s%N) - t0) / 1000000))
[ -n "$new" ] && [ "$new" != "$sn_id" ] || fail "not attached elsewhere after 5 s: $(on_status on)"
echo "re-attached after $ms ms"
[ "$ms" -le 5000 ] || fail "re-attaching took $ms ms"

note "a restart reuses the certificates on disk"
stop_pid "${ON_PID[on]}" TERM || fail "ordinarynode did not stop cleanly"
grep -c "logging in" "$T/on_on.log" >"$T/logins"
: >"$T/on_on.log"
on_start on
[ -n "$(on_attached)" ] || fail "not attached after the restart"
grep -q "logging in" "$T/on_on.log" && fail "logged in again instead of using its certificates"
stop_pid "${ON_PID[on]}" TERM || fail "ordinarynode did not stop cleanly"
note "a node configured for another overlay stops at start-up and says why"
on_init other alice
sed -i 's/^overlay = overlay.example$/overlay = other.example/' "$T/other/ordinarynode.conf"
on_launch other
pid_gone "${ON_PID[other]}" 15 || fail "a node of another overlay kept running"
assert_contains "$(cat "$T/on_other.log")" "bootstrapd serves overlay overlay.example, configured is other.example" \
	"the mismatch in the log"
vg_check
echo ok
