# The checks of a ring of real super nodes, shared by ring_scenario.sh
# (test_ring8, test_ring16), test_churn and bench/churn.sh. Sourced after lib.sh.
#
# Records are user:alice@overlay.example/recK holding "value K"; `names`
# lists those a test expects: rec1..recR, or the lines of the file $RECS
# when it is set (the records a writer saw acknowledged).

# Super nodes alive now, as a list of names.
alive() {
	local n
	for n in "${!SN_PID[@]}"; do
		kill -0 "${SN_PID[$n]}" 2>/dev/null && echo "$n"
	done | sort
}

names() {
	local i
	if [ -n "${RECS:-}" ]; then
		cat "$RECS"
	else
		for i in $(seq 1 "$R"); do echo "user:alice@overlay.example/rec$i"; done
	fi
}

# lost_through NODE: prints how many of the names cannot be fetched through
# NODE with good signatures and the right data ("value K" under recK).
lost_through() {
	local nm good
	mapfile -t nm < <(names)
	# p2p exits on a failed request; what it printed before still counts.
	SN_ATTACH=$1 p2p --json get "${nm[@]}" >"$T/got.$1" 2>"$T/got.$1.err"
	good=$(jq -r 'select(.values[0].data == ("value " + (.name | sub(".*/rec"; "")))) | .name' \
		"$T/got.$1" 2>/dev/null | sort -u | grep -c .)
	echo $((${#nm[@]} - good))
}

# check_all WHAT: every record can be fetched through each super node that is alive.
check_all() {
	local n lost
	for n in $(alive); do
		lost=$(lost_through "$n")
		[ "$lost" = 0 ] || fail "$1: $lost records not fetched right through $n: $(head -n 3 "$T/got.$n.err")"
	done
}

# True if every record is kept on at least three live nodes (primary and two
# replicas), read from each node's own SQLite file: an independent view of
# what it holds (the super nodes' own service:stun values are not counted).
copies_ok() {
	local n
	names | sort -u >"$T/names.want"
	for n in $(alive); do
		sqlite3 "$T/$n/records.db" "SELECT DISTINCT name FROM vals WHERE name LIKE 'user:%'" 2>/dev/null
	done | sort | uniq -c | awk '$1 >= 3 {print $2}' | comm -23 "$T/names.want" - | grep -q . && return 1
	return 0
}

# True if the ring walked from super node NAME lists exactly the live super
# nodes, in Node-ID order (starting anywhere), and each knows the one before
# it as its predecessor (the walk follows successors only). One jq over the
# walk and every /status: the check is polled, and under load each process
# it starts adds to the settle times measured with it.
RING_EXACT_JQ='[inputs] as $s | $r[0].nodes as $w | ($w | length) as $n
	| ([$w[].id] | sort) == ([$s[].node_id] | sort)
	and ([range(0; $n) | select($w[.].id > $w[(. + 1) % $n].id)] | length) <= 1
	and all(range(0; $n); . as $i | ($s[] | select(.node_id == $w[$i].id)
		| .predecessor.port) == $w[($i - 1 + $n) % $n].port)'
ring_exact() { # NAME
	local n
	SN_ATTACH=$1 p2p ring --json >"$T/ring.json" 2>/dev/null || return 1
	for n in $(alive); do snode_status "$n"; done >"$T/statuses.json"
	command jq -n -e --slurpfile r "$T/ring.json" "$RING_EXACT_JQ" "$T/statuses.json" >/dev/null 2>&1
}

# ---- churn: a writer stores records while super nodes are replaced ----

# The ports of the live super nodes, in $T/live_ports for the writer (a
# subshell, which does not see SN_PORT change).
live_ports_update() {
	local n
	for n in $(alive); do echo "${SN_PORT[$n]}"; done >"$T/live_ports.new"
	mv "$T/live_ports.new" "$T/live_ports"
}

# writer_start GAP: in the background, puts rec1, rec2... as alice through
# the live super nodes in turn, one every GAP seconds, until writer_stop.
# An acknowledged name goes to $RECS, its latency (ms) to $T/put_ms; a
# failed put is counted in $T/put_failed, not fatal.
writer_start() {
	RECS=$T/recs
	: >"$RECS"
	: >"$T/put_ms"
	: >"$T/put_failed"
	rm -f "$T/writer.stop"
	live_ports_update
	writer_loop "$1" &
	WRITER_PID=$!
	PIDS+=("$WRITER_PID")
}

writer_loop() { # GAP
	local k=0 ports p t0 name
	while [ ! -e "$T/writer.stop" ]; do
		k=$((k + 1))
		mapfile -t ports <"$T/live_ports"
		p=${ports[k % ${#ports[@]}]}
		name=user:alice@overlay.example/rec$k
		t0=$(date +%s%N)
		if "$BIN/p2psip" -b "$BS_URL" -a "$CA" -k "$T/alice.key" -c "$T/alice.crt" \
			-s "127.0.0.1:$p" put "$name" "value $k" >/dev/null 2>>"$T/writer.err"; then
			echo $((($(date +%s%N) - t0) / 1000000)) >>"$T/put_ms"
			echo "$name" >>"$RECS"
		else
			echo "rec$k through port $p" >>"$T/put_failed"
		fi
		sleep "$1"
	done
}

writer_stop() {
	touch "$T/writer.stop"
	wait "$WRITER_PID"
}

# True once the ring is whole: the walk from a live node lists exactly the
# live nodes in order, and every record has its three copies.
settled() { ring_exact "$(alive | head -n 1)" && copies_ok; }

# replace OLD NEW SIGNAL [SECONDS]: super node NEW joins, then OLD is
# stopped with SIGNAL (TERM: a graceful leave, KILL: a crash). Left in
# RING_MS: the time from the signal until the ring is whole (ring_exact);
# in SETTLE_MS: until it is settled (and every record has its three
# copies), within SECONDS (default 60); returns 1 if it never was.
replace() {
	local t0
	snode_up "$2"
	live_ports_update
	t0=$(date +%s%N)
	stop_pid "${SN_PID[$1]}" "$3"
	live_ports_update
	RING_MS=-1
	poll "${4:-60}" ring_exact "$(alive | head -n 1)" || return 1
	RING_MS=$((($(date +%s%N) - t0) / 1000000))
	poll "${4:-60}" settled || return 1
	SETTLE_MS=$((($(date +%s%N) - t0) / 1000000))
}
