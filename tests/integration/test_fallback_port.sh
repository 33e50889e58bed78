#!/usr/bin/env bash
# A firewall that lets TCP out only to a super node's fall-back port: in a
# network namespace made for this test (its own loopback), the super node
# listens on its main port and on fallback_listen; bootstrapd lists both.
# New TCP connections to the main port are then dropped with iptables; an
# ordinary node attaches through the fall-back port and its status says so
# (UDP, and so STUN, still get out). Needs root, ip and iptables.
set -u
if [ "${1:-}" != inside ]; then
	[ "$(id -u)" = 0 ] || { echo "skipped: needs root (network namespace, iptables)"; exit 77; }
	for c in ip iptables; do
		command -v "$c" >/dev/null || { echo "skipped: needs $c"; exit 77; }
	done
	ns=p2p-fw-$$
	ip netns add "$ns" || { echo "skipped: cannot create a network namespace"; exit 77; }
	ip -n "$ns" link set lo up
	if ! ip netns exec "$ns" true 2>/dev/null; then
		ip netns del "$ns"
		echo "skipped: cannot run commands in a network namespace here (a chroot?)"
		exit 77
	fi
	ip netns exec "$ns" bash "$0" inside
	rc=$?
	ip netns del "$ns"
	exit $rc
fi
. "$(dirname "$0")/../lib.sh"

overlay_start 0
FB=$(free_port)
snode_up sn1 "fallback_listen = 127.0.0.1:$FB"
https GET "$BS_URL/v1/supernodes" >/dev/null
jq -e --argjson fb "$FB" '.supernodes[0].addresses | length == 2 and .[1].port == $fb' "$T/resp" >/dev/null ||
	fail "bootstrapd does not list the fall-back address: $(cat "$T/resp")"

note "the firewall drops new TCP connections to the main port"
iptables -I OUTPUT -p tcp --dport "${SN_PORT[sn1]}" --syn -j DROP || fail "iptables"
add_user alice "password of alice"
on_init on1 alice
on_start on1
st=$(on_status on1)
[ "$(jq .supernode.port <<<"$st")" = "$FB" ] || fail "not attached through the fall-back port: $st"
poll 5 on_has on1 '.middlebox.result != "not probed yet"'
mb=$(on_status on1 | jq -c .middlebox)
jq -e '.tcp_fallback_port and (.tcp_main_port | not) and .udp and .result == "none"' <<<"$mb" >/dev/null ||
	fail "middlebox: $mb"
grep -q "its fall-back port" "$T/on_on1.log" || fail "log does not say fall-back"
echo "fallback port: all passed"
