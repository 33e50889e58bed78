# Loopback port helpers shared by the tests, the demo and the benchmarks.
# Source it; it defines functions only.

# A port free on loopback for TCP and UDP, taken below the kernel's
# ephemeral range (where outgoing connections pick their local ports) and
# checked against sockets in every state. When $PORTS_FILE names a file, the
# ports handed out are recorded there and never handed out again (callers
# run this in $(...), a subshell, so a variable would not remember them).
# Prints the port; returns 1 if none was found.
free_port() {
	local p low span
	low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	span=$((low - 10000))
	[ "$span" -gt 1000 ] || span=1000
	for _ in $(seq 1 200); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % span))
		if [ -n "${PORTS_FILE:-}" ] && grep -qx "$p" "$PORTS_FILE" 2>/dev/null; then
			continue
		fi
		if ! ss -Htuan "sport = :$p" 2>/dev/null | grep -q .; then
			[ -z "${PORTS_FILE:-}" ] || echo "$p" >>"$PORTS_FILE"
			echo "$p"
			return 0
		fi
	done
	return 1
}

# True once something accepts TCP connections on 127.0.0.1:PORT, within
# SECONDS (default 10).
port_ready() { # PORT [SECONDS]
	local i
	for i in $(seq 1 $((${2:-10} * 20))); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
