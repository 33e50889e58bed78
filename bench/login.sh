#!/usr/bin/env bash
# Login benchmark of logind: sets up a CA from scratch in a temporary
# directory and measures POST /v1/login (a new TLS connection per login, as a
# node does it) with the production password hashing cost and with a cheap
# one, so that the cost of the rest of the path shows. `make bench` runs it.
#
#   D=10 W=2 USERS=8 CONCURRENCY="1 2 8" bench/login.sh
#   LOGIND_CPUS=0 BENCH_CPUS=1 bench/login.sh     pin with taskset (default: no pinning)
#   COSTS="131072 1024"                           scrypt n of each configuration
#   NAGLE_POINT=0                                 skip the extra sequential run of the
#       last configuration with Nagle's algorithm left on in the client (as
#       evhttp clients such as httpc have it)
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
BIN=$top/build/bin
BENCH=$top/build/bench/login_bench
D=${D:-10}
W=${W:-2}
USERS=${USERS:-8}
CONCURRENCY=${CONCURRENCY:-"1 2 8"}
COSTS=${COSTS:-"131072 1024"}
PASSWORD=bench-password-1
T=$(mktemp -d "${TMPDIR:-/tmp}/p2psip-bench.XXXXXX")
LD_PID=
RESULTS=()

die() {
	echo "login.sh: $*" >&2
	for f in "$T"/*/logind*.log; do
		[ -f "$f" ] && { echo "--- $f" >&2; tail -n 10 "$f" >&2; }
	done
	exit 1
}

stop_logind() {
	if [ -n "$LD_PID" ]; then
		kill -TERM "$LD_PID" 2>/dev/null || true
		wait "$LD_PID" 2>/dev/null || true
		LD_PID=
	fi
}

cleanup() {
	stop_logind
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# pin CPULIST CMD...: execs CMD, under taskset when a CPU list is given. Call
# it only in a subshell (a background job or $(...)): it replaces the shell,
# so $! of a background job is the command's own pid.
pin() {
	local cpus=$1
	shift
	if [ -n "$cpus" ] && command -v taskset >/dev/null; then
		exec taskset -c "$cpus" "$@"
	fi
	exec "$@"
}

. "$top/scripts/ports.sh"
PORTS_FILE=$T/ports

wait_ready() { # PORT SOCKET
	for _ in $(seq 1 600); do
		if [ -S "$2" ] && (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		kill -0 "$LD_PID" 2>/dev/null || die "logind exited at start-up"
		sleep 0.05
	done
	die "logind not ready on port $1 after 30s"
}

# start_logind SCRYPT_N: a new CA in $T/n$SCRYPT_N with users u0..u$USERS-1.
start_logind() {
	local n=$1 dir=$T/n$1 port
	port=$(free_port) || die "no free port found"
	mkdir -p "$dir"
	cat >"$dir/logind.conf" <<CONF
[logind]
overlay = bench.example
listen = 127.0.0.1:$port
status_listen =
admin_socket = $dir/run/logind.sock
database = $dir/data/logind.db
ca_key = $dir/data/ca.key
ca_cert = $dir/data/ca.crt
tls_key = $dir/data/logind.key
tls_cert = $dir/data/logind.crt
[passwords]
scrypt_n = $n
CONF
	"$BIN/logind" -c "$dir/logind.conf" --init >"$dir/logind-init.log" 2>&1 ||
		die "logind --init failed"
	pin "${LOGIND_CPUS:-}" "$BIN/logind" -c "$dir/logind.conf" >"$dir/logind.log" 2>&1 &
	LD_PID=$!
	wait_ready "$port" "$dir/run/logind.sock"
	for i in $(seq 0 $((USERS - 1))); do
		echo "$PASSWORD" | "$BIN/p2psip-admin" -s "$dir/run/logind.sock" user add "u$i" \
			--password-stdin >/dev/null || die "user add u$i"
	done
	LD_URL=https://127.0.0.1:$port
	LD_CA=$dir/data/ca.crt
}

# measure LABEL CONCURRENCY [login_bench options]: one run; its RESULT line is kept.
measure() {
	local label=$1 c=$2 out line
	shift 2
	out=$(pin "${BENCH_CPUS:-}" "$BENCH" -u "$LD_URL" -a "$LD_CA" -n "$USERS" -p "$PASSWORD" \
		-c "$c" -d "$D" -w "$W" "$@" 2>"$T/bench.err") || true
	line=$(printf '%s\n' "$out" | grep '^RESULT ' || true)
	sed 's/^/    /' "$T/bench.err"
	[ -n "$line" ] || die "login_bench gave no result ($label, c=$c)"
	echo "  $label c=$c: $line"
	RESULTS+=("$label|$line")
}

field() { # LINE NAME
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

for f in "$BIN/logind" "$BIN/p2psip-admin" "$BENCH"; do
	[ -x "$f" ] || die "build first: make all build/bench/login_bench ($f missing)"
done
command -v ss >/dev/null || die "needs ss (iproute2)"

echo "logind login benchmark: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)),"
echo "  $(openssl version), ${USERS} users, warm-up ${W}s, ${D}s per point,"
echo "  a new TLS connection per login, logind with 2 hashing workers," \
	"pinning: logind ${LOGIND_CPUS:-none}, client ${BENCH_CPUS:-none}"
for n in $COSTS; do
	label="scrypt n=$n"
	echo "== $label r=8 p=1"
	start_logind "$n"
	for c in $CONCURRENCY; do
		measure "$label" "$c"
	done
	# The client keeps TCP_NODELAY off here, as evhttp (httpc) clients do.
	if [ "${NAGLE_POINT:-1}" = 1 ] && [ "$n" = "${COSTS##* }" ]; then
		measure "n=$n Nagle" 1 -g
	fi
	stop_logind
done

echo
echo "Summary (logins/s: sustained rate; p50/p99: latency of one login, connect to response;"
echo "the client sets TCP_NODELAY except on the 'Nagle' row)"
printf '%-16s %5s %10s %9s %9s %7s %7s\n' config conc logins/s p50_ms p99_ms ok errors
for r in "${RESULTS[@]}"; do
	label=${r%%|*}
	line=${r#*|}
	printf '%-16s %5s %10s %9s %9s %7s %7s\n' "$label" "$(field "$line" concurrency)" \
		"$(field "$line" logins_per_s)" "$(field "$line" p50_ms)" "$(field "$line" p99_ms)" \
		"$(field "$line" ok)" "$(field "$line" errors)"
done
