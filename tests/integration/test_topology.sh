#!/usr/bin/env bash
# No phone's address crosses the overlay (issue 14, topology hiding): two
# sipp phones on addresses of their own, alice at 127.0.0.21 behind on1,
# bob at 127.0.0.22 behind on2 (the nodes on 127.0.0.1), with Call-IDs,
# Vias and Contacts that name those addresses. A calls B (INVITE, 180, 200,
# ACK, re-INVITE from each side, INFO, UPDATE, BYE from A), then a second
# call that B hangs up, a MESSAGE and an OPTIONS; over UDP, then the first
# call again with both phones on TCP. Every message each phone receives is
# logged (sipp -trace_msg), and B must never see 127.0.0.21 in one, nor A
# 127.0.0.22: start lines and headers (TOPO_SDP=1: bodies too, once the SDP
# is rewritten; TOPO_RELAY=always runs the nodes with [media] relay =
# always). Then carol, another overlay user, alters the token in alice's
# hidden Contact (and makes one up) and sends INVITEs along on1's Route: on1
# answers 404 and a listener at alice's address hears nothing. Both nodes
# run under valgrind.
. "$(dirname "$0")/../lib.sh"
need sipp python3

A_IP=127.0.0.21
B_IP=127.0.0.22
overlay_start 2 "[timers]" "heartbeat_interval = 1s" "stabilize_interval = 1s"
add_user alice "password of alice"
add_user bob "password of bob"
[ -n "${TOPO_RELAY:-}" ] && ON_EXTRA=$'\n[media]\nrelay = '"$TOPO_RELAY"
on_init on1 alice
on_init on2 bob
vg_on
on_start on1
on_start on2
VG_DAEMONS=0
SC=$TOP/tests/sipp
A_PORT=$(free_port)
B_PORT=$(free_port)

# tsipp NAME IP [sipp args]: a sipp phone at IP, in its own directory
# $T/ph_NAME where -trace_msg leaves every message it sent and received.
tsipp() {
	local name=$1 ip=$2
	shift 2
	mkdir -p "$T/ph_$name"
	(cd "$T/ph_$name" && exec timeout 60 sipp -key domain overlay.example -i "$ip" \
		-timeout 30s -timeout_error -nostdin -trace_err -trace_msg \
		-error_file "$T/ph_$name/err" "$@" >"$T/ph_$name/out" 2>&1)
}
tfail() { fail "phone $1: $(tail -n 20 "$T/ph_$1/out"; cat "$T/ph_$1/err" 2>/dev/null)"; }
auth() { echo "-au $1 -ap $(sip_pw "$1") -auth_uri $2"; }
# reg ON USER IP PORT [sipp args]
reg() {
	local name="reg_$2${5:-}"
	# shellcheck disable=SC2046
	tsipp "$name" "$3" "127.0.0.1:${ON_SIP[$1]}" -sf "$SC/register.xml" -s "$2" \
		-key expires 300 -p "$4" -m 1 $(auth "$2" overlay.example) "${@:5}" || tfail "$name"
}
# callee NAME SCENARIO [sipp args]: bob's phone waits for one call.
callee() {
	tsipp "$1" "$B_IP" -sf "$2" -s bob -p "$B_PORT" -m 1 "${@:3}" &
	PHONE=$!
	sleep 0.3
}
# caller NAME SCENARIO [sipp args]: alice calls bob.
caller() {
	# shellcheck disable=SC2046
	tsipp "$1" "$A_IP" "127.0.0.1:${ON_SIP[on1]}" -sf "$2" -s bob -key caller alice \
		-p "$A_PORT" -m 1 $(auth alice bob@overlay.example) "${@:3}" || tfail "$1"
}
pair() { # NAME CALLER-SCENARIO CALLEE-SCENARIO [sipp args]
	callee "b_$1" "$3" "${@:4}"
	local p=$PHONE
	caller "a_$1" "$2" "${@:4}"
	wait "$p" || tfail "b_$1"
}

note "UDP: registrations, a call with requests from both sides, a call bob hangs up"
reg on1 alice "$A_IP" "$A_PORT"
reg on2 bob "$B_IP" "$B_PORT"
cli_user carol
CLI_USER=carol poll 5 p2p_has_values user:bob@overlay.example 1 || fail "bob not published"
pair dialog "$SC/uac_topo.xml" "$SC/uas_topo.xml"
pair bye "$SC/uac_wait_bye.xml" "$SC/uas_bye.xml"

note "UDP: MESSAGE and OPTIONS"
pair message "$SC/uac_message.xml" "$SC/uas_message.xml"
sed 's/MESSAGE/OPTIONS/g' "$SC/uas_message.xml" >"$T/uas_options.xml"
sed 's/MESSAGE/OPTIONS/g' "$SC/uac_message.xml" >"$T/uac_options.xml"
pair options "$T/uac_options.xml" "$T/uas_options.xml"

# (their UDP bindings stay: the INVITE forks to the gone UDP phone too)
note "TCP: the phones, on new ports, call with requests from both sides"
A_PORT=$(free_port)
B_PORT=$(free_port)
reg on1 alice "$A_IP" "$A_PORT" -t t1
reg on2 bob "$B_IP" "$B_PORT" -t t1
pair tcp "$SC/uac_topo.xml" "$SC/uas_topo.xml" -t t1

# received NAME...: what those phones received, as sipp logged it; the
# start line and headers of each (with TOPO_SDP=1, the bodies too).
received() {
	local d
	for d in "$@"; do
		cat "$T"/ph_"$d"/*_messages.log
	done | awk -v sdp="${TOPO_SDP:-0}" '
		/message (received|sent)/ { inmsg = /received/; body = 0; started = 0; next }
		/^----------------/ { inmsg = 0; next }
		!inmsg { next }
		/^[[:space:]]*$/ { if (started) body = 1; next }
		{ started = 1 }
		!body || sdp == 1 { print }'
}
received b_dialog b_bye b_message b_options b_tcp >"$T/b_got"
received a_dialog a_bye a_message a_options a_tcp >"$T/a_got"

note "what each phone received"
for m in INVITE ACK UPDATE INFO BYE MESSAGE OPTIONS; do
	grep -q "^$m sip:" "$T/b_got" || fail "bob's phone received no $m"
done
for m in INVITE ACK BYE; do
	grep -q "^$m sip:" "$T/a_got" || fail "alice's phone received no $m"
done
grep -q "$A_IP" "$T"/ph_a_dialog/*_messages.log || fail "alice's own address is not in what she sent"
if grep -n "$A_IP" "$T/b_got" >"$T/b_leaks"; then
	fail "bob's phone saw alice's address $A_IP: $(head -n 5 "$T/b_leaks")"
fi
if grep -n "$B_IP" "$T/a_got" >"$T/a_leaks"; then
	fail "alice's phone saw bob's address $B_IP: $(head -n 5 "$T/a_leaks")"
fi
note "a node that tampers with alice's hidden Contact reaches nobody"
# carol, another overlay user, takes the Contact bob's phone saw and sends
# INVITEs along on1's Route with its token altered, and with one made up:
# a listener where alice's phone was hears nothing, on1 answers 404.
tok=$(sed -n 's/^Contact: <sip:alice@overlay\.example;ovl=[0-9A-Fa-f]*;ph=\([0-9A-Fa-f]*\)>.*/\1/p' \
	"$T/b_got" | tail -n 1)
[ ${#tok} -gt 60 ] || fail "no token in the Contact bob's phone saw"
python3 "$TOP/tests/tools/listener.py" "$A_IP" "$A_PORT" "$T/heard" &
PIDS+=($!)
sleep 0.3
on1_id=$(on_status on1 | jq -r '.accounts[0].node_id')
on1_sn=$(on_status on1 | jq -r '.supernode.node_id')
carol_id=$(CLI_USER=carol p2p --json whoami | jq -r .node_id)
forge() { # N TOKEN: an INVITE from carol's node to alice's hidden Contact
	printf 'INVITE sip:alice@overlay.example;ovl=%s;ph=%s SIP/2.0\r\nVia: SIP/2.0/TLS %s.invalid;branch=z9hG4bKp2p%x.0.f\r\nRoute: <sip:127.0.0.1:%s;lr;ovl=%s>\r\nMax-Forwards: 70\r\nFrom: <sip:carol@overlay.example>;tag=f%d\r\nTo: <sip:alice@overlay.example>\r\nCall-ID: forged-%d@carol\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n' \
		"$on1_id" "$2" "$carol_id" "$1" "${ON_SIP[on1]}" "$on1_id" "$1" "$1"
}
flip() { # TOKEN POS: one hex digit changed
	local c=${1:$2:1}
	[ "$c" = 0 ] && c=1 || c=0
	echo "${1:0:$2}$c${1:$(($2 + 1))}"
}
ref0=$(on_status on1 | jq .sip.counters.refused)
i=0
for bad in "$(flip "$tok" 30)" "$(flip "$tok" $((${#tok} - 1)))" \
	"$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n')"; do
	i=$((i + 1))
	CLI_USER=carol p2p send --via "$on1_sn" "$on1_id" \
		"$(CLI_USER=carol p2p seal "$T/on1/state/alice.crt" "$on1_id" "$(forge $i "$bad")")" >/dev/null ||
		fail "p2p send of forged INVITE $i"
done
poll 5 on_has on1 ".sip.counters.refused >= $((ref0 + 3))" ||
	fail "on1 did not refuse the forged tokens: $(on_status on1 | jq -c .sip.counters)"
[ -s "$T/heard" ] && fail "a forged token reached alice's address: $(cat "$T/heard")"

stop_pid "${ON_PID[on1]}" || fail "on1 exit status $?"
stop_pid "${ON_PID[on2]}" || fail "on2 exit status $?"
vg_check
echo ok
