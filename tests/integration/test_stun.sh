#!/usr/bin/env bash
# The super node's STUN server: p2psip stun gets a Binding answer on UDP at
# the super node's port with the address it sent from; garbage, truncated
# and oversized datagrams are counted and not answered; a flood from one
# address is held at its rate (burst 2 x rate) and the server answers again
# once the flood stops; the super node advertises itself as service:stun
# in the DHT (signed, checked by p2psip); [stun] listen = off turns it off.
# sn1 runs under valgrind.
. "$(dirname "$0")/../lib.sh"

logind_init
logind_start
bootstrapd_init
bootstrapd_start
vg_on
snode_init sn1 "[stun]" "rate_per_addr = 20"
snode_start sn1
snode_wait sn1 60
VG_DAEMONS=0
snode_init sn2 "[stun]" "listen = off"
snode_start sn2
snode_wait sn2 60
port=${SN_PORT[sn1]}
stun() { "$BIN/p2psip" --timeout 3 "$@"; }

note "a Binding request: the answer names our address"
out=$(stun stun "127.0.0.1:$port") || fail "no STUN answer: $out"
case "$out" in 127.0.0.1:[0-9]*) ;; *) fail "mapped address: $out" ;; esac
jq -e '.mapped | startswith("127.0.0.1:")' <<<"$(stun --json stun "127.0.0.1:$port")" >/dev/null ||
	fail "--json output"
[ "$(snode_status sn1 | jq .stun.requests)" -ge 2 ] || fail "requests not counted: $(snode_status sn1 | jq -c .stun)"

note "garbage, a truncated request, an oversized datagram: counted, not answered"
bad0=$(snode_status sn1 | jq .stun.bad)
printf 'hello, not STUN' >"/dev/udp/127.0.0.1/$port"
printf '\x00\x01\x00\x08\x21\x12\xa4\x42\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x80\x28' >"/dev/udp/127.0.0.1/$port"
head -c 1400 /dev/zero >"/dev/udp/127.0.0.1/$port"
sleep 0.3
[ "$(snode_status sn1 | jq .stun.bad)" -ge $((bad0 + 3)) ] || fail "bad datagrams: $(snode_status sn1 | jq -c .stun)"
stun stun "127.0.0.1:$port" >/dev/null || fail "no answer after garbage"

note "a flood from one address is held at rate_per_addr (20/s, burst 40)"
sleep 2.5 # the bucket fills again
# (the kernel may drop some of the 500 before the super node reads them)
r=$(stun --json --count 500 stun "127.0.0.1:$port") || fail "flood: $r"
a=$(jq .answered <<<"$r")
[ "$a" -ge 20 ] && [ "$a" -le 60 ] || fail "flood answered $a of 500 (expected about 40)"
[ "$(snode_status sn1 | jq .stun.dropped)" -ge 100 ] || fail "drops not counted: $(snode_status sn1 | jq -c .stun)"
sleep 1
stun stun "127.0.0.1:$port" >/dev/null || fail "no answer after the flood"

note "service:stun in the DHT names sn1's STUN server (and not sn2's: it is off)"
cli_user carol
for _ in $(seq 1 50); do
	v=$(CLI_USER=carol p2p --json get service:stun 2>/dev/null)
	[ "$(jq '.values | length' <<<"$v" 2>/dev/null)" = 1 ] && break
	sleep 0.2
done
jq -e --argjson p "$port" '.values | length == 1 and (.[0].data | fromjson | .host == "127.0.0.1" and .port == $p)' \
	<<<"$v" >/dev/null || fail "service:stun: $v"

note "[stun] listen = off"
[ "$(snode_status sn2 | jq .stun.on)" = false ] || fail "sn2 STUN on: $(snode_status sn2 | jq -c .stun)"
if stun --timeout 1 stun "127.0.0.1:${SN_PORT[sn2]}" >/dev/null 2>&1; then fail "sn2 answered STUN"; fi

stop_pid "${SN_PID[sn1]}" || fail "sn1 exit status $?"
vg_check
echo "stun: all passed"
