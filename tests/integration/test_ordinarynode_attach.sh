#!/usr/bin/env bash
# The ordinary node logs in for each of its accounts (keys and certificates
# in its state directory), attaches to a super node bootstrapd lists, keeps
# the link open with pings, and, when that super node is killed, attaches
# to another one within 5 seconds by itself. A restart reuses the
# certificates on disk instead of logging in again.
. "$(dirname "$0")/../lib.sh"

logind_init
logind_start
bootstrapd_init "heartbeat_timeout = 4s" "[timers]" "heartbeat_interval = 1s" \
	"stabilize_interval = 1s" "keepalive_interval = 1s"
bootstrapd_start
# Super nodes close links silent for 5 s: only the pings keep it open.
snodes_start 3 "[limits]" "idle_timeout = 5s"
add_user alice "password of alice"
add_user bob "password of bob"
echo "password of bob" >"$T/bob.pw"
chmod 600 "$T/bob.pw"

ON_STATUS=$(free_port)
cat >"$T/ordinarynode.conf" <<CONF
[ordinarynode]
overlay = overlay.example
bootstrap_url = $BS_URL
ca_cert = $CA
state_dir = $T/on
status_listen = 127.0.0.1:$ON_STATUS
sip_listen = 127.0.0.1:$(free_port)

[account alice]
password = password of alice

[account bob]
password_file = $T/bob.pw
CONF
"$BIN/ordinarynode" -c "$T/ordinarynode.conf" -n >"$T/on-n.txt" || fail "ordinarynode -n"
grep -q "^\[account bob\]$" "$T/on-n.txt" || fail "-n does not print the accounts"
grep -q "password of alice" "$T/on-n.txt" && fail "-n prints a password"

on_status() { curl -s --max-time 3 "http://127.0.0.1:$ON_STATUS/status"; }
on_attached() { # prints the Node-ID of the super node it is attached to
	on_status | jq -r 'select(.state == "attached") | .supernode.node_id' 2>/dev/null
}
start_on() {
	# shellcheck disable=SC2046
	start_bg on $(vg_prefix on) "$BIN/ordinarynode" -c "$T/ordinarynode.conf"
	ON_PID=$LAST_PID
}

vg_on
note "logs in for both accounts and attaches"
start_on
for _ in $(seq 1 100); do [ -n "$(on_attached)" ] && break; sleep 0.1; done
sn_id=$(on_attached)
[ -n "$sn_id" ] || fail "not attached: $(on_status)"
on_status >"$T/st.json"
jq -e '[.accounts[] | select(.cert and (.node_id | length) == 32)] | length == 2' "$T/st.json" \
	>/dev/null || fail "accounts: $(cat "$T/st.json")"
for a in alice bob; do
	openssl verify -CAfile "$CA" "$T/on/$a.crt" >/dev/null || fail "$a's certificate"
	[ "$(stat -c %a "$T/on/$a.key")" = 600 ] || fail "$a's key is not 0600"
done

note "the link stays open across pings"
sleep 7
[ "$(on_attached)" = "$sn_id" ] || fail "link changed while idle: $(on_status)"
[ "$(on_status | jq .attaches)" = 1 ] || fail "re-attached while idle"

note "kill -9 of its super node: attached to another within 5 s"
victim=""
for n in sn1 sn2 sn3; do
	[ "$(snode_status "$n" | jq -r .node_id)" = "$sn_id" ] && victim=$n
done
[ -n "$victim" ] || fail "attached to no known super node ($sn_id)"
stop_pid "${SN_PID[$victim]}" KILL
t0=$(date +%s%N)
new=""
for _ in $(seq 1 100); do
	new=$(on_attached)
	[ -n "$new" ] && [ "$new" != "$sn_id" ] && break
	sleep 0.05
done
ms=$((($(date +%s%N) - t0) / 1000000))
[ -n "$new" ] && [ "$new" != "$sn_id" ] || fail "not attached elsewhere after 5 s: $(on_status)"
echo "re-attached after $ms ms"
[ "$ms" -le 5000 ] || fail "re-attaching took $ms ms"

note "a restart reuses the certificates on disk"
stop_pid "$ON_PID" TERM || fail "ordinarynode did not stop cleanly"
grep -c "logging in" "$T/on.log" >"$T/logins"
: >"$T/on.log"
start_on
for _ in $(seq 1 100); do [ -n "$(on_attached)" ] && break; sleep 0.1; done
[ -n "$(on_attached)" ] || fail "not attached after the restart"
grep -q "logging in" "$T/on.log" && fail "logged in again instead of using its certificates"
stop_pid "$ON_PID" TERM || fail "ordinarynode did not stop cleanly"
vg_check
echo ok
