# Shared helpers of the integration tests: a temporary directory per test,
# daemons started in the background and stopped by process id, loopback
# ports chosen at run time, logind and bootstrapd set up from scratch.
# Source it from a test script; exit status 0 passes, 77 skips, else fails.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$TOP/build/bin
PIDS=()
T=$(mktemp -d "${TMPDIR:-/tmp}/p2psip-test.XXXXXX")
T_TOP=$T # T may name a second overlay's directory under it (test_federation)
# The overlay's name in every configuration and phone the helpers make.
OVERLAY=overlay.example

t_cleanup() {
	local pid i
	# Last started first: super nodes leave while bootstrapd still answers.
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill -TERM "${PIDS[i]}" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $T_TOP"
	else
		rm -rf "$T_TOP"
	fi
}
trap t_cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	local n
	for n in $(declare -p SN_STATUS >/dev/null 2>&1 && echo "${!SN_STATUS[@]}"); do
		echo "--- super node $n: $(curl -s --max-time 2 "http://127.0.0.1:${SN_STATUS[$n]}/status" |
			jq -c '{state, values, port: .self.port, pred: .predecessor.port,
				succ: [.successors[].port], fingers: .fingers_in_use}' 2>/dev/null)" >&2
	done
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $(basename "$f") (last lines)" >&2
		tail -n 15 "$f" >&2
	done
	echo "FAIL: $*" >&2 # again, last: a CI log shows only the tail
	exit 1
}

skip() {
	echo "skipped: $*"
	exit 77
}

note() { echo "== $*"; }

need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "needs $c"
	done
}

. "$TOP/scripts/ports.sh"
PORTS_FILE=$T/ports

# start_bg NAME CMD...: runs CMD with output in $T/NAME.log; its pid in $LAST_PID.
start_bg() {
	local name=$1
	shift
	"$@" >"$T/$name.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

# Stops a process we started and waits for it; returns its exit status.
stop_pid() {
	local pid=$1 sig=${2:-TERM} rc
	kill "-$sig" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	return $rc
}

# ---- waiting: poll is the one polling loop, the waits below are built on it ----

# poll SECONDS CMD...: runs CMD until it succeeds, every 0.1 s, at most
# SECONDS x 10 times after the first try; returns 0 once it succeeded, 1 if
# it never did. The tries are counted, not the clock watched: a slow CMD
# makes the wait longer rather than leaving it fewer tries. CMD runs in
# this shell, so a function may leave what it saw in a variable (the
# counters have names no CMD uses, since CMD sees them).
poll() {
	local _poll_tries=$(($1 * 10)) _poll_i
	shift
	for ((_poll_i = 0; ; _poll_i++)); do
		"$@" && return 0
		[ "$_poll_i" -lt "$_poll_tries" ] || return 1
		sleep 0.1
	done
}

# wait_until SECONDS WHAT CMD...: polls CMD; if it never succeeds, fails the
# test with WHAT, which says what is wrong then ("sn1 did not join").
wait_until() { poll "$1" "${@:3}" || fail "$2 (after ${1}s)"; }

# True if PID has exited (a zombie waiting for its reaper counts as exited).
pid_exited() {
	local st
	st=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ]
}

# True once PID has exited, within SECONDS (default 5).
pid_gone() { poll "${2:-5}" pid_exited "$1"; } # PID [SECONDS]

# (port_ready comes with free_port from scripts/ports.sh, which the demo and
# the benchmarks share.)
wait_port() { # PORT [SECONDS]
	port_ready "$1" "${2:-10}" || fail "nothing listens on port $1 after ${2:-10}s"
}

wait_file() { wait_until "${2:-10}" "$1 did not appear" test -e "$1"; } # PATH [SECONDS]

# ---- checks ----

# jq 1.6 with -e exits 0 when it reads no input at all (a daemon that did
# not answer, an empty file), so `... | jq -e FILTER || fail` could not
# fail then. In the tests, jq -e also fails when it printed nothing.
jq() {
	local a out rc e=0
	for a in "$@"; do
		case "$a" in
		-e | --exit-status | -[!-]*e*) e=1 ;;
		esac
	done
	[ "$e" = 1 ] || {
		command jq "$@"
		return
	}
	out=$(command jq "$@")
	rc=$?
	[ -n "$out" ] || return 5
	printf '%s\n' "$out"
	return "$rc"
}

# json_has TEXT FILTER [jq options]: true if TEXT is JSON and the jq FILTER
# gives true for it. (jq 1.6 -e exits 0 when it reads nothing, as from a
# daemon that is not up yet: hence the test for an empty TEXT.)
json_has() { [ -n "$1" ] && jq -e "${@:3}" "$2" <<<"$1" >/dev/null 2>&1; }

assert_eq() { # EXPECTED ACTUAL WHAT
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

# expect_refused MESSAGE-PART CMD...: CMD fails, saying MESSAGE-PART.
expect_refused() { # MESSAGE-PART CMD...
	local part=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ "$rc" != 0 ] || fail "accepted: $* ($out)"
	assert_contains "$out" "$part" "refusal of $*"
}

assert_contains() { # HAYSTACK NEEDLE WHAT
	case "$1" in *"$2"*) ;; *) fail "$3: '$2' not in: $1" ;; esac
}

# Valgrind for daemons when VG_DAEMONS=1 (or when a test asks with vg_on);
# VG_SUPP: a suppressions file (tests/valgrind/).
VG_DAEMONS=${VG_DAEMONS:-0}
vg_on() {
	command -v valgrind >/dev/null && VG_DAEMONS=1
}
vg_prefix() { # NAME
	if [ "$VG_DAEMONS" = 1 ]; then
		echo "valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --log-file=$T/$1.vg.%p${VG_SUPP:+ --suppressions=$VG_SUPP}"
	fi
}
# Fails if any valgrind log of the test has an error in it.
vg_check() {
	local f
	for f in "$T"/*.vg.*; do
		[ -f "$f" ] || continue
		if [ -s "$f" ]; then
			cat "$f" >&2
			fail "valgrind reported errors in $(basename "$f")"
		fi
	done
}

# ---- logind ----

# Writes $T/logind.conf and creates the CA. Extra lines for the file may be
# given as arguments (e.g. a [certs] section). The local status port
# (/status, /metrics) is $LD_STATUS.
logind_init() {
	LD_PORT=$(free_port)
	LD_STATUS=$(free_port)
	ADMIN_SOCK=$T/run/logind.sock
	CA=$T/data/ca.crt
	LD_URL=https://127.0.0.1:$LD_PORT
	export P2PSIP_ADMIN_SOCKET=$ADMIN_SOCK LD_STATUS
	{
		cat <<CONF
[logind]
overlay = $OVERLAY
listen = 127.0.0.1:$LD_PORT
status_listen = 127.0.0.1:$LD_STATUS
admin_socket = $ADMIN_SOCK
database = $T/data/logind.db
ca_key = $T/data/ca.key
ca_cert = $CA
tls_key = $T/data/logind.key
tls_cert = $T/data/logind.crt
workers = 2
[passwords]
scrypt_n = ${SCRYPT_N:-1024}
CONF
		printf '%s\n' "$@"
	} >"$T/logind.conf"
	"$BIN/logind" -c "$T/logind.conf" --init >"$T/logind-init.log" 2>&1 ||
		fail "logind --init: $(cat "$T/logind-init.log")"
}

logind_start() {
	# shellcheck disable=SC2046
	start_bg logind $(vg_prefix logind) "$BIN/logind" -c "$T/logind.conf"
	LD_PID=$LAST_PID
	wait_port "$LD_PORT" 30
	wait_file "$ADMIN_SOCK" 10
}

admin() { "$BIN/p2psip-admin" -s "$ADMIN_SOCK" "$@"; }

add_user() { # NAME PASSWORD [ROLE]
	echo "$2" | admin user add "$1" --password-stdin --role "${3:-user}" >/dev/null ||
		fail "user add $1"
}

# make_csr NAME [ec|ed25519|rsa]: $T/NAME.key and $T/NAME.csr
make_csr() {
	local name=$1 type=${2:-ec}
	case "$type" in
	ec) openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$name.key" -subj "/CN=$name" -out "$T/$name.csr" 2>/dev/null ;;
	ed25519) openssl req -new -newkey ed25519 -nodes -keyout "$T/$name.key" \
		-subj "/CN=$name" -out "$T/$name.csr" 2>/dev/null ;;
	rsa) openssl req -new -newkey rsa:2048 -nodes -keyout "$T/$name.key" \
		-subj "/CN=$name" -out "$T/$name.csr" 2>/dev/null ;;
	esac || fail "openssl req $name"
}

# https METHOD URL [BODYFILE] [curl options...]: body in $T/resp, status printed.
https() {
	local method=$1 url=$2 body=${3:-}
	shift 3 2>/dev/null || shift $#
	local args=(-s -o "$T/resp" -w '%{http_code}' --cacert "$CA" -X "$method" --max-time 30)
	[ -n "$body" ] && args+=(--data-binary "@$body")
	curl "${args[@]}" "$@" "$url"
}

# login USER PASSWORD NAME [CURL-OPTIONS]: logs in with $T/NAME.csr; on
# success the certificate is in $T/NAME.crt. Prints the HTTP status.
login() {
	local user=$1 pw=$2 name=$3 code
	shift 3
	jq -n --arg u "$user" --arg p "$pw" --rawfile c "$T/$name.csr" \
		'{user: $u, password: $p, csr: $c}' >"$T/$name.login.json"
	code=$(https POST "$LD_URL/v1/login" "$T/$name.login.json" "$@")
	if [ "$code" = 200 ]; then
		jq -j .certificate "$T/resp" >"$T/$name.crt"
	fi
	echo "$code"
}

serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

# A checksum of the database content, to show that a request changed nothing.
db_digest() { sqlite3 "$1" .dump | sha256sum | cut -d' ' -f1; }

# ---- bootstrapd ----

# bootstrapd's local status port is in $BS_STATUS.
bootstrapd_init() { # extra config lines...
	BS_PORT=$(free_port)
	BS_STATUS=$(free_port)
	export BS_STATUS
	BS_URL=https://127.0.0.1:$BS_PORT
	make_csr bootstrapd
	admin cert issue-server --csr "$T/bootstrapd.csr" --dns localhost --ip 127.0.0.1 \
		--out "$T/bootstrapd.crt" 2>/dev/null || fail "issue bootstrapd certificate"
	{
		cat <<CONF
[bootstrapd]
overlay = $OVERLAY
listen = 127.0.0.1:$BS_PORT
status_listen = 127.0.0.1:$BS_STATUS
ca_cert = $CA
tls_cert = $T/bootstrapd.crt
tls_key = $T/bootstrapd.key
database = $T/data/bootstrapd.db
logind_url = $LD_URL
allow_private = yes
CONF
		printf '%s\n' "$@"
	} >"$T/bootstrapd.conf"
}

bootstrapd_start() {
	# shellcheck disable=SC2046
	start_bg bootstrapd $(vg_prefix bootstrapd) "$BIN/bootstrapd" -c "$T/bootstrapd.conf"
	BS_PID=$LAST_PID
	wait_port "$BS_PORT" 30
}

# bs_crl_lists SERIAL: true if the CRL bootstrapd serves (left in $T/resp)
# lists SERIAL.
bs_crl_lists() {
	https GET "$BS_URL/v1/crl" >/dev/null
	openssl crl -inform DER -in "$T/resp" -noout -text 2>/dev/null | grep -q "$1"
}

# ---- local status ports: /status (JSON) and /metrics (Prometheus text) ----

# prom_check FILE [PREFIX]: fails unless FILE is Prometheus text (format
# 0.0.4) as we write it: "# HELP" and "# TYPE" lines at most once per
# metric and before its samples, the samples of a metric together, every
# sample line `name{label="value",...} number` and at most once, counters
# ending in _total. Metrics named PREFIX... must have a HELP line too.
prom_check() {
	local out
	out=$(awk -v prefix="${2:-}" '
		function bad(why) { printf "line %d: %s: %s\n", NR, why, $0; err = 1; exit 1 }
		/^# HELP / {
			n = $3
			if (n in help) bad("second HELP")
			if (n in seen) bad("HELP after samples")
			help[n] = 1; next
		}
		/^# TYPE / {
			n = $3
			if (NF != 4 || $4 !~ /^(counter|gauge|histogram|summary|untyped)$/) bad("bad TYPE")
			if (n in type) bad("second TYPE")
			if (n in seen) bad("TYPE after samples")
			if ($4 == "counter" && n !~ /_total$/) bad("counter not ending in _total")
			if (prefix != "" && index(n, prefix) == 1 && !(n in help)) bad("no HELP")
			type[n] = $4; next
		}
		/^#/ { next }
		{
			if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*([{][a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*[}])? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|[-+]Inf)$/)
				bad("not a sample line")
			n = $0; sub(/[{ ].*/, "", n)
			if (!(n in type)) bad("sample before its TYPE")
			if ((n in seen) && n != last) bad("samples of a metric apart")
			if ($1 in sample) bad("sample twice")
			seen[n] = 1; last = n; sample[$1] = 1; samples++
		}
		END { if (!err && samples == 0) { print "no samples"; exit 1 } }' "$1") ||
		fail "$1 is not Prometheus text: $out"
}

# scrape PORT [PREFIX]: GET /metrics of a local status port into $T/metrics,
# checked with prom_check.
scrape() {
	local code
	code=$(curl -s -o "$T/metrics" -w '%{http_code}' --max-time 10 "http://127.0.0.1:$1/metrics")
	assert_eq 200 "$code" "GET /metrics on port $1"
	prom_check "$T/metrics" "${2:-}"
}

# scrape_until PORT PREFIX SAMPLE OP VALUE [SECONDS]: scrapes until the
# sample's value satisfies [ value OP VALUE ] (OP: = or -ge), at most
# SECONDS (default 10); the last scrape stays in $T/metrics.
scrape_until() {
	poll "${6:-10}" scraped "${@:1:5}"
	return 0 # the caller's assertion on $T/metrics says what is wrong
}
# scraped PORT PREFIX SAMPLE OP VALUE: one scrape; true if the sample's value
# satisfies [ value OP VALUE ].
scraped() {
	local v
	scrape "$1" "$2"
	v=$(mval "$T/metrics" "$3")
	[ -n "$v" ] && test "$v" "$4" "$5"
}

# conn_counted TLS-PORT STATUS-PORT PREFIX: an open TLS connection to the
# daemon's API shows in its connections gauge.
conn_counted() {
	local held
	(sleep 4 | openssl s_client -connect "127.0.0.1:$1" -CAfile "$CA" -quiet >/dev/null 2>&1) &
	held=$!
	scrape_until "$2" "$3" "${3}connections" -ge 1 4
	[ "$(mval "$T/metrics" "${3}connections")" -ge 1 ] || fail "open connection not counted"
	wait "$held"
}

# mval FILE SAMPLE: the value of one sample (name and labels exactly as
# written, e.g. 'p2psip_logind_users{role="user"}'); empty when absent.
mval() { awk -v s="$2" '$1 == s { print $2 }' "$1"; }

# assert_delta BEFORE SAMPLE N: the sample in $T/metrics is N more than in
# the file BEFORE (a copy of an earlier scrape).
assert_delta() {
	local a b
	a=$(mval "$1" "$2")
	b=$(mval "$T/metrics" "$2")
	[ -n "$a" ] && [ -n "$b" ] || fail "$2 missing from /metrics (before '$a', after '$b')"
	assert_eq "$3" "$((b - a))" "change of $2 (from $a to $b)"
}

# status_hostile PORT: what a local attacker can send to a status port:
# other methods, unknown paths, an oversized request line and header, a body,
# bytes that are not HTTP. Each gets a clear error, and /metrics and /status
# still answer afterwards.
status_hostile() {
	local p=$1 base=http://127.0.0.1:$1 code m big
	for m in POST PUT DELETE PATCH OPTIONS TRACE; do
		code=$(curl -s -o "$T/resp" -w '%{http_code}' --max-time 5 -X "$m" "$base/metrics")
		case "$code" in 405 | 501) ;; *) fail "$m /metrics: HTTP $code, want 405 or 501" ;; esac
	done
	code=$(curl -s -o "$T/resp" -D "$T/hdr" -w '%{http_code}' --max-time 5 -X POST -d x "$base/status")
	assert_eq 405 "$code" "POST /status"
	grep -qi '^Allow: GET, HEAD' "$T/hdr" || fail "405 without Allow: $(cat "$T/hdr")"
	assert_contains "$(cat "$T/resp")" "method not allowed" "POST /status body"
	for m in /nope /metrics/x /status.json /v1/status /v1/login / "/..%2fmetrics" "/%2e%2e/metrics"; do
		code=$(curl -s -o "$T/resp" -w '%{http_code}' --max-time 5 "$base$m")
		assert_eq 404 "$code" "GET $m"
		assert_contains "$(cat "$T/resp")" "no such resource" "GET $m body"
	done
	assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -I "$base/metrics")" "HEAD /metrics"
	big=$(head -c 100000 /dev/zero | tr '\0' a)
	code=$(curl -s -o "$T/resp" -w '%{http_code}' --max-time 5 "$base/$big")
	case "$code" in 4??) ;; *) fail "100 KB request line: HTTP $code" ;; esac
	code=$(curl -s -o "$T/resp" -w '%{http_code}' --max-time 5 -H "X-Big: $big" "$base/metrics")
	case "$code" in 4??) ;; *) fail "100 KB header: HTTP $code" ;; esac
	code=$(head -c 100000 /dev/zero | curl -s -o "$T/resp" -w '%{http_code}' --max-time 5 \
		-X GET --data-binary @- "$base/metrics")
	assert_eq 413 "$code" "GET with a 100 KB body"
	# Raw bytes: a binary line, a TLS ClientHello-like start, an unfinished request.
	printf '\x16\x03\x01\x00\xff\x01\x00\x00\xfb\x03\x03binary\r\n\r\n' |
		timeout 5 nc -q 2 127.0.0.1 "$p" >"$T/raw" 2>/dev/null
	head -n 1 "$T/raw" | grep -q "^HTTP/1.1 400" || fail "bytes that are not HTTP: $(head -c 200 "$T/raw")"
	printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n' | timeout 5 nc -q 1 127.0.0.1 "$p" >/dev/null 2>&1
	code=$(curl -s -o "$T/resp" -w '%{http_code}' --max-time 5 "$base/status")
	assert_eq 200 "$code" "GET /status after the hostile requests"
	jq -e . "$T/resp" >/dev/null || fail "/status is not JSON: $(cat "$T/resp")"
	scrape "$p"
}

# ---- super nodes, played by openssl s_server until supernode exists ----

# sn_make NAME: a supernode account NAME and its certificate $T/NAME.crt.
sn_make() {
	add_user "$1" "password of $1" supernode
	make_csr "$1"
	[ "$(login "$1" "password of $1" "$1")" = 200 ] || fail "supernode login $1"
}

# sn_serve NAME PORT: TLS server with NAME's certificate, requiring a client
# certificate of the overlay as a super node does.
sn_serve() {
	start_bg "s_server_$1_$2" openssl s_server -quiet -accept "127.0.0.1:$2" \
		-cert "$T/$1.crt" -key "$T/$1.key" -CAfile "$CA" -Verify 1 </dev/null
	wait_port "$2"
}

# announce NAME BODY [URL-PATH]: POST with NAME's certificate; prints status.
sn_post() {
	printf '%s' "$2" >"$T/sn_body"
	https POST "$BS_URL/${3:-v1/announce}" "$T/sn_body" --cert "$T/$1.crt" --key "$T/$1.key"
}

# ---- real super nodes ----

# snode_init NAME [extra config lines]: a supernode account NAME and the
# configuration $T/NAME/supernode.conf; ports in SN_PORT[NAME], SN_STATUS[NAME].
# Its relay may send to SN_RELAY_ALLOW (default 127.0.0.0/8; empty: nowhere special).
declare -A SN_PORT SN_STATUS SN_PID
snode_init() {
	local name=$1
	shift
	add_user "$name" "password of $name" supernode
	mkdir -p "$T/$name"
	SN_PORT[$name]=$(free_port)
	SN_STATUS[$name]=$(free_port)
	{
		cat <<CONF
[supernode]
overlay = $OVERLAY
bootstrap_url = $BS_URL
ca_cert = $CA
account = $name
password = password of $name
key = $T/$name/node.key
cert = $T/$name/node.crt
database = $T/$name/records.db
listen = 127.0.0.1:${SN_PORT[$name]}
status_listen = 127.0.0.1:${SN_STATUS[$name]}
CONF
		printf '%s\n' "$@"
		printf '[relay]\nallow_networks = %s\n' "${SN_RELAY_ALLOW-127.0.0.0/8}" # all on loopback
	} >"$T/$name/supernode.conf"
}

snode_start() { # NAME
	# shellcheck disable=SC2046
	start_bg "sn_$1" $(vg_prefix "sn_$1") "$BIN/supernode" -c "$T/$1/supernode.conf"
	SN_PID[$1]=$LAST_PID
}

# snode_up NAME [extra config lines]: super node NAME started (under
# valgrind after vg_on) and joined.
snode_up() {
	snode_init "$@"
	snode_start "$1"
	snode_wait "$1" 60
}

# overlay_start N [BOOTSTRAPD-LINE...]: logind, bootstrapd with those extra
# configuration lines, and super nodes sn1..snN (none for 0) with the
# default configuration, all joined. A test that needs more (lines for
# logind, valgrind, a check between two steps) calls the steps itself.
overlay_start() {
	local n=$1
	shift
	logind_init
	logind_start
	bootstrapd_init "$@"
	bootstrapd_start
	[ "$n" = 0 ] || snodes_start "$n"
}

# snodes_start N [extra config lines]: super nodes sn1..snN, sn1 first so
# that the others join its ring; returns once all have joined.
snodes_start() {
	local n=$1 i
	shift
	for i in $(seq 1 "$n"); do snode_init "sn$i" "$@"; done
	snode_start sn1
	snode_wait sn1
	for i in $(seq 2 "$n"); do snode_start "sn$i"; done
	for i in $(seq 2 "$n"); do snode_wait "sn$i" 60; done
}

# GET the status of super node NAME into stdout.
snode_status() { curl -s --max-time 5 "http://127.0.0.1:${SN_STATUS[$1]}/status"; }

# snode_has NAME FILTER [jq options]: true if super node NAME's /status
# passes the jq FILTER (e.g. '.relay.streams == 0').
snode_has() { json_has "$(snode_status "$1")" "${@:2}"; }

# True if super node NAME says it has joined and bootstrapd lists it.
snode_joined() {
	snode_has "$1" '.state == "joined"' &&
		https GET "$BS_URL/v1/supernodes?count=1000" >/dev/null &&
		jq -e --arg p "${SN_PORT[$1]}" '.supernodes[] | select(.addresses[0].port == ($p|tonumber))' \
			"$T/resp" >/dev/null
}

# Waits until super node NAME has joined and is listed by bootstrapd.
snode_wait() { wait_until "${2:-30}" "super node $1 did not join" snode_joined "$1"; } # NAME [SECONDS]

# True if the ring that p2p walks has N members; the size seen is left in RING_SIZE.
ring_has() {
	RING_SIZE=$(p2p ring --json 2>/dev/null | jq .size 2>/dev/null)
	[ "$RING_SIZE" = "$1" ]
}

# Waits until the ring seen from super node NAME has N members.
ring_wait() { # NAME N [SECONDS]
	poll "${3:-30}" ring_has "$2" || fail "ring did not reach $2 members (last seen: ${RING_SIZE:-none})"
}

# A user with a certificate for the p2psip client: $T/NAME.key, $T/NAME.crt.
cli_user() { # NAME
	add_user "$1" "password of $1"
	echo "password of $1" | "$BIN/p2psip" -b "$BS_URL" -a "$CA" -u "$1" -k "$T/$1.key" \
		-c "$T/$1.crt" --password-stdin login >/dev/null || fail "p2psip login $1"
}

# p2psip as user $CLI_USER (default alice), attached through bootstrapd or
# to SN_ATTACH (a super node name).
p2p() {
	local who=${CLI_USER:-alice} via=()
	[ -n "${SN_ATTACH:-}" ] && via=(-s "127.0.0.1:${SN_PORT[$SN_ATTACH]}")
	"$BIN/p2psip" -b "$BS_URL" -a "$CA" -k "$T/$who.key" -c "$T/$who.crt" "${via[@]}" "$@"
}

# p2p_has_values NAME N: true if p2p get (as above) finds N values under
# NAME; its answer is left in $T/got.json.
p2p_has_values() {
	p2p --json get "$1" >"$T/got.json" 2>/dev/null
	[ "$(jq '.values | length' "$T/got.json" 2>/dev/null)" = "$2" ]
}

# ---- ordinary nodes ----

# on_init NAME ACCOUNT...: the configuration $T/NAME/ordinarynode.conf of an
# ordinary node holding those accounts (each with password "password of
# ACCOUNT", and SIP password $(sip_pw ACCOUNT) for its phones); ports in
# ON_SIP[NAME], ON_STATUS[NAME]. ON_EXTRA: more [ordinarynode] lines;
# ON_AUTH_FAIL_MAX: failures before 127.0.0.1 is blocked (50: the tests that
# play a wrong phone do not lock the others out). ON_DIGEST: the challenges
# in order; MD5 first unless set, as Debian's sipp 3.6.1 answers only MD5
# and reads the first challenge (the default, SHA-256 first, is tested with
# baresip and linphonec).
declare -A ON_SIP ON_STATUS ON_PID
on_init() {
	local name=$1 a
	shift
	mkdir -p "$T/$name"
	ON_SIP[$name]=$(free_port)
	ON_STATUS[$name]=$(free_port)
	{
		cat <<CONF
[ordinarynode]
overlay = $OVERLAY
bootstrap_url = $BS_URL
ca_cert = $CA
state_dir = $T/$name/state
status_listen = 127.0.0.1:${ON_STATUS[$name]}
sip_listen = 127.0.0.1:${ON_SIP[$name]}
auth_fail_max = ${ON_AUTH_FAIL_MAX:-50}
digest_algorithms = ${ON_DIGEST:-MD5 SHA-256}
${ON_EXTRA:-}
CONF
		for a in "$@"; do
			printf '\n[account %s]\npassword = password of %s\nsip_password = %s\n' \
				"$a" "$a" "$(sip_pw "$a")"
		done
	} >"$T/$name/ordinarynode.conf"
}

# sip_pw ACCOUNT: the digest password of its phones in the tests.
sip_pw() { echo "sip-secret-of-$1"; }

on_status() { curl -s --max-time 5 "http://127.0.0.1:${ON_STATUS[$1]}/status"; }

# on_has NAME FILTER [jq options]: true if ordinary node NAME's /status
# passes the jq FILTER (e.g. '.media.pool >= 1').
on_has() { json_has "$(on_status "$1")" "${@:2}"; }

# on_launch NAME: starts it (under valgrind with vg_on); on_start NAME also
# waits until it is attached to a super node.
on_launch() {
	# shellcheck disable=SC2046
	start_bg "on_$1" $(vg_prefix "on_$1") "$BIN/ordinarynode" -c "$T/$1/ordinarynode.conf"
	ON_PID[$1]=$LAST_PID
}
on_start() {
	on_launch "$1"
	poll 30 on_has "$1" '.state == "attached"' ||
		fail "ordinary node $1 not attached after 30s: $(on_status "$1")"
}

# sipp_auth SCENARIO ARGS...: -au USER -ap PASSWORD -auth_uri URI for the
# user that sipp ARGS speak for (-key caller, else -s), unless they give -au
# themselves. sipp 3.6.1 would put its remote address in the digest's uri;
# the node wants the Request-URI: sip:[domain] for a register*.xml,
# sip:[service]@[domain] for the others.
sipp_auth() {
	local sf=$1 user="" service="" i args=("${@:2}")
	for ((i = 0; i < ${#args[@]}; i++)); do
		case ${args[i]} in
		-au) return ;;
		-s) service=${args[i + 1]:-} ;;
		-key) [ "${args[i + 1]:-}" = caller ] && user=${args[i + 2]:-} ;;
		esac
	done
	[ -n "$user" ] || user=$service
	[ -n "$user" ] || return 0
	case $(basename "$sf") in
	register*) echo "-au $user -ap $(sip_pw "$user") -auth_uri $OVERLAY" ;;
	*) echo "-au $user -ap $(sip_pw "$user") -auth_uri $service@$OVERLAY" ;;
	esac
}

# sipp_run NAME ON SCENARIO [sipp args...]: one sipp towards ordinary node
# ON's SIP port, output in $T/sipp_NAME.out; returns sipp's status. The
# phone authenticates as the user it speaks for (sipp_auth).
sipp_run() {
	local name=$1 on=$2 sf=$3
	shift 3
	# shellcheck disable=SC2046
	(cd "$T" && timeout 60 sipp "127.0.0.1:${ON_SIP[$on]}" -sf "$sf" -key domain "$OVERLAY" \
		-i 127.0.0.1 -timeout 30s -timeout_error -nostdin -trace_err \
		-error_file "$T/sipp_$name.err" $(sipp_auth "$sf" "$@") "$@" >"$T/sipp_$name.out" 2>&1)
}

# phone NAME SCENARIO USER PORT [sipp args]: a phone waiting for one call
# in the background; its pid in PHONE.
phone() {
	local name=$1 sf=$2 user=$3 port=$4
	shift 4
	(cd "$T" && exec timeout 60 sipp -sf "$sf" -s "$user" -key domain "$OVERLAY" \
		-i 127.0.0.1 -p "$port" -m 1 -nostdin -timeout 40s -timeout_error -trace_err \
		-error_file "$T/sipp_$name.err" "$@" >"$T/sipp_$name.out" 2>&1) &
	PHONE=$!
	sleep 0.3
}
phone_ok() { # NAME PID
	wait "$2" || fail "phone $1: $(tail -n 20 "$T/sipp_$1.out"; cat "$T/sipp_$1.err" 2>/dev/null)"
}
# call NAME ON SCENARIO CALLER CALLEE [sipp args]
call() {
	local name=$1 on=$2 sf=$3 from=$4 to=$5
	shift 5
	sipp_run "$name" "$on" "$sf" -s "$to" -key caller "$from" -p "$(free_port)" -m 1 "$@" ||
		fail "call $name: $(tail -n 20 "$T/sipp_$name.out"; cat "$T/sipp_$name.err" 2>/dev/null)"
}
# phone_register ON USER PORT [EXPIRES]: a phone of USER at 127.0.0.1:PORT
# registers at ordinary node ON (UDP).
phone_register() {
	sipp_run "reg_$2_$3" "$1" "$TOP/tests/sipp/register.xml" -s "$2" -key expires "${4:-300}" \
		-p "$3" -m 1 || fail "REGISTER of $2 at $1: $(tail -n 5 "$T/sipp_reg_$2_$3.out")"
}

need jq curl openssl sqlite3 ss
[ -x "$BIN/logind" ] || fail "build first: $BIN/logind missing"
