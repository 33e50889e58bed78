# A LAN of machines for the tests of LAN discovery and ad-hoc overlays: a
# bridge in the test's own network namespace (tests/foreign.sh netns_enter)
# with one namespace per machine behind a veth, addresses 10.77.0.K/24, a
# route for multicast and no route out. The test itself sits on the bridge
# at 10.77.0.254 (the CLI and curl reach every machine from there).
# Source it after tests/lib.sh and tests/foreign.sh; call netns_enter "$@"
# first. Every namespace it made is deleted when the test exits.

LAN_NS=()
LAN_NET=10.77.0

# lan_up N: the bridge and machines 1..N (namespaces p2pl$$-K).
lan_up() {
	local k ns
	ip link add lanbr type bridge 2>/dev/null || skip "cannot make a bridge (no CAP_NET_ADMIN?)"
	ip addr add "$LAN_NET.254/24" dev lanbr
	ip link set lanbr up
	ip route add 224.0.0.0/4 dev lanbr 2>/dev/null
	for k in $(seq 1 "$1"); do
		ns=p2pl$$-$k
		ip netns add "$ns" || fail "cannot make namespace $ns"
		LAN_NS[$k]=$ns
		ip link add "lanv$k" type veth peer name eth0 netns "$ns" || fail "veth for $ns"
		ip link set "lanv$k" master lanbr up
		ip -n "$ns" link set lo up
		ip -n "$ns" addr add "$LAN_NET.$k/24" dev eth0
		ip -n "$ns" link set eth0 up
		ip -n "$ns" route add 224.0.0.0/4 dev eth0
	done
	trap 'lan_down; t_cleanup' EXIT
	# The links need a moment to come up (IPv4 needs no DAD).
	poll 5 lan_link_up "$1" || fail "machine $1's link did not come up"
}

lan_link_up() { ip -n "${LAN_NS[$1]}" -br link show eth0 | grep -q -w UP; }

# lan_ip K: the address of machine K.
lan_ip() { echo "$LAN_NET.$1"; }

# lan_exec K CMD...: runs CMD on machine K.
lan_exec() { ip netns exec "${LAN_NS[$1]}" "${@:2}"; }

# lan_cut K: pulls machine K's cable (its veth goes down): it is gone from
# the LAN without saying goodbye; its processes still run.
lan_cut() { ip link set "lanv$1" down; }

# lan_down: stops what runs in the machines' namespaces (the test's own
# processes first, by t_cleanup's order) and deletes them.
lan_down() {
	local ns pid
	for ns in "${LAN_NS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
	done
	for ns in "${LAN_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	LAN_NS=()
}
